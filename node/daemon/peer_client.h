// PeerClient: the one client of another node's Peer service (peer.proto).
//
// It owns what every caller of a peer port needs: the channel (message size
// limits, reconnect backoff, HTTP/2 keepalive), the per-call token
// (peer_auth.h) signed with the key the caller names, a deadline on every
// call, reading a feed in batches of range reads, and one form of error for a
// failed call. The node's Replicator and `parley audit --peer` both use it.
//
// Errors name the node and the call, and say why: "node at HOST:PORT refused
// ReadFeed (permission denied): ..." (kPermissionDenied), "node at HOST:PORT,
// GetHeads: unreachable: ..." (kUnavailable), and so on (CallError). The text
// after the colon is the other node's and must be shown through Printable.
//
// Thread safety: all calls may be made concurrently from any thread (the
// token key function must allow that).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sign.h"
#include "crypto/status.h"
#include "node/protocol/charter.h"
#include "node/report/bundle.h"
#include "parley/v1/peer.grpc.pb.h"

namespace parley {

// Largest gRPC message a node accepts from a peer (an envelope plus framing).
inline constexpr int kMaxPeerMessageBytes = 128 * 1024;

// HTTP/2 keepalive on the peer link: a ping after kKeepaliveIdleMs without
// traffic, and the link is declared dead when its answer has not come within
// kKeepaliveTimeoutMs. A paused or vanished peer is therefore noticed within
// kKeepaliveIdleMs + kKeepaliveTimeoutMs (2 s) even while a subscription is
// idle. The server accepts pings this often (node.cc).
// The answer is read only while some thread of the process polls gRPC (is
// blocked in a call, or serves): a client that holds a stream open while its
// only thread is elsewhere (e.g. a Publish whose `next` sleeps) has its ping
// acks read by gRPC's backup poller alone, every 5 s
// (GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS), and its call fails with
// UNAVAILABLE "keepalive watchdog timeout" after ~2 s idle. So no caller
// idles inside a stream: the Replicator's Subscribe waits in the call, and
// its Publish ends once idle (kPublishLinger).
inline constexpr int kKeepaliveIdleMs = 1000;
inline constexpr int kKeepaliveTimeoutMs = 1000;

class PeerClient {
 public:
  // The key that signs each call's token. Asked on every call, so that a
  // node's token key can follow a key rotation (KeyRing::TokenKey).
  using TokenKey = std::function<std::shared_ptr<const SecretKey>()>;

  // `unary_deadline` bounds every call but Subscribe and GetSealedManifest.
  PeerClient(std::string address, std::shared_ptr<grpc::ChannelCredentials> credentials, const Digest& ledger_id,
             TokenKey token_key, std::chrono::milliseconds unary_deadline = std::chrono::seconds(5));

  const std::string& address() const { return address_; }

  Result<v1::Heads> GetHeads() const;

  // One range read: up to `max_count` (at most kMaxReadCount) envelopes of
  // `party`'s feed from seq `from`; fewer (or none) where the feed ends.
  Result<std::vector<std::string>> ReadFeed(PartyIndex party, uint64_t from, uint32_t max_count) const;

  // `party`'s feed from seq `from` through seq `to`, read lazily in range
  // reads. A node that stops serving before `to` is kDataLoss ("... stopped
  // serving feed NAME ...", NAME `feed_name` or else the party's index).
  EnvelopeSource FeedSource(PartyIndex party, uint64_t from, uint64_t to, std::string feed_name = {}) const;

  Result<v1::ForkProofs> GetForkProofs() const;
  // The peer's cosigned checkpoints of `party`'s feed from `from_size` on
  // (at most 1000; unverified).
  Result<v1::Checkpoints> GetCheckpoints(PartyIndex party, uint64_t from_size) const;

  // The sealed manifest with `root`, streamed (deadline 5 minutes). More
  // bytes than announced, or than `max_bytes`, or fewer, is kDataLoss.
  Result<std::string> GetSealedManifest(const Digest& root, uint64_t max_bytes) const;

  // A live subscription to `party`'s feed from `from`, on `ctx` (the
  // caller's, so that it can cancel the call from another thread), ending at
  // `deadline`. `on_envelope` gets each envelope; false cancels the call.
  // Returns the call's gRPC status: the caller decides what a dropped stream
  // means; CallError turns it into a Status.
  grpc::Status Subscribe(grpc::ClientContext& ctx, PartyIndex party, uint64_t from, std::chrono::milliseconds deadline,
                         const std::function<bool(const std::string&)>& on_envelope) const;

  // Pushes entries of the caller's own feed to a relay (Peer Publish,
  // docs/PROTOCOL.md §16) on `ctx` (the caller's, so that it can cancel the
  // call from another thread), ending at `deadline`. `next` gives each
  // envelope to send in seq order, blocking until there is one; nullopt ends
  // the stream (then the relay answers with its heads, into `heads`).
  // Returns the call's gRPC status; a refused entry ends the call with the
  // relay's reason (CallError turns it into a Status).
  grpc::Status Publish(grpc::ClientContext& ctx, std::chrono::milliseconds deadline,
                       const std::function<std::optional<std::string>()>& next, v1::Heads* heads) const;

  // A failed call to `method` ("GetHeads") as a Status that names the node,
  // the call and the reason, with a Code that says what kind of failure.
  Status CallError(std::string_view method, const grpc::Status& s) const;

 private:
  void Authenticate(grpc::ClientContext& ctx, std::string_view method) const;
  void SetDeadline(grpc::ClientContext& ctx) const;

  const std::string address_;
  const Digest ledger_id_;
  const TokenKey token_key_;
  const std::chrono::milliseconds unary_deadline_;
  std::unique_ptr<v1::Peer::Stub> stub_;
};

}  // namespace parley
