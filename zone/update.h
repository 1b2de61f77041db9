// DNS UPDATE (RFC 2136, signed per RFC 3007) as zone logic, with no I/O: read an UPDATE
// message, check its prerequisites against a version of the zone, check its update section
// against who may change what, and turn it into the Changeset that the one commit path
// (validate -> persist -> publish -> IXFR history -> NOTIFY) applies. TSIG is verified, and
// the response signed, by the caller.
//
// The steps, in the order process_update runs them (RFC 2136 3):
//   parse_update         3.1 zone section; the form of every RR (class, TTL, RDLENGTH): FORMERR
//   check_prerequisites  3.2 against the zone as it is: NXDOMAIN YXDOMAIN NXRRSET YXRRSET NOTZONE
//   prescan_update       3.4.1 names outside the zone (NOTZONE), RDATA a zone file cannot
//                        hold (FORMERR), before anything is changed
//   check_update_policy  3.3 / RFC 3007: may the signing key change these names and types
//                        (REFUSED). After the prescan, so that a name outside the zone is
//                        answered NOTZONE whatever the policy says.
//   plan_update          3.4.2 the changes, in message order, as one Changeset
// Every step leaves the zone as it was: nothing changes unless all of them pass, and the
// commit then validates the result with the zone's load checks (apply_changeset).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zone/changeset.h"
#include "zone/wire/render.h"
#include "zone/wire/types.h"
#include "zone/zone.h"

namespace zone {

// The outcome of a step: an rcode and, for the log, why.
struct UpdateStatus {
  uint16_t rcode = wire::rcode::NOERROR;
  std::string message;
  bool ok() const { return rcode == wire::rcode::NOERROR; }
};

// RFC 2136 2.4: what a prerequisite asks of the zone, and the rcode when it does not hold.
enum class PrereqKind {
  name_in_use,       // CLASS ANY,  TYPE ANY              (2.4.4)  else NXDOMAIN
  name_not_in_use,   // CLASS NONE, TYPE ANY              (2.4.5)  else YXDOMAIN
  rrset_exists,      // CLASS ANY,  TYPE T                (2.4.1)  else NXRRSET
  rrset_not_exists,  // CLASS NONE, TYPE T                (2.4.3)  else YXRRSET
  rrset_equals,      // zone class, TYPE T, RDATA         (2.4.2)  else NXRRSET: the RRs of
                     // one <name, type> given this way are the whole RRset (TTL ignored)
};

struct Prerequisite {
  PrereqKind kind = PrereqKind::name_in_use;
  std::string name;  // lowercased wire
  uint16_t type = 0;
  std::string rdata;  // rrset_equals only; names decompressed
};

// RFC 2136 2.5: what an RR of the update section does.
enum class UpdateKind {
  add,           // zone class: add the RR (2.5.1)
  delete_rrset,  // CLASS ANY, TYPE T: delete the RRset (2.5.2)
  delete_name,   // CLASS ANY, TYPE ANY: delete every RRset of the name (2.5.3)
  delete_rr,     // CLASS NONE: delete the RR with this RDATA (2.5.4)
};

struct UpdateOp {
  UpdateKind kind = UpdateKind::add;
  std::string name;  // lowercased wire
  uint16_t type = 0;
  uint32_t ttl = 0;   // add only
  std::string rdata;  // add and delete_rr; names decompressed, case kept
};

struct UpdateRequest {
  bool has_header = false;  // 12 bytes were there: a response can be sent
  bool has_zone = false;    // the zone section was read: a response echoes it
  uint16_t id = 0;
  uint16_t flags = 0;
  std::string zone_name;  // wire, as received (case kept, for the echo)
  std::string zone;       // lowercased wire
  uint16_t zone_type = 0, zone_class = 0;
  std::vector<Prerequisite> prerequisites;
  std::vector<UpdateOp> updates;
};

// Reads an UPDATE message. Names (in RDATA too, for the types RFC 3597 4 lists) are
// decompressed; every RR must have one of the forms of RFC 2136 2.4 and 2.5 (class, type,
// TTL and RDLENGTH), the additional section is skipped (a TSIG there must be its last RR;
// it is verified by the caller). Anything else is FORMERR, with a message that says which
// RR and what is wrong. `out` is filled as far as it could be read: has_header and
// has_zone say whether a response can be rendered.
UpdateStatus parse_update(const uint8_t* msg, size_t len, UpdateRequest& out);

// RFC 2136 3.2, against the zone before any change. A name is in use when it has an RR:
// an empty non-terminal is not in use. Prerequisites are checked in message order, the
// rrset_equals ones together at the end (3.2.3).
UpdateStatus check_prerequisites(const UpdateRequest& u, const Zone& z);

// RFC 2136 3.4.1: every name is in the zone (NOTZONE), and every RR to add is well formed
// RDATA of its type that reads back the same once written to the zone file (FORMERR).
UpdateStatus prescan_update(const UpdateRequest& u, const Zone& z);

// Who may change what, like BIND's update-policy and Knot's update-owner. Rules only grant;
// an RR of the update section is allowed when some rule for the signing key matches both
// its owner name and its type. Matching rules:
//   "name"      NAME       the owner is exactly NAME
//   "subdomain" NAME       the owner is NAME or any name below it
//   "wildcard"  PATTERN    the owner matches PATTERN label by label, where a label "*"
//                          stands for one or more labels: "_acme-challenge.*" matches
//                          _acme-challenge.example.com. and _acme-challenge.www.example.com.,
//                          "*.dyn.example.com" matches a.dyn.example.com. but not
//                          dyn.example.com. itself; other labels compare case-insensitively
//   "self"      (no name)  the owner is the key's own name
//   "selfsub"   (no name)  the owner is the key's own name or below it
//   "zonesub"   (no name)  any name in the zone ("grant the key everything in the zone")
// Names and patterns are absolute (a final dot is optional). Types are mnemonics ("TXT",
// "A", "TYPE65534"); an empty list, or "ANY", allows every type. Deleting every RRset of a
// name (CLASS ANY, TYPE ANY) needs each type the name holds to be allowed.
struct UpdateRule {
  enum class Match { name, subdomain, wildcard, self, selfsub, zonesub };
  std::string key;  // lowercased wire key name
  Match match = Match::zonesub;
  std::string name;             // lowercased wire name or pattern (name, subdomain, wildcard)
  std::vector<uint16_t> types;  // empty: every type
};

class UpdatePolicy {
 public:
  // One rule from configuration text (see above); false with *error set when the key,
  // match, name or a type cannot be read. Example: add_rule("acme-key", "wildcard",
  // "_acme-challenge.*", {"TXT"}, &err).
  bool add_rule(std::string_view key, std::string_view match, std::string_view name,
                const std::vector<std::string>& types, std::string* error);
  void add_rule(UpdateRule rule) { rules_.push_back(std::move(rule)); }

  // May `key` (lowercased wire) change `type` at `name` (lowercased wire) in the zone
  // `zone` (lowercased wire)? type 0: may it change anything at all at that name.
  bool permits(std::string_view key, NameView name, NameView zone, uint16_t type) const;
  const std::vector<UpdateRule>& rules() const { return rules_; }

 private:
  std::vector<UpdateRule> rules_;
};

// RFC 3007: REFUSED, naming the key, name and type, unless every RR of the update section
// is allowed for `key` (lowercased wire; empty for an unsigned message, which no rule
// matches).
UpdateStatus check_update_policy(const UpdatePolicy& policy, std::string_view key,
                                 const UpdateRequest& u, const Zone& z);

struct UpdatePlan {
  UpdateStatus status;
  // Relative to the zone given. soa_to carries the new serial: the caller's, or the one of
  // an SOA in the update section that raised it (RFC 2136 3.4.2.2) - one bump per UPDATE.
  // When nothing changes, soa_to == soa_from and both lists are empty.
  Changeset changes;
  // RRs that RFC 2136 3.4.2 says to ignore, each with why (also summed up in status.message).
  std::vector<std::string> ignored;
  // Applied, but worth a word (as the load checks would warn): data below a delegation.
  std::vector<std::string> warnings;
  bool changed() const { return !changes.empty() || !(changes.soa_from == changes.soa_to); }
};

// RFC 2136 3.4.2: applies the update section to the zone in message order (each RR sees
// what the earlier ones did) and returns the difference. Adds: duplicates are dropped; an
// RR whose TTL differs from its RRset's gives the whole RRset that TTL (RFC 2181 5.2); a
// CNAME at a name with other data, or other data at a CNAME, is ignored (RRSIG and NSEC may
// stand beside a CNAME); a CNAME or DNAME replaces the one there; an SOA replaces the
// zone's only when its serial is higher. Deletes never remove the SOA, nor the NS RRset or
// the last NS of the apex (ignored, said in `ignored`). Refused with REFUSED: an NS whose
// target is a CNAME in the zone (RFC 2181 10.3), data below a DNAME. Other load-check
// failures are caught by the commit's validation. `new_serial` (the caller's serial policy)
// must be above the zone's serial; it is used only when records change and the update
// itself did not raise the serial.
UpdatePlan plan_update(const Zone& z, const UpdateRequest& u, uint32_t new_serial);

// Every step in order: the zone section names z (NOTAUTH otherwise, as for a class other
// than IN), prerequisites, prescan, policy for `key`, plan.
UpdatePlan process_update(const Zone& z, const UpdateRequest& u, const UpdatePolicy& policy,
                          std::string_view key, uint32_t new_serial);

// Starts the response (RFC 2136 3.8): the request's ID, QR, opcode UPDATE, `rcode`, and the
// zone section echoed when it could be read (else a bare header); the other counts are 0.
// The caller may add an OPT and signs it with TSIG. False when there is nothing to answer
// (no header) or the buffer is too small.
bool render_update_response(wire::Renderer& r, const UpdateRequest& u, uint16_t rcode);

}  // namespace zone
