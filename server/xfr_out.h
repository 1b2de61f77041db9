// Outgoing zone transfers over TCP: AXFR (RFC 5936) and IXFR (RFC 1995), access-checked
// against allow-transfer and TSIG-signed across every message when the request was signed.
#pragma once
#include <utility>  // before Asio

#include <boost/asio.hpp>

#include <memory>

#include "server/policy.h"
#include "zone/history.h"
#include "zone/wire/message.h"
#include "zone/wire/tsig.h"
#include "zone/zone_table.h"

namespace server {

class TransferOut {
 public:
  TransferOut(const zone::Publisher<Policy>& policy, const zone::History* history)
      : policy_(policy), history_(history) {}

  // Serves one AXFR/IXFR request (the whole message is query[0, len)) on an established
  // connection. The zone table is held for the whole transfer. Returns false when the
  // connection should be closed.
  boost::asio::awaitable<bool> serve(boost::asio::ip::tcp::socket& sock, const uint8_t* query,
                                     size_t len, const zone::wire::ParsedQuery& q,
                                     std::shared_ptr<const zone::ZoneTable> zones);

  // IXFR over UDP (RFC 1995 2): the current SOA, access-checked and signed like TCP; AXFR
  // over UDP is refused. Returns the answer's size in out.
  size_t answer_udp(const uint8_t* query, size_t len, const zone::wire::ParsedQuery& q,
                    const boost::asio::ip::address& from, const zone::ZoneTable& zones,
                    uint8_t* out, size_t cap);

 private:
  struct Admission {
    uint16_t refuse = 0;      // rcode when refused, 0 when allowed
    uint16_t tsig_error = 0;
    zone::wire::TsigCheck tsig;
    const zone::wire::TsigKey* key = nullptr;  // the request was signed with it
    const zone::Zone* zone = nullptr;
  };
  // TSIG, zone and allow-transfer checks shared by TCP and UDP (logs refusals).
  static Admission admit(const uint8_t* query, size_t len, const zone::wire::ParsedQuery& q,
                         const boost::asio::ip::address& from, const std::string& peer,
                         const Policy& policy, const zone::ZoneTable& zones);

  zone::Reader<Policy> policy_;
  const zone::History* history_;
};

}  // namespace server
