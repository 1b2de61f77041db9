#include "server/xfr_out.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "zone/wire/serial.h"

namespace server {

using namespace zone::wire;

namespace {

constexpr size_t kTsigRoom = 256;  // room kept for the TSIG record of each message

std::shared_ptr<spdlog::logger> xfr_log() {
  auto l = spdlog::get("xfr");
  return l ? l : spdlog::default_logger();
}

const char* kind_of(const ParsedQuery& q) { return q.qtype == rrtype::AXFR ? "AXFR" : "IXFR"; }

// Transfer logs name the client as address#port, as BIND and Knot do.
std::string peer_text(const Peer& p) { return p.str(); }

TransferOut::Record soa_record(const zone::Zone& z) {
  return {z.origin(), rrtype::SOA, z.soa().ttl, std::string_view(z.soa().data).substr(2)};
}

}  // namespace

uint16_t admit_transfer(const ParsedQuery& q, const Peer& peer, const TsigKey* key,
                        const Policy& policy, const zone::Zone* zone) {
  const char* kind = kind_of(q);
  if (!zone || q.qclass != rrclass::IN) {
    xfr_log()->info("zone {}: {} from {} refused: not a zone served here (NOTAUTH)",
                    name_display(q.name_lower()), kind, peer_text(peer));
    return rcode::NOTAUTH;
  }
  auto acl = policy.allow_transfer.find(zone->origin());
  if (acl == policy.allow_transfer.end() ||
      !acl->second->allows(peer, key ? std::string_view(key->name) : std::string_view())) {
    xfr_log()->warn("zone {}: {} out to {} refused: not allowed by allow-transfer{}",
                    name_display(q.name_lower()), kind, peer_text(peer),
                    key ? "" : " (or not signed with the remote's key)");
    return rcode::REFUSED;
  }
  return 0;
}

bool ixfr_client_serial(const uint8_t* msg, size_t len, const ParsedQuery& q, uint32_t& serial) {
  if (len < kHeaderSize || get16(msg + 8) == 0) return false;
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

// The records of a transfer, one at a time, in the order they go out.
class TransferOut::Source {
 public:
  virtual ~Source() = default;
  virtual bool next(Record& r) = 0;
};

namespace {

class SoaOnly : public TransferOut::Source {
 public:
  explicit SoaOnly(const zone::Zone& z) : z_(z) {}
  bool next(TransferOut::Record& r) override {
    if (done_) return false;
    r = soa_record(z_);
    done_ = true;
    return true;
  }

 private:
  const zone::Zone& z_;
  bool done_ = false;
};

// SOA, the apex, every other node, SOA again (RFC 5936 2.2), walking the zone in place.
class ZoneSource : public TransferOut::Source {
 public:
  explicit ZoneSource(const zone::Zone& z) : z_(z) {
    nodes_.reserve(z.node_count());
    nodes_.push_back(&z.apex());
    z.for_each_node([&](const zone::Node& n) {
      if (&n != &z.apex() && !n.empty()) nodes_.push_back(&n);
    });
  }
  bool next(TransferOut::Record& r) override {
    if (phase_ == 0 || phase_ == 2) {
      r = soa_record(z_);
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
      const RRset& set = n.rrsets[set_];
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
class DiffSource : public TransferOut::Source {
 public:
  DiffSource(const zone::Zone& z, const zone::Changeset& c) : z_(z), c_(c) {}
  bool next(TransferOut::Record& r) override {
    auto view = [](const zone::Record& x) {
      return TransferOut::Record{x.owner, x.type, x.ttl, x.rdata};
    };
    switch (phase_) {
      case 0: r = soa_record(z_); phase_ = 1; return true;
      case 1: r = view(c_.soa_from); phase_ = 2; return true;
      case 2:
        if (i_ < c_.removed.size()) { r = view(c_.removed[i_++]); return true; }
        r = view(c_.soa_to); phase_ = 3; i_ = 0; return true;
      case 3:
        if (i_ < c_.added.size()) { r = view(c_.added[i_++]); return true; }
        r = soa_record(z_); phase_ = 4; return true;
      default: return false;
    }
  }

 private:
  const zone::Zone& z_;
  const zone::Changeset& c_;
  int phase_ = 0;
  size_t i_ = 0;
};

}  // namespace

TransferOut::TransferOut(std::shared_ptr<const zone::Zone> zone, const uint8_t* query,
                         size_t len, const ParsedQuery& q, const Peer& peer, Options opts)
    : zone_(std::move(zone)),
      q_(q),
      peer_(peer),
      opts_(std::move(opts)),
      prior_mac_(opts_.key ? opts_.request_mac : std::string()),
      buf_(2 + kMaxMessage),
      r_(buf_.data() + 2, kMaxMessage),
      index_(std::make_unique<CompressionIndex>()),
      started_(std::chrono::steady_clock::now()) {
  r_.use_index(index_.get());  // thousands of names per message
  // What to send: a single SOA when the client is current (RFC 1995 2), the condensed
  // history when it reaches back to the client's serial, otherwise the whole zone (AXFR
  // format, also for IXFR: RFC 1995 4).
  const zone::Zone& z = *zone_;
  have_client_serial_ = q.qtype == rrtype::IXFR && ixfr_client_serial(query, len, q, client_serial_);
  bool current = have_client_serial_ && !serial_lt(client_serial_, z.serial());
  if (have_client_serial_ && !current && opts_.history) {
    diff_ = opts_.history->since(z.origin(), client_serial_);
    if (diff_ && diff_->to_serial() != z.serial()) diff_.reset();  // stale history
  }
  // An IXFR answered with the whole zone says so: the operator sees that history was missing.
  mode_ = current ? "IXFR (current)"
          : diff_ ? "IXFR"
          : q.qtype == rrtype::IXFR ? "AXFR-style IXFR"
                                    : "AXFR";
  if (current)
    src_ = std::make_unique<SoaOnly>(z);
  else if (diff_)
    src_ = std::make_unique<DiffSource>(z, *diff_);
  else
    src_ = std::make_unique<ZoneSource>(z);
  have_ = src_->next(rec_);
}

TransferOut::~TransferOut() = default;

void TransferOut::start(bool first) {
  uint16_t flags = static_cast<uint16_t>(flag::QR | flag::AA | (q_.flags & 0x7800));
  // The question goes in the first message only (RFC 5936 2.2.1).
  if (first)
    r_.begin(q_.id, flags, q_.name(), q_.qtype, q_.qclass);
  else
    r_.begin_header_only(q_.id, flags);
  r_.set_limit(kMaxMessage - (opts_.key ? kTsigRoom : 0));
  if (opts_.edns) r_.reserve_opt(opts_.opt_options.size());
}

bool TransferOut::seal() {
  if (opts_.edns) r_.add_opt(opts_.udp_payload, 0, opts_.do_bit, opts_.opt_options);
  size_t len = r_.size();
  if (opts_.key) {
    uint64_t now = opts_.now ? opts_.now : static_cast<uint64_t>(std::time(nullptr));
    auto mac = tsig_sign(buf_.data() + 2, len, kMaxMessage, *opts_.key, now, prior_mac_,
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

std::span<const uint8_t> TransferOut::next() {
  if (done_) return {};
  start(messages_ == 0);
  while (have_ && r_.add_rr(Section::answer, rec_.owner, rec_.type, rec_.ttl, rec_.rdata)) {
    ++records_;
    have_ = src_->next(rec_);
  }
  // Nothing fitted: a record too big for any message.
  if (r_.count(Section::answer) == 0 || !seal()) {
    failed_ = done_ = true;
    return {};
  }
  if (!have_) done_ = true;
  return {buf_.data(), sealed_};
}

const std::string& TransferOut::origin() const { return zone_->origin(); }

void TransferOut::finish(bool delivered) {
  auto log = xfr_log();
  std::string zname = name_display(zone_->origin());
  const char* kind = diff_ ? "IXFR" : kind_of(q_);
  if (!delivered || failed_) {
    log->warn("zone {}: {} out to {}: serial {} aborted after {} messages{}", zname, kind, peer_text(peer_),
              zone_->serial(), messages_, failed_ ? " (a record does not fit a message)" : "");
    return;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  log->info("zone {}: {} out to {}: serial {}{}, {} records in {} messages ({} bytes, "
            "{:.3f} s){}",
            zname, mode_, peer_text(peer_),
            have_client_serial_ ? std::to_string(client_serial_) + " -> " : std::string(),
            zone_->serial(), records_, messages_, bytes_, secs,
            opts_.key ? ", TSIG " + name_display(opts_.key->name) : "");
}

}  // namespace server
