// One zoned per database, control socket and listen address: a second one started with the
// same configuration (or sharing any of these) exits naming the first one's pid, before it
// touches the socket, the database or the port (SO_REUSEPORT would otherwise let two
// servers split the queries between them).
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/config.h"

namespace server {

class InstanceLock {
 public:
  // Throws std::runtime_error naming the path or address and the pid holding it.
  explicit InstanceLock(const Config& cfg);
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

 private:
  void lock_file(const std::string& path, const std::string& what);
  std::vector<int> fds_;
};

}  // namespace server
