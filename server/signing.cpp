#include "server/signing.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "zone/serial_policy.h"
#include "zone/utc.h"
#include "zone/wire/name.h"
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


// What the signer needs of a policy.
zone::dnssec::SignPolicy sign_policy(const PolicyConfig& policy) {
  zone::dnssec::SignPolicy sp;
  sp.nsec3 = policy.nsec3;
  sp.opt_out = policy.nsec3_opt_out;
  sp.validity = policy.signature_validity;
  sp.refresh = policy.signature_refresh;
  sp.dnskey_ttl = policy.dnskey_ttl;
  sp.cds = policy.cds_cdnskey;
  sp.cds_delete = policy.insecure;
  return sp;
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
    if (st.key_dir != cfg.server.key_dir) {
      st.keys.clear();
      st.keys_loaded = false;  // read again
    }
    // A new algorithm or key kind is an algorithm rollover (the next tick starts it).
    st.policy = *p;
    st.key_dir = cfg.server.key_dir;
    st.ixfr_history = z.ixfr_history;
    st.notify = !z.notify.empty();
    // The closest enclosing primary zone served here is the parent whose DS zoned keeps.
    std::string parent, parent_name;
    unsigned parent_history = 100;
    bool parent_notify = false;
    for (const auto& pz : cfg.zones) {
      if (!pz.from_file() || pz.origin == z.origin || pz.origin.size() <= parent.size()) continue;
      if (!zone::wire::is_subdomain(z.origin, pz.origin)) continue;
      parent = pz.origin;
      parent_name = pz.name;
      parent_history = pz.ixfr_history;
      parent_notify = !pz.notify.empty();
    }
    if (parent != st.parent) st.ds_synced.reset();
    st.parent = parent;
    st.parent_name = parent_name;
    st.parent_history = parent_history;
    st.parent_notify = parent_notify;
    st.parental_agents = z.parental_agents;
    next[z.origin] = std::move(st);
  }
  for (const auto& [origin, z] : zones_)
    if (!next.count(origin) && z.keys_loaded && !z.keys.empty() && !z.policy.insecure)
      dnssec_log()->warn("zone {}: no dnssec-policy any more: its next change is served unsigned, "
                         "which validators reject while the parent has its DS; "
                         "'dnssec-policy: insecure' unsigns a zone safely", z.name);
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

zone::dnssec::RolloverPolicy SigningService::rollover_policy(const ZoneState& z) const {
  zone::dnssec::RolloverPolicy rp;
  rp.algorithm = z.policy.algorithm_number();
  rp.csk = z.policy.csk;
  rp.ksk_lifetime = z.policy.ksk_lifetime;
  rp.zsk_lifetime = z.policy.csk ? 0 : z.policy.zsk_lifetime;
  rp.dnskey_ttl = z.policy.dnskey_ttl;
  rp.ds_ttl = z.policy.ds_ttl;
  rp.propagation = z.policy.propagation_delay;
  // Before the first signing the zone's TTLs are not known: a day covers common zones.
  rp.max_ttl = z.max_ttl ? z.max_ttl : 86400;
  rp.insecure = z.policy.insecure;
  return rp;
}

bool SigningService::advance_keys(ZoneState& z, int64_t now) {
  namespace d = zone::dnssec;
  d::KeyStore store(z.key_dir, z.name);
  std::vector<d::Key> keys = z.keys;
  std::set<std::string> before;
  for (const auto& k : keys) before.insert(k.id);
  const d::Force force = z.force;
  z.force = d::Force::none;
  d::RolloverStep step = d::advance(
      keys, rollover_policy(z), now,
      [](uint8_t alg, bool ksk, bool zsk, int64_t t) { return d::generate_key(alg, ksk, zsk, t); },
      force);
  z.waiting = step.waiting;
  z.next_event = step.next_event;
  if (!step.refused.empty())
    dnssec_log()->warn("zone {}: rollover not started: {}", z.name, step.refused);
  if (!step.changed) return false;
  // New private keys first (each written exclusively), then the state naming them; a crash
  // in between leaves an unused file, never a state without its key.
  for (const auto& k : keys) {
    if (before.count(k.id)) continue;
    store.save(z.keys, &k);
    dnssec_log()->info("zone {}: generated {} {} key tag {} in {}", z.name, d::role_name(k),
                       algorithm_name(k.algorithm), k.tag, store.zone_dir());
  }
  store.save(keys, nullptr);
  for (const auto& id : step.dropped) store.forget(id);
  for (const auto& e : step.events) dnssec_log()->info("zone {}: {}", z.name, e);
  z.keys = std::move(keys);
  // Signatures by a key that left, new signers: only a whole pass sees them all.
  z.whole_pass_due = true;
  return true;
}

std::vector<zone::dnssec::Key> SigningService::load_or_make_keys(ZoneState& z) {
  if (!z.keys_loaded) {
    zone::dnssec::KeyStore store(z.key_dir, z.name);
    z.keys = store.load();
    z.keys_loaded = true;
    advance_keys(z, std::time(nullptr));  // the first keys, or the steps due since the stop
  }
  return z.keys;
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
      it->second.keys_loaded = false;
      error = "keys of zone " + name + ": " + e.what() + " (the zone stays as it was)";
      return nullptr;
    }
    policy = it->second.policy;
  }
  const int64_t now = std::time(nullptr);
  zone::dnssec::apply_times(keys, now);
  if (policy.insecure && std::none_of(keys.begin(), keys.end(), [](const auto& k) { return k.signs; })) {
    // Gone insecure: the zone without any DNSSEC record.
    std::vector<zone::ZoneError> errors;
    auto out = zone::dnssec::unsigned_content(content, nullptr, errors);
    if (!out) {
      error = errors.empty() ? "cannot unsign" : errors.front().message;
      return nullptr;
    }
    dnssec_log()->info("zone {}: serial {} served unsigned (dnssec-policy {})", name, out->serial(),
                       policy.name);
    std::lock_guard<std::mutex> g(mu_);
    if (auto it = zones_.find(origin); it != zones_.end()) {
      it->second.next_refresh = 0;
      it->second.refreshing = false;
      it->second.signed_at = now;
    }
    return out;
  }
  const zone::dnssec::SignPolicy sp = sign_policy(policy);
  zone::dnssec::SignStats stats;
  std::vector<zone::ZoneError> errors;
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<const zone::Zone> out;
  try {
    out = zone::dnssec::sign_zone(content, prev, keys, sp, static_cast<uint32_t>(now), stats, errors);
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
            stats.next_refresh ? zone::utc_text(stats.next_refresh) : std::string("none"), ms);
  {
    std::lock_guard<std::mutex> g(mu_);
    if (auto it = zones_.find(origin); it != zones_.end()) {
      it->second.next_refresh = stats.next_refresh;
      it->second.refreshing = false;
      it->second.max_ttl = stats.max_ttl;
      it->second.signed_at = now;
      it->second.whole_pass_due = false;
    }
  }
  return out;
}

std::optional<zone::Changeset> SigningService::sign_change(const std::string& origin,
                                                           const std::string& name,
                                                           const zone::Zone& cur,
                                                           const zone::Changeset& cs) {
  std::vector<zone::dnssec::Key> keys;
  PolicyConfig policy;
  const int64_t now = std::time(nullptr);
  bool refresh = false;
  {
    std::lock_guard<std::mutex> g(mu_);
    auto it = zones_.find(origin);
    if (it == zones_.end() || !it->second.keys_loaded || it->second.policy.insecure ||
        it->second.whole_pass_due)
      return std::nullopt;
    const ZoneState& z = it->second;
    // Signatures due: made again in this change. A key whose role changed since the last
    // signing: the whole pass.
    refresh = z.next_refresh && static_cast<int32_t>(static_cast<uint32_t>(now) - z.next_refresh) >= 0;
    for (const auto& k : z.keys)
      for (int64_t t : {k.published, k.active, k.retire, k.remove, k.ds_submit, k.ds_withdraw})
        if (t > z.signed_at && t <= now) return std::nullopt;
    keys = z.keys;
    policy = z.policy;
  }
  zone::dnssec::apply_times(keys, now);
  const zone::dnssec::SignPolicy sp = sign_policy(policy);
  zone::dnssec::SignStats stats;
  std::string why;
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<zone::Changeset> out;
  try {
    out = zone::dnssec::sign_change(cur, cs, keys, sp, static_cast<uint32_t>(now), stats, why, refresh);
  } catch (const zone::dnssec::KeyError& e) {
    why = e.what();
  }
  if (!out) {
    dnssec_log()->debug("zone {}: signed whole: {}", name, why);
    return std::nullopt;
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (refresh) {
    dnssec_log()->info("zone {}: signed serial {} ({}): the change and the signatures falling due, "
                       "{} signature(s) made; next refresh {}, {:.1f} ms", name, out->to_serial(),
                       policy.nsec3 ? "NSEC3" : "NSEC", stats.signatures_made,
                       stats.next_refresh ? zone::utc_text(stats.next_refresh) : std::string("none"), ms);
    std::lock_guard<std::mutex> g(mu_);
    if (auto it = zones_.find(origin); it != zones_.end())
      it->second.refresh_pending = {out->to_serial(), stats.next_refresh};
  } else {
    dnssec_log()->info("zone {}: signed serial {} ({}): the change only, {} signature(s) made; {:.1f} ms", name,
                       out->to_serial(), policy.nsec3 ? "NSEC3" : "NSEC", stats.signatures_made, ms);
  }
  return out;
}

void SigningService::committed(const std::string& origin, const zone::CommitResult& r) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = zones_.find(origin);
  if (it == zones_.end() || !it->second.refresh_pending) return;
  auto [serial, next] = *it->second.refresh_pending;
  it->second.refresh_pending.reset();
  if (r.ok && r.zone && r.zone->serial() == serial) it->second.next_refresh = next;
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
  if (policy.insecure) return false;  // made again (unsigned, or with the delete form)
  if (stored.denial() != (policy.nsec3 ? zone::Denial::nsec3 : zone::Denial::nsec)) return false;
  // The DNSKEY RRset is exactly the keys published now, the signatures are by keys that sign
  // now, CDS as the policy and the rollover say.
  zone::dnssec::apply_times(keys, std::time(nullptr));
  size_t published = 0, cds = 0;
  for (const auto& k : keys) {
    published += k.publish;
    cds += k.ksk && k.ds;
  }
  const zone::wire::RRset* dnskey = stored.apex().find(rrtype::DNSKEY);
  if (!dnskey || dnskey->count != published || dnskey->ttl != policy.dnskey_ttl) return false;
  for (const auto& k : keys)
    if (k.publish && !dnskey->contains(k.dnskey_rdata)) return false;
  const zone::wire::RRset* cds_set = stored.apex().find(59);
  if (policy.cds_cdnskey ? (!cds_set || cds_set->count != cds) : cds_set != nullptr) return false;
  std::erase_if(keys, [](const zone::dnssec::Key& k) { return !k.signs; });
  // No signature due (or made by another key), NSEC3 flags as the policy says.
  const uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  uint32_t earliest = 0;
  bool ok = true;
  size_t count = 0;
  uint32_t max_ttl = 0;
  stored.for_each_node([&](const zone::Node& n) {
    if (!ok) return;
    for (const auto& set : n.rrsets) {
      if (!zone::dnssec::is_dnssec_type(set.type)) max_ttl = std::max(max_ttl, set.ttl);
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
    if (auto it = zones_.find(origin); it != zones_.end()) {
      it->second.next_refresh = due;
      it->second.signed_at = now;  // the stored version is what the keys call for now
      it->second.max_ttl = max_ttl;
    }
  }
  dnssec_log()->info("zone {}: stored signed serial {} still good ({} signatures); next refresh {}",
                     name, stored.serial(), count, zone::utc_text(due));
  return true;
}

zone::ZoneChange SigningService::resign_change(const std::string& origin, ZoneState& z,
                                              const char* source) {
  z.refreshing = true;
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::plan;
  c.origin = origin;
  c.name = z.name;
  c.source = source;
  c.keep_history = z.ixfr_history;
  c.notify = z.notify;
  // One serial further; the sign step makes the signatures that fell due and the DNSKEY,
  // CDS and signatures the keys' roles call for now.
  c.planner = [](const zone::Zone& cur) {
    zone::PlanOutcome out;
    out.changes = zone::serial_step(cur, zone::next_serial("increment", cur.serial()));
    return out;
  };
  return c;
}

void SigningService::tick(zone::Committer& committer, int64_t now) {
  std::vector<zone::ZoneChange> changes;
  std::vector<std::string> origins;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [origin, z] : zones_) {
      if (!z.keys_loaded || z.refreshing) continue;  // not signed yet, or a signing under way
      bool keys_changed = false;
      try {
        keys_changed = advance_keys(z, now);
      } catch (const zone::dnssec::KeyError& e) {
        dnssec_log()->error("zone {}: rollover step not taken: {} (tried again in a minute)",
                            z.name, e.what());
        z.next_event = now + 60;
      }
      // A key's role changed since the last signing (a time set by the rollover passed).
      bool role_changed = false;
      for (const auto& k : z.keys)
        for (int64_t t : {k.published, k.active, k.retire, k.remove, k.ds_submit, k.ds_withdraw})
          if (t > z.signed_at && t <= now) role_changed = true;
      const bool refresh_due =
          z.next_refresh && static_cast<int32_t>(static_cast<uint32_t>(now) - z.next_refresh) >= 0;
      if (keys_changed || role_changed || refresh_due) {
        changes.push_back(resign_change(origin, z, refresh_due && !keys_changed && !role_changed
                                                       ? "signature refresh"
                                                       : "key rollover"));
        origins.push_back(origin);
      }
      sync_parent_ds(committer, origin, z, now);
      ask_parental_agents(origin, z, now);
    }
  }
  if (changes.empty()) return;
  committer.commit(std::move(changes), [this, origins, now](std::vector<zone::CommitResult> results) {
    std::lock_guard<std::mutex> g(mu_);
    for (size_t i = 0; i < results.size() && i < origins.size(); ++i) {
      auto it = zones_.find(origins[i]);
      if (it == zones_.end()) continue;
      it->second.refreshing = false;
      if (!results[i].ok) {
        // The commit step logged why; try again in a minute.
        it->second.next_refresh = static_cast<uint32_t>(now + 60);
        it->second.signed_at = std::min(it->second.signed_at, now - 1);
      } else if (!results[i].changed) {
        it->second.next_refresh = 0;
        it->second.signed_at = now;
      }
    }
  });
}

void SigningService::sync_parent_ds(zone::Committer& committer, const std::string& origin,
                                    ZoneState& z, int64_t now) {
  if (z.parent.empty() || z.ds_syncing || now < z.ds_retry_at) return;
  std::vector<zone::dnssec::Key> keys = z.keys;
  zone::dnssec::apply_times(keys, now);
  std::set<std::string> wanted;
  for (const auto& k : keys)
    if (k.ksk && k.ds) wanted.insert(zone::dnssec::ds_rdata(origin, k.dnskey_rdata));
  // Checked again now and then even when nothing changed here: the parent may have changed
  // by other means (its zone file edited and reloaded), and the DS is kept in line.
  if (z.ds_synced && wanted == *z.ds_synced && now < z.ds_recheck_at) return;
  z.ds_syncing = true;
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::plan;
  c.origin = z.parent;
  c.name = z.parent_name;
  c.source = "DS of " + z.name;
  c.keep_history = z.parent_history;
  c.notify = z.parent_notify;
  c.sync_to_file = true;
  const uint32_t ds_ttl = z.policy.ds_ttl;
  auto delegated = std::make_shared<bool>(false);
  c.planner = [origin, wanted, ds_ttl, delegated](const zone::Zone& cur) {
    namespace rrtype = zone::wire::rrtype;
    zone::PlanOutcome out;
    zone::Changeset cs;
    const zone::Node* n = cur.find(origin);
    if (!n || !n->find(rrtype::NS)) {
      out.changes = cs;  // no delegation to the child: nothing to keep
      return out;
    }
    *delegated = true;
    std::set<std::string> have;
    if (const zone::wire::RRset* ds = n->find(rrtype::DS)) {
      ds->for_each([&](std::string_view rd) {
        have.insert(std::string(rd));
        if (!wanted.count(std::string(rd)) || ds->ttl != ds_ttl)
          cs.removed.push_back({origin, rrtype::DS, ds->ttl, std::string(rd)});
      });
      if (ds->ttl != ds_ttl) have.clear();
    }
    for (const auto& rd : wanted)
      if (!have.count(rd)) cs.added.push_back({origin, rrtype::DS, ds_ttl, rd});
    if (!cs.empty()) {
      zone::Changeset step = zone::serial_step(cur, zone::next_serial("increment", cur.serial()));
      cs.soa_from = std::move(step.soa_from);
      cs.soa_to = std::move(step.soa_to);
    }
    out.changes = std::move(cs);
    return out;
  };
  std::vector<zone::ZoneChange> v;
  v.push_back(std::move(c));
  committer.commit(std::move(v), [this, origin, wanted, now, delegated](std::vector<zone::CommitResult> r) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = zones_.find(origin);
    if (it == zones_.end()) return;
    ZoneState& z = it->second;
    z.ds_syncing = false;
    if (r.empty() || !r.front().ok) {
      dnssec_log()->error("zone {}: the DS in parent {} not updated: {} (tried again in a minute)",
                          z.name, z.parent_name, r.empty() ? "no result" : r.front().error);
      z.ds_retry_at = now + 60;
      return;
    }
    if (!*delegated) {
      // Not delegated (yet: zonectl host delegates once the servers serve the child): look
      // again now and then, say it once.
      if (!z.ds_no_delegation_said)
        dnssec_log()->info("zone {}: parent {} is served here but does not delegate it (yet): "
                           "no DS kept there", z.name, z.parent_name);
      z.ds_no_delegation_said = true;
      z.ds_retry_at = now + 5;
      return;
    }
    z.ds_synced = wanted;
    z.ds_no_delegation_said = false;
    z.ds_recheck_at = now + 5;
    if (r.front().changed)
      dnssec_log()->info("zone {}: DS set in parent {} updated ({} DS)", z.name, z.parent_name,
                         wanted.size());
    // Seen (served, or for a withdrawn DS no longer served) once the parent's secondaries
    // have the change too.
    bool marked = false;
    for (auto& k : z.keys) {
      if (!k.ksk) continue;
      const bool in = wanted.count(zone::dnssec::ds_rdata(origin, k.dnskey_rdata)) > 0;
      const bool withdrawn = !in && k.ds_withdraw && k.ds_withdraw <= now && k.ds_seen < k.ds_withdraw;
      if ((in && !k.ds_seen) || withdrawn) {
        k.ds_seen = now + z.policy.propagation_delay;
        marked = true;
      }
    }
    if (marked) {
      try {
        zone::dnssec::KeyStore(z.key_dir, z.name).save(z.keys, nullptr);
      } catch (const zone::dnssec::KeyError& e) {
        dnssec_log()->error("zone {}: key state not saved: {}", z.name, e.what());
      }
    }
  });
}

void SigningService::ask_parental_agents(const std::string& origin, ZoneState& z, int64_t now) {
  if (!z.parent.empty() || z.parental_agents.empty() || !agent_query_ || z.agents_asking ||
      now < z.agents_next)
    return;
  // Anything to see? A KSK whose DS is wanted and not seen yet, or (going insecure) one
  // withdrawn and not seen gone.
  std::vector<zone::dnssec::Key> keys = z.keys;
  zone::dnssec::apply_times(keys, now);
  std::set<std::string> want_in, want_out;
  for (const auto& k : keys) {
    if (!k.ksk) continue;
    const std::string ds = zone::dnssec::ds_rdata(origin, k.dnskey_rdata);
    if (k.ds && !k.ds_seen) want_in.insert(ds);
    if (z.policy.insecure && k.ds_withdraw && k.ds_withdraw <= now && k.ds_seen < k.ds_withdraw)
      want_out.insert(ds);
  }
  if (want_in.empty() && want_out.empty()) return;
  z.agents_asking = true;
  const int64_t interval = std::clamp<int64_t>(z.policy.propagation_delay / 2, 1, 60);
  agent_query_(z.parental_agents, origin, zone::wire::rrtype::DS,
               [this, origin, want_in, want_out, interval](std::vector<AgentAnswer> answers) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = zones_.find(origin);
    if (it == zones_.end()) return;
    ZoneState& z = it->second;
    const int64_t t = std::time(nullptr);
    z.agents_asking = false;
    z.agents_next = t + interval;
    bool all_in = true, all_out = true;
    std::string result;
    for (size_t i = 0; i < answers.size(); ++i) {
      const auto& a = answers[i];
      const std::string who = i < z.parental_agents.size() ? z.parental_agents[i] : "?";
      std::set<std::string> have(a.rdatas.begin(), a.rdatas.end());
      std::string state;
      if (!a.ok) state = a.error;
      else if (!a.authoritative) state = "not authoritative";
      else state = std::to_string(have.size()) + " DS";
      result += (result.empty() ? "" : ", ") + who + " (" + state + ")";
      const bool usable = a.ok && a.authoritative;
      for (const auto& ds : want_in) all_in = all_in && usable && have.count(ds);
      for (const auto& ds : want_out) all_out = all_out && usable && !have.count(ds);
    }
    z.agents_result = result + " at " + zone::utc_text(t);
    bool marked = false;
    for (auto& k : z.keys) {
      if (!k.ksk) continue;
      const std::string ds = zone::dnssec::ds_rdata(origin, k.dnskey_rdata);
      if ((all_in && want_in.count(ds) && !k.ds_seen) ||
          (all_out && want_out.count(ds) && k.ds_seen < k.ds_withdraw)) {
        k.ds_seen = t;
        marked = true;
        dnssec_log()->info("zone {}: the parental agents {} the DS of key tag {}", z.name,
                           want_in.count(ds) ? "serve" : "no longer serve", k.tag);
      }
    }
    if (!marked) return;
    try {
      zone::dnssec::KeyStore(z.key_dir, z.name).save(z.keys, nullptr);
    } catch (const zone::dnssec::KeyError& e) {
      dnssec_log()->error("zone {}: key state not saved: {}", z.name, e.what());
    }
  });
}

nlohmann::json SigningService::control(const std::string& verb, const std::string& origin,
                                       const nlohmann::json& request, int64_t now) {
  if (verb == "dnssec-status") return status(origin, now);
  if (verb == "dnssec-rollover") return rollover(origin, request.value("kind", std::string()), now);
  return ds_seen(origin, now);
}

nlohmann::json SigningService::status(const std::string& origin, int64_t now) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = zones_.find(origin);
  if (it == zones_.end()) return {{"ok", false}, {"error", "zone is not signed here (no dnssec-policy)"}};
  const ZoneState& z = it->second;
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : z.keys) {
    nlohmann::json j{{"role", zone::dnssec::role_name(k)},
                     {"tag", k.tag},
                     {"algorithm", algorithm_name(k.algorithm)},
                     {"state", zone::dnssec::key_state(k, now)},
                     {"created", zone::utc_text(k.created)},
                     {"published", zone::utc_text(k.published)},
                     {"active", zone::utc_text(k.active)},
                     {"retire", zone::utc_text(k.retire)},
                     {"remove", zone::utc_text(k.remove)}};
    if (k.ksk) {
      j["ds_submit"] = zone::utc_text(k.ds_submit);
      j["ds_seen"] = zone::utc_text(k.ds_seen);
      j["ds_withdraw"] = zone::utc_text(k.ds_withdraw);
    }
    keys.push_back(j);
  }
  nlohmann::json out{{"ok", true},
                     {"zone", z.name},
                     {"policy", z.policy.name},
                     {"keys", keys},
                     {"waiting", z.waiting},
                     {"next_event", zone::utc_text(z.next_event)},
                     {"next_refresh", zone::utc_text(z.next_refresh)},
                     {"parent", z.parent_name},
                     {"parental_agents", z.parental_agents},
                     {"parental_agents_said", z.agents_result}};
  if (!z.keys_loaded) out["waiting"] = "the first signing";
  return out;
}

nlohmann::json SigningService::rollover(const std::string& origin, const std::string& kind,
                                        int64_t now) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = zones_.find(origin);
  if (it == zones_.end()) return {{"ok", false}, {"error", "zone is not signed here (no dnssec-policy)"}};
  ZoneState& z = it->second;
  if (kind != "ksk" && kind != "zsk" && kind != "csk")
    return {{"ok", false}, {"error", "rollover of '" + kind + "': say ksk, zsk or csk"}};
  if (!z.keys_loaded) return {{"ok", false}, {"error", "zone " + z.name + " is not signed yet"}};
  if (kind == "zsk" && z.policy.csk)
    return {{"ok", false}, {"error", "policy '" + z.policy.name + "' has a CSK: roll it with csk"}};
  // Refused now, not at the next tick, when a rollover of that kind is under way.
  std::vector<zone::dnssec::Key> trial = z.keys;
  auto step = zone::dnssec::advance(
      trial, rollover_policy(z), now,
      [](uint8_t alg, bool ksk, bool zsk, int64_t t) {
        zone::dnssec::Key k;  // stand-in: only the decision matters here
        k.algorithm = alg;
        k.ksk = ksk;
        k.zsk = zsk;
        k.created = k.published = k.active = t;
        return k;
      },
      kind == "zsk" ? zone::dnssec::Force::zsk : zone::dnssec::Force::ksk);
  if (!step.refused.empty()) return {{"ok", false}, {"error", step.refused}};
  z.force = kind == "zsk" ? zone::dnssec::Force::zsk : zone::dnssec::Force::ksk;
  return {{"ok", true}, {"message", std::string(kind == "zsk" ? "ZSK" : z.policy.csk ? "CSK" : "KSK") +
                                        " rollover of " + z.name + " starts now"}};
}

nlohmann::json SigningService::ds_seen(const std::string& origin, int64_t now) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = zones_.find(origin);
  if (it == zones_.end()) return {{"ok", false}, {"error", "zone is not signed here (no dnssec-policy)"}};
  ZoneState& z = it->second;
  std::vector<zone::dnssec::Key> keys = z.keys;
  zone::dnssec::apply_times(keys, now);
  std::vector<uint16_t> marked;
  bool removal = false;
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& k = keys[i];
    const bool withdrawn = k.ksk && k.ds_withdraw && k.ds_withdraw <= now && k.ds_seen < k.ds_withdraw;
    if ((k.ksk && k.ds && !k.ds_seen) || (z.policy.insecure && withdrawn)) {
      z.keys[i].ds_seen = now;
      marked.push_back(k.tag);
      removal = removal || withdrawn;
    }
  }
  if (marked.empty())
    return {{"ok", false}, {"error", z.policy.insecure
                                         ? "no DS of " + z.name + " waits to be removed at the parent"
                                         : "no KSK of " + z.name + " waits for its DS at the parent"}};
  try {
    zone::dnssec::KeyStore(z.key_dir, z.name).save(z.keys, nullptr);
  } catch (const zone::dnssec::KeyError& e) {
    return {{"ok", false}, {"error", std::string("key state not saved: ") + e.what()}};
  }
  std::string tags;
  for (auto t : marked) tags += (tags.empty() ? "" : ", ") + std::to_string(t);
  const char* what = removal ? "removed from" : "served by";
  dnssec_log()->info("zone {}: DS of key tag {} {} the parent (said by zonectl)", z.name, tags, what);
  return {{"ok", true}, {"message", "DS of key tag " + tags + " noted as " + what + " the parent"}};
}

}  // namespace server
