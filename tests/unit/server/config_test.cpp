#include "server/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "server/policy.h"
#include "server/version.h"
#include "zone/wire/name.h"

using namespace server;
namespace fs = std::filesystem;

namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : name)
      if (c == '/') c = '_';  // parameterized tests: "Suite/Case"
    dir_ = fs::temp_directory_path() /
           ("zoned-config-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "etc");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& text, const std::string& rel = "etc/zoned.yaml") {
    fs::path p = dir_ / rel;
    std::ofstream(p) << text;
    return p.string();
  }
  // The ConfigError message for this config text, or "" if it loaded.
  std::string error_of(const std::string& text) {
    std::string path = write(text);
    try {
      load_config(path);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
  std::string cfg_path() const { return (dir_ / "etc/zoned.yaml").string(); }

  fs::path dir_;
};

const char* kRemotes =
    "remotes:\n"                        // 1
    "  - name: sec1\n"                  // 2
    "    address: 127.0.0.1:5354\n";    // 3

}  // namespace

TEST_F(ConfigTest, FullExampleLoads) {
  std::string path = write(
      "server:\n"
      "  listen: [\"127.0.0.1:5353\", \"[::1]:5353\", \"::1\"]\n"
      "  workers: 2\n"
      "  control: run/zoned.sock\n"
      "  database: /var/lib/zoned/zoned.db\n"
      "  log-level: debug\n"
      "  udp-payload: 1400\n"
      "keys:\n"
      "  - name: xfr-key\n"
      "    secret: \"c2VjcmV0\"\n"
      "remotes:\n"
      "  - name: sec1\n"
      "    address: 127.0.0.1:5354\n"
      "    key: xfr-key\n"
      "  - name: prim\n"
      "    address: \"[2001:db8::1]\"\n"
      "zones:\n"
      "  - name: Example.COM\n"
      "    file: zones/example.com.zone\n"
      "    notify: [sec1]\n"
      "    allow-transfer: [sec1, 10.0.0.0/8, 2001:db8::/32]\n"
      "  - name: example.net.\n"
      "    primaries: [prim]\n"
      "    file: ../var/example.net.zone\n");
  Config c = load_config(path);
  ASSERT_EQ(c.server.listen.size(), 3u);
  EXPECT_EQ(c.server.listen[0].str(), "127.0.0.1:5353");
  EXPECT_EQ(c.server.listen[1].str(), "[::1]:5353");
  EXPECT_EQ(c.server.listen[2].str(), "[::1]:53");
  EXPECT_EQ(c.server.workers, 2u);
  EXPECT_EQ(c.server.udp_payload, 1400);
  EXPECT_EQ(c.server.log_level, "debug");
  // Relative paths are relative to the config file's directory, absolute ones kept.
  EXPECT_EQ(c.server.control, (dir_ / "etc/run/zoned.sock").string());
  EXPECT_EQ(c.server.database, "/var/lib/zoned/zoned.db");
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_EQ(c.keys[0].algorithm, "hmac-sha256");
  ASSERT_EQ(c.remotes.size(), 2u);
  EXPECT_EQ(c.remotes[0].key, "xfr-key");
  EXPECT_EQ(c.remotes[1].address.str(), "[2001:db8::1]:53");
  ASSERT_EQ(c.zones.size(), 2u);
  EXPECT_EQ(c.zones[0].origin, *zone::wire::name_from_text("example.com."));
  EXPECT_EQ(c.zones[0].file, (dir_ / "etc/zones/example.com.zone").string());
  EXPECT_FALSE(c.zones[0].secondary());
  EXPECT_EQ(c.zones[0].allow_transfer.size(), 3u);
  EXPECT_TRUE(c.zones[1].secondary());
  EXPECT_EQ(c.zones[1].file, (dir_ / "var/example.net.zone").string());  // normalized
}

// A reload does not read an unchanged configuration file again: the fingerprint tells
// whether the file is the one a Config was read from, down to one byte in place.
TEST_F(ConfigTest, FingerprintSaysWhetherTheFileChanged) {
  std::string text = "zones:\n  - name: a.test\n    file: a.zone\n    ixfr-history: 10\n";
  std::string path = write(text);
  Config cfg = load_config(path);
  EXPECT_NE(cfg.fingerprint, 0u);
  EXPECT_EQ(config_fingerprint(path), cfg.fingerprint);
  write("zones:\n  - name: a.test\n    file: a.zone\n    ixfr-history: 19\n");  // same size
  EXPECT_NE(config_fingerprint(path), cfg.fingerprint);
  EXPECT_EQ(load_config(path).zones.at(0).ixfr_history, 19u);
  write(text);
  EXPECT_EQ(config_fingerprint(path), cfg.fingerprint);
  EXPECT_EQ(config_fingerprint((dir_ / "missing.yaml").string()), 0u);
}

TEST_F(ConfigTest, RelativePathsDoNotDependOnWorkingDirectory) {
  write("zones:\n  - name: example.com\n    file: example.com.zone\n");
  fs::path old = fs::current_path();
  fs::current_path(dir_);
  Config c;
  try {
    c = load_config("etc/zoned.yaml");  // a relative config path
  } catch (...) {
    fs::current_path(old);
    throw;
  }
  fs::current_path(old);
  ASSERT_EQ(c.zones.size(), 1u);
  EXPECT_EQ(c.zones[0].file, (dir_ / "etc/example.com.zone").string());
}

TEST_F(ConfigTest, TemplatesGiveZonesTheirSettingsAndZonesKeepTheirOwn) {
  write(std::string(kRemotes) +
        "templates:\n"
        "  - id: default\n"
        "    file: \"zones/%s.zone\"\n"
        "    notify: [sec1]\n"
        "    allow-transfer: [sec1, 192.0.2.0/24]\n"
        "  - id: signed\n"
        "    file: /srv/zones/%s.signed\n"
        "    serial-policy: unixtime\n"
        "zones:\n"
        "  - name: Example.COM.\n"
        "  - name: example.net\n"
        "    allow-transfer: [198.51.100.0/24]\n"
        "  - name: example.org\n"
        "    template: signed\n"
        "  - name: a%b.test\n"
        "    file: \"100%%/%s\"\n"
        "  - name: example.info\n"
        "    primaries: [sec1]\n");
  Config c = load_config(cfg_path());
  ASSERT_EQ(c.zones.size(), 5u);
  const fs::path etc = dir_ / "etc";
  // The default template: %s is the name as written, without its final dot.
  EXPECT_EQ(c.zones[0].file, (etc / "zones/Example.COM.zone").string());
  EXPECT_EQ(c.zones[0].notify, std::vector<std::string>{"sec1"});
  EXPECT_EQ(c.zones[0].allow_transfer, (std::vector<std::string>{"sec1", "192.0.2.0/24"}));
  // A zone's own key wins over its template's; the rest still comes from the template.
  EXPECT_EQ(c.zones[1].file, (etc / "zones/example.net.zone").string());
  EXPECT_EQ(c.zones[1].allow_transfer, std::vector<std::string>{"198.51.100.0/24"});
  EXPECT_EQ(c.zones[1].notify, std::vector<std::string>{"sec1"});
  // A named template replaces the default one (nothing of it is taken).
  EXPECT_EQ(c.zones[2].file, "/srv/zones/example.org.signed");
  EXPECT_EQ(c.zones[2].serial_policy, "unixtime");
  EXPECT_TRUE(c.zones[2].notify.empty());
  // "%%" is a '%'; the zone's own file is expanded too.
  EXPECT_EQ(c.zones[3].file, (etc / "100%/a%b.test").string());
  // A secondary under a template with a file: it is still a secondary (the file is not read).
  EXPECT_TRUE(c.zones[4].secondary());
  EXPECT_FALSE(c.zones[4].from_file());
}

TEST_F(ConfigTest, AProducedCatalogTakesNoFileFromItsTemplate) {
  write("templates:\n  - id: default\n    file: \"%s.zone\"\n"
        "zones:\n  - name: cat.test\n    catalog: produce\n"
        "  - name: a.test\n    catalog-member: cat.test\n");
  Config c = load_config(cfg_path());
  ASSERT_EQ(c.zones.size(), 2u);
  EXPECT_TRUE(c.zones[0].file.empty());
  EXPECT_EQ(c.zones[1].file, (dir_ / "etc/a.test.zone").string());
  // Its own file is still refused.
  EXPECT_NE(error_of("zones:\n  - name: cat.test\n    catalog: produce\n    file: c.zone\n")
                .find("it has no 'file'"),
            std::string::npos);
}

TEST_F(ConfigTest, DefaultsWhenServerSectionIsMissing) {
  Config c = load_config(write("zones: []\n"));
  ASSERT_EQ(c.server.listen.size(), 1u);
  EXPECT_EQ(c.server.listen[0].str(), "127.0.0.1:53");
  EXPECT_EQ(c.server.udp_payload, 1232);
  EXPECT_EQ(c.server.workers, 0u);
  EXPECT_FALSE(c.server.metrics);  // off unless asked for
}

TEST_F(ConfigTest, MetricsAddress) {
  Config c = load_config(write("server:\n  metrics: \"[::1]:9153\"\n"));
  ASSERT_TRUE(c.server.metrics);
  EXPECT_EQ(c.server.metrics->str(), "[::1]:9153");
}

struct ErrCase {
  const char* what;
  std::string text;
  const char* where;  // ":N:" after the file name
  const char* message;
};

class ConfigErrors : public ConfigTest, public ::testing::WithParamInterface<ErrCase> {};

TEST_P(ConfigErrors, NameFileLineAndKey) {
  const auto& c = GetParam();
  std::string e = error_of(c.text);
  ASSERT_FALSE(e.empty()) << "config loaded";
  EXPECT_EQ(e.rfind(cfg_path() + c.where, 0), 0u) << e;
  EXPECT_NE(e.find(c.message), std::string::npos) << e;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigErrors,
    ::testing::Values(
        ErrCase{"unknown top-level key", "server:\n  workers: 1\nzonez: []\n", ":3:",
                "unknown key 'zonez' in the top level"},
        ErrCase{"unknown server key", "server:\n  workers: 1\n  listn: [\"127.0.0.1\"]\n", ":3:",
                "unknown key 'listn' in server"},
        ErrCase{"unknown zone key", "zones:\n  - name: example.com\n    fiel: x.zone\n", ":3:",
                "unknown key 'fiel' in a zone"},
        ErrCase{"unknown template", "zones:\n  - name: example.com\n    template: tld\n", ":3:",
                "zone 'example.com' names unknown template 'tld' (not in 'templates')"},
        ErrCase{"template without id", "templates:\n  - file: x.zone\n", ":2:",
                "a template needs an 'id'"},
        ErrCase{"duplicate template",
                "templates:\n  - id: a\n    file: x\n  - id: a\n    file: y\n", ":4:",
                "duplicate template 'a'"},
        ErrCase{"name in a template", "templates:\n  - id: a\n    name: example.com\n", ":3:",
                "unknown key 'name' in a template"},
        ErrCase{"template in a template", "templates:\n  - id: a\n    template: b\n", ":3:",
                "unknown key 'template' in a template"},
        ErrCase{"bad % in a file",
                "templates:\n  - id: default\n    file: \"%z.zone\"\nzones:\n  - name: a.test\n",
                ":3:", "'file': '%' must be followed by s (the zone's name) or % (a '%')"},
        ErrCase{"template's unknown remote, where the template says it",
                std::string(kRemotes) +
                    "templates:\n  - id: default\n    file: \"%s.zone\"\n    notify: [sec9]\n"
                    "zones:\n  - name: a.test\n",
                ":7:", "'notify' of zone 'a.test' names unknown remote 'sec9'"},
        ErrCase{"bad listen address", "server:\n  listen: [\"127.0.0.1:99999\"]\n", ":2:",
                "bad listen address '127.0.0.1:99999'"},
        ErrCase{"listen host name", "server:\n  listen:\n    - \"localhost:53\"\n", ":3:",
                "bad listen address 'localhost:53'"},
        ErrCase{"metrics without a port", "server:\n  workers: 1\n  metrics: \"127.0.0.1\"\n",
                ":3:", "metrics must be ADDR:PORT"},
        ErrCase{"metrics host name", "server:\n  metrics: \"localhost:9153\"\n", ":2:",
                "metrics must be ADDR:PORT"},
        ErrCase{"metrics on a DNS port",
                "server:\n  listen: [\"127.0.0.1:5353\"]\n  metrics: \"127.0.0.1:5353\"\n", ":3:",
                "also a DNS listen address"},
        ErrCase{"unknown remote in notify",
                std::string(kRemotes) +
                    "zones:\n  - name: example.com\n    file: a.zone\n    notify: [sec1, sec2]\n",
                ":7:", "'notify' of zone 'example.com' names unknown remote 'sec2'"},
        ErrCase{"produced catalog with a file",
                "zones:\n  - name: cat.test\n    file: a.zone\n    catalog: produce\n", ":4:",
                "zone 'cat.test' is a produced catalog: it is built from its members"},
        ErrCase{"consumed catalog without primaries",
                "zones:\n  - name: cat.test\n    file: a.zone\n    catalog: consume\n", ":4:",
                "zone 'cat.test' is a consumed catalog: it needs 'primaries'"},
        ErrCase{"catalog of an unknown kind",
                "zones:\n  - name: cat.test\n    catalog: generate\n", ":3:",
                "catalog of zone 'cat.test' must be produce or consume"},
        ErrCase{"member of a catalog not produced here",
                "zones:\n  - name: a.test\n    file: a.zone\n    catalog-member: cat.test\n", ":4:",
                "catalog-member of zone 'a.test' names 'cat.test', which is not a zone with "
                "catalog: produce here"},
        ErrCase{"member template names an unknown remote",
                std::string(kRemotes) +
                    "zones:\n  - name: cat.test\n    primaries: [sec1]\n    catalog: consume\n"
                    "    member-template:\n      primaries: [nobody]\n",
                ":9:", "member-template of zone 'cat.test': 'primaries' names unknown remote 'nobody'"},
        ErrCase{"unknown remote in primaries",
                "zones:\n  - name: example.com\n    primaries: [nobody]\n", ":3:",
                "'primaries' of zone 'example.com' names unknown remote 'nobody'"},
        ErrCase{"bad CIDR in allow-transfer",
                "zones:\n  - name: example.com\n    file: a.zone\n    allow-transfer: [10.0.0.0/33]\n",
                ":4:", "'allow-transfer' of zone 'example.com' names unknown remote '10.0.0.0/33'"},
        ErrCase{"duplicate zone",
                "zones:\n  - name: example.com\n    file: a.zone\n  - name: Example.COM.\n"
                "    file: b.zone\n",
                ":4:", "duplicate zone 'Example.COM.'"},
        ErrCase{"zone without file or primaries",
                "zones:\n  - name: example.com\n    file: a.zone\n  - name: example.net\n"
                "    notify: []\n",
                ":4:", "zone 'example.net' needs a 'file' (primary) or 'primaries' (secondary)"},
        ErrCase{"zone without name", "zones:\n  - file: a.zone\n", ":2:", "needs a 'name'"},
        ErrCase{"bad zone name", "zones:\n  - name: a..b\n    file: a.zone\n", ":2:",
                "zone name 'a..b' is not a valid domain name"},
        ErrCase{"remote with unknown key",
                "remotes:\n  - name: r\n    address: 127.0.0.1\n    key: nokey\n", ":4:",
                "remote 'r' uses unknown key 'nokey'"},
        ErrCase{"remote with bad address", "remotes:\n  - name: r\n    address: 1.2.3.4:0\n",
                ":3:", "bad address '1.2.3.4:0' for remote 'r'"},
        ErrCase{"duplicate remote",
                std::string(kRemotes) + "  - name: sec1\n    address: 127.0.0.2\n", ":4:",
                "duplicate remote 'sec1'"},
        ErrCase{"workers out of range", "server:\n  workers: 1000\n", ":2:",
                "'workers' must be a number from 0 to 256"},
        ErrCase{"udp-payload not a number", "server:\n  udp-payload: big\n", ":2:",
                "'udp-payload' must be a number from 512 to 4096"},
        ErrCase{"bad log level", "server:\n  log-level: loud\n", ":2:", "log-level must be one of"},
        ErrCase{"bad TSIG algorithm",
                "keys:\n  - name: k\n    algorithm: hmac-md4\n    secret: abc\n", ":3:",
                "unsupported TSIG algorithm 'hmac-md4'"},
        ErrCase{"nsid bad hex", "server:\n  nsid: 0xzz12\n", ":2:",
                "nsid '0xzz12' is not hex after 0x"},
        ErrCase{"nsid too long", "server:\n  nsid: \"" + std::string(129, 'n') + "\"\n", ":2:",
                "nsid is 129 bytes; at most 128"},
        ErrCase{"version longer than a TXT string",
                "server:\n  listen: [\"127.0.0.1:53\"]\n  version: \"" + std::string(256, 'v') + "\"\n",
                ":3:", "'version' is longer than 255 characters"},
        ErrCase{"cookie secret not hex", "server:\n  cookie-secret: \"not hex\"\n", ":2:",
                "cookie-secret 'not hex' must be 32 hex digits (16 bytes)"},
        ErrCase{"cookie secret too short", "server:\n  cookie-secret: \"0011\"\n", ":2:",
                "cookie-secret '0011' must be 32 hex digits"},
        ErrCase{"three cookie secrets",
                "server:\n  cookie-secret:\n    - " + std::string(32, '1') + "\n    - " +
                    std::string(32, '2') + "\n    - " + std::string(32, '3') + "\n",
                ":3:", "cookie-secret must be one secret, or a list of two"},
        ErrCase{"rate-limit without rate", "server:\n  rate-limit:\n    slip: 2\n", ":3:",
                "rate-limit needs 'responses-per-second'"},
        ErrCase{"rate-limit unknown key",
                "server:\n  rate-limit:\n    responses-per-second: 5\n    window: 15\n", ":4:",
                "unknown key 'window' in rate-limit"},
        ErrCase{"rate-limit slip out of range",
                "server:\n  rate-limit:\n    responses-per-second: 5\n    slip: 11\n", ":4:",
                "'slip' must be a number from 0 to 10"},
        ErrCase{"rate-limit ipv4 prefix out of range",
                "server:\n  rate-limit:\n    responses-per-second: 5\n    ipv4-prefix: 33\n",
                ":4:", "'ipv4-prefix' must be a number from 8 to 32"},
        ErrCase{"rate-limit bad exempt",
                "server:\n  rate-limit:\n    responses-per-second: 5\n    exempt: [10.0.0.0/40]\n",
                ":4:", "rate-limit exempt entry '10.0.0.0/40' is not an address or prefix"},
        ErrCase{"key secret not base64",
                "keys:\n  - name: k\n    algorithm: hmac-sha256\n    secret: \"not base64!\"\n",
                ":4:", "secret of key 'k' is not valid base64"},
        ErrCase{"via with a port", "server:\n  via: 127.0.0.1:53\n", ":2:",
                "via must be an address without a port"},
        ErrCase{"via not an address of this machine", "server:\n  via: 192.0.2.10\n", ":2:",
                "via 192.0.2.10 is not an address of this machine"},
        ErrCase{"remote via not an address of this machine",
                "remotes:\n  - name: r\n    address: 127.0.0.1\n    via: 2001:db8::10\n", ":4:",
                "via 2001:db8::10 of remote 'r' is not an address of this machine"},
        ErrCase{"remote via not an address",
                "remotes:\n  - name: r\n    address: 127.0.0.1\n    via: here\n", ":4:",
                "via of remote 'r' must be an address without a port"},
        ErrCase{"allow-update with an unknown key",
                "zones:\n  - name: example.com\n    file: a.zone\n    allow-update: [nokey]\n",
                ":4:", "'allow-update' of zone 'example.com' names unknown key 'nokey'"},
        ErrCase{"allow-update on a secondary",
                "keys:\n  - name: k\n    secret: YWJj\n" + std::string(kRemotes).substr(0) +
                    "zones:\n  - name: example.com\n    primaries: [sec1]\n    allow-update: [k]\n",
                ":10:", "is a secondary: UPDATE goes to its primary"},
        ErrCase{"update-policy with a bad match",
                "keys:\n  - name: k\n    secret: YWJj\nzones:\n  - name: example.com\n"
                "    file: a.zone\n    update-policy: [\"k anywhere x.example.com TXT\"]\n",
                ":7:", "update-policy of zone 'example.com'"},
        ErrCase{"update-policy with an unknown key",
                "zones:\n  - name: example.com\n    file: a.zone\n"
                "    update-policy: [\"nokey zonesub TXT\"]\n",
                ":4:", "names unknown key 'nokey'"},
        ErrCase{"update-policy with a bad type",
                "keys:\n  - name: k\n    secret: YWJj\nzones:\n  - name: example.com\n"
                "    file: a.zone\n    update-policy: [\"k zonesub NOTATYPE\"]\n",
                ":7:", "NOTATYPE"},
        ErrCase{"YAML syntax error", "server:\n  listen: [\"127.0.0.1\"\nzones: []\n", ":", ""}),
    [](const auto& info) {
      std::string n = info.param.what;
      for (auto& c : n)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST_F(ConfigTest, IdentityCookiesAndRateLimit) {
  std::string path = write(
      "server:\n"
      "  nsid: \"ns1.example\"\n"
      "  identity: \"ns1.example.net\"\n"
      "  version: \"\"\n"
      "  cookie-secret: [\"00112233445566778899aabbccddeeff\", \"FFEEDDCCBBAA99887766554433221100\"]\n"
      "  rate-limit:\n"
      "    responses-per-second: 20\n"
      "    slip: 3\n"
      "    ipv4-prefix: 22\n"
      "    ipv6-prefix: 48\n"
      "    exempt: [\"192.0.2.0/24\", \"2001:db8::1\"]\n");
  Config c = load_config(path);
  EXPECT_EQ(c.server.nsid, "ns1.example");
  EXPECT_EQ(c.server.identity, "ns1.example.net");
  ASSERT_TRUE(c.server.version);
  EXPECT_EQ(*c.server.version, "");  // answered REFUSED
  ASSERT_EQ(c.server.cookie_secrets.size(), 2u);
  EXPECT_EQ(c.server.cookie_secrets[0], std::string("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16));
  EXPECT_EQ(static_cast<uint8_t>(c.server.cookie_secrets[1][0]), 0xFF);
  EXPECT_EQ(c.server.rate_limit.responses_per_second, 20u);
  EXPECT_EQ(c.server.rate_limit.slip, 3u);
  EXPECT_EQ(c.server.rate_limit.ipv4_prefix, 22u);
  EXPECT_EQ(c.server.rate_limit.ipv6_prefix, 48u);
  EXPECT_EQ(c.server.rate_limit.exempt, (std::vector<std::string>{"192.0.2.0/24", "2001:db8::1"}));

  // Hex NSID as Knot writes it; one secret as a plain string; defaults.
  path = write("server:\n  nsid: 0x6e7331\n  cookie-secret: 000102030405060708090a0b0c0d0e0f\n");
  c = load_config(path);
  EXPECT_EQ(c.server.nsid, "ns1");
  ASSERT_EQ(c.server.cookie_secrets.size(), 1u);
  EXPECT_FALSE(c.server.identity);
  EXPECT_FALSE(c.server.version);
  EXPECT_EQ(c.server.rate_limit.responses_per_second, 0u);  // off

  path = write("server:\n  rate-limit:\n    responses-per-second: 5\n");
  c = load_config(path);
  EXPECT_EQ(c.server.rate_limit.slip, 2u);
  EXPECT_EQ(c.server.rate_limit.ipv4_prefix, 24u);
  EXPECT_EQ(c.server.rate_limit.ipv6_prefix, 56u);
}

TEST_F(ConfigTest, PolicyCarriesIdentityAndKeepsAGeneratedSecretAcrossReloads) {
  Config c = load_config(write("server:\n  nsid: ns1\n"));
  auto p1 = make_policy(c);
  EXPECT_EQ(p1->identity.nsid, "ns1");
  EXPECT_EQ(p1->identity.identity, host_name());  // default: the host name
  EXPECT_EQ(p1->identity.version, std::string("zoned ") + kVersion);
  ASSERT_EQ(p1->cookie_secrets.size(), 1u);
  EXPECT_FALSE(p1->rate_limit.on());
  // A reload without a configured secret keeps the generated one: clients' cookies stay good.
  auto p2 = make_policy(c, p1.get());
  EXPECT_EQ(p2->cookie_secrets, p1->cookie_secrets);
  // Two servers started separately make different secrets.
  EXPECT_NE(make_policy(c)->cookie_secrets, p1->cookie_secrets);
  // A configured secret wins, and a later reload without it generates a new one.
  Config fixed = load_config(write("server:\n  cookie-secret: 000102030405060708090a0b0c0d0e0f\n"));
  auto p3 = make_policy(fixed, p1.get());
  EXPECT_EQ(p3->cookie_secrets[0][15], 0x0f);
  auto p4 = make_policy(c, p3.get());
  EXPECT_NE(p4->cookie_secrets, p3->cookie_secrets);
  Config rl = load_config(write(
      "server:\n  rate-limit:\n    responses-per-second: 5\n    exempt: [192.0.2.0/24]\n"));
  auto p5 = make_policy(rl);
  EXPECT_TRUE(p5->rate_limit.on());
  EXPECT_TRUE(p5->rate_limit.exempt.allows(boost::asio::ip::make_address("192.0.2.77"), ""));
  EXPECT_FALSE(p5->rate_limit.exempt.allows(boost::asio::ip::make_address("192.0.3.1"), ""));
}

// A zone added at runtime is kept as JSON in the database and read back checked against
// the configuration of the day.
TEST_F(ConfigTest, RuntimeZoneConfigRoundTripsAndIsChecked) {
  std::string path = write(std::string("keys:\n  - name: k\n    secret: YWJj\n") + kRemotes);
  Config cfg = load_config(path);
  ZoneConfig z;
  z.name = "added.test";
  z.origin = *zone::wire::name_from_text("added.test.");
  z.file = "/var/lib/zoned/added.test.zone";
  z.notify = {"sec1"};
  z.allow_update = {"k"};
  z.serial_policy = "unixtime";
  ZoneConfig back = zone_config_from_json(zone_config_to_json(z), cfg);
  EXPECT_EQ(back.name, "added.test");
  EXPECT_EQ(back.origin, z.origin);
  EXPECT_EQ(back.file, z.file);
  EXPECT_EQ(back.notify, z.notify);
  EXPECT_EQ(back.allow_update, z.allow_update);
  EXPECT_EQ(back.serial_policy, "unixtime");
  EXPECT_TRUE(back.runtime);
  // The remote it names is gone from the configuration: an error naming it.
  Config without = cfg;
  without.remotes.clear();
  try {
    zone_config_from_json(zone_config_to_json(z), without);
    FAIL() << "accepted a zone naming an unknown remote";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown remote 'sec1'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(zone_config_from_json("{not json", cfg), ConfigError);
}

TEST_F(ConfigTest, UpdatePolicyRulesAreRead) {
  zone::UpdatePolicy p;
  std::string err;
  ASSERT_TRUE(parse_update_rule("acme wildcard _acme-challenge.* TXT", zone::UpdatePolicy{}, &err, &p)) << err;
  ASSERT_EQ(p.rules().size(), 1u);
  auto W = [](const char* n) { return *zone::wire::name_from_text(n); };
  EXPECT_TRUE(p.permits(W("acme."), W("_acme-challenge.www.example.com."), W("example.com."), 16));
  EXPECT_FALSE(p.permits(W("acme."), W("www.example.com."), W("example.com."), 16));
  EXPECT_FALSE(p.permits(W("acme."), W("_acme-challenge.example.com."), W("example.com."), 1));
  EXPECT_FALSE(parse_update_rule("acme", zone::UpdatePolicy{}, &err));
  EXPECT_FALSE(parse_update_rule("acme subdomain", zone::UpdatePolicy{}, &err));
  EXPECT_NE(err.find("needs a name"), std::string::npos) << err;
  EXPECT_TRUE(parse_update_rule("dhcp zonesub A AAAA PTR", zone::UpdatePolicy{}, &err)) << err;
}

TEST_F(ConfigTest, CatalogKeysAreRead) {
  Config cfg = load_config(write(std::string(kRemotes) +
                                 "zones:\n"
                                 "  - name: cat.test\n    catalog: produce\n    notify: [sec1]\n"
                                 "  - name: a.test\n    file: a.zone\n    catalog-member: cat.test.\n"
                                 "    catalog-group: blue\n"
                                 "  - name: in.test\n    catalog: consume\n    primaries: [sec1]\n"
                                 "    member-template:\n      notify: [sec1]\n"
                                 "    group-templates:\n      - group: blue\n        primaries: [sec1]\n"));
  ASSERT_EQ(cfg.zones.size(), 3u);
  EXPECT_EQ(cfg.zones[0].cat().catalog, "produce");
  EXPECT_FALSE(cfg.zones[0].from_file());
  EXPECT_FALSE(cfg.zones[0].secondary());
  EXPECT_EQ(cfg.zones[1].cat().catalog_member, "cat.test");
  EXPECT_EQ(cfg.zones[1].cat().catalog_group, "blue");
  EXPECT_TRUE(cfg.zones[1].from_file());
  ASSERT_TRUE(cfg.zones[2].cat().member_template);
  EXPECT_EQ(cfg.zones[2].cat().member_template->notify, std::vector<std::string>{"sec1"});
  ASSERT_EQ(cfg.zones[2].cat().group_templates.size(), 1u);
  EXPECT_EQ(cfg.zones[2].cat().group_templates[0].first, "blue");
  // A runtime member keeps its catalog in the stored JSON.
  ZoneConfig back = zone_config_from_json(zone_config_to_json(cfg.zones[1]), cfg);
  EXPECT_EQ(back.cat().catalog_member, "cat.test");
  EXPECT_EQ(back.cat().catalog_group, "blue");
  // Stored before its catalog left the configuration: still loads (listed in none).
  Config other = cfg;
  other.zones.erase(other.zones.begin());
  EXPECT_EQ(zone_config_from_json(zone_config_to_json(cfg.zones[1]), other).name, "a.test");
}

TEST_F(ConfigTest, MissingFile) {
  try {
    load_config((dir_ / "nope.yaml").string());
    FAIL() << "loaded a missing file";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("nope.yaml"), std::string::npos);
  }
}

TEST(Endpoint, Parse) {
  Endpoint e;
  ASSERT_TRUE(parse_endpoint("127.0.0.1:5353", e));
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, 5353);
  ASSERT_TRUE(parse_endpoint("[::1]:5353", e));
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 5353);
  ASSERT_TRUE(parse_endpoint("2001:db8::1", e, 853));
  EXPECT_EQ(e.host, "2001:db8::1");
  EXPECT_EQ(e.port, 853);
  ASSERT_TRUE(parse_endpoint("192.0.2.1", e));
  EXPECT_EQ(e.port, 53);
  for (const char* bad : {"", "localhost", "localhost:53", "1.2.3.4:", "1.2.3.4:0",
                          "1.2.3.4:65536", "1.2.3.4:53x", "[::1]x", "[::1", "[::1]:",
                          "1.2.3.4:-1", "[1.2.3]:53"})
    EXPECT_FALSE(parse_endpoint(bad, e)) << bad;
}

TEST_F(ConfigTest, DnssecPoliciesLoad) {
  std::string path = write(
      "server:\n"
      "  database: var/zoned.db\n"
      "policies:\n"
      "  - name: default\n"
      "  - name: fast\n"
      "    algorithm: ed25519\n"
      "    nsec3: true\n"
      "    nsec3-opt-out: true\n"
      "    signature-validity: 2d\n"
      "    signature-refresh: 12h\n"
      "    keys: csk\n"
      "    csk-lifetime: 30d\n"
      "    dnskey-ttl: 600\n"
      "    ds-ttl: 1h\n"
      "    propagation-delay: 5m\n"
      "    cds-cdnskey: true\n"
      "zones:\n"
      "  - name: example.com\n"
      "    file: example.com.zone\n"
      "    dnssec-policy: fast\n");
  Config cfg = load_config(path);
  ASSERT_EQ(cfg.policies.size(), 3u);  // and the built-in insecure
  ASSERT_TRUE(cfg.policy("insecure") && cfg.policy("insecure")->insecure);
  const PolicyConfig& d = cfg.policies[0];
  EXPECT_EQ(d.algorithm, "ecdsap256sha256");
  EXPECT_EQ(d.algorithm_number(), 13);
  EXPECT_FALSE(d.nsec3);
  EXPECT_FALSE(d.csk);
  const PolicyConfig* f = cfg.policy("fast");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->algorithm_number(), 15);
  EXPECT_TRUE(f->nsec3);
  EXPECT_TRUE(f->nsec3_opt_out);
  EXPECT_EQ(f->signature_validity, 2u * 86400);
  EXPECT_EQ(f->signature_refresh, 12u * 3600);
  EXPECT_TRUE(f->csk);
  EXPECT_EQ(f->ksk_lifetime, 30u * 86400);
  EXPECT_EQ(f->dnskey_ttl, 600u);
  EXPECT_EQ(f->ds_ttl, 3600u);
  EXPECT_EQ(f->propagation_delay, 300u);
  EXPECT_TRUE(f->cds_cdnskey);
  EXPECT_FALSE(d.cds_cdnskey);
  EXPECT_EQ(cfg.zones[0].dnssec_policy, "fast");
  EXPECT_EQ(cfg.server.key_dir, (dir_ / "etc/var/keys").string());
  // Runtime zones keep their policy in the database.
  ZoneConfig back = zone_config_from_json(zone_config_to_json(cfg.zones[0]), cfg);
  EXPECT_EQ(back.dnssec_policy, "fast");
}

TEST_F(ConfigTest, DnssecPolicyErrorsNameFileAndLine) {
  const std::string head =
      "server:\n"                          // 1
      "  key-dir: keys\n"                  // 2
      "policies:\n"                        // 3
      "  - name: p\n";                     // 4
  auto err = error_of(head + "    algorithm: rsasha1\n");  // 5
  EXPECT_NE(err.find("zoned.yaml:5: policy 'p': unsupported algorithm 'rsasha1'"), std::string::npos) << err;
  err = error_of(head + "    signature-validity: 7d\n    signature-refresh: 7d\n");  // 6
  EXPECT_NE(err.find("zoned.yaml:6: policy 'p': signature-refresh (604800 s) must be shorter than "
                     "signature-validity"),
            std::string::npos)
      << err;
  err = error_of(head + "    signature-validity: 1d\n    signature-refresh: 23h\n    propagation-delay: 2h\n");
  EXPECT_NE(err.find("zoned.yaml:6: policy 'p': signature-validity - signature-refresh"), std::string::npos) << err;
  err = error_of(head + "    zsk-lifetime: 1h\n");
  EXPECT_NE(err.find("zoned.yaml:5: policy 'p': zsk-lifetime (3600 s) is too short"), std::string::npos) << err;
  err = error_of(head + "    nsec3-opt-out: true\n");
  EXPECT_NE(err.find("zoned.yaml:5: policy 'p': nsec3-opt-out needs nsec3: true"), std::string::npos) << err;
  err = error_of(head + "    signature-validity: soon\n");
  EXPECT_NE(err.find("zoned.yaml:5: policy 'p': 'signature-validity' must be a duration"), std::string::npos) << err;
  err = error_of(head + "    keys: three\n");
  EXPECT_NE(err.find("zoned.yaml:5:"), std::string::npos) << err;
  err = error_of(head + "zones:\n  - name: a.test\n    file: a.zone\n    dnssec-policy: nope\n");  // 8
  EXPECT_NE(err.find("zoned.yaml:8: zone 'a.test' names unknown dnssec-policy 'nope'"), std::string::npos) << err;
  err = error_of(std::string(kRemotes) + "server:\n  key-dir: keys\npolicies:\n  - name: p\n"
                 "zones:\n  - name: a.test\n    primaries: [sec1]\n    dnssec-policy: p\n");  // 11
  EXPECT_NE(err.find("zoned.yaml:11: zone 'a.test' is a secondary"), std::string::npos) << err;
  err = error_of("policies:\n  - name: p\nzones:\n  - name: a.test\n    file: a.zone\n    dnssec-policy: p\n");
  EXPECT_NE(err.find("zoned.yaml:6: zone 'a.test' is signed: set server.key-dir"), std::string::npos) << err;
  // Parental agents are for signed zones, and name remotes.
  err = error_of(std::string(kRemotes) + "zones:\n  - name: a.test\n    file: a.zone\n    parental-agents: [sec1]\n");
  EXPECT_NE(err.find("parental-agents of zone 'a.test' are asked for its DS: it needs a dnssec-policy"),
            std::string::npos) << err;
  err = error_of(head + "zones:\n  - name: a.test\n    file: a.zone\n    dnssec-policy: p\n    parental-agents: [nope]\n");
  EXPECT_NE(err.find("zoned.yaml:9: 'parental-agents' of zone 'a.test' names unknown remote 'nope'"),
            std::string::npos) << err;
  // 'insecure' is the built-in policy's name.
  err = error_of("policies:\n  - name: insecure\n    algorithm: ed25519\n");
  EXPECT_NE(err.find("zoned.yaml:2: policy 'insecure': the name 'insecure' is the built-in policy"),
            std::string::npos) << err;
}

// The YAML an operator writes: anchors and aliases (one list of addresses for many zones),
// booleans in their several spellings, a key written twice, text that is not YAML.
TEST_F(ConfigTest, YamlAnchorsBooleansDuplicatesAndSyntaxErrors) {
  Config c = load_config(write(std::string(kRemotes) +
                               "policies:\n"
                               "  - name: p\n"
                               "    nsec3: Yes\n"
                               "    cds-cdnskey: OFF\n"
                               "zones:\n"
                               "  - name: a.test\n"
                               "    file: a.zone\n"
                               "    allow-transfer: &xfr [sec1, 192.0.2.0/24]\n"
                               "    ixfr-history: +7\n"
                               "  - name: b.test\n"
                               "    file: b.zone\n"
                               "    allow-transfer: *xfr\n"));
  ASSERT_EQ(c.zones.size(), 2u);
  EXPECT_EQ(c.zones[1].allow_transfer, (std::vector<std::string>{"sec1", "192.0.2.0/24"}));
  EXPECT_EQ(c.zones[0].allow_transfer, c.zones[1].allow_transfer);
  EXPECT_EQ(c.zones[0].ixfr_history, 7u);
  auto p = std::find_if(c.policies.begin(), c.policies.end(),
                        [](const PolicyConfig& pc) { return pc.name == "p"; });
  ASSERT_NE(p, c.policies.end());
  EXPECT_TRUE(p->nsec3);
  EXPECT_FALSE(p->cds_cdnskey);

  std::string err = error_of("zones:\n  - name: a.test\n    file: a.zone\n    file: b.zone\n");
  EXPECT_NE(err.find("zoned.yaml:4: 'file' written twice in a zone"), std::string::npos) << err;
  err = error_of("policies:\n  - name: p\n    nsec3: maybe\n");
  EXPECT_NE(err.find("zoned.yaml:3: policy 'p': 'nsec3' must be true or false"), std::string::npos)
      << err;
  err = error_of("zones:\n  - name: a.test\n    ixfr-history: 7x\n");
  EXPECT_NE(err.find("zoned.yaml:3: 'ixfr-history' must be a number"), std::string::npos) << err;
  err = error_of("zones:\n  - name: a.test\n    file: [a.zone\n");
  EXPECT_NE(err.find("zoned.yaml:"), std::string::npos) << err;
  EXPECT_EQ(err.find("zoned.yaml:0"), std::string::npos) << err;
  err = error_of("zones:\n  - name: a.test\n    allow-transfer: *nowhere\n");
  EXPECT_NE(err.find("zoned.yaml:3:"), std::string::npos) << err;
  err = error_of("zones:\n  - name: a.test\n    [x]: y\n");
  EXPECT_NE(err.find("zoned.yaml:3: a key in a zone must be a word"), std::string::npos) << err;
  EXPECT_EQ(error_of(""), std::string("") + cfg_path() + ": the configuration must be a YAML mapping");
}
