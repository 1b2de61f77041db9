#include "zone/changeset.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "zone/wire/message.h"
#include "zone/wire/rdata.h"

namespace zone {

using namespace wire;

namespace {

uint32_t soa_serial(const Record& r) {
  SoaFields f;
  return parse_soa(r.rdata, f) ? f.serial : 0;
}

// Records keyed for set operations (TTL is part of the record: a TTL change is a
// removal plus an addition, as IXFR carries it).
using Key = std::tuple<std::string, uint16_t, uint32_t, std::string>;
Key key_of(const Record& r) { return {r.owner, r.type, r.ttl, r.rdata}; }

void append_record(std::string& out, const Record& r) {
  out += r.owner;
  uint8_t f[8];
  put16(f, r.type);
  put32(f + 2, r.ttl);
  put16(f + 6, static_cast<uint16_t>(r.rdata.size()));
  out.append(reinterpret_cast<char*>(f), 8);
  out += r.rdata;
}

bool read_record(std::string_view d, size_t& p, Record& r) {
  size_t n = name_length(reinterpret_cast<const uint8_t*>(d.data()) + p, d.size() - p);
  if (n == 0 || p + n + 8 > d.size()) return false;
  r.owner.assign(d.substr(p, n));
  p += n;
  auto f = reinterpret_cast<const uint8_t*>(d.data()) + p;
  r.type = get16(f);
  r.ttl = get32(f + 2);
  uint16_t l = get16(f + 6);
  p += 8;
  if (p + l > d.size()) return false;
  r.rdata.assign(d.substr(p, l));
  p += l;
  return true;
}

}  // namespace

uint32_t Changeset::from_serial() const { return soa_serial(soa_from); }
uint32_t Changeset::to_serial() const { return soa_serial(soa_to); }

std::vector<Record> zone_records(const Zone& z) {
  std::vector<Record> out;
  out.reserve(z.record_count());
  auto push_node = [&](const Node& n, bool soa) {
    for (const auto& set : n.rrsets) {
      if ((set.type == rrtype::SOA) != soa) continue;
      set.for_each([&](std::string_view rd) {
        out.push_back(Record{std::string(n.name), set.type, n.record_ttl(set, rd), std::string(rd)});
      });
    }
  };
  push_node(z.apex(), true);
  push_node(z.apex(), false);
  z.for_each_node([&](const Node& n) {
    if (&n != &z.apex()) push_node(n, false);
  });
  return out;
}

Changeset diff_zones(const Zone& from, const Zone& to) {
  // Node by node: identical RRsets (the common case) cost one comparison of their packed
  // RDATA and no allocation; only RRsets that differ are taken apart into records.
  Changeset c;
  auto soa_record = [](const Zone& z) {
    return Record{z.origin(), rrtype::SOA, z.soa().ttl,
                  std::string(std::string_view(z.soa().data).substr(2))};
  };
  c.soa_from = soa_record(from);
  c.soa_to = soa_record(to);
  auto same = [](const RRset* x, const RRset* y) {
    return x && y && x->ttl == y->ttl && x->data == y->data;
  };
  // Records of `mine` that `other` (same type) lacks, with the TTL counting as part of them.
  auto missing = [](const Node& n, const RRset& mine, const RRset* other, std::vector<Record>& out) {
    mine.for_each([&](std::string_view rd) {
      if (!(other && other->ttl == mine.ttl && other->contains(rd)))
        out.push_back(Record{std::string(n.name), mine.type, n.record_ttl(mine, rd), std::string(rd)});
    });
  };
  to.for_each_node([&](const Node& b) {
    const Node* a = from.find_stored(b.name);
    for (const auto& rb : b.rrsets) {
      if (rb.type == rrtype::SOA) continue;
      const RRset* ra = a ? a->find(rb.type) : nullptr;
      if (same(ra, &rb)) continue;
      missing(b, rb, ra, c.added);
      if (ra) missing(*a, *ra, &rb, c.removed);
    }
    if (a)
      for (const auto& ra : a->rrsets)
        if (ra.type != rrtype::SOA && !b.find(ra.type)) missing(*a, ra, nullptr, c.removed);
  });
  from.for_each_node([&](const Node& a) {
    if (to.find_stored(a.name)) return;
    for (const auto& ra : a.rrsets)
      if (ra.type != rrtype::SOA) missing(a, ra, nullptr, c.removed);
  });
  return c;
}

std::shared_ptr<const Zone> apply_changeset(const Zone& base, const Changeset& c,
                                            std::vector<ZoneError>& errors) {
  auto here = [&](std::string msg) {
    errors.push_back({SourceLine{"changeset " + std::to_string(c.from_serial()) + "->" +
                                     std::to_string(c.to_serial()),
                                 0},
                      std::move(msg)});
  };
  if (soa_serial(c.soa_from) != base.serial()) {
    here("starts at serial " + std::to_string(c.from_serial()) + " but the zone is at " +
         std::to_string(base.serial()));
    return nullptr;
  }
  // Start from the base's RRsets (copied whole), take out what goes, add what comes.
  ZoneBuilder b(base);
  b.remove(base.origin(), rrtype::SOA, base.soa().ttl, std::string_view(base.soa().data).substr(2));
  size_t missing = 0;
  for (const auto& r : c.removed)
    if (!b.remove(r.owner, r.type, r.ttl, r.rdata)) ++missing;
  if (missing) {
    here("removes " + std::to_string(missing) + " record(s) that the zone does not have");
    return nullptr;
  }
  b.add(c.soa_to.owner, rrtype::SOA, c.soa_to.ttl, c.soa_to.rdata);
  for (const auto& r : c.added) b.add(r.owner, r.type, r.ttl, r.rdata);
  return b.build(errors);
}

Changeset condense(const std::vector<Changeset>& chain) {
  Changeset out;
  if (chain.empty()) return out;
  out.soa_from = chain.front().soa_from;
  out.soa_to = chain.back().soa_to;
  // Net effect: a record removed then added again cancels, and vice versa.
  std::map<Key, int> net;  // -1 removed, +1 added
  std::map<Key, Record> recs;
  for (const auto& c : chain) {
    for (const auto& r : c.removed) {
      auto k = key_of(r);
      recs.emplace(k, r);
      net[k] -= 1;
    }
    for (const auto& r : c.added) {
      auto k = key_of(r);
      recs.emplace(k, r);
      net[k] += 1;
    }
  }
  for (const auto& [k, v] : net) {
    if (v < 0) out.removed.push_back(recs[k]);
    if (v > 0) out.added.push_back(recs[k]);
  }
  return out;
}

namespace {
// One record's share of content_hash: a sum of per-record hashes is independent of the
// order records are visited in, and can be updated by a changeset.
uint64_t record_hash(const Record& r) {
  std::string rd = r.rdata;
  if (r.type == rrtype::SOA) set_soa_serial(rd, 0);  // what a serial policy changes
  std::string k = r.owner;
  k.append(reinterpret_cast<const char*>(&r.type), 2);
  k.append(reinterpret_cast<const char*>(&r.ttl), 4);
  k += rd;
  return std::hash<std::string>{}(k) * 0x9E3779B97F4A7C15ull + 1;
}
}  // namespace

uint64_t content_hash(const Zone& z) {
  uint64_t h = 0;
  for (const auto& r : zone_records(z)) h += record_hash(r);
  return h;
}

uint64_t content_hash_after(uint64_t before, const Changeset& c) {
  uint64_t h = before - record_hash(c.soa_from) + record_hash(c.soa_to);
  for (const auto& r : c.removed) h -= record_hash(r);
  for (const auto& r : c.added) h += record_hash(r);
  return h;
}

std::shared_ptr<const Zone> with_serial(const Zone& z, uint32_t serial) {
  ZoneBuilder b(z.origin(), z.source());
  for (auto r : zone_records(z)) {
    if (r.type == rrtype::SOA) set_soa_serial(r.rdata, serial);
    b.add(r.owner, r.type, r.ttl, r.rdata);
  }
  std::vector<ZoneError> errors;
  return b.build(errors);
}

std::string serialize(const Changeset& c) {
  std::string out;
  append_record(out, c.soa_from);
  append_record(out, c.soa_to);
  uint8_t n[8];
  put32(n, static_cast<uint32_t>(c.removed.size()));
  put32(n + 4, static_cast<uint32_t>(c.added.size()));
  out.append(reinterpret_cast<char*>(n), 8);
  for (const auto& r : c.removed) append_record(out, r);
  for (const auto& r : c.added) append_record(out, r);
  return out;
}

bool deserialize(std::string_view d, Changeset& out) {
  size_t p = 0;
  out = Changeset{};
  if (!read_record(d, p, out.soa_from) || !read_record(d, p, out.soa_to)) return false;
  if (p + 8 > d.size()) return false;
  uint32_t nr = get32(reinterpret_cast<const uint8_t*>(d.data()) + p);
  uint32_t na = get32(reinterpret_cast<const uint8_t*>(d.data()) + p + 4);
  p += 8;
  for (uint32_t i = 0; i < nr; ++i) {
    Record r;
    if (!read_record(d, p, r)) return false;
    out.removed.push_back(std::move(r));
  }
  for (uint32_t i = 0; i < na; ++i) {
    Record r;
    if (!read_record(d, p, r)) return false;
    out.added.push_back(std::move(r));
  }
  return p == d.size();
}

}  // namespace zone
