// Changesets: the difference between two versions of a zone (RFC 1995 style: old SOA,
// records removed, new SOA, records added). Every zone change goes through one: zone-file
// reloads (diff), IXFR in (parsed), AXFR in (diff against what was served) and edits.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zone/zone.h"

namespace zone {

struct Record {
  std::string owner;  // lowercased wire name
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata;  // uncompressed wire
  bool operator==(const Record& o) const {
    return owner == o.owner && type == o.type && ttl == o.ttl && rdata == o.rdata;
  }
};

struct Changeset {
  Record soa_from, soa_to;          // the SOA records of both versions
  std::vector<Record> removed, added;  // never SOA
  uint32_t from_serial() const;
  uint32_t to_serial() const;
  bool empty() const { return removed.empty() && added.empty(); }
};

// A record as an uncompressed wire RR (owner, type, class IN, TTL, RDLENGTH, RDATA), for
// handing it to ldns.
std::string record_wire(const Record& r);

// Every record of a zone, SOA first (AXFR order).
std::vector<Record> zone_records(const Zone& z);

// The records that differ between two versions of the same zone. Versions over the same
// base only compare the names their overlays hold.
Changeset diff_zones(const Zone& from, const Zone& to);

// How apply_changeset makes versions (tests and benchmarks; the defaults are for serving).
struct ApplyOptions {
  size_t max_overlay = 0;  // names a version may hold apart from its base (0: by zone size)
  bool full_build = false;  // always rebuild the whole zone (the reference behaviour)
};

// Applies a changeset to base; nullptr with errors when a removed record is missing, the
// SOA does not match, or the result fails the zone checks (base is never changed). The
// result is a version sharing base's nodes (zone/overlay.h), made in O(change); now and then
// it is a fresh flat zone instead (compaction, or a change a full build must judge).
std::shared_ptr<const Zone> apply_changeset(std::shared_ptr<const Zone> base, const Changeset& c,
                                            std::vector<ZoneError>& errors,
                                            const ApplyOptions& options = {});

// Several consecutive changesets folded into one (IXFR condensation, RFC 1995 5).
Changeset condense(const std::vector<Changeset>& chain);

// An order-independent hash of a zone's content, SOA serial excluded: tells whether a
// zone file changed since the version last served. O(zone) once per flat zone; versions
// carry it.
uint64_t content_hash(const Zone& z);

// The same zone with another SOA serial (a version sharing z's nodes).
// The changeset that moves z's SOA to `serial` and nothing else (callers add their records).
Changeset serial_step(const Zone& z, uint32_t serial);
std::shared_ptr<const Zone> with_serial(std::shared_ptr<const Zone> z, uint32_t serial);

// Binary form for the history store: records as [owner][type u16][ttl u32][len u16][rdata].
std::string serialize(const Changeset& c);
bool deserialize(std::string_view data, Changeset& out);

}  // namespace zone
