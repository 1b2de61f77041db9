#include "tools/zonectl/checks.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>

#include "tools/zonectl/dnssec.h"
#include "zone/signature_check.h"
#include "zone/utc.h"
#include <ctime>
#include "zone/wire/name.h"
#include "zone/wire/rdata.h"
#include "zone/wire/serial.h"
#include "zone/wire/types.h"

namespace zonectl {

using namespace zone::wire;

namespace {

std::string text(const std::string& wire) { return name_to_text(wire); }

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : " ") + x;
  return out.empty() ? "(none)" : out;
}

// "/24 or /48" network of an address, for the diversity warning.
std::string network_of(const std::string& addr) {
  unsigned char b[16];
  if (inet_pton(AF_INET, addr.c_str(), b) == 1)
    return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + ".0/24";
  if (inet_pton(AF_INET6, addr.c_str(), b) == 1) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%02x%02x:%02x%02x:%02x%02x::/48", b[0], b[1], b[2], b[3], b[4], b[5]);
    return buf;
  }
  return addr;
}

std::vector<std::string> addresses_from(const Response& r, const std::string& name) {
  std::vector<std::string> out;
  // Through the CNAMEs of the answer: an alias still leads to a server (flagged elsewhere).
  std::string target = name;
  for (int hops = 0; hops < 8; ++hops) {
    bool moved = false;
    for (const auto& rr : r.answer)
      if (rr.owner == target && rr.type == rrtype::CNAME) {
        target = lowered(rdata_target(rrtype::CNAME, rr.rdata));
        moved = true;
        break;
      }
    if (!moved) break;
  }
  for (const auto* sec : {&r.answer, &r.additional})
    for (const auto& rr : *sec)
      if (rr.owner == target && (rr.type == rrtype::A || rr.type == rrtype::AAAA))
        out.push_back(address_text(rr));
  return out;
}

}  // namespace

std::vector<std::string> resolve(const std::string& name,
                                 const std::map<std::string, std::vector<std::string>>& known,
                                 const std::vector<Server>& helpers) {
  auto it = known.find(name);
  if (it != known.end() && !it->second.empty()) return it->second;
  std::vector<std::string> out;
  for (const auto& h : helpers) {
    for (uint16_t t : {rrtype::A, rrtype::AAAA}) {
      Response r = query(h, name, t, 1000);
      if (r.answered && r.aa)
        for (const auto& a : addresses_from(r, name)) out.push_back(a);
    }
    if (!out.empty()) return out;
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_DGRAM;
  std::string host = text(name);
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) == 0) {
    for (addrinfo* a = res; a; a = a->ai_next) {
      char buf[INET6_ADDRSTRLEN];
      const void* src = a->ai_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
      if (inet_ntop(a->ai_family, src, buf, sizeof buf) &&
          std::find(out.begin(), out.end(), buf) == out.end())
        out.push_back(buf);
    }
    freeaddrinfo(res);
  }
  return out;
}

bool is_cname(const std::string& name, const std::vector<Server>& servers) {
  for (const auto& s : servers) {
    Response r = query(s, name, rrtype::A, 1000);
    if (!r.answered) continue;
    for (const auto& rr : r.answer)
      if (rr.owner == name && rr.type == rrtype::CNAME) return true;
  }
  return false;
}

std::vector<Finding> preflight(const std::string& child, const std::vector<NsInput>& ns,
                               const std::vector<std::string>& ds, bool allow_single,
                               const std::vector<Server>& helpers, uint16_t port) {
  std::vector<Finding> f;
  std::string ct = text(child);
  if (ns.size() < 2 && !allow_single)
    f.push_back({true, "only " + std::to_string(ns.size()) +
                           " nameserver: a delegation needs at least two (RFC 1034 4.1; "
                           "--allow-single to accept one)"});
  std::set<std::string> nets;
  size_t addrs = 0;
  std::vector<std::string> keys;
  for (const auto& n : ns) {
    std::string nt = text(n.name);
    std::map<std::string, std::vector<std::string>> known{{n.name, n.addresses}};
    auto list = resolve(n.name, known, helpers);
    if (!n.addresses.empty() || !is_subdomain(n.name, child)) {
      if (is_cname(n.name, helpers))
        f.push_back({true, "NS " + nt + " is a CNAME (RFC 2181 10.3): name the real server"});
    }
    if (list.empty()) {
      f.push_back({true, "NS " + nt + ": no address found; configure DNS at the new servers first"});
      continue;
    }
    for (const auto& a : list) {
      ++addrs;
      nets.insert(network_of(a));
      Server s{a, port, nt};
      Response r = query(s, child, rrtype::SOA);
      bool soa = false;
      for (const auto& rr : r.answer)
        if (rr.owner == child && rr.type == rrtype::SOA) soa = true;
      if (!r.answered)
        f.push_back({true, "NS " + nt + " (" + s.str() + ") does not answer (" + r.error +
                               "): configure DNS at the new servers first"});
      else if (!r.aa || r.rcode != rcode::NOERROR || !soa)
        f.push_back({true, "NS " + nt + " (" + s.str() + ") is not authoritative for " + ct +
                               " (no AA SOA answer): configure DNS at the new servers first"});
      if (!ds.empty() && r.answered) {
        Response k = query(s, child, rrtype::DNSKEY);
        for (const auto& rr : k.answer)
          if (rr.owner == child && rr.type == rrtype::DNSKEY) keys.push_back(rr.rdata);
      }
    }
  }
  if (addrs > 1 && nets.size() == 1)
    f.push_back({false, "all nameservers are in " + *nets.begin() +
                            ": one network outage takes the zone down"});
  for (const auto& d : ds)
    if (!ds_matches_any_key(child, d, keys))
      f.push_back({true, "DS " + ds_text(child, d) + " matches no DNSKEY served for " + ct +
                             " (a validator would mark the zone bogus)"});
  return f;
}

DelegationReport check_delegation(const std::string& domain, const std::vector<Server>& parents,
                                  const std::vector<Server>& extra,
                                  const std::vector<Server>& helpers, uint16_t port) {
  DelegationReport rep;
  std::string dt = text(domain);
  std::set<std::string> parent_ns;
  std::map<std::string, std::vector<std::string>> glue;
  std::vector<std::string> ds;
  // 1. What the parent says.
  for (const auto& p : parents) {
    ServerReport sr;
    sr.role = "parent";
    sr.server = p;
    Response r = query(p, domain, rrtype::NS);
    sr.answered = r.answered;
    sr.error = r.error;
    if (r.answered) {
      std::set<std::string> set;
      for (const auto* sec : {&r.answer, &r.authority})
        for (const auto& rr : *sec)
          if (rr.owner == domain && rr.type == rrtype::NS)
            set.insert(lowered(rdata_target(rrtype::NS, rr.rdata)));
      for (const auto& rr : r.additional)
        if (rr.type == rrtype::A || rr.type == rrtype::AAAA) {
          auto& v = glue[rr.owner];
          std::string a = address_text(rr);
          if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
        }
      // A referral is the parent's answer for a child, never an authoritative one.
      sr.authoritative = r.aa;
      sr.referral = !r.aa && !set.empty();
      for (const auto& n : set) sr.ns.push_back(text(n));
      if (set.empty())
        rep.findings.push_back({true, "parent " + p.str() + " has no delegation for " + dt +
                                          (r.rcode ? " (" + zone::wire::rcode_text(r.rcode) + ")" : "")});
      parent_ns.insert(set.begin(), set.end());
      Response d = query(p, domain, rrtype::DS);
      for (const auto& rr : d.answer)
        if (rr.owner == domain && rr.type == rrtype::DS &&
            std::find(ds.begin(), ds.end(), rr.rdata) == ds.end())
          ds.push_back(rr.rdata);
    } else {
      rep.findings.push_back({true, "parent " + p.str() + " does not answer: " + r.error});
    }
    rep.servers.push_back(sr);
  }
  // 2. Ask every server named by the parent (and any given), then the names they add.
  std::vector<Server> children;
  std::set<std::string> asked;
  std::map<std::string, std::set<std::string>> names_at;  // address -> NS names there
  auto add_ns = [&](const std::string& n) {
    if (!asked.insert(n).second) return;
    std::vector<Server> all_helpers = parents;
    all_helpers.insert(all_helpers.end(), helpers.begin(), helpers.end());
    auto addrs = resolve(n, glue, all_helpers);
    if (addrs.empty())
      rep.findings.push_back({true, "NS " + text(n) + ": no address found (no glue, no answer)"});
    for (const auto& a : addrs) {
      children.push_back(Server{a, port, text(n)});
      names_at[a].insert(text(n));
    }
  };
  for (const auto& n : parent_ns) add_ns(n);
  for (const auto& s : extra) children.push_back(s);
  std::set<std::string> child_ns;
  std::map<std::string, std::set<std::string>> child_addrs;  // in-domain NS -> A/AAAA seen
  std::vector<std::string> keys;
  std::set<std::string> cds;  // CDS records the child servers publish (RFC 7344)
  constexpr uint16_t kCds = 59;
  const int64_t now = std::time(nullptr);
  for (size_t i = 0; i < children.size(); ++i) {
    const Server s = children[i];  // a copy: add_ns may grow the vector
    ServerReport sr;
    sr.role = "child";
    sr.server = s;
    Response soa = query(s, domain, rrtype::SOA);
    sr.answered = soa.answered;
    sr.error = soa.error;
    if (soa.answered) {
      for (const auto& rr : soa.answer) {
        SoaFields f;
        if (rr.owner == domain && rr.type == rrtype::SOA && parse_soa(rr.rdata, f)) {
          sr.has_serial = true;
          sr.serial = f.serial;
        }
      }
      sr.authoritative = soa.aa && soa.rcode == rcode::NOERROR && sr.has_serial;
      if (!sr.authoritative)
        rep.findings.push_back({true, s.label + " (" + s.str() + ") is lame: it does not answer "
                                          "authoritatively for " + dt});
      Response ns = query(s, domain, rrtype::NS);
      std::set<std::string> set;
      for (const auto& rr : ns.answer)
        if (rr.owner == domain && rr.type == rrtype::NS) set.insert(lowered(rdata_target(rrtype::NS, rr.rdata)));
      for (const auto& n : set) sr.ns.push_back(text(n));
      if (sr.authoritative) {
        child_ns.insert(set.begin(), set.end());
        for (const auto& n : set) {
          if (!is_subdomain(n, domain)) continue;
          for (uint16_t t : {rrtype::A, rrtype::AAAA}) {
            Response a = query(s, n, t, 1000);
            for (const auto& x : addresses_from(a, n)) child_addrs[n].insert(x);
          }
        }
        Response k = query(s, domain, rrtype::DNSKEY);
        for (const auto& rr : k.answer)
          if (rr.owner == domain && rr.type == rrtype::DNSKEY &&
              std::find(keys.begin(), keys.end(), rr.rdata) == keys.end())
            keys.push_back(rr.rdata);
        // The apex signatures a validator checks first: expired, not yet valid, or close
        // to expiring (re-signing stalled?).
        const std::string where = s.label + " (" + s.str() + ")";
        for (const auto* r : {&soa, &k})
          for (const auto& rr : r->answer) {
            if (rr.owner != domain || rr.type != rrtype::RRSIG || rr.rdata.size() < 18) continue;
            const uint16_t covered = static_cast<uint16_t>(static_cast<uint8_t>(rr.rdata[0]) << 8 |
                                                           static_cast<uint8_t>(rr.rdata[1]));
            const uint16_t tag = static_cast<uint16_t>(static_cast<uint8_t>(rr.rdata[16]) << 8 |
                                                       static_cast<uint8_t>(rr.rdata[17]));
            const std::string what = "RRSIG " + zone::wire::rrtype_text(covered) + " by key " +
                                     std::to_string(tag) + " at " + where;
            const int64_t exp = zone::signature_expiration(rr.rdata);
            const int64_t inc = zone::signature_inception(rr.rdata);
            const int64_t left = static_cast<int32_t>(static_cast<uint32_t>(exp) - static_cast<uint32_t>(now));
            if (left < 0)
              rep.findings.push_back({true, what + " expired at " + zone::utc_text(now + left)});
            else if (static_cast<int32_t>(static_cast<uint32_t>(inc) - static_cast<uint32_t>(now)) > 0)
              rep.findings.push_back({true, what + " is not valid before " +
                                                zone::utc_text(now + static_cast<int32_t>(static_cast<uint32_t>(inc) - static_cast<uint32_t>(now)))});
            else if (left < 2 * 86400)
              rep.findings.push_back({false, what + " expires at " + zone::utc_text(now + left) +
                                                 " (in " + std::to_string(left / 3600) +
                                                 " h): is the zone being re-signed?"});
          }
        Response c = query(s, domain, kCds);
        for (const auto& rr : c.answer)
          if (rr.owner == domain && rr.type == kCds) cds.insert(rr.rdata);
      }
      // Names the child adds get asked too.
      for (const auto& n : set) {
        size_t before = children.size();
        add_ns(n);
        (void)before;
      }
    } else {
      rep.findings.push_back({true, s.label + " (" + s.str() + ") does not answer: " + sr.error});
    }
    rep.servers.push_back(sr);
  }
  // 3. Findings.
  std::set<std::string> pt, ct;
  for (const auto& n : parent_ns) pt.insert(text(n));
  for (const auto& n : child_ns) ct.insert(text(n));
  if (!parent_ns.empty() && !child_ns.empty() && pt != ct)
    rep.findings.push_back({true, "the parent's NS set {" + join(pt) +
                                      "} differs from the child's apex NS set {" + join(ct) + "}"});
  for (const auto& s : rep.servers)
    if (s.role == "child" && s.authoritative) {
      std::set<std::string> mine(s.ns.begin(), s.ns.end());
      if (mine != ct)
        rep.findings.push_back({true, s.server.label + " (" + s.server.str() + ") serves NS {" + join(mine) +
                                          "}, other servers {" + join(ct) + "}"});
    }
  std::set<std::string> all_ns = parent_ns;
  all_ns.insert(child_ns.begin(), child_ns.end());
  if (all_ns.size() == 1)
    rep.findings.push_back({true, "only one nameserver (" + text(*all_ns.begin()) +
                                      "): a single failure takes " + dt + " down"});
  // Several NS names on one address are one server: the "only one nameserver" mistake in
  // disguise. All addresses in one /24 or /48: one network outage (as delegate warns).
  std::set<std::string> nets;
  for (const auto& [addr, names] : names_at) {
    nets.insert(network_of(addr));
    if (names.size() < 2) continue;
    std::string list;
    size_t i = 0;
    for (const auto& n : names) list += (i++ == 0 ? "" : i == names.size() ? " and " : ", ") + n;
    rep.findings.push_back({true, list + " share one address (" + addr + "): that is one server, " +
                                      "a single failure takes " + dt + " down"});
  }
  if (names_at.size() > 1 && nets.size() == 1)
    rep.findings.push_back({false, "all nameservers are in " + *nets.begin() +
                                       ": one network outage takes " + dt + " down"});
  std::vector<Server> all_servers = parents;
  for (const auto& s : children) all_servers.push_back(s);
  all_servers.insert(all_servers.end(), helpers.begin(), helpers.end());
  for (const auto& n : all_ns)
    if (is_cname(n, all_servers))
      rep.findings.push_back({true, "NS " + text(n) + " is a CNAME (RFC 2181 10.3)"});
  for (const auto& [name, addrs] : glue) {
    if (!is_subdomain(name, domain) || !child_addrs.count(name)) continue;
    std::set<std::string> g(addrs.begin(), addrs.end());
    if (g != child_addrs[name])
      rep.findings.push_back({true, "glue for " + text(name) + " at the parent {" + join(g) +
                                        "} differs from the child's own {" +
                                        join(child_addrs[name]) + "}"});
  }
  // Serials: the newest wins; everyone behind it is lagging.
  bool any = false;
  uint32_t newest = 0;
  for (const auto& s : rep.servers)
    if (s.role == "child" && s.has_serial && (!any || serial_gt(s.serial, newest))) {
      newest = s.serial;
      any = true;
    }
  for (const auto& s : rep.servers)
    if (s.role == "child" && s.has_serial && s.serial != newest)
      rep.findings.push_back({true, s.server.label + " (" + s.server.str() + ") serves serial " +
                                        std::to_string(s.serial) + ", " +
                                        std::to_string(newest - s.serial) +
                                        " behind the newest " + std::to_string(newest) +
                                        " (a secondary lagging?)"});
  for (const auto& d : ds)
    if (!ds_matches_any_key(domain, d, keys))
      rep.findings.push_back({true, "DS " + ds_text(domain, d) + " at the parent matches no DNSKEY of " + dt});
  // CDS: what the child asks the parent's DS to be (RFC 7344, RFC 8078).
  if (!cds.empty()) {
    auto tags = [](const auto& set) {
      std::set<std::string> t;
      for (const auto& rd : set)
        if (rd.size() >= 2)
          t.insert(std::to_string(static_cast<uint8_t>(rd[0]) << 8 | static_cast<uint8_t>(rd[1])));
      return t;
    };
    const bool delete_form = cds.size() == 1 && cds.begin()->size() >= 4 && (*cds.begin())[2] == 0;
    std::set<std::string> parent_ds(ds.begin(), ds.end());
    if (delete_form)
      rep.findings.push_back({false, "the child's CDS asks the parent to remove the DS (delete form, RFC 8078): " +
                                         dt + " is going insecure"});
    else if (cds != parent_ds)
      rep.findings.push_back({false, "the child's CDS (key tags {" + join(tags(cds)) + "}) differs from the parent's DS ({" +
                                         join(tags(parent_ds)) + "}): a KSK rollover waiting for the parent?"});
  }
  return rep;
}

}  // namespace zonectl
