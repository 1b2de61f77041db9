// Key rollovers (RFC 6781, RFC 7583): a state machine over each key's times (zone/dnssec_keys.h
// Key: published, active, retire, remove, ds_submit, ds_seen, ds_withdraw). What a key does
// at a moment is a function of its times and that moment, so the state is whatever state.json
// says: a restart in the middle of a rollover goes on at the right step.
//
//  - ZSK, pre-publication (RFC 7583 3.2.1): the new ZSK is published; after dnskey-ttl +
//    propagation-delay it signs and the old one stops; the old DNSKEY goes after the zone's
//    largest TTL + propagation-delay (signatures cached that long).
//  - KSK or CSK, double-DS with the new key pre-published: the new key's DNSKEY and its DS
//    (CDS/CDNSKEY; the parent's DS when the parent is served here) go out together; once the
//    parent is seen serving the new DS (ds_seen) and ds-ttl has passed, and dnskey-ttl +
//    propagation-delay since the DNSKEY went out, the new key signs and the old one stops; its
//    DS is withdrawn and its DNSKEY removed after dnskey-ttl (a CSK: the largest TTL) +
//    propagation-delay.
//  - Algorithm (or KSK/ZSK <-> CSK) rollover, the conservative way (RFC 6781 4.1.4): the new
//    keys sign at once, unpublished; their DNSKEYs go out after the largest TTL +
//    propagation-delay; their DS is submitted after dnskey-ttl + propagation-delay; once it is
//    seen and ds-ttl has passed, the old DS is withdrawn, the old DNSKEYs go after ds-ttl +
//    propagation-delay, and the old signatures after dnskey-ttl / the largest TTL more.
// A key is dropped (its file deleted) when it is removed, retired and its DS withdrawn.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "zone/dnssec_keys.h"

namespace zone::dnssec {

struct RolloverPolicy {
  uint8_t algorithm = kEcdsaP256Sha256;
  bool csk = false;
  uint32_t ksk_lifetime = 0, zsk_lifetime = 0;  // 0: no scheduled rollover (a CSK: ksk_lifetime)
  uint32_t dnskey_ttl = 3600, ds_ttl = 86400, propagation = 3600;
  uint32_t max_ttl = 86400;  // the zone's largest TTL
  // Going insecure (RFC 8078 4, RFC 6781 4.3): every KSK's DS is withdrawn (CDS/CDNSKEY
  // delete form); once the parent is seen without it (ds_seen after ds_withdraw) and ds-ttl
  // has passed, every key stops signing and leaves; no key is ever made.
  bool insecure = false;
};

// Sets publish/signs/ds of every key for `now`.
void apply_times(std::vector<Key>& keys, int64_t now);

// Makes a key (generate_key, in tests a cheap stand-in).
using KeyMaker = std::function<Key(uint8_t algorithm, bool ksk, bool zsk, int64_t now)>;

enum class Force { none, ksk, zsk };

struct RolloverStep {
  bool changed = false;               // keys made, timed or dropped: save state, then re-sign
  std::vector<std::string> events;    // what happened, for the log
  std::vector<std::string> dropped;   // ids of keys that left (their files can go)
  int64_t next_event = 0;             // the next moment a key's role changes; 0: none planned
  std::string waiting;                // what the next step waits for (status), empty: nothing
  std::string refused;                // a forced rollover that cannot start now, and why
};

// Advances the keys to `now`: drops finished keys, makes the first keys, starts rollovers
// whose lifetime is over (or the forced one), and takes the steps whose conditions hold.
RolloverStep advance(std::vector<Key>& keys, const RolloverPolicy& p, int64_t now,
                     const KeyMaker& make, Force force = Force::none);

// "KSK", "ZSK" or "CSK".
const char* role_name(const Key& k);
// What a key is doing at `now`, for status: "active", "published, signs from ...", ...
std::string key_state(const Key& k, int64_t now);

}  // namespace zone::dnssec
