#include "zone/changeset.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "zone/overlay.h"
#include "zone/version_builder.h"
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

std::string record_wire(const Record& r) {
  std::string wire = r.owner;
  uint8_t f[10];
  put16(f, r.type);
  put16(f + 2, rrclass::IN);
  put32(f + 4, r.ttl);
  put16(f + 8, static_cast<uint16_t>(r.rdata.size()));
  wire.append(reinterpret_cast<char*>(f), 10);
  wire += r.rdata;
  return wire;
}

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

namespace {

// The node holding a name's records (an NSEC3 owner is found too), or nullptr.
const Node* records_at(const Zone& z, NameView name) {
  const Node* n = z.find_stored(name);
  return n && !n->empty() ? n : nullptr;
}

// The records of one name that differ: identical RRsets (the common case) cost one
// comparison of their packed RDATA and no allocation; only RRsets that differ are taken
// apart into records. SOA records are the changeset's own.
void diff_node(const Node* a, const Node* b, Changeset& c) {
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
  if (b)
    for (const auto& rb : b->rrsets) {
      if (rb.type == rrtype::SOA) continue;
      const RRset* ra = a ? a->find(rb.type) : nullptr;
      if (same(ra, &rb)) continue;
      missing(*b, rb, ra, c.added);
      if (ra) missing(*a, *ra, &rb, c.removed);
    }
  if (a)
    for (const auto& ra : a->rrsets)
      if (ra.type != rrtype::SOA && !(b && b->find(ra.type))) missing(*a, ra, nullptr, c.removed);
}

void overlay_names(const Zone& z, std::set<std::string>& out) {
  if (const Overlay* o = z.overlay())
    for (const DeltaTable* t : {&o->names, &o->nsec3_names})
      for (const auto& e : t->entries()) out.emplace(e.name);
}

}  // namespace

Changeset diff_zones(const Zone& from, const Zone& to) {
  Changeset c;
  auto soa_record = [](const Zone& z) {
    return Record{z.origin(), rrtype::SOA, z.soa().ttl,
                  std::string(std::string_view(z.soa().data).substr(2))};
  };
  c.soa_from = soa_record(from);
  c.soa_to = soa_record(to);
  if (&from.flat_base() == &to.flat_base()) {
    // Versions of one base differ only where their overlays hold names.
    std::set<std::string> names;
    overlay_names(from, names);
    overlay_names(to, names);
    for (const auto& n : names) diff_node(records_at(from, n), records_at(to, n), c);
    return c;
  }
  to.for_each_node([&](const Node& b) {
    if (!b.empty()) diff_node(records_at(from, b.name), &b, c);
  });
  from.for_each_node([&](const Node& a) {
    if (!a.empty() && !records_at(to, a.name)) diff_node(&a, nullptr, c);
  });
  return c;
}

namespace {

// The whole zone built again from base's records with the change applied: compaction, and
// the changes whose effects reach names they do not touch.
std::shared_ptr<const Zone> rebuild(const Zone& base, const Changeset& c,
                                    std::vector<ZoneError>& errors, const SourceLine& here) {
  ZoneBuilder b(base);
  b.remove(base.origin(), rrtype::SOA, base.soa().ttl, std::string_view(base.soa().data).substr(2));
  size_t missing = 0;
  for (const auto& r : c.removed)
    if (!b.remove(lowered(r.owner), r.type, r.ttl, r.rdata)) ++missing;
  if (missing) {
    errors.push_back({here, "removes " + std::to_string(missing) +
                                " record(s) that the zone does not have"});
    return nullptr;
  }
  b.add(c.soa_to.owner, rrtype::SOA, c.soa_to.ttl, c.soa_to.rdata);
  for (const auto& r : c.added) b.add(r.owner, r.type, r.ttl, r.rdata);
  return b.build(errors);
}

}  // namespace

std::shared_ptr<const Zone> apply_changeset(std::shared_ptr<const Zone> base, const Changeset& c,
                                            std::vector<ZoneError>& errors,
                                            const ApplyOptions& options) {
  SourceLine here{"changeset " + std::to_string(c.from_serial()) + "->" +
                      std::to_string(c.to_serial()),
                  0};
  if (!base) {
    errors.push_back({here, "there is no zone to apply it to"});
    return nullptr;
  }
  if (soa_serial(c.soa_from) != base->serial()) {
    errors.push_back({here, "starts at serial " + std::to_string(c.from_serial()) +
                                " but the zone is at " + std::to_string(base->serial())});
    return nullptr;
  }
  size_t limit = options.max_overlay ? options.max_overlay
                                     : default_overlay_limit(base->flat_base().node_count());
  // A version holds at least the names the change touches: past the bound, compact.
  bool compact = base->delta_size() + c.removed.size() + c.added.size() + 1 > limit;
  if (!options.full_build && !compact) {
    VersionBuilder vb(base, c, errors);
    switch (vb.run()) {
      case VersionBuilder::Outcome::built: return vb.result();
      case VersionBuilder::Outcome::refused: return nullptr;
      case VersionBuilder::Outcome::rebuild: break;
    }
  }
  return rebuild(*base, c, errors, here);
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

uint64_t content_hash(const Zone& z) { return z.content_hash(); }

Changeset serial_step(const Zone& z, uint32_t serial) {
  Changeset c;
  c.soa_from = Record{z.origin(), rrtype::SOA, z.soa().ttl,
                      std::string(std::string_view(z.soa().data).substr(2))};
  c.soa_to = c.soa_from;
  set_soa_serial(c.soa_to.rdata, serial);
  return c;
}

std::shared_ptr<const Zone> with_serial(std::shared_ptr<const Zone> z, uint32_t serial) {
  if (!z) return nullptr;
  Changeset c = serial_step(*z, serial);
  std::vector<ZoneError> errors;
  return apply_changeset(std::move(z), c, errors);
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
