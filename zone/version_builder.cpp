#include "zone/version_builder.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <numeric>

#include "zone/node_layout.h"
#include "zone/nsec3_params.h"
#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

namespace zone {

using namespace wire;

namespace {


// How ZoneBuilder::index_dnssec reads an apex: the zone denies with NSEC, with NSEC3 and
// these parameters, or not at all; `broken` when its NSEC3PARAM cannot be used.
struct DenialMode {
  Denial mode = Denial::none;
  bool broken = false;
  uint8_t algorithm = 0;
  uint16_t iterations = 0;
  std::string salt;
  bool operator==(const DenialMode&) const = default;
};

DenialMode denial_mode(const Node* apex) {
  DenialMode d;
  if (!apex) return d;
  const RRset* param = apex->find(rrtype::NSEC3PARAM);
  if (!apex->find(rrtype::DNSKEY) || (!param && !apex->find(rrtype::NSEC))) return d;
  if (!param) {
    d.mode = Denial::nsec;
    return d;
  }
  d.mode = Denial::nsec3;
  Nsec3Params pp;
  bool ok = false;
  param->for_each([&](std::string_view rd) {
    if (!ok && parse_nsec3(rd, true, pp)) ok = true;
  });
  if (!ok || pp.algorithm != 1) {
    d.broken = true;
    return d;
  }
  d.algorithm = pp.algorithm;
  d.iterations = pp.iterations;
  d.salt = std::string(pp.salt);
  return d;
}

// The entry an NSEC3 owner makes in the chain, as index_dnssec takes it: its label is a
// hash and one of its NSEC3 records has the chain's parameters.
bool chain_entry(const Node& n, const DenialMode& d, Nsec3Entry& e) {
  NameView k = n.name;
  if (k.empty()) return false;
  e = Nsec3Entry{};
  e.node = &n;
  if (!base32hex_decode(k.substr(1, static_cast<uint8_t>(k[0])), e.hash, kNsec3HashLen))
    return false;
  const RRset* set = n.find(rrtype::NSEC3);
  bool found = false;
  if (set)
    set->for_each([&](std::string_view rd) {
      Nsec3Params p;
      if (found || !parse_nsec3(rd, false, p)) return;
      if (p.algorithm == d.algorithm && p.iterations == d.iterations && p.salt == d.salt &&
          p.next.size() == kNsec3HashLen) {
        found = true;
        e.opt_out = (p.flags & 1) != 0;
      }
    });
  return found;
}

bool hash_less(const Nsec3Entry& a, const Nsec3Entry& b) {
  return std::memcmp(a.hash, b.hash, kNsec3HashLen) < 0;
}

// Not below a cut or a DNAME (the apex itself does not count): in the chain when signed.
bool authoritative(const Zone& z, NameView name) {
  for (NameView p = parent_name(name); p.size() > z.origin().size(); p = parent_name(p)) {
    const Node* n = z.find(p);
    if (n && (n->is_cut || n->has_dname)) return false;
  }
  return true;
}

// An NS set whose in-zone targets need glue (or must not be CNAMEs): the apex's and a cut's.
const RRset* checked_ns(const Node* n, NameView origin) {
  if (!n || !(n->is_cut || n->name == origin)) return nullptr;
  return n->find(rrtype::NS);
}

template <class F>
void for_each_in_zone_target(const RRset* ns, NameView origin, F&& f) {
  if (!ns) return;
  ns->for_each([&](std::string_view rd) {
    NameView t = rdata_target(rrtype::NS, rd);
    if (t.empty()) return;
    std::string lt = lowered(t);
    if (is_subdomain(lt, origin)) f(lt);
  });
}

// The innermost cut at or above `name` (below the apex), as ZoneBuilder::check finds it.
const Node* cut_above(const Zone& z, NameView name) {
  for (NameView p = name; p.size() > z.origin().size(); p = parent_name(p)) {
    const Node* n = z.find(p);
    if (n && n->is_cut) return n;
  }
  return nullptr;
}

}  // namespace

VersionBuilder::VersionBuilder(std::shared_ptr<const Zone> from, const Changeset& c,
                               std::vector<ZoneError>& errors)
    : from_(std::move(from)),
      v_(*from_),
      base_(from_->flat_base()),
      c_(c),
      errors_(errors),
      where_{"changeset " + std::to_string(c.from_serial()) + "->" +
                 std::to_string(c.to_serial()),
             0} {}

void VersionBuilder::error(std::string msg) { errors_.push_back({where_, std::move(msg)}); }

VersionBuilder::Outcome VersionBuilder::run() {
  if (!edit()) return Outcome::refused;
  if (!update_namespaces()) return Outcome::rebuild;
  make_version();
  Zone& z = *z_;
  const Node* apex = z.find(z.origin_);
  const RRset* soa = apex ? apex->find(rrtype::SOA) : nullptr;
  if (!soa) {
    error("no SOA record at the zone apex " + name_to_text(z.origin_));
    return Outcome::refused;
  }
  // A zone turning signed or unsigned, or another NSEC3PARAM: every name changes.
  if (!(denial_mode(&v_.apex()) == denial_mode(apex))) return Outcome::rebuild;
  if (flips_reach_unknown_names()) return Outcome::rebuild;
  update_ns_refs();
  if (z.denial_ == Denial::nsec && !update_nsec_chain()) return Outcome::rebuild;
  if (z.denial_ == Denial::nsec3 && !update_nsec3_chain()) return Outcome::rebuild;
  if (soa->count != 1) error("more than one SOA record at the apex " + name_to_text(z.origin_));
  if (!apex->find(rrtype::NS)) error("no NS records at the zone apex " + name_to_text(z.origin_));
  check_names();
  check_ns_targets();
  if (!errors_.empty()) return Outcome::refused;

  z.apex_ = apex;
  z.soa_ = soa;
  SoaFields f;
  parse_soa(std::string_view(soa->data).substr(2), f);
  z.serial_ = f.serial;
  z.negative_ttl_ = std::min(soa->ttl, f.minimum);
  uint64_t dh = 0;
  for (const Touched& t : touched_) {
    if (t.old_stored) dh -= node_content_hash(*t.old_stored);
    if (t.kind == Kind::regular) dh += node_content_hash(*lnames_[lname_ix_.find(t.name)->second].now);
    if (t.owner_block) dh += node_content_hash(t.owner_block->node);
  }
  z.overlay_->content_hash_delta += dh;
  out_ = std::shared_ptr<const Zone>(z_.release());
  return Outcome::built;
}

// Records: exactly what ZoneBuilder does with the old version's records, the changeset's
// removals and then its additions (the old SOA out, the new one in).
bool VersionBuilder::edit() {
  remove(v_.origin_, rrtype::SOA, v_.soa().ttl, std::string_view(v_.soa().data).substr(2));
  for (const auto& r : c_.removed)
    if (!remove(r.owner, r.type, r.ttl, r.rdata)) ++missing_;
  if (missing_) {
    error("removes " + std::to_string(missing_) + " record(s) that the zone does not have");
    return false;
  }
  add(c_.soa_to.owner, rrtype::SOA, c_.soa_to.ttl, c_.soa_to.rdata);
  for (const auto& r : c_.added) add(r.owner, r.type, r.ttl, r.rdata);
  return !early_error_;
}

VersionBuilder::Touched& VersionBuilder::touch(NameView name) {
  if (auto it = touched_ix_.find(name); it != touched_ix_.end()) return touched_[it->second];
  Touched& t = touched_.emplace_back();
  t.name.assign(name);
  t.old_stored = v_.find_stored(t.name);
  t.old_owner = v_.find_nsec3_owner(t.name);
  if (t.old_stored)
    for (const auto& set : t.old_stored->rrsets)
      set.for_each([&](std::string_view rd) { t.recs.push_back({set.type, set.ttl, rd}); });
  touched_ix_.emplace(t.name, touched_.size() - 1);
  return t;
}

bool VersionBuilder::remove(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata) {
  std::string name = lowered(owner);
  if (!is_subdomain(name, v_.origin_) || !v_.find_stored(name)) return false;
  Touched& t = touch(name);
  for (auto it = t.recs.begin(); it != t.recs.end(); ++it) {
    if (it->type != type) continue;
    if (it->ttl != ttl && type != rrtype::RRSIG) return false;  // the RRset has another TTL
    if (it->rdata != rdata) continue;
    t.recs.erase(it);
    --record_delta_;
    return true;
  }
  return false;
}

void VersionBuilder::add(NameView owner_in, uint16_t type, uint32_t ttl, std::string_view rdata) {
  std::string owner = lowered(owner_in.substr(0, std::min(owner_in.size(), kMaxNameLen)));
  if (!is_subdomain(owner, v_.origin_)) {
    error("record " + name_to_text(owner) + " " + type_name(type) + " is outside the zone " +
          name_to_text(v_.origin_));
    early_error_ = true;
    return;
  }
  if (is_meta_type(type)) {
    error("meta type " + type_name(type) + " cannot be in a zone");
    early_error_ = true;
    return;
  }
  if (rdata.size() > 0xFFFF) {
    error("RDATA of " + name_to_text(owner) + " " + type_name(type) + " longer than 65535 bytes");
    early_error_ = true;
    return;
  }
  Touched& t = touch(owner);
  uint32_t count = 0, set_ttl = 0;
  for (const auto& r : t.recs) {
    if (r.type != type) continue;
    if (r.rdata == rdata) return;  // duplicate record: RRsets have none (RFC 2181 5)
    set_ttl = r.ttl;
    ++count;
  }
  if (count > 0 && set_ttl != ttl && type != rrtype::RRSIG) {
    // One TTL per RRset (RFC 2181 5.2): the lower one, as a zone file load takes it.
    ttl = std::min(set_ttl, ttl);
    for (auto& r : t.recs)
      if (r.type == type) r.ttl = ttl;
  } else if (count > 0 && type == rrtype::RRSIG) {
    ttl = set_ttl;  // one RRSIG RRset per name: the first TTL is kept
  }
  if (count == 0xFFFF) {
    error("too many records in the " + type_name(type) + " RRset of " + name_to_text(owner));
    early_error_ = true;
    return;
  }
  t.recs.push_back({type, ttl, rdata});
  ++record_delta_;
}

VersionBuilder::LName& VersionBuilder::lname(NameView name) {
  if (auto it = lname_ix_.find(name); it != lname_ix_.end()) return lnames_[it->second];
  LName& l = lnames_.emplace_back();
  l.name.assign(name);
  l.old = v_.find(l.name);
  l.exists = l.old != nullptr;
  l.has_data = l.old && !l.old->empty();
  l.children = l.old ? l.old->children : 0;
  lname_ix_.emplace(l.name, lnames_.size() - 1);
  return l;
}

// A name appeared right below `parent`: it exists from now on (as an empty non-terminal
// when it has no records), and so do its ancestors.
bool VersionBuilder::add_child(NameView parent) {
  LName& l = lname(parent);
  ++l.children;
  if (l.exists) return true;
  l.exists = true;
  return parent == NameView(v_.origin_) || add_child(parent_name(parent));
}

// A name right below `parent` went: an empty non-terminal with nothing left below goes too.
bool VersionBuilder::remove_child(NameView parent) {
  LName& l = lname(parent);
  if (l.children == 0) return false;  // counts that do not add up: leave it to a full build
  if (--l.children || l.has_data || parent == NameView(v_.origin_)) return true;
  l.exists = false;
  return remove_child(parent_name(parent));
}

// Which namespace each touched name's records put it in (ZoneBuilder::freeze's rule: a name
// right below the apex holding only NSEC3 and RRSIG is an NSEC3 owner), and the empty
// non-terminals that appear or go with it.
bool VersionBuilder::update_namespaces() {
  const NameView origin(v_.origin_);
  for (size_t i = 0; i < touched_.size(); ++i) {
    Touched& t = touched_[i];
    if (t.recs.empty()) {
      t.kind = Kind::none;
    } else {
      bool nsec3 = false, only = true;
      for (const auto& r : t.recs) {
        if (r.type == rrtype::NSEC3) nsec3 = true;
        else if (r.type != rrtype::RRSIG) only = false;
      }
      bool below_apex = NameView(t.name) != origin && parent_name(t.name) == origin;
      t.kind = below_apex && nsec3 && only ? Kind::nsec3_owner : Kind::regular;
    }
    LName& l = lname(t.name);
    l.touched = static_cast<int>(i);
    bool data = t.kind == Kind::regular;
    if (data && !l.has_data) {
      l.has_data = true;
      if (!l.exists) {
        l.exists = true;
        if (NameView(t.name) != origin && !add_child(parent_name(t.name))) return false;
      }
    } else if (!data && l.has_data) {
      l.has_data = false;
      if (l.children == 0 && NameView(t.name) != origin) {
        l.exists = false;
        if (!remove_child(parent_name(t.name))) return false;
      }
    }
  }
  return true;
}

// One node with its own storage, laid out as ZoneBuilder::freeze lays out a node: RRsets by
// type (SOA, NS first), records in the order they came (zone/node_layout.h).
std::shared_ptr<const NodeBlock> VersionBuilder::make_block(NameView name,
                                                            const std::vector<WRec>& recs,
                                                            uint32_t children) const {
  std::vector<size_t> order(recs.size());
  std::iota(order.begin(), order.end(), 0);
  layout_order(order, [&](size_t x) { return recs[x].type; },
               [&](size_t x) { return std::string_view(recs[x].rdata); });
  size_t bytes = name.size();
  for (const auto& r : recs) bytes += 2 + r.rdata.size();
  auto b = std::make_shared<NodeBlock>();
  b->bytes.reset(new char[bytes ? bytes : 1]);
  char* a = b->bytes.get();
  std::memcpy(a, name.data(), name.size());
  size_t used = name.size();
  auto put = [&](std::string_view rd) {
    a[used] = static_cast<char>(rd.size() >> 8);
    a[used + 1] = static_cast<char>(rd.size());
    std::memcpy(a + used + 2, rd.data(), rd.size());
    used += 2 + rd.size();
  };
  for (size_t s = 0; s < order.size();) {
    const WRec& first = recs[order[s]];
    size_t e = s, start = used;
    while (e < order.size() && recs[order[e]].type == first.type) put(recs[order[e++]].rdata);
    b->rrsets.push_back(RRset{first.type, static_cast<uint16_t>(e - s), first.ttl,
                              std::string_view(a + start, used - start)});
    if (first.type == rrtype::RRSIG) split_signatures(b->rrsets.back(), b->sigs);
    s = e;
  }
  Node& n = b->node;
  n.name = NameView(a, name.size());
  n.rrsets = std::span<const RRset>(b->rrsets);
  n.sigs = std::span<const Signatures>(b->sigs);
  n.children = children;
  bool apex = n.name == NameView(v_.origin_);
  n.has_cname = n.find(rrtype::CNAME) != nullptr;
  n.has_dname = n.find(rrtype::DNAME) != nullptr;
  n.is_cut = !apex && n.find(rrtype::NS) != nullptr;
  return b;
}

// The old node with another child count: its data stays where it is.
std::shared_ptr<const NodeBlock> VersionBuilder::reshare(const LName& l) const {
  auto b = std::make_shared<NodeBlock>();
  b->node = *l.old;
  b->node.children = l.children;
  if (v_.overlay_)
    if (const DeltaEntry* e = v_.overlay_->names.find(l.name, NameIndex::hash(l.name)))
      b->shares = e->block;
  return b;
}

// The new version: the old one's overlay without the names that changed, plus their new
// nodes (or, for names the base has and the version has not, an entry saying so).
void VersionBuilder::make_version() {
  for (LName& l : lnames_) {
    if (!l.exists) continue;
    if (l.has_data && l.touched >= 0) l.block = make_block(l.name, touched_[l.touched].recs, l.children);
    else if (l.has_data) l.block = reshare(l);
    else l.block = make_block(l.name, {}, l.children);  // an empty non-terminal
    l.now = &l.block->node;
  }
  for (Touched& t : touched_)
    if (t.kind == Kind::nsec3_owner) t.owner_block = make_block(t.name, t.recs, 0);

  z_.reset(new Zone);
  Zone& z = *z_;
  z.origin_ = v_.origin_;
  z.source_ = v_.source_;
  z.overlay_ = std::make_unique<Overlay>();
  Overlay& o = *z.overlay_;
  if (v_.overlay_) {
    const Overlay& p = *v_.overlay_;
    o.base = p.base;
    o.nsec_added = p.nsec_added;
    o.nsec_gone = p.nsec_gone;
    o.nsec3_added = p.nsec3_added;
    o.nsec3_gone = p.nsec3_gone;
    o.ns_ref_delta = p.ns_ref_delta;
    o.content_hash_delta = p.content_hash_delta;
  } else {
    o.base = from_;
  }
  // The old version's tables as they are, then the names that changed, in place. A name
  // that goes keeps an entry saying so (even when the base never had it: until the next
  // compaction, that costs less than moving entries around).
  if (v_.overlay_) {
    o.names = v_.overlay_->names;
    o.nsec3_names = v_.overlay_->nsec3_names;
  }
  // A name that goes: the base's copy of the name will do; else one of its own.
  auto gone = [&](const DeltaTable* before, const Node* old) {
    const DeltaEntry* e = before ? before->find(old->name, NameIndex::hash(old->name)) : nullptr;
    if (!e || !e->block) return DeltaEntry{old->name, nullptr, nullptr};  // old is the base's
    auto b = make_block(old->name, {}, 0);
    return DeltaEntry{b->node.name, nullptr, b};
  };
  const Overlay* before = v_.overlay_.get();
  int64_t nodes = 0;
  for (const LName& l : lnames_) {
    nodes += (l.now ? 1 : 0) - (l.old ? 1 : 0);
    if (l.now) o.names.set({l.now->name, l.now, l.block});
    else if (l.old) o.names.set(gone(before ? &before->names : nullptr, l.old));
  }
  for (const Touched& t : touched_) {
    nodes += (t.owner_block ? 1 : 0) - (t.old_owner ? 1 : 0);
    if (t.owner_block) o.nsec3_names.set({t.owner_block->node.name, &t.owner_block->node, t.owner_block});
    else if (t.old_owner) o.nsec3_names.set(gone(before ? &before->nsec3_names : nullptr, t.old_owner));
  }
  z.denial_ = v_.denial_;
  if (v_.dnssec_) {  // what nsec3_hash() asks of the version itself
    z.dnssec_edit().nsec3_salt = v_.dnssec_->nsec3_salt;
    z.dnssec_edit().nsec3_iterations = v_.dnssec_->nsec3_iterations;
  }
  z.record_count_ = static_cast<size_t>(static_cast<int64_t>(v_.record_count_) + record_delta_);
  z.node_count_ = static_cast<size_t>(static_cast<int64_t>(v_.node_count_) + nodes);
}

// A cut or DNAME set or cleared changes what every name below it is (authoritative or
// not, glue or not): fine when every name below it in the new version is one this change
// knows (typically a delegation with its glue), else a full build works it out.
bool VersionBuilder::flips_reach_unknown_names() const {
  std::unordered_map<NameView, std::vector<const LName*>> kids;  // new version, by parent
  auto children_of = [&](NameView n) -> const std::vector<const LName*>& {
    static const std::vector<const LName*> none;
    if (kids.empty())
      for (const LName& k : lnames_)
        if (k.now && k.name.size() > v_.origin_.size()) kids[parent_name(k.name)].push_back(&k);
    auto it = kids.find(n);
    return it == kids.end() ? none : it->second;
  };
  std::vector<const LName*> todo;
  for (const LName& l : lnames_) {
    bool cut0 = l.old && l.old->is_cut, cut1 = l.now && l.now->is_cut;
    bool dn0 = l.old && l.old->has_dname, dn1 = l.now && l.now->has_dname;
    if (cut0 == cut1 && dn0 == dn1) continue;
    todo.assign(1, &l);
    while (!todo.empty()) {
      const LName* n = todo.back();
      todo.pop_back();
      uint32_t want = n->now ? n->now->children : 0;
      if (want == 0) continue;
      const auto& known = children_of(n->name);
      if (known.size() != want) return true;
      todo.insert(todo.end(), known.begin(), known.end());
    }
  }
  return false;
}

// The in-zone NS targets of the apex and the cuts, as a change to the base's count.
void VersionBuilder::update_ns_refs() {
  std::map<uint64_t, int32_t> d;
  const NameView origin(v_.origin_);
  for (const LName& l : lnames_) {
    for_each_in_zone_target(checked_ns(l.old, origin), origin,
                            [&](const std::string& t) { --d[NameIndex::hash(t)]; });
    for_each_in_zone_target(checked_ns(l.now, origin), origin,
                            [&](const std::string& t) { ++d[NameIndex::hash(t)]; });
  }
  auto& refs = z_->overlay_->ns_ref_delta;
  for (const auto& [h, n] : d) {
    if (n == 0) continue;
    auto it = std::lower_bound(refs.begin(), refs.end(), h,
                               [](const auto& e, uint64_t x) { return e.first < x; });
    if (it != refs.end() && it->first == h) {
      it->second += n;
      if (it->second == 0) refs.erase(it);
    } else {
      refs.insert(it, {h, n});
    }
  }
}

int64_t VersionBuilder::ns_refs(NameView target) const {
  uint64_t h = NameIndex::hash(target);
  const auto& base = base_.ns_target_refs();
  auto [lo, hi] = std::equal_range(base.begin(), base.end(), h);
  int64_t n = hi - lo;
  const auto& refs = z_->overlay_->ns_ref_delta;
  auto it = std::lower_bound(refs.begin(), refs.end(), h,
                             [](const auto& e, uint64_t x) { return e.first < x; });
  if (it != refs.end() && it->first == h) n += it->second;
  return n;
}

// NSEC: every authoritative name with data is in the chain and has its NSEC. The names that
// change leave the old chain and join the new one as they are now.
bool VersionBuilder::update_nsec_chain() {
  Zone& z = *z_;
  Overlay& o = *z.overlay_;
  const auto& bc = base_.dnssec_parts().nsec_chain;
  auto canon = [](const Node* a, const Node* b) { return canonical_compare(a->name, b->name) < 0; };
  std::vector<const Node*> drop, add;
  for (const LName& l : lnames_) {
    if (l.old && !l.old->empty() && l.old->find(rrtype::NSEC) && authoritative(v_, l.name))
      drop.push_back(l.old);
    if (!l.now || l.now->empty() || !authoritative(z, l.name)) continue;
    if (l.now->find(rrtype::NSEC))
      add.push_back(l.now);
    else
      error("name " + name_to_text(l.name) + " has data but no NSEC in a signed zone");
  }
  std::vector<char> dead(o.nsec_added.size(), 0);
  std::vector<uint32_t> gone;
  for (const Node* d : drop) {
    auto it = std::lower_bound(o.nsec_added.begin(), o.nsec_added.end(), d, canon);
    if (it != o.nsec_added.end() && *it == d) {
      dead[it - o.nsec_added.begin()] = 1;
      continue;
    }
    auto bi = std::lower_bound(bc.begin(), bc.end(), d, canon);
    if (bi == bc.end() || *bi != d) return false;  // not where the old version has it
    gone.push_back(static_cast<uint32_t>(bi - bc.begin()));
  }
  std::vector<const Node*> chain;
  chain.reserve(o.nsec_added.size() + add.size());
  for (size_t i = 0; i < o.nsec_added.size(); ++i)
    if (!dead[i]) chain.push_back(o.nsec_added[i]);
  std::sort(add.begin(), add.end(), canon);
  size_t mid = chain.size();
  chain.insert(chain.end(), add.begin(), add.end());
  std::inplace_merge(chain.begin(), chain.begin() + static_cast<ptrdiff_t>(mid), chain.end(), canon);
  o.nsec_added = std::move(chain);
  for (uint32_t g : gone) o.nsec_gone.push_back({g, -1});
  std::sort(o.nsec_gone.begin(), o.nsec_gone.end(),
            [](const ChainGap& a, const ChainGap& b) { return a.index < b.index; });
  Overlay::link_gaps(o.nsec_gone);
  return true;
}

// NSEC3: owners that change leave the chain and join it as they are now; every name that
// changes is checked against the new chain. A removed NSEC3 whose name is not part of the
// change, or a span losing its opt-out, reaches names this change does not know of: those go
// to a full build.
bool VersionBuilder::update_nsec3_chain() {
  Zone& z = *z_;
  Overlay& o = *z.overlay_;
  const DenialMode mode = denial_mode(z.find(z.origin_));
  const auto& bc = base_.dnssec_parts().nsec3_chain;
  struct Event {
    bool had = false, has = false;
    Nsec3Entry old{}, now{};
  };
  std::vector<Event> events;
  std::vector<Nsec3Entry> add;
  std::vector<char> dead(o.nsec3_added.size(), 0);
  std::vector<uint32_t> gone;
  for (const Touched& t : touched_) {
    Event ev;
    ev.had = t.old_owner && chain_entry(*t.old_owner, mode, ev.old);
    ev.has = t.owner_block && chain_entry(t.owner_block->node, mode, ev.now);
    if (!ev.had && !ev.has) continue;
    if (ev.had) {
      auto [lo, hi] = std::equal_range(o.nsec3_added.begin(), o.nsec3_added.end(), ev.old, hash_less);
      auto it = std::find_if(lo, hi, [&](const Nsec3Entry& e) { return e.node == ev.old.node; });
      if (it != hi) {
        dead[it - o.nsec3_added.begin()] = 1;
      } else {
        auto [blo, bhi] = std::equal_range(bc.begin(), bc.end(), ev.old, hash_less);
        auto bi = std::find_if(blo, bhi, [&](const Nsec3Entry& e) { return e.node == ev.old.node; });
        if (bi == bhi) return false;  // not where the old version has it
        gone.push_back(static_cast<uint32_t>(bi - bc.begin()));
      }
    }
    if (ev.has) add.push_back(ev.now);
    events.push_back(ev);
  }
  std::vector<Nsec3Entry> chain;
  chain.reserve(o.nsec3_added.size() + add.size());
  for (size_t i = 0; i < o.nsec3_added.size(); ++i)
    if (!dead[i]) chain.push_back(o.nsec3_added[i]);
  std::sort(add.begin(), add.end(), hash_less);
  size_t mid = chain.size();
  chain.insert(chain.end(), add.begin(), add.end());
  std::inplace_merge(chain.begin(), chain.begin() + static_cast<ptrdiff_t>(mid), chain.end(), hash_less);
  o.nsec3_added = std::move(chain);
  for (uint32_t g : gone) o.nsec3_gone.push_back({g, -1});
  std::sort(o.nsec3_gone.begin(), o.nsec3_gone.end(),
            [](const ChainGap& a, const ChainGap& b) { return a.index < b.index; });
  Overlay::link_gaps(o.nsec3_gone);

  if (bc.size() - o.nsec3_gone.size() + o.nsec3_added.size() == 0) {
    error("NSEC3PARAM without an NSEC3 chain with its parameters");
    return true;
  }
  // The hashes of the names this change knows: a removed NSEC3 must have been one of theirs.
  std::vector<std::array<uint8_t, kNsec3HashLen>> known;
  known.reserve(lnames_.size());
  for (const LName& l : lnames_) {
    std::array<uint8_t, kNsec3HashLen> h;
    z.nsec3_hash(l.name, h.data());
    known.push_back(h);
  }
  for (const Event& ev : events) {
    bool match;
    if (ev.had && !(ev.has && std::memcmp(ev.old.hash, ev.now.hash, kNsec3HashLen) == 0)) {
      bool ours = std::any_of(known.begin(), known.end(), [&](const auto& h) {
        return std::memcmp(h.data(), ev.old.hash, kNsec3HashLen) == 0;
      });
      if (!ours) return false;
      // The span it covered now belongs to the NSEC3 before it.
      const Nsec3Entry* cover = z.nsec3_for(ev.old.hash, match);
      if (ev.old.opt_out && cover && !cover->opt_out) return false;
    }
    if (ev.has && !(ev.had && std::memcmp(ev.old.hash, ev.now.hash, kNsec3HashLen) == 0)) {
      // It takes over part of the span of the NSEC3 before it in the old chain.
      const Nsec3Entry* was = v_.nsec3_for(ev.now.hash, match);
      if (was && was->opt_out && !ev.now.opt_out) return false;
    }
    if (ev.had && ev.has && ev.old.opt_out && !ev.now.opt_out) return false;
  }
  // Every authoritative name that changes: its own NSEC3, or an opt-out span over it when it
  // is an insecure delegation or an empty non-terminal (RFC 5155 7.1).
  for (size_t i = 0; i < lnames_.size(); ++i) {
    const LName& l = lnames_[i];
    if (!l.now || l.now->empty() || !authoritative(z, l.name)) continue;
    bool match;
    const Nsec3Entry* cover = z.nsec3_for(known[i].data(), match);
    if (match) continue;
    bool insecure_cut = l.now->is_cut && !l.now->find(rrtype::DS);
    if (cover && cover->opt_out && insecure_cut) continue;
    error("name " + name_to_text(l.name) + " has data but no NSEC3 in the chain of the NSEC3PARAM");
  }
  return true;
}

// ZoneBuilder::check's rules for one name, for every name whose node changed.
void VersionBuilder::check_names() {
  const Zone& z = *z_;
  const NameView origin(z.origin_);
  for (const LName& l : lnames_) {
    if (!l.now || l.now->empty()) continue;
    const Node& n = *l.now;
    NameView k = l.name;
    const std::string at = name_to_text(k);
    bool apex = k == origin;
    if (!apex && n.find(rrtype::SOA)) error("SOA record at " + at + ", below the zone apex");
    if (n.has_cname) {
      if (n.find(rrtype::CNAME)->count > 1) error("more than one CNAME record at " + at);
      for (const auto& r : n.rrsets)
        if (r.type != rrtype::CNAME && r.type != rrtype::RRSIG && r.type != rrtype::NSEC)
          error(type_name(r.type) + " record beside a CNAME at " + at);
    }
    if (n.has_dname && n.find(rrtype::DNAME)->count > 1) error("more than one DNAME record at " + at);
    if (apex) continue;
    for (NameView p = parent_name(k); p.size() >= origin.size(); p = parent_name(p)) {
      const Node* anc = z.find(p);
      if (anc && anc->has_dname) {
        error("name " + at + " is below the DNAME at " + name_to_text(p));
        break;
      }
      if ((anc && anc->is_cut) || p.size() == origin.size()) break;
    }
  }
}

// NS targets (RFC 2181 10.3; glue for a target inside a delegation): every NS set that
// changed is checked whole; every name that changed is checked as the target of the NS sets
// that name it, found through the count of references the zone keeps.
void VersionBuilder::check_ns_targets() {
  const Zone& z = *z_;
  const NameView origin(z.origin_);
  auto problem = [&](NameView t, const Node*& cut) {
    const Node* tn = z.find(t);
    cut = cut_above(z, t);
    if (cut) return !tn || (!tn->find(rrtype::A) && !tn->find(rrtype::AAAA));
    return tn && tn->has_cname;
  };
  auto report = [&](NameView t, NameView owner, const Node* cut) {
    if (cut)
      error("NS " + name_to_text(t) + " of " + name_to_text(owner) + " is inside the delegation " +
            name_to_text(cut->name) + " and has no glue (A/AAAA) record");
    else
      error("NS " + name_to_text(t) + " of " + name_to_text(owner) + " is a CNAME (RFC 2181 10.3)");
  };
  std::unordered_map<std::string, int64_t> known;  // references from the NS sets that changed
  for (const LName& l : lnames_)
    for_each_in_zone_target(checked_ns(l.now, origin), origin, [&](const std::string& t) {
      ++known[t];
      const Node* cut;
      if (problem(t, cut)) report(t, l.name, cut);
    });
  for (const LName& l : lnames_) {
    const Node* cut;
    if (!problem(l.name, cut)) continue;
    auto it = known.find(l.name);
    if (ns_refs(l.name) <= (it == known.end() ? 0 : it->second)) continue;
    // Named by an NS set this change did not touch: find which, for the message (the
    // enclosing cut's, usually; else any).
    const Node* owner = nullptr;
    auto names = [&](const Node* n) {
      if (!n || lname_ix_.count(n->name)) return false;
      bool hit = false;
      for_each_in_zone_target(checked_ns(n, origin), origin,
                              [&](const std::string& t) { hit = hit || t == l.name; });
      return hit;
    };
    if (names(cut)) owner = cut;
    if (!owner)
      z.for_each_node([&](const Node& n) {
        if (!owner && names(&n)) owner = &n;
      });
    if (owner) report(l.name, owner->name, cut);
  }
}

}  // namespace zone
