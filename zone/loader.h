// Zone-file loading: RFC 1035 master files, $ORIGIN/$TTL/$INCLUDE, every type ldns knows and
// RFC 3597 unknown types, read exactly as ldns 1.8.3 reads them. Every error carries file:line.
// The common types are parsed directly (zonefile_parser.h), the rest by ldns; setting
// ZONED_ZONE_PARSER=ldns in the environment sends every line through ldns, as before.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zone/file_stamp.h"
#include "zone/signature_check.h"
#include "zone/zone.h"

namespace zone {

struct LoadResult {
  std::shared_ptr<const Zone> zone;  // null when the zone failed to load
  std::vector<ZoneError> errors;
  std::vector<ZoneError> warnings;
  // Every file read: the zone file, then its $INCLUDE files (empty when the reader cannot
  // tell: ZONED_ZONE_PARSER=ldns). A reload re-reads a zone only when one of them changed.
  std::vector<std::string> files;
  std::vector<FileStamp> stamps;  // of each of `files` as it was read
  bool ok() const { return zone != nullptr; }
};

// Where one record of a zone file sits, for editing the file in place.
struct RecordSpan {
  std::string owner;  // lowercased wire
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata;
  std::string file;
  int first_line = 0, last_line = 0;
  bool explicit_owner = true;  // false: the line starts with blank (owner of the previous)
};

// origin: lowercased wire name of the zone. `spans`, when given, receives every record's
// location. RRSIGs that are expired, not yet valid or expire within `signatures`' window are
// warnings (signature_check.h).
LoadResult load_zone_file(const std::string& path, NameView origin,
                          std::vector<RecordSpan>* spans = nullptr,
                          const SignatureWindow& signatures = {});
// The same from text in memory (tests, zonectl check-zone on stdin).
LoadResult load_zone_text(std::string_view text, NameView origin,
                          const std::string& label = "<text>",
                          const SignatureWindow& signatures = {});

}  // namespace zone
