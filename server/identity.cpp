#include "server/identity.h"

#include <unistd.h>

namespace server {

namespace {
using namespace std::string_view_literals;
constexpr std::string_view kIdServer = "\x02id\x06server\x00"sv;
constexpr std::string_view kHostnameBind = "\x08hostname\x04" "bind\x00"sv;
constexpr std::string_view kVersionServer = "\x07version\x06server\x00"sv;
constexpr std::string_view kVersionBind = "\x07version\x04" "bind\x00"sv;
}  // namespace

const std::string* chaos_text(const ServerIdentity& id, std::string_view qname) {
  const std::string* text = nullptr;
  if (qname == kIdServer || qname == kHostnameBind) text = &id.identity;
  else if (qname == kVersionServer || qname == kVersionBind) text = &id.version;
  return text && !text->empty() ? text : nullptr;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

}  // namespace server
