// The control verbs zonectl sends over the control socket (one JSON object per request):
// status, reload, notify, refresh, retransfer, delegations, delegate, undelegate, zone-add,
// zone-remove, host, unhost, dnssec-status/-rollover/-ds-seen. Runs on the main thread. Changes go through the zone service (the one
// commit); state comes from the zone service and from what the replication side keeps —
// nothing here asks the network.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "server/zone_service.h"
#include "zone/zone_table.h"

namespace server {

// What the replication side knows of a zone (a copy made for one status request).
struct ReplicationView {
  struct Peer {
    std::string remote, address;
    bool answered = false;
    uint32_t serial = 0;
    int64_t checked_at = 0;
    std::string error;
    uint32_t behind = 0;
    int64_t behind_since = 0;
    uint64_t notify_failures = 0;
    std::string last_notify;
  };
  std::string origin;
  bool secondary = false;
  bool loaded = false;
  uint32_t serial = 0;
  bool expired = false;
  int64_t last_refresh = 0, next_refresh = 0, expire_at = 0, last_attempt = 0;
  bool last_ok = true;
  std::string last_result;
  std::vector<Peer> primaries, downstream;
};

struct ControlHooks {
  std::function<std::vector<ReplicationView>()> replication_status;
  std::function<void(const std::string& origin)> send_notify;
  std::function<void(const std::string& origin, bool axfr)> refresh;
  // A reload as the daemon does it (systemd RELOADING/READY around it, log level, ...).
  std::function<LoadSummary(const std::string& only_origin)> reload;
  // dnssec-status, dnssec-rollover, dnssec-ds-seen of a signed zone (server/signing.h).
  std::function<nlohmann::json(const std::string& verb, const std::string& origin,
                               const nlohmann::json& request)> dnssec;
};

class ControlVerbs {
 public:
  ControlVerbs(ZoneService& zones, const zone::ZoneTablePublisher& table, ControlHooks hooks)
      : zones_(zones), table_(table), hooks_(std::move(hooks)) {}
  nlohmann::json handle(const nlohmann::json& request);

 private:
  nlohmann::json status();
  nlohmann::json reload(const std::string& zone_arg);
  nlohmann::json delegations(const ZoneConfig& zc);
  nlohmann::json delegate(const nlohmann::json& req, bool remove);
  nlohmann::json zone_add(const nlohmann::json& req);
  nlohmann::json zone_remove(const nlohmann::json& req);
  // zonectl host: the child zone made here (file next to the parent's, catalog member);
  // zonectl waits for its servers and then delegates. unhost: the zone removed again.
  nlohmann::json host(const nlohmann::json& req);
  nlohmann::json unhost(const nlohmann::json& req);

  ZoneService& zones_;
  const zone::ZoneTablePublisher& table_;
  ControlHooks hooks_;
};

// The JSON of a reload's outcome (control reply) and its one-line log summary.
nlohmann::json reload_json(const LoadSummary& s);
std::string reload_summary(const LoadSummary& s);

}  // namespace server
