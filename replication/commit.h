// The one commit (zone/commit.h): validate -> persist (one SQLite transaction) -> publish
// (that zone only) -> IXFR history -> NOTIFY. Runs on the replication thread, which owns the
// store's connection; commits are serialized there, so a planner always sees the version
// its changes will apply to.
#pragma once
#include <utility>  // before Asio

#include <boost/asio.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "replication/notifier.h"
#include "replication/store.h"
#include "zone/commit.h"
#include "zone/history.h"
#include "zone/zone_registry.h"

namespace replication {

class ZoneCommitter : public zone::Committer {
 public:
  // `notify_targets` gives the downstream servers of a zone (from the configuration).
  ZoneCommitter(boost::asio::io_context& io, StoreHandle& store, zone::ZoneRegistry& registry,
                zone::History& history, Notifier& notifier,
                std::function<std::vector<Remote>(const std::string& origin)> notify_targets);

  void commit(std::vector<zone::ZoneChange> changes,
              std::function<void(std::vector<zone::CommitResult>)> done) override;
  // The same, on the replication thread itself (transfers in).
  std::vector<zone::CommitResult> commit_here(std::vector<zone::ZoneChange> changes);

  // Told after every commit that changed something (on the replication thread).
  using Observer = std::function<void(const zone::ZoneChange&, const zone::CommitResult&)>;
  void observe(Observer o) { observers_.push_back(std::move(o)); }

  // A stored version served again (a restart): its stored IXFR history too, if the chain
  // ends at that serial.
  void restore_history(const std::string& origin, const std::string& name, size_t keep,
                       uint32_t serial);

  // The sign step (zones with a dnssec-policy); set once before the first commit.
  void set_signer(zone::ZoneSigner* signer) { signer_ = signer; }

  // For a zone signed here, the hash of its unsigned content (what its zone file is
  // compared with); 0 otherwise or if unknown: the served version's own content_hash() is
  // its content's (any thread).
  uint64_t served_hash(const std::string& origin) const;

 private:
  struct Step;
  void validate(Step& s, const zone::ZoneTable& table);
  void signed_replace(Step& s);
  // Writes the steps' versions to the store. The commit's own pass leaves the zones that are
  // durable in their files for a pass of their own (`deferred`) once they are served.
  void persist(std::vector<Step>& steps, bool deferred);
  boost::asio::io_context& io_;
  StoreHandle& store_;
  zone::ZoneRegistry& registry_;
  zone::History& history_;
  Notifier& notifier_;
  std::function<std::vector<Remote>(const std::string&)> notify_targets_;
  std::vector<Observer> observers_;
  zone::ZoneSigner* signer_ = nullptr;
  mutable std::mutex hashes_mu_;
  // The unsigned content's hash of each zone signed here (a zone's own content_hash() is
  // its signed version's); other zones are asked for theirs.
  std::map<std::string, uint64_t> hashes_;
};

}  // namespace replication
