// Makes the next version of a zone from a changeset in O(change) (zone/overlay.h): the
// names the change touches get new nodes, and what they derive is updated from there (empty
// non-terminals, cut/CNAME/DNAME flags, the NSEC/NSEC3 chains, the NS targets that need
// glue, counts and the content hash). The result passes the checks ZoneBuilder runs at load,
// restricted to what the change can affect.
//
// A change that reaches names it does not touch (a cut or DNAME set or cleared above other
// names, an NSEC3 removed whose name is not in the change, a zone turning signed) is
// handed back for a full build: the rare case, where the full build is the right tool.
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "zone/changeset.h"
#include "zone/overlay.h"

namespace zone {

class VersionBuilder {
 public:
  enum class Outcome { built, refused, rebuild };

  VersionBuilder(std::shared_ptr<const Zone> from, const Changeset& c,
                 std::vector<ZoneError>& errors);
  // built: result() is the new version; refused: errors say why; rebuild: apply the change
  // with a full build instead (nothing was reported).
  Outcome run();
  std::shared_ptr<const Zone> result() { return std::move(out_); }

 private:
  struct WRec {
    uint16_t type;
    uint32_t ttl;
    std::string_view rdata;  // into the old version or the changeset
  };
  enum class Kind { none, regular, nsec3_owner };
  // A name whose records the change edits.
  struct Touched {
    std::string name;
    std::vector<WRec> recs;
    const Node* old_stored = nullptr;  // the node that held its records
    const Node* old_owner = nullptr;   // its NSEC3 owner node (outside the lookup namespace)
    Kind kind = Kind::none;
    std::shared_ptr<const NodeBlock> owner_block;  // its new NSEC3 owner node
  };
  // A name of the lookup namespace whose node changes (records, existence or children).
  struct LName {
    std::string name;
    const Node* old = nullptr;  // in the old version (maybe an empty non-terminal)
    bool exists = false, has_data = false;
    uint32_t children = 0;
    int touched = -1;
    std::shared_ptr<const NodeBlock> block;
    const Node* now = nullptr;  // in the new version
  };
  using NameMap = std::unordered_map<std::string, size_t, StringHash, std::equal_to<>>;

  bool edit();
  Touched& touch(NameView lower);
  bool remove(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata);
  void add(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata);
  LName& lname(NameView name);
  bool add_child(NameView parent);
  bool remove_child(NameView parent);
  bool update_namespaces();
  std::shared_ptr<const NodeBlock> make_block(NameView name, const std::vector<WRec>& recs,
                                              uint32_t children) const;
  std::shared_ptr<const NodeBlock> reshare(const LName& l) const;
  void make_version();
  bool flips_reach_unknown_names() const;
  void update_ns_refs();
  bool update_nsec_chain();
  bool update_nsec3_chain();
  void check_names();
  void check_ns_targets();
  int64_t ns_refs(NameView target) const;
  void error(std::string msg);

  std::shared_ptr<const Zone> from_;
  const Zone& v_;     // the version the change applies to
  const Zone& base_;  // its flat base
  const Changeset& c_;
  std::vector<ZoneError>& errors_;
  SourceLine where_;
  std::deque<Touched> touched_;
  NameMap touched_ix_;
  std::deque<LName> lnames_;
  NameMap lname_ix_;
  size_t missing_ = 0;
  int64_t record_delta_ = 0;
  bool early_error_ = false;
  std::unique_ptr<Zone> z_;  // the new version while it is put together
  std::shared_ptr<const Zone> out_;
};

}  // namespace zone
