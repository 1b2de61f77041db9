// TSIG (RFC 8945): signing and verifying messages with HMAC keys. The MAC is computed by
// OpenSSL; this file only builds the digest input and the TSIG record.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace zone::wire {

struct TsigKey {
  std::string name;       // lowercased wire name
  std::string algorithm;  // lowercased wire name, e.g. "\x0bhmac-sha256\0"
  std::string secret;     // raw bytes
  std::string label;      // as configured, for logs
};

// Builds a key from configuration text; nullopt with *error set on a bad name, algorithm
// or base64 secret.
std::optional<TsigKey> make_tsig_key(const std::string& name, const std::string& algorithm,
                                     const std::string& base64_secret, std::string* error);

namespace tsig_error {
inline constexpr uint16_t NOERROR = 0, BADSIG = 16, BADKEY = 17, BADTIME = 18, BADTRUNC = 22;
}

inline constexpr uint16_t kTsigFudge = 300;

// Appends a TSIG record to the message in buf[0, len) (capacity cap) and increments ARCOUNT.
// `prior_mac` is the request MAC (responses) or the previous message's MAC (later messages
// of a transfer, with timers_only). Returns the new MAC, or nullopt if it does not fit.
std::optional<std::string> tsig_sign(uint8_t* buf, size_t& len, size_t cap, const TsigKey& key,
                                     uint64_t now, std::string_view prior_mac, bool timers_only,
                                     uint16_t error = tsig_error::NOERROR,
                                     uint16_t original_id_override = 0);

struct TsigCheck {
  enum Status { ok, unsigned_message, formerr, badkey, badsig, badtime } status = unsigned_message;
  const TsigKey* key = nullptr;
  std::string mac;         // the MAC carried by the message (needed to sign the answer)
  std::string key_name;    // wire name from the record (for BADKEY answers)
  std::string algorithm;   // wire name from the record
  uint64_t time_signed = 0;
  uint16_t error = 0;      // the TSIG error field the sender put in
};

// What a server answers to a request whose TSIG did not check out (RFC 8945 5.2): the
// rcode (NOTAUTH, or FORMERR for a malformed TSIG record) and the TSIG error to sign the
// answer with. For ok and unsigned_message: NOERROR and no error.
struct TsigRefusal {
  uint16_t rcode = 0;
  uint16_t error = 0;
};
TsigRefusal tsig_refusal(const TsigCheck& check);

// Signs an answer to a checked request as RFC 8945 5.2/5.3 says: with the request's key and
// MAC; BADSIG answers without the request MAC (and with an empty MAC); an unknown key
// (BADKEY) echoes the key and algorithm names with an empty MAC. Unsigned requests: nothing.
struct TsigCheck;
void tsig_sign_answer(uint8_t* buf, size_t& len, size_t cap, const TsigCheck& request,
                      uint16_t error, uint64_t now);

using TsigKeyFinder = std::function<const TsigKey*(std::string_view name_lower)>;

// Verifies the TSIG record that must be the last record of msg. `prior_mac` as in
// tsig_sign. An unsigned message gives Status::unsigned_message.
// `unsigned_before`: the messages of a transfer that came unsigned since the last signed one
// (RFC 8945 5.3.1 lets a server sign only every Nth message); they are part of the digest.
TsigCheck tsig_verify(const uint8_t* msg, size_t len, const TsigKeyFinder& find_key,
                      uint64_t now, std::string_view prior_mac, bool timers_only,
                      std::string_view unsigned_before = {});

}  // namespace zone::wire
