// The log's side of add-checkpoint (node/witness/submit.h) against a real
// witness HTTP server in this process on 127.0.0.1: first submission,
// re-synchronisation on 409, a fork refused, a witness that has seen more,
// a wrong witness key, a witness that is down.
#include <doctest/doctest.h>

#include <thread>

#include "fixtures.h"
#include "node/witness/server.h"
#include "node/witness/submit.h"
#include "node/witness/witness.h"
#include "tlog_fixtures.h"

namespace parley {
namespace {

using test::TestLog;

SecretKey WitnessKey() { return test::KeyFilledWith(0x79); }

struct Running {
  test::TempDir dir;
  TestLog log{"log.example/submit", 0x31};
  std::unique_ptr<Witness> witness;
  std::unique_ptr<WitnessServer> server;
  std::thread serving;

  Running() {
    WitnessOptions o;
    o.name = "witness.example/submit";
    o.logs = {log.witness_log()};
    o.state_file = dir.path() / "state";
    o.high_water_mark = dir.path() / "mark";
    witness = Witness::Open(WitnessKey(), std::move(o)).value();
    server = WitnessServer::Bind(witness.get(), "127.0.0.1:0").value();
    serving = std::thread([this] { server->Serve(); });
  }
  ~Running() {
    server->Stop();
    serving.join();
  }
  WitnessEndpoint Endpoint() const {
    WitnessEndpoint e;
    e.url = "http://127.0.0.1:" + std::to_string(server->port());
    e.key = witness->verifier();
    return e;
  }
};

TEST_CASE("submit: a first checkpoint, then growth, then from a stale size through one 409") {
  Running w;
  auto first = SubmitCheckpoint(w.Endpoint(), w.log.Tree(3), w.log.SignedCheckpoint(3), 0);
  REQUIRE_MESSAGE(first.has_value(), first.error().ToString());
  CHECK(first->size == 3);
  CHECK(first->timestamp > 1600000000);
  auto more = SubmitCheckpoint(w.Endpoint(), w.log.Tree(9), w.log.SignedCheckpoint(9), 3);
  REQUIRE_MESSAGE(more.has_value(), more.error().ToString());
  // A log that does not know what the witness cosigned starts from 0 and is
  // told 9; the second attempt carries the proof from 9.
  auto resync = SubmitCheckpoint(w.Endpoint(), w.log.Tree(12), w.log.SignedCheckpoint(12), 0);
  REQUIRE_MESSAGE(resync.has_value(), resync.error().ToString());
  CHECK(resync->size == 12);
  // The cosignature verifies over the checkpoint with the witness's vkey.
  auto note = ParseNote(w.log.SignedCheckpoint(12));
  note->signatures.push_back(resync->cosignature);
  CHECK(VerifyNote(*note, std::vector{w.witness->verifier()}).has_value());
}

TEST_CASE("submit: each refusal is its own error") {
  Running w;
  REQUIRE(SubmitCheckpoint(w.Endpoint(), w.log.Tree(6), w.log.SignedCheckpoint(6), 0).has_value());
  SUBCASE("a fork of the log: 422 is kRejected") {
    TestLog fork{w.log.origin(), 0x31, "fork", 4};
    auto r = SubmitCheckpoint(w.Endpoint(), fork.Tree(8), fork.SignedCheckpoint(8), 6);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kRejected);
  }
  SUBCASE("the witness has cosigned more than this log holds: kFailedPrecondition") {
    auto r = SubmitCheckpoint(w.Endpoint(), w.log.Tree(4), w.log.SignedCheckpoint(4), 0);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kFailedPrecondition);
    CHECK(r.error().message().find("size 6") != std::string::npos);
  }
  SUBCASE("another key for the log: 403") {
    TestLog impostor{w.log.origin(), 0x32};
    auto r = SubmitCheckpoint(w.Endpoint(), impostor.Tree(7), impostor.SignedCheckpoint(7), 6);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kPermissionDenied);
  }
  SUBCASE("an unknown origin: 404") {
    TestLog stranger{"log.example/stranger", 0x31};
    auto r = SubmitCheckpoint(w.Endpoint(), stranger.Tree(2), stranger.SignedCheckpoint(2), 0);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kNotFound);
  }
  SUBCASE("a cosignature by another key than the one trusted: kDataLoss") {
    WitnessEndpoint e = w.Endpoint();
    e.key.key = TestLog("x", 0x33).key().public_key();
    auto r = SubmitCheckpoint(e, w.log.Tree(7), w.log.SignedCheckpoint(7), 6);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kDataLoss);
  }
}

TEST_CASE("submit: a witness that is down is kUnavailable, within the timeout") {
  WitnessEndpoint e;
  {
    Running w;
    e = w.Endpoint();
  }
  e.timeout = std::chrono::milliseconds(500);
  const TestLog log{"log.example/submit", 0x31};
  auto r = SubmitCheckpoint(e, log.Tree(2), log.SignedCheckpoint(2), 0);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kUnavailable);
}

}  // namespace
}  // namespace parley
