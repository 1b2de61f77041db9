// Loader internals for tests and fuzzers: pick the zone-file parser, and see every record the
// loader hands to ZoneBuilder::add.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zone/loader.h"
#include "zone/zonefile_parser.h"

namespace zone::loader_internal {

enum class ParserKind {
  automatic,  // ZONED_ZONE_PARSER from the environment ("ldns", "scanner"), else fast
  fast,       // the direct parser, ldns for what it does not handle (zonefile_parser.h)
  scanner,    // our scanner for lines and directives, ldns_rr_new_frm_str for every record
  ldns,       // ldns_rr_new_frm_fp_l for everything: the reference
};

// One ZoneBuilder::add call.
struct Added {
  std::string owner;  // as given to add (not lowercased)
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata;
  SourceLine where;
  bool operator==(const Added& o) const {
    return owner == o.owner && type == o.type && ttl == o.ttl && rdata == o.rdata &&
           where.file == o.where.file && where.line == o.where.line;
  }
};

struct Options {
  ParserKind parser = ParserKind::automatic;
  // Parse on a second thread while this one adds the records to the zone (fast/scanner), for
  // texts of at least pipeline_min_bytes (below, a thread costs more than it saves).
  bool pipeline = true;
  size_t pipeline_min_bytes = 256 * 1024;
  std::vector<RecordSpan>* spans = nullptr;
  std::vector<Added>* trace = nullptr;  // every add, in order
  zonefile::Stats* stats = nullptr;     // how the records were parsed (fast/scanner)
  SignatureWindow signatures;           // RRSIG validity warnings
};

LoadResult load_file(const std::string& path, NameView origin, const Options& opts);
LoadResult load_text(std::string_view text, NameView origin, const std::string& label,
                     const Options& opts);

// The parser ParserKind::automatic stands for.
ParserKind default_parser();

}  // namespace zone::loader_internal
