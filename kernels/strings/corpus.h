// A deterministic corpus with a realistic repetition pattern.
//
// Services see a few hundred distinct values (country codes, organisation
// names, field names) repeated millions of times with a skewed, Zipf-like
// frequency: the top value is ~1/6 of all records, the tail appears rarely.
// The generator reproduces that, from a seed, identically on every machine
// (std::mt19937_64's output is fixed by the standard; we map it to [0,1)
// and through the CDF ourselves, because the std:: distributions are not).
//
// Long strings share a long common prefix and differ in their last bytes,
// the worst case for comparison: memcmp cannot exit early, so a raw string
// compare costs the full length, as with real org names ("Amazon Web
// Services EMEA SARL", "Amazon Web Services Japan K.K.", ...).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace cachetick::strings {

struct CorpusSpec {
  std::size_t distinct = 300;     // distinct values
  std::size_t min_len = 8;        // byte lengths, inclusive
  std::size_t max_len = 8;
  std::size_t short_share = 0;    // how many of `distinct` are short (2-3 B)
  double zipf_s = 1.0;            // frequency of rank k ~ 1 / k^s
  std::uint64_t seed = 42;
};

struct Corpus {
  std::vector<std::string> distinct;  // each value once, index = rank order
  std::vector<double> cdf;            // Zipf CDF over `distinct`

  // One draw: the index of a value, Zipf-distributed.
  template <class Rng>
  std::size_t draw(Rng& rng) const {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0,1)
    auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
    return std::min<std::size_t>(it - cdf.begin(), distinct.size() - 1);
  }

  // `n` draws (indices into `distinct`), reproducible from `seed`.
  std::vector<std::uint32_t> stream(std::size_t n, std::uint64_t seed) const {
    std::mt19937_64 rng(seed);
    std::vector<std::uint32_t> out(n);
    for (auto& x : out) x = static_cast<std::uint32_t>(draw(rng));
    return out;
  }
};

inline Corpus make_corpus(const CorpusSpec& spec) {
  if (spec.distinct == 0 || spec.min_len > spec.max_len || spec.max_len == 0 ||
      spec.short_share > spec.distinct)
    throw std::invalid_argument("cachetick::strings::make_corpus: bad spec");
  // Unique suffixes need room: 4 base-32 characters give 2^20 values.
  if (spec.distinct > (1u << 20) || spec.short_share > 26 * 26 * 26 || (spec.short_share < spec.distinct && spec.min_len < 4))
    throw std::invalid_argument("cachetick::strings::make_corpus: lengths too short "
                                "to keep values distinct");
  std::mt19937_64 rng(spec.seed);
  auto letter = [&] { return static_cast<char>('A' + rng() % 26); };

  // One shared prefix for all long values: compares must read to the end.
  std::string prefix(spec.max_len, ' ');
  for (auto& c : prefix) c = letter();

  Corpus c;
  c.distinct.reserve(spec.distinct);
  std::vector<std::string> shorts, longs;
  // Short values: 2-3 letter codes ("US", "GBR"), distinct by construction.
  for (std::size_t i = 0; i < spec.short_share; ++i) {
    std::string s;
    std::size_t k = i;
    s += static_cast<char>('A' + k % 26); k /= 26;
    s += static_cast<char>('A' + k % 26); k /= 26;
    if (i >= 26 * 26) s += static_cast<char>('A' + k % 26);
    shorts.push_back(std::move(s));
  }
  const std::size_t span = spec.max_len - spec.min_len + 1;
  for (std::size_t i = 0; i < spec.distinct - spec.short_share; ++i) {
    const std::size_t len = spec.min_len + rng() % span;
    std::string s = prefix.substr(0, len);
    // The distinguishing bytes are the LAST four: base-32 of the index.
    static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
    for (std::size_t d = 0, k = i; d < 4; ++d, k /= 32) s[len - 1 - d] = kDigits[k % 32];
    longs.push_back(std::move(s));
  }
  // Interleave, then shuffle which value gets which Zipf rank (our own
  // Fisher-Yates: std::shuffle's algorithm is unspecified).
  for (auto& s : shorts) c.distinct.push_back(std::move(s));
  for (auto& s : longs) c.distinct.push_back(std::move(s));
  for (std::size_t i = c.distinct.size() - 1; i > 0; --i)
    std::swap(c.distinct[i], c.distinct[rng() % (i + 1)]);

  c.cdf.resize(spec.distinct);
  double sum = 0;
  for (std::size_t k = 0; k < spec.distinct; ++k) sum += 1.0 / std::pow(double(k + 1), spec.zipf_s);
  double acc = 0;
  for (std::size_t k = 0; k < spec.distinct; ++k) {
    acc += 1.0 / std::pow(double(k + 1), spec.zipf_s) / sum;
    c.cdf[k] = acc;
  }
  c.cdf.back() = 1.0;
  return c;
}

// The corpus of the family's by-length workloads: `distinct` values of exactly
// `len` bytes, all but the last four bytes shared.
inline Corpus fixed_length_corpus(std::size_t len, std::size_t distinct = 300,
                                  std::uint64_t seed = 42) {
  CorpusSpec s;
  s.distinct = distinct;
  s.min_len = s.max_len = len;
  s.seed = seed;
  return make_corpus(s);
}

// The records corpus: a third short codes (2-3 B, country codes), the rest
// organisation-like names of 24-64 B with a common prefix.
inline Corpus mixed_corpus(std::size_t distinct = 300, std::uint64_t seed = 42) {
  CorpusSpec s;
  s.distinct = distinct;
  s.short_share = distinct / 3;
  s.min_len = 24;
  s.max_len = 64;
  s.seed = seed;
  return make_corpus(s);
}

}  // namespace cachetick::strings
