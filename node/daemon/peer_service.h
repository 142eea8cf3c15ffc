// PeerService: the gRPC Peer service (proto/parley/v1/peer.proto) over a
// Ledger — a thin translator with no ledger rules of its own. Every call is
// authenticated first (peer_auth.h); streams count against the caller's limit. Streams serve
// stored envelopes as stored; Subscribe then waits on the ledger for new
// entries, so a new statement leaves as soon as it is durably stored.
//
// Thread safety: gRPC calls handlers concurrently; the Ledger is thread-safe.
#pragma once

#include <chrono>

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <map>
#include <mutex>

#include "node/daemon/peer_auth.h"
#include "node/daemon/witnessing.h"
#include "node/ledger/ledger.h"
#include "node/manifest/manifest_store.h"
#include "parley/v1/peer.grpc.pb.h"

namespace parley {

inline constexpr uint32_t kMaxReadCount = 1000;
// A peer's Subscribe ends after this long whatever deadline the client set,
// so no caller holds a stream slot for good (the replicator resubscribes).
inline constexpr auto kMaxPeerStreamDuration = std::chrono::minutes(5);
// GetManifest sends the sealed manifest in chunks of this many bytes.
inline constexpr size_t kManifestChunkBytes = 64 * 1024;
// A manifest is disclosed at most this often per hour (each disclosure is an
// entry in our feed, so the other party cannot bloat it by fetching in a loop;
// its node keeps what it fetched).
inline constexpr size_t kMaxDisclosuresPerHour = 10;

// The party keys a peer call may be signed with, per `ledger`'s key schedule:
// each party's key in effect and the new key of its pending rotation (the
// rotating node signs with its new key as soon as it has asked for the
// rotation, docs/PROTOCOL.md §10).
PeerAuthenticator::PartyKeys CallerKeys(const Ledger& ledger);

class Metrics;

class PeerService final : public v1::Peer::Service {
 public:
  // `manifests` may be null (no manifests served). Disclosures are signed
  // into `ledger`'s own feed. `metrics` (may be null) counts them.
  PeerService(Ledger& ledger, const ManifestStore* manifests, Metrics* metrics = nullptr)
      : ledger_(ledger), manifests_(manifests), metrics_(metrics), auth_(ledger.charter(), CallerKeys(ledger)) {}

  // How much of our own feed the other party's node holds as far as this
  // service knows: the seq before the one it last asked for (ReadFeed,
  // Subscribe), or the last one sent to it since. nullopt until it asks.
  std::optional<uint64_t> own_sent_to_peer() const;

  // Where GetCheckpoints reads (none: it answers no checkpoints). Set
  // before the server starts; must outlive this.
  void ServeCheckpoints(const CheckpointBook* book) { checkpoints_ = book; }

  // Makes open Subscribe streams end promptly (before server shutdown).
  void Stop() { stopping_ = true; }

  grpc::Status GetHeads(grpc::ServerContext*, const v1::GetHeadsRequest*, v1::Heads*) override;
  grpc::Status ReadFeed(grpc::ServerContext*, const v1::ReadFeedRequest*,
                        grpc::ServerWriter<v1::FeedItem>*) override;
  grpc::Status Subscribe(grpc::ServerContext*, const v1::SubscribeRequest*,
                         grpc::ServerWriter<v1::FeedItem>*) override;
  grpc::Status GetForkProofs(grpc::ServerContext*, const v1::GetForkProofsRequest*,
                             v1::ForkProofs*) override;
  grpc::Status GetManifest(grpc::ServerContext*, const v1::GetManifestRequest*,
                           grpc::ServerWriter<v1::ManifestChunk>*) override;
  grpc::Status GetCheckpoints(grpc::ServerContext*, const v1::GetCheckpointsRequest*, v1::Checkpoints*) override;

 private:
  grpc::Status CheckLedger(const std::string& ledger_id) const;
  // For a read of `party`'s feed from `from_seq` by `caller`: if it is the
  // other party reading our feed, notes how much of it that node holds and
  // returns the callback that notes each entry sent; else an empty one.
  std::function<void(uint64_t)> TrackOwnFeedRead(const PublicKey& caller, PartyIndex party, uint64_t from_seq);
  // The one place every call is authenticated and authorised.
  grpc::Status Admit(grpc::ServerContext* ctx, std::string_view method, const std::string& ledger_id,
                     PublicKey* caller, PeerRole* role = nullptr);

  Ledger& ledger_;
  const ManifestStore* manifests_;
  const CheckpointBook* checkpoints_ = nullptr;
  Metrics* const metrics_;
  std::atomic<uint64_t> own_sent_to_peer_{0};
  std::atomic<bool> own_sent_known_{false};
  std::mutex disclosures_mu_;
  std::map<Digest, std::deque<std::chrono::steady_clock::time_point>> disclosures_;  // per root, last hour
  PeerAuthenticator auth_;
  std::atomic<bool> stopping_{false};
};

// Status -> grpc::Status, once, at the service boundary.
grpc::Status ToGrpc(const Status& s);

// The settings every server of the peer protocol (a node's peer port, a
// relay) uses: bounded threads (with at most kMaxStreamsPerCaller streams
// per caller, one caller's flood leaves room for the others), messages up
// to `max_receive` bytes in and kMaxPeerMessageBytes out, the callers'
// keepalive pings accepted and answered (so a paused client is noticed and
// its streams freed), and no SO_REUSEPORT (gRPC's default would let a second
// process bind the same address and take a share of the connections).
void ConfigurePeerServer(grpc::ServerBuilder& builder, const std::string& quota_name, int max_receive);
// GetCheckpoints' answer (Peer and Operator services alike): the stored
// cosigned checkpoints of req's feed from its from_size on, at most
// kMaxCheckpointsPerAnswer.
grpc::Status AnswerCheckpoints(const CheckpointBook* book, const v1::GetCheckpointsRequest& req,
                               v1::Checkpoints* resp);
// Fills `out` with both heads as `ledger` holds them.
void FillHeads(const Ledger& ledger, google::protobuf::RepeatedPtrField<v1::FeedHeadInfo>* out);
// Streams `party`'s feed from `from_seq`; with `follow`, waits for and sends
// new entries until `ctx` is cancelled, `stopping` is set or `max_duration`
// has passed (then it ends with OK and the client subscribes again).
// `on_sent`, if set, is called with each seq written.
grpc::Status StreamFeed(const Ledger& ledger, PartyIndex party, uint64_t from_seq, uint64_t max_count,
                        bool follow, grpc::ServerContext* ctx, grpc::ServerWriter<v1::FeedItem>* writer,
                        const std::atomic<bool>& stopping,
                        std::chrono::steady_clock::duration max_duration = std::chrono::steady_clock::duration::max(),
                        const std::function<void(uint64_t)>& on_sent = {});

}  // namespace parley
