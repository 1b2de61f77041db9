#include "server/query.h"

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

uint16_t response_flags(const ParsedQuery& q) {
  // QR, the opcode, RD and CD echoed (RFC 1035 4.1.1, RFC 4035 3.1.6); the rest is ours.
  return static_cast<uint16_t>(flag::QR | (q.flags & (0x7800 | flag::RD | flag::CD)));
}

class Answer {
 public:
  Answer(const ParsedQuery& q, const ZoneTable& zones, Renderer& r)
      : q_(q), zones_(zones), r_(r) {}

  // Fills answer, authority and additional sections; returns the rcode.
  uint16_t run() {
    uint16_t rc = run_chain();
    flush_pending();
    return rc;
  }

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
};

}  // namespace

QueryResult QueryProcessor::process(const uint8_t* in, size_t len, Transport transport,
                                    const ZoneTable& zones, uint8_t* out, size_t out_cap,
                                    ParsedQuery& q, const Policy* policy) const {
  QueryResult result;
  ParseStatus st = parse_query(in, len, q);
  if (st == ParseStatus::drop) return result;
  Renderer r(out, out_cap);
  result.disposition = Disposition::respond;
  if (st == ParseStatus::formerr) {
    r.begin_header_only(q.id, response_flags(q));
    r.set_rcode(rcode::FORMERR);
    // RFC 6891 6.1.1 and 7: an OPT in the query (even a broken one) gets an OPT back, so
    // that the client can tell an EDNS format error from a server without EDNS.
    if (q.edns.present) r.add_opt(opts_.udp_payload, rcode::FORMERR, q.edns.do_bit);
    result.size = r.size();
    return result;
  }

  size_t limit = kClassicUdpSize;
  if (transport == Transport::tcp) {
    limit = kMaxMessage;
  } else if (q.edns.present) {
    limit = q.edns.udp_payload < opts_.udp_payload ? q.edns.udp_payload : opts_.udp_payload;
    if (limit < kClassicUdpSize) limit = kClassicUdpSize;
  }
  // A signed query: check it first; keep room for the answer's TSIG.
  TsigCheck tsig;
  uint64_t now = 0;
  if (q.has_tsig) {
    now = static_cast<uint64_t>(std::time(nullptr));
    tsig = tsig_verify(
        in, len,
        [&](std::string_view n) { return policy ? policy->find_key(n) : nullptr; }, now, {},
        false);
    limit = limit > kTsigRoom + kClassicUdpSize / 2 ? limit - kTsigRoom : limit;
  }
  r.set_limit(limit);
  if (!r.begin(q.id, response_flags(q), q.name(), q.qtype, q.qclass)) {
    // A question too big for the limit (cannot happen with a 255-byte name): header only.
    r.begin_header_only(q.id, response_flags(q) | flag::TC);
  }
  if (q.edns.present) r.reserve_opt();

  uint16_t rc;
  uint16_t tsig_err = 0;
  bool is_transfer = q.opcode == opcode::QUERY &&
                     (q.qtype == rrtype::AXFR || q.qtype == rrtype::IXFR) &&
                     transport == Transport::tcp;
  if (q.has_tsig && tsig.status != TsigCheck::ok && (q.opcode == opcode::NOTIFY || is_transfer)) {
    // NOTIFY and transfers answer TSIG failures themselves, the same way, and log them: an
    // operator with a mismatched key sees why the peer is turned away.
    result.disposition = q.opcode == opcode::NOTIFY ? Disposition::notify : Disposition::transfer;
    return result;
  } else if (q.has_tsig && tsig.status != TsigCheck::ok) {
    rc = tsig.status == TsigCheck::formerr ? rcode::FORMERR : rcode::NOTAUTH;
    tsig_err = tsig.status == TsigCheck::badkey   ? tsig_error::BADKEY
               : tsig.status == TsigCheck::badsig ? tsig_error::BADSIG
               : tsig.status == TsigCheck::badtime ? tsig_error::BADTIME
                                                   : 0;
  } else if (q.edns.present && q.edns.version > 0) {
    rc = rcode::BADVERS;  // RFC 6891 6.1.3: no answer, just the OPT with BADVERS
  } else if (q.opcode == opcode::NOTIFY) {
    result.disposition = Disposition::notify;
    return result;
  } else if (q.opcode != opcode::QUERY) {
    rc = rcode::NOTIMP;
  } else if (q.qtype == rrtype::OPT) {
    rc = rcode::FORMERR;
  } else if (q.qclass != rrclass::IN) {
    rc = rcode::REFUSED;
  } else if (q.qtype == rrtype::IXFR || (q.qtype == rrtype::AXFR && transport == Transport::tcp)) {
    result.disposition = Disposition::transfer;  // needs the source address: the transport's
    return result;
  } else if (q.qtype == rrtype::AXFR) {
    rc = rcode::REFUSED;  // AXFR is TCP only (RFC 5936 4.2)
  } else if (is_meta_type(q.qtype) && q.qtype != rrtype::ANY) {
    rc = rcode::NOTIMP;
  } else {
    Answer a(q, zones, r);
    rc = a.run();
  }
  r.set_rcode(rc & 0xF);
  if (q.edns.present) r.add_opt(opts_.udp_payload, rc, q.edns.do_bit);
  result.size = r.size();
  if (q.has_tsig) {
    tsig_sign_answer(out, result.size, out_cap, tsig, tsig_err, now);
  }
  return result;
}

}  // namespace server
