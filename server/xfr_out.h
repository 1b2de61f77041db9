// Outgoing zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995). The query processor admits a
// request (admit_transfer) and, over TCP, hands the session a TransferOut: a generator of
// the transfer's messages, each rendered and, when the request was signed, TSIG-signed as
// RFC 8945 5.3.1 says. The session only writes them out; nothing here knows a socket.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "server/peer.h"
#include "server/policy.h"
#include "zone/changeset.h"
#include "zone/history.h"
#include "zone/wire/message.h"
#include "zone/wire/render.h"
#include "zone/wire/tsig.h"
#include "zone/zone.h"

namespace server {

// Why a transfer request is refused, or 0 when it may go on: NOTAUTH for a zone not served
// here (or not class IN), REFUSED when allow-transfer does not list the client with the key
// it signed with (`key`, null when unsigned). Logs refusals on the "xfr" logger.
uint16_t admit_transfer(const zone::wire::ParsedQuery& q, const Peer& peer,
                        const zone::wire::TsigKey* key, const Policy& policy,
                        const zone::Zone* zone);

// The serial in the SOA of an IXFR request's authority section (RFC 1995 3).
bool ixfr_client_serial(const uint8_t* msg, size_t len, const zone::wire::ParsedQuery& q,
                        uint32_t& serial);

class TransferOut {
 public:
  struct Options {
    const zone::History* history = nullptr;  // IXFR; null: every IXFR gets the whole zone
    std::optional<zone::wire::TsigKey> key;  // the request was signed with it
    std::string request_mac;
    // An OPT in every message when the request had one (RFC 5936 2.2.5), with these
    // options (EXPIRE, cookie) already encoded.
    bool edns = false;
    bool do_bit = false;
    uint16_t udp_payload = zone::wire::kDefaultUdpPayload;
    std::string opt_options;
    uint64_t now = 0;  // unix time for TSIG; 0: the clock
  };

  // `query` is the whole request; the zone version is held until the transfer is destroyed,
  // whatever is published meanwhile.
  TransferOut(std::shared_ptr<const zone::Zone> zone, const uint8_t* query, size_t len,
              const zone::wire::ParsedQuery& q, const Peer& peer, Options opts);
  ~TransferOut();
  TransferOut(const TransferOut&) = delete;
  TransferOut& operator=(const TransferOut&) = delete;

  // The next message, with its 2-byte TCP length prefix; empty once the transfer is complete
  // or cannot go on (failed()). Valid until the next call.
  std::span<const uint8_t> next();
  bool failed() const { return failed_; }
  // Logs the outcome on the "xfr" logger; `delivered`: every message was written.
  void finish(bool delivered);

  // "AXFR", "IXFR", "IXFR (current)" (one SOA: the client is up to date) or
  // "AXFR-style IXFR" (the history does not reach back to the client's serial).
  const char* mode() const { return mode_; }
  size_t messages() const { return messages_; }
  size_t records() const { return records_; }
  size_t bytes() const { return bytes_; }
  const std::string& origin() const;

  struct Record {
    zone::wire::NameView owner;
    uint16_t type = 0;
    uint32_t ttl = 0;
    std::string_view rdata;
  };
  class Source;

 private:
  void start(bool first);
  bool seal();

  std::shared_ptr<const zone::Zone> zone_;
  zone::wire::ParsedQuery q_;
  Peer peer_;
  Options opts_;
  const char* mode_ = "AXFR";
  bool have_client_serial_ = false;
  uint32_t client_serial_ = 0;
  std::optional<zone::Changeset> diff_;
  std::unique_ptr<Source> src_;
  Record rec_;
  bool have_ = false;  // rec_ holds the next record to send
  bool done_ = false, failed_ = false;
  std::string prior_mac_;
  std::vector<uint8_t> buf_;
  zone::wire::Renderer r_;
  std::unique_ptr<zone::wire::CompressionIndex> index_;
  size_t sealed_ = 0;
  size_t messages_ = 0, records_ = 0, bytes_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace server
