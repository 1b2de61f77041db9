// The network side: N worker threads, each with its own io_context, its own SO_REUSEPORT UDP
// socket and TCP acceptor per listen address, its own zone-table reader and buffers.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/config.h"
#include "server/notify_in.h"
#include "server/policy.h"
#include "server/query.h"
#include "server/stats.h"
#include "zone/history.h"
#include "zone/zone_table.h"

namespace server {

struct ListenerOptions {
  std::vector<Endpoint> listen;
  unsigned workers = 1;
  QueryOptions query;
  unsigned tcp_idle_timeout = 10;
  unsigned tcp_max_clients = 1000;
  const zone::History* history = nullptr;  // IXFR out; null: answer IXFR with the full zone
  NotifyCallback on_notify = [](const std::string&, const std::string&) {};
  // DNS UPDATE: answered later, once committed (see DeferredHandler); unset: NOTIMP.
  DeferredHandler on_update;
  // Each worker bumps its heartbeat counter this often from its own loop (0: never); the
  // systemd watchdog pings only while every worker's counter moves.
  std::chrono::milliseconds heartbeat{0};
};

class Worker;

class Listener {
 public:
  Listener(ListenerOptions opts, const zone::ZoneTablePublisher& zones,
           const zone::Publisher<Policy>& policy);
  ~Listener();
  // Binds every socket (throws std::runtime_error naming the address on failure). Raises
  // the process's open-file limit for tcp_max_clients, or lowers the cap to fit it.
  void bind();
  void start();  // starts the worker threads
  void stop();   // stops and joins them
  unsigned tcp_max_clients() const { return opts_.tcp_max_clients; }  // after bind()
  // The workers' query counters, summed (callable from any thread while they run).
  QueryStats stats() const;
  // Completed outgoing transfers per zone.
  const TransferStats& transfers() const { return transfers_; }
  unsigned tcp_clients() const { return tcp_clients_.load(std::memory_order_relaxed); }
  unsigned workers() const { return static_cast<unsigned>(workers_.size()); }
  // Every worker's heartbeat counter (see ListenerOptions::heartbeat).
  std::vector<uint64_t> heartbeats() const;

 private:
  void fit_open_files();
  ListenerOptions opts_;
  const zone::ZoneTablePublisher& zones_;
  const zone::Publisher<Policy>& policy_;
  std::atomic<unsigned> tcp_clients_{0};
  TransferStats transfers_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace server
