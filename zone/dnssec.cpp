#include "zone/dnssec.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace zone {

using namespace wire;

const Node* Zone::nsec_for(NameView lower_name) const {
  if (overlay_) [[unlikely]] return nsec_for_version(lower_name);
  const auto& chain = dnssec_parts().nsec_chain;
  if (chain.empty()) return nullptr;
  auto it = std::upper_bound(
      chain.begin(), chain.end(), lower_name,
      [](NameView n, const Node* node) { return canonical_compare(n, node->name) < 0; });
  // Nothing at or before the name (cannot happen: the apex comes first): the last NSEC
  // wraps around to the apex and covers it.
  return it == chain.begin() ? chain.back() : *(it - 1);
}

const Node* Zone::nsec_before(NameView lower_name) const {
  if (overlay_) [[unlikely]] return nsec_for_version(lower_name, true);
  const auto& chain = dnssec_parts().nsec_chain;
  if (chain.empty()) return nullptr;
  auto it = std::lower_bound(
      chain.begin(), chain.end(), lower_name,
      [](const Node* node, NameView n) { return canonical_compare(node->name, n) < 0; });
  return it == chain.begin() ? chain.back() : *(it - 1);
}

void Zone::nsec3_hash(NameView lower_name, uint8_t out[kNsec3HashLen]) const {
  // IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(salt, x, k-1) || salt).
  const DnssecParts& d = dnssec_parts();
  const std::string& salt = d.nsec3_salt;
  uint8_t buf[kMaxNameLen + 256];
  std::memcpy(buf, lower_name.data(), lower_name.size());
  std::memcpy(buf + lower_name.size(), salt.data(), salt.size());
  SHA1(buf, lower_name.size() + salt.size(), out);
  for (uint16_t i = 0; i < d.nsec3_iterations; ++i) {
    std::memcpy(buf, out, kNsec3HashLen);
    std::memcpy(buf + kNsec3HashLen, salt.data(), salt.size());
    SHA1(buf, kNsec3HashLen + salt.size(), out);
  }
}

const Nsec3Entry* Zone::nsec3_for(const uint8_t hash[kNsec3HashLen], bool& match) const {
  if (overlay_) [[unlikely]] return nsec3_for_version(hash, match);
  match = false;
  const auto& chain = dnssec_parts().nsec3_chain;
  if (chain.empty()) return nullptr;
  auto it = std::upper_bound(chain.begin(), chain.end(), hash,
                             [](const uint8_t* h, const Nsec3Entry& e) {
                               return std::memcmp(h, e.hash, kNsec3HashLen) < 0;
                             });
  // Below the first hash: covered by the last NSEC3, whose next hash wraps to the first.
  const Nsec3Entry* e = it == chain.begin() ? &chain.back() : &*(it - 1);
  match = std::memcmp(e->hash, hash, kNsec3HashLen) == 0;
  return e;
}

namespace {

// The ancestor of `name` (or name itself) with `labels` labels.
NameView suffix_with_labels(NameView name, int labels) {
  int have = label_count(name);
  while (have > labels) {
    name = parent_name(name);
    --have;
  }
  return name;
}

// "*." + name in buf; empty if too long.
NameView wildcard_of(NameView name, char* buf) {
  if (name.size() + 2 > kMaxNameLen) return {};
  buf[0] = 1;
  buf[1] = '*';
  std::memcpy(buf + 2, name.data(), name.size());
  return NameView(buf, name.size() + 2);
}

void add_nsec3(const Zone& z, NameView name, Proof& p) {
  bool match;
  if (const Nsec3Entry* e = z.nsec3_for_name(name, match)) p.add(e->node);
}

// RFC 5155 7.2.1: the NSEC3 matching the closest (provable) encloser, searched upwards
// from `start`, and the NSEC3 covering the next closer name. Returns the encloser proven.
NameView closest_encloser_proof(const Zone& z, NameView qname, NameView start, Proof& p) {
  NameView c = start;
  for (;;) {
    bool match;
    const Nsec3Entry* e = z.nsec3_for_name(c, match);
    if (match) {
      p.add(e->node);
      break;
    }
    if (c.size() <= z.origin().size()) break;  // a broken chain: prove what we can
    c = parent_name(c);
  }
  if (c.size() < qname.size()) add_nsec3(z, suffix_with_labels(qname, label_count(c) + 1), p);
  return c;
}

}  // namespace

void prove_nxdomain(const Zone& z, NameView qname, const Node& ce, Proof& p) {
  char wc[kMaxNameLen + 2];
  if (z.denial() == Denial::nsec) {
    p.add(z.nsec_for(qname));
    NameView w = wildcard_of(ce.name, wc);
    if (!w.empty()) p.add(z.nsec_for(w));
  } else if (z.denial() == Denial::nsec3) {
    NameView c = closest_encloser_proof(z, qname, ce.name, p);
    NameView w = wildcard_of(c, wc);
    if (!w.empty()) add_nsec3(z, w, p);
  }
}

void prove_nodata(const Zone& z, NameView qname, Proof& p) {
  if (z.denial() == Denial::nsec) {
    // The NSEC at the name, or for an empty non-terminal the NSEC before it, whose next
    // name is below it (RFC 4035 3.1.3.1 / RFC 5155 7.2.3's NSEC twin).
    p.add(z.nsec_for(qname));
  } else if (z.denial() == Denial::nsec3) {
    bool match;
    const Nsec3Entry* e = z.nsec3_for_name(qname, match);
    if (match) {
      p.add(e->node);
    } else {
      // Left out by opt-out (an insecure delegation asked for DS): the closest provable
      // encloser and the opt-out NSEC3 covering the next closer name (RFC 5155 7.2.4).
      closest_encloser_proof(z, qname, qname.size() > z.origin().size() ? parent_name(qname) : qname, p);
    }
  }
}

void prove_wildcard_answer(const Zone& z, NameView qname, const Node& ce, Proof& p) {
  if (z.denial() == Denial::nsec) {
    p.add(z.nsec_for(qname));
  } else if (z.denial() == Denial::nsec3) {
    // The closest encloser is implied by the RRSIG labels field; only the next closer name
    // needs denying.
    if (ce.name.size() < qname.size())
      add_nsec3(z, suffix_with_labels(qname, label_count(ce.name) + 1), p);
  }
}

void prove_wildcard_nodata(const Zone& z, NameView qname, const Node& ce, const Node& wildcard,
                           Proof& p) {
  if (z.denial() == Denial::nsec) {
    p.add(z.nsec_for(qname));
    p.add(z.nsec_for(wildcard.name));
  } else if (z.denial() == Denial::nsec3) {
    closest_encloser_proof(z, qname, ce.name, p);
    add_nsec3(z, wildcard.name, p);
  }
}

void prove_no_ds(const Zone& z, const Node& cut, Proof& p) { prove_nodata(z, cut.name, p); }

}  // namespace zone
