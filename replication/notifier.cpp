#include "replication/notifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <random>

#include "zone/task.h"
#include "zone/wire/message.h"
#include "zone/wire/render.h"
#include "zone/wire/serial.h"
#include "zone/wire/tsig.h"

namespace replication {

namespace asio = boost::asio;
using namespace zone::wire;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

std::shared_ptr<spdlog::logger> notify_log() {
  auto l = spdlog::get("notify");
  return l ? l : spdlog::default_logger();
}

uint32_t soa_refresh(const zone::Zone& z) {
  SoaFields f;
  parse_soa(std::string_view(z.soa().data).substr(2), f);
  return f.refresh;
}

}  // namespace

struct Notifier::Watch {
  std::string origin, name;
  Remote remote;
  std::shared_ptr<const zone::Zone> zone;  // the version it should serve
  uint64_t generation = 0;                 // the newest NOTIFY; older ones stop
  asio::steady_timer wake;
  bool stopped = false;
  DownstreamState state;
  explicit Watch(asio::io_context& io) : wake(io) {}
};

void Notifier::notify(const std::string& origin, const std::vector<Remote>& remotes,
                      std::shared_ptr<const zone::Zone> z) {
  auto& zone_watches = watches_[origin];
  // Remotes no longer listed stop being watched.
  for (auto it = zone_watches.begin(); it != zone_watches.end();) {
    bool listed = false;
    for (const auto& r : remotes) listed = listed || r.str() == it->first;
    if (listed) {
      ++it;
      continue;
    }
    it->second->stopped = true;
    it->second->wake.cancel();
    it = zone_watches.erase(it);
  }
  for (const auto& r : remotes) {
    auto& w = zone_watches[r.str()];
    bool fresh = !w;
    if (fresh) {
      w = std::make_shared<Watch>(io_);
      w->origin = origin;
      w->name = name_to_text(origin);
      if (w->name.size() > 1) w->name.pop_back();
      w->state.remote = r.name;
      w->state.address = r.str();
    }
    w->remote = r;
    w->zone = z;
    uint64_t g = ++w->generation;
    asio::co_spawn(io_, send_notify(w, g), zone::TaskEnd("NOTIFY " + w->name + " to " + r.label()));
    if (fresh) asio::co_spawn(io_, watch(w), zone::TaskEnd("watch of " + w->name + " at " + r.label()));
  }
  if (zone_watches.empty()) watches_.erase(origin);
}

void Notifier::forget(const std::string& origin) {
  auto it = watches_.find(origin);
  if (it == watches_.end()) return;
  for (auto& [a, w] : it->second) {
    w->stopped = true;
    w->wake.cancel();
  }
  watches_.erase(it);
}

std::vector<DownstreamState> Notifier::state(const std::string& origin) const {
  std::vector<DownstreamState> out;
  auto it = watches_.find(origin);
  if (it == watches_.end()) return out;
  for (const auto& [a, w] : it->second) out.push_back(w->state);
  return out;
}

asio::awaitable<void> Notifier::send_notify(std::shared_ptr<Watch> w, uint64_t generation) {
  auto log = notify_log();
  auto ex = co_await asio::this_coro::executor;
  const Remote remote = w->remote;
  const auto zone = w->zone;
  const uint32_t serial = zone->serial();
  static thread_local std::mt19937 rng{std::random_device{}()};
  auto superseded = [&] { return w->stopped || w->generation != generation; };
  // RFC 1996 3.6: retransmit with backoff until answered; here 5 tries over ~31 s. A newer
  // NOTIFY for this zone and remote supersedes this one (a stale serial only makes the
  // secondary check again).
  int delay = 1;
  std::string failure = "no answer";
  for (int attempt = 1; attempt <= 5; ++attempt, delay *= 2) {
    if (superseded()) {
      log->debug("zone {}: NOTIFY serial {} to {} superseded by a newer one", w->name, serial,
                 remote.label());
      co_return;
    }
    boost::system::error_code ec;
    asio::ip::udp::socket sock(ex);
    asio::ip::udp::endpoint ep(remote.address, remote.port);
    open_for(sock, remote, ec);
    if (ec) {
      failure = (remote.via ? "source address " + remote.via->to_string() + ": " : std::string()) +
                ec.message();
      break;
    }
    uint16_t id = static_cast<uint16_t>(rng());
    std::vector<uint8_t> buf(4096);
    Renderer r(buf.data(), buf.size());
    r.begin(id, static_cast<uint16_t>(opcode::NOTIFY << 11 | flag::AA), w->origin, rrtype::SOA,
            rrclass::IN);
    // The new SOA in the answer section tells the secondary the serial (RFC 1996 3.7).
    r.add_rrset(Section::answer, w->origin, zone->soa());
    size_t len = r.size();
    std::string mac;
    if (remote.key) {
      auto m = tsig_sign(buf.data(), len, buf.size(), *remote.key,
                         static_cast<uint64_t>(unix_now()), {}, false);
      if (m) mac = *m;
    }
    co_await sock.async_send_to(asio::buffer(buf.data(), len), ep,
                                asio::redirect_error(asio::use_awaitable, ec));
    asio::steady_timer timer(ex);
    timer.expires_after(seconds(delay));
    bool acked = false;
    std::string problem;
    timer.async_wait([&sock](const boost::system::error_code& e) {
      if (!e) sock.cancel();
    });
    std::vector<uint8_t> in(4096);
    while (!ec) {
      asio::ip::udp::endpoint from;
      size_t n = co_await sock.async_receive_from(asio::buffer(in), from,
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      if (n < kHeaderSize || get16(in.data()) != id || !(get16(in.data() + 2) & flag::QR))
        continue;
      if (remote.key) {
        const TsigKey& key = *remote.key;
        TsigCheck c = tsig_verify(
            in.data(), n, [&](std::string_view kn) { return kn == key.name ? &key : nullptr; },
            static_cast<uint64_t>(unix_now()), mac, false);
        if (c.status != TsigCheck::ok) {
          problem = "answer fails TSIG";
          continue;
        }
      }
      unsigned rc = get16(in.data() + 2) & 0xF;
      if (rc != rcode::NOERROR) problem = "answered " + rcode_text(static_cast<uint16_t>(rc));
      acked = true;
      break;
    }
    timer.cancel();
    // Whatever the first try brought, look at the remote's serial soon (an unacknowledged
    // NOTIFY is what a dead secondary looks like).
    if (attempt == 1 && !acked) w->wake.cancel();
    if (acked) {
      if (problem.empty()) {
        log->info("zone {}: NOTIFY serial {} to {} acknowledged", w->name, serial, remote.label());
        w->state.last_notify = "serial " + std::to_string(serial) + " acknowledged";
      } else {
        log->warn("zone {}: NOTIFY serial {} to {}: {}", w->name, serial, remote.label(), problem);
        w->state.last_notify = "serial " + std::to_string(serial) + ": " + problem;
        ++w->state.notify_failures;
      }
      // Check soon whether it follows.
      w->wake.cancel();
      co_return;
    }
    // Wait out the rest of the backoff interval before the next try.
  }
  if (superseded()) co_return;
  ++w->state.notify_failures;
  w->state.last_notify = "serial " + std::to_string(serial) + " not acknowledged: " + failure;
  log->warn("zone {}: NOTIFY serial {} to {} not acknowledged after 5 tries ({})", w->name,
            serial, remote.label(), failure);
}

asio::awaitable<void> Notifier::watch(std::shared_ptr<Watch> w) {
  // Check 1 s after each acknowledged NOTIFY (the wake timer is cancelled then), then back
  // off (2, 4, ... 64 s) while it is behind; once it is current, every SOA refresh interval
  // (bounded to 1 min .. 1 h).
  int backoff = 1;
  boost::system::error_code ec;
  while (!w->stopped) {
    w->wake.expires_after(seconds(backoff));
    co_await w->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (w->stopped) co_return;
    if (ec) {  // poked: a NOTIFY was acknowledged, look again in a second
      backoff = 1;
      continue;
    }
    SoaCheck c = co_await query_soa(w->remote, w->origin, milliseconds(2000));
    if (w->stopped) co_return;
    const uint32_t ours = w->zone->serial();
    DownstreamState& s = w->state;
    s.checked_at = unix_now();
    s.answered = c.ok;
    s.error = c.ok ? std::string() : c.error;
    if (c.ok) {
      s.serial = c.serial;
      s.behind = serial_lt(c.serial, ours) ? static_cast<uint32_t>(ours - c.serial) : 0u;
    }
    if (c.ok && s.behind == 0) {
      s.behind_since = 0;
      backoff = static_cast<int>(std::clamp<uint32_t>(soa_refresh(*w->zone), 60, 3600));
    } else {
      if (!s.behind_since) s.behind_since = s.checked_at;
      backoff = std::min(backoff * 2, 64);
    }
  }
}

}  // namespace replication
