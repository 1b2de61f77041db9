#include "server/notify_in.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "zone/wire/render.h"

namespace server {

using namespace zone::wire;

size_t NotifyIn::handle(const uint8_t* in, size_t len, const ParsedQuery& q,
                        const boost::asio::ip::address& from, uint8_t* out, size_t cap) {
  auto log = spdlog::get("notify");
  const Policy& policy = policy_.get();
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  std::string zname = name_to_text(q.name_lower());
  std::string peer = from.to_string();

  TsigCheck tsig;
  if (q.has_tsig)
    tsig = tsig_verify(in, len, [&](std::string_view n) { return policy.find_key(n); }, now, {},
                       false);
  uint16_t rc = rcode::NOERROR, tsig_err = 0;
  if (tsig.status == TsigCheck::badkey) rc = rcode::NOTAUTH, tsig_err = tsig_error::BADKEY;
  else if (tsig.status == TsigCheck::badsig) rc = rcode::NOTAUTH, tsig_err = tsig_error::BADSIG;
  else if (tsig.status == TsigCheck::badtime) rc = rcode::NOTAUTH, tsig_err = tsig_error::BADTIME;
  else if (tsig.status == TsigCheck::formerr) rc = rcode::FORMERR;
  std::string key = tsig.status == TsigCheck::ok ? tsig.key->name : std::string();

  auto acl = policy.allow_notify.find(std::string(q.name_lower()));
  if (rc == rcode::NOERROR) {
    if (q.qtype != rrtype::SOA || q.qclass != rrclass::IN) {
      rc = rcode::FORMERR;
    } else if (acl == policy.allow_notify.end()) {
      rc = rcode::NOTAUTH;  // not a secondary zone here
      if (log) log->info("NOTIFY for {} from {}: not a secondary zone here", zname, peer);
    } else if (!acl->second.allows(from, key)) {
      rc = rcode::REFUSED;
      if (log) log->warn("NOTIFY for {} from {} refused: not in allow-notify{}", zname, peer,
                         key.empty() ? " (or unsigned)" : "");
    }
  } else if (log) {
    log->warn("NOTIFY for {} from {}: TSIG check failed (error {})", zname, peer, tsig_err);
  }

  Renderer r(out, cap);
  uint16_t flags = static_cast<uint16_t>(flag::QR | (q.flags & 0x7800) |
                                         (rc == rcode::NOERROR ? flag::AA : 0));
  r.begin(q.id, flags, q.name(), q.qtype, q.qclass);
  r.set_rcode(rc);
  size_t n = r.size();
  if (q.has_tsig) tsig_sign_answer(out, n, cap, tsig, tsig_err, now);
  if (rc == rcode::NOERROR) on_notify_(std::string(q.name_lower()), peer);
  return n;
}

}  // namespace server
