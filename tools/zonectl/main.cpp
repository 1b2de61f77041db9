// zonectl: the operator's tool. Talks to a running zoned over its control socket (status,
// reload, notify, refresh, retransfer, delegations, delegate, undelegate) and checks zones
// and delegations by itself (check-zone, check-delegation, the delegate preflight).
// Exit: 0 ok, 1 problems found, 2 usage or connection error.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "server/config.h"
#include "tools/zonectl/checks.h"
#include "tools/zonectl/dns_client.h"
#include "tools/zonectl/dnssec.h"
#include "zone/dnssec_keys.h"
#include "zone/wire/serial.h"
#include "zone/loader.h"
#include "zone/wire/name.h"
#include "zone/wire/rdata.h"
#include "zone/delegation.h"

using nlohmann::json;

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string name_wire(const std::string& text, const char* what) {
  std::string t = text;
  if (t.empty()) throw UsageError(std::string("missing ") + what);
  if (t.back() != '.') t += '.';
  auto w = zone::wire::name_from_text(t);
  if (!w) throw UsageError("'" + text + "' is not a valid " + what);
  return zone::wire::lowered(*w);
}

json call(const std::string& socket_path, const json& req) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof a.sun_path) throw UsageError("socket path too long: " + socket_path);
  std::strcpy(a.sun_path, socket_path.c_str());
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::string e = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw UsageError("cannot connect to zoned at " + socket_path + ": " + e +
                     " (is zoned running with server.control set?)");
  }
  std::string line = req.dump() + "\n";
  ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
    if (reply.back() == '\n') break;
  }
  ::close(fd);
  if (reply.empty()) throw UsageError("zoned closed the control connection without a reply");
  return json::parse(reply);
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

std::string str(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

int report_reply(const json& r, bool as_json) {
  if (as_json) {
    std::cout << r.dump(2) << "\n";
  } else if (!r.value("ok", false)) {
    std::cerr << "error: " << r.value("error", std::string("failed")) << "\n";
    for (const auto& p : r.value("problems", json::array())) std::cerr << "  - " << p.get<std::string>() << "\n";
  } else if (r.contains("message")) {
    std::cout << r["message"].get<std::string>() << "\n";
  }
  return r.value("ok", false) ? 0 : 1;
}

void print_dnssec_status(const json& r) {
  std::cout << "zone " << str(r, "zone") << ", policy " << str(r, "policy");
  if (!str(r, "parent").empty()) std::cout << ", parent " << str(r, "parent") << " (served here: its DS is kept by zoned)";
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows{{"ROLE", "TAG", "ALGORITHM", "STATE"}};
  for (const auto& k : r["keys"])
    rows.push_back({str(k, "role"), str(k, "tag"), str(k, "algorithm"), str(k, "state")});
  print_table(rows);
  std::string waiting = str(r, "waiting");
  std::cout << "next step: " << (waiting.empty() ? "none pending" : "waiting for " + waiting);
  if (!str(r, "next_event").empty()) std::cout << "; next key change " << str(r, "next_event");
  std::cout << "\n";
  if (!str(r, "next_refresh").empty()) std::cout << "next signature refresh: " << str(r, "next_refresh") << "\n";
  if (r.contains("parental_agents") && !r["parental_agents"].empty())
    std::cout << "parental agents: "
              << (str(r, "parental_agents_said").empty() ? "not asked yet" : str(r, "parental_agents_said")) << "\n";
}

void print_status(const json& r) {
  std::vector<std::vector<std::string>> rows{
      {"ZONE", "ROLE", "SERIAL", "STATE", "FROM", "LAST", "RESULT", "NEXT REFRESH", "EXPIRES"}};
  for (const auto& z : r["zones"]) {
    std::string serial = z.contains("serial") ? str(z, "serial") : "-";
    if (z.value("expired", false)) serial += " (EXPIRED)";
    // Where the served version comes from: its file, the database (last good version), or
    // the primaries (a secondary zone).
    std::string from = z.contains("serving_from") ? str(z, "serving_from")
                       : z.value("role", "") == "secondary" && z.value("loaded", false) ? "primaries"
                                                                                       : "-";
    if (from.empty()) from = "-";
    std::string result = str(z, "last_result");
    if (unsigned n = z.value("pending_sync", 0u))
      result += "; " + std::to_string(n) + " change(s) not yet written to the file";
    rows.push_back({str(z, "name"), str(z, "role"), serial, str(z, "state"), from,
                    z.contains("last_load") ? str(z, "last_load") : str(z, "last_attempt"),
                    result, str(z, "next_refresh"), str(z, "expire_at")});
  }
  print_table(rows);
  std::vector<std::vector<std::string>> peers{
      {"ZONE", "PEER", "ADDRESS", "KIND", "SERIAL", "CHECKED", "STATE"}};
  for (const auto& z : r["zones"]) {
    for (const char* kind : {"primaries", "notify"}) {
      bool down = std::string(kind) == "notify";
      for (const auto& p : z.value(kind, json::array())) {
        std::string state;
        if (!p.value("answered", false)) state = "no answer: " + str(p, "error");
        else if (down)
          state = p.value("behind", 0u) ? "behind by " + std::to_string(p.value("behind", 0u)) +
                                              " since " + str(p, "behind_since")
                                        : "current";
        else state = "answers";
        peers.push_back({str(z, "name"), str(p, "remote"), str(p, "address"),
                         down ? "secondary" : "primary",
                         p.contains("serial") ? str(p, "serial") : "-", str(p, "checked_at"), state});
      }
    }
  }
  if (peers.size() > 1) {
    std::cout << "\n";
    print_table(peers);
  }
  std::vector<std::string> problems;
  if (r.contains("config_error")) problems.push_back(str(r, "config_error"));
  for (const auto& z : r["zones"])
    for (const auto& p : z.value("problems", json::array()))
      problems.push_back(str(z, "name") + ": " + p.get<std::string>());
  if (!problems.empty()) {
    std::cout << "\n";
    for (const auto& p : problems) std::cout << "PROBLEM: " << p << "\n";
  }
}

// check-zone FILE without --origin: the file's leading $ORIGIN, else its name without
// .zone/.signed/.db (example.com.zone.signed -> example.com). `from` says which.
std::string origin_of_file(const std::string& file, std::string& from) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string word;
    if (!(ls >> word) || word[0] == ';') continue;
    if (word == "$ORIGIN" && ls >> word) {
      from = "the file's $ORIGIN";
      return word;
    }
    if (word[0] != '$') break;  // a record (or $INCLUDE): no leading $ORIGIN
  }
  std::string name = std::filesystem::path(file).filename().string();
  for (bool again = true; again;) {
    again = false;
    for (const char* ext : {".signed", ".zone", ".db"})
      if (name.size() > std::strlen(ext) && name.ends_with(ext)) {
        name.resize(name.size() - std::strlen(ext));
        again = true;
      }
  }
  from = "the file name";
  return name;
}

}  // namespace

// --ns NAME[=ADDR[,ADDR...]] arguments: the JSON for zoned and the inputs for the live checks.
void parse_ns_args(const std::vector<std::string>& args, json& ns,
                   std::vector<zonectl::NsInput>& inputs) {
  ns = json::array();
  for (const auto& a : args) {
    auto eq = a.find('=');
    std::string n = a.substr(0, eq);
    zonectl::NsInput in{name_wire(n, "NS name"), {}};
    if (eq != std::string::npos) {
      std::string rest = a.substr(eq + 1);
      size_t p = 0;
      while (p <= rest.size()) {
        size_t c = rest.find(',', p);
        std::string addr = rest.substr(p, c == std::string::npos ? std::string::npos : c - p);
        unsigned char bin[16];
        if (inet_pton(AF_INET, addr.c_str(), bin) != 1 && inet_pton(AF_INET6, addr.c_str(), bin) != 1)
          throw UsageError("'" + addr + "' (for NS " + n + ") is not an IPv4 or IPv6 address");
        in.addresses.push_back(addr);
        if (c == std::string::npos) break;
        p = c + 1;
      }
    }
    ns.push_back({{"name", n}, {"addresses", in.addresses}});
    inputs.push_back(in);
  }
}

// zonectl host: the child zone made on this primary (and put in the catalog), then every
// listed nameserver waited for (authoritative, same serial), then the delegation in one
// commit; on timeout the zone is removed again and nothing else changed.
int run_host(const std::string& socket_path, const std::string& child, const json& ns,
             const std::vector<zonectl::NsInput>& inputs, const std::string& catalog,
             bool dry_run, unsigned timeout_s, uint16_t ns_port, unsigned ttl,
             const std::vector<zonectl::Server>& helpers, bool as_json,
             const std::string& policy) {
  const std::string child_wire = name_wire(child, "domain name for CHILD");
  json req = {{"verb", "host"}, {"child", child}, {"ns", ns}, {"catalog", catalog},
              {"dry_run", true}, {"dnssec_policy", policy}};
  json plan = call(socket_path, req);
  if (!plan.value("ok", false)) { report_reply(plan, as_json); return 1; }
  // The delegation must be possible before anything is made (glue rules, parent).
  json del = {{"verb", "delegate"}, {"child", child}, {"ns", ns}, {"ds", json::array()},
              {"ttl", ttl}, {"dry_run", true}};
  json dplan = call(socket_path, del);
  if (!dplan.value("ok", false)) { report_reply(dplan, as_json); return 1; }
  const std::string file = plan.value("file", std::string());
  const std::string cat = plan.value("catalog", std::string());
  if (dry_run) {
    if (as_json) {
      std::cout << plan.dump(2) << "\n";
      return 0;
    }
    std::cout << "zone file " << file << ":\n" << plan.value("text", std::string())
              << (cat.empty() ? "no catalog\n" : "catalog member of " + cat + "\n")
              << "then, once every nameserver serves serial " << plan.value("serial", 0u)
              << ", in zone " << plan.value("parent", std::string()) << ":\n"
              << dplan.value("diff", std::string()) << "dry run: nothing changed\n";
    return 0;
  }
  req["dry_run"] = false;
  json made = call(socket_path, req);
  if (!made.value("ok", false)) { report_reply(made, as_json); return 1; }
  const uint32_t serial = made.value("serial", 0u);
  if (!as_json)
    std::cout << "zone " << child << " created (file " << file << ", serial " << serial
              << (cat.empty() ? std::string() : ", catalog " + cat)
              << "); waiting for its nameservers (up to " << timeout_s << " s)\n";
  struct Target {
    std::string ns, addr, state = "not asked yet";
    bool ok = false;
  };
  std::vector<Target> targets;
  std::vector<size_t> unresolved;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string nt = zone::wire::name_display(inputs[i].name);
    if (inputs[i].addresses.empty()) {
      unresolved.push_back(i);
      targets.push_back({nt, "?", "no address found"});
    }
    for (const auto& a : inputs[i].addresses) targets.push_back({nt, a});
  }
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(timeout_s);
  bool all = false;
  for (;;) {
    // Names without an address: resolved (again) until they have one.
    for (auto it = targets.begin(); it != targets.end();) {
      if (it->addr != "?") {
        ++it;
        continue;
      }
      std::string nw = name_wire(it->ns, "NS name");
      auto addrs = zonectl::resolve(nw, {}, helpers);
      if (addrs.empty()) {
        ++it;
        continue;
      }
      std::string nsname = it->ns;
      it = targets.erase(it);
      for (const auto& a : addrs) it = targets.insert(it, {nsname, a}) + 1;
    }
    all = true;
    for (auto& t : targets) {
      if (t.ok) continue;
      if (t.addr == "?") {
        all = false;
        continue;
      }
      zonectl::Server sv;
      sv.host = t.addr;
      sv.port = ns_port;
      auto r = zonectl::query(sv, child_wire, zone::wire::rrtype::SOA, 1000);
      if (!r.answered) t.state = "no answer (" + r.error + ")";
      else if (r.rcode != 0) t.state = "answers " + zone::wire::rcode_text(r.rcode);
      else if (!r.aa) t.state = "not authoritative";
      else {
        t.state = "no SOA in the answer";
        for (const auto& rr : r.answer) {
          zone::wire::SoaFields f;
          if (rr.type == zone::wire::rrtype::SOA && zone::wire::parse_soa(rr.rdata, f)) {
            // A signed child's serial moves with every re-signing: newer is as good.
            t.ok = f.serial == serial || zone::wire::serial_gt(f.serial, serial);
            t.state = t.ok ? "serves serial " + std::to_string(f.serial)
                           : "serves serial " + std::to_string(f.serial) + ", not " +
                                 std::to_string(serial);
          }
        }
      }
      all = all && t.ok;
    }
    if (all || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!all) {
    std::vector<std::vector<std::string>> rows{{"NS", "ADDRESS", "STATE"}};
    for (const auto& t : targets)
      if (!t.ok) rows.push_back({t.ns, t.addr, t.state});
    std::cerr << "error: after " << timeout_s << " s these nameservers do not serve " << child
              << " serial " << serial << ":\n";
    std::streambuf* old = std::cout.rdbuf(std::cerr.rdbuf());
    print_table(rows);
    std::cout.rdbuf(old);
    json undo = call(socket_path, {{"verb", "unhost"}, {"child", child}, {"delete_file", true}});
    std::cerr << "nothing changed: " << (undo.value("ok", false) ? "zone " + child + " removed again"
                                                                  : "removing the zone failed: " + undo.value("error", std::string()))
              << " (no delegation was made)\n";
    return 1;
  }
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start).count();
  if (!as_json)
    std::cout << "every nameserver serves serial " << serial << " (after " << waited << " ms)\n";
  del["dry_run"] = false;
  if (made.value("signed", false)) {
    // A signed child: its KSKs' DS go in with the NS and glue, in the same commit.
    for (const auto& t : targets) {
      zonectl::Server sv;
      sv.host = t.addr;
      sv.port = ns_port;
      auto k = zonectl::query(sv, child_wire, zone::wire::rrtype::DNSKEY, 1000);
      for (const auto& rr : k.answer)
        if (rr.type == zone::wire::rrtype::DNSKEY && rr.rdata.size() > 4 && (rr.rdata[1] & 1))
          del["ds"].push_back(zonectl::ds_text(zone::wire::lowered(child_wire),
                                               zone::dnssec::ds_rdata(zone::wire::lowered(child_wire), rr.rdata)));
      if (!del["ds"].empty()) break;
    }
    if (del["ds"].empty()) {
      std::cerr << "error: " << child << " is signed but none of its nameservers gave its DNSKEY: "
                << "not delegated (the zone stays; delegate it with zonectl delegate --ds)\n";
      return 1;
    }
  }
  json r = call(socket_path, del);
  if (!r.value("ok", false)) { report_reply(r, as_json); return 1; }
  if (as_json) {
    r["file"] = file;
    r["child_serial"] = serial;
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  std::cout << r.value("diff", std::string()) << "done: " << child << " delegated from zone "
            << str(r, "zone") << " (serial " << str(r, "serial") << ")\n";
  return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"zonectl - control and check zoned and your delegations"};
  app.require_subcommand(1);
  app.fallthrough();  // --json, --config, --socket also after the verb
  std::string config, socket_path;
  bool as_json = false;
  app.add_option("--config,-c", config, "zoned configuration (for the control socket path)");
  app.add_option("--socket,-s", socket_path, "control socket path");
  app.add_flag("--json", as_json, "print JSON");

  auto* status = app.add_subcommand("status", "zones, serials, timers and peers");
  std::string zone_arg;
  auto* reload = app.add_subcommand("reload", "reload the configuration and zone files (or one zone)");
  reload->add_option("zone", zone_arg, "only this zone");
  auto* notify = app.add_subcommand("notify", "send NOTIFY for a zone to its notify remotes");
  notify->add_option("zone", zone_arg)->required();
  auto* refresh = app.add_subcommand("refresh", "check the primary of a secondary zone now");
  refresh->add_option("zone", zone_arg)->required();
  auto* retransfer = app.add_subcommand("retransfer", "transfer a secondary zone again (AXFR)");
  retransfer->add_option("zone", zone_arg)->required();
  auto* delegations = app.add_subcommand("delegations", "list the delegations of a zone");
  delegations->add_option("zone", zone_arg)->required();

  auto* delegate = app.add_subcommand("delegate", "delegate a subdomain (NS, glue, DS) in one step");
  std::string child;
  std::vector<std::string> ns_args, ds_args;
  unsigned ttl = 3600;
  bool dry_run = false, force = false, allow_single = false;
  uint16_t ns_port = 53;
  delegate->add_option("child", child)->required();
  delegate->add_option("--ns", ns_args, "NAME[=ADDR[,ADDR...]]; addresses only for names inside CHILD")->required();
  delegate->add_option("--ds", ds_args, "\"KEYTAG ALGORITHM DIGESTTYPE DIGEST\"");
  delegate->add_option("--ttl", ttl, "TTL of the records (default 3600)");
  delegate->add_flag("--dry-run", dry_run, "show the change, change nothing");
  delegate->add_flag("--force", force, "skip the live preflight (not the checks on the input)");
  delegate->add_flag("--allow-single", allow_single, "accept a single nameserver");
  delegate->add_option("--ns-port", ns_port, "port the nameservers are asked on (default 53)");
  auto* undelegate = app.add_subcommand("undelegate", "remove a delegation (NS, DS, its glue)");
  undelegate->add_option("child", child)->required();
  undelegate->add_flag("--dry-run", dry_run, "show the change, change nothing");

  auto* host = app.add_subcommand("host", "create a child zone here, wait until its servers serve it, delegate it");
  std::string host_catalog;
  unsigned host_timeout = 60;
  host->add_option("child", child)->required();
  host->add_option("--ns", ns_args, "NAME[=ADDR[,ADDR...]]; addresses only for names inside CHILD")->required();
  host->add_option("--catalog", host_catalog, "the produced catalog to list it in (default: the parent's, or the only one)");
  host->add_option("--timeout", host_timeout, "seconds to wait for the nameservers (default 60)");
  host->add_option("--ttl", ttl, "TTL of the delegation records (default 3600)");
  host->add_option("--ns-port", ns_port, "port the nameservers are asked on (default 53)");
  host->add_flag("--dry-run", dry_run, "show the zone file and the delegation, change nothing");
  host->add_flag("--allow-single", allow_single, "accept a single nameserver");
  std::string host_policy;
  host->add_option("--dnssec-policy", host_policy, "sign the child with this policy; its DS goes in the delegation");
  auto* unhost = app.add_subcommand("unhost", "undelegate a child hosted here, then remove its zone (and from the catalog)");
  unhost->add_option("child", child)->required();

  auto* zone_add = app.add_subcommand("zone-add", "serve a new primary zone now (kept across restarts)");
  std::string zone_file, serial_policy = "keep";
  std::vector<std::string> notify_args, transfer_args, update_args;
  zone_add->add_option("zone", zone_arg)->required();
  zone_add->add_option("--file", zone_file, "its zone file")->required();
  zone_add->add_option("--notify", notify_args, "remote to NOTIFY (a remote of the configuration)");
  zone_add->add_option("--allow-transfer", transfer_args, "remote or prefix allowed to transfer it");
  zone_add->add_option("--allow-update", update_args, "TSIG key allowed to UPDATE it");
  zone_add->add_option("--serial-policy", serial_policy, "keep, increment or unixtime");
  std::string catalog_arg, group_arg;
  zone_add->add_option("--catalog", catalog_arg, "list it in this produced catalog zone (RFC 9432)");
  zone_add->add_option("--group", group_arg, "its group property in the catalog");
  std::string dnssec_policy_arg;
  zone_add->add_option("--dnssec-policy", dnssec_policy_arg, "sign it with this policy of the configuration");
  auto* zone_remove = app.add_subcommand("zone-remove", "stop serving a zone added with zone-add, purge its data");
  zone_remove->add_option("zone", zone_arg)->required();

  auto* check_zone = app.add_subcommand("check-zone", "check a zone file (or a configured zone) offline");
  std::string origin_arg;
  check_zone->add_option("target", zone_arg, "FILE or ZONE (a zone of --config)")->required();
  check_zone->add_option("--origin", origin_arg, "zone name for FILE (default: from the file name)");

  auto* dnssec = app.add_subcommand("dnssec", "DNSSEC of zones signed by zoned");
  dnssec->require_subcommand(1);
  auto* dnssec_ds = dnssec->add_subcommand("ds", "print the DS records to give the parent");
  std::string ds_server;
  dnssec_ds->add_option("zone", zone_arg, "a zone of --config with a dnssec-policy")->required();
  dnssec_ds->add_option("--server", ds_server, "ask this ADDR:PORT (default: the first listen address)");

  auto* dnssec_status = dnssec->add_subcommand("status", "the zone's keys, what each does, the next rollover step and when");
  dnssec_status->add_option("zone", zone_arg)->required();
  auto* dnssec_rollover = dnssec->add_subcommand("rollover", "start a key rollover now");
  std::string rollover_kind;
  dnssec_rollover->add_option("zone", zone_arg)->required();
  dnssec_rollover->add_option("kind", rollover_kind, "ksk, zsk or csk")->required()->check(CLI::IsMember({"ksk", "zsk", "csk"}));
  auto* dnssec_import = dnssec->add_subcommand("import-bind", "take over keys made by BIND (K*.private + K*.key) before the zone gets a dnssec-policy");
  std::vector<std::string> import_files;
  dnssec_import->add_option("zone", zone_arg)->required();
  dnssec_import->add_option("files", import_files, "K<zone>+<alg>+<tag>.private (or .key) of each key")->required();
  auto* dnssec_ds_seen = dnssec->add_subcommand("ds-seen", "the parent serves the new KSK's DS: the rollover goes on");
  dnssec_ds_seen->add_option("zone", zone_arg)->required();

  auto* check_del = app.add_subcommand("check-delegation", "check that parent and child servers agree");
  std::string domain;
  std::vector<std::string> parent_args, server_args;
  check_del->add_option("domain", domain)->required();
  check_del->add_option("--parent", parent_args, "ADDR[:PORT] of a parent server");
  check_del->add_option("--server", server_args, "ADDR[:PORT] of a server to check as well");
  check_del->add_option("--ns-port", ns_port, "port nameservers named by NS are asked on (default 53)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A word where the verb belongs that is no verb: say so (CLI11 would only say that a
    // subcommand is required).
    if (e.get_exit_code() != 0 && app.get_subcommands().empty()) {
      for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--config" || a == "-c" || a == "--socket" || a == "-s") {
          ++i;
          continue;
        }
        if (a.empty() || a[0] == '-') continue;
        std::string verbs;
        for (const auto* sub : app.get_subcommands({}))
          verbs += (verbs.empty() ? "" : ", ") + sub->get_name();
        std::cerr << "zonectl: unknown verb '" << a << "' (verbs: " << verbs << ")\n";
        return 2;
      }
    }
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  try {
    server::Config cfg;
    bool have_cfg = false;
    if (!config.empty()) {
      try {
        cfg = server::load_config(config);
        have_cfg = true;
      } catch (const server::ConfigError& e) {
        // A verb for the running zoned still reaches it (it kept its previous configuration):
        // say what is wrong with the file, then go on with the control socket named in it.
        std::string hint = socket_path.empty() ? server::control_socket_hint(config) : socket_path;
        if (hint.empty() || !(*status || *reload)) throw UsageError(e.what());
        std::cerr << "zonectl: " << e.what() << "\n(zoned keeps its previous configuration; "
                  << "asking it at " << hint << ")\n";
        socket_path = hint;
      }
      if (socket_path.empty()) socket_path = cfg.server.control;
    }
    // Servers of this zoned, to resolve names and find parents it is primary for.
    std::vector<zonectl::Server> helpers;
    if (have_cfg)
      for (const auto& ep : cfg.server.listen) {
        zonectl::Server s;
        if (zonectl::parse_server(ep.str(), s)) {
          s.label = "zoned " + s.str();
          helpers.push_back(s);
        }
      }
    auto need_socket = [&] {
      if (socket_path.empty())
        throw UsageError("give --config FILE (with server.control) or --socket PATH");
    };

    if (*status) {
      need_socket();
      json r = call(socket_path, {{"verb", "status"}});
      if (as_json) std::cout << r.dump(2) << "\n";
      else if (r.value("ok", false)) print_status(r);
      else return report_reply(r, false);
      // Problems: failed loads and refreshes, nothing served, expired zones, unreachable
      // or lagging peers, zone files not updated (zoned lists them per zone).
      return r.value("problems", 0u) > 0 ? 1 : 0;
    }
    if (*reload || *notify || *refresh || *retransfer || *delegations) {
      need_socket();
      std::string verb = reload->parsed() ? "reload" : notify->parsed() ? "notify"
                         : refresh->parsed() ? "refresh" : retransfer->parsed() ? "retransfer"
                                                                               : "delegations";
      json r = call(socket_path, {{"verb", verb}, {"zone", zone_arg}});
      if (verb == "delegations" && r.value("ok", false) && !as_json) {
        std::vector<std::vector<std::string>> rows{{"CHILD", "TTL", "NS", "GLUE", "DS"}};
        for (const auto& d : r["delegations"]) {
          std::string ns, glue, ds;
          for (const auto& n : d["ns"]) ns += (ns.empty() ? "" : " ") + n.get<std::string>();
          for (const auto& g : d["glue"]) {
            std::string t = g.get<std::string>();
            auto sp = t.rfind(' ');
            auto name = t.substr(0, t.find(' '));
            glue += (glue.empty() ? "" : " ") + name + "=" + t.substr(sp + 1);
          }
          for (const auto& x : d["ds"]) {
            std::string t = x.get<std::string>();
            auto p = t.find(" DS ");
            ds += (ds.empty() ? "" : "; ") + (p == std::string::npos ? t : t.substr(p + 4));
          }
          rows.push_back({d["child"].get<std::string>(), std::to_string(d["ttl"].get<unsigned>()), ns,
                          glue.empty() ? "-" : glue, ds.empty() ? "-" : ds});
        }
        print_table(rows);
        return 0;
      }
      if (verb == "reload" && !as_json && r.contains("zones")) {
        for (const auto& z : r["zones"]) {
          std::string result = str(z, "result");
          std::cout << str(z, "name") << ": ";
          if (result == "loaded") {
            std::cout << "loaded serial " << str(z, "serial");
            if (z.contains("merged_records"))
              std::cout << ", merged with changes made here (" << str(z, "merged_records")
                        << " record(s)) that the file did not have yet: written to it now";
          }
          else if (result == "removed") std::cout << "removed";
          else if (!z.value("serving", false)) std::cout << "FAILED, nothing served (SERVFAIL)";
          else if (str(z, "serving_from") == "database")
            std::cout << "FAILED, serving serial " << str(z, "serial") << " from the database";
          else std::cout << "FAILED, still serving serial " << str(z, "serial");
          std::cout << "\n";
          for (const auto& e : z.value("errors", json::array())) std::cout << "  error: " << e.get<std::string>() << "\n";
        }
        std::cout << "loaded " << str(r, "loaded") << ", unchanged " << str(r, "unchanged")
                  << ", failed " << str(r, "failed");
        if (r.value("removed", 0u)) std::cout << ", removed " << str(r, "removed");
        std::cout << "\n";
        if (r.contains("error") && r["error"].get<std::string>().starts_with("configuration"))
          std::cerr << "error: " << r["error"].get<std::string>() << "\n";
        return r.value("ok", false) ? 0 : 1;
      }
      return report_reply(r, as_json);
    }
    if (*dnssec_status || *dnssec_rollover || *dnssec_ds_seen) {
      need_socket();
      json req{{"verb", *dnssec_status ? "dnssec-status" : *dnssec_rollover ? "dnssec-rollover" : "dnssec-ds-seen"},
               {"zone", zone_arg}};
      if (*dnssec_rollover) req["kind"] = rollover_kind;
      json r = call(socket_path, req);
      if (!*dnssec_status || as_json || !r.value("ok", false)) return report_reply(r, as_json);
      print_dnssec_status(r);
      return 0;
    }
    if (*dnssec_import) {
      // Offline: the keys go into the key directory zoned reads when the zone is first
      // signed, so that its DNSKEY set (and the parent's DS) stay as they were.
      if (!have_cfg) throw UsageError("give --config FILE (its key-dir receives the keys)");
      std::string zname = zone_arg;
      if (!zname.empty() && zname.back() == '.') zname.pop_back();
      name_wire(zname + ".", "zone name");
      zone::dnssec::KeyStore store(cfg.server.key_dir, zname);
      if (!store.load().empty()) {
        std::cerr << "error: zoned already has keys for " << zname << " in " << store.zone_dir()
                  << ": import before the zone is first signed (before it gets a dnssec-policy)\n";
        return 1;
      }
      std::vector<zone::dnssec::Key> keys;
      const int64_t now = std::time(nullptr);
      for (const auto& f : import_files) {
        std::string stem = std::filesystem::path(f).filename().string();
        std::string want = "k" + zname + ".+", low = stem;
        for (auto* t : {&want, &low})
          for (auto& c : *t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (low.rfind(want, 0) != 0)
          throw UsageError(f + ": not a key of " + zname + " (K" + zname + ".+ALG+TAG.private expected)");
        keys.push_back(zone::dnssec::import_bind_key(f, now));
      }
      bool ksk = false;
      for (const auto& k : keys) ksk = ksk || k.ksk;
      if (!ksk) {
        std::cerr << "error: no KSK (DNSKEY flags 257) among the keys: the parent's DS names the KSK\n";
        return 1;
      }
      std::vector<zone::dnssec::Key> saved;
      for (const auto& k : keys) {
        saved.push_back(k);
        store.save(saved, &saved.back());
        std::cout << "imported " << (k.ksk ? "KSK" : "ZSK") << " " << k.tag << " (algorithm "
                  << int(k.algorithm) << ") into " << store.zone_dir() << "\n";
      }
      return 0;
    }
    if (*dnssec_ds) {
      // The DS of each KSK (SEP flag) of the DNSKEY RRset zoned serves, digest SHA-256.
      if (!have_cfg) throw UsageError("give --config FILE (the zone's dnssec-policy says the DS TTL)");
      std::string zw = name_wire(zone_arg, "zone name");
      const server::ZoneConfig* zc = nullptr;
      for (const auto& z : cfg.zones)
        if (z.origin == zone::wire::lowered(zw)) zc = &z;
      if (!zc) throw UsageError("zone " + zone_arg + " is not in " + config);
      if (zc->dnssec_policy.empty()) throw UsageError("zone " + zone_arg + " has no dnssec-policy: zoned does not sign it");
      const server::PolicyConfig* pol = cfg.policy(zc->dnssec_policy);
      zonectl::Server srv;
      if (!ds_server.empty()) {
        if (!zonectl::parse_server(ds_server, srv)) throw UsageError("--server '" + ds_server + "' is not ADDR[:PORT]");
      } else if (!helpers.empty()) {
        srv = helpers.front();
      } else {
        throw UsageError("no listen address in " + config + ": give --server");
      }
      zonectl::Response resp = zonectl::query(srv, zone::wire::lowered(zw), zone::wire::rrtype::DNSKEY);
      if (!resp.answered) {
        std::cerr << "error: " << srv.str() << " does not answer: " << resp.error << "\n";
        return 2;
      }
      json out = json::array();
      for (const auto& rr : resp.answer) {
        if (rr.type != zone::wire::rrtype::DNSKEY || rr.rdata.size() < 4 || !(rr.rdata[1] & 1)) continue;
        std::string owner = zone::wire::lowered(rr.owner);
        std::string ds = zone::dnssec::ds_rdata(owner, rr.rdata);
        std::string line = zone::wire::name_to_text(owner) + " " + std::to_string(pol ? pol->ds_ttl : 86400) +
                           " IN DS " + zonectl::ds_text(owner, ds);
        out.push_back({{"ds", line}, {"key_tag", zone::dnssec::key_tag(rr.rdata)}});
        if (!as_json) std::cout << line << "\n";
      }
      if (as_json) std::cout << out.dump(2) << "\n";
      if (out.empty()) {
        std::cerr << "error: " << srv.str() << " serves no KSK (DNSKEY with the SEP flag) for " << zone_arg << "\n";
        return 1;
      }
      return 0;
    }
    if (*zone_add || *zone_remove) {
      need_socket();
      json req;
      if (zone_add->parsed()) {
        std::error_code ec;
        auto abs = std::filesystem::absolute(zone_file, ec);
        req = {{"verb", "zone-add"}, {"name", zone_arg}, {"file", abs.lexically_normal().string()},
               {"notify", notify_args}, {"allow_transfer", transfer_args},
               {"allow_update", update_args}, {"serial_policy", serial_policy},
               {"catalog", catalog_arg}, {"catalog_group", group_arg},
               {"dnssec_policy", dnssec_policy_arg}};
      } else {
        req = {{"verb", "zone-remove"}, {"name", zone_arg}};
      }
      return report_reply(call(socket_path, req), as_json);
    }
    if (*host) {
      need_socket();
      json ns;
      std::vector<zonectl::NsInput> inputs;
      parse_ns_args(ns_args, ns, inputs);
      if (inputs.size() < 2 && !allow_single) {
        std::cerr << "error: only " << inputs.size()
                  << " nameserver: a delegation needs at least two (--allow-single to accept one)\n";
        return 1;
      }
      return run_host(socket_path, child, ns, inputs, host_catalog, dry_run, host_timeout,
                      ns_port, ttl, helpers, as_json, host_policy);
    }
    if (*unhost) {
      need_socket();
      json r = call(socket_path, {{"verb", "undelegate"}, {"child", child}, {"dry_run", false}});
      if (!r.value("ok", false)) return report_reply(r, as_json);
      if (!as_json) {
        if (r.contains("message")) std::cout << r["message"].get<std::string>() << "\n";
        else std::cout << r.value("diff", std::string()) << "undelegated from zone " << str(r, "zone") << "\n";
      }
      json u = call(socket_path, {{"verb", "unhost"}, {"child", child}});
      return report_reply(u, as_json);
    }
    if (*delegate || *undelegate) {
      need_socket();
      std::string child_wire = name_wire(child, "domain name for CHILD");
      json req = {{"verb", delegate->parsed() ? "delegate" : "undelegate"}, {"child", child},
                  {"dry_run", dry_run}};
      std::vector<zonectl::NsInput> ns_inputs;
      std::vector<std::string> ds_rdata;
      if (delegate->parsed()) {
        json ns = json::array();
        for (const auto& a : ns_args) {
          auto eq = a.find('=');
          std::string n = a.substr(0, eq);
          zonectl::NsInput in{name_wire(n, "NS name"), {}};
          if (eq != std::string::npos) {
            std::string rest = a.substr(eq + 1);
            size_t p = 0;
            while (p <= rest.size()) {
              size_t c = rest.find(',', p);
              std::string addr = rest.substr(p, c == std::string::npos ? std::string::npos : c - p);
              unsigned char bin[16];
              if (inet_pton(AF_INET, addr.c_str(), bin) != 1 && inet_pton(AF_INET6, addr.c_str(), bin) != 1)
                throw UsageError("'" + addr + "' (for NS " + n + ") is not an IPv4 or IPv6 address");
              in.addresses.push_back(addr);
              if (c == std::string::npos) break;
              p = c + 1;
            }
          }
          ns.push_back({{"name", n}, {"addresses", in.addresses}});
          ns_inputs.push_back(in);
        }
        for (const auto& d : ds_args) {
          std::string rd;
          if (!zone::ds_from_text(zone::wire::name_to_text(child_wire), d, rd))
            throw UsageError("DS '" + d + "' is not 'KEYTAG ALGORITHM DIGESTTYPE DIGEST'");
          ds_rdata.push_back(rd);
        }
        req["ns"] = ns;
        req["ds"] = ds_args;
        req["ttl"] = ttl;
        // Ask zoned to plan it first: input errors (outside every zone, glue rules) come
        // back before any live check.
        json plan = req;
        plan["dry_run"] = true;
        json pr = call(socket_path, plan);
        if (!pr.value("ok", false)) {
          std::string e = pr.value("error", std::string());
          report_reply(pr, as_json);
          return e.find("not inside any zone") != std::string::npos ? 2 : 1;
        }
        if (!force) {
          auto findings = zonectl::preflight(child_wire, ns_inputs, ds_rdata, allow_single, helpers, ns_port);
          bool bad = false;
          for (const auto& f : findings) {
            std::cerr << (f.error ? "error: " : "warning: ") << f.text << "\n";
            bad = bad || f.error;
          }
          if (bad) {
            std::cerr << "delegation of " << child << " refused (fix the above, or --force to skip the live checks)\n";
            return 1;
          }
        } else if (ns_inputs.size() < 2 && !allow_single) {
          std::cerr << "error: only " << ns_inputs.size()
                    << " nameserver: a delegation needs at least two (--allow-single to accept one)\n";
          return 1;
        }
      }
      json r = call(socket_path, req);
      if (!as_json && r.value("ok", false) && r.contains("message")) {
        std::cout << r["message"].get<std::string>() << "\n";  // e.g. nothing to change
        return 0;
      }
      if (!as_json && r.value("ok", false)) {
        std::cout << r.value("diff", std::string());
        std::cout << (dry_run ? "dry run: nothing changed" : "done: zone " + str(r, "zone") + " now at serial " + str(r, "serial")) << "\n";
        if (r.contains("file")) {
          std::string f = str(r, "file");
          if (f.find("not updated") != std::string::npos) {
            std::cerr << "warning: " << f << "\n";
            return 1;
          }
          std::cout << f << "\n";
        }
        return 0;
      }
      int rc = report_reply(r, as_json);
      if (!r.value("ok", false) && r.value("error", std::string()).find("not inside any zone") != std::string::npos) return 2;
      return rc;
    }
    if (*check_zone) {
      std::string file = zone_arg, origin = origin_arg;
      if (!std::filesystem::exists(file)) {
        if (!have_cfg) throw UsageError("no file '" + zone_arg + "' (and no --config to find a zone by name)");
        std::string o = name_wire(zone_arg, "zone name");
        file.clear();
        for (const auto& z : cfg.zones)
          if (z.origin == o) {
            file = z.file;
            origin = z.name;
          }
        if (file.empty()) throw UsageError("no zone '" + zone_arg + "' with a file in " + config);
      }
      std::string origin_from;  // where the zone name came from, when not given
      if (origin.empty()) {
        origin = origin_of_file(file, origin_from);
        std::cerr << "zonectl: zone name " << origin << " taken from " << origin_from
                  << " (give --origin to set it)\n";
      }
      std::string o = name_wire(origin, "zone name (--origin)");
      std::vector<zone::RecordSpan> spans;
      zone::LoadResult res = zone::load_zone_file(file, o, &spans);
      // Extra advice beyond the load checks.
      std::vector<std::string> warnings;
      for (const auto& w : res.warnings) warnings.push_back(w.str());
      // A signed zone: every signature verified with the apex DNSKEYs, and its validity
      // window checked against now (what ldns-verify-zone does).
      size_t sigs_checked = 0;
      if (res.ok() && res.zone->is_signed()) {
        auto where = [&](const std::string& owner, uint16_t type, const std::string& rdata) {
          const zone::RecordSpan* first = nullptr;
          for (const auto& s : spans)
            if (s.owner == owner && s.type == type) {
              if (!first) first = &s;
              if (rdata.empty() || s.rdata == rdata) return s.file + ":" + std::to_string(s.first_line);
            }
          return first ? first->file + ":" + std::to_string(first->first_line) : file;
        };
        auto rep = zonectl::verify_signatures(*res.zone, static_cast<uint32_t>(std::time(nullptr)), where);
        sigs_checked = rep.checked;
        for (auto& e : rep.errors) res.errors.push_back({zone::SourceLine{}, e});
      }
      bool ok = res.errors.empty() && res.ok();
      if (res.ok()) {
        const zone::wire::RRset* ns = res.zone->apex().find(zone::wire::rrtype::NS);
        if (ns && ns->count < 2)
          warnings.push_back(file + ": only one NS at the apex: a single failure takes the zone down");
      }
      if (as_json) {
        json j = {{"ok", ok}, {"file", file}, {"zone", zone::wire::name_to_text(o)},
                  {"errors", json::array()}, {"warnings", warnings}};
        for (const auto& e : res.errors) j["errors"].push_back(e.where.file.empty() && e.where.line == 0 ? e.message : e.str());
        if (res.ok() && res.zone->is_signed()) j["signatures_checked"] = sigs_checked;
        if (res.ok()) j["serial"] = res.zone->serial(), j["records"] = res.zone->record_count();
        std::cout << j.dump(2) << "\n";
      } else {
        for (const auto& e : res.errors)
          std::cout << "error: " << (e.where.file.empty() && e.where.line == 0 ? e.message : e.str()) << "\n";
        for (const auto& w : warnings) std::cout << "warning: " << w << "\n";
        if (res.ok() && res.zone->is_signed())
          std::cout << zone::wire::name_to_text(o) << ": signed ("
                    << (res.zone->denial() == zone::Denial::nsec ? "NSEC" : "NSEC3") << "), "
                    << sigs_checked << " signatures checked\n";
        if (ok)
          std::cout << zone::wire::name_to_text(o) << ": ok, serial " << res.zone->serial() << ", "
                    << res.zone->record_count() << " records, " << warnings.size() << " warning(s)\n";
      }
      return ok ? 0 : 1;
    }
    if (*check_del) {
      std::string d = name_wire(domain, "domain name");
      std::vector<zonectl::Server> parents, extra;
      for (const auto& p : parent_args) {
        zonectl::Server s;
        if (!zonectl::parse_server(p, s)) throw UsageError("--parent '" + p + "' is not ADDR[:PORT]");
        s.label = "parent " + s.str();
        parents.push_back(s);
      }
      for (const auto& p : server_args) {
        zonectl::Server s;
        if (!zonectl::parse_server(p, s)) throw UsageError("--server '" + p + "' is not ADDR[:PORT]");
        extra.push_back(s);
      }
      if (parents.empty()) {
        // This zoned, when it serves a zone above the domain.
        bool serves_parent = false;
        if (have_cfg)
          for (const auto& z : cfg.zones)
            if (z.origin != d && zone::wire::is_subdomain(d, z.origin)) serves_parent = true;
        if (!serves_parent || helpers.empty())
          throw UsageError("give --parent ADDR[:PORT] (or --config of a zoned serving the parent zone)");
        parents = helpers;
      }
      auto rep = zonectl::check_delegation(d, parents, extra, helpers, ns_port);
      if (as_json) {
        json j = {{"ok", rep.ok()}, {"domain", zone::wire::name_to_text(d)}, {"servers", json::array()},
                  {"problems", json::array()}, {"warnings", json::array()}};
        for (const auto& s : rep.servers) {
          json e = {{"role", s.role}, {"name", s.server.label}, {"address", s.server.str()},
                    {"answered", s.answered}, {"authoritative", s.authoritative}, {"ns", s.ns}};
          if (s.role == "parent") e["referral"] = s.referral;
          if (s.has_serial) e["serial"] = s.serial;
          if (!s.error.empty()) e["error"] = s.error;
          j["servers"].push_back(e);
        }
        for (const auto& f : rep.findings) j[f.error ? "problems" : "warnings"].push_back(f.text);
        std::cout << j.dump(2) << "\n";
      } else {
        std::vector<std::vector<std::string>> rows{{"ROLE", "SERVER", "ADDRESS", "ANSWER", "AUTH", "SERIAL", "NS"}};
        for (const auto& s : rep.servers) {
          std::string ns;
          for (const auto& n : s.ns) ns += (ns.empty() ? "" : " ") + n;
          rows.push_back({s.role, s.server.label, s.server.str(), s.answered ? "yes" : "no",
                          s.role == "parent" ? (s.referral ? "referral" : s.authoritative ? "yes" : "-")
                                             : (s.answered ? (s.authoritative ? "yes" : "LAME") : "-"),
                          s.has_serial ? std::to_string(s.serial) : "-", ns.empty() ? "-" : ns});
        }
        print_table(rows);
        std::cout << "\n";
        for (bool problems : {true, false})  // problems first, then warnings
          for (const auto& f : rep.findings)
            if (f.error == problems) std::cout << (f.error ? "PROBLEM: " : "warning: ") << f.text << "\n";
        if (rep.ok()) std::cout << "no problems found for " << zone::wire::name_to_text(d) << "\n";
      }
      return rep.ok() ? 0 : 1;
    }
  } catch (const UsageError& e) {
    std::cerr << "zonectl: " << e.what() << "\n";
    return 2;
  } catch (const json::exception& e) {
    std::cerr << "zonectl: malformed reply from zoned: " << e.what() << "\n";
    return 2;
  } catch (const zone::dnssec::KeyError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
