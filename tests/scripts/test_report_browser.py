"""The report in a real browser (Debian's chromium, headless): every chart is
shown, none is taller than two screens, the page never scrolls sideways, the
findings are on the first screen; screenshots of the first screen and of the
baseline and machines views (when present) are saved.

    scripts/python.sh tests/scripts/test_report_browser.py [OUTDIR] [--report DIR ...]

Without --report it renders a report it makes from synthetic paired results
(one run with a baseline and a second machine); with --report it checks
existing report directories too. Screenshots go to OUTDIR (ctest: the build
tree, never committed). Exit 0 pass, 1 fail, 77 skipped: no chromium
(scripts/setup.sh --tests installs it; ctest reports the skip).
"""

import contextlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_report as tr  # noqa: E402  (the synthetic paired fixtures)

report = tr.report
WINDOW = (1280, 900)
SKIP = 77

# Opens every <details>, then writes what the layout is into the DOM for
# --dump-dom to read: the page's widths, and each chart's box.
PROBE = """<script>
addEventListener('load', () => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const de = document.documentElement;
  const top = (q) => { const e = document.querySelector(q); return e ? e.getBoundingClientRect().top + scrollY : null; };
  const facts = {inner: [innerWidth, innerHeight], scrollWidth: de.scrollWidth, clientWidth: de.clientWidth,
    findings: top('#findings'), firstFigure: top('#findings ~ figure'),
    charts: [...document.querySelectorAll('img.chart')].map(i => {
      const r = i.getBoundingClientRect();
      return {id: i.closest('figure').id, complete: i.complete, natural: [i.naturalWidth, i.naturalHeight],
              box: [r.width, r.height], right: r.right, display: getComputedStyle(i).display};
    })};
  const pre = document.createElement('pre'); pre.id = 'layout-facts';
  pre.textContent = JSON.stringify(facts); document.body.appendChild(pre);
});
</script>"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_browser(exe, args, url):
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
           f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=10000"] + args + [url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def layout_facts(exe, page):
    probe = page.replace("report.html", "report.probe.html")
    with open(page, encoding="utf-8") as f:
        text = f.read()
    with open(probe, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", PROBE + "</body>"))
    try:
        out = run_browser(exe, ["--dump-dom"], "file://" + os.path.abspath(probe))
    finally:
        os.remove(probe)
    m = re.search(r"<pre id=\"layout-facts\">(.*?)</pre>", out.stdout, re.S)
    if not m:
        raise AssertionError(f"chromium wrote no layout facts (exit {out.returncode}): {out.stderr[-800:]}")
    return json.loads(html.unescape(m.group(1)))


def check(exe, report_dir, shots, name):
    """The checks on one report directory: [problems]."""
    page = os.path.join(report_dir, "report.html")
    with open(os.path.join(report_dir, "manifest.json")) as f:
        man = json.load(f)
    facts = layout_facts(exe, page)
    problems = []
    limit = 2 * facts["inner"][1]
    ids = [c["id"] for c in facts["charts"]]
    if sorted(ids) != sorted(c["id"] for c in man["charts"]):
        problems.append(f"charts on the page {sorted(ids)} are not the manifest's")
    for c in facts["charts"]:
        if not c["complete"] or c["natural"][0] == 0 or c["box"][1] <= 0 or c["display"] == "none":
            problems.append(f"{c['id']}: not shown ({c})")
        if c["box"][1] > limit:
            problems.append(f"{c['id']}: {c['box'][1]:.0f} px tall, over two screens ({limit} px)")
        if c["right"] > facts["clientWidth"] + 1:
            problems.append(f"{c['id']}: reaches {c['right']:.0f} px, past the page's {facts['clientWidth']} px")
    if facts["scrollWidth"] > facts["clientWidth"]:
        problems.append(f"the page scrolls sideways: {facts['scrollWidth']} px wide in a {facts['clientWidth']} px window")
    if any(c["kind"] == "findings" for c in man["charts"]):
        if facts["findings"] is None or facts["findings"] > facts["inner"][1] or facts["firstFigure"] is None \
                or facts["firstFigure"] > facts["inner"][1]:
            problems.append(f"the findings are not on the first screen (heading at {facts['findings']}, "
                            f"first chart at {facts['firstFigure']} px)")
    shot = os.path.join(shots, f"{name}-first-screen.png")
    out = run_browser(exe, [f"--screenshot={shot}"], "file://" + os.path.abspath(page))
    if not os.path.exists(shot) or os.path.getsize(shot) < 10000:
        problems.append(f"no screenshot ({out.stderr[-400:]})")
    with open(page, encoding="utf-8") as f:
        text = f.read()
    for view in ("compare", "hosts"):  # each further view, as a reader jumps to it
        if f"<h2 id={view}>" in text:
            vshot = os.path.join(shots, f"{name}-{view}.png")
            probe = page.replace("report.html", f"report.{view}.html")
            with open(probe, "w", encoding="utf-8") as f:  # the view at the top: what came before it removed
                f.write(text.replace("</body>", "<script>{const e = document.getElementById("
                                     f"'{view}'); while (e.previousSibling) e.previousSibling.remove();}}"
                                     "</script></body>"))
            try:
                run_browser(exe, [f"--screenshot={vshot}"], "file://" + os.path.abspath(probe))
            finally:
                os.remove(probe)
            if not os.path.exists(vshot):
                problems.append(f"no screenshot of #{view}")
    print(f"browser: {name}: {len(facts['charts'])} charts, tallest {max((c['box'][1] for c in facts['charts']), default=0):.0f} px "
          f"(limit {limit}), page {facts['scrollWidth']}/{facts['clientWidth']} px wide, "
          f"{os.path.getsize(page) / 1e6:.2f} MB; screenshot {shot}")
    return problems


def synthetic_report(tmp):
    """A paired run with a baseline and a second machine: every view."""
    new = tr.make_paired_doc(tr.hash_groups(), host="zen5", seed=1)
    old = tr.make_paired_doc(tr.hash_groups(scale=0.8), host="zen5", seed=2)
    other = tr.make_paired_doc(tr.hash_groups(big_absl=1.3), host="intel-sapphire-rapids-guest", seed=3)
    paths = []
    for n, d in (("new.json", new), ("old.json", old), ("other.json", other)):
        paths.append(os.path.join(tmp, n))
        with open(paths[-1], "w") as f:
            json.dump(d, f)
    out = os.path.join(tmp, "synthetic.report")
    with contextlib.redirect_stdout(io.StringIO()):
        code = report.main([paths[0], paths[2], "--baseline", paths[1], "-o", out, "--no-png"])
    if code != 0:
        raise AssertionError(f"report failed ({code})")
    return out


def main(argv):
    shots = argv[0] if argv and not argv[0].startswith("--") else tempfile.mkdtemp(prefix="report-browser-")
    extra = [argv[i + 1] for i, a in enumerate(argv) if a == "--report"]
    exe = chromium()
    if exe is None:
        print("SKIP: no chromium here; scripts/setup.sh --tests installs Debian's chromium (apt-get install chromium), "
              "which could not be done on this machine")
        return SKIP
    os.makedirs(shots, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="report-browser-")
    try:
        problems = []
        for name, d in [("synthetic", synthetic_report(tmp))] + [(os.path.basename(d.rstrip("/")), d) for d in extra]:
            problems += [f"{name}: {p}" for p in check(exe, d, shots, name)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for p in problems:
        print("FAIL: " + p)
    print("browser: " + ("pass" if not problems else f"{len(problems)} problem(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
