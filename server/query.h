// Query processing: bytes in -> bytes out. No sockets, no locks, no allocation on the
// common path. The caller owns the buffers and the zone-table snapshot.
#pragma once
#include <cstddef>
#include <cstdint>

#include "server/policy.h"
#include "zone/wire/message.h"
#include "zone/zone_table.h"

namespace server {

struct QueryOptions {
  uint16_t udp_payload = zone::wire::kDefaultUdpPayload;  // the most we send over UDP
};

enum class Transport { udp, tcp };

// What the transport should do with a message.
enum class Disposition {
  respond,   // send out[0, size)
  drop,      // send nothing
  transfer,  // AXFR/IXFR over TCP, IXFR over UDP: the transport hands it to the transfer code
  notify,    // NOTIFY: the transport hands it to the NOTIFY code (it knows the source)
};

struct QueryResult {
  Disposition disposition = Disposition::drop;
  size_t size = 0;
};

class QueryProcessor {
 public:
  explicit QueryProcessor(QueryOptions opts = {}) : opts_(opts) {}

  // Answers one message. `out` must hold at least 65535 bytes. `parsed` receives the parsed
  // query (useful for logging and for transfers).
  // `policy` supplies the TSIG keys: a signed query gets a signed answer, or NOTAUTH with
  // the TSIG error (RFC 8945 5.2) when its signature does not check out.
  QueryResult process(const uint8_t* in, size_t len, Transport transport,
                      const zone::ZoneTable& zones, uint8_t* out, size_t out_cap,
                      zone::wire::ParsedQuery& parsed, const Policy* policy = nullptr) const;

 private:
  QueryOptions opts_;
};

}  // namespace server
