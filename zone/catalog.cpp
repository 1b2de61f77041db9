#include "zone/catalog.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>

#include "zone/changeset.h"
#include "zone/wire/name.h"
#include "zone/wire/types.h"

namespace zone::catalog {

using namespace zone::wire;

namespace {

std::string label(std::string_view text) {
  std::string out(1, static_cast<char>(text.size()));
  out.append(text);
  return out;
}

const std::string kInvalid = label("invalid") + std::string(1, '\0');

void put32(std::string& s, uint32_t v) {
  for (int sh = 24; sh >= 0; sh -= 8) s.push_back(static_cast<char>((v >> sh) & 0xFF));
}

std::string txt(std::string_view text) {
  std::string out(1, static_cast<char>(text.size()));
  out.append(text);
  return out;
}

// A zone name a consumer can serve: not the root, and no label a master file or a
// configuration could not name (control characters, spaces).
bool servable_name(std::string_view wire) {
  if (wire.size() <= 1) return false;
  for (size_t p = 0; p < wire.size() && wire[p];) {
    size_t len = static_cast<uint8_t>(wire[p]);
    for (size_t i = 1; i <= len; ++i) {
      unsigned char c = static_cast<unsigned char>(wire[p + i]);
      if (c <= 0x20 || c >= 0x7F) return false;
    }
    p += len + 1;
  }
  return true;
}

}  // namespace

std::string member_id(std::string_view zone_lower) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(zone_lower.data(), zone_lower.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 8; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

std::shared_ptr<const Zone> build(const std::string& origin, uint32_t serial,
                                  const std::vector<Member>& members,
                                  std::vector<ZoneError>& errors) {
  ZoneBuilder b(origin, "catalog " + name_display(origin));
  std::string soa = kInvalid + kInvalid;
  put32(soa, serial);
  put32(soa, 3600);        // refresh
  put32(soa, 600);         // retry
  put32(soa, 2147483646);  // expire
  put32(soa, 0);           // minimum
  b.add(origin, rrtype::SOA, 0, soa);
  b.add(origin, rrtype::NS, 0, kInvalid);
  b.add(label("version") + origin, rrtype::TXT, 0, txt("2"));
  const std::string zones = label("zones") + origin;
  for (const auto& m : members) {
    std::string owner = label(m.id) + zones;
    b.add(owner, rrtype::PTR, 0, m.zone);
    if (!m.group.empty()) b.add(label("group") + owner, rrtype::TXT, 0, txt(m.group));
    if (!m.coo.empty()) b.add(label("coo") + owner, rrtype::PTR, 0, m.coo);
  }
  return b.build(errors);
}

Content read(const Zone& cat) {
  Content out;
  const std::string& origin = cat.origin();
  const std::string version = label("version") + origin;
  const std::string zones = label("zones") + origin;
  const std::string cat_name = name_display(origin);
  std::vector<std::string> versions;
  struct Entry {
    std::vector<std::string> ptrs;
    std::string group, coo;
    bool bad_property = false;
  };
  std::map<std::string, Entry> by_id;  // unique label -> what is listed under it
  for (const Record& r : zone_records(cat)) {
    if (r.owner == version) {
      if (r.type == rrtype::TXT && !r.rdata.empty()) {
        size_t len = static_cast<uint8_t>(r.rdata[0]);
        versions.push_back(r.rdata.substr(1, std::min(len, r.rdata.size() - 1)));
      }
      continue;
    }
    if (!is_subdomain(r.owner, zones) || r.owner == zones) {
      if (r.type == rrtype::PTR && !is_subdomain(r.owner, label("ext") + origin))
        out.problems.push_back("catalog " + cat_name + ": " + name_display(r.owner) +
                               " PTR " + name_display(r.rdata) +
                               ": not under zones." + cat_name + ": skipped");
      continue;
    }
    int depth = label_count(r.owner) - label_count(zones);
    // The label right below zones.
    std::string_view rest = r.owner;
    for (int i = 1; i < depth; ++i) rest = parent_name(rest);
    std::string id(rest.substr(1, static_cast<uint8_t>(rest[0])));
    if (depth == 1) {
      if (r.type == rrtype::PTR) by_id[id].ptrs.push_back(r.rdata);
      continue;
    }
    if (depth == 2) {
      std::string_view prop = std::string_view(r.owner).substr(1, static_cast<uint8_t>(r.owner[0]));
      if (prop == "group" && r.type == rrtype::TXT && !r.rdata.empty()) {
        size_t len = static_cast<uint8_t>(r.rdata[0]);
        by_id[id].group = r.rdata.substr(1, std::min(len, r.rdata.size() - 1));
      } else if (prop == "coo" && r.type == rrtype::PTR) {
        auto& e = by_id[id];
        if (!e.coo.empty()) e.bad_property = true;  // more than one: ignored
        e.coo = r.rdata;
      }
    }
    // Deeper names and other properties: for other versions or extensions, ignored.
  }
  if (versions.empty()) {
    out.error = "catalog " + cat_name + ": no version." + cat_name +
                " TXT record: the catalog is ignored (RFC 9432 5.1)";
    return out;
  }
  if (versions.size() != 1 || versions.front() != "2") {
    std::string v;
    for (const auto& s : versions) v += (v.empty() ? "\"" : ", \"") + s + "\"";
    out.error = "catalog " + cat_name + ": version " + v +
                " is not the supported \"2\": the catalog is ignored (RFC 9432 5.1)";
    return out;
  }
  out.usable = true;
  std::map<std::string, Member> by_zone;
  for (auto& [id, e] : by_id) {
    std::string owner = name_display(label(id) + zones);
    if (e.ptrs.empty()) continue;  // properties without a member
    if (e.ptrs.size() > 1) {
      out.problems.push_back("catalog " + cat_name + ": " + owner + " has " +
                             std::to_string(e.ptrs.size()) +
                             " PTR records (one member per id): skipped");
      continue;
    }
    std::string member = lowered(e.ptrs.front());
    std::string desc = owner + " PTR " + name_display(e.ptrs.front());
    if (!servable_name(member)) {
      out.problems.push_back("catalog " + cat_name + ": " + desc +
                             ": not a valid zone name: skipped");
      continue;
    }
    if (member == origin) {
      out.problems.push_back("catalog " + cat_name + ": " + desc +
                             ": the catalog cannot be its own member: skipped");
      continue;
    }
    if (auto it = by_zone.find(member); it != by_zone.end()) {
      out.problems.push_back("catalog " + cat_name + ": " + desc + ": duplicate of " +
                             name_display(label(it->second.id) + zones) + ": skipped");
      continue;
    }
    Member m;
    m.zone = member;
    m.id = id;
    m.group = e.group;
    if (!e.bad_property) m.coo = lowered(e.coo);
    by_zone.emplace(member, std::move(m));
  }
  for (auto& [z, m] : by_zone) out.members.push_back(std::move(m));
  return out;
}

}  // namespace zone::catalog
