#include "server/control_verbs.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <filesystem>
#include <fstream>

#include "zone/delegation.h"
#include "zone/serial_policy.h"
#include "zone/utc.h"
#include "zone/wire/name.h"
#include "zone/wire/types.h"

namespace server {

using nlohmann::json;
using namespace zone::wire;

namespace {

std::string iso_time(int64_t t) { return zone::utc_text(t); }

json error(const std::string& what) { return {{"ok", false}, {"error", what}}; }

std::shared_ptr<spdlog::logger> ctl_log() {
  auto l = spdlog::get("ctl");
  return l ? l : spdlog::default_logger();
}

json peer_json(const ReplicationView::Peer& p, bool downstream) {
  json j = {{"remote", p.remote}, {"address", p.address}, {"answered", p.answered},
            {"checked_at", iso_time(p.checked_at)}};
  if (p.checked_at == 0) j["error"] = "not asked yet";
  else if (p.answered) j["serial"] = p.serial;
  else j["error"] = p.error;
  if (downstream) {
    j["behind"] = p.behind;
    if (p.behind_since) j["behind_since"] = iso_time(p.behind_since);
    j["notify_failures"] = p.notify_failures;
    if (!p.last_notify.empty()) j["last_notify"] = p.last_notify;
  }
  return j;
}

}  // namespace

json reload_json(const LoadSummary& s) {
  json zones = json::array();
  for (const auto& r : s.zones) {
    const char* result = r.result == ZoneReport::Result::loaded    ? "loaded"
                         : r.result == ZoneReport::Result::failed  ? "failed"
                         : r.result == ZoneReport::Result::removed ? "removed"
                                                                   : "unchanged";
    json z = {{"name", r.name}, {"result", result}, {"serving", r.serving},
              {"errors", r.errors}, {"warnings", r.warnings}};
    if (r.serving) z["serial"] = r.serial;
    if (!r.serving_from.empty()) z["serving_from"] = r.serving_from;
    if (r.merged) z["merged_records"] = r.merged;
    zones.push_back(z);
  }
  json out = {{"ok", s.failed == 0 && s.config_error.empty()},
              {"loaded", s.loaded},
              {"unchanged", s.unchanged},
              {"failed", s.failed},
              {"removed", s.removed},
              {"zones", zones}};
  if (!s.config_error.empty()) out["error"] = "configuration not reloaded: " + s.config_error;
  else if (s.failed) out["error"] = std::to_string(s.failed) + " zone(s) failed to load";
  return out;
}

std::string reload_summary(const LoadSummary& s) {
  std::string line = "loaded " + std::to_string(s.loaded) + ", unchanged " +
                     std::to_string(s.unchanged) + ", failed " + std::to_string(s.failed);
  if (s.removed) line += ", removed " + std::to_string(s.removed);
  std::string failed;
  size_t n = 0;
  for (const auto& r : s.zones)
    if (r.result == ZoneReport::Result::failed && n++ < 5) failed += (failed.empty() ? "" : ", ") + r.name;
  if (!failed.empty()) line += " (" + failed + (s.failed > 5 ? ", ..." : "") + ")";
  return line;
}

json ControlVerbs::handle(const json& req) {
  std::string verb = req.at("verb").get<std::string>();
  std::string zone_arg = req.value("zone", "");
  ctl_log()->debug("control: {}", req.dump());
  if (verb == "status") return status();
  if (verb == "reload") return reload(zone_arg);
  if (verb == "notify" || verb == "refresh" || verb == "retransfer" || verb == "delegations") {
    const ZoneConfig* zc = zones_.find_zone(zone_arg);
    if (!zc) return error("no zone '" + zone_arg + "' is configured here");
    if (verb == "delegations") return delegations(*zc);
    if (verb == "notify") {
      auto z = table_.current()->get(zc->origin);
      if (!z) return error("zone " + zc->name + " is not loaded");
      if (zc->notify.empty()) return error("zone " + zc->name + " has no notify remotes");
      hooks_.send_notify(zc->origin);
      ctl_log()->info("control: NOTIFY for zone {} serial {} to {} remote(s)", zc->name,
                      z->serial(), zc->notify.size());
      return {{"ok", true}, {"message", "NOTIFY for serial " + std::to_string(z->serial()) +
                                            " sent to " + std::to_string(zc->notify.size()) +
                                            " remote(s)"}};
    }
    if (!zc->secondary()) return error("zone " + zc->name + " is a primary zone: use reload");
    hooks_.refresh(zc->origin, verb == "retransfer");
    ctl_log()->info("control: {} of zone {} scheduled", verb, zc->name);
    return {{"ok", true},
            {"message", verb == "retransfer" ? "full transfer (AXFR) scheduled"
                                             : "refresh scheduled"}};
  }
  if (verb == "delegate" || verb == "undelegate") return delegate(req, verb == "undelegate");
  if (verb == "zone-add") return zone_add(req);
  if (verb == "zone-remove") return zone_remove(req);
  if (verb == "dnssec-status" || verb == "dnssec-rollover" || verb == "dnssec-ds-seen") {
    const ZoneConfig* zc = zones_.find_zone(zone_arg);
    if (!zc) return error("no zone '" + zone_arg + "' is configured here");
    if (!hooks_.dnssec) return error("DNSSEC signing is not available");
    json r = hooks_.dnssec(verb, zc->origin, req);
    if (verb != "dnssec-status")
      ctl_log()->info("control: {} of zone {}: {}", verb, zc->name,
                      r.value("ok", false) ? r.value("message", "") : r.value("error", ""));
    return r;
  }
  if (verb == "host") return host(req);
  if (verb == "unhost") return unhost(req);
  return error("unknown verb '" + verb + "'");
}

json ControlVerbs::reload(const std::string& zone_arg) {
  std::string origin;
  if (!zone_arg.empty()) {
    const ZoneConfig* zc = zones_.find_zone(zone_arg);
    if (!zc) return error("no zone '" + zone_arg + "' is configured here");
    if (zc->secondary()) return error("zone " + zc->name + " is a secondary: use refresh");
    origin = zc->origin;
  }
  return reload_json(hooks_.reload(origin));
}

json ControlVerbs::delegations(const ZoneConfig& zc) {
  auto table = table_.current();
  const zone::Zone* z = table->find_exact(zc.origin);
  if (!z) return error("zone " + zc.name + " is not loaded");
  json list = json::array();
  for (const auto& d : zone::list_delegations(*z)) {
    json e = {{"child", name_to_text(d.child)}, {"ttl", d.ttl},
              {"ns", json::array()}, {"glue", json::array()}, {"ds", json::array()}};
    for (const auto& n : d.ns) e["ns"].push_back(name_to_text(n));
    for (const auto& g : d.glue) e["glue"].push_back(zone::record_text(g));
    for (const auto& ds : d.ds) e["ds"].push_back(zone::record_text({d.child, rrtype::DS, d.ttl, ds}));
    list.push_back(e);
  }
  return {{"ok", true}, {"zone", zc.name}, {"delegations", list}};
}

namespace {
constexpr int64_t kBehindIsAProblemAfter = 10;  // seconds
}  // namespace

json ControlVerbs::status() {
  auto table = table_.current();
  auto repl = hooks_.replication_status();
  std::map<std::string, const ReplicationView*> by_origin;
  for (const auto& r : repl) by_origin[r.origin] = &r;
  json zones = json::array();
  size_t problems_total = 0;
  for (const auto& zc : zones_.config().zones) {
    const zone::Zone* z = table->find_exact(zc.origin);
    const ReplicationView* rv = by_origin.count(zc.origin) ? by_origin[zc.origin] : nullptr;
    json e = {{"name", zc.name}, {"role", zc.secondary() ? "secondary" : "primary"},
              {"loaded", z != nullptr}, {"expired", z && z->expired()}};
    if (z) e["serial"] = z->serial();
    if (zc.runtime) e["added_at_runtime"] = true;
    if (!zc.cat().catalog.empty()) e["catalog"] = zc.cat().catalog;
    if (!zc.cat().catalog_member.empty()) e["catalog_member"] = zc.cat().catalog_member;
    if (!zc.cat().member_of.empty()) e["member_of"] = name_display(zc.cat().member_of);
    std::vector<std::string> problems;
    if (!z) problems.push_back("nothing served: queries get SERVFAIL");
    if (z && z->expired()) problems.push_back("expired: no primary reachable within the SOA expire time");
    if (!zc.secondary()) {
      e["file"] = zc.file;
      if (auto st = zones_.primary_status(zc.origin)) {
        e["last_load"] = iso_time(st->last_load);
        e["last_result"] = st->last_result;
        e["serving_from"] = st->serving_from;
        e["pending_sync"] = st->pending_sync;
        if (!st->last_load_ok) problems.push_back("last load " + st->last_result);  // "failed: ..."
        if (!st->sync_error.empty()) {
          e["sync_error"] = st->sync_error;
          problems.push_back("zone file not updated: " + st->sync_error);
        }
      }
    } else if (rv) {
      e["last_refresh"] = iso_time(rv->last_refresh);
      e["next_refresh"] = iso_time(rv->next_refresh);
      e["expire_at"] = iso_time(rv->expire_at);
      e["last_attempt"] = iso_time(rv->last_attempt);
      e["last_result"] = rv->last_result;
      if (!rv->last_ok) problems.push_back("last refresh " + rv->last_result);
      json prim = json::array();
      for (const auto& p : rv->primaries) prim.push_back(peer_json(p, false));
      e["primaries"] = prim;
    }
    if (rv && !rv->downstream.empty()) {
      json down = json::array();
      for (const auto& p : rv->downstream) {
        down.push_back(peer_json(p, true));
        if (!p.checked_at) continue;  // asked a second after the NOTIFY: not yet
        if (!p.answered)
          problems.push_back("secondary " + p.remote + " (" + p.address + ") does not answer: " + p.error);
        // Behind for a moment after a change is a transfer under way (zoned looks again
        // within seconds): a problem once it lasts.
        else if (p.behind && std::time(nullptr) - p.behind_since >= kBehindIsAProblemAfter)
          problems.push_back("secondary " + p.remote + " (" + p.address + ") is " +
                             std::to_string(p.behind) + " serial(s) behind since " +
                             iso_time(p.behind_since));
      }
      e["notify"] = down;
    }
    e["state"] = problems.empty() ? "ok" : "PROBLEM";
    e["problems"] = problems;
    problems_total += problems.size();
    zones.push_back(e);
  }
  json out = {{"ok", true}, {"zones", zones}};
  if (!zones_.config_error().empty()) {
    out["config_error"] = "configuration not reloaded (zoned runs with the previous one): " +
                          zones_.config_error();
    ++problems_total;
  }
  out["problems"] = problems_total;
  return out;
}

// delegate/undelegate: planned against the version current at commit time, in one commit.
json ControlVerbs::delegate(const json& req, bool remove) {
  std::string child_text = req.value("child", "");
  if (child_text.empty()) return error("missing child name");
  if (child_text.back() != '.') child_text += '.';
  auto child_wire = name_from_text(child_text);
  if (!child_wire) return error("'" + child_text + "' is not a valid domain name");
  std::string child = lowered(*child_wire);
  // The deepest primary zone strictly above the child.
  const ZoneConfig* pc = nullptr;
  for (const auto& zc : zones_.config().zones) {
    if (!zc.from_file() || zc.origin == child || !is_subdomain(child, zc.origin)) continue;
    if (!pc || zc.origin.size() > pc->origin.size()) pc = &zc;
  }
  if (!pc) return error(child_text + " is not inside any zone this server is primary for");
  std::vector<std::string> errors;
  zone::DelegationSpec spec;
  if (!remove) {
    spec.child = child;
    spec.ttl = req.value("ttl", 3600u);
    auto table = table_.current();
    for (const auto& ns : req.value("ns", json::array())) {
      std::string n = ns.value("name", "");
      if (!n.empty() && n.back() != '.') n += '.';
      auto w = name_from_text(n);
      if (!w) {
        errors.push_back("'" + n + "' is not a valid NS name");
        continue;
      }
      zone::NsSpec s{lowered(*w), ns.value("addresses", std::vector<std::string>{})};
      // An NS target that is a CNAME in a zone served here (RFC 2181 10.3).
      if (const zone::Zone* tz = table->find(s.name)) {
        if (const zone::Node* node = tz->find(s.name); node && node->has_cname)
          errors.push_back("NS " + n + " is a CNAME in zone " + name_to_text(tz->origin()) +
                           " (RFC 2181 10.3)");
      }
      spec.ns.push_back(std::move(s));
    }
    for (const auto& ds : req.value("ds", std::vector<std::string>{})) {
      std::string rd;
      if (!zone::ds_from_text(child_text, ds, rd))
        errors.push_back("DS '" + ds + "' is not 'KEYTAG ALGORITHM DIGESTTYPE DIGEST'");
      else
        spec.ds.push_back(rd);
    }
  }
  if (!errors.empty()) return {{"ok", false}, {"error", "change refused"}, {"problems", errors}};
  const std::string policy = pc->serial_policy;
  std::vector<std::string> plan_errors;
  zone::Planner planner = [&, remove, child, spec, policy](const zone::Zone& cur) {
    zone::PlanOutcome out;
    uint32_t serial = zone::next_serial(policy == "unixtime" ? policy : "increment", cur.serial());
    std::vector<std::string> errs;
    out.changes = remove ? zone::plan_undelegation(cur, child, serial, errs)
                         : zone::plan_delegation(cur, spec, serial, errs);
    if (!out.changes) {
      plan_errors = errs;
      out.error = "change refused";
    } else if (out.changes->empty()) {
      out.changes->soa_to = out.changes->soa_from;  // the same delegation: no new serial
    }
    return out;
  };
  bool dry_run = req.value("dry_run", false);
  const char* what = remove ? "undelegate" : "delegate";
  auto res = zones_.edit(pc->origin, std::string("zonectl ") + what + " " + child_text, planner, dry_run);
  const zone::CommitResult& c = res.commit;
  if (!c.ok) {
    json out = {{"ok", false}, {"error", c.error.empty() ? "change refused" : c.error}};
    if (!plan_errors.empty()) out["problems"] = plan_errors;
    if (!dry_run)
      ctl_log()->info("control: {} {} refused: {}", what, child_text,
                      plan_errors.empty() ? c.error : plan_errors.front());
    return out;
  }
  json out = {{"ok", true}, {"zone", pc->name}, {"dry_run", dry_run}};
  if (!c.changed) {
    out["serial"] = c.zone ? c.zone->serial() : 0;
    out["diff"] = "";
    out["message"] = "nothing to change: zone " + pc->name + " stays at serial " +
                     std::to_string(c.zone ? c.zone->serial() : 0);
    return out;
  }
  out["serial"] = c.zone->serial();
  out["diff"] = c.applied ? zone::changeset_text(*c.applied) : "";
  if (!res.file_note.empty()) out["file"] = res.file_note;
  return out;
}

json ControlVerbs::zone_add(const json& req) {
  ZoneConfig z;
  z.name = req.value("name", "");
  if (!z.name.empty() && z.name.back() == '.') z.name.pop_back();
  auto wire = name_from_text(z.name + ".");
  if (z.name.empty() || !wire) return error("'" + z.name + "' is not a valid zone name");
  z.origin = lowered(*wire);
  z.file = req.value("file", "");
  if (z.file.empty()) return error("zone-add needs --file");
  if (!std::filesystem::path(z.file).is_absolute())
    return error("the zone file must be given as an absolute path (zonectl does that)");
  z.notify = req.value("notify", std::vector<std::string>{});
  z.allow_transfer = req.value("allow_transfer", std::vector<std::string>{});
  z.allow_update = req.value("allow_update", std::vector<std::string>{});
  z.serial_policy = req.value("serial_policy", std::string("keep"));
  std::string member = req.value("catalog", std::string());
  if (!member.empty() && member.back() == '.') member.pop_back();
  std::string group = req.value("catalog_group", std::string());
  if (!group.empty() && member.empty()) return error("--group needs --catalog");
  if (!member.empty()) {
    z.cat_edit().catalog_member = member;
    z.cat_edit().catalog_group = group;
  }
  z.dnssec_policy = req.value("dnssec_policy", std::string());
  auto res = zones_.add_zone(z);
  if (!res.commit.ok) {
    ctl_log()->info("control: zone-add {} refused: {}", z.name, res.commit.error);
    return error(res.commit.error);
  }
  ctl_log()->info("control: zone {} added (file {}, serial {})", z.name, z.file,
                  res.commit.zone->serial());
  return {{"ok", true},
          {"zone", z.name},
          {"serial", res.commit.zone->serial()},
          {"message", "zone " + z.name + " added, serial " +
                          std::to_string(res.commit.zone->serial()) +
                          " (kept in the database: it survives restarts)"}};
}

json ControlVerbs::zone_remove(const json& req) {
  std::string name = req.value("name", "");
  const ZoneConfig* zc = zones_.find_zone(name);
  if (!zc) return error("no zone '" + name + "' is configured here");
  std::string zname = zc->name;
  auto res = zones_.remove_zone(zc->origin);
  if (!res.commit.ok) {
    ctl_log()->info("control: zone-remove {} refused: {}", zname, res.commit.error);
    return error(res.commit.error);
  }
  ctl_log()->info("control: zone {} removed", zname);
  return {{"ok", true}, {"message", "zone " + zname + " removed; its data is purged from the database"}};
}

json ControlVerbs::host(const json& req) {
  std::string child_text = req.value("child", "");
  if (!child_text.empty() && child_text.back() == '.') child_text.pop_back();
  auto child_wire = name_from_text(child_text + ".");
  if (child_text.empty() || !child_wire) return error("'" + child_text + "' is not a valid zone name");
  const std::string child = lowered(*child_wire);
  if (zones_.zone(child)) return error("zone " + child_text + " is already served here");
  const ZoneConfig* pc = nullptr;
  for (const auto& zc : zones_.config().zones) {
    if (!zc.from_file() || !is_subdomain(child, zc.origin) || zc.origin == child) continue;
    if (!pc || zc.origin.size() > pc->origin.size()) pc = &zc;
  }
  if (!pc) return error("the parent of " + child_text + " is not a primary zone served here");
  std::string catalog = req.value("catalog", std::string());
  if (catalog.empty()) catalog = pc->cat().catalog_member;
  if (catalog.empty()) {
    std::vector<std::string> produced;
    for (const auto& zc : zones_.config().zones)
      if (zc.cat().catalog == "produce") produced.push_back(zc.name);
    if (produced.size() == 1) catalog = produced.front();
  }
  if (!catalog.empty() && catalog.back() == '.') catalog.pop_back();
  auto ns = req.value("ns", json::array());
  if (ns.empty()) return error("host needs at least one --ns");
  // SOA and NS from the arguments: the first NS is the primary master name; glue for the
  // NS names inside the child.
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char date[16];
  std::strftime(date, sizeof date, "%Y%m%d", &tm);
  const uint32_t serial = static_cast<uint32_t>(std::stoul(std::string(date) + "01"));
  std::string first_ns = ns[0].value("name", "");
  if (!first_ns.empty() && first_ns.back() != '.') first_ns += '.';
  std::string text = "$ORIGIN " + child_text + ".\n$TTL 3600\n";
  text += "@ IN SOA " + first_ns + " hostmaster." + child_text + ". " + std::to_string(serial) +
          " 3600 600 1209600 300\n";
  std::string glue;
  for (const auto& n : ns) {
    std::string name = n.value("name", "");
    if (!name.empty() && name.back() != '.') name += '.';
    auto w = name_from_text(name);
    if (!w) return error("NS '" + name + "' is not a valid name");
    text += "@ IN NS " + name + "\n";
    if (!is_subdomain(lowered(*w), child)) continue;
    auto addrs = n.value("addresses", std::vector<std::string>{});
    if (addrs.empty())
      return error("NS " + name + " is inside " + child_text + ": give its address (" + name +
                   "=ADDR)");
    for (const auto& a : addrs)
      glue += name + " IN " + (a.find(':') != std::string::npos ? "AAAA " : "A ") + a + "\n";
  }
  text += glue;
  namespace fs = std::filesystem;
  const std::string file =
      (fs::path(pc->file).parent_path() / (child_text + ".zone")).lexically_normal().string();
  json out = {{"ok", true}, {"zone", child_text}, {"parent", pc->name}, {"file", file},
              {"serial", serial}, {"text", text}, {"catalog", catalog}};
  std::error_code ec;
  if (fs::exists(file, ec)) return error("the zone file " + file + " exists already: not overwritten");
  if (req.value("dry_run", false)) return out;
  {
    std::string tmp = file + ".tmp";
    std::ofstream f(tmp);
    f << text;
    f.close();
    if (!f || ::rename(tmp.c_str(), file.c_str()) != 0) {
      fs::remove(tmp, ec);
      return error("cannot write the zone file " + file);
    }
  }
  ZoneConfig z;
  z.name = child_text;
  z.origin = child;
  z.file = file;
  z.notify = pc->notify;
  z.allow_transfer = pc->allow_transfer;
  z.cat_edit().catalog_member = catalog;
  // A signed child (--dnssec-policy): zonectl puts its DS in the delegation.
  z.dnssec_policy = req.value("dnssec_policy", std::string());
  auto res = zones_.add_zone(z);
  if (res.commit.ok && res.commit.zone) {
    out["serial"] = res.commit.zone->serial();  // the signed version's, when signed
    out["signed"] = !z.dnssec_policy.empty();
  }
  if (!res.commit.ok) {
    fs::remove(file, ec);
    ctl_log()->info("control: host {} refused: {}", child_text, res.commit.error);
    return error(res.commit.error);
  }
  ctl_log()->info("control: zone {} hosted here (file {}, serial {}{})", child_text, file, serial,
                  catalog.empty() ? std::string() : ", catalog " + catalog);
  return out;
}

json ControlVerbs::unhost(const json& req) {
  std::string name = req.value("child", "");
  const ZoneConfig* zc = zones_.find_zone(name);
  if (!zc) return error("no zone '" + name + "' is served here");
  std::string zname = zc->name, file = zc->file;
  auto res = zones_.remove_zone(zc->origin);
  if (!res.commit.ok) return error(res.commit.error);
  std::string note = "zone file " + file + " kept";
  if (req.value("delete_file", false)) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    note = "zone file " + file + " deleted";
  }
  ctl_log()->info("control: zone {} no longer hosted here ({})", zname, note);
  return {{"ok", true}, {"message", "zone " + zname + " removed (and from its catalog); " + note}};
}

}  // namespace server
