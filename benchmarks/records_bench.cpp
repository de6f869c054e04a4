// Family "records": one IP-range record laid out loose, reordered, with bit
// flags, split hot/cold, packed, with bit-fields and with std::bitset
// (kernels/records/records.h).
//
// Workloads (one op = one record):
//   scan     the query (active, not a bogon, in country X; sum the risk of
//            the ~1.8% that match) over every record in order
//   random   the same query on records picked at random (an index array:
//            the prefetchers cannot follow, every record is a fresh line)
//   memory   write every record again from its information, in place;
//            counters: bytes_per_record, padding_per_record and
//            best_bytes_per_record (the smallest field order,
//            kernels/records/padding.h)
// Sizes are record counts, 256 (every layout in L1 or L2) to 1M (DRAM).
// Every row checks its answer against the information itself.
#include <bit>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "harness/registry.h"
#include "kernels/records/layouts.h"
#include "kernels/records/records.h"

namespace {

using namespace cachetick;
using namespace cachetick::records;

constexpr std::size_t kRandomOps = 1 << 14;  // lookups per iteration (random)
constexpr std::uint16_t kCountryIndex = 7;   // the query's country (any of the 50)

const std::vector<Info>& infos(std::size_t n) {
  // One information set per size, shared by every layout (same answers).
  static std::vector<std::vector<Info>> cache(32);
  std::vector<Info>& v = cache[std::bit_width(n)];
  if (v.size() != n) v = random_infos(n, 42 + n);
  return v;
}

std::vector<std::uint32_t> random_indices(std::size_t n, std::size_t count) {
  std::mt19937_64 rng(7 + n);
  std::uniform_int_distribution<std::uint32_t> d(0, static_cast<std::uint32_t>(n - 1));
  std::vector<std::uint32_t> idx(count);
  for (auto& i : idx) i = d(rng);
  return idx;
}

// Keeps the answer alive without benchmark::DoNotOptimize on a double (see
// benchmarks/layout_bench.cpp: GCC 12 miscompiles it on float lvalues).
volatile std::uint64_t g_sink_count;
volatile double g_sink_risk;

std::uint16_t runtime_country() {
  volatile std::uint16_t c = country_code(kCountryIndex);
  return c;
}

void check(benchmark::State& st, const Answer& got, const Answer& want) {
  if (!(got == want)) st.SkipWithError("wrong answer: the layout's query disagrees with the data");
}

// Padding figures of a layout: a whole record, or the hot/cold pair.
struct Memory {
  double bytes = 0, padding = 0, best = 0;
};
Memory memory_of(const char* struct_name) {
  Memory m;
  for (const StructLayout& s : record_layouts())
    if (s.name == struct_name) {
      const PaddingReport r = analyse(s);
      m = {double(s.size), double(r.padding), double(r.best_size)};
    }
  return m;
}
Memory memory_of_hotcold() {
  Memory h = memory_of("records::Hot"), c = memory_of("records::Cold");
  return {h.bytes + c.bytes, h.padding + c.padding, h.best + c.best};
}

template <class T>
void run(benchmark::State& st, Probe& p, const char* workload, std::size_t n, Memory mem) {
  const std::vector<Info>& in = infos(n);
  T t(in);
  const std::uint16_t want = runtime_country();
  st.counters["bytes_per_record"] = mem.bytes;
  const std::string w = workload;
  if (w == "scan") {
    Answer a;
    p.run(st, [&] {
      a = t.scan(want);
      g_sink_count = a.count;
    });
    g_sink_risk = a.risk;
    check(st, a, reference_scan(in, want));
  } else if (w == "random") {
    const auto idx = random_indices(n, kRandomOps);
    Answer a;
    p.run(st, [&] {
      a = t.lookup(idx, want);
      g_sink_count = a.count;
    });
    g_sink_risk = a.risk;
    check(st, a, reference_lookup(in, idx, want));
  } else {
    st.counters["padding_per_record"] = mem.padding;
    st.counters["best_bytes_per_record"] = mem.best;
    p.run(st, [&] {
      t.rebuild(in);
      benchmark::ClobberMemory();
    });
    check(st, t.scan(want), reference_scan(in, want));
  }
}

struct Variant {
  const char* name;
  Role role;
  void (*fn)(benchmark::State&, Probe&, const char*, std::size_t, Memory);
  Memory (*memory)();
  std::size_t hot_bytes;  // what a scan streams per record
  const char* note;
};

template <const char* Name>
Memory memory_of_struct() {
  return memory_of(Name);
}

constexpr char kLoose[] = "records::Loose";
constexpr char kReordered[] = "records::Reordered";
constexpr char kBitFlags[] = "records::BitFlags";
constexpr char kPacked[] = "records::Packed";
constexpr char kBitfield[] = "records::Bitfield";
constexpr char kStdBitset[] = "records::StdBitset";

const Variant kVariants[] = {
    {"loose", Role::naive, &run<Table<Loose>>, &memory_of_struct<kLoose>, sizeof(Loose),
     "bools between wider fields, as the fields were added: 80 B"},
    {"reordered", Role::reference, &run<Table<Reordered>>, &memory_of_struct<kReordered>,
     sizeof(Reordered), "same fields by alignment, largest first: 48 B"},
    {"ct_bitflags", Role::optimised, &run<Table<BitFlags>>, &memory_of_struct<kBitFlags>,
     sizeof(BitFlags), "reordered, eight bools as one flag byte, tested with one mask: 40 B"},
    {"hotcold", Role::reference, &run<HotColdTable>, &memory_of_hotcold, sizeof(Hot),
     "query fields (8 B) in one array, the rest (32 B) in a parallel one"},
    {"packed", Role::peer, &run<Table<Packed>>, &memory_of_struct<kPacked>, sizeof(Packed),
     "loose order, __attribute__((packed)): 46 B, misaligned fields"},
    {"bitfield", Role::peer, &run<Table<Bitfield>>, &memory_of_struct<kBitfield>,
     sizeof(Bitfield), "reordered, eight `bool x : 1` bit-fields: 40 B"},
    {"std_bitset", Role::peer, &run<Table<StdBitset>>, &memory_of_struct<kStdBitset>,
     sizeof(StdBitset), "reordered, std::bitset<8> flags (8 B in libstdc++): 48 B"},
};

std::string count_label(std::size_t n) {
  return n >= (1u << 20) ? std::to_string(n >> 20) + "M"
         : n >= 1024     ? std::to_string(n >> 10) + "K"
                         : std::to_string(n);
}

void add_row(const Variant& v, const char* workload, std::size_t n) {
  const std::string w = workload;
  const std::size_t record_bytes = static_cast<std::size_t>(v.memory().bytes);
  Spec s;
  s.family = "records";
  s.variant = v.name;
  s.role = v.role;
  s.workload = workload;
  s.size = n;
  s.size_label = count_label(n);
  s.op = "record";
  if (w == "scan") {
    s.ops_per_iter = static_cast<double>(n);
    s.working_set_bytes = n * v.hot_bytes;
    s.bytes_per_op = sizeof(Hot);  // the query's information, at its most compact
  } else if (w == "random") {
    s.ops_per_iter = kRandomOps;
    s.working_set_bytes = n * record_bytes + kRandomOps * 4;
  } else {
    s.ops_per_iter = static_cast<double>(n);
    s.working_set_bytes = n * (record_bytes + sizeof(Info));
  }
  s.note = std::string(v.note) + "; " + workload + " over " + std::to_string(n) + " records";
  add(s, [fn = v.fn, mem = v.memory, workload, n](benchmark::State& st, Probe& p) {
    fn(st, p, workload, n, mem());
  });
}

}  // namespace

CACHETICK_FAMILY(records, "Compact records: loose bools vs reordered vs bit flags vs hot/cold, packed, bit-fields") {
  for (const char* workload : {"scan", "random"})
    for (std::size_t n : {std::size_t{256}, std::size_t{8} << 10, std::size_t{128} << 10,
                          std::size_t{1} << 20})
      for (const Variant& v : kVariants) add_row(v, workload, n);
  for (const Variant& v : kVariants) add_row(v, "memory", std::size_t{1} << 20);
}
