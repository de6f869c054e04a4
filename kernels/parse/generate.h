// Deterministic ASN tables for the parse family: the same bytes from the same
// seed on every machine and standard library (splitmix64, mapped by hand: the
// std:: distributions are implementation-defined).
//
// Three shapes, because what zero-copy saves depends on the field lengths:
//
//   asn    what ASN exports look like: a country code (2 B), an organisation
//          name of 6-40 B (most longer than std::string's 15-byte inline
//          buffer, so owning copies malloc), a CIDR range of 9-18 B. About 8%
//          of names carry a comma and are quoted, 1% a quoted nickname
//          ('""' inside quotes), 1% of countries and names are empty.
//          ~45 bytes a record.
//   long   the organisation followed by a description: 80-250 B. Copying
//          bytes (not counting allocations) becomes the larger cost.
//   sso    every field at most 15 B: std::string keeps each one inline, no
//          malloc at all. What the owning parse costs without allocations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cachetick::parse {

enum class Shape { asn, long_org, sso };

struct Generated {
  std::string text;
  std::size_t records = 0;
};

namespace detail {

struct SplitMix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>((next() >> 32) % n); }
  bool percent(std::uint32_t p) { return below(100) < p; }
};

inline constexpr std::string_view kCountries[] = {
    "US", "CN", "DE", "GB", "BR", "RU", "IN", "JP", "FR", "NL", "CA", "AU", "IT", "PL",
    "ID", "UA", "KR", "ES", "SE", "AR", "TR", "ZA", "MX", "HK", "SG", "CH", "RO", "VN",
    "BD", "IR", "TW", "CZ", "AT", "BG", "NG", "PH", "TH", "CO", "CL", "NZ"};
inline constexpr std::string_view kWords[] = {
    "Amazon",    "Level",   "Cogent",      "Hetzner",  "Online",   "Telecom",   "Digital", "Ocean",
    "Deutsche",  "Comcast", "Cable",       "Vodafone", "Orange",   "Akamai",    "Fastly",  "Global",
    "Microsoft", "Tencent", "Alibaba",     "Bharti",   "Airtel",   "Telstra",   "Rostel",  "China",
    "Unicom",    "Mobile",  "Broadband",   "Fiber",    "Network",  "Hosting",   "Data",    "Center",
    "Pacific",   "Nordic",  "Atlantic",    "Cloud",    "Transit",  "Internet",  "Systems", "Wireless",
    "Metro",     "Rural",   "Electric",    "Power",    "Regional", "Exchange",  "Carrier", "Secure"};
inline constexpr std::string_view kSuffixes[] = {"Inc.", "LLC", "GmbH", "Ltd", "S.A.", "AG",
                                                 "B.V.", "Corp.", "SARL", "K.K.", "Pty Ltd", "AB"};
inline constexpr std::string_view kShortWords[] = {"Akamai", "Fastly", "Hetzner", "Orange", "Telstra",
                                                   "Cogent", "Comcast", "Airtel", "Unicom", "Nordic"};

template <std::size_t N>
std::string_view pick(SplitMix& r, const std::string_view (&a)[N]) {
  return a[r.below(N)];
}

// Skewed towards the first entries, like real country frequencies.
inline std::string_view country(SplitMix& r) {
  constexpr std::uint32_t n = sizeof kCountries / sizeof kCountries[0];
  const std::uint32_t a = r.below(n), b = r.below(n);
  return kCountries[a < b ? a : b];
}

inline std::string org_name(SplitMix& r) {
  std::string s(pick(r, kWords));
  if (r.percent(60)) (s += ' ') += pick(r, kWords);
  if (r.percent(30)) (s += ' ') += pick(r, kWords);
  if (r.percent(8)) s += ',';  // "Level Transit, Inc.": a comma, so quoted
  (s += ' ') += pick(r, kSuffixes);
  if (r.percent(1)) s.insert(s.find(' ') == std::string::npos ? s.size() : s.find(' '), " \"Net\"");
  return s;
}

inline std::string description(SplitMix& r) {
  std::string s = org_name(r) + " -";
  const std::size_t want = 80 + r.below(171);
  while (s.size() < want) (s += ' ') += pick(r, kWords);
  return s.substr(0, want);
}

inline std::string cidr(SplitMix& r, bool short_form) {
  if (short_form)  // 10.x.y.0/24: at most 15 bytes
    return "10." + std::to_string(r.below(256)) + '.' + std::to_string(r.below(256)) + ".0/24";
  const std::uint32_t len = 8 + r.below(17);
  return std::to_string(1 + r.below(223)) + '.' + std::to_string(r.below(256)) + '.' +
         std::to_string(r.below(256)) + ".0/" + std::to_string(len);
}

// A text field as a CSV writer puts it: quoted when it must be.
inline void put_field(std::string& out, std::string_view v) {
  if (v.find_first_of(",\"\n\r") == std::string_view::npos) {
    out += v;
    return;
  }
  out += '"';
  for (char ch : v) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
}

inline std::string line(SplitMix& r, Shape shape) {
  std::string out = std::to_string(r.percent(1) ? 4200000000u + r.below(94967295) : 1 + r.below(400000));
  out += ',';
  if (shape != Shape::sso && r.percent(1)) {
    out += ',';  // unknown country: an empty field
  } else {
    put_field(out, country(r));
    out += ',';
  }
  if (shape == Shape::sso)
    out += pick(r, kShortWords);
  else if (r.percent(1))
    ;  // unknown organisation: an empty field
  else
    put_field(out, shape == Shape::asn ? org_name(r) : description(r));
  out += ',';
  out += cidr(r, shape == Shape::sso);
  out += '\n';
  return out;
}

}  // namespace detail

// Lines of `shape` until the next one would pass `bytes` (at least one).
inline Generated generate(Shape shape, std::size_t bytes, std::uint64_t seed = 42) {
  detail::SplitMix r{seed};
  Generated g;
  g.text.reserve(bytes);
  for (;;) {
    std::string l = detail::line(r, shape);
    if (g.records != 0 && g.text.size() + l.size() > bytes) break;
    g.text += l;
    ++g.records;
  }
  return g;
}

// What generate(shape, nominal) yields with the default seed, written down
// so a benchmark knows its record count (its op count) and byte count (for
// MB/s) when it is registered, without generating 256 MiB at start-up. The
// tests check the small entries; the benchmarks check theirs when they run
// and refuse a row whose input no longer matches.
struct Sizing {
  Shape shape;
  std::size_t nominal, records, bytes;
};
inline constexpr Sizing kSizings[] = {
    {Shape::asn, 1u << 10, 22, 992},
    {Shape::asn, 64u << 10, 1470, 65536},
    {Shape::asn, 2u << 20, 47118, 2097111},
    {Shape::asn, 256u << 20, 6029072, 268435436},
    {Shape::long_org, 64u << 10, 346, 65466},
    {Shape::long_org, 2u << 20, 11065, 2097054},
    {Shape::sso, 64u << 10, 2033, 65533},
    {Shape::sso, 2u << 20, 65118, 2097141},
};

inline const char* to_string(Shape s) {
  switch (s) {
    case Shape::asn: return "asn";
    case Shape::long_org: return "long";
    case Shape::sso: return "sso";
  }
  return "?";
}

}  // namespace cachetick::parse
