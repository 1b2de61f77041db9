// DNSSEC signing for zones with a dnssec-policy: their keys (made on first use, kept in the
// key directory) and the sign step of the commit path (zone/commit.h ZoneSigner), plus the
// signature refresh: a zone whose earliest signature falls due gets a re-signing commit.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "server/config.h"
#include "zone/commit.h"
#include "zone/dnssec_keys.h"

namespace server {

class SigningService : public zone::ZoneSigner {
 public:
  // Takes the policies and the zones that use one (main thread, at start and every reload).
  void configure(const Config& cfg);

  bool signs(const std::string& origin) const override;
  // On the committer's thread.
  std::shared_ptr<const zone::Zone> sign(const std::string& origin, const std::string& name,
                                         const zone::Zone& content, const zone::Zone* prev,
                                         std::string& error) override;

  bool adopt(const std::string& origin, const std::string& name,
             const zone::Zone& stored) override;

  // Commits a re-signing change (serial + 1) for every zone whose signatures fall due
  // (main thread, from the periodic tick). `now`: unix time.
  void refresh_due(zone::Committer& committer, int64_t now);

  // The keys of a zone as its DNSKEY RRset carries them (zonectl: DS), empty when unknown.
  std::vector<zone::dnssec::Key> keys(const std::string& origin) const;

 private:
  struct ZoneState {
    std::string name;
    PolicyConfig policy;
    std::string key_dir;
    unsigned ixfr_history = 100;
    bool notify = false;
    std::vector<zone::dnssec::Key> keys;
    bool keys_loaded = false;
    uint32_t next_refresh = 0;  // unix time; 0: none pending
    bool refreshing = false;
  };
  std::vector<zone::dnssec::Key> load_or_make_keys(ZoneState& z);

  mutable std::mutex mu_;
  std::map<std::string, ZoneState> zones_;  // by origin
};

}  // namespace server
