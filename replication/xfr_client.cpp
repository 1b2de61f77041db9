#include "replication/xfr_client.h"

#include <ctime>
#include <random>

#include "zone/wire/message.h"
#include "zone/wire/name.h"
#include "zone/wire/rdata.h"
#include "zone/wire/render.h"
#include "zone/wire/serial.h"

namespace replication {

namespace asio = boost::asio;
using namespace zone::wire;
using asio::ip::tcp;
using asio::ip::udp;

std::string Remote::str() const {
  std::string a = address.to_string();
  if (address.is_v6()) a = "[" + a + "]";
  return a + ":" + std::to_string(port);
}

std::string Remote::label() const { return (name.empty() ? std::string("remote") : name) + " (" + str() + ")"; }

namespace {

uint16_t random_id() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<uint16_t>(rng());
}

uint64_t now() { return static_cast<uint64_t>(std::time(nullptr)); }

// Builds a query (with the current SOA in authority for IXFR) and signs it when keyed.
// Returns the request MAC through `mac`.
std::vector<uint8_t> build_query(const Remote& r, const std::string& origin, uint16_t qtype,
                                 const zone::Zone* current, uint16_t id, std::string& mac) {
  std::vector<uint8_t> buf(2 + 4096);
  Renderer w(buf.data() + 2, 4096);
  w.begin(id, 0, origin, qtype, rrclass::IN);
  if (current) {
    const RRset& soa = current->soa();
    w.add_rrset(Section::authority, current->origin(), soa);
  }
  size_t len = w.size();
  if (r.key) {
    auto m = tsig_sign(buf.data() + 2, len, 4096, *r.key, now(), {}, false);
    if (m) mac = *m;
  }
  buf[0] = static_cast<uint8_t>(len >> 8);
  buf[1] = static_cast<uint8_t>(len);
  buf.resize(len + 2);
  return buf;
}

// Checks a response's header and TSIG; returns an error text or empty.
std::string check_response(const Remote& r, const uint8_t* msg, size_t len, uint16_t id,
                           std::string& prior_mac, bool first, std::string& unsigned_buf,
                           bool& signed_msg) {
  if (len < kHeaderSize) return "short message";
  if (get16(msg) != id) return "response id does not match";
  uint16_t flags = get16(msg + 2);
  if (!(flags & flag::QR)) return "not a response";
  signed_msg = false;
  if (r.key) {
    const zone::wire::TsigKey& key = *r.key;
    TsigCheck c = tsig_verify(
        msg, len, [&](std::string_view n) { return n == key.name ? &key : nullptr; }, now(),
        prior_mac, !first, unsigned_buf);
    if (c.status == TsigCheck::unsigned_message) {
      if (first) return "response is not TSIG-signed";
      unsigned_buf.append(reinterpret_cast<const char*>(msg), len);
      if (unsigned_buf.size() > 100 * 65535) return "too many unsigned messages";
    } else if (c.status != TsigCheck::ok) {
      static const char* why[] = {"", "", "malformed TSIG", "BADKEY", "BADSIG", "BADTIME"};
      return std::string("TSIG check failed: ") + why[c.status] +
             (c.error ? " (the remote says error " + std::to_string(c.error) + ")" : "");
    } else {
      prior_mac = c.mac;
      unsigned_buf.clear();
      signed_msg = true;
    }
  }
  unsigned rc = flags & 0xF;
  if (rc != rcode::NOERROR) return "remote answered " + rcode_text(static_cast<uint16_t>(rc));
  return {};
}

// Lets a timer cancel pending socket operations.
template <class Socket>
struct Deadline {
  Deadline(asio::any_io_executor ex, std::shared_ptr<Socket> s) : timer(ex), sock(std::move(s)) {}
  void arm(std::chrono::milliseconds d) {
    timer.expires_after(d);
    timer.async_wait([s = sock](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        s->cancel(ignored);
      }
    });
  }
  ~Deadline() { timer.cancel(); }
  asio::steady_timer timer;
  std::shared_ptr<Socket> sock;
};

}  // namespace

namespace {

// One UDP query and its checked answer (header, id, source, TSIG): the message, or why not.
struct UdpAnswer {
  std::string error;
  bool refused = false;
  std::vector<uint8_t> buf;
  size_t n = 0;
  size_t answer_at = 0;  // where the answer section starts (after the one question)
};

asio::awaitable<UdpAnswer> query_udp(const Remote& remote, const std::string& name, uint16_t qtype,
                                     std::chrono::milliseconds timeout) {
  UdpAnswer res;
  auto ex = co_await asio::this_coro::executor;
  auto sock = std::make_shared<udp::socket>(ex);
  boost::system::error_code ec;
  udp::endpoint ep(remote.address, remote.port);
  open_for(*sock, remote, ec);
  if (ec) {
    res.error = (remote.via ? "source address " + remote.via->to_string() + ": " : std::string()) +
                ec.message();
    co_return res;
  }
  uint16_t id = random_id();
  std::string mac;
  auto q = build_query(remote, name, qtype, nullptr, id, mac);
  Deadline<udp::socket> dl(ex, sock);
  dl.arm(timeout);
  co_await sock->async_send_to(asio::buffer(q.data() + 2, q.size() - 2), ep,
                               asio::redirect_error(asio::use_awaitable, ec));
  res.buf.resize(65535);
  for (;;) {
    if (ec) break;
    udp::endpoint from;
    size_t n = co_await sock->async_receive_from(asio::buffer(res.buf), from,
                                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    if (from.address() != remote.address || n < kHeaderSize || get16(res.buf.data()) != id)
      continue;  // not our answer: keep waiting (spoofing resistance)
    std::string unsigned_buf;
    bool signed_msg;
    std::string err = check_response(remote, res.buf.data(), n, id, mac, true, unsigned_buf, signed_msg);
    if (!err.empty()) {
      res.error = err;
      res.refused = (get16(res.buf.data() + 2) & 0xF) == rcode::REFUSED;
      co_return res;
    }
    res.n = n;
    size_t pos = kHeaderSize;
    uint8_t qname[kMaxNameLen];
    size_t nlen;
    if (get16(res.buf.data() + 4) != 1 ||
        read_name(res.buf.data(), n, pos, qname, nlen) != NameError::ok || pos + 4 > n) {
      res.error = "malformed response";
      co_return res;
    }
    res.answer_at = pos + 4;
    co_return res;
  }
  res.error = ec == asio::error::operation_aborted ? "timed out" : ec.message();
  co_return res;
}

}  // namespace

asio::awaitable<SoaCheck> query_soa(const Remote& remote, const std::string& origin,
                                    std::chrono::milliseconds timeout) {
  SoaCheck res;
  UdpAnswer a = co_await query_udp(remote, origin, rrtype::SOA, timeout);
  if (!a.error.empty()) {
    res.error = a.error;
    res.refused = a.refused;
    co_return res;
  }
  const uint8_t* buf = a.buf.data();
  const size_t n = a.n;
  // Find the SOA of the zone in the answer.
  size_t pos = a.answer_at;
  for (uint16_t i = 0; i < get16(buf + 6); ++i) {
    ParsedRR rr;
    if (!parse_rr(buf, n, pos, rr)) break;
    SoaFields f;
    if (rr.type == rrtype::SOA && lowered(rr.owner) == origin && parse_soa(rr.rdata, f)) {
      if (!(get16(buf + 2) & flag::AA)) {
        res.error = "SOA answer is not authoritative (lame)";
        co_return res;
      }
      res.ok = true;
      res.serial = f.serial;
      co_return res;
    }
  }
  res.error = "no SOA for the zone in the answer";
  co_return res;
}

asio::awaitable<RRsetCheck> query_rrset(const Remote& remote, const std::string& name,
                                        uint16_t qtype, std::chrono::milliseconds timeout) {
  RRsetCheck res;
  UdpAnswer a = co_await query_udp(remote, name, qtype, timeout);
  if (!a.error.empty()) {
    res.error = a.error;
    co_return res;
  }
  const uint8_t* buf = a.buf.data();
  const size_t n = a.n;
  const uint16_t flags = get16(buf + 2);
  if (flags & flag::TC) {
    res.error = "answer truncated";
    co_return res;
  }
  if ((flags & 0xF) != rcode::NOERROR && (flags & 0xF) != rcode::NXDOMAIN) {
    res.error = "answers " + rcode_text(flags & 0xF);
    co_return res;
  }
  res.authoritative = (flags & flag::AA) != 0;
  size_t pos = a.answer_at;
  for (uint16_t i = 0; i < get16(buf + 6); ++i) {
    ParsedRR rr;
    if (!parse_rr(buf, n, pos, rr)) {
      res.error = "malformed response";
      co_return res;
    }
    if (rr.type == qtype && lowered(rr.owner) == name) res.rdatas.emplace_back(rr.rdata);
  }
  res.ok = true;
  co_return res;
}

asio::awaitable<TransferResult> transfer(const Remote& remote, const std::string& origin,
                                         const zone::Zone* current,
                                         std::chrono::seconds timeout) {
  TransferResult res;
  auto ex = co_await asio::this_coro::executor;
  auto sock = std::make_shared<tcp::socket>(ex);
  boost::system::error_code ec;
  Deadline<tcp::socket> dl(ex, sock);
  dl.arm(timeout);
  open_for(*sock, remote, ec);
  if (ec) {
    res.error = "source address " + (remote.via ? remote.via->to_string() : std::string("?")) +
                ": " + ec.message();
    co_return res;
  }
  co_await sock->async_connect(tcp::endpoint(remote.address, remote.port),
                               asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    res.error = "connect: " + (ec == asio::error::operation_aborted ? std::string("timed out")
                                                                     : ec.message());
    co_return res;
  }
  uint16_t qtype = current ? rrtype::IXFR : rrtype::AXFR;
  uint16_t id = random_id();
  std::string mac;
  auto q = build_query(remote, origin, qtype, current, id, mac);
  co_await asio::async_write(*sock, asio::buffer(q), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    res.error = "send: " + ec.message();
    co_return res;
  }

  enum class Mode { start, decide, full, ixfr_del, ixfr_add, done } mode = Mode::start;
  uint32_t new_serial = 0;
  std::vector<zone::Record> records;  // full transfer
  zone::Changeset cur;                // incremental: the one being read
  zone::Record first_soa;
  std::string unsigned_buf;
  bool last_signed = false;
  std::vector<uint8_t> buf(65535);
  bool first = true;
  std::string err;
  while (mode != Mode::done && err.empty()) {
    uint8_t lenbuf[2];
    dl.arm(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
    co_await asio::async_read(*sock, asio::buffer(lenbuf), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      size_t n = static_cast<size_t>(lenbuf[0]) << 8 | lenbuf[1];
      co_await asio::async_read(*sock, asio::buffer(buf.data(), n),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        ++res.messages;
        res.bytes += n;
        const uint8_t* m = buf.data();
        err = check_response(remote, m, n, id, mac, first, unsigned_buf, last_signed);
        if (!err.empty()) break;
        size_t pos = kHeaderSize;
        for (uint16_t i = 0; i < get16(m + 4); ++i) {
          uint8_t name[kMaxNameLen];
          size_t nlen;
          if (read_name(m, n, pos, name, nlen) != NameError::ok || pos + 4 > n) {
            err = "malformed question";
            break;
          }
          pos += 4;
        }
        uint16_t an = get16(m + 6);
        for (uint16_t i = 0; i < an && err.empty(); ++i) {
          ParsedRR rr;
          if (!parse_rr(m, n, pos, rr)) {
            err = "malformed record in message " + std::to_string(res.messages);
            break;
          }
          if (mode == Mode::done) {
            err = "records after the final SOA";
            break;
          }
          ++res.records;
          zone::Record rec{lowered(rr.owner), rr.type, rr.ttl, std::move(rr.rdata)};
          bool is_soa = rec.type == rrtype::SOA;
          SoaFields f;
          if (is_soa && (rec.owner != origin || !parse_soa(rec.rdata, f))) {
            err = "SOA for another name in the transfer";
            break;
          }
          switch (mode) {
            case Mode::start:
              if (!is_soa) {
                err = "transfer does not start with the SOA";
                break;
              }
              new_serial = f.serial;
              first_soa = rec;
              mode = Mode::decide;
              break;
            case Mode::decide:
              if (current && is_soa && f.serial == current->serial() &&
                  f.serial != new_serial) {
                mode = Mode::ixfr_del;  // RFC 1995 incremental format
                cur = zone::Changeset{};
                cur.soa_from = rec;
              } else if (is_soa) {
                mode = Mode::done;  // SOA twice: an empty zone is not valid, but end
                err = "transfer holds no records";
              } else {
                mode = Mode::full;
                records.push_back(first_soa);
                records.push_back(std::move(rec));
              }
              break;
            case Mode::full:
              if (is_soa) {
                mode = Mode::done;  // the closing SOA
              } else {
                records.push_back(std::move(rec));
              }
              break;
            case Mode::ixfr_del:
              if (is_soa) {
                cur.soa_to = rec;
                mode = Mode::ixfr_add;
              } else {
                cur.removed.push_back(std::move(rec));
              }
              break;
            case Mode::ixfr_add:
              if (is_soa) {
                res.changes.push_back(std::move(cur));
                cur = zone::Changeset{};
                if (f.serial == new_serial) {
                  mode = Mode::done;
                } else {
                  cur.soa_from = rec;
                  mode = Mode::ixfr_del;
                }
              } else {
                cur.added.push_back(std::move(rec));
              }
              break;
            case Mode::done:
              break;
          }
        }
        first = false;
        // A single SOA in the first message answers an IXFR: nothing newer (RFC 1995 2).
        if (err.empty() && mode == Mode::decide && current && res.messages == 1) {
          if (!serial_gt(new_serial, current->serial())) {
            res.kind = TransferResult::up_to_date;
            res.serial = new_serial;
            co_return res;
          }
          err = "IXFR answered with a newer SOA only (the primary wants AXFR)";
        }
      }
    }
    if (ec) {
      err = ec == asio::error::operation_aborted ? "timed out"
            : ec == asio::error::eof            ? "connection closed mid-transfer"
                                                : ec.message();
    }
  }
  if (err.empty() && remote.key && !last_signed) err = "last message is not TSIG-signed";
  if (!err.empty()) {
    res.error = err;
    co_return res;
  }
  res.serial = new_serial;
  if (!res.changes.empty()) {
    res.kind = TransferResult::incremental;
    co_return res;
  }
  zone::ZoneBuilder b(origin, "transfer from " + remote.str());
  for (const auto& r : records) b.add(r.owner, r.type, r.ttl, r.rdata);
  std::vector<zone::ZoneError> errors;
  res.zone = b.build(errors);
  if (!res.zone) {
    res.error = "transferred zone fails its checks: " +
                (errors.empty() ? std::string("?") : errors.front().message);
    co_return res;
  }
  res.kind = TransferResult::full;
  co_return res;
}

}  // namespace replication
