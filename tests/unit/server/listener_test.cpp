// The transports with answers that come later (UPDATE): UDP sends them to the client from
// the worker's thread, TCP writes them when they are ready, after answers to later queries
// if need be (RFC 7766 7). Real sockets on loopback.
#include "server/listener.h"
#include "server/watchdog.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "tests/unit/server/message_builder.h"
#include "tests/unit/test_support.h"

using namespace server;
using namespace zone::wire;
using namespace test_support;

namespace {

uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t l = sizeof a;
    ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &l);
    int t = ::socket(AF_INET, SOCK_STREAM, 0);
    bool ok = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(t);
    ::close(u);
    if (ok) return ntohs(a.sin_port);
  }
  return 0;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// The zone section of an UPDATE echoed with QR and the rcode: enough of an answer here.
std::vector<uint8_t> answer_to(const DeferredRequest& r, uint16_t rc) {
  std::vector<uint8_t> a(r.message.begin(), r.message.begin() + r.query.question_end);
  put16(a.data() + 2, static_cast<uint16_t>(get16(a.data() + 2) | flag::QR | rc));
  put16(a.data() + 6, 0), put16(a.data() + 8, 0), put16(a.data() + 10, 0);
  return a;
}

class LateAnswers : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_port();
    ASSERT_NE(port_, 0);
    std::map<std::string, std::shared_ptr<const zone::Zone>> m;
    auto z = load_test_zone("example.com.zone", "example.com.");
    m[z->origin()] = z;
    zones_.publish(std::make_shared<zone::ZoneTable>(std::move(m)));
    ListenerOptions o;
    Endpoint ep;
    parse_endpoint("127.0.0.1:" + std::to_string(port_), ep);
    o.listen = {ep};
    o.workers = 1;
    // The "commit" takes 300 ms on another thread, then answers.
    o.on_update = [this](std::shared_ptr<const DeferredRequest> r, Completion done) {
      std::thread([r, done = std::move(done), this] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        ++answered_;
        done(answer_to(*r, rcode::REFUSED));
      }).detach();
    };
    listener_ = std::make_unique<Listener>(o, zones_, policy_);
    listener_->bind();
    listener_->start();
  }
  void TearDown() override {
    // Let the detached "commit" threads finish before the listener goes.
    for (int i = 0; i < 50 && answered_ < expected_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    listener_->stop();
  }

  static std::vector<uint8_t> update(uint16_t id) {
    QueryBuilder b;
    b.id = id;
    b.opcode = opcode::UPDATE;
    b.qname = "example.com.";
    b.qtype = rrtype::SOA;
    return b.wire();
  }
  static std::vector<uint8_t> query(uint16_t id) {
    QueryBuilder b;
    b.id = id;
    return b.wire();
  }

  uint16_t port_ = 0;
  zone::ZoneTablePublisher zones_;
  zone::Publisher<Policy> policy_;
  std::unique_ptr<Listener> listener_;
  std::atomic<int> answered_{0};
  int expected_ = 0;
};

std::vector<uint8_t> recv_tcp(int fd) {
  auto exact = [&](uint8_t* p, size_t n) {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd, p + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  };
  uint8_t len[2];
  if (!exact(len, 2)) return {};
  std::vector<uint8_t> m(static_cast<size_t>(len[0]) << 8 | len[1]);
  if (!exact(m.data(), m.size())) return {};
  return m;
}

}  // namespace

TEST_F(LateAnswers, UdpAnswerComesFromTheWorkerAfterTheCommit) {
  expected_ = 1;
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in to = loopback(port_);
  auto u = update(0x0101);
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(::sendto(fd, u.data(), u.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(u.size()));
  // A query sent after the UPDATE is answered first: the worker is not blocked.
  auto q = query(0x0202);
  ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  uint8_t buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GE(n, 12);
  EXPECT_EQ(get16(buf), 0x0202);
  n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GE(n, 12) << "no late answer over UDP";
  EXPECT_EQ(get16(buf), 0x0101);
  EXPECT_EQ(get16(buf + 2) & 0xF, rcode::REFUSED);
  EXPECT_EQ((get16(buf + 2) >> 11) & 0xF, opcode::UPDATE);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(250));
  ::close(fd);
  QueryStats s = listener_->stats();
  EXPECT_EQ(s.get(QueryStats::deferred), 1u);
  EXPECT_EQ(s.get(QueryStats::opcode + opcode::UPDATE), 1u);
}

TEST_F(LateAnswers, TcpAnswersOutOfOrderOnOneConnection) {
  expected_ = 2;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in to = loopback(port_);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  std::vector<uint8_t> out;
  for (auto m : {update(1), query(2), update(3), query(4)}) {
    out.push_back(static_cast<uint8_t>(m.size() >> 8));
    out.push_back(static_cast<uint8_t>(m.size()));
    out.insert(out.end(), m.begin(), m.end());
  }
  ASSERT_EQ(::send(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  std::vector<uint16_t> ids;
  for (int i = 0; i < 4; ++i) {
    auto m = recv_tcp(fd);
    ASSERT_GE(m.size(), 12u) << "answer " << i << " missing";
    ids.push_back(get16(m.data()));
  }
  // The queries are answered at once, the UPDATEs once committed.
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(ids[1], 4);
  EXPECT_EQ(std::set<uint16_t>(ids.begin() + 2, ids.end()), (std::set<uint16_t>{1, 3}));
  // The connection still serves.
  auto q = query(5);
  uint8_t len[2] = {static_cast<uint8_t>(q.size() >> 8), static_cast<uint8_t>(q.size())};
  ::send(fd, len, 2, 0);
  ::send(fd, q.data(), q.size(), 0);
  auto m = recv_tcp(fd);
  ASSERT_GE(m.size(), 12u);
  EXPECT_EQ(get16(m.data()), 5);
  ::close(fd);
}

TEST_F(LateAnswers, AClientGoneBeforeTheCommitIsNoProblem) {
  expected_ = 1;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to = loopback(port_);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  auto u = update(7);
  uint8_t len[2] = {static_cast<uint8_t>(u.size() >> 8), static_cast<uint8_t>(u.size())};
  ::send(fd, len, 2, 0);
  ::send(fd, u.data(), u.size(), 0);
  ::close(fd);
  for (int i = 0; i < 50 && answered_ < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // The worker still answers.
  int u2 = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{3, 0};
  ::setsockopt(u2, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto q = query(9);
  ::sendto(u2, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  uint8_t buf[4096];
  ASSERT_GE(::recv(u2, buf, sizeof buf, 0), 12);
  EXPECT_EQ(get16(buf), 9);
  ::close(u2);
}

// The systemd watchdog's liveness rule with real workers: a worker stuck in a handler (here
// an UPDATE handler that blocks its thread) stops beating, so the watchdog stops pinging,
// and pings again once the worker runs.
TEST(WorkerHeartbeat, AStuckWorkerStopsTheWatchdogPings) {
  uint16_t port = free_port();
  ASSERT_NE(port, 0);
  zone::ZoneTablePublisher zones;
  std::map<std::string, std::shared_ptr<const zone::Zone>> m;
  auto z = load_test_zone("example.com.zone", "example.com.");
  m[z->origin()] = z;
  zones.publish(std::make_shared<zone::ZoneTable>(std::move(m)));
  zone::Publisher<Policy> policy;
  ListenerOptions o;
  Endpoint ep;
  parse_endpoint("127.0.0.1:" + std::to_string(port), ep);
  o.listen = {ep};
  o.workers = 2;
  o.heartbeat = std::chrono::milliseconds(10);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  o.on_update = [released](std::shared_ptr<const DeferredRequest> r, Completion done) {
    released.wait();  // on the worker's thread: it is stuck until the test lets it go
    done(answer_to(*r, rcode::REFUSED));
  };
  Listener listener(o, zones, policy);
  listener.bind();
  listener.start();
  int pings = 0;
  Watchdog w(std::chrono::milliseconds(100), [&] { return listener.heartbeats(); },
             [&] { ++pings; });
  auto wait = [] { std::this_thread::sleep_for(std::chrono::milliseconds(100)); };
  wait();
  EXPECT_TRUE(w.check());
  wait();
  EXPECT_TRUE(w.check()) << "both workers beat";
  // UPDATEs from 16 source ports: SO_REUSEPORT spreads them over the workers by hash, so at
  // least one worker (very likely both) takes one and blocks.
  std::vector<int> fds;
  for (int i = 0; i < 16; ++i) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to = loopback(port);
    QueryBuilder b;
    b.id = static_cast<uint16_t>(i);
    b.opcode = opcode::UPDATE;
    b.qname = "example.com.";
    b.qtype = rrtype::SOA;
    auto u = b.wire();
    ::sendto(fd, u.data(), u.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    fds.push_back(fd);
  }
  wait();
  bool mid = w.check();  // the interval may include beats from before the UPDATE
  wait();
  EXPECT_FALSE(w.check()) << "a worker is stuck: no ping";
  wait();
  EXPECT_FALSE(w.check());
  release.set_value();
  wait();
  EXPECT_TRUE(w.check()) << "the workers run again";
  EXPECT_EQ(pings, 3 + (mid ? 1 : 0));
  for (int fd : fds) ::close(fd);
  listener.stop();
}
