// Where a parsed field lives: five answers, one scanner (kernels/parse/csv.h).
//
//   OwningRecords   std::string per text field: a copy each, and a malloc each
//                   for a value longer than the string's inline buffer (15
//                   bytes in libstdc++ and libc++'s 22). The records own
//                   everything; the input can go at once. [naive]
//   PmrRecords      std::pmr::string on a monotonic_buffer_resource: the same
//                   copies, the mallocs replaced by a bump in a buffer that
//                   release() rewinds. What the standard library offers. [peer]
//   ArenaRecords    one copy per record into cachetick's bump arena
//                   (kernels/alloc/arena.h), string_view fields into it. [reference]
//   ViewRecords     string_view fields into the caller's input: no copy at
//                   all. The caller must keep the input alive and unchanged
//                   while the records are used - a rule nothing checks. [peer]
//   Table           zero-copy AND lifetime-safe: it takes the input over, and
//                   records hold offsets into it, not pointers. [optimised]
//
// Every one of them has the same read interface, so one loop (count_countries
// below) and one test serve all: size(), asn(i), country(i), org(i), cidr(i)
// (string_view), record(i) (RecordView). parse() keeps the records vector's
// capacity, as a program parsing one request after another would: after the
// first input, no variant grows a vector. After a ParseError each holds the
// records before the bad line.
//
// Why the Table cannot dangle, where ViewRecords can. The seed write-up's
// Rust borrows its fields from the input (`&'a str`) and the compiler proves
// the records die first; C++ has no borrow checker, and a string_view kept
// past its buffer compiles and reads freed memory. (Transmuting the borrow to
// 'static, as sketches sometimes do to escape the compiler's complaint, is the
// same bug in Rust.) The Table keeps the two things that must live together
// in one object:
//   - It owns the bytes: assign(std::vector<char>&&) moves the input in (no
//     copy: a vector's move hands over its heap block), release() hands it
//     back and empties the records in the same call. No record of the table
//     can outlive the bytes it describes.
//   - A record holds no pointer: each field is a Slice {offset, length}, 8
//     bytes. A record copied out of the table is two integers per field and
//     cannot dangle; it becomes text only through table.text(slice), which
//     checks offset + length against the bytes the table holds (one compare;
//     a stale or foreign slice gives an exception, never a read outside
//     memory). Offsets also survive anything that moves the bytes (a
//     vector's reallocation, a move of the table) without a fix-up.
//   - Half the size: 4 + 3 x 8 = 28 bytes a record against 56 for three
//     string_views and an int (and 104 for three std::strings). Less to
//     write while parsing, less to read while using the records.
//   - The one view it hands out, text(), lives as long as the table keeps
//     its bytes (like std::vector::data()). That part is the caller's, as for
//     any container; it is marked lifetimebound where the compiler knows the
//     attribute (Clang), so returning one from a temporary table warns.
// Escaped fields ('""' inside quotes) cannot be a view of the input: their
// value differs from their bytes. Table appends their unescaped values after
// the input, so one offset space covers both; release() cuts them off again.
// ViewRecords puts them in a side buffer of its own, valid until the next
// parse(). (Not an alloc::Arena: its reset() keeps only the first chunk but
// goes on doubling the size of the next one, so a parse that outgrows the
// first chunk mallocs a bigger chunk every time, up to 64 MiB.)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernels/alloc/arena.h"
#include "kernels/parse/csv.h"

#if defined(__clang__)
#define CACHETICK_LIFETIMEBOUND [[clang::lifetimebound]]
#else
#define CACHETICK_LIFETIMEBOUND
#endif

namespace cachetick::parse {

struct RecordView {
  std::uint32_t asn;
  std::string_view country, org, cidr;
  friend bool operator==(const RecordView&, const RecordView&) = default;
};

// ---------------------------------------------------------------- owning ---

struct OwnedRecord {
  std::uint32_t asn;
  std::string country, org, cidr;
};

class OwningRecords {
 public:
  void parse(std::string_view in, ParseOptions opt = {}) {
    recs_.clear();  // frees every value longer than the inline buffer
    parse_csv(in, [&](const RawRecord& r) {
      recs_.push_back({r.asn, unescaped(r.country), unescaped(r.org), unescaped(r.cidr)});
    }, opt);
  }
  std::size_t size() const { return recs_.size(); }
  std::uint32_t asn(std::size_t i) const { return recs_[i].asn; }
  std::string_view country(std::size_t i) const { return recs_[i].country; }
  std::string_view org(std::size_t i) const { return recs_[i].org; }
  std::string_view cidr(std::size_t i) const { return recs_[i].cidr; }
  RecordView record(std::size_t i) const { return {asn(i), country(i), org(i), cidr(i)}; }
  static constexpr std::size_t kRecordBytes = sizeof(OwnedRecord);

 private:
  std::vector<OwnedRecord> recs_;
};

// ------------------------------------------------------------------- pmr ---

struct PmrRecord {
  std::uint32_t asn;
  std::pmr::string country, org, cidr;
};

class PmrRecords {
 public:
  // `buffer_bytes`: the resource's initial buffer. Values that do not fit
  // it come from operator new (and are freed at the next parse()).
  explicit PmrRecords(std::size_t buffer_bytes)
      : buf_(std::make_unique<std::byte[]>(buffer_bytes)), mr_(buf_.get(), buffer_bytes) {}
  PmrRecords(const PmrRecords&) = delete;
  PmrRecords& operator=(const PmrRecords&) = delete;

  void parse(std::string_view in, ParseOptions opt = {}) {
    recs_.clear();   // the strings first: they point into the resource
    mr_.release();   // back to the start of the initial buffer
    parse_csv(in, [&](const RawRecord& r) {
      recs_.push_back({r.asn, make(r.country), make(r.org), make(r.cidr)});
    }, opt);
  }
  std::size_t size() const { return recs_.size(); }
  std::uint32_t asn(std::size_t i) const { return recs_[i].asn; }
  std::string_view country(std::size_t i) const { return recs_[i].country; }
  std::string_view org(std::size_t i) const { return recs_[i].org; }
  std::string_view cidr(std::size_t i) const { return recs_[i].cidr; }
  RecordView record(std::size_t i) const { return {asn(i), country(i), org(i), cidr(i)}; }
  static constexpr std::size_t kRecordBytes = sizeof(PmrRecord);

 private:
  std::pmr::string make(RawField f) {
    if (!f.escaped) return std::pmr::string(f.raw(), &mr_);
    std::pmr::string s(unescaped_size(f), '\0', &mr_);
    unescape_to(f, s.data());
    return s;
  }
  std::unique_ptr<std::byte[]> buf_;
  std::pmr::monotonic_buffer_resource mr_;
  std::vector<PmrRecord> recs_;  // vector first destroyed: its strings use mr_
};

// ----------------------------------------------------------------- arena ---

struct ViewRecord {
  std::uint32_t asn;
  std::string_view country, org, cidr;
};

class ArenaRecords {
 public:
  // Size the first chunk for the input (its bytes bound what is copied):
  // then reset() never frees or mallocs.
  explicit ArenaRecords(std::size_t first_chunk_bytes) : arena_(options(first_chunk_bytes)) {}

  void parse(std::string_view in, ParseOptions opt = {}) {
    recs_.clear();
    arena_.reset();
    parse_csv(in, [&](const RawRecord& r) {
      // One allocation per record, not per field: one cursor bump, and one
      // 8-byte rounding instead of three.
      char* d = static_cast<char*>(arena_.allocate(r.country.size + r.org.size + r.cidr.size, 1));
      ViewRecord v;
      v.asn = r.asn;
      v.country = put(r.country, d);
      v.org = put(r.org, d);
      v.cidr = put(r.cidr, d);
      recs_.push_back(v);
    }, opt);
  }
  std::size_t size() const { return recs_.size(); }
  std::uint32_t asn(std::size_t i) const { return recs_[i].asn; }
  std::string_view country(std::size_t i) const { return recs_[i].country; }
  std::string_view org(std::size_t i) const { return recs_[i].org; }
  std::string_view cidr(std::size_t i) const { return recs_[i].cidr; }
  RecordView record(std::size_t i) const { return {asn(i), country(i), org(i), cidr(i)}; }
  static constexpr std::size_t kRecordBytes = sizeof(ViewRecord);

 private:
  static alloc::ArenaOptions options(std::size_t first) {
    alloc::ArenaOptions o;
    o.first_chunk_bytes = first;
    o.prefault = true;  // faults at construction, not in the first parse
    return o;
  }
  // Copies (or unescapes) f to d, moves d past it, returns the copy.
  static std::string_view put(RawField f, char*& d) {
    char* s = d;
    if (!f.escaped) {
      std::memcpy(d, f.data, f.size);
      d += f.size;
    } else {
      d = unescape_to(f, d);
    }
    return {s, static_cast<std::size_t>(d - s)};
  }
  alloc::Arena arena_;
  std::vector<ViewRecord> recs_;
};

// ------------------------------------------------------------------ views ---

class ViewRecords {
 public:
  // The records view `in`: keep it alive and unchanged while using them.
  void parse(std::string_view in, ParseOptions opt = {}) {
    recs_.clear();
    side_.clear();
    fixups_.clear();
    try {
      parse_csv(in, [&](const RawRecord& r) {
        recs_.push_back({r.asn, view(r.country, 0), view(r.org, 1), view(r.cidr, 2)});
      }, opt);
    } catch (const ParseError&) {
      fix_up();  // the records before the bad line stay usable
      throw;
    }
    fix_up();
  }
  std::size_t size() const { return recs_.size(); }
  std::uint32_t asn(std::size_t i) const { return recs_[i].asn; }
  std::string_view country(std::size_t i) const { return recs_[i].country; }
  std::string_view org(std::size_t i) const { return recs_[i].org; }
  std::string_view cidr(std::size_t i) const { return recs_[i].cidr; }
  RecordView record(std::size_t i) const { return {asn(i), country(i), org(i), cidr(i)}; }
  static constexpr std::size_t kRecordBytes = sizeof(ViewRecord);

 private:
  // An escaped value is unescaped into side_, which may reallocate while
  // the parse goes on: its views are set once the parse is over.
  struct Fixup {
    std::size_t record;
    int field;
    std::size_t offset, size;
  };
  std::string_view view(RawField f, int field) {
    if (!f.escaped) [[likely]]
      return f.raw();
    const std::size_t at = side_.size();
    side_.resize(at + unescaped_size(f));
    unescape_to(f, side_.data() + at);
    fixups_.push_back({recs_.size(), field, at, side_.size() - at});
    return {};
  }
  void fix_up() {
    for (const Fixup& x : fixups_) {
      ViewRecord& r = recs_[x.record];
      std::string_view& v = x.field == 0 ? r.country : x.field == 1 ? r.org : r.cidr;
      v = std::string_view(side_.data() + x.offset, x.size);
    }
  }
  std::vector<ViewRecord> recs_;
  std::string side_;             // escaped values only (rare); keeps its capacity
  std::vector<Fixup> fixups_;
};

// ------------------------------------------------------------------ table ---

// A field's place in its table's text: `size()` bytes at offset `offset()`.
class Slice {
 public:
  std::uint32_t offset() const { return off_; }
  std::uint32_t size() const { return len_; }

 private:
  friend class Table;
  std::uint32_t off_ = 0, len_ = 0;
};

struct SlimRecord {
  std::uint32_t asn;
  Slice country, org, cidr;
};
static_assert(sizeof(SlimRecord) == 28);

class Table {
 public:
  // Offsets are 32-bit: the input and the unescaped values (at most as
  // many bytes again) must fit 4 GiB. Bigger inputs: parse them in parts.
  static constexpr std::size_t kMaxInput = std::size_t{1} << 31;

  // Takes `text` over (moved: no copy) and parses it. A table that held
  // text before gives it up first (its records go with it). Throws
  // ParseError (the records before the bad line stay, with the text),
  // std::length_error or std::bad_alloc (the text stays, no records: an
  // allocation can fail with a record half written).
  void assign(std::vector<char>&& text, ParseOptions opt = {}) {
    release();
    text_ = std::move(text);
    input_bytes_ = text_.size();
    if (input_bytes_ > kMaxInput) throw std::length_error("parse::Table: input above 2 GiB (32-bit offsets)");
    side_.clear();
    const char* base = text_.data();
    try {
      parse_csv(std::string_view(base, input_bytes_), [this, base](const RawRecord& r) {
        SlimRecord& d = recs_.emplace_back();  // written in place: see slice()
        d.asn = r.asn;
        d.country = slice(r.country, base);
        d.org = slice(r.org, base);
        d.cidr = slice(r.cidr, base);
      }, opt);
    } catch (const ParseError&) {
      keep_side();  // the records before the bad line stay valid
      throw;
    } catch (...) {  // std::bad_alloc, perhaps with a record half written
      drop_records();
      throw;
    }
    keep_side();
  }

  // Gives the input back (without the unescaped values appended to it) and
  // empties the table: its records and the bytes leave together.
  std::vector<char> release() {
    recs_.clear();
    text_.resize(input_bytes_);
    input_bytes_ = 0;
    return std::exchange(text_, {});
  }

  std::size_t size() const { return recs_.size(); }
  // A record is plain data: copy it anywhere, it holds no pointer.
  const SlimRecord& slim(std::size_t i) const { return recs_[i]; }
  // The bytes of a slice of THIS table, valid until release() or assign().
  // Throws std::out_of_range for a slice that does not fit (a stale one, or
  // one from another table): never reads outside the table's bytes.
  std::string_view text(Slice s) const CACHETICK_LIFETIMEBOUND {
    if (std::uint64_t{s.off_} + s.len_ > text_.size()) [[unlikely]]
      bad_slice(s);
    return {text_.data() + s.off_, s.len_};
  }
  std::uint32_t asn(std::size_t i) const { return recs_[i].asn; }
  std::string_view country(std::size_t i) const CACHETICK_LIFETIMEBOUND { return text(recs_[i].country); }
  std::string_view org(std::size_t i) const CACHETICK_LIFETIMEBOUND { return text(recs_[i].org); }
  std::string_view cidr(std::size_t i) const CACHETICK_LIFETIMEBOUND { return text(recs_[i].cidr); }
  RecordView record(std::size_t i) const CACHETICK_LIFETIMEBOUND {
    return {asn(i), country(i), org(i), cidr(i)};
  }
  static constexpr std::size_t kRecordBytes = sizeof(SlimRecord);

 private:
  // The common field is two 32-bit stores; the rare escaped one (1% of an
  // ASN table's organisations) is out of line. How the sink is written
  // moved ct_table by 9% (AMD EPYC Zen 5, 64 KiB ASN table, a standalone
  // loop, ns per record): 13.4 with push_back({...}) of a temporary and the
  // escaped path inlined three times; 12.75 writing the record in place
  // (emplace_back, then the fields); 12.4 with `base` captured by value, so
  // the compiler keeps it in a register instead of reloading it through a
  // reference after every store - level with the string_view row's 12.4.
  // One test for all three fields' escapes instead of three was slower
  // (12.85).
  Slice slice(RawField f, const char* base) {
    if (f.escaped) [[unlikely]]
      return side_slice(f);
    Slice s;
    s.off_ = static_cast<std::uint32_t>(f.data - base);
    s.len_ = static_cast<std::uint32_t>(f.size);
    return s;
  }
  [[gnu::noinline]] Slice side_slice(RawField f) {
    Slice s;
    s.off_ = static_cast<std::uint32_t>(input_bytes_ + side_.size());
    const std::size_t at = side_.size();
    side_.resize(at + unescaped_size(f));
    unescape_to(f, side_.data() + at);
    s.len_ = static_cast<std::uint32_t>(side_.size() - at);
    return s;
  }
  // The unescaped values follow the input: one offset space for both.
  // Reserved exactly: a vector filled to capacity would double it (a 256
  // MiB input would hold 512 MiB) for a few KiB of escaped values.
  void append_side() {
    if (side_.empty()) return;
    text_.reserve(text_.size() + side_.size());
    text_.insert(text_.end(), side_.begin(), side_.end());
  }
  // Records with unescaped values need them in text_: if they cannot get
  // there, the records go (the text stays as it was: reserve() either
  // succeeds or changes nothing).
  void keep_side() {
    try {
      append_side();
    } catch (...) {
      drop_records();
      throw;
    }
  }
  void drop_records() {
    recs_.clear();
    side_.clear();
  }
  [[noreturn]] __attribute__((noinline)) void bad_slice(Slice s) const {
    throw std::out_of_range("parse::Table: slice [" + std::to_string(s.off_) + ", +" + std::to_string(s.len_) +
                            ") is not in this table's " + std::to_string(text_.size()) + " bytes");
  }

  std::vector<char> text_;  // the input, then the unescaped values
  std::size_t input_bytes_ = 0;
  std::vector<SlimRecord> recs_;
  std::string side_;  // unescaped values while parsing
};

// ------------------------------------------------------------------- use ---

// Records per country code: two letters A-Z (676 codes), anything else
// (empty, lower case, longer) counts as "other" in the last slot.
using CountryCounts = std::array<std::uint32_t, 26 * 26 + 1>;

inline std::size_t country_slot(std::string_view c) {
  if (c.size() == 2) {
    const unsigned a = static_cast<unsigned char>(c[0]) - 'A', b = static_cast<unsigned char>(c[1]) - 'A';
    if (a < 26 && b < 26) return a * 26 + b;
  }
  return 26 * 26;
}

template <class Records>
void count_countries(const Records& r, CountryCounts& out) {
  out.fill(0);
  const std::size_t n = r.size();
  for (std::size_t i = 0; i < n; ++i) ++out[country_slot(r.country(i))];
}

}  // namespace cachetick::parse
