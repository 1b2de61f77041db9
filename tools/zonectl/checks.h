// zonectl's live checks: the preflight before a delegation change, and check-delegation
// (does the parent agree with the child's servers, and do they agree with each other).
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tools/zonectl/dns_client.h"

namespace zonectl {

struct Finding {
  bool error = true;  // false: a warning
  std::string text;
};

// Finds the addresses of a nameserver name: from `known` (glue), else by asking `helpers`
// (servers that may be authoritative for it), else the system resolver.
std::vector<std::string> resolve(const std::string& name_wire,
                                 const std::map<std::string, std::vector<std::string>>& known,
                                 const std::vector<Server>& helpers);

// Is `name_wire` a CNAME according to any of these servers?
bool is_cname(const std::string& name_wire, const std::vector<Server>& servers);

struct NsInput {
  std::string name;                    // wire
  std::vector<std::string> addresses;  // as given
};

// Before `delegate`: every NS answers authoritatively for the child's SOA, no NS is a CNAME,
// at least two NS (unless allow_single), not all in one /24 or /48, DS matches a DNSKEY.
std::vector<Finding> preflight(const std::string& child_wire, const std::vector<NsInput>& ns,
                               const std::vector<std::string>& ds_rdatas, bool allow_single,
                               const std::vector<Server>& helpers, uint16_t port);

struct ServerReport {
  std::string role;  // "parent" or "child"
  Server server;
  bool answered = false;
  bool authoritative = false;  // AA set on its answer (a parent's referral is not)
  bool referral = false;       // a parent that answered with the delegation (NS, no AA)
  std::string error;
  bool has_serial = false;
  uint32_t serial = 0;
  std::vector<std::string> ns;  // the NS set it gives for the domain (text)
};

struct DelegationReport {
  std::vector<ServerReport> servers;
  std::vector<Finding> findings;
  bool ok() const {
    for (const auto& f : findings)
      if (f.error) return false;
    return true;
  }
};

DelegationReport check_delegation(const std::string& domain_wire, const std::vector<Server>& parents,
                                  const std::vector<Server>& extra, const std::vector<Server>& helpers,
                                  uint16_t port);

}  // namespace zonectl
