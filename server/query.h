// The query processor: bytes in -> a decision (answer bytes, a transfer to stream, an answer
// that comes later, or nothing). It checks the header and the opcode, verifies TSIG once,
// handles EDNS (cookies, NSID, EXPIRE), answers QUERY (zones and CHAOS identity), NOTIFY
// (ACL, then the on_notify callback), admits AXFR/IXFR, defers UPDATE, applies the response
// rate limit and counts. No sockets; transports only move bytes. One processor per worker
// thread: no locks, no allocation on the common path. Models: Knot process_query.c, NSD
// query.c query_process.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/notify_in.h"
#include "server/peer.h"
#include "server/policy.h"
#include "server/rrl.h"
#include "server/stats.h"
#include "server/xfr_out.h"
#include "zone/history.h"
#include "zone/wire/message.h"
#include "zone/wire/tsig.h"
#include "zone/zone_table.h"

namespace server {

enum class Transport { udp, tcp };

// An answer produced later, on another thread (DNS UPDATE: committed after an SQLite
// transaction). Everything the processor knew when it deferred the message.
struct DeferredRequest {
  std::vector<uint8_t> message;   // the request as received
  zone::wire::ParsedQuery query;  // its header and zone section (the "question")
  Peer peer;
  Transport transport = Transport::udp;
  zone::wire::TsigCheck tsig;  // verified: ok (tsig.key is the key) or unsigned_message
  zone::wire::TsigKey key;     // a copy of the key: tsig.key points here

  DeferredRequest() = default;
  DeferredRequest(const DeferredRequest&) = delete;
  DeferredRequest& operator=(const DeferredRequest&) = delete;
};

// Called once, from any thread, with the response (unsigned: the processor signs it with the
// request's TSIG), or with nothing to send no answer. Dropping it uncalled is the same as
// calling it with nothing.
using Completion = std::function<void(std::vector<uint8_t> response)>;
using DeferredHandler =
    std::function<void(std::shared_ptr<const DeferredRequest> request, Completion done)>;

// How a transport sends one answer that comes later: called with the bytes (or nothing, to
// release the slot), from any thread, at most once.
using LateSend = std::function<void(std::vector<uint8_t> response)>;
class LateReplies {
 public:
  virtual ~LateReplies() = default;
  // A sender for the message being processed; only called when an answer is deferred.
  virtual LateSend open() = 0;
};

struct QueryOptions {
  uint16_t udp_payload = zone::wire::kDefaultUdpPayload;  // the most we send over UDP
  const zone::History* history = nullptr;  // IXFR out; null: every IXFR gets the whole zone
  NotifyCallback on_notify;                // a NOTIFY was accepted (posts the refresh)
  DeferredHandler on_update;               // UPDATE (opcode 5); unset: NOTIMP
  // Unix time for TSIG, cookies and EXPIRE; read only when a message needs it. Tests and
  // the fuzzer fix it.
  uint64_t (*clock)() = nullptr;  // null: the system clock
};

// One message to process.
struct Request {
  const uint8_t* data = nullptr;
  size_t size = 0;
  Transport transport = Transport::udp;
  Peer peer;
  LateReplies* later = nullptr;  // how to answer later (null: nothing is deferred)
};

// What the transport should do with a message.
enum class Disposition {
  respond,   // send out[0, size)
  drop,      // send nothing
  transfer,  // TCP: write every message of `transfer`, then call its finish()
  deferred,  // the answer comes later through the transport's LateReplies
};

struct QueryResult {
  Disposition disposition = Disposition::drop;
  size_t size = 0;
  uint16_t rcode = 0;         // of the response (extended), for logs and counters
  bool truncated = false;     // TC is set
  bool rate_limited = false;  // dropped or truncated by the response rate limit
  std::unique_ptr<TransferOut> transfer;
};

class QueryProcessor {
 public:
  explicit QueryProcessor(QueryOptions opts = {});

  // Answers one message. `out` must hold at least 65535 bytes. `parsed` receives the parsed
  // query (for logging). `policy` supplies TSIG keys, ACLs, identity, cookie secrets and the
  // rate limit: a signed query gets a signed answer, or NOTAUTH with the TSIG error
  // (RFC 8945 5.2) when its signature does not check out.
  QueryResult process(const Request& req, const zone::ZoneTable& zones, const Policy& policy,
                      uint8_t* out, size_t out_cap, zone::wire::ParsedQuery& parsed);

  const QueryStats& stats() const { return stats_; }
  // Counts something the transport saw (TCP connections accepted or refused); the worker's
  // thread only.
  void count(size_t counter) { stats_.bump(counter); }
  // Periodic work on the worker's thread (a timer of its loop, every few seconds): the rate
  // limiter's summaries of prefixes whose flood stopped are logged now, not at their next query.
  void housekeeping();

 private:
  void count(const Request& req, const zone::wire::ParsedQuery& q, const QueryResult& r,
             const uint8_t* out);

  QueryOptions opts_;
  RateLimiter rrl_;
  QueryStats stats_;
};

// The debug log line of one message, the same for UDP and TCP:
// "udp 127.0.0.1:40521 www.example.com A -> NOERROR 60 bytes edns 1232 do tc".
std::string query_log_line(Transport transport, const Peer& peer,
                           const zone::wire::ParsedQuery& q, const QueryResult& r);

}  // namespace server
