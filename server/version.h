// zoned's version, for `zoned --version` and the version.bind answer.
#pragma once

namespace server {
inline constexpr const char* kVersion = "0.1.0";
}
