#include "node/daemon/peer_auth.h"

#include <algorithm>

#include <chrono>

#include "crypto/hash.h"
#include "node/base/clock.h"
#include "crypto/endian.h"

namespace parley {
namespace {

std::optional<std::string> Meta(const grpc::ServerContext& ctx, const char* key) {
  const auto& md = ctx.client_metadata();
  auto it = md.find(key);
  if (it == md.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

grpc::Status Unauthenticated(const std::string& why) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "peer call refused: " + why);
}

}  // namespace

std::string PeerAuthMessage(const Digest& ledger_id, std::string_view method, int64_t ts_ms,
                            std::string_view nonce16) {
  std::string m = ledger_id.str();
  m += method;
  m.push_back('\0');
  AppendLittleEndian64(m, static_cast<uint64_t>(ts_ms));
  m += nonce16;
  return m;
}

void AddPeerAuth(grpc::ClientContext& ctx, const SecretKey& key, const Digest& ledger_id,
                 std::string_view method) {
  std::array<uint8_t, 16> nonce;
  RandomBytes(nonce);
  const std::string nonce_bytes(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  const int64_t ts = NowMs();
  ctx.AddMetadata("parley-key", ToHex(key.public_key()));
  ctx.AddMetadata("parley-ts", std::to_string(ts));
  ctx.AddMetadata("parley-nonce", ToHex(nonce_bytes));
  ctx.AddMetadata("parley-sig",
                  ToHex(Sign(key, kPeerAuthDomain, PeerAuthMessage(ledger_id, method, ts, nonce_bytes))));
}

grpc::Status PeerAuthenticator::Check(const grpc::ServerContext& ctx, std::string_view method, PeerRole* role,
                                      PublicKey* caller) {
  auto key_hex = Meta(ctx, "parley-key"), ts_text = Meta(ctx, "parley-ts"), nonce_hex = Meta(ctx, "parley-nonce"),
       sig_hex = Meta(ctx, "parley-sig");
  if (!key_hex || !ts_text || !nonce_hex || !sig_hex) {
    return Unauthenticated("no parley-key/-ts/-nonce/-sig metadata (every peer call must be signed)");
  }
  auto key_bytes = FromHex(*key_hex);
  auto nonce = FromHex(*nonce_hex);
  auto sig_bytes = FromHex(*sig_hex);
  int64_t ts = 0;
  try {
    ts = std::stoll(*ts_text);
  } catch (...) {
    return Unauthenticated("parley-ts is not a number");
  }
  auto key = key_bytes ? PublicKey::FromBytes(*key_bytes) : std::nullopt;
  auto sig = sig_bytes ? Signature::FromBytes(*sig_bytes) : std::nullopt;
  if (!key || !sig || !nonce || nonce->size() != 16) return Unauthenticated("malformed token");
  if (!Verify(*key, kPeerAuthDomain, PeerAuthMessage(charter_.ledger_id(), method, ts, *nonce), *sig)) {
    return Unauthenticated("the token's signature does not verify for " + std::string(method));
  }
  const int64_t now = NowMs();
  if (ts < now - kPeerAuthWindowMs || ts > now + kPeerAuthWindowMs) {
    return Unauthenticated("stale token (its time is " + std::to_string((now - ts) / 1000) +
                           " s from this node's clock; the window is 60 s)");
  }
  {
    std::lock_guard lock(mu_);
    for (auto it = nonces_.begin(); it != nonces_.end();) {
      it = it->second < now ? nonces_.erase(it) : std::next(it);
    }
    if (!nonces_.emplace(*nonce, ts + 2 * kPeerAuthWindowMs).second) {
      return Unauthenticated("replayed token (nonce already used)");
    }
  }
  if (party_keys_ ? party_keys_(*key).has_value() : charter_.PartyOf(*key).has_value()) {
    *role = PeerRole::kParty;
  } else {
    bool observer = false;
    for (const auto& o : charter_.observers()) observer = observer || o.key == *key;
    if (!observer) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "peer call refused: key " + ToHex(*key).substr(0, 16) +
                              "… is neither a party's key in effect nor an observer's key of this ledger");
    }
    *role = PeerRole::kObserver;
  }
  {
    std::lock_guard lock(mu_);
    Bucket& b = buckets_[*key];
    if (b.at_ms == 0) b.at_ms = now;
    b.tokens = std::min(kCallBurstPerCaller, b.tokens + (now - b.at_ms) * kCallRatePerCaller / 1000.0);
    b.at_ms = std::max(b.at_ms, now);
    if (b.tokens < 1) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "too many calls from this caller (limit " + std::to_string(int(kCallRatePerCaller)) +
                              " per second); retry later");
    }
    b.tokens -= 1;
  }
  *caller = *key;
  return grpc::Status::OK;
}

grpc::Status PeerAuthenticator::AcquireStream(const PublicKey& caller, std::optional<StreamSlot>* slot) {
  std::lock_guard lock(mu_);
  int& n = streams_[caller];
  if (n >= kMaxStreamsPerCaller) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "too many concurrent streams from this caller (limit " +
                            std::to_string(kMaxStreamsPerCaller) + ")");
  }
  ++n;
  slot->emplace(this, caller);
  return grpc::Status::OK;
}

PeerAuthenticator::StreamSlot::~StreamSlot() {
  if (!a_) return;
  std::lock_guard lock(a_->mu_);
  --a_->streams_[k_];
}

}  // namespace parley
