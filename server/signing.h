// DNSSEC signing for zones with a dnssec-policy: their keys (made on first use, kept in the
// key directory) and the sign step of the commit path (zone/commit.h ZoneSigner), plus the
// timer side: a zone whose earliest signature falls due, or whose keys change role (a
// rollover step, zone/dnssec_rollover.h), gets a re-signing commit; the DS of a zone whose
// parent is served here is kept in the parent through the parent's commit.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/config.h"
#include "zone/commit.h"
#include "zone/dnssec_keys.h"
#include "zone/dnssec_rollover.h"
#include <nlohmann/json.hpp>
#include <set>

namespace server {

// One server's answer for an RRset (parental agents asked for a child's DS).
struct AgentAnswer {
  bool ok = false, authoritative = false;
  std::vector<std::string> rdatas;
  std::string error;
};
// Asks the named remotes for the RRset of `name_wire`/`qtype`; `done` runs later, on another
// thread, with one answer per remote in order.
using AgentQuery = std::function<void(const std::vector<std::string>& remotes,
                                      const std::string& name_wire, uint16_t qtype,
                                      std::function<void(std::vector<AgentAnswer>)> done)>;

class SigningService : public zone::ZoneSigner {
 public:
  // How zoned asks a parent elsewhere (its `parental-agents`) for the DS (main.cpp wires it).
  void set_agent_query(AgentQuery q) { agent_query_ = std::move(q); }

  // Takes the policies and the zones that use one (main thread, at start and every reload).
  void configure(const Config& cfg);

  bool signs(const std::string& origin) const override;
  // On the committer's thread.
  std::shared_ptr<const zone::Zone> sign(const std::string& origin, const std::string& name,
                                         const zone::Zone& content, const zone::Zone* prev,
                                         std::string& error) override;

  bool adopt(const std::string& origin, const std::string& name,
             const zone::Zone& stored) override;

  // On the committer's thread: a change signed in O(change) (zone::dnssec::sign_change),
  // the signatures falling due made again with it, or nullopt when the whole pass is due (a
  // key changed role, a delegation moves, ...).
  std::optional<zone::Changeset> sign_change(const std::string& origin, const std::string& name,
                                             const zone::Zone& cur, const zone::Changeset& cs) override;
  // On the committer's thread, after every commit: a refresh made by sign_change counts
  // (the next one is scheduled) only once its version is published.
  void committed(const std::string& origin, const zone::CommitResult& r);

  // Main thread, from the periodic tick (`now`: unix time): takes the rollover steps that are
  // due, commits a re-signing change (serial + 1) for every zone whose signatures fall due or
  // whose keys changed role, and brings the DS at the parent (when served here) in line.
  void tick(zone::Committer& committer, int64_t now);

  // The keys of a zone (zonectl: DS), empty when unknown.
  std::vector<zone::dnssec::Key> keys(const std::string& origin) const;

  // Control verbs (main thread). Each returns the reply; {"ok": false, "error": ...} when
  // the zone is not signed here.
  // Dispatches dnssec-status, dnssec-rollover (request "kind") and dnssec-ds-seen.
  nlohmann::json control(const std::string& verb, const std::string& origin,
                         const nlohmann::json& request, int64_t now);
  // The zone's keys, what each does, the next step and when.
  nlohmann::json status(const std::string& origin, int64_t now) const;
  // Starts a KSK (or CSK) / ZSK rollover now (kind "ksk" or "zsk"); the next tick takes it.
  nlohmann::json rollover(const std::string& origin, const std::string& kind, int64_t now);
  // The parent serves the DS of the incoming KSK (the operator checked, or zonectl did).
  nlohmann::json ds_seen(const std::string& origin, int64_t now);

 private:
  struct ZoneState {
    std::string name;
    PolicyConfig policy;
    std::string key_dir;
    unsigned ixfr_history = 100;
    bool notify = false;
    std::vector<zone::dnssec::Key> keys;
    bool keys_loaded = false;
    uint32_t next_refresh = 0;  // unix time; 0: none pending
    // A refresh signed by sign_change: the serial it makes and the next refresh after it.
    std::optional<std::pair<uint32_t, uint32_t>> refresh_pending;
    bool refreshing = false;
    uint32_t max_ttl = 0;     // the zone's largest TTL, from the last signing (0: not yet)
    int64_t signed_at = 0;    // the `now` of the last signing
    bool whole_pass_due = false;  // the keys changed (made, timed, dropped): sign everything
    zone::dnssec::Force force = zone::dnssec::Force::none;
    std::string waiting;      // what the rollover waits for
    int64_t next_event = 0;   // when a key changes role next
    // The parent zone when it is a primary zone served here: the DS is kept there.
    std::string parent, parent_name;
    unsigned parent_history = 100;
    bool parent_notify = false;
    std::optional<std::set<std::string>> ds_synced;  // the DS RDATAs last brought to the parent
    bool ds_syncing = false;
    std::vector<std::string> parental_agents;  // a parent elsewhere: asked for the DS
    bool agents_asking = false;
    int64_t agents_next = 0;
    std::string agents_result;  // the last answer, for status
    bool ds_no_delegation_said = false;
    int64_t ds_recheck_at = 0;
    int64_t ds_retry_at = 0;
  };
  std::vector<zone::dnssec::Key> load_or_make_keys(ZoneState& z);
  zone::dnssec::RolloverPolicy rollover_policy(const ZoneState& z) const;
  // Runs the rollover state machine; saves the keys when they changed (and logs what
  // happened). True when they changed.
  bool advance_keys(ZoneState& z, int64_t now);
  zone::ZoneChange resign_change(const std::string& origin, ZoneState& z, const char* source);
  void sync_parent_ds(zone::Committer& committer, const std::string& origin, ZoneState& z,
                      int64_t now);
  // A parent elsewhere with parental-agents: asks them for the DS while a KSK's DS waits to
  // be seen there (or, going insecure, to be seen gone).
  void ask_parental_agents(const std::string& origin, ZoneState& z, int64_t now);

  AgentQuery agent_query_;

  mutable std::mutex mu_;
  std::map<std::string, ZoneState> zones_;  // by origin
};

}  // namespace server
