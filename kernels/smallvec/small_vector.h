// cachetick's small vector: the first N elements live inside the object.
//
// The lesson. A std::vector always keeps its elements on the heap: building
// one costs a malloc (and a free), plus a reallocation at every doubling
// (1, 2, 4, 8 ...: five allocations for 9 elements), and reading one costs
// a pointer chase from the vector (24 B, often inside some record) to a
// heap block somewhere else: a second cache line, often a miss. Most
// vectors in real data are short (the seed service: "most ASNs have < 8 IP
// ranges"). A small vector keeps up to N elements in a buffer inside
// itself: no allocation until the N+1-th element, and the elements sit
// next to the record that owns them.
//
// Layout, 24 B of header + N elements, std::vector's three pointers:
//
//   data_ -> buf_ (inline) or a heap block      always the elements: no branch
//   end_  -> one past the last element          (size = end_ - data_)
//   lim_  -> one past the capacity              lim_ == buf_ + N while inline
//   buf_[N]                                     raw storage, aligned for T
//
// Why a pointer that may point into the object itself: every access
// (operator[], begin, push_back's fast path) is then exactly std::vector's:
// load data_, index. absl::InlinedVector stores a tag bit instead and
// decides inline-or-heap on every data() call (a test and a select), and
// boost::container::small_vector keeps a full vector header (pointer, size,
// capacity: 24 B) before its buffer. The price of the pointer: 8 B more
// than absl's layout per object, and a move must re-point it (the object is
// not trivially relocatable). Sizes here, for 8-byte elements and N = 8:
// cachetick 88 B, absl 72 B, boost 88 B, std::vector 24 B + heap.
//
// Why end and limit POINTERS, not 32-bit size and capacity (a 16 B
// header, this class's first layout): push_back in a loop. An element
// store may write any object of the element's member types; with a
// uint32_t size_ and T = {uint32 lo, hi}, GCC must assume each pushed
// element may have overwritten size_ and cap_, so it reloads both after
// every store and the size goes load -> add -> store -> load through
// memory, a loop-carried store-to-load forward per push_back. A T* cannot
// be written by a store of T's uint32 fields (strict aliasing), so end_
// stays in a register for the whole loop, exactly as std::vector's finish
// pointer does, and the push is a compare, a store and an add. Measured:
// README.md ("Why pointers"), with the 16 B layouts tried.
//
// Growth: the first spill allocates 2N (not N+1, and not std::vector's
// 1-2-4-8 ladder), then doubles. push_back's fast path is a compare and a
// store; growth lives out of line (noinline, so the fast path inlines
// everywhere) but not [[gnu::cold]]: GCC optimises cold functions for size
// and copied the elements with `rep movsb`, which made build/k64 40%
// slower here (107 against 75 ns per vector).
//
// Exceptions (tests/smallvec_test.cpp checks each):
//  * push_back/emplace_back/reserve give the strong guarantee: on growth
//    the new element is built in the new block first (so push_back(v[0])
//    is safe), then the old elements are moved if T's move cannot throw,
//    else copied; if anything throws, the new block is freed and the
//    vector is exactly as before.
//  * copy construction: nothing leaks. Copy assignment copies into a
//    temporary first, so a throwing element copy leaves the target as it
//    was; taking the temporary's elements over cannot throw when T's move
//    cannot (else, if that copy throws, the target is left empty: valid).
//  * erase moves the tail down with T's move assignment: if that throws,
//    the vector is valid, its contents unspecified (the basic guarantee,
//    as std::vector's).
// More than max_size() elements throws std::length_error.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace cachetick::smallvec {

template <class T, std::size_t N>
class SmallVec {
  static_assert(N > 0, "SmallVec: at least one inline element (else use std::vector)");
  static_assert(N <= std::numeric_limits<std::ptrdiff_t>::max() / 2 / sizeof(T));
  // Small trivially copyable elements travel by value, in registers (below).
  static constexpr bool kByValue = std::is_trivially_copyable_v<T> && sizeof(T) <= 16;

 public:
  using value_type = T;
  using size_type = std::size_t;
  using reference = T&;
  using const_reference = const T&;
  using iterator = T*;
  using const_iterator = const T*;
  static constexpr std::size_t inline_capacity = N;

  SmallVec() noexcept : data_(inline_buf()), end_(data_), lim_(data_ + N) {}
  SmallVec(std::initializer_list<T> il) : SmallVec() { assign_copy(il.begin(), il.size()); }
  SmallVec(const SmallVec& o) : SmallVec() { assign_copy(o.data(), o.size()); }
  SmallVec(SmallVec&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : SmallVec() {
    take(o);
  }
  ~SmallVec() { release(); }

  SmallVec& operator=(const SmallVec& o) {
    if (this != &o) {
      SmallVec tmp(o);  // a throwing copy leaves *this alone
      reset();
      take(tmp);
    }
    return *this;
  }
  SmallVec& operator=(SmallVec&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }

  // ---- access: what std::vector does, through data_ -----------------------------
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return static_cast<std::size_t>(end_ - data_); }
  std::size_t capacity() const noexcept { return static_cast<std::size_t>(lim_ - data_); }
  static constexpr std::size_t max_size() noexcept {
    return static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) / sizeof(T);
  }
  bool empty() const noexcept { return end_ == data_; }
  bool is_inline() const noexcept { return data_ == inline_buf(); }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T& front() noexcept { return data_[0]; }
  T& back() noexcept { return end_[-1]; }
  const T& back() const noexcept { return end_[-1]; }
  iterator begin() noexcept { return data_; }
  iterator end() noexcept { return end_; }
  const_iterator begin() const noexcept { return data_; }
  const_iterator end() const noexcept { return end_; }

  // ---- adding -------------------------------------------------------------------------
  template <class... Args>
  T& emplace_back(Args&&... args) {
    T* e = end_;
    if (e != lim_) [[likely]] {
      T* p = ::new (static_cast<void*>(e)) T(std::forward<Args>(args)...);
      end_ = e + 1;
      return *p;
    }
    return grow_and_emplace(std::forward<Args>(args)...);
  }
  void push_back(const T& v) {
    if constexpr (kByValue) push_value(v);
    else emplace_back(v);
  }
  void push_back(T&& v) {
    if constexpr (kByValue) push_value(v);
    else emplace_back(std::move(v));
  }

  // At least n elements of room (never shrinks; never goes back inline).
  void reserve(std::size_t n) {
    if (n > capacity()) reallocate(n);
  }
  // n elements: new ones value-initialised, extra ones destroyed.
  void resize(std::size_t n) {
    reserve(n);
    while (size() < n) emplace_back();
    while (size() > n) pop_back();
  }

  // ---- removing -----------------------------------------------------------------------
  void pop_back() noexcept {
    --end_;
    std::destroy_at(end_);
  }
  void clear() noexcept {
    std::destroy(data_, end_);
    end_ = data_;
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    T* f = data_ + (first - data_);
    T* l = data_ + (last - data_);
    if (f != l) {
      T* new_end = std::move(l, end_, f);
      std::destroy(new_end, end_);
      end_ = new_end;
    }
    return f;
  }

  friend bool operator==(const SmallVec& a, const SmallVec& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  T* inline_buf() noexcept { return reinterpret_cast<T*>(buf_); }
  const T* inline_buf() const noexcept { return reinterpret_cast<const T*>(buf_); }

  static std::size_t checked(std::size_t n) {
    if (n > max_size()) throw std::length_error("SmallVec: too many elements");
    return n;
  }
  // Twice `cap`, or length_error past max_size().
  static std::size_t doubled(std::size_t cap) { return checked(cap > max_size() / 2 ? max_size() + 1 : 2 * cap); }
  static T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  static void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }

  // push_back of a small trivially copyable value: it travels in a
  // register, and so does everything the slow path needs (a static
  // function: no `this`, no address of the value). Taking the value by
  // reference into an out-of-line slow path, as emplace_back(T&&) does,
  // made GCC 12 build every pushed IpRange in a stack slot with two 4-byte
  // stores and copy it out with one 8-byte load: a failed store-to-load
  // forward on every push_back (5 ns against std::vector's 0.5 here; absl's
  // InlinedVector still pays it, see README).
  void push_value(T v) {
    T* e = end_;
    if (e != lim_) [[likely]] {
      ::new (static_cast<void*>(e)) T(v);
      end_ = e + 1;
    } else {
      const std::size_t n = size();
      const Grown g = grow_with(data_, n, capacity(), inline_buf(), v);
      data_ = g.data, end_ = g.data + n + 1, lim_ = g.data + g.cap;
    }
  }
  struct Grown {
    T* data;
    std::size_t cap;
  };
  // A block of twice the capacity holding the n elements of `data`, then v;
  // frees `data` unless it is the inline buffer. (Not [[gnu::cold]]: GCC
  // then optimises it for size and copies with `rep movsb`, which cost
  // build/k64 a third more here.)
  [[gnu::noinline]] static Grown grow_with(T* data, std::size_t n, std::size_t cap, T* buf, T v) {
    const std::size_t new_cap = doubled(cap);
    T* p = allocate(new_cap);
    if (n) std::memcpy(static_cast<void*>(p), static_cast<const void*>(data), n * sizeof(T));
    ::new (static_cast<void*>(p + n)) T(v);
    if (data != buf) deallocate(data, cap);
    return {p, new_cap};
  }

  // Destroys the elements and frees a heap block (the object is then raw).
  void release() noexcept {
    std::destroy(data_, end_);
    if (!is_inline()) deallocate(data_, capacity());
  }
  // Empty and inline again.
  void reset() noexcept {
    release();
    data_ = end_ = inline_buf(), lim_ = data_ + N;
  }

  // Moves `n` elements from `from` to raw storage `to`, destroying the
  // sources: a memcpy for trivially copyable T. On a throwing copy, the
  // copies made are destroyed and the sources are untouched.
  static void relocate(T* from, std::size_t n, T* to) {
    if constexpr (std::is_trivially_copyable_v<T>) {
      if (n) std::memcpy(static_cast<void*>(to), static_cast<const void*>(from), n * sizeof(T));
    } else if constexpr (std::is_nothrow_move_constructible_v<T> || !std::is_copy_constructible_v<T>) {
      std::uninitialized_move(from, from + n, to);
      std::destroy(from, from + n);
    } else {
      std::uninitialized_copy(from, from + n, to);
      std::destroy(from, from + n);
    }
  }

  // From an empty, inline *this: copies n elements (allocating if n > N).
  void assign_copy(const T* src, std::size_t n) {
    if (n > N) {
      T* p = allocate(checked(n));
      try {
        std::uninitialized_copy(src, src + n, p);
      } catch (...) {
        deallocate(p, n);
        throw;
      }
      data_ = p, end_ = lim_ = p + n;
    } else {
      end_ = std::uninitialized_copy(src, src + n, data_);
    }
  }

  // From an empty, inline *this: takes o's elements, leaving o empty and inline.
  void take(SmallVec& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (o.is_inline()) {
      const std::size_t n = o.size();
      relocate(o.data_, n, data_);  // N >= n
      end_ = data_ + n;
      o.end_ = o.data_;
    } else {
      data_ = o.data_, end_ = o.end_, lim_ = o.lim_;
      o.data_ = o.end_ = o.inline_buf(), o.lim_ = o.data_ + N;
    }
  }

  // Moves the elements to a block of `n` >= size() elements.
  void reallocate(std::size_t n) {
    T* p = allocate(checked(n));
    try {
      relocate(data_, size(), p);
    } catch (...) {
      deallocate(p, n);
      throw;
    }
    const std::size_t count = size();
    if (!is_inline()) deallocate(data_, capacity());
    data_ = p, end_ = p + count, lim_ = p + n;
  }

  // The slow path of emplace_back: room for twice the capacity (2N at the
  // first spill). The new element is built first, in the new block, so
  // arguments that refer to our own elements are read before they move.
  template <class... Args>
  [[gnu::noinline]] T& grow_and_emplace(Args&&... args) {
    const std::size_t cap = capacity();
    const std::size_t n = std::max(doubled(cap), size() + 1);
    T* p = allocate(n);
    T* slot = p + size();
    try {
      ::new (static_cast<void*>(slot)) T(std::forward<Args>(args)...);
    } catch (...) {
      deallocate(p, n);
      throw;
    }
    try {
      relocate(data_, size(), p);
    } catch (...) {
      std::destroy_at(slot);
      deallocate(p, n);
      throw;
    }
    if (!is_inline()) deallocate(data_, cap);
    data_ = p, end_ = slot + 1, lim_ = p + n;
    return *slot;
  }

  T* data_;
  T* end_;  // one past the last element
  T* lim_;  // one past the last slot: inline_buf() + N while inline
  alignas(T) unsigned char buf_[N * sizeof(T)];
};

}  // namespace cachetick::smallvec
