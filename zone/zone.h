// An immutable, fully indexed zone. Built once by ZoneBuilder, then only read (by any number
// of threads at once) until the last snapshot holding it goes away.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zone/wire/name.h"
#include "zone/wire/rdata.h"

namespace zone {

using wire::NameView;
using wire::RRset;

// The RRSIGs of a node that cover one type (RFC 4034 3), split out of the node's RRSIG
// RRset at build time so that an answer adds "this RRset's signatures" without filtering.
struct Signatures {
  uint16_t covered = 0;
  RRset rrsigs;  // type RRSIG; its TTL is not used (an RRSIG is served with its RRset's TTL)
};

struct Node {
  std::string name;  // lowercased wire name (the map key)
  std::vector<RRset> rrsets;
  std::vector<Signatures> sigs;  // derived from the RRSIG RRset, by covered type
  // Derived at build time so that lookup needs no scans.
  bool is_cut = false;    // NS below the apex: a delegation point
  bool has_dname = false;
  bool has_cname = false;

  const RRset* find(uint16_t type) const {
    for (const auto& r : rrsets)
      if (r.type == type) return &r;
    return nullptr;
  }
  bool empty() const { return rrsets.empty(); }  // an empty non-terminal
  // The TTL a record of `set` is transferred and stored with. RRSIGs of one name share one
  // RRset here, so each takes the TTL of the RRset it covers (what signers write).
  uint32_t record_ttl(const RRset& set, std::string_view rdata) const {
    if (set.type != wire::rrtype::RRSIG || rdata.size() < 2) return set.ttl;
    uint16_t covered = static_cast<uint16_t>(static_cast<uint8_t>(rdata[0]) << 8 |
                                             static_cast<uint8_t>(rdata[1]));
    const RRset* c = find(covered);
    return c ? c->ttl : set.ttl;
  }
  // The RRSIGs covering `type` at this node, or nullptr.
  const RRset* sigs_for(uint16_t type) const {
    for (const auto& s : sigs)
      if (s.covered == type) return &s.rrsigs;
    return nullptr;
  }
};

// How a zone proves that names and types do not exist.
enum class Denial { none, nsec, nsec3 };

inline constexpr size_t kNsec3HashLen = 20;  // SHA-1, the only NSEC3 hash (RFC 5155 11)

// One NSEC3 of the zone's chain, by the hash its owner name carries.
struct Nsec3Entry {
  uint8_t hash[kNsec3HashLen];
  const Node* node;  // the NSEC3 owner (a node outside the lookup namespace)
  bool opt_out;      // the Opt-Out flag of its NSEC3 (RFC 5155 3.1.2.1)
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Zone {
 public:
  const std::string& origin() const { return origin_; }  // lowercased wire name
  uint32_t serial() const { return serial_; }
  const Node& apex() const { return *apex_; }
  const RRset& soa() const { return *soa_; }
  // TTL for negative answers (RFC 2308 section 3): min(SOA TTL, SOA MINIMUM).
  uint32_t negative_ttl() const { return negative_ttl_; }
  const std::string& source() const { return source_; }

  // A secondary zone past its SOA expire time is answered with SERVFAIL. The only state of
  // a Zone that changes after publication; set by the replication thread.
  bool expired() const { return expired_.load(std::memory_order_relaxed); }
  void set_expired(bool e) const { expired_.store(e, std::memory_order_relaxed); }

  // Exact match on a lowercased wire name; nullptr if absent.
  const Node* find(NameView lower_name) const {
    auto it = nodes_.find(lower_name);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  size_t node_count() const { return nodes_.size() + nsec3_nodes_.size(); }
  // Any node that holds records, NSEC3 owners included (find() skips those); for diffs.
  const Node* find_stored(NameView lower_name) const {
    if (const Node* n = find(lower_name)) return n;
    auto it = nsec3_nodes_.find(lower_name);
    return it == nsec3_nodes_.end() ? nullptr : &it->second;
  }
  size_t record_count() const { return record_count_; }
  // Every node, the NSEC3 owners (not part of the lookup namespace) included.
  template <class F>
  void for_each_node(F&& f) const {
    for (const auto& [k, n] : nodes_) f(n);
    for (const auto& [k, n] : nsec3_nodes_) f(n);
  }

  // DNSSEC (RFC 4035, RFC 5155). A zone is signed when its apex has a DNSKEY and an NSEC
  // chain, or an NSEC3PARAM with its NSEC3 chain.
  Denial denial() const { return denial_; }
  bool is_signed() const { return denial_ != Denial::none; }
  // NSEC zones: the node whose NSEC matches `lower_name` or covers it (its canonical
  // predecessor in the chain). Binary search, no allocation.
  const Node* nsec_for(NameView lower_name) const;
  // NSEC3 zones: the hash of a name with the zone's NSEC3PARAM (RFC 5155 5).
  void nsec3_hash(NameView lower_name, uint8_t out[kNsec3HashLen]) const;
  // The NSEC3 whose owner hash equals `hash` (match = true) or covers it.
  const Nsec3Entry* nsec3_for(const uint8_t hash[kNsec3HashLen], bool& match) const;
  const Nsec3Entry* nsec3_for_name(NameView lower_name, bool& match) const {
    uint8_t h[kNsec3HashLen];
    nsec3_hash(lower_name, h);
    return nsec3_for(h, match);
  }

 private:
  friend class ZoneBuilder;
  std::string origin_;
  std::string source_;
  std::unordered_map<std::string, Node, StringHash, std::equal_to<>> nodes_;
  // Owners of NSEC3 records: served by AXFR and as proofs, never found by lookup
  // (RFC 5155 7.2.8), so they create no names and no empty non-terminals.
  std::unordered_map<std::string, Node, StringHash, std::equal_to<>> nsec3_nodes_;
  Denial denial_ = Denial::none;
  std::vector<const Node*> nsec_chain_;  // canonical order (RFC 4034 6.1)
  std::vector<Nsec3Entry> nsec3_chain_;  // by hash
  std::string nsec3_salt_;
  uint16_t nsec3_iterations_ = 0;
  const Node* apex_ = nullptr;
  const RRset* soa_ = nullptr;
  uint32_t serial_ = 0;
  uint32_t negative_ttl_ = 0;
  size_t record_count_ = 0;
  mutable std::atomic<bool> expired_{false};
};

// Where a record came from, for error messages ("zones/example.com.zone:12").
struct SourceLine {
  std::string file;
  int line = 0;
  std::string str() const { return file.empty() ? std::string("<input>") : file + ":" + std::to_string(line); }
};

struct ZoneError {
  SourceLine where;
  std::string message;
  std::string str() const { return where.str() + ": " + message; }
};

// Collects records, then checks and indexes them into an immutable Zone.
class ZoneBuilder {
 public:
  explicit ZoneBuilder(std::string origin_lower, std::string source = {});
  // Starts from every record of an existing zone (for applying a changeset): its RRsets are
  // copied whole, which is far cheaper than adding the records one by one.
  explicit ZoneBuilder(const Zone& base);

  // Removes one record; false when the zone does not have it (with that TTL).
  bool remove(NameView owner_lower, uint16_t type, uint32_t ttl, std::string_view rdata);

  // Adds one record. Records of one owner and type form one RRset (the TTL of the first one
  // wins, RFC 2181 5.2; a differing TTL is reported as a warning). Duplicates are dropped.
  void add(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata,
           const SourceLine& where = {});

  // Runs every load-time check; on success returns the zone, else fills errors.
  std::shared_ptr<const Zone> build(std::vector<ZoneError>& errors,
                                    std::vector<ZoneError>* warnings = nullptr);

 private:
  struct Pending;
  // Splits RRSIGs by covered type, recognises a signed zone and indexes (and checks) its
  // NSEC or NSEC3 chain.
  void index_dnssec(Zone& z, std::vector<ZoneError>& errors, std::vector<ZoneError>* warnings);
  std::string origin_;
  std::string source_;
  std::unique_ptr<Zone> zone_;
  // First source line of each (owner, type), for error messages.
  // First source line of each (owner, type), for error messages: a compact list keyed by a
  // hash, sorted on first use (only error paths look lines up).
  struct LineRef {
    uint64_t key;
    uint32_t file;
    uint32_t line;
    bool operator<(const LineRef& o) const { return key < o.key; }
  };
  std::vector<LineRef> line_refs_;
  std::vector<std::string> files_;
  bool refs_sorted_ = false;
  void remember_line(NameView owner, uint16_t type, const SourceLine& where);
  SourceLine line_of(NameView owner, uint16_t type);
  std::vector<ZoneError> early_errors_, early_warnings_;
  size_t records_ = 0;
};

}  // namespace zone
