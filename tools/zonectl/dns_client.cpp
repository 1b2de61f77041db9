#include "tools/zonectl/dns_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include "server/config.h"
#include "zone/wire/message.h"
#include "zone/wire/render.h"
#include "zone/wire/types.h"

namespace zonectl {

using namespace zone::wire;

std::string Server::str() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

bool parse_server(const std::string& text, Server& out, uint16_t default_port) {
  server::Endpoint ep;
  if (!server::parse_endpoint(text, ep, default_port)) return false;
  out.host = ep.host;
  out.port = ep.port;
  if (out.label.empty()) out.label = out.str();
  return true;
}

std::string address_text(const ParsedRR& rr) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (rr.type == rrtype::A && rr.rdata.size() == 4) inet_ntop(AF_INET, rr.rdata.data(), buf, sizeof buf);
  if (rr.type == rrtype::AAAA && rr.rdata.size() == 16) inet_ntop(AF_INET6, rr.rdata.data(), buf, sizeof buf);
  return buf;
}

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool make_addr(const Server& s, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, s.host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(s.port);
    len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, s.host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(s.port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool wait_fd(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, ms) == 1;
}

bool parse(const uint8_t* m, size_t n, uint16_t id, Response& r) {
  if (n < kHeaderSize || get16(m) != id || !(get16(m + 2) & flag::QR)) return false;
  uint16_t flags = get16(m + 2);
  r.rcode = flags & 0xF;
  r.aa = flags & flag::AA;
  r.tc = flags & flag::TC;
  size_t pos = kHeaderSize;
  for (uint16_t i = 0; i < get16(m + 4); ++i) {
    uint8_t name[kMaxNameLen];
    size_t nl;
    if (read_name(m, n, pos, name, nl) != NameError::ok || pos + 4 > n) return false;
    pos += 4;
  }
  std::vector<ParsedRR>* sections[3] = {&r.answer, &r.authority, &r.additional};
  for (int s = 0; s < 3; ++s) {
    for (uint16_t i = 0; i < get16(m + 6 + 2 * s); ++i) {
      ParsedRR rr;
      if (!parse_rr(m, n, pos, rr)) return false;
      rr.owner = lowered(rr.owner);
      if (rr.type != rrtype::OPT) sections[s]->push_back(std::move(rr));
    }
  }
  r.answered = true;
  return true;
}

}  // namespace

Response query(const Server& s, const std::string& name_wire, uint16_t type, int timeout_ms) {
  Response r;
  sockaddr_storage ss;
  socklen_t sl;
  if (!make_addr(s, ss, sl)) {
    r.error = "bad address " + s.host;
    return r;
  }
  static std::mt19937 rng{std::random_device{}()};
  uint16_t id = static_cast<uint16_t>(rng());
  uint8_t q[512];
  Renderer w(q, sizeof q);
  w.begin(id, 0, name_wire, type, rrclass::IN);  // RD clear: we ask authoritative servers
  w.reserve_opt();
  w.add_opt(1232, 0, true);  // DO so that DNSKEY/DS come with what a validator sees
  size_t qlen = w.size();

  std::vector<uint8_t> buf(65535);
  {
    Fd u;
    u.fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    // Connected, so that an ICMP "port unreachable" ends the wait at once (ECONNREFUSED).
    if (u.fd < 0 || ::connect(u.fd, reinterpret_cast<sockaddr*>(&ss), sl) != 0 ||
        ::send(u.fd, q, qlen, 0) < 0) {
      r.error = std::string("send: ") + std::strerror(errno);
      return r;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0 || !wait_fd(u.fd, POLLIN, left)) {
        r.error = "timed out after " + std::to_string(timeout_ms) + " ms";
        return r;
      }
      ssize_t n = ::recv(u.fd, buf.data(), buf.size(), 0);
      if (n < 0) {
        r.error = errno == ECONNREFUSED ? std::string("connection refused (nothing listens there)")
                                        : std::string("receive: ") + std::strerror(errno);
        return r;
      }
      Response tmp;
      if (parse(buf.data(), static_cast<size_t>(n), id, tmp)) {
        if (!tmp.tc) return tmp;
        break;  // truncated: ask again over TCP
      }
    }
  }
  Fd t;
  t.fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ::connect(t.fd, reinterpret_cast<sockaddr*>(&ss), sl);
  if (!wait_fd(t.fd, POLLOUT, timeout_ms)) {
    r.error = "TCP connect timed out";
    return r;
  }
  uint8_t framed[514];
  put16(framed, static_cast<uint16_t>(qlen));
  std::memcpy(framed + 2, q, qlen);
  if (::send(t.fd, framed, qlen + 2, MSG_NOSIGNAL) != static_cast<ssize_t>(qlen + 2)) {
    r.error = "TCP send failed";
    return r;
  }
  size_t have = 0, need = 2;
  while (have < need) {
    if (!wait_fd(t.fd, POLLIN, timeout_ms)) {
      r.error = "TCP answer timed out";
      return r;
    }
    ssize_t n = ::recv(t.fd, buf.data() + have, need - have, 0);
    if (n <= 0) {
      r.error = "TCP connection closed";
      return r;
    }
    have += static_cast<size_t>(n);
    if (have == 2 && need == 2) need = 2 + get16(buf.data());
  }
  if (!parse(buf.data() + 2, need - 2, id, r)) r.error = "malformed answer";
  return r;
}

}  // namespace zonectl
