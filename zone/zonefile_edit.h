// Editing a zone file in place, as a person would: the file stays the source of truth that
// an operator edits. What changes in the file:
//  - the SOA serial: only the digits of the serial field, in place, whether the SOA is on one
//    line or in parentheses over several (comments kept); an SOA whose other fields change too
//    is rewritten on its lines;
//  - removed records: their lines go (all lines of a multi-line record). When a removed line
//    carried the owner that the blank-owner lines after it borrow, the first kept one of them
//    gets the owner written (relative to the $ORIGIN in force there when the file writes
//    relative names), so every line keeps its meaning;
//  - added records: appended at the end under "; added by zoned DATE (serial N)", in the file's
//    style: owners relative to the $ORIGIN in force at the end of the file when the file uses
//    relative names, the file's owner column, one owner per group (blank-owner lines after it),
//    the TTL only where it differs from the $TTL in force;
//  - nothing else: comments, blank lines, directives, formatting and every other record stay.
// Atomic and verified: the new text goes to a temporary file beside it (same mode), is
// fsync'ed, loaded again and compared with the expected zone, then renamed over the file and
// the directory fsync'ed. A file edited by hand since it was loaded (it no longer holds the
// served zone) is never overwritten: the error says so and names the difference.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "zone/changeset.h"
#include "zone/zone.h"

namespace zone {

// `expected` is the zone the file must hold afterwards (the served zone + c); the file must
// hold the served zone now (the SOA serial aside: a serial-policy may serve another one).
// False with `error` set when the file cannot be edited: it changed since it was loaded, a
// record to remove is in an $INCLUDE file, it cannot be written.
bool edit_zone_file(const std::string& path, NameView origin, const Changeset& c,
                    const Zone& expected, std::string& error);

// Whether the file still holds `served` (the SOA serial aside); false with the first
// differences in `error` ("zone file F changed since it was loaded: reload first ...").
bool zone_file_holds(const std::string& path, NameView origin, const Zone& served,
                     std::string& error);

// Several consecutive changesets (a burst of DNS UPDATEs) written back in one edit.
bool edit_zone_file(const std::string& path, NameView origin, const std::vector<Changeset>& chain,
                    const Zone& expected, std::string& error);

}  // namespace zone
