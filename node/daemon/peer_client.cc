#include "node/daemon/peer_client.h"

#include <algorithm>
#include <deque>

#include "node/daemon/peer_auth.h"
#include "node/daemon/peer_service.h"

namespace parley {
namespace {

using Clock = std::chrono::system_clock;

constexpr auto kManifestDeadline = std::chrono::minutes(5);

grpc::ChannelArguments PeerChannelArguments() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxPeerMessageBytes);
  args.SetMaxSendMessageSize(kMaxPeerMessageBytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveIdleMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return args;
}

}  // namespace

PeerClient::PeerClient(std::string address, std::shared_ptr<grpc::ChannelCredentials> credentials,
                       const Digest& ledger_id, TokenKey token_key, std::chrono::milliseconds unary_deadline)
    : address_(std::move(address)),
      ledger_id_(ledger_id),
      token_key_(std::move(token_key)),
      unary_deadline_(unary_deadline),
      stub_(v1::Peer::NewStub(grpc::CreateCustomChannel(address_, std::move(credentials), PeerChannelArguments()))) {}

void PeerClient::Authenticate(grpc::ClientContext& ctx, std::string_view method) const {
  AddPeerAuth(ctx, *token_key_(), ledger_id_, method);
}

void PeerClient::SetDeadline(grpc::ClientContext& ctx) const { ctx.set_deadline(Clock::now() + unary_deadline_); }

Status PeerClient::CallError(std::string_view method, const grpc::Status& s) const {
  const std::string node = "node at " + address_;
  const std::string call(method);
  auto refused = [&](Code code, const char* why) {
    return Status(code, node + " refused " + call + " (" + why + "): " + s.error_message());
  };
  switch (s.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED: return refused(Code::kPermissionDenied, "not authenticated");
    case grpc::StatusCode::PERMISSION_DENIED: return refused(Code::kPermissionDenied, "permission denied");
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // the node's call limits, or a message over the size limit
      return Status(Code::kResourceExhausted, node + ", " + call + ": resource exhausted: " + s.error_message());
    case grpc::StatusCode::INVALID_ARGUMENT: return refused(Code::kInvalidArgument, "invalid request");
    case grpc::StatusCode::FAILED_PRECONDITION: return refused(Code::kFailedPrecondition, "not now");
    case grpc::StatusCode::NOT_FOUND: return Status(Code::kNotFound, node + ", " + call + ": not found: " + s.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status(Code::kUnavailable, node + ", " + call + ": no answer in time: " + s.error_message());
    case grpc::StatusCode::UNAVAILABLE:
      return Status(Code::kUnavailable, node + ", " + call + ": unreachable: " + s.error_message());
    default:
      return Status(Code::kUnavailable, node + ", " + call + ": failed (gRPC code " +
                                            std::to_string(static_cast<int>(s.error_code())) + "): " + s.error_message());
  }
}

Result<v1::Heads> PeerClient::GetHeads() const {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  Authenticate(ctx, "/parley.v1.Peer/GetHeads");
  v1::GetHeadsRequest req;
  req.set_ledger_id(ledger_id_.str());
  v1::Heads heads;
  grpc::Status s = stub_->GetHeads(&ctx, req, &heads);
  if (!s.ok()) return CallError("GetHeads", s);
  return heads;
}

Result<std::vector<std::string>> PeerClient::ReadFeed(PartyIndex party, uint64_t from, uint32_t max_count) const {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  Authenticate(ctx, "/parley.v1.Peer/ReadFeed");
  v1::ReadFeedRequest req;
  req.set_ledger_id(ledger_id_.str());
  req.set_party(party);
  req.set_from_seq(from);
  req.set_max_count(std::min(max_count, kMaxReadCount));
  auto reader = stub_->ReadFeed(&ctx, req);
  std::vector<std::string> batch;
  v1::FeedItem item;
  while (reader->Read(&item)) batch.push_back(std::move(*item.mutable_envelope()));
  grpc::Status s = reader->Finish();
  if (!s.ok()) return CallError("ReadFeed", s);
  return batch;
}

EnvelopeSource PeerClient::FeedSource(PartyIndex party, uint64_t from, uint64_t to, std::string feed_name) const {
  auto buffer = std::make_shared<std::deque<std::string>>();
  auto next = std::make_shared<uint64_t>(from);
  if (feed_name.empty()) feed_name = std::to_string(party);
  return [this, party, to, buffer, next, feed_name]() -> Result<std::optional<std::string>> {
    if (buffer->empty() && *next <= to) {
      auto batch = ReadFeed(party, *next, static_cast<uint32_t>(std::min<uint64_t>(kMaxReadCount, to - *next + 1)));
      if (!batch) return batch.error();
      if (batch->empty()) {
        return Status(Code::kDataLoss, "node at " + address_ + " stopped serving feed " + feed_name +
                                           " at seq " + std::to_string(*next) + ", before seq " + std::to_string(to));
      }
      *next += batch->size();
      for (auto& e : *batch) buffer->push_back(std::move(e));
    }
    if (buffer->empty()) return std::optional<std::string>();
    std::string e = std::move(buffer->front());
    buffer->pop_front();
    return std::optional<std::string>(std::move(e));
  };
}

Result<v1::ForkProofs> PeerClient::GetForkProofs() const {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  Authenticate(ctx, "/parley.v1.Peer/GetForkProofs");
  v1::GetForkProofsRequest req;
  req.set_ledger_id(ledger_id_.str());
  v1::ForkProofs forks;
  grpc::Status s = stub_->GetForkProofs(&ctx, req, &forks);
  if (!s.ok()) return CallError("GetForkProofs", s);
  return forks;
}

Result<v1::Checkpoints> PeerClient::GetCheckpoints(PartyIndex party, uint64_t from_size) const {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  Authenticate(ctx, "/parley.v1.Peer/GetCheckpoints");
  v1::GetCheckpointsRequest req;
  req.set_ledger_id(ledger_id_.str());
  req.set_party(party);
  req.set_from_size(from_size);
  v1::Checkpoints out;
  grpc::Status s = stub_->GetCheckpoints(&ctx, req, &out);
  if (!s.ok()) return CallError("GetCheckpoints", s);
  return out;
}

Result<std::string> PeerClient::GetSealedManifest(const Digest& root, uint64_t max_bytes) const {
  grpc::ClientContext ctx;
  ctx.set_deadline(Clock::now() + kManifestDeadline);
  Authenticate(ctx, "/parley.v1.Peer/GetManifest");
  v1::GetManifestRequest req;
  req.set_ledger_id(ledger_id_.str());
  req.set_root(root.str());
  auto reader = stub_->GetManifest(&ctx, req);
  std::string sealed;
  v1::ManifestChunk chunk;
  while (reader->Read(&chunk)) {
    if (chunk.total_size() > max_bytes || sealed.size() + chunk.sealed().size() > chunk.total_size()) {
      ctx.TryCancel();
      reader->Finish();
      return Status(Code::kDataLoss, "the peer sent more manifest bytes than it announced (or over " +
                                         std::to_string(max_bytes >> 20) + " MiB)");
    }
    if (sealed.empty()) sealed.reserve(chunk.total_size());
    sealed.append(chunk.sealed());
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return CallError("GetManifest", s);
  if (sealed.size() != chunk.total_size()) return Status(Code::kDataLoss, "the peer's manifest arrived truncated");
  return sealed;
}

grpc::Status PeerClient::Subscribe(grpc::ClientContext& ctx, PartyIndex party, uint64_t from,
                                   std::chrono::milliseconds deadline,
                                   const std::function<bool(const std::string&)>& on_envelope) const {
  ctx.set_deadline(Clock::now() + deadline);
  Authenticate(ctx, "/parley.v1.Peer/Subscribe");
  v1::SubscribeRequest req;
  req.set_ledger_id(ledger_id_.str());
  req.set_party(party);
  req.set_from_seq(from);
  auto reader = stub_->Subscribe(&ctx, req);
  v1::FeedItem item;
  while (reader->Read(&item)) {
    if (!on_envelope(item.envelope())) {
      ctx.TryCancel();
      break;
    }
  }
  return reader->Finish();
}

grpc::Status PeerClient::Publish(grpc::ClientContext& ctx, std::chrono::milliseconds deadline,
                                 const std::function<std::optional<std::string>()>& next, v1::Heads* heads) const {
  ctx.set_deadline(Clock::now() + deadline);
  Authenticate(ctx, "/parley.v1.Peer/Publish");
  auto writer = stub_->Publish(&ctx, heads);
  v1::FeedItem item;
  while (std::optional<std::string> envelope = next()) {
    item.set_envelope(std::move(*envelope));
    if (!writer->Write(item)) break;  // the relay ended the call: Finish says why
  }
  writer->WritesDone();
  return writer->Finish();
}

}  // namespace parley
