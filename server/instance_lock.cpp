#include "server/instance_lock.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace server {

namespace {

std::string read_pid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string s(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// An address as /proc/net/{udp,tcp}{,6} print it: the 32-bit words of the address in
// memory order, each as hex of the host-order value.
std::string proc_hex(const void* addr, size_t len) {
  std::string out;
  char buf[9];
  for (size_t i = 0; i < len; i += 4) {
    uint32_t w;
    std::memcpy(&w, static_cast<const uint8_t*>(addr) + i, 4);
    std::snprintf(buf, sizeof buf, "%08X", w);
    out += buf;
  }
  return out;
}

// The socket inodes listening (TCP) or bound (UDP) on this address and port (or on the
// wildcard address and that port), from /proc/net.
std::vector<std::string> socket_inodes(const Endpoint& ep, bool udp) {
  const uint16_t port = ep.port;
  std::string want4, want6;
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, ep.host.c_str(), &a4) == 1) want4 = proc_hex(&a4, 4);
  if (inet_pton(AF_INET6, ep.host.c_str(), &a6) == 1) want6 = proc_hex(&a6, 16);
  std::vector<std::string> out;
  for (const char* f : {udp ? "/proc/net/udp" : "/proc/net/tcp", udp ? "/proc/net/udp6" : "/proc/net/tcp6"}) {
    std::ifstream in(f);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
      ls >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
      auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      unsigned p = std::stoul(local.substr(colon + 1), nullptr, 16);
      if (p != port) continue;
      std::string host = local.substr(0, colon);
      const std::string& want = host.size() == 8 ? want4 : want6;
      if (host.find_first_not_of('0') != std::string::npos && host != want) continue;
      if (!udp && st != "0A") continue;  // LISTEN
      out.push_back(inode);
    }
  }
  return out;
}

// The pid of a process holding one of these socket inodes ("" when not visible to us).
std::string pid_of_inodes(const std::vector<std::string>& inodes) {
  if (inodes.empty()) return "";
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    std::string pid = proc.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (pid == std::to_string(::getpid())) continue;
    std::error_code fec;
    for (const auto& fd : std::filesystem::directory_iterator(proc.path() / "fd", fec)) {
      std::error_code lec;
      auto target = std::filesystem::read_symlink(fd.path(), lec).string();
      for (const auto& i : inodes)
        if (target == "socket:[" + i + "]") return pid;
    }
  }
  return "";
}

// Fails when another socket already has the address (without SO_REUSEPORT, a bind to an
// address a server holds fails even when that server set SO_REUSEPORT itself).
void check_address(const Endpoint& ep) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool v6 = ep.host.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(ep.port);
    inet_pton(AF_INET6, ep.host.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(ep.port);
    inet_pton(AF_INET, ep.host.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
    int s = ::socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
    if (s < 0) continue;
    int one = 1;
    if (type == SOCK_STREAM) ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6) ::setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    int rc = ::bind(s, reinterpret_cast<sockaddr*>(&ss), len);
    int err = errno;
    ::close(s);
    if (rc == 0 || err != EADDRINUSE) continue;
    std::string pid = pid_of_inodes(socket_inodes(ep, type == SOCK_DGRAM));
    throw std::runtime_error(std::string(type == SOCK_DGRAM ? "UDP " : "TCP ") + ep.str() +
                             " is already in use" +
                             (pid.empty() ? std::string(" (by another process)")
                                          : " by pid " + pid + " (another zoned?)") +
                             ": stop it first");
  }
}

}  // namespace

void InstanceLock::lock_file(const std::string& path, const std::string& what) {
  std::string lock = path + ".lock";
  std::error_code ec;
  auto parent = std::filesystem::path(lock).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0)
    throw std::runtime_error("cannot open lock file " + lock + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    std::string pid = read_pid(fd);
    ::close(fd);
    throw std::runtime_error("another zoned" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                             " is running with the " + what + " " + path + " (lock " + lock + ")");
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
    // The lock is held; the pid is only for the message a second zoned prints.
  }
  fds_.push_back(fd);
}

InstanceLock::InstanceLock(const Config& cfg) {
  try {
    if (!cfg.server.database.empty()) lock_file(cfg.server.database, "database");
    if (!cfg.server.control.empty()) lock_file(cfg.server.control, "control socket");
    for (const auto& ep : cfg.server.listen) check_address(ep);
  } catch (...) {
    for (int fd : fds_) ::close(fd);
    throw;
  }
}

InstanceLock::~InstanceLock() {
  for (int fd : fds_) ::close(fd);
}

}  // namespace server
