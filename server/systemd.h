// systemd readiness (sd_notify, Type=notify): READY=1 once every zone is loaded and the
// sockets answer, RELOADING=1/READY=1 around a reload, STOPPING=1, STATUS= with the zones
// and serials, and WATCHDOG=1 while the query workers really answer. Without NOTIFY_SOCKET
// (not started by systemd) every call does nothing.
#pragma once
#include <chrono>
#include <string>

namespace server::systemd {

void ready(const std::string& status);
void reloading();
void stopping();
void status(const std::string& status);
// The watchdog interval the unit asked for (WatchdogSec=), or zero.
std::chrono::microseconds watchdog_interval();
void watchdog();

}  // namespace server::systemd
