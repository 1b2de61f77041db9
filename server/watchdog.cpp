#include "server/watchdog.h"

#include <spdlog/spdlog.h>

#include <pthread.h>

namespace server {

Watchdog::Watchdog(std::chrono::microseconds period, Beats beats, std::function<void()> ping)
    : period_(period), beats_(std::move(beats)), ping_(std::move(ping)) {}

Watchdog::~Watchdog() { stop(); }

bool Watchdog::check() {
  std::vector<uint64_t> now = beats_();
  std::vector<size_t> stuck;
  if (now.size() == last_.size())
    for (size_t i = 0; i < now.size(); ++i)
      if (now[i] == last_[i]) stuck.push_back(i);
  last_ = std::move(now);
  auto log = spdlog::get("server");
  if (!log) log = spdlog::default_logger();
  if (!stuck.empty()) {
    if (!stalled_) {
      std::string which;
      for (size_t i : stuck) which += (which.empty() ? "" : ", ") + std::to_string(i);
      log->error("query worker(s) {} did not run their loop for {} ms: not pinging the systemd "
                 "watchdog", which,
                 std::chrono::duration_cast<std::chrono::milliseconds>(period_).count());
    }
    stalled_ = true;
    return false;
  }
  if (stalled_) log->warn("every query worker runs again: pinging the systemd watchdog");
  stalled_ = false;
  ping_();
  return true;
}

void Watchdog::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "zoned-watchdog");
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
      lk.unlock();
      check();
      lk.lock();
      cv_.wait_for(lk, period_, [this] { return stop_; });
    }
  });
}

void Watchdog::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace server
