// Who this server says it is: EDNS NSID (RFC 5001) and the CHAOS-class TXT names
// id.server / hostname.bind and version.server / version.bind (RFC 4892).
#pragma once
#include <string>
#include <string_view>

namespace server {

struct ServerIdentity {
  std::string nsid;      // raw bytes; empty: no NSID option in answers
  std::string identity;  // id.server, hostname.bind; empty: REFUSED
  std::string version;   // version.server, version.bind; empty: REFUSED
};

// The TXT text to answer a CH TXT query for `qname_lower` (lowercased wire) with, or nullptr
// when the name is not one of ours or its answer is turned off (the caller says REFUSED).
const std::string* chaos_text(const ServerIdentity& id, std::string_view qname_lower);

// This machine's host name (gethostname), "" when it has none.
std::string host_name();

}  // namespace server
