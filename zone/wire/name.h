// Domain names in uncompressed wire format (length-prefixed labels ending with the root).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zone/wire/types.h"

namespace zone::wire {

// A wire-format name, as bytes: "\3www\7example\3com\0".
using NameView = std::string_view;

enum class NameError { ok, truncated, bad_label, too_long, bad_pointer };

// Reads a possibly compressed name at msg[pos]; writes the uncompressed form to out (at least
// kMaxNameLen bytes) and advances pos past the name as it sits in the message. Pointers must
// point strictly backwards, which makes loops impossible.
NameError read_name(const uint8_t* msg, size_t msg_len, size_t& pos, uint8_t* out,
                    size_t& out_len);

// Checks that data is one well-formed uncompressed name and returns its length, or 0.
size_t name_length(const uint8_t* data, size_t len);

inline uint8_t ascii_lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Lowercases a wire name in place (only label bytes, never length octets).
void lower_name(uint8_t* name, size_t len);
std::string lowered(NameView name);

bool names_equal_ci(NameView a, NameView b);

// Number of labels, not counting the root.
int label_count(NameView name);

// Is `name` equal to or below `parent` (both lowercased)?
bool is_subdomain(NameView name, NameView parent);

// Strips the first label; the root stays the root.
inline NameView parent_name(NameView name) {
  if (name.size() <= 1) return name;
  return name.substr(1 + static_cast<uint8_t>(name[0]));
}

// Text form with a trailing dot ("www.example.com."); escapes as in master files.
std::string name_to_text(NameView name);
// As logs name zones and hosts: without the final dot ("example.com"; the root is ".").
std::string name_display(NameView name);

// Parses a text name (absolute or relative to origin; "@" is the origin). Returns nullopt on
// a malformed name.
std::optional<std::string> name_from_text(std::string_view text, NameView origin = {});

// RFC 4034 6.1 canonical order of two lowercased names.
int canonical_compare(NameView a, NameView b);

}  // namespace zone::wire
