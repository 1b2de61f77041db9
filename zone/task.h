// Spawned tasks end alone: the completion handler for asio::co_spawn (used instead of
// asio::detached) logs what a coroutine threw and lets only that task end, never the
// thread's io_context (an escaping exception would reach std::terminate) and never
// silently (asio::detached swallows it: a zone's refreshes would stop without a word).
// Header-only and free of Asio: server/ and replication/ both spawn tasks.
#pragma once
#include <spdlog/spdlog.h>

#include <exception>
#include <string>

namespace zone {

class TaskEnd {
 public:
  explicit TaskEnd(std::string what) : what_(std::move(what)) {}
  template <class... Result>
  void operator()(std::exception_ptr e, Result&&...) const {
    if (!e) return;
    auto log = spdlog::get("server");
    if (!log) log = spdlog::default_logger();
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log->error("{}: stopped by an error: {}", what_, x.what());
    } catch (...) {
      log->error("{}: stopped by an unknown error", what_);
    }
  }

 private:
  std::string what_;
};

}  // namespace zone
