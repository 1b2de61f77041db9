#include "zone/dnssec_rollover.h"

#include <algorithm>

#include "zone/utc.h"

namespace zone::dnssec {

namespace {

bool at_or_after(int64_t now, int64_t t) { return t != 0 && t <= now; }
bool before(int64_t now, int64_t t) { return t == 0 || now < t; }

// Does the key have the roles the policy gives keys, in its algorithm?
bool fits(const Key& k, const RolloverPolicy& p) {
  if (k.algorithm != p.algorithm) return false;
  return p.csk ? (k.ksk && k.zsk) : (k.ksk != k.zsk);
}

std::string tag_text(const Key& k) { return std::string(role_name(k)) + " " + std::to_string(k.tag); }

}  // namespace

const char* role_name(const Key& k) { return k.ksk && k.zsk ? "CSK" : k.ksk ? "KSK" : "ZSK"; }

void apply_times(std::vector<Key>& keys, int64_t now) {
  for (auto& k : keys) {
    k.publish = at_or_after(now, k.published) && before(now, k.remove);
    k.signs = at_or_after(now, k.active) && before(now, k.retire);
    k.ds = k.ksk && at_or_after(now, k.ds_submit) && before(now, k.ds_withdraw);
  }
}

std::string key_state(const Key& k, int64_t now) {
  std::vector<std::string> parts;
  const bool pub = at_or_after(now, k.published) && before(now, k.remove);
  const bool sig = at_or_after(now, k.active) && before(now, k.retire);
  if (pub && sig) parts.push_back("active");
  else if (pub) parts.push_back("published, not signing");
  else if (sig) parts.push_back("signing, not published");
  else parts.push_back("not in the zone");
  if (k.published > now) parts.push_back("published at " + utc_text(k.published));
  if (!k.active && !k.retire) parts.push_back("signs once the rollover's conditions hold");
  if (k.active > now) parts.push_back("signs from " + utc_text(k.active));
  if (k.retire > now) parts.push_back("stops signing at " + utc_text(k.retire));
  if (k.remove > now) parts.push_back("removed at " + utc_text(k.remove));
  if (k.ksk) {
    if (k.ds_submit > now) parts.push_back("DS submitted at " + utc_text(k.ds_submit));
    else if (at_or_after(now, k.ds_submit) && before(now, k.ds_withdraw))
      parts.push_back(k.ds_seen ? "DS seen at the parent " + utc_text(k.ds_seen)
                                : "DS wanted at the parent, not seen yet");
    if (k.ds_withdraw > now) parts.push_back("DS withdrawn at " + utc_text(k.ds_withdraw));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

RolloverStep advance(std::vector<Key>& keys, const RolloverPolicy& p, int64_t now,
                     const KeyMaker& make, Force force) {
  RolloverStep st;
  keys.reserve(keys.size() + 4);  // pointers into `keys` below stay valid as keys are added
  auto note_time = [&](int64_t t) {
    if (t > now && (!st.next_event || t < st.next_event)) st.next_event = t;
  };
  auto add = [&](bool ksk, bool zsk) -> Key& {
    keys.push_back(make(p.algorithm, ksk, zsk, now));
    st.changed = true;
    return keys.back();
  };

  // 1. Keys whose life is over leave.
  for (auto it = keys.begin(); it != keys.end();) {
    const Key& k = *it;
    bool done = at_or_after(now, k.remove) && at_or_after(now, k.retire) &&
                (!k.ksk || at_or_after(now, k.ds_withdraw));
    if (done) {
      st.events.push_back(tag_text(k) + " removed (its rollover is complete)");
      st.dropped.push_back(k.id);
      st.changed = true;
      it = keys.erase(it);
    } else {
      ++it;
    }
  }

  if (p.insecure) {
    bool started = false;
    for (auto& k : keys)
      if (k.ksk && !k.ds_withdraw) {
        k.ds_withdraw = now;
        started = st.changed = true;
      }
    if (started)
      st.events.push_back("going insecure: the DS is withdrawn from the parent, CDS/CDNSKEY "
                          "delete form published; signed until the parent is seen without it");
    bool seen = true, signing = false;
    int64_t last = 0;
    for (const auto& k : keys) {
      signing = signing || !k.retire || k.retire > now;
      if (!k.ksk) continue;
      if (k.ds_seen < k.ds_withdraw) seen = false;
      last = std::max(last, k.ds_seen);
    }
    if (!keys.empty() && signing) {
      if (!seen) {
        st.waiting = "the parent to stop serving the DS";
      } else if (now < last + p.ds_ttl) {
        st.waiting = "the parent's DS to expire from caches at " + utc_text(last + p.ds_ttl);
        note_time(last + p.ds_ttl);
      } else {
        for (auto& k : keys) {
          k.retire = k.retire && k.retire < now ? k.retire : now;
          k.remove = k.remove && k.remove < now ? k.remove : now;
        }
        st.changed = true;
        st.events.push_back("insecure: the zone is served unsigned from now on");
      }
    }
    for (const auto& k : keys)
      for (int64_t t : {k.published, k.active, k.retire, k.remove, k.ds_submit, k.ds_withdraw})
        note_time(t);
    return st;
  }

  // 2. The first keys.
  if (keys.empty()) {
    if (p.csk) {
      add(true, true);
    } else {
      add(true, false);
      add(false, true);
    }
    st.events.push_back("keys made");
  }

  // Keys not on their way out, by whether they fit the policy.
  std::vector<Key*> old_keys, new_keys;
  for (auto& k : keys) {
    if (k.retire) continue;
    (fits(k, p) ? new_keys : old_keys).push_back(&k);
  }
  const uint32_t signatures_cached = std::max(p.dnskey_ttl, p.max_ttl);

  if (!old_keys.empty()) {
    // 3. Algorithm (or key-kind) rollover.
    if (force != Force::none) st.refused = "an algorithm rollover is in progress";
    if (new_keys.empty()) {
      const int64_t publish = now + p.max_ttl + p.propagation;
      auto start = [&](bool ksk, bool zsk) {
        Key& k = add(ksk, zsk);
        k.active = now;
        k.published = publish;
        k.ds_submit = ksk ? publish + p.dnskey_ttl + p.propagation : 0;
      };
      if (p.csk) {
        start(true, true);
      } else {
        start(true, false);
        start(false, true);
      }
      st.events.push_back("algorithm rollover started: new keys sign now, are published at " +
                          utc_text(publish));
      new_keys.clear();
      for (auto& k : keys)
        if (!k.retire && fits(k, p)) new_keys.push_back(&k);
      old_keys.clear();
      for (auto& k : keys)
        if (!k.retire && !fits(k, p)) old_keys.push_back(&k);
    }
    Key* incoming = nullptr;
    for (Key* k : new_keys)
      if (k->ksk) incoming = k;
    if (incoming) {
      if (!at_or_after(now, incoming->ds_submit)) {
        st.waiting = "the new keys' DNSKEYs to be cached everywhere: their DS is submitted at " +
                     utc_text(incoming->ds_submit);
      } else if (!incoming->ds_seen) {
        st.waiting = "the parent to serve the DS of " + tag_text(*incoming);
      } else if (now < incoming->ds_seen + p.ds_ttl) {
        st.waiting = "the parent's old DS to expire from caches (ds-ttl) at " +
                     utc_text(incoming->ds_seen + p.ds_ttl);
        note_time(incoming->ds_seen + p.ds_ttl);
      } else {
        const int64_t remove = now + p.ds_ttl + p.propagation;
        for (Key* k : old_keys) {
          if (k->ksk) k->ds_withdraw = now;
          k->remove = remove;
          k->retire = remove + signatures_cached + p.propagation;
        }
        st.changed = true;
        st.events.push_back("algorithm rollover: the old DS is withdrawn now, the old keys are "
                            "removed at " + utc_text(remove) + " and stop signing at " +
                            utc_text(remove + signatures_cached + p.propagation));
      }
    }
  } else {
    // 4. Rollovers within the policy: the KSK (or CSK), then the ZSK.
    std::vector<Key*> ksks, zsks;
    for (Key* k : new_keys) (k->ksk ? ksks : zsks).push_back(k);
    bool ksk_rolling = ksks.size() > 1, zsk_rolling = false;
    for (auto& k : keys) {
      if (!k.retire || !fits(k, p)) continue;
      if (k.ksk) ksk_rolling = true;
      else zsk_rolling = true;
    }
    if (force == Force::ksk && ksk_rolling) st.refused = "a KSK rollover is in progress";
    if (ksks.size() == 1) {
      Key* cur = ksks.front();
      const bool due = p.ksk_lifetime && at_or_after(now, cur->active) &&
                       now >= cur->active + static_cast<int64_t>(p.ksk_lifetime);
      if (!due && p.ksk_lifetime && cur->active) note_time(cur->active + p.ksk_lifetime);
      if ((due || force == Force::ksk) && !ksk_rolling) {
        Key& k = add(true, p.csk);
        k.published = now;
        k.active = 0;
        k.ds_submit = now;
        st.events.push_back(std::string(p.csk ? "CSK" : "KSK") + " rollover started: " +
                            tag_text(k) + " published, its DS wanted at the parent");
        ksks.clear();
        for (auto& kk : keys)
          if (!kk.retire && fits(kk, p) && kk.ksk) ksks.push_back(&kk);
      }
    }
    if (ksks.size() == 2) {
      Key* cur = ksks[0]->active ? ksks[0] : ksks[1];
      Key* incoming = ksks[0]->active ? ksks[1] : ksks[0];
      const int64_t cached = incoming->published + p.dnskey_ttl + p.propagation;
      if (!incoming->ds_seen) {
        st.waiting = "the parent to serve the DS of " + tag_text(*incoming);
        note_time(cached);
      } else if (now < incoming->ds_seen + p.ds_ttl || now < cached) {
        const int64_t t = std::max<int64_t>(incoming->ds_seen + p.ds_ttl, cached);
        st.waiting = "the old DS and DNSKEY sets to expire from caches at " + utc_text(t);
        note_time(t);
      } else {
        incoming->active = now;
        cur->retire = now;
        const int64_t gone = now + (p.csk ? signatures_cached : p.dnskey_ttl) + p.propagation;
        cur->remove = gone;
        cur->ds_withdraw = now + p.dnskey_ttl + p.propagation;
        st.changed = true;
        st.events.push_back(tag_text(*incoming) + " signs now; " + tag_text(*cur) +
                            " stopped, its DS is withdrawn at " + utc_text(cur->ds_withdraw) +
                            " and its DNSKEY removed at " + utc_text(gone));
      }
    }
    if (!p.csk && zsks.size() == 1) {
      Key* cur = zsks.front();
      const bool due = p.zsk_lifetime && at_or_after(now, cur->active) &&
                       now >= cur->active + static_cast<int64_t>(p.zsk_lifetime);
      if (!due && p.zsk_lifetime && cur->active) note_time(cur->active + p.zsk_lifetime);
      if (force == Force::zsk && zsk_rolling) st.refused = "a ZSK rollover is in progress";
      if ((due || force == Force::zsk) && !zsk_rolling) {
        Key& k = add(false, true);
        k.published = now;
        k.active = now + p.dnskey_ttl + p.propagation;
        cur->retire = k.active;
        cur->remove = k.active + p.max_ttl + p.propagation;
        st.events.push_back("ZSK rollover started: " + tag_text(k) + " published, signs from " +
                            utc_text(k.active) + "; " + tag_text(*cur) + " removed at " +
                            utc_text(cur->remove));
      }
    }
    if (force == Force::zsk && p.csk) st.refused = "the policy has a CSK: roll it with ksk";
  }

  // 5. The next moment a key's role changes.
  for (const auto& k : keys)
    for (int64_t t : {k.published, k.active, k.retire, k.remove, k.ds_submit, k.ds_withdraw})
      note_time(t);
  return st;
}

}  // namespace zone::dnssec
