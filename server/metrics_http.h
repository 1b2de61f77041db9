// The metrics endpoint (server.metrics): HTTP/1.1 with Boost.Beast on its own thread and
// io_context, never on a DNS worker. GET /metrics answers the text `collect` returns; any
// other path is 404, any other method 405. A request must arrive whole within the request
// timeout (a slowloris is cut off), its header within the header limit (431 and a close),
// and at most max_connections are open at once (more are closed at once).
#pragma once
#include <utility>  // before Asio

#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "server/config.h"

namespace server {

struct MetricsHttpOptions {
  Endpoint listen;
  unsigned max_connections = 16;
  std::chrono::milliseconds request_timeout{5000};  // whole request, and the answer's write
  size_t header_limit = 8192;
};

class MetricsServer {
 public:
  MetricsServer(MetricsHttpOptions opts, std::function<std::string()> collect);
  ~MetricsServer();
  // Binds the listening socket; throws std::runtime_error naming the address.
  void bind();
  void start();  // its thread
  void stop();   // stops and joins it

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket sock);

  MetricsHttpOptions opts_;
  std::function<std::string()> collect_;
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  unsigned open_ = 0;  // sessions open (the metrics thread only)
  std::thread thread_;
};

}  // namespace server
