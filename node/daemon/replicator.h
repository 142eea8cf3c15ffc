// Replicator: pulls the other party's feed from its node and ingests it.
//
// One background thread. Each round: GetHeads (comparing the peer's copy of
// our own feed with ours — raising the alarm on a different version, and
// after a lost or restored data folder recovering the missing own entries
// together with the other feed, in causal order; then telling the Ledger
// that the peer has confirmed our head, which it waits for before it signs
// after a start), then catch-up in
// batches of range reads (one fsync per batch), then a live Subscribe from
// our copy's head + 1. Every entry is verified by the Ledger
// before it is stored; duplicates are no-ops. A refused entry is logged with
// its reason and ends the round. Rounds repeat with exponential backoff
// (100 ms .. 5 s) while the peer is unreachable; a Subscribe is renewed every
// 60 s (its deadline) without backoff. When the other party's feed holds a
// pending RotateKey, the replicator acknowledges it at once with a statement
// of our own (docs/PROTOCOL.md §5.1).
//
// Thread safety: Start/Stop from one thread; status() from any.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "node/daemon/keyring.h"
#include "node/daemon/peer_client.h"
#include "node/ledger/ledger.h"
#include "parley/v1/manifest.pb.h"
#include "parley/v1/operator.pb.h"

namespace grpc {
class ClientContext;
class ChannelCredentials;
}  // namespace grpc

namespace parley {

class Metrics;

// Through a relay: a Publish call ends once no new entry has come for this
// long (below the relay's kPublishRefusalGrace, so that a refusal comes back
// as the call's status with its reason, never as a cancel) ...
inline constexpr auto kPublishLinger = std::chrono::milliseconds(200);
// ... and the relay's heads are asked again at least this often while our
// feed does not grow (a relay that lost its data gets our feed again).
inline constexpr auto kPublishRecheck = std::chrono::seconds(55);

class Replicator {
 public:
  // `keys` sign every call's token (peer_auth.h, through PeerClient); it must
  // outlive this, as must `metrics` (may be null), which is told what every
  // ingest did.
  // With `via_relay`, `peer_address` is a relay's (docs/PROTOCOL.md §16):
  // the other feed and the fork proofs are pulled from it as from a peer,
  // and a second thread publishes our own feed to it (Publish: from the
  // relay's head of our feed, as its GetHeads says, then each entry as it is
  // stored; the call ends once idle for kPublishLinger, and a new one starts
  // with the next entry or after kPublishRecheck; after an error, the same
  // backoff).
  Replicator(Ledger& ledger, std::string peer_address, const KeyRing& keys,
             std::shared_ptr<grpc::ChannelCredentials> credentials, Metrics* metrics = nullptr,
             bool via_relay = false);
  ~Replicator();

  // Called (on the replicator's thread) each time the peer has confirmed
  // our own head for the first time since the start. Set before Start.
  void OnOwnHeadConfirmed(std::function<void()> fn) { on_confirmed_ = std::move(fn); }
  // Called (on the replicator's thread) after each catch-up with the peer.
  // Set before Start.
  void OnCaughtUp(std::function<void()> fn) { on_caught_up_ = std::move(fn); }

  // The peer's cosigned checkpoints of `party`'s feed from `from_size` on
  // (Peer GetCheckpoints; unverified: the caller checks them).
  Result<std::vector<std::string>> FetchCheckpoints(PartyIndex party, uint64_t from_size) const;

  void Start();
  void Stop();

  v1::PeerStatus status() const;
  // The seq each feed (by PartyIndex) is being caught up or recovered to
  // now; 0 while no catch-up or recovery of it runs (for the metrics).
  std::array<uint64_t, 2> catching_up_to() const;

  // Fetches the other party's manifest with this root from its node (Peer
  // GetManifest): the sealed box is opened with this node's token key and
  // parsed, not yet checked (ManifestStore::Import checks it). Errors:
  // kUnavailable (peer unreachable), kNotFound, kPermissionDenied, kDataLoss.
  Result<v1::ManifestData> FetchManifest(const Digest& root) const;

 private:
  void Run();
  // One connection round; returns true if it made contact with the peer.
  bool Round();
  // Through a relay: the publishing thread's loop and one Publish call
  // from `relay_head` + 1 (none: from the relay's head as GetHeads says);
  // true if it reached the relay and the call ended without a refusal, and
  // then `published` is the seq of our feed the relay holds up to.
  void RunPublisher();
  bool PublishRound(std::optional<uint64_t> relay_head, uint64_t* published);
  // Through a relay: ingests the halves of the relay's fork proofs of the
  // other feed (a fork the relay caught freezes that feed here too).
  void PullForkProofs();
  // Compares the peer's copy of our own feed (in `heads`) with ours: when
  // the peer holds more, recovers it (RecoverBothFeeds); when it holds as
  // much or less, checks its entry at its head is ours. Then tells the
  // Ledger that the peer has confirmed our head (Ledger::ConfirmOwnHead).
  bool RecoverOwnFeed(const v1::Heads& heads);
  // Ingests our own feed up to `own_to` and the other feed up to `other_to`
  // from the peer, interleaved so that every seen link is satisfied.
  bool RecoverBothFeeds(uint64_t own_to, uint64_t other_to);
  // Brings our copy of the other feed up to the head the peer reported, in
  // batches (range reads + Ledger::IngestBatch).
  bool CatchUp(const v1::Heads& heads);
  // If the other party has a pending key rotation, appends a statement that
  // acknowledges it (any entry of ours that has seen it does; §5.1).
  void AcknowledgeRotation();
  void SetError(const std::string& error);
  // Records whether a live subscription to the peer is up, logging each
  // change ("peer connected", "peer disconnected", "peer reconnected").
  // REQUIRES: mu_ held.
  void SetConnectedLocked(bool connected);
  void SleepFor(std::chrono::milliseconds d);
  // Sets catching_up_to_ (own feed to `own_to`, the other to `other_to`; 0:
  // not this one) for its lifetime.
  class ProgressScope {
   public:
    ProgressScope(Replicator& r, uint64_t own_to, uint64_t other_to);
    ~ProgressScope();

   private:
    Replicator& r_;
  };

  Ledger& ledger_;
  const std::string address_;
  const KeyRing& keys_;
  const PartyIndex self_;
  const PartyIndex other_;
  const PeerClient peer_;  // the other node's Peer service
  std::thread thread_;
  const bool via_relay_;
  std::thread publisher_;  // via_relay_ only
  std::function<void()> on_confirmed_;
  std::function<void()> on_caught_up_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  grpc::ClientContext* active_ = nullptr;  // the call to cancel on Stop
  grpc::ClientContext* publishing_ = nullptr;  // the Publish call to cancel on Stop
  v1::PeerStatus status_;
  bool ever_connected_ = false;  // guarded by mu_
  std::array<uint64_t, 2> catching_up_to_{0, 0};  // guarded by mu_
  Metrics* const metrics_;
};

}  // namespace parley
