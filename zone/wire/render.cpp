#include "zone/wire/render.h"

#include <cstring>
#include <vector>

namespace zone::wire {

bool Renderer::begin(uint16_t id, uint16_t flags, NameView qname, uint16_t qtype,
                     uint16_t qclass) {
  begin_header_only(id, flags);
  if (!room(qname.size() + 4)) return false;
  put16(buf_ + 4, 1);
  if (!put_name(qname, true)) return false;
  put16(buf_ + len_, qtype);
  put16(buf_ + len_ + 2, qclass);
  len_ += 4;
  return true;
}

void Renderer::begin_header_only(uint16_t id, uint16_t flags) {
  std::memset(buf_, 0, kHeaderSize);
  put16(buf_, id);
  put16(buf_ + 2, flags);
  len_ = kHeaderSize;
  counts_[0] = counts_[1] = counts_[2] = 0;
  ncomp_ = 0;
  reserved_ = 0;
  if (index_) index_->clear();
}

void Renderer::sync_counts() {
  put16(buf_ + 6, counts_[0]);
  put16(buf_ + 8, counts_[1]);
  put16(buf_ + 10, counts_[2]);
}

void Renderer::rollback(const Mark& m) {
  len_ = m.len;
  for (int i = 0; i < 3; ++i) counts_[i] = m.counts[i];
  ncomp_ = m.ncomp;
  if (index_) index_purge(m.len);
  sync_counts();
}

namespace {
// Hash of each suffix of `name` (label starts in `starts`), built from the root up so that
// it costs one pass: hashes[i] is the hash of the suffix starting at label i. Never 0.
size_t suffix_hashes(NameView name, uint32_t* hashes, uint16_t* starts) {
  size_t n = 0;
  for (size_t p = 0; p < name.size() && name[p] != 0 && n < 128;
       p += 1 + static_cast<uint8_t>(name[p]))
    starts[n++] = static_cast<uint16_t>(p);
  uint32_t h = 2166136261u;
  for (size_t i = n; i-- > 0;) {
    size_t p = starts[i];
    size_t l = static_cast<uint8_t>(name[p]);
    h = (h ^ static_cast<uint32_t>(l)) * 16777619u;
    for (size_t k = 1; k <= l; ++k)
      h = (h ^ ascii_lower(static_cast<uint8_t>(name[p + k]))) * 16777619u;
    hashes[i] = h ? h : 1;
  }
  return n;
}
}  // namespace

void Renderer::index_add(uint32_t hash, size_t off) {
  auto* slots = index_->slots_;
  for (size_t i = hash & (CompressionIndex::kSlots - 1);; i = (i + 1) & (CompressionIndex::kSlots - 1)) {
    if (slots[i].hash == 0) {
      slots[i] = {hash, static_cast<uint16_t>(off)};
      return;
    }
  }
}

// Drops targets at or after `from` (a rolled-back record), keeping probe chains intact.
void Renderer::index_purge(size_t from) {
  auto* slots = index_->slots_;
  std::vector<CompressionIndex::Slot> keep;
  bool any = false;
  for (size_t i = 0; i < CompressionIndex::kSlots; ++i)
    if (slots[i].hash && slots[i].off >= from) any = true;
  if (!any) return;
  for (size_t i = 0; i < CompressionIndex::kSlots; ++i)
    if (slots[i].hash && slots[i].off < from) keep.push_back(slots[i]);
  index_->clear();
  for (const auto& k : keep) index_add(k.hash, k.off);
}

// Does the (possibly compressed) name at buffer offset `off` equal `suffix`, ignoring case?
bool Renderer::match_at(size_t off, NameView suffix) const {
  size_t p = off, s = 0;
  for (int guard = 0; guard < 128; ++guard) {
    uint8_t l = buf_[p];
    if ((l & 0xC0) == 0xC0) {
      p = static_cast<size_t>(l & 0x3F) << 8 | buf_[p + 1];
      continue;
    }
    if (s >= suffix.size() || static_cast<uint8_t>(suffix[s]) != l) return false;
    if (l == 0) return true;
    for (size_t i = 1; i <= l; ++i)
      if (ascii_lower(buf_[p + i]) != ascii_lower(static_cast<uint8_t>(suffix[s + i])))
        return false;
    p += 1 + l;
    s += 1 + l;
  }
  return false;
}

bool Renderer::put_name(NameView name, bool compress) {
  if (compress && index_) return put_name_indexed(name);
  // Find the longest suffix already in the message.
  size_t pos = 0;  // offset in `name` of the suffix being tried
  size_t found = 0;
  bool have = false;
  if (compress) {
    while (pos < name.size() && name[pos] != 0) {
      NameView suffix = name.substr(pos);
      for (size_t i = 0; i < ncomp_; ++i) {
        if (match_at(comp_[i], suffix)) {
          found = comp_[i];
          have = true;
          break;
        }
      }
      if (have) break;
      pos += 1 + static_cast<uint8_t>(name[pos]);
    }
  } else {
    pos = name.size();
  }
  size_t prefix = have ? pos : name.size();
  size_t need = prefix + (have ? 2 : 0);
  if (!room(need)) return false;
  // Remember where each new label starts, for later names to point at.
  if (compress) {
    size_t p = 0;
    while (p < prefix && name[p] != 0 && ncomp_ < kMaxCompress && len_ + p < 0x3FFF) {
      comp_[ncomp_++] = static_cast<uint16_t>(len_ + p);
      p += 1 + static_cast<uint8_t>(name[p]);
    }
  }
  write_name(name, prefix, have, found);
  return true;
}

void Renderer::write_name(NameView name, size_t prefix, bool have, size_t found) {
  std::memcpy(buf_ + len_, name.data(), prefix);
  len_ += prefix;
  if (have) {
    put16(buf_ + len_, static_cast<uint16_t>(0xC000 | found));
    len_ += 2;
  }
}

bool Renderer::put_name_indexed(NameView name) {
  uint32_t hashes[128];
  uint16_t starts[128];
  size_t n = suffix_hashes(name, hashes, starts);
  auto* slots = index_->slots_;
  constexpr size_t mask = CompressionIndex::kSlots - 1;
  // The longest suffix already in the message: one probe sequence per label.
  size_t label = 0, found = 0;
  bool have = false;
  for (; label < n; ++label) {
    NameView suffix = name.substr(starts[label]);
    for (size_t i = hashes[label] & mask; slots[i].hash; i = (i + 1) & mask)
      if (slots[i].hash == hashes[label] && match_at(slots[i].off, suffix)) {
        found = slots[i].off;
        have = true;
        break;
      }
    if (have) break;
  }
  size_t prefix = have ? starts[label] : name.size();
  if (!room(prefix + (have ? 2 : 0))) return false;
  for (size_t i = 0; i < label && len_ + starts[i] < 0x3FFF; ++i)
    index_add(hashes[i], len_ + starts[i]);
  write_name(name, prefix, have, found);
  return true;
}

bool Renderer::put_rdata(uint16_t type, std::string_view rdata) {
  if (!rdata_compressible(type)) {
    if (!room(rdata.size())) return false;
    std::memcpy(buf_ + len_, rdata.data(), rdata.size());
    len_ += rdata.size();
    return true;
  }
  // Layout of the compressible types: [fixed prefix][name]([name])[fixed suffix].
  size_t prefix = type == rrtype::MX ? 2 : 0;
  int names = (type == rrtype::SOA || type == rrtype::MINFO) ? 2 : 1;
  if (!room(prefix)) return false;
  if (rdata.size() < prefix) return false;
  std::memcpy(buf_ + len_, rdata.data(), prefix);
  len_ += prefix;
  size_t p = prefix;
  for (int i = 0; i < names; ++i) {
    size_t n = name_length(reinterpret_cast<const uint8_t*>(rdata.data()) + p, rdata.size() - p);
    if (n == 0) return false;
    if (!put_name(rdata.substr(p, n), true)) return false;
    p += n;
  }
  size_t rest = rdata.size() - p;
  if (!room(rest)) return false;
  std::memcpy(buf_ + len_, rdata.data() + p, rest);
  len_ += rest;
  return true;
}

bool Renderer::write_rr(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata,
                        uint16_t rclass) {
  if (!put_name(owner, true)) return false;
  if (!room(10)) return false;
  uint8_t* f = buf_ + len_;
  put16(f, type);
  put16(f + 2, rclass);
  put32(f + 4, ttl);
  len_ += 10;
  size_t start = len_;
  if (!put_rdata(type, rdata)) return false;
  put16(f + 8, static_cast<uint16_t>(len_ - start));
  return true;
}

bool Renderer::add_rrset(Section s, NameView owner, uint16_t type, uint32_t ttl,
                         std::string_view packed) {
  Mark m = mark();
  uint16_t n = 0;
  size_t p = 0;
  while (p + 2 <= packed.size()) {
    uint16_t l = get16(reinterpret_cast<const uint8_t*>(packed.data()) + p);
    if (!write_rr(owner, type, ttl, packed.substr(p + 2, l))) {
      rollback(m);
      return false;
    }
    p += 2 + l;
    ++n;
  }
  counts_[static_cast<int>(s)] += n;
  sync_counts();
  return true;
}

bool Renderer::add_rrset(Section s, NameView owner, const RRset& rrset) {
  return add_rrset(s, owner, rrset.type, rrset.ttl, rrset.data);
}

bool Renderer::add_rr(Section s, NameView owner, uint16_t type, uint32_t ttl,
                      std::string_view rdata, uint16_t rclass) {
  Mark m = mark();
  if (!write_rr(owner, type, ttl, rdata, rclass)) {
    rollback(m);
    return false;
  }
  counts_[static_cast<int>(s)]++;
  sync_counts();
  return true;
}

void Renderer::add_opt(uint16_t payload, uint16_t ext_rcode, bool do_bit,
                       std::string_view options) {
  reserved_ = 0;
  if (len_ + kOptSize + options.size() > cap_) return;
  uint8_t* p = buf_ + len_;
  p[0] = 0;
  put16(p + 1, rrtype::OPT);
  put16(p + 3, payload);
  p[5] = static_cast<uint8_t>(ext_rcode >> 4);
  p[6] = 0;  // version 0
  put16(p + 7, do_bit ? kEdnsDo : 0);
  put16(p + 9, static_cast<uint16_t>(options.size()));
  if (!options.empty()) std::memcpy(p + kOptSize, options.data(), options.size());
  len_ += kOptSize + options.size();
  counts_[2]++;
  sync_counts();
}

}  // namespace zone::wire
