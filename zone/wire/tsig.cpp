#include "zone/wire/tsig.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>
#include <memory>

#include "zone/wire/message.h"
#include "zone/wire/name.h"
#include "zone/wire/types.h"

namespace zone::wire {

namespace {

const char* digest_for(std::string_view alg_wire) {
  std::string a = name_to_text(alg_wire);
  if (a == "hmac-sha1.") return "SHA1";
  if (a == "hmac-sha224.") return "SHA224";
  if (a == "hmac-sha256.") return "SHA256";
  if (a == "hmac-sha384.") return "SHA384";
  if (a == "hmac-sha512.") return "SHA512";
  return nullptr;
}

struct MacFree {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

class Hmac {
 public:
  Hmac(const TsigKey& key) {
    mac_.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!mac_) return;
    ctx_.reset(EVP_MAC_CTX_new(mac_.get()));
    const char* md = digest_for(key.algorithm);
    if (!ctx_ || !md) return;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(md), 0),
        OSSL_PARAM_construct_end()};
    ok_ = EVP_MAC_init(ctx_.get(), reinterpret_cast<const unsigned char*>(key.secret.data()),
                       key.secret.size(), params) == 1;
  }
  bool ok() const { return ok_; }
  void update(const void* p, size_t n) {
    if (ok_ && n) ok_ = EVP_MAC_update(ctx_.get(), static_cast<const unsigned char*>(p), n) == 1;
  }
  void update(std::string_view s) { update(s.data(), s.size()); }
  void update16(uint16_t v) {
    uint8_t b[2];
    put16(b, v);
    update(b, 2);
  }
  std::string final() {
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t n = 0;
    if (!ok_ || EVP_MAC_final(ctx_.get(), out, &n, sizeof out) != 1) return {};
    return std::string(reinterpret_cast<char*>(out), n);
  }

 private:
  std::unique_ptr<EVP_MAC, MacFree> mac_;
  std::unique_ptr<EVP_MAC_CTX, MacFree> ctx_;
  bool ok_ = false;
};

void put48(uint8_t* p, uint64_t v) {
  for (int i = 5; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

// The digest input after the message: TSIG variables (RFC 8945 4.3.3) or timers only.
void hash_variables(Hmac& h, const TsigKey& key, std::string_view alg, uint64_t time_signed,
                    uint16_t fudge, uint16_t error, std::string_view other, bool timers_only) {
  uint8_t t[8];
  put48(t, time_signed);
  put16(t + 6, fudge);
  if (timers_only) {
    h.update(t, 8);
    return;
  }
  h.update(key.name);
  h.update16(rrclass::ANY);
  uint8_t ttl[4] = {0, 0, 0, 0};
  h.update(ttl, 4);
  h.update(alg);
  h.update(t, 8);
  h.update16(error);
  h.update16(static_cast<uint16_t>(other.size()));
  h.update(other);
}

void hash_prior(Hmac& h, std::string_view prior_mac) {
  if (prior_mac.empty()) return;
  h.update16(static_cast<uint16_t>(prior_mac.size()));
  h.update(prior_mac);
}

}  // namespace

std::optional<TsigKey> make_tsig_key(const std::string& name, const std::string& algorithm,
                                     const std::string& base64_secret, std::string* error) {
  TsigKey k;
  k.label = name;
  auto n = name_from_text(name.ends_with('.') ? name : name + ".");
  if (!n) {
    if (error) *error = "bad key name '" + name + "'";
    return std::nullopt;
  }
  k.name = lowered(*n);
  auto a = name_from_text(algorithm + ".");
  if (!a || !digest_for(lowered(*a))) {
    if (error) *error = "unsupported TSIG algorithm '" + algorithm + "'";
    return std::nullopt;
  }
  k.algorithm = lowered(*a);
  std::string clean;
  for (char c : base64_secret)
    if (!isspace(static_cast<unsigned char>(c))) clean += c;
  if (clean.empty() || clean.size() % 4 != 0) {
    if (error) *error = "secret of key '" + name + "' is not valid base64";
    return std::nullopt;
  }
  std::string out(clean.size() / 4 * 3, '\0');
  int n_out = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                              reinterpret_cast<const unsigned char*>(clean.data()),
                              static_cast<int>(clean.size()));
  if (n_out < 0) {
    if (error) *error = "secret of key '" + name + "' is not valid base64";
    return std::nullopt;
  }
  size_t pad = clean.ends_with("==") ? 2 : clean.ends_with('=') ? 1 : 0;
  out.resize(static_cast<size_t>(n_out) - pad);
  k.secret = std::move(out);
  return k;
}

std::optional<std::string> tsig_sign(uint8_t* buf, size_t& len, size_t cap, const TsigKey& key,
                                     uint64_t now, std::string_view prior_mac, bool timers_only,
                                     uint16_t error, uint16_t original_id_override) {
  Hmac h(key);
  if (!h.ok()) return std::nullopt;
  hash_prior(h, prior_mac);
  h.update(buf, len);
  // BADTIME answers carry the server's time in other data (RFC 8945 5.2.3).
  uint8_t other[6];
  std::string_view other_sv;
  if (error == tsig_error::BADTIME) {
    put48(other, now);
    other_sv = std::string_view(reinterpret_cast<char*>(other), 6);
  }
  hash_variables(h, key, key.algorithm, now, kTsigFudge, error, other_sv, timers_only);
  std::string mac = error == tsig_error::BADSIG || error == tsig_error::BADKEY ? std::string()
                                                                              : h.final();
  size_t rdlen = key.algorithm.size() + 6 + 2 + 2 + mac.size() + 2 + 2 + 2 + other_sv.size();
  size_t need = key.name.size() + 10 + rdlen;
  if (len + need > cap) return std::nullopt;
  uint8_t* p = buf + len;
  std::memcpy(p, key.name.data(), key.name.size());
  p += key.name.size();
  put16(p, rrtype::TSIG);
  put16(p + 2, rrclass::ANY);
  put32(p + 4, 0);
  put16(p + 8, static_cast<uint16_t>(rdlen));
  p += 10;
  std::memcpy(p, key.algorithm.data(), key.algorithm.size());
  p += key.algorithm.size();
  put48(p, now);
  put16(p + 6, kTsigFudge);
  put16(p + 8, static_cast<uint16_t>(mac.size()));
  p += 10;
  std::memcpy(p, mac.data(), mac.size());
  p += mac.size();
  put16(p, original_id_override ? original_id_override : get16(buf));
  put16(p + 2, error);
  put16(p + 4, static_cast<uint16_t>(other_sv.size()));
  p += 6;
  if (!other_sv.empty()) std::memcpy(p, other_sv.data(), other_sv.size());
  len += need;
  put16(buf + 10, static_cast<uint16_t>(get16(buf + 10) + 1));
  return mac;
}

TsigRefusal tsig_refusal(const TsigCheck& check) {
  switch (check.status) {
    case TsigCheck::ok:
    case TsigCheck::unsigned_message:
      return {};
    case TsigCheck::formerr:
      return {rcode::FORMERR, 0};
    case TsigCheck::badkey:
      return {rcode::NOTAUTH, tsig_error::BADKEY};
    case TsigCheck::badsig:
      return {rcode::NOTAUTH, tsig_error::BADSIG};
    case TsigCheck::badtime:
      return {rcode::NOTAUTH, tsig_error::BADTIME};
  }
  return {rcode::FORMERR, 0};
}

void tsig_sign_answer(uint8_t* buf, size_t& len, size_t cap, const TsigCheck& request,
                      uint16_t error, uint64_t now) {
  if (request.key) {
    tsig_sign(buf, len, cap, *request.key, now,
              error == tsig_error::BADSIG ? std::string_view() : std::string_view(request.mac),
              false, error);
  } else if (error == tsig_error::BADKEY && !request.key_name.empty()) {
    TsigKey echo{request.key_name, request.algorithm, "", ""};
    tsig_sign(buf, len, cap, echo, now, {}, false, error);
  }
}

TsigCheck tsig_verify(const uint8_t* msg, size_t len, const TsigKeyFinder& find_key,
                      uint64_t now, std::string_view prior_mac, bool timers_only,
                      std::string_view unsigned_before) {
  TsigCheck c;
  if (len < kHeaderSize) {
    c.status = TsigCheck::formerr;
    return c;
  }
  // Walk to the last record of the message.
  uint16_t qd = get16(msg + 4), an = get16(msg + 6), ns = get16(msg + 8), ar = get16(msg + 10);
  if (ar == 0) return c;
  size_t pos = kHeaderSize;
  uint8_t name[kMaxNameLen];
  size_t nlen;
  for (uint16_t i = 0; i < qd; ++i) {
    if (read_name(msg, len, pos, name, nlen) != NameError::ok || pos + 4 > len) {
      c.status = TsigCheck::formerr;
      return c;
    }
    pos += 4;
  }
  uint32_t before_last = static_cast<uint32_t>(an) + ns + ar - 1;
  for (uint32_t i = 0; i < before_last; ++i)
    if (!skip_rr(msg, len, pos)) {
      c.status = TsigCheck::formerr;
      return c;
    }
  size_t tsig_start = pos;
  if (read_name(msg, len, pos, name, nlen) != NameError::ok || pos + 10 > len) {
    c.status = TsigCheck::formerr;
    return c;
  }
  if (get16(msg + pos) != rrtype::TSIG) return c;  // last record is not a TSIG: unsigned
  if (get16(msg + pos + 2) != rrclass::ANY) {
    c.status = TsigCheck::formerr;
    return c;
  }
  uint16_t rdlen = get16(msg + pos + 8);
  pos += 10;
  size_t end = pos + rdlen;
  if (end > len) {
    c.status = TsigCheck::formerr;
    return c;
  }
  c.key_name = lowered(std::string_view(reinterpret_cast<char*>(name), nlen));
  uint8_t alg[kMaxNameLen];
  size_t alen;
  if (read_name(msg, end, pos, alg, alen) != NameError::ok || pos + 10 > end) {
    c.status = TsigCheck::formerr;
    return c;
  }
  c.algorithm = lowered(std::string_view(reinterpret_cast<char*>(alg), alen));
  uint64_t t = 0;
  for (int i = 0; i < 6; ++i) t = t << 8 | msg[pos + i];
  c.time_signed = t;
  uint16_t fudge = get16(msg + pos + 6);
  uint16_t maclen = get16(msg + pos + 8);
  pos += 10;
  if (pos + maclen + 6 > end) {
    c.status = TsigCheck::formerr;
    return c;
  }
  c.mac.assign(reinterpret_cast<const char*>(msg + pos), maclen);
  pos += maclen;
  uint16_t original_id = get16(msg + pos);
  c.error = get16(msg + pos + 2);
  uint16_t olen = get16(msg + pos + 4);
  pos += 6;
  if (pos + olen != end) {
    c.status = TsigCheck::formerr;
    return c;
  }
  std::string_view other(reinterpret_cast<const char*>(msg + pos), olen);

  const TsigKey* key = find_key(c.key_name);
  if (!key || key->algorithm != c.algorithm) {
    c.status = TsigCheck::badkey;
    return c;
  }
  c.key = key;
  Hmac h(*key);
  hash_prior(h, prior_mac);
  h.update(unsigned_before);
  // The message as it was before the TSIG was added: original id, ARCOUNT - 1.
  uint8_t hdr[kHeaderSize];
  std::memcpy(hdr, msg, kHeaderSize);
  put16(hdr, original_id);
  put16(hdr + 10, static_cast<uint16_t>(ar - 1));
  h.update(hdr, kHeaderSize);
  h.update(msg + kHeaderSize, tsig_start - kHeaderSize);
  hash_variables(h, *key, std::string_view(reinterpret_cast<char*>(alg), alen), t, fudge,
                 c.error, other, timers_only);
  std::string expect = h.final();
  // RFC 8945 5.2.2.1: truncated MACs are allowed down to half the length (and >= 10).
  if (maclen == 0 || maclen > expect.size() || maclen < expect.size() / 2 || maclen < 10 ||
      CRYPTO_memcmp(expect.data(), c.mac.data(), maclen) != 0) {
    c.status = TsigCheck::badsig;
    return c;
  }
  uint64_t diff = now > t ? now - t : t - now;
  if (diff > fudge) {
    c.status = TsigCheck::badtime;
    return c;
  }
  c.status = TsigCheck::ok;
  return c;
}

}  // namespace zone::wire
