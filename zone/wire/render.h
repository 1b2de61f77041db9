// Writes DNS responses into a caller-provided buffer with name compression and
// RRset-granular truncation. No allocation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "zone/wire/message.h"
#include "zone/wire/name.h"
#include "zone/wire/rdata.h"

namespace zone::wire {

enum class Section { answer = 0, authority = 1, additional = 2 };

// Compression targets of a big message (zone transfers: thousands of names per message),
// by a hash of each name suffix, so that finding the longest known suffix of a name costs
// one probe per label instead of a scan of every target. Offsets beyond 16 KiB cannot be
// pointed at (RFC 1035 4.1.4), so a message never has more targets than fit here.
class CompressionIndex {
 public:
  void clear() { std::memset(slots_, 0, sizeof slots_); }

 private:
  friend class Renderer;
  static constexpr size_t kSlots = 8192;  // power of two, > 16 KiB / 2-byte labels / 0.7
  struct Slot {
    uint32_t hash;  // 0: empty
    uint16_t off;
  };
  Slot slots_[kSlots];
};

class Renderer {
 public:
  static constexpr size_t kMaxCompress = 96;

  Renderer(uint8_t* buf, size_t capacity) : buf_(buf), cap_(capacity), limit_(capacity) {}

  // Largest message we may produce (UDP payload limit); never above capacity.
  void set_limit(size_t limit) { limit_ = limit < cap_ ? limit : cap_; }
  size_t limit() const { return limit_; }

  // Writes the header and the question (name as given, so the client's case is kept).
  // The question name becomes the first compression target.
  bool begin(uint16_t id, uint16_t flags, NameView qname, uint16_t qtype, uint16_t qclass);
  // A response with only a header (for malformed queries we cannot echo).
  void begin_header_only(uint16_t id, uint16_t flags);

  void set_flags(uint16_t flags) { put16(buf_ + 2, flags); }
  uint16_t flags() const { return get16(buf_ + 2); }
  void set_rcode(uint16_t rc) { set_flags(static_cast<uint16_t>((flags() & ~0xF) | (rc & 0xF))); }
  void set_tc() { set_flags(flags() | flag::TC); }

  // Uses `index` (cleared by begin) to find compression targets: for messages with many
  // names. Without one, targets are scanned (fastest for ordinary answers).
  void use_index(CompressionIndex* index) { index_ = index; }

  // Keeps room for an OPT record (with `options_len` bytes of options) at the end so that it
  // always fits.
  void reserve_opt(size_t options_len = 0) { reserved_ = kOptSize + options_len; }

  // Appends every record of the RRset under `owner`; on overflow rolls back the whole RRset
  // and returns false. Owner case is kept as given (pass the question name to keep its case).
  bool add_rrset(Section s, NameView owner, const RRset& rrset);
  bool add_rrset(Section s, NameView owner, uint16_t type, uint32_t ttl,
                 std::string_view packed_rdata);
  // A single record with the given RDATA (class IN unless told: CHAOS answers).
  bool add_rr(Section s, NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata,
              uint16_t rclass = rrclass::IN);

  // Writes the OPT record (RFC 6891) into the reserved room; `options` is its RDATA (options
  // already encoded as code, length, data).
  void add_opt(uint16_t payload, uint16_t ext_rcode, bool do_bit, std::string_view options = {});

  uint16_t count(Section s) const { return counts_[static_cast<int>(s)]; }
  size_t size() const { return len_; }

  struct Mark {
    size_t len;
    uint16_t counts[3];
    size_t ncomp;
  };
  Mark mark() const { return {len_, {counts_[0], counts_[1], counts_[2]}, ncomp_}; }
  void rollback(const Mark& m);

 private:
  static constexpr size_t kOptSize = 11;
  bool room(size_t n) const { return len_ + n + reserved_ <= limit_; }
  bool put_name(NameView name, bool compress);
  bool put_rdata(uint16_t type, std::string_view rdata);
  bool write_rr(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata,
                uint16_t rclass = rrclass::IN);
  bool match_at(size_t off, NameView suffix) const;
  bool put_name_indexed(NameView name);
  void write_name(NameView name, size_t prefix, bool have, size_t found);
  void index_add(uint32_t hash, size_t off);
  void index_purge(size_t from);
  void sync_counts();

  uint8_t* buf_;
  size_t cap_, limit_;
  size_t len_ = 0;
  size_t reserved_ = 0;
  uint16_t counts_[3] = {0, 0, 0};
  uint16_t comp_[kMaxCompress];
  size_t ncomp_ = 0;
  CompressionIndex* index_ = nullptr;
};

}  // namespace zone::wire
