#include "server/query.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <atomic>
#include <cstring>
#include <ctime>

#include "zone/dnssec.h"
#include "zone/lookup.h"
#include "zone/wire/render.h"
#include "zone/wire/tsig.h"

namespace server {

using namespace zone;
using namespace zone::wire;

namespace {

constexpr int kMaxChain = 16;  // CNAME/DNAME steps followed before we stop (loop-safe)
constexpr size_t kTsigRoom = 200;  // key name, algorithm, a SHA-512 MAC and the fixed fields

// The rate limit's bucket for a response, asked for as soon as the response class is known
// (the first lookup), so that its cache line arrives while the answer is rendered.
struct EarlyBucket {
  RateLimiter* rl = nullptr;  // null: the response is not limited
  const RateLimit* cfg = nullptr;
  const Peer* peer = nullptr;
  uint64_t key = 0;
  ResponseClass cls = ResponseClass::error;
  NameView name;
};

class Answer {
 public:
  Answer(const ParsedQuery& q, const ZoneTable& zones, Renderer& r, EarlyBucket* early)
      : q_(q), zones_(zones), r_(r), early_(early) {}

  // Fills answer, authority and additional sections; returns the rcode.
  uint16_t run() {
    uint16_t rc = run_chain();
    flush_pending();
    return rc;
  }

  // What the response is, for the rate limit: its class and the name it is counted by
  // (answers: the query name, with the type; NXDOMAIN: the zone; referrals: the cut;
  // wildcard answers: the wildcard). Set by the first lookup.
  ResponseClass response_class() const { return cls_; }
  NameView class_name() const { return cls_name_; }

 private:
  uint16_t run_chain() {
    const Zone* z = zones_.find(q_.name_lower());
    if (!z) return rcode::REFUSED;
    if (z->expired()) return rcode::SERVFAIL;  // a secondary that lost its primaries
    // DS lives in the parent: at a child apex, ask the parent zone if we serve it.
    if (q_.qtype == rrtype::DS && z->origin() == q_.name_lower()) {
      if (const Zone* parent = zones_.find_parent(z->origin())) z = parent;
    }
    r_.set_flags(r_.flags() | flag::AA);

    // `name` is the current name in its output case; `lower` for lookups.
    NameView name = q_.name();
    uint8_t lower_buf[kMaxNameLen];
    uint8_t synth_buf[kMaxNameLen];
    NameView lower = q_.name_lower();
    remember(lower);
    for (int step = 0;; ++step) {
      LookupResult res = lookup(*z, lower, q_.qtype);
      if (step == 0) classify(*z, res);
      switch (res.kind) {
        case Outcome::answer:
          if (res.rrset->type == rrtype::RRSIG && !res.node->sigs.empty()) {
            if (!add_signatures(name, *res.node, *res.rrset)) return rcode::NOERROR;
          } else if (!add(*z, Section::answer, name, *res.node, *res.rrset)) {
            return rcode::NOERROR;
          }
          if (res.wildcard) defer_wildcard_proof(*z, lower, *res.closest_encloser);
          add_target_addresses(*z, *res.rrset);
          return rcode::NOERROR;
        case Outcome::nodata: {
          add_negative(*z);
          Proof p;
          if (dnssec(*z)) {
            if (res.wildcard)
              prove_wildcard_nodata(*z, lower, *res.closest_encloser, *res.node, p);
            else
              prove_nodata(*z, lower, p);
          }
          add_proof(*z, p);
          return rcode::NOERROR;
        }
        case Outcome::nxdomain: {
          add_negative(*z);
          Proof p;
          if (dnssec(*z)) prove_nxdomain(*z, lower, *res.closest_encloser, p);
          add_proof(*z, p);
          return rcode::NXDOMAIN;
        }
        case Outcome::delegation:
          add_referral(*z, *res.node, *res.rrset, step == 0);
          return rcode::NOERROR;
        case Outcome::cname: {
          if (!add(*z, Section::answer, name, *res.node, *res.rrset)) return rcode::NOERROR;
          if (res.wildcard) defer_wildcard_proof(*z, lower, *res.closest_encloser);
          std::string_view rd = first_rdata(*res.rrset);
          name = rdata_target(rrtype::CNAME, rd);
          if (name.empty()) return rcode::NOERROR;
          break;
        }
        case Outcome::dname: {
          if (!add(*z, Section::answer, res.node->name, *res.node, *res.rrset))
            return rcode::NOERROR;
          // RFC 6672 2.2: replace the DNAME owner suffix with its target.
          NameView target = rdata_target(rrtype::DNAME, first_rdata(*res.rrset));
          size_t prefix = lower.size() - res.node->name.size();
          if (target.empty()) return rcode::NOERROR;
          if (prefix + target.size() > kMaxNameLen) return rcode::YXDOMAIN;
          std::memcpy(synth_buf, name.data(), prefix);
          std::memcpy(synth_buf + prefix, target.data(), target.size());
          NameView synth(reinterpret_cast<const char*>(synth_buf), prefix + target.size());
          if (!r_.add_rr(Section::answer, name, rrtype::CNAME, res.rrset->ttl, synth)) {
            r_.set_tc();
            return rcode::NOERROR;
          }
          // The synthesized CNAME answers a CNAME (or ANY) query itself, as a CNAME stored
          // at the name would (RFC 1034 4.3.2 step 3b): nothing to follow.
          if (q_.qtype == rrtype::CNAME || q_.qtype == rrtype::ANY) return rcode::NOERROR;
          name = synth;
          break;
        }
      }
      // Follow the chain into any zone served here, a bounded number of times.
      if (step + 1 >= kMaxChain) return rcode::NOERROR;
      std::memcpy(lower_buf, name.data(), name.size());
      lower_name(lower_buf, name.size());
      lower = NameView(reinterpret_cast<const char*>(lower_buf), name.size());
      // A chain back to a name already answered is a loop: its CNAMEs are all in the
      // answer already, so stop instead of repeating them (RFC 1034 3.6.2).
      if (!remember(lower)) return rcode::NOERROR;
      z = zones_.find(lower);
      if (!z) return rcode::NOERROR;
    }
  }

  void classify(const Zone& z, const LookupResult& res) {
    cls_name_ = q_.name_lower();
    switch (res.kind) {
      case Outcome::answer:
      case Outcome::nodata:
        if (res.wildcard) {
          cls_ = ResponseClass::wildcard;
          cls_name_ = res.node->name;
        } else {
          cls_ = res.kind == Outcome::answer ? ResponseClass::answer : ResponseClass::nodata;
        }
        break;
      case Outcome::nxdomain:
        cls_ = ResponseClass::nxdomain;
        cls_name_ = z.origin();
        break;
      case Outcome::delegation:
        cls_ = ResponseClass::referral;
        cls_name_ = res.node->name;
        break;
      case Outcome::cname:
      case Outcome::dname:
        cls_ = ResponseClass::answer;
        break;
    }
    if (early_ && early_->rl) {
      early_->cls = cls_, early_->name = cls_name_;
      early_->key = early_->rl->prepare(*early_->cfg, *early_->peer, cls_, cls_name_, q_.qtype);
    }
  }

  // Records a name visited by the CNAME/DNAME chain; false if it was visited before.
  bool remember(NameView lower) {
    for (size_t i = 0; i < nvisited_; ++i)
      if (NameView(visited_[i], visited_len_[i]) == lower) return false;
    if (nvisited_ < kMaxChain) {
      std::memcpy(visited_[nvisited_], lower.data(), lower.size());
      visited_len_[nvisited_++] = lower.size();
    }
    return true;
  }

  static std::string_view first_rdata(const RRset& s) {
    if (s.data.size() < 2) return {};
    uint16_t l = get16(reinterpret_cast<const uint8_t*>(s.data.data()));
    return std::string_view(s.data).substr(2, l);
  }

  // DNSSEC records go out only to a query with DO=1 (RFC 4035 3.1) for a signed zone.
  bool dnssec(const Zone& z) const { return q_.edns.do_bit && z.is_signed(); }

  // Adds an RRset and, when DNSSEC is asked for, the RRSIGs covering it (served with the
  // RRset's TTL, RFC 4034 3), as one unit: on overflow both are rolled back (RFC 4035
  // 3.1.1), and TC is set when the RRset was required.
  bool add_set(const Zone& z, Section sec, NameView owner, const Node& node, uint16_t type,
               uint32_t ttl, std::string_view data, bool required) {
    if (r_.flags() & flag::TC) return false;  // truncated already: add nothing after a gap
    Renderer::Mark m = r_.mark();
    bool ok = r_.add_rrset(sec, owner, type, ttl, data);
    if (ok && dnssec(z))
      if (const RRset* sigs = node.sigs_for(type))
        ok = r_.add_rrset(sec, owner, rrtype::RRSIG, ttl, sigs->data);
    if (ok) return true;
    r_.rollback(m);
    if (required) r_.set_tc();
    return false;
  }
  bool add(const Zone& z, Section sec, NameView owner, const Node& node, const RRset& set) {
    return add_set(z, sec, owner, node, set.type, set.ttl, set.data, true);
  }

  // RRSIGs asked for: every signature of the node, each with the TTL of the RRset it
  // covers (the node's RRSIG RRset has only one TTL for all of them).
  bool add_signatures(NameView owner, const Node& node, const RRset& all) {
    for (const auto& g : node.sigs) {
      const RRset* covered = node.find(g.covered);
      uint32_t ttl = covered ? covered->ttl : all.ttl;
      if (!r_.add_rrset(Section::answer, owner, rrtype::RRSIG, ttl, g.rrsigs.data)) {
        r_.set_tc();
        return false;
      }
    }
    return true;
  }

  void add_negative(const Zone& z) {
    // RFC 2308 3: SOA in authority with TTL min(SOA TTL, MINIMUM); its RRSIG likewise.
    add_set(z, Section::authority, z.origin(), z.apex(), rrtype::SOA, z.negative_ttl(),
            z.soa().data, true);
  }

  // The NSEC or NSEC3 records (and RRSIGs) of a proof, in the authority section.
  void add_proof(const Zone& z, const Proof& p) {
    if (!dnssec(z)) return;
    uint16_t type = z.denial() == Denial::nsec ? rrtype::NSEC : rrtype::NSEC3;
    for (int i = 0; i < p.count; ++i) {
      const Node& n = *p.nodes[i];
      if (const RRset* s = n.find(type))
        if (!add(z, Section::authority, n.name, n, *s)) return;
    }
  }

  // A wildcard expansion in the answer needs the proof that the name itself does not
  // exist (RFC 4035 3.1.3.3). It goes to the authority section, which starts only once the
  // answer section is complete: keep it until then.
  void defer_wildcard_proof(const Zone& z, NameView lower, const Node& ce) {
    if (!dnssec(z) || npending_ >= static_cast<size_t>(kMaxChain)) return;
    pending_[npending_].zone = &z;
    prove_wildcard_answer(z, lower, ce, pending_[npending_].proof);
    ++npending_;
  }
  void flush_pending() {
    for (size_t i = 0; i < npending_; ++i) add_proof(*pending_[i].zone, pending_[i].proof);
    npending_ = 0;
  }

  // Addresses of a name in this zone, glue included. Returns false if it did not fit.
  bool add_addresses(const Zone& z, NameView target_lower, bool required) {
    for (size_t i = 0; i < nadded_; ++i)
      if (added_[i] == target_lower) return true;
    const Node* n = z.find(target_lower);
    if (!n) return true;
    flush_pending();  // the authority section ends here
    bool ok = true;
    for (uint16_t t : {rrtype::A, rrtype::AAAA}) {
      if (const RRset* s = n->find(t)) {
        if (!add_set(z, Section::additional, n->name, *n, t, s->ttl, s->data, false)) ok = false;
      }
    }
    if (nadded_ < kMaxAdded) added_[nadded_++] = n->name;
    if (!ok && required) r_.set_tc();
    return ok;
  }

  void add_target_addresses(const Zone& z, const RRset& set) {
    if (set.type != rrtype::NS && set.type != rrtype::MX && set.type != rrtype::SRV) return;
    set.for_each([&](std::string_view rd) {
      NameView t = rdata_target(set.type, rd);
      if (t.empty()) return;
      uint8_t buf[kMaxNameLen];
      std::memcpy(buf, t.data(), t.size());
      lower_name(buf, t.size());
      NameView tl(reinterpret_cast<const char*>(buf), t.size());
      if (!is_subdomain(tl, z.origin())) return;
      // Only authoritative data; names below a cut are glue, not answers.
      LookupResult lr = lookup(z, tl, rrtype::A);
      if (lr.kind == Outcome::delegation || lr.kind == Outcome::dname) return;
      add_addresses(z, tl, false);
    });
  }

  void add_referral(const Zone& z, const Node& cut, const RRset& ns, bool first) {
    if (first) r_.set_flags(r_.flags() & ~flag::AA);
    if (!add(z, Section::authority, cut.name, cut, ns)) return;
    // A secure delegation has its signed DS; an insecure one the proof that there is none
    // (RFC 4035 3.1.4.1, RFC 5155 7.2.7).
    if (dnssec(z)) {
      if (const RRset* ds = cut.find(rrtype::DS)) {
        if (!add(z, Section::authority, cut.name, cut, *ds)) return;
      } else {
        Proof p;
        prove_no_ds(z, cut, p);
        add_proof(z, p);
      }
    }
    flush_pending();
    // Glue: in-domain (below the cut) is required (RFC 9471), other in-zone names optional.
    for (int pass = 0; pass < 2; ++pass) {
      ns.for_each([&](std::string_view rd) {
        NameView t = rdata_target(rrtype::NS, rd);
        if (t.empty()) return;
        uint8_t buf[kMaxNameLen];
        std::memcpy(buf, t.data(), t.size());
        lower_name(buf, t.size());
        NameView tl(reinterpret_cast<const char*>(buf), t.size());
        bool in_domain = is_subdomain(tl, cut.name);
        if (pass == 0 && in_domain) add_addresses(z, tl, true);
        if (pass == 1 && !in_domain && is_subdomain(tl, z.origin())) add_addresses(z, tl, false);
      });
    }
  }

  static constexpr size_t kMaxAdded = 16;
  const ParsedQuery& q_;
  const ZoneTable& zones_;
  Renderer& r_;
  EarlyBucket* early_;
  NameView added_[kMaxAdded];
  size_t nadded_ = 0;
  char visited_[kMaxChain][kMaxNameLen];
  size_t visited_len_[kMaxChain];
  size_t nvisited_ = 0;
  struct Pending {
    const Zone* zone;
    Proof proof;
  };
  Pending pending_[kMaxChain];
  size_t npending_ = 0;
  ResponseClass cls_ = ResponseClass::error;
  NameView cls_name_;
};

// The EDNS options of a response: assembled before the body is rendered (their room is
// reserved) and written with the OPT at the end.
constexpr size_t kMaxNsidLen = 128;
constexpr size_t kExpireOptionLen = 8;
struct OptBuf {
  uint8_t bytes[kCookieOptionLen + 4 + kMaxNsidLen + kExpireOptionLen];
  size_t len = 0;
  void add(uint16_t code, const void* data, size_t n) {
    put16(bytes + len, code);
    put16(bytes + len + 2, static_cast<uint16_t>(n));
    if (n) std::memcpy(bytes + len + 4, data, n);
    len += 4 + n;
  }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes), len}; }
};

// RFC 7314: a primary reports its SOA expire; a secondary what is left of its expire timer.
uint32_t expire_of(const Zone& z, uint64_t now) {
  if (int64_t at = z.expire_at()) {
    int64_t left = at - static_cast<int64_t>(now);
    return left <= 0 ? 0 : left > 0xFFFFFFFFLL ? 0xFFFFFFFFu : static_cast<uint32_t>(left);
  }
  SoaFields f;
  std::string_view data = z.soa().data;
  if (data.size() < 2 || !parse_soa(data.substr(2, get16(reinterpret_cast<const uint8_t*>(data.data()))), f))
    return 0;
  return f.expire;
}

uint64_t monotonic_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

std::shared_ptr<spdlog::logger> logger(const char* name) {
  auto l = spdlog::get(name);
  return l ? l : spdlog::default_logger();
}

bool is_transfer(const ParsedQuery& q) {
  return q.opcode == opcode::QUERY && (q.qtype == rrtype::AXFR || q.qtype == rrtype::IXFR);
}

// NOTIFY and transfers are between servers: an operator with a mismatched key needs to see
// why the peer is turned away. Queries just get their NOTAUTH.
void log_tsig_failure(const ParsedQuery& q, const Peer& peer, const TsigCheck& t) {
  if (q.opcode != opcode::NOTIFY && !is_transfer(q)) return;
  std::string why = t.status == TsigCheck::formerr  ? "malformed TSIG"
                    : t.status == TsigCheck::badkey ? "TSIG key " + name_to_text(t.key_name) +
                                                          " unknown (BADKEY)"
                    : t.status == TsigCheck::badsig ? "TSIG signature does not verify (BADSIG)"
                                                    : "TSIG time outside the fudge (BADTIME)";
  std::string zname = q.qname_len ? name_display(q.name_lower()) : "-";
  if (q.opcode == opcode::NOTIFY)
    logger("notify")->warn("zone {}: NOTIFY from {}: TSIG check failed: {}", zname,
                           peer.str(), why);
  else
    logger("xfr")->warn("zone {}: {} from {}: {}", zname,
                        q.qtype == rrtype::AXFR ? "AXFR" : "IXFR", peer.str(), why);
}

// The completion handed to a deferred handler: signs the response as the request was signed
// and gives it to the transport, once; dropped uncalled, it releases the transport's slot.
class LateAnswer {
 public:
  LateAnswer(std::shared_ptr<const DeferredRequest> req, LateSend send)
      : req_(std::move(req)), send_(std::move(send)) {}
  ~LateAnswer() {
    if (!done_.exchange(true) && send_) send_({});
  }
  void complete(std::vector<uint8_t> response) {
    if (done_.exchange(true)) return;
    if (!response.empty() && req_->query.has_tsig) {
      size_t len = response.size();
      response.resize(len + 512);
      tsig_sign_answer(response.data(), len, response.size(), req_->tsig, 0,
                       static_cast<uint64_t>(std::time(nullptr)));
      response.resize(len);
    }
    send_(std::move(response));
  }

 private:
  std::shared_ptr<const DeferredRequest> req_;
  LateSend send_;
  std::atomic<bool> done_{false};
};

}  // namespace

static uint64_t system_clock() { return static_cast<uint64_t>(std::time(nullptr)); }

QueryProcessor::QueryProcessor(QueryOptions opts) : opts_(std::move(opts)) {
  if (!opts_.clock) opts_.clock = system_clock;
}

void QueryProcessor::housekeeping() { rrl_.flush(monotonic_ms()); }

QueryResult QueryProcessor::process(const Request& req, const ZoneTable& zones,
                                    const Policy& policy, uint8_t* out, size_t out_cap,
                                    ParsedQuery& q) {
  QueryResult res;
  ParseStatus st = parse_query(req.data, req.size, q);
  if (st == ParseStatus::drop) {
    count(req, q, res, out);
    return res;
  }
  res.disposition = Disposition::respond;
  const bool udp = req.transport == Transport::udp;
  const bool known = q.opcode == opcode::QUERY || q.opcode == opcode::NOTIFY ||
                     q.opcode == opcode::UPDATE;
  const bool question = st == ParseStatus::ok && q.qdcount == 1;

  size_t limit = kClassicUdpSize;
  if (!udp) {
    limit = kMaxMessage;
  } else if (q.edns.present) {
    limit = q.edns.udp_payload < opts_.udp_payload ? q.edns.udp_payload : opts_.udp_payload;
    if (limit < kClassicUdpSize) limit = kClassicUdpSize;
  }
  // TSIG, checked once for every opcode; keep room for the answer's TSIG.
  TsigCheck tsig;
  uint64_t now = 0;
  if (st == ParseStatus::ok && q.has_tsig) {
    now = opts_.clock();
    tsig = tsig_verify(req.data, req.size,
                       [&](std::string_view n) { return policy.find_key(n); }, now, {}, false);
    limit = limit > kTsigRoom + kClassicUdpSize / 2 ? limit - kTsigRoom : limit;
  }
  const TsigKey* key = tsig.status == TsigCheck::ok ? tsig.key : nullptr;
  // DNS cookies (RFC 7873): every answer to a query with a client cookie carries ours.
  CookieCheck cookie;
  OptBuf options;
  if (q.edns.cookie_len && !policy.cookie_secrets.empty()) {
    if (!now) now = opts_.clock();
    cookie = check_cookie(q.edns.cookie, q.edns.cookie_len, req.peer,
                          static_cast<uint32_t>(now), policy.cookie_secrets);
    cookie_option(q.edns.cookie, q.edns.cookie_len, cookie, req.peer, static_cast<uint32_t>(now),
                  policy.cookie_secrets.front(), options.bytes);
    options.len = kCookieOptionLen;
  }
  // NSID (RFC 5001) when asked and configured.
  const std::string& nsid = policy.identity.nsid;
  if (q.edns.nsid && !nsid.empty() && nsid.size() <= kMaxNsidLen)
    options.add(edns_option::NSID, nsid.data(), nsid.size());
  // EXPIRE (RFC 7314) is only for SOA and transfer queries: room for it, filled below.
  bool expire_asked = q.edns.expire && question &&
                      (q.qtype == rrtype::SOA || q.qtype == rrtype::AXFR || q.qtype == rrtype::IXFR);

  Renderer r(out, out_cap);
  r.set_limit(limit);
  // QR, the opcode, RD and CD echoed (RFC 1035 4.1.1, RFC 4035 3.1.6); the rest is ours.
  uint16_t flags = static_cast<uint16_t>(flag::QR | (q.flags & (0x7800 | flag::RD | flag::CD)));
  if (!question)
    r.begin_header_only(q.id, flags);  // nothing (sure) to echo
  else if (!r.begin(q.id, flags, q.name(), q.qtype, q.qclass))
    r.begin_header_only(q.id, flags | flag::TC);  // cannot happen with a 255-byte name
  if (q.edns.present) r.reserve_opt(options.len + (expire_asked ? kExpireOptionLen : 0));

  // Response rate limiting: UDP queries only (never NOTIFY or UPDATE answers), and not for
  // a client that proved its address (a valid server cookie, a TSIG key) or is exempt.
  const RateLimit& rl = policy.rate_limit;
  EarlyBucket early;
  if (udp && rl.on() && q.opcode == opcode::QUERY && !key &&
      cookie.state != CookieState::valid && !rl.exempt.allows(req.peer, {}))
    early.rl = &rrl_, early.cfg = &rl, early.peer = &req.peer;

  uint16_t rc = rcode::NOERROR;
  bool notify_accepted = false;
  ResponseClass cls = ResponseClass::error;
  NameView cls_name;
  const Zone* expire_zone = nullptr;  // the zone whose EXPIRE goes in the answer
  // One mapping of a TSIG check to what the answer says (RFC 8945 5.2), for every opcode;
  // the answer is signed with that error.
  TsigRefusal refusal = tsig_refusal(tsig);
  if (refusal.rcode) {
    rc = refusal.rcode;
    log_tsig_failure(q, req.peer, tsig);
  } else if (!known) {
    rc = rcode::NOTIMP;  // whatever the question count (RFC 1035 4.1.1, as Knot and BIND)
  } else if (st == ParseStatus::formerr) {
    rc = rcode::FORMERR;
  } else if (q.edns.present && q.edns.version > 0) {
    rc = rcode::BADVERS;  // RFC 6891 6.1.3: no answer, just the OPT with BADVERS
  } else if (q.qdcount == 0) {
    // RFC 7873 5.4: a query without a question but with a cookie asks for a server cookie;
    // it gets one, and BADCOOKIE when the server cookie it sent was not good.
    if (q.opcode == opcode::QUERY && q.edns.cookie_len)
      rc = cookie.state == CookieState::invalid ? rcode::BADCOOKIE : rcode::NOERROR;
    else
      rc = rcode::FORMERR;
  } else if (q.opcode == opcode::NOTIFY) {
    rc = accept_notify(q, req.peer, key, policy);
    notify_accepted = rc == rcode::NOERROR;
    if (notify_accepted) r.set_flags(r.flags() | flag::AA);
  } else if (q.opcode == opcode::UPDATE) {
    if (opts_.on_update && req.later) {
      auto d = std::make_shared<DeferredRequest>();
      d->message.assign(req.data, req.data + req.size);
      d->query = q;
      d->peer = req.peer;
      d->transport = req.transport;
      d->tsig = tsig;
      if (key) {
        d->key = *key;
        d->tsig.key = &d->key;
      }
      auto late = std::make_shared<LateAnswer>(d, req.later->open());
      opts_.on_update(std::move(d), [late](std::vector<uint8_t> response) {
        late->complete(std::move(response));
      });
      res.disposition = Disposition::deferred;
      count(req, q, res, out);
      return res;
    }
    rc = rcode::NOTIMP;  // no UPDATE handler (yet)
  } else if (q.qtype == rrtype::OPT) {
    rc = rcode::FORMERR;
  } else if (q.qclass == rrclass::CH) {
    // RFC 4892: who we are, as TXT in class CHAOS; nothing else in that class.
    const std::string* text = q.qtype == rrtype::TXT ? chaos_text(policy.identity, q.name_lower())
                                                     : nullptr;
    if (!text) {
      rc = rcode::REFUSED;
    } else {
      uint8_t txt[256];  // one character-string (the config keeps it to 255)
      size_t n = text->size() < 255 ? text->size() : 255;
      txt[0] = static_cast<uint8_t>(n);
      std::memcpy(txt + 1, text->data(), n);
      if (!r.add_rr(Section::answer, q.name(), rrtype::TXT, 0,
                    std::string_view(reinterpret_cast<char*>(txt), n + 1), rrclass::CH))
        r.set_tc();
      r.set_flags(r.flags() | flag::AA);
      cls = ResponseClass::answer, cls_name = q.name_lower();
    }
  } else if (q.qclass != rrclass::IN) {
    rc = rcode::REFUSED;
  } else if (is_transfer(q)) {
    const Zone* zone = zones.find_exact(q.name_lower());
    rc = admit_transfer(q, req.peer, key, policy, zone);
    if (!rc && q.qtype == rrtype::AXFR && udp) {
      rc = rcode::REFUSED;  // AXFR is TCP only (RFC 5936 4.2)
    } else if (!rc && udp) {
      // RFC 1995 2: over UDP, the current SOA alone tells a client that is behind to ask
      // again over TCP and one that is current that nothing changed.
      r.set_flags(r.flags() | flag::AA);
      if (!r.add_rrset(Section::answer, zone->origin(), zone->soa())) r.set_tc();
      cls = ResponseClass::answer, cls_name = q.name_lower();
      expire_zone = zone;
    } else if (!rc) {
      TransferOut::Options to;
      to.history = opts_.history;
      if (key) {
        to.key = *key;
        to.request_mac = tsig.mac;
      }
      to.edns = q.edns.present;
      to.do_bit = q.edns.do_bit;
      to.udp_payload = opts_.udp_payload;
      if (!now) now = opts_.clock();
      if (expire_asked && !zone->expired()) {
        uint8_t v[4];
        put32(v, expire_of(*zone, now));
        options.add(edns_option::EXPIRE, v, 4);
      }
      to.opt_options.assign(options.view());
      res.transfer = std::make_unique<TransferOut>(zones.get(zone->origin()), req.data, req.size,
                                                   q, req.peer, std::move(to));
      res.disposition = Disposition::transfer;
      count(req, q, res, out);
      return res;
    }
  } else if (is_meta_type(q.qtype) && q.qtype != rrtype::ANY) {
    rc = rcode::NOTIMP;
  } else {
    Answer a(q, zones, r, &early);
    rc = a.run();
    cls = a.response_class(), cls_name = a.class_name();
    if (expire_asked && rc == rcode::NOERROR)
      if (const Zone* z = zones.find_exact(q.name_lower()); z && !z->expired()) expire_zone = z;
  }
  if (expire_zone) {
    if (!now) now = opts_.clock();
    uint8_t v[4];
    put32(v, expire_of(*expire_zone, now));
    options.add(edns_option::EXPIRE, v, 4);
  }
  if (rc != rcode::NOERROR && rc != rcode::NXDOMAIN) cls = ResponseClass::error, cls_name = {};

  r.set_rcode(rc & 0xF);
  if (q.edns.present) r.add_opt(opts_.udp_payload, rc, q.edns.do_bit, options.view());
  res.size = r.size();
  res.rcode = rc;

  if (early.rl) {
    uint64_t bucket = early.key && early.cls == cls && early.name == cls_name
                          ? early.key
                          : rrl_.prepare(rl, req.peer, cls, cls_name, q.qtype);
    auto verdict = rrl_.check(rl, bucket, req.peer, cls, cls_name, q.qtype, monotonic_ms());
    if (verdict == RateLimiter::Verdict::drop) {
      stats_.bump(QueryStats::rrl_dropped);
      res.disposition = Disposition::drop;
      res.size = 0;
      res.rate_limited = true;
      count(req, q, res, out);
      return res;
    }
    if (verdict == RateLimiter::Verdict::slip) {
      // Nothing but the question (and the OPT): no bigger than the query. A client with a
      // cookie is told BADCOOKIE with a fresh server cookie instead (RFC 7873 5.2.3): it
      // retries over UDP with it, and a valid cookie is never limited.
      stats_.bump(QueryStats::rrl_slipped);
      uint16_t slip_flags = static_cast<uint16_t>((r.flags() & ~0xF) | flag::TC);
      Renderer s(out, out_cap);
      if (!question || !s.begin(q.id, slip_flags, q.name(), q.qtype, q.qclass))
        s.begin_header_only(q.id, slip_flags);
      uint16_t src = rc;
      std::string_view opt;
      if (cookie.state != CookieState::none) {
        src = rcode::BADCOOKIE;
        s.set_flags(static_cast<uint16_t>(s.flags() & ~flag::TC));
        opt = std::string_view(reinterpret_cast<const char*>(options.bytes), kCookieOptionLen);
      }
      s.set_rcode(src & 0xF);
      if (q.edns.present) s.add_opt(opts_.udp_payload, src, q.edns.do_bit, opt);
      res.size = s.size();
      res.rcode = src;
      res.rate_limited = true;
    }
  }
  if (st == ParseStatus::ok && q.has_tsig)
    tsig_sign_answer(out, res.size, out_cap, tsig, refusal.error, now);
  res.truncated = get16(out + 2) & flag::TC;
  count(req, q, res, out);
  // Acknowledged first; the refresh only gets scheduled (on the replication thread).
  if (notify_accepted && opts_.on_notify)
    opts_.on_notify(std::string(q.name_lower()), req.peer.address_text());
  return res;
}

void QueryProcessor::count(const Request& req, const ParsedQuery& q, const QueryResult& r,
                           const uint8_t* out) {
  stats_.bump(req.transport == Transport::udp ? QueryStats::udp : QueryStats::tcp);
  if (req.size < kHeaderSize) {
    stats_.bump(QueryStats::malformed);
    return;
  }
  if (r.disposition == Disposition::drop && !r.rate_limited) {
    stats_.bump(QueryStats::malformed);  // QR=1 or too short
    return;
  }
  stats_.bump(QueryStats::opcode + q.opcode);
  if (q.qname_len) stats_.bump(q.qtype < 256 ? QueryStats::qtype + q.qtype : QueryStats::qtype_other);
  if (r.disposition == Disposition::transfer) stats_.bump(QueryStats::transfers);
  if (r.disposition == Disposition::deferred) stats_.bump(QueryStats::deferred);
  if (r.disposition != Disposition::respond) return;
  stats_.bump(QueryStats::rcode + (r.rcode & 31));
  if (r.rcode == rcode::FORMERR) stats_.bump(QueryStats::malformed);
  if (r.truncated) stats_.bump(QueryStats::truncated);
}

std::string query_log_line(Transport transport, const Peer& peer, const ParsedQuery& q,
                           const QueryResult& r) {
  std::string line = transport == Transport::udp ? "udp " : "tcp ";
  line += peer.str();
  line += ' ';
  if (q.opcode == opcode::NOTIFY) line += "NOTIFY ";
  else if (q.opcode == opcode::UPDATE) line += "UPDATE ";
  else if (q.opcode != opcode::QUERY) line += "OPCODE" + std::to_string(q.opcode) + " ";
  if (q.qname_len) {
    std::string name = name_to_text(q.name());
    if (name.size() > 1 && name.back() == '.') name.pop_back();
    line += name + " ";
    if (q.qclass != rrclass::IN) line += q.qclass == rrclass::CH ? "CH " : "CLASS" + std::to_string(q.qclass) + " ";
    line += rrtype_text(q.qtype);
  } else {
    line += "-";
  }
  line += " -> ";
  switch (r.disposition) {
    case Disposition::drop:
      line += r.rate_limited ? "dropped (rate limit)" : "dropped";
      return line;
    case Disposition::transfer:
      line += r.transfer ? std::string(r.transfer->mode()) : "transfer";
      return line;
    case Disposition::deferred:
      line += "deferred";
      return line;
    case Disposition::respond:
      break;
  }
  line += rcode_text(r.rcode) + " " + std::to_string(r.size) + " bytes";
  if (q.edns.present) {
    line += " edns " + std::to_string(q.edns.udp_payload);
    if (q.edns.do_bit) line += " do";
  }
  if (r.truncated) line += " tc";
  if (r.rate_limited) line += " (rate limit)";
  return line;
}

}  // namespace server
