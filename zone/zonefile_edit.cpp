#include "zone/zonefile_edit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "zone/delegation.h"
#include "zone/loader.h"
#include "zone/wire/name.h"
#include "zone/wire/types.h"
#include "zone/zonefile_parser.h"

namespace zone {

namespace {

constexpr size_t kShownDifferences = 5;
constexpr const char* kMarker = "; added by zoned ";

// A record without its TTL: what identifies it in an RRset (TTLs of an RRset may differ in
// the file; the zone keeps the first).
using Key = std::tuple<std::string, uint16_t, std::string>;
Key key_of(const Record& r) { return {r.owner, r.type, r.rdata}; }

bool write_durably(const std::string& path, const std::string& text, mode_t mode,
                   std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  ::fchmod(fd, mode);  // the zone file's own mode, not the umask's
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "cannot write " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    error = "cannot fsync " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  ::close(fd);
  return true;
}

// Offset of the serial in SOA RDATA (two uncompressed names first), or npos.
size_t soa_serial_at(std::string_view rd) {
  size_t p = 0;
  for (int names = 0; names < 2; ++names) {
    while (p < rd.size() && rd[p] != 0) p += 1 + static_cast<uint8_t>(rd[p]);
    ++p;
  }
  return p + 20 <= rd.size() ? p : std::string::npos;
}
uint32_t soa_serial(std::string_view rd) {
  size_t p = soa_serial_at(rd);
  if (p == std::string::npos) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<uint8_t>(rd[p + i]);
  return v;
}
// The SOA RDATA with its serial zeroed: two SOAs that differ only in their serial are equal.
std::string without_serial(std::string rd) {
  size_t p = soa_serial_at(rd);
  if (p != std::string::npos) std::fill(rd.begin() + p, rd.begin() + p + 4, '\0');
  return rd;
}

// Every record of a zone; the SOA without its serial.
std::set<Key> content(const Zone& z) {
  std::set<Key> s;
  for (const auto& r : zone_records(z))
    s.insert({r.owner, r.type, r.type == wire::rrtype::SOA ? without_serial(r.rdata) : r.rdata});
  return s;
}

std::multiset<std::tuple<std::string, uint16_t, uint32_t, std::string>> exact(const Zone& z) {
  std::multiset<std::tuple<std::string, uint16_t, uint32_t, std::string>> s;
  for (const auto& r : zone_records(z)) s.insert({r.owner, r.type, r.ttl, r.rdata});
  return s;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t p = 0;
  while (p < text.size()) {
    size_t e = text.find('\n', p);
    if (e == std::string::npos) e = text.size();
    lines.push_back(text.substr(p, e - p));
    p = e + 1;
  }
  return lines;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

// The first whitespace-separated word of s from `from`, or "".
std::string word_at(const std::string& s, size_t from) {
  size_t b = from;
  while (b < s.size() && blank(s[b])) ++b;
  size_t e = b;
  while (e < s.size() && !blank(s[e]) && s[e] != ';' && s[e] != '\r') ++e;
  return s.substr(b, e - b);
}

// What the directives of the main file say at each line: the $ORIGIN and $TTL in force.
struct Directives {
  std::vector<std::string> origin;  // per line (index = line - 1): wire
  std::vector<uint32_t> ttl;        // per line; 0: no $TTL yet
  std::string origin_at_end;
  uint32_t ttl_at_end = 0;
};

Directives read_directives(const std::vector<std::string>& lines, NameView zone_origin) {
  Directives d;
  std::string origin(zone_origin);
  uint32_t ttl = 0;
  for (const auto& l : lines) {
    d.origin.push_back(origin);
    d.ttl.push_back(ttl);
    if (l.rfind("$ORIGIN", 0) == 0) {
      std::string v = word_at(l, 7);
      // ldns reads a relative $ORIGIN as absolute (README: Zone files).
      if (!v.empty() && v.back() != '.') v += '.';
      if (auto w = wire::name_from_text(v)) origin = wire::lowered(*w);
    } else if (l.rfind("$TTL", 0) == 0) {
      std::string v = word_at(l, 4);
      size_t end = 0;
      uint32_t t = 0;
      for (; end < v.size() && v[end] >= '0' && v[end] <= '9'; ++end) t = t * 10 + (v[end] - '0');
      if (end == v.size() && !v.empty()) ttl = t;
    }
  }
  d.origin_at_end = origin;
  d.ttl_at_end = ttl;
  return d;
}

// `owner` (lowercased wire) as written under `origin`: "@", a relative name, or absolute.
std::string owner_text(const std::string& owner, const std::string& origin, bool relative) {
  std::string abs = wire::name_to_text(owner);
  if (!relative) return abs;
  if (owner == origin) return "@";
  if (owner.size() > origin.size() && wire::is_subdomain(owner, origin)) {
    std::string o = wire::name_to_text(origin);
    return abs.substr(0, abs.size() - o.size() - 1);
  }
  return abs;
}

// The file's way of writing records: relative owners or not, the owner column, the
// indentation of blank-owner lines.
struct Style {
  bool relative = false;
  bool tab = false;            // a tab after the owner (then no column)
  size_t owner_width = 0;      // column where the field after the owner starts (0: one space)
  std::string indent = "\t";   // of blank-owner lines
};

Style read_style(const std::vector<std::string>& lines, const std::vector<RecordSpan>& spans,
                 const std::string& path) {
  Style st;
  std::map<size_t, size_t> widths;
  std::map<std::string, size_t> indents;
  size_t tabs = 0, spaces = 0;
  for (const auto& s : spans) {
    if (s.file != path || s.first_line < 1 || s.first_line > static_cast<int>(lines.size())) continue;
    const std::string& l = lines[static_cast<size_t>(s.first_line - 1)];
    if (s.explicit_owner) {
      std::string owner = word_at(l, 0);
      if (owner == "@" || (!owner.empty() && owner.back() != '.')) st.relative = true;
      size_t next = owner.size();
      if (next < l.size() && l[next] == '\t') {
        ++tabs;
        continue;
      }
      ++spaces;
      while (next < l.size() && blank(l[next])) ++next;
      ++widths[next];
    } else {
      size_t e = 0;
      while (e < l.size() && blank(l[e])) ++e;
      ++indents[l.substr(0, e)];
    }
  }
  auto most = [](const auto& m) {
    auto best = m.begin();
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it->second > best->second) best = it;
    return best->first;
  };
  st.tab = tabs > spaces;
  if (!widths.empty()) st.owner_width = most(widths);
  if (!indents.empty()) st.indent = most(indents);
  return st;
}

// "owner" padded to the file's column (or followed by a tab or a space).
std::string with_owner_column(const std::string& owner, const Style& st) {
  if (st.tab) return owner + "\t";
  if (st.owner_width == 0) return owner + " ";
  if (owner.size() + 1 > st.owner_width) return owner + " ";
  return owner + std::string(st.owner_width - owner.size(), ' ');
}

// The part of record_text after owner, TTL and class: "TYPE RDATA".
std::string type_and_rdata(const Record& r) {
  std::string t = record_text(r);
  size_t p = 0;
  for (int field = 0; field < 3 && p != std::string::npos; ++field) {
    p = t.find_first_of(" \t", p);
    if (p != std::string::npos) p = t.find_first_not_of(" \t", p);
  }
  std::string out = p == std::string::npos ? t : t.substr(p);
  for (char& c : out)
    if (c == '\t') c = ' ';
  return out;
}

std::string record_line(const Record& r, const std::string& owner_field, uint32_t ttl_in_force) {
  std::string ttl = r.ttl == ttl_in_force ? "" : std::to_string(r.ttl) + " ";
  return owner_field + ttl + "IN " + type_and_rdata(r);
}

// Tokens of master-file text (comments, parentheses and quotes understood): [begin, end).
std::vector<std::pair<size_t, size_t>> tokens(const std::string& s) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (blank(c) || c == '\n' || c == '\r' || c == '(' || c == ')') {
      ++i;
    } else if (c == ';') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '"') {
      size_t b = i++;
      while (i < s.size() && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
      out.emplace_back(b, std::min(++i, s.size()));
    } else {
      size_t b = i;
      while (i < s.size() && !blank(s[i]) && s[i] != '\n' && s[i] != '\r' && s[i] != '(' &&
             s[i] != ')' && s[i] != ';')
        i += s[i] == '\\' ? 2 : 1;
      out.emplace_back(b, std::min(i, s.size()));
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return wire::ascii_lower(static_cast<uint8_t>(x)) == wire::ascii_lower(static_cast<uint8_t>(y));
         });
}

// Replaces the digits of the SOA serial in the SOA's lines (text joined by '\n'); false when
// the serial field is not where it should be or does not read `old_serial`.
bool replace_serial(std::string& soa_text, bool explicit_owner, uint32_t old_serial,
                    uint32_t new_serial) {
  auto toks = tokens(soa_text);
  size_t first = explicit_owner ? 1 : 0;
  for (size_t i = first; i < toks.size() && i <= first + 2; ++i) {
    auto [b, e] = toks[i];
    if (!iequals(std::string_view(soa_text).substr(b, e - b), "SOA")) continue;
    if (i + 3 >= toks.size()) return false;
    auto [sb, se] = toks[i + 3];  // MNAME RNAME SERIAL
    std::string serial = soa_text.substr(sb, se - sb);
    if (serial.empty() || serial.find_first_not_of("0123456789") != std::string::npos ||
        serial.size() > 10 || std::stoull(serial) != old_serial)
      return false;
    soa_text.replace(sb, se - sb, std::to_string(new_serial));
    return true;
  }
  return false;
}

std::string join_lines(const std::vector<std::string>& lines, int first, int last) {
  std::string s;
  for (int l = first; l <= last; ++l) s += lines[static_cast<size_t>(l - 1)] + (l < last ? "\n" : "");
  return s;
}

// "zone file F changed since it was loaded: ..." with the first differences.
// `advice` says what to do about it: it differs between a change not yet made (reload, then
// repeat it) and one already committed that waits to be written (reload merges the two).
std::string changed_error(const std::string& path, const std::set<Key>& file,
                          const std::set<Key>& served, const std::vector<RecordSpan>& spans,
                          const std::map<Key, uint32_t>& ttls, const std::string& advice) {
  std::vector<std::string> diffs;
  size_t total = 0;
  auto text = [&](const Key& k) {
    auto t = ttls.find(k);
    return record_text({std::get<0>(k), std::get<1>(k), t == ttls.end() ? 0 : t->second,
                        std::get<2>(k)});
  };
  for (const auto& k : served)
    if (!file.count(k) && std::get<1>(k) != wire::rrtype::SOA) {
      if (++total <= kShownDifferences) diffs.push_back("- " + text(k) + " (served, not in the file)");
    }
  for (const auto& k : file)
    if (!served.count(k)) {
      if (++total > kShownDifferences) continue;
      std::string where;
      for (const auto& s : spans)
        if (s.owner == std::get<0>(k) && s.type == std::get<1>(k) &&
            (s.type == wire::rrtype::SOA ? without_serial(s.rdata) : s.rdata) == std::get<2>(k)) {
          where = " (" + (s.file == path ? "line " : s.file + ":") + std::to_string(s.first_line) + ")";
          break;
        }
      diffs.push_back("+ " + text(k) + where);
    }
  std::string e = "zone file " + path + " changed since it was loaded: " + advice +
                  "; it differs from the served zone in " + std::to_string(total) + " record(s):";
  for (const auto& d : diffs) e += "\n  " + d;
  if (total > diffs.size()) e += "\n  and " + std::to_string(total - diffs.size()) + " more";
  return e;
}

// The file as it is now, with where each record sits; an error that says it must be fixed.
LoadResult load_for_edit(const std::string& path, NameView origin,
                         std::vector<RecordSpan>& spans, std::string& error) {
  LoadResult cur = load_zone_file(path, origin, &spans);
  if (!cur.ok())
    error = "the zone file " + path + " does not load: " +
            (cur.errors.empty() ? std::string("?") : cur.errors.front().str()) +
            " (fix it and reload first)";
  return cur;
}

}  // namespace

bool zone_file_holds(const std::string& path, NameView origin, const Zone& served,
                     std::string& error) {
  std::vector<RecordSpan> spans;
  LoadResult cur = load_for_edit(path, origin, spans, error);
  if (!cur.ok()) return false;
  std::map<Key, uint32_t> ttls;
  for (const auto& r : zone_records(served)) ttls[{r.owner, r.type, r.rdata}] = r.ttl;
  for (const auto& r : zone_records(*cur.zone)) ttls.emplace(Key{r.owner, r.type, r.rdata}, r.ttl);
  std::set<Key> in_file = content(*cur.zone), want = content(served);
  if (in_file == want) return true;
  error = changed_error(path, in_file, want, spans, ttls,
                        "reload first (zonectl reload), then repeat the change");
  return false;
}

bool edit_zone_file(const std::string& path, NameView origin, const Changeset& c,
                    const Zone& expected, std::string& error) {
  std::vector<RecordSpan> spans;
  LoadResult cur = load_for_edit(path, origin, spans, error);
  if (!cur.ok()) return false;

  // The file must hold what is served now: expected - added + removed (SOA serial aside).
  std::set<Key> served = content(expected);
  std::map<Key, uint32_t> ttls;
  for (const auto& r : zone_records(expected)) ttls[{r.owner, r.type, r.rdata}] = r.ttl;
  for (const auto& r : c.added) served.erase(key_of(r));
  for (const auto& r : c.removed) {
    served.insert(key_of(r));
    ttls[key_of(r)] = r.ttl;
  }
  served.erase({c.soa_to.owner, c.soa_to.type, without_serial(c.soa_to.rdata)});
  served.insert({c.soa_from.owner, c.soa_from.type, without_serial(c.soa_from.rdata)});
  std::set<Key> in_file = content(*cur.zone);
  for (const auto& r : zone_records(*cur.zone)) ttls.emplace(Key{r.owner, r.type, r.rdata}, r.ttl);
  if (in_file != served) {
    error = changed_error(path, in_file, served, spans, ttls,
                          "zonectl reload merges the edit with the changes made here and "
                          "writes them to it");
    return false;
  }

  std::string text;
  if (!zonefile::read_file(path, text)) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st_file;
  mode_t mode = ::stat(path.c_str(), &st_file) == 0 ? (st_file.st_mode & 07777) : 0644;
  std::vector<std::string> lines = split_lines(text);
  Directives dir = read_directives(lines, origin);
  Style style = read_style(lines, spans, path);

  // The records to remove, and the SOA, found in the main file.
  std::multimap<Key, size_t> where;
  for (size_t i = 0; i < spans.size(); ++i)
    where.emplace(Key{spans[i].owner, spans[i].type, spans[i].rdata}, i);
  std::vector<bool> gone(spans.size(), false);
  for (const auto& r : c.removed) {
    bool found = false;
    auto range = where.equal_range(key_of(r));
    for (auto it = range.first; it != range.second; ++it) {
      if (gone[it->second]) continue;
      const RecordSpan& s = spans[it->second];
      if (s.file != path) {
        error = "record " + record_text(r) + " is in the $INCLUDE file " + s.file +
                ": edit that file by hand";
        return false;
      }
      gone[it->second] = true;
      found = true;  // and its duplicates too (the zone holds one)
    }
    if (!found) {
      error = "record " + record_text(r) + " is not in " + path;
      return false;
    }
  }
  const RecordSpan* soa = nullptr;
  for (const auto& s : spans)
    if (s.type == wire::rrtype::SOA && s.owner == c.soa_from.owner) soa = &s;
  if (!soa) {
    error = "no SOA record in " + path;
    return false;
  }
  if (soa->file != path) {
    error = "the SOA record is in the $INCLUDE file " + soa->file + ": edit that file by hand";
    return false;
  }

  // Lines: removed records drop theirs; a kept blank-owner record whose owner was written on
  // a dropped line gets it written.
  std::vector<bool> drop(lines.size() + 2, false);
  std::map<int, std::string> owner_for;  // line -> owner to write in front
  bool owner_on_page = true;             // the owner blank lines borrow is still written
  for (size_t i = 0; i < spans.size(); ++i) {
    const RecordSpan& s = spans[i];
    if (s.file != path) continue;
    if (gone[i]) {
      for (int l = s.first_line; l <= s.last_line && l <= static_cast<int>(lines.size()); ++l)
        drop[static_cast<size_t>(l)] = true;
      if (s.explicit_owner) owner_on_page = false;
    } else if (s.explicit_owner) {
      owner_on_page = true;
    } else if (!owner_on_page) {
      owner_for[s.first_line] = s.owner;
      owner_on_page = true;
    }
  }

  // The SOA: the serial digits in place, or (other fields changed) its lines rewritten.
  std::string soa_text = join_lines(lines, soa->first_line, soa->last_line);
  uint32_t file_serial = soa_serial(soa->rdata);
  bool serial_only = without_serial(c.soa_from.rdata) == without_serial(c.soa_to.rdata) &&
                     c.soa_from.ttl == c.soa_to.ttl;
  if (serial_only) {
    if (!replace_serial(soa_text, soa->explicit_owner, file_serial, c.to_serial())) {
      error = "cannot find the serial " + std::to_string(file_serial) + " of the SOA at " + path +
              ":" + std::to_string(soa->first_line);
      return false;
    }
  } else {
    size_t l = static_cast<size_t>(soa->first_line - 1);
    std::string o = owner_text(c.soa_to.owner, dir.origin[l], style.relative);
    soa_text = record_line(c.soa_to, with_owner_column(o, style), dir.ttl[l]);
  }

  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    int ln = static_cast<int>(i) + 1;
    if (ln == soa->first_line) {
      out += soa_text + "\n";
      i = static_cast<size_t>(soa->last_line - 1);
      continue;
    }
    if (drop[static_cast<size_t>(ln)]) continue;
    std::string line = lines[i];
    if (auto p = owner_for.find(ln); p != owner_for.end()) {
      size_t e = 0;
      while (e < line.size() && blank(line[e])) ++e;
      std::string o = owner_text(p->second, dir.origin[i], style.relative);
      line = with_owner_column(o, style) + line.substr(e);
    }
    out += line + "\n";
  }

  // A "; added by zoned" marker whose records all went away goes too.
  {
    std::vector<std::string> kept = split_lines(out);
    std::string cleaned;
    for (size_t i = 0; i < kept.size(); ++i) {
      bool marker = kept[i].rfind(kMarker, 0) == 0;
      if (marker && (i + 1 == kept.size() || kept[i + 1].rfind(kMarker, 0) == 0)) continue;
      cleaned += kept[i] + "\n";
    }
    out = cleaned;
  }

  // New records at the end, grouped by owner in the order they come.
  if (!c.added.empty()) {
    char stamp[64];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    if (!out.empty() && out.back() != '\n') out += "\n";
    out += std::string(kMarker) + stamp + " (serial " + std::to_string(c.to_serial()) + ")\n";
    std::vector<std::string> owners;
    std::map<std::string, std::vector<const Record*>> by_owner;
    for (const auto& r : c.added) {
      if (!by_owner.count(r.owner)) owners.push_back(r.owner);
      by_owner[r.owner].push_back(&r);
    }
    for (const auto& o : owners) {
      bool first = true;
      for (const Record* r : by_owner[o]) {
        std::string field = first ? with_owner_column(owner_text(o, dir.origin_at_end, style.relative), style)
                                  : style.indent;
        out += record_line(*r, field, dir.ttl_at_end) + "\n";
        first = false;
      }
    }
  }

  // Write next to the file, check that it loads to exactly the expected zone, then swap.
  std::string tmp = path + ".zoned-tmp";
  if (!write_durably(tmp, out, mode, error)) return false;
  LoadResult check = load_zone_file(tmp, origin);
  if (!check.ok() || exact(*check.zone) != exact(expected)) {
    std::remove(tmp.c_str());
    error = "the edited zone file would not hold the expected zone" +
            (check.ok() ? std::string() : ": " + check.errors.front().str()) +
            "; the file is unchanged";
    return false;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  // The rename is durable once the directory is synced.
  std::string d = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(d.empty() ? "." : d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

bool edit_zone_file(const std::string& path, NameView origin, const std::vector<Changeset>& chain,
                    const Zone& expected, std::string& error) {
  if (chain.empty()) return true;
  return edit_zone_file(path, origin, chain.size() == 1 ? chain.front() : condense(chain), expected,
                        error);
}

}  // namespace zone
