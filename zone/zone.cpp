#include "zone/zone.h"

#include <algorithm>
#include <cstring>

#include "zone/wire/types.h"

namespace zone {

using namespace wire;

namespace {
uint64_t line_hash(NameView owner, uint16_t type) {
  return std::hash<std::string_view>{}(owner) ^ (static_cast<uint64_t>(type) * 0x9E3779B97F4A7C15ull);
}

std::string type_name(uint16_t t);
}  // namespace

ZoneBuilder::ZoneBuilder(std::string origin_lower, std::string source)
    : origin_(std::move(origin_lower)), source_(std::move(source)), zone_(new Zone) {
  zone_->origin_ = origin_;
  zone_->source_ = source_;
}

ZoneBuilder::ZoneBuilder(const Zone& base) : ZoneBuilder(base.origin(), base.source()) {
  auto copy = [&](const Node& n) {
    if (n.rrsets.empty()) return;  // empty non-terminals are derived again by build()
    Node& c = zone_->nodes_[n.name];
    c.name = n.name;
    c.rrsets = n.rrsets;
    for (const auto& r : n.rrsets) records_ += r.count;
  };
  base.for_each_node(copy);
}

bool ZoneBuilder::remove(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata) {
  auto it = zone_->nodes_.find(owner);
  if (it == zone_->nodes_.end()) return false;
  auto& sets = it->second.rrsets;
  for (size_t i = 0; i < sets.size(); ++i) {
    RRset& set = sets[i];
    if (set.type != type) continue;
    if (set.ttl != ttl && type != rrtype::RRSIG) return false;
    RRset kept{set.type, set.ttl, 0, {}};
    bool found = false;
    set.for_each([&](std::string_view rd) {
      if (!found && rd == rdata) found = true;
      else kept.add(rd);
    });
    if (!found) return false;
    --records_;
    if (kept.count == 0)
      sets.erase(sets.begin() + static_cast<long>(i));
    else
      set = std::move(kept);
    if (sets.empty()) zone_->nodes_.erase(it);
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
  // Lowercased on the stack: most records belong to a node that already exists.
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
  auto it = zone_->nodes_.find(owner);
  if (it == zone_->nodes_.end()) {
    it = zone_->nodes_.emplace(std::string(owner), Node{}).first;
    it->second.name = it->first;
  }
  Node& node = it->second;
  RRset* set = nullptr;
  for (auto& r : node.rrsets)
    if (r.type == type) set = &r;
  if (!set) {
    node.rrsets.push_back(RRset{type, ttl, 0, {}});
    set = &node.rrsets.back();
    remember_line(owner, type, where);
  } else {
    if (set->contains(rdata)) return;  // duplicate record: RFC 2181 5 says sets have no dups
    if (set->ttl != ttl && type != rrtype::RRSIG) {
      early_warnings_.push_back({where, "TTL " + std::to_string(ttl) + " of " +
                                            name_to_text(owner) + " " + type_name(type) +
                                            " differs from the RRset's TTL " +
                                            std::to_string(set->ttl) + "; using " +
                                            std::to_string(std::min(set->ttl, ttl))});
      set->ttl = std::min(set->ttl, ttl);
    }
  }
  if (set->count == 0xFFFF) {
    early_errors_.push_back({where, "too many records in one RRset"});
    return;
  }
  set->add(rdata);
  ++records_;
}

std::shared_ptr<const Zone> ZoneBuilder::build(std::vector<ZoneError>& errors,
                                               std::vector<ZoneError>* warnings) {
  errors.insert(errors.end(), early_errors_.begin(), early_errors_.end());
  if (warnings) warnings->insert(warnings->end(), early_warnings_.begin(), early_warnings_.end());
  Zone& z = *zone_;
  auto where = [&](NameView owner, uint16_t type) -> SourceLine { return line_of(owner, type); };
  auto err = [&](NameView owner, uint16_t type, std::string msg) {
    errors.push_back({where(owner, type), std::move(msg)});
  };
  auto warn = [&](NameView owner, uint16_t type, std::string msg) {
    if (warnings) warnings->push_back({where(owner, type), std::move(msg)});
  };

  auto apex_it = z.nodes_.find(origin_);
  const RRset* soa = apex_it == z.nodes_.end() ? nullptr : apex_it->second.find(rrtype::SOA);
  if (!soa) {
    errors.push_back({SourceLine{source_, 0}, "no SOA record at the zone apex " +
                                                   name_to_text(origin_)});
    return nullptr;
  }
  if (soa->count != 1) err(origin_, rrtype::SOA, "more than one SOA record at the apex");
  if (!apex_it->second.find(rrtype::NS))
    err(origin_, rrtype::SOA, "no NS records at the zone apex " + name_to_text(origin_));

  // NSEC3 owners (hashed names right below the apex holding only NSEC3 and its RRSIGs) are
  // kept apart: they are not names of the zone and must not create any (RFC 5155 7.2.8).
  for (auto it = z.nodes_.begin(); it != z.nodes_.end();) {
    const Node& n = it->second;
    bool only_nsec3 = n.find(rrtype::NSEC3) != nullptr && it->first != origin_ &&
                      parent_name(it->first) == NameView(origin_);
    for (const auto& r : n.rrsets)
      if (r.type != rrtype::NSEC3 && r.type != rrtype::RRSIG) only_nsec3 = false;
    if (only_nsec3) {
      z.nsec3_nodes_.insert(z.nodes_.extract(it++));
    } else {
      ++it;
    }
  }

  // Empty non-terminals: every ancestor of a node, down from the apex, exists.
  std::vector<std::string> names;
  names.reserve(z.nodes_.size());
  for (auto& [k, n] : z.nodes_) names.push_back(k);
  for (const auto& name : names) {
    NameView p = name;
    while (p.size() > origin_.size()) {
      p = parent_name(p);
      auto [it, inserted] = z.nodes_.try_emplace(std::string(p));
      if (!inserted) break;
      it->second.name = std::string(p);
    }
  }

  for (auto& [k, n] : z.nodes_) {
    bool apex = k == origin_;
    n.has_cname = n.find(rrtype::CNAME) != nullptr;
    n.has_dname = n.find(rrtype::DNAME) != nullptr;
    n.is_cut = !apex && n.find(rrtype::NS) != nullptr;
    // Keep a stable, readable order: SOA, NS first, then by type.
    std::sort(n.rrsets.begin(), n.rrsets.end(), [](const RRset& a, const RRset& b) {
      auto rank = [](uint16_t t) {
        return t == rrtype::SOA ? 0 : t == rrtype::NS ? 1 : 2;
      };
      return rank(a.type) != rank(b.type) ? rank(a.type) < rank(b.type) : a.type < b.type;
    });
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
  for (auto& [k, n] : z.nodes_) {
    if (n.empty() || k == origin_) continue;
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
  for (auto& entry : z.nodes_) {
    // Named, not a structured binding: clang < 16 cannot capture bindings in the lambda.
    const std::string& k = entry.first;
    const Node& n = entry.second;
    const RRset* ns = n.find(rrtype::NS);
    if (!ns) continue;
    if (!(k == origin_ || n.is_cut)) continue;
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

  index_dnssec(z, errors, warnings);

  if (!errors.empty()) return nullptr;
  z.apex_ = &z.nodes_.find(origin_)->second;
  z.soa_ = z.apex_->find(rrtype::SOA);
  SoaFields f;
  parse_soa(std::string_view(z.soa_->data).substr(2), f);
  z.serial_ = f.serial;
  z.negative_ttl_ = std::min(z.soa_->ttl, f.minimum);
  z.record_count_ = records_;
  line_refs_.clear();
  line_refs_.shrink_to_fit();
  return std::shared_ptr<const Zone>(zone_.release());
}

namespace {

// RFC 4648 base32hex, as NSEC3 owner labels are written (RFC 5155 3.3).
bool base32hex_decode(std::string_view in, uint8_t* out, size_t out_len) {
  if (in.size() * 5 / 8 != out_len) return false;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (char ch : in) {
    int v;
    uint8_t c = ascii_lower(static_cast<uint8_t>(ch));
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'v') v = c - 'a' + 10;
    else return false;
    acc = (acc << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (o < out_len) out[o++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  return o == out_len;
}

struct Nsec3Params {
  uint8_t algorithm = 0, flags = 0;
  uint16_t iterations = 0;
  std::string_view salt;
  std::string_view next;  // NSEC3 only: the next hashed owner
};

bool parse_nsec3(std::string_view rd, bool param, Nsec3Params& p) {
  auto u = [&](size_t i) { return static_cast<uint8_t>(rd[i]); };
  if (rd.size() < 5) return false;
  p.algorithm = u(0);
  p.flags = u(1);
  p.iterations = static_cast<uint16_t>(u(2) << 8 | u(3));
  size_t sl = u(4);
  if (rd.size() < 5 + sl) return false;
  p.salt = rd.substr(5, sl);
  if (param) return true;
  if (rd.size() < 6 + sl) return false;
  size_t hl = u(5 + sl);
  if (rd.size() < 6 + sl + hl) return false;
  p.next = rd.substr(6 + sl, hl);
  return true;
}

}  // namespace

void ZoneBuilder::index_dnssec(Zone& z, std::vector<ZoneError>& errors,
                               std::vector<ZoneError>* warnings) {
  auto where = [&](NameView owner, uint16_t type) -> SourceLine { return line_of(owner, type); };
  auto node_where = [&](const Node& n) {
    return where(n.name, n.rrsets.empty() ? 0 : n.rrsets.front().type);
  };
  auto warn = [&](SourceLine w, std::string msg) {
    if (warnings) warnings->push_back({std::move(w), std::move(msg)});
  };

  // RRSIGs by covered type, for both kinds of nodes.
  auto split_sigs = [](Node& n) {
    n.sigs.clear();
    const RRset* all = n.find(rrtype::RRSIG);
    if (!all) return;
    all->for_each([&](std::string_view rd) {
      if (rd.size() < 18) return;
      uint16_t covered = get16(reinterpret_cast<const uint8_t*>(rd.data()));
      Signatures* s = nullptr;
      for (auto& x : n.sigs)
        if (x.covered == covered) s = &x;
      if (!s) {
        n.sigs.push_back(Signatures{covered, RRset{rrtype::RRSIG, all->ttl, 0, {}}});
        s = &n.sigs.back();
      }
      s->rrsigs.add(rd);
    });
  };
  for (auto& [k, n] : z.nodes_) split_sigs(n);
  for (auto& [k, n] : z.nsec3_nodes_) split_sigs(n);

  auto apex_it = z.nodes_.find(origin_);
  if (apex_it == z.nodes_.end()) return;
  const Node& apex = apex_it->second;
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
    z.nsec3_salt_ = std::string(pp.salt);
    z.nsec3_iterations_ = pp.iterations;
    // The chain: NSEC3 records with the NSEC3PARAM's parameters (RFC 5155 4).
    std::vector<std::pair<Nsec3Entry, std::string_view>> entries;  // with the next hash
    for (auto& [k, n] : z.nsec3_nodes_) {
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
    z.nsec3_chain_.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      z.nsec3_chain_.push_back(entries[i].first);
      const auto& succ = entries[(i + 1) % entries.size()].first;
      if (std::memcmp(entries[i].second.data(), succ.hash, kNsec3HashLen) != 0)
        warn(node_where(*entries[i].first.node),
             "NSEC3 chain gap: the NSEC3 at " + name_to_text(entries[i].first.node->name) +
                 " does not point to the next hash in the zone, " + name_to_text(succ.node->name));
    }
    z.denial_ = Denial::nsec3;
    // Every authoritative name needs its NSEC3; opt-out spans may leave out insecure
    // delegations (and the empty non-terminals above only those, RFC 5155 7.1).
    for (auto& [k, n] : z.nodes_) {
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
  for (auto& [k, n] : z.nodes_) {
    if (n.empty() || below_cut(k)) continue;
    if (n.find(rrtype::NSEC))
      z.nsec_chain_.push_back(&n);
    else
      errors.push_back({node_where(n), "name " + name_to_text(k) +
                                           " has data but no NSEC in a signed zone"});
  }
  std::sort(z.nsec_chain_.begin(), z.nsec_chain_.end(), [](const Node* a, const Node* b) {
    return canonical_compare(a->name, b->name) < 0;
  });
  for (size_t i = 0; i < z.nsec_chain_.size(); ++i) {
    const Node& n = *z.nsec_chain_[i];
    const Node& succ = *z.nsec_chain_[(i + 1) % z.nsec_chain_.size()];
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

namespace {
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
}  // namespace

}  // namespace zone
