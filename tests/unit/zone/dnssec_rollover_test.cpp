// The rollover state machine (zone/dnssec_rollover.h), run over simulated time: every second
// of a whole ZSK, KSK, CSK and algorithm rollover keeps the zone valid for a validator that
// holds any DS and DNSKEY set it could have cached, and the rollover ends with the policy's keys.
#include "zone/dnssec_rollover.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace zone::dnssec {
namespace {

// Keys without OpenSSL: the tag counts up, the rollover only looks at roles and times.
KeyMaker fake_maker() {
  auto next = std::make_shared<uint16_t>(100);
  return [next](uint8_t alg, bool ksk, bool zsk, int64_t now) {
    Key k;
    k.algorithm = alg;
    k.ksk = ksk;
    k.zsk = zsk;
    k.tag = (*next)++;
    k.id = "k" + std::to_string(k.tag);
    k.created = k.published = k.active = now;
    if (ksk) k.ds_submit = now;
    return k;
  };
}

RolloverPolicy quick(bool csk = false) {
  RolloverPolicy p;
  p.csk = csk;
  p.dnskey_ttl = 10;
  p.ds_ttl = 20;
  p.propagation = 5;
  p.max_ttl = 30;
  return p;
}

// What the zone and the parent look like at each second, checked against what a validator
// may have cached: every DNSKEY set and DS set published within their TTL (+ propagation).
struct Sim {
  std::vector<Key> keys;
  RolloverPolicy p;
  KeyMaker make = fake_maker();
  bool parent_follows = true;  // the parent serves each wanted DS one second after it is wanted
  struct Published {
    int64_t at;
    std::set<uint16_t> dnskey, ds, zsk_signers, ksk_signers;
    std::set<uint8_t> dnskey_algs, zsk_algs, ksk_algs;
  };
  std::vector<Published> history;
  std::set<uint16_t> ever_served;
  std::vector<std::string> events;

  void step(int64_t now, Force force = Force::none) {
    RolloverStep st = advance(keys, p, now, make, force);
    for (auto& e : st.events) events.push_back(e);
    std::vector<Key> view = keys;
    apply_times(view, now);
    Published pub{now, {}, {}, {}, {}, {}, {}, {}};
    for (size_t i = 0; i < view.size(); ++i) {
      const Key& k = view[i];
      if (k.publish) {
        pub.dnskey.insert(k.tag);
        pub.dnskey_algs.insert(k.algorithm);
      }
      // The parent serves a wanted DS from when it is seen there, and a withdrawn one until
      // it is seen gone; it follows each change a second later.
      Key& real = keys[i];
      const bool withdrawn = k.ksk && real.ds_withdraw && real.ds_withdraw <= now;
      const bool served = (k.ds && real.ds_seen && real.ds_seen <= now) ||
                          (withdrawn && ever_served.count(k.tag) &&
                           (real.ds_seen < real.ds_withdraw || real.ds_seen > now));
      if (served) {
        pub.ds.insert(k.tag);
        ever_served.insert(k.tag);
      }
      if (parent_follows && ((k.ds && !real.ds_seen) || (withdrawn && real.ds_seen < real.ds_withdraw)))
        real.ds_seen = now + 1;
      if (k.signs && k.zsk) {
        pub.zsk_signers.insert(k.tag);
        pub.zsk_algs.insert(k.algorithm);
      }
      if (k.signs && k.ksk) {
        pub.ksk_signers.insert(k.tag);
        pub.ksk_algs.insert(k.algorithm);
      }
    }
    history.push_back(pub);
    check(pub);
  }

  // The checks a validator would make, with every cache it could hold at `cur.at`.
  void check(const Published& cur) {
    SCOPED_TRACE("t=" + std::to_string(cur.at));
    // Every algorithm of the DNSKEY set signs the zone and the DNSKEY set (RFC 4035 2.2).
    for (uint8_t a : cur.dnskey_algs) {
      EXPECT_TRUE(cur.zsk_algs.count(a)) << "algorithm " << int(a) << " published without ZSK signatures";
      EXPECT_TRUE(cur.ksk_algs.count(a)) << "algorithm " << int(a) << " published without a DNSKEY signature";
    }
    // Any cached DS set (up to ds_ttl old: the parent's servers all serve a DS from
    // ds_seen on) matches a KSK that signs the DNSKEY
    // set served now; any cached DNSKEY set (dnskey_ttl + propagation) holds a key that makes
    // the data signatures served now; data signed up to max_ttl + propagation ago is still
    // covered by the DNSKEY set served now.
    // An unsigned zone (gone insecure) is fine as long as no cached DS set asks for keys.
    const bool unsigned_now = cur.dnskey.empty() && cur.zsk_signers.empty();
    for (const auto& old : history) {
      if (old.at + p.ds_ttl >= cur.at) {
        bool path = false;
        for (auto t : old.ds) path = path || cur.ksk_signers.count(t);
        EXPECT_TRUE(path || old.ds.empty()) << "a DS set cached from t=" << old.at << " names no signing KSK";
      }
      if (unsigned_now || (old.dnskey.empty() && old.zsk_signers.empty())) continue;
      if (old.at + p.dnskey_ttl + p.propagation >= cur.at) {
        bool covered = false;
        for (auto t : cur.zsk_signers) covered = covered || old.dnskey.count(t);
        EXPECT_TRUE(covered) << "a DNSKEY set cached from t=" << old.at << " has no key of today's signatures";
      }
      if (old.at + p.max_ttl + p.propagation >= cur.at) {
        bool covered = false;
        for (auto t : old.zsk_signers) covered = covered || cur.dnskey.count(t);
        EXPECT_TRUE(covered) << "data signed at t=" << old.at << " has no DNSKEY served now";
      }
    }
  }

  void run(int64_t from, int64_t to, Force first = Force::none) {
    for (int64_t t = from; t <= to; ++t) step(t, t == from ? first : Force::none);
  }
  size_t count(bool ksk, bool zsk, uint8_t alg) const {
    return std::count_if(keys.begin(), keys.end(), [&](const Key& k) {
      return k.ksk == ksk && k.zsk == zsk && k.algorithm == alg;
    });
  }
};

TEST(Rollover, FirstKeysFollowThePolicy) {
  Sim s;
  s.p = quick();
  s.step(1000);
  EXPECT_EQ(s.count(true, false, kEcdsaP256Sha256), 1u);
  EXPECT_EQ(s.count(false, true, kEcdsaP256Sha256), 1u);
  Sim c;
  c.p = quick(true);
  c.step(1000);
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_TRUE(c.keys[0].ksk && c.keys[0].zsk);
}

TEST(Rollover, ZskPrePublicationKeepsEveryCacheValid) {
  Sim s;
  s.p = quick();
  s.p.zsk_lifetime = 100;
  s.run(1000, 1400);
  // Three lifetimes: three rollovers, each ending with one ZSK.
  int started = 0;
  for (const auto& e : s.events) started += e.starts_with("ZSK rollover started");
  EXPECT_GE(started, 3);
  EXPECT_EQ(s.count(false, true, kEcdsaP256Sha256), 1u) << "old ZSKs are dropped";
  EXPECT_EQ(s.count(true, false, kEcdsaP256Sha256), 1u) << "the KSK is untouched";
}

TEST(Rollover, KskDoubleDsWaitsForTheParent) {
  Sim s;
  s.p = quick();
  s.parent_follows = false;
  s.run(1000, 1010);
  s.run(1011, 1500, Force::ksk);
  // The new KSK is published and its DS wanted, but it does not sign while the parent has
  // not been seen serving its DS.
  ASSERT_EQ(s.count(true, false, kEcdsaP256Sha256), 2u);
  std::vector<Key> view = s.keys;
  apply_times(view, 1500);
  int signing = 0, published = 0, wanted = 0;
  for (const auto& k : view)
    if (k.ksk) {
      signing += k.signs;
      published += k.publish;
      wanted += k.ds;
    }
  EXPECT_EQ(signing, 1);
  EXPECT_EQ(published, 2);
  EXPECT_EQ(wanted, 2);
  RolloverStep st = advance(s.keys, s.p, 1500, s.make);
  EXPECT_NE(st.waiting.find("parent to serve the DS"), std::string::npos) << st.waiting;
  // A second forced KSK rollover is refused while this one runs.
  st = advance(s.keys, s.p, 1500, s.make, Force::ksk);
  EXPECT_EQ(st.refused, "a KSK rollover is in progress");
  // The parent serves it: the rollover completes.
  s.parent_follows = true;
  s.run(1501, 1700);
  EXPECT_EQ(s.count(true, false, kEcdsaP256Sha256), 1u);
  EXPECT_EQ(s.keys.size(), 2u);
}

TEST(Rollover, KskLifetimeRollsOverAndSwapsOnlyAfterDsTtl) {
  Sim s;
  s.p = quick();
  s.p.ksk_lifetime = 200;
  s.run(1000, 1700);
  int swaps = 0;
  for (const auto& e : s.events) swaps += e.find("signs now") != std::string::npos;
  EXPECT_GE(swaps, 2);
  EXPECT_EQ(s.count(true, false, kEcdsaP256Sha256), 1u);
}

TEST(Rollover, CskRollover) {
  Sim s;
  s.p = quick(true);
  s.run(1000, 1010);
  s.run(1011, 1300, Force::ksk);
  EXPECT_EQ(s.count(true, true, kEcdsaP256Sha256), 1u);
  EXPECT_NE(s.keys.front().tag, 100) << "the first CSK was replaced";
}

TEST(Rollover, AlgorithmRolloverIsConservative) {
  Sim s;
  s.p = quick();
  s.run(1000, 1010);
  s.p.algorithm = kEd25519;  // the policy changes
  s.run(1011, 1400);
  EXPECT_EQ(s.count(true, false, kEd25519), 1u);
  EXPECT_EQ(s.count(false, true, kEd25519), 1u);
  EXPECT_EQ(s.keys.size(), 2u) << "the ECDSA keys are gone";
}

TEST(Rollover, KeyKindChangeKsksZskToCsk) {
  Sim s;
  s.p = quick();
  s.run(1000, 1010);
  s.p.csk = true;
  s.run(1011, 1400);
  ASSERT_EQ(s.keys.size(), 1u);
  EXPECT_TRUE(s.keys[0].ksk && s.keys[0].zsk);
}

TEST(Rollover, GoingInsecureWithdrawsTheDsFirstAndNeverMakesKeys) {
  Sim s;
  s.p = quick();
  s.run(1000, 1010);
  s.p.insecure = true;
  s.parent_follows = false;
  s.run(1011, 1100);
  // The DS is withdrawn but the parent was not seen without it: still signed.
  std::vector<Key> view = s.keys;
  apply_times(view, 1100);
  ASSERT_EQ(view.size(), 2u);
  for (const auto& k : view) {
    EXPECT_TRUE(k.signs && k.publish);
    EXPECT_FALSE(k.ds);
  }
  RolloverStep st = advance(s.keys, s.p, 1100, s.make);
  EXPECT_EQ(st.waiting, "the parent to stop serving the DS");
  s.parent_follows = true;
  s.run(1101, 1200);
  EXPECT_TRUE(s.keys.empty()) << "every key left";
  s.run(1201, 1210);
  EXPECT_TRUE(s.keys.empty()) << "an insecure zone gets no new keys";
  // Signed again: a policy with keys makes new ones.
  s.p.insecure = false;
  s.step(1211);
  EXPECT_EQ(s.keys.size(), 2u);
}

TEST(Rollover, ARestartResumesFromTheTimes) {
  // The state is the keys' times: a machine stopped in the middle of a ZSK rollover and
  // started after its end finds the old key removed and the new one signing.
  Sim s;
  s.p = quick();
  s.run(1000, 1005);
  s.run(1006, 1008, Force::zsk);
  std::vector<Key> saved = s.keys;
  RolloverStep st = advance(saved, s.p, 5000, s.make);
  EXPECT_EQ(saved.size(), 2u);
  EXPECT_EQ(st.dropped.size(), 1u);
  apply_times(saved, 5000);
  for (const auto& k : saved) EXPECT_TRUE(k.publish && k.signs);
}

}  // namespace
}  // namespace zone::dnssec
