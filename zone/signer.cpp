#include "zone/signer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include <openssl/evp.h>

#include "zone/wire/name.h"
#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

namespace zone::dnssec {

namespace rrtype = wire::rrtype;

bool is_dnssec_type(uint16_t t) {
  return t == rrtype::RRSIG || t == rrtype::NSEC || t == rrtype::NSEC3 ||
         t == rrtype::NSEC3PARAM || t == rrtype::DNSKEY || t == 59 /*CDS*/ || t == 60 /*CDNSKEY*/;
}

namespace {

void put16(std::string& s, uint16_t v) {
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v >> 16));
  put16(s, static_cast<uint16_t>(v & 0xffff));
}
uint16_t get16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) << 8 | static_cast<uint8_t>(s[at + 1]));
}
uint32_t get32(std::string_view s, size_t at) {
  return static_cast<uint32_t>(get16(s, at)) << 16 | get16(s, at + 2);
}

// RFC 4034 4.1.2 type bitmap.
std::string type_bitmap(std::vector<uint16_t> types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::string out;
  size_t i = 0;
  while (i < types.size()) {
    uint8_t window = static_cast<uint8_t>(types[i] >> 8);
    uint8_t bits[32] = {};
    int len = 0;
    for (; i < types.size() && (types[i] >> 8) == window; ++i) {
      uint8_t low = static_cast<uint8_t>(types[i] & 0xff);
      bits[low / 8] |= static_cast<uint8_t>(0x80 >> (low % 8));
      len = std::max(len, low / 8 + 1);
    }
    out += static_cast<char>(window);
    out += static_cast<char>(len);
    out.append(reinterpret_cast<char*>(bits), static_cast<size_t>(len));
  }
  return out;
}

const char kBase32Hex[] = "0123456789abcdefghijklmnopqrstuv";

std::string base32hex(const uint8_t* in, size_t len) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    acc = (acc << 8) | in[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32Hex[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += kBase32Hex[(acc << (5 - bits)) & 31];
  return out;
}

// RFC 5155 5 with 0 extra iterations and no salt (RFC 9276): SHA-1 of the name.
void nsec3_hash(NameView lower, uint8_t out[kNsec3HashLen]) {
  unsigned int len = 0;
  EVP_Digest(lower.data(), lower.size(), out, &len, EVP_sha1(), nullptr);
}

// The owner of the NSEC3 for `hash` in the zone `origin`: its base32hex label, then the apex.
std::string nsec3_owner(const uint8_t hash[kNsec3HashLen], NameView origin) {
  std::string label = base32hex(hash, kNsec3HashLen);
  return std::string(1, static_cast<char>(label.size())) + label + std::string(origin);
}

// NSEC3 RDATA as zoned makes it (RFC 9276: SHA-1, 0 iterations, no salt); `types` empty for
// an empty non-terminal.
std::string nsec3_rdata(bool opt_out, std::string_view next_hash, const std::vector<uint16_t>& types) {
  std::string rd;
  rd += '\x01';  // SHA-1
  rd += static_cast<char>(opt_out ? 1 : 0);
  rd.append("\x00\x00\x00", 3);  // 0 iterations, no salt
  rd += static_cast<char>(kNsec3HashLen);
  rd.append(next_hash);
  if (!types.empty()) rd += type_bitmap(types);
  return rd;
}

// A name's records as the signer sees them: non-DNSSEC RRsets of the content.
struct Entry {
  NameView name;
  std::vector<const wire::RRset*> sets;
  bool cut = false, occluded = false;
  bool has_ds = false;
};

std::vector<std::string> rdatas_of(const wire::RRset& set) {
  std::vector<std::string> v;
  v.reserve(set.count);
  set.for_each([&](std::string_view rd) { v.emplace_back(rd); });
  return v;
}

// Canonical RDATA, sorted and without duplicates (RFC 4034 6.3).
std::vector<std::string> canonical_set(uint16_t type, const std::vector<std::string>& rdatas) {
  std::vector<std::string> v;
  v.reserve(rdatas.size());
  for (const auto& rd : rdatas) v.push_back(wire::canonical_rdata(type, rd));
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool wildcard(NameView owner) { return owner.size() >= 2 && owner[0] == 1 && owner[1] == '*'; }

// The RRSIG fields before the signature.
std::string rrsig_fields(uint16_t type, uint8_t algorithm, NameView owner, uint32_t ttl,
                         uint32_t inception, uint32_t expiration, uint16_t tag, NameView origin) {
  std::string f;
  put16(f, type);
  f += static_cast<char>(algorithm);
  f += static_cast<char>(wire::label_count(owner) - (wildcard(owner) ? 1 : 0));
  put32(f, ttl);
  put32(f, expiration);
  put32(f, inception);
  put16(f, tag);
  f += wire::lowered(origin);
  return f;
}

// Serial arithmetic (RFC 4034 3.1.5): seconds from a to b, negative when b is before a.
int64_t until(uint32_t now, uint32_t t) { return static_cast<int32_t>(t - now); }

// Jitter: new signatures of one run expire over a tenth of the refresh time, so that they
// fall due (and are made again) a few at a time, not all in one commit.
uint32_t jitter_spread(const SignPolicy& p) {
  return std::max<uint32_t>(1, std::min(p.refresh / 10, (p.validity - p.refresh) / 2));
}

uint32_t jittered_expiration(const SignPolicy& p, uint32_t now, NameView owner, uint16_t type) {
  uint64_t h = std::hash<std::string_view>{}(owner) ^ (uint64_t(type) * 0x9E3779B97F4A7C15ull);
  return now + p.validity - static_cast<uint32_t>(h % jitter_spread(p));
}

// A signature is made again once it expires within the refresh time, or within a tenth of
// the jitter beyond it: each refresh then takes the signatures falling due over that much
// time, and a big zone is refreshed in about ten commits spread over the jitter, not in one
// commit per second.
bool signature_due(const SignPolicy& p, uint32_t now, uint32_t expiration) {
  return until(now, expiration) <= static_cast<int64_t>(p.refresh) + std::max<uint32_t>(1, jitter_spread(p) / 10);
}

// A signature expiring at `exp` falls due at exp - refresh: the earliest is the next refresh.
void note_due(SignStats& stats, const SignPolicy& p, uint32_t exp) {
  uint32_t due = exp - p.refresh;
  if (!stats.next_refresh || until(stats.next_refresh, due) < 0) stats.next_refresh = due;
}

// The RRSIG records covering `type` at `n`, each with the TTL it is served with.
void signatures_of(const Node& n, uint16_t type, std::vector<Record>& out) {
  const wire::RRset* rrsig = n.find(rrtype::RRSIG);
  if (const wire::RRset* sigs = n.sigs_for(type))
    sigs->for_each([&](std::string_view rd) {
      out.push_back(Record{std::string(n.name), rrtype::RRSIG,
                           rrsig ? n.record_ttl(*rrsig, rd) : sigs->ttl, std::string(rd)});
    });
}

// Signatures to make: one RRset, its signers, the RRSIG RDATA made (`out`).
struct SignJob {
  std::string owner;
  uint16_t type = 0;
  uint32_t ttl = 0, inception = 0, expiration = 0;
  std::vector<std::string> rdatas;
  std::vector<const Key*> signers;
  std::vector<std::string> out;
};

// Signs jobs[next...] until none is left (run by several threads at once); the first
// failure stops every thread and is kept in `failure`.
void sign_jobs(NameView origin, std::vector<SignJob>& jobs, std::atomic<size_t>& next,
               std::mutex& mu, std::string& failure) {
  try {
    for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
      SignJob& j = jobs[i];
      for (const Key* k : j.signers)
        j.out.push_back(sign_rrset(*k, j.owner, origin, j.type, j.ttl, j.rdatas, j.inception,
                                   j.expiration));
    }
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> g(mu);
    failure = e.what();
    next = jobs.size();
  }
}

size_t signing_threads(size_t jobs) {
  return std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), (jobs + 63) / 64);
}

// Signs every job on every core, waits for them; throws KeyError on a failure.
void sign_all(NameView origin, std::vector<SignJob>& jobs) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string failure;
  std::vector<std::thread> pool;
  for (size_t t = 1; t < signing_threads(jobs.size()); ++t) {
    try {
      pool.emplace_back([&] { sign_jobs(origin, jobs, next, mu, failure); });
    } catch (const std::system_error&) {
      break;  // no thread to spare: fewer sign, this one included
    }
  }
  sign_jobs(origin, jobs, next, mu, failure);
  for (auto& t : pool) t.join();
  if (!failure.empty()) throw KeyError(failure);
}

class Signer {
 public:
  Signer(const Zone& content, const Zone* prev, const std::vector<Key>& keys,
         const SignPolicy& p, uint32_t now, SignStats& stats)
      : content_(content), prev_(prev), keys_(keys), p_(p), now_(now), stats_(stats),
        origin_(content.origin()), b_(content.origin(), content.source()) {}
  ~Signer() { join(); }  // a throw while a batch is being signed: its threads end first
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  std::shared_ptr<const Zone> run(std::vector<ZoneError>& errors) {
    collect();
    // DNSKEY RRset at the apex, from the keys.
    dnskey_.type = rrtype::DNSKEY;
    dnskey_.ttl = p_.dnskey_ttl;
    for (const auto& k : keys_)
      if (k.publish) dnskey_.add(k.dnskey_rdata);
    if (p_.cds || p_.cds_delete) {
      cds_.type = 59;  // CDS
      cdnskey_.type = 60;  // CDNSKEY
      cds_.ttl = cdnskey_.ttl = p_.dnskey_ttl;
      if (p_.cds_delete) {
        cds_.add(std::string("\0\0\0\0\0", 5));        // CDS 0 0 0 00
        cdnskey_.add(std::string("\0\0\3\0\0", 5));    // CDNSKEY 0 3 0 AA==
      } else {
        for (const auto& k : keys_)
          if (k.ksk && k.ds) {
            cds_.add(ds_rdata(origin_, k.dnskey_rdata));
            cdnskey_.add(k.dnskey_rdata);
          }
      }
    }
    if (p_.nsec3) {
      nsec3param_.type = rrtype::NSEC3PARAM;
      nsec3param_.ttl = content_.negative_ttl();
      nsec3param_.add(std::string("\x01\x00\x00\x00\x00", 5));  // SHA-1, flags 0, 0 iterations, no salt
    }
    for (auto& e : entries_) {
      if (e.name == origin_) {
        e.sets.push_back(&dnskey_.view_ref(dnskey_view_));
        if (p_.nsec3) e.sets.push_back(&nsec3param_.view_ref(nsec3param_view_));
        if ((p_.cds || p_.cds_delete) && cds_.count) {
          e.sets.push_back(&cds_.view_ref(cds_view_));
          e.sets.push_back(&cdnskey_.view_ref(cdnskey_view_));
        }
      }
      for (const auto* s : e.sets) {
        stats_.max_ttl = std::max(stats_.max_ttl, s->ttl);
        s->for_each([&](std::string_view rd) { b_.add(e.name, s->type, s->ttl, rd); });
        if (signs(e, s->type)) sign_set(e.name, *s, false);
      }
    }
    if (p_.nsec3) nsec3_chain(errors);
    else nsec_chain();
    flush();
    finish();
    if (!errors.empty()) return nullptr;
    return b_.build(errors);
  }

 private:
  // An RRset buffer whose view stays put (entries point to it).
  struct OwnedSet : wire::RRsetBuf {
    const wire::RRset& view_ref(wire::RRset& slot) const {
      slot = view();
      return slot;
    }
  };

  void collect() {
    content_.for_each_node([&](const Node& n) {
      Entry e;
      e.name = n.name;
      for (const auto& s : n.rrsets) {
        if (is_dnssec_type(s.type)) {
          stats_.dnssec_dropped += s.count;
          continue;
        }
        e.sets.push_back(&s);
        if (s.type == rrtype::DS) e.has_ds = true;
      }
      if (!e.sets.empty() || n.name == origin_) entries_.push_back(std::move(e));
    });
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return wire::canonical_compare(a.name, b.name) < 0;
    });
    // Canonical order puts every name right after its ancestors: one pass finds the cuts
    // and the names below them (glue, occluded data).
    NameView cut;
    bool in_cut = false;
    for (auto& e : entries_) {
      if (in_cut && wire::is_subdomain(e.name, cut) && e.name != cut) {
        e.occluded = true;
        continue;
      }
      in_cut = false;
      if (e.name == origin_) continue;
      for (const auto* s : e.sets)
        if (s->type == rrtype::NS) e.cut = true;
      if (e.cut) {
        cut = e.name;
        in_cut = true;
      }
    }
  }

  bool signs(const Entry& e, uint16_t type) const {
    if (e.occluded) return false;
    if (e.cut) return type == rrtype::DS;
    return true;
  }

  // Signatures of prev that may stay: same RRset there, made by a key still signing, not due.
  bool reuse(NameView owner, const wire::RRset& set, bool nsec3_owner,
             const std::vector<const Key*>& signers) {
    if (!prev_) return false;
    const Node* n = nsec3_owner ? prev_->find_stored(owner) : prev_->find(owner);
    if (!n) return false;
    const wire::RRset* old = n->find(set.type);
    if (!old || old->ttl != set.ttl || old->count != set.count) return false;
    if (canonical_set(set.type, rdatas_of(*old)) != canonical_set(set.type, rdatas_of(set)))
      return false;
    const wire::RRset* sigs = n->sigs_for(set.type);
    if (!sigs) return false;
    std::vector<std::string> keep;
    for (const Key* k : signers) {
      bool found = false;
      sigs->for_each([&](std::string_view rd) {
        if (found || rd.size() < 18) return;
        if (static_cast<uint8_t>(rd[2]) != k->algorithm || get16(rd, 16) != k->tag) return;
        if (get32(rd, 4) != set.ttl) return;
        uint32_t exp = get32(rd, 8), inc = get32(rd, 12);
        if (until(now_, inc) > 0 || signature_due(p_, now_, exp)) return;
        keep.emplace_back(rd);
        found = true;
      });
      if (!found) return false;
    }
    for (const auto& rd : keep) {
      b_.add(owner, rrtype::RRSIG, set.ttl, rd);
      note_expiration(get32(rd, 8));
      ++stats_.signatures_kept;
    }
    return true;
  }

  void note_expiration(uint32_t exp) { note_due(stats_, p_, exp); }

  void sign_set(NameView owner, const wire::RRset& set, bool nsec3_owner) {
    std::vector<const Key*> signers;
    for (const auto& k : keys_)
      // DNSKEY, CDS and CDNSKEY by the KSKs (RFC 7344 4.1: a key the parent's DS names).
      if (k.signs && (set.type == rrtype::DNSKEY || set.type == 59 || set.type == 60 ? k.ksk : k.zsk))
        signers.push_back(&k);
    if (signers.empty()) return;
    if (reuse(owner, set, nsec3_owner, signers)) return;
    uint32_t expiration = jittered_expiration(p_, now_, owner, set.type);
    uint32_t inception = now_ - 3600;  // validators with a clock somewhat behind
    Job j;
    j.owner = std::string(owner);
    j.type = set.type;
    j.ttl = set.ttl;
    j.rdatas = rdatas_of(set);
    j.signers = std::move(signers);
    j.inception = inception;
    j.expiration = expiration;
    jobs_.push_back(std::move(j));
    note_expiration(expiration);
    if (jobs_.size() >= kBatch) flush();
  }

  // The signatures themselves (nearly all of the time a big zone takes) are made in batches
  // on every core, while the one pass collects the next batch.
  using Job = SignJob;
  static constexpr size_t kBatch = 8192;

  // Hands the batch collected so far to the signing threads and goes on collecting the next
  // one meanwhile; the batch before it is finished first (its signatures added in order).
  void flush() {
    finish();
    if (jobs_.empty()) return;
    inflight_.swap(jobs_);
    next_ = 0;
    for (size_t t = 0; t < signing_threads(inflight_.size()); ++t) {
      try {
        pool_.emplace_back([this] { sign_jobs(origin_, inflight_, next_, failure_mu_, failure_); });
      } catch (const std::system_error&) {
        break;  // no thread to spare: fewer sign
      }
    }
    if (pool_.empty()) sign_jobs(origin_, inflight_, next_, failure_mu_, failure_);  // signed here
  }

  // Waits for the batch being signed and adds its signatures.
  void finish() {
    join();
    if (!failure_.empty()) throw KeyError(failure_);
    for (const auto& j : inflight_)
      for (const auto& rd : j.out) {
        b_.add(j.owner, rrtype::RRSIG, j.ttl, rd);
        ++stats_.signatures_made;
      }
    inflight_.clear();
  }

  void join() {
    for (auto& t : pool_) t.join();
    pool_.clear();
  }

  void nsec_chain() {
    std::vector<const Entry*> chain;
    for (const auto& e : entries_)
      if (!e.occluded && (!e.sets.empty() || e.name == origin_)) chain.push_back(&e);
    const uint32_t ttl = content_.negative_ttl();
    for (size_t i = 0; i < chain.size(); ++i) {
      const Entry& e = *chain[i];
      std::vector<uint16_t> types{rrtype::NSEC, rrtype::RRSIG};
      for (const auto* s : e.sets) types.push_back(s->type);
      std::string rd(chain[(i + 1) % chain.size()]->name);
      rd += type_bitmap(types);
      wire::RRsetBuf set;
      set.type = rrtype::NSEC;
      set.ttl = ttl;
      set.add(rd);
      b_.add(e.name, rrtype::NSEC, ttl, rd);
      sign_set(e.name, set.view(), false);
    }
  }

  void nsec3_chain(std::vector<ZoneError>& errors) {
    struct H {
      std::array<uint8_t, kNsec3HashLen> hash;
      std::vector<uint16_t> types;
    };
    std::map<std::string, std::vector<uint16_t>, std::less<>> names;  // name -> types
    for (const auto& e : entries_) {
      if (e.occluded) continue;
      if (p_.opt_out && e.cut && !e.has_ds) continue;  // an unsigned delegation: opted out
      auto& t = names[std::string(e.name)];
      for (const auto* s : e.sets) t.push_back(s->type);
      if (!e.cut || e.has_ds) t.push_back(rrtype::RRSIG);
    }
    // Empty non-terminals between the names and the apex (RFC 5155 7.1).
    std::vector<std::string> ents;
    for (const auto& [name, types] : names) {
      NameView n = name;
      while (n.size() > origin_.size()) {
        n = wire::parent_name(n);
        if (names.count(n)) break;
        ents.emplace_back(n);
      }
    }
    for (auto& n : ents) names.emplace(n, std::vector<uint16_t>{});
    std::vector<H> hs;
    hs.reserve(names.size());
    for (auto& [name, types] : names) {
      H h;
      nsec3_hash(name, h.hash.data());
      h.types = std::move(types);
      hs.push_back(std::move(h));
    }
    std::sort(hs.begin(), hs.end(), [](const H& a, const H& b) { return a.hash < b.hash; });
    for (size_t i = 1; i < hs.size(); ++i)
      if (hs[i].hash == hs[i - 1].hash) {
        errors.push_back(ZoneError{SourceLine{}, "two names of the zone have the same NSEC3 hash"});
        return;
      }
    const uint32_t ttl = content_.negative_ttl();
    for (size_t i = 0; i < hs.size(); ++i) {
      const auto& next = hs[(i + 1) % hs.size()].hash;
      std::string rd = nsec3_rdata(
          p_.opt_out, std::string_view(reinterpret_cast<const char*>(next.data()), kNsec3HashLen),
          hs[i].types);
      std::string owner = nsec3_owner(hs[i].hash.data(), origin_);
      wire::RRsetBuf set;
      set.type = rrtype::NSEC3;
      set.ttl = ttl;
      set.add(rd);
      b_.add(owner, rrtype::NSEC3, ttl, rd);
      sign_set(owner, set.view(), true);
    }
  }

  const Zone& content_;
  const Zone* prev_;
  const std::vector<Key>& keys_;
  const SignPolicy& p_;
  uint32_t now_;
  SignStats& stats_;
  std::string origin_;
  ZoneBuilder b_;
  std::vector<Entry> entries_;
  OwnedSet dnskey_, nsec3param_, cds_, cdnskey_;
  std::vector<Job> jobs_;      // being collected
  std::vector<Job> inflight_;  // being signed by pool_
  std::vector<std::thread> pool_;
  std::atomic<size_t> next_{0};
  std::mutex failure_mu_;
  std::string failure_;
  wire::RRset dnskey_view_, nsec3param_view_, cds_view_, cdnskey_view_;
};

}  // namespace

std::string signed_data(std::string_view fields, NameView owner, uint16_t type, uint32_t ttl,
                        const std::vector<std::string>& rdatas) {
  std::string data(fields);
  std::string prefix = wire::lowered(owner);
  put16(prefix, type);
  put16(prefix, wire::rrclass::IN);
  put32(prefix, ttl);
  for (const auto& rd : canonical_set(type, rdatas)) {
    data += prefix;
    put16(data, static_cast<uint16_t>(rd.size()));
    data += rd;
  }
  return data;
}

std::string sign_rrset(const Key& key, NameView owner, NameView origin, uint16_t type, uint32_t ttl,
                       const std::vector<std::string>& rdatas, uint32_t inception,
                       uint32_t expiration) {
  std::string f = rrsig_fields(type, key.algorithm, owner, ttl, inception, expiration, key.tag, origin);
  std::string sig = sign(key, signed_data(f, owner, type, ttl, rdatas));
  return f + sig;
}

std::shared_ptr<const Zone> unsigned_content(const Zone& content, const Changeset* cs,
                                             std::vector<ZoneError>& errors) {
  ZoneBuilder b(content.origin(), content.source());
  content.for_each_node([&](const Node& n) {
    for (const auto& s : n.rrsets) {
      if (is_dnssec_type(s.type)) continue;
      if (cs && s.type == rrtype::SOA) continue;
      s.for_each([&](std::string_view rd) { b.add(n.name, s.type, s.ttl, rd); });
    }
  });
  if (cs) {
    b.add(cs->soa_to.owner, rrtype::SOA, cs->soa_to.ttl, cs->soa_to.rdata);
    for (const auto& r : cs->removed) {
      if (is_dnssec_type(r.type)) continue;
      if (!b.remove(r.owner, r.type, r.ttl, r.rdata)) {
        errors.push_back(ZoneError{SourceLine{}, "a record to remove is not in the zone: " + wire::name_to_text(r.owner) +
                                  " " + type_name(r.type)});
        return nullptr;
      }
    }
    for (const auto& r : cs->added)
      if (!is_dnssec_type(r.type)) b.add(r.owner, r.type, r.ttl, r.rdata);
  }
  return b.build(errors);
}

std::shared_ptr<const Zone> sign_zone(const Zone& content, const Zone* prev,
                                      const std::vector<Key>& keys, const SignPolicy& policy,
                                      uint32_t now, SignStats& stats,
                                      std::vector<ZoneError>& errors) {
  if (keys.empty()) {
    errors.push_back(ZoneError{SourceLine{}, "no signing keys"});
    return nullptr;
  }
  Signer s(content, prev, keys, policy, now, stats);
  return s.run(errors);
}

namespace {

// One name's non-DNSSEC RRsets while a change is signed: type -> TTL and RDATAs.
struct NameSets {
  std::map<uint16_t, std::pair<uint32_t, std::vector<std::string>>> sets;
  bool has_data() const { return !sets.empty(); }
  std::vector<uint16_t> types() const {
    std::vector<uint16_t> t;
    for (const auto& [type, v] : sets) t.push_back(type);
    return t;
  }
};

NameSets sets_of(const Node* n) {
  NameSets out;
  if (!n) return out;
  for (const auto& s : n->rrsets)
    if (!is_dnssec_type(s.type)) out.sets[s.type] = {s.ttl, rdatas_of(s)};
  return out;
}

}  // namespace

namespace {

// The signatures of `cur` falling due, made again (added to `out` with the ones they
// replace); RRsets whose signatures `out` changes already are left alone. Notes when the
// next fall due.
void refresh_due(const Zone& cur, const SignPolicy& p, uint32_t now,
                 const std::vector<const Key*>& zsks, const std::vector<const Key*>& ksks,
                 Changeset& out, SignStats& stats) {
  std::set<std::pair<std::string, uint16_t>> signed_here;
  for (const auto* list : {&out.added, &out.removed})
    for (const auto& r : *list)
      if (r.type == rrtype::RRSIG && r.rdata.size() >= 18) signed_here.insert({r.owner, get16(r.rdata, 0)});
  auto note = [&](uint32_t exp) { note_due(stats, p, exp); };
  for (const auto& r : out.added)
    if (r.type == rrtype::RRSIG && r.rdata.size() >= 18) note(get32(r.rdata, 8));
  std::vector<SignJob> jobs;
  std::vector<const Node*> job_nodes;
  const uint32_t inception = now - 3600;
  cur.for_each_node([&](const Node& n) {
    for (const auto& s : n.sigs) {
      bool due = false;
      s.rrsigs.for_each([&](std::string_view rd) {
        if (rd.size() >= 18 && signature_due(p, now, get32(rd, 8))) due = true;
      });
      if (!due || signed_here.count({std::string(n.name), s.covered})) {
        if (!due) s.rrsigs.for_each([&](std::string_view rd) { if (rd.size() >= 18) note(get32(rd, 8)); });
        continue;
      }
      const wire::RRset* set = n.find(s.covered);
      if (!set) continue;  // a signature of nothing: the whole pass drops it
      const bool by_ksk = s.covered == rrtype::DNSKEY || s.covered == 59 || s.covered == 60;
      SignJob j;
      j.owner = std::string(n.name);
      j.type = s.covered;
      j.ttl = set->ttl;
      j.rdatas = rdatas_of(*set);
      j.signers = by_ksk ? ksks : zsks;
      j.inception = inception;
      j.expiration = jittered_expiration(p, now, n.name, s.covered);
      jobs.push_back(std::move(j));
      job_nodes.push_back(&n);
    }
  });
  sign_all(cur.origin(), jobs);
  for (size_t i = 0; i < jobs.size(); ++i) {
    signatures_of(*job_nodes[i], jobs[i].type, out.removed);
    for (auto& rd : jobs[i].out) {
      out.added.push_back(Record{jobs[i].owner, rrtype::RRSIG, jobs[i].ttl, std::move(rd)});
      ++stats.signatures_made;
    }
    note(jobs[i].expiration);
  }
}

}  // namespace

std::optional<Changeset> sign_change(const Zone& cur, const Changeset& cs,
                                     const std::vector<Key>& keys, const SignPolicy& p,
                                     uint32_t now, SignStats& stats, std::string& why_not,
                                     bool refresh) {
  auto no = [&](std::string why) -> std::optional<Changeset> {
    why_not = std::move(why);
    return std::nullopt;
  };
  if (cur.denial() != (p.nsec3 ? Denial::nsec3 : Denial::nsec))
    return no("the denial of existence changes");
  const NameView origin = cur.origin();
  const Node& apex = cur.apex();
  if (p.nsec3) {
    // The parameters the signer uses (RFC 9276) and the policy's opt-out, or a whole pass.
    const wire::RRset* param = apex.find(rrtype::NSEC3PARAM);
    if (!param || param->count != 1 || !param->contains(std::string("\x01\x00\x00\x00\x00", 5)))
      return no("the NSEC3 parameters change");
    uint8_t h[kNsec3HashLen];
    nsec3_hash(origin, h);
    bool match = false;
    const Nsec3Entry* e = cur.nsec3_for(h, match);
    if (!match || e->opt_out != p.opt_out) return no("the NSEC3 opt-out changes");
  }
  // The served version has exactly the keys that publish now (a key change: whole pass).
  const wire::RRset* dnskey = apex.find(rrtype::DNSKEY);
  size_t published = 0;
  std::vector<const Key*> zsks, ksks;
  for (const auto& k : keys) {
    if (k.publish) {
      ++published;
      if (!dnskey || !dnskey->contains(k.dnskey_rdata)) return no("the DNSKEY set changes");
    }
    if (k.signs && k.zsk) zsks.push_back(&k);
    if (k.signs && k.ksk) ksks.push_back(&k);
  }
  if (!dnskey || dnskey->count != published || dnskey->ttl != p.dnskey_ttl || zsks.empty())
    return no("the DNSKEY set changes");
  // The SOA, signed in every pass, shows who signed last: the same keys must sign now (a
  // key that stopped or started signing needs every signature looked at).
  std::set<std::pair<uint8_t, uint16_t>> last, now_signing;
  if (const wire::RRset* sigs = apex.sigs_for(rrtype::SOA))
    sigs->for_each([&](std::string_view rd) {
      if (rd.size() >= 18) last.insert({static_cast<uint8_t>(rd[2]), get16(rd, 16)});
    });
  for (const Key* k : zsks) now_signing.insert({k->algorithm, k->tag});
  if (last != now_signing) return no("the signing keys changed");
  // The SOA: the one served, to the new one; its negative TTL (the NSEC TTL) unchanged.
  std::string soa_rd;
  cur.soa().for_each([&](std::string_view rd) { soa_rd = std::string(rd); });
  if (cs.soa_from.rdata != soa_rd || cs.soa_from.ttl != cur.soa().ttl) return no("the SOA differs");
  wire::SoaFields from, to;
  if (!wire::parse_soa(cs.soa_from.rdata, from) || !wire::parse_soa(cs.soa_to.rdata, to) ||
      cs.soa_to.ttl != cs.soa_from.ttl || from.minimum != to.minimum)
    return no("the negative TTL changes");
  const uint32_t nsec_ttl = cur.negative_ttl();

  // The change by name, in canonical order; names where a cut could move are signed whole.
  auto less = [](const std::string& a, const std::string& b) { return wire::canonical_compare(a, b) < 0; };
  std::map<std::string, std::pair<std::vector<const Record*>, std::vector<const Record*>>, decltype(less)> by_name(less);
  for (int added = 0; added < 2; ++added)
    for (const auto& r : added ? cs.added : cs.removed) {
      if (is_dnssec_type(r.type) || r.type == rrtype::SOA) continue;
      if (r.type == rrtype::DNAME) return no("a DNAME changes");
      if (!wire::is_subdomain(r.owner, origin)) return no("a name outside the zone");
      (added ? by_name[r.owner].second : by_name[r.owner].first).push_back(&r);
    }
  by_name[std::string(origin)];  // the SOA (its signature) changes in any case

  // Each changed name's RRsets before and after the change.
  struct Sides {
    const Node* node;
    NameSets before, after;
  };
  std::map<std::string, Sides, std::less<>> sides;
  for (const auto& [name, change] : by_name) {
    const Node* node = cur.find(name);
    NameSets before = sets_of(node), after = before;
    for (const Record* r : change.first) {
      auto it = after.sets.find(r->type);
      if (it == after.sets.end() || it->second.first != r->ttl) return no("a removed record is not served");
      auto& v = it->second.second;
      auto at = std::find(v.begin(), v.end(), r->rdata);
      if (at == v.end()) return no("a removed record is not served");
      v.erase(at);
      if (v.empty()) after.sets.erase(it);
    }
    for (const Record* r : change.second) {
      auto& slot = after.sets[r->type];
      if (!slot.second.empty() && slot.first != r->ttl) return no("a TTL changes within an RRset");
      slot.first = r->ttl;
      if (std::find(slot.second.begin(), slot.second.end(), r->rdata) != slot.second.end())
        return no("an added record is served already");
      slot.second.push_back(r->rdata);
    }
    // CNAME beside other data, and the like: the full pass says what is wrong.
    if (after.sets.count(rrtype::CNAME) && after.sets.size() > 1) return no("CNAME and other data");
    sides.emplace(name, Sides{node, std::move(before), std::move(after)});
  }
  // Delegations (RFC 4035 2.2): at a cut only the DS is signed, and below one nothing is
  // signed or chained (glue). A delegation may come with its new glue, or go with all of
  // it; a cut that would cover names with data, or uncover them, is the whole pass's.
  auto cut_before = [&](NameView a) {
    const Node* n = cur.find(a);
    return a != origin && n && n->is_cut;
  };
  auto cut_after = [&](NameView a) {
    auto it = sides.find(a);
    if (it == sides.end()) return cut_before(a);
    return a != origin && it->second.after.sets.count(rrtype::NS) != 0;
  };
  std::set<std::string, std::less<>> occluded, cuts;
  for (const auto& [name, sd] : sides) {
    if (NameView(name) == origin) continue;
    bool below_before = false, below_after = false;
    for (NameView a = wire::parent_name(name); a != origin; a = wire::parent_name(a)) {
      const Node* n = cur.find(a);
      if (n && n->has_dname) return no("a name below a DNAME");
      below_before = below_before || cut_before(a);
      below_after = below_after || cut_after(a);
    }
    if (below_before || below_after) {
      if (below_before != below_after && (below_after ? sd.before.has_data() : sd.after.has_data()))
        return no("a delegation that comes or goes covers names with data");
      occluded.insert(name);
      continue;
    }
    const bool was = cut_before(name), is = cut_after(name);
    if (is) {
      for (const auto& [type, v] : sd.after.sets)
        if (type != rrtype::NS && type != rrtype::DS) return no("data beside a delegation");
      cuts.insert(name);
    } else if (sd.after.sets.count(rrtype::DS)) {
      return no("a DS without a delegation");
    }
    if (is && !was && (sd.before.has_data() || (sd.node && sd.node->children > 0)))
      return no("a delegation over names that exist");
    if (was && !is) {
      // The delegation goes, and with it all of its glue (names right below it).
      if (sd.after.has_data()) return no("a delegation goes but data stays at its name");
      size_t glue_gone = 0;
      for (const auto& [other, osd] : sides)
        if (NameView(other) != NameView(name) && wire::parent_name(other) == NameView(name) &&
            osd.before.has_data() && !osd.after.has_data() && (!osd.node || osd.node->children == 0))
          ++glue_gone;
      if (sd.node && sd.node->children != glue_gone) return no("a delegation goes but names below it stay");
    }
  }

  Changeset out;
  out.soa_from = cs.soa_from;
  out.soa_to = cs.soa_to;
  const uint32_t inception = now - 3600;
  auto sign_into = [&](NameView owner, uint16_t type, uint32_t ttl, const std::vector<std::string>& rds) {
    const uint32_t expiration = jittered_expiration(p, now, owner, type);
    for (const Key* k : zsks) {
      out.added.push_back(Record{std::string(owner), rrtype::RRSIG, ttl,
                                 sign_rrset(*k, owner, origin, type, ttl, rds, inception, expiration)});
      ++stats.signatures_made;
    }
  };
  auto drop_sigs = [&](const Node* n, uint16_t type) {
    if (n) signatures_of(*n, type, out.removed);
  };
  // The NSEC of `n` replaced by one with `rdata` (or only removed), signed.
  auto put_nsec = [&](const Node* n, NameView owner, const std::string* rdata) {
    if (n)
      if (const wire::RRset* old = n->find(rrtype::NSEC)) {
        old->for_each([&](std::string_view rd) {
          out.removed.push_back(Record{std::string(owner), rrtype::NSEC, old->ttl, std::string(rd)});
        });
        drop_sigs(n, rrtype::NSEC);
      }
    if (rdata) {
      out.added.push_back(Record{std::string(owner), rrtype::NSEC, nsec_ttl, *rdata});
      sign_into(owner, rrtype::NSEC, nsec_ttl, {*rdata});
    }
  };
  auto nsec_next = [](const Node* n) -> std::string {
    const wire::RRset* s = n ? n->find(rrtype::NSEC) : nullptr;
    std::string next;
    if (s) s->for_each([&](std::string_view rd) {
      size_t len = 0;
      while (len < rd.size() && rd[len] != 0) len += 1 + static_cast<uint8_t>(rd[len]);
      next = std::string(rd.substr(0, len + 1));
    });
    return next;
  };
  auto bitmap_types = [&](NameView owner, const NameSets& sets) {
    std::vector<uint16_t> t = sets.types();
    t.push_back(rrtype::NSEC);
    t.push_back(rrtype::RRSIG);
    if (owner == origin)  // the signer's own apex records
      for (uint16_t x : {rrtype::DNSKEY, uint16_t(59), uint16_t(60)})
        if (apex.find(x)) t.push_back(x);
    return t;
  };
  // Chain neighbours whose NSEC changes because a name comes or goes: each may move once.
  std::set<std::string, decltype(less)> moved(less);
  struct Nsec3Name {
    std::string name;
    const Node* node;
    bool had, has, cut;
    NameSets after;
  };
  std::vector<Nsec3Name> nsec3_names;  // NSEC3 zones: the chain is done after every name
  for (auto& [name, sd] : sides) {
    const Node* node = sd.node;
    const NameSets& before = sd.before;
    NameSets& after = sd.after;
    const bool glue = occluded.count(name) != 0, cut = cuts.count(name) != 0;
    // Whether `other` holds this RRset unchanged (same TTL and records).
    auto kept = [](const NameSets& other, uint16_t type, const auto& v) {
      auto it = other.sets.find(type);
      return it != other.sets.end() && it->second.first == v.first &&
             canonical_set(type, it->second.second) == canonical_set(type, v.second);
    };
    for (const auto& [type, v] : before.sets) {
      if (kept(after, type, v)) continue;
      for (const auto& rd : v.second) out.removed.push_back(Record{std::string(name), type, v.first, rd});
      drop_sigs(node, type);
    }
    for (const auto& [type, v] : after.sets) {
      if (kept(before, type, v)) continue;
      for (const auto& rd : v.second) out.added.push_back(Record{std::string(name), type, v.first, rd});
      if (!glue && (!cut || type == rrtype::DS)) sign_into(name, type, v.first, v.second);
    }
    if (glue) continue;  // below a delegation: neither signed nor chained
    // The SOA's own signature.
    if (NameView(name) == origin) {
      drop_sigs(node, rrtype::SOA);
      sign_into(origin, rrtype::SOA, cs.soa_to.ttl, {cs.soa_to.rdata});
    }
    // The NSEC chain.
    const bool had = before.has_data() || NameView(name) == origin;
    const bool has = after.has_data() || NameView(name) == origin;
    if (p.nsec3) {
      // With opt-out, a delegation without a DS has no NSEC3 (nor makes empty non-terminals).
      const bool opted_out = p.opt_out && cut && !after.sets.count(rrtype::DS);
      const bool was_opted_out = p.opt_out && cut_before(name) && !before.sets.count(rrtype::DS);
      nsec3_names.push_back({name, node, had && !was_opted_out, has && !opted_out, cut, std::move(after)});
      continue;
    }
    if (had && has) {
      if (before.types() != after.types()) {
        if (moved.count(name)) return no("neighbouring names change");
        moved.insert(name);
        std::string rd = nsec_next(node) + type_bitmap(bitmap_types(name, after));
        put_nsec(node, name, &rd);
      }
    } else if (!had && has) {
      // The predecessor comes first in canonical order: if it changed too, it was handled
      // already, and its NSEC may move once (the apex, always changed, often is one).
      const Node* pred = cur.nsec_for(name);
      if (!pred || !moved.insert(std::string(pred->name)).second || !moved.insert(name).second)
        return no("neighbouring names change");
      std::string rd = nsec_next(pred) + type_bitmap(bitmap_types(name, after));
      put_nsec(nullptr, name, &rd);
      NameSets ps = sets_of(pred);
      std::string prd = name + type_bitmap(bitmap_types(pred->name, ps));
      put_nsec(pred, pred->name, &prd);
    } else if (had && !has) {
      const Node* pred = cur.nsec_before(name);
      if (!pred || !moved.insert(std::string(pred->name)).second || !moved.insert(name).second)
        return no("neighbouring names change");
      put_nsec(node, name, nullptr);
      NameSets ps = sets_of(pred);
      std::string prd = nsec_next(node) + type_bitmap(bitmap_types(pred->name, ps));
      put_nsec(pred, pred->name, &prd);
    }
  }
  // NSEC3: false (why_not said) when the whole pass must do it.
  auto nsec3_chain = [&]() -> bool {
    auto fail = [&](std::string why) {
      why_not = std::move(why);
      return false;
    };

    // NSEC3 (RFC 5155 7.1): a hashed owner per name with data and per empty non-terminal
    // above one (not for opted-out delegations, which never change here). The chain is edited
    // as a working copy over the served one: owners added, removed, their next hash or types
    // changed, each as often as the change needs; what differs at the end is signed.
    using Hash = std::array<uint8_t, kNsec3HashLen>;
    auto hash_of = [](NameView n) {
      Hash h;
      nsec3_hash(n, h.data());
      return h;
    };
    auto hash_at = [](const Nsec3Entry* e) {
      Hash h;
      std::memcpy(h.data(), e->hash, h.size());
      return h;
    };
    auto rdata_of = [](const Node* n) {
      std::string rd;
      if (const wire::RRset* s = n ? n->find(rrtype::NSEC3) : nullptr)
        s->for_each([&](std::string_view r) { rd = std::string(r); });
      return rd;
    };
    // Where an NSEC3 RDATA's next hashed owner sits (after the hash length octet).
    auto next_at = [](const std::string& rd) -> size_t {
      if (rd.size() < 5) return std::string::npos;
      size_t at = 5 + static_cast<uint8_t>(rd[4]) + 1;
      return at + kNsec3HashLen <= rd.size() ? at : std::string::npos;
    };
    auto make_rdata = [&](std::string_view next, const std::vector<uint16_t>& types) {
      return nsec3_rdata(p.opt_out, next, types);
    };
    auto types3 = [&](NameView owner, const NameSets& sets, bool cut) {
      std::vector<uint16_t> t = sets.types();
      if (t.empty() && owner != origin) return t;  // an empty non-terminal: no types at all
      if (!cut || sets.sets.count(rrtype::DS)) t.push_back(rrtype::RRSIG);  // signed data
      if (owner == origin)  // the signer's own apex records
        for (uint16_t x : {rrtype::DNSKEY, rrtype::NSEC3PARAM, uint16_t(59), uint16_t(60)})
          if (apex.find(x)) t.push_back(x);
      return t;
    };
    struct Owner {
      const Node* node = nullptr;       // served (nullptr: new)
      std::string served;               // its NSEC3 RDATA as served
      std::optional<std::string> rdata;  // as it will be (nullopt: removed)
    };
    std::map<Hash, Owner> work;
    // The working entry of a hash in the chain (served or added), or nullptr.
    auto entry = [&](const Hash& h) -> Owner* {
      auto it = work.find(h);
      if (it != work.end()) return it->second.rdata ? &it->second : nullptr;
      bool match = false;
      const Nsec3Entry* e = cur.nsec3_for(h.data(), match);
      if (!match) return nullptr;
      Owner& o = work[h];
      o.node = e->node;
      o.served = rdata_of(e->node);
      o.rdata = o.served;
      return next_at(o.served) == std::string::npos ? nullptr : &o;
    };
    // The hash before h in the working chain (wrapping to the last).
    auto before = [&](const Hash& h) -> std::optional<Hash> {
      // Served: walk back over those removed.
      std::optional<Hash> c;
      Hash x = h;
      for (size_t guard = 0; guard <= work.size() + 1; ++guard) {
        for (size_t i = x.size(); i-- > 0;)
          if (x[i]-- != 0) break;
        bool match = false;
        const Nsec3Entry* e = cur.nsec3_for(x.data(), match);
        if (!e) break;
        Hash eh = hash_at(e);
        auto it = work.find(eh);
        if (it == work.end() || it->second.rdata) {
          c = eh;
          break;
        }
        x = eh;
      }
      // Added: the largest below h.
      std::optional<Hash> a;
      for (const auto& [wh, o] : work)
        if (!o.node && o.rdata && wh < h && (!a || *a < wh)) a = wh;
      if (!a)
        for (const auto& [wh, o] : work)
          if (!o.node && o.rdata && wh != h && (!a || *a < wh)) a = wh;
      if (!c || !a) return c ? c : a;
      const bool cw = !(*c < h), aw = !(*a < h);  // wrapped past the start
      if (cw != aw) return cw ? a : c;
      return std::max(*c, *a);
    };
    auto set_next = [&](Owner& o, const Hash& next) {
      o.rdata->replace(next_at(*o.rdata), kNsec3HashLen, reinterpret_cast<const char*>(next.data()),
                       kNsec3HashLen);
    };
    auto next_of = [&](const Owner& o) { return o.rdata->substr(next_at(*o.rdata), kNsec3HashLen); };
    auto insert = [&](const Hash& h, const std::vector<uint16_t>& types) -> bool {
      auto ph = before(h);
      Owner* pred = ph ? entry(*ph) : nullptr;
      if (!pred) return false;
      std::string rd = make_rdata(next_of(*pred), types);
      set_next(*pred, h);
      Owner& o = work[h];
      o.rdata = std::move(rd);
      return true;
    };
    auto erase = [&](const Hash& h) -> bool {
      Owner* o = entry(h);
      auto ph = before(h);
      Owner* pred = ph && *ph != h ? entry(*ph) : nullptr;
      if (!o || !pred) return false;
      pred->rdata->replace(next_at(*pred->rdata), kNsec3HashLen, next_of(*o));
      o->rdata.reset();
      return true;
    };
    // Names of the lookup namespace that come or go below a name (its children count).
    std::map<std::string, int, std::less<>> children_delta;
    auto below_changes = [&](const std::string& name) {
      for (const auto& [other, change] : by_name)
        if (other != name && wire::is_subdomain(other, name)) return true;
      return false;
    };
    for (const auto& c : nsec3_names) {
      const Hash h = hash_of(c.name);
      Owner* e = entry(h);
      // Names below a delegation are glue: they do not make it an empty non-terminal.
      const bool children = c.node && c.node->children > 0 && !c.node->is_cut;
      if (!c.has && children) {
        // Left with only names below it: an empty non-terminal, unless what goes below it
        // changes too, or (opt-out) every name below is an opted-out delegation.
        if (p.opt_out) return fail("an empty non-terminal in an opt-out zone");
        if (below_changes(c.name)) return fail("a name and names below it change together");
      }
      const bool has = c.has || (e && children);
      if (e && has) {
        *e->rdata = make_rdata(next_of(*e), types3(c.name, c.after, c.cut));
      } else if (!e && has) {
        // The name, and each ancestor not yet in the chain (a new empty non-terminal).
        if (!insert(h, types3(c.name, c.after, c.cut))) return fail("the NSEC3 chain is broken");
        if (!c.node) ++children_delta[std::string(wire::parent_name(c.name))];
        for (NameView a = wire::parent_name(c.name); a != origin; a = wire::parent_name(a)) {
          const Hash ha = hash_of(a);
          if (entry(ha)) break;
          if (work.count(ha)) return fail("an empty non-terminal goes and comes back");
          if (!insert(ha, {})) return fail("the NSEC3 chain is broken");
          if (!cur.find(a)) ++children_delta[std::string(wire::parent_name(a))];
        }
      } else if (e && !has) {
        // The name, and each ancestor that was an empty non-terminal only for it.
        if (!erase(h)) return fail("the last name of the chain goes");
        if (c.node && !c.node->empty() && !children) --children_delta[std::string(wire::parent_name(c.name))];
        for (NameView a = wire::parent_name(c.name); a != origin; a = wire::parent_name(a)) {
          const Node* an = cur.find(a);
          if (!an || !an->empty()) break;
          if (by_name.count(std::string(a))) return fail("a name and its ancestor change together");
          auto d = children_delta.find(a);
          const int left = static_cast<int>(an->children) + (d == children_delta.end() ? 0 : d->second);
          if (left > 0) {
            if (p.opt_out) return fail("an empty non-terminal in an opt-out zone");
            break;
          }
          const Hash ha = hash_of(a);
          if (!entry(ha)) break;
          if (!erase(ha)) return fail("the last name of the chain goes");
          --children_delta[std::string(wire::parent_name(a))];
        }
      }
    }
    for (const auto& [h, o] : work) {
      if (o.node && o.rdata && *o.rdata == o.served) continue;
      std::string owner;
      if (o.node) {
        owner = std::string(o.node->name);
      } else {
        owner = nsec3_owner(h.data(), origin);
      }
      if (o.node) {
        if (const wire::RRset* old = o.node->find(rrtype::NSEC3))
          old->for_each([&](std::string_view rd) {
            out.removed.push_back(Record{owner, rrtype::NSEC3, old->ttl, std::string(rd)});
          });
        drop_sigs(o.node, rrtype::NSEC3);
      }
      if (o.rdata) {
        out.added.push_back(Record{owner, rrtype::NSEC3, nsec_ttl, *o.rdata});
        sign_into(owner, rrtype::NSEC3, nsec_ttl, {*o.rdata});
      }
    }
    return true;
  };
  if (p.nsec3 && !nsec3_chain()) return std::nullopt;
  if (refresh) refresh_due(cur, p, now, zsks, ksks, out, stats);
  return out;
}

}  // namespace zone::dnssec
