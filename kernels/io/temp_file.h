// A test file that cannot be left behind, and control over whether it is in
// the page cache.
//
// Leaving nothing behind. The file is created WITHOUT a name: O_TMPFILE
// (Linux 3.11+, on ext4, xfs, btrfs, tmpfs) makes an inode with no directory
// entry; where the file system refuses it, mkstemp() creates a named file and
// unlink() removes the name at once. Either way the directory never lists
// it for longer than one syscall, and the space comes back when the last
// descriptor closes - at the destructor, at exit, and also when the process
// is killed (SIGKILL included): no cleanup handler is needed, none can fail.
//
// Space. Before writing, statvfs() says how much the directory's file system
// has free for unprivileged writers (f_bavail); a file that would leave less
// than `margin` free is refused with a message that says so. A write that
// fails anyway (ENOSPC: another writer was faster) throws, and the unnamed
// file vanishes with its descriptor.
//
// Warm and cold. Warm: the file was just written or read, its pages are in
// the page cache. Cold: posix_fadvise(POSIX_FADV_DONTNEED) asks the kernel to
// drop the file's clean pages (fdatasync() first: dirty pages are not
// dropped). mincore() on a mapping then says what share is still cached. On
// a VM "cold" means cold in THIS kernel's page cache: the host may still hold
// the disk image's blocks in its own cache, so a cold read can come from the
// host's memory at a few GB/s, not from the physical disk. On tmpfs the page
// cache IS the file: nothing can be dropped (on_tmpfs() tells).
//
// Warm is not one state. How the pages got into the page cache decides how
// big its folios are, and mmap's cost follows the folio size (scan.h): the
// file is written in 4 MiB writes, so the kernel (6.18, ext4) caches it in
// folios of up to 2 MiB, which a fault maps with ONE page-middle-directory
// entry; read back after a drop (reread()), the same file comes back in
// smaller folios mapped 4 KiB entry by entry. Measured on the AMD EPYC Zen 5
// guest, 16 MiB file, mmap + scan + munmap per MiB: written in 2-16 MiB
// writes 36-47 us, in 1 MiB writes 381 us (folios of 1 MiB cannot be mapped
// by a 2 MiB entry), dropped and read back 456 us; read() in 128 KiB chunks
// 44-48 us in every case.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <vector>

#include "kernels/io/scan.h"

namespace cachetick::io {

// Bytes in the largest binary unit that keeps the figure at 1 or more
// ("64.00 KiB", "1.00 GiB": a 64 KiB file is not "0.00 GiB").
inline std::string size_text(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char b[32];
  std::snprintf(b, sizeof b, u == 0 ? "%.0f %s" : "%.2f %s", v, kUnits[u]);
  return b;
}

// The refusal, as a pure function of the figures (tested without a full disk).
// Empty when `need` bytes fit with `margin` to spare.
inline std::string space_refusal(const std::string& dir, std::uint64_t free_bytes, std::uint64_t need,
                                 std::uint64_t margin) {
  if (free_bytes >= need && free_bytes - need >= margin) return "";
  return dir + " has " + size_text(free_bytes) + " free; a " + size_text(need) + " test file must leave " +
         size_text(margin) + " free: not created";
}

inline void check_space(const std::string& dir, std::uint64_t need, std::uint64_t margin) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) throw errno_error("statvfs " + dir);
  const std::string refusal = space_refusal(dir, static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize, need, margin);
  if (!refusal.empty()) throw IoError(refusal);
}

// The write size: a multiple of 2 MiB, so the page cache can hold the file
// in 2 MiB folios (see the top of this file).
inline constexpr std::size_t kWriteBytes = std::size_t{4} << 20;

// Writes `bytes` of deterministic text lines (20-120 bytes each, the last
// one possibly cut short) to fd, `write_bytes` per write() (the content does
// not depend on it). Returns the number of '\n' written.
inline std::uint64_t write_lines(int fd, std::uint64_t bytes, std::size_t write_bytes = kWriteBytes) {
  std::vector<char> block(std::max<std::size_t>(write_bytes, 1));
  std::uint64_t x = 0x9e3779b97f4a7c15ull, lines = 0, done = 0;
  std::size_t col = 0, len = 40;
  while (done < bytes) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), bytes - done));
    for (std::size_t i = 0; i < n; ++i) {
      if (col + 1 == len) {
        block[i] = '\n';
        ++lines;
        col = 0;
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        len = 20 + static_cast<std::size_t>((x >> 33) % 101);
      } else {
        block[i] = static_cast<char>('a' + (col * 7 + len) % 26);
        ++col;
      }
    }
    std::size_t off = 0;
    while (off < n) {
      const ssize_t w = ::write(fd, block.data() + off, n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw errno_error("write");
      }
      off += static_cast<std::size_t>(w);
    }
    done += n;
  }
  return lines;
}

class TempFile {
 public:
  // A file of `bytes` text lines in `dir`, with no name. Throws IoError:
  // no such directory, not writable, not enough space (see check_space).
  TempFile(const std::string& dir, std::uint64_t bytes, std::uint64_t margin) : bytes_(bytes) {
    check_space(dir, bytes, margin);
    fd_ = create_unnamed(dir);
    lines_ = write_lines(fd_.get(), bytes);
    if (::fdatasync(fd_.get()) != 0) throw errno_error("fdatasync " + dir);  // on disk: can be dropped
  }
  int fd() const { return fd_.get(); }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t lines() const { return lines_; }

 private:
  static Fd create_unnamed(const std::string& dir) {
#ifdef O_TMPFILE
    Fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (fd) return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) throw errno_error("create a file in " + dir);
#endif
    std::string path = dir + "/cachetick-io-XXXXXX";
    Fd named(::mkstemp(path.data()));
    if (!named) throw errno_error("create a file in " + dir);
    ::unlink(path.c_str());  // nameless from here on
    return named;
  }
  Fd fd_;
  std::uint64_t bytes_ = 0, lines_ = 0;
};

// Share of the file's pages in the page cache, 0..1 (mincore on a mapping:
// mapping does not fault anything in).
inline double resident_share(int fd) {
  const std::uint64_t size = file_size(fd);
  if (size == 0) return 0;
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) throw errno_error("mmap");
  const long page = ::sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> v((size + page - 1) / page);
  const int r = ::mincore(m, size, v.data());
  ::munmap(m, size);
  if (r != 0) throw errno_error("mincore");
  std::uint64_t in = 0;
  for (unsigned char c : v) in += c & 1;
  return static_cast<double>(in) / static_cast<double>(v.size());
}

// Asks the kernel to drop the file from the page cache.
inline void drop_cache(int fd) {
  if (::fdatasync(fd) != 0) throw errno_error("fdatasync");
  const int e = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (e != 0) {
    errno = e;
    throw errno_error("posix_fadvise(DONTNEED)");
  }
}

// Drops the file and reads it back with read(): warm again, but in the
// folios a read of a file from disk leaves, not those its writer left.
inline void reread(int fd) {
  drop_cache(fd);
  std::vector<char> buf(kChunkBytes);
  scan_read_chunks(fd, buf.data(), buf.size());
}

inline bool on_tmpfs(int fd) {
  struct statfs s {};
  return ::fstatfs(fd, &s) == 0 && s.f_type == 0x01021994;  // TMPFS_MAGIC
}

}  // namespace cachetick::io
