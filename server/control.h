// The control socket: a Unix stream socket (mode 0660) speaking one JSON object per line,
// request then reply. zonectl is its client. Requests are handled one at a time on the
// io_context that owns the socket (the main thread, like signals).
#pragma once
#include <utility>  // before Asio

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace server {

using ControlHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

class ControlServer {
 public:
  // Throws std::runtime_error naming the path when it is a symlink, belongs to another
  // user, is not a socket, or cannot be bound.
  ControlServer(boost::asio::io_context& io, std::string path, ControlHandler handler);
  ~ControlServer();
  void start();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(boost::asio::local::stream_protocol::socket sock);

  boost::asio::io_context& io_;
  std::string path_;
  ControlHandler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace server
