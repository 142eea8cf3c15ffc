// The witness (node/witness/witness.h) without HTTP: every add-checkpoint
// status code of c2sp.org/tlog-witness on a log the test builds itself, the
// durable state across restarts, and refusal of a lost or rolled-back state.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "crypto/endian.h"
#include "crypto/hash.h"
#include "fixtures.h"
#include "node/witness/config.h"
#include "node/witness/witness.h"
#include "tlog_fixtures.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
using test::TestLog;

SecretKey WitnessKey() { return test::KeyFilledWith(0x77); }

struct Fixture {
  test::TempDir dir;
  TestLog log{"example.org/test-log", 0x11};
  TestLog other{"example.org/other-log", 0x12};
  uint64_t now = 1700000000;

  WitnessOptions Options() {
    WitnessOptions o;
    o.name = "witness.example/w1";
    o.logs = {log.witness_log(), other.witness_log()};
    o.state_file = dir.path() / "witness.state";
    o.high_water_mark = dir.path() / "mark" / "witness.hwm";
    o.evidence_dir = dir.path() / "evidence";
    fs::create_directories(dir.path() / "mark");
    o.now_seconds = [this] { return now; };
    return o;
  }
  std::unique_ptr<Witness> Open() {
    auto w = Witness::Open(WitnessKey(), Options());
    REQUIRE_MESSAGE(w.has_value(), w.error().ToString());
    return std::move(w).value();
  }
};

// The cosignature in a 200 answer verifies over the checkpoint, with the
// witness's time.
void CheckCosigned(const WitnessResponse& r, const TestLog& log, uint64_t size, uint64_t time) {
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto lines = ParseSignatureLines(r.body);
  REQUIRE(lines.has_value());
  REQUIRE(lines->size() == 1);
  const NoteVerifier w{"witness.example/w1", NoteKeyType::kCosignatureV1, WitnessKey().public_key()};
  Note note{log.CheckpointText(size), *lines};
  auto ok = VerifyNote(note, std::vector{w});
  REQUIRE(ok.has_value());
  CHECK((*ok)[0].timestamp == time);
}

TEST_CASE("witness: cosigns a first checkpoint from old size 0 and then consistent growth, with its own time") {
  Fixture f;
  auto w = f.Open();
  CheckCosigned(w->AddCheckpoint(f.log.Body(0, 3)), f.log, 3, f.now);
  f.now += 60;
  CheckCosigned(w->AddCheckpoint(f.log.Body(3, 7)), f.log, 7, f.now);
  // The same size and root again: cosigned again (a fresh time).
  f.now += 1;
  CheckCosigned(w->AddCheckpoint(f.log.Body(7, 7)), f.log, 7, f.now);
  // Sizes up to a power of two and beyond it.
  CheckCosigned(w->AddCheckpoint(f.log.Body(7, 8)), f.log, 8, f.now);
  CheckCosigned(w->AddCheckpoint(f.log.Body(8, 33)), f.log, 33, f.now);
  // The stored note is the checkpoint with the log's signature and the cosignature.
  auto latest = w->Latest(f.log.origin());
  REQUIRE(latest.has_value());
  auto note = ParseNote(*latest);
  REQUIRE(note.has_value());
  CHECK(note->text == f.log.CheckpointText(33));
  CHECK(note->signatures.size() == 2);
  // Another log is independent.
  CheckCosigned(w->AddCheckpoint(f.other.Body(0, 2)), f.other, 2, f.now);
}

TEST_CASE("witness: an empty tree is cosigned only with the empty root") {
  Fixture f;
  auto w = f.Open();
  CheckCosigned(w->AddCheckpoint(f.log.Body(0, 0)), f.log, 0, f.now);
  const std::string text = FormatCheckpoint(Checkpoint{f.log.origin(), 0, Sha256("not empty"), {}});
  const std::string body = "old 0\n\n" + FormatNote(Note{text, {SignNote(f.log.key(), f.log.origin(), text)}});
  CHECK(w->AddCheckpoint(body).status == 422);
}

TEST_CASE("witness: 404 for an unknown origin") {
  Fixture f;
  auto w = f.Open();
  TestLog stranger{"example.org/stranger", 0x11};  // same key, unknown origin
  const WitnessResponse r = w->AddCheckpoint(stranger.Body(0, 2));
  CHECK(r.status == 404);
  CHECK_FALSE(w->Latest(stranger.origin()).has_value());
}

TEST_CASE("witness: 403 without a valid signature of a trusted key; unknown signature lines are ignored") {
  Fixture f;
  auto w = f.Open();
  const std::string text = f.log.CheckpointText(4);
  const std::string proofless = "old 0\n\n";
  TestLog impostor{f.log.origin(), 0x99};  // same origin, another key
  SUBCASE("signed by another key only") {
    CHECK(w->AddCheckpoint(impostor.Body(0, 4)).status == 403);
  }
  SUBCASE("the trusted key's line does not verify") {
    NoteSignature sig = SignNote(f.log.key(), f.log.origin(), text);
    sig.signature[0] ^= 1;
    CHECK(w->AddCheckpoint(proofless + FormatNote(Note{text, {sig}})).status == 403);
  }
  SUBCASE("a trusted key's valid line next to a bad one of the same key") {
    NoteSignature good = SignNote(f.log.key(), f.log.origin(), text);
    NoteSignature bad = good;
    bad.signature[1] ^= 1;
    CHECK(w->AddCheckpoint(proofless + FormatNote(Note{text, {good, bad}})).status == 403);
  }
  SUBCASE("unknown lines around the trusted one are ignored") {
    Note note{text,
              {SignNote(impostor.key(), f.log.origin(), text), SignNote(f.log.key(), f.log.origin(), text),
               SignNote(impostor.key(), "someone.example/else", text),
               Cosign(impostor.key(), "witness.example/other", text, 5)}};
    CheckCosigned(w->AddCheckpoint(proofless + FormatNote(note)), f.log, 4, f.now);
  }
  CHECK(w->generation() <= 1);
}

TEST_CASE("witness: 400 for a malformed body or an old size above the size, naming the fault") {
  Fixture f;
  auto w = f.Open();
  const std::string cp = f.log.SignedCheckpoint(5);
  const std::string h = ToBase64(Sha256("h").view()) + "\n";
  std::string sixty_four = "old 0\n";
  for (int i = 0; i < 64; ++i) sixty_four += h;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "old size"},
      {"old 0", "old size"},
      {"new 0\n\n" + cp, "old <size>"},
      {"old 01\n\n" + cp, "decimal"},
      {"old -1\n\n" + cp, "decimal"},
      {"old 0\n" + cp, "proof line"},  // no empty line: the origin is read as a proof line
      {"old 0\nAAAA\n\n" + cp, "32 bytes"},
      {sixty_four + "\n" + cp, "63"},
      {"old 0\n\nnot a note\n", "note"},
      {"old 0\n\n" + f.log.CheckpointText(5), "note"},
      {"old 0\n\nx\n\n" + cp.substr(cp.find("\xE2\x80\x94")), "checkpoint"},
      {"old 6\n\n" + cp, "above"},
  };
  for (const auto& [body, says] : cases) {
    CAPTURE(body.substr(0, 60));
    const WitnessResponse r = w->AddCheckpoint(body);
    CHECK(r.status == 400);
    CHECK(r.body.find(says) != std::string::npos);
  }
  // 63 proof lines is the limit, not an error of form (here the proof is wrong: 422).
  std::string sixty_three = "old 0\n";
  for (int i = 0; i < 63; ++i) sixty_three += h;
  CHECK(w->AddCheckpoint(sixty_three + "\n" + cp).status == 422);
  CHECK(w->generation() == 0);
}

TEST_CASE("witness: 409 with text/x.tlog.size and the last cosigned size when the old size is not it") {
  Fixture f;
  auto w = f.Open();
  WitnessResponse r = w->AddCheckpoint(f.log.Body(2, 5));
  CHECK(r.status == 409);
  CHECK(r.content_type == "text/x.tlog.size");
  CHECK(r.body == "0\n");
  REQUIRE(w->AddCheckpoint(f.log.Body(0, 5)).status == 200);
  for (uint64_t old : {0, 3, 6}) {
    CAPTURE(old);
    r = w->AddCheckpoint(f.log.Body(old, 9));
    CHECK(r.status == 409);
    CHECK(r.content_type == "text/x.tlog.size");
    CHECK(r.body == "5\n");
  }
  CHECK(w->AddCheckpoint(f.log.Body(5, 9)).status == 200);
}

TEST_CASE("witness: 422 for a proof that does not verify, a fork, or a proof from size 0") {
  Fixture f;
  auto w = f.Open();
  SUBCASE("a proof with old size 0") {
    AddCheckpointRequest req{0, {Sha256("x")}, f.log.SignedCheckpoint(3)};
    CHECK(w->AddCheckpoint(FormatAddCheckpoint(req)).status == 422);
  }
  REQUIRE(w->AddCheckpoint(f.log.Body(0, 5)).status == 200);
  const uint64_t before = w->generation();
  SUBCASE("a tampered proof") {
    AddCheckpointRequest req{5, f.log.Tree(9).ConsistencyProof(5), f.log.SignedCheckpoint(9)};
    req.proof[0].bytes[0] ^= 1;
    CHECK(w->AddCheckpoint(FormatAddCheckpoint(req)).status == 422);
  }
  SUBCASE("an empty proof") {
    AddCheckpointRequest req{5, {}, f.log.SignedCheckpoint(9)};
    CHECK(w->AddCheckpoint(FormatAddCheckpoint(req)).status == 422);
  }
  SUBCASE("a fork: the same log key, leaves rewritten from 3 on, with its own valid proof") {
    TestLog fork{f.log.origin(), 0x11, "fork", 3};
    CHECK(w->AddCheckpoint(fork.Body(5, 9)).status == 422);
    // The same size with another root.
    CHECK(w->AddCheckpoint(fork.Body(5, 5)).status == 422);
  }
  CHECK(w->generation() == before);
  CHECK(ParseNote(*w->Latest(f.log.origin()))->text == f.log.CheckpointText(5));
}

TEST_CASE("witness: a refused fork the log validly signed is kept as evidence, once; others are not") {
  Fixture f;
  auto w = f.Open();
  REQUIRE(w->AddCheckpoint(f.log.Body(0, 5)).status == 200);
  TestLog fork{f.log.origin(), 0x11, "fork", 3};
  const std::string body = fork.Body(5, 9);
  CHECK(w->AddCheckpoint(body).status == 422);
  CHECK(w->AddCheckpoint(body).status == 422);
  const fs::path kept = f.dir.path() / "evidence" / (ToHex(Sha256(body)) + ".txt");
  REQUIRE(fs::exists(kept));
  std::ifstream in(kept, std::ios::binary);
  CHECK(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()) == body);
  // Not kept: a 409, an impostor's 403, a malformed 400.
  CHECK(w->AddCheckpoint(f.log.Body(2, 9)).status == 409);
  CHECK(w->AddCheckpoint(TestLog(f.log.origin(), 0x99, "fork", 3).Body(5, 9)).status == 403);
  CHECK(w->AddCheckpoint("old x\n\n").status == 400);
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(f.dir.path() / "evidence")) ++files;
  CHECK(files == 1);
}

TEST_CASE("witness: a restart keeps the last cosigned checkpoint: old sizes are checked against it") {
  Fixture f;
  {
    auto w = f.Open();
    REQUIRE(w->AddCheckpoint(f.log.Body(0, 6)).status == 200);
  }
  auto w = f.Open();
  CHECK(w->generation() == 1);
  WitnessResponse r = w->AddCheckpoint(f.log.Body(0, 8));
  CHECK(r.status == 409);
  CHECK(r.body == "6\n");
  TestLog fork{f.log.origin(), 0x11, "fork", 2};
  CHECK(w->AddCheckpoint(fork.Body(6, 8)).status == 422);
  CHECK(w->AddCheckpoint(f.log.Body(6, 8)).status == 200);
}

TEST_CASE("witness: refuses to start on a rolled-back or lost state, saying what to do; nothing is changed") {
  Fixture f;
  {
    auto w = f.Open();
    REQUIRE(w->AddCheckpoint(f.log.Body(0, 3)).status == 200);
  }
  const fs::path state = f.dir.path() / "witness.state";
  const fs::path copy = f.dir.path() / "old.state";
  fs::copy_file(state, copy);
  {
    auto w = f.Open();
    REQUIRE(w->AddCheckpoint(f.log.Body(3, 5)).status == 200);
  }
  SUBCASE("rolled back to an older copy") {
    fs::copy_file(copy, state, fs::copy_options::overwrite_existing);
    auto w = Witness::Open(WitnessKey(), f.Options());
    REQUIRE_FALSE(w.has_value());
    CHECK(w.error().code() == Code::kFailedPrecondition);
    CHECK(w.error().message().find("rolled back") != std::string::npos);
    CHECK(w.error().message().find("Restore the newest state file") != std::string::npos);
  }
  SUBCASE("lost") {
    fs::remove(state);
    auto w = Witness::Open(WitnessKey(), f.Options());
    REQUIRE_FALSE(w.has_value());
    CHECK(w.error().code() == Code::kFailedPrecondition);
    CHECK(w.error().message().find("missing") != std::string::npos);
    CHECK_FALSE(fs::exists(state));
  }
  // The file's two regions (§15.5): the first write laid the file out with
  // generation 1 in region 0; the second wrote generation 2 into region 1.
  std::string bytes;
  const auto damage = [&](size_t r) {
    if (bytes.empty()) bytes = ReadFile(state);
    REQUIRE(bytes.substr(0, 8) == "PARLEYWS");
    const size_t region = ReadLittleEndian32(std::string_view(bytes).substr(8, 4));
    bytes[16 + r * region + 30] ^= 1;  // inside its state's key
    std::ofstream(state, std::ios::binary | std::ios::trunc) << bytes;
  };
  SUBCASE("the older region torn (a crash while writing it, before the mark moved): the newer stands") {
    damage(0);
    auto w = Witness::Open(WitnessKey(), f.Options());
    REQUIRE_MESSAGE(w.has_value(), w.error().ToString());
    CHECK((*w)->generation() == 2);
    CHECK((*w)->AddCheckpoint(f.log.Body(5, 6)).status == 200);
  }
  SUBCASE("the newer region damaged: the older one is behind the mark, so it is refused as rolled back") {
    damage(1);
    auto w = Witness::Open(WitnessKey(), f.Options());
    REQUIRE_FALSE(w.has_value());
    CHECK(w.error().code() == Code::kFailedPrecondition);
    CHECK(w.error().message().find("rolled back") != std::string::npos);
    CHECK(ReadFile(state) == bytes);
  }
  SUBCASE("corrupt: both regions damaged") {
    damage(0);
    damage(1);
    auto w = Witness::Open(WitnessKey(), f.Options());
    REQUIRE_FALSE(w.has_value());
    CHECK(w.error().code() == Code::kDataLoss);
    CHECK(w.error().message().find("corrupt") != std::string::npos);
    CHECK(ReadFile(state) == bytes);
  }
  SUBCASE("another witness key's state") {
    auto w = Witness::Open(SecretKey::FromSeed(test::SeedFrom(0x01)), f.Options());
    REQUIRE_FALSE(w.has_value());
  }
}

TEST_CASE("witness: when the state cannot be written nothing is cosigned and the old state stands") {
  Fixture f;
  WitnessOptions o = f.Options();
  o.state_file = f.dir.path() / "no-such-folder" / "witness.state";
  auto w = Witness::Open(WitnessKey(), std::move(o)).value();
  const WitnessResponse r = w->AddCheckpoint(f.log.Body(0, 3));
  CHECK(r.status == 500);
  CHECK(r.body.find("nothing was cosigned") != std::string::npos);
  CHECK(r.body.find("\xE2\x80\x94") == std::string::npos);
  CHECK_FALSE(w->Latest(f.log.origin()).has_value());
  CHECK(w->generation() == 0);
}

TEST_CASE("witness: concurrent submissions of two forks never yield cosignatures of inconsistent trees") {
  Fixture f;
  auto w = f.Open();
  REQUIRE(w->AddCheckpoint(f.log.Body(0, 3)).status == 200);
  const TestLog forks[2] = {TestLog{f.log.origin(), 0x11, "a", 3}, TestLog{f.log.origin(), 0x11, "b", 3}};
  std::mutex mu;
  std::vector<std::pair<int, uint64_t>> cosigned;  // (fork, size)
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const TestLog& mine = forks[t % 2];
      uint64_t old = 3;
      for (uint64_t n = 4 + t / 2; n <= 40; n += 4) {
        if (old > n) continue;
        WitnessResponse r = w->AddCheckpoint(mine.Body(old, n));
        if (r.status == 409) {  // re-synchronise, as a log does, and retry once
          old = std::stoull(r.body);
          if (old > n) continue;
          r = w->AddCheckpoint(mine.Body(old, n));
        }
        if (r.status == 200) {
          std::lock_guard lock(mu);
          cosigned.emplace_back(t % 2, n);
          old = n;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE_FALSE(cosigned.empty());
  // Every cosigned checkpoint above the common prefix belongs to one fork.
  for (const auto& [fork, size] : cosigned) CHECK(fork == cosigned.front().first);
  // And the witness's state is one of them.
  const TestLog& winner = forks[cosigned.front().first];
  uint64_t largest = 0;
  for (const auto& c : cosigned) largest = std::max(largest, c.second);
  CHECK(ParseNote(*w->Latest(f.log.origin()))->text == winner.CheckpointText(largest));
}

// Many logs for the group-commit tests: log i has origin example.org/log-i.
struct ManyLogs {
  test::TempDir dir;
  std::vector<TestLog> logs;
  explicit ManyLogs(int n) {
    for (int i = 0; i < n; ++i) logs.emplace_back("example.org/log-" + std::to_string(i), static_cast<uint8_t>(0x20 + i));
    fs::create_directories(dir.path() / "state");
    fs::create_directories(dir.path() / "mark");
  }
  std::unique_ptr<Witness> Open(std::function<Status(uint64_t)> before_write = {}) {
    WitnessOptions o;
    o.name = "witness.example/w1";
    o.before_write = std::move(before_write);
    for (const auto& l : logs) o.logs.push_back(l.witness_log());
    o.state_file = dir.path() / "state" / "witness.state";
    o.high_water_mark = dir.path() / "mark" / "witness.hwm";
    o.now_seconds = [] { return uint64_t{1700000000}; };
    auto w = Witness::Open(WitnessKey(), std::move(o));
    REQUIRE_MESSAGE(w.has_value(), w.error().ToString());
    return std::move(w).value();
  }
};

struct Cosigned {
  size_t log;
  uint64_t old_size, size;
};

// Thread `t` submits growth of log `t % shared_logs` (several threads per
// log race from the same old sizes, re-synchronising on 409 as a log does)
// until it reaches `top` or gets a 500; every 200 is recorded.
void Submitter(Witness& w, const ManyLogs& m, size_t log, uint64_t step, uint64_t top, std::mutex& mu,
               std::vector<Cosigned>& cosigned, std::atomic<int>& failures) {
  uint64_t old = 0;
  for (uint64_t n = step; n <= top;) {
    const WitnessResponse r = w.AddCheckpoint(m.logs[log].Body(old, n));
    if (r.status == 200) {
      std::lock_guard lock(mu);
      cosigned.push_back({log, old, n});
      old = n;
      n += step;
    } else if (r.status == 409) {
      old = std::stoull(r.body);
      if (old >= n) n = old + step;
    } else {
      CHECK_MESSAGE(r.status == 500, r.body);
      ++failures;
      return;
    }
  }
}

TEST_CASE("witness group commit: concurrent requests, same and distinct origins: one cosignature per old size; "
          "the durable state is the in-memory one") {
  ManyLogs m(6);
  auto w = m.Open();
  std::mutex mu;
  std::vector<Cosigned> cosigned;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  // Logs 0 and 1: four threads each, racing (steps 1..4); logs 2..5: one thread each.
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] { Submitter(*w, m, t % 2, 1 + t / 2, 40, mu, cosigned, failures); });
  }
  for (size_t l = 2; l < 6; ++l) {
    threads.emplace_back([&, l] { Submitter(*w, m, l, 1, 30, mu, cosigned, failures); });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(w->generation() == cosigned.size());
  std::vector<std::string> latest;
  for (size_t l = 0; l < m.logs.size(); ++l) {
    CAPTURE(l);
    // Exactly one cosignature per old size, and they chain: each starts where the previous one ended.
    std::map<uint64_t, uint64_t> from;  // old size → size
    for (const auto& c : cosigned) {
      if (c.log == l) CHECK(from.emplace(c.old_size, c.size).second);
    }
    REQUIRE_FALSE(from.empty());
    uint64_t at = 0;
    for (const auto& [old_size, size] : from) {
      CHECK(old_size == at);
      at = size;
    }
    if (l >= 2) CHECK(from.size() == 30);
    auto note = w->Latest(m.logs[l].origin());
    REQUIRE(note.has_value());
    CHECK(ParseNote(*note)->text == m.logs[l].CheckpointText(at));
    latest.push_back(*note);
  }
  const uint64_t generation = w->generation();
  w.reset();
  // Reopened: the same notes, the same generation, and the next old size is the last cosigned one.
  auto again = m.Open();
  CHECK(again->generation() == generation);
  for (size_t l = 0; l < m.logs.size(); ++l) CHECK(again->Latest(m.logs[l].origin()) == latest[l]);
  CHECK(again->AddCheckpoint(m.logs[2].Body(29, 31)).status == 409);
  CHECK(again->AddCheckpoint(m.logs[2].Body(30, 31)).status == 200);
}

TEST_CASE("witness group commit: a failed state write answers 500, and nothing is cosigned after it until a restart") {
  ManyLogs m(2);
  std::atomic<bool> disk_fails{false};
  auto w = m.Open([&](uint64_t) { return disk_fails ? Status(Code::kIoError, "disk gone") : Status::Ok(); });
  REQUIRE(w->AddCheckpoint(m.logs[0].Body(0, 3)).status == 200);
  const std::string before = *w->Latest(m.logs[0].origin());
  disk_fails = true;
  WitnessResponse r = w->AddCheckpoint(m.logs[0].Body(3, 5));
  CHECK(r.status == 500);
  CHECK(r.body.find("nothing was cosigned") != std::string::npos);
  CHECK(r.body.find("disk gone") != std::string::npos);
  disk_fails = false;  // the disk is back, but memory is ahead of it
  for (const std::string& body : {m.logs[0].Body(3, 6), m.logs[0].Body(5, 6), m.logs[1].Body(0, 2)}) {
    r = w->AddCheckpoint(body);
    CHECK(r.status == 500);
    CHECK(r.body.find("restart") != std::string::npos);
  }
  // Only what was durable shows.
  CHECK(w->Latest(m.logs[0].origin()) == before);
  CHECK_FALSE(w->Latest(m.logs[1].origin()).has_value());
  CHECK(w->generation() == 1);
  w.reset();
  auto again = m.Open();
  CHECK(again->Latest(m.logs[0].origin()) == before);
  r = again->AddCheckpoint(m.logs[0].Body(5, 6));
  CHECK(r.status == 409);
  CHECK(r.body == "3\n");
  CHECK(again->AddCheckpoint(m.logs[0].Body(3, 6)).status == 200);
}

TEST_CASE("witness group commit: a write failing under concurrent requests: every request of it and after it gets "
          "500; every 200 is durable") {
  ManyLogs m(8);
  std::atomic<bool> disk_fails{false};
  auto w = m.Open([&](uint64_t) { return disk_fails ? Status(Code::kIoError, "disk gone") : Status::Ok(); });
  std::mutex mu;
  std::vector<Cosigned> cosigned;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] { Submitter(*w, m, t % 8, 1, 1000000, mu, cosigned, failures); });
  }
  // Let some writes succeed, then the disk fails: some write fails.
  while (w->generation() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  disk_fails = true;
  for (auto& t : threads) t.join();  // each ends on its first 500
  CHECK(failures == 16);
  disk_fails = false;
  CHECK(w->AddCheckpoint(m.logs[0].Body(0, 1)).status == 500);
  CHECK(w->generation() == cosigned.size());
  std::vector<uint64_t> largest(m.logs.size(), 0);
  for (const auto& c : cosigned) largest[c.log] = std::max(largest[c.log], c.size);
  for (size_t l = 0; l < m.logs.size(); ++l) {
    CAPTURE(l);
    auto note = w->Latest(m.logs[l].origin());
    if (largest[l] == 0) {
      CHECK_FALSE(note.has_value());
    } else {
      REQUIRE(note.has_value());
      CHECK(ParseNote(*note)->text == m.logs[l].CheckpointText(largest[l]));
    }
  }
  const uint64_t generation = w->generation();
  w.reset();
  // The disk holds every 200 (and, had the write failed after its data
  // reached the disk, checkpoints nobody was given a cosignature of).
  auto again = m.Open();
  CHECK(again->generation() >= generation);
  for (size_t l = 0; l < m.logs.size(); ++l) {
    CAPTURE(l);
    auto note = again->Latest(m.logs[l].origin());
    uint64_t size = 0;
    if (note.has_value()) size = ParseCheckpoint(ParseNote(*note)->text)->size;
    CHECK(size >= largest[l]);
    if (note.has_value()) CHECK(ParseNote(*note)->text == m.logs[l].CheckpointText(size));
    const WitnessResponse r = again->AddCheckpoint(m.logs[l].Body(size, size + 1));
    CHECK_MESSAGE(r.status == 200, r.body);
  }
}

// A before_write hook that holds the write of one generation until Open()
// is called, and records every generation written.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t hold = 0;  // the generation to hold (0: none)
  bool held = false, open = false;
  uint64_t fail_from = UINT64_MAX;  // writes of this generation or later fail
  std::vector<uint64_t> written;
  Status Before(uint64_t generation) {
    std::unique_lock lock(mu);
    written.push_back(generation);
    if (generation == hold) {
      held = true;
      cv.notify_all();
      cv.wait(lock, [&] { return open; });
    }
    if (generation >= fail_from) return Status(Code::kIoError, "injected write failure");
    return Status::Ok();
  }
  void WaitHeld() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return held; });
  }
  void Open() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
};

// Waits until the witness has accepted (not necessarily written) a
// checkpoint of `size` for `log`: a 409 to a probe from old size 1 then names
// that size. REQUIRES: size != 1.
void WaitAccepted(Witness& w, const TestLog& log, uint64_t size) {
  for (int i = 0; i < 10000; ++i) {
    const WitnessResponse r = w.AddCheckpoint(log.Body(1, 1));
    if (r.status == 409 && r.body == std::to_string(size) + "\n") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  FAIL("the witness never accepted size " << size);
}

TEST_CASE("witness group commit: nothing is answered or shown before its write is durable; requests accepted during a "
          "write share the next one") {
  ManyLogs m(4);
  Gate gate;
  gate.hold = 2;
  auto w = m.Open([&](uint64_t g) { return gate.Before(g); });
  REQUIRE(w->AddCheckpoint(m.logs[0].Body(0, 3)).status == 200);  // generation 1
  const std::string first = *w->Latest(m.logs[0].origin());
  std::atomic<int> answered{0};
  std::vector<int> status(4, 0);
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    status[0] = w->AddCheckpoint(m.logs[0].Body(3, 5)).status;  // generation 2: held
    ++answered;
  });
  gate.WaitHeld();
  for (size_t l = 1; l < 4; ++l) {
    threads.emplace_back([&, l] {
      status[l] = w->AddCheckpoint(m.logs[l].Body(0, 2)).status;  // generations 3-5
      ++answered;
    });
  }
  for (size_t l = 1; l < 4; ++l) WaitAccepted(*w, m.logs[l], 2);
  // The pending checkpoint of log 0 is what the next request is checked against...
  WitnessResponse r = w->AddCheckpoint(m.logs[0].Body(3, 6));
  CHECK(r.status == 409);
  CHECK(r.body == "5\n");
  // ...but nothing of it, or of the others, has left the witness.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(answered == 0);
  CHECK(w->Latest(m.logs[0].origin()) == first);
  for (size_t l = 1; l < 4; ++l) CHECK_FALSE(w->Latest(m.logs[l].origin()).has_value());
  CHECK(w->generation() == 1);
  gate.Open();
  for (auto& t : threads) t.join();
  for (int s : status) CHECK(s == 200);
  // Three writes: generation 1, the held 2, then 3-5 at once.
  CHECK(gate.written == std::vector<uint64_t>{1, 2, 5});
  CHECK(w->generation() == 5);
  CHECK(ParseNote(*w->Latest(m.logs[0].origin()))->text == m.logs[0].CheckpointText(5));
}

TEST_CASE("witness group commit: an injected write failure answers 500 to every request of that write and to all "
          "later ones; the earlier write stands") {
  ManyLogs m(4);
  Gate gate;
  gate.hold = 2;
  gate.fail_from = 3;
  auto w = m.Open([&](uint64_t g) { return gate.Before(g); });
  REQUIRE(w->AddCheckpoint(m.logs[0].Body(0, 3)).status == 200);
  std::vector<WitnessResponse> answers(4);
  std::vector<std::thread> threads;
  threads.emplace_back([&] { answers[0] = w->AddCheckpoint(m.logs[0].Body(3, 5)); });
  gate.WaitHeld();
  for (size_t l = 1; l < 4; ++l) threads.emplace_back([&, l] { answers[l] = w->AddCheckpoint(m.logs[l].Body(0, 2)); });
  for (size_t l = 1; l < 4; ++l) WaitAccepted(*w, m.logs[l], 2);
  gate.Open();
  for (auto& t : threads) t.join();
  CHECK(answers[0].status == 200);  // its write (generation 2) succeeded
  for (size_t l = 1; l < 4; ++l) {
    CHECK(answers[l].status == 500);
    CHECK(answers[l].body.find("nothing was cosigned") != std::string::npos);
    CHECK(answers[l].body.find("injected write failure") != std::string::npos);
    CHECK_FALSE(w->Latest(m.logs[l].origin()).has_value());
  }
  WitnessResponse r = w->AddCheckpoint(m.logs[0].Body(5, 6));
  CHECK(r.status == 500);
  CHECK(r.body.find("state not durable, restart") != std::string::npos);
  CHECK(w->generation() == 2);
  CHECK(gate.written == std::vector<uint64_t>{1, 2, 5});
  w.reset();
  auto again = m.Open();
  CHECK(again->generation() == 2);
  CHECK(ParseNote(*again->Latest(m.logs[0].origin()))->text == m.logs[0].CheckpointText(5));
  for (size_t l = 1; l < 4; ++l) CHECK_FALSE(again->Latest(m.logs[l].origin()).has_value());
  CHECK(again->AddCheckpoint(m.logs[1].Body(0, 2)).status == 200);
}

TEST_CASE("witness group commit: after a write of several requests the committer lingers for more; Flush ends the wait") {
  ManyLogs m(3);
  Gate gate;
  gate.hold = 1;
  std::unique_ptr<Witness> w;
  {
    WitnessOptions opts;
    opts.name = "witness.example/w1";
    opts.before_write = [&](uint64_t g) { return gate.Before(g); };
    for (const auto& l : m.logs) opts.logs.push_back(l.witness_log());
    opts.state_file = m.dir.path() / "state" / "witness.state";
    opts.high_water_mark = m.dir.path() / "mark" / "witness.hwm";
    opts.commit_linger = std::chrono::seconds(30);
    w = Witness::Open(WitnessKey(), std::move(opts)).value();
  }
  // The first write is held until two more requests are accepted: the next
  // write records both.
  AcceptedCheckpoint first = w->Accept(m.logs[0].Body(0, 2));
  REQUIRE(first.generation == 1);
  gate.WaitHeld();
  REQUIRE(w->Accept(m.logs[1].Body(0, 2)).generation == 2);
  REQUIRE(w->Accept(m.logs[2].Body(0, 2)).generation == 3);
  gate.Open();
  const auto until = [&](uint64_t generation, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (w->Settle(generation) == Durability::kPending && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return w->Settle(generation);
  };
  // Written at once: the write before it recorded one request.
  REQUIRE(until(3, std::chrono::seconds(10)) == Durability::kDurable);
  // That write recorded two: the next one waits (30 s) for more to join.
  AcceptedCheckpoint fourth = w->Accept(m.logs[0].Body(2, 4));
  REQUIRE(fourth.generation == 4);
  CHECK(until(4, std::chrono::seconds(1)) == Durability::kPending);
  CHECK(fourth.response.status == 200);
  CHECK(ParseNote(*w->Latest(m.logs[0].origin()))->text == m.logs[0].CheckpointText(2));  // not shown before durable
  w->Flush();
  CHECK(until(4, std::chrono::seconds(10)) == Durability::kDurable);
  CHECK(ParseNote(*w->Latest(m.logs[0].origin()))->text == m.logs[0].CheckpointText(4));
  CHECK(gate.written == std::vector<uint64_t>{1, 3, 4});
}

TEST_CASE("witness config: logs as vkeys, origins defaulting to the key name, errors naming the line") {
  const TestLog log{"example.org/test-log", 0x11};
  const std::string vkey = FormatVerifierKey(log.verifier());
  auto c = ParseWitnessConfig("name = w.example/1\nkey_file = w.key\nstate_file = w.state\n"
                              "log = " + vkey + "\nlog = " + vkey + " other.example/x  # comment\n",
                              "/etc/w");
  REQUIRE_MESSAGE(c.has_value(), c.error().ToString());
  CHECK(c->key_file == fs::path("/etc/w/w.key"));
  CHECK(c->high_water_mark == fs::path("/etc/w/w.key.hwm"));
  REQUIRE(c->logs.size() == 2);
  CHECK(c->logs[0].origin == "example.org/test-log");
  CHECK(c->logs[1].origin == "other.example/x");
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"name = a\nname = b\n", "line 2"},
           {"name = a\nfoo = 1\n", "unknown key foo"},
           {"log = nonsense\n", "line 1"},
           {"name = a\nkey_file = k\nstate_file = s\n", "log is required"}}) {
    auto bad = ParseWitnessConfig(text, "/");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().message().find(says) != std::string::npos);
  }
}

}  // namespace
}  // namespace parley
