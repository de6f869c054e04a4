#!/usr/bin/python3
"""Plot a cachetick calibration: latency and bandwidth curves, cache sizes and steps marked.

    scripts/plot_calibration.py [results/calibration/<host>.json] [-o out.png]

Also reads a run result (its cachetick.calibration block). Needs matplotlib
(Debian python3-matplotlib; use /usr/bin/python3).
"""
import argparse
import glob
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", help="calibration JSON (default: the only results/calibration/*.json)")
    ap.add_argument("-o", "--out", help="PNG to write (default: <file>.png)")
    a = ap.parse_args()
    path = a.file
    if not path:
        found = glob.glob("results/calibration/*.json")
        if len(found) != 1:
            sys.exit("plot_calibration: name the file (found %d under results/calibration/)" % len(found))
        path = found[0]
    try:
        doc = json.load(open(path))
    except (OSError, ValueError) as e:
        sys.exit("plot_calibration: cannot read %s: %s" % (path, e))
    cal = doc.get("cachetick", {}).get("calibration", doc)
    if cal.get("kind") != "cachetick calibration":
        sys.exit("plot_calibration: %s holds no cachetick calibration" % path)

    lat = cal["latency"]["points"]
    bw = cal["bandwidth"]["points"]
    kib = lambda b: b / 1024.0
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    ax1.plot([kib(p["bytes"]) for p in lat], [p["ns"] for p in lat], "o-", label="fastest sample")
    ax1.plot([kib(p["bytes"]) for p in lat], [p.get("ns_median", p["ns"]) for p in lat], ".:", alpha=0.6,
             label="median (busy machine)")
    ax1.set_yscale("log")
    ax1.set_ylabel("ns per dependent load")
    ax1.set_title("%s - %s, %s calibration" % (cal["identity"]["cpu_model"], cal["identity"]["host"], cal["mode"]))
    ax2.plot([kib(p["bytes"]) for p in bw], [p["read_gb_per_s"] for p in bw], "o-", label="read, 1 stream")
    if all("read_multi_gb_per_s" in p for p in bw):  # format 3
        ax2.plot([kib(p["bytes"]) for p in bw], [p["read_multi_gb_per_s"] for p in bw], "^-",
                 label="read, fastest of 2/4/8 streams")
    ax2.plot([kib(p["bytes"]) for p in bw], [p["write_gb_per_s"] for p in bw], "s-", label="write")
    ax2.set_ylabel("GB/s (one core)")
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("working set (KiB)")
    source = cal.get("hierarchy", {}).get("source", "sysfs")
    for lv in cal["levels"]:
        known = lv.get("known_bytes", lv.get("sysfs_bytes"))  # sysfs_bytes: format 2
        if known:
            for ax in (ax1, ax2):
                ax.axvline(kib(known), color="grey", ls="--", lw=1)
            ax1.text(kib(known), ax1.get_ylim()[1], " %s (%s)" % (lv["name"], source), va="top", fontsize=8)
        if lv.get("separated") and lv.get("boundary_bytes"):
            ax1.axvline(kib(lv["boundary_bytes"]), color="red", ls=":", lw=1)
    # Steps that are no cache level (TLB reach, page walks, not separable;
    # unnamed when the levels are unknown): thin grey dots, latency only.
    for st in cal.get("steps", []):
        ax1.axvline(kib(st["edge_bytes"]), color="0.6", ls=(0, (1, 3)), lw=0.8)
        ax1.text(kib(st["edge_bytes"]), ax1.get_ylim()[0], " " + st["name"], rotation=90, va="bottom",
                 fontsize=6, color="0.45")
    ax1.legend(loc="lower right")
    ax2.legend(loc="upper right")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
    out = a.out or path.rsplit(".", 1)[0] + ".png"
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
