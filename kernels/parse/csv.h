// ASN records in CSV: the format, the scanner, and the one parse loop every
// variant shares.
//
// The lesson of the parse family is what happens to a field AFTER it has been
// found: copied into a std::string of its own, into an arena, or not copied
// at all. So finding the fields is written once, here, and every variant
// (kernels/parse/records.h) runs the very same scanner; they differ only in
// what their sink does with a field. The ratios between the variants are then
// the cost of the copies and allocations, not of two parsers of different
// quality.
//
// The format (what scripts that export ASN tables write; no header line):
//
//   14421,US,Theranet LLC,203.0.113.0/24
//   3356,US,"Level 3 Parent, LLC",4.0.0.0/9
//   64500,,"Example ""Net"" B.V.",198.51.100.0/22
//
//   line    = asn "," text "," text "," text  ("\n" | "\r\n" | end of input)
//   asn     = 1 to 10 ASCII digits, value < 2^32, never quoted
//   text    = quoted | bare     (country code, organisation, CIDR range)
//   bare    = any bytes but "," and "\n" (may be empty)
//   quoted  = '"' { any byte but '"' | '""' } '"'   (commas, newlines inside)
//
// Rules that make every input either records or a clear error:
// - Empty lines ("\n" or "\r\n" alone) are skipped.
// - "\r\n" ends a line as "\n" does: the "\r" is dropped from the last field.
//   A "\r" anywhere else is data.
// - A quoted field's value is the text between the quotes with each '""'
//   turned into '"'. After the closing quote only a separator may follow.
// - The last line may lack its "\n" (files often do). It must still hold 4
//   fields. A cut inside the last field cannot be told from a shorter value:
//   ParseOptions::require_final_newline rejects any input not ending in "\n".
// - Anything else throws ParseError naming the byte offset and the record
//   (1-based): "byte 1234 (record 57): line ends after 2 of 4 fields".
//   Nothing is read outside the input, whatever it holds.
//
// How fields are found: two paths.
//
// The fast path takes a whole common line at once. One 64-byte mask of the
// bytes ',' '\n' '"' from the line's start (four SSE2 loads, three compares
// and a movemask each); its four lowest set bits are the line's separators
// (count-trailing-zeros, clear-lowest-bit, four times); one combined test
// checks that they are ",,,\n" and that the number is 1-8 digits, which are
// converted without a loop (digits8). No branch depends on a field's length,
// so a new field length costs no misprediction. On the ASN tables 89% of
// lines take it. A second fast path (fast_quoted_org_line) takes the line
// whose organisation is quoted for a comma ("Level 3 Parent, LLC": 8% of the
// lines), with one more 64-byte mask of its quotes; together 98.4%. The rest
// (a '""' inside quotes, a 9-10 digit number, a line over 63 bytes, an empty
// line, an error) go to the general path, which finds
// each field's end 16 bytes at a time (find2: one load, compares, a
// movemask, count-trailing-zeros) and handles every rule above. The last 63
// bytes of the input always take the general path, which reads its last 15
// bytes one at a time: a 16- or 64-byte load there could cross into an
// unmapped page (simdjson avoids this by demanding padded input; a parser
// handed a std::string_view cannot).
//
// Measured before the fast path existed (the general path alone, Zen 5
// guest, one thread): 33-41 ns per record on 2 MiB of fresh records,
// 22-28 ns on a 64 KiB input parsed again and again - and 25-29 ns on that
// 64 KiB repeated 32 times to 2 MiB, so the difference is not the cache:
// the branch predictor learns the 1,470 records of a repeated input, and
// every fresh record costs mispredictions (a loop whose trip count is a
// field's length, the digit loop). With the fast path: 15-21 ns fresh.
//
// Inlining decides the rest. In a translation unit that instantiates the
// loop for five sinks (benchmarks/parse_bench.cpp) GCC 12 stopped inlining
// the fast path into some of them: ct_table ran 17.9 ns per record there and
// 12.5 in a file of its own. fast_line, specials64 and digits8 are therefore
// always_inline, and the rare paths (fast_quoted_org_line; the Table's
// escaped fields) noinline, so the loop is the same wherever it is compiled:
// 13.8 ns per record in the benchmark (64 KiB ASN table, Zen 5 guest).
// Moving the general path out of line as well was slower (16.3 against
// 15.4 ns in that build).
// Not tried yet: a structural index of the whole input (simdjson/simdcsv:
// one bitmap per 64 bytes, quoted regions masked with a prefix XOR), which
// long records (parse_long: 190 B a line, 1% take the fast path) would need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cachetick::parse {

// A syntax error: where, and what. `offset` is the byte where the problem
// shows (0-based), `record` the record being parsed (1-based).
class ParseError : public std::runtime_error {
 public:
  ParseError(std::size_t offset, std::size_t record, const std::string& what)
      : std::runtime_error("byte " + std::to_string(offset) + " (record " + std::to_string(record) +
                           "): " + what),
        offset_(offset),
        record_(record) {}
  std::size_t offset() const { return offset_; }
  std::size_t record() const { return record_; }

 private:
  std::size_t offset_, record_;
};

struct ParseOptions {
  bool require_final_newline = false;  // see the rules above
};

// A text field as it sits in the input. For a bare or a quoted field without
// '""' the bytes [data, data + size) are the value. An `escaped` field still
// holds its '""' pairs: the sink decides where the unescaped value goes.
struct RawField {
  const char* data;
  std::size_t size;
  bool escaped;
  std::string_view raw() const { return {data, size}; }
};

struct RawRecord {
  std::uint32_t asn;
  RawField country, org, cidr;
};

// Bytes of an escaped field's value ('""' counts once).
inline std::size_t unescaped_size(RawField f) {
  std::size_t pairs = 0;
  for (std::size_t i = 0; i + 1 < f.size; ++i)
    if (f.data[i] == '"') ++pairs, ++i;  // the scanner only lets '""' through
  return f.size - pairs;
}

// Writes the value of an escaped field to `out` (unescaped_size(f) bytes).
inline char* unescape_to(RawField f, char* out) {
  for (std::size_t i = 0; i < f.size; ++i) {
    *out++ = f.data[i];
    if (f.data[i] == '"') ++i;  // skip the second quote of the pair
  }
  return out;
}

inline std::string unescaped(RawField f) {
  if (!f.escaped) return std::string(f.raw());
  std::string s(unescaped_size(f), '\0');
  unescape_to(f, s.data());
  return s;
}

namespace detail {

// First byte in [p, end) equal to a or b; end when there is none.
inline const char* find2(const char* p, const char* end, char a, char b) {
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const unsigned m = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb))));
    if (m != 0) return p + __builtin_ctz(m);
    p += 16;
  }
#endif
  while (p != end && *p != a && *p != b) ++p;
  return p;
}

inline const char* find1(const char* p, const char* end, char a) { return find2(p, end, a, a); }

// The scanner's state: where it is and what it has seen.
struct Cursor {
  const char* begin;
  const char* p;
  const char* end;
  std::size_t record;  // 1-based number of the record being parsed

  [[noreturn]] void fail(const char* at, const std::string& what) const {
    throw ParseError(static_cast<std::size_t>(at - begin), record, what);
  }
};

inline std::uint32_t parse_asn(Cursor& c) {
  const char* s = c.p;
  std::uint64_t v = 0;
  const char* q = s;
  while (q != c.end && static_cast<unsigned char>(*q - '0') < 10 && q - s < 11)
    v = v * 10 + static_cast<unsigned>(*q++ - '0');
  if (q == s) c.fail(s, s != c.end && *s == '"' ? "asn: a number is never quoted" : "asn: expected digits");
  if (q - s > 10 || v > 0xffffffffull) c.fail(s, "asn: larger than 4294967295");
  if (q == c.end || *q == '\n' || *q == '\r') c.fail(q, "line ends after 1 of 4 fields");
  if (*q != ',') c.fail(q, "asn: unexpected byte after the digits");
  c.p = q + 1;
  return static_cast<std::uint32_t>(v);
}

// A quoted field; c.p is on the opening quote. Leaves c.p after the closing one.
inline RawField parse_quoted(Cursor& c) {
  const char* s = c.p + 1;
  const char* q = s;
  bool escaped = false;
  for (;;) {
    q = find1(q, c.end, '"');
    if (q == c.end) c.fail(c.p, "quoted field never closed (truncated input?)");
    if (q + 1 == c.end || q[1] != '"') break;
    escaped = true;  // '""': a quote inside the value
    q += 2;
  }
  c.p = q + 1;
  return {s, static_cast<std::size_t>(q - s), escaped};
}

// Field `index` (1..3 of the text fields, 2..4 of the line) ending in ",".
inline RawField parse_inner(Cursor& c, int index) {
  RawField f;
  if (c.p != c.end && *c.p == '"') {
    f = parse_quoted(c);
    if (c.p != c.end && *c.p != ',' && *c.p != '\n' && *c.p != '\r')
      c.fail(c.p, "unexpected byte after a closing quote");
  } else {
    const char* q = find2(c.p, c.end, ',', '\n');
    f = {c.p, static_cast<std::size_t>(q - c.p), false};
    c.p = q;
  }
  if (c.p == c.end || *c.p != ',') {
    const char* at = c.p;
    c.fail(at, "line ends after " + std::to_string(index + 1) + " of 4 fields");
  }
  ++c.p;
  return f;
}

// The last field, then the line's end. Returns the field; c.p moves past "\n".
inline RawField parse_last(Cursor& c) {
  RawField f;
  if (c.p != c.end && *c.p == '"') {
    f = parse_quoted(c);
    if (c.p != c.end && *c.p == '\r' && c.p + 1 != c.end && c.p[1] == '\n') ++c.p;
  } else {
    const char* q = find2(c.p, c.end, ',', '\n');
    f = {c.p, static_cast<std::size_t>(q - c.p), false};
    c.p = q;
    if (q != c.end && *q == '\n' && f.size != 0 && q[-1] == '\r') --f.size;
  }
  if (c.p == c.end) return f;
  if (*c.p == '\n') {
    ++c.p;
    return f;
  }
  c.fail(c.p, *c.p == ',' ? "more than 4 fields" : "unexpected byte after a closing quote");
}

// ---- the fast path: a whole common line from one 64-byte mask ----

// Bit i set: p[i] is ',', '\n' or '"'. Reads p[0..63].
[[gnu::always_inline]] inline std::uint64_t specials64(const char* p) {
#if defined(__SSE2__)
  const __m128i c = _mm_set1_epi8(','), n = _mm_set1_epi8('\n'), q = _mm_set1_epi8('"');
  std::uint64_t m = 0;
  for (int k = 0; k < 4; ++k) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    const __m128i e = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, c), _mm_cmpeq_epi8(x, n)), _mm_cmpeq_epi8(x, q));
    m |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(e))) << (16 * k);
  }
  return m;
#else
  std::uint64_t m = 0;
  for (int i = 0; i < 64; ++i) m |= std::uint64_t{p[i] == ',' || p[i] == '\n' || p[i] == '"'} << i;
  return m;
#endif
}

// 1 to 8 ASCII digits at p (p[0..7] readable) without a branch per digit:
// the digits are shifted to the top of a 64-bit word, '0's fill the bytes
// below (leading zeros), all eight are checked at once and converted with
// three multiplies (the SWAR method of Lemire's fast_float). False when a
// byte is not a digit.
[[gnu::always_inline]] inline bool digits8(const char* p, unsigned len, std::uint32_t& out) {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  x <<= 8 * (8 - len);
  x |= 0x3030303030303030ull >> (8 * len - 8) >> 8;
  const bool ok = ((x & 0xF0F0F0F0F0F0F0F0ull) | (((x + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ==
                  0x3333333333333333ull;
  x -= 0x3030303030303030ull;
  x = x * 10 + (x >> 8);
  x = (((x & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
       (((x >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >> 32;
  out = static_cast<std::uint32_t>(x);
  return ok;
}

// Bit i set: p[i] is '"'. Reads p[0..63]. Only for lines the plain fast
// path refused (1 in 9 of an ASN table), so not merged into specials64.
inline std::uint64_t quotes64(const char* p) {
#if defined(__SSE2__)
  const __m128i q = _mm_set1_epi8('"');
  std::uint64_t m = 0;
  for (int k = 0; k < 4; ++k) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    m |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, q)))) << (16 * k);
  }
  return m;
#else
  std::uint64_t m = 0;
  for (int i = 0; i < 64; ++i) m |= std::uint64_t{p[i] == '"'} << i;
  return m;
#endif
}

// Bits of m above bit `i` (i < 64).
inline std::uint64_t above(std::uint64_t m, unsigned i) { return i >= 63 ? 0 : m & (~std::uint64_t{0} << (i + 1)); }

// The second common line: the organisation quoted because it holds a comma
// ("Level 3 Parent, LLC"; 8% of an ASN table's lines, 70% of those the plain
// fast path refuses), no '""' inside, the rest as in fast_line. `m` is the
// line's specials64 mask, e0 and e1 its first two separators. The closing
// quote is the first quote bit after the opening one; the commas between
// them are data. Anything else returns false.
[[gnu::noinline]] inline bool fast_quoted_org_line(Cursor& c, RawRecord& r, std::uint64_t m, unsigned e0,
                                                  unsigned e1) {
  const char* p = c.p;
  const unsigned open = e1 + 1;
  if (!((e0 - 1 < 8) & (p[e0] == ',') & (p[e1] == ',') & (open < 63)) || p[open] != '"') return false;
  const std::uint64_t closing = above(quotes64(p), open);
  if (closing == 0) return false;
  const unsigned close = static_cast<unsigned>(__builtin_ctzll(closing));
  if (close >= 62 || p[close + 1] != ',') return false;  // '""' inside, or bytes after the quote
  const std::uint64_t rest = above(m, close + 1);
  if (rest == 0) return false;
  const unsigned nl = static_cast<unsigned>(__builtin_ctzll(rest));
  if (p[nl] != '\n' || !digits8(p, e0, r.asn)) return false;
  const unsigned cr = (p[nl - 1] == '\r') & (nl > close + 2);
  r.country = {p + e0 + 1, e1 - e0 - 1, false};
  r.org = {p + open + 1, close - open - 1, false};
  r.cidr = {p + close + 2, nl - close - 2 - cr, false};
  c.p = p + nl + 1;
  return true;
}

// The common line: no quote, at most 8 digits, the whole line (newline
// included) within the next 64 bytes. Its four separators are the first four
// set bits of one mask; one combined test says whether they are ",,,\n".
// Returns false, having consumed nothing, for any other line (an empty one,
// a quoted field, a long line, an error): the general path takes it.
// Needs c.end - c.p >= 64.
[[gnu::always_inline]] inline bool fast_line(Cursor& c, RawRecord& r) {
  const char* p = c.p;
  const std::uint64_t m0 = specials64(p);
  std::uint64_t m = m0;
  constexpr std::uint64_t kStop = std::uint64_t{1} << 63;  // fewer than 4 bits: fails the test
  const unsigned e0 = static_cast<unsigned>(__builtin_ctzll(m | kStop));
  m &= m - 1;
  const unsigned e1 = static_cast<unsigned>(__builtin_ctzll(m | kStop));
  m &= m - 1;
  const unsigned e2 = static_cast<unsigned>(__builtin_ctzll(m | kStop));
  m &= m - 1;
  const unsigned e3 = static_cast<unsigned>(__builtin_ctzll(m | kStop));
  const unsigned len0 = e0 - 1 < 8 ? e0 : 1;  // keeps digits8's shift in range
  const bool digits = digits8(p, len0, r.asn);
  if (!((p[e0] == ',') & (p[e1] == ',') & (p[e2] == ',') & (p[e3] == '\n') & (e0 - 1 < 8) & digits))
    return fast_quoted_org_line(c, r, m0, e0, e1);
  const unsigned cr = (p[e3 - 1] == '\r') & (e3 > e2 + 1);
  r.country = {p + e0 + 1, e1 - e0 - 1, false};
  r.org = {p + e1 + 1, e2 - e1 - 1, false};
  r.cidr = {p + e2 + 1, e3 - e2 - 1 - cr, false};
  c.p = p + e3 + 1;
  return true;
}

// Skips empty lines. Returns false at the end of the input.
inline bool next_line(Cursor& c) {
  for (;;) {
    if (c.p == c.end) return false;
    if (*c.p == '\n') {
      ++c.p;
    } else if (*c.p == '\r' && c.p + 1 != c.end && c.p[1] == '\n') {
      c.p += 2;
    } else {
      return true;
    }
  }
}

}  // namespace detail

// Parses every record of `in`, calling sink(const RawRecord&) for each in
// input order. Returns the number of records. Throws ParseError (the sink
// has then seen the records before the bad one).
template <class Sink>
std::size_t parse_csv(std::string_view in, Sink&& sink, ParseOptions opt = {}) {
  detail::Cursor c{in.data(), in.data(), in.data() + in.size(), 1};
  for (;;) {
    RawRecord r;
    if (c.end - c.p >= 64 && detail::fast_line(c, r)) {
      sink(r);
      ++c.record;
      continue;
    }
    if (!detail::next_line(c)) break;
    r.asn = detail::parse_asn(c);
    r.country = detail::parse_inner(c, 1);
    r.org = detail::parse_inner(c, 2);
    r.cidr = detail::parse_last(c);
    sink(r);
    ++c.record;
  }
  if (opt.require_final_newline && !in.empty() && in.back() != '\n')
    c.fail(c.end, "the input does not end with a newline (truncated?)");
  return c.record - 1;
}

}  // namespace cachetick::parse
