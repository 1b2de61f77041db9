// libFuzzer target: DNS UPDATE messages (zone/update.h) against a fixed zone, checking what
// the commit relies on rather than only "no crash":
//   - every failure carries a message; a request with a header always gets a response;
//   - a refused update changes nothing;
//   - a plan never lists the SOA, never names a record outside the zone, and changes the
//     serial exactly when it changes something, always upwards;
//   - the changeset fits the zone it was made for: apply_changeset may refuse it only for
//     what the zone's load checks see (never "removes records the zone does not have",
//     "starts at serial", a name outside the zone or a meta type);
//   - applied, it gives exactly the planned difference (diff_zones back), RRSIGs aside.
// Input: the first byte chooses the form. Even: the rest is the message. Odd: the next three
// bytes are the prerequisite, update and additional counts and the rest follows a fixed
// header and zone section (UPDATE for example.com. SOA IN), so that most inputs reach the
// prerequisite and update logic. Bit 1 of the first byte picks the signing key.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/update.h"
#include "zone/wire/name.h"
#include "zone/wire/render.h"
#include "zone/wire/serial.h"

using namespace zone;
using namespace zone::wire;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "update_fuzz invariant broken: %s %s\n", what, detail.c_str());
  std::abort();
}
#define CHECK(cond, detail)             \
  do {                                  \
    if (!(cond)) fail(#cond, (detail)); \
  } while (0)

// Something of every kind the update logic treats apart: apex NS and SOA, CNAME, DNAME,
// a delegation with glue, an empty non-terminal, RRSIG/NSEC beside a CNAME, a wildcard.
const char* kZone = R"($ORIGIN example.com.
$TTL 3600
@          SOA   ns1 hostmaster 100 7200 3600 1209600 300
@          NS    ns1
@          NS    ns2
@          MX    10 mail
ns1        A     192.0.2.1
ns2        A     192.0.2.2
mail       A     192.0.2.25
www        A     192.0.2.80
www        A     192.0.2.81
www        TXT   "hello"
alias      CNAME www
alias      NSEC  mail.example.com. CNAME RRSIG NSEC
alias      RRSIG CNAME 13 3 3600 20300101000000 20200101000000 12345 example.com. AAAA
a.b.c      A     192.0.2.9
sub        NS    ns.sub
ns.sub     A     192.0.2.53
dn         DNAME target.example.net.
*.wild     TXT   "wild"
_acme-challenge  TXT "token"
)";

const Zone& the_zone() {
  static std::shared_ptr<const Zone> z = [] {
    LoadResult r = load_zone_text(kZone, *name_from_text("example.com."));
    if (!r.ok()) fail("the fuzz zone does not load", r.errors.empty() ? "" : r.errors[0].str());
    return r.zone;
  }();
  return *z;
}

const UpdatePolicy& the_policy() {
  static UpdatePolicy p = [] {
    UpdatePolicy q;
    std::string err;
    if (!q.add_rule("k", "zonesub", "", {}, &err) ||
        !q.add_rule("acme", "wildcard", "_acme-challenge.*", {"TXT"}, &err) ||
        !q.add_rule("acme", "subdomain", "dyn.example.com", {"A", "AAAA"}, &err))
      fail("policy", err);
    return q;
  }();
  return p;
}

using Key = std::tuple<std::string, uint16_t, uint32_t, std::string>;
std::set<Key> keys(const std::vector<Record>& v) {
  std::set<Key> out;
  for (const auto& r : v)
    if (r.type != rrtype::RRSIG) out.insert({r.owner, r.type, r.ttl, r.rdata});
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Zone& z = the_zone();
  std::string msg;
  if ((data[0] & 1) == 0) {
    msg.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  } else {
    if (size < 4) return 0;
    uint8_t h[12] = {0x12, 0x34, opcode::UPDATE << 3, 0, 0, 1, 0, data[1], 0, data[2], 0, data[3]};
    msg.assign(reinterpret_cast<char*>(h), sizeof h);
    msg += z.origin();
    msg += std::string("\0\6\0\1", 4);  // SOA IN
    msg.append(reinterpret_cast<const char*>(data + 4), size - 4);
  }
  std::string key = (data[0] & 2) ? std::string("\4acme\0", 6) : std::string("\1k\0", 3);

  UpdateRequest u;
  UpdateStatus parsed = parse_update(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), u);
  static uint8_t buf[kMaxMessage];
  Renderer r(buf, sizeof buf);
  CHECK(render_update_response(r, u, parsed.rcode) == u.has_header, parsed.message);
  if (!parsed.ok()) {
    CHECK(!parsed.message.empty(), "");
    return 0;
  }

  UpdatePlan plan = process_update(z, u, the_policy(), key, z.serial() + 1);
  const Changeset& c = plan.changes;
  if (!plan.status.ok()) {
    CHECK(!plan.status.message.empty(), "");
    CHECK(!plan.changed(), plan.status.message);
    return 0;
  }
  for (const auto* list : {&c.removed, &c.added})
    for (const auto& rec : *list) {
      CHECK(rec.type != rrtype::SOA, plan.status.message);
      CHECK(is_subdomain(rec.owner, z.origin()), name_to_text(rec.owner));
    }
  CHECK(c.from_serial() == z.serial(), plan.status.message);
  if (!plan.changed()) {
    CHECK(c.empty() && c.to_serial() == z.serial(), plan.status.message);
    return 0;
  }
  CHECK(serial_gt(c.to_serial(), c.from_serial()), plan.status.message);

  std::vector<ZoneError> errors;
  auto after = apply_changeset(z, c, errors);
  if (!after) {
    CHECK(!errors.empty(), plan.status.message);
    for (const auto& e : errors)
      for (const char* bug : {"removes", "starts at serial", "outside the zone", "meta type"})
        CHECK(e.message.find(bug) == std::string::npos, e.str());
    return 0;
  }
  CHECK(after->serial() == c.to_serial(), plan.status.message);
  Changeset back = diff_zones(z, *after);
  CHECK(keys(back.removed) == keys(c.removed), plan.status.message);
  CHECK(keys(back.added) == keys(c.added), plan.status.message);
  return 0;
}
