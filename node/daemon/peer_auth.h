// Per-call authentication on the peer port.
//
// Every peer call carries four metadata entries proving the caller's Ed25519
// identity:
//   parley-key    hex public key of the caller
//   parley-ts     caller's clock, ms since the Unix epoch (decimal)
//   parley-nonce  32 hex digits, fresh per call
//   parley-sig    hex Ed25519 signature over
//                 "parley/peer-auth/v1" || ledger_id(32) || method || 0x00 ||
//                 ts as 8 bytes little-endian || nonce(16)
// where method is the full gRPC method name ("/parley.v1.Peer/Subscribe").
// The server refuses a missing or bad token (UNAUTHENTICATED), a timestamp
// more than 60 s from its own clock or a nonce already seen in that window
// (UNAUTHENTICATED: stale or replayed), and a key that is neither a party's
// key in effect (or its pending rotation's new key, docs/PROTOCOL.md §5.1) nor
// an observer's in the charter (PERMISSION_DENIED); a party's retired key is
// refused like a stranger's. Parties may call
// everything; observers may read feeds, heads and fork proofs.
//
// It also limits each admitted caller (by key) to kMaxStreamsPerCaller
// concurrent streams and to kCallRatePerCaller calls per second with bursts
// of kCallBurstPerCaller (RESOURCE_EXHAUSTED beyond), so one caller's flood
// cannot take the threads or the CPU the other party's node needs.
//
// Thread safety: PeerAuthenticator is safe for concurrent use.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/sign.h"
#include "node/protocol/charter.h"

namespace parley {

inline constexpr std::string_view kPeerAuthDomain = "parley/peer-auth/v1";
inline constexpr int64_t kPeerAuthWindowMs = 60'000;
inline constexpr int kMaxStreamsPerCaller = 4;
inline constexpr double kCallRatePerCaller = 100;  // calls per second, sustained
inline constexpr double kCallBurstPerCaller = 200;

// The bytes a caller signs for one call.
std::string PeerAuthMessage(const Digest& ledger_id, std::string_view method, int64_t ts_ms,
                            std::string_view nonce16);

// Adds a fresh token for `method` to `ctx`.
void AddPeerAuth(grpc::ClientContext& ctx, const SecretKey& key, const Digest& ledger_id,
                 std::string_view method);

enum class PeerRole { kParty, kObserver };

class PeerAuthenticator {
 public:
  // Which party, if any, may call with `key` now: its key in effect or the new
  // key of its pending rotation.
  using PartyKeys = std::function<std::optional<PartyIndex>(const PublicKey& key)>;

  // Without `party_keys` the charter's party keys are the only ones.
  explicit PeerAuthenticator(const Charter& charter, PartyKeys party_keys = nullptr)
      : charter_(charter), party_keys_(std::move(party_keys)) {}

  // Checks the token of a call to `method`; on success sets *role and *caller.
  grpc::Status Check(const grpc::ServerContext& ctx, std::string_view method, PeerRole* role,
                     PublicKey* caller);

  // Holds one of the caller's stream slots while alive.
  class StreamSlot {
   public:
    StreamSlot(PeerAuthenticator* a, const PublicKey& k) : a_(a), k_(k) {}
    StreamSlot(StreamSlot&& o) noexcept : a_(o.a_), k_(o.k_) { o.a_ = nullptr; }
    StreamSlot(const StreamSlot&) = delete;
    ~StreamSlot();

   private:
    PeerAuthenticator* a_;
    PublicKey k_;
  };
  // A slot, or RESOURCE_EXHAUSTED when the caller already has the maximum.
  grpc::Status AcquireStream(const PublicKey& caller, std::optional<StreamSlot>* slot);

 private:
  const Charter& charter_;
  PartyKeys party_keys_;
  std::mutex mu_;
  std::map<std::string, int64_t> nonces_;  // nonce -> expiry (ms), pruned as it goes
  std::map<PublicKey, int> streams_;
  struct Bucket {
    double tokens = kCallBurstPerCaller;
    int64_t at_ms = 0;
  };
  std::map<PublicKey, Bucket> buckets_;  // admitted callers only: bounded by the charter
};

}  // namespace parley
