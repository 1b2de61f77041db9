// DNSSEC signing keys: made with OpenSSL EVP (ECDSA P-256, RFC 6605; Ed25519, RFC 8080), their
// DNSKEY RDATA and key tag (RFC 4034 B), signatures in DNSSEC's wire form, and the key
// directory that keeps them across restarts: one subdirectory per zone with each private key
// as PKCS#8 PEM (mode 0600) and the keys' state (role, algorithm, tag, times) in state.json.
// Private key material never leaves this file's functions except as signatures; nothing here
// logs.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace zone::dnssec {

inline constexpr uint8_t kEcdsaP256Sha256 = 13, kEd25519 = 15;

class KeyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PkeyFree {
  void operator()(EVP_PKEY* k) const;
};
using PkeyPtr = std::shared_ptr<EVP_PKEY>;

// One key pair and what the zone says about it.
struct Key {
  std::string id;        // file name stem in the key directory
  uint8_t algorithm = 0;
  bool ksk = false;      // signs the DNSKEY RRset (SEP flag set)
  bool zsk = false;      // signs everything else
  uint16_t tag = 0;
  int64_t created = 0;   // unix time
  // The key's life (unix times; 0: not scheduled), zone/dnssec_rollover.h: its DNSKEY is in
  // the zone from `published` until `remove`, it signs from `active` until `retire`, and (a
  // KSK) its DS is wanted at the parent from `ds_submit` until `ds_withdraw`; `ds_seen`: when
  // the parent was seen serving that DS.
  int64_t published = 0, active = 0;
  int64_t retire = 0, remove = 0;
  int64_t ds_submit = 0, ds_seen = 0, ds_withdraw = 0;
  // What the key does in one signing (set from the times by the rollover for the signing's
  // `now`): in the DNSKEY RRset, makes signatures, its DS wanted (CDS/CDNSKEY).
  bool publish = true, signs = true, ds = true;
  PkeyPtr pkey;
  std::string dnskey_rdata;  // flags, protocol 3, algorithm, public key
};

// A new key pair of `algorithm` (13 or 15); throws KeyError.
Key generate_key(uint8_t algorithm, bool ksk, bool zsk, int64_t now);
// DNSKEY RDATA for a key: flags 256 (+1 for SEP), protocol 3, algorithm, public key.
std::string dnskey_rdata(const EVP_PKEY* pkey, uint8_t algorithm, bool sep);
// RFC 4034 Appendix B.
uint16_t key_tag(std::string_view dnskey_rdata);
// The signature over `data` in the form RRSIG carries (ECDSA: r || s, 64 bytes).
std::string sign(const Key& key, std::string_view data);
// Verifies such a signature with the public key of a DNSKEY RDATA (tests and checks).
bool verify(std::string_view dnskey_rdata, std::string_view data, std::string_view signature);
// A DS RDATA (digest type 2, SHA-256) for the DNSKEY of `owner` (lowercased wire).
std::string ds_rdata(std::string_view owner, std::string_view dnskey_rdata);

// A key made by BIND (dnssec-keygen) or ldns-keygen: `path` is its K<zone>+<alg>+<tag>.private
// or .key (the other one is found beside it). ECDSA P-256 and Ed25519. The role follows the
// DNSKEY flags (257: KSK, 256: ZSK); its times are `now`, its DS counted as seen (a migration:
// the parent already has it). Throws KeyError naming the file and what is wrong.
Key import_bind_key(const std::string& path, int64_t now);

// The keys of one zone in the key directory. Not thread-safe: one owner (the signer step of
// the commit path).
class KeyStore {
 public:
  // dir: the key directory (created with mode 0700 when missing); zone_name: without the dot.
  KeyStore(std::string dir, std::string zone_name);
  // Reads state.json and the private keys it lists; an empty set when the zone has none yet.
  // Throws KeyError naming the file when one cannot be read.
  std::vector<Key> load() const;
  // Writes a new key's private part (0600, created exclusively) and the state of all keys
  // (temp file + rename). Throws KeyError.
  void save(const std::vector<Key>& keys, const Key* new_key) const;
  // Deletes the private key file of a key that left the zone (after save() without it).
  void forget(const std::string& id) const;
  const std::string& zone_dir() const { return zone_dir_; }

 private:
  std::string dir_, zone_dir_;
};

}  // namespace zone::dnssec
