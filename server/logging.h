// zoned's loggers: the named spdlog loggers (server, zone, query, xfr, notify, ctl) on stderr,
// every line stamped in UTC with a Z (2026-12-03T20:21:15.123Z), as logs from several
// machines and time zones are compared and grepped together.
#pragma once
#include <string>

namespace server {

// Creates the loggers (once; later calls only change the level). level: trace, debug, info,
// warning (or warn), error, critical, off.
void setup_logging(const std::string& level);

// Changes the level of every logger (a reloaded configuration).
void set_log_level(const std::string& level);

}  // namespace server
