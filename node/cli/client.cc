#include "node/cli/client.h"

#include "node/tlog/checkpoint.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

namespace parley {
namespace {

constexpr auto kDeadline = std::chrono::seconds(10);

void SetDeadline(grpc::ClientContext& ctx) { ctx.set_deadline(std::chrono::system_clock::now() + kDeadline); }

}  // namespace

Result<std::unique_ptr<OperatorClient>> OperatorClient::Connect(const std::filesystem::path& socket) {
  std::error_code ec;
  if (!std::filesystem::exists(socket, ec)) {
    return Status(Code::kUnavailable, "node not running: no operator socket at " + socket.string() +
                                          " (start it with `parley node --config ...`, or pass --socket)");
  }
  std::unique_ptr<OperatorClient> c(new OperatorClient(socket));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 * 1024 * 1024);  // a whole manifest (ReadManifest)
  // The node may be restarting: retry the socket quickly, not after gRPC's 1 s default.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  auto channel = grpc::CreateCustomChannel("unix:" + std::filesystem::absolute(socket).string(),
                                           grpc::InsecureChannelCredentials(), args);
  c->stub_ = v1::Operator::NewStub(channel);
  return c;
}

Status OperatorClient::Convert(const grpc::Status& status) const {
  // A status without a message (e.g. a request the server could not parse)
  // still says what happened.
  grpc::Status s = status;
  if (s.error_message().empty() && !s.ok()) {
    s = grpc::Status(s.error_code(), "the node refused the request without saying why (gRPC status " +
                                         std::to_string(static_cast<int>(s.error_code())) + ")");
  }
  switch (s.error_code()) {
    case grpc::StatusCode::OK: return Status::Ok();
    case grpc::StatusCode::UNAVAILABLE:
      return Status(Code::kUnavailable, "node not reachable at " + socket_.string() + ": " + s.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status(Code::kUnavailable, "node at " + socket_.string() + " did not answer in time");
    case grpc::StatusCode::INVALID_ARGUMENT: return Status(Code::kInvalidArgument, s.error_message());
    case grpc::StatusCode::NOT_FOUND: return Status(Code::kNotFound, s.error_message());
    case grpc::StatusCode::ALREADY_EXISTS: return Status(Code::kAlreadyExists, s.error_message());
    case grpc::StatusCode::FAILED_PRECONDITION: return Status(Code::kFailedPrecondition, s.error_message());
    case grpc::StatusCode::PERMISSION_DENIED: return Status(Code::kPermissionDenied, s.error_message());
    case grpc::StatusCode::DATA_LOSS: return Status(Code::kDataLoss, s.error_message());
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return Status(Code::kResourceExhausted, s.error_message());
    default: return Status(Code::kInternal, s.error_message());
  }
}

Result<v1::SubmitResponse> OperatorClient::Submit(const v1::Entry& body, const std::string& request_id,
                                                  const std::string& arrivals_csv, bool dry_run) {
  v1::SubmitRequest req;
  req.set_request_id(request_id);
  req.set_dry_run(dry_run);
  *req.mutable_body() = body;
  req.set_arrivals_csv(arrivals_csv);
  grpc::Status s;
  for (int attempt = 0; attempt < 5; ++attempt) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    v1::SubmitResponse resp;
    s = stub_->Submit(&ctx, req, &resp);
    if (s.ok()) return resp;
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
  }
  return Convert(s);
}

Result<v1::StatusResponse> OperatorClient::GetStatus() {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::StatusResponse resp;
  grpc::Status s = stub_->GetStatus(&ctx, v1::StatusRequest(), &resp);
  if (!s.ok()) return Convert(s);
  return resp;
}

Result<Charter> OperatorClient::GetCharter() {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::GetCharterResponse resp;
  grpc::Status s = stub_->GetCharter(&ctx, v1::GetCharterRequest(), &resp);
  if (!s.ok()) return Convert(s);
  return Charter::Parse(resp.signed_charter());
}

Result<std::vector<std::string>> OperatorClient::ReadRaw(PartyIndex party, uint64_t from) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  v1::OperatorReadRequest req;
  req.set_party(party);
  req.set_from_seq(from);
  auto reader = stub_->ReadFeed(&ctx, req);
  std::vector<std::string> out;
  v1::FeedItem item;
  while (reader->Read(&item)) out.push_back(std::move(*item.mutable_envelope()));
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Convert(s);
  return out;
}

Result<std::array<std::vector<DecodedEntry>, 2>> OperatorClient::ReadFeeds(const Charter& charter, KeySchedule* schedule) {
  // The feeds are read one after the other, so an entry stored meanwhile may
  // have seen an entry of the other feed that was not read: then the pair is
  // not a consistent snapshot and is read again.
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::vector<std::string> raw[2];
    for (PartyIndex p = 0; p < 2; ++p) {
      auto f = ReadRaw(p, 1);
      if (!f) return f.error();
      raw[p] = std::move(*f);
    }
    auto feeds = DecodeFeeds(charter, raw[0], raw[1], schedule);
    if (feeds) return feeds;
    last = feeds.error();
  }
  return Status(Code::kDataLoss, "the node served an entry that does not verify: " + last.message());
}

Result<std::vector<DecodedEntry>> OperatorClient::ReadFeed(const Charter& charter, PartyIndex party, uint64_t from) {
  // Fast path while no party has rotated its key: every entry verifies under
  // its author's charter key, one at a time. Rotations are only ever added,
  // so none after the read means none during it.
  auto raw = ReadRaw(party, from);
  if (!raw) return raw.error();
  std::vector<DecodedEntry> out;
  bool charter_keys_suffice = true;
  for (const std::string& env : *raw) {
    auto d = DecodeEntry(env, charter);
    if (!d) {
      charter_keys_suffice = false;
      break;
    }
    out.push_back(std::move(*d));
  }
  if (charter_keys_suffice) {
    auto st = GetStatus();
    if (!st) return st.error();
    if (st->rotations_size() == 0) return out;
  }
  // Otherwise the key of each entry depends on both feeds (§5.1).
  auto feeds = ReadFeeds(charter);
  if (!feeds) return feeds.error();
  auto& feed = (*feeds)[party];
  if (from > 1) feed.erase(feed.begin(), feed.begin() + std::min<size_t>(feed.size(), from - 1));
  return std::move(feed);
}

Result<v1::SubmitResponse> OperatorClient::RotateKey(const Seed& new_key_seed, uint64_t compromised_from,
                                                     const std::string& request_id) {
  v1::RotateKeyRequest req;
  req.set_request_id(request_id);
  req.set_new_key_seed(new_key_seed.str());
  req.set_compromised_from_seq(compromised_from);
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::SubmitResponse resp;
  grpc::Status s = stub_->RotateKey(&ctx, req, &resp);
  if (!s.ok()) return Convert(s);
  return resp;
}

Result<v1::ForkProofs> OperatorClient::GetForkProofs() {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  v1::ForkProofs resp;
  grpc::Status s = stub_->GetForkProofs(&ctx, v1::GetForkProofsRequest(), &resp);
  if (!s.ok()) return Convert(s);
  return resp;
}

Result<std::vector<std::string>> OperatorClient::GetCheckpoints(PartyIndex party) {
  std::vector<std::string> out;
  uint64_t from = 0;
  for (;;) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    v1::GetCheckpointsRequest req;
    req.set_party(party);
    req.set_from_size(from);
    v1::Checkpoints resp;
    grpc::Status s = stub_->GetCheckpoints(&ctx, req, &resp);
    if (!s.ok()) return Convert(s);
    if (resp.notes().empty()) return out;
    for (const std::string& n : resp.notes()) out.push_back(n);
    // The next call starts after the last size answered (the note's second line).
    const std::string& last = resp.notes(resp.notes_size() - 1);
    const size_t a = last.find('\n');
    const size_t b = a == std::string::npos ? a : last.find('\n', a + 1);
    auto size = b == std::string::npos ? std::nullopt : ParseTlogDecimal(std::string_view(last).substr(a + 1, b - a - 1));
    if (!size || *size + 1 <= from) return Status(Code::kDataLoss, "the node answered checkpoints out of order");
    from = *size + 1;
  }
}

template <class Req, class Resp, class Method>
Result<Resp> OperatorClient::LongCall(Method method, const Req& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
  Resp resp;
  grpc::Status s = (stub_.get()->*method)(&ctx, req, &resp);
  if (!s.ok()) return Convert(s);
  return resp;
}

Result<v1::ManifestInfo> OperatorClient::CommitManifest(v1::ManifestKind kind, std::string csv) {
  v1::CommitManifestRequest req;
  req.set_kind(kind);
  req.set_csv(std::move(csv));
  return LongCall<v1::CommitManifestRequest, v1::ManifestInfo>(&v1::Operator::Stub::CommitManifest, req);
}

Result<v1::ListManifestsResponse> OperatorClient::ListManifests() {
  return LongCall<v1::ListManifestsRequest, v1::ListManifestsResponse>(&v1::Operator::Stub::ListManifests,
                                                                       v1::ListManifestsRequest());
}

Result<v1::ManifestInfo> OperatorClient::FetchManifest(const Digest& root) {
  v1::ManifestRef req;
  req.set_root(root.str());
  return LongCall<v1::ManifestRef, v1::ManifestInfo>(&v1::Operator::Stub::FetchManifest, req);
}

Result<v1::ProveRecordResponse> OperatorClient::ProveRecord(const Digest& root, const std::string& record_id) {
  v1::ProveRecordRequest req;
  req.set_root(root.str());
  req.set_record_id(record_id);
  return LongCall<v1::ProveRecordRequest, v1::ProveRecordResponse>(&v1::Operator::Stub::ProveRecord, req);
}

Result<v1::ReconcileArrivalsResponse> OperatorClient::ReconcileArrivals(const Digest& root, std::string csv) {
  v1::ReconcileArrivalsRequest req;
  req.set_root(root.str());
  req.set_arrivals_csv(std::move(csv));
  return LongCall<v1::ReconcileArrivalsRequest, v1::ReconcileArrivalsResponse>(
      &v1::Operator::Stub::ReconcileArrivals, req);
}

Status OperatorClient::EraseRecord(const Digest& root, const std::string& record_id) {
  v1::EraseRecordRequest req;
  req.set_root(root.str());
  req.set_record_id(record_id);
  auto r = LongCall<v1::EraseRecordRequest, v1::EraseRecordResponse>(&v1::Operator::Stub::EraseRecord, req);
  return r ? Status::Ok() : r.error();
}

Result<v1::ReadManifestResponse> OperatorClient::ReadManifest(const Digest& root) {
  v1::ManifestRef req;
  req.set_root(root.str());
  return LongCall<v1::ManifestRef, v1::ReadManifestResponse>(&v1::Operator::Stub::ReadManifest, req);
}

Result<v1::GetReconciliationsResponse> OperatorClient::GetReconciliations(const Digest& root) {
  v1::ManifestRef req;
  req.set_root(root.str());
  return LongCall<v1::ManifestRef, v1::GetReconciliationsResponse>(&v1::Operator::Stub::GetReconciliations, req);
}

Status OperatorClient::Backup(const std::function<Status(std::string_view)>& sink) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::hours(2));
  auto reader = stub_->Backup(&ctx, v1::BackupRequest());
  v1::BackupChunk chunk;
  Status failed;
  while (reader->Read(&chunk)) {
    failed = sink(chunk.data());
    if (!failed.ok()) {
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (!failed.ok()) return failed;
  return Convert(s);
}

Status OperatorClient::Follow(PartyIndex party, uint64_t from, const std::function<bool(const std::string&)>& fn) {
  grpc::ClientContext ctx;
  v1::OperatorReadRequest req;
  req.set_party(party);
  req.set_from_seq(from);
  req.set_follow(true);
  auto reader = stub_->ReadFeed(&ctx, req);
  v1::FeedItem item;
  while (reader->Read(&item)) {
    if (!fn(item.envelope())) {
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (s.error_code() == grpc::StatusCode::CANCELLED) return Status::Ok();
  return Convert(s);
}

std::function<Result<std::optional<std::string>>()> OperatorClient::FeedSource(PartyIndex party) {
  struct Stream {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::FeedItem>> reader;
    bool done = false;
  };
  auto st = std::make_shared<Stream>();
  st->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
  v1::OperatorReadRequest req;
  req.set_party(party);
  req.set_from_seq(1);
  st->reader = stub_->ReadFeed(&st->ctx, req);
  streams_.push_back(st);
  return [this, st]() -> Result<std::optional<std::string>> {
    if (st->done) return std::optional<std::string>();
    v1::FeedItem item;
    if (st->reader->Read(&item)) return std::optional<std::string>(std::move(*item.mutable_envelope()));
    st->done = true;
    grpc::Status s = st->reader->Finish();
    if (!s.ok()) return Convert(s);
    return std::optional<std::string>();
  };
}

}  // namespace parley
