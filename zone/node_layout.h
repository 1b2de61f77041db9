// How a node's records are laid out in memory, by ZoneBuilder (a flat zone) and by
// VersionBuilder (a node of a version) alike: RRsets by type (SOA, NS first, then by type
// number), and inside the RRSIG RRset the signatures grouped by the type they cover (in the
// order the types first appear, malformed ones last). Each covered type's signatures are
// then one slice of the RRSIG RRset: a node's Signatures point into it, nothing is stored
// twice.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "zone/wire/rdata.h"
#include "zone/wire/types.h"
#include "zone/zone.h"

namespace zone {

inline int type_rank(uint16_t t) {
  return t == wire::rrtype::SOA ? 0 : t == wire::rrtype::NS ? 1 : 2;
}

// The type an RRSIG's RDATA covers; -1 when it is too short to be one.
inline int rrsig_covered(std::string_view rd) {
  if (rd.size() < 18) return -1;
  return static_cast<uint8_t>(rd[0]) << 8 | static_cast<uint8_t>(rd[1]);
}

// Sorts `order` (indices of one node's records) into the layout above; type_of(i) and
// rdata_of(i) read record i.
template <class Index, class TypeOf, class RdataOf>
void layout_order(std::vector<Index>& order, const TypeOf& type_of, const RdataOf& rdata_of) {
  // Group of each RRSIG: the rank of its covered type's first appearance.
  std::vector<int> covered_seen;
  std::vector<std::pair<Index, int>> group;
  for (Index i : order) {
    int g = 0;
    if (type_of(i) == wire::rrtype::RRSIG) {
      int c = rrsig_covered(rdata_of(i));
      if (c < 0) {
        g = 1 << 20;
      } else {
        auto it = std::find(covered_seen.begin(), covered_seen.end(), c);
        g = static_cast<int>(it - covered_seen.begin());
        if (it == covered_seen.end()) covered_seen.push_back(c);
      }
    }
    group.emplace_back(i, g);
  }
  std::stable_sort(group.begin(), group.end(), [&](const auto& x, const auto& y) {
    uint16_t tx = type_of(x.first), ty = type_of(y.first);
    if (type_rank(tx) != type_rank(ty)) return type_rank(tx) < type_rank(ty);
    if (tx != ty) return tx < ty;
    return x.second < y.second;
  });
  for (size_t k = 0; k < group.size(); ++k) order[k] = group[k].first;
}

// One Signatures per covered type of an RRSIG RRset laid out as above, each a slice of it.
inline void split_signatures(const RRset& rrsigs, std::vector<Signatures>& out) {
  const char* base = rrsigs.data.data();
  size_t p = 0;
  int cur = -1;
  size_t start = 0;
  uint16_t cnt = 0;
  auto close = [&](size_t end) {
    if (cur >= 0 && cnt)
      out.push_back(Signatures{static_cast<uint16_t>(cur),
                               RRset{wire::rrtype::RRSIG, cnt, rrsigs.ttl,
                                     std::string_view(base + start, end - start)}});
    cnt = 0;
  };
  while (p + 2 <= rrsigs.data.size()) {
    uint16_t l = static_cast<uint16_t>(static_cast<uint8_t>(base[p]) << 8 |
                                       static_cast<uint8_t>(base[p + 1]));
    int c = rrsig_covered(rrsigs.data.substr(p + 2, l));
    if (c != cur) {
      close(p);
      cur = c;
      start = p;
    }
    ++cnt;
    p += 2 + l;
  }
  close(p);
}

}  // namespace zone
