#include "server/systemd.h"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace server::systemd {

namespace {
void send(const std::string& msg) { sd_notify(0, msg.c_str()); }
}  // namespace

void ready(const std::string& s) { send("READY=1\nSTATUS=" + s); }

void reloading() {
  // MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the reload it asked for.
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading");
}

void stopping() { send("STOPPING=1\nSTATUS=stopping"); }

void status(const std::string& s) { send("STATUS=" + s); }

std::chrono::microseconds watchdog_interval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

void watchdog() { send("WATCHDOG=1"); }

}  // namespace server::systemd
