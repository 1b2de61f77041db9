#include "server/xfr_out.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <algorithm>
#include <cstring>
#include <ctime>
#include <optional>
#include <vector>

#include "zone/changeset.h"
#include "zone/wire/render.h"
#include "zone/wire/serial.h"

namespace server {

namespace asio = boost::asio;
using namespace zone::wire;

namespace {

constexpr size_t kTsigRoom = 256;  // room kept for the TSIG record of each message

std::shared_ptr<spdlog::logger> xfr_log() {
  auto l = spdlog::get("xfr");
  return l ? l : spdlog::default_logger();
}

// The serial in the SOA of an IXFR request's authority section (RFC 1995 3).
bool ixfr_client_serial(const uint8_t* msg, size_t len, const ParsedQuery& q, uint32_t& serial) {
  if (get16(msg + 8) == 0) return false;
  size_t pos = q.question_end;
  for (uint16_t i = 0; i < get16(msg + 6); ++i)
    if (!skip_rr(msg, len, pos)) return false;
  uint8_t name[kMaxNameLen];
  size_t nlen;
  if (read_name(msg, len, pos, name, nlen) != NameError::ok || pos + 10 > len) return false;
  if (get16(msg + pos) != rrtype::SOA) return false;
  uint16_t rdlen = get16(msg + pos + 8);
  pos += 10;
  if (pos + rdlen > len) return false;
  // Two (possibly compressed) names, then the serial.
  for (int i = 0; i < 2; ++i)
    if (read_name(msg, len, pos, name, nlen) != NameError::ok) return false;
  if (pos + 20 > len) return false;
  serial = get32(msg + pos);
  return true;
}

// Builds the messages of one transfer. Only plain functions: the coroutine that owns it
// does the writing (GCC 12 miscompiles some nested coroutine patterns).
class Stream {
 public:
  Stream(const ParsedQuery& q, const TsigKey* key, std::string request_mac)
      : q_(q), key_(key), prior_mac_(std::move(request_mac)), buf_(2 + kMaxMessage),
        r_(buf_.data() + 2, kMaxMessage), index_(std::make_unique<CompressionIndex>()) {
    r_.use_index(index_.get());  // thousands of names per message
    start(true);
  }

  // Adds one record to the current message; false when it is full (flush, then retry).
  bool add(NameView owner, uint16_t type, uint32_t ttl, std::string_view rd) {
    if (!r_.add_rr(Section::answer, owner, type, ttl, rd)) return false;
    ++records_;
    return true;
  }
  bool empty() const { return r_.count(Section::answer) == 0; }

  // Signs and frames the current message; the bytes to write are data()[0, size()).
  bool seal() {
    size_t len = r_.size();
    if (key_) {
      auto mac = tsig_sign(buf_.data() + 2, len, kMaxMessage, *key_, now(), prior_mac_,
                           messages_ > 0);
      if (!mac) return false;
      prior_mac_ = *mac;
    }
    buf_[0] = static_cast<uint8_t>(len >> 8);
    buf_[1] = static_cast<uint8_t>(len);
    sealed_ = len + 2;
    ++messages_;
    bytes_ += len;
    return true;
  }
  asio::const_buffer sealed() const { return asio::buffer(buf_.data(), sealed_); }
  void next() { start(false); }

  size_t messages() const { return messages_; }
  size_t records() const { return records_; }
  size_t bytes() const { return bytes_; }
  static uint64_t now() { return static_cast<uint64_t>(std::time(nullptr)); }

 private:
  void start(bool first) {
    uint16_t flags = static_cast<uint16_t>(flag::QR | flag::AA | (q_.flags & 0x7800));
    // The question goes in the first message only (RFC 5936 2.2.1).
    if (first)
      r_.begin(q_.id, flags, q_.name(), q_.qtype, q_.qclass);
    else
      r_.begin_header_only(q_.id, flags);
    r_.set_limit(kMaxMessage - (key_ ? kTsigRoom : 0));
  }

  const ParsedQuery& q_;
  const TsigKey* key_;
  std::string prior_mac_;
  std::vector<uint8_t> buf_;
  Renderer r_;
  std::unique_ptr<CompressionIndex> index_;
  size_t sealed_ = 0;
  size_t messages_ = 0, records_ = 0, bytes_ = 0;
};

struct RecordView {
  NameView owner;
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string_view rdata;
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  virtual bool next(RecordView& r) = 0;
};

RecordView soa_view(const zone::Zone& z) {
  return {z.origin(), rrtype::SOA, z.soa().ttl, std::string_view(z.soa().data).substr(2)};
}

class SoaOnly : public RecordSource {
 public:
  explicit SoaOnly(const zone::Zone& z) : z_(z) {}
  bool next(RecordView& r) override {
    if (done_) return false;
    r = soa_view(z_);
    done_ = true;
    return true;
  }

 private:
  const zone::Zone& z_;
  bool done_ = false;
};

// SOA, the apex, every other node, SOA again (RFC 5936 2.2), walking the zone in place.
class ZoneSource : public RecordSource {
 public:
  explicit ZoneSource(const zone::Zone& z) : z_(z) {
    nodes_.reserve(z.node_count());
    nodes_.push_back(&z.apex());
    z.for_each_node([&](const zone::Node& n) {
      if (&n != &z.apex() && !n.empty()) nodes_.push_back(&n);
    });
  }
  bool next(RecordView& r) override {
    if (phase_ == 0 || phase_ == 2) {
      r = soa_view(z_);
      ++phase_;
      return true;
    }
    if (phase_ > 2) return false;
    for (;;) {
      if (node_ >= nodes_.size()) {
        phase_ = 2;
        return next(r);
      }
      const zone::Node& n = *nodes_[node_];
      if (set_ >= n.rrsets.size()) {
        ++node_, set_ = 0, off_ = 0;
        continue;
      }
      const zone::wire::RRset& set = n.rrsets[set_];
      if (set.type == rrtype::SOA || off_ + 2 > set.data.size()) {
        ++set_, off_ = 0;
        continue;
      }
      uint16_t l = get16(reinterpret_cast<const uint8_t*>(set.data.data()) + off_);
      std::string_view rd = std::string_view(set.data).substr(off_ + 2, l);
      r = {n.name, set.type, n.record_ttl(set, rd), rd};
      off_ += 2 + l;
      return true;
    }
  }

 private:
  const zone::Zone& z_;
  std::vector<const zone::Node*> nodes_;
  size_t node_ = 0, set_ = 0, off_ = 0;
  int phase_ = 0;
};

// RFC 1995 incremental format: new SOA, old SOA, removed, new SOA, added, new SOA.
class DiffSource : public RecordSource {
 public:
  DiffSource(const zone::Zone& z, const zone::Changeset& c) : z_(z), c_(c) {}
  bool next(RecordView& r) override {
    auto view = [](const zone::Record& x) {
      return RecordView{x.owner, x.type, x.ttl, x.rdata};
    };
    switch (phase_) {
      case 0: r = soa_view(z_); phase_ = 1; return true;
      case 1: r = view(c_.soa_from); phase_ = 2; return true;
      case 2:
        if (i_ < c_.removed.size()) { r = view(c_.removed[i_++]); return true; }
        r = view(c_.soa_to); phase_ = 3; i_ = 0; return true;
      case 3:
        if (i_ < c_.added.size()) { r = view(c_.added[i_++]); return true; }
        r = soa_view(z_); phase_ = 4; return true;
      default: return false;
    }
  }

 private:
  const zone::Zone& z_;
  const zone::Changeset& c_;
  int phase_ = 0;
  size_t i_ = 0;
};

// A single-message error answer, signed as RFC 8945 5.2 says.
std::vector<uint8_t> error_answer(const ParsedQuery& q, const TsigCheck& tsig, uint16_t rc,
                                  uint16_t tsig_err) {
  std::vector<uint8_t> buf(2 + 1024);
  Renderer r(buf.data() + 2, 1024 - kTsigRoom);
  r.begin(q.id, static_cast<uint16_t>(flag::QR | (q.flags & 0x7800)), q.name(), q.qtype,
          q.qclass);
  r.set_rcode(rc);
  size_t n = r.size();
  if (q.has_tsig) tsig_sign_answer(buf.data() + 2, n, 1024, tsig, tsig_err, Stream::now());
  buf[0] = static_cast<uint8_t>(n >> 8);
  buf[1] = static_cast<uint8_t>(n);
  buf.resize(n + 2);
  return buf;
}

}  // namespace

TransferOut::Admission TransferOut::admit(const uint8_t* query, size_t len, const ParsedQuery& q,
                                          const asio::ip::address& from, const std::string& peer,
                                          const Policy& policy, const zone::ZoneTable& zones) {
  auto log = xfr_log();
  Admission a;
  const char* kind = q.qtype == rrtype::AXFR ? "AXFR" : "IXFR";
  std::string zname = name_to_text(q.name_lower());
  // TSIG first: a bad signature is answered before anything else (RFC 8945 5.2).
  if (q.has_tsig)
    a.tsig = tsig_verify(query, len, [&](std::string_view n) { return policy.find_key(n); },
                         Stream::now(), {}, false);
  a.key = a.tsig.status == TsigCheck::ok ? a.tsig.key : nullptr;
  a.zone = zones.find_exact(q.name_lower());
  switch (a.tsig.status) {
    case TsigCheck::ok:
    case TsigCheck::unsigned_message:
      break;
    case TsigCheck::formerr:
      log->warn("{} of {} from {}: malformed TSIG", kind, zname, peer);
      a.refuse = rcode::FORMERR;
      break;
    case TsigCheck::badkey:
      log->warn("{} of {} from {}: TSIG key {} unknown (BADKEY)", kind, zname, peer,
                name_to_text(a.tsig.key_name));
      a.refuse = rcode::NOTAUTH, a.tsig_error = tsig_error::BADKEY;
      break;
    case TsigCheck::badsig:
      log->warn("{} of {} from {}: TSIG signature does not verify (BADSIG)", kind, zname, peer);
      a.refuse = rcode::NOTAUTH, a.tsig_error = tsig_error::BADSIG;
      break;
    case TsigCheck::badtime:
      log->warn("{} of {} from {}: TSIG time outside the fudge (BADTIME)", kind, zname, peer);
      a.refuse = rcode::NOTAUTH, a.tsig_error = tsig_error::BADTIME;
      break;
  }
  if (!a.refuse && (!a.zone || q.qclass != rrclass::IN)) {
    log->info("{} of {} from {}: not a zone served here (NOTAUTH)", kind, zname, peer);
    a.refuse = rcode::NOTAUTH;
  }
  if (!a.refuse) {
    auto acl = policy.allow_transfer.find(a.zone->origin());
    if (acl == policy.allow_transfer.end() ||
        !acl->second.allows(from, a.key ? a.key->name : std::string())) {
      log->warn("{} of {} to {} refused: not allowed by allow-transfer{}", kind, zname, peer,
                a.key ? "" : " (or not signed with the remote's key)");
      a.refuse = rcode::REFUSED;
    }
  }
  return a;
}

size_t TransferOut::answer_udp(const uint8_t* query, size_t len, const ParsedQuery& q,
                               const asio::ip::address& from, const zone::ZoneTable& zones,
                               uint8_t* out, size_t cap) {
  const Policy& policy = policy_.get();
  Admission a = admit(query, len, q, from, from.to_string(), policy, zones);
  if (q.qtype == rrtype::AXFR && !a.refuse) a.refuse = rcode::REFUSED;  // AXFR is TCP only
  if (a.refuse) {
    std::vector<uint8_t> answer = error_answer(q, a.tsig, a.refuse, a.tsig_error);
    size_t n = std::min(answer.size() - 2, cap);
    std::memcpy(out, answer.data() + 2, n);
    return n;
  }
  // RFC 1995 2: over UDP we answer with the current SOA alone, which tells a client that is
  // behind to ask again over TCP and one that is current that nothing changed.
  Renderer r(out, cap);
  r.set_limit(std::min<size_t>(cap, 512) - (a.key ? kTsigRoom / 2 : 0));
  r.begin(q.id, static_cast<uint16_t>(flag::QR | flag::AA | (q.flags & 0x7800)), q.name(),
          q.qtype, q.qclass);
  r.add_rrset(Section::answer, a.zone->origin(), a.zone->soa());
  size_t n = r.size();
  if (a.key) tsig_sign(out, n, cap, *a.key, Stream::now(), a.tsig.mac, false);
  return n;
}

asio::awaitable<bool> TransferOut::serve(asio::ip::tcp::socket& sock, const uint8_t* query,
                                         size_t len, const ParsedQuery& q,
                                         std::shared_ptr<const zone::ZoneTable> zones) {
  auto log = xfr_log();
  auto policy = policy_.hold();
  boost::system::error_code ec;
  auto remote = sock.remote_endpoint(ec);
  if (ec) co_return false;
  std::string peer = remote.address().to_string() + "#" + std::to_string(remote.port());
  const char* kind = q.qtype == rrtype::AXFR ? "AXFR" : "IXFR";
  std::string zname = name_to_text(q.name_lower());
  Admission adm = admit(query, len, q, remote.address(), peer, *policy, *zones);
  if (adm.refuse) {
    std::vector<uint8_t> answer = error_answer(q, adm.tsig, adm.refuse, adm.tsig_error);
    co_await asio::async_write(sock, asio::buffer(answer),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }
  const TsigKey* key = adm.key;
  const TsigCheck& tsig = adm.tsig;
  const zone::Zone* zone = adm.zone;

  auto started = std::chrono::steady_clock::now();
  Stream out(q, key, key ? tsig.mac : std::string());

  // What to send: a single SOA when the client is current (RFC 1995 2), the condensed
  // history when it reaches back to the client's serial, otherwise the whole zone (AXFR
  // format, also for IXFR: RFC 1995 4).
  uint32_t client_serial = 0;
  bool have_client = q.qtype == rrtype::IXFR && ixfr_client_serial(query, len, q, client_serial);
  std::optional<zone::Changeset> diff;
  bool current = have_client && !serial_lt(client_serial, zone->serial());
  if (have_client && !current && history_) {
    diff = history_->since(zone->origin(), client_serial);
    if (diff && diff->to_serial() != zone->serial()) diff.reset();  // stale history
  }
  // An IXFR answered with the whole zone says so: the operator sees that history was missing.
  const char* mode = current ? "IXFR (current)"
                     : diff  ? "IXFR"
                     : q.qtype == rrtype::IXFR ? "AXFR-style IXFR"
                               : kind;
  if (diff) kind = "IXFR";
  std::unique_ptr<RecordSource> src;
  if (current)
    src = std::make_unique<SoaOnly>(*zone);
  else if (diff)
    src = std::make_unique<DiffSource>(*zone, *diff);
  else
    src = std::make_unique<ZoneSource>(*zone);

  bool ok = true;
  RecordView rec;
  bool have = src->next(rec);
  while (ok && have) {
    if (out.add(rec.owner, rec.type, rec.ttl, rec.rdata)) {
      have = src->next(rec);
      continue;
    }
    // Full (or a record too big for any message): write what we have, start the next one.
    if (out.empty() || !out.seal()) {
      ok = false;
      break;
    }
    co_await asio::async_write(sock, out.sealed(), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) ok = false;
    out.next();
  }
  if (ok && !out.empty()) {
    ok = out.seal();
    if (ok) {
      co_await asio::async_write(sock, out.sealed(), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) ok = false;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!ok) {
    log->warn("{} of {} to {}: serial {} aborted after {} messages", kind, zname, peer,
              zone->serial(), out.messages());
    co_return false;
  }
  log->info("{} out of {} to {}: serial {} -> {}, {} records in {} messages ({} bytes, "
            "{:.3f} s){}",
            mode, zname, peer, have_client ? std::to_string(client_serial) : std::string("none"),
            zone->serial(), out.records(), out.messages(), out.bytes(), secs,
            key ? ", TSIG " + name_to_text(key->name) : "");
  co_return true;
}

}  // namespace server
