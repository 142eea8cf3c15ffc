// `parley witness` as a real process on 127.0.0.1, driven over HTTP as a log
// would: a log the test builds itself (not Parley's), every add-checkpoint
// status code, the monitoring endpoint, restarts, and a rolled-back state.
#include <doctest/doctest.h>

#include <httplib.h>

#include <mutex>
#include <thread>

#include "crypto/hash.h"
#include "node_harness.h"
#include "tlog_fixtures.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using test::TestLog;

SecretKey WitnessKey() { return test::KeyFilledWith(0x78); }

constexpr const char* kWitnessName = "witness.example/e2e";

NoteVerifier WitnessVerifier() {
  return NoteVerifier{kWitnessName, NoteKeyType::kCosignatureV1, WitnessKey().public_key()};
}

// The answer of a 200: one cosignature line that verifies over the checkpoint.
bool Cosigns(const httplib::Result& r, const TestLog& log, uint64_t size) {
  if (!r || r->status != 200) return false;
  auto lines = ParseSignatureLines(r->body);
  if (!lines) return false;
  auto ok = VerifyNote(Note{log.CheckpointText(size), *lines}, std::vector{WitnessVerifier()});
  return ok.has_value() && (*ok)[0].timestamp > 1600000000;
}

TEST_CASE("parley witness over HTTP: every add-checkpoint status code, on a log that is not Parley's" *
          doctest::test_suite("e2e")) {
  test::TempDir dir;
  TestLog log{"log.example/e2e", 0x21};
  test::WitnessProcess w(dir.path(), kWitnessName, WitnessKey(), {log.verifier()});
  REQUIRE_MESSAGE(w.Start(), test::ReadText(w.log()));

  auto r = w.Post(log.Body(0, 4));
  CHECK(Cosigns(r, log, 4));

  TestLog stranger{"log.example/stranger", 0x21};
  r = w.Post(stranger.Body(0, 4));
  REQUIRE(r);
  CHECK(r->status == 404);

  TestLog impostor{"log.example/e2e", 0x22};
  r = w.Post(impostor.Body(4, 6));
  REQUIRE(r);
  CHECK(r->status == 403);

  r = w.Post("old 7\n\n" + log.SignedCheckpoint(6));
  REQUIRE(r);
  CHECK(r->status == 400);
  r = w.Post("garbage");
  REQUIRE(r);
  CHECK(r->status == 400);

  r = w.Post(log.Body(2, 6));
  REQUIRE(r);
  CHECK(r->status == 409);
  CHECK(r->get_header_value("Content-Type") == "text/x.tlog.size");
  CHECK(r->body == "4\n");

  TestLog fork{"log.example/e2e", 0x21, "fork", 2};
  r = w.Post(fork.Body(4, 6));
  REQUIRE(r);
  CHECK(r->status == 422);

  CHECK(Cosigns(w.Post(log.Body(4, 6)), log, 6));

  // The monitoring endpoint serves the last cosigned checkpoint.
  r = w.Get("/" + ToHex(Sha256(log.origin())) + "/checkpoint");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto note = ParseNote(r->body);
  REQUIRE(note.has_value());
  CHECK(note->text == log.CheckpointText(6));
  CHECK(VerifyNote(*note, std::vector{log.verifier(), WitnessVerifier()})->size() == 2);
  r = w.Get("/" + ToHex(Sha256("log.example/none")) + "/checkpoint");
  REQUIRE(r);
  CHECK(r->status == 404);

  CHECK(w.Stop() == 0);
}

TEST_CASE("parley witness: a restart keeps its state; a rolled-back state is refused at start with what to do" *
          doctest::test_suite("e2e")) {
  test::TempDir dir;
  TestLog log{"log.example/restart", 0x23};
  test::WitnessProcess w(dir.path(), kWitnessName, WitnessKey(), {log.verifier()});
  REQUIRE_MESSAGE(w.Start(), test::ReadText(w.log()));
  REQUIRE(Cosigns(w.Post(log.Body(0, 3)), log, 3));
  fs::copy_file(w.state(), dir.path() / "old.state");
  REQUIRE(Cosigns(w.Post(log.Body(3, 5)), log, 5));
  REQUIRE(w.Stop() == 0);

  // Restarted: it remembers size 5, and refuses a fork of it.
  REQUIRE_MESSAGE(w.Start(), test::ReadText(w.log()));
  auto r = w.Post(log.Body(0, 7));
  REQUIRE(r);
  CHECK(r->status == 409);
  CHECK(r->body == "5\n");
  TestLog fork{"log.example/restart", 0x23, "fork", 4};
  r = w.Post(fork.Body(5, 7));
  REQUIRE(r);
  CHECK(r->status == 422);
  REQUIRE(w.Stop() == 0);

  // The state restored from the older copy: the witness does not start.
  fs::copy_file(dir.path() / "old.state", w.state(), fs::copy_options::overwrite_existing);
  CHECK_FALSE(w.Start());
  CHECK(w.exit_code() != 0);
  const std::string err = test::ReadText(w.log());
  CHECK(err.find("rolled back") != std::string::npos);
  CHECK(err.find("Restore the newest state file") != std::string::npos);

  // The state deleted: refused too.
  fs::remove(w.state());
  CHECK_FALSE(w.Start());
  CHECK(test::ReadText(w.log()).find("is missing") != std::string::npos);
}

TEST_CASE("parley witness: concurrent HTTP submissions of two forks are cosigned for one fork only" *
          doctest::test_suite("e2e")) {
  test::TempDir dir;
  TestLog log{"log.example/race", 0x24};
  test::WitnessProcess w(dir.path(), kWitnessName, WitnessKey(), {log.verifier()});
  REQUIRE_MESSAGE(w.Start(), test::ReadText(w.log()));
  REQUIRE(Cosigns(w.Post(log.Body(0, 2)), log, 2));
  const TestLog forks[2] = {TestLog{log.origin(), 0x24, "a", 2}, TestLog{log.origin(), 0x24, "b", 2}};
  std::mutex mu;
  std::vector<int> winners;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      uint64_t old = 2;
      for (uint64_t n = 3 + t / 2; n <= 15; n += 3) {
        if (old > n) continue;
        auto r = w.Post(forks[t % 2].Body(old, n));
        if (r && r->status == 409) {
          old = std::stoull(r->body);
          if (old > n) continue;
          r = w.Post(forks[t % 2].Body(old, n));
        }
        if (r && r->status == 200) old = n;
        if (Cosigns(r, forks[t % 2], n)) {
          std::lock_guard lock(mu);
          winners.push_back(t % 2);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE_FALSE(winners.empty());
  for (int f : winners) CHECK(f == winners.front());
  CHECK(w.Stop() == 0);
}

TEST_CASE("parley witness over HTTPS with a certificate of parley tls init; plain HTTP gets no answer" *
          doctest::test_suite("e2e")) {
  test::TempDir dir;
  TestLog log{"log.example/tls", 0x26};
  auto made = test::RunParley({"tls", "init", "--out", (dir.path() / "tls").string(), "--name", "witness"});
  REQUIRE_MESSAGE(made.code == 0, made.err);
  test::WitnessProcess w(dir.path() / "w", kWitnessName, WitnessKey(), {log.verifier()});
  w.UseTls(dir.path() / "tls");
  REQUIRE_MESSAGE(w.Start(), test::ReadText(w.log()));
  CHECK(Cosigns(w.Post(log.Body(0, 3)), log, 3));
  httplib::Client plain("127.0.0.1", w.port());
  auto r = plain.Post("/add-checkpoint", log.Body(3, 4), "text/plain");
  CHECK_FALSE((r && r->status == 200));
  CHECK(w.Stop() == 0);
}

TEST_CASE("parley witness --print-vkey prints the cosignature/v1 verifier key" * doctest::test_suite("e2e")) {
  test::TempDir dir;
  TestLog log{"log.example/vkey", 0x25};
  test::WitnessProcess w(dir.path(), kWitnessName, WitnessKey(), {log.verifier()});
  ::setenv("PARLEY_TEST_PASSPHRASE", "test passphrase", 1);
  auto r = test::RunParley({"witness", "--config", w.config().string(), "--print-vkey"});
  CHECK(r.code == 0);
  CHECK(r.out == FormatVerifierKey(WitnessVerifier()) + "\n");
}

}  // namespace
}  // namespace parley
