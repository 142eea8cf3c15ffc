// OperatorService: the gRPC Operator service (proto/parley/v1/operator.proto)
// for the local CLI. Submit refuses statements that would be void (accepting
// one's own or a withdrawn proposal, ...) with the reason, before signing:
// VoidReason (node/protocol/agreements.h) on an agreement state kept up to
// date here, to which each Submit adds only the entries stored since.
// RotateKey hands the node its next key and signs the RotateKey entry. The
// manifest calls work on the node's ManifestStore; error messages about a
// manifest's content name lines and columns, never a value.
//
// Thread safety: gRPC calls handlers concurrently; Ledger and Replicator are
// thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "node/base/clock.h"
#include "node/daemon/keyring.h"
#include "node/daemon/missing_manifests.h"
#include "node/daemon/replicator.h"
#include "node/daemon/witnessing.h"
#include "node/ledger/ledger.h"
#include "node/manifest/manifest_store.h"
#include "node/protocol/agreements.h"
#include "parley/v1/operator.grpc.pb.h"

namespace parley {

class Metrics;

class OperatorService final : public v1::Operator::Service {
 public:
  // `metrics` (may be null) is told of every entry signed or refused.
  OperatorService(Ledger& ledger, const Replicator& replicator, KeyRing& keys, ManifestStore& manifests,
                  MissingManifests& missing_manifests, Metrics* metrics = nullptr)
      : ledger_(ledger),
        replicator_(replicator),
        keys_(keys),
        manifests_(manifests),
        missing_manifests_(missing_manifests),
        metrics_(metrics),
        started_ms_(NowMs()) {}

  void Stop() { stopping_ = true; }
  // Where the witness state and GetCheckpoints read (none: no witnessing).
  // Set before the server starts; must outlive this.
  void ServeCheckpoints(const CheckpointBook* book) { checkpoints_ = book; }

  grpc::Status Submit(grpc::ServerContext*, const v1::SubmitRequest*, v1::SubmitResponse*) override;
  grpc::Status GetStatus(grpc::ServerContext*, const v1::StatusRequest*, v1::StatusResponse*) override;
  grpc::Status GetCharter(grpc::ServerContext*, const v1::GetCharterRequest*, v1::GetCharterResponse*) override;
  grpc::Status ReadFeed(grpc::ServerContext*, const v1::OperatorReadRequest*,
                        grpc::ServerWriter<v1::FeedItem>*) override;
  grpc::Status GetForkProofs(grpc::ServerContext*, const v1::GetForkProofsRequest*, v1::ForkProofs*) override;
  grpc::Status GetCheckpoints(grpc::ServerContext*, const v1::GetCheckpointsRequest*, v1::Checkpoints*) override;
  grpc::Status RotateKey(grpc::ServerContext*, const v1::RotateKeyRequest*, v1::SubmitResponse*) override;
  grpc::Status CommitManifest(grpc::ServerContext*, const v1::CommitManifestRequest*, v1::ManifestInfo*) override;
  grpc::Status ListManifests(grpc::ServerContext*, const v1::ListManifestsRequest*,
                             v1::ListManifestsResponse*) override;
  grpc::Status FetchManifest(grpc::ServerContext*, const v1::ManifestRef*, v1::ManifestInfo*) override;
  grpc::Status ProveRecord(grpc::ServerContext*, const v1::ProveRecordRequest*, v1::ProveRecordResponse*) override;
  grpc::Status ReconcileArrivals(grpc::ServerContext*, const v1::ReconcileArrivalsRequest*,
                                 v1::ReconcileArrivalsResponse*) override;
  grpc::Status EraseRecord(grpc::ServerContext*, const v1::EraseRecordRequest*, v1::EraseRecordResponse*) override;
  grpc::Status ReadManifest(grpc::ServerContext*, const v1::ManifestRef*, v1::ReadManifestResponse*) override;
  grpc::Status GetReconciliations(grpc::ServerContext*, const v1::ManifestRef*,
                                  v1::GetReconciliationsResponse*) override;
  grpc::Status Backup(grpc::ServerContext*, const v1::BackupRequest*, grpc::ServerWriter<v1::BackupChunk>*) override;

 private:
  // The manifest with `root`, held here or fetched from the peer now.
  Result<v1::ManifestInfo> HeldOrFetched(const Digest& root);
  // An arrival list compared with the manifest `root` (held or fetched);
  // erased records count missing.
  struct Reconciled {
    v1::ManifestInfo manifest;
    ReconciliationResult result;
  };
  Result<Reconciled> ReconcileWith(const Digest& root, std::string_view arrivals_csv);
  // For a Submit that carries an arrival list: the reconciliation, once the
  // body is checked to be a Receipt naming a manifest whose figures and count
  // are exactly what the list gives.
  Result<Reconciled> CheckReceiptArrivals(const v1::Entry& body, std::string_view arrivals_csv);
  // Why `body`, signed now, would have no effect; nullopt if it would
  // (agreements.h VoidReason, on the state kept up to date below).
  Result<std::optional<std::string>> VoidReason(const v1::Entry& body, int64_t now_ms);
  // Brings agreements_ up to the stored heads: reads only the entries stored
  // since, and the whole feeds only when they cannot be added in canonical
  // order (the other party wrote concurrently) or a rotation declared
  // entries compromised. REQUIRES: agreements_mu_ held.
  Status CatchUpAgreements();

  Ledger& ledger_;
  const Replicator& replicator_;
  KeyRing& keys_;
  ManifestStore& manifests_;
  MissingManifests& missing_manifests_;
  std::mutex agreements_mu_;
  std::unique_ptr<IncrementalState> agreements_;  // guarded by agreements_mu_
  Metrics* const metrics_;
  const CheckpointBook* checkpoints_ = nullptr;
  std::atomic<bool> stopping_{false};
  const int64_t started_ms_;  // when this node process started (StatusResponse.started_ms)
};

}  // namespace parley
