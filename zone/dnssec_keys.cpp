#include "zone/dnssec_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

namespace zone::dnssec {

namespace fs = std::filesystem;

void PkeyFree::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

PkeyPtr wrap(EVP_PKEY* k) { return PkeyPtr(k, PkeyFree{}); }

std::string public_key_bytes(const EVP_PKEY* pkey, uint8_t algorithm) {
  if (algorithm == kEd25519) {
    unsigned char buf[32];
    size_t len = sizeof buf;
    if (EVP_PKEY_get_raw_public_key(pkey, buf, &len) != 1 || len != 32)
      throw KeyError("cannot read the Ed25519 public key");
    return std::string(reinterpret_cast<char*>(buf), len);
  }
  unsigned char buf[65];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &len) != 1 ||
      len != 65 || buf[0] != 0x04)
    throw KeyError("cannot read the P-256 public key");
  return std::string(reinterpret_cast<char*>(buf) + 1, 64);  // X || Y (RFC 6605 4)
}

PkeyPtr public_key_of(std::string_view dnskey) {
  if (dnskey.size() < 4) return nullptr;
  uint8_t alg = static_cast<uint8_t>(dnskey[3]);
  std::string_view pub = dnskey.substr(4);
  if (alg == kEd25519) {
    if (pub.size() != 32) return nullptr;
    return wrap(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                            reinterpret_cast<const unsigned char*>(pub.data()),
                                            pub.size()));
  }
  if (alg != kEcdsaP256Sha256 || pub.size() != 64) return nullptr;
  std::string point = "\x04" + std::string(pub);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return key ? wrap(key) : nullptr;
}

const char* role_of(const Key& k) { return k.ksk && k.zsk ? "csk" : k.ksk ? "ksk" : "zsk"; }

}  // namespace

std::string dnskey_rdata(const EVP_PKEY* pkey, uint8_t algorithm, bool sep) {
  std::string rd;
  uint16_t flags = 256 | (sep ? 1 : 0);
  rd += static_cast<char>(flags >> 8);
  rd += static_cast<char>(flags & 0xff);
  rd += static_cast<char>(3);
  rd += static_cast<char>(algorithm);
  rd += public_key_bytes(pkey, algorithm);
  return rd;
}

uint16_t key_tag(std::string_view rd) {
  uint32_t ac = 0;
  for (size_t i = 0; i < rd.size(); ++i)
    ac += (i & 1) ? static_cast<uint8_t>(rd[i]) : static_cast<uint32_t>(static_cast<uint8_t>(rd[i])) << 8;
  ac += (ac >> 16) & 0xFFFF;
  return static_cast<uint16_t>(ac & 0xFFFF);
}

Key generate_key(uint8_t algorithm, bool ksk, bool zsk, int64_t now) {
  EVP_PKEY* raw = nullptr;
  if (algorithm == kEcdsaP256Sha256)
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  else if (algorithm == kEd25519)
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  else
    throw KeyError("unsupported DNSSEC algorithm " + std::to_string(algorithm));
  if (!raw) throw KeyError("key generation failed (OpenSSL)");
  Key k;
  k.pkey = wrap(raw);
  k.algorithm = algorithm;
  k.ksk = ksk;
  k.zsk = zsk;
  k.created = k.published = k.active = now;
  if (ksk) k.ds_submit = now;
  k.dnskey_rdata = dnskey_rdata(raw, algorithm, ksk);
  k.tag = key_tag(k.dnskey_rdata);
  unsigned char rnd[4];
  RAND_bytes(rnd, sizeof rnd);
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
  k.id = std::string(role_of(k)) + "-" + std::to_string(algorithm) + "-" + std::to_string(k.tag) +
         "-" + suffix;
  return k;
}

namespace {

// OpenSSL 3 looks the algorithms up on every EVP_DigestSignInit, which costs as much as an
// ECDSA signature: each thread keeps one initialised context per key and copies it.
const EVP_MD_CTX* ecdsa_template(const Key& key) {
  thread_local std::vector<std::pair<PkeyPtr, std::unique_ptr<EVP_MD_CTX, MdCtxFree>>> cache;
  for (const auto& [k, ctx] : cache)
    if (k.get() == key.pkey.get()) return ctx.get();
  if (cache.size() >= 16) cache.clear();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey.get()) != 1)
    throw KeyError("signing failed (init)");
  cache.emplace_back(key.pkey, std::move(ctx));
  return cache.back().second.get();
}

}  // namespace

std::string sign(const Key& key, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  auto in = reinterpret_cast<const unsigned char*>(data.data());
  size_t len = 0;
  std::string sig;
  if (key.algorithm == kEd25519) {
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey.get()) != 1)
      throw KeyError("signing failed (init)");
    if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1)
      throw KeyError("signing failed");
    sig.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                       data.size()) != 1)
      throw KeyError("signing failed");
    sig.resize(len);
    return sig;
  }
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), ecdsa_template(key)) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), in, data.size()) != 1)
    throw KeyError("signing failed");
  unsigned char der[80];
  len = sizeof der;
  if (EVP_DigestSignFinal(ctx.get(), der, &len) != 1) throw KeyError("signing failed");
  sig.assign(reinterpret_cast<char*>(der), len);
  // DER ECDSA-Sig-Value -> r || s, 32 bytes each (RFC 6605 4).
  auto p = reinterpret_cast<const unsigned char*>(sig.data());
  std::unique_ptr<ECDSA_SIG, SigFree> es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!es) throw KeyError("signing failed (ECDSA encoding)");
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(es.get(), &r, &s);
  unsigned char out[64];
  if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32)
    throw KeyError("signing failed (ECDSA size)");
  return std::string(reinterpret_cast<char*>(out), 64);
}

bool verify(std::string_view dnskey, std::string_view data, std::string_view signature) {
  PkeyPtr pk = public_key_of(dnskey);
  if (!pk) return false;
  uint8_t alg = static_cast<uint8_t>(dnskey[3]);
  std::string sig(signature);
  if (alg == kEcdsaP256Sha256) {
    if (sig.size() != 64) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    auto u = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG_set0(es, BN_bin2bn(u, 32, nullptr), BN_bin2bn(u + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int n = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    if (n <= 0) return false;
    sig.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD* md = alg == kEd25519 ? nullptr : EVP_sha256();
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pk.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

std::string ds_rdata(std::string_view owner, std::string_view dnskey) {
  std::string in(owner);
  in += dnskey;
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_sha256(), nullptr);
  uint16_t tag = key_tag(dnskey);
  std::string rd;
  rd += static_cast<char>(tag >> 8);
  rd += static_cast<char>(tag & 0xff);
  rd += dnskey.size() > 3 ? dnskey[3] : '\0';
  rd += static_cast<char>(2);
  rd.append(reinterpret_cast<char*>(md), len);
  return rd;
}

namespace {

std::string base64_decode(std::string_view in) {
  std::string clean;
  for (char c : in)
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  if (clean.empty() || clean.size() % 4) return {};
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return {};
  size_t pad = 0;
  while (pad < 2 && clean[clean.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw KeyError(p.string() + ": cannot be read: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Key import_bind_key(const std::string& path, int64_t now) {
  fs::path base(path);
  if (base.extension() == ".private" || base.extension() == ".key") base.replace_extension();
  const fs::path priv_path = fs::path(base.string() + ".private"), key_path = fs::path(base.string() + ".key");
  // The public part: the DNSKEY record of the .key file.
  std::string dnskey_line;
  {
    std::istringstream in(read_text(key_path));
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == ';') continue;
      if (line.find("DNSKEY") != std::string::npos) dnskey_line = line;
    }
  }
  std::istringstream words(dnskey_line.substr(std::min(dnskey_line.size(), dnskey_line.find("DNSKEY") + 6)));
  unsigned flags = 0, protocol = 0, algorithm = 0;
  std::string b64, w;
  if (dnskey_line.empty() || !(words >> flags >> protocol >> algorithm))
    throw KeyError(key_path.string() + ": no DNSKEY record (flags protocol algorithm key)");
  while (words >> w) b64 += w;
  if (algorithm != kEcdsaP256Sha256 && algorithm != kEd25519)
    throw KeyError(key_path.string() + ": algorithm " + std::to_string(algorithm) +
                   " is not supported (ECDSAP256SHA256 13 and ED25519 15 are)");
  if (flags != 256 && flags != 257)
    throw KeyError(key_path.string() + ": DNSKEY flags " + std::to_string(flags) + " (256 or 257 expected)");
  const std::string pub = base64_decode(b64);
  // The private part: "Algorithm: 13 (...)" and "PrivateKey: base64".
  std::string priv_b64;
  unsigned priv_alg = 0;
  {
    std::istringstream in(read_text(priv_path));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Algorithm:", 0) == 0) priv_alg = static_cast<unsigned>(std::atoi(line.c_str() + 10));
      if (line.rfind("PrivateKey:", 0) == 0) priv_b64 = line.substr(11);
    }
  }
  if (priv_alg != algorithm)
    throw KeyError(priv_path.string() + ": algorithm " + std::to_string(priv_alg) + ", the .key file says " +
                   std::to_string(algorithm));
  std::string secret = base64_decode(priv_b64);
  if (secret.size() != 32) {
    OPENSSL_cleanse(secret.data(), secret.size());
    throw KeyError(priv_path.string() + ": no 32-byte PrivateKey");
  }
  EVP_PKEY* raw = nullptr;
  if (algorithm == kEd25519) {
    raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(secret.data()), 32);
  } else if (pub.size() == 64) {
    std::string point = "\x04" + pub;
    BIGNUM* d = BN_bin2bn(reinterpret_cast<const unsigned char*>(secret.data()), 32, nullptr);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &raw, EVP_PKEY_KEYPAIR, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    // The public point was taken from the .key file: it must be the private key's own.
    if (raw) {
      EVP_PKEY_CTX* check = EVP_PKEY_CTX_new(raw, nullptr);
      const bool pair = check && EVP_PKEY_pairwise_check(check) == 1;
      EVP_PKEY_CTX_free(check);
      if (!pair) {
        EVP_PKEY_free(raw);
        OPENSSL_cleanse(secret.data(), secret.size());
        throw KeyError(priv_path.string() + ": the private key does not belong to the public key of " +
                       key_path.string());
      }
    }
  }
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!raw) throw KeyError(priv_path.string() + ": the private key cannot be used (OpenSSL)");
  Key k;
  k.pkey = wrap(raw);
  k.algorithm = static_cast<uint8_t>(algorithm);
  k.ksk = flags == 257;
  k.zsk = !k.ksk;
  k.dnskey_rdata = dnskey_rdata(raw, k.algorithm, k.ksk);
  if (k.dnskey_rdata.substr(4) != pub)
    throw KeyError(priv_path.string() + ": the private key does not belong to the public key of " +
                   key_path.string());
  k.tag = key_tag(k.dnskey_rdata);
  k.created = k.published = k.active = now;
  if (k.ksk) k.ds_submit = k.ds_seen = now;
  k.id = std::string(role_of(k)) + "-" + std::to_string(algorithm) + "-" + std::to_string(k.tag) + "-bind";
  return k;
}

KeyStore::KeyStore(std::string dir, std::string zone_name) : dir_(std::move(dir)) {
  if (zone_name.empty() || zone_name == ".") zone_name = "root";
  for (auto& c : zone_name)
    if (c == '/') c = '_';
  zone_dir_ = (fs::path(dir_) / zone_name).string();
}

std::vector<Key> KeyStore::load() const {
  std::vector<Key> keys;
  const fs::path state = fs::path(zone_dir_) / "state.json";
  std::error_code ec;
  if (!fs::exists(state, ec)) return keys;
  std::ifstream in(state);
  if (!in) throw KeyError(state.string() + ": cannot be read: " + std::strerror(errno));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    for (const auto& e : j.at("keys")) {
      Key k;
      k.id = e.at("id").get<std::string>();
      k.algorithm = e.at("algorithm").get<uint8_t>();
      std::string role = e.at("role").get<std::string>();
      k.ksk = role == "ksk" || role == "csk";
      k.zsk = role == "zsk" || role == "csk";
      k.tag = e.at("tag").get<uint16_t>();
      k.created = e.value("created", int64_t{0});
      k.published = e.value("published", int64_t{0});
      k.active = e.value("active", int64_t{0});
      k.retire = e.value("retire", int64_t{0});
      k.remove = e.value("remove", int64_t{0});
      k.ds_submit = e.value("ds_submit", k.ksk ? k.published : int64_t{0});
      k.ds_seen = e.value("ds_seen", int64_t{0});
      k.ds_withdraw = e.value("ds_withdraw", int64_t{0});
      if (k.id.find('/') != std::string::npos || k.id.empty())
        throw KeyError(state.string() + ": bad key id '" + k.id + "'");
      const fs::path pem = fs::path(zone_dir_) / (k.id + ".pem");
      FILE* f = std::fopen(pem.c_str(), "r");
      if (!f) throw KeyError(pem.string() + ": cannot be read: " + std::strerror(errno));
      EVP_PKEY* pk = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
      std::fclose(f);
      if (!pk) throw KeyError(pem.string() + ": not a PEM private key");
      k.pkey = wrap(pk);
      try {
        k.dnskey_rdata = dnskey_rdata(pk, k.algorithm, k.ksk);
      } catch (const KeyError& e) {
        throw KeyError(pem.string() + ": " + e.what() + " (algorithm " +
                       std::to_string(k.algorithm) + " in state.json)");
      }
      if (key_tag(k.dnskey_rdata) != k.tag)
        throw KeyError(pem.string() + ": its key tag is " + std::to_string(key_tag(k.dnskey_rdata)) +
                       ", state.json says " + std::to_string(k.tag));
      keys.push_back(std::move(k));
    }
  } catch (const nlohmann::json::exception& e) {
    throw KeyError(state.string() + ": unreadable: " + e.what());
  }
  return keys;
}

void KeyStore::save(const std::vector<Key>& keys, const Key* new_key) const {
  std::error_code ec;
  fs::create_directories(zone_dir_, ec);
  if (ec) throw KeyError(zone_dir_ + ": cannot be created: " + ec.message());
  ::chmod(dir_.c_str(), 0700);
  ::chmod(zone_dir_.c_str(), 0700);
  auto write_file = [&](const std::string& path, const std::string& data, bool exclusive) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), 0600);
    if (fd < 0) throw KeyError(path + ": cannot be written: " + std::strerror(errno));
    ::fchmod(fd, 0600);
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n <= 0) {
        int err = errno;
        ::close(fd);
        throw KeyError(path + ": cannot be written: " + std::strerror(err));
      }
      off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0)
      throw KeyError(path + ": cannot be written: " + std::strerror(errno));
  };
  if (new_key) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    if (!PEM_write_bio_PrivateKey(bio.get(), new_key->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr))
      throw KeyError("cannot encode a private key");
    char* p = nullptr;
    long n = BIO_get_mem_data(bio.get(), &p);
    std::string pem(p, static_cast<size_t>(n));
    write_file((fs::path(zone_dir_) / (new_key->id + ".pem")).string(), pem, true);
    OPENSSL_cleanse(pem.data(), pem.size());
  }
  nlohmann::json j;
  j["keys"] = nlohmann::json::array();
  for (const auto& k : keys)
    j["keys"].push_back({{"id", k.id},
                         {"algorithm", k.algorithm},
                         {"role", role_of(k)},
                         {"tag", k.tag},
                         {"created", k.created},
                         {"published", k.published},
                         {"active", k.active},
                         {"retire", k.retire},
                         {"remove", k.remove},
                         {"ds_submit", k.ds_submit},
                         {"ds_seen", k.ds_seen},
                         {"ds_withdraw", k.ds_withdraw}});
  const std::string state = (fs::path(zone_dir_) / "state.json").string();
  write_file(state + ".tmp", j.dump(2) + "\n", false);
  if (::rename((state + ".tmp").c_str(), state.c_str()) != 0)
    throw KeyError(state + ": cannot be written: " + std::strerror(errno));
  int dfd = ::open(zone_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void KeyStore::forget(const std::string& id) const {
  if (id.empty() || id.find('/') != std::string::npos) return;
  std::error_code ec;
  fs::remove(fs::path(zone_dir_) / (id + ".pem"), ec);
}

}  // namespace zone::dnssec
