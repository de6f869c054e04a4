// Scanning a file: count its lines, four ways of getting the bytes.
//
//   read_whole   read() the whole file into a buffer allocated for it (what
//                "load the file, then parse" code does). Memory grows with the
//                file; a buffer beyond glibc's mmap threshold (128 KiB, raised
//                up to 32 MiB as blocks are freed) is fresh pages from the
//                kernel every time: one page fault per 4 KiB, taken inside
//                read()'s copy. A big file's bytes go through memory twice:
//                read from the page cache and written to the buffer by the
//                copy, read from the buffer again by the scan.
//   read_chunk   read() into one reused 128 KiB buffer, scan it, repeat. The
//                copy lands in a buffer that stays in L2 (1-2 MiB on the
//                guests we run on), so the scan reads it from L2, not from
//                memory; memory use does not grow with the file. One syscall
//                per 128 KiB (~1 us on a KVM guest with today's mitigations,
//                against ~10 us to copy 128 KiB): 32 pages of work per trip.
//   mmap         map the file and scan the mapping: no copy at all, the core
//                reads the page cache's own pages. Instead the process pays
//                for page-table entries: a read fault on a file mapping maps
//                the page and, by "fault-around", up to 16 neighbours already
//                in the page cache (fault_around_bytes, 64 KiB) - ~16
//                faults per MiB - or, where the page cache holds the file in
//                2 MiB folios and the mapping is 2 MiB-aligned (the kernel
//                aligns file mappings of 2 MiB and more), the whole folio
//                with one page-middle-directory entry. munmap then tears the
//                entries down and flushes the TLB. Which of the two happens
//                is the file's history, not this code's choice: see
//                temp_file.h (written in big writes: 2 MiB folios; read
//                back from disk: mostly smaller ones). On the KVM guests we
//                run, mapping 4 KiB entry by entry costs ~1.5 us per page
//                (~400 us per MiB scanned, AMD EPYC Zen 5); in 2 MiB entries
//                map + scan + unmap costs 36-47 us per MiB, as much as read().
//   mmap + MADV_SEQUENTIAL: tells the kernel to read ahead aggressively and
//                to drop pages behind the scan sooner. Matters when the file
//                is NOT cached (cold); on a warm file there is nothing to read.
//   mmap + MAP_POPULATE: every page-table entry is made in mmap() itself, in
//                one pass inside the kernel: no faults during the scan (and
//                none that the user-space page-fault counter can see).
//
// The scan is the same for all: newlines counted 16 bytes at a time (SSE2:
// compare, subtract the 0/-1 mask from 8-bit counters, fold the counters with
// PSADBW before they can overflow), ~4 instructions per 16 bytes: far faster
// than any of the ways of getting the bytes, so the rows compare those.
//
// Errors are exceptions with a message a user can act on: "open
// /no/such/file: No such file or directory", "read /etc: Is a directory".
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cachetick::io {

class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "what: <strerror(errno)>", read at the call.
inline IoError errno_error(const std::string& what) {
  const int e = errno;
  return IoError(what + ": " + std::strerror(e));
}

// ------------------------------------------------------------------ scan ---

inline std::uint64_t count_newlines(const char* p, std::size_t n) {
  std::uint64_t total = 0;
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
  while (n - i >= 64) {
    // Two 8-bit counters per lane, each taking 2 compares a round: 127
    // rounds at most, so no lane passes 254.
    const std::size_t rounds = std::min<std::size_t>((n - i) / 64, 127);
    __m128i a = zero, b = zero;
    for (std::size_t r = 0; r < rounds; ++r, i += 64) {
      const __m128i* q = reinterpret_cast<const __m128i*>(p + i);
      a = _mm_sub_epi8(a, _mm_cmpeq_epi8(_mm_loadu_si128(q), nl));
      b = _mm_sub_epi8(b, _mm_cmpeq_epi8(_mm_loadu_si128(q + 1), nl));
      a = _mm_sub_epi8(a, _mm_cmpeq_epi8(_mm_loadu_si128(q + 2), nl));
      b = _mm_sub_epi8(b, _mm_cmpeq_epi8(_mm_loadu_si128(q + 3), nl));
    }
    const __m128i s = _mm_add_epi64(_mm_sad_epu8(a, zero), _mm_sad_epu8(b, zero));
    total += static_cast<std::uint64_t>(_mm_cvtsi128_si64(s)) +
             static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s)));
  }
#endif
  for (; i < n; ++i) total += p[i] == '\n';
  return total;
}

// ------------------------------------------------------------------ files ---

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Opens a regular file for reading. Throws IoError naming the path and the
// reason: missing, not permitted, a directory, not a regular file.
inline Fd open_readable(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw errno_error("open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw errno_error("stat " + path);
  if (S_ISDIR(st.st_mode)) throw IoError("read " + path + ": Is a directory");
  if (!S_ISREG(st.st_mode)) throw IoError("read " + path + ": not a regular file");
  return fd;
}

inline std::uint64_t file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw errno_error("stat");
  return static_cast<std::uint64_t>(st.st_size);
}

struct Scan {
  std::uint64_t lines = 0, bytes = 0;
};

// n bytes at `off` into p, in as many read()s as it takes (a single read()
// returns at most 0x7ffff000 bytes on Linux). Returns the bytes read: fewer
// than n only at the end of the file.
inline std::size_t pread_full(int fd, char* p, std::size_t n, std::uint64_t off) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, p + got, n - got, static_cast<off_t>(off + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw errno_error("read");
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

// read() into `buf` (`buf_bytes`, reused), scanning each chunk.
inline Scan scan_read_chunks(int fd, char* buf, std::size_t buf_bytes) {
  Scan s;
  for (;;) {
    const std::size_t got = pread_full(fd, buf, buf_bytes, s.bytes);
    s.lines += count_newlines(buf, got);
    s.bytes += got;
    if (got < buf_bytes) return s;
  }
}

// read() of the whole file into a buffer allocated for it.
inline Scan scan_read_whole(int fd) {
  const std::uint64_t size = file_size(fd);
  std::unique_ptr<char[]> buf(new char[size + 1]);  // not zeroed: read() writes it
  Scan s;
  s.bytes = pread_full(fd, buf.get(), size, 0);
  s.lines = count_newlines(buf.get(), s.bytes);
  return s;
}

enum class MapAdvice { none, sequential, populate };

// Maps the file, scans the mapping, unmaps it.
inline Scan scan_mmap(int fd, MapAdvice advice) {
  const std::uint64_t size = file_size(fd);
  Scan s;
  if (size == 0) return s;  // mmap of 0 bytes is an error; an empty file has no lines
  const int flags = MAP_PRIVATE | (advice == MapAdvice::populate ? MAP_POPULATE : 0);
  void* m = ::mmap(nullptr, size, PROT_READ, flags, fd, 0);
  if (m == MAP_FAILED) throw errno_error("mmap");
  if (advice == MapAdvice::sequential) ::madvise(m, size, MADV_SEQUENTIAL);  // advice: failure is harmless
  s.lines = count_newlines(static_cast<const char*>(m), size);
  s.bytes = size;
  ::munmap(m, size);
  return s;
}

// A read-only mapping of a whole file, unmapped on destruction: for code
// that maps once and scans many times (the page-table entries are made by
// the first scan and stay).
class Mapping {
 public:
  explicit Mapping(int fd) : size_(file_size(fd)) {
    if (size_ == 0) return;
    void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) throw errno_error("mmap");
    p_ = static_cast<const char*>(m);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (p_ != nullptr) ::munmap(const_cast<char*>(p_), size_);
  }
  const char* data() const { return p_; }
  std::size_t size() const { return static_cast<std::size_t>(size_); }

 private:
  std::uint64_t size_;
  const char* p_ = nullptr;
};

// mmap_keep: for scan_fd, a mapping made and dropped per call (the same as
// mmap); the benchmark keeps one Mapping instead.
enum class Method { read_whole, read_chunk, mmap, mmap_seq, mmap_populate, mmap_keep };

inline constexpr std::size_t kChunkBytes = 128 * 1024;

inline Scan scan_fd(int fd, Method m) {
  switch (m) {
    case Method::read_whole: return scan_read_whole(fd);
    case Method::read_chunk: {
      std::unique_ptr<char[]> buf(new char[kChunkBytes]);
      return scan_read_chunks(fd, buf.get(), kChunkBytes);
    }
    case Method::mmap:
    case Method::mmap_keep: return scan_mmap(fd, MapAdvice::none);
    case Method::mmap_seq: return scan_mmap(fd, MapAdvice::sequential);
    case Method::mmap_populate: return scan_mmap(fd, MapAdvice::populate);
  }
  return {};
}

// Opens `path`, scans it, closes it. Throws IoError.
inline Scan scan_file(const std::string& path, Method m) {
  Fd fd = open_readable(path);
  return scan_fd(fd.get(), m);
}

}  // namespace cachetick::io
