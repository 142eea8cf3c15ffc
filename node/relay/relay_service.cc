#include "node/relay/relay_service.h"

#include <chrono>

#include "node/daemon/log.h"
#include "node/daemon/peer_service.h"

namespace parley {

RelayService::RelayService(Ledger& ledger) : ledger_(ledger), auth_(ledger.charter(), CallerKeys(ledger)) {}

grpc::Status RelayService::Admit(grpc::ServerContext* ctx, std::string_view method, const std::string* ledger_id,
                                 PublicKey* caller, PeerRole* role) {
  if (auto s = auth_.Check(*ctx, method, role, caller); !s.ok()) return s;
  if (ledger_id && *ledger_id != ledger_.charter().ledger_id().view()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this relay serves ledger " +
                                                                   ToHex(ledger_.charter().ledger_id()) + ", not " +
                                                                   ToHex(*ledger_id));
  }
  return grpc::Status::OK;
}

void RelayService::FillAll(v1::Heads* heads) const {
  heads->set_ledger_id(ledger_.charter().ledger_id().str());
  FillHeads(ledger_, heads->mutable_feeds());
  for (PartyIndex p = 0; p < 2; ++p) {
    if (ledger_.frozen(p)) heads->add_frozen_parties(p);
  }
}

grpc::Status RelayService::GetHeads(grpc::ServerContext* ctx, const v1::GetHeadsRequest* req, v1::Heads* resp) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetHeads", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  FillAll(resp);
  return grpc::Status::OK;
}

grpc::Status RelayService::ReadFeed(grpc::ServerContext* ctx, const v1::ReadFeedRequest* req,
                                    grpc::ServerWriter<v1::FeedItem>* writer) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/ReadFeed", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  std::optional<PeerAuthenticator::StreamSlot> slot;
  if (auto s = auth_.AcquireStream(caller, &slot); !s.ok()) return s;
  const uint32_t max = req->max_count() == 0 ? kMaxReadCount : std::min(req->max_count(), kMaxReadCount);
  return StreamFeed(ledger_, req->party(), req->from_seq(), max, false, ctx, writer, stopping_);
}

grpc::Status RelayService::Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                                     grpc::ServerWriter<v1::FeedItem>* writer) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/Subscribe", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  std::optional<PeerAuthenticator::StreamSlot> slot;
  if (auto s = auth_.AcquireStream(caller, &slot); !s.ok()) return s;
  return StreamFeed(ledger_, req->party(), req->from_seq(), UINT64_MAX, true, ctx, writer, stopping_,
                    kMaxPeerStreamDuration);
}

grpc::Status RelayService::GetForkProofs(grpc::ServerContext* ctx, const v1::GetForkProofsRequest* req,
                                         v1::ForkProofs* resp) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetForkProofs", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  auto forks = ledger_.Forks();
  if (!forks) return ToGrpc(forks.error());
  for (const StoredFork& f : *forks) *resp->add_proofs() = f.proof;
  return grpc::Status::OK;
}

grpc::Status RelayService::GetManifest(grpc::ServerContext* ctx, const v1::GetManifestRequest* req,
                                       grpc::ServerWriter<v1::ManifestChunk>*) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetManifest", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "a relay holds no manifests: they travel only between the parties' nodes");
}

grpc::Status RelayService::Publish(grpc::ServerContext* ctx, grpc::ServerReader<v1::FeedItem>* reader,
                                   v1::Heads* resp) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/Publish", nullptr, &caller, &role); !s.ok()) return s;
  // The feed the caller may publish: the one whose key (in effect, or its
  // pending rotation's new key) signed the call's token.
  const std::optional<PartyIndex> party = CallerKeys(ledger_)(caller);
  if (role != PeerRole::kParty || !party) {
    Log(LogLevel::kWarn, "publish refused: the caller is no party", {{"caller", ToHex(caller).substr(0, 16)}});
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "only a party publishes, and only its own feed; observers may read");
  }
  std::optional<PeerAuthenticator::StreamSlot> slot;
  if (auto s = auth_.AcquireStream(caller, &slot); !s.ok()) return s;
  const std::string code = ledger_.charter().party_code(*party);
  const auto started = std::chrono::steady_clock::now();
  uint64_t stored = 0;
  v1::FeedItem item;
  while (!stopping_ && reader->Read(&item)) {
    auto r = ledger_.Ingest(item.envelope(), *party);
    if (!r) {
      Log(LogLevel::kWarn, "published entry refused",
          {{"party", code}, {"reason", r.error().ToString()}, {"stored_before", std::to_string(stored)}});
      return ToGrpc(Status(r.error().code(), "published entry refused: " + r.error().message()));
    }
    if (*r == IngestOutcome::kStored) ++stored;
    if (*r == IngestOutcome::kFork) {
      Log(LogLevel::kError, "a party published a fork of its own feed: fork proof stored, feed frozen",
          {{"party", code}});
    }
    if (std::chrono::steady_clock::now() - started > kMaxPeerStreamDuration) break;
  }
  if (stored > 0) {
    Log(LogLevel::kDebug, "published entries stored", {{"party", code}, {"stored", std::to_string(stored)}});
  }
  FillAll(resp);
  return grpc::Status::OK;
}

}  // namespace parley
