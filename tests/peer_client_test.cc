// PeerClient (node/daemon/peer_client.h), the one client of a node's Peer
// service, against an in-process fake service: what a refused call, an
// unreachable node and a node that stops serving a feed look like to its
// callers (the Replicator and `parley audit --peer`). No process.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>

#include "fixtures.h"
#include "node/daemon/peer_auth.h"
#include "node/daemon/peer_client.h"

namespace parley {
namespace {

bool StartsWith(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// Refuses GetHeads and GetForkProofs as the real node refuses a key it does
// not know; serves `served` entries of any feed from ReadFeed, then nothing.
class RefusingPeer final : public v1::Peer::Service {
 public:
  explicit RefusingPeer(uint64_t served) : served_(served) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
    PARLEY_CHECK(server_ != nullptr && port_ != 0);
  }
  ~RefusingPeer() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int reads() const { return reads_.load(); }
  bool saw_token() const { return saw_token_.load(); }

  grpc::Status GetHeads(grpc::ServerContext* ctx, const v1::GetHeadsRequest*, v1::Heads*) override {
    saw_token_ = ctx->client_metadata().count("parley-sig") == 1 && ctx->client_metadata().count("parley-key") == 1;
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "caller key is not a party or observer of this ledger");
  }
  grpc::Status GetForkProofs(grpc::ServerContext*, const v1::GetForkProofsRequest*, v1::ForkProofs*) override {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "stale token");
  }
  grpc::Status ReadFeed(grpc::ServerContext*, const v1::ReadFeedRequest* req,
                        grpc::ServerWriter<v1::FeedItem>* writer) override {
    ++reads_;
    v1::FeedItem item;
    for (uint64_t seq = req->from_seq(); seq <= served_ && seq < req->from_seq() + req->max_count(); ++seq) {
      item.set_envelope("entry " + std::to_string(seq));
      writer->Write(item);
    }
    return grpc::Status::OK;
  }

 private:
  const uint64_t served_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<int> reads_{0};
  std::atomic<bool> saw_token_{false};
};

PeerClient ClientFor(const std::string& address) {
  auto key = std::make_shared<const SecretKey>(test::ObserverKey());
  return PeerClient(address, grpc::InsecureChannelCredentials(), test::TheCharter().ledger_id(),
                    [key] { return key; }, std::chrono::seconds(5));
}

TEST_CASE("PeerClient: a refused call names the node, the call and why") {
  RefusingPeer fake(0);
  const PeerClient peer = ClientFor(fake.address());
  auto heads = peer.GetHeads();
  REQUIRE_FALSE(heads.has_value());
  CHECK(fake.saw_token());  // every call carries the token (peer_auth.h)
  CHECK(heads.error().code() == Code::kPermissionDenied);
  CHECK(heads.error().message() == "node at " + fake.address() +
                                       " refused GetHeads (permission denied): caller key is not a party or observer "
                                       "of this ledger");
  auto forks = peer.GetForkProofs();
  REQUIRE_FALSE(forks.has_value());
  CHECK(forks.error().code() == Code::kPermissionDenied);
  CHECK(forks.error().message() == "node at " + fake.address() + " refused GetForkProofs (not authenticated): stale token");
}

TEST_CASE("PeerClient: a feed is read in range reads up to the head; a node that stops serving is data loss") {
  RefusingPeer fake(2500);
  const PeerClient peer = ClientFor(fake.address());
  auto all = peer.FeedSource(1, 1, 2500);
  uint64_t n = 0;
  while (true) {
    auto e = all();
    REQUIRE(e.has_value());
    if (!e->has_value()) break;
    ++n;
    CHECK(**e == "entry " + std::to_string(n));
  }
  CHECK(n == 2500);
  CHECK(fake.reads() == 3);  // ranges of at most kMaxReadCount (1000)

  auto beyond = peer.FeedSource(0, 2400, 2600);
  for (int k = 0; k < 101; ++k) REQUIRE(beyond().has_value());
  auto cut = beyond();
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().code() == Code::kDataLoss);
  CHECK(cut.error().message() == "node at " + fake.address() + " stopped serving feed 0 at seq 2501, before seq 2600");

  auto none = peer.FeedSource(0, 1, 0);  // an empty feed: no call at all
  const int before = fake.reads();
  auto end = none();
  REQUIRE(end.has_value());
  CHECK_FALSE(end->has_value());
  CHECK(fake.reads() == before);
}

TEST_CASE("PeerClient: an unreachable node is kUnavailable, and says so") {
  const PeerClient peer = ClientFor("127.0.0.1:1");
  auto heads = peer.GetHeads();
  REQUIRE_FALSE(heads.has_value());
  CHECK(heads.error().code() == Code::kUnavailable);
  CHECK_MESSAGE(StartsWith(heads.error().message(), "node at 127.0.0.1:1, GetHeads: unreachable: "),
                heads.error().message());
  auto batch = peer.ReadFeed(0, 1, 10);
  REQUIRE_FALSE(batch.has_value());
  CHECK(StartsWith(batch.error().message(), "node at 127.0.0.1:1, ReadFeed: unreachable: "));
}

TEST_CASE("PeerClient: every gRPC failure maps to a Status code and a message with the node's text") {
  const PeerClient peer = ClientFor("127.0.0.1:1");
  struct Case {
    grpc::StatusCode code;
    Code want;
    const char* says;
  };
  const Case cases[] = {
      {grpc::StatusCode::UNAUTHENTICATED, Code::kPermissionDenied, "node at 127.0.0.1:1 refused X (not authenticated): m"},
      {grpc::StatusCode::PERMISSION_DENIED, Code::kPermissionDenied, "node at 127.0.0.1:1 refused X (permission denied): m"},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, Code::kResourceExhausted, "node at 127.0.0.1:1, X: resource exhausted: m"},
      {grpc::StatusCode::INVALID_ARGUMENT, Code::kInvalidArgument, "node at 127.0.0.1:1 refused X (invalid request): m"},
      {grpc::StatusCode::FAILED_PRECONDITION, Code::kFailedPrecondition, "node at 127.0.0.1:1 refused X (not now): m"},
      {grpc::StatusCode::NOT_FOUND, Code::kNotFound, "node at 127.0.0.1:1, X: not found: m"},
      {grpc::StatusCode::DEADLINE_EXCEEDED, Code::kUnavailable, "node at 127.0.0.1:1, X: no answer in time: m"},
      {grpc::StatusCode::UNAVAILABLE, Code::kUnavailable, "node at 127.0.0.1:1, X: unreachable: m"},
      {grpc::StatusCode::INTERNAL, Code::kUnavailable, "node at 127.0.0.1:1, X: failed (gRPC code 13): m"},
  };
  for (const Case& k : cases) {
    const Status s = peer.CallError("X", grpc::Status(k.code, "m"));
    CHECK(s.code() == k.want);
    CHECK(s.message() == k.says);
  }
}

}  // namespace
}  // namespace parley
