// Delegations as first-class objects: listing the cuts of a zone, and planning the
// changeset that adds, replaces or removes one (NS at the cut, in-domain glue, DS).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zone/changeset.h"
#include "zone/zone.h"

namespace zone {

struct Delegation {
  std::string child;                     // lowercased wire
  uint32_t ttl = 0;
  std::vector<std::string> ns;           // target names, wire
  std::vector<Record> glue;              // A/AAAA of in-domain targets present in the zone
  std::vector<std::string> ds;           // DS RDATA, wire
};

std::vector<Delegation> list_delegations(const Zone& z);

struct NsSpec {
  std::string name;                      // lowercased wire
  std::vector<std::string> addresses;    // IPv4/IPv6 text; required only for in-domain names
};

struct DelegationSpec {
  std::string child;                     // lowercased wire, strictly below the apex
  std::vector<NsSpec> ns;
  std::vector<std::string> ds;           // DS RDATA, wire
  uint32_t ttl = 3600;
};

// The changeset that makes `spec` the delegation at spec.child (replacing whatever NS, DS
// and glue were there; glue no other delegation needs goes), with the SOA serial set to
// new_serial. Nullopt with errors[] on bad input (glue for names outside the cut, missing
// addresses for names inside it, a child that is not below the apex, ...).
std::optional<Changeset> plan_delegation(const Zone& z, const DelegationSpec& spec,
                                         uint32_t new_serial, std::vector<std::string>& errors);
std::optional<Changeset> plan_undelegation(const Zone& z, const std::string& child,
                                           uint32_t new_serial, std::vector<std::string>& errors);

// DS RDATA (wire) from "KEYTAG ALGORITHM DIGESTTYPE DIGEST" text; false if malformed.
bool ds_from_text(const std::string& owner_text, const std::string& text, std::string& rdata);

// A readable diff ("- name TTL IN TYPE rdata" / "+ ...") using ldns to print records.
std::string changeset_text(const Changeset& c);
std::string record_text(const Record& r);

}  // namespace zone
