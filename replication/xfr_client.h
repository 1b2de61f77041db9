// Talking to a primary: SOA queries over UDP and AXFR/IXFR over TCP, TSIG-signed when the
// remote has a key. Runs on the replication thread's io_context.
#pragma once
#include <utility>  // before Asio

#include <boost/asio.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zone/changeset.h"
#include "zone/wire/tsig.h"
#include "zone/zone.h"

namespace replication {

struct Remote {
  std::string name;
  boost::asio::ip::address address;
  uint16_t port = 53;
  std::optional<zone::wire::TsigKey> key;
  // Source address for everything sent to it (NOTIFY, SOA queries, transfers), so that a
  // peer whose ACL names this server's address accepts it. Unset: the kernel's choice.
  std::optional<boost::asio::ip::address> via;
  std::string str() const;    // "127.0.0.1:53"
  std::string label() const;  // "name (127.0.0.1:53)", as every log line names a remote
};

// Opens `sock` for talking to `remote`, bound to its `via` address when it has one.
template <class Socket>
void open_for(Socket& sock, const Remote& remote, boost::system::error_code& ec) {
  using Endpoint = typename Socket::endpoint_type;
  Endpoint ep(remote.address, remote.port);
  sock.open(ep.protocol(), ec);
  if (!ec && remote.via) sock.bind(Endpoint(*remote.via, 0), ec);
}

struct SoaCheck {
  bool ok = false;
  uint32_t serial = 0;
  std::string error;
  // The primary answered REFUSED (Knot refuses plain queries to the catalog zones it
  // generates, and answers them unsigned): the transfer may still be allowed.
  bool refused = false;
};

boost::asio::awaitable<SoaCheck> query_soa(const Remote& remote, const std::string& origin,
                                           std::chrono::milliseconds timeout);

// One RRset asked of a server (the DS of a child at its parent's servers).
struct RRsetCheck {
  bool ok = false;             // answered NOERROR/NXDOMAIN
  bool authoritative = false;  // with AA
  std::vector<std::string> rdatas;  // the RRset of that name and type in the answer
  std::string error;
};

boost::asio::awaitable<RRsetCheck> query_rrset(const Remote& remote, const std::string& name,
                                               uint16_t qtype, std::chrono::milliseconds timeout);

struct TransferResult {
  enum Kind { failed, up_to_date, full, incremental } kind = failed;
  std::shared_ptr<const zone::Zone> zone;  // full
  std::vector<zone::Changeset> changes;    // incremental, oldest first
  uint32_t serial = 0;                     // the serial the primary sent
  std::string error;
  size_t messages = 0, records = 0, bytes = 0;
};

// AXFR, or IXFR from `current` when given. Every message must arrive within `timeout` of
// the previous one.
boost::asio::awaitable<TransferResult> transfer(const Remote& remote, const std::string& origin,
                                                const zone::Zone* current,
                                                std::chrono::seconds timeout);

}  // namespace replication
