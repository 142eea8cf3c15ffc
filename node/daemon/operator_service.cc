#include "node/daemon/operator_service.h"

#include <chrono>

#include "crypto/hash.h"
#include "node/agreements.h"
#include "node/daemon/log.h"
#include "node/daemon/peer_service.h"

namespace parley {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Bodies whose effect depends on the state of proposals and agreements.
bool CanBeVoid(const v1::Entry& body) {
  switch (body.body_case()) {
    case v1::Entry::kAccept:
    case v1::Entry::kReject:
    case v1::Entry::kWithdraw:
    case v1::Entry::kCancel:
    case v1::Entry::kHandover:
    case v1::Entry::kReceipt:
      return true;
    case v1::Entry::kPropose:
      return !body.propose().counters().empty() || !body.propose().amends().empty();
    default:
      return false;
  }
}

}  // namespace

Result<std::optional<std::string>> OperatorService::VoidReason(const v1::Entry& body, int64_t now_ms) const {
  const PartyIndex self = *ledger_.self();
  std::vector<DecodedEntry> feeds[2];
  for (PartyIndex p = 0; p < 2; ++p) {
    auto f = ledger_.Read(p, 1, SIZE_MAX);
    if (!f) return f.error();
    feeds[p] = std::move(*f);
  }
  // The candidate as it would be signed next. Agreement state never looks at
  // signatures, so it is evaluated unsigned and never leaves this function.
  DecodedEntry candidate;
  candidate.entry = body;
  candidate.entry.set_author(self);
  candidate.entry.set_seq(feeds[self].size() + 1);
  const auto& other = feeds[1 - self];
  if (!other.empty()) {
    candidate.entry.mutable_seen()->set_seq(other.back().seq());
    candidate.entry.mutable_seen()->set_id(other.back().id.str());
  }
  candidate.entry.set_time_ms(std::max(now_ms, feeds[self].empty() ? 0 : feeds[self].back().time_ms()));
  candidate.id = Hash("parley/candidate", candidate.entry.SerializeAsString());
  feeds[self].push_back(candidate);
  LedgerState state = ComputeState(feeds[0], feeds[1], now_ms);
  for (const VoidStatement& v : state.void_statements) {
    if (v.at.id == candidate.id) return std::optional<std::string>(v.reason);
  }
  return std::optional<std::string>();
}

grpc::Status OperatorService::Submit(grpc::ServerContext*, const v1::SubmitRequest* req, v1::SubmitResponse* resp) {
  if (req->body().body_case() == v1::Entry::BODY_NOT_SET) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the statement has no body");
  }
  // Malformed bodies are refused with the structural reason before anything
  // else looks at them.
  if (Status s = CheckEntryBody(req->body(), ledger_.charter()); !s.ok()) return ToGrpc(s);
  const int64_t now = NowMs();
  if (CanBeVoid(req->body())) {
    auto reason = VoidReason(req->body(), now);
    if (!reason) return ToGrpc(reason.error());
    if (reason->has_value()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          std::string("refusing to sign a ") + KindName(req->body().body_case()) +
                              " that would have no effect: " + **reason);
    }
  }
  auto e = ledger_.Append(req->body(), now, req->request_id());
  if (!e) {
    Log(LogLevel::kWarn, "submit refused", {{"reason", e.error().ToString()}});
    return ToGrpc(e.error());
  }
  Log(LogLevel::kInfo, "entry signed", {{"seq", std::to_string(e->seq())}, {"kind", KindName(e->kind())},
                                        {"id", ToHex(e->id).substr(0, 16)}});
  resp->set_id(e->id.str());
  resp->set_seq(e->seq());
  resp->set_envelope(e->envelope);
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetStatus(grpc::ServerContext*, const v1::StatusRequest*, v1::StatusResponse* resp) {
  resp->set_ledger_id(ledger_.charter().ledger_id().str());
  resp->set_self(*ledger_.self());
  FillHeads(ledger_, resp->mutable_feeds());
  *resp->mutable_peer() = replicator_.status();
  for (PartyIndex p = 0; p < 2; ++p) {
    if (ledger_.frozen(p)) {
      resp->add_frozen_parties(p);
      resp->add_alarms(p == *ledger_.self()
                           ? "another version of our own feed exists: our key is being misused"
                           : "the feed of " + ledger_.charter().party_code(p) +
                                 " forked (fork proof stored); it is frozen");
    }
  }
  auto forks = ledger_.Forks();
  if (forks) resp->set_fork_proofs(static_cast<uint32_t>(forks->size()));
  if (auto blocked = ledger_.signing_blocked()) resp->add_alarms("signing stopped: " + *blocked);
  auto schedule = ledger_.key_schedule();
  for (PartyIndex p = 0; p < 2; ++p) {
    for (const KeyRotation& r : schedule->rotations(p)) {
      v1::KeyRotationInfo* info = resp->add_rotations();
      info->set_party(p);
      info->set_seq(r.seq);
      info->set_new_key(r.new_key.str());
      info->set_compromised_from_seq(r.compromised_from);
      info->set_acknowledged_by(r.acknowledged_by);
    }
  }
  return grpc::Status::OK;
}

grpc::Status OperatorService::RotateKey(grpc::ServerContext*, const v1::RotateKeyRequest* req,
                                        v1::SubmitResponse* resp) {
  auto seed = Seed::FromBytes(req->new_key_seed());
  if (!seed) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the new key's seed must be 32 bytes");
  SecretKey next = SecretKey::FromSeed(*seed);
  const PartyIndex self = *ledger_.self();
  // A retry of a rotation already signed finds the key in the schedule: the
  // request id then returns the entry made the first time (another id is
  // refused: keys are never reused).
  const bool retry = ledger_.key_schedule()->HistoryIndex(self, next.public_key()).value_or(0) > 0;
  if (!retry) {
    if (Status s = ledger_.SetNextKey(SecretKey::FromSeed(*seed)); !s.ok()) return ToGrpc(s);
    keys_.SetNext(next);
  }
  v1::Entry body = RotateKeyBody(ledger_.charter(), self, next, req->compromised_from_seq());
  auto e = ledger_.Append(body, NowMs(), req->request_id());
  if (!e) {
    Log(LogLevel::kWarn, "key rotation refused", {{"reason", e.error().ToString()}});
    return ToGrpc(e.error());
  }
  Log(LogLevel::kInfo, "key rotation signed; in effect once the peer acknowledges it",
      {{"seq", std::to_string(e->seq())},
       {"new_key", ToHex(next.public_key()).substr(0, 16)},
       {"compromised_from", std::to_string(req->compromised_from_seq())}});
  resp->set_id(e->id.str());
  resp->set_seq(e->seq());
  resp->set_envelope(e->envelope);
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetCharter(grpc::ServerContext*, const v1::GetCharterRequest*,
                                         v1::GetCharterResponse* resp) {
  resp->set_signed_charter(ledger_.charter().signed_bytes());
  return grpc::Status::OK;
}

grpc::Status OperatorService::ReadFeed(grpc::ServerContext* ctx, const v1::OperatorReadRequest* req,
                                       grpc::ServerWriter<v1::FeedItem>* writer) {
  return StreamFeed(ledger_, req->party(), req->from_seq(), UINT64_MAX, req->follow(), ctx, writer, stopping_);
}

grpc::Status OperatorService::GetForkProofs(grpc::ServerContext*, const v1::GetForkProofsRequest*,
                                            v1::ForkProofs* resp) {
  auto forks = ledger_.Forks();
  if (!forks) return ToGrpc(forks.error());
  for (const StoredFork& f : *forks) *resp->add_proofs() = f.proof;
  return grpc::Status::OK;
}

}  // namespace parley
