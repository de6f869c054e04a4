// Family "parse": ASN records in CSV, parsed five ways by one scanner. See
// kernels/parse/README.md.
//
// Workloads (op = one record; GB/s = input bytes per ns, x1000 for MB/s):
//   parse        ASN table (fields of 2-40 B): parse the whole input into
//                the variant's records
//   count        the same, then count the records per country: a second
//                pass that reads one field of every record
//   parse_long   organisations with descriptions of 80-250 B
//   parse_sso    every field at most 15 B (std::string never mallocs)
// Every iteration parses the whole input into the same object, as a program
// parsing one request after another would: the records vector keeps its
// capacity, and each variant releases the previous records at the start of
// the next parse (std::string frees its values, the arena and the pmr
// resource rewind, the Table hands the input back and takes it again).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/context.h"
#include "harness/registry.h"
#include "kernels/parse/generate.h"
#include "kernels/parse/records.h"

namespace {

using namespace cachetick;
namespace cp = cachetick::parse;

// One input at a time: the rows of a size run one after another (variants
// innermost), and a 256 MiB input should not stay for the rest of the run.
const cp::Generated& input(cp::Shape shape, std::size_t nominal) {
  static cp::Shape cached_shape = cp::Shape::asn;
  static std::size_t cached = 0;
  static cp::Generated g;
  if (cached != nominal || cached_shape != shape) {
    g = {};
    g = cp::generate(shape, nominal);
    cached_shape = shape;
    cached = nominal;
  }
  return g;
}

// The input must be what kSizings promised when the row was registered.
bool input_matches(benchmark::State& st, const cp::Generated& g, const cp::Sizing& z) {
  if (g.records == z.records && g.text.size() == z.bytes) return true;
  const std::string m = "parse: the generator now gives " + std::to_string(g.records) + " records in " +
                        std::to_string(g.text.size()) + " B, kernels/parse/generate.h kSizings says " +
                        std::to_string(z.records) + " in " + std::to_string(z.bytes) + ": update it";
  st.SkipWithError(m.c_str());
  return false;
}

bool counted_all(benchmark::State& st, std::size_t got, std::size_t want) {
  if (got == want) return true;
  const std::string m = "parse: " + std::to_string(got) + " records, expected " + std::to_string(want);
  st.SkipWithError(m.c_str());
  return false;
}

// The variants with parse(string_view): made for the input's size.
template <class Records>
std::unique_ptr<Records> make_records(std::size_t input_bytes) {
  if constexpr (std::is_constructible_v<Records, std::size_t>)
    return std::make_unique<Records>(2 * input_bytes + 4096);  // arena chunk, pmr buffer
  else
    return std::make_unique<Records>();
}

template <class Records>
void run_parse(benchmark::State& st, Probe& p, const cp::Sizing& z, bool count) {
  const cp::Generated& g = input(z.shape, z.nominal);
  if (!input_matches(st, g, z)) return;
  auto r = make_records<Records>(g.text.size());
  r->parse(g.text);  // untimed warm-up: the vector's capacity, first touches
  cp::CountryCounts counts{};
  if (count)
    p.run(st, [&] {
      r->parse(g.text);
      cp::count_countries(*r, counts);
      benchmark::DoNotOptimize(counts.data());
      benchmark::ClobberMemory();
    });
  else
    p.run(st, [&] {
      r->parse(g.text);
      benchmark::DoNotOptimize(r->size());
      benchmark::ClobberMemory();
    });
  counted_all(st, r->size(), g.records);
}

// The Table takes its input over: it is moved in and handed back every
// iteration (two vector moves, no copy).
void run_table(benchmark::State& st, Probe& p, const cp::Sizing& z, bool count) {
  const cp::Generated& g = input(z.shape, z.nominal);
  if (!input_matches(st, g, z)) return;
  std::vector<char> buf(g.text.begin(), g.text.end());
  cp::Table t;
  t.assign(std::move(buf));  // untimed warm-up
  buf = t.release();
  cp::CountryCounts counts{};
  std::size_t n = 0;
  p.run(st, [&] {
    t.assign(std::move(buf));
    if (count) cp::count_countries(t, counts);
    n = t.size();
    buf = t.release();
    benchmark::DoNotOptimize(counts.data());
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  });
  counted_all(st, n, g.records);
}

using Fn = void (*)(benchmark::State&, Probe&, const cp::Sizing&, bool);

struct Variant {
  const char* name;
  Role role;
  Fn fn;
  std::size_t record_bytes;
  bool copies;  // copies the values (working set: the input once more)
  const char* note;
};

const Variant kVariants[] = {
    {"std_string", Role::naive, &run_parse<cp::OwningRecords>, cp::OwningRecords::kRecordBytes, true,
     "one std::string per text field: a copy each, a malloc for values over 15 B"},
    {"pmr_string", Role::peer, &run_parse<cp::PmrRecords>, cp::PmrRecords::kRecordBytes, true,
     "std::pmr::string on a monotonic_buffer_resource (buffer 2x the input, rewound per parse)"},
    {"ct_arena", Role::reference, &run_parse<cp::ArenaRecords>, cp::ArenaRecords::kRecordBytes, true,
     "one copy per record into cachetick's bump arena, string_view fields into it"},
    {"string_view", Role::peer, &run_parse<cp::ViewRecords>, cp::ViewRecords::kRecordBytes, false,
     "string_view fields into the input: no copy; the caller keeps the input alive (unchecked)"},
    {"ct_table", Role::optimised, &run_table, cp::Table::kRecordBytes, false,
     "cachetick's Table: owns the input, records are offsets (28 B): zero-copy, lifetime-safe"},
};

const cp::Sizing& sizing(cp::Shape shape, std::size_t nominal) {
  for (const cp::Sizing& z : cp::kSizings)
    if (z.shape == shape && z.nominal == nominal) return z;
  std::abort();  // a size missing from kSizings: a programming error, found by the first run
}

void register_workload(const char* workload, cp::Shape shape, bool count,
                       std::initializer_list<std::size_t> sizes) {
  for (std::size_t nominal : sizes) {
    const cp::Sizing& z = sizing(shape, nominal);
    for (const Variant& v : kVariants) {
      Spec s;
      s.family = "parse";
      s.variant = v.name;
      s.role = v.role;
      s.workload = workload;
      s.size = z.bytes;
      s.size_label = format_bytes(nominal);
      s.working_set_bytes = z.bytes * (v.copies ? 2 : 1) + z.records * v.record_bytes;
      s.op = "record";
      s.ops_per_iter = static_cast<double>(z.records);
      s.bytes_per_op = static_cast<double>(z.bytes) / static_cast<double>(z.records);
      s.budget_ns = 50;  // ~45 B records at 1 GB/s
      s.note = std::string(v.note) + " (" + std::to_string(z.records) + " records, " + std::to_string(z.bytes) + " B)";
      add(s, [fn = v.fn, &z, count](benchmark::State& st, Probe& p) { fn(st, p, z, count); });
    }
  }
}

}  // namespace

CACHETICK_FAMILY(parse, "Zero-copy parsing: ASN CSV records as std::string, pmr, arena copies, views, an offset table") {
  const std::size_t KiB = 1024, MiB = 1024 * 1024;
  register_workload("parse", cp::Shape::asn, false, {1 * KiB, 64 * KiB, 2 * MiB, 256 * MiB});
  register_workload("count", cp::Shape::asn, true, {1 * KiB, 64 * KiB, 2 * MiB, 256 * MiB});
  register_workload("parse_long", cp::Shape::long_org, false, {64 * KiB, 2 * MiB});
  register_workload("parse_sso", cp::Shape::sso, false, {64 * KiB, 2 * MiB});
}
