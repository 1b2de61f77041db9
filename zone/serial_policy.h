// The serial a changed zone gets when its new serial must be chosen here (a zone file whose
// serial did not grow under serial-policy increment/unixtime, zonectl edits, DNS UPDATE):
// increment = old + 1; unixtime = now, or old + 1 when now is not greater (RFC 1982).
#pragma once
#include <cstdint>
#include <ctime>
#include <string>

#include "zone/wire/serial.h"

namespace zone {

inline uint32_t next_serial(const std::string& policy, uint32_t current) {
  uint32_t next = current + 1;
  if (policy == "unixtime") {
    uint32_t now = static_cast<uint32_t>(std::time(nullptr));
    if (wire::serial_gt(now, current)) next = now;
  }
  return next;
}

}  // namespace zone
