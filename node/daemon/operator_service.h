// OperatorService: the gRPC Operator service (proto/parley/v1/operator.proto)
// for the local CLI. Submit refuses statements that would be void (accepting
// one's own or a withdrawn proposal, ...) with the reason, before signing.
// RotateKey hands the node its next key and signs the RotateKey entry.
//
// Thread safety: gRPC calls handlers concurrently; Ledger and Replicator are
// thread-safe.
#pragma once

#include <atomic>

#include "node/daemon/keyring.h"
#include "node/daemon/replicator.h"
#include "node/ledger.h"
#include "parley/v1/operator.grpc.pb.h"

namespace parley {

class OperatorService final : public v1::Operator::Service {
 public:
  OperatorService(Ledger& ledger, const Replicator& replicator, KeyRing& keys)
      : ledger_(ledger), replicator_(replicator), keys_(keys) {}

  void Stop() { stopping_ = true; }

  grpc::Status Submit(grpc::ServerContext*, const v1::SubmitRequest*, v1::SubmitResponse*) override;
  grpc::Status GetStatus(grpc::ServerContext*, const v1::StatusRequest*, v1::StatusResponse*) override;
  grpc::Status GetCharter(grpc::ServerContext*, const v1::GetCharterRequest*, v1::GetCharterResponse*) override;
  grpc::Status ReadFeed(grpc::ServerContext*, const v1::OperatorReadRequest*,
                        grpc::ServerWriter<v1::FeedItem>*) override;
  grpc::Status GetForkProofs(grpc::ServerContext*, const v1::GetForkProofsRequest*, v1::ForkProofs*) override;
  grpc::Status RotateKey(grpc::ServerContext*, const v1::RotateKeyRequest*, v1::SubmitResponse*) override;

 private:
  // Why `body`, signed now, would have no effect; nullopt if it would.
  Result<std::optional<std::string>> VoidReason(const v1::Entry& body, int64_t now_ms) const;

  Ledger& ledger_;
  const Replicator& replicator_;
  KeyRing& keys_;
  std::atomic<bool> stopping_{false};
};

}  // namespace parley
