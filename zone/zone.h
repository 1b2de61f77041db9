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

struct Node {
  std::string name;  // lowercased wire name (the map key)
  std::vector<RRset> rrsets;
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
  size_t node_count() const { return nodes_.size(); }
  size_t record_count() const { return record_count_; }
  template <class F>
  void for_each_node(F&& f) const {
    for (const auto& [k, n] : nodes_) f(n);
  }

 private:
  friend class ZoneBuilder;
  std::string origin_;
  std::string source_;
  std::unordered_map<std::string, Node, StringHash, std::equal_to<>> nodes_;
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

  // Adds one record. Records of one owner and type form one RRset (the TTL of the first one
  // wins, RFC 2181 5.2; a differing TTL is reported as a warning). Duplicates are dropped.
  void add(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata,
           const SourceLine& where = {});

  // Runs every load-time check; on success returns the zone, else fills errors.
  std::shared_ptr<const Zone> build(std::vector<ZoneError>& errors,
                                    std::vector<ZoneError>* warnings = nullptr);

 private:
  struct Pending;
  std::string origin_;
  std::string source_;
  std::unique_ptr<Zone> zone_;
  // First source line of each (owner, type), for error messages.
  std::unordered_map<std::string, SourceLine> lines_;
  std::vector<ZoneError> early_errors_, early_warnings_;
  size_t records_ = 0;
};

}  // namespace zone
