// End to end: a real UA `parley node` whose peer is an in-process fake RU
// node that serves a malicious feed. Every bad entry must be refused with the
// violation named in the log, nothing of it stored, and the node must keep
// running and answering its operator.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/hash.h"
#include "node/daemon/replicator.h"
#include "node_harness.h"
#include "parley/v1/peer.grpc.pb.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

// The error of a failed Result, for assertion messages (doctest builds the
// message even for passing assertions when run with -s).
template <class T>
std::string Why(const Result<T>& r) {
  return r.has_value() ? std::string() : r.error().ToString();
}

// A fake RU node. GetHeads reports an RU feed of `ru_head` entries (and an
// empty UA feed, so the honest node has nothing of its own to recover),
// ReadFeed serves nothing, and Subscribe streams `items` as FeedItem
// envelopes byte for byte, then holds the stream open until the client
// cancels so that the client does not reconnect in a tight loop.
class FakePeer final : public v1::Peer::Service {
 public:
  FakePeer(std::vector<std::string> items, uint64_t ru_head) : items_(std::move(items)), ru_head_(ru_head) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(this);
    b.SetMaxSendMessageSize(8 * 1024 * 1024);  // so the oversized scenario reaches the client
    server_ = b.BuildAndStart();
    PARLEY_CHECK(server_ != nullptr && port_ != 0);
  }
  ~FakePeer() override {
    stopping_ = true;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int subscribes() const { return subscribes_.load(); }

  grpc::Status GetHeads(grpc::ServerContext*, const v1::GetHeadsRequest* req, v1::Heads* resp) override {
    if (req->ledger_id() != test::TheCharter().ledger_id().view()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "another ledger");
    }
    resp->set_ledger_id(test::TheCharter().ledger_id().str());
    auto* ua = resp->add_feeds();
    ua->set_party(kUA);
    ua->set_seq(0);
    auto* ru = resp->add_feeds();
    ru->set_party(kRU);
    ru->set_seq(ru_head_);
    if (ru_head_ > 0) ru->set_id(std::string(32, '\x5a'));
    return grpc::Status::OK;
  }

  grpc::Status ReadFeed(grpc::ServerContext*, const v1::ReadFeedRequest*, grpc::ServerWriter<v1::FeedItem>*) override {
    return grpc::Status::OK;
  }

  grpc::Status Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                         grpc::ServerWriter<v1::FeedItem>* writer) override {
    ++subscribes_;
    if (req->party() == kRU) {
      v1::FeedItem item;
      for (const std::string& env : items_) {
        item.set_envelope(env);
        if (!writer->Write(item)) return grpc::Status::OK;
      }
    }
    while (!ctx->IsCancelled() && !stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return grpc::Status::OK;
  }

  grpc::Status GetForkProofs(grpc::ServerContext*, const v1::GetForkProofsRequest*, v1::ForkProofs*) override {
    return grpc::Status::OK;
  }

 private:
  const std::vector<std::string> items_;
  const uint64_t ru_head_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> subscribes_{0};
  std::unique_ptr<grpc::Server> server_;
};

// RU entries signed with RU's real key; every header field set by hand.
v1::Entry RuEntry(uint64_t seq, const std::string& prev, std::string text,
                  const std::string& ledger_id = test::TheCharter().ledger_id().str()) {
  v1::Entry e = test::Say(std::move(text));
  e.set_ledger_id(ledger_id);
  e.set_author(kRU);
  e.set_seq(seq);
  e.set_prev(prev);
  e.set_time_ms(test::kT0);
  return e;
}

DecodedEntry SignRu(const v1::Entry& e) { return SignEntry(test::PartyKey(kRU), e); }

const std::string& LedgerId() {
  static const std::string id = test::TheCharter().ledger_id().str();
  return id;
}

// The honest UA node, its fake RU peer, and the checks every scenario shares.
struct Setup {
  test::TempDir root;
  FakePeer fake;
  test::NodeProcess ua;

  Setup(std::vector<std::string> items, uint64_t ru_head)
      : fake(std::move(items), ru_head), ua(root.path(), kUA, test::FreePort(), fake.address()) {}

  // The first log line that contains every one of `parts`, or "".
  std::string LogLine(const std::vector<std::string>& parts) const {
    std::istringstream in(test::ReadText(ua.log()));
    std::string line;
    while (std::getline(in, line)) {
      bool all = true;
      for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
      if (all) return line;
    }
    return "";
  }

  // Waits up to 5 s for a "refused an entry from the peer" line naming
  // `violation`; returns it ("" if none came).
  std::string WaitForRefusal(const std::string& violation) {
    const std::vector<std::string> parts = {"level=warn", "msg=\"refused an entry from the peer\"",
                                            "reason=\"rejected: " + violation + ":"};
    std::string line;
    test::Eventually([&] { return !(line = LogLine(parts)).empty(); }, std::chrono::seconds(5));
    return line;
  }

  // The node is still running, answers status, and holds `ru_seq` RU entries
  // and none of its own.
  void CheckAliveWithRuHead(uint64_t ru_seq) {
    CHECK_FALSE(ua.Exited());
    auto client = OperatorClient::Connect(ua.socket());
    REQUIRE(client.has_value());
    auto st = (*client)->GetStatus();
    REQUIRE_MESSAGE(st.has_value(), Why(st));
    REQUIRE(st->feeds_size() == 2);
    CHECK(st->feeds(kRU).seq() == ru_seq);
    CHECK(st->feeds(kUA).seq() == 0);
    auto feed = (*client)->ReadFeed(test::TheCharter(), kRU);
    REQUIRE(feed.has_value());
    CHECK(feed->size() == ru_seq);
    CHECK_FALSE(ua.Exited());
  }
};

TEST_SUITE("e2e") {

TEST_CASE("malicious peer: an RU entry with a forged signature is refused as bad-signature and nothing is stored") {
  DecodedEntry ru1 = SignRu(RuEntry(1, LedgerId(), "RU#1"));
  v1::SignedEntry env;
  REQUIRE(env.ParseFromString(ru1.envelope));
  std::string sig = env.signature();
  REQUIRE(sig.size() == 64);
  sig[17] = static_cast<char>(sig[17] ^ 0x04);
  env.set_signature(sig);

  Setup s({env.SerializeAsString()}, 1);
  REQUIRE(s.ua.Start());
  const std::string line = s.WaitForRefusal("bad-signature");
  CHECK_MESSAGE(!line.empty(), test::ReadText(s.ua.log()));
  s.CheckAliveWithRuHead(0);
}

TEST_CASE("malicious peer: an RU entry that skips a seq is refused as seq-gap and nothing is stored") {
  DecodedEntry ru1 = SignRu(RuEntry(1, LedgerId(), "RU#1 (never sent)"));
  DecodedEntry ru2 = SignRu(RuEntry(2, ru1.id.str(), "RU#2"));

  Setup s({ru2.envelope}, 2);
  REQUIRE(s.ua.Start());
  const std::string line = s.WaitForRefusal("seq-gap");
  CHECK_MESSAGE(!line.empty(), test::ReadText(s.ua.log()));
  s.CheckAliveWithRuHead(0);
}

TEST_CASE("malicious peer: an RU entry whose prev is not its predecessor is refused as wrong-prev after RU#1 is stored") {
  DecodedEntry ru1 = SignRu(RuEntry(1, LedgerId(), "RU#1"));
  DecodedEntry ru2 = SignRu(RuEntry(2, std::string(32, '\x11'), "RU#2 with a made-up prev"));

  Setup s({ru1.envelope, ru2.envelope}, 2);
  REQUIRE(s.ua.Start());
  const std::string line = s.WaitForRefusal("wrong-prev");
  CHECK_MESSAGE(!line.empty(), test::ReadText(s.ua.log()));
  s.CheckAliveWithRuHead(1);
  CHECK(s.ua.HeadOf(kRU).id == ru1.id);
}

TEST_CASE("malicious peer: an entry of another ledger is refused as wrong-ledger and nothing is stored") {
  const std::string other_ledger = Hash("parley/test/other-ledger", "another charter").str();
  REQUIRE(other_ledger.size() == 32);
  REQUIRE(other_ledger != LedgerId());
  DecodedEntry ru1 = SignRu(RuEntry(1, other_ledger, "RU#1 of another ledger", other_ledger));

  Setup s({ru1.envelope}, 1);
  REQUIRE(s.ua.Start());
  const std::string line = s.WaitForRefusal("wrong-ledger");
  CHECK_MESSAGE(!line.empty(), test::ReadText(s.ua.log()));
  s.CheckAliveWithRuHead(0);
}

TEST_CASE("malicious peer: two validly signed RU#1s become one fork proof, a frozen RU feed and an alarm in status") {
  DecodedEntry first = SignRu(RuEntry(1, LedgerId(), "RU#1: the exchange is on Tuesday"));
  DecodedEntry second = SignRu(RuEntry(1, LedgerId(), "RU#1: the exchange is on Friday"));
  REQUIRE(first.id != second.id);

  Setup s({first.envelope, second.envelope}, 1);
  REQUIRE(s.ua.Start());
  std::string line;
  test::Eventually([&] { return !(line = s.LogLine({"level=error", "fork proof stored"})).empty(); },
                   std::chrono::seconds(5));
  CHECK_MESSAGE(!line.empty(), test::ReadText(s.ua.log()));
  s.CheckAliveWithRuHead(1);
  CHECK(s.ua.HeadOf(kRU).id == first.id);

  auto client = s.ua.Client();
  auto st = client->GetStatus();
  REQUIRE(st.has_value());
  CHECK(st->fork_proofs() == 1);
  REQUIRE(st->frozen_parties_size() == 1);
  CHECK(st->frozen_parties(0) == kRU);
  bool alarm = false;
  for (const auto& a : st->alarms()) alarm = alarm || (a.find("RU") != std::string::npos && a.find("fork") != std::string::npos);
  CHECK_MESSAGE(alarm, st->DebugString());

  // The proof holds both envelopes exactly as RU signed them.
  auto proofs = client->GetForkProofs();
  REQUIRE(proofs.has_value());
  REQUIRE(proofs->proofs_size() == 1);
  CHECK(proofs->proofs(0).first().SerializeAsString() == first.envelope);
  CHECK(proofs->proofs(0).second().SerializeAsString() == second.envelope);

  auto cli = s.ua.Cli({"status"});
  CHECK(cli.code == 2);  // an alarm
  INFO(cli.out);
  CHECK(cli.out.find("fork proofs: 1") != std::string::npos);
  CHECK(cli.out.find("ALARM: the feed of RU forked") != std::string::npos);
}

TEST_CASE("malicious peer: an envelope of about 100 KB is refused as oversized and nothing is stored") {
  DecodedEntry big = SignRu(RuEntry(1, LedgerId(), std::string(100 * 1000, 'x')));
  REQUIRE(big.envelope.size() > kMaxEnvelopeBytes);
  REQUIRE(big.envelope.size() + 16 < static_cast<size_t>(kMaxPeerMessageBytes));

  Setup s({big.envelope}, 1);
  REQUIRE(s.ua.Start());
  const std::string line = s.WaitForRefusal("oversized");
  CHECK_MESSAGE(!line.empty(), test::ReadText(s.ua.log()));
  s.CheckAliveWithRuHead(0);
}

TEST_CASE("malicious peer: a message of about 1 MB is cut off by gRPC's size limit and nothing is stored") {
  DecodedEntry huge = SignRu(RuEntry(1, LedgerId(), std::string(1000 * 1000, 'x')));
  REQUIRE(huge.envelope.size() > static_cast<size_t>(kMaxPeerMessageBytes));

  Setup s({huge.envelope}, 1);
  REQUIRE(s.ua.Start());
  std::string line;
  test::Eventually(
      [&] { return !(line = s.LogLine({"msg=\"peer stream ended\"", "larger than max"})).empty(); },
      std::chrono::seconds(5));
  CHECK_MESSAGE(!line.empty(), test::ReadText(s.ua.log()));
  s.CheckAliveWithRuHead(0);
  // The replicator retries (with backoff) and clears last_error while each new
  // subscription is being set up, so the status is polled for the error.
  std::string last_error;
  CHECK_MESSAGE(test::Eventually([&] {
                  auto st = s.ua.Client()->GetStatus();
                  last_error = st ? st->peer().last_error() : st.error().ToString();
                  return last_error.find("larger than max") != std::string::npos;
                }, std::chrono::seconds(10)),
                last_error);
}

TEST_CASE("malicious peer: garbage bytes as an envelope are refused as malformed and nothing is stored") {
  std::string garbage = "this is not a SignedEntry";
  garbage += std::string(40, '\xff');

  Setup s({garbage}, 1);
  REQUIRE(s.ua.Start());
  const std::string line = s.WaitForRefusal("malformed");
  CHECK_MESSAGE(!line.empty(), test::ReadText(s.ua.log()));
  s.CheckAliveWithRuHead(0);
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
