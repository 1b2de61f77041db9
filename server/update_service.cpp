#include "server/update_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "zone/serial_policy.h"
#include "zone/update.h"
#include "zone/wire/message.h"
#include "zone/wire/render.h"
#include "zone/wire/types.h"

namespace server {

using namespace zone::wire;

namespace {

std::shared_ptr<spdlog::logger> update_log() {
  auto l = spdlog::get("zone");
  return l ? l : spdlog::default_logger();
}

std::vector<uint8_t> response(const zone::UpdateRequest& u, uint16_t rc) {
  std::vector<uint8_t> out(512 + u.zone_name.size());
  Renderer r(out.data(), out.size());
  if (!zone::render_update_response(r, u, rc)) return {};
  out.resize(r.size());
  return out;
}

std::string zone_text(const zone::UpdateRequest& u) {
  std::string n = u.zone.empty() ? std::string("?") : name_to_text(u.zone);
  if (n.size() > 1 && n.back() == '.') n.pop_back();
  return n;
}

}  // namespace

void UpdateService::handle(std::shared_ptr<const DeferredRequest> req, Completion done) {
  auto u = std::make_shared<zone::UpdateRequest>();
  zone::UpdateStatus st = zone::parse_update(req->message.data(), req->message.size(), *u);
  const std::string who = req->peer.str();
  const std::string key = req->tsig.status == TsigCheck::ok && req->tsig.key ? req->tsig.key->name
                                                                            : std::string();
  const std::string key_text = key.empty() ? std::string("unsigned") : "key " + name_to_text(key);
  auto refuse = [&](uint16_t rc, const std::string& why) {
    update_log()->info("zone {}: UPDATE from {} ({}) refused, {}: {}", zone_text(*u), who,
                       key_text, rcode_text(rc), why);
    done(response(*u, rc));
  };
  if (!st.ok()) return refuse(st.rcode, st.message);
  auto policy = policy_.current();
  auto it = policy->update.find(u->zone);
  if (it == policy->update.end()) {
    if (policy->allow_notify.count(u->zone))  // every secondary zone has an allow-notify
      return refuse(rcode::NOTAUTH, "a secondary zone here: send UPDATE to its primary");
    if (policy->allow_transfer.count(u->zone))  // every configured zone has one
      return refuse(rcode::REFUSED, "no allow-update for this zone");
    return refuse(rcode::NOTAUTH, "not a zone of this server");
  }
  const UpdateRights& rights = it->second;
  // RFC 3007: signed with one of the zone's keys, or refused.
  if (key.empty()) return refuse(rcode::REFUSED, "UPDATE must be signed (TSIG) with an allowed key");
  if (std::find(rights.keys.begin(), rights.keys.end(), key) == rights.keys.end())
    return refuse(rcode::REFUSED, "key " + name_to_text(key) + " is not in allow-update");

  // Without update-policy rules, an allowed key may change anything in the zone.
  auto rules = std::make_shared<zone::UpdatePolicy>(rights.rules);
  if (rights.rules.rules().empty()) {
    zone::UpdateRule all;
    all.key = key;
    all.match = zone::UpdateRule::Match::zonesub;
    rules->add_rule(all);
  }
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::plan;
  c.origin = u->zone;
  c.name = rights.name;
  c.source = "UPDATE from " + who + " (" + key_text + ")";
  c.keep_history = rights.keep_history;
  c.notify = rights.notify;
  c.sync_to_file = true;
  const std::string serial_policy =
      rights.serial_policy == "unixtime" ? "unixtime" : std::string("increment");
  c.planner = [u, rules, key, serial_policy](const zone::Zone& cur) {
    zone::PlanOutcome out;
    zone::UpdatePlan plan = zone::process_update(
        cur, *u, *rules, key, zone::next_serial(serial_policy, cur.serial()));
    out.message = plan.status.message;
    if (!plan.status.ok()) {
      out.error = plan.status.message;
      out.rcode = plan.status.rcode;
      return out;
    }
    out.changes = plan.changes;
    if (!plan.changed()) out.changes->soa_to = out.changes->soa_from;
    return out;
  };
  std::vector<zone::ZoneChange> v;
  v.push_back(std::move(c));
  committer_.commit(std::move(v), [u, done, who, key_text](std::vector<zone::CommitResult> rs) {
    const zone::CommitResult& r = rs.front();
    uint16_t rc = r.ok ? rcode::NOERROR : (r.rcode ? r.rcode : rcode::SERVFAIL);
    if (!r.ok && !r.rcode) {
      // Validation (the zone's load checks) or the store: the zone is as it was.
      rc = r.store_fault ? rcode::SERVFAIL : rcode::REFUSED;
    }
    if (r.ok && !r.changed)
      update_log()->info("zone {}: UPDATE from {} ({}): nothing to change{}", zone_text(*u), who,
                         key_text, r.message.rfind("nothing to change", 0) == 0
                                       ? r.message.substr(17)  // "; A at ... ignored"
                                       : r.message.empty() ? "" : " (" + r.message + ")");
    // What was ignored or is worth a warning (data below a delegation) beside the commit line.
    if (r.ok && r.changed && r.message.find("; ") != std::string::npos) {
      bool warn = r.message.find("; warning: ") != std::string::npos;
      update_log()->log(warn ? spdlog::level::warn : spdlog::level::info,
                        "zone {}: UPDATE from {} ({}): {}", zone_text(*u), who, key_text,
                        r.message);
    }
    done(response(*u, rc));
  });
}

}  // namespace server
