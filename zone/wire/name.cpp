#include "zone/wire/name.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace zone::wire {

NameError read_name(const uint8_t* msg, size_t msg_len, size_t& pos, uint8_t* out,
                    size_t& out_len) {
  size_t p = pos;
  size_t n = 0;
  bool jumped = false;
  size_t lowest = p;  // a pointer must go below every position visited so far
  for (;;) {
    if (p >= msg_len) return NameError::truncated;
    uint8_t len = msg[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= msg_len) return NameError::truncated;
      size_t target = (static_cast<size_t>(len & 0x3F) << 8) | msg[p + 1];
      if (target >= lowest) return NameError::bad_pointer;
      if (!jumped) pos = p + 2;
      jumped = true;
      lowest = target;
      p = target;
      continue;
    }
    if (len & 0xC0) return NameError::bad_label;  // 0x40/0x80 extended label types
    if (n + 1 + len > kMaxNameLen) return NameError::too_long;
    if (p + 1 + len > msg_len) return NameError::truncated;
    std::memcpy(out + n, msg + p, 1 + len);
    n += 1 + len;
    p += 1 + len;
    if (len == 0) break;
  }
  if (!jumped) pos = p;
  out_len = n;
  return NameError::ok;
}

size_t name_length(const uint8_t* data, size_t len) {
  size_t p = 0;
  for (;;) {
    if (p >= len) return 0;
    uint8_t l = data[p];
    if (l > kMaxLabelLen) return 0;
    p += 1 + l;
    if (p > kMaxNameLen) return 0;
    if (l == 0) return p <= len ? p : 0;
  }
}

void lower_name(uint8_t* name, size_t len) {
  size_t p = 0;
  while (p < len && name[p] != 0) {
    uint8_t l = name[p];
    for (size_t i = p + 1; i <= p + l && i < len; ++i) name[i] = ascii_lower(name[i]);
    p += 1 + l;
  }
}

std::string lowered(NameView name) {
  std::string s(name);
  lower_name(reinterpret_cast<uint8_t*>(s.data()), s.size());
  return s;
}

bool names_equal_ci(NameView a, NameView b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(static_cast<uint8_t>(a[i])) != ascii_lower(static_cast<uint8_t>(b[i])))
      return false;
  return true;
}

int label_count(NameView name) {
  int n = 0;
  size_t p = 0;
  while (p < name.size() && name[p] != 0) {
    ++n;
    p += 1 + static_cast<uint8_t>(name[p]);
  }
  return n;
}

bool is_subdomain(NameView name, NameView parent) {
  if (name.size() < parent.size()) return false;
  size_t p = 0;
  // Walk label boundaries of name until the remaining suffix has parent's length.
  while (name.size() - p > parent.size()) p += 1 + static_cast<uint8_t>(name[p]);
  return name.size() - p == parent.size() && name.substr(p) == parent;
}

std::string name_display(NameView name) {
  std::string t = name_to_text(name);
  if (t.size() > 1 && t.back() == '.') t.pop_back();
  return t;
}

std::string name_to_text(NameView name) {
  if (name.size() <= 1) return ".";
  std::string out;
  size_t p = 0;
  while (p < name.size() && name[p] != 0) {
    uint8_t l = static_cast<uint8_t>(name[p]);
    for (size_t i = p + 1; i <= p + l && i < name.size(); ++i) {
      uint8_t c = static_cast<uint8_t>(name[i]);
      if (c == '.' || c == '\\' || c == '(' || c == ')' || c == ';' || c == '"' || c == '@' ||
          c == '$') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c <= 0x20 || c >= 0x7f) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '.';
    p += 1 + l;
  }
  return out;
}

namespace {
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
}  // namespace

std::optional<std::string> name_from_text(std::string_view text, NameView origin) {
  if (text.empty()) return std::nullopt;
  if (text == "@") {
    if (origin.empty()) return std::nullopt;
    return std::string(origin);
  }
  std::string s(text);
  RdfPtr rdf(ldns_dname_new_frm_str(s.c_str()));
  if (!rdf) return std::nullopt;
  std::string wire(reinterpret_cast<const char*>(ldns_rdf_data(rdf.get())),
                   ldns_rdf_size(rdf.get()));
  // ldns knows the escapes: in "a\\\\." the last dot is real (the backslash is escaped).
  bool absolute = ldns_dname_str_absolute(s.c_str());
  if (!absolute) {
    if (origin.empty()) return std::nullopt;
    // ldns gives relative names with a root label at the end: drop it, append origin.
    if (!wire.empty() && wire.back() == 0) wire.pop_back();
    wire += origin;
  }
  if (name_length(reinterpret_cast<const uint8_t*>(wire.data()), wire.size()) != wire.size())
    return std::nullopt;
  return wire;
}

int canonical_compare(NameView a, NameView b) {
  // Compare label by label from the root end.
  auto labels = [](NameView n, size_t* offs) {
    int k = 0;
    size_t p = 0;
    while (p < n.size() && n[p] != 0) {
      offs[k++] = p;
      p += 1 + static_cast<uint8_t>(n[p]);
    }
    return k;
  };
  size_t oa[128], ob[128];
  int ka = labels(a, oa), kb = labels(b, ob);
  while (ka > 0 && kb > 0) {
    --ka;
    --kb;
    NameView la = a.substr(oa[ka] + 1, static_cast<uint8_t>(a[oa[ka]]));
    NameView lb = b.substr(ob[kb] + 1, static_cast<uint8_t>(b[ob[kb]]));
    int c = la.compare(lb);
    if (c != 0) return c < 0 ? -1 : 1;
  }
  if (ka == kb) return 0;
  return ka < kb ? -1 : 1;
}

}  // namespace zone::wire
