#include "node/base/clock.h"
#include "node/daemon/peer_service.h"

#include "node/daemon/peer_client.h"

#include <chrono>

#include "crypto/seal.h"
#include "node/daemon/log.h"
#include "node/daemon/metrics.h"

namespace parley {

PeerAuthenticator::PartyKeys CallerKeys(const Ledger& ledger) {
  return [&ledger](const PublicKey& key) -> std::optional<PartyIndex> {
    auto schedule = ledger.key_schedule();
    for (PartyIndex p = 0; p < 2; ++p) {
      if (key == ledger.current_key(p)) return p;
      const KeyRotation* pending = schedule->pending(p);
      if (pending && pending->new_key == key) return p;
    }
    return std::nullopt;
  };
}

void ConfigurePeerServer(grpc::ServerBuilder& b, const std::string& quota_name, int max_receive) {
  b.SetMaxReceiveMessageSize(max_receive);
  b.SetMaxSendMessageSize(kMaxPeerMessageBytes);
  grpc::ResourceQuota quota(quota_name);
  quota.SetMaxThreads(32);
  b.SetResourceQuota(quota);
  b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveIdleMs);
  b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  b.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  b.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, kKeepaliveIdleMs / 2);
  b.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  b.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

grpc::Status ToGrpc(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return grpc::Status::OK;
    case Code::kInvalidArgument: return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.message());
    case Code::kNotFound: return grpc::Status(grpc::StatusCode::NOT_FOUND, s.message());
    case Code::kAlreadyExists: return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, s.message());
    case Code::kFailedPrecondition: return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, s.message());
    case Code::kPermissionDenied: return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, s.message());
    case Code::kRejected: return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.message());
    case Code::kDataLoss: return grpc::Status(grpc::StatusCode::DATA_LOSS, s.message());
    case Code::kUnavailable: return grpc::Status(grpc::StatusCode::UNAVAILABLE, s.message());
    case Code::kResourceExhausted: return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, s.message());
    default: return grpc::Status(grpc::StatusCode::INTERNAL, s.message());
  }
}

void FillHeads(const Ledger& ledger, google::protobuf::RepeatedPtrField<v1::FeedHeadInfo>* out) {
  for (PartyIndex p = 0; p < 2; ++p) {
    FeedHead h = ledger.Head(p);
    auto* f = out->Add();
    f->set_party(p);
    f->set_seq(h.seq);
    if (h.seq > 0) f->set_id(h.id.str());
  }
}

grpc::Status StreamFeed(const Ledger& ledger, PartyIndex party, uint64_t from_seq, uint64_t max_count,
                        bool follow, grpc::ServerContext* ctx, grpc::ServerWriter<v1::FeedItem>* writer,
                        const std::atomic<bool>& stopping, std::chrono::steady_clock::duration max_duration,
                        const std::function<void(uint64_t)>& on_sent) {
  const auto started = std::chrono::steady_clock::now();
  if (party > 1) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "party must be 0 or 1");
  if (from_seq == 0) from_seq = 1;
  uint64_t next = from_seq;
  uint64_t sent = 0;
  v1::FeedItem item;
  while (!ctx->IsCancelled() && !stopping) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(256, max_count - sent));
    // Served as stored: every entry was verified before it was stored.
    auto entries = ledger.ReadEnvelopes(party, next, chunk);
    if (!entries) {
      if (entries.error().code() == Code::kDataLoss) {
        Log(LogLevel::kError, "a feed read met damaged storage; not served",
            {{"party", ledger.charter().party_code(party)}, {"from", std::to_string(next)},
             {"reason", entries.error().message()}});
      }
      return ToGrpc(entries.error());
    }
    for (std::string& envelope : *entries) {
      item.set_envelope(std::move(envelope));
      if (!writer->Write(item)) return grpc::Status::OK;  // client went away
      if (on_sent) on_sent(next);
      ++next;  // a feed has no gaps
      ++sent;
    }
    if (sent >= max_count) return grpc::Status::OK;
    if (entries->empty()) {
      if (!follow || std::chrono::steady_clock::now() - started > max_duration) return grpc::Status::OK;
      ledger.WaitForHead(party, next - 1, std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
    }
  }
  return grpc::Status::OK;
}

std::optional<uint64_t> PeerService::own_sent_to_peer() const {
  if (!own_sent_known_) return std::nullopt;
  return own_sent_to_peer_.load();
}

std::function<void(uint64_t)> PeerService::TrackOwnFeedRead(const PublicKey& caller, PartyIndex party,
                                                            uint64_t from_seq) {
  const PartyIndex self = *ledger_.self();
  if (party != self || CallerKeys(ledger_)(caller) != std::optional<PartyIndex>(1 - self)) return {};
  own_sent_to_peer_ = from_seq > 0 ? from_seq - 1 : 0;
  own_sent_known_ = true;
  return [this](uint64_t seq) { own_sent_to_peer_ = seq; };
}

grpc::Status PeerService::CheckLedger(const std::string& ledger_id) const {
  if (ledger_id != ledger_.charter().ledger_id().view()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this node serves ledger " + ToHex(ledger_.charter().ledger_id()) + ", not " + ToHex(ledger_id));
  }
  return grpc::Status::OK;
}

grpc::Status PeerService::Admit(grpc::ServerContext* ctx, std::string_view method, const std::string& ledger_id,
                                PublicKey* caller, PeerRole* role) {
  PeerRole r;
  if (auto s = auth_.Check(*ctx, method, &r, caller); !s.ok()) return s;
  if (role) *role = r;
  // Parties and observers may both read heads, feeds and fork proofs;
  // GetManifest admits the other party only (it checks the role itself).
  return CheckLedger(ledger_id);
}

grpc::Status PeerService::GetHeads(grpc::ServerContext* ctx, const v1::GetHeadsRequest* req, v1::Heads* resp) {
  PublicKey caller;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetHeads", req->ledger_id(), &caller); !s.ok()) return s;
  resp->set_ledger_id(ledger_.charter().ledger_id().str());
  FillHeads(ledger_, resp->mutable_feeds());
  for (PartyIndex p = 0; p < 2; ++p) {
    if (ledger_.frozen(p)) resp->add_frozen_parties(p);
  }
  return grpc::Status::OK;
}

grpc::Status PeerService::ReadFeed(grpc::ServerContext* ctx, const v1::ReadFeedRequest* req,
                                   grpc::ServerWriter<v1::FeedItem>* writer) {
  PublicKey caller;
  if (auto s = Admit(ctx, "/parley.v1.Peer/ReadFeed", req->ledger_id(), &caller); !s.ok()) return s;
  std::optional<PeerAuthenticator::StreamSlot> slot;
  if (auto s = auth_.AcquireStream(caller, &slot); !s.ok()) return s;
  uint32_t max = req->max_count() == 0 ? kMaxReadCount : std::min(req->max_count(), kMaxReadCount);
  return StreamFeed(ledger_, req->party(), req->from_seq(), max, false, ctx, writer, stopping_,
                    std::chrono::steady_clock::duration::max(), TrackOwnFeedRead(caller, req->party(), req->from_seq()));
}

grpc::Status PeerService::Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                                    grpc::ServerWriter<v1::FeedItem>* writer) {
  PublicKey caller;
  if (auto s = Admit(ctx, "/parley.v1.Peer/Subscribe", req->ledger_id(), &caller); !s.ok()) return s;
  std::optional<PeerAuthenticator::StreamSlot> slot;
  if (auto s = auth_.AcquireStream(caller, &slot); !s.ok()) return s;
  return StreamFeed(ledger_, req->party(), req->from_seq(), UINT64_MAX, true, ctx, writer, stopping_,
                    kMaxPeerStreamDuration, TrackOwnFeedRead(caller, req->party(), req->from_seq()));
}

grpc::Status PeerService::GetForkProofs(grpc::ServerContext* ctx, const v1::GetForkProofsRequest* req,
                                        v1::ForkProofs* resp) {
  PublicKey caller;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetForkProofs", req->ledger_id(), &caller); !s.ok()) return s;
  auto forks = ledger_.Forks();
  if (!forks) return ToGrpc(forks.error());
  for (const StoredFork& f : *forks) *resp->add_proofs() = f.proof;
  return grpc::Status::OK;
}

grpc::Status AnswerCheckpoints(const CheckpointBook* book, const v1::GetCheckpointsRequest& req,
                               v1::Checkpoints* resp) {
  if (req.party() > 1) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "party must be 0 or 1");
  if (!book) return grpc::Status::OK;
  auto notes = book->Read(static_cast<PartyIndex>(req.party()), req.from_size(), kMaxCheckpointsPerAnswer);
  if (!notes) return ToGrpc(notes.error());
  for (std::string& n : *notes) resp->add_notes(std::move(n));
  return grpc::Status::OK;
}

grpc::Status PeerService::GetCheckpoints(grpc::ServerContext* ctx, const v1::GetCheckpointsRequest* req,
                                         v1::Checkpoints* resp) {
  PublicKey caller;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetCheckpoints", req->ledger_id(), &caller); !s.ok()) return s;
  return AnswerCheckpoints(checkpoints_, *req, resp);
}

grpc::Status PeerService::GetManifest(grpc::ServerContext* ctx, const v1::GetManifestRequest* req,
                                      grpc::ServerWriter<v1::ManifestChunk>* writer) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetManifest", req->ledger_id(), &caller, &role); !s.ok()) return s;
  const PartyIndex self = *ledger_.self();
  const std::optional<PartyIndex> party = CallerKeys(ledger_)(caller);
  if (role != PeerRole::kParty || !party || *party == self) {
    Log(LogLevel::kWarn, "manifest request refused: the caller is not the other party",
        {{"caller", ToHex(caller).substr(0, 16)}});
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "manifests are shared with the other party's node only, not with observers");
  }
  std::optional<PeerAuthenticator::StreamSlot> slot;
  if (auto s = auth_.AcquireStream(caller, &slot); !s.ok()) return s;
  auto root = Digest::FromBytes(req->root());
  if (!root) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "root must be 32 bytes");
  const auto not_here = grpc::Status(grpc::StatusCode::NOT_FOUND,
                                     "this node holds no manifest of its own with root " + ToHex(*root));
  if (!manifests_) return not_here;
  auto info = manifests_->Find(*root);
  if (!info) return ToGrpc(info.error());
  if (!*info || (*info)->author() != self) return not_here;
  auto data = manifests_->Export(*root, ledger_.charter().ledger_id());
  if (!data) return ToGrpc(data.error());
  std::string plain = data->SerializeAsString();
  data->Clear();
  auto sealed = SealTo(caller, plain);
  Wipe(plain);
  if (!sealed) return ToGrpc(sealed.error());

  {
    std::lock_guard lock(disclosures_mu_);
    auto& times = disclosures_[*root];
    const auto now = std::chrono::steady_clock::now();
    while (!times.empty() && now - times.front() > std::chrono::hours(1)) times.pop_front();
    if (times.size() >= kMaxDisclosuresPerHour) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "this manifest was disclosed " + std::to_string(times.size()) +
                              " times in the last hour, the most allowed; your node keeps what it fetched");
    }
    times.push_back(now);  // taken back below if the disclosure is not recorded
  }
  const auto release = [&] {
    std::lock_guard lock(disclosures_mu_);
    auto& times = disclosures_[*root];
    if (!times.empty()) times.pop_back();
  };
  // Recorded before a byte leaves: no disclosure without its signed Disclose.
  const Charter& c = ledger_.charter();
  v1::Entry body;
  v1::Disclose* disclose = body.mutable_disclose();
  disclose->mutable_manifest()->set_root(root->str());
  disclose->mutable_manifest()->set_count((*info)->count());
  disclose->set_to_party(*party);
  auto e = MeteredAppend(ledger_, metrics_, body, NowMs());
  if (!e) {
    release();
    Log(LogLevel::kWarn, "manifest not shared: its disclosure could not be recorded",
        {{"reason", e.error().ToString()}});
    return ToGrpc(e.error());
  }
  Log(LogLevel::kInfo, "manifest disclosed to the other party",
      {{"manifest", ToHex(*root).substr(0, 16)}, {"records", std::to_string((*info)->count())},
       {"to", c.party_code(*party)}, {"disclose_seq", std::to_string(e->seq())}});
  v1::ManifestChunk chunk;
  chunk.set_total_size(sealed->size());
  for (size_t off = 0; off < sealed->size(); off += kManifestChunkBytes) {
    chunk.set_sealed(sealed->substr(off, kManifestChunkBytes));
    if (!writer->Write(chunk)) return grpc::Status(grpc::StatusCode::CANCELLED, "the caller went away");
  }
  return grpc::Status::OK;
}

}  // namespace parley
