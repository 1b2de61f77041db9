// What a file was when it was read: a reload re-reads only zone files whose stamp moved, and a
// write-back never overwrites a file edited by hand meanwhile.
#pragma once
#include <sys/stat.h>

#include <cstdint>
#include <string>

namespace zone {

struct FileStamp {
  bool ok = false;  // false: not known (the file could not be looked at)
  uint64_t dev = 0, ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp& o) const = default;

  static FileStamp of(const struct stat& st) {
    return {true, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
            static_cast<int64_t>(st.st_size),
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }
};

// The stamp of the file at `path` now (not ok when it cannot be looked at).
inline FileStamp stamp_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? FileStamp::of(st) : FileStamp{};
}

}  // namespace zone
