// Compact records: the same IP-range record laid out five ways.
//
// The seed service (an ASN mapper) keeps one record per IP range: the range,
// its ASN and country, an organisation id, a risk score, a timestamp, and
// eight yes/no properties. 46 bytes of information. How many bytes it
// OCCUPIES depends on the order of the fields and on how the bools are
// stored, because the compiler aligns every field to its own alignment
// (an 8-byte field at a multiple of 8) and pads the struct to a multiple of
// its largest alignment:
//
//   Loose       the order the fields were added in, a bool next to the field
//               it qualifies: each bool before an 8-byte field costs 8 bytes.
//               80 B, 34 of them padding (kernels/records/padding.h finds
//               them; `cachetick layout-report` prints where).
//   Reordered   the same fields sorted by alignment, largest first: no hole
//               between fields, 2 B of tail padding. 48 B.
//   BitFlags    reordered, and the eight bools as bits of one byte. 40 B:
//               half of Loose. Testing several flags is one AND and one
//               compare ((flags & mask) == want), not one load per bool.
//   HotCold     the fields the filter reads (asn, country, flags: 8 B) in one
//               array, the rest (32 B) in a parallel one. A scan streams 8 B
//               per record; a record that matches costs a second line.
// and as the peers a C++ programmer would otherwise write:
//   Packed      Loose with __attribute__((packed)): no padding at all, 46 B,
//               but 8-byte fields at odd offsets (a load that straddles two
//               lines costs two) and no atomic access to them.
//   Bitfield    Reordered with `bool active : 1` bit-fields: the compiler
//               packs them into one byte, 40 B like BitFlags.
//   StdBitset   Reordered with std::bitset<8>: looks like one byte, is eight
//               (libstdc++ stores bits in unsigned longs), 48 B.
//
// Every layout answers the same query the same way (tests check it):
//   match(r) = r.country == want && r.active && !r.bogon
// and the workloads count the matches and sum the risk of each match.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace cachetick::records {

// The information, as a generator produces it: one canonical value per record.
struct Info {
  std::uint64_t updated_at;  // ns since the epoch
  std::uint64_t org_id;
  double risk;               // 0..1
  std::uint32_t start, end;  // IPv4 range
  std::uint32_t asn;
  std::uint16_t country;     // two ASCII letters
  bool active, anycast, bogon, hosting, vpn, tor, verified, deprecated;
};

// Bits of the one-byte flag sets (BitFlags, HotCold).
enum Flag : std::uint8_t {
  kActive = 1u << 0,
  kAnycast = 1u << 1,
  kBogon = 1u << 2,
  kHosting = 1u << 3,
  kVpn = 1u << 4,
  kTor = 1u << 5,
  kVerified = 1u << 6,
  kDeprecated = 1u << 7,
};

inline std::uint8_t flags_of(const Info& i) {
  return static_cast<std::uint8_t>(i.active * kActive | i.anycast * kAnycast | i.bogon * kBogon |
                                   i.hosting * kHosting | i.vpn * kVpn | i.tor * kTor |
                                   i.verified * kVerified | i.deprecated * kDeprecated);
}

// ---- the layouts ---------------------------------------------------------------------

struct Loose {
  bool active;
  std::uint64_t updated_at;
  std::uint32_t start;
  bool anycast;
  std::uint32_t end;
  bool bogon;
  std::uint16_t country;
  bool hosting;
  double risk;
  bool vpn;
  std::uint32_t asn;
  bool tor;
  std::uint64_t org_id;
  bool verified;
  bool deprecated;
};

struct Reordered {
  std::uint64_t updated_at;
  std::uint64_t org_id;
  double risk;
  std::uint32_t start, end;
  std::uint32_t asn;
  std::uint16_t country;
  bool active, anycast, bogon, hosting, vpn, tor, verified, deprecated;
};

struct BitFlags {
  std::uint64_t updated_at;
  std::uint64_t org_id;
  double risk;
  std::uint32_t start, end;
  std::uint32_t asn;
  std::uint16_t country;
  std::uint8_t flags;  // Flag bits
};

struct Hot {  // what the query reads
  std::uint32_t asn;
  std::uint16_t country;
  std::uint8_t flags;
};
struct Cold {  // the rest
  std::uint64_t updated_at;
  std::uint64_t org_id;
  double risk;
  std::uint32_t start, end;
};

struct __attribute__((packed)) Packed {
  bool active;
  std::uint64_t updated_at;
  std::uint32_t start;
  bool anycast;
  std::uint32_t end;
  bool bogon;
  std::uint16_t country;
  bool hosting;
  double risk;
  bool vpn;
  std::uint32_t asn;
  bool tor;
  std::uint64_t org_id;
  bool verified;
  bool deprecated;
};

struct Bitfield {
  struct Flags {
    bool active : 1, anycast : 1, bogon : 1, hosting : 1, vpn : 1, tor : 1, verified : 1,
        deprecated : 1;
  };
  std::uint64_t updated_at;
  std::uint64_t org_id;
  double risk;
  std::uint32_t start, end;
  std::uint32_t asn;
  std::uint16_t country;
  Flags flags;
};

struct StdBitset {
  std::uint64_t updated_at;
  std::uint64_t org_id;
  double risk;
  std::uint32_t start, end;
  std::uint32_t asn;
  std::uint16_t country;
  std::bitset<8> flags;  // bit i = Flag 1 << i
};

// What the lesson promises, checked where the compiler decides it (x86-64
// and every LP64 ABI with 8-byte-aligned uint64_t and double).
static_assert(sizeof(Loose) == 80);
static_assert(sizeof(Reordered) == 48);
static_assert(sizeof(BitFlags) == 40);
static_assert(sizeof(Hot) == 8 && sizeof(Cold) == 32);
static_assert(sizeof(Packed) == 46 && alignof(Packed) == 1);
static_assert(sizeof(Bitfield) == 40);

// ---- building a record from its information --------------------------------------------

// make<R>(info): the record R holding `info`.
template <class R>
R make(const Info& i);

template <>
inline Loose make<Loose>(const Info& i) {
  return {i.active, i.updated_at, i.start, i.anycast, i.end, i.bogon, i.country, i.hosting,
          i.risk, i.vpn, i.asn, i.tor, i.org_id, i.verified, i.deprecated};
}
template <>
inline Packed make<Packed>(const Info& i) {
  return {i.active, i.updated_at, i.start, i.anycast, i.end, i.bogon, i.country, i.hosting,
          i.risk, i.vpn, i.asn, i.tor, i.org_id, i.verified, i.deprecated};
}
template <>
inline Reordered make<Reordered>(const Info& i) {
  return {i.updated_at, i.org_id, i.risk, i.start, i.end, i.asn, i.country, i.active,
          i.anycast, i.bogon, i.hosting, i.vpn, i.tor, i.verified, i.deprecated};
}
template <>
inline BitFlags make<BitFlags>(const Info& i) {
  return {i.updated_at, i.org_id, i.risk, i.start, i.end, i.asn, i.country, flags_of(i)};
}
template <>
inline Bitfield make<Bitfield>(const Info& i) {
  Bitfield::Flags f{i.active, i.anycast, i.bogon, i.hosting, i.vpn, i.tor, i.verified, i.deprecated};
  return {i.updated_at, i.org_id, i.risk, i.start, i.end, i.asn, i.country, f};
}
template <>
inline StdBitset make<StdBitset>(const Info& i) {
  return {i.updated_at, i.org_id, i.risk, i.start, i.end, i.asn, i.country,
          std::bitset<8>(flags_of(i))};
}
template <>
inline Hot make<Hot>(const Info& i) {
  return {i.asn, i.country, flags_of(i)};
}
template <>
inline Cold make<Cold>(const Info& i) {
  return {i.updated_at, i.org_id, i.risk, i.start, i.end};
}

// ---- the query ----------------------------------------------------------------------------
// The same && chain in every layout, the selective test first: the country
// matches 1 record in 50, so its branch is predicted (not taken) and the
// flag tests run for the 2% that pass. (Written with & instead, GCC 12 still
// splits the bools into branches, and one on `active`, true 90% of the
// time, mispredicts on one record in ten.) The layouts therefore differ in
// the bytes a scan drags through the caches, not in branches.

inline bool match(const Loose& r, std::uint16_t want) {
  return r.country == want && r.active && !r.bogon;
}
inline bool match(const Packed& r, std::uint16_t want) {
  return r.country == want && r.active && !r.bogon;
}
inline bool match(const Reordered& r, std::uint16_t want) {
  return r.country == want && r.active && !r.bogon;
}
inline bool match(const Bitfield& r, std::uint16_t want) {
  return r.country == want && r.flags.active && !r.flags.bogon;
}
// Bit flags: one AND and one compare test both flags.
inline bool match_flags(std::uint8_t flags, std::uint16_t country, std::uint16_t want) {
  return country == want && (flags & (kActive | kBogon)) == kActive;
}
inline bool match(const BitFlags& r, std::uint16_t want) {
  return match_flags(r.flags, r.country, want);
}
inline bool match(const Hot& h, std::uint16_t want) { return match_flags(h.flags, h.country, want); }
inline bool match(const StdBitset& r, std::uint16_t want) {
  return r.country == want &&
         (r.flags & std::bitset<8>(kActive | kBogon)) == std::bitset<8>(kActive);
}

// The answer of a query: how many records matched, and their summed risk.
struct Answer {
  std::uint64_t count = 0;
  double risk = 0;
  bool operator==(const Answer&) const = default;
};

// ---- one array of whole records ---------------------------------------------------------

template <class R>
struct Table {
  std::vector<R> rows;

  explicit Table(std::span<const Info> in) : rows(in.size()) { rebuild(in); }
  // Writes every record again from its information, in place.
  void rebuild(std::span<const Info> in) {
    for (std::size_t k = 0; k < in.size(); ++k) rows[k] = make<R>(in[k]);
  }
  std::size_t size() const { return rows.size(); }
  std::size_t bytes_per_record() const { return sizeof(R); }

  // The risk is read only for a match: a branch taken by ~2% of records,
  // predicted not taken, so a non-matching record costs no second load.
  Answer scan(std::uint16_t want) const {
    Answer a;
    for (const R& r : rows)
      if (match(r, want)) ++a.count, a.risk += r.risk;
    return a;
  }
  Answer lookup(std::span<const std::uint32_t> idx, std::uint16_t want) const {
    Answer a;
    for (std::uint32_t i : idx)
      if (match(rows[i], want)) ++a.count, a.risk += rows[i].risk;
    return a;
  }
};

// ---- hot/cold split: two parallel arrays --------------------------------------------------

struct HotColdTable {
  std::vector<Hot> hot;
  std::vector<Cold> cold;

  explicit HotColdTable(std::span<const Info> in) : hot(in.size()), cold(in.size()) { rebuild(in); }
  void rebuild(std::span<const Info> in) {
    for (std::size_t k = 0; k < in.size(); ++k) hot[k] = make<Hot>(in[k]), cold[k] = make<Cold>(in[k]);
  }
  std::size_t size() const { return hot.size(); }
  std::size_t bytes_per_record() const { return sizeof(Hot) + sizeof(Cold); }

  Answer scan(std::uint16_t want) const {
    Answer a;
    for (std::size_t i = 0; i < hot.size(); ++i)
      if (match(hot[i], want)) ++a.count, a.risk += cold[i].risk;
    return a;
  }
  Answer lookup(std::span<const std::uint32_t> idx, std::uint16_t want) const {
    Answer a;
    for (std::uint32_t i : idx)
      if (match(hot[i], want)) ++a.count, a.risk += cold[i].risk;
    return a;
  }
};

// ---- data ----------------------------------------------------------------------------------

// The country the benchmarks query for, and the country codes drawn.
inline constexpr std::uint16_t kCountries = 50;
inline std::uint16_t country_code(unsigned k) {  // "AA", "AB", ... as two ASCII bytes
  return static_cast<std::uint16_t>(('A' + k / 26) | ('A' + k % 26) << 8);
}

// n records' information, deterministic for a seed: 90% active, 2% bogons,
// 50 countries drawn uniformly, so ~1.8% of records match a country's query.
inline std::vector<Info> random_infos(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::uniform_int_distribution<unsigned> country(0, kCountries - 1);
  std::vector<Info> v(n);
  for (Info& i : v) {
    i.updated_at = 1700000000000000000ull + rng() % 100000000000000000ull;
    i.org_id = rng() % 100000;
    i.risk = u(rng);
    i.start = static_cast<std::uint32_t>(rng());
    i.end = i.start | ((1u << (8 + rng() % 16)) - 1);
    i.asn = static_cast<std::uint32_t>(1 + rng() % 400000);
    i.country = country_code(country(rng));
    i.active = u(rng) < 0.90;
    i.anycast = u(rng) < 0.05;
    i.bogon = u(rng) < 0.02;
    i.hosting = u(rng) < 0.20;
    i.vpn = u(rng) < 0.03;
    i.tor = u(rng) < 0.005;
    i.verified = u(rng) < 0.60;
    i.deprecated = u(rng) < 0.05;
  }
  return v;
}

// The query's answer straight from the information (what every layout must
// give): over all records, or over the records idx names, in that order.
inline Answer reference_answer(const Info& i, std::uint16_t want, Answer a) {
  if (i.active && !i.bogon && i.country == want) ++a.count, a.risk += i.risk;
  return a;
}
inline Answer reference_scan(std::span<const Info> in, std::uint16_t want) {
  Answer a;
  for (const Info& i : in) a = reference_answer(i, want, a);
  return a;
}
inline Answer reference_lookup(std::span<const Info> in, std::span<const std::uint32_t> idx,
                               std::uint16_t want) {
  Answer a;
  for (std::uint32_t k : idx) a = reference_answer(in[k], want, a);
  return a;
}

}  // namespace cachetick::records
