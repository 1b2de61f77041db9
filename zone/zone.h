// An immutable, fully indexed zone. Built once by ZoneBuilder, then only read (by any number
// of threads at once) until the last snapshot holding it goes away.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <span>
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

// One name of a zone. Everything it points to lives in its Zone's arrays and arena (or, in a
// version made by apply_changeset, in that version's own blocks): a node is 56 bytes and no
// allocation of its own.
struct Node {
  NameView name;                   // lowercased wire name
  std::span<const RRset> rrsets;   // SOA, NS first, then by type
  std::span<const Signatures> sigs;  // derived from the RRSIG RRset, by covered type
  // Names of the lookup namespace right below this one: tells a change whether a name that
  // loses its last record stays as an empty non-terminal (it sits in the padding).
  uint32_t children = 0;
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

static_assert(sizeof(Node) == 56, "a node stays 56 bytes");

// Open addressing from a lowercased wire name to a node index: one 8-byte slot per entry
// (32 bits of the hash beside the index, so most misses never touch a node).
class NameIndex {
 public:
  static uint64_t hash(NameView name) { return std::hash<std::string_view>{}(name); }
  void reset(size_t entries);
  // Index of `name` among `names` (a function index -> NameView), or -1.
  template <class NameOf>
  int64_t find(NameView name, uint64_t h, const NameOf& name_of) const {
    if (slots_.empty()) return -1;
    uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      uint64_t e = slots_[i];
      if (e == 0) return -1;
      if (static_cast<uint32_t>(e >> 32) == tag) {
        uint32_t idx = static_cast<uint32_t>(e) - 1;
        if (name_of(idx) == name) return idx;
      }
    }
  }
  // Inserts an index known to be absent; grows (rehashing through name_of) as needed.
  template <class NameOf>
  void insert(uint64_t h, uint32_t idx, const NameOf& name_of) {
    if ((used_ + 1) * 10 > slots_.size() * 7) grow(name_of);
    place(h, idx);
    ++used_;
  }
  size_t size() const { return used_; }
  size_t bytes() const { return slots_.size() * sizeof(uint64_t); }

 private:
  void place(uint64_t h, uint32_t idx) {
    uint64_t e = (h >> 32 << 32) | (static_cast<uint64_t>(idx) + 1);
    for (size_t i = h & mask_;; i = (i + 1) & mask_)
      if (slots_[i] == 0) {
        slots_[i] = e;
        return;
      }
  }
  template <class NameOf>
  void grow(const NameOf& name_of) {
    std::vector<uint64_t> old;
    old.swap(slots_);
    size_t used = used_;
    reset(std::max<size_t>(16, used * 2));
    used_ = used;
    for (uint64_t e : old)
      if (e) {
        uint32_t idx = static_cast<uint32_t>(e) - 1;
        place(hash(name_of(idx)), idx);
      }
  }
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  size_t used_ = 0;
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

struct Overlay;
class VersionBuilder;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// A zone is either flat (built by ZoneBuilder: every node in its own arrays) or a version
// made by apply_changeset: a flat base shared with other versions plus an overlay holding
// only the names that differ (see zone/overlay.h). Both answer the same questions; a flat
// zone pays one predictable branch for it.
class Zone {
 public:
  ~Zone();
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
  // A secondary zone: when it expires (unix time), kept by the replication thread with its
  // expire timer; 0 for a primary zone. EDNS EXPIRE (RFC 7314) reports what is left of it.
  int64_t expire_at() const { return expire_at_.load(std::memory_order_relaxed); }
  void set_expire_at(int64_t t) const { expire_at_.store(t, std::memory_order_relaxed); }

  // Exact match on a lowercased wire name; nullptr if absent.
  const Node* find(NameView lower_name) const {
    if (overlay_) [[unlikely]] return find_in_version(lower_name);
    int64_t i = index_.find(lower_name, NameIndex::hash(lower_name), name_of_);
    return i < 0 ? nullptr : &nodes_[static_cast<size_t>(i)];
  }
  size_t node_count() const { return node_count_; }
  // Any node that holds records, NSEC3 owners included (find() skips those); for diffs.
  // For a name that is both an NSEC3 owner and an empty non-terminal, the NSEC3 owner.
  const Node* find_stored(NameView lower_name) const;
  size_t record_count() const { return record_count_; }
  // Every node, the NSEC3 owners (not part of the lookup namespace) and empty non-terminals
  // included, each once: a flat zone in the order the names were first added, a version its
  // base's nodes it still has, then its own.
  template <class F>
  void for_each_node(F&& f) const {
    if (!overlay_) {
      for (const auto& n : nodes_) f(n);
      return;
    }
    auto* fp = std::addressof(f);
    using P = decltype(fp);
    visit_version_nodes(
        [](const void* ctx, const Node& n) { (*static_cast<P>(const_cast<void*>(ctx)))(n); },
        fp);
  }
  // Bytes held by the zone's data structures (for status and benchmarks); a version counts
  // its base too.
  size_t memory_bytes() const;

  // Versions (apply_changeset). The flat zone this one shares its nodes with (itself when
  // flat), and how many names the version holds apart from it (0 when flat).
  const Zone& flat_base() const;
  size_t delta_size() const;
  const Overlay* overlay() const { return overlay_.get(); }

  // An order-independent hash of the records, SOA serial excluded (see content_hash in
  // changeset.h). Computed once for a flat zone, carried by versions.
  uint64_t content_hash() const;

  // DNSSEC (RFC 4035, RFC 5155). A zone is signed when its apex has a DNSKEY and an NSEC
  // chain, or an NSEC3PARAM with its NSEC3 chain.
  Denial denial() const { return denial_; }
  bool is_signed() const { return denial_ != Denial::none; }
  // NSEC zones: the node whose NSEC matches `lower_name` or covers it (its canonical
  // predecessor in the chain). Binary search, no allocation.
  const Node* nsec_for(NameView lower_name) const;
  // The NSEC owner strictly before `lower_name` in the chain (wrapping to the last), e.g. the
  // predecessor of a name that leaves it; nullptr without an NSEC chain.
  const Node* nsec_before(NameView lower_name) const;
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
  friend class VersionBuilder;
  struct NameOf {
    const std::vector<Node>* nodes;
    NameView operator()(uint32_t i) const { return (*nodes)[i].name; }
  };
  // Flat zones only: the lookup namespace and the NSEC3 owners, with a precomputed hash.
  const Node* find_flat(NameView lower_name, uint64_t h) const {
    int64_t i = index_.find(lower_name, h, name_of_);
    return i < 0 ? nullptr : &nodes_[static_cast<size_t>(i)];
  }
  const Node* find_nsec3_owner_flat(NameView lower_name, uint64_t h) const {
    if (!dnssec_) return nullptr;
    int64_t i = dnssec_->nsec3_index.find(lower_name, h, name_of_);
    return i < 0 ? nullptr : &nodes_[static_cast<size_t>(i)];
  }
  // The same questions asked of a version (zone/overlay.cpp).
  const Node* find_in_version(NameView lower_name) const;
  const Node* find_nsec3_owner(NameView lower_name) const;
  void visit_version_nodes(void (*fn)(const void*, const Node&), const void* ctx) const;
  const Node* nsec_for_version(NameView lower_name, bool strict = false) const;
  const Nsec3Entry* nsec3_for_version(const uint8_t hash[kNsec3HashLen], bool& match) const;
  // In-zone NS targets of the apex and of every cut, as sorted hashes: which names a change
  // must not leave without glue. Built on first use (flat zones; versions carry a delta).
  const std::vector<uint64_t>& ns_target_refs() const;

 public:
  // How many NS records of the apex and of the cuts name `target` (lowercased wire, in the
  // zone): a binary search, O(log n), also on a version. Hash-based: a collision can only
  // make it larger (glue kept, never dropped).
  int64_t ns_references(NameView target) const;

 private:

  std::string origin_;
  std::string source_;
  // Names, RDATA and signatures of every node, back to back; nodes and RRsets point here.
  std::unique_ptr<char[]> arena_;
  size_t arena_size_ = 0;
  std::vector<Node> nodes_;
  std::vector<RRset> rrsets_;
  NameIndex index_;  // the lookup namespace
  NameOf name_of_{&nodes_};
  size_t nsec3_first_ = 0;  // nodes_ from here on are NSEC3 owners
  Denial denial_ = Denial::none;
  // What only a zone with DNSSEC records has. Kept apart: the thousands of unsigned zones of
  // a server each carry one null pointer instead of ~170 bytes of empty containers.
  struct DnssecParts {
    std::vector<Signatures> sigs;
    // Owners of NSEC3 records: served by AXFR and as proofs, never found by lookup
    // (RFC 5155 7.2.8), so they create no names and no empty non-terminals.
    NameIndex nsec3_index;
    std::vector<const Node*> nsec_chain;  // canonical order (RFC 4034 6.1)
    std::vector<Nsec3Entry> nsec3_chain;  // by hash
    std::string nsec3_salt;
    uint16_t nsec3_iterations = 0;
  };
  std::unique_ptr<DnssecParts> dnssec_;
  static const DnssecParts kNoDnssec;  // what an unsigned zone reads (zone.cpp)
  const DnssecParts& dnssec_parts() const { return dnssec_ ? *dnssec_ : kNoDnssec; }
  DnssecParts& dnssec_edit() {
    if (!dnssec_) dnssec_ = std::make_unique<DnssecParts>();
    return *dnssec_;
  }
  const Node* apex_ = nullptr;
  const RRset* soa_ = nullptr;
  uint32_t serial_ = 0;
  uint32_t negative_ttl_ = 0;
  size_t record_count_ = 0;
  size_t node_count_ = 0;
  // Set for versions: the base they share and the names that differ.
  std::unique_ptr<Overlay> overlay_;
  mutable std::once_flag refs_once_;
  // Computed at most a few times (threads that ask at once each compute the same value), not
  // under a call_once: glibc's once wakes waiters with a system call each time, one per zone
  // at a load.
  mutable std::atomic<uint64_t> content_hash_{0};
  mutable std::atomic<bool> hash_known_{false};
  mutable std::vector<uint64_t> ns_refs_;
  mutable std::atomic<bool> expired_{false};
  mutable std::atomic<int64_t> expire_at_{0};
};

// Where a record came from, for error messages ("zones/example.com.zone:12").
struct SourceLine {
  std::string file;
  int line = 0;
  // "file:line", or just "file" for what concerns the whole file (it cannot be opened).
  std::string str() const {
    if (file.empty()) return "<input>";
    return line ? file + ":" + std::to_string(line) : file;
  }
};

// A type's mnemonic for messages ("A", "NSEC3PARAM", "TYPE65400").
std::string type_name(uint16_t type);

struct ZoneError {
  SourceLine where;
  std::string message;
  std::string str() const { return where.str() + ": " + message; }
};

// Collects records, then checks and indexes them into an immutable Zone.
class ZoneBuilder {
 public:
  explicit ZoneBuilder(std::string origin_lower, std::string source = {});
  // Starts from every record of an existing zone (flat or a version: to rebuild or compact
  // one): its RRsets are copied whole, which is far cheaper than adding the records one by
  // one.
  explicit ZoneBuilder(const Zone& base);

  // Sizes the builder for a zone file of `text_bytes` (a hint: saves regrowing and rehashing
  // when a big zone is loaded; reserved but untouched memory is never resident).
  void reserve_for_text(size_t text_bytes);

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
  // Records are collected flat (no allocation per record or per name) and turned into the
  // zone's arrays by build().
  struct BNode {
    uint64_t name_off;
    uint8_t name_len;
    bool nsec3_owner = false;
    uint32_t first = kNone, last = kNone;  // records of the node, in the order added
  };
  struct BRec {
    uint64_t rd_off;
    uint32_t next = kNone;  // next record of the same node
    uint32_t ttl;
    uint16_t type;
    uint16_t rd_len;
    bool dead = false;
  };
  static constexpr uint32_t kNone = 0xFFFFFFFF;
  struct BNameOf {
    const ZoneBuilder* b;
    NameView operator()(uint32_t i) const {
      const BNode& n = b->bnodes_[i];
      return NameView(b->names_.data() + n.name_off, n.name_len);
    }
  };
  uint32_t node_for(NameView owner_lower, bool create);
  // Appends a record (already checked) to the node's list.
  void append(uint32_t node, uint16_t type, uint32_t ttl, std::string_view rdata);
  NameView bname(const BNode& n) const { return NameView(names_.data() + n.name_off, n.name_len); }
  std::string_view brdata(const BRec& r) const { return std::string_view(rdata_.data() + r.rd_off, r.rd_len); }
  void freeze(Zone& z);
  void check(Zone& z, std::vector<ZoneError>& errors, std::vector<ZoneError>* warnings);
  // Recognises a signed zone and indexes (and checks) its NSEC or NSEC3 chain.
  void index_dnssec(Zone& z, std::vector<ZoneError>& errors, std::vector<ZoneError>* warnings);
  std::string origin_;
  std::string source_;
  std::vector<BNode> bnodes_;
  std::vector<BRec> recs_;
  std::string names_, rdata_;
  NameIndex bindex_;
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
