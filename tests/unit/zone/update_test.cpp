// DNS UPDATE (RFC 2136) as zone logic: messages built by hand, by ldns and by nsupdate /
// knsupdate (captured bytes), run against a small zone; every changeset that says NOERROR
// must also apply (apply_changeset: the commit's validation).
#include "tests/unit/test_support.h"
#include "zone/update.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "zone/changeset.h"
#include "zone/delegation.h"
#include "zone/loader.h"
#include "zone/wire/message.h"
#include "zone/wire/rdata.h"
#include "zone/wire/render.h"

#include <ldns/ldns.h>  // last: ldns defines a `bool` macro

using namespace zone;
using namespace zone::wire;

namespace {

using test_support::W;

// Apex with two NS, a name with two A and a TXT, a CNAME, empty non-terminals above
// a.b.c, a delegation with glue, a DNAME, and an apex NS (ns3) whose name has no data.
const char* kZone = R"($ORIGIN example.com.
$TTL 3600
@          SOA   ns1 hostmaster 100 7200 3600 1209600 300
@          NS    ns1
@          NS    ns2
@          MX    10 mail
@          TXT   "v=spf1 -all"
ns1        A     192.0.2.1
ns2        A     192.0.2.2
mail       A     192.0.2.25
www        A     192.0.2.80
www        A     192.0.2.81
www        TXT   "hello"
alias      CNAME www
a.b.c      A     192.0.2.9
sub        NS    ns.sub
ns.sub     A     192.0.2.53
dn         DNAME target.example.net.
_acme-challenge.www  TXT "old-token"
_acme-challenge.www  A   192.0.2.99
)";

std::shared_ptr<const Zone> make_zone(const std::string& text = kZone,
                                      const std::string& origin = "example.com.") {
  LoadResult r = load_zone_text(text, W(origin));
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}

// The commit's validation. (One place, so that a change of apply_changeset's signature
// is one line here.)
std::shared_ptr<const Zone> apply(const std::shared_ptr<const Zone>& z, const Changeset& c,
                                  std::vector<ZoneError>& errors) {
  return apply_changeset(z, c, errors);
}

std::string u16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v)}; }
std::string u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)) + u16(static_cast<uint16_t>(v)); }

// A wire name with its case kept ("WWW.Example.com." stays so).
std::string N(const std::string& text) { return *name_from_text(text); }

// "MX 10 mail.example.com." -> {type, RDATA wire}, read by ldns.
struct TypedRdata {
  uint16_t type = 0;
  std::string rdata;
};
TypedRdata TR(const std::string& type_and_rdata) {
  std::string line = "x.example.com. 3600 IN " + type_and_rdata;
  ldns_rr* rr = nullptr;
  EXPECT_EQ(ldns_rr_new_frm_str(&rr, line.c_str(), 3600, nullptr, nullptr), LDNS_STATUS_OK) << line;
  if (!rr) return {};
  ldns_buffer* buf = ldns_buffer_new(512);
  EXPECT_EQ(ldns_rr_rdata2buffer_wire(buf, rr), LDNS_STATUS_OK);
  TypedRdata out{static_cast<uint16_t>(ldns_rr_get_type(rr)),
                 std::string(reinterpret_cast<const char*>(ldns_buffer_begin(buf)),
                             ldns_buffer_position(buf))};
  ldns_buffer_free(buf);
  ldns_rr_free(rr);
  return out;
}

// An UPDATE message built field by field, so that malformed ones can be built too.
class Msg {
 public:
  uint16_t id = 0x4242;
  uint16_t flags = static_cast<uint16_t>(opcode::UPDATE << 11);
  std::string zone = "example.com.";
  uint16_t ztype = rrtype::SOA, zclass = rrclass::IN;
  int zocount = 1;

  Msg& pre(const std::string& name, uint16_t cls, uint16_t type, const std::string& rdata = "",
           uint32_t ttl = 0) {
    pre_.push_back(rr(name, cls, type, ttl, rdata));
    return *this;
  }
  Msg& upd(const std::string& name, uint16_t cls, uint16_t type, uint32_t ttl,
           const std::string& rdata) {
    upd_.push_back(rr(name, cls, type, ttl, rdata));
    return *this;
  }
  Msg& extra(std::string raw_rr) {
    add_.push_back(std::move(raw_rr));
    return *this;
  }
  // RFC 2136 2.4
  Msg& in_use(const std::string& n) { return pre(n, rrclass::ANY, rrtype::ANY); }
  Msg& not_in_use(const std::string& n) { return pre(n, rrclass::NONE, rrtype::ANY); }
  Msg& exists(const std::string& n, uint16_t t) { return pre(n, rrclass::ANY, t); }
  Msg& not_exists(const std::string& n, uint16_t t) { return pre(n, rrclass::NONE, t); }
  Msg& equals(const std::string& n, const std::string& rr_text) {
    TypedRdata t = TR(rr_text);
    return pre(n, rrclass::IN, t.type, t.rdata);
  }
  // RFC 2136 2.5
  Msg& add(const std::string& n, uint32_t ttl, const std::string& rr_text) {
    TypedRdata t = TR(rr_text);
    return upd(n, rrclass::IN, t.type, ttl, t.rdata);
  }
  Msg& del_rrset(const std::string& n, uint16_t t) { return upd(n, rrclass::ANY, t, 0, ""); }
  Msg& del_name(const std::string& n) { return upd(n, rrclass::ANY, rrtype::ANY, 0, ""); }
  Msg& del_rr(const std::string& n, const std::string& rr_text) {
    TypedRdata t = TR(rr_text);
    return upd(n, rrclass::NONE, t.type, 0, t.rdata);
  }

  static std::string rr(const std::string& name, uint16_t cls, uint16_t type, uint32_t ttl,
                        const std::string& rdata) {
    return N(name) + u16(type) + u16(cls) + u32(ttl) + u16(static_cast<uint16_t>(rdata.size())) +
           rdata;
  }
  std::string wire() const {
    std::string m = u16(id) + u16(flags) + u16(static_cast<uint16_t>(zocount)) +
                    u16(static_cast<uint16_t>(pre_.size())) +
                    u16(static_cast<uint16_t>(upd_.size())) +
                    u16(static_cast<uint16_t>(add_.size()));
    if (zocount > 0) m += N(zone) + u16(ztype) + u16(zclass);
    for (const auto* s : {&pre_, &upd_, &add_})
      for (const auto& r : *s) m += r;
    return m;
  }

 private:
  std::vector<std::string> pre_, upd_, add_;
};

UpdateStatus parse(const std::string& wire, UpdateRequest& u) {
  return parse_update(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), u);
}

UpdatePolicy grant_all(const std::string& key = "k.") {
  UpdatePolicy p;
  std::string err;
  EXPECT_TRUE(p.add_rule(key, "zonesub", "", {}, &err)) << err;
  return p;
}

constexpr uint32_t kNextSerial = 101;

// Parses and processes a message against z, signed with key "k." (granted everything).
UpdatePlan run(const Zone& z, const std::string& wire, uint32_t serial = kNextSerial) {
  UpdateRequest u;
  UpdateStatus s = parse(wire, u);
  if (!s.ok()) {
    UpdatePlan p;
    p.status = s;
    return p;
  }
  return process_update(z, u, grant_all(), W("k."), serial);
}

// The records of a changeset as text, "- ..." and "+ ...", SOA left out, sorted.
std::vector<std::string> lines(const Changeset& c) {
  std::vector<std::string> out;
  for (const auto& r : c.removed) out.push_back("- " + record_text(r));
  for (const auto& r : c.added) out.push_back("+ " + record_text(r));
  std::sort(out.begin(), out.end());
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// ---------------------------------------------------------------------------------------
// Prerequisites (RFC 2136 2.4, 3.2)

struct PrereqCase {
  const char* what;
  std::function<void(Msg&)> build;
  uint16_t rcode;
  const char* message;  // a part of the status message ("" = don't care)
};

const PrereqCase kPrereqCases[] = {
    {"name in use: a name with data", [](Msg& m) { m.in_use("www.example.com."); }, rcode::NOERROR, ""},
    {"name in use: case does not matter", [](Msg& m) { m.in_use("WWW.EXAMPLE.COM."); }, rcode::NOERROR, ""},
    {"name in use: an absent name", [](Msg& m) { m.in_use("nothere.example.com."); }, rcode::NXDOMAIN,
     "nothere.example.com. has no records"},
    {"name in use: an empty non-terminal is not in use", [](Msg& m) { m.in_use("b.c.example.com."); },
     rcode::NXDOMAIN, "b.c.example.com."},
    {"name in use: the apex", [](Msg& m) { m.in_use("example.com."); }, rcode::NOERROR, ""},
    {"name not in use: an absent name", [](Msg& m) { m.not_in_use("nothere.example.com."); }, rcode::NOERROR, ""},
    {"name not in use: an empty non-terminal", [](Msg& m) { m.not_in_use("c.example.com."); }, rcode::NOERROR, ""},
    {"name not in use: a name with data", [](Msg& m) { m.not_in_use("alias.example.com."); }, rcode::YXDOMAIN,
     "alias.example.com. has records"},
    {"RRset exists", [](Msg& m) { m.exists("www.example.com.", rrtype::TXT); }, rcode::NOERROR, ""},
    {"RRset exists: another type at the name", [](Msg& m) { m.exists("www.example.com.", rrtype::AAAA); },
     rcode::NXRRSET, "www.example.com. has no AAAA records"},
    {"RRset exists: an absent name", [](Msg& m) { m.exists("nothere.example.com.", rrtype::A); }, rcode::NXRRSET, ""},
    {"RRset does not exist", [](Msg& m) { m.not_exists("www.example.com.", rrtype::AAAA); }, rcode::NOERROR, ""},
    {"RRset does not exist: it does", [](Msg& m) { m.not_exists("www.example.com.", rrtype::A); }, rcode::YXRRSET,
     "www.example.com. has A records"},
    {"RRset exists (value): the whole RRset",
     [](Msg& m) { m.equals("www.example.com.", "A 192.0.2.80").equals("www.example.com.", "A 192.0.2.81"); },
     rcode::NOERROR, ""},
    {"RRset exists (value): order does not matter",
     [](Msg& m) { m.equals("www.example.com.", "A 192.0.2.81").equals("www.example.com.", "A 192.0.2.80"); },
     rcode::NOERROR, ""},
    {"RRset exists (value): an RR given twice counts once",
     [](Msg& m) {
       m.equals("www.example.com.", "A 192.0.2.81").equals("www.example.com.", "A 192.0.2.80")
           .equals("www.example.com.", "A 192.0.2.81");
     },
     rcode::NOERROR, ""},
    {"RRset exists (value): a subset is not the RRset",
     [](Msg& m) { m.equals("www.example.com.", "A 192.0.2.80"); }, rcode::NXRRSET,
     "is not exactly the 1 record(s) given"},
    {"RRset exists (value): a superset is not the RRset",
     [](Msg& m) {
       m.equals("www.example.com.", "A 192.0.2.80").equals("www.example.com.", "A 192.0.2.81")
           .equals("www.example.com.", "A 192.0.2.82");
     },
     rcode::NXRRSET, ""},
    {"RRset exists (value): names in RDATA compare without case",
     [](Msg& m) { m.equals("example.com.", "NS NS1.Example.COM.").equals("example.com.", "NS ns2.example.com."); },
     rcode::NOERROR, ""},
    {"RRset exists (value): an absent RRset", [](Msg& m) { m.equals("www.example.com.", "AAAA 2001:db8::1"); },
     rcode::NXRRSET, ""},
    {"RRset exists (value): every group must match",
     [](Msg& m) {
       m.equals("www.example.com.", "TXT \"hello\"").equals("alias.example.com.", "CNAME mail.example.com.");
     },
     rcode::NXRRSET, "CNAME RRset of alias.example.com."},
    {"RRset exists (value): the SOA", [](Msg& m) {
       m.equals("example.com.", "SOA ns1.example.com. hostmaster.example.com. 100 7200 3600 1209600 300");
     },
     rcode::NOERROR, ""},
    {"several prerequisites, all true",
     [](Msg& m) {
       m.in_use("www.example.com.").not_in_use("new.example.com.").exists("mail.example.com.", rrtype::A)
           .not_exists("mail.example.com.", rrtype::AAAA);
     },
     rcode::NOERROR, ""},
    {"the first that fails gives the rcode",
     [](Msg& m) {
       m.in_use("www.example.com.").not_in_use("www.example.com.").exists("nothere.example.com.", rrtype::A);
     },
     rcode::YXDOMAIN, ""},
    {"value-dependent ones are compared after the others",
     [](Msg& m) { m.equals("www.example.com.", "A 192.0.2.80").not_exists("www.example.com.", rrtype::TXT); },
     rcode::YXRRSET, ""},
    {"a name outside the zone", [](Msg& m) { m.in_use("www.example.net."); }, rcode::NOTZONE,
     "www.example.net. is not in the zone example.com."},
    {"a name that only ends like the zone", [](Msg& m) { m.in_use("badexample.com."); }, rcode::NOTZONE, ""},
    {"TTL not 0", [](Msg& m) { m.pre("www.example.com.", rrclass::ANY, rrtype::A, "", 60); }, rcode::FORMERR,
     "TTL is 60"},
    {"class ANY with RDATA", [](Msg& m) { m.pre("www.example.com.", rrclass::ANY, rrtype::A, "\1\2\3\4"); },
     rcode::FORMERR, "RDLENGTH must be 0"},
    {"class NONE with RDATA", [](Msg& m) { m.pre("www.example.com.", rrclass::NONE, rrtype::A, "\1\2\3\4"); },
     rcode::FORMERR, "RDLENGTH must be 0"},
    {"another class", [](Msg& m) { m.pre("www.example.com.", rrclass::CH, rrtype::A); }, rcode::FORMERR,
     "class CH is neither"},
    {"zone class with type ANY", [](Msg& m) { m.pre("www.example.com.", rrclass::IN, rrtype::ANY); },
     rcode::FORMERR, "has no value"},
};

void PrintTo(const PrereqCase& c, std::ostream* os) { *os << c.what; }
class Prerequisites : public ::testing::TestWithParam<PrereqCase> {};

TEST_P(Prerequisites, Case) {
  const PrereqCase& c = GetParam();
  auto z = make_zone();
  ASSERT_TRUE(z);
  Msg m;
  c.build(m);
  m.add("new.example.com.", 300, "A 192.0.2.200");  // applied only when they all hold
  UpdatePlan p = run(*z, m.wire());
  EXPECT_EQ(rcode_text(p.status.rcode), rcode_text(c.rcode)) << c.what << ": " << p.status.message;
  EXPECT_NE(p.status.message.find(c.message), std::string::npos) << c.what << ": " << p.status.message;
  if (c.rcode == rcode::NOERROR)
    EXPECT_EQ(lines(p.changes), std::vector<std::string>{"+ new.example.com. 300 IN A 192.0.2.200"});
  else
    EXPECT_FALSE(p.changed()) << c.what;
}

INSTANTIATE_TEST_SUITE_P(Update, Prerequisites, ::testing::ValuesIn(kPrereqCases));

// ---------------------------------------------------------------------------------------
// The update section (RFC 2136 3.4)

struct UpdateCase {
  const char* what;
  std::function<void(Msg&)> build;
  uint16_t rcode;
  std::vector<std::string> diff;  // lines(), sorted
  uint32_t serial;                // the serial after (100: unchanged)
  const char* message;            // a part of the status message ("" = don't care)
};

const UpdateCase kUpdateCases[] = {
    // Adds (2.5.1, 3.4.2.2)
    {"add an RR at a new name", [](Msg& m) { m.add("new.example.com.", 300, "A 192.0.2.200"); },
     rcode::NOERROR, {"+ new.example.com. 300 IN A 192.0.2.200"}, 101, "1 added, 0 removed, serial 100 -> 101"},
    {"add an RR to an RRset with its TTL",
     [](Msg& m) { m.add("www.example.com.", 3600, "A 192.0.2.82"); }, rcode::NOERROR,
     {"+ www.example.com. 3600 IN A 192.0.2.82"}, 101, ""},
    {"owner names are case-insensitive and stored lowercased",
     [](Msg& m) { m.add("NEW.Example.COM.", 300, "A 192.0.2.200"); }, rcode::NOERROR,
     {"+ new.example.com. 300 IN A 192.0.2.200"}, 101, ""},
    {"a duplicate is ignored: nothing changes, no serial bump",
     [](Msg& m) { m.add("www.example.com.", 3600, "A 192.0.2.80"); }, rcode::NOERROR, {}, 100,
     "nothing to change"},
    {"a duplicate up to the case of a name in its RDATA",
     [](Msg& m) { m.add("example.com.", 3600, "NS NS1.EXAMPLE.COM."); }, rcode::NOERROR, {}, 100, ""},
    {"another TTL gives the whole RRset that TTL (RFC 2181 5.2)",
     [](Msg& m) { m.add("www.example.com.", 300, "A 192.0.2.82"); }, rcode::NOERROR,
     {"+ www.example.com. 300 IN A 192.0.2.80", "+ www.example.com. 300 IN A 192.0.2.81",
      "+ www.example.com. 300 IN A 192.0.2.82", "- www.example.com. 3600 IN A 192.0.2.80",
      "- www.example.com. 3600 IN A 192.0.2.81"},
     101, ""},
    {"a duplicate with another TTL changes only the TTL",
     [](Msg& m) { m.add("www.example.com.", 60, "TXT \"hello\""); }, rcode::NOERROR,
     {"+ www.example.com. 60 IN TXT \"hello\"", "- www.example.com. 3600 IN TXT \"hello\""}, 101, ""},
    {"add a type the name does not have yet", [](Msg& m) { m.add("www.example.com.", 300, "AAAA 2001:db8::80"); },
     rcode::NOERROR, {"+ www.example.com. 300 IN AAAA 2001:db8::80"}, 101, ""},
    {"add at an empty non-terminal", [](Msg& m) { m.add("b.c.example.com.", 300, "TXT \"ent\""); },
     rcode::NOERROR, {"+ b.c.example.com. 300 IN TXT \"ent\""}, 101, ""},
    {"several adds: one serial bump",
     [](Msg& m) {
       m.add("h1.example.com.", 300, "A 192.0.2.201").add("h2.example.com.", 300, "A 192.0.2.202")
           .add("h3.example.com.", 300, "A 192.0.2.203");
     },
     rcode::NOERROR,
     {"+ h1.example.com. 300 IN A 192.0.2.201", "+ h2.example.com. 300 IN A 192.0.2.202",
      "+ h3.example.com. 300 IN A 192.0.2.203"},
     101, ""},

    // CNAME (3.4.2.2)
    {"a CNAME at a name with other data is ignored",
     [](Msg& m) { m.add("www.example.com.", 300, "CNAME mail.example.com."); }, rcode::NOERROR, {}, 100,
     "CNAME at www.example.com. ignored: the name has other data"},
    {"other data at a CNAME is ignored",
     [](Msg& m) { m.add("alias.example.com.", 300, "A 192.0.2.7"); }, rcode::NOERROR, {}, 100,
     "A at alias.example.com. ignored: the name is a CNAME"},
    {"a CNAME replaces the CNAME",
     [](Msg& m) { m.add("alias.example.com.", 300, "CNAME mail.example.com."); }, rcode::NOERROR,
     {"+ alias.example.com. 300 IN CNAME mail.example.com.", "- alias.example.com. 3600 IN CNAME www.example.com."},
     101, ""},
    {"the same CNAME again: nothing changes",
     [](Msg& m) { m.add("alias.example.com.", 3600, "CNAME WWW.example.com."); }, rcode::NOERROR, {}, 100, ""},
    {"NSEC and RRSIG may stand beside a CNAME",
     [](Msg& m) {
       m.add("alias.example.com.", 3600, "NSEC mail.example.com. CNAME RRSIG NSEC")
           .add("alias.example.com.", 3600,
                "RRSIG CNAME 13 3 3600 20300101000000 20200101000000 12345 example.com. "
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
     },
     rcode::NOERROR,
     {"+ alias.example.com. 3600 IN NSEC mail.example.com. CNAME RRSIG NSEC",
      "+ alias.example.com. 3600 IN RRSIG CNAME 13 3 3600 20300101000000 20200101000000 12345 example.com. "
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
     101, ""},
    {"a CNAME at a new name", [](Msg& m) { m.add("w2.example.com.", 300, "CNAME www.example.com."); },
     rcode::NOERROR, {"+ w2.example.com. 300 IN CNAME www.example.com."}, 101, ""},
    {"a CNAME at the apex is ignored (SOA and NS are there)",
     [](Msg& m) { m.add("example.com.", 300, "CNAME www.example.com."); }, rcode::NOERROR, {}, 100, "ignored"},

    // Order: each RR sees the ones before it (3.4.2)
    {"CNAME then A at a new name: the A is ignored",
     [](Msg& m) { m.add("n.example.com.", 300, "CNAME www.example.com.").add("n.example.com.", 300, "A 192.0.2.7"); },
     rcode::NOERROR, {"+ n.example.com. 300 IN CNAME www.example.com."}, 101, "A at n.example.com. ignored"},
    {"A then CNAME at a new name: the CNAME is ignored",
     [](Msg& m) { m.add("n.example.com.", 300, "A 192.0.2.7").add("n.example.com.", 300, "CNAME www.example.com."); },
     rcode::NOERROR, {"+ n.example.com. 300 IN A 192.0.2.7"}, 101, "CNAME at n.example.com. ignored"},
    {"delete the CNAME, then data at the name is fine",
     [](Msg& m) { m.del_rrset("alias.example.com.", rrtype::CNAME).add("alias.example.com.", 300, "A 192.0.2.7"); },
     rcode::NOERROR,
     {"+ alias.example.com. 300 IN A 192.0.2.7", "- alias.example.com. 3600 IN CNAME www.example.com."}, 101, ""},
    {"add then delete: nothing changes",
     [](Msg& m) { m.add("new.example.com.", 300, "A 192.0.2.7").del_rr("new.example.com.", "A 192.0.2.7"); },
     rcode::NOERROR, {}, 100, "nothing to change"},
    {"delete then add back: nothing changes",
     [](Msg& m) { m.del_rrset("www.example.com.", rrtype::A).add("www.example.com.", 3600, "A 192.0.2.80")
                   .add("www.example.com.", 3600, "A 192.0.2.81"); },
     rcode::NOERROR, {}, 100, ""},
    {"delete the name, then add to it",
     [](Msg& m) { m.del_name("www.example.com.").add("www.example.com.", 300, "A 192.0.2.80"); },
     rcode::NOERROR,
     {"+ www.example.com. 300 IN A 192.0.2.80", "- www.example.com. 3600 IN A 192.0.2.80",
      "- www.example.com. 3600 IN A 192.0.2.81", "- www.example.com. 3600 IN TXT \"hello\""},
     101, ""},

    // Deletes (2.5.2-2.5.4, 3.4.2.3-3.4.2.4)
    {"delete an RRset", [](Msg& m) { m.del_rrset("www.example.com.", rrtype::A); }, rcode::NOERROR,
     {"- www.example.com. 3600 IN A 192.0.2.80", "- www.example.com. 3600 IN A 192.0.2.81"}, 101,
     "0 added, 2 removed"},
    {"delete an RRset that is not there", [](Msg& m) { m.del_rrset("www.example.com.", rrtype::AAAA); },
     rcode::NOERROR, {}, 100, ""},
    {"delete an RRset at a name that is not there", [](Msg& m) { m.del_rrset("nothere.example.com.", rrtype::A); },
     rcode::NOERROR, {}, 100, ""},
    {"delete every RRset of a name", [](Msg& m) { m.del_name("www.example.com."); }, rcode::NOERROR,
     {"- www.example.com. 3600 IN A 192.0.2.80", "- www.example.com. 3600 IN A 192.0.2.81",
      "- www.example.com. 3600 IN TXT \"hello\""},
     101, ""},
    {"delete every RRset of the apex keeps SOA and NS", [](Msg& m) { m.del_name("example.com."); }, rcode::NOERROR,
     {"- example.com. 3600 IN MX 10 mail.example.com.", "- example.com. 3600 IN TXT \"v=spf1 -all\""}, 101, ""},
    {"delete one RR", [](Msg& m) { m.del_rr("www.example.com.", "A 192.0.2.80"); }, rcode::NOERROR,
     {"- www.example.com. 3600 IN A 192.0.2.80"}, 101, ""},
    {"delete one RR: names in RDATA compare without case",
     [](Msg& m) { m.del_rr("example.com.", "MX 10 MAIL.example.com."); }, rcode::NOERROR,
     {"- example.com. 3600 IN MX 10 mail.example.com."}, 101, ""},
    {"delete an RR that is not there", [](Msg& m) { m.del_rr("www.example.com.", "A 192.0.2.99"); },
     rcode::NOERROR, {}, 100, ""},
    {"delete the last RR of a name", [](Msg& m) { m.del_rr("mail.example.com.", "A 192.0.2.25"); },
     rcode::NOERROR, {"- mail.example.com. 3600 IN A 192.0.2.25"}, 101, ""},

    // The apex (3.4.2.3, 3.4.2.4): ignored, and said so
    {"delete the SOA RRset: ignored", [](Msg& m) { m.del_rrset("example.com.", rrtype::SOA); }, rcode::NOERROR,
     {}, 100, "deleting the SOA RRset of the apex ignored"},
    {"delete the apex NS RRset: ignored", [](Msg& m) { m.del_rrset("example.com.", rrtype::NS); },
     rcode::NOERROR, {}, 100, "deleting the NS RRset of the apex ignored"},
    {"delete the SOA RR: ignored",
     [](Msg& m) { m.del_rr("example.com.", "SOA ns1.example.com. hostmaster.example.com. 100 7200 3600 1209600 300"); },
     rcode::NOERROR, {}, 100, "deleting the SOA ignored"},
    {"delete one apex NS of two", [](Msg& m) { m.del_rr("example.com.", "NS ns2.example.com."); },
     rcode::NOERROR, {"- example.com. 3600 IN NS ns2.example.com."}, 101, ""},
    {"delete both apex NS: the last one stays",
     [](Msg& m) { m.del_rr("example.com.", "NS ns2.example.com.").del_rr("example.com.", "NS ns1.example.com."); },
     rcode::NOERROR, {"- example.com. 3600 IN NS ns2.example.com."}, 101,
     "deleting NS ns1.example.com., the last NS of the apex, ignored"},
    {"replace the apex NS: add first, then delete",
     [](Msg& m) {
       m.add("example.com.", 3600, "NS ns3.example.com.").del_rr("example.com.", "NS ns1.example.com.")
           .del_rr("example.com.", "NS ns2.example.com.");
     },
     rcode::NOERROR,
     {"+ example.com. 3600 IN NS ns3.example.com.", "- example.com. 3600 IN NS ns1.example.com.",
      "- example.com. 3600 IN NS ns2.example.com."},
     101, ""},
    {"delete NS below the apex (a delegation) is allowed",
     [](Msg& m) { m.del_rrset("sub.example.com.", rrtype::NS).del_rr("ns.sub.example.com.", "A 192.0.2.53"); },
     rcode::NOERROR,
     {"- ns.sub.example.com. 3600 IN A 192.0.2.53", "- sub.example.com. 3600 IN NS ns.sub.example.com."}, 101, ""},

    // SOA in the update section (3.4.2.2): replaces the SOA only with a higher serial
    {"an SOA with a higher serial sets the serial (no other bump)",
     [](Msg& m) { m.add("example.com.", 600, "SOA ns1.example.com. hostmaster.example.com. 150 7200 3600 1209600 300"); },
     rcode::NOERROR, {}, 150, "serial 100 -> 150"},
    {"an SOA with a higher serial and other changes: its serial, bumped once",
     [](Msg& m) {
       m.add("new.example.com.", 300, "A 192.0.2.200")
           .add("example.com.", 3600, "SOA ns1.example.com. hostmaster.example.com. 150 7200 3600 1209600 300");
     },
     rcode::NOERROR, {"+ new.example.com. 300 IN A 192.0.2.200"}, 150, ""},
    {"an SOA with the same serial is ignored",
     [](Msg& m) { m.add("example.com.", 3600, "SOA ns1.example.com. hostmaster.example.com. 100 1 1 1 1"); },
     rcode::NOERROR, {}, 100, "SOA with serial 100 ignored: not above the serial 100"},
    {"an SOA with a lower serial is ignored, the rest applies",
     [](Msg& m) {
       m.add("example.com.", 3600, "SOA ns1.example.com. hostmaster.example.com. 99 7200 3600 1209600 300")
           .add("new.example.com.", 300, "A 192.0.2.200");
     },
     rcode::NOERROR, {"+ new.example.com. 300 IN A 192.0.2.200"}, 101, "SOA with serial 99 ignored"},
    {"an SOA below the apex is ignored",
     [](Msg& m) { m.add("www.example.com.", 3600, "SOA ns1.example.com. hostmaster.example.com. 150 1 1 1 1"); },
     rcode::NOERROR, {}, 100, "SOA at www.example.com. ignored: it is not the zone apex"},
    {"two SOAs: the second is compared with the first",
     [](Msg& m) {
       m.add("example.com.", 3600, "SOA ns1.example.com. hostmaster.example.com. 150 7200 3600 1209600 300")
           .add("example.com.", 3600, "SOA ns1.example.com. hostmaster.example.com. 120 7200 3600 1209600 300");
     },
     rcode::NOERROR, {}, 150, "SOA with serial 120 ignored: not above the serial 150"},
    {"serial arithmetic wraps (RFC 1982)",
     [](Msg& m) { m.add("example.com.", 3600, "SOA ns1.example.com. hostmaster.example.com. 4294967295 1 1 1 1"); },
     rcode::NOERROR, {}, 100, "ignored"},

    // Refused: what the zone could not hold, with the RR that causes it
    {"NS whose target is a CNAME in the zone (RFC 2181 10.3)",
     [](Msg& m) { m.add("new.example.com.", 300, "A 192.0.2.7").add("sub.example.com.", 3600, "NS alias.example.com."); },
     rcode::REFUSED, {}, 100, "NS alias.example.com. at sub.example.com. refused: the target is a CNAME"},
    {"NS whose target became a CNAME earlier in the message",
     [](Msg& m) { m.add("c2.example.com.", 300, "CNAME www.example.com.").add("example.com.", 3600, "NS c2.example.com."); },
     rcode::REFUSED, {}, 100, "target is a CNAME"},
    {"NS whose target is a CNAME outside the zone is not ours to judge",
     [](Msg& m) { m.add("example.com.", 3600, "NS ns.example.net."); }, rcode::NOERROR,
     {"+ example.com. 3600 IN NS ns.example.net."}, 101, ""},
    {"data below a DNAME", [](Msg& m) { m.add("x.dn.example.com.", 300, "A 192.0.2.7"); }, rcode::REFUSED, {},
     100, "A at x.dn.example.com. refused: the name is below the DNAME at dn.example.com."},
    {"an address below a delegation is applied with a warning: glue only",
     [](Msg& m) { m.add("www.sub.example.com.", 300, "A 192.0.2.7"); }, rcode::NOERROR,
     {"+ www.sub.example.com. 300 IN A 192.0.2.7"}, 101,
     "warning: A at www.sub.example.com. is below the delegation at sub.example.com.: served "
     "only as glue"},
    {"other data below a delegation is applied with a warning: never served",
     [](Msg& m) { m.add("x.sub.example.com.", 300, "TXT \"x\""); }, rcode::NOERROR,
     {"+ x.sub.example.com. 300 IN TXT \"x\""}, 101,
     "warning: TXT at x.sub.example.com. is below the delegation at sub.example.com.: hidden, "
     "never served"},
    {"data beside a DNAME is fine", [](Msg& m) { m.add("dn.example.com.", 300, "TXT \"x\""); }, rcode::NOERROR,
     {"+ dn.example.com. 300 IN TXT \"x\""}, 101, ""},
    {"a DNAME replaces the DNAME", [](Msg& m) { m.add("dn.example.com.", 3600, "DNAME other.example.org."); },
     rcode::NOERROR,
     {"+ dn.example.com. 3600 IN DNAME other.example.org.", "- dn.example.com. 3600 IN DNAME target.example.net."},
     101, ""},
    {"a name outside the zone", [](Msg& m) { m.add("new.example.com.", 300, "A 192.0.2.7").add("www.example.net.", 300, "A 192.0.2.7"); },
     rcode::NOTZONE, {}, 100, "update name www.example.net. is not in the zone example.com."},
    {"a delete outside the zone", [](Msg& m) { m.del_name("example.net."); }, rcode::NOTZONE, {}, 100, ""},
    {"malformed RDATA: an A of 3 bytes",
     [](Msg& m) { m.upd("new.example.com.", rrclass::IN, rrtype::A, 300, std::string("\1\2\3", 3)); },
     rcode::FORMERR, {}, 100, "RDATA of A at new.example.com. is malformed"},
    {"malformed RDATA: an A of 5 bytes",
     [](Msg& m) { m.upd("new.example.com.", rrclass::IN, rrtype::A, 300, std::string("\1\2\3\4\5", 5)); },
     rcode::FORMERR, {}, 100, "malformed"},
    {"malformed RDATA: an empty A", [](Msg& m) { m.upd("new.example.com.", rrclass::IN, rrtype::A, 300, ""); },
     rcode::FORMERR, {}, 100, "malformed"},
    {"malformed RDATA: a TXT string longer than its RDATA",
     [](Msg& m) { m.upd("new.example.com.", rrclass::IN, rrtype::TXT, 300, std::string("\5ab", 3)); },
     rcode::FORMERR, {}, 100, "malformed"},
    {"an unknown type is kept as it is (RFC 3597)",
     [](Msg& m) { m.upd("new.example.com.", rrclass::IN, 65280, 300, "xyz"); }, rcode::NOERROR,
     {"+ new.example.com. 300 IN TYPE65280 \\# 3 78797a"}, 101, ""},
    {"an owner starting with $ is written and read back as a name, not a directive",
     [](Msg& m) { m.add("$INCLUDE.example.com.", 300, "TXT \"x\"").add("$ORIGIN.example.com.", 300, "TXT \"y\""); },
     rcode::NOERROR,
     {"+ $include.example.com. 300 IN TXT \"x\"", "+ $origin.example.com. 300 IN TXT \"y\""}, 101, ""},
    {"an empty update section changes nothing", [](Msg& m) {}, rcode::NOERROR, {}, 100, "nothing to change"},
};

void PrintTo(const UpdateCase& c, std::ostream* os) { *os << c.what; }
class UpdateSection : public ::testing::TestWithParam<UpdateCase> {};

TEST_P(UpdateSection, Case) {
  const UpdateCase& c = GetParam();
  auto z = make_zone();
  ASSERT_TRUE(z);
  Msg m;
  c.build(m);
  UpdatePlan p = run(*z, m.wire());
  EXPECT_EQ(rcode_text(p.status.rcode), rcode_text(c.rcode)) << c.what << ": " << p.status.message;
  EXPECT_NE(p.status.message.find(c.message), std::string::npos) << c.what << ": " << p.status.message;
  EXPECT_EQ(joined(lines(p.changes)), joined(c.diff)) << c.what;
  if (c.rcode != rcode::NOERROR) {
    EXPECT_FALSE(p.changed()) << c.what << ": a refused update changes nothing";
    return;
  }
  EXPECT_EQ(p.changes.from_serial(), 100u);
  EXPECT_EQ(p.changes.to_serial(), c.serial) << c.what;
  EXPECT_EQ(p.changed(), c.serial != 100) << c.what;
  for (const auto* list : {&p.changes.removed, &p.changes.added})
    for (const auto& r : *list) EXPECT_NE(r.type, rrtype::SOA) << c.what;
  if (!p.changed()) return;
  // The commit must take it: the changeset applies and the result is what was planned.
  std::vector<ZoneError> errors;
  auto after = apply(z, p.changes, errors);
  for (const auto& e : errors) ADD_FAILURE() << c.what << ": " << e.str();
  ASSERT_TRUE(after) << c.what;
  EXPECT_EQ(after->serial(), c.serial);
  Changeset back = diff_zones(*z, *after);
  EXPECT_EQ(joined(lines(back)), joined(c.diff)) << c.what;
}

INSTANTIATE_TEST_SUITE_P(Update, UpdateSection, ::testing::ValuesIn(kUpdateCases));

TEST(UpdateSerial, TheCallersSerialMustBeAboveTheZones) {
  auto z = make_zone();
  ASSERT_TRUE(z);
  Msg m;
  m.add("new.example.com.", 300, "A 192.0.2.200");
  for (uint32_t stale : {100u, 99u}) {
    UpdatePlan p = run(*z, m.wire(), stale);
    EXPECT_EQ(p.status.rcode, rcode::SERVFAIL) << stale;
    EXPECT_NE(p.status.message.find("is not above the zone's serial 100"), std::string::npos)
        << p.status.message;
    EXPECT_FALSE(p.changed());
  }
  // Not asked for when nothing changes.
  Msg none;
  none.add("www.example.com.", 3600, "A 192.0.2.80");
  EXPECT_EQ(run(*z, none.wire(), 100).status.rcode, rcode::NOERROR);
  // An SOA of the update itself needs no serial from the caller.
  Msg soa;
  soa.add("example.com.", 3600, "SOA ns1.example.com. hostmaster.example.com. 150 7200 3600 1209600 300")
      .add("new.example.com.", 300, "A 192.0.2.200");
  UpdatePlan p = run(*z, soa.wire(), 100);
  EXPECT_EQ(p.status.rcode, rcode::NOERROR) << p.status.message;
  EXPECT_EQ(p.changes.to_serial(), 150u);
}

TEST(UpdateSerial, AnSoaUpdateChangesTheOtherFieldsAndTtlToo) {
  auto z = make_zone();
  ASSERT_TRUE(z);
  Msg m;
  m.add("example.com.", 600, "SOA ns2.example.com. admin.example.com. 150 1800 900 604800 60");
  UpdatePlan p = run(*z, m.wire());
  ASSERT_EQ(p.status.rcode, rcode::NOERROR) << p.status.message;
  EXPECT_EQ(record_text(p.changes.soa_to),
            "example.com. 600 IN SOA ns2.example.com. admin.example.com. 150 1800 900 604800 60");
  std::vector<ZoneError> errors;
  auto after = apply(z, p.changes, errors);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->soa().ttl, 600u);
  EXPECT_EQ(after->negative_ttl(), 60u);
}

TEST(UpdateOrder, TheChangesetFollowsTheMessage) {
  auto z = make_zone();
  ASSERT_TRUE(z);
  Msg m;
  m.add("z1.example.com.", 300, "A 192.0.2.1").add("a1.example.com.", 300, "A 192.0.2.2")
      .del_rr("www.example.com.", "A 192.0.2.81");
  UpdatePlan p = run(*z, m.wire());
  ASSERT_EQ(p.changes.added.size(), 2u);
  EXPECT_EQ(p.changes.added[0].owner, W("z1.example.com."));
  EXPECT_EQ(p.changes.added[1].owner, W("a1.example.com."));
  ASSERT_EQ(p.changes.removed.size(), 1u);
}

TEST(UpdateCommit, WhatOnlyTheLoadChecksSeeIsRefusedByTheCommit) {
  // Deleting the glue a delegation needs, or making an apex NS target a CNAME: the plan is
  // what the RFC says, and the commit's validation refuses it with the reason.
  const char* zone = R"($ORIGIN example.com.
@      3600 SOA ns1 hostmaster 100 7200 3600 1209600 300
@      3600 NS  ns1
@      3600 NS  ns3
ns1    3600 A   192.0.2.1
sub    3600 NS  ns.sub
ns.sub 3600 A   192.0.2.53
)";
  auto z = make_zone(zone);
  ASSERT_TRUE(z);
  struct {
    std::function<void(Msg&)> build;
    const char* error;
  } cases[] = {
      {[](Msg& m) { m.del_rr("ns.sub.example.com.", "A 192.0.2.53"); }, "has no glue"},
      {[](Msg& m) { m.add("ns3.example.com.", 300, "CNAME ns1.example.com."); }, "is a CNAME (RFC 2181 10.3)"},
  };
  for (const auto& c : cases) {
    Msg m;
    c.build(m);
    UpdatePlan p = run(*z, m.wire());
    ASSERT_EQ(p.status.rcode, rcode::NOERROR) << p.status.message;
    ASSERT_TRUE(p.changed());
    std::vector<ZoneError> errors;
    EXPECT_FALSE(apply(z, p.changes, errors));
    std::string all;
    for (const auto& e : errors) all += e.str() + "\n";
    EXPECT_NE(all.find(c.error), std::string::npos) << all;
  }
}

TEST(UpdateZone, TheZoneSectionMustNameTheZone) {
  auto z = make_zone();
  ASSERT_TRUE(z);
  Msg other;
  other.zone = "example.net.";
  EXPECT_EQ(run(*z, other.wire()).status.rcode, rcode::NOTAUTH);
  Msg upper;
  upper.zone = "EXAMPLE.Com.";
  upper.add("new.example.com.", 300, "A 192.0.2.200");
  EXPECT_EQ(run(*z, upper.wire()).status.rcode, rcode::NOERROR);
  Msg chaos;
  chaos.zclass = rrclass::CH;
  UpdatePlan p = run(*z, chaos.wire());
  EXPECT_EQ(p.status.rcode, rcode::NOTAUTH);
  EXPECT_NE(p.status.message.find("class CH"), std::string::npos) << p.status.message;
}

TEST(UpdateSignedZone, RrsigsKeepTheTtlOfWhatTheyCover) {
  // An RRSIG's TTL follows the RRset it covers (one RRSIG RRset per name in the zone): adding
  // one with another TTL must not retime the others.
  auto z = make_zone();
  ASSERT_TRUE(z);
  const std::string sig = "13 3 3600 20300101000000 20200101000000 12345 example.com. AAAA";
  Msg m;
  m.add("www.example.com.", 3600, "RRSIG A " + sig).add("www.example.com.", 3600, "RRSIG TXT " + sig)
      .add("www.example.com.", 60, "RRSIG A 13 3 60 20300101000000 20200101000000 54321 example.com. AAAA");
  UpdatePlan p = run(*z, m.wire());
  ASSERT_EQ(p.status.rcode, rcode::NOERROR) << p.status.message;
  EXPECT_EQ(p.changes.added.size(), 3u);
  EXPECT_TRUE(p.changes.removed.empty()) << joined(lines(p.changes));
}

// ---------------------------------------------------------------------------------------
// Malformed messages (RFC 2136 3.1.1, 2.4, 2.5): FORMERR with what is wrong

struct MalformedCase {
  const char* what;
  std::function<std::string()> wire;
  const char* message;
  bool has_zone;  // the zone section was read (the response echoes it)
};

std::string valid_add() {
  Msg m;
  m.add("www.example.com.", 300, "A 192.0.2.1");
  return m.wire();
}

const MalformedCase kMalformed[] = {
    {"no zone section", [] { Msg m; m.zocount = 0; return m.wire(); }, "the zone section has 0 records", false},
    {"two zone RRs",
     [] {
       Msg m;
       m.zocount = 2;
       std::string w = m.wire();
       return w + N("example.com.") + u16(rrtype::SOA) + u16(rrclass::IN);
     },
     "the zone section has 2 records", false},
    {"zone type A", [] { Msg m; m.ztype = rrtype::A; return m.wire(); }, "type A; it must be SOA", true},
    {"zone class ANY", [] { Msg m; m.zclass = rrclass::ANY; return m.wire(); }, "class ANY is not a zone's class",
     true},
    {"QR set", [] { Msg m; m.flags |= flag::QR; return m.wire(); }, "QR is set", false},
    {"opcode QUERY", [] { Msg m; m.flags = 0; return m.wire(); }, "opcode 0 is not UPDATE", false},
    {"zone name with a forward pointer",
     [] { return u16(1) + u16(opcode::UPDATE << 11) + u16(1) + u16(0) + u16(0) + u16(0) + "\xC0\x20" + u16(6) + u16(1); },
     "compression pointer", false},
    {"update RR with a meta type", [] { Msg m; m.upd("www.example.com.", rrclass::IN, rrtype::AXFR, 0, ""); return m.wire(); },
     "meta type AXFR cannot be added", true},
    {"update RR adding type ANY", [] { Msg m; m.upd("www.example.com.", rrclass::IN, rrtype::ANY, 0, ""); return m.wire(); },
     "meta type ANY cannot be added", true},
    {"update RR adding a TSIG", [] { Msg m; m.upd("www.example.com.", rrclass::IN, rrtype::TSIG, 0, ""); return m.wire(); },
     "meta type TSIG", true},
    {"delete RRset with TTL", [] { Msg m; m.upd("www.example.com.", rrclass::ANY, rrtype::A, 300, ""); return m.wire(); },
     "update RR 1 (www.example.com. ANY A): TTL is 300; a delete has TTL 0", true},
    {"delete RRset with RDATA",
     [] { Msg m; m.upd("www.example.com.", rrclass::ANY, rrtype::A, 0, "\1\2\3\4"); return m.wire(); },
     "class ANY with RDATA", true},
    {"delete RRset of type AXFR",
     [] { Msg m; m.upd("www.example.com.", rrclass::ANY, rrtype::AXFR, 0, ""); return m.wire(); },
     "meta type AXFR cannot be deleted", true},
    {"delete RR with TTL",
     [] { Msg m; m.upd("www.example.com.", rrclass::NONE, rrtype::A, 300, "\1\2\3\4"); return m.wire(); },
     "TTL is 300", true},
    {"delete RR of type ANY", [] { Msg m; m.upd("www.example.com.", rrclass::NONE, rrtype::ANY, 0, ""); return m.wire(); },
     "meta type ANY cannot be deleted as one RR", true},
    {"update RR of class CH", [] { Msg m; m.upd("www.example.com.", rrclass::CH, rrtype::A, 0, "\1\2\3\4"); return m.wire(); },
     "class CH is neither the zone's class IN, ANY nor NONE", true},
    {"the second update RR is bad",
     [] {
       Msg m;
       m.add("www.example.com.", 300, "A 192.0.2.1").upd("www.example.com.", 42, rrtype::A, 0, "");
       return m.wire();
     },
     "update RR 2", true},
    {"RDLENGTH past the end",
     [] { std::string w = valid_add(); return w.substr(0, w.size() - 1); }, "update RR 1: RDATA runs past the end",
     true},
    {"an MX whose name does not fill its RDATA",
     [] { Msg m; m.upd("www.example.com.", rrclass::IN, rrtype::MX, 300, u16(10) + N("mx.example.com.") + "x"); return m.wire(); },
     "RDATA of MX is malformed", true},
    {"more RRs announced than present",
     [] { std::string w = valid_add(); w[9] = 2; return w; }, "update RR 2: owner name is truncated", true},
    {"TSIG not last",
     [] {
       Msg m;
       m.add("www.example.com.", 300, "A 192.0.2.1")
           .extra(Msg::rr("k.", rrclass::ANY, rrtype::TSIG, 0, std::string(20, 'x')))
           .extra(Msg::rr(".", 1232, rrtype::OPT, 0, ""));
       return m.wire();
     },
     "TSIG is not the last record", true},
    {"an additional RR cut short",
     [] { Msg m; m.extra(Msg::rr("k.", rrclass::ANY, rrtype::TSIG, 0, "abc")); std::string w = m.wire(); return w.substr(0, w.size() - 2); },
     "additional RR 1 is malformed or truncated", true},
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.what; }
class Malformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(Malformed, Case) {
  const MalformedCase& c = GetParam();
  UpdateRequest u;
  UpdateStatus s = parse(c.wire(), u);
  EXPECT_EQ(rcode_text(s.rcode), "FORMERR") << c.what;
  EXPECT_NE(s.message.find(c.message), std::string::npos) << c.what << ": " << s.message;
  EXPECT_TRUE(u.has_header);
  EXPECT_EQ(u.has_zone, c.has_zone) << c.what;
}

INSTANTIATE_TEST_SUITE_P(Update, Malformed, ::testing::ValuesIn(kMalformed));

TEST(UpdateParse, EveryTruncationIsFormerrNeverACrash) {
  Msg m;
  m.in_use("www.example.com.").equals("www.example.com.", "TXT \"hello\"")
      .add("www.example.com.", 300, "MX 10 mail.example.com.").del_rr("example.com.", "NS ns2.example.com.")
      .extra(Msg::rr("k.", rrclass::ANY, rrtype::TSIG, 0, std::string(30, 'x')));
  std::string w = m.wire();
  UpdateRequest u;
  ASSERT_TRUE(parse(w, u).ok());
  for (size_t len = 0; len < w.size(); ++len) {
    UpdateStatus s = parse_update(reinterpret_cast<const uint8_t*>(w.data()), len, u);
    EXPECT_EQ(s.rcode, rcode::FORMERR) << len;
    EXPECT_FALSE(s.message.empty()) << len;
    EXPECT_EQ(u.has_header, len >= 12) << len;
  }
}

TEST(UpdateParse, FormsAndNames) {
  Msg m;
  m.in_use("a.example.com.").not_in_use("b.example.com.").exists("c.example.com.", rrtype::MX)
      .not_exists("d.example.com.", rrtype::TXT).equals("E.example.com.", "A 192.0.2.5");
  m.add("F.Example.com.", 300, "MX 10 Mail.Example.com.").del_rrset("g.example.com.", rrtype::A)
      .del_name("h.example.com.").del_rr("i.example.com.", "A 192.0.2.9");
  UpdateRequest u;
  UpdateStatus s = parse(m.wire(), u);
  ASSERT_TRUE(s.ok()) << s.message;
  EXPECT_EQ(u.id, 0x4242);
  EXPECT_EQ(u.zone, W("example.com."));
  ASSERT_EQ(u.prerequisites.size(), 5u);
  const PrereqKind kinds[] = {PrereqKind::name_in_use, PrereqKind::name_not_in_use, PrereqKind::rrset_exists,
                              PrereqKind::rrset_not_exists, PrereqKind::rrset_equals};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(u.prerequisites[i].kind, kinds[i]) << i;
  EXPECT_EQ(u.prerequisites[4].name, W("e.example.com."));
  ASSERT_EQ(u.updates.size(), 4u);
  EXPECT_EQ(u.updates[0].kind, UpdateKind::add);
  EXPECT_EQ(u.updates[0].name, W("f.example.com."));
  EXPECT_EQ(u.updates[0].ttl, 300u);
  EXPECT_EQ(u.updates[0].rdata, u16(10) + N("Mail.Example.com."));  // case kept in RDATA
  EXPECT_EQ(u.updates[1].kind, UpdateKind::delete_rrset);
  EXPECT_EQ(u.updates[2].kind, UpdateKind::delete_name);
  EXPECT_EQ(u.updates[3].kind, UpdateKind::delete_rr);
}

// ---------------------------------------------------------------------------------------
// Messages as nsupdate and knsupdate send them (captured from the real tools pointed at a
// UDP listener on 127.0.0.1, e.g.
//   printf 'server 127.0.0.1 5353\nzone example.com.\nupdate add ... \nsend\n' | nsupdate
// with the listener writing each datagram out as hex).

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

struct CapturedCase {
  const char* what;
  const char* hex;
  std::vector<std::string> diff;
};

const CapturedCase kCaptured[] = {
    {"nsupdate: update add _acme-challenge.example.com. 300 TXT \"tok-123\" (certbot's add)",
     "63f728000001000000010000076578616d706c6503636f6d00000600010f5f61636d652d6368616c6c656e6765c00c00100001"
     "0000012c000807746f6b2d313233",
     {"+ _acme-challenge.example.com. 300 IN TXT \"tok-123\""}},
    {"nsupdate: update delete _acme-challenge.example.com. TXT \"tok-123\" (after an add of it)",
     "1bde28000001000000010000076578616d706c6503636f6d00000600010f5f61636d652d6368616c6c656e6765c00c0010"
     "00fe00000000000807746f6b2d313233",
     {}},
    {"nsupdate: prereq nxdomain host.example.com. + update add host.example.com. 300 A 192.0.2.1",
     "aeac28000001000100010000076578616d706c6503636f6d000006000104686f7374c00c00ff00fe000000000000c01d0001"
     "00010000012c0004c0000201",
     {"+ host.example.com. 300 IN A 192.0.2.1"}},
    {"nsupdate: update delete www.example.com. (every RRset)",
     "9f0b28000001000000010000076578616d706c6503636f6d000006000103777777c00c00ff00ff000000000000",
     {"- www.example.com. 3600 IN A 192.0.2.80", "- www.example.com. 3600 IN A 192.0.2.81",
      "- www.example.com. 3600 IN TXT \"hello\""}},
    {"nsupdate -y hmac-sha256:update-key:...: update add www.example.com. 60 A 192.0.2.7 (the TSIG is skipped)",
     "3d9228000001000000010001076578616d706c6503636f6d000006000103777777c00c000100010000003c0004c00002070a"
     "7570646174652d6b65790000fa00ff00000000003d0b686d61632d7368613235360000006b11cfee012c00203bc339793840"
     "aa0f9cc8d0cb54ec5abfccf89320037748ce23cf5486324e50fb3d9200000000",
     {"+ www.example.com. 60 IN A 192.0.2.7", "+ www.example.com. 60 IN A 192.0.2.80",
      "+ www.example.com. 60 IN A 192.0.2.81", "- www.example.com. 3600 IN A 192.0.2.80",
      "- www.example.com. 3600 IN A 192.0.2.81"}},
    {"nsupdate: prereq yxrrset www A 192.0.2.7 fails (NXRRSET)",
     "73d328000001000300020000076578616d706c6503636f6d000006000103777777c00c00010001000000000004c0000207c0"
     "1d001c00fe000000000000c01d00ff00ff000000000000c01d000100ff000000000000c01d000f00010000003c0009000a04"
     "6d61696cc00c",
     {}},
    {"knsupdate: update add _acme-challenge.example.com. 300 TXT \"tok-kn\"",
     "3d3928000001000000010000076578616d706c6503636f6d00000600010f5f61636d652d6368616c6c656e6765c00c001000"
     "010000012c000706746f6b2d6b6e",
     {"+ _acme-challenge.example.com. 300 IN TXT \"tok-kn\""}},
};

void PrintTo(const CapturedCase& c, std::ostream* os) { *os << c.what; }
class Captured : public ::testing::TestWithParam<CapturedCase> {};

TEST_P(Captured, Case) {
  const CapturedCase& c = GetParam();
  auto z = make_zone();
  ASSERT_TRUE(z);
  UpdatePlan p = run(*z, unhex(c.hex));
  EXPECT_EQ(joined(lines(p.changes)), joined(c.diff)) << c.what << ": " << p.status.message;
}

INSTANTIATE_TEST_SUITE_P(Update, Captured, ::testing::ValuesIn(kCaptured));

TEST(UpdateCaptured, CertbotAddThenDeleteLeavesTheZoneAsItWas) {
  auto z = make_zone();
  ASSERT_TRUE(z);
  UpdatePlan add = run(*z, unhex(kCaptured[0].hex));
  ASSERT_EQ(add.status.rcode, rcode::NOERROR) << add.status.message;
  std::vector<ZoneError> errors;
  auto z2 = apply(z, add.changes, errors);
  ASSERT_TRUE(z2);
  UpdatePlan del = run(*z2, unhex(kCaptured[1].hex), 102);
  ASSERT_EQ(del.status.rcode, rcode::NOERROR) << del.status.message;
  EXPECT_EQ(joined(lines(del.changes)), "- _acme-challenge.example.com. 300 IN TXT \"tok-123\"\n");
  auto z3 = apply(z2, del.changes, errors);
  ASSERT_TRUE(z3);
  EXPECT_EQ(z3->serial(), 102u);
  EXPECT_TRUE(diff_zones(*z, *z3).empty());
}

TEST(UpdateCaptured, PrerequisitesAndMxDecompressedFromNsupdate) {
  auto z = make_zone();
  ASSERT_TRUE(z);
  UpdateRequest u;
  ASSERT_TRUE(parse(unhex(kCaptured[5].hex), u).ok());
  ASSERT_EQ(u.prerequisites.size(), 3u);
  EXPECT_EQ(u.prerequisites[0].kind, PrereqKind::rrset_equals);
  EXPECT_EQ(u.prerequisites[1].kind, PrereqKind::rrset_not_exists);
  EXPECT_EQ(u.prerequisites[1].type, rrtype::AAAA);
  EXPECT_EQ(u.prerequisites[2].kind, PrereqKind::name_in_use);
  ASSERT_EQ(u.updates.size(), 2u);
  EXPECT_EQ(u.updates[0].kind, UpdateKind::delete_rrset);
  EXPECT_EQ(u.updates[1].rdata, u16(10) + W("mail.example.com."));  // the pointer was followed
  UpdateStatus s = check_prerequisites(u, *z);
  EXPECT_EQ(s.rcode, rcode::NXRRSET) << s.message;
}

// Built by ldns (ldns_update_pkt_new), the way ldns-based tools send them.
TEST(UpdateLdns, MessageFromLdnsUpdatePkt) {
  ldns_rdf* zone = ldns_dname_new_frm_str("example.com.");
  ldns_rr_list* pre = ldns_rr_list_new();
  ldns_rr_list* up = ldns_rr_list_new();
  ldns_rr* rr = nullptr;
  ASSERT_EQ(ldns_rr_new_frm_str(&rr, "www.example.com. 0 IN A 192.0.2.80", 0, nullptr, nullptr), LDNS_STATUS_OK);
  ldns_rr_list_push_rr(pre, rr);
  ASSERT_EQ(ldns_rr_new_frm_str(&rr, "www.example.com. 0 IN A 192.0.2.81", 0, nullptr, nullptr), LDNS_STATUS_OK);
  ldns_rr_list_push_rr(pre, rr);
  ASSERT_EQ(ldns_rr_new_frm_str(&rr, "www.example.com. 120 IN AAAA 2001:db8::80", 0, nullptr, nullptr),
            LDNS_STATUS_OK);
  ldns_rr_list_push_rr(up, rr);
  ldns_pkt* pkt = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, pre, up, nullptr);
  ldns_rr_list_deep_free(pre);
  ldns_rr_list_deep_free(up);
  ASSERT_TRUE(pkt);
  ldns_pkt_set_id(pkt, 777);
  uint8_t* wire = nullptr;
  size_t n = 0;
  ASSERT_EQ(ldns_pkt2wire(&wire, pkt, &n), LDNS_STATUS_OK);
  std::string w(reinterpret_cast<char*>(wire), n);
  free(wire);
  ldns_pkt_free(pkt);

  auto z = make_zone();
  ASSERT_TRUE(z);
  UpdateRequest u;
  ASSERT_TRUE(parse(w, u).ok());
  EXPECT_EQ(u.id, 777);
  UpdatePlan p = run(*z, w);
  EXPECT_EQ(p.status.rcode, rcode::NOERROR) << p.status.message;
  EXPECT_EQ(joined(lines(p.changes)), "+ www.example.com. 120 IN AAAA 2001:db8::80\n");
}

// ---------------------------------------------------------------------------------------
// Update policy (RFC 3007; BIND update-policy, Knot update-owner)

UpdatePolicy example_policy() {
  UpdatePolicy p;
  std::string err;
  EXPECT_TRUE(p.add_rule("acme-key", "wildcard", "_acme-challenge.*", {"TXT"}, &err)) << err;
  EXPECT_TRUE(p.add_rule("dhcp-key", "subdomain", "dyn.example.com", {"A", "AAAA", "txt"}, &err)) << err;
  EXPECT_TRUE(p.add_rule("host1.example.com", "self", "", {"ANY"}, &err)) << err;
  EXPECT_TRUE(p.add_rule("host2.example.com.", "selfsub", "", {"A"}, &err)) << err;
  EXPECT_TRUE(p.add_rule("www-key", "name", "www.example.com.", {"A", "TYPE65280"}, &err)) << err;
  EXPECT_TRUE(p.add_rule("lab-key", "wildcard", "*.lab.example.com", {}, &err)) << err;
  EXPECT_TRUE(p.add_rule("admin", "zonesub", "", {}, &err)) << err;
  return p;
}

struct PolicyCase {
  const char* key;
  const char* name;
  uint16_t type;
  bool allowed;
};

const PolicyCase kPolicyCases[] = {
    {"acme-key.", "_acme-challenge.example.com.", rrtype::TXT, true},
    {"acme-key.", "_acme-challenge.www.example.com.", rrtype::TXT, true},
    {"acme-key.", "_ACME-Challenge.deep.www.example.com.", rrtype::TXT, true},
    {"acme-key.", "_acme-challenge.example.com.", rrtype::A, false},
    {"acme-key.", "www.example.com.", rrtype::TXT, false},
    {"acme-key.", "x._acme-challenge.example.com.", rrtype::TXT, false},
    {"acme-key.", "_acme-challenge.example.net.", rrtype::TXT, false},  // outside the zone
    {"dhcp-key.", "dyn.example.com.", rrtype::A, true},
    {"dhcp-key.", "pc1.dyn.example.com.", rrtype::AAAA, true},
    {"dhcp-key.", "pc1.dyn.example.com.", rrtype::TXT, true},
    {"dhcp-key.", "pc1.dyn.example.com.", rrtype::MX, false},
    {"dhcp-key.", "dyn2.example.com.", rrtype::A, false},
    {"dhcp-key.", "www.example.com.", rrtype::A, false},
    {"host1.example.com.", "host1.example.com.", rrtype::MX, true},
    {"host1.example.com.", "x.host1.example.com.", rrtype::A, false},
    {"host2.example.com.", "x.host2.example.com.", rrtype::A, true},
    {"host2.example.com.", "host2.example.com.", rrtype::A, true},
    {"host2.example.com.", "host2.example.com.", rrtype::TXT, false},
    {"www-key.", "www.example.com.", rrtype::A, true},
    {"www-key.", "www.example.com.", 65280, true},
    {"www-key.", "www.example.com.", rrtype::AAAA, false},
    {"www-key.", "x.www.example.com.", rrtype::A, false},
    {"lab-key.", "a.lab.example.com.", rrtype::SRV, true},
    {"lab-key.", "a.b.lab.example.com.", rrtype::A, true},
    {"lab-key.", "lab.example.com.", rrtype::A, false},
    {"admin.", "example.com.", rrtype::SOA, true},
    {"admin.", "anything.at.all.example.com.", rrtype::NS, true},
    {"admin.", "example.org.", rrtype::A, false},
    {"unknown-key.", "www.example.com.", rrtype::A, false},
    {"", "www.example.com.", rrtype::A, false},
};

void PrintTo(const PolicyCase& c, std::ostream* os) {
  *os << (*c.key ? c.key : "(unsigned)") << " " << c.name << " type " << c.type;
}
class Policy : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(Policy, Case) {
  const PolicyCase& c = GetParam();
  UpdatePolicy p = example_policy();
  std::string key = *c.key ? W(c.key) : std::string();
  EXPECT_EQ(p.permits(key, W(c.name), W("example.com."), c.type), c.allowed)
      << c.key << " " << c.name << " " << c.type;
}

INSTANTIATE_TEST_SUITE_P(Update, Policy, ::testing::ValuesIn(kPolicyCases));

TEST(UpdatePolicyRules, BadRulesAreRefusedWithAReason) {
  struct {
    const char* key;
    const char* match;
    const char* name;
    std::vector<std::string> types;
    const char* error;
  } cases[] = {
      {"k", "nearby", "x.example.com", {}, "unknown match 'nearby'"},
      {"k", "name", "", {}, "bad name '' for name"},
      {"k", "subdomain", "a..b", {}, "bad name 'a..b'"},
      {"k", "zonesub", "example.com", {}, "zonesub takes no name"},
      {"k", "self", "x", {}, "self takes no name"},
      {"k", "zonesub", "", {"NOSUCHTYPE"}, "unknown type 'NOSUCHTYPE'"},
      {"k", "zonesub", "", {"AXFR"}, "AXFR is a meta type"},
      {"", "zonesub", "", {}, "bad key name"},
  };
  for (const auto& c : cases) {
    UpdatePolicy p;
    std::string err;
    EXPECT_FALSE(p.add_rule(c.key, c.match, c.name, c.types, &err)) << c.match;
    EXPECT_NE(err.find(c.error), std::string::npos) << err;
    EXPECT_TRUE(p.rules().empty());
  }
}

TEST(UpdatePolicyCheck, EveryRrOfTheUpdateSectionMustBeAllowed) {
  auto z = make_zone();
  ASSERT_TRUE(z);
  UpdatePolicy p = example_policy();
  auto check = [&](const std::string& key, const std::function<void(Msg&)>& build) {
    Msg m;
    build(m);
    UpdateRequest u;
    EXPECT_TRUE(parse(m.wire(), u).ok());
    return check_update_policy(p, key.empty() ? key : W(key), u, *z);
  };
  // certbot: add and delete its TXT
  EXPECT_TRUE(check("acme-key.", [](Msg& m) {
                m.add("_acme-challenge.www.example.com.", 300, "TXT \"t\"")
                    .del_rr("_acme-challenge.www.example.com.", "TXT \"old-token\"");
              }).ok());
  // one RR it may not change refuses the whole message, naming key, name and type
  UpdateStatus s = check("acme-key.", [](Msg& m) {
    m.add("_acme-challenge.example.com.", 300, "TXT \"t\"").add("www.example.com.", 300, "TXT \"t\"");
  });
  EXPECT_EQ(s.rcode, rcode::REFUSED);
  EXPECT_EQ(s.message, "key acme-key. may not change TXT at www.example.com. (update policy)");
  // deleting every RRset of a name needs every type there: _acme-challenge.www has an A too
  s = check("acme-key.", [](Msg& m) { m.del_name("_acme-challenge.www.example.com."); });
  EXPECT_EQ(s.rcode, rcode::REFUSED);
  EXPECT_NE(s.message.find("A (deleting every RRset) at _acme-challenge.www.example.com."), std::string::npos)
      << s.message;
  EXPECT_TRUE(check("acme-key.", [](Msg& m) { m.del_name("_acme-challenge.example.com."); }).ok());
  EXPECT_EQ(check("www-key.", [](Msg& m) { m.del_name("www.example.com."); }).rcode, rcode::REFUSED);
  EXPECT_TRUE(check("admin.", [](Msg& m) { m.del_name("example.com."); }).ok());
  // a delete of an RRset is a change of that type
  EXPECT_TRUE(check("www-key.", [](Msg& m) { m.del_rrset("www.example.com.", rrtype::A); }).ok());
  EXPECT_EQ(check("www-key.", [](Msg& m) { m.del_rrset("www.example.com.", rrtype::TXT); }).rcode, rcode::REFUSED);
  // unsigned
  s = check("", [](Msg& m) { m.add("www.example.com.", 300, "A 192.0.2.1"); });
  EXPECT_EQ(s.rcode, rcode::REFUSED);
  EXPECT_NE(s.message.find("an unsigned UPDATE may not change"), std::string::npos) << s.message;
  // prerequisites are not changes
  EXPECT_TRUE(check("www-key.", [](Msg& m) { m.in_use("mail.example.com."); }).ok());
}

TEST(UpdatePolicyCheck, ProcessRefusesAndChangesNothing) {
  auto z = make_zone();
  ASSERT_TRUE(z);
  UpdatePolicy p = example_policy();
  Msg m;
  m.add("_acme-challenge.example.com.", 300, "TXT \"t\"").add("www.example.com.", 300, "A 192.0.2.1");
  UpdateRequest u;
  ASSERT_TRUE(parse(m.wire(), u).ok());
  UpdatePlan plan = process_update(*z, u, p, W("acme-key."), kNextSerial);
  EXPECT_EQ(plan.status.rcode, rcode::REFUSED);
  EXPECT_FALSE(plan.changed());
  // NOTZONE comes before the policy
  Msg out;
  out.add("www.example.net.", 300, "A 192.0.2.1");
  ASSERT_TRUE(parse(out.wire(), u).ok());
  EXPECT_EQ(process_update(*z, u, p, W("acme-key."), kNextSerial).status.rcode, rcode::NOTZONE);
}

// ---------------------------------------------------------------------------------------
// The response (RFC 2136 3.8)

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};

TEST(UpdateResponse, HeaderAndZoneSectionEchoed) {
  Msg m;
  m.id = 0xBEEF;
  m.zone = "Example.COM.";
  m.add("www.example.com.", 300, "A 192.0.2.1");
  UpdateRequest u;
  ASSERT_TRUE(parse(m.wire(), u).ok());
  for (uint16_t rc : {rcode::NOERROR, rcode::NXRRSET, rcode::NOTZONE, rcode::REFUSED}) {
    uint8_t buf[512];
    Renderer r(buf, sizeof buf);
    ASSERT_TRUE(render_update_response(r, u, rc));
    ldns_pkt* raw = nullptr;
    ASSERT_EQ(ldns_wire2pkt(&raw, buf, r.size()), LDNS_STATUS_OK);
    std::unique_ptr<ldns_pkt, PktFree> pkt(raw);
    EXPECT_EQ(ldns_pkt_id(raw), 0xBEEF);
    EXPECT_TRUE(ldns_pkt_qr(raw));
    EXPECT_EQ(ldns_pkt_get_opcode(raw), LDNS_PACKET_UPDATE);
    EXPECT_EQ(ldns_pkt_get_rcode(raw), rc);
    EXPECT_FALSE(ldns_pkt_aa(raw));
    EXPECT_EQ(ldns_pkt_qdcount(raw), 1);
    EXPECT_EQ(ldns_pkt_ancount(raw) + ldns_pkt_nscount(raw) + ldns_pkt_arcount(raw), 0);
    ldns_rr* zrr = ldns_rr_list_rr(ldns_pkt_question(raw), 0);
    char* name = ldns_rdf2str(ldns_rr_owner(zrr));
    EXPECT_STREQ(name, "Example.COM.");  // as the client wrote it
    free(name);
    EXPECT_EQ(ldns_rr_get_type(zrr), LDNS_RR_TYPE_SOA);
    EXPECT_EQ(ldns_rr_get_class(zrr), LDNS_RR_CLASS_IN);
  }
}

TEST(UpdateResponse, MalformedRequests) {
  // zone section unreadable: a bare header with the id
  Msg m;
  m.zocount = 0;
  m.id = 99;
  UpdateRequest u;
  EXPECT_FALSE(parse(m.wire(), u).ok());
  uint8_t buf[512];
  Renderer r(buf, sizeof buf);
  ASSERT_TRUE(render_update_response(r, u, rcode::FORMERR));
  ASSERT_EQ(r.size(), kHeaderSize);
  EXPECT_EQ(get16(buf), 99);
  EXPECT_EQ(get16(buf + 2), static_cast<uint16_t>(flag::QR | (opcode::UPDATE << 11) | rcode::FORMERR));
  EXPECT_EQ(get16(buf + 4), 0);
  // the zone section was read (a bad RR later): it is echoed
  Msg late;
  late.upd("www.example.com.", rrclass::IN, rrtype::ANY, 0, "");
  EXPECT_FALSE(parse(late.wire(), u).ok());
  ASSERT_TRUE(render_update_response(r, u, rcode::FORMERR));
  EXPECT_EQ(get16(buf + 4), 1);
  EXPECT_EQ(r.size(), kHeaderSize + W("example.com.").size() + 4);
  // no header: nothing to answer
  EXPECT_FALSE(parse_update(reinterpret_cast<const uint8_t*>("\1\2\3"), 3, u).ok());
  EXPECT_FALSE(render_update_response(r, u, rcode::FORMERR));
  // too small a buffer
  ASSERT_TRUE(parse(Msg().wire(), u).ok());
  Renderer tiny(buf, 14);
  EXPECT_FALSE(render_update_response(tiny, u, rcode::NOERROR));
}

// ---------------------------------------------------------------------------------------
// canonical_rdata (zone/wire), used to compare RRs as RFC 2136 1.1.1 says

TEST(CanonicalRdata, NamesInRdataLowercasedOtherBytesKept) {
  EXPECT_EQ(canonical_rdata(rrtype::NS, N("NS1.Example.COM.")), W("ns1.example.com."));
  EXPECT_EQ(canonical_rdata(rrtype::MX, u16(10) + N("MX.Example.")), u16(10) + W("mx.example."));
  EXPECT_EQ(canonical_rdata(rrtype::TXT, "\5HeLLo"), "\5HeLLo");  // not a name
  std::string soa = N("NS.A.") + N("Host.A.") + std::string(20, 'X');
  EXPECT_EQ(canonical_rdata(rrtype::SOA, soa), W("ns.a.") + W("host.a.") + std::string(20, 'X'));
  std::string sig = std::string(18, 'Q') + N("Signer.Example.") + "SIGBYTES";
  EXPECT_EQ(canonical_rdata(rrtype::RRSIG, sig), std::string(18, 'Q') + W("signer.example.") + "SIGBYTES");
  EXPECT_EQ(canonical_rdata(rrtype::NS, "\x05" "AB"), "\x05" "AB");  // malformed: unchanged
}

}  // namespace
