#include <utility>  // before Asio: its awaitable.hpp needs std::exchange

#include "server/listener.h"

#include "zone/task.h"

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>

namespace server {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using zone::wire::ParsedQuery;

namespace {

constexpr size_t kBatch = 32;           // datagrams per recvmmsg/sendmmsg
constexpr size_t kUdpBuf = 4096;        // largest datagram we read or write
constexpr int kBatchesPerWake = 8;      // fairness between sockets of one worker
constexpr int kUdpRcvBuf = 1 << 20;     // receive buffer of each UDP socket (as NSD's default)
// TCP buffers start small and grow only as the client needs (a big message, a deep pipeline),
// so that an idle connection costs about a kilobyte, not two 128 KiB buffers.
constexpr size_t kTcpMessageMax = 2 + 65535;     // length prefix and the largest message
constexpr size_t kTcpInStart = 512;              // first read buffer of a session
constexpr size_t kTcpInMax = 2 * kTcpMessageMax;  // the read buffer never grows past this
constexpr size_t kTcpOutFlush = 64 * 1024;       // gathered answers are sent at this size
constexpr size_t kTcpKeep = 16 * 1024;           // larger buffers are released once drained
// Descriptors kept for everything but TCP clients (zone files, transfers, NOTIFY, control).
constexpr rlim_t kFdReserve = 256;
using Clock = std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> logger(const char* name) {
  auto l = spdlog::get(name);
  return l ? l : spdlog::default_logger();
}
std::shared_ptr<spdlog::logger> query_logger() { return logger("query"); }

// Per-query detail, only when the "query" logger is at debug level.
void log_query(spdlog::logger& log, Transport t, const Peer& peer, const ParsedQuery& q,
               const QueryResult& r) {
  log.debug("{}", query_log_line(t, peer, q, r));
}

template <class Proto>
typename Proto::endpoint make_endpoint(const Endpoint& e) {
  return typename Proto::endpoint(asio::ip::make_address(e.host), e.port);
}

}  // namespace

// Where answers that come later (UPDATE, from the commit thread) enter a worker: they are
// posted to its io_context while it exists, and dropped after.
class LateGate {
 public:
  explicit LateGate(asio::io_context& io) : io_(&io) {}
  template <class F>
  void post(F&& f) {
    std::lock_guard<std::mutex> g(mu_);
    if (io_) asio::post(*io_, std::forward<F>(f));
  }
  void close() {
    std::lock_guard<std::mutex> g(mu_);
    io_ = nullptr;
  }

 private:
  std::mutex mu_;
  asio::io_context* io_;
};

// What every socket of one worker thread shares: the processor (with its rate limiter and
// counters), the snapshot readers, the gate for late answers. Owned by the Worker; only its
// thread touches them.
struct WorkerContext {
  QueryProcessor proc;
  zone::ZoneTableReader zones;
  zone::Reader<Policy> policy;
  std::shared_ptr<LateGate> gate;
  TransferStats* transfers;
};

// One UDP socket served by batches of recvmmsg/sendmmsg, driven by Asio readiness.
class UdpServer {
 public:
  UdpServer(asio::io_context& io, const Endpoint& ep, WorkerContext& ctx)
      : sock_(io), ctx_(ctx), name_(ep.str()) {
    auto endpoint = make_endpoint<udp>(ep);
    sock_.open(endpoint.protocol());
    if (endpoint.address().is_v6()) sock_.set_option(asio::ip::v6_only(true));
    int one = 1;
    ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sock_.set_option(udp::socket::reuse_address(true));
    // Room for a stall of several milliseconds at 100k queries/s (the kernel's default,
    // ~200 KiB of datagram truesize, overflows after ~150 queries). Capped by rmem_max.
    int rcvbuf = kUdpRcvBuf;
    ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    boost::system::error_code ec;
    sock_.bind(endpoint, ec);
    if (ec) throw std::runtime_error("cannot listen on " + name_ + " (UDP): " + ec.message());
    sock_.non_blocking(true);
    // On a wildcard address, answer from the address the query was sent to (multi-homed
    // hosts): ask for each datagram's destination and pass it back when sending.
    pktinfo_ = endpoint.address().is_unspecified();
    v6_ = endpoint.address().is_v6();
    if (pktinfo_) {
      if (v6_) ::setsockopt(sock_.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
      else ::setsockopt(sock_.native_handle(), IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    }
    for (size_t i = 0; i < kBatch; ++i) {
      in_iov_[i] = {in_[i].data(), kUdpBuf};
      std::memset(&in_msgs_[i], 0, sizeof(mmsghdr));
      in_msgs_[i].msg_hdr.msg_iov = &in_iov_[i];
      in_msgs_[i].msg_hdr.msg_iovlen = 1;
      in_msgs_[i].msg_hdr.msg_name = &addrs_[i];
    }
  }

  void start() { wait(); }

 private:
  void wait() {
    sock_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled: shutting down
      for (int b = 0; b < kBatchesPerWake; ++b)
        if (!serve_batch()) break;
      wait();
    });
  }

  // Returns true if the batch was full (more may be waiting).
  bool serve_batch() {
    for (size_t i = 0; i < kBatch; ++i) {
      in_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      if (pktinfo_) {
        in_msgs_[i].msg_hdr.msg_control = ctl_[i].data();
        in_msgs_[i].msg_hdr.msg_controllen = kCtlSize;
      }
    }
    int n = ::recvmmsg(sock_.native_handle(), in_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return false;
    const zone::ZoneTable& table = ctx_.zones.get();
    const Policy& policy = ctx_.policy.get();
    unsigned out = 0;
    for (int i = 0; i < n; ++i) {
      Late late(*this, i);
      Request req{in_[i].data(), in_msgs_[i].msg_len, Transport::udp,
                  Peer::from(reinterpret_cast<const sockaddr*>(&addrs_[i])), &late};
      QueryResult r = ctx_.proc.process(req, table, policy, out_[out].data(), kUdpBuf, parsed_);
      if (query_log_->should_log(spdlog::level::debug))
        log_query(*query_log_, Transport::udp, req.peer, parsed_, r);
      if (r.disposition != Disposition::respond || r.size == 0) continue;
      out_iov_[out] = {out_[out].data(), r.size};
      std::memset(&out_msgs_[out], 0, sizeof(mmsghdr));
      out_msgs_[out].msg_hdr.msg_iov = &out_iov_[out];
      out_msgs_[out].msg_hdr.msg_iovlen = 1;
      out_msgs_[out].msg_hdr.msg_name = &addrs_[i];
      out_msgs_[out].msg_hdr.msg_namelen = in_msgs_[i].msg_hdr.msg_namelen;
      if (pktinfo_) reply_from_destination(in_msgs_[i].msg_hdr, out_msgs_[out].msg_hdr, out_ctl_[out]);
      ++out;
    }
    unsigned sent = 0;
    while (sent < out) {
      int s = ::sendmmsg(sock_.native_handle(), out_msgs_.data() + sent, out - sent, 0);
      if (s <= 0) {
        if (s < 0 && errno == EINTR) continue;
        ++sent;  // skip the datagram the kernel refused (e.g. unreachable peer)
        continue;
      }
      sent += static_cast<unsigned>(s);
    }
    return n == static_cast<int>(kBatch);
  }

  static constexpr size_t kCtlSize = 64;
  struct alignas(cmsghdr) CtlBuf {
    uint8_t bytes[kCtlSize];
    uint8_t* data() { return bytes; }
  };

  // Builds the reply's control message from the query's destination address (in `ctl`).
  void reply_from_destination(const msghdr& in, msghdr& out, CtlBuf& ctl) {
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&in)); c;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&in), c)) {
      if (!v6_ && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        info.ipi_spec_dst = info.ipi_addr;
        info.ipi_ifindex = 0;
        set_control(out, ctl, IPPROTO_IP, IP_PKTINFO, &info, sizeof info);
        return;
      }
      if (v6_ && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);  // keeps the interface (link-local)
        set_control(out, ctl, IPPROTO_IPV6, IPV6_PKTINFO, &info, sizeof info);
        return;
      }
    }
  }
  static void set_control(msghdr& out, CtlBuf& ctl, int level, int type, const void* data,
                          size_t len) {
    out.msg_control = ctl.data();
    out.msg_controllen = CMSG_SPACE(len);
    cmsghdr* c = CMSG_FIRSTHDR(&out);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(len);
    std::memcpy(CMSG_DATA(c), data, len);
  }

  // An answer that comes later goes to the same client from the same address, as one
  // datagram sent on the worker's thread (dropped if the socket buffer is full).
  struct LateDatagram {
    sockaddr_storage to;
    socklen_t to_len = 0;
    CtlBuf ctl;
    size_t ctl_len = 0;
  };
  class Late : public LateReplies {
   public:
    Late(UdpServer& server, int slot) : server_(server), slot_(slot) {}
    LateSend open() override {
      auto d = std::make_shared<LateDatagram>();
      const msghdr& in = server_.in_msgs_[slot_].msg_hdr;
      std::memcpy(&d->to, &server_.addrs_[slot_], sizeof d->to);
      d->to_len = in.msg_namelen;
      if (server_.pktinfo_) {
        msghdr tmp{};
        server_.reply_from_destination(in, tmp, d->ctl);
        d->ctl_len = tmp.msg_controllen;
      }
      UdpServer* server = &server_;
      std::shared_ptr<LateGate> gate = server_.ctx_.gate;
      return [gate, server, d](std::vector<uint8_t> bytes) {
        if (bytes.empty()) return;
        gate->post([server, d, bytes = std::move(bytes)]() mutable { server->send_late(*d, bytes); });
      };
    }

   private:
    UdpServer& server_;
    int slot_;
  };
  void send_late(LateDatagram& d, std::vector<uint8_t>& bytes) {
    iovec iov{bytes.data(), bytes.size()};
    msghdr m{};
    m.msg_name = &d.to;
    m.msg_namelen = d.to_len;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (d.ctl_len) {
      m.msg_control = d.ctl.data();
      m.msg_controllen = d.ctl_len;
    }
    ::sendmsg(sock_.native_handle(), &m, MSG_DONTWAIT);
  }

  udp::socket sock_;
  std::shared_ptr<spdlog::logger> query_log_ = query_logger();
  WorkerContext& ctx_;
  std::string name_;
  ParsedQuery parsed_;
  std::array<std::array<uint8_t, kUdpBuf>, kBatch> in_, out_;
  std::array<iovec, kBatch> in_iov_, out_iov_;
  std::array<mmsghdr, kBatch> in_msgs_, out_msgs_;
  std::array<sockaddr_storage, kBatch> addrs_;
  bool pktinfo_ = false, v6_ = false;
  std::array<CtlBuf, kBatch> ctl_, out_ctl_;
};

// TCP per RFC 7766: many queries per connection, answered in order as they arrive; a
// deadline per message (idle or slow clients are closed) and a cap on open connections.
class TcpServer {
 public:
  TcpServer(asio::io_context& io, const Endpoint& ep, WorkerContext& ctx,
            std::atomic<unsigned>& clients, const ListenerOptions& opts)
      : io_(io), acceptor_(io), ctx_(ctx), clients_(clients), opts_(opts), name_(ep.str()) {
    auto endpoint = make_endpoint<tcp>(ep);
    acceptor_.open(endpoint.protocol());
    if (endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    int one = 1;
    ::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    boost::system::error_code ec;
    acceptor_.bind(endpoint, ec);
    if (ec) throw std::runtime_error("cannot listen on " + name_ + " (TCP): " + ec.message());
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + name_ + " (TCP): " + ec.message());
  }

  void start() { asio::co_spawn(io_, accept_loop(), zone::TaskEnd("TCP accept " + name_)); }

 private:
  asio::awaitable<void> accept_loop() {
    asio::steady_timer pause(io_);
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of descriptors or memory: the connection stays queued and the acceptor stays
        // readable, so retrying at once would spin a core. Wait for clients to leave.
        int e = ec.value();
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
          auto now = Clock::now();
          if (now - last_warning_ > std::chrono::seconds(10)) {
            last_warning_ = now;
            logger("server")->warn("TCP {}: cannot accept: {}; pausing", name_, ec.message());
          }
          pause.expires_after(std::chrono::milliseconds(100));
          co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec == asio::error::operation_aborted) co_return;
        }
        continue;
      }
      if (clients_.fetch_add(1) >= opts_.tcp_max_clients) {
        clients_.fetch_sub(1);
        ctx_.proc.count(QueryStats::tcp_refused);
        s.close(ec);  // over the cap: the client retries or falls back elsewhere
        continue;
      }
      ctx_.proc.count(QueryStats::tcp_accepted);
      asio::co_spawn(io_, session(std::move(s)), zone::TaskEnd("TCP session"));
    }
  }

  // Idle budget: the configured timeout, or a short one when most slots are taken, so that
  // idle connections give way to active ones.
  std::chrono::seconds idle_timeout() const {
    if (clients_.load(std::memory_order_relaxed) * 4 > opts_.tcp_max_clients * 3)
      return std::chrono::seconds(1);
    return std::chrono::seconds(opts_.tcp_idle_timeout);
  }

  // One client connection. Shared with the answers that come later (UPDATE), which may
  // arrive in any order (RFC 7766 7): every write goes through `writing`, one at a time.
  struct Session {
    Session(tcp::socket s, asio::io_context& io) : sock(std::move(s)), wake(io), timer(io) {
      wake.expires_at(asio::steady_timer::time_point::max());
    }
    tcp::socket sock;
    Peer peer;
    asio::steady_timer wake;   // cancelled when a write ends: waiting writers look again
    asio::steady_timer timer;  // the watchdog's
    Clock::time_point deadline;
    bool writing = false;
    bool late_writer = false;  // a coroutine is draining `late`
    std::deque<std::vector<uint8_t>> late;  // framed answers that came later
    unsigned pending = 0;      // deferred answers not back yet: the session is not idle
  };

  // Writes `buf` once no other write is under way.
  static asio::awaitable<void> write_all(std::shared_ptr<Session> s, asio::const_buffer buf,
                                         boost::system::error_code& ec) {
    while (s->writing) {
      boost::system::error_code w;
      co_await s->wake.async_wait(asio::redirect_error(asio::use_awaitable, w));
      if (!s->sock.is_open()) {
        ec = asio::error::operation_aborted;
        co_return;
      }
    }
    s->writing = true;
    co_await asio::async_write(s->sock, buf, asio::redirect_error(asio::use_awaitable, ec));
    s->writing = false;
    s->wake.cancel();
  }

  static asio::awaitable<void> write_late(std::shared_ptr<Session> s) {
    boost::system::error_code ec;
    while (!s->late.empty() && s->sock.is_open()) {
      std::vector<uint8_t> msg = std::move(s->late.front());
      s->late.pop_front();
      co_await write_all(s, asio::buffer(msg), ec);
      if (ec) break;
    }
    s->late_writer = false;
  }

  // A late answer, on the worker's thread: framed and queued (nothing when the client left).
  void deliver_late(const std::weak_ptr<Session>& weak, std::vector<uint8_t> bytes) {
    auto s = weak.lock();
    if (!s) return;
    if (s->pending) --s->pending;
    if (bytes.empty() || bytes.size() > 65535 || !s->sock.is_open()) return;
    std::vector<uint8_t> framed(2 + bytes.size());
    framed[0] = static_cast<uint8_t>(bytes.size() >> 8);
    framed[1] = static_cast<uint8_t>(bytes.size());
    std::memcpy(framed.data() + 2, bytes.data(), bytes.size());
    s->late.push_back(std::move(framed));
    if (!s->late_writer) {
      s->late_writer = true;
      asio::co_spawn(io_, write_late(s), zone::TaskEnd("TCP answer"));
    }
  }

  class Late : public LateReplies {
   public:
    Late(TcpServer& server, const std::shared_ptr<Session>& s) : server_(server), s_(s) {}
    LateSend open() override {
      ++s_->pending;
      std::weak_ptr<Session> weak = s_;
      TcpServer* server = &server_;
      std::shared_ptr<LateGate> gate = server_.ctx_.gate;
      return [gate, server, weak](std::vector<uint8_t> bytes) {
        gate->post([server, weak, bytes = std::move(bytes)]() mutable {
          server->deliver_late(weak, std::move(bytes));
        });
      };
    }

   private:
    TcpServer& server_;
    const std::shared_ptr<Session>& s_;
  };

  asio::awaitable<void> session(tcp::socket sock) {
    struct Guard {
      std::atomic<unsigned>& c;
      ~Guard() { c.fetch_sub(1); }
    } guard{clients_};
    boost::system::error_code ec;
    auto s = std::make_shared<Session>(std::move(sock), io_);
    s->sock.set_option(tcp::no_delay(true), ec);
    auto remote = s->sock.remote_endpoint(ec);
    if (ec) co_return;
    s->peer = Peer::from(remote.address(), remote.port());
    s->deadline = Clock::now() + idle_timeout();
    asio::co_spawn(io_, watchdog(s), zone::TaskEnd("TCP timer"));

    // Buffered: one read may bring many pipelined queries (RFC 7766 6.2.1.1), and their
    // answers leave in one write. After compaction `in` holds at most one partial message;
    // it grows to fit that message, and doubles when a read fills it (a deep pipeline).
    // Answers are built in the server's scratch buffer (no co_await in between) and gathered
    // in `out`, which only ever holds what is about to be written.
    std::vector<uint8_t> in(kTcpInStart), out;
    size_t have = 0;
    bool filled = false;  // the last read filled `in`: more was probably waiting
    ParsedQuery parsed;
    Late late(*this, s);
    bool open = true;
    while (open) {
      size_t pos = 0;
      out.clear();
      while (open && have - pos >= 2) {
        size_t len = static_cast<size_t>(in[pos]) << 8 | in[pos + 1];
        if (len == 0) {
          open = false;
          break;
        }
        if (have - pos - 2 < len) break;  // the rest has not arrived yet
        const uint8_t* msg = in.data() + pos + 2;
        if (out.size() >= kTcpOutFlush) {  // enough gathered: send these first
          co_await write_all(s, asio::buffer(out), ec);
          out.clear();
          if (ec) {
            open = false;
            break;
          }
        }
        uint8_t* answer = answer_.data();
        Request req{msg, len, Transport::tcp, s->peer, &late};
        QueryResult r = ctx_.proc.process(req, ctx_.zones.get(), ctx_.policy.get(), answer,
                                          answer_.size(), parsed);
        if (query_log_->should_log(spdlog::level::debug))
          log_query(*query_log_, Transport::tcp, s->peer, parsed, r);
        pos += 2 + len;
        if (r.disposition == Disposition::transfer) {
          // Answers so far go first; a transfer is bounded by the client reading it, not by
          // the idle deadline.
          if (!out.empty()) {
            co_await write_all(s, asio::buffer(out), ec);
            out.clear();
            if (ec) {
              open = false;
              break;
            }
          }
          s->deadline = Clock::time_point::max();
          bool delivered = true;
          for (;;) {
            std::span<const uint8_t> m = r.transfer->next();
            if (m.empty()) break;
            co_await write_all(s, asio::buffer(m.data(), m.size()), ec);
            if (ec) {
              delivered = false;
              break;
            }
          }
          r.transfer->finish(delivered);
          if (delivered && !r.transfer->failed())
            ctx_.transfers->add(r.transfer->origin(), r.transfer->bytes());
          if (!delivered || r.transfer->failed()) {
            open = false;
            break;
          }
          s->deadline = Clock::now() + idle_timeout();
          s->timer.cancel();
          asio::co_spawn(io_, watchdog(s), zone::TaskEnd("TCP timer"));
          continue;
        }
        if (r.disposition == Disposition::respond) {
          out.push_back(static_cast<uint8_t>(r.size >> 8));
          out.push_back(static_cast<uint8_t>(r.size));
          out.insert(out.end(), answer, answer + r.size);
        }
        // Each complete message earns a fresh budget; partial reads never do (slowloris).
        s->deadline = Clock::now() + idle_timeout();
      }
      if (!out.empty() && open) {
        co_await write_all(s, asio::buffer(out), ec);
        if (ec) break;
      }
      if (!open) break;
      if (out.capacity() > kTcpKeep) out = {};
      if (pos) {
        std::memmove(in.data(), in.data() + pos, have - pos);
        have -= pos;
      }
      // Room for the whole message being received, and more when the client pipelines.
      size_t need = have >= 2 ? 2 + (static_cast<size_t>(in[0]) << 8 | in[1]) : 2;
      if (in.size() < need || (filled && in.size() < kTcpInMax))
        in.resize(std::min(kTcpInMax, std::max(need, 2 * in.size())));
      else if (have == 0 && in.size() > kTcpKeep)
        in = std::vector<uint8_t>(kTcpInStart);  // drained: give a burst's buffer back
      size_t room = in.size() - have;
      size_t n = co_await s->sock.async_read_some(asio::buffer(in.data() + have, room),
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      have += n;
      filled = n == room;
    }
    // Answers still coming (UPDATE) may be written if the client only half-closed; the
    // watchdog closes the socket once they are done or the idle budget runs out.
    if (s->pending && s->sock.is_open() && ec == asio::error::eof) co_return;
    s->timer.cancel();
    s->wake.cancel();
    s->sock.close(ec);
  }

  // Closes the connection once the deadline for the current message has passed (later if
  // answers are still to come).
  asio::awaitable<void> watchdog(std::shared_ptr<Session> s) {
    boost::system::error_code ec;
    while (s->sock.is_open()) {
      s->timer.expires_at(s->deadline);
      co_await s->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;  // cancelled: the session is over, or a new watchdog took over
      if (Clock::now() < s->deadline) continue;
      if (s->pending) {
        s->deadline = Clock::now() + idle_timeout();
        continue;
      }
      s->wake.cancel();
      s->sock.close(ec);  // the session's pending read fails and it ends
      co_return;
    }
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<spdlog::logger> query_log_ = query_logger();
  WorkerContext& ctx_;
  std::atomic<unsigned>& clients_;
  const ListenerOptions& opts_;
  std::string name_;
  std::vector<uint8_t> answer_ = std::vector<uint8_t>(65535);  // one answer, then copied
  Clock::time_point last_warning_{};
};

class Worker {
 public:
  Worker(const ListenerOptions& opts, const zone::ZoneTablePublisher& pub,
         const zone::Publisher<Policy>& policy, std::atomic<unsigned>& clients,
         TransferStats& transfers)
      : opts_(opts),
        ctx_{QueryProcessor(query_options(opts)), zone::ZoneTableReader(pub),
             zone::Reader<Policy>(policy), std::make_shared<LateGate>(io_), &transfers},
        clients_(clients),
        beat_timer_(io_) {}
  ~Worker() { ctx_.gate->close(); }

  void bind() {
    for (const auto& ep : opts_.listen) {
      udp_.push_back(std::make_unique<UdpServer>(io_, ep, ctx_));
      tcp_.push_back(std::make_unique<TcpServer>(io_, ep, ctx_, clients_, opts_));
    }
  }
  void run() {
    for (auto& u : udp_) u->start();
    for (auto& t : tcp_) t->start();
    beat();
    io_.run();
  }
  void stop() { io_.stop(); }
  const QueryStats& stats() const { return ctx_.proc.stats(); }
  uint64_t heartbeats() const { return heartbeats_.load(std::memory_order_relaxed); }

 private:
  static QueryOptions query_options(const ListenerOptions& o) {
    QueryOptions q = o.query;
    if (!q.history) q.history = o.history;
    if (!q.on_notify) q.on_notify = o.on_notify;
    if (!q.on_update) q.on_update = o.on_update;
    return q;
  }

  // A timer on the worker's own loop: it fires only while the loop turns, so a worker stuck
  // in a handler stops beating (the systemd watchdog then stops being pinged).
  // The same timer does the processor's housekeeping (every 2 s without a watchdog).
  void beat() {
    beat_timer_.expires_after(opts_.heartbeat.count() > 0 ? opts_.heartbeat
                                                          : std::chrono::milliseconds(2000));
    beat_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      heartbeats_.fetch_add(1, std::memory_order_relaxed);
      try {
        ctx_.proc.housekeeping();
      } catch (const std::exception&) {
        // Only logging: nothing to undo, and the next beat tries again.
      }
      beat();
    });
  }

  const ListenerOptions& opts_;
  asio::io_context io_{1};
  WorkerContext ctx_;
  std::atomic<unsigned>& clients_;
  asio::steady_timer beat_timer_;
  std::atomic<uint64_t> heartbeats_{0};
  std::vector<std::unique_ptr<UdpServer>> udp_;
  std::vector<std::unique_ptr<TcpServer>> tcp_;
};

Listener::Listener(ListenerOptions opts, const zone::ZoneTablePublisher& zones,
                   const zone::Publisher<Policy>& policy)
    : opts_(std::move(opts)), zones_(zones), policy_(policy) {
  if (opts_.workers == 0) opts_.workers = 1;
}

Listener::~Listener() { stop(); }

// TCP clients need descriptors: raise the soft limit towards the hard one for the configured
// cap, and lower the cap to what the limit allows (past it accept() would fail with EMFILE).
void Listener::fit_open_files() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = static_cast<rlim_t>(opts_.tcp_max_clients) + kFdReserve;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return;
  rlim_t reserve = std::min(kFdReserve, rl.rlim_cur / 4);
  unsigned cap = static_cast<unsigned>(std::max<rlim_t>(1, rl.rlim_cur - reserve));
  logger("server")->warn("tcp-max-clients {} does not fit the open-file limit {}: at most {} TCP clients",
            opts_.tcp_max_clients, static_cast<unsigned long long>(rl.rlim_cur), cap);
  opts_.tcp_max_clients = cap;
}

void Listener::bind() {
  fit_open_files();
  for (unsigned i = 0; i < opts_.workers; ++i) {
    auto w = std::make_unique<Worker>(opts_, zones_, policy_, tcp_clients_, transfers_);
    w->bind();
    workers_.push_back(std::move(w));
  }
}

void Listener::start() {
  for (auto& w : workers_) threads_.emplace_back([&w] { w->run(); });
}

QueryStats Listener::stats() const {
  QueryStats total;
  for (const auto& w : workers_) w->stats().add_to(total);
  return total;
}

std::vector<uint64_t> Listener::heartbeats() const {
  std::vector<uint64_t> v;
  for (const auto& w : workers_) v.push_back(w->heartbeats());
  return v;
}

void Listener::stop() {
  for (auto& w : workers_) w->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace server
