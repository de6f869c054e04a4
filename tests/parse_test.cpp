// The parse family: every variant yields the records a straightforward
// reference parser yields, on generated ASN tables, on hand-written edge
// cases and on random (also corrupted) input; errors are the same errors;
// the Table's lifetime rules hold.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/parse/csv.h"
#include "kernels/parse/generate.h"
#include "kernels/parse/records.h"
#include "tests/fail_new.h"

namespace cp = cachetick::parse;

namespace {

// ------------------------------------------------------------- reference ---

struct RefRecord {
  std::uint32_t asn;
  std::string country, org, cidr;
};

// What the reference says about an input: the records, and if it is bad,
// the 1-based record where it went wrong (0 = good input).
struct RefResult {
  std::vector<RefRecord> records;
  std::size_t bad_record = 0;
};

// The format's rules (kernels/parse/csv.h), one byte at a time, no cleverness.
RefResult reference_parse(std::string_view in, bool require_final_newline = false) {
  RefResult res;
  const std::size_t n = in.size();
  std::size_t i = 0;
  auto bad = [&] {
    res.bad_record = res.records.size() + 1;
    return res;
  };
  while (i < n) {
    if (in[i] == '\n') { ++i; continue; }
    if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n') { i += 2; continue; }
    std::vector<std::string> fields;
    std::vector<bool> quoted;
    for (;;) {
      std::string v;
      bool q = i < n && in[i] == '"';
      if (q) {
        ++i;
        bool closed = false;
        while (i < n) {
          if (in[i] == '"') {
            if (i + 1 < n && in[i + 1] == '"') { v += '"'; i += 2; continue; }
            closed = true;
            ++i;
            break;
          }
          v += in[i++];
        }
        if (!closed) return bad();
      } else {
        while (i < n && in[i] != ',' && in[i] != '\n') v += in[i++];
      }
      fields.push_back(v);
      quoted.push_back(q);
      if (i == n) break;
      if (in[i] == ',') { ++i; continue; }
      if (in[i] == '\n') {
        ++i;
        if (!q && !fields.back().empty() && fields.back().back() == '\r') fields.back().pop_back();
        break;
      }
      if (q && in[i] == '\r' && i + 1 < n && in[i + 1] == '\n') { i += 2; break; }
      return bad();
    }
    if (fields.size() != 4 || quoted[0]) return bad();
    const std::string& a = fields[0];
    if (a.empty() || a.size() > 10) return bad();
    std::uint64_t v = 0;
    for (char ch : a) {
      if (ch < '0' || ch > '9') return bad();
      v = v * 10 + static_cast<unsigned>(ch - '0');
    }
    if (v > 0xffffffffull) return bad();
    res.records.push_back({static_cast<std::uint32_t>(v), fields[1], fields[2], fields[3]});
  }
  if (require_final_newline && n != 0 && in[n - 1] != '\n') return bad();
  return res;
}

// ------------------------------------------------------------ the variants ---

// Runs one variant; returns the 1-based record of the error (0 = none) and
// checks its records against the reference either way.
template <class V>
std::size_t check_variant(V& v, std::string_view in, const RefResult& ref, const char* name,
                          bool require_nl) {
  std::size_t bad = 0;
  try {
    if constexpr (std::is_same_v<V, cp::Table>)
      v.assign(std::vector<char>(in.begin(), in.end()), cp::ParseOptions{require_nl});
    else
      v.parse(in, cp::ParseOptions{require_nl});
  } catch (const cp::ParseError& e) {
    bad = e.record();
  }
  EXPECT_EQ(bad, ref.bad_record) << name;
  // Good input: every record. Bad input: the records before the bad line.
  EXPECT_EQ(v.size(), ref.records.size()) << name;
  for (std::size_t i = 0; i < v.size() && i < ref.records.size(); ++i) {
    const RefRecord& r = ref.records[i];
    const cp::RecordView got = v.record(i);
    EXPECT_EQ(got, (cp::RecordView{r.asn, r.country, r.org, r.cidr})) << name << " record " << i;
    if (got != cp::RecordView{r.asn, r.country, r.org, r.cidr}) break;
  }
  return bad;
}

// Every variant against the reference, on one input.
void check_all(std::string_view in, bool require_nl = false) {
  SCOPED_TRACE(::testing::Message() << "input (" << in.size() << " B): "
                                    << std::string(in.substr(0, 200)));
  const RefResult ref = reference_parse(in, require_nl);
  cp::OwningRecords owning;
  cp::PmrRecords pmr(2 * in.size() + 64);
  cp::ArenaRecords arena(2 * in.size() + 64);
  cp::ViewRecords views;
  cp::Table table;
  check_variant(owning, in, ref, "std_string", require_nl);
  check_variant(pmr, in, ref, "pmr_string", require_nl);
  check_variant(arena, in, ref, "ct_arena", require_nl);
  check_variant(views, in, ref, "string_view", require_nl);
  check_variant(table, in, ref, "ct_table", require_nl);
}

std::string message_of(std::string_view in, bool require_nl = false) {
  try {
    cp::ViewRecords v;
    v.parse(in, cp::ParseOptions{require_nl});
  } catch (const cp::ParseError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// --------------------------------------------------------------- generated ---

TEST(ParseGenerated, EveryShapeMatchesTheReference) {
  for (cp::Shape shape : {cp::Shape::asn, cp::Shape::long_org, cp::Shape::sso})
    for (std::size_t bytes : {std::size_t{1}, std::size_t{1024}, std::size_t{64 * 1024}})
      for (std::uint64_t seed : {1, 42}) {
        const cp::Generated g = cp::generate(shape, bytes, seed);
        SCOPED_TRACE(::testing::Message() << cp::to_string(shape) << " " << bytes << " seed " << seed);
        EXPECT_LE(g.text.size(), std::max<std::size_t>(bytes, 400));
        check_all(g.text);
        EXPECT_EQ(reference_parse(g.text).records.size(), g.records);
      }
}

TEST(ParseGenerated, IsDeterministicAndHasTheAdvertisedFeatures) {
  const cp::Generated a = cp::generate(cp::Shape::asn, 256 * 1024, 42);
  EXPECT_EQ(a.text, cp::generate(cp::Shape::asn, 256 * 1024, 42).text);
  const RefResult r = reference_parse(a.text);
  std::size_t quoted_comma = 0, quote_inside = 0, empty_country = 0, long_org = 0;
  for (const RefRecord& x : r.records) {
    quoted_comma += x.org.find(',') != std::string::npos;
    quote_inside += x.org.find('"') != std::string::npos;
    empty_country += x.country.empty();
    long_org += x.org.size() > 15;
  }
  EXPECT_GT(quoted_comma, 0u);
  EXPECT_GT(quote_inside, 0u);
  EXPECT_GT(empty_country, 0u);
  EXPECT_GT(long_org, r.records.size() / 2);  // most names beyond std::string's inline buffer
  for (const RefRecord& x : reference_parse(cp::generate(cp::Shape::sso, 64 * 1024).text).records)
    ASSERT_TRUE(x.country.size() <= 15 && x.org.size() <= 15 && x.cidr.size() <= 15);
}

// The benchmarks take their op and byte counts from this table.
TEST(ParseGenerated, SizingTableMatchesTheGenerator) {
  for (const cp::Sizing& z : cp::kSizings) {
    if (z.nominal > (2u << 20)) continue;  // 256 MiB: checked by its benchmark when it runs
    const cp::Generated g = cp::generate(z.shape, z.nominal);
    EXPECT_EQ(g.records, z.records) << cp::to_string(z.shape) << " " << z.nominal;
    EXPECT_EQ(g.text.size(), z.bytes) << cp::to_string(z.shape) << " " << z.nominal;
  }
}

// -------------------------------------------------------------- edge cases ---

TEST(ParseEdges, GoodInputs) {
  for (const char* in : {
           "",                                     // nothing
           "\n\n\r\n",                             // empty lines only
           "1,US,Org,10.0.0.0/8\n",                // one line
           "1,US,Org,10.0.0.0/8",                  // no final newline
           "1,US,Org,10.0.0.0/8\r\n2,DE,X,y\r\n",  // CRLF
           "1,,,\n",                               // empty text fields
           "1,\"\",\"\",\"\"\n",                   // empty quoted fields
           "1,US,\"Level 3, LLC\",4.0.0.0/9\n",    // a separator inside quotes
           "1,US,\"a\nb\",c\n",                    // a newline inside quotes
           "1,US,\"\"\"\",c\n",                    // the value is one quote
           "1,US,\"x \"\"Net\"\" y\",c\n",         // escaped quotes inside
           "1,US,\"x\"\"\",c",                     // escaped quote at the very end
           "1,US,a\rb,c\r\n",                      // \r inside a field is data
           "1,US,a,b\r",                           // \r at the end of input: data
           "1,US,a,\"b\"\r\n",                     // quoted last field, CRLF
           "4294967295,US,a,b\n",                  // the largest asn
           "0000000007,US,a,b\n",                  // leading zeros, 10 digits
           "1,US,a\"b,c\n",                        // a quote inside a bare field is data
           "1,US,a,b\n\n\n2,US,a,b\n",             // empty lines between
       })
    check_all(in);
}

TEST(ParseEdges, BadInputsAreErrorsNamingTheRecord) {
  struct Case {
    const char* in;
    const char* says;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"1,US,a,b\n2,US,a", "record 2): line ends after 3 of 4 fields"},   // truncated last line
           {"1,US,a,b\n2,US,\"Ama", "record 2): quoted field never closed"},   // truncated inside quotes
           {"1,US,a,b\n2", "record 2): line ends after 1 of 4 fields"},
           {"1,US,a,b,c\n", "more than 4 fields"},
           {"1,US,a\n", "line ends after 3 of 4 fields"},
           {"1,US\r\n", "line ends after 2 of 4 fields"},
           {",US,a,b\n", "asn: expected digits"},
           {"\"1\",US,a,b\n", "asn: a number is never quoted"},
           {"x1,US,a,b\n", "asn: expected digits"},
           {"1x,US,a,b\n", "asn: unexpected byte"},
           {"4294967296,US,a,b\n", "asn: larger than 4294967295"},
           {"12345678901,US,a,b\n", "asn: larger than 4294967295"},
           {"1,\"US\"x,a,b\n", "unexpected byte after a closing quote"},
           {"1,US,a,\"b\"c\n", "unexpected byte after a closing quote"},
           {"1,US,a,\"b\"\rX", "unexpected byte after a closing quote"},
       }) {
    check_all(c.in);
    EXPECT_NE(message_of(c.in).find(c.says), std::string::npos) << c.in << " -> " << message_of(c.in);
  }
}

TEST(ParseEdges, TruncatedLastLineRule) {
  // A cut inside the last field looks like a shorter value: accepted, unless
  // the caller asks for the final newline.
  const std::string cut = "1,US,a,10.0.0.0/8\n2,US,b,10.0.";
  check_all(cut);
  check_all(cut, /*require_nl=*/true);
  EXPECT_NE(message_of(cut, true).find("record 3): the input does not end with a newline"), std::string::npos)
      << message_of(cut, true);
  check_all(cut + "\n", true);
  EXPECT_EQ(message_of(cut + "\n", true), "");
}

TEST(ParseEdges, ErrorOffsetPointsAtTheProblem) {
  try {
    cp::ViewRecords v;
    v.parse("1,US,a,b\n22,US,a,b,c\n");
    FAIL() << "no error";
  } catch (const cp::ParseError& e) {
    EXPECT_EQ(e.record(), 2u);
    EXPECT_EQ(e.offset(), std::string_view("1,US,a,b\n22,US,a,b").size());  // the 5th field's comma
  }
}

// The scanner reads 16 bytes at a time: never past the input. The input ends
// exactly where a page without access begins.
TEST(ParseEdges, NeverReadsPastTheInput) {
  const long page = sysconf(_SC_PAGESIZE);
  char* m = static_cast<char*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(m, MAP_FAILED);
  ASSERT_EQ(mprotect(m + page, page, PROT_NONE), 0);
  const std::string lines = cp::generate(cp::Shape::asn, 4096, 7).text;
  for (std::size_t len = 0; len <= 200; ++len) {
    const std::string_view src = std::string_view(lines).substr(0, len);
    char* at = m + page - len;
    std::memcpy(at, src.data(), len);
    check_all(std::string_view(at, len));  // the reference and all variants
  }
  munmap(m, 2 * page);
}

// The fast path (one 64-byte mask per line) against the reference at its
// edges: asn of 1-10 digits, lines of up to 70 bytes around the 64-byte
// window, CRLF, empty fields, a bad digit. Filler lines after each keep 64
// bytes readable, so the fast path is tried on the line under test.
TEST(ParseFastPath, BoundariesMatchTheReference) {
  const std::string filler = "1,US,filler line to keep sixty-four bytes readable,10.0.0.0/8\n";
  for (std::size_t digits = 1; digits <= 11; ++digits)
    for (std::size_t org = 0; org <= 60; org += 3)
      for (const char* eol : {"\n", "\r\n", "\r"})
        for (const char* country : {"US", ""}) {
          std::string line = std::string(digits, '7') + ',' + country + ',' + std::string(org, 'o') + ",1.2.3.0/24" + eol;
          check_all(line + filler + filler);
          std::string bad = line;
          bad[digits / 2] = 'x';
          check_all(bad + filler + filler);
        }
}

// The quoted-organisation fast path at the window's edges: the closing
// quote, its comma and the newline at every position around byte 63.
TEST(ParseFastPath, QuotedOrganisationBoundariesMatchTheReference) {
  const std::string filler = "1,US,filler line to keep sixty-four bytes readable,10.0.0.0/8\n";
  for (std::size_t org = 0; org <= 62; ++org)
    for (const char* inner : {"", ", Inc", "\"\"", "\n"})
      for (const char* eol : {"\n", "\r\n"}) {
        const std::string line = "64500,NL,\"" + std::string(org, 'o') + inner + "\",198.51.100.0/22" + eol;
        check_all(line + filler + filler);
        check_all(line.substr(0, line.size() - 1) + filler);  // the newline gone: the range runs on
        check_all(line + line.substr(0, line.size() / 2));  // then a cut line: an error, as the reference says
      }
}

TEST(ParseFastPath, TakesTheCommonLineAndLeavesTheRest) {
  auto fast = [](const std::string& line) {
    const std::string in = line + std::string(64, '\n');
    cp::detail::Cursor c{in.data(), in.data(), in.data() + in.size(), 1};
    cp::RawRecord r{};
    const bool taken = cp::detail::fast_line(c, r);
    if (taken) EXPECT_EQ(c.p, in.data() + line.size());
    else EXPECT_EQ(c.p, in.data());  // nothing consumed
    return taken;
  };
  EXPECT_TRUE(fast("14421,US,Theranet LLC,203.0.113.0/24\n"));
  EXPECT_TRUE(fast("12345678,,,\n"));
  EXPECT_FALSE(fast("123456789,US,a,b\n"));         // 9 digits: the general path
  EXPECT_TRUE(fast("1,US,\"Level 3, LLC\",x\n"));   // a quoted organisation: the second fast path
  EXPECT_TRUE(fast("1,US,\"\",x\n"));               // quoted and empty
  EXPECT_TRUE(fast("1,US,\"a\nb,c\",x\r\n"));       // a newline inside the quotes is data
  EXPECT_FALSE(fast("1,US,\"say \"\"hi\"\"\",x\n"));  // '""' inside: the general path unescapes
  EXPECT_FALSE(fast("1,\"US\",a,x\n"));             // a quoted country
  EXPECT_FALSE(fast("1,US,a,\"x\"\n"));             // a quoted range
  EXPECT_FALSE(fast("1,US,\"a\"b,x\n"));            // bytes after the closing quote: the general path reports it
  EXPECT_FALSE(fast("1,US,\"unclosed, x\n"));        // no closing quote in the window
  EXPECT_FALSE(fast("1,US,\"" + std::string(70, 'o') + "\",x\n"));  // longer than the window
  EXPECT_FALSE(fast("\n1,US,a,b\n"));               // empty line first
  EXPECT_FALSE(fast("1,US,a,b,c\n"));                // 5 fields: the general path reports it
  EXPECT_FALSE(fast("1," + std::string(70, 'o') + ",a,b\n"));  // longer than the window
}

// ----------------------------------------------------------------- random ---

namespace {

// Random records over an alphabet heavy in separators, written as a CSV
// writer would (quoted when needed, sometimes quoted anyway), CRLF or LF.
std::string random_table(std::mt19937_64& rng, std::size_t records) {
  static constexpr char kAlpha[] = {'a', 'Z', ' ', ',', '"', '\n', '\r', '0', '.', '/'};
  std::string out;
  for (std::size_t k = 0; k < records; ++k) {
    out += std::to_string(rng() % 2 ? rng() % 100 : rng() % 4294967296ull);
    for (int f = 0; f < 3; ++f) {
      out += ',';
      std::string v(rng() % 6 == 0 ? 0 : rng() % 40, ' ');
      for (char& ch : v) ch = kAlpha[rng() % sizeof kAlpha];
      const bool must = v.find_first_of(",\"\n\r") != std::string::npos;
      if (must || rng() % 8 == 0) {
        out += '"';
        for (char ch : v) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        out += '"';
      } else {
        out += v;
      }
    }
    out += rng() % 4 == 0 ? "\r\n" : "\n";
    if (rng() % 16 == 0) out += '\n';
  }
  if (!out.empty() && rng() % 4 == 0) {  // no final newline (nor its \r)
    out.pop_back();
    if (!out.empty() && out.back() == '\r') out.pop_back();
  }
  return out;
}

}  // namespace

TEST(ParseRandom, WellFormedTablesMatchTheReference) {
  std::mt19937_64 rng(2024);
  for (int t = 0; t < 300; ++t) {
    const std::string in = random_table(rng, 1 + rng() % 30);
    const RefResult ref = reference_parse(in);
    ASSERT_EQ(ref.bad_record, 0u) << in;  // the writer above only writes good input
    check_all(in);
  }
}

TEST(ParseRandom, CorruptedTablesFailAsTheReferenceFails) {
  std::mt19937_64 rng(99);
  static constexpr char kBytes[] = {',', '"', '\n', '\r', 'x', '7'};
  std::size_t errors = 0;
  for (int t = 0; t < 1500; ++t) {
    std::string in = random_table(rng, 1 + rng() % 12);
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !in.empty(); ++e) {
      const std::size_t at = rng() % in.size();
      switch (rng() % 3) {
        case 0: in[at] = kBytes[rng() % sizeof kBytes]; break;
        case 1: in.erase(at, 1); break;
        default: in.resize(at); break;  // truncated
      }
    }
    errors += reference_parse(in).bad_record != 0;
    check_all(in);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(errors, 300u);  // the corruption reaches the error paths
}

// ------------------------------------------------------------------ table ---

TEST(ParseTable, ReleaseGivesTheInputBackAndEmptiesTheTable) {
  const std::string in = "1,US,\"x \"\"q\"\" y\",c\n2,DE,b,d\n";
  cp::Table t;
  t.assign(std::vector<char>(in.begin(), in.end()));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.org(0), "x \"q\" y");  // unescaped, appended after the input
  const std::vector<char> back = t.release();
  EXPECT_EQ(std::string(back.begin(), back.end()), in);
  EXPECT_EQ(t.size(), 0u);
}

TEST(ParseTable, RecordsHoldNoPointersAndStaleSlicesAreCaught) {
  const std::string in = "1,US,Amazon Web Services,10.0.0.0/8\n";
  cp::Table t;
  t.assign(std::vector<char>(in.begin(), in.end()));
  const cp::SlimRecord copy = t.slim(0);  // plain data: copied out
  EXPECT_EQ(t.text(copy.org), "Amazon Web Services");
  std::vector<char> buf = t.release();
  // The copy is still two integers per field; the table no longer holds the
  // bytes, so resolving it is an error, not a read of freed memory.
  EXPECT_THROW((void)t.text(copy.org), std::out_of_range);
  cp::Table other;
  other.assign(std::vector<char>{'1', ',', 'a', ',', 'b', ',', 'c'});
  EXPECT_THROW((void)other.text(copy.org), std::out_of_range);  // a foreign slice beyond its bytes
  EXPECT_EQ(copy.org.offset(), 5u);
  EXPECT_EQ(copy.org.size(), 19u);
}

TEST(ParseTable, SurvivesMovesOfItself) {
  const cp::Generated g = cp::generate(cp::Shape::asn, 16 * 1024, 3);
  cp::Table a;
  a.assign(std::vector<char>(g.text.begin(), g.text.end()));
  std::vector<cp::RecordView> before;
  for (std::size_t i = 0; i < a.size(); ++i) before.push_back(a.record(i));
  cp::Table b = std::move(a);  // the vector's heap block moves with it: views stay
  ASSERT_EQ(b.size(), before.size());
  for (std::size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b.record(i), before[i]);
  cp::Table c = b;  // a copy: offsets need no fix-up
  for (std::size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c.record(i), before[i]);
  EXPECT_NE(c.org(0).data(), b.org(0).data());
}

// Every allocation assign() makes, failed in turn (operator new below):
// after a std::bad_alloc the table holds no record, half written or not,
// and gives the text back unchanged.
TEST(ParseTable, AFailedAllocationLeavesNoRecordAndTheText) {
  std::string in;
  for (int i = 0; i < 300; ++i)  // escaped organisations: the side buffer grows too
    in += std::to_string(i) + ",US,\"o\"\"" + std::to_string(i) + "\",10.0.0.0/8\n";
  long failed = 0;
  for (long k = 1;; ++k) {
    cp::Table t;
    std::vector<char> text(in.begin(), in.end());
    bool threw = false;
    cachetick_test::fail_new_at = k;
    try {
      t.assign(std::move(text));
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    cachetick_test::fail_new_at = 0;
    if (!threw) {
      ASSERT_EQ(t.size(), 300u);
      EXPECT_EQ(t.org(299), "o\"299");
      break;
    }
    ++failed;
    ASSERT_EQ(t.size(), 0u) << "allocation " << k << " failed";
    const std::vector<char> back = t.release();
    ASSERT_EQ(std::string(back.begin(), back.end()), in) << "allocation " << k << " failed";
  }
  EXPECT_GE(failed, 3);  // the records, the side buffer, the text's growth
}

TEST(ParseTable, AnErrorKeepsTheTextAndTheRecordsBefore) {
  const std::string in = "1,US,\"a\"\"b\",c\n2,US,x\n";
  cp::Table t;
  EXPECT_THROW(t.assign(std::vector<char>(in.begin(), in.end())), cp::ParseError);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t.org(0), "a\"b");
  const std::vector<char> back = t.release();
  EXPECT_EQ(std::string(back.begin(), back.end()), in);
}

// ------------------------------------------------------------------- use ---

TEST(ParseUse, CountriesCountedAlikeByEveryVariant) {
  const cp::Generated g = cp::generate(cp::Shape::asn, 64 * 1024, 5);
  cp::CountryCounts want{};
  for (const RefRecord& r : reference_parse(g.text).records) ++want[cp::country_slot(r.country)];
  EXPECT_GT(want[26 * 26], 0u);  // empty countries land in "other"
  EXPECT_GT(want[cp::country_slot("US")], 0u);
  auto check = [&](auto& v, const char* name) {
    cp::CountryCounts got{};
    cp::count_countries(v, got);
    EXPECT_EQ(got, want) << name;
  };
  cp::OwningRecords o;
  o.parse(g.text);
  check(o, "std_string");
  cp::PmrRecords p(2 * g.text.size());
  p.parse(g.text);
  check(p, "pmr_string");
  cp::ArenaRecords a(2 * g.text.size());
  a.parse(g.text);
  check(a, "ct_arena");
  cp::ViewRecords v;
  v.parse(g.text);
  check(v, "string_view");
  cp::Table t;
  t.assign(std::vector<char>(g.text.begin(), g.text.end()));
  check(t, "ct_table");
}

TEST(ParseUse, CountrySlots) {
  EXPECT_EQ(cp::country_slot("AA"), 0u);
  EXPECT_EQ(cp::country_slot("ZZ"), 26u * 26 - 1);
  for (const char* other : {"", "U", "us", "USA", "U1", "[A"}) EXPECT_EQ(cp::country_slot(other), 26u * 26) << other;
}

TEST(ParseUse, ReparsingReusesAndReplaces) {
  cp::OwningRecords o;
  cp::ViewRecords v;
  cp::ArenaRecords a(4096);
  cp::PmrRecords p(4096);
  const std::string one = "1,US,\"q\"\"q\",a\n2,DE,b,c\n", two = "3,FR,Orange,x\n";
  for (const std::string* in : {&one, &two, &one}) {
    o.parse(*in);
    v.parse(*in);
    a.parse(*in);
    p.parse(*in);
    const RefResult ref = reference_parse(*in);
    ASSERT_EQ(o.size(), ref.records.size());
    for (std::size_t i = 0; i < ref.records.size(); ++i) {
      const cp::RecordView want{ref.records[i].asn, ref.records[i].country, ref.records[i].org, ref.records[i].cidr};
      EXPECT_EQ(o.record(i), want);
      EXPECT_EQ(v.record(i), want);
      EXPECT_EQ(a.record(i), want);
      EXPECT_EQ(p.record(i), want);
    }
  }
}

TEST(ParseUse, UnescapeHelpers) {
  const std::string raw = "a\"\"b\"\"";
  const cp::RawField f{raw.data(), raw.size(), true};
  EXPECT_EQ(cp::unescaped_size(f), 4u);
  EXPECT_EQ(cp::unescaped(f), "a\"b\"");
  EXPECT_EQ(cp::unescaped(cp::RawField{raw.data(), 1, false}), "a");
}
