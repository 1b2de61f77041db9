#include "zone/zone.h"

#include <algorithm>
#include <cstring>

#include <malloc.h>

#include "zone/node_layout.h"
#include "zone/nsec3_params.h"
#include "zone/overlay.h"
#include "zone/wire/types.h"

namespace zone {

const Zone::DnssecParts Zone::kNoDnssec{};

using namespace wire;

namespace {
uint64_t line_hash(NameView owner, uint16_t type) {
  return std::hash<std::string_view>{}(owner) ^ (static_cast<uint64_t>(type) * 0x9E3779B97F4A7C15ull);
}

}  // namespace

void NameIndex::reset(size_t entries) {
  if (entries == 0) {  // e.g. the NSEC3 index of an unsigned zone: nothing allocated
    slots_ = {};
    mask_ = used_ = 0;
    return;
  }
  size_t n = 4;  // a zone of a few names (thousands of them on one server) takes 8 slots
  while (n * 7 < entries * 10 + 10) n <<= 1;
  slots_.assign(n, 0);
  mask_ = n - 1;
  used_ = 0;
}

size_t Zone::memory_bytes() const {
  const DnssecParts& d = dnssec_parts();
  size_t own = sizeof(Zone) + arena_size_ + nodes_.capacity() * sizeof(Node) +
               rrsets_.capacity() * sizeof(RRset) + index_.bytes() +
               ns_refs_.capacity() * sizeof(uint64_t) +
               (dnssec_ ? sizeof(DnssecParts) + d.sigs.capacity() * sizeof(Signatures) +
                              d.nsec3_index.bytes() + d.nsec_chain.capacity() * sizeof(const Node*) +
                              d.nsec3_chain.capacity() * sizeof(Nsec3Entry) + d.nsec3_salt.capacity()
                        : 0);
  return overlay_ ? own + overlay_->bytes() + overlay_->base->memory_bytes() : own;
}

ZoneBuilder::ZoneBuilder(std::string origin_lower, std::string source)
    : origin_(std::move(origin_lower)), source_(std::move(source)) {}

ZoneBuilder::ZoneBuilder(const Zone& base) : ZoneBuilder(base.origin(), base.source()) {
  recs_.reserve(base.record_count());
  bnodes_.reserve(base.node_count());
  base.for_each_node([&](const Node& n) {
    if (n.rrsets.empty()) return;  // empty non-terminals are derived again by build()
    uint32_t idx = node_for(n.name, true);
    for (const auto& set : n.rrsets)
      set.for_each([&](std::string_view rd) { append(idx, set.type, set.ttl, rd); });
  });
}

void ZoneBuilder::reserve_for_text(size_t text_bytes) {
  // A record line is rarely under 20 bytes, a name with its records rarely under 30.
  size_t records = text_bytes / 20, nodes = text_bytes / 30;
  recs_.reserve(records);
  bnodes_.reserve(nodes);
  rdata_.reserve(text_bytes / 2);
  names_.reserve(text_bytes / 2);
  if (bindex_.size() == 0) bindex_.reset(nodes);
}

uint32_t ZoneBuilder::node_for(NameView owner, bool create) {
  uint64_t h = NameIndex::hash(owner);
  int64_t i = bindex_.find(owner, h, BNameOf{this});
  if (i >= 0) return static_cast<uint32_t>(i);
  if (!create) return kNone;
  BNode n{names_.size(), static_cast<uint8_t>(owner.size())};
  names_.append(owner);
  uint32_t idx = static_cast<uint32_t>(bnodes_.size());
  bnodes_.push_back(n);
  bindex_.insert(h, idx, BNameOf{this});
  return idx;
}

bool ZoneBuilder::remove(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata) {
  uint32_t idx = node_for(owner, false);
  if (idx == kNone) return false;
  for (uint32_t ri = bnodes_[idx].first; ri != kNone; ri = recs_[ri].next) {
    BRec& r = recs_[ri];
    if (r.dead || r.type != type) continue;
    if (r.ttl != ttl && type != rrtype::RRSIG) return false;  // the RRset has another TTL
    if (brdata(r) != rdata) continue;
    r.dead = true;
    --records_;
    return true;
  }
  return false;
}

void ZoneBuilder::remember_line(NameView owner, uint16_t type, const SourceLine& where) {
  uint32_t f = 0;
  if (!files_.empty() && files_.back() == where.file) {
    f = static_cast<uint32_t>(files_.size() - 1);  // the common case: same file as before
  } else {
    auto it = std::find(files_.begin(), files_.end(), where.file);
    if (it == files_.end()) it = files_.insert(files_.end(), where.file);
    f = static_cast<uint32_t>(it - files_.begin());
  }
  line_refs_.push_back({line_hash(owner, type), f, static_cast<uint32_t>(where.line)});
  refs_sorted_ = false;
}

SourceLine ZoneBuilder::line_of(NameView owner, uint16_t type) {
  if (!refs_sorted_) {
    std::stable_sort(line_refs_.begin(), line_refs_.end());
    refs_sorted_ = true;
  }
  LineRef probe{line_hash(owner, type), 0, 0};
  auto it = std::lower_bound(line_refs_.begin(), line_refs_.end(), probe);
  if (it != line_refs_.end() && it->key == probe.key) return SourceLine{files_[it->file], static_cast<int>(it->line)};
  return SourceLine{source_, 0};
}

void ZoneBuilder::add(NameView owner_in, uint16_t type, uint32_t ttl, std::string_view rdata,
                      const SourceLine& where) {
  char buf[kMaxNameLen];
  size_t olen = std::min(owner_in.size(), kMaxNameLen);
  std::memcpy(buf, owner_in.data(), olen);
  lower_name(reinterpret_cast<uint8_t*>(buf), olen);
  NameView owner(buf, olen);
  if (!is_subdomain(owner, origin_)) {
    early_errors_.push_back(
        {where, "record " + name_to_text(owner) + " " + type_name(type) +
                    " is outside the zone " + name_to_text(origin_)});
    return;
  }
  if (is_meta_type(type)) {
    early_errors_.push_back({where, "meta type " + type_name(type) + " cannot be in a zone"});
    return;
  }
  if (rdata.size() > 0xFFFF) {
    early_errors_.push_back({where, "RDATA longer than 65535 bytes"});
    return;
  }
  uint32_t idx = node_for(owner, true);
  // The RRset so far: its TTL, size, and whether this record is already in it.
  uint32_t count = 0, set_ttl = 0;
  for (uint32_t ri = bnodes_[idx].first; ri != kNone; ri = recs_[ri].next) {
    const BRec& r = recs_[ri];
    if (r.dead || r.type != type) continue;
    if (brdata(r) == rdata) return;  // duplicate record: RFC 2181 5 says sets have no dups
    set_ttl = r.ttl;
    ++count;
  }
  if (count == 0) {
    remember_line(owner, type, where);
  } else if (set_ttl != ttl && type != rrtype::RRSIG) {
    uint32_t use = std::min(set_ttl, ttl);
    early_warnings_.push_back({where, "TTL " + std::to_string(ttl) + " of " +
                                          name_to_text(owner) + " " + type_name(type) +
                                          " differs from the RRset's TTL " +
                                          std::to_string(set_ttl) + "; using " +
                                          std::to_string(use)});
    for (uint32_t ri = bnodes_[idx].first; ri != kNone; ri = recs_[ri].next)
      if (recs_[ri].type == type) recs_[ri].ttl = use;
    ttl = use;
  } else if (count > 0 && type == rrtype::RRSIG) {
    ttl = set_ttl;  // one RRSIG RRset per name: the first TTL is kept
  }
  if (count == 0xFFFF) {
    early_errors_.push_back({where, "too many records in one RRset"});
    return;
  }
  append(idx, type, ttl, rdata);
}

void ZoneBuilder::append(uint32_t node, uint16_t type, uint32_t ttl, std::string_view rdata) {
  uint32_t ri = static_cast<uint32_t>(recs_.size());
  recs_.push_back(BRec{rdata_.size(), kNone, ttl, type, static_cast<uint16_t>(rdata.size())});
  rdata_.append(rdata);
  BNode& b = bnodes_[node];
  if (b.last == kNone) b.first = ri;
  else recs_[b.last].next = ri;
  b.last = ri;
  ++records_;
}

namespace {
}  // namespace

// Turns the collected records into the zone's arrays: one arena for names and RDATA, nodes
// in the order their names were first added (NSEC3 owners last), RRsets by type.
void ZoneBuilder::freeze(Zone& z) {
  std::vector<uint32_t> order;  // builder nodes to keep, lookup namespace first
  std::vector<uint8_t> keep(bnodes_.size(), 0);
  std::vector<uint8_t> live(bnodes_.size(), 0);
  size_t bytes = 0;
  for (const BRec& r : recs_)
    if (!r.dead) bytes += 2 + r.rd_len;
  for (uint32_t i = 0; i < bnodes_.size(); ++i)
    for (uint32_t ri = bnodes_[i].first; ri != kNone; ri = recs_[ri].next)
      if (!recs_[ri].dead) {
        live[i] = 1;
        break;
      }

  // NSEC3 owners (hashed names right below the apex holding only NSEC3 and its RRSIGs) are
  // kept apart: they are not names of the zone and must not create any (RFC 5155 7.2.8).
  for (uint32_t i = 0; i < bnodes_.size(); ++i) {
    if (!live[i]) continue;
    NameView name = bname(bnodes_[i]);
    if (name == NameView(origin_) || parent_name(name) != NameView(origin_)) continue;
    bool nsec3 = false, only = true;
    for (uint32_t ri = bnodes_[i].first; ri != kNone; ri = recs_[ri].next) {
      if (recs_[ri].dead) continue;
      if (recs_[ri].type == rrtype::NSEC3) nsec3 = true;
      else if (recs_[ri].type != rrtype::RRSIG) only = false;
    }
    bnodes_[i].nsec3_owner = nsec3 && only;
  }

  // Empty non-terminals: every ancestor of a name with data, down from the apex, exists.
  // Each name kept counts once as a child of its parent.
  size_t n_before = bnodes_.size();
  std::vector<uint32_t> children(bnodes_.size(), 0);
  std::vector<std::pair<uint32_t, uint32_t>> ent_twins;  // NSEC3 owner -> its ENT
  for (uint32_t i = 0; i < n_before; ++i) {
    if (!live[i] || bnodes_[i].nsec3_owner || keep[i]) continue;
    keep[i] = 1;
    char buf[kMaxNameLen];
    NameView full = bname(bnodes_[i]);
    std::memcpy(buf, full.data(), full.size());
    NameView p(buf, full.size());
    while (p.size() > origin_.size()) {
      p = parent_name(p);
      uint32_t j = node_for(p, true);
      if (bnodes_[j].nsec3_owner) {
        // An NSEC3 owner is not a name of the zone: the name below it needs an empty
        // non-terminal of its own, apart from the NSEC3 owner (one per such owner).
        uint32_t twin = kNone;
        for (const auto& [owner, t] : ent_twins)
          if (owner == j) twin = t;
        if (twin == kNone) {
          twin = static_cast<uint32_t>(bnodes_.size());
          bnodes_.push_back(BNode{bnodes_[j].name_off, bnodes_[j].name_len});
          ent_twins.emplace_back(j, twin);
        }
        j = twin;
      }
      if (j >= keep.size()) {
        keep.resize(j + 1, 0);
        live.resize(j + 1, 0);
        children.resize(j + 1, 0);
      }
      ++children[j];
      if (keep[j]) break;
      keep[j] = 1;
    }
  }
  for (uint32_t i = 0; i < bnodes_.size(); ++i)
    if (keep[i]) order.push_back(i);
  z.nsec3_first_ = order.size();
  for (uint32_t i = 0; i < bnodes_.size(); ++i)
    if (live[i] && bnodes_[i].nsec3_owner) order.push_back(i);
  for (uint32_t i : order) bytes += bnodes_[i].name_len;

  z.arena_.reset(new char[bytes ? bytes : 1]);
  z.arena_size_ = bytes;
  char* a = z.arena_.get();
  size_t used = 0;
  z.nodes_.resize(order.size());
  z.node_count_ = order.size();
  struct Spans {
    uint32_t rr_first, rr_count, sig_first, sig_count;
  };
  std::vector<Spans> spans(order.size());
  std::vector<Signatures> sigs;  // the zone's, if it has any RRSIG
  std::vector<uint32_t> recs;
  for (size_t k = 0; k < order.size(); ++k) {
    const BNode& b = bnodes_[order[k]];
    Node& n = z.nodes_[k];
    NameView name = bname(b);
    std::memcpy(a + used, name.data(), name.size());
    n.name = NameView(a + used, name.size());
    used += name.size();
    recs.clear();
    for (uint32_t ri = b.first; ri != kNone; ri = recs_[ri].next)
      if (!recs_[ri].dead) recs.push_back(ri);
    layout_order(recs, [&](uint32_t x) { return recs_[x].type; },
                 [&](uint32_t x) { return brdata(recs_[x]); });
    Spans& sp = spans[k];
    sp.rr_first = static_cast<uint32_t>(z.rrsets_.size());
    sp.sig_first = static_cast<uint32_t>(sigs.size());
    auto put = [&](const BRec& r) {
      a[used] = static_cast<char>(r.rd_len >> 8);
      a[used + 1] = static_cast<char>(r.rd_len);
      std::memcpy(a + used + 2, rdata_.data() + r.rd_off, r.rd_len);
      used += 2 + r.rd_len;
    };
    for (size_t s = 0; s < recs.size();) {
      const BRec& first = recs_[recs[s]];
      size_t e = s;
      size_t start = used;
      while (e < recs.size() && recs_[recs[e]].type == first.type) put(recs_[recs[e++]]);
      z.rrsets_.push_back(RRset{first.type, static_cast<uint16_t>(e - s), first.ttl,
                                std::string_view(a + start, used - start)});
      if (first.type == rrtype::RRSIG) split_signatures(z.rrsets_.back(), sigs);
      s = e;
    }
    sp.rr_count = static_cast<uint32_t>(z.rrsets_.size()) - sp.rr_first;
    sp.sig_count = static_cast<uint32_t>(sigs.size()) - sp.sig_first;
  }
  z.rrsets_.shrink_to_fit();
  if (!sigs.empty()) {
    sigs.shrink_to_fit();
    z.dnssec_edit().sigs = std::move(sigs);  // the vector's buffer moves, not its elements
  }
  z.index_.reset(z.nsec3_first_);
  if (order.size() > z.nsec3_first_) z.dnssec_edit().nsec3_index.reset(order.size() - z.nsec3_first_);
  const Signatures* sig_base = z.dnssec_parts().sigs.data();
  for (size_t k = 0; k < order.size(); ++k) {
    Node& n = z.nodes_[k];
    n.rrsets = std::span<const RRset>(z.rrsets_.data() + spans[k].rr_first, spans[k].rr_count);
    n.sigs = spans[k].sig_count ? std::span<const Signatures>(sig_base + spans[k].sig_first,
                                                              spans[k].sig_count)
                                : std::span<const Signatures>();
    bool apex = n.name == NameView(origin_);
    n.children = k < z.nsec3_first_ ? children[order[k]] : 0;
    n.has_cname = n.find(rrtype::CNAME) != nullptr;
    n.has_dname = n.find(rrtype::DNAME) != nullptr;
    n.is_cut = !apex && n.find(rrtype::NS) != nullptr;
    NameIndex& idx = k < z.nsec3_first_ ? z.index_ : z.dnssec_->nsec3_index;
    idx.insert(NameIndex::hash(n.name), static_cast<uint32_t>(k), z.name_of_);
  }
  // The builder's own copies are no longer needed.
  std::vector<BRec>().swap(recs_);
  std::string().swap(rdata_);
}

std::shared_ptr<const Zone> ZoneBuilder::build(std::vector<ZoneError>& errors,
                                               std::vector<ZoneError>* warnings) {
  errors.insert(errors.end(), early_errors_.begin(), early_errors_.end());
  if (warnings) warnings->insert(warnings->end(), early_warnings_.begin(), early_warnings_.end());
  std::unique_ptr<Zone> zp(new Zone);
  Zone& z = *zp;
  z.origin_ = origin_;
  z.source_ = source_;
  freeze(z);

  const Node* apex = z.find(origin_);
  const RRset* soa = apex ? apex->find(rrtype::SOA) : nullptr;
  if (!soa) {
    errors.push_back({SourceLine{source_, 0}, "no SOA record at the zone apex " +
                                                   name_to_text(origin_)});
    return nullptr;
  }
  check(z, errors, warnings);
  index_dnssec(z, errors, warnings);
  if (!errors.empty()) return nullptr;
  z.apex_ = apex;
  z.soa_ = soa;
  SoaFields f;
  parse_soa(z.soa_->data.substr(2), f);
  z.serial_ = f.serial;
  z.negative_ttl_ = std::min(z.soa_->ttl, f.minimum);
  z.record_count_ = records_;
  const size_t scratch = line_refs_.capacity() * sizeof(LineRef) +
                         bnodes_.capacity() * sizeof(BNode) + names_.capacity() + bindex_.bytes();
  std::vector<LineRef>().swap(line_refs_);
  std::vector<BNode>().swap(bnodes_);
  std::string().swap(names_);
  bindex_ = NameIndex();
  // A big builder's scratch (often hundreds of MiB) goes back to the system now, not at
  // some later allocation: a server's resident size is its zones. Not for small zones: a
  // trim walks the whole heap, and 10,000 small zones would pay it 10,000 times.
  if (scratch > (32u << 20) || records_ > 100000) malloc_trim(0);
  return std::shared_ptr<const Zone>(zp.release());
}

void ZoneBuilder::check(Zone& z, std::vector<ZoneError>& errors,
                        std::vector<ZoneError>* warnings) {
  auto where = [&](NameView owner, uint16_t type) -> SourceLine { return line_of(owner, type); };
  auto err = [&](NameView owner, uint16_t type, std::string msg) {
    errors.push_back({where(owner, type), std::move(msg)});
  };
  auto warn = [&](NameView owner, uint16_t type, std::string msg) {
    if (warnings) warnings->push_back({where(owner, type), std::move(msg)});
  };
  const Node& apex_node = *z.find(origin_);
  const RRset* soa = apex_node.find(rrtype::SOA);
  if (soa->count != 1) err(origin_, rrtype::SOA, "more than one SOA record at the apex");
  if (!apex_node.find(rrtype::NS))
    err(origin_, rrtype::SOA, "no NS records at the zone apex " + name_to_text(origin_));

  const size_t lookup_nodes = z.nsec3_first_;
  for (size_t i = 0; i < lookup_nodes; ++i) {
    const Node& n = z.nodes_[i];
    NameView k = n.name;
    bool apex = k == NameView(origin_);
    if (!apex && n.find(rrtype::SOA)) err(k, rrtype::SOA, "SOA record below the zone apex");
    if (n.has_cname) {
      const RRset* c = n.find(rrtype::CNAME);
      if (c->count > 1) err(k, rrtype::CNAME, "more than one CNAME record at " + name_to_text(k));
      for (const auto& r : n.rrsets)
        if (r.type != rrtype::CNAME && r.type != rrtype::RRSIG && r.type != rrtype::NSEC)
          err(k, r.type, type_name(r.type) + " record beside a CNAME at " + name_to_text(k));
    }
    if (n.has_dname && n.find(rrtype::DNAME)->count > 1)
      err(k, rrtype::DNAME, "more than one DNAME record at " + name_to_text(k));
    if (apex && n.find(rrtype::DS))
      warn(k, rrtype::DS, "DS record at the zone apex belongs in the parent zone");
  }

  // Names below a DNAME, and data hidden below a delegation.
  for (size_t i = 0; i < lookup_nodes; ++i) {
    const Node& n = z.nodes_[i];
    NameView k = n.name;
    if (n.empty() || k == NameView(origin_)) continue;
    for (NameView p = parent_name(k); p.size() >= origin_.size(); p = parent_name(p)) {
      const Node* anc = z.find(p);
      if (anc && anc->has_dname) {
        err(k, n.rrsets.front().type,
            "name " + name_to_text(k) + " is below the DNAME at " + name_to_text(p));
        break;
      }
      if (anc && anc->is_cut) {
        bool glue = true;
        for (const auto& r : n.rrsets)
          if (r.type != rrtype::A && r.type != rrtype::AAAA) glue = false;
        if (!glue)
          warn(k, n.rrsets.front().type,
               "data at " + name_to_text(k) + " is hidden below the delegation at " +
                   name_to_text(p) + " and never served");
        break;
      }
      if (p.size() == origin_.size()) break;
    }
  }

  // NS targets: a CNAME is an error (RFC 2181 10.3); a target inside a delegated child
  // needs glue or it can never be reached.
  auto cut_above = [&](NameView name) -> const Node* {
    for (NameView p = name; p.size() > origin_.size(); p = parent_name(p)) {
      const Node* n = z.find(p);
      if (n && n->is_cut) return n;
    }
    return nullptr;
  };
  for (size_t i = 0; i < lookup_nodes; ++i) {
    const Node& n = z.nodes_[i];
    NameView k = n.name;
    const RRset* ns = n.find(rrtype::NS);
    if (!ns) continue;
    if (!(k == NameView(origin_) || n.is_cut)) continue;
    ns->for_each([&](std::string_view rd) {
      NameView target = rdata_target(rrtype::NS, rd);
      if (target.empty()) return;
      std::string t = lowered(target);
      if (!is_subdomain(t, origin_)) return;
      const Node* tn = z.find(t);
      const Node* cut = cut_above(t);
      if (cut) {
        if (!tn || (!tn->find(rrtype::A) && !tn->find(rrtype::AAAA)))
          err(k, rrtype::NS, "NS " + name_to_text(t) + " of " + name_to_text(k) +
                                 " is inside the delegation " + name_to_text(cut->name) +
                                 " and has no glue (A/AAAA) record");
      } else if (tn && tn->has_cname) {
        err(k, rrtype::NS, "NS " + name_to_text(t) + " of " + name_to_text(k) +
                               " is a CNAME (RFC 2181 10.3)");
      }
    });
  }
}

void ZoneBuilder::index_dnssec(Zone& z, std::vector<ZoneError>& errors,
                               std::vector<ZoneError>* warnings) {
  auto where = [&](NameView owner, uint16_t type) -> SourceLine { return line_of(owner, type); };
  auto node_where = [&](const Node& n) {
    return where(n.name, n.rrsets.empty() ? 0 : n.rrsets.front().type);
  };
  auto warn = [&](SourceLine w, std::string msg) {
    if (warnings) warnings->push_back({std::move(w), std::move(msg)});
  };

  const Node& apex = *z.find(origin_);
  const RRset* dnskey = apex.find(rrtype::DNSKEY);
  const RRset* param = apex.find(rrtype::NSEC3PARAM);
  const RRset* apex_nsec = apex.find(rrtype::NSEC);
  if (!dnskey) {
    if (param || apex_nsec)
      warn(where(origin_, param ? rrtype::NSEC3PARAM : rrtype::NSEC),
           "no DNSKEY at the apex: the zone is served as unsigned");
    return;
  }
  if (!param && !apex_nsec) {
    warn(where(origin_, rrtype::DNSKEY),
         "DNSKEY at the apex but no NSEC or NSEC3PARAM: the zone is served as unsigned");
    return;
  }

  // Authoritative names: not below a delegation (glue and occluded data are not signed and
  // have no NSEC/NSEC3). Delegation points themselves are in the chain.
  auto below_cut = [&](NameView name) {
    if (name == NameView(origin_)) return false;
    for (NameView p = parent_name(name); p.size() > origin_.size(); p = parent_name(p)) {
      const Node* n = z.find(p);
      if (n && (n->is_cut || n->has_dname)) return true;
    }
    return false;
  };

  if (param) {
    Nsec3Params pp;
    bool ok = false;
    param->for_each([&](std::string_view rd) {
      if (!ok && parse_nsec3(rd, true, pp)) ok = true;
    });
    if (!ok || pp.algorithm != 1) {
      errors.push_back({where(origin_, rrtype::NSEC3PARAM),
                        ok ? "unsupported NSEC3 hash algorithm " + std::to_string(pp.algorithm)
                           : std::string("malformed NSEC3PARAM")});
      return;
    }
    z.dnssec_edit().nsec3_salt = std::string(pp.salt);
    z.dnssec_edit().nsec3_iterations = pp.iterations;
    // The chain: NSEC3 records with the NSEC3PARAM's parameters (RFC 5155 4).
    std::vector<std::pair<Nsec3Entry, std::string_view>> entries;  // with the next hash
    for (size_t i = z.nsec3_first_; i < z.nodes_.size(); ++i) {
      const Node& n = z.nodes_[i];
      NameView k = n.name;
      Nsec3Entry e{};
      e.node = &n;
      NameView label = NameView(k).substr(1, static_cast<uint8_t>(k[0]));
      if (!base32hex_decode(label, e.hash, kNsec3HashLen)) {
        warn(node_where(n), "NSEC3 owner " + name_to_text(k) + " is not a SHA-1 hash");
        continue;
      }
      bool found = false;
      n.find(rrtype::NSEC3)->for_each([&](std::string_view rd) {
        Nsec3Params p;
        if (found || !parse_nsec3(rd, false, p)) return;
        if (p.algorithm == pp.algorithm && p.iterations == pp.iterations && p.salt == pp.salt &&
            p.next.size() == kNsec3HashLen) {
          found = true;
          e.opt_out = (p.flags & 1) != 0;
          entries.push_back({e, p.next});
        }
      });
    }
    if (entries.empty()) {
      errors.push_back({where(origin_, rrtype::NSEC3PARAM),
                        "NSEC3PARAM without an NSEC3 chain with its parameters"});
      return;
    }
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return std::memcmp(a.first.hash, b.first.hash, kNsec3HashLen) < 0;
    });
    auto& chain3 = z.dnssec_edit().nsec3_chain;
    chain3.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      chain3.push_back(entries[i].first);
      const auto& succ = entries[(i + 1) % entries.size()].first;
      if (std::memcmp(entries[i].second.data(), succ.hash, kNsec3HashLen) != 0)
        warn(node_where(*entries[i].first.node),
             "NSEC3 chain gap: the NSEC3 at " + name_to_text(entries[i].first.node->name) +
                 " does not point to the next hash in the zone, " + name_to_text(succ.node->name));
    }
    z.denial_ = Denial::nsec3;
    // Every authoritative name needs its NSEC3; opt-out spans may leave out insecure
    // delegations (and the empty non-terminals above only those, RFC 5155 7.1).
    for (size_t i = 0; i < z.nsec3_first_; ++i) {
      const Node& n = z.nodes_[i];
      NameView k = n.name;
      if (below_cut(k)) continue;
      bool match = false;
      const Nsec3Entry* cover = z.nsec3_for_name(k, match);
      if (match) continue;
      bool opt_out = cover->opt_out;
      bool insecure_cut = n.is_cut && !n.find(rrtype::DS);
      if (opt_out && (insecure_cut || n.empty())) continue;
      if (n.empty())
        warn(SourceLine{source_, 0},
             "empty non-terminal " + name_to_text(k) + " has no NSEC3 (hash not in the chain)");
      else
        errors.push_back({node_where(n), "name " + name_to_text(k) +
                                             " has data but no NSEC3 in the chain of the "
                                             "NSEC3PARAM"});
    }
    return;
  }

  // NSEC: the chain of every authoritative name with data, in canonical order.
  auto& chain = z.dnssec_edit().nsec_chain;
  for (size_t i = 0; i < z.nsec3_first_; ++i) {
    const Node& n = z.nodes_[i];
    NameView k = n.name;
    if (n.empty() || below_cut(k)) continue;
    if (n.find(rrtype::NSEC))
      chain.push_back(&n);
    else
      errors.push_back({node_where(n), "name " + name_to_text(k) +
                                           " has data but no NSEC in a signed zone"});
  }
  std::sort(chain.begin(), chain.end(), [](const Node* a, const Node* b) {
    return canonical_compare(a->name, b->name) < 0;
  });
  for (size_t i = 0; i < chain.size(); ++i) {
    const Node& n = *chain[i];
    const Node& succ = *chain[(i + 1) % chain.size()];
    std::string_view rd;
    n.find(rrtype::NSEC)->for_each([&](std::string_view r) { if (rd.empty()) rd = r; });
    size_t l = name_length(reinterpret_cast<const uint8_t*>(rd.data()), rd.size());
    if (l == 0 || lowered(rd.substr(0, l)) != succ.name)
      warn(where(n.name, rrtype::NSEC),
           "NSEC chain gap: the NSEC at " + name_to_text(n.name) + " points to " +
               (l ? name_to_text(rd.substr(0, l)) : std::string("?")) +
               ", the next name in the zone is " + name_to_text(succ.name));
  }
  z.denial_ = Denial::nsec;
}

std::string type_name(uint16_t t) {
  switch (t) {
    case rrtype::A: return "A";
    case rrtype::NS: return "NS";
    case rrtype::CNAME: return "CNAME";
    case rrtype::SOA: return "SOA";
    case rrtype::PTR: return "PTR";
    case rrtype::MX: return "MX";
    case rrtype::TXT: return "TXT";
    case rrtype::AAAA: return "AAAA";
    case rrtype::SRV: return "SRV";
    case rrtype::DNAME: return "DNAME";
    case rrtype::DS: return "DS";
    case rrtype::RRSIG: return "RRSIG";
    case rrtype::NSEC: return "NSEC";
    case rrtype::DNSKEY: return "DNSKEY";
    case rrtype::NSEC3: return "NSEC3";
    case rrtype::NSEC3PARAM: return "NSEC3PARAM";
    default: return "TYPE" + std::to_string(t);
  }
}

}  // namespace zone
