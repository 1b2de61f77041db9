#include "zone/update.h"

#include <cstdlib>
#include <deque>
#include <optional>
#include <unordered_map>

#include "zone/delegation.h"
#include "zone/wire/message.h"
#include "zone/wire/name.h"
#include "zone/wire/rdata.h"
#include "zone/wire/serial.h"
#include "zone/zonefile_parser.h"
#include "zone/ldns_util.h"  // last: ldns defines a `bool` macro

namespace zone {

using namespace wire;

namespace {

std::string type_text(uint16_t t) {
  char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(t));
  std::string out = s ? s : "TYPE" + std::to_string(t);
  std::free(s);
  return out;
}

std::string class_text(uint16_t c) {
  switch (c) {
    case rrclass::IN: return "IN";
    case rrclass::CH: return "CH";
    case 4: return "HS";
    case rrclass::NONE: return "NONE";
    case rrclass::ANY: return "ANY";
    default: return "CLASS" + std::to_string(c);
  }
}

std::string text(NameView n) { return name_to_text(n); }

const char* name_error_text(NameError e) {
  switch (e) {
    case NameError::truncated: return "truncated";
    case NameError::bad_label: return "unknown label type";
    case NameError::too_long: return "longer than 255 bytes";
    case NameError::bad_pointer: return "compression pointer that does not point backwards";
    default: return "malformed";
  }
}

UpdateStatus status(uint16_t rc, std::string message) { return UpdateStatus{rc, std::move(message)}; }

// One RR of a section as read, before its form is checked.
struct RawRR {
  std::string owner;  // lowercased wire
  uint16_t type = 0, rclass = 0;
  uint32_t ttl = 0;
  std::string rdata;
};

// Reads the RR at pos; an empty string, or what is wrong with it.
std::string read_rr(const uint8_t* msg, size_t len, size_t& pos, RawRR& rr) {
  size_t start = pos;
  uint8_t name[kMaxNameLen];
  size_t nlen = 0;
  NameError e = read_name(msg, len, pos, name, nlen);
  if (e != NameError::ok) return std::string("owner name is ") + name_error_text(e);
  if (pos + 10 > len) return "the message ends inside the RR";
  rr.owner = lowered(NameView(reinterpret_cast<char*>(name), nlen));
  rr.type = get16(msg + pos);
  rr.rclass = get16(msg + pos + 2);
  rr.ttl = get32(msg + pos + 4);
  uint16_t rdlen = get16(msg + pos + 8);
  if (pos + 10 + rdlen > len) return "RDATA runs past the end of the message";
  if (rdlen == 0) {
    // The ANY/NONE forms carry no RDATA; parse_rr would want the names of NS, MX, ...
    rr.rdata.clear();
    pos += 10;
    return {};
  }
  ParsedRR p;
  size_t q = start;
  if (!parse_rr(msg, len, q, p))
    return "RDATA of " + type_text(rr.type) + " is malformed (its names do not fill it)";
  rr.rdata = std::move(p.rdata);
  pos = q;
  return {};
}

// "update RR 2 (www.example.com. ANY A)", for messages.
std::string describe(const char* section, uint32_t index, const RawRR& rr) {
  return std::string(section) + " " + std::to_string(index + 1) + " (" + text(rr.owner) + " " +
         class_text(rr.rclass) + " " + type_text(rr.type) + ")";
}

// The form of a prerequisite RR (RFC 2136 2.4, 3.2.1, 3.2.5); empty or what is wrong.
std::string classify_prerequisite(const RawRR& rr, uint16_t zclass, Prerequisite& p) {
  if (rr.ttl != 0) return "TTL is " + std::to_string(rr.ttl) + "; a prerequisite has TTL 0";
  p.name = rr.owner;
  p.type = rr.type;
  if (rr.rclass == rrclass::ANY || rr.rclass == rrclass::NONE) {
    if (!rr.rdata.empty()) return "class " + class_text(rr.rclass) + " with RDATA (RDLENGTH must be 0)";
    bool any = rr.rclass == rrclass::ANY;
    if (rr.type == rrtype::ANY)
      p.kind = any ? PrereqKind::name_in_use : PrereqKind::name_not_in_use;
    else
      p.kind = any ? PrereqKind::rrset_exists : PrereqKind::rrset_not_exists;
    return {};
  }
  if (rr.rclass == zclass) {
    if (is_meta_type(rr.type)) return "type " + type_text(rr.type) + " has no value to compare";
    p.kind = PrereqKind::rrset_equals;
    p.rdata = rr.rdata;
    return {};
  }
  return "class " + class_text(rr.rclass) + " is neither the zone's class " +
         class_text(zclass) + ", ANY nor NONE";
}

// The form of an update RR (RFC 2136 2.5, 3.4.1.2); empty or what is wrong.
std::string classify_update(const RawRR& rr, uint16_t zclass, UpdateOp& op) {
  op.name = rr.owner;
  op.type = rr.type;
  if (rr.rclass == zclass) {
    if (is_meta_type(rr.type)) return "meta type " + type_text(rr.type) + " cannot be added";
    op.kind = UpdateKind::add;
    op.ttl = rr.ttl;
    op.rdata = rr.rdata;
    return {};
  }
  if (rr.rclass == rrclass::ANY) {
    if (rr.ttl != 0) return "TTL is " + std::to_string(rr.ttl) + "; a delete has TTL 0";
    if (!rr.rdata.empty()) return "class ANY with RDATA (RDLENGTH must be 0)";
    if (rr.type == rrtype::ANY) {
      op.kind = UpdateKind::delete_name;
      return {};
    }
    if (is_meta_type(rr.type)) return "meta type " + type_text(rr.type) + " cannot be deleted";
    op.kind = UpdateKind::delete_rrset;
    return {};
  }
  if (rr.rclass == rrclass::NONE) {
    if (rr.ttl != 0) return "TTL is " + std::to_string(rr.ttl) + "; a delete has TTL 0";
    if (is_meta_type(rr.type))
      return "meta type " + type_text(rr.type) + " cannot be deleted as one RR";
    op.kind = UpdateKind::delete_rr;
    op.rdata = rr.rdata;
    return {};
  }
  return "class " + class_text(rr.rclass) + " is neither the zone's class " +
         class_text(zclass) + ", ANY nor NONE";
}

// Why the record cannot be added as it is, or nullopt. RDATA that ldns cannot read for its
// type is malformed (FORMERR). A record that is well formed must also survive the zone file:
// what zonefile_edit appends (record_text) is read back by zoned's zone-file reader, and
// must give the same record, or the zone file and the served zone would part (REFUSED).
std::optional<UpdateStatus> record_problem(const Record& r, NameView origin) {
  std::string what = type_text(r.type) + " at " + text(r.owner);
  std::string wire = record_wire(r);
  ldns_rr* raw = nullptr;
  size_t pos = 0;
  bool ok = ldns_wire2rr(&raw, reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &pos,
                         LDNS_SECTION_ANSWER) == LDNS_STATUS_OK;
  ldns_util::RrPtr rr(raw);
  if (ok) {
    const ldns_rr_descriptor* d = ldns_rr_descript(r.type);
    ldns_util::BufferPtr buf(ldns_buffer_new(r.rdata.size() + 16));
    ok = (!d || ldns_rr_rd_count(rr.get()) >= ldns_rr_descriptor_minimum(d)) &&
         ldns_rr_rdata2buffer_wire(buf.get(), rr.get()) == LDNS_STATUS_OK &&
         std::string_view(reinterpret_cast<const char*>(ldns_buffer_begin(buf.get())),
                          ldns_buffer_position(buf.get())) == r.rdata;
  }
  if (!ok)
    return status(rcode::FORMERR, "RDATA of " + what + " is malformed (" +
                                      std::to_string(r.rdata.size()) + " bytes that are not " +
                                      type_text(r.type) + " RDATA)");

  struct One : zonefile::Sink {
    size_t count = 0;
    Record got;
    void file(uint32_t, const std::string&) override {}
    void record(const zonefile::Record& z) override {
      if (count++ == 0) got = Record{lowered(z.owner), z.type, z.ttl, std::string(z.rdata)};
    }
  } sink;
  std::string line = record_text(r);
  std::vector<ZoneError> errors;
  zonefile::Parser parser(sink, errors);
  parser.parse(line, "<update>", origin);
  if (errors.empty() && sink.count == 1 && sink.got == r) return std::nullopt;
  std::string why = !errors.empty() ? errors.front().message
                    : sink.count != 1 ? std::to_string(sink.count) + " records"
                                      : record_text(sink.got);
  return status(rcode::REFUSED, what + " cannot be written to the zone file and read back: \"" +
                                    line + "\" reads as " + why);
}

// A version of the zone being changed by the update section, name by name: a name is
// copied from the zone the first time an RR touches it, and the difference is taken at the
// end. So each RR sees what the earlier ones did, and the work is O(change).
class Draft {
 public:
  struct Rec {
    std::string rdata;
    uint32_t ttl;
  };
  struct Set {
    uint16_t type;
    std::vector<Rec> recs;
  };
  struct Name {
    std::string name;        // lowercased wire
    std::vector<Set> sets;   // never SOA (kept apart), never empty
  };

  explicit Draft(const Zone& z) : z_(z) {}

  Name& at(const std::string& name) {
    auto it = index_.find(name);
    if (it != index_.end()) return names_[it->second];
    index_.emplace(name, names_.size());
    Name& n = names_.emplace_back(Name{name, {}});
    if (const Node* node = z_.find_stored(name))
      for (const auto& set : node->rrsets) {
        if (set.type == rrtype::SOA) continue;
        Set s{set.type, {}};
        set.for_each([&](std::string_view rd) {
          s.recs.push_back(Rec{std::string(rd), node->record_ttl(set, rd)});
        });
        n.sets.push_back(std::move(s));
      }
    return n;
  }

  static Set* find(Name& n, uint16_t type) {
    for (auto& s : n.sets)
      if (s.type == type) return &s;
    return nullptr;
  }
  static void erase_if_empty(Name& n, uint16_t type) {
    std::erase_if(n.sets, [&](const Set& s) { return s.type == type && s.recs.empty(); });
  }

  // Does `name` hold `type` now? Looks without copying the name in.
  bool has(NameView name, uint16_t type) const {
    auto it = index_.find(std::string(name));
    if (it != index_.end()) {
      for (const auto& s : names_[it->second].sets)
        if (s.type == type) return true;
      return false;
    }
    const Node* node = z_.find_stored(name);
    return node && node->find(type);
  }

  // Names in the order first touched (a deque: references stay valid as names are added).
  const std::deque<Name>& names() const { return names_; }

 private:
  const Zone& z_;
  std::deque<Name> names_;
  std::unordered_map<std::string, size_t> index_;
};

// Types that may stand beside a CNAME (RFC 2181 10.1, RFC 4035 2.5), as the zone's load
// checks allow.
bool allowed_beside_cname(uint16_t t) {
  return t == rrtype::CNAME || t == rrtype::RRSIG || t == rrtype::NSEC;
}

std::vector<std::string_view> labels_of(NameView name) {
  std::vector<std::string_view> out;
  for (size_t p = 0; p < name.size() && name[p] != 0; p += 1 + static_cast<uint8_t>(name[p]))
    out.push_back(name.substr(p + 1, static_cast<uint8_t>(name[p])));
  return out;
}

// Does `name` match `pattern` (both lowercased wire), a "*" label standing for one or
// more labels? Dynamic programming over (pattern label, name label): no backtracking blowup.
bool wildcard_match(NameView pattern, NameView name) {
  auto pl = labels_of(pattern), nl = labels_of(name);
  size_t P = pl.size(), N = nl.size();
  std::vector<char> m((P + 1) * (N + 1), 0);
  auto at = [&](size_t i, size_t j) -> char& { return m[i * (N + 1) + j]; };
  at(P, N) = 1;
  for (size_t i = P; i-- > 0;)
    for (size_t j = N + 1; j-- > 0;) {
      if (j == N) continue;  // a label of the pattern left and none of the name
      if (pl[i] == "*")
        at(i, j) = at(i + 1, j + 1) || at(i, j + 1);
      else
        at(i, j) = pl[i] == nl[j] && at(i + 1, j + 1);
    }
  return at(0, 0);
}

std::string key_text(std::string_view key) {
  return key.empty() ? std::string("an unsigned UPDATE") : "key " + text(key);
}

}  // namespace

UpdateStatus parse_update(const uint8_t* msg, size_t len, UpdateRequest& u) {
  u = UpdateRequest{};
  auto formerr = [](std::string m) { return status(rcode::FORMERR, std::move(m)); };
  if (len < kHeaderSize)
    return formerr("message of " + std::to_string(len) + " bytes is shorter than a DNS header");
  u.has_header = true;
  u.id = get16(msg);
  u.flags = get16(msg + 2);
  if (u.flags & flag::QR) return formerr("QR is set: a response, not an UPDATE");
  uint8_t op = static_cast<uint8_t>((u.flags >> 11) & 0xF);
  if (op != opcode::UPDATE) return formerr("opcode " + std::to_string(op) + " is not UPDATE (5)");
  uint16_t zocount = get16(msg + 4), prcount = get16(msg + 6), upcount = get16(msg + 8),
           adcount = get16(msg + 10);
  if (zocount != 1)
    return formerr("the zone section has " + std::to_string(zocount) +
                   " records; it must have exactly one (RFC 2136 3.1.1)");
  size_t pos = kHeaderSize;
  uint8_t name[kMaxNameLen];
  size_t nlen = 0;
  if (NameError e = read_name(msg, len, pos, name, nlen); e != NameError::ok)
    return formerr(std::string("zone section: the zone name is ") + name_error_text(e));
  if (pos + 4 > len) return formerr("zone section: the message ends inside it");
  u.zone_name.assign(reinterpret_cast<char*>(name), nlen);
  u.zone = lowered(u.zone_name);
  u.zone_type = get16(msg + pos);
  u.zone_class = get16(msg + pos + 2);
  pos += 4;
  u.has_zone = true;
  if (u.zone_type != rrtype::SOA)
    return formerr("zone section: type " + type_text(u.zone_type) +
                   "; it must be SOA (RFC 2136 3.1.1)");
  if (u.zone_class == rrclass::ANY || u.zone_class == rrclass::NONE)
    return formerr("zone section: class " + class_text(u.zone_class) + " is not a zone's class");

  RawRR rr;
  for (uint32_t i = 0; i < prcount; ++i) {
    if (std::string why = read_rr(msg, len, pos, rr); !why.empty())
      return formerr("prerequisite " + std::to_string(i + 1) + ": " + why);
    Prerequisite p;
    if (std::string why = classify_prerequisite(rr, u.zone_class, p); !why.empty())
      return formerr(describe("prerequisite", i, rr) + ": " + why + " (RFC 2136 2.4)");
    u.prerequisites.push_back(std::move(p));
  }
  for (uint32_t i = 0; i < upcount; ++i) {
    if (std::string why = read_rr(msg, len, pos, rr); !why.empty())
      return formerr("update RR " + std::to_string(i + 1) + ": " + why);
    UpdateOp o;
    if (std::string why = classify_update(rr, u.zone_class, o); !why.empty())
      return formerr(describe("update RR", i, rr) + ": " + why + " (RFC 2136 2.5)");
    u.updates.push_back(std::move(o));
  }
  for (uint32_t i = 0; i < adcount; ++i) {
    size_t at = pos;
    if (!skip_rr(msg, len, pos))
      return formerr("additional RR " + std::to_string(i + 1) + " is malformed or truncated");
    // skip_rr read the name; the type sits right after it.
    size_t q = at;
    uint8_t skip[kMaxNameLen];
    read_name(msg, len, q, skip, nlen);
    if (get16(msg + q) == rrtype::TSIG && i + 1 != adcount)
      return formerr("TSIG is not the last record of the message (RFC 8945 5.1)");
  }
  return {};
}

UpdateStatus check_prerequisites(const UpdateRequest& u, const Zone& z) {
  // rrset_equals prerequisites, by <name, type>: compared once all are read (RFC 2136 3.2.3).
  struct Group {
    std::string name;
    uint16_t type;
    std::vector<std::string> rdata;  // canonical, no duplicates
  };
  std::vector<Group> groups;
  for (const auto& p : u.prerequisites) {
    std::string what = text(p.name);
    if (!is_subdomain(p.name, z.origin()))
      return status(rcode::NOTZONE, "prerequisite name " + what + " is not in the zone " +
                                        text(z.origin()));
    const Node* n = z.find_stored(p.name);
    bool in_use = n && !n->empty();
    const RRset* set = n ? n->find(p.type) : nullptr;
    switch (p.kind) {
      case PrereqKind::name_in_use:
        if (!in_use)
          return status(rcode::NXDOMAIN, "prerequisite failed: " + what + " has no records");
        break;
      case PrereqKind::name_not_in_use:
        if (in_use) return status(rcode::YXDOMAIN, "prerequisite failed: " + what + " has records");
        break;
      case PrereqKind::rrset_exists:
        if (!set)
          return status(rcode::NXRRSET,
                        "prerequisite failed: " + what + " has no " + type_text(p.type) + " records");
        break;
      case PrereqKind::rrset_not_exists:
        if (set)
          return status(rcode::YXRRSET,
                        "prerequisite failed: " + what + " has " + type_text(p.type) + " records");
        break;
      case PrereqKind::rrset_equals: {
        Group* g = nullptr;
        for (auto& x : groups)
          if (x.name == p.name && x.type == p.type) g = &x;
        if (!g) g = &groups.emplace_back(Group{p.name, p.type, {}});
        std::string c = canonical_rdata(p.type, p.rdata);
        if (std::find(g->rdata.begin(), g->rdata.end(), c) == g->rdata.end())
          g->rdata.push_back(std::move(c));
        break;
      }
    }
  }
  for (const auto& g : groups) {
    const Node* n = z.find_stored(g.name);
    const RRset* set = n ? n->find(g.type) : nullptr;
    bool same = set && set->count == g.rdata.size();
    if (same)
      set->for_each([&](std::string_view rd) {
        same = same && std::find(g.rdata.begin(), g.rdata.end(), canonical_rdata(g.type, rd)) !=
                           g.rdata.end();
      });
    if (!same)
      return status(rcode::NXRRSET, "prerequisite failed: the " + type_text(g.type) +
                                        " RRset of " + text(g.name) + " is not exactly the " +
                                        std::to_string(g.rdata.size()) + " record(s) given");
  }
  return {};
}

UpdateStatus prescan_update(const UpdateRequest& u, const Zone& z) {
  for (const auto& op : u.updates) {
    if (!is_subdomain(op.name, z.origin()))
      return status(rcode::NOTZONE, "update name " + text(op.name) + " is not in the zone " +
                                        text(z.origin()));
    if (op.kind != UpdateKind::add) continue;
    if (auto bad = record_problem(Record{op.name, op.type, op.ttl, op.rdata}, z.origin()))
      return *bad;
  }
  return {};
}

bool UpdatePolicy::add_rule(std::string_view key, std::string_view match, std::string_view name,
                            const std::vector<std::string>& types, std::string* error) {
  auto fail = [&](std::string m) {
    if (error) *error = std::move(m);
    return false;
  };
  auto absolute = [](std::string_view t) -> std::optional<std::string> {
    std::string s(t);
    if (s.empty()) return std::nullopt;
    if (s.back() != '.') s += '.';
    auto w = name_from_text(s);
    if (!w) return std::nullopt;
    return lowered(*w);
  };
  UpdateRule r;
  auto k = absolute(key);
  if (!k) return fail("update policy: bad key name '" + std::string(key) + "'");
  r.key = *k;
  static const std::pair<const char*, UpdateRule::Match> kMatches[] = {
      {"name", UpdateRule::Match::name},       {"subdomain", UpdateRule::Match::subdomain},
      {"wildcard", UpdateRule::Match::wildcard}, {"self", UpdateRule::Match::self},
      {"selfsub", UpdateRule::Match::selfsub}, {"zonesub", UpdateRule::Match::zonesub}};
  bool known = false;
  for (const auto& [word, m] : kMatches)
    if (match == word) {
      r.match = m;
      known = true;
    }
  if (!known)
    return fail("update policy: unknown match '" + std::string(match) +
                "' (name, subdomain, wildcard, self, selfsub, zonesub)");
  bool wants_name = r.match == UpdateRule::Match::name ||
                    r.match == UpdateRule::Match::subdomain ||
                    r.match == UpdateRule::Match::wildcard;
  if (wants_name) {
    auto n = absolute(name);
    if (!n) return fail("update policy: bad name '" + std::string(name) + "' for " + std::string(match));
    r.name = *n;
  } else if (!name.empty()) {
    return fail("update policy: " + std::string(match) + " takes no name (got '" +
                std::string(name) + "')");
  }
  bool any = false;
  for (const auto& t : types) {
    std::string up;
    for (char c : t) up += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    if (up == "ANY") {
      any = true;
      continue;
    }
    uint16_t v = static_cast<uint16_t>(ldns_get_rr_type_by_name(up.c_str()));
    if (v == 0) return fail("update policy: unknown type '" + t + "'");
    if (is_meta_type(v)) return fail("update policy: " + t + " is a meta type, never in a zone");
    r.types.push_back(v);
  }
  if (any) r.types.clear();
  rules_.push_back(std::move(r));
  return true;
}

bool UpdatePolicy::permits(std::string_view key, NameView name, NameView zone, uint16_t type) const {
  if (!is_subdomain(name, zone)) return false;
  for (const auto& r : rules_) {
    if (r.key != key) continue;
    if (type != 0 && !r.types.empty() &&
        std::find(r.types.begin(), r.types.end(), type) == r.types.end())
      continue;
    bool m = false;
    switch (r.match) {
      case UpdateRule::Match::name: m = name == NameView(r.name); break;
      case UpdateRule::Match::subdomain: m = is_subdomain(name, r.name); break;
      case UpdateRule::Match::wildcard: m = wildcard_match(r.name, name); break;
      case UpdateRule::Match::self: m = name == key; break;
      case UpdateRule::Match::selfsub: m = is_subdomain(name, key); break;
      case UpdateRule::Match::zonesub: m = true; break;
    }
    if (m) return true;
  }
  return false;
}

UpdateStatus check_update_policy(const UpdatePolicy& policy, std::string_view key,
                                 const UpdateRequest& u, const Zone& z) {
  auto refuse = [&](NameView name, std::string what) {
    return status(rcode::REFUSED, key_text(key) + " may not change " + what + " at " +
                                      text(name) + " (update policy)");
  };
  for (const auto& op : u.updates) {
    if (op.kind != UpdateKind::delete_name) {
      if (!policy.permits(key, op.name, z.origin(), op.type))
        return refuse(op.name, type_text(op.type));
      continue;
    }
    // Deleting every RRset of a name deletes each type it holds (not the apex SOA and NS,
    // which stay). RRsets added earlier in the message were allowed when they were added.
    bool apex = op.name == z.origin();
    bool any_type = false;
    if (const Node* n = z.find_stored(op.name))
      for (const auto& set : n->rrsets) {
        if (set.type == rrtype::SOA || (apex && set.type == rrtype::NS)) continue;
        any_type = true;
        if (!policy.permits(key, op.name, z.origin(), set.type))
          return refuse(op.name, type_text(set.type) + " (deleting every RRset)");
      }
    if (!any_type && !policy.permits(key, op.name, z.origin(), 0))
      return refuse(op.name, "anything");
  }
  return {};
}

UpdatePlan plan_update(const Zone& z, const UpdateRequest& u, uint32_t new_serial) {
  UpdatePlan plan;
  const std::string& origin = z.origin();
  const Record soa{origin, rrtype::SOA, z.soa().ttl,
                   std::string(std::string_view(z.soa().data).substr(2))};
  plan.changes.soa_from = soa;
  plan.changes.soa_to = soa;
  auto fail = [&](uint16_t rc, std::string why) {
    // Nothing of a refused update is applied.
    plan.status = status(rc, std::move(why));
    plan.ignored.clear();
    plan.warnings.clear();
    plan.changes.removed.clear();
    plan.changes.added.clear();
    plan.changes.soa_to = soa;
    return plan;
  };
  auto ignore = [&](std::string why) { plan.ignored.push_back(std::move(why)); };

  Record cur_soa = soa;
  bool soa_by_update = false;
  Draft d(z);
  for (const auto& op : u.updates) {
    std::string what = type_text(op.type) + " at " + text(op.name);
    if (!is_subdomain(op.name, origin))
      return fail(rcode::NOTZONE, "update name " + text(op.name) + " is not in the zone " + text(origin));
    bool apex = op.name == origin;
    switch (op.kind) {
      case UpdateKind::add: {
        if (op.type == rrtype::SOA) {
          SoaFields now, upd;
          parse_soa(cur_soa.rdata, now);
          if (!apex)
            ignore("SOA at " + text(op.name) + " ignored: it is not the zone apex");
          else if (!parse_soa(op.rdata, upd))
            ignore("SOA with malformed RDATA ignored");
          else if (!serial_gt(upd.serial, now.serial))
            ignore("SOA with serial " + std::to_string(upd.serial) + " ignored: not above the serial " +
                   std::to_string(now.serial) + " (RFC 2136 3.4.2.2)");
          else {
            cur_soa = Record{origin, rrtype::SOA, op.ttl, op.rdata};
            soa_by_update = true;
          }
          break;
        }
        Draft::Name& n = d.at(op.name);
        if (op.type == rrtype::CNAME) {
          bool other = false;
          for (const auto& s : n.sets) other = other || !allowed_beside_cname(s.type);
          if (other) {
            ignore("CNAME at " + text(op.name) + " ignored: the name has other data (RFC 2136 3.4.2.2)");
            break;
          }
        } else if (!allowed_beside_cname(op.type) && Draft::find(n, rrtype::CNAME)) {
          ignore(what + " ignored: the name is a CNAME (RFC 2136 3.4.2.2)");
          break;
        }
        // What the zone's load checks would reject, said here with the RR that causes it.
        if (!apex)
          for (NameView p = parent_name(op.name);; p = parent_name(p)) {
            if (d.has(p, rrtype::DNAME))
              return fail(rcode::REFUSED, what + " refused: the name is below the DNAME at " +
                                              text(p) + " (RFC 6672 2.3)");
            if (p.size() <= origin.size()) break;
            if (d.has(p, rrtype::NS)) {
              plan.warnings.push_back(
                  what + " is below the delegation at " + text(p) +
                  (op.type == rrtype::A || op.type == rrtype::AAAA
                       ? ": served only as glue for that delegation's NS names"
                       : ": hidden, never served"));
              break;
            }
          }
        if (op.type == rrtype::NS) {
          std::string target = lowered(rdata_target(rrtype::NS, op.rdata));
          if (!target.empty() && is_subdomain(target, origin) && d.has(target, rrtype::CNAME))
            return fail(rcode::REFUSED, "NS " + text(target) + " at " + text(op.name) +
                                            " refused: the target is a CNAME (RFC 2181 10.3)");
        }
        Draft::Set* s = Draft::find(n, op.type);
        if (!s) s = &n.sets.emplace_back(Draft::Set{op.type, {}});
        std::string canon = canonical_rdata(op.type, op.rdata);
        // One CNAME and one DNAME per name: a new one replaces the old (RFC 2136 3.4.2.2).
        if (op.type == rrtype::CNAME || op.type == rrtype::DNAME)
          std::erase_if(s->recs, [&](const Draft::Rec& r) {
            return canonical_rdata(op.type, r.rdata) != canon;
          });
        // RFC 2181 5.2: one TTL per RRset, the one just given. RRSIGs of a name share one
        // RRset here but each follows the TTL of the RRset it covers, so they keep theirs.
        if (op.type != rrtype::RRSIG)
          for (auto& r : s->recs) r.ttl = op.ttl;
        bool dup = false;
        for (const auto& r : s->recs) dup = dup || canonical_rdata(op.type, r.rdata) == canon;
        if (!dup) s->recs.push_back(Draft::Rec{op.rdata, op.ttl});
        break;
      }
      case UpdateKind::delete_rrset: {
        if (apex && (op.type == rrtype::SOA || op.type == rrtype::NS)) {
          ignore("deleting the " + type_text(op.type) +
                 " RRset of the apex ignored (RFC 2136 3.4.2.3)");
          break;
        }
        Draft::Name& n = d.at(op.name);
        std::erase_if(n.sets, [&](const Draft::Set& s) { return s.type == op.type; });
        break;
      }
      case UpdateKind::delete_name: {
        Draft::Name& n = d.at(op.name);
        // The apex keeps its SOA (held apart) and NS (RFC 2136 3.4.2.3).
        std::erase_if(n.sets, [&](const Draft::Set& s) { return !(apex && s.type == rrtype::NS); });
        break;
      }
      case UpdateKind::delete_rr: {
        if (op.type == rrtype::SOA) {
          ignore("deleting the SOA ignored (RFC 2136 3.4.2.4)");
          break;
        }
        Draft::Name& n = d.at(op.name);
        Draft::Set* s = Draft::find(n, op.type);
        if (!s) break;
        std::string canon = canonical_rdata(op.type, op.rdata);
        auto it = std::find_if(s->recs.begin(), s->recs.end(), [&](const Draft::Rec& r) {
          return canonical_rdata(op.type, r.rdata) == canon;
        });
        if (it == s->recs.end()) break;
        if (apex && op.type == rrtype::NS && s->recs.size() == 1) {
          ignore("deleting NS " + text(rdata_target(rrtype::NS, it->rdata)) +
                 ", the last NS of the apex, ignored (RFC 2136 3.4.2.4)");
          break;
        }
        s->recs.erase(it);
        Draft::erase_if_empty(n, op.type);
        break;
      }
    }
  }

  // The difference between the zone and the draft, name by name in the order touched.
  Changeset& c = plan.changes;
  for (const auto& n : d.names()) {
    const Node* node = z.find_stored(n.name);
    auto draft_has = [&](uint16_t type, std::string_view rd, uint32_t ttl) {
      for (const auto& s : n.sets)
        if (s.type == type)
          for (const auto& r : s.recs)
            if (r.rdata == rd && r.ttl == ttl) return true;
      return false;
    };
    if (node)
      for (const auto& set : node->rrsets) {
        if (set.type == rrtype::SOA) continue;
        set.for_each([&](std::string_view rd) {
          uint32_t ttl = node->record_ttl(set, rd);
          if (!draft_has(set.type, rd, ttl))
            c.removed.push_back(Record{n.name, set.type, ttl, std::string(rd)});
        });
      }
    for (const auto& s : n.sets) {
      const RRset* zs = node ? node->find(s.type) : nullptr;
      for (const auto& r : s.recs)
        if (!(zs && zs->contains(r.rdata) && node->record_ttl(*zs, r.rdata) == r.ttl))
          c.added.push_back(Record{n.name, s.type, r.ttl, r.rdata});
    }
  }

  std::string summary;
  if (soa_by_update) {
    c.soa_to = cur_soa;
  } else if (!c.empty()) {
    if (!serial_gt(new_serial, z.serial()))
      return fail(rcode::SERVFAIL, "the new serial " + std::to_string(new_serial) +
                                       " is not above the zone's serial " +
                                       std::to_string(z.serial()));
    set_soa_serial(c.soa_to.rdata, new_serial);
  }
  if (plan.changed())
    summary = std::to_string(c.added.size()) + " added, " + std::to_string(c.removed.size()) +
              " removed, serial " + std::to_string(c.from_serial()) + " -> " +
              std::to_string(c.to_serial());
  else
    summary = "nothing to change";
  for (size_t i = 0; i < plan.ignored.size(); ++i)
    summary += (i == 0 ? "; " : ", ") + plan.ignored[i];
  for (const auto& w : plan.warnings) summary += "; warning: " + w;
  plan.status.message = std::move(summary);
  return plan;
}

UpdatePlan process_update(const Zone& z, const UpdateRequest& u, const UpdatePolicy& policy,
                          std::string_view key, uint32_t new_serial) {
  auto fail = [](UpdateStatus s) {
    UpdatePlan p;
    p.status = std::move(s);
    return p;
  };
  if (!u.has_zone) return fail(status(rcode::FORMERR, "no zone section"));
  if (u.zone != z.origin())
    return fail(status(rcode::NOTAUTH, "the zone section names " + text(u.zone) +
                                           ", not the zone " + text(z.origin())));
  if (u.zone_class != rrclass::IN)
    return fail(status(rcode::NOTAUTH, "zone " + text(u.zone) + " of class " +
                                           class_text(u.zone_class) + " is not served (IN only)"));
  if (auto s = check_prerequisites(u, z); !s.ok()) return fail(std::move(s));
  if (auto s = prescan_update(u, z); !s.ok()) return fail(std::move(s));
  if (auto s = check_update_policy(policy, key, u, z); !s.ok()) return fail(std::move(s));
  return plan_update(z, u, new_serial);
}

bool render_update_response(Renderer& r, const UpdateRequest& u, uint16_t rc) {
  if (!u.has_header) return false;
  uint16_t flags = static_cast<uint16_t>(flag::QR | (opcode::UPDATE << 11) | (rc & 0xF));
  if (u.has_zone) return r.begin(u.id, flags, u.zone_name, u.zone_type, u.zone_class);
  r.begin_header_only(u.id, flags);
  return true;
}

}  // namespace zone
