// Differential test of the zone-file parser: the direct parser (zonefile_parser.cpp) must
// give exactly what ldns gives (ParserKind::ldns, the loader as it was before it): the same
// ZoneBuilder::add calls (owner as written, type, TTL, RDATA wire, file:line), errors on the
// same lines (the wording is tested in loader_test: ZoneFileErrors), the same warnings, the
// same record spans. Over generated zones (deterministic random mixes of
// master-file syntax, every kind of field the parser converts, DNSSEC records included, edge
// cases, bad records and random damage), random bytes, $INCLUDE trees, and every zone file in
// tests/data/zones. ZONED_DIFF_SCALE=N runs N times as many random cases.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/unit/test_support.h"
#include "zone/loader.h"
#include "zone/loader_internal.h"
#include "zone/wire/name.h"

using namespace zone;
using loader_internal::Added;
using loader_internal::ParserKind;
using test_support::TempDir;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

// Everything a load shows to the outside.
struct Outcome {
  bool ok = false;
  std::vector<Added> trace;
  std::vector<std::string> errors;  // where: file:line
  std::vector<std::string> error_texts, warnings;
  std::vector<RecordSpan> spans;
  zonefile::Stats stats;
};

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o += d[c >> 4];
    o += d[c & 15];
  }
  return o;
}
std::string show(const Added& a) {
  return a.where.str() + " owner=" + hex(a.owner) + " type=" + std::to_string(a.type) +
         " ttl=" + std::to_string(a.ttl) + " rdata=" + hex(a.rdata);
}
std::string show(const RecordSpan& s) {
  return s.file + ":" + std::to_string(s.first_line) + "-" + std::to_string(s.last_line) +
         (s.explicit_owner ? " explicit" : " blank") + " owner=" + hex(s.owner) +
         " type=" + std::to_string(s.type) + " ttl=" + std::to_string(s.ttl) +
         " rdata=" + hex(s.rdata);
}
bool same_span(const RecordSpan& a, const RecordSpan& b) {
  return a.owner == b.owner && a.type == b.type && a.ttl == b.ttl && a.rdata == b.rdata &&
         a.file == b.file && a.first_line == b.first_line && a.last_line == b.last_line &&
         a.explicit_owner == b.explicit_owner;
}

Outcome run(ParserKind kind, const std::string* text, const std::string& path_or_label,
            NameView origin, bool pipeline = false) {
  Outcome o;
  loader_internal::Options opts;
  opts.parser = kind;
  opts.pipeline = pipeline;
  opts.pipeline_min_bytes = 0;
  opts.trace = &o.trace;
  opts.spans = &o.spans;
  opts.stats = &o.stats;
  LoadResult r = text ? loader_internal::load_text(*text, origin, path_or_label, opts)
                      : loader_internal::load_file(path_or_label, origin, opts);
  o.ok = r.ok();
  for (const auto& e : r.errors) {
    o.errors.push_back(e.where.str());
    o.error_texts.push_back(e.str());
  }
  for (const auto& w : r.warnings) o.warnings.push_back(w.str());
  return o;
}

// Compares two outcomes; on the first difference, a failure that shows it (and the input).
::testing::AssertionResult same(const Outcome& want, const Outcome& got, const std::string& input) {
  auto fail = [&](const std::string& what) {
    return ::testing::AssertionFailure() << what << "\n--- input:\n" << input << "\n---";
  };
  size_t n = std::min(want.trace.size(), got.trace.size());
  for (size_t i = 0; i < n; ++i)
    if (!(want.trace[i] == got.trace[i]))
      return fail("record " + std::to_string(i) + ": ldns " + show(want.trace[i]) + "\n   fast " +
                  show(got.trace[i]));
  if (want.trace.size() != got.trace.size())
    return fail("ldns added " + std::to_string(want.trace.size()) + " records, fast " +
                std::to_string(got.trace.size()) + "; next: " +
                (want.trace.size() > n ? "ldns " + show(want.trace[n]) : "fast " + show(got.trace[n])));
  if (want.errors != got.errors) {
    std::string w, g;
    for (const auto& e : want.error_texts) w += "  " + e + "\n";
    for (const auto& e : got.error_texts) g += "  " + e + "\n";
    return fail("errors on other lines:\nldns:\n" + w + "fast:\n" + g);
  }
  if (want.warnings != got.warnings) return fail("warnings differ");
  if (want.ok != got.ok) return fail("ok differs");
  n = std::min(want.spans.size(), got.spans.size());
  for (size_t i = 0; i < n; ++i)
    if (!same_span(want.spans[i], got.spans[i]))
      return fail("span " + std::to_string(i) + ": ldns " + show(want.spans[i]) + "\n   fast " +
                  show(got.spans[i]));
  if (want.spans.size() != got.spans.size()) return fail("span counts differ");
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------------
// Zone text generator: deterministic for a seed.
class Gen {
 public:
  explicit Gen(uint32_t seed, bool clean) : rng_(seed), clean_(clean) {}

  std::string zone() {
    std::string z;
    int form = pick(4);
    if (form != 0) z += "$ORIGIN example.com.\n";
    if (chance(0.7)) z += "$TTL " + ttl_text() + "\n";
    // The apex, often multi-line.
    z += apex();
    int n = 5 + pick(40);
    for (int i = 0; i < n; ++i) z += line();
    if (!clean_ && chance(0.3)) z = damage(z);
    return z;
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <class T>
  const T& one(const std::vector<T>& v) { return v[static_cast<size_t>(pick(static_cast<int>(v.size())))]; }
  bool bad() { return !clean_ && chance(0.08); }

  std::string ttl_text() {
    static const std::vector<std::string> ok = {"3600", "300", "0", "1h", "1h30m", "2d", "1W",
                                                "90s", "1H1M1S", "86400", "4294967295", "7d12h"};
    static const std::vector<std::string> odd = {"60x", "4294967296", "99999999999", "1m-5",
                                                 "1h h", "00300", "12345678901234567890123"};
    return bad() ? one(odd) : one(ok);
  }

  std::string label() {
    static const std::vector<std::string> plain = {"www", "mail", "ns1", "host", "a", "b", "sub",
                                                   "x-y", "_tcp", "_sip", "deep", "n0", "z9"};
    std::string l = one(plain);
    if (chance(0.2))  // uppercase
      for (auto& c : l)
        if (chance(0.5)) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (chance(0.1)) l += std::to_string(pick(1000));
    if (chance(0.06)) l += one(std::vector<std::string>{"\\046x", "\\065", "\\ ", "\\\\", "\\.",
                                                        "\\(p\\)", "\\;", "\\\"", "\\@", "\\200"});
    if (bad()) l += one(std::vector<std::string>{"\\999", "\\1", "\\", std::string(64, 'l'), "\"q\"",
                                                 "(", ")", ";c"});
    return l;
  }

  std::string name(bool allow_at = true) {
    int k = pick(12);
    if (k == 0 && allow_at) return "@";
    if (k == 1) return label() + ".example.com.";
    if (k == 2) return label() + "." + label() + ".example.com.";
    if (k == 3) return "EXAMPLE.COM.";
    if (k == 4 && chance(0.3)) return "*." + label();
    if (k == 5 && bad()) return label() + ".example.org.";
    if (k == 6 && bad()) return one(std::vector<std::string>{"a..b", ".", "..", "@x", "x.@", "@.sub"});
    std::string n = label();
    if (chance(0.3)) n += "." + label();
    return n;
  }

  std::string owner(bool& blank) {
    blank = false;
    int k = pick(10);
    if (k < 3) {
      blank = true;
      return one(std::vector<std::string>{" ", "\t", "  ", " \t", "\t\t"});
    }
    return name();
  }

  std::string ttl_class() {
    std::string t = ttl_text(), c = one(std::vector<std::string>{"IN", "in", "In"});
    if (bad()) c = one(std::vector<std::string>{"CH", "HS", "CLASS1", "CLASS3", "ANY", "NONE"});
    switch (pick(6)) {
      case 0: return "";
      case 1: return t + " ";
      case 2: return c + " ";
      case 3: return t + " " + c + " ";
      case 4: return bad() ? c + " " + t + " " : t + " ";  // class first: ldns says no
      default: return t + "\t" + c + "\t";
    }
  }

  std::string ipv4() {
    if (bad()) return one(std::vector<std::string>{"192.0.2.300", "1.2.3", "01.2.3.4", "abc", "1.2.3.4.5",
                                                   "1.2.3.4 5.6.7.8", "-1.2.3.4", "1..2.3"});
    return std::to_string(pick(256)) + "." + std::to_string(pick(256)) + "." +
           std::to_string(pick(256)) + "." + std::to_string(pick(256));
  }
  std::string ipv6() {
    if (bad()) return one(std::vector<std::string>{"2001:db8::g", "1:2:3:4:5:6:7:8:9", ":::", "192.0.2.1"});
    return one(std::vector<std::string>{"2001:db8::1", "::1", "::", "2001:DB8:0:0:8:800:200C:417A",
                                        "::ffff:192.0.2.1", bad() ? "fe80::1%1" : "fe80::1", "2001:db8::" + std::to_string(pick(9999))});
  }
  std::string int16() {
    if (bad()) return one(std::vector<std::string>{"65536", "-1", "x", "1x", "99999999999999999999", "+5", ""});
    return std::to_string(pick(3) == 0 ? pick(65536) : pick(100));
  }
  std::string txt_string() {
    static const std::vector<std::string> words = {
        "hello", "v=spf1 -all", "with \\\"quotes\\\"", "semi;colon", "paren(s)", "back\\\\slash",
        "tab\there", "\\065\\066", "", "utf8 \xc3\xa9", "k=rsa; p=MIGf", "a b  c"};
    std::string s = one(words);
    if (chance(0.05)) s = std::string(static_cast<size_t>(200 + pick(bad() ? 100 : 56)), 'x');  // > 255: error
    if (bad()) s += one(std::vector<std::string>{"\\", "\\9", "\\999", "\"extra"});
    return s;
  }
  std::string txt() {
    std::string r;
    int n = 1 + pick(4);
    for (int i = 0; i < n; ++i) {
      if (i) r += one(std::vector<std::string>{" ", "", "\t", "  "});
      if (chance(0.8))
        r.append("\"").append(txt_string()).append("\"");
      else
        r += one(std::vector<std::string>{"word", "two-words", "x\\ y", "\\\"q", "a;b"});
    }
    if (chance(0.1)) r = "( " + r + "\n   \"more\" )";
    return r;
  }
  std::string soa() {
    std::vector<std::string> f = {name(), name(), std::to_string(pick(100000)), "7200", "3600",
                                  "1209600", "300"};
    if (chance(0.3)) f[3] = "2h";
    if (chance(0.2)) f[6] = "5M";
    if (bad()) f[2] = one(std::vector<std::string>{"4294967296", "-1", "x", "1h", "99999999999"});
    if (bad()) f.pop_back();
    std::string r;
    int layout = pick(4);
    for (size_t i = 0; i < f.size(); ++i) {
      if (layout == 1 && i == 2) r += "(\n\t\t";
      if (layout == 2 && i == 2) r += "( ; serial next\n\t\t";
      if (layout == 3 && i == 0) r += "(";
      r += f[i];
      if (layout >= 2 && i == 3) r += " ; refresh\n\t\t";
      r += i + 1 < f.size() ? " " : "";
    }
    if (layout >= 1) r += layout == 3 ? ")" : "\n\t\t)";
    return r;
  }

  // Base64 of random bytes (blanks here and there); odd endings and damage when bad.
  std::string b64() {
    static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bytes;
    int n = 1 + pick(100);
    for (int i = 0; i < n; ++i) bytes.push_back(static_cast<char>(pick(256)));
    std::string s;
    for (size_t i = 0; i < bytes.size(); i += 3) {
      uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
      if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
      if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
      s += chars[(v >> 18) & 63];
      s += chars[(v >> 12) & 63];
      s += i + 1 < bytes.size() ? chars[(v >> 6) & 63] : '=';
      s += i + 2 < bytes.size() ? chars[v & 63] : '=';
      if (chance(0.05)) s += one(std::vector<std::string>{" ", "\t", "  "});
    }
    if (bad()) {
      switch (pick(6)) {
        case 0: s += "!"; break;
        case 1: s += "="; break;
        case 2: s.pop_back(); break;
        case 3: s += "A"; break;
        case 4: if (s.back() == '=') s[s.size() - 2] = '/'; break;  // slop bits set
        default: s = one(std::vector<std::string>{"-", "0", "=", "AA==", "AB==", "AAA=", "AAB=", "A===", "= ="}); break;
      }
    }
    return s;
  }
  std::string hex() {
    static const std::string chars = "0123456789abcdefABCDEF";
    std::string s;
    int n = 2 * (1 + pick(40));
    for (int i = 0; i < n; ++i) {
      s += chars[static_cast<size_t>(pick(22))];
      if (chance(0.05)) s += " ";
    }
    if (bad()) s += one(std::vector<std::string>{"g", "0", "x1", "-"});
    return s;
  }
  std::string type_name() {
    if (bad()) return one(std::vector<std::string>{"BOGUS", "TYPE", "TYPE70000", "CH", "ANY", "AXFR"});
    return one(std::vector<std::string>{"A", "NS", "SOA", "MX", "txt", "AAAA", "RRSIG", "NSEC",
                                        "DNSKEY", "TYPE65534", "TYPE1", "CAA", "nsec3param", "HTTPS"});
  }
  std::string time_text() {
    if (bad()) return one(std::vector<std::string>{"20381301000000", "19690101000000", "2038010100000",
                                                   "20380132000000", "20380101240000", "2038010100000x",
                                                   "x", "+0380101000000", "20380101000060"});
    return one(std::vector<std::string>{"20380101000000", "20170101000000", "20251231235959",
                                        "1700000000", "0", "19700101000000", "21060207062815"});
  }
  std::string alg() {
    if (bad()) return one(std::vector<std::string>{"300", "x", "-1", "RSASHA999"});
    return one(std::vector<std::string>{"13", "8", "ECDSAP256SHA256", "rsasha256", "RSASHA1-NSEC3-SHA1", "253"});
  }
  std::string dnssec(std::string& type) {
    switch (pick(10)) {
      case 0: case 1: case 2:
        type = "RRSIG";
        return type_name() + " " + alg() + " " + std::to_string(pick(bad() ? 400 : 5)) + " " +
               (bad() ? ttl_text() : std::to_string(pick(100000))) + " " + time_text() + " " + time_text() + " " + int16() + " " + name() +
               " " + b64();
      case 3: case 4: {
        type = "NSEC";
        std::string r = name();
        int n = pick(6);
        for (int i = 0; i < n; ++i) r += " " + type_name();
        return r;
      }
      case 5: {
        // Owners of their own, never the parent of another name: ZoneBuilder::freeze (main,
        // 85f65e9) overruns its arena for an NSEC3-only name right below the apex that
        // another name is below (b NSEC3 ..., b.b DS ...).
        unique_ = "nsec3q";
        force_unique_ = true;
        type = "NSEC3";
        std::string r = "1 " + std::to_string(pick(2)) + " " + std::to_string(pick(20)) + " " +
                        one(std::vector<std::string>{"-", "AABBCCDD", "ab", bad() ? "ABC" : "00"}) + " " +
                        one(std::vector<std::string>{"jbas736chung3bb701jkjdhqkqlhvug7", "3C2BHB6DD4FS59G5BQAMHSTTLKTQJVA1",
                                                     bad() ? "xyz!" : "p4jhjf2hukjlgrqe1522qdvkn3cctbor"});
        int n = pick(5);
        for (int i = 0; i < n; ++i) r += " " + type_name();
        return r;
      }
      case 6:
        unique_ = "keys";  // not at the apex: a zone signed by chance fails its chain checks
        type = "NSEC3PARAM";
        return "1 0 " + std::to_string(pick(20)) + " " + one(std::vector<std::string>{"-", "AABB", "ab"});
      case 7:
        unique_ = "keys";
        type = one(std::vector<std::string>{"DNSKEY", "CDNSKEY"});
        return one(std::vector<std::string>{"256", "257", "0"}) + " 3 " + alg() + " " + b64();
      case 8: type = one(std::vector<std::string>{"DS", "CDS"}); return int16() + " " + alg() + " " + std::to_string(pick(3)) + " " + hex();
      default:
        switch (pick(8)) {
          case 0: type = "TLSA"; return one(std::vector<std::string>{"3 1 1", "DANE-EE SPKI SHA2-256", "0 0 0", "PKIX-TA Cert Full"}) + " " + hex();
          case 1: type = "SSHFP"; return "1 " + std::to_string(pick(3)) + " " + hex();
          case 2: type = "NAPTR"; return "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .";
          case 3: type = one(std::vector<std::string>{"HTTPS", "SVCB"}); return one(std::vector<std::string>{"1 . alpn=h2", "0 target.example.com.", "1 svc port=8443", bad() ? "1 . bogus=1" : "2 . alpn=h2,h3"});
          case 4: type = "LOC"; return "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m";
          case 5: type = "CAA"; return one(std::vector<std::string>{"0 issue \"ca.example.net\"", "128 iodef \"mailto:x@example.com\"", bad() ? "0 issue ca.example.net" : "0 issuewild \";\""});
          case 6: type = "APL"; return "1:192.168.32.0/21 !1:192.168.38.0/28";
          default: type = "HINFO"; return one(std::vector<std::string>{"\"PC\" \"Linux\"", "PC Linux", bad() ? "\"PC\"" : "\"\" \"\""});
        }
    }
  }

  std::string rdata(std::string& type) {
    if (chance(0.25)) return dnssec(type);
    int k = pick(22);
    switch (k) {
      case 0: case 1: case 2: type = "A"; return ipv4();
      case 3: case 4: type = "AAAA"; return ipv6();
      case 5: type = "NS"; return name();
      case 6: type = "CNAME"; unique_ = "cn"; return name();
      case 7: type = "PTR"; return name();
      case 8: type = "DNAME"; unique_ = "dn"; return name();
      case 9: type = "MX"; return int16() + " " + name();
      case 10: case 11: type = "TXT"; return txt();
      case 12: type = "SRV"; return int16() + " " + int16() + " " + int16() + " " + name();
      case 13:
        if (clean_) return rdata(type);
        type = "SOA";
        return soa();
      case 14: type = one(std::vector<std::string>{"a", "aaaa", "Mx", "txt", "cname", "Srv"});
        if (type == "a") return ipv4();
        if (type == "aaaa") return ipv6();
        if (type == "Mx") return "10 " + name();
        if (type == "txt") return txt();
        if (type == "cname") {
          unique_ = "cn";
          return name();
        }
        return "1 2 3 " + name();
      case 15: type = "CAA"; return "0 issue \"ca.example.net\"";
      case 16: type = "DS"; return "12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
      case 17: type = "HINFO"; return "\"PC\" \"Linux\"";
      case 18: type = "TYPE65400"; return one(std::vector<std::string>{"\\# 4 0A000001", "\\# 0", "\\# 2 ABCD", "\\# 3 ab cd ef"});
      case 19:
        if (!bad()) {
          type = one(std::vector<std::string>{"A", "TYPE1", "TXT"});
          return type == "TXT" ? "\\# 4 03616263" : "\\# 4 C0000201";
        }
        type = one(std::vector<std::string>{"A", "TXT", "MX", "NS"});
        return one(std::vector<std::string>{"\\# 4 C0000201", "\\# 0", "\\# 3 036162 63"});
      case 20: type = "TLSA"; return "3 1 1 (\n  0123456789ABCDEF0123456789ABCDEF\n  0123456789ABCDEF0123456789ABCDEF )";
      default:
        if (bad()) {
          type = one(std::vector<std::string>{"BOGUS", "TYPE", "A", "MX", "SOA", "TYPE1x"});
          return one(std::vector<std::string>{"", "1", "x y z", "10", "(", ")"});
        }
        type = "A";
        return ipv4();
    }
  }

  std::string apex() {
    std::string a = one(std::vector<std::string>{"@", "example.com.", "EXAMPLE.com."});
    if (pick(4) == 0) a = "";
    std::string soa_line = a + (a.empty() ? " " : "\t") + "IN SOA ns1 hostmaster (\n\t1 7200 3600\n\t1209600 300 ) ; apex\n";
    if (chance(0.5)) soa_line = a + (a.empty() ? " " : " ") + "3600 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5\n";
    return soa_line + "\tIN NS ns1\n@ NS ns2.example.com.\nns1 A 192.0.2.1\n";
  }

  std::string line() {
    int k = pick(40);
    if (k == 0) return "\n";
    if (k == 1) return "; a comment line\n";
    if (k == 2) return one(std::vector<std::string>{"   \n", "\t; indented comment\n", " \r\n", "\n\n"});
    if (k == 3) return "$TTL " + ttl_text() + "\n";
    if (k == 4 && chance(0.5))
      return "$ORIGIN " + one(std::vector<std::string>{"sub.example.com.", "example.com.", "Deep.Sub.example.com.",
                                                       bad() ? "rel" : "example.com. ; back", bad() ? "a..b" : "x.example.com.   "}) + "\n";
    if (k == 5 && !clean_) return one(std::vector<std::string>{"$TTL\n", "$ORIGIN\n", "$INCLUDE\n", "$BOGUS x\n", " $TTL 5\n",
                                                               "$TTL bogus\n", "$ORIGINx y\n"});
    bool blank;
    std::string o = owner(blank);
    std::string type;
    unique_.clear();
    force_unique_ = false;
    std::string rd = rdata(type);
    if ((clean_ || force_unique_) && !unique_.empty()) {  // CNAME, DNAME, NSEC3: own owners
      o = unique_ + std::to_string(++serial_);
      blank = false;
    } else if (clean_ && blank && last_unique_) {  // not beside the CNAME of the line before
      o = name(false);
      blank = false;
    }
    last_unique_ = !unique_.empty();
    std::string l = o + (blank ? "" : one(std::vector<std::string>{" ", "\t", "  "})) + ttl_class() + type + " " + rd;
    if (chance(0.1)) l += " ; trailing comment";
    if (chance(0.05)) l += one(std::vector<std::string>{"   ", "\t", " \t "});
    if (chance(0.05)) l += "\r";
    if (chance(0.03) && !clean_) l = "( " + l + " )";
    return l + "\n";
  }

  // Random damage: characters that mean something to the scanner, anywhere.
  std::string damage(std::string z) {
    static const std::string special = "();\"\\\t\r\n\f\v@$ .0";
    int n = 1 + pick(4);
    for (int i = 0; i < n; ++i) {
      size_t at = static_cast<size_t>(pick(static_cast<int>(z.size())));
      int how = pick(3);
      char c = chance(0.1) ? static_cast<char>(pick(256)) : special[static_cast<size_t>(pick(static_cast<int>(special.size())))];
      if (how == 0)
        z.insert(at, 1, c);
      else if (how == 1)
        z[at] = c;
      else
        z.erase(at, 1);
    }
    return z;
  }

  std::mt19937 rng_;
  bool clean_;
  std::string unique_;
  bool force_unique_ = false;
  bool last_unique_ = false;
  int serial_ = 0;
};

const std::string kOrigin = test_support::W("example.com.");

// ZONED_DIFF_SCALE=N runs N times as many random cases (for a longer hunt).
uint32_t seeds(uint32_t n) {
  const char* s = std::getenv("ZONED_DIFF_SCALE");
  return s ? n * static_cast<uint32_t>(std::max(1, std::atoi(s))) : n;
}


}  // namespace

// Generated zones through ldns, through our scanner with ldns for every record, and through
// the direct parser (with and without the pipeline thread).
TEST(LoaderDiff, GeneratedZones) {
  size_t direct = 0, fallback = 0, loaded = 0, failed = 0;
  for (uint32_t seed = 1; seed <= seeds(1500); ++seed) {
    bool clean = seed % 2 == 0;
    std::string text = Gen(seed, clean).zone();
    Outcome ref = run(ParserKind::ldns, &text, "g.zone", kOrigin);
    Outcome scan = run(ParserKind::scanner, &text, "g.zone", kOrigin);
    ASSERT_TRUE(same(ref, scan, text)) << "scanner, seed " << seed;
    Outcome fast = run(ParserKind::fast, &text, "g.zone", kOrigin);
    ASSERT_TRUE(same(ref, fast, text)) << "fast, seed " << seed;
    if (seed % 10 == 0) {
      Outcome piped = run(ParserKind::fast, &text, "g.zone", kOrigin, true);
      ASSERT_TRUE(same(ref, piped, text)) << "pipelined, seed " << seed;
    }
    direct += fast.stats.direct;
    fallback += fast.stats.fallback;
    (ref.ok ? loaded : failed)++;
  }
  // The comparison means something: most zones load, most records take the direct path.
  EXPECT_GT(loaded, 300u);
  EXPECT_GT(failed, 300u);
  EXPECT_GT(direct, 2 * fallback) << direct << " direct, " << fallback << " through ldns";
  std::cout << "generated zones: " << loaded << " loaded, " << failed << " failed; records: "
            << direct << " direct, " << fallback << " through ldns\n";
}

// Every byte sequence the scanner might see: short random texts over a small alphabet.
TEST(LoaderDiff, RandomBytes) {
  std::mt19937 rng(7);
  const std::string alphabet = "a1.@ \t\n\r();\"\\$A IN TXT 10\f\v\0xyz-*"s;
  for (uint32_t i = 0; i < seeds(3000); ++i) {
    std::string text = "@ SOA ns h 1 2 3 4 5\n@ NS ns\n";
    int n = std::uniform_int_distribution<int>(1, 60)(rng);
    for (int j = 0; j < n; ++j)
      text += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
    Outcome ref = run(ParserKind::ldns, &text, "r.zone", kOrigin);
    Outcome fast = run(ParserKind::fast, &text, "r.zone", kOrigin);
    ASSERT_TRUE(same(ref, fast, text)) << "case " << i;
  }
}

// Hand-picked edge cases.
TEST(LoaderDiff, EdgeCases) {
  const std::vector<std::string> cases = {
      "",
      "\n\n",
      "; only a comment",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns",  // no final newline
      "@ IN 60 SOA ns h 1 2 3 4 5\n",    // class before TTL
      "@ 60 IN SOA ns h 1 2 3 4 5\n@ 1h30m NS ns\nwww 2W A 192.0.2.1\n",
      "@ SOA ns h ( 1 2\n 3 4\n 5 )\n\n\n@ NS ns\n",
      "@ SOA ns h ( 1 2 ; c (\n 3 4 ; ) x\n 5 )\n@ NS ns\n",
      "@ SOA ns h 1 2 3 4 5 )\n@ NS ns\n",     // more ) than (
      "@ SOA ns h 1 2 3 4 5 ))\nx\n@ NS ns\n",
      "@ SOA ns h ( 1 2 3 4 5\n@ NS ns\n",     // unclosed
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nt TXT \"a;b\" \"(c)\" d\\;e\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nt TXT \"unterminated\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nt TXT \"a\"\"b\"c\"d\"\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nt TXT \"\" \"\"\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nt TXT a\"b c\"d\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nt TXT \"a\\\"b\" \"\\\\\" \"\\1\" \"\\0011\"\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nline\\\ncontinued A 192.0.2.1\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nw\\ x A 192.0.2.1\nw\\046y A 192.0.2.2\nw\\.z. A 192.0.2.3\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n@x A 192.0.2.1\nc CNAME @\nd CNAME @.x\ne CNAME \\@\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n\t A 192.0.2.1\n A 192.0.2.2\nx A 1.2.3.4\n A 1.2.3.5\n",
      "@ SOA ns h 1 2 3 4 5\r\n@ NS ns\r\nw A 192.0.2.1\r\n\r\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nw A 192.0.2.1\f\nv A 192.0.2.2\vu A 192.0.2.3\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nw A 192.0.2.1\0\n"s,
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n$ORIGIN a..b\nx A 192.0.2.1\n A 192.0.2.2\n@ A 192.0.2.3\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n$ORIGIN sub\nx A 192.0.2.1\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n$ORIGIN a \nx A 192.0.2.1\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n$TTL 0\nx A 192.0.2.1\n$TTL 1h x\ny A 192.0.2.2\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nx 60x A 192.0.2.1\ny 12345678901234567890 A 192.0.2.1\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nmx MX 65536 mail\nmx MX -1 mail\nmx MX 010 mail\nmx MX +5 mail\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\ns SRV 1 2 3 .\ns SRV 1 2 3\ns SRV 1 2 3 t u\n",
      "@ SOA ns h 4294967295 1h 1d 1w 1s\n@ NS ns\n",
      "@ SOA ns h 4294967296 1 2 3 4\n@ NS ns\n",
      "@ SOA ns h -1 1 2 3 4\n@ NS ns\n",
      "@ SOA ns h 1 2 3 4 5x\n@ NS ns\n",
      "@ SOA @ @ 1 2 3 4 5\n@ NS @\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nx TYPE1 \\# 4 C0000201\ny A \\# 4 C0000201\nz TYPE65400 \\# 0\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nx A\nx A \nx\nx IN\nx 60\nx 60 IN\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n" + std::string(300, 'a') + " A 192.0.2.1\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n" + std::string(63, 'a') + "." + std::string(63, 'b') + "." +
          std::string(63, 'c') + "." + std::string(50, 'd') + " A 192.0.2.1\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nt TXT \"" + std::string(255, 'x') + "\"\nu TXT \"" +
          std::string(256, 'x') + "\"\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nt TXT " + std::string(70000, 'x') + "\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nt CH TXT \"x\"\nu CLASS1 A 192.0.2.1\nv CLASS65537 A 192.0.2.1\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nn NSEC a TYPE70000 TYPE99999999 A bogus\nr RRSIG TYPE70000 13 2 3600 "
      "20380101000000 20170101000000 1 @ AAAA\n",
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\n$INCLUDE\n  $INCLUDE x\n",
  };
  size_t i = 0;
  for (const auto& text : cases) {
    Outcome ref = run(ParserKind::ldns, &text, "e.zone", kOrigin);
    Outcome fast = run(ParserKind::fast, &text, "e.zone", kOrigin);
    EXPECT_TRUE(same(ref, fast, text)) << "case " << i;
    ++i;
  }
}

// The test zones, as files (spans included).
TEST(LoaderDiff, TestDataZones) {
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(ZONED_TEST_DATA "/zones")) {
    if (e.path().extension() != ".zone") continue;
    std::string name = e.path().stem().string();  // example.com, nsec3.example.test, ...
    std::string origin = name.substr(name.find("example.test") != std::string::npos
                                         ? name.find("example.test")
                                         : 0) + ".";
    std::string o = test_support::W(origin);
    Outcome ref = run(ParserKind::ldns, nullptr, e.path().string(), o);
    Outcome fast = run(ParserKind::fast, nullptr, e.path().string(), o);
    EXPECT_TRUE(same(ref, fast, e.path().string())) << e.path();
    EXPECT_TRUE(ref.ok) << e.path();
    EXPECT_GT(fast.stats.direct, 0u);
    ++files;
  }
  EXPECT_GE(files, 8);
}

// $INCLUDE: relative paths, origins, nesting, loops, missing files, state that must not leak.
TEST(LoaderDiff, Includes) {
  TempDir d;
  d.write("z/sub/hosts.zone", "h1 A 192.0.2.40\n@ TXT \"origin\"\n\t A 192.0.2.41\n$INCLUDE more.zone\n");
  d.write("z/sub/more.zone", "$TTL 60\nh2 A 192.0.2.41\n$ORIGIN elsewhere.example.com.\nh3 A 192.0.2.42\n");
  d.write("z/loop.zone", "l A 192.0.2.7\n$INCLUDE loop.zone\n");
  d.write("z/bad.zone", "x A 1.2.3\ny A 192.0.2.1\n");
  d.write("z/crlf.zone", "c A 192.0.2.9\r\n");
  const std::vector<std::string> mains = {
      "$INCLUDE sub/hosts.zone\nafter A 192.0.2.99\n A 192.0.2.98\n",
      "$INCLUDE sub/hosts.zone lab\n$INCLUDE sub/hosts.zone abs.example.com.\nback A 192.0.2.1\n",
      "$INCLUDE sub/hosts.zone ; comment\n$INCLUDE\tsub/hosts.zone\tLAB ; c\n",
      "$INCLUDE loop.zone\n",
      "$INCLUDE nope.zone\nx A 192.0.2.1\n",
      "$INCLUDE bad.zone\nx A 192.0.2.1\n",
      "$INCLUDE crlf.zone\r\n",
      "$INCLUDE sub/hosts.zone a..b\n",
      "$INCLUDE sub/hosts.zone\n$TTL 5\n$INCLUDE sub/more.zone\nz A 192.0.2.5\n",
      "$INCLUDE (\nsub/hosts.zone )\n",
      "$INCLUDEsub/hosts.zone\n",
      "$ORIGIN a..b\n$INCLUDE sub/hosts.zone\n$INCLUDE sub/hosts.zone rel\n",  // no origin
      "$INCLUDE sub\n",  // a directory
  };
  for (size_t i = 0; i < mains.size(); ++i) {
    std::string text = "$ORIGIN example.com.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n" + mains[i];
    std::string path = d.write("z/main" + std::to_string(i) + ".zone", text);
    Outcome ref = run(ParserKind::ldns, nullptr, path, kOrigin);
    Outcome fast = run(ParserKind::fast, nullptr, path, kOrigin);
    EXPECT_TRUE(same(ref, fast, text)) << "case " << i;
  }
}

// A big generated zone through the pipeline: the same as without it.
TEST(LoaderDiff, PipelineKeepsOrder) {
  std::string text = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
  for (int i = 0; i < 30000; ++i) {
    std::string n = std::to_string(i);
    text.append("h").append(n).append(" A 10.0.").append(std::to_string(i / 256 % 256));
    text.append(".").append(std::to_string(i % 256)).append("\n");
    if (i % 7 == 0) text.append(" TXT \"t ").append(n).append("\" ; c\n");
    if (i % 1000 == 0) text.append("h").append(n).append(" CAA 0 issue \"ca\"\n");
  }
  Outcome plain = run(ParserKind::fast, &text, "p.zone", kOrigin, false);
  Outcome piped = run(ParserKind::fast, &text, "p.zone", kOrigin, true);
  ASSERT_TRUE(plain.ok);
  EXPECT_TRUE(same(plain, piped, "(big zone)"));
  Outcome ref = run(ParserKind::ldns, &text, "p.zone", kOrigin);
  EXPECT_TRUE(same(ref, piped, "(big zone)"));
}
