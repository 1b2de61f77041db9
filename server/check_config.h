// zoned --check-config: the configuration and every primary zone file, checked and reported
// as zoned would load them; nothing is served, nothing is stored.
#pragma once
#include <string>

namespace server {

// Prints one line per zone (and every error and warning) and returns the exit status:
// 0 when everything loads, 1 otherwise. With zone_files false only the configuration is
// checked: what the systemd unit runs before a start, where a broken zone file must not stop
// zoned from serving the zone's last good version from the store.
int check_config(const std::string& path, bool zone_files = true);

}  // namespace server
