#include "zone/signature_check.h"

#include <cstdlib>
#include <ctime>

#include "zone/wire/name.h"

// Last: ldns/common.h #defines bool, true and false.
#include <ldns/ldns.h>

namespace zone {

namespace {

uint32_t get32_at(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// RFC 1982 / RFC 4034 3.1.5: a is before b.
bool before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

constexpr size_t kFixed = 18;  // type covered .. key tag

std::string type_text(uint16_t type) {
  char* t = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  std::string s = t ? t : "TYPE" + std::to_string(type);
  std::free(t);
  return s;
}

}  // namespace

uint32_t signature_expiration(std::string_view rd) { return rd.size() < kFixed ? 0 : get32_at(rd, 8); }
uint32_t signature_inception(std::string_view rd) { return rd.size() < kFixed ? 0 : get32_at(rd, 12); }

SignatureTime signature_time(std::string_view rd, uint32_t now, uint32_t window) {
  if (rd.size() < kFixed) return SignatureTime::valid;
  uint32_t expiration = signature_expiration(rd), inception = signature_inception(rd);
  if (before(expiration, now)) return SignatureTime::expired;
  if (before(now, inception)) return SignatureTime::not_yet_valid;
  if (window && before(expiration, now + window)) return SignatureTime::expiring;
  return SignatureTime::valid;
}

std::string utc_text(uint32_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

SignatureCheck::SignatureCheck(const SignatureWindow& w)
    : now_(w.now ? w.now : static_cast<uint32_t>(std::time(nullptr))), window_(w.warn_before_expiry) {}

void SignatureCheck::note(Kind& k, NameView owner, std::string_view rd, const SourceLine& where,
                          uint32_t when, bool latest) {
  if (k.count == 0 || (latest ? before(k.when, when) : before(when, k.when))) k.when = when;
  if (k.count++ == 0) k.first = where;
  if (k.names.size() < kNamed) {
    uint16_t covered = static_cast<uint16_t>(static_cast<uint8_t>(rd[0]) << 8 | static_cast<uint8_t>(rd[1]));
    k.names.push_back(wire::name_to_text(owner) + " " + type_text(covered));
  }
}

void SignatureCheck::add(NameView owner, std::string_view rd, const SourceLine& where) {
  ++total_;
  switch (signature_time(rd, now_, window_)) {
    case SignatureTime::valid:
      break;
    case SignatureTime::expired:
      note(expired_, owner, rd, where, signature_expiration(rd), true);
      break;
    case SignatureTime::not_yet_valid:
      note(not_yet_, owner, rd, where, signature_inception(rd), false);
      break;
    case SignatureTime::expiring:
      note(expiring_, owner, rd, where, signature_expiration(rd), false);
      break;
  }
}

void SignatureCheck::report(std::vector<ZoneError>& warnings) const {
  // Nothing to say (most zones have no signature): no dates formatted.
  if (expired_.count == 0 && not_yet_.count == 0 && expiring_.count == 0) return;
  auto one = [&](const Kind& k, const std::string& what, const std::string& advice) {
    if (k.count == 0) return;
    std::string names;
    for (size_t i = 0; i < k.names.size(); ++i) names += (i ? ", " : "") + k.names[i];
    if (k.count > k.names.size()) names += " and " + std::to_string(k.count - k.names.size()) + " more";
    warnings.push_back({k.first, std::to_string(k.count) + " of " + std::to_string(total_) +
                                     " signatures " + what + ": " + names + "; " + advice});
  };
  one(expired_, "expired (the last on " + utc_text(expired_.when) + ")",
      "validators answer SERVFAIL for these names: re-sign the zone and reload");
  one(not_yet_, "are not valid yet (the first from " + utc_text(not_yet_.when) + ")",
      "validators reject them until then: check the signer's clock");
  std::string within = window_ % 86400 == 0 ? std::to_string(window_ / 86400) + " day(s)"
                                             : std::to_string(window_ / 3600) + " hour(s)";
  one(expiring_, "expire within " + within + " (the first on " + utc_text(expiring_.when) + ")",
      "re-sign the zone and reload before then");
}

}  // namespace zone
