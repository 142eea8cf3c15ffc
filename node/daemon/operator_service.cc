#include "node/daemon/operator_service.h"

#include <chrono>

#include "crypto/hash.h"
#include "node/daemon/backup.h"
#include "node/protocol/agreements.h"
#include "node/base/clock.h"
#include "node/daemon/log.h"
#include "node/daemon/metrics.h"
#include "node/daemon/peer_service.h"

namespace parley {
namespace {

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

Status OperatorService::CatchUpAgreements() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!agreements_) {
      agreements_ = std::make_unique<IncrementalState>();
      const auto schedule = ledger_.key_schedule();
      for (PartyIndex p = 0; p < 2; ++p) {
        for (const KeyRotation& r : schedule->rotations(p)) agreements_->DeclareCompromised(p, r.compromised_from, r.seq);
      }
    }
    std::vector<DecodedEntry> next[2];
    for (PartyIndex p = 0; p < 2; ++p) {
      auto f = ledger_.Read(p, agreements_->count(p) + 1, SIZE_MAX);
      if (!f) return f.error();
      next[p] = std::move(*f);
    }
    if (agreements_->Add(next)) return Status::Ok();
    agreements_.reset();  // start again from the whole feeds
  }
  return Status(Code::kInternal, "agreement state: the stored feeds cannot be replayed in canonical order");
}

Result<std::optional<std::string>> OperatorService::VoidReason(const v1::Entry& body, int64_t now_ms) {
  const PartyIndex self = *ledger_.self();
  std::lock_guard lock(agreements_mu_);
  if (Status s = CatchUpAgreements(); !s.ok()) return s;
  // The candidate as it would be signed next (after the heads just read).
  const FeedHead& own = agreements_->head(self);
  const FeedHead& other = agreements_->head(1 - self);
  v1::Entry candidate = body;
  candidate.set_author(self);
  candidate.set_seq(own.seq + 1);
  candidate.clear_seen();
  if (other.seq > 0) {
    candidate.mutable_seen()->set_seq(other.seq);
    candidate.mutable_seen()->set_id(other.id.str());
  }
  candidate.set_time_ms(std::max(now_ms, own.time_ms));
  return parley::VoidReason(agreements_->state(), candidate);
}

grpc::Status OperatorService::Submit(grpc::ServerContext*, const v1::SubmitRequest* req, v1::SubmitResponse* resp) {
  if (req->body().body_case() == v1::Entry::BODY_NOT_SET) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the statement has no body");
  }
  // Only the node records a disclosure, when it shares a manifest (§8.4): a
  // client's Disclose would put on record a disclosure that never happened.
  if (req->body().has_disclose()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "a disclose entry is made by the node itself, when it shares a manifest with the other "
                        "party; it cannot be submitted");
  }
  // Malformed bodies are refused with the structural reason before anything
  // else looks at them.
  if (Status s = CheckEntryBody(req->body(), ledger_.charter()); !s.ok()) {
    if (metrics_) metrics_->EntryRefused(RefusalSource::kLocal, s);
    return ToGrpc(s);
  }
  const int64_t now = NowMs();
  if (CanBeVoid(req->body())) {
    auto reason = VoidReason(req->body(), now);
    if (!reason) return ToGrpc(reason.error());
    if (reason->has_value()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "refusing to sign " + KindWithArticle(req->body().body_case()) +
                              " that would have no effect: " + **reason);
    }
  }
  std::optional<Reconciled> reconciled;
  if (!req->arrivals_csv().empty()) {
    auto r = CheckReceiptArrivals(req->body(), req->arrivals_csv());
    if (!r) return ToGrpc(r.error());
    reconciled = std::move(*r);
  }
  if (req->dry_run()) {
    auto preview = ledger_.Preview(req->body(), now);
    if (!preview) return ToGrpc(preview.error());
    resp->set_seq(preview->seq());
    resp->set_preview(preview->SerializeAsString());
    return grpc::Status::OK;
  }
  auto e = MeteredAppend(ledger_, metrics_, req->body(), now, req->request_id());
  if (!e) {
    Log(LogLevel::kWarn, "submit refused", {{"reason", e.error().ToString()}});
    return ToGrpc(e.error());
  }
  Log(LogLevel::kInfo, "entry signed", {{"seq", std::to_string(e->seq())}, {"kind", KindName(e->kind())},
                                        {"id", ToHex(e->id).substr(0, 16)}});
  // The per-person outcome is kept only now that the receipt is signed.
  if (reconciled) {
    const Digest root = *Digest::FromBytes(req->body().receipt().manifest().root());
    if (Status s = manifests_.SaveReconciliation(root, req->arrivals_csv(), reconciled->result, e->id); !s.ok()) {
      Log(LogLevel::kError, "a signed receipt's reconciliation could not be kept", {{"reason", s.ToString()}});
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "the receipt was signed (seq " + std::to_string(e->seq()) +
                              "), but its per-person outcome could not be kept: " + s.ToString() +
                              "; to keep it, submit it again with the same arrival list and request id " +
                              (req->request_id().empty() ? std::string("(none was given: a new submit signs a "
                                                                       "second receipt)")
                                                         : req->request_id()) +
                              " (parley receipt --request-id)");
    }
  }
  resp->set_id(e->id.str());
  resp->set_seq(e->seq());
  resp->set_envelope(e->envelope);
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetStatus(grpc::ServerContext*, const v1::StatusRequest*, v1::StatusResponse* resp) {
  resp->set_ledger_id(ledger_.charter().ledger_id().str());
  resp->set_self(*ledger_.self());
  resp->set_started_ms(started_ms_);
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
  if (checkpoints_) {
    for (const std::string& a : checkpoints_->alarms()) resp->add_alarms("witness alarm: " + a);
    checkpoints_->FillStatus(resp->mutable_witnesses());
  }
  if (auto missing = missing_manifests_.Check()) {
    for (auto& m : *missing) *resp->add_missing_manifests() = std::move(m);
  }
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

grpc::Status OperatorService::GetCheckpoints(grpc::ServerContext*, const v1::GetCheckpointsRequest* req,
                                             v1::Checkpoints* resp) {
  return AnswerCheckpoints(checkpoints_, *req, resp);
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
    // The manifest store must open under the new key once it is the node's.
    if (Status s = manifests_.AddKey(next); !s.ok()) return ToGrpc(s);
  }
  v1::Entry body = RotateKeyBody(ledger_.charter(), self, next, req->compromised_from_seq());
  auto e = MeteredAppend(ledger_, metrics_, body, NowMs(), req->request_id());
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

namespace parley {
namespace {

Result<Digest> RootOf(const std::string& bytes) {
  auto root = Digest::FromBytes(bytes);
  if (!root) return Status(Code::kInvalidArgument, "a manifest root must be 32 bytes");
  return *root;
}

// Whether `e` carries a manifest commitment with this root and count.
bool CarriesCommitment(const v1::Entry& e, const Digest& root, uint64_t count) {
  for (const CarriedManifest& c : ManifestCommitmentsOf(e)) {
    if (c.kind != v1::Entry::kDisclose && c.commitment.root() == root.view() && c.commitment.count() == count) {
      return true;
    }
  }
  return false;
}

}  // namespace

grpc::Status OperatorService::CommitManifest(grpc::ServerContext*, const v1::CommitManifestRequest* req,
                                             v1::ManifestInfo* resp) {
  if (req->kind() != v1::MANIFEST_REMAINS && req->kind() != v1::MANIFEST_PRISONERS) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the manifest kind must be remains or prisoners");
  }
  const ManifestKind kind = req->kind() == v1::MANIFEST_REMAINS ? ManifestKind::kRemains : ManifestKind::kPrisoners;
  auto records = ParseManifestCsv(kind, req->csv());
  if (!records) return ToGrpc(records.error());
  auto info = manifests_.Commit(std::move(*records), *ledger_.self());
  if (!info) return ToGrpc(info.error());
  Log(LogLevel::kInfo, "manifest committed",
      {{"manifest", ToHex(info->root()).substr(0, 16)}, {"records", std::to_string(info->count())},
       {"kind", std::string(ManifestKindName(kind))}});
  *resp = *info;
  return grpc::Status::OK;
}

grpc::Status OperatorService::ListManifests(grpc::ServerContext*, const v1::ListManifestsRequest*,
                                            v1::ListManifestsResponse* resp) {
  auto list = manifests_.List();
  if (!list) return ToGrpc(list.error());
  for (v1::ManifestInfo& m : *list) *resp->add_manifests() = std::move(m);
  return grpc::Status::OK;
}

Result<v1::ManifestInfo> OperatorService::HeldOrFetched(const Digest& root) {
  auto held = manifests_.Find(root);
  if (!held) return held.error();
  if (*held) return **held;
  auto data = replicator_.FetchManifest(root);
  if (!data) return data.error();
  if (data->author() == *ledger_.self()) {
    return Status(Code::kDataLoss, "the peer sent a manifest it claims is ours");
  }
  if (data->root() != root.view()) return Status(Code::kDataLoss, "the peer sent a manifest with another root");
  auto info = manifests_.Import(*data, ledger_.charter().ledger_id());
  data->Clear();
  if (!info) return info.error();
  Log(LogLevel::kInfo, "manifest received from the other party",
      {{"manifest", ToHex(root).substr(0, 16)}, {"records", std::to_string(info->count())}});
  return *info;
}

grpc::Status OperatorService::FetchManifest(grpc::ServerContext*, const v1::ManifestRef* req,
                                            v1::ManifestInfo* resp) {
  auto root = RootOf(req->root());
  if (!root) return ToGrpc(root.error());
  auto info = HeldOrFetched(*root);
  if (!info) return ToGrpc(info.error());
  *resp = *info;
  return grpc::Status::OK;
}

grpc::Status OperatorService::ProveRecord(grpc::ServerContext*, const v1::ProveRecordRequest* req,
                                          v1::ProveRecordResponse* resp) {
  auto root = RootOf(req->root());
  if (!root) return ToGrpc(root.error());
  auto proof = manifests_.Prove(*root, req->record_id());
  if (!proof) return ToGrpc(proof.error());
  // The signed entry that carries the commitment. The committing party's own
  // signature first: its handover report (these people were handed over),
  // else its first entry naming the manifest; else the other party's.
  // Never an entry its author declared signed with a compromised key.
  const PartyIndex author = proof->info.author();
  const auto schedule = ledger_.key_schedule();
  const auto compromised = [&](const DecodedEntry& e) {
    for (const KeyRotation& r : schedule->rotations(e.author())) {
      if (r.compromised_from != 0 && r.compromised_from <= e.seq() && e.seq() < r.seq) return true;
    }
    return false;
  };
  std::optional<DecodedEntry> carrier;
  int carrier_rank = 4;
  for (PartyIndex p : {author, 1 - author}) {
    auto feed = ledger_.Read(p, 1, SIZE_MAX);
    if (!feed) return ToGrpc(feed.error());
    for (DecodedEntry& e : *feed) {
      if (!CarriesCommitment(e.entry, *root, proof->info.count()) || compromised(e)) continue;
      const int rank = (p == author ? 0 : 2) + (e.kind() == v1::Entry::kHandover ? 0 : 1);
      if (rank < carrier_rank) {
        carrier_rank = rank;
        carrier = std::move(e);
      }
    }
  }
  if (!carrier) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "no signed entry carries this manifest's commitment yet: propose, hand over or receive "
                        "with it first");
  }
  // The signer's whole key chain, also rotations after the entry: a later
  // one may declare it compromised, and the verifier must see that.
  const PartyIndex signer = carrier->author();
  for (const KeyRotation& r : schedule->rotations(signer)) {
    auto rot = ledger_.ReadEnvelopes(signer, r.seq, 1);
    if (!rot || rot->empty()) return ToGrpc(rot ? Status(Code::kInternal, "a RotateKey entry is missing") : rot.error());
    resp->add_key_chain(std::move(rot->front()));
  }
  resp->set_kind(proof->info.kind());
  resp->set_record(proof->record);
  resp->set_salt(proof->salt.str());
  resp->set_index(proof->proof.index);
  resp->set_count(proof->proof.leaf_count);
  for (const Digest& d : proof->proof.path) resp->add_path(d.str());
  resp->set_entry(carrier->envelope);
  resp->set_signed_charter(ledger_.charter().signed_bytes());
  return grpc::Status::OK;
}

Result<OperatorService::Reconciled> OperatorService::ReconcileWith(const Digest& root,
                                                                   std::string_view arrivals_csv) {
  auto arrivals = ParseArrivalsCsv(arrivals_csv);
  if (!arrivals) return arrivals.error();
  auto info = HeldOrFetched(root);
  if (!info) return info.error();
  auto ids = manifests_.RecordIds(root);
  if (!ids) return ids.error();
  Reconciled r{*info, Reconcile(*ids, *arrivals)};
  // Erased records can no longer be matched: they count as missing, so an
  // erasure before sharing cannot hide who did not arrive (in the detail, a
  // missing line naming no one). Counted from the ids read, not the header,
  // so an erasure in between is counted once.
  const uint64_t erased = info->count() - ids->size();
  r.result.figures.set_missing(r.result.figures.missing() + erased);
  for (uint64_t i = 0; i < erased; ++i) {
    r.result.detail.push_back({ReconciliationLine::Outcome::kMissing, "", ""});
  }
  return r;
}

Result<OperatorService::Reconciled> OperatorService::CheckReceiptArrivals(const v1::Entry& body,
                                                                          std::string_view arrivals_csv) {
  if (!body.has_receipt() || !body.receipt().has_manifest()) {
    return Status(Code::kInvalidArgument, "an arrival list goes only with a receipt that names a manifest");
  }
  const v1::Receipt& receipt = body.receipt();
  auto root = RootOf(receipt.manifest().root());
  if (!root) return root.error();
  auto r = ReconcileWith(*root, arrivals_csv);
  if (!r) return r;
  if (r->manifest.count() != receipt.manifest().count()) {
    return Status(Code::kInvalidArgument, "the manifest holds " + std::to_string(r->manifest.count()) +
                                              " records, not the " + std::to_string(receipt.manifest().count()) +
                                              " the receipt names");
  }
  const v1::Reconciliation& want = r->result.figures;
  const v1::Reconciliation& got = receipt.reconciliation();
  if (receipt.count() != r->result.received || got.matched() != want.matched() || got.missing() != want.missing() ||
      got.not_on_manifest() != want.not_on_manifest() || got.unidentified() != want.unidentified() ||
      got.other_side() != want.other_side()) {
    const auto figures = [](uint64_t count, const v1::Reconciliation& f) {
      return std::to_string(count) + " received, " + std::to_string(f.matched()) + " matched, " +
             std::to_string(f.missing()) + " missing, " + std::to_string(f.not_on_manifest()) +
             " not on the manifest, " + std::to_string(f.unidentified()) + " unidentified, " +
             std::to_string(f.other_side()) + " the other side's";
    };
    return Status(Code::kInvalidArgument, "the receipt says " + figures(receipt.count(), got) +
                                              "; the arrival list gives " + figures(r->result.received, want));
  }
  return r;
}

grpc::Status OperatorService::ReconcileArrivals(grpc::ServerContext*, const v1::ReconcileArrivalsRequest* req,
                                                v1::ReconcileArrivalsResponse* resp) {
  auto root = RootOf(req->root());
  if (!root) return ToGrpc(root.error());
  auto r = ReconcileWith(*root, req->arrivals_csv());
  if (!r) return ToGrpc(r.error());
  *resp->mutable_figures() = r->result.figures;
  resp->set_received(r->result.received);
  *resp->mutable_manifest() = r->manifest;
  return grpc::Status::OK;
}

grpc::Status OperatorService::EraseRecord(grpc::ServerContext*, const v1::EraseRecordRequest* req,
                                          v1::EraseRecordResponse*) {
  auto root = RootOf(req->root());
  if (!root) return ToGrpc(root.error());
  if (Status s = manifests_.Erase(*root, req->record_id()); !s.ok()) return ToGrpc(s);
  Log(LogLevel::kInfo, "a manifest record's plaintext was erased", {{"manifest", ToHex(*root).substr(0, 16)}});
  return grpc::Status::OK;
}

grpc::Status OperatorService::ReadManifest(grpc::ServerContext*, const v1::ManifestRef* req,
                                           v1::ReadManifestResponse* resp) {
  auto root = RootOf(req->root());
  if (!root) return ToGrpc(root.error());
  auto info = manifests_.Find(*root);
  if (!info) return ToGrpc(info.error());
  if (!*info) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no manifest with root " + ToHex(*root) + " is held here");
  auto records = manifests_.Records(*root);
  if (!records) return ToGrpc(records.error());
  *resp->mutable_info() = **info;
  for (std::string& r : *records) resp->add_records(std::move(r));
  return grpc::Status::OK;
}

grpc::Status OperatorService::GetReconciliations(grpc::ServerContext*, const v1::ManifestRef* req,
                                                 v1::GetReconciliationsResponse* resp) {
  auto root = RootOf(req->root());
  if (!root) return ToGrpc(root.error());
  auto saved = manifests_.Reconciliations(*root);
  if (!saved) return ToGrpc(saved.error());
  for (v1::SavedReconciliation& r : *saved) *resp->add_reconciliations() = std::move(r);
  return grpc::Status::OK;
}

}  // namespace parley

namespace parley {

grpc::Status OperatorService::Backup(grpc::ServerContext* ctx, const v1::BackupRequest*,
                                     grpc::ServerWriter<v1::BackupChunk>* writer) {
  // The ledger first, then the manifests: a manifest is stored before any
  // entry names it, so the manifest snapshot holds every one the ledger
  // snapshot names.
  const auto t0 = std::chrono::steady_clock::now();
  auto ledger = ledger_.Snapshot();
  if (!ledger) return ToGrpc(ledger.error());
  auto manifests = manifests_.Snapshot();
  if (!manifests) return ToGrpc(manifests.error());
  const auto taken = std::chrono::steady_clock::now();
  v1::BackupChunk chunk;
  auto summary = WriteBackup(**ledger, **manifests, *ledger_.self(), NowMs(), [&](std::string_view bytes) {
    if (stopping_ || ctx->IsCancelled()) return Status(Code::kUnavailable, "the backup was cancelled");
    chunk.set_data(std::string(bytes));
    if (!writer->Write(chunk)) return Status(Code::kUnavailable, "the caller went away");
    return Status::Ok();
  });
  if (!summary) {
    Log(LogLevel::kWarn, "backup failed", {{"reason", summary.error().ToString()}});
    return ToGrpc(summary.error());
  }
  const auto us = [](auto d) { return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count()); };
  Log(LogLevel::kInfo, "backup streamed",
      {{"entries", std::to_string(summary->entries)},
       {"manifest_rows", std::to_string(summary->manifest_rows)},
       {"bytes", std::to_string(summary->bytes)},
       {"snapshot_us", us(taken - t0)},
       {"total_us", us(std::chrono::steady_clock::now() - t0)}});
  return grpc::Status::OK;
}

}  // namespace parley
