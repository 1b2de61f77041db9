// A small blocking DNS client for zonectl's checks: one query to one server, UDP with TCP
// fallback on truncation, short timeouts, no recursion desired.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "zone/wire/rdata.h"

namespace zonectl {

struct Server {
  std::string host;  // numeric address
  uint16_t port = 53;
  std::string label;  // NS name or "ADDR:PORT", for tables
  std::string str() const;
};

struct Response {
  bool answered = false;
  std::string error;  // why not answered
  uint16_t rcode = 0;
  bool aa = false, tc = false;
  std::vector<zone::wire::ParsedRR> answer, authority, additional;
};

Response query(const Server& s, const std::string& name_wire, uint16_t type, int timeout_ms = 1500);

// "192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53"; false if not numeric.
bool parse_server(const std::string& text, Server& out, uint16_t default_port = 53);

// RDATA of A/AAAA as text.
std::string address_text(const zone::wire::ParsedRR& rr);

}  // namespace zonectl
