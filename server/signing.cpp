#include "server/signing.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "zone/serial_policy.h"
#include "zone/signature_check.h"
#include "zone/signer.h"
#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

namespace server {

namespace {

std::shared_ptr<spdlog::logger> dnssec_log() {
  auto l = spdlog::get("dnssec");
  if (!l) l = spdlog::get("zone");
  return l ? l : spdlog::default_logger();
}

const char* algorithm_name(uint8_t a) {
  return a == zone::dnssec::kEd25519 ? "ED25519" : a == zone::dnssec::kEcdsaP256Sha256 ? "ECDSAP256SHA256" : "?";
}

std::string utc(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

void SigningService::configure(const Config& cfg) {
  std::lock_guard<std::mutex> g(mu_);
  std::map<std::string, ZoneState> next;
  for (const auto& z : cfg.zones) {
    if (z.dnssec_policy.empty()) continue;
    const PolicyConfig* p = cfg.policy(z.dnssec_policy);
    if (!p) continue;  // the config library refused that already
    ZoneState st;
    if (auto it = zones_.find(z.origin); it != zones_.end()) st = std::move(it->second);
    st.name = z.name;
    if (st.key_dir != cfg.server.key_dir || st.policy.algorithm != p->algorithm ||
        st.policy.csk != p->csk) {
      st.keys.clear();
      st.keys_loaded = false;  // read again
    }
    st.policy = *p;
    st.key_dir = cfg.server.key_dir;
    st.ixfr_history = z.ixfr_history;
    st.notify = !z.notify.empty();
    next[z.origin] = std::move(st);
  }
  zones_ = std::move(next);
}

bool SigningService::signs(const std::string& origin) const {
  std::lock_guard<std::mutex> g(mu_);
  return zones_.count(origin) > 0;
}

std::vector<zone::dnssec::Key> SigningService::keys(const std::string& origin) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = zones_.find(origin);
  return it == zones_.end() ? std::vector<zone::dnssec::Key>{} : it->second.keys;
}

std::vector<zone::dnssec::Key> SigningService::load_or_make_keys(ZoneState& z) {
  if (z.keys_loaded) return z.keys;
  namespace d = zone::dnssec;
  d::KeyStore store(z.key_dir, z.name);
  std::vector<d::Key> keys = store.load();
  const uint8_t alg = z.policy.algorithm_number();
  bool have_ksk = false, have_zsk = false;
  for (const auto& k : keys) {
    if (k.algorithm != alg) continue;
    have_ksk = have_ksk || k.ksk;
    have_zsk = have_zsk || k.zsk;
  }
  if (!keys.empty() && (!have_ksk || !have_zsk))
    dnssec_log()->warn("zone {}: the keys in {} do not fit policy '{}' ({}, {}): new keys are made "
                       "beside them (rollovers are not automatic yet)",
                       z.name, store.zone_dir(), z.policy.name, algorithm_name(alg),
                       z.policy.csk ? "CSK" : "KSK+ZSK");
  const int64_t now = std::time(nullptr);
  auto make = [&](bool ksk, bool zsk) {
    d::Key k = d::generate_key(alg, ksk, zsk, now);
    keys.push_back(k);
    store.save(keys, &keys.back());
    dnssec_log()->info("zone {}: generated {} {} key tag {} in {}", z.name,
                       ksk && zsk ? "CSK" : ksk ? "KSK" : "ZSK", algorithm_name(alg), k.tag,
                       store.zone_dir());
  };
  if (z.policy.csk && !have_ksk && !have_zsk) {
    make(true, true);
  } else {
    if (!have_ksk) make(true, z.policy.csk);
    if (!have_zsk) make(z.policy.csk, true);
  }
  // Only keys of the policy's algorithm sign (a mixed DNSKEY set needs an algorithm rollover).
  std::erase_if(keys, [&](const d::Key& k) { return k.algorithm != alg; });
  z.keys = keys;
  z.keys_loaded = true;
  return keys;
}

std::shared_ptr<const zone::Zone> SigningService::sign(const std::string& origin,
                                                      const std::string& name,
                                                      const zone::Zone& content,
                                                      const zone::Zone* prev,
                                                      std::string& error) {
  std::vector<zone::dnssec::Key> keys;
  PolicyConfig policy;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = zones_.find(origin);
    if (it == zones_.end()) {
      error = "zone " + name + " has no dnssec-policy";
      return nullptr;
    }
    try {
      keys = load_or_make_keys(it->second);
    } catch (const zone::dnssec::KeyError& e) {
      error = "keys of zone " + name + ": " + e.what() + " (the zone stays as it was)";
      return nullptr;
    }
    policy = it->second.policy;
  }
  zone::dnssec::SignPolicy sp;
  sp.nsec3 = policy.nsec3;
  sp.opt_out = policy.nsec3_opt_out;
  sp.validity = policy.signature_validity;
  sp.refresh = policy.signature_refresh;
  sp.dnskey_ttl = policy.dnskey_ttl;
  sp.cds = policy.cds_cdnskey;
  zone::dnssec::SignStats stats;
  std::vector<zone::ZoneError> errors;
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<const zone::Zone> out;
  try {
    out = zone::dnssec::sign_zone(content, prev, keys, sp, static_cast<uint32_t>(std::time(nullptr)),
                                  stats, errors);
  } catch (const zone::dnssec::KeyError& e) {
    errors.push_back(zone::ZoneError{zone::SourceLine{}, e.what()});
  }
  if (!out) {
    error.clear();
    for (const auto& e : errors) error += (error.empty() ? "" : "; ") + e.message;
    return nullptr;
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto log = dnssec_log();
  if (stats.dnssec_dropped)
    log->warn("zone {}: {} DNSSEC record(s) of the input (DNSKEY, RRSIG, NSEC, NSEC3, "
              "NSEC3PARAM, CDS, CDNSKEY) dropped: zoned signs this zone itself (dnssec-policy {})",
              name, stats.dnssec_dropped, policy.name);
  log->info("zone {}: signed serial {} ({}): {} signature(s) made, {} kept; next refresh {}, {:.1f} ms",
            name, out->serial(), policy.nsec3 ? (policy.nsec3_opt_out ? "NSEC3 opt-out" : "NSEC3") : "NSEC",
            stats.signatures_made, stats.signatures_kept,
            stats.next_refresh ? utc(stats.next_refresh) : std::string("none"), ms);
  {
    std::lock_guard<std::mutex> g(mu_);
    if (auto it = zones_.find(origin); it != zones_.end()) {
      it->second.next_refresh = stats.next_refresh;
      it->second.refreshing = false;
    }
  }
  return out;
}

bool SigningService::adopt(const std::string& origin, const std::string& name,
                           const zone::Zone& stored) {
  namespace rrtype = zone::wire::rrtype;
  std::vector<zone::dnssec::Key> keys;
  PolicyConfig policy;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = zones_.find(origin);
    if (it == zones_.end()) return false;
    try {
      keys = load_or_make_keys(it->second);
    } catch (const zone::dnssec::KeyError&) {
      return false;  // the sign step says why
    }
    policy = it->second.policy;
  }
  if (stored.denial() != (policy.nsec3 ? zone::Denial::nsec3 : zone::Denial::nsec)) return false;
  // The DNSKEY RRset is exactly the zone's keys.
  const zone::wire::RRset* dnskey = stored.apex().find(rrtype::DNSKEY);
  if (!dnskey || dnskey->count != keys.size() || dnskey->ttl != policy.dnskey_ttl) return false;
  for (const auto& k : keys)
    if (!dnskey->contains(k.dnskey_rdata)) return false;
  if ((stored.apex().find(59) != nullptr) != policy.cds_cdnskey) return false;  // CDS as the policy says
  // No signature due (or made by another key), NSEC3 flags as the policy says.
  const uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  uint32_t earliest = 0;
  bool ok = true;
  size_t count = 0;
  stored.for_each_node([&](const zone::Node& n) {
    if (!ok) return;
    for (const auto& set : n.rrsets) {
      if (set.type == rrtype::NSEC3) {
        set.for_each([&](std::string_view rd) {
          if (rd.size() > 1 && ((static_cast<uint8_t>(rd[1]) & 1) != 0) != policy.nsec3_opt_out) ok = false;
        });
      }
      if (set.type != rrtype::RRSIG) continue;
      set.for_each([&](std::string_view rd) {
        if (rd.size() < 18) {
          ok = false;
          return;
        }
        uint16_t tag = static_cast<uint16_t>(static_cast<uint8_t>(rd[16]) << 8 | static_cast<uint8_t>(rd[17]));
        bool ours = false;
        for (const auto& k : keys) ours = ours || (k.tag == tag && k.algorithm == static_cast<uint8_t>(rd[2]));
        uint32_t exp = zone::signature_expiration(rd);
        if (!ours) ok = false;
        if (!count++ || static_cast<int32_t>(exp - earliest) < 0) earliest = exp;
      });
    }
  });
  if (!ok || !count) return false;
  const uint32_t due = earliest - policy.signature_refresh;
  if (static_cast<int32_t>(due - now) <= 0) return false;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (auto it = zones_.find(origin); it != zones_.end()) it->second.next_refresh = due;
  }
  dnssec_log()->info("zone {}: stored signed serial {} still good ({} signatures); next refresh {}",
                     name, stored.serial(), count, utc(due));
  return true;
}

void SigningService::refresh_due(zone::Committer& committer, int64_t now) {
  std::vector<zone::ZoneChange> changes;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [origin, z] : zones_) {
      if (z.refreshing || !z.next_refresh ||
          static_cast<int32_t>(static_cast<uint32_t>(now) - z.next_refresh) < 0)
        continue;
      z.refreshing = true;
      zone::ZoneChange c;
      c.kind = zone::ZoneChange::Kind::plan;
      c.origin = origin;
      c.name = z.name;
      c.source = "signature refresh";
      c.keep_history = z.ixfr_history;
      c.notify = z.notify;
      // One serial further; the sign step makes the signatures that fell due.
      c.planner = [](const zone::Zone& cur) {
        zone::PlanOutcome out;
        zone::Changeset cs;
        cs.soa_from.owner = cur.origin();
        cs.soa_from.type = zone::wire::rrtype::SOA;
        cs.soa_from.ttl = cur.soa().ttl;
        cur.soa().for_each([&](std::string_view rd) { cs.soa_from.rdata = std::string(rd); });
        cs.soa_to = cs.soa_from;
        zone::wire::set_soa_serial(cs.soa_to.rdata, zone::next_serial("increment", cur.serial()));
        out.changes = std::move(cs);
        return out;
      };
      changes.push_back(std::move(c));
    }
  }
  if (changes.empty()) return;
  std::vector<std::string> origins;
  for (const auto& c : changes) origins.push_back(c.origin);
  committer.commit(std::move(changes), [this, origins, now](std::vector<zone::CommitResult> results) {
    std::lock_guard<std::mutex> g(mu_);
    for (size_t i = 0; i < results.size() && i < origins.size(); ++i) {
      auto it = zones_.find(origins[i]);
      if (it == zones_.end()) continue;
      it->second.refreshing = false;
      if (!results[i].ok) {
        // The commit step logged why; try again in a minute.
        it->second.next_refresh = static_cast<uint32_t>(now + 60);
      } else if (!results[i].changed) {
        it->second.next_refresh = 0;
      }
    }
  });
}

}  // namespace server
