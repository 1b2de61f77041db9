#include "zone/zone.h"

#include <algorithm>

#include "zone/wire/types.h"

namespace zone {

using namespace wire;

namespace {
std::string line_key(NameView owner, uint16_t type) {
  std::string k(owner);
  k.push_back(static_cast<char>(type >> 8));
  k.push_back(static_cast<char>(type));
  return k;
}
std::string type_name(uint16_t t);
}  // namespace

ZoneBuilder::ZoneBuilder(std::string origin_lower, std::string source)
    : origin_(std::move(origin_lower)), source_(std::move(source)), zone_(new Zone) {
  zone_->origin_ = origin_;
  zone_->source_ = source_;
}

void ZoneBuilder::add(NameView owner_in, uint16_t type, uint32_t ttl, std::string_view rdata,
                      const SourceLine& where) {
  std::string owner = lowered(owner_in);
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
  auto [it, inserted] = zone_->nodes_.try_emplace(owner);
  Node& node = it->second;
  if (inserted) node.name = owner;
  RRset* set = nullptr;
  for (auto& r : node.rrsets)
    if (r.type == type) set = &r;
  if (!set) {
    node.rrsets.push_back(RRset{type, ttl, 0, {}});
    set = &node.rrsets.back();
    lines_.emplace(line_key(owner, type), where);
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
  auto where = [&](NameView owner, uint16_t type) -> SourceLine {
    auto it = lines_.find(line_key(owner, type));
    if (it != lines_.end()) return it->second;
    return SourceLine{source_, 0};
  };
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

  if (!errors.empty()) return nullptr;
  z.apex_ = &z.nodes_.find(origin_)->second;
  z.soa_ = z.apex_->find(rrtype::SOA);
  SoaFields f;
  parse_soa(std::string_view(z.soa_->data).substr(2), f);
  z.serial_ = f.serial;
  z.negative_ttl_ = std::min(z.soa_->ttl, f.minimum);
  z.record_count_ = records_;
  lines_.clear();
  return std::shared_ptr<const Zone>(zone_.release());
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
    default: return "TYPE" + std::to_string(t);
  }
}
}  // namespace

}  // namespace zone
