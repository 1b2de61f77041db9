#include "server/control.h"

#include "zone/task.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace server {

namespace asio = boost::asio;
using asio::local::stream_protocol;
using nlohmann::json;

ControlServer::ControlServer(asio::io_context& io, std::string path, ControlHandler handler)
    : io_(io), path_(std::move(path)), handler_(std::move(handler)), acceptor_(io) {
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode))
      throw std::runtime_error("control socket " + path_ + " is a symlink: refusing to use it");
    if (st.st_uid != ::geteuid())
      throw std::runtime_error("control socket " + path_ + " belongs to another user");
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error("control socket path " + path_ + " exists and is not a socket");
    ::unlink(path_.c_str());  // stale socket of an earlier run
  }
  std::error_code dir_ec;
  auto parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, dir_ec);
  boost::system::error_code ec;
  acceptor_.open(stream_protocol(), ec);
  // Created with no access for others; 0660 set right after bind.
  mode_t old = ::umask(0117);
  if (!ec) acceptor_.bind(stream_protocol::endpoint(path_), ec);
  ::umask(old);
  if (!ec) ::chmod(path_.c_str(), 0660);
  if (!ec) acceptor_.listen(16, ec);
  if (ec) throw std::runtime_error("cannot listen on control socket " + path_ + ": " + ec.message());
}

ControlServer::~ControlServer() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

void ControlServer::start() { asio::co_spawn(io_, accept_loop(), zone::TaskEnd("control socket " + path_)); }

asio::awaitable<void> ControlServer::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    auto sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    asio::co_spawn(io_, session(std::move(sock)), zone::TaskEnd("control session"));
  }
}

asio::awaitable<void> ControlServer::session(stream_protocol::socket sock) {
  auto log = spdlog::get("ctl");
  asio::streambuf buf(1 << 20);  // a request line is at most 1 MiB
  for (;;) {
    boost::system::error_code ec;
    size_t n = co_await asio::async_read_until(sock, buf, '\n',
                                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
    buf.consume(n);
    json reply;
    try {
      json req = json::parse(line);
      if (!req.is_object() || !req.contains("verb") || !req["verb"].is_string())
        throw std::runtime_error("a request is a JSON object with a \"verb\"");
      reply = handler_(req);
    } catch (const json::exception& e) {
      reply = {{"ok", false}, {"error", std::string("malformed request: ") + e.what()}};
    } catch (const std::exception& e) {
      reply = {{"ok", false}, {"error", e.what()}};
    }
    std::string out = reply.dump() + "\n";
    co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

}  // namespace server
