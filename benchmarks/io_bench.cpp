// Family "io": scan a file (count its lines) through read() and mmap, with
// the file in the page cache (warm) and dropped from it (cold). See
// kernels/io/README.md.
//
// op = one MiB of the file: ns/op is ns per MiB, GB/s the file's bytes per
// second, page-faults/op the faults per MiB (user-space faults only: the
// kernel backend counts with exclude_kernel, so faults taken inside read()'s
// copy into a fresh buffer, or inside mmap(MAP_POPULATE), are not seen).
//
// The file: deterministic text lines, created without a name (O_TMPFILE, or
// mkstemp + unlink) in $CACHETICK_IO_DIR, else $TMPDIR, else /tmp, after
// statvfs() says it leaves at least 1 GiB free; it disappears when closed or
// when the process dies, however. One file at a time, shared by the rows of
// its size. A row that cannot have its file (no such directory, no space,
// not permitted) is skipped with the reason; the rest of the run goes on.
//
// warm: the file as its writer left it (written in 4 MiB writes: the page
// cache holds it in folios of up to 2 MiB). reread: dropped and read back with
// read() before the row (untimed): warm too, but in the folios a read from
// disk leaves, which mmap must map 4 KiB at a time (kernels/io/temp_file.h).
// cold: before every iteration, untimed (Google Benchmark's PauseTiming, so
// ns/op excludes it; ticks/op and task-clock do not), fdatasync +
// posix_fadvise(DONTNEED) drop the file from this kernel's page cache;
// `cached_share` is the share mincore() still found cached after a drop. On a
// VM the host may still cache the disk image: "cold" is cold for this guest.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "harness/context.h"
#include "harness/registry.h"
#include "kernels/io/scan.h"
#include "kernels/io/temp_file.h"

namespace {

using namespace cachetick;
namespace ci = cachetick::io;

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kMargin = 1ull << 30;  // what the file must leave free

std::string io_dir() {
  for (const char* var : {"CACHETICK_IO_DIR", "TMPDIR"})
    if (const char* d = std::getenv(var); d != nullptr && *d != '\0') return d;
  return "/tmp";
}

enum class State { warm, reread, cold };
const char* state_name(State s) { return s == State::warm ? "warm" : s == State::reread ? "reread" : "cold"; }

// The file of this size, in the page-cache state the row asks for; the
// previous file is closed (and so deleted) first. A warm row needs the file
// as its writer left it: one that a reread or cold row has dropped is written
// again. Throws IoError saying why there is no file.
const ci::TempFile& file(std::uint64_t bytes, State state) {
  static std::unique_ptr<ci::TempFile> f;
  static bool as_written = false;
  if (!f || f->bytes() != bytes || (state == State::warm && !as_written)) {
    f.reset();
    try {
      f = std::make_unique<ci::TempFile>(io_dir(), bytes, kMargin);
    } catch (const ci::IoError& e) {
      throw ci::IoError(std::string("no test file: ") + e.what() + " (CACHETICK_IO_DIR chooses the directory)");
    }
    as_written = true;
  }
  if (state == State::reread) ci::reread(f->fd());
  as_written = as_written && state == State::warm;
  return *f;
}

void skip(benchmark::State& st, const std::string& why) { st.SkipWithError(("io: " + why).c_str()); }

// Drops the file from the page cache and checks that it went.
bool make_cold(benchmark::State& st, int fd) {
  if (ci::on_tmpfs(fd)) {
    skip(st, io_dir() + " is tmpfs: the file is its page cache, there is no cold read");
    return false;
  }
  ci::drop_cache(fd);
  const double share = ci::resident_share(fd);
  st.counters["cached_share"] = share;
  if (share > 0.5) {
    skip(st, "the kernel kept " + std::to_string(static_cast<int>(share * 100)) +
                 "% of the file cached after POSIX_FADV_DONTNEED: no cold read");
    return false;
  }
  return true;
}

// mmap_keep: the file mapped once (untimed), every iteration scans the same
// mapping. Its page-table entries are made by the first scan and stay: what
// a long-lived mapping costs per scan. No cold rows: the kernel does not drop
// pages a live mapping maps (DONTNEED leaves them).
void run_keep(benchmark::State& st, Probe& p, std::uint64_t bytes, State state) {
  try {
    const ci::TempFile& f = file(bytes, state);
    ci::Mapping map(f.fd());
    if (ci::count_newlines(map.data(), map.size()) != f.lines()) return skip(st, "line count wrong");
    std::uint64_t lines = 0;
    p.run(st, [&] {
      lines += ci::count_newlines(map.data(), map.size());
      benchmark::DoNotOptimize(lines);
    });
  } catch (const ci::IoError& e) {
    skip(st, e.what());
  }
}

void run(benchmark::State& st, Probe& p, std::uint64_t bytes, ci::Method m, State state) {
  const bool cold = state == State::cold;
  try {
    const ci::TempFile& f = file(bytes, state);
    const int fd = f.fd();
    std::unique_ptr<char[]> chunk(new char[ci::kChunkBytes]);  // read_chunk's buffer, reused
    auto scan = [&] {
      return m == ci::Method::read_chunk ? ci::scan_read_chunks(fd, chunk.get(), ci::kChunkBytes)
                                         : ci::scan_fd(fd, m);
    };
    if (scan().lines != f.lines()) return skip(st, "line count wrong");  // also warms the file
    if (cold && !make_cold(st, fd)) return;
    std::uint64_t lines = 0, scans = 0;
    p.run(st, [&] {
      try {
        if (cold) {
          st.PauseTiming();
          ci::drop_cache(fd);
          st.ResumeTiming();
        }
        lines += scan().lines;
        ++scans;
      } catch (const ci::IoError& e) {
        skip(st, e.what());  // ends the loop; the probe still closes its batch
      }
    });
    if (!st.error_occurred() && lines != scans * f.lines()) skip(st, "line count wrong");
  } catch (const ci::IoError& e) {
    skip(st, e.what());
  }
}

struct Variant {
  const char* name;
  Role role;
  ci::Method method;
  const char* note;
};
const Variant kVariants[] = {
    {"read_whole", Role::naive, ci::Method::read_whole, "read() of the whole file into a buffer allocated for it"},
    {"read_chunk", Role::optimised, ci::Method::read_chunk, "read() into one reused 128 KiB buffer (stays in L2)"},
    {"mmap", Role::peer, ci::Method::mmap, "mmap, scan, munmap (default advice)"},
    {"mmap_seq", Role::peer, ci::Method::mmap_seq, "mmap + madvise(MADV_SEQUENTIAL)"},
    {"mmap_populate", Role::peer, ci::Method::mmap_populate, "mmap(MAP_POPULATE): page tables filled in mmap()"},
    {"mmap_keep", Role::reference, ci::Method::mmap_keep, "one mapping made before timing, scanned again and again"},
};

}  // namespace

CACHETICK_FAMILY(io, "Scanning a file: read() whole, read() in 128 KiB chunks, mmap (+SEQUENTIAL, +POPULATE), warm, read back and cold") {
  for (std::uint64_t bytes : {kMiB / 16, kMiB, 16 * kMiB, 256 * kMiB, 1024 * kMiB})
    for (State state : {State::warm, State::reread, State::cold})
      for (const Variant& v : kVariants) {
        const bool cold = state == State::cold;
        Spec s;
        s.family = "io";
        s.variant = v.name;
        s.role = v.role;
        s.workload = state_name(state);
        s.size = bytes;
        s.size_label = format_bytes(bytes);
        s.working_set_bytes = bytes;
        s.op = "MiB";
        s.ops_per_iter = static_cast<double>(bytes) / kMiB;
        s.bytes_per_op = kMiB;
        s.budget_ns = cold ? 2e6 : 2.5e5;  // 0.52 GB/s cold, 4.2 GB/s warm
        s.note = std::string(v.note) + (cold                      ? "; page cache dropped before each scan"
                                        : state == State::reread ? "; file dropped, then read back with read()"
                                                                 : "; file in the page cache as written");
        if (v.method == ci::Method::mmap_keep) {
          if (cold) continue;
          add(s, [bytes, state](benchmark::State& st, Probe& p) { run_keep(st, p, bytes, state); });
        } else {
          add(s, [bytes, m = v.method, state](benchmark::State& st, Probe& p) { run(st, p, bytes, m, state); });
        }
      }
}
