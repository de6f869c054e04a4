// What the sorts in this family order by: an unsigned integer key.
//
// Every sort here is a *key* sort: the caller hands a function that maps an
// element to an unsigned 32- or 64-bit key (the identity for plain keys, a
// member read for key/payload records). Elements with equal keys keep their
// input order (all sorts in kernels/sort are stable). Integer keys are what
// lets the radix sort - the family's floor and the chunked sort's in-chunk
// sort - exist at all; a comparison-only interface would rule it out.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace cachetick::sort {

// The key of a plain uint32_t / uint64_t element is the element itself.
struct Identity {
  template <class T>
  constexpr T operator()(const T& x) const noexcept {
    return x;
  }
};

template <class T, class KeyFn>
using key_type_t = std::remove_cvref_t<std::invoke_result_t<const KeyFn&, const T&>>;

// Elements are moved with plain copies (and memcpy for whole runs), so they
// must be trivially copyable; keys must be unsigned so that their bit pattern
// orders them (a signed key would need its sign bit flipped first).
template <class T, class KeyFn>
concept SortableBy =
    std::is_trivially_copyable_v<T> &&
    std::unsigned_integral<key_type_t<T, KeyFn>> &&
    (sizeof(key_type_t<T, KeyFn>) == 4 || sizeof(key_type_t<T, KeyFn>) == 8);

namespace detail {
inline void check_span(const void* data, std::size_t n, const char* who) {
  if (data == nullptr && n != 0)
    throw std::invalid_argument(std::string(who) + ": null data with non-zero length");
}
}  // namespace detail

// The scratch buffer a sorter object owns: it only grows, so sorting many
// arrays of similar size allocates (and page-faults) once. Left
// uninitialised: every sort writes before it reads.
template <class T>
class GrowOnlyScratch {
 public:
  T* at_least(std::size_t n) {
    if (n > capacity_) {
      buf_ = std::make_unique_for_overwrite<T[]>(n);
      capacity_ = n;
    }
    return buf_.get();
  }

 private:
  std::unique_ptr<T[]> buf_;
  std::size_t capacity_ = 0;
};

}  // namespace cachetick::sort
