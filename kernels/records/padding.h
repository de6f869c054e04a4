// Where a struct's padding sits, and the field order that needs the least.
//
// The rules (every C++ ABI we run on: System V x86-64, AArch64):
//  * a field starts at the next multiple of its alignment: the bytes skipped
//    are a hole ("padding after" the previous field);
//  * the struct's alignment is its largest field alignment, and its size is
//    rounded up to a multiple of it: the bytes added are tail padding, paid
//    by every element of an array.
// A C++ type's size is always a multiple of its alignment. So sorting the
// fields by alignment, largest first, leaves no hole at all: every field
// then starts at a sum of sizes that are multiples of its own alignment.
// Only tail padding can remain, and the result, sum of field sizes rounded
// up to the largest alignment, is the smallest any order can reach (the
// size is at least the sum, and a multiple of the alignment). Sorting by
// SIZE, as the seed's layout analyser does, is the same for scalars but
// wrong for arrays and structs (a char[16] is big and needs no alignment),
// and the seed also forgot the final round-up.
//
// C++20 has no reflection, so each struct is described field by field with
// CT_FIELD (offsetof, sizeof, alignof: the compiler's own answers, so the
// report cannot disagree with the binary). Bit-fields have no offset; put
// them in a nested struct and describe that. This reads the layout the
// compiler chose; pahole (package dwarves) would read the same from DWARF,
// but needs a -g build and an extra tool.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace cachetick::records {

struct Field {
  std::string name;
  std::size_t offset = 0, size = 0;
  std::size_t align = 1;  // the type's natural alignment (alignof)
};

// `name`: a field of T. Needs T to be standard-layout (offsetof).
#define CT_FIELD(T, name)                                                        \
  ::cachetick::records::Field {                                                  \
    #name, offsetof(T, name), sizeof(T::name), alignof(decltype(T::name))        \
  }

struct StructLayout {
  std::string name;
  std::size_t size = 0, align = 1;  // sizeof, alignof of the struct
  std::vector<Field> fields;        // in declaration order
};

template <class T>
StructLayout describe(std::string name, std::vector<Field> fields) {
  return {std::move(name), sizeof(T), alignof(T), std::move(fields)};
}

struct Hole {
  std::size_t offset = 0, size = 0;
  std::string after;  // the field before the hole; "" at the start
  bool tail = false;  // after the last field
};

struct PaddingReport {
  std::size_t field_bytes = 0;    // sum of the fields' sizes
  std::size_t padding = 0;        // size - field_bytes
  std::vector<Hole> holes;        // between fields, then the tail
  std::size_t misaligned = 0;     // fields below their natural alignment (packed structs)
  std::vector<Field> best_order;  // by alignment, largest first (stable), with new offsets
  std::size_t best_size = 0;      // field_bytes rounded up to the largest alignment
};

inline std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

// The holes of `s`, from the offsets the compiler gave its fields.
inline std::vector<Hole> holes_of(const StructLayout& s) {
  std::vector<Field> f = s.fields;
  std::stable_sort(f.begin(), f.end(), [](const Field& a, const Field& b) { return a.offset < b.offset; });
  std::vector<Hole> h;
  std::size_t end = 0;
  std::string prev;
  for (const Field& x : f) {
    if (x.offset > end) h.push_back({end, x.offset - end, prev, false});
    end = std::max(end, x.offset + x.size);
    prev = x.name;
  }
  if (s.size > end) h.push_back({end, s.size - end, prev, true});
  return h;
}

// The fields by alignment, largest first, laid out again.
inline std::vector<Field> best_order(const StructLayout& s) {
  std::vector<Field> f = s.fields;
  std::stable_sort(f.begin(), f.end(), [](const Field& a, const Field& b) { return a.align > b.align; });
  std::size_t at = 0;
  for (Field& x : f) {
    x.offset = round_up(at, x.align);
    at = x.offset + x.size;
  }
  return f;
}

inline PaddingReport analyse(const StructLayout& s) {
  PaddingReport r;
  std::size_t max_align = 1;
  for (const Field& x : s.fields) {
    r.field_bytes += x.size;
    max_align = std::max(max_align, x.align);
    r.misaligned += x.offset % x.align != 0;
  }
  r.padding = s.size - r.field_bytes;
  r.holes = holes_of(s);
  r.best_order = best_order(s);
  r.best_size = round_up(r.field_bytes, max_align);
  return r;
}

// The report as text: one block per struct.
inline std::string format_report(const StructLayout& s) {
  const PaddingReport r = analyse(s);
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%s: %zu B, align %zu; fields %zu B, padding %zu B (%.0f%%)\n",
                s.name.c_str(), s.size, s.align, r.field_bytes, r.padding,
                s.size ? 100.0 * static_cast<double>(r.padding) / static_cast<double>(s.size) : 0.0);
  out += line;
  if (r.holes.empty()) out += "  no padding\n";
  for (const Hole& h : r.holes) {
    std::snprintf(line, sizeof line, "  %2zu B at offset %3zu %s %s\n", h.size, h.offset,
                  h.tail ? "tail, after" : "after", h.after.empty() ? "(start)" : h.after.c_str());
    out += line;
  }
  if (r.misaligned) {
    out += "  below their natural alignment:";
    for (const Field& x : s.fields)
      if (x.offset % x.align != 0)
        out += " " + x.name + "@" + std::to_string(x.offset) + "/" + std::to_string(x.align);
    out += "\n";
  }
  if (r.best_size == s.size) {
    out += "  already minimal: no order is smaller\n";
    return out;
  }
  out += "  best order (alignment, largest first):";
  for (const Field& x : r.best_order) out += " " + x.name;
  out += "\n  -> " + std::to_string(r.best_size) + " B";
  if (r.best_size < s.size) out += " (saves " + std::to_string(s.size - r.best_size) + " B)\n";
  else out += " (more than now: packed, at the price of the misaligned fields)\n";
  return out;
}

}  // namespace cachetick::records
