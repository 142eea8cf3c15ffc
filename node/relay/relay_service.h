// RelayService: the Peer service (proto/parley/v1/peer.proto) of a relay —
// the two feeds of one ledger held by a neutral intermediary, over a Ledger
// opened with no local party (it signs nothing). docs/PROTOCOL.md §16.
//
// Every call is authenticated first with the node's per-call auth
// (peer_auth.h): the charter's parties (their keys in effect, or a pending
// rotation's new key) and its observers; anyone else is refused.
//   GetHeads, ReadFeed, Subscribe, GetForkProofs: parties and observers,
//     served from the store exactly as a node serves them (StreamFeed).
//   Publish: a party only, entries of its own feed only (the feed whose key
//     signed the call); what has arrived is verified and stored by
//     Ledger::IngestBatch — the ingest path a party's node uses to catch up,
//     one synced write per run of good entries — so a fork becomes a stored
//     fork proof and a refused entry changes nothing (what came before it
//     stays). Subscribe streams wake as each batch is stored.
//   GetManifest: FAILED_PRECONDITION, "a relay holds no manifests".
//
// Thread safety: gRPC calls handlers concurrently; the Ledger is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>

#include "node/daemon/peer_auth.h"
#include "node/ledger/ledger.h"
#include "parley/v1/peer.grpc.pb.h"

namespace parley {

// Publish: at most this many entries (and bytes) read ahead of the store;
// what has arrived, up to this many entries, is stored in one batch.
inline constexpr size_t kMaxPublishBatch = 1000;
inline constexpr size_t kMaxPublishQueuedBytes = 8 << 20;
// Publish: how long a refused publisher has to end its stream and get the
// error as the call's status before the call is cancelled.
inline constexpr auto kPublishRefusalGrace = std::chrono::seconds(1);

class RelayService final : public v1::Peer::Service {
 public:
  explicit RelayService(Ledger& ledger);

  // Makes open streams end promptly (before server shutdown).
  void Stop() { stopping_ = true; }

  grpc::Status GetHeads(grpc::ServerContext*, const v1::GetHeadsRequest*, v1::Heads*) override;
  grpc::Status ReadFeed(grpc::ServerContext*, const v1::ReadFeedRequest*,
                        grpc::ServerWriter<v1::FeedItem>*) override;
  grpc::Status Subscribe(grpc::ServerContext*, const v1::SubscribeRequest*,
                         grpc::ServerWriter<v1::FeedItem>*) override;
  grpc::Status GetForkProofs(grpc::ServerContext*, const v1::GetForkProofsRequest*, v1::ForkProofs*) override;
  grpc::Status GetManifest(grpc::ServerContext*, const v1::GetManifestRequest*,
                           grpc::ServerWriter<v1::ManifestChunk>*) override;
  grpc::Status Publish(grpc::ServerContext*, grpc::ServerReader<v1::FeedItem>*, v1::Heads*) override;

 private:
  // Authenticates the call (any admitted caller) and checks the ledger id
  // (empty `ledger_id`: Publish, whose token already names the ledger).
  grpc::Status Admit(grpc::ServerContext* ctx, std::string_view method, const std::string* ledger_id,
                     PublicKey* caller, PeerRole* role);
  void FillAll(v1::Heads* heads) const;

  Ledger& ledger_;
  PeerAuthenticator auth_;
  std::atomic<bool> stopping_{false};
};

}  // namespace parley
