// The io family: every way of scanning a file counts the same lines; the
// newline counter agrees with a byte loop at every length and alignment; the
// test file leaves nothing behind; bad input is a clear error.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/io/scan.h"
#include "kernels/io/temp_file.h"

namespace ci = cachetick::io;

namespace {

std::string tmp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr && *t != '\0' ? t : "/tmp";
}

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) out.insert(e->d_name);
    closedir(d);
  }
  return out;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ci::IoError& e) {
    return e.what();
  }
  return "";
}

constexpr ci::Method kMethods[] = {ci::Method::read_whole, ci::Method::read_chunk, ci::Method::mmap,
                                   ci::Method::mmap_seq, ci::Method::mmap_populate, ci::Method::mmap_keep};

}  // namespace

TEST(IoCount, AgreesWithAByteLoop) {
  std::mt19937_64 rng(5);
  std::vector<char> buf(40000);
  for (char& c : buf) c = rng() % 5 == 0 ? '\n' : static_cast<char>(rng());
  for (std::size_t off = 0; off < 17; ++off)
    for (std::size_t len : {0, 1, 15, 16, 63, 64, 65, 200, 8191, 8192, 8193, 30000}) {
      std::uint64_t want = 0;
      for (std::size_t i = 0; i < len; ++i) want += buf[off + i] == '\n';
      ASSERT_EQ(ci::count_newlines(buf.data() + off, len), want) << off << " " << len;
    }
  // Every byte a newline: the 8-bit counters at their largest, folded in time.
  std::vector<char> all(127 * 64 * 3 + 5, '\n');
  EXPECT_EQ(ci::count_newlines(all.data(), all.size()), all.size());
}

TEST(IoScan, EveryMethodCountsTheSame) {
  for (std::uint64_t bytes : {0ull, 1ull, 4095ull, 4096ull, 131071ull, 131072ull, 131073ull, (1ull << 20) + 17}) {
    ci::TempFile f(tmp_dir(), bytes, 0);
    EXPECT_EQ(ci::file_size(f.fd()), bytes);
    for (ci::Method m : kMethods) {
      const ci::Scan s = ci::scan_fd(f.fd(), m);
      EXPECT_EQ(s.bytes, bytes) << static_cast<int>(m);
      EXPECT_EQ(s.lines, f.lines()) << static_cast<int>(m) << " at " << bytes;
    }
    const ci::Mapping map(f.fd());
    EXPECT_EQ(ci::count_newlines(map.data(), map.size()), f.lines());
    std::vector<char> small(1000);  // a reused buffer smaller than the file
    const ci::Scan s = ci::scan_read_chunks(f.fd(), small.data(), small.size());
    EXPECT_EQ(s.lines, f.lines());
  }
}

TEST(IoTempFile, LeavesNothingBehind) {
  const std::string dir = tmp_dir();
  const std::set<std::string> before = entries(dir);
  {
    ci::TempFile f(dir, 1 << 16, 0);
    EXPECT_GT(f.lines(), 0u);
    // Nameless while it exists (a parallel test may add its own entries;
    // ours would start with cachetick-io- on the fallback path).
    for (const std::string& e : entries(dir)) EXPECT_EQ(e.rfind("cachetick-io-", 0), std::string::npos) << e;
  }
  for (const std::string& e : entries(dir)) {
    if (!before.count(e)) {
      EXPECT_EQ(e.rfind("cachetick-io-", 0), std::string::npos) << e;
    }
  }
}

TEST(IoTempFile, WarmAfterReadingAndTheCacheCanBeAskedToDrop) {
  ci::TempFile f(tmp_dir(), 1 << 20, 0);
  ci::scan_fd(f.fd(), ci::Method::read_chunk);
  const double warm = ci::resident_share(f.fd());
  EXPECT_GE(warm, 0.0);
  EXPECT_LE(warm, 1.0);
  EXPECT_NO_THROW(ci::drop_cache(f.fd()));  // what is dropped is the kernel's call (tmpfs: nothing)
  const double after = ci::resident_share(f.fd());
  EXPECT_GE(after, 0.0);
  EXPECT_LE(after, 1.0);
}

// The write size decides the page cache's folios, never the file's bytes.
TEST(IoTempFile, ContentDoesNotDependOnTheWriteSize) {
  const std::uint64_t bytes = (std::uint64_t{3} << 20) + 12345;  // several writes, the last one short
  std::vector<std::string> content;
  std::vector<std::uint64_t> lines;
  for (std::size_t write_bytes : {std::size_t{1}, std::size_t{4096} + 7, std::size_t{1} << 20, ci::kWriteBytes}) {
    FILE* tmp = std::tmpfile();
    ASSERT_NE(tmp, nullptr);
    const int fd = fileno(tmp);
    lines.push_back(ci::write_lines(fd, write_bytes == 1 ? 70000 : bytes, write_bytes));
    std::string s(ci::file_size(fd), '\0');
    ASSERT_EQ(ci::pread_full(fd, s.data(), s.size(), 0), s.size());
    EXPECT_EQ(static_cast<std::uint64_t>(std::count(s.begin(), s.end(), '\n')), lines.back());
    content.push_back(std::move(s));
    std::fclose(tmp);
  }
  EXPECT_EQ(content[0], content[1].substr(0, 70000));  // byte by byte: the same text
  EXPECT_EQ(content[1], content[2]);
  EXPECT_EQ(content[2], content[3]);
  EXPECT_EQ(content[3].size(), bytes);
}

// reread leaves the file readable and whole, whatever the kernel kept.
TEST(IoTempFile, RereadKeepsTheFile) {
  ci::TempFile f(tmp_dir(), (1 << 20) + 99, 0);
  ci::reread(f.fd());
  for (ci::Method m : kMethods) EXPECT_EQ(ci::scan_fd(f.fd(), m).lines, f.lines());
  const double share = ci::resident_share(f.fd());
  EXPECT_GE(share, 0.0);
  EXPECT_LE(share, 1.0);
}

// ------------------------------------------------------------- bad input ---

TEST(IoBadInput, MissingFile) {
  const std::string m = message_of([] { ci::scan_file("/nonexistent/cachetick/file", ci::Method::mmap); });
  EXPECT_EQ(m, "open /nonexistent/cachetick/file: No such file or directory");
}

TEST(IoBadInput, ADirectory) {
  EXPECT_EQ(message_of([] { ci::scan_file("/", ci::Method::read_chunk); }), "read /: Is a directory");
}

TEST(IoBadInput, NotARegularFile) {
  EXPECT_EQ(message_of([] { ci::scan_file("/dev/null", ci::Method::read_whole); }),
            "read /dev/null: not a regular file");
}

TEST(IoBadInput, UnreadableFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file: no unreadable file to make";
  const std::string path = tmp_dir() + "/cachetick-io-unreadable-" + std::to_string(getpid());
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0000);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string m = message_of([&] { ci::scan_file(path, ci::Method::mmap); });
  unlink(path.c_str());
  EXPECT_EQ(m, "open " + path + ": Permission denied");
}

TEST(IoBadInput, MissingDirectoryForTheTestFile) {
  EXPECT_EQ(message_of([] { ci::TempFile f("/nonexistent/cachetick", 4096, 0); }),
            "statvfs /nonexistent/cachetick: No such file or directory");
}

TEST(IoBadInput, NotEnoughSpace) {
  EXPECT_EQ(ci::space_refusal("/d", 3ull << 30, 1ull << 30, 1ull << 30), "");
  EXPECT_EQ(ci::space_refusal("/d", 1ull << 30, 1ull << 30, 1ull << 30),
            "/d has 1.00 GiB free; a 1.00 GiB test file must leave 1.00 GiB free: not created");
  EXPECT_NE(ci::space_refusal("/d", 100, 1ull << 30, 0), "");  // less free than the file itself
  // Each figure in its own unit: a 64 KiB file is not "0.00 GiB".
  EXPECT_EQ(ci::space_refusal("/d", 6ull << 20, 64ull << 10, 1ull << 30),
            "/d has 6.00 MiB free; a 64.00 KiB test file must leave 1.00 GiB free: not created");
  EXPECT_EQ(ci::size_text(0), "0 B");
  EXPECT_EQ(ci::size_text(1023), "1023 B");
  EXPECT_EQ(ci::size_text(1536), "1.50 KiB");
  // A real directory, asked for more than any disk has.
  const std::string m = message_of([] { ci::TempFile f(tmp_dir(), 1ull << 60, 0); });
  EXPECT_NE(m.find("test file must leave"), std::string::npos) << m;
}

TEST(IoBadInput, AWriteThatRunsOutOfSpace) {
  const int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "no /dev/full here";
  const std::string m = message_of([fd] { ci::write_lines(fd, 1 << 20); });
  close(fd);
  EXPECT_EQ(m, "write: No space left on device");
}
