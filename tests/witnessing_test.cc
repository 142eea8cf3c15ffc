// The party node's side of witnessing without processes: the coalescing and
// backoff schedule (a clock passed in), the checkpoint book's checks, and the
// witnessing threads driven by an injected submit function.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "fixtures.h"
#include "node/daemon/witnessing.h"
#include "node/protocol/feed_log.h"

namespace parley {
namespace {

using Clock = std::chrono::steady_clock;
using test::kUA;
using test::kRU;
using std::chrono::milliseconds;

SecretKey WitnessKey() { return SecretKey::FromSeed(test::SeedFrom(0x78)); }

std::string WitnessedCharter() {
  CharterDraft d;
  d.title = "Witnessed";
  d.parties[0] = {"UA", "UA", test::PartyKey(kUA).public_key()};
  d.parties[1] = {"RU", "RU", test::PartyKey(kRU).public_key()};
  d.created_ms = test::kT0;
  d.witnesses.push_back({"w.example/1", WitnessKey().public_key(), "http://127.0.0.1:9"});
  d.required_cosignatures = 1;
  std::string bytes = NewUnsignedCharter(d).value();
  for (PartyIndex p = 0; p < 2; ++p) bytes = Charter::Parse(bytes).value().Sign(test::PartyKey(p)).value();
  return bytes;
}

std::unique_ptr<Ledger> OpenLedger(PartyIndex self) {
  LedgerOptions o;
  o.self = self;
  o.key = test::PartyKey(self);
  return Ledger::Open(NewMemoryStore(), WitnessedCharter(), std::move(o)).value();
}

// The cosigned note of `party`'s feed in `ledger` at its head.
std::string CosignedHead(const Ledger& ledger, PartyIndex party, uint64_t when = 1750000000) {
  auto env = ledger.ReadEnvelopes(party, 1, 1000).value();
  Checkpoint cp = FeedCheckpoint(ledger.charter(), party, env);
  std::string note = SignFeedCheckpoint(test::PartyKey(party), ledger.charter(), party, cp);
  auto n = ParseNote(note).value();
  n.signatures.push_back(Cosign(WitnessKey(), "w.example/1", n.text, when));
  return FormatNote(n);
}

TEST_CASE("SubmitSchedule: at most one submission per 100 ms, nothing once cosigned") {
  SubmitSchedule s(0, [] { return 0.0; });
  const auto t0 = Clock::now();
  CHECK_FALSE(s.Next(0).has_value());
  REQUIRE(s.Next(5).has_value());
  CHECK(*s.Next(5) <= t0);  // never submitted: at once
  s.Started(t0);
  CHECK(*s.Next(7) == t0 + kMinSubmitInterval);  // the newest head, not before 100 ms
  s.Succeeded(7);
  CHECK_FALSE(s.Next(7).has_value());
  CHECK(*s.Next(8) == t0 + kMinSubmitInterval);
  CHECK(s.cosigned() == 7);
  s.Succeeded(3);  // never goes back
  CHECK(s.cosigned() == 7);
}

TEST_CASE("SubmitSchedule: exponential backoff with jitter, capped at 30 s, reset by a success") {
  double jitter = 0.0;
  SubmitSchedule s(0, [&] { return jitter; });
  auto t = Clock::now();
  s.Started(t);
  s.Failed(t);
  CHECK(s.retry_delay() == kFirstRetryDelay / 2);  // jitter 0: half the base
  CHECK(*s.Next(1) == t + kFirstRetryDelay / 2);
  jitter = 0.999999;
  s.Failed(t);
  CHECK(s.retry_delay() > kFirstRetryDelay * 2 * 0.99);
  CHECK(s.retry_delay() <= kFirstRetryDelay * 2);
  for (int i = 0; i < 20; ++i) s.Failed(t);
  CHECK(s.retry_delay() <= kMaxRetryDelay);
  CHECK(s.retry_delay() > kMaxRetryDelay * 0.99);
  CHECK(*s.Next(1) == t + s.retry_delay());
  s.Succeeded(1);
  CHECK(s.failures() == 0);
  CHECK(*s.Next(2) == t + kMinSubmitInterval);
}

TEST_CASE("CheckpointBook: verifies, merges cosignatures of one size, refuses what is not the charter's") {
  auto ua = OpenLedger(kUA);
  for (int i = 0; i < 3; ++i) REQUIRE(ua->Append(test::Say("x" + std::to_string(i)), test::kT0 + i));
  CheckpointBook book(*ua, nullptr);
  REQUIRE(book.Load().ok());
  const std::string good = CosignedHead(*ua, kUA);
  auto v = book.Verify(kUA, good);
  REQUIRE(v);
  CHECK(v->checkpoint.size == 3);
  REQUIRE(v->cosignatures.size() == 1);
  REQUIRE(book.Store(*v).ok());
  CHECK(book.cosigned(0, kUA) == std::pair<uint64_t, uint64_t>{3, 1750000000});
  // The same size again with a later cosignature: one note, the first kept.
  REQUIRE(book.Store(*book.Verify(kUA, CosignedHead(*ua, kUA, 1750000100))).ok());
  auto stored = book.Read(kUA, 0, 10).value();
  REQUIRE(stored.size() == 1);
  CHECK(stored[0] == good);

  // An unknown key's line is dropped; a forged witness line is refused.
  auto n = ParseNote(good).value();
  n.signatures.push_back(Cosign(SecretKey::FromSeed(test::SeedFrom(0x99)), "stranger", n.text, 1));
  auto cleaned = book.Verify(kUA, FormatNote(n));
  REQUIRE(cleaned);
  CHECK(cleaned->note == good);
  n = ParseNote(good).value();
  n.signatures[1].signature[20] ^= 1;
  CHECK(book.Verify(kUA, FormatNote(n)).error().code() == Code::kPermissionDenied);
  // Another party's origin, or a checkpoint signed by the wrong party.
  CHECK(book.Verify(kRU, good).error().code() == Code::kInvalidArgument);
  CHECK_FALSE(book.Verify(kUA, "not a note").has_value());
  // Nothing stored was changed by what was refused.
  CHECK(book.Read(kUA, 0, 10).value() == stored);
}

TEST_CASE("CheckpointBook: alarms are kept once and survive a reload") {
  auto ua = OpenLedger(kUA);
  {
    CheckpointBook book(*ua, nullptr);
    book.RaiseAlarm("split view", "detail", "evidence");
    book.RaiseAlarm("split view", "detail", "evidence");
    CHECK(book.alarms().size() == 1);  // the same evidence once
  }
  CheckpointBook again(*ua, nullptr);
  REQUIRE(again.Load().ok());
  REQUIRE(again.alarms().size() == 1);  // stored once
  CHECK(again.alarms()[0] == "split view: detail");
}

TEST_CASE("Witnessing: coalesces a burst of appends and retries a failing witness, never blocking Append") {
  auto ua = OpenLedger(kUA);
  KeyRing keys(test::PartyKey(kUA), nullptr);
  CheckpointBook book(*ua, nullptr);
  REQUIRE(book.Load().ok());
  std::atomic<int> calls{0};
  std::atomic<bool> down{true};
  std::atomic<uint64_t> last_known{0};
  Witnessing::SubmitFn submit = [&](const WitnessEndpoint& e, const MerkleTree& tree, const std::string& note,
                                    uint64_t known) -> Result<SubmitOutcome> {
    ++calls;
    last_known = known;
    if (down) return Status(Code::kUnavailable, "down");
    auto n = ParseNote(note).value();
    CHECK(ParseCheckpoint(n.text).value().size == tree.size());
    SubmitOutcome out;
    out.size = tree.size();
    out.timestamp = 1750000000;
    out.cosignature = Cosign(WitnessKey(), e.key.name, n.text, out.timestamp);
    return out;
  };
  Witnessing::GetFn get = [](const std::string&) -> Result<std::string> { return Status(Code::kNotFound, "none"); };
  Witnessing w(*ua, keys, book, nullptr, submit, get);
  w.Start();
  const auto t0 = Clock::now();
  for (int i = 0; i < 200; ++i) REQUIRE(ua->Append(test::Say("burst " + std::to_string(i)), test::kT0 + i));
  const auto took = Clock::now() - t0;
  std::this_thread::sleep_for(milliseconds(600));
  // While down: a few attempts with growing delays, not one per append.
  const int while_down = calls;
  CHECK(while_down >= 1);
  CHECK(while_down <= 6);
  CHECK(book.cosigned(0, kUA).first == 0);
  down = false;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (book.cosigned(0, kUA).first != 200 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
  CHECK(book.cosigned(0, kUA).first == 200);
  // Coalesced: far fewer submissions than appends.
  CHECK(calls < 20);
  // Later appends go from the size cosigned.
  REQUIRE(ua->Append(test::Say("after"), test::kT0 + 1000));
  const auto d2 = Clock::now() + std::chrono::seconds(5);
  while (book.cosigned(0, kUA).first != 201 && Clock::now() < d2) std::this_thread::sleep_for(milliseconds(20));
  CHECK(book.cosigned(0, kUA).first == 201);
  CHECK(last_known == 200);
  w.Stop();
  MESSAGE("200 appends took " << std::chrono::duration_cast<milliseconds>(took).count() << " ms with witnessing on");
}

TEST_CASE("Witnessing: checkpoints of the peer's feed are stored when they match our copy, kept pending above it, "
          "and a different root is a split view with nothing stored") {
  auto ua = OpenLedger(kUA);
  auto ru = OpenLedger(kRU);
  for (int i = 0; i < 4; ++i) REQUIRE(ru->Append(test::Say("ru " + std::to_string(i)), test::kT0 + i));
  auto envelopes = ru->ReadEnvelopes(kRU, 1, 10).value();
  REQUIRE(ua->Ingest(envelopes[0]));
  REQUIRE(ua->Ingest(envelopes[1]));
  // RU's cosigned checkpoints at size 2 (ours has it) and 4 (ours has not yet).
  auto cosigned_at = [&](size_t n, const std::string& first_leaf) {
    std::vector<std::string> env(envelopes.begin(), envelopes.begin() + n);
    if (!first_leaf.empty()) env[0] = first_leaf;
    Checkpoint cp = FeedCheckpoint(ru->charter(), kRU, env);
    auto note = ParseNote(SignFeedCheckpoint(test::PartyKey(kRU), ru->charter(), kRU, cp)).value();
    note.signatures.push_back(Cosign(WitnessKey(), "w.example/1", note.text, 1750000000));
    return FormatNote(note);
  };
  KeyRing keys(test::PartyKey(kUA), nullptr);
  CheckpointBook book(*ua, nullptr);
  REQUIRE(book.Load().ok());
  Witnessing::SubmitFn submit = [](const WitnessEndpoint&, const MerkleTree&, const std::string&,
                                   uint64_t) -> Result<SubmitOutcome> { return Status(Code::kUnavailable, "off"); };
  Witnessing::GetFn get = [](const std::string&) -> Result<std::string> { return Status(Code::kNotFound, "none"); };
  Witnessing w(*ua, keys, book, nullptr, submit, get);
  w.Start();
  auto wait_for = [](const std::function<bool()>& cond) {
    const auto end = Clock::now() + std::chrono::seconds(5);
    while (!cond() && Clock::now() < end) std::this_thread::sleep_for(milliseconds(10));
    return cond();
  };
  w.Offer(kRU, {cosigned_at(2, ""), cosigned_at(4, "")}, "the node of RU");
  CHECK(wait_for([&] { return book.cosigned(0, kRU).first == 2; }));
  std::this_thread::sleep_for(milliseconds(200));
  CHECK(book.cosigned(0, kRU).first == 2);  // size 4 waits for our copy
  REQUIRE(ua->Ingest(envelopes[2]));
  REQUIRE(ua->Ingest(envelopes[3]));
  CHECK(wait_for([&] { return book.cosigned(0, kRU).first == 4; }));
  CHECK(book.alarms().empty());
  const auto stored = book.Read(kRU, 0, 10).value();
  CHECK(stored.size() == 2);

  // A validly signed and cosigned checkpoint over another first entry.
  w.Offer(kRU, {cosigned_at(3, "a different first entry")}, "the node of RU");
  CHECK(wait_for([&] { return !book.alarms().empty(); }));
  REQUIRE(book.alarms().size() == 1);
  CHECK(book.alarms()[0].rfind("split view: the node of RU holds a checkpoint of RU's feed at size 3", 0) == 0);
  CHECK(book.Read(kRU, 0, 10).value() == stored);  // nothing stored, nothing changed
  // Junk from the peer is refused without an alarm.
  w.Offer(kRU, {"junk", cosigned_at(2, "").substr(1)}, "the node of RU");
  std::this_thread::sleep_for(milliseconds(200));
  CHECK(book.alarms().size() == 1);
  w.Stop();
}

}  // namespace
}  // namespace parley
