#include "server/metrics_http.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <pthread.h>

#include "zone/task.h"

namespace server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

std::shared_ptr<spdlog::logger> metrics_log() {
  auto l = spdlog::get("server");
  return l ? l : spdlog::default_logger();
}

http::response<http::string_body> reply(http::status status, unsigned version, std::string body,
                                        bool keep_alive) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, "zoned");
  res.set(http::field::content_type, status == http::status::ok
                                         ? "text/plain; version=0.0.4; charset=utf-8"
                                         : "text/plain; charset=utf-8");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace

MetricsServer::MetricsServer(MetricsHttpOptions opts, std::function<std::string()> collect)
    : opts_(std::move(opts)), collect_(std::move(collect)) {}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::bind() {
  tcp::endpoint ep(asio::ip::make_address(opts_.listen.host), opts_.listen.port);
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen for metrics on " + opts_.listen.str() + ": " +
                             ec.message());
}

void MetricsServer::start() {
  asio::co_spawn(io_, accept_loop(), zone::TaskEnd("metrics accept " + opts_.listen.str()));
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "zoned-metrics");  // top -H, and the benchmark
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        metrics_log()->error("metrics: {}", e.what());
      }
    }
  });
}

void MetricsServer::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> MetricsServer::accept_loop() {
  asio::steady_timer pause(io_);
  for (;;) {
    boost::system::error_code ec;
    tcp::socket s = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {  // out of descriptors: let connections leave before trying again
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (open_ >= opts_.max_connections) {
      s.close(ec);  // the scraper retries; a flood of connections costs nothing more
      continue;
    }
    ++open_;
    asio::co_spawn(io_, session(std::move(s)), zone::TaskEnd("metrics session"));
  }
}

asio::awaitable<void> MetricsServer::session(tcp::socket sock) {
  struct Guard {
    unsigned& n;
    ~Guard() { --n; }
  } guard{open_};
  beast::tcp_stream stream(std::move(sock));
  beast::flat_buffer buf;
  boost::system::error_code ec;
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts_.header_limit));
    parser.body_limit(0);
    // One deadline for the whole request: a client that trickles bytes gets no more time.
    stream.expires_after(opts_.request_timeout);
    co_await http::async_read(stream, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset)
      break;
    http::response<http::string_body> res;
    bool keep = false;
    if (ec == http::error::header_limit) {
      res = reply(http::status::request_header_fields_too_large, 11, "request header too large\n", false);
    } else if (ec) {
      res = reply(http::status::bad_request, 11, "bad request: " + ec.message() + "\n", false);
    } else {
      const auto& req = parser.get();
      std::string_view target(req.target().data(), req.target().size());
      std::string_view path = target.substr(0, target.find('?'));
      keep = req.keep_alive();
      if (path != "/metrics") {
        res = reply(http::status::not_found, req.version(), "not found: try /metrics\n", keep);
      } else if (req.method() != http::verb::get) {
        res = reply(http::status::method_not_allowed, req.version(), "only GET\n", keep);
        res.set(http::field::allow, "GET");
      } else {
        std::string body;
        try {
          body = collect_();
          res = reply(http::status::ok, req.version(), std::move(body), keep);
        } catch (const std::exception& e) {
          metrics_log()->error("metrics: {}", e.what());
          res = reply(http::status::internal_server_error, req.version(), "metrics failed\n", false);
        }
      }
    }
    stream.expires_after(opts_.request_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    if (!keep || !res.keep_alive()) {
      // Lingering close: what the client still sends (the rest of an oversized request) is
      // read and dropped for a moment, so that closing does not reset the connection before
      // it has read the answer.
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream.expires_after(std::chrono::seconds(1));
      char sink[4096];
      for (size_t drained = 0; !ec && drained < 64 * 1024;)
        drained += co_await stream.async_read_some(asio::buffer(sink),
                                                   asio::redirect_error(asio::use_awaitable, ec));
      break;
    }
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.close();
}

}  // namespace server
