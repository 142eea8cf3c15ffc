// Node: one party's running node — the Ledger in its data folder, the peer
// gRPC service on TCP (loopback until TLS lands), the operator gRPC service
// on a Unix socket (mode 0600), the Replicator pulling the other feed, and,
// with metrics_listen set, the Prometheus endpoint (metrics.h).
//
// Thread safety: Start and Shutdown from one thread; the services run on
// gRPC's threads.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "node/daemon/config.h"
#include "node/daemon/keyring.h"
#include "node/daemon/missing_manifests.h"
#include "node/daemon/metrics.h"
#include "node/daemon/peer_service.h"
#include "node/daemon/replicator.h"
#include "node/daemon/witnessing.h"
#include "node/ledger/ledger.h"
#include "node/manifest/manifest_store.h"
#include "parley/v1/operator.grpc.pb.h"

namespace parley {

class OperatorService;

class Node {
 public:
  // Opens the data folder (refusing one in use by another process), checks
  // the key (and the next key of a rotation, if given) against the charter
  // and the stored key schedule, binds both services and starts replicating.
  static Result<std::unique_ptr<Node>> Start(const NodeConfig& config, SecretKey key,
                                             std::optional<SecretKey> next_key = std::nullopt);
  ~Node();

  // Stops replication and both servers; returns when all calls have ended.
  void Shutdown();

  Ledger& ledger() { return *ledger_; }
  const Replicator& replicator() const { return *replicator_; }
  int peer_port() const { return peer_port_; }
  // The node's figures; served over HTTP only with metrics_listen set.
  const Metrics& metrics() const { return *metrics_; }

 private:
  Node() = default;

  NodeConfig config_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Metrics> metrics_;  // declared after ledger_: reads it until destroyed
  std::unique_ptr<ManifestStore> manifests_;
  std::unique_ptr<MissingManifests> missing_manifests_;
  std::unique_ptr<KeyRing> keys_;
  std::unique_ptr<PeerService> peer_service_;
  std::unique_ptr<OperatorService> operator_service_;
  std::unique_ptr<grpc::Server> peer_server_;
  std::unique_ptr<grpc::Server> operator_server_;
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<CheckpointBook> checkpoints_;
  std::unique_ptr<Witnessing> witnessing_;  // declared last: stopped and destroyed first
  int peer_port_ = 0;
  bool stopped_ = false;
};

}  // namespace parley
