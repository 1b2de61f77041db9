// RRSIG validity times at load (RFC 4034 3.1.5): expired signatures, signatures not valid
// yet, and signatures about to expire make a zone that validators will soon (or already)
// call bogus, while it loads and serves as if nothing were wrong. The loader feeds every
// RRSIG it reads to a SignatureCheck and turns the summary into warnings: a count and the
// first few names per kind, not a line per signature (a big zone has millions).
// zonectl check-zone uses signature_time too, beside its cryptographic verification.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zone/zone.h"

namespace zone {

enum class SignatureTime { valid, expired, not_yet_valid, expiring };

// Where an RRSIG (RDATA wire) stands at `now`: expired, not yet valid, expiring within
// `window` seconds, or valid. Serial arithmetic, as RFC 4034 3.1.5 says (so dates past 2038
// work). Malformed RDATA (shorter than the fixed fields) counts as valid: not this check's.
SignatureTime signature_time(std::string_view rrsig_rdata, uint32_t now, uint32_t window = 0);
uint32_t signature_expiration(std::string_view rrsig_rdata);
uint32_t signature_inception(std::string_view rrsig_rdata);

// "2020-01-31 00:00:00 UTC".
std::string utc_text(uint32_t t);

// How a load judges signature times.
struct SignatureWindow {
  uint32_t warn_before_expiry = 7 * 24 * 3600;  // seconds; 0 warns only of expired ones
  uint32_t now = 0;                              // 0: the current time
};

class SignatureCheck {
 public:
  explicit SignatureCheck(const SignatureWindow& w);
  // One RRSIG record as read from the zone file.
  void add(NameView owner, std::string_view rdata, const SourceLine& where);
  // At most one warning per kind (expired, not yet valid, expiring), each at the file:line
  // of its first signature, naming a few.
  void report(std::vector<ZoneError>& warnings) const;

 private:
  static constexpr size_t kNamed = 3;
  struct Kind {
    size_t count = 0;
    uint32_t when = 0;  // expired: the latest expiration; not yet valid / expiring: the earliest
    SourceLine first;
    std::vector<std::string> names;  // "www.example.com. A", the first kNamed
  };
  void note(Kind& k, NameView owner, std::string_view rdata, const SourceLine& where,
            uint32_t when, bool latest);
  uint32_t now_, window_;
  size_t total_ = 0;
  Kind expired_, not_yet_, expiring_;
};

}  // namespace zone
