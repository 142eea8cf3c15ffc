// Per-call authentication and limits on a real node's peer port.
#include <doctest/doctest.h>

#include <grpcpp/grpcpp.h>

#include "crypto/hash.h"
#include "node/daemon/peer_auth.h"
#include "node_harness.h"
#include "parley/v1/peer.grpc.pb.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

struct Token {
  std::string key, ts, nonce, sig;
  void AddTo(grpc::ClientContext& ctx) const {
    ctx.AddMetadata("parley-key", key);
    ctx.AddMetadata("parley-ts", ts);
    ctx.AddMetadata("parley-nonce", nonce);
    ctx.AddMetadata("parley-sig", sig);
  }
};

Token MakeToken(const SecretKey& key, std::string_view method, int64_t ts_ms) {
  std::string nonce(16, '\0');
  std::array<uint8_t, 16> r;
  RandomBytes(r);
  for (int i = 0; i < 16; ++i) nonce[i] = static_cast<char>(r[i]);
  return Token{ToHex(key.public_key()), std::to_string(ts_ms), ToHex(nonce),
               ToHex(Sign(key, kPeerAuthDomain, PeerAuthMessage(test::TheCharter().ledger_id(), method, ts_ms, nonce)))};
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

grpc::Status Heads(v1::Peer::Stub& stub, const std::optional<Token>& token) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (token) token->AddTo(ctx);
  v1::GetHeadsRequest req;
  req.set_ledger_id(test::TheCharter().ledger_id().str());
  v1::Heads heads;
  return stub.GetHeads(&ctx, req, &heads);
}

TEST_SUITE("e2e") {

TEST_CASE("every peer call must prove a party's or an observer's identity") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  auto stub = v1::Peer::NewStub(grpc::CreateChannel(n.ua.address(), grpc::InsecureChannelCredentials()));
  const char* kHeads = "/parley.v1.Peer/GetHeads";

  SUBCASE("no token") {
    auto s = Heads(*stub, std::nullopt);
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(s.error_message().find("must be signed") != std::string::npos);
  }
  SUBCASE("a stranger's key") {
    auto s = Heads(*stub, MakeToken(SecretKey::Generate(), kHeads, Now()));
    CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  }
  SUBCASE("an observer listed in the charter may read") {
    CHECK(Heads(*stub, MakeToken(test::ObserverKey(), kHeads, Now())).ok());
  }
  SUBCASE("the other party may read") {
    CHECK(Heads(*stub, MakeToken(test::PartyKey(kRU), kHeads, Now())).ok());
  }
  SUBCASE("a replayed token") {
    Token t = MakeToken(test::PartyKey(kRU), kHeads, Now());
    CHECK(Heads(*stub, t).ok());
    auto s = Heads(*stub, t);
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(s.error_message().find("replayed") != std::string::npos);
  }
  SUBCASE("a stale token") {
    auto s = Heads(*stub, MakeToken(test::PartyKey(kRU), kHeads, Now() - 5 * 60 * 1000));
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(s.error_message().find("stale") != std::string::npos);
  }
  SUBCASE("a token signed for another method") {
    auto s = Heads(*stub, MakeToken(test::PartyKey(kRU), "/parley.v1.Peer/Subscribe", Now()));
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST_CASE("a flood of streams from one caller is capped and does not starve the other party") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  auto stub = v1::Peer::NewStub(grpc::CreateChannel(n.ua.address(), grpc::InsecureChannelCredentials()));
  // The observer opens streams until refused.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::FeedItem>>> readers;
  for (int i = 0; i < kMaxStreamsPerCaller; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    MakeToken(test::ObserverKey(), "/parley.v1.Peer/Subscribe", Now()).AddTo(*contexts.back());
    v1::SubscribeRequest req;
    req.set_ledger_id(test::TheCharter().ledger_id().str());
    req.set_party(kUA);
    req.set_from_seq(1);
    readers.push_back(stub->Subscribe(contexts.back().get(), req));
  }
  REQUIRE(n.ua.Client()->Submit(test::Say("first"), "flood-1").has_value());
  v1::FeedItem item;
  for (auto& r : readers) CHECK(r->Read(&item));  // all live
  grpc::ClientContext extra;
  MakeToken(test::ObserverKey(), "/parley.v1.Peer/Subscribe", Now()).AddTo(extra);
  v1::SubscribeRequest req;
  req.set_ledger_id(test::TheCharter().ledger_id().str());
  req.set_party(kUA);
  req.set_from_seq(1);
  auto refused = stub->Subscribe(&extra, req);
  CHECK_FALSE(refused->Read(&item));
  CHECK(refused->Finish().error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Meanwhile RU, the other party, still replicates.
  REQUIRE(n.ua.Client()->Submit(test::Say("second"), "flood-2").has_value());
  CHECK(test::Eventually([&] { return n.ru.HeadOf(kUA).seq == 2; }, std::chrono::seconds(5)));
  for (auto& c : contexts) c->TryCancel();
  for (auto& r : readers) r->Finish();
}

TEST_CASE("a flood of calls from one caller is rate-limited and does not starve the other party") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  auto stub = v1::Peer::NewStub(grpc::CreateChannel(n.ua.address(), grpc::InsecureChannelCredentials()));
  const int calls = 1000;
  int ok = 0, limited = 0, other = 0;
  std::string other_error;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    grpc::Status s = Heads(*stub, MakeToken(test::ObserverKey(), "/parley.v1.Peer/GetHeads", Now()));
    if (s.ok()) {
      ++ok;
    } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++limited;
      if (limited == 1) CHECK(s.error_message().find("too many calls") != std::string::npos);
    } else {
      ++other;
      other_error = s.error_message();
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK_MESSAGE(other == 0, other_error);
  // The burst, then the sustained rate, are admitted; the rest refused.
  CHECK(ok >= kCallBurstPerCaller);
  CHECK(ok <= kCallBurstPerCaller + kCallRatePerCaller * secs + 1);
  CHECK(limited > 0);
  // Meanwhile the other party's node replicates as usual.
  REQUIRE(n.ua.Client()->Submit(test::Say("during the flood"), "rate-1").has_value());
  CHECK(test::Eventually([&] { return n.ru.HeadOf(kUA).seq == 1; }, std::chrono::seconds(5)));
  // And the flooding caller is served again once it slows down.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(Heads(*stub, MakeToken(test::ObserverKey(), "/parley.v1.Peer/GetHeads", Now())).ok());
  MESSAGE(calls, " GetHeads in ", secs, " s from one observer: ", ok, " admitted, ", limited,
          " refused with RESOURCE_EXHAUSTED");
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
