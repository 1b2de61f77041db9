// Times as every message shows them: UTC, ISO 8601, with a Z (2026-12-03T20:21:15Z).
#pragma once
#include <cstdint>
#include <ctime>
#include <string>

namespace zone {

// "" for 0 or a negative time (never happened).
inline std::string utc_text(int64_t t) {
  if (t <= 0) return "";
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace zone
