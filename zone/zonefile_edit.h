// Editing a zone file in place: the file stays the source of truth. Removed records lose
// their lines, the SOA line is replaced, added records are appended with absolute names;
// comments, formatting and every other record stay as they were. Atomic: the new text is
// written to a temporary file, checked by loading it again, fsync'ed and renamed over.
#pragma once
#include <memory>
#include <string>

#include "zone/changeset.h"
#include "zone/zone.h"

namespace zone {

// `expected` is the zone the file must hold afterwards (base + c); the edited file is
// loaded and compared with it before it replaces the old one. False with `error` set when
// the file cannot be edited (a record to remove is in an $INCLUDE file, or not found).
bool edit_zone_file(const std::string& path, NameView origin, const Changeset& c,
                    const Zone& expected, std::string& error);

}  // namespace zone
