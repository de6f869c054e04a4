// Every record type of the records family and of the layout family,
// described for the padding report (padding.h): `cachetick layout-report`
// prints padding_report(); tests/records_test.cpp checks the descriptions
// against hand-computed layouts.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/layout/layout.h"
#include "kernels/records/padding.h"
#include "kernels/records/records.h"

namespace cachetick::records {

inline std::vector<StructLayout> record_layouts() {
  namespace lay = cachetick::layout;
  std::vector<StructLayout> v;
  // The records family (records.h).
  v.push_back(describe<Loose>(
      "records::Loose",
      {CT_FIELD(Loose, active), CT_FIELD(Loose, updated_at), CT_FIELD(Loose, start),
       CT_FIELD(Loose, anycast), CT_FIELD(Loose, end), CT_FIELD(Loose, bogon),
       CT_FIELD(Loose, country), CT_FIELD(Loose, hosting), CT_FIELD(Loose, risk),
       CT_FIELD(Loose, vpn), CT_FIELD(Loose, asn), CT_FIELD(Loose, tor), CT_FIELD(Loose, org_id),
       CT_FIELD(Loose, verified), CT_FIELD(Loose, deprecated)}));
  v.push_back(describe<Reordered>(
      "records::Reordered",
      {CT_FIELD(Reordered, updated_at), CT_FIELD(Reordered, org_id), CT_FIELD(Reordered, risk),
       CT_FIELD(Reordered, start), CT_FIELD(Reordered, end), CT_FIELD(Reordered, asn),
       CT_FIELD(Reordered, country), CT_FIELD(Reordered, active), CT_FIELD(Reordered, anycast),
       CT_FIELD(Reordered, bogon), CT_FIELD(Reordered, hosting), CT_FIELD(Reordered, vpn),
       CT_FIELD(Reordered, tor), CT_FIELD(Reordered, verified), CT_FIELD(Reordered, deprecated)}));
  v.push_back(describe<BitFlags>(
      "records::BitFlags",
      {CT_FIELD(BitFlags, updated_at), CT_FIELD(BitFlags, org_id), CT_FIELD(BitFlags, risk),
       CT_FIELD(BitFlags, start), CT_FIELD(BitFlags, end), CT_FIELD(BitFlags, asn),
       CT_FIELD(BitFlags, country), CT_FIELD(BitFlags, flags)}));
  v.push_back(describe<Hot>("records::Hot",
                            {CT_FIELD(Hot, asn), CT_FIELD(Hot, country), CT_FIELD(Hot, flags)}));
  v.push_back(describe<Cold>("records::Cold",
                             {CT_FIELD(Cold, updated_at), CT_FIELD(Cold, org_id),
                              CT_FIELD(Cold, risk), CT_FIELD(Cold, start), CT_FIELD(Cold, end)}));
  v.push_back(describe<Packed>(
      "records::Packed",
      {CT_FIELD(Packed, active), CT_FIELD(Packed, updated_at), CT_FIELD(Packed, start),
       CT_FIELD(Packed, anycast), CT_FIELD(Packed, end), CT_FIELD(Packed, bogon),
       CT_FIELD(Packed, country), CT_FIELD(Packed, hosting), CT_FIELD(Packed, risk),
       CT_FIELD(Packed, vpn), CT_FIELD(Packed, asn), CT_FIELD(Packed, tor),
       CT_FIELD(Packed, org_id), CT_FIELD(Packed, verified), CT_FIELD(Packed, deprecated)}));
  v.push_back(describe<Bitfield>(
      "records::Bitfield",
      {CT_FIELD(Bitfield, updated_at), CT_FIELD(Bitfield, org_id), CT_FIELD(Bitfield, risk),
       CT_FIELD(Bitfield, start), CT_FIELD(Bitfield, end), CT_FIELD(Bitfield, asn),
       CT_FIELD(Bitfield, country), CT_FIELD(Bitfield, flags)}));
  v.push_back(describe<StdBitset>(
      "records::StdBitset",
      {CT_FIELD(StdBitset, updated_at), CT_FIELD(StdBitset, org_id), CT_FIELD(StdBitset, risk),
       CT_FIELD(StdBitset, start), CT_FIELD(StdBitset, end), CT_FIELD(StdBitset, asn),
       CT_FIELD(StdBitset, country), CT_FIELD(StdBitset, flags)}));
  // The layout family (kernels/layout/layout.h): the 64 B particle and the
  // 312 B player, and the parts they are made of.
  using R64 = lay::Record<lay::Cold64>;
  using R312 = lay::Record<lay::Cold312>;
  v.push_back(describe<R64>("layout::Record<Cold64>", {CT_FIELD(R64, hot), CT_FIELD(R64, cold)}));
  v.push_back(describe<R312>("layout::Record<Cold312>", {CT_FIELD(R312, hot), CT_FIELD(R312, cold)}));
  v.push_back(describe<lay::Hot>(
      "layout::Hot", {CT_FIELD(lay::Hot, x), CT_FIELD(lay::Hot, y), CT_FIELD(lay::Hot, z),
                      CT_FIELD(lay::Hot, vx), CT_FIELD(lay::Hot, vy), CT_FIELD(lay::Hot, vz)}));
  v.push_back(describe<lay::Cold64>(
      "layout::Cold64", {CT_FIELD(lay::Cold64, id), CT_FIELD(lay::Cold64, mass),
                         CT_FIELD(lay::Cold64, tag), CT_FIELD(lay::Cold64, flags),
                         CT_FIELD(lay::Cold64, owner)}));
  v.push_back(describe<lay::Cold312>(
      "layout::Cold312",
      {CT_FIELD(lay::Cold312, name), CT_FIELD(lay::Cold312, inventory),
       CT_FIELD(lay::Cold312, stats), CT_FIELD(lay::Cold312, guild),
       CT_FIELD(lay::Cold312, last_seen), CT_FIELD(lay::Cold312, flags),
       CT_FIELD(lay::Cold312, session)}));
  return v;
}

// The whole report, as `cachetick layout-report` prints it.
inline std::string padding_report() {
  std::string out =
      "Padding report: sizes, alignments and offsets from the compiler (offsetof, sizeof,\n"
      "alignof in kernels/records/layouts.h), holes between fields, tail padding, and the\n"
      "order by alignment (largest first) that needs the least.\n\n";
  for (const StructLayout& s : record_layouts()) out += format_report(s) + "\n";
  return out;
}

}  // namespace cachetick::records
