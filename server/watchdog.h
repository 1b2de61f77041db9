// The systemd watchdog (WatchdogSec=): WATCHDOG=1 every half interval, but only while every
// query worker shows it is alive (its heartbeat counter moved since the last check). A worker
// stuck in a handler stops the pings, and systemd restarts zoned. Its own thread: a long
// reload on the main thread does not starve it.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace server {

class Watchdog {
 public:
  using Beats = std::function<std::vector<uint64_t>()>;
  Watchdog(std::chrono::microseconds period, Beats beats, std::function<void()> ping);
  ~Watchdog();
  void start();
  void stop();
  // One check: pings and returns true when every worker beat since the previous check (the
  // first check only records where they are, and pings).
  bool check();

 private:
  std::chrono::microseconds period_;
  Beats beats_;
  std::function<void()> ping_;
  std::vector<uint64_t> last_;
  bool stalled_ = false;  // logged once per stall
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace server
