// DNS UPDATE (RFC 2136, RFC 3007) as zoned answers it: the query processor verifies TSIG
// and hands the message over (deferred); here the zone and the key are checked against the
// zone's allow-update and update-policy, and the update becomes one commit whose planner
// evaluates the prerequisites and the update section against the version current at commit
// time (zone/update.h). The answer is sent once the change is stored and served. A secondary
// zone answers NOTAUTH: UPDATE goes to the primary (zoned does not forward it).
#pragma once
#include <memory>

#include "server/policy.h"
#include "server/query.h"
#include "zone/commit.h"
#include "zone/zone_table.h"

namespace server {

class UpdateService {
 public:
  UpdateService(const zone::Publisher<Policy>& policy, zone::Committer& committer)
      : policy_(policy), committer_(committer) {}

  // The processor's DeferredHandler for opcode UPDATE (any worker thread).
  void handle(std::shared_ptr<const DeferredRequest> request, Completion done);

 private:
  const zone::Publisher<Policy>& policy_;
  zone::Committer& committer_;
};

}  // namespace server
