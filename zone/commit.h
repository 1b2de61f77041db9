// The one way a zone changes. Whoever changes a zone (zone-file reload, IXFR/AXFR in, zonectl
// edits, DNS UPDATE, runtime zone add/remove, catalog membership, signing) hands a
// ZoneChange to a Committer, which runs, in this order and nowhere else:
//   validate -> sign (zones with a dnssec-policy) -> persist (one SQLite transaction) -> publish (that zone only) -> IXFR history
//   -> NOTIFY downstream.
// A failure at any step leaves the served zone and the store as they were and says why.
// Model: Knot DNS zone_update_commit. The implementation lives with the store (replication/
// commit.cpp); this header is the interface the server side calls through.
#pragma once
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zone/changeset.h"
#include "zone/heap_optional.h"
#include "zone/zone.h"

namespace zone {

// Decides a change against the version current at commit time (UPDATE prerequisites,
// zonectl edits): returns the changeset, or nullopt with `error` (and an rcode for UPDATE).
// An empty changeset means nothing to do (no new serial).
struct PlanOutcome {
  std::optional<Changeset> changes;
  std::string error;
  uint16_t rcode = 0;  // DNS rcode for the refusal (UPDATE), 0 = SERVFAIL-free default
  std::string message;  // what was done, for the caller's reply (optional)
};
using Planner = std::function<PlanOutcome(const Zone& current)>;

struct ZoneChange {
  enum class Kind {
    replace,  // `zone` is the complete new version (AXFR in, zone file loaded)
    apply,    // `changes` applies to the current version (IXFR in, zone-file reload diff)
    plan,     // `planner` computes the changes from the current version (UPDATE, zonectl)
    remove,   // the zone stops being served and its stored data goes
  };
  Kind kind = Kind::apply;
  std::string origin;  // lowercased wire
  std::string name;    // for logs, without the final dot
  std::string source;  // who asks, for logs: "reload", "IXFR from primary (addr)", ...
  std::shared_ptr<const Zone> zone;
  HeapOptional<Changeset> changes;
  Planner planner;
  // History/NOTIFY: changesets kept for IXFR out (0: none) and whether to NOTIFY.
  size_t keep_history = 100;
  bool notify = true;
  // The zone's configuration to keep in the store (zones added at runtime), or empty.
  std::string stored_config;
  // Secondary zones: the refresh timers that go with this version (stored together).
  struct Timers {
    int64_t last_refresh = 0, next_refresh = 0, expire_at = 0;
  };
  std::optional<Timers> timers;
  // A zone loaded at start-up while nothing is served: serve it even if the store cannot
  // take it (the file is durable already); it is stored when the store is back.
  bool serve_if_store_fails = false;
  // replace: the version the given `changes` were computed against (a reload's diff). If
  // another change was committed since, the commit fails and the caller tries again.
  std::shared_ptr<const Zone> base;
  // replace: zone::content_hash of `zone` when the caller has it (0: computed here).
  uint64_t hash = 0;
  // replace: what the store holds of the zone, when the caller read it already (a start-up
  // reads every zone's): a version with this serial and hash, or none (has_records false).
  // Unset: the commit asks the store.
  struct Stored {
    uint32_t serial = 0;
    uint64_t hash = 0;
    bool has_records = false;
  };
  std::optional<Stored> stored;
  // The change did not come from the zone file (UPDATE, zonectl): it is written back to it.
  bool sync_to_file = false;
  // Validate (and sign) only: the result says what the commit would do, in O(change) like
  // the commit itself; nothing is stored, served, kept or sent (zonectl --dry-run).
  bool dry_run = false;
};

struct CommitResult {
  bool ok = false;
  bool changed = false;  // false: nothing to do (same content), nothing published
  std::string error;     // why it failed, naming the step
  uint16_t rcode = 0;    // for a planner's refusal
  std::string message;   // from the planner
  std::shared_ptr<const Zone> zone;  // the version served afterwards (the old one on failure)
  HeapOptional<Changeset> applied;  // what changed (for zone-file sync and replies)
  bool stored = true;    // false: served without being stored (serve_if_store_fails)
  bool store_fault = false;  // failed because the store could not take it (try again later)
};

// The sign step: zones with a dnssec-policy are signed inside the commit, so every caller
// hands in unsigned changes and the signed changeset is what is stored and served by IXFR.
class ZoneSigner {
 public:
  virtual ~ZoneSigner() = default;
  // Is this zone signed here?
  virtual bool signs(const std::string& origin) const = 0;
  // The signed zone for `content` (its DNSSEC records are dropped and made again), keeping
  // `prev`'s signatures where they still hold. nullptr with `error` (the keys cannot be read,
  // ...): the commit fails and the zone stays as it was.
  virtual std::shared_ptr<const Zone> sign(const std::string& origin, const std::string& name,
                                           const Zone& content, const Zone* prev,
                                           std::string& error) = 0;
  // A restart: the stored signed version of a zone whose content did not change. True when
  // it can be served as it is (signed by the zone's keys with its policy's denial, no
  // signature due yet): no signing pass at all.
  virtual bool adopt(const std::string& origin, const std::string& name, const Zone& stored) = 0;
  // A change to a signed zone signed by itself, in O(change): the signed changeset against
  // `cur` (the version served) for the unsigned change `cs`; nullopt when the whole pass
  // (sign) is needed.
  virtual std::optional<Changeset> sign_change(const std::string& origin, const std::string& name,
                                               const Zone& cur, const Changeset& cs) {
    (void)origin, (void)name, (void)cur, (void)cs;
    return std::nullopt;
  }
};

class Committer {
 public:
  virtual ~Committer() = default;
  // Commits changes in order, each on its own; the ones in one call share one SQLite
  // transaction and one table publication where they can (start-up of 10,000 zones).
  // `done` runs on the committer's thread when all are through.
  virtual void commit(std::vector<ZoneChange> changes,
                      std::function<void(std::vector<CommitResult>)> done) = 0;

  // Waits for one change (control verbs, reloads: not for the query workers).
  CommitResult commit_wait(ZoneChange c) {
    std::promise<CommitResult> p;
    auto f = p.get_future();
    std::vector<ZoneChange> v;
    v.push_back(std::move(c));
    commit(std::move(v), [&p](std::vector<CommitResult> r) { p.set_value(std::move(r.front())); });
    return f.get();
  }
  std::vector<CommitResult> commit_wait(std::vector<ZoneChange> cs) {
    std::promise<std::vector<CommitResult>> p;
    auto f = p.get_future();
    commit(std::move(cs), [&p](std::vector<CommitResult> r) { p.set_value(std::move(r)); });
    return f.get();
  }
};

}  // namespace zone
