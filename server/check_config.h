// zoned --check-config: the configuration and every primary zone file, checked and reported
// as zoned would load them; nothing is served, nothing is stored.
#pragma once
#include <string>

namespace server {

// Prints one line per zone (and every error and warning) and returns the exit status:
// 0 when everything loads, 1 otherwise.
int check_config(const std::string& path);

}  // namespace server
