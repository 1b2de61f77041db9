#include "zone/zonefile_edit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include "zone/delegation.h"
#include "zone/loader.h"
#include "zone/wire/types.h"

namespace zone {

namespace {

using Key = std::tuple<std::string, uint16_t, uint32_t, std::string>;

bool write_durably(const std::string& path, const std::string& text, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
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

std::multiset<Key> record_set(const Zone& z) {
  std::multiset<Key> s;
  for (const auto& r : zone_records(z)) s.insert({r.owner, r.type, r.ttl, r.rdata});
  return s;
}

}  // namespace

bool edit_zone_file(const std::string& path, NameView origin, const Changeset& c,
                    const Zone& expected, std::string& error) {
  std::vector<RecordSpan> spans;
  LoadResult cur = load_zone_file(path, origin, &spans);
  if (!cur.ok()) {
    error = "the zone file does not load: " +
            (cur.errors.empty() ? std::string("?") : cur.errors.front().str());
    return false;
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);

  // Locate every record to remove (and the old SOA) in the main file.
  std::multimap<Key, size_t> where;
  for (size_t i = 0; i < spans.size(); ++i)
    where.emplace(Key{spans[i].owner, spans[i].type, spans[i].ttl, spans[i].rdata}, i);
  std::vector<bool> gone(spans.size(), false);
  size_t soa_span = spans.size();
  auto take = [&](const Record& r) -> bool {
    auto range = where.equal_range(Key{r.owner, r.type, r.ttl, r.rdata});
    for (auto it = range.first; it != range.second; ++it) {
      if (gone[it->second]) continue;
      const RecordSpan& s = spans[it->second];
      if (s.file != path) {
        error = "record " + record_text(r) + " is in the $INCLUDE file " + s.file +
                ": edit that file by hand";
        return false;
      }
      gone[it->second] = true;
      if (r.type == wire::rrtype::SOA) soa_span = it->second;
      return true;
    }
    error = "record " + record_text(r) + " is not in " + path;
    return false;
  };
  if (!take(c.soa_from)) return false;
  for (const auto& r : c.removed)
    if (!take(r)) return false;

  // New text: deleted lines dropped; a kept record that borrowed its owner from the line
  // before gets its owner written out when that line's record is gone.
  std::vector<bool> drop(lines.size() + 1, false);
  std::map<int, std::string> prefix;  // line -> owner text to put in front
  bool prev_gone = false;  // the record before this one (in this file) is deleted
  for (size_t i = 0; i < spans.size(); ++i) {
    const RecordSpan& s = spans[i];
    if (s.file != path) continue;
    if (gone[i]) {
      for (int l = s.first_line; l <= s.last_line && l <= static_cast<int>(lines.size()); ++l)
        drop[static_cast<size_t>(l)] = true;
    } else if (!s.explicit_owner && prev_gone) {
      prefix[s.first_line] = wire::name_to_text(s.owner);
    }
    prev_gone = gone[i];
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    int ln = static_cast<int>(i) + 1;
    if (soa_span < spans.size() && ln == spans[soa_span].first_line) {
      out += record_text(c.soa_to) + "\n";  // the whole (maybe multi-line) SOA, as one line
      continue;
    }
    if (drop[static_cast<size_t>(ln)]) continue;
    auto p = prefix.find(ln);
    if (p != prefix.end()) out += p->second;
    out += lines[i] + "\n";
  }
  if (!c.added.empty()) {
    char stamp[64];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    out += "; added by zoned " + std::string(stamp) + " (serial " +
           std::to_string(c.to_serial()) + ")\n";
    for (const auto& r : c.added) out += record_text(r) + "\n";
  }

  // A "; added by zoned" marker whose records all went away goes too.
  {
    std::istringstream text(out);
    std::vector<std::string> kept;
    for (std::string l; std::getline(text, l);) kept.push_back(l);
    std::string cleaned;
    for (size_t i = 0; i < kept.size(); ++i) {
      bool marker = kept[i].rfind("; added by zoned ", 0) == 0;
      bool orphan = marker && (i + 1 == kept.size() || kept[i + 1].rfind("; added by zoned ", 0) == 0);
      if (!orphan) cleaned += kept[i] + "\n";
    }
    out = cleaned;
  }

  // Write next to the file, check that it loads to exactly the expected zone, then swap.
  std::string tmp = path + ".zoned-tmp";
  if (!write_durably(tmp, out, error)) return false;
  LoadResult check = load_zone_file(tmp, origin);
  if (!check.ok() || record_set(*check.zone) != record_set(expected)) {
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
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace zone
