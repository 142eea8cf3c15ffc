// The Ledger over LevelDB: durability across reopen, equivocation and fork
// proofs, and own-feed safety (never two entries at one seq).
#include <doctest/doctest.h>

#include <mutex>
#include <set>
#include <thread>

#include "fixtures.h"
#include "node/ledger/ledger.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

struct Node {
  std::filesystem::path data;
  std::filesystem::path hwm;
  PartyIndex self;

  Result<std::unique_ptr<Ledger>> Open() const {
    auto store = OpenLevelDbStore(data);
    if (!store) return store.error();
    LedgerOptions o;
    o.self = self;
    o.key = test::PartyKey(self);
    o.high_water_mark = hwm;
    return Ledger::Open(std::move(*store), test::TestCharter(), std::move(o));
  }
};

// Builds a valid RU entry following RU's head in `l`, with `seen` = UA's head.
v1::Entry NextOf(const Ledger& l, PartyIndex author, v1::Entry body, int64_t time_ms) {
  const FeedHead h = l.Head(author);
  const FeedHead o = l.Head(1 - author);
  body.set_ledger_id(l.charter().ledger_id().str());
  body.set_author(author);
  body.set_seq(h.seq + 1);
  body.set_prev(h.seq == 0 ? l.charter().ledger_id().str() : h.id.str());
  if (o.seq > 0) {
    body.mutable_seen()->set_seq(o.seq);
    body.mutable_seen()->set_id(o.id.str());
  }
  body.set_time_ms(time_ms);
  return body;
}

TEST_CASE("everything acknowledged survives close and reopen, and appends continue at head + 1") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", kUA};
  std::vector<Digest> ids;
  {
    auto l = ua.Open().value();
    for (int i = 0; i < 5; ++i) ids.push_back(l->Append(test::Say("s" + std::to_string(i)), test::kT0 + i).value().id);
    CHECK(l->Ingest(SignEntry(test::PartyKey(kRU), NextOf(*l, kRU, test::Say("ru"), test::kT0)).envelope).value() ==
          IngestOutcome::kStored);
  }
  auto l = ua.Open().value();
  CHECK(l->Head(kUA).seq == 5);
  CHECK(l->Head(kUA).id == ids.back());
  CHECK(l->Head(kRU).seq == 1);
  auto feed = l->Read(kUA, 1, 100).value();
  REQUIRE(feed.size() == 5);
  for (size_t i = 0; i < 5; ++i) CHECK(feed[i].id == ids[i]);
  auto next = l->Append(test::Say("after reopen"), test::kT0 + 10).value();
  CHECK(next.seq() == 6);
  CHECK(next.entry.prev() == ids.back().view());
  CHECK(next.entry.seen().seq() == 1);
}

TEST_CASE("an entry's time never goes below the previous one, whatever the clock says") {
  test::TempDir dir;
  auto l = Node{dir.path() / "d", dir.path() / "h", kUA}.Open().value();
  auto a = l->Append(test::Say("a"), test::kT0 + 5000).value();
  auto b = l->Append(test::Say("b"), test::kT0).value();  // clock stepped back
  CHECK(b.time_ms() == a.time_ms());
}

TEST_CASE("two signed entries at one seq leave a durable fork proof and freeze the feed") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", kUA};
  SecretKey ru = test::PartyKey(kRU);
  {
    auto l = ua.Open().value();
    v1::Entry first = NextOf(*l, kRU, test::Say("version one"), test::kT0);
    v1::Entry second = NextOf(*l, kRU, test::Say("version two"), test::kT0);
    CHECK(l->Ingest(SignEntry(ru, first).envelope).value() == IngestOutcome::kStored);
    CHECK(l->Ingest(SignEntry(ru, second).envelope).value() == IngestOutcome::kFork);
    CHECK(l->frozen(kRU));
    CHECK_FALSE(l->frozen(kUA));
  }
  auto l = ua.Open().value();
  CHECK(l->frozen(kRU));
  auto forks = l->Forks().value();
  REQUIRE(forks.size() == 1);
  CHECK(forks[0].party == kRU);
  CHECK(forks[0].seq == 1);
  // Both halves verify on their own.
  CHECK(DecodeEntry(forks[0].proof.first().SerializeAsString(), l->charter()).has_value());
  CHECK(DecodeEntry(forks[0].proof.second().SerializeAsString(), l->charter()).has_value());
  // Past the fork, nothing more of RU's feed is accepted.
  auto r = l->Ingest(SignEntry(ru, NextOf(*l, kRU, test::Say("later"), test::kT0 + 1)).envelope);
  REQUIRE_FALSE(r.has_value());
  CHECK(ViolationOf(r.error()) == Violation::kFeedFrozen);
  CHECK(l->Head(kRU).seq == 1);
  // UA itself carries on.
  CHECK(l->Append(test::Say("RU forked its feed"), test::kT0 + 2).has_value());
}

TEST_CASE("a different version of the node's own feed raises the alarm and stops signing") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", kUA};
  auto l = ua.Open().value();
  auto mine = l->Append(test::Say("mine"), test::kT0).value();
  v1::Entry forged = mine.entry;
  forged.mutable_statement()->set_text("forged with UA's stolen key");
  CHECK(l->Ingest(SignEntry(test::PartyKey(kUA), forged).envelope).value() == IngestOutcome::kFork);
  REQUIRE(l->signing_blocked().has_value());
  CHECK(l->signing_blocked()->find("misused") != std::string::npos);
  auto r = l->Append(test::Say("next"), test::kT0 + 1);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kFailedPrecondition);
}

TEST_CASE("an own-feed entry this node never signed is refused as key misuse") {
  test::TempDir dir;
  auto l = Node{dir.path() / "ua", dir.path() / "ua.hwm", kUA}.Open().value();
  (void)l->Append(test::Say("one"), test::kT0).value();
  auto r = l->Ingest(SignEntry(test::PartyKey(kUA), NextOf(*l, kUA, test::Say("two?"), test::kT0)).envelope);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kFailedPrecondition);
  CHECK(l->Head(kUA).seq == 1);
  CHECK(l->signing_blocked().has_value());
}

TEST_CASE("a data folder rolled back to an older copy refuses to sign until the feed is recovered") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", kUA};
  std::vector<std::string> later;  // envelopes signed after the snapshot
  {
    auto l = ua.Open().value();
    (void)l->Append(test::Say("one"), test::kT0).value();
    (void)l->Append(test::Say("two"), test::kT0).value();
  }
  std::filesystem::copy(ua.data, dir.path() / "snapshot", std::filesystem::copy_options::recursive);
  {
    auto l = ua.Open().value();
    later.push_back(l->Append(test::Say("three"), test::kT0).value().envelope);
    later.push_back(l->Append(test::Say("four"), test::kT0).value().envelope);
  }
  std::filesystem::remove_all(ua.data);
  std::filesystem::rename(dir.path() / "snapshot", ua.data);

  auto l = ua.Open().value();
  CHECK(l->Head(kUA).seq == 2);
  REQUIRE(l->signing_blocked().has_value());
  CHECK(l->signing_blocked()->find("high-water mark") != std::string::npos);
  auto refused = l->Append(test::Say("would be a second seq 3"), test::kT0);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == Code::kFailedPrecondition);
  CHECK(l->Head(kUA).seq == 2);

  // Recovering the own feed (as the peer would serve it) unblocks signing.
  CHECK(l->Ingest(later[0]).value() == IngestOutcome::kStored);
  CHECK(l->signing_blocked().has_value());
  CHECK(l->Ingest(later[1]).value() == IngestOutcome::kStored);
  CHECK_FALSE(l->signing_blocked().has_value());
  CHECK(l->Append(test::Say("five"), test::kT0).value().seq() == 5);
}

TEST_CASE("a lost data folder with a surviving high-water mark refuses to sign") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", kUA};
  { (void)ua.Open().value()->Append(test::Say("one"), test::kT0).value(); }
  std::filesystem::remove_all(ua.data);
  auto l = ua.Open().value();
  CHECK(l->Head(kUA).seq == 0);
  CHECK_FALSE(l->Append(test::Say("again seq 1?"), test::kT0).has_value());
}

TEST_CASE("a retried request id gives one entry; reusing it for another statement is refused") {
  test::TempDir dir;
  auto l = Node{dir.path() / "ua", dir.path() / "ua.hwm", kUA}.Open().value();
  auto a = l->Append(test::Say("once"), test::kT0, "req-1").value();
  auto b = l->Append(test::Say("once"), test::kT0 + 50, "req-1").value();
  CHECK(a.id == b.id);
  CHECK(l->Head(kUA).seq == 1);
  auto c = l->Append(test::Say("something else"), test::kT0, "req-1");
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().code() == Code::kAlreadyExists);
  CHECK(l->Head(kUA).seq == 1);
}

TEST_CASE("concurrent appends are committed in groups into one valid chain, each acknowledged once") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", kUA};
  constexpr int kThreads = 8, kEach = 100;
  std::vector<std::vector<Digest>> acked(kThreads);
  {
    auto l = ua.Open().value();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const std::string rid = "t" + std::to_string(t) + "-" + std::to_string(i);
          auto e = l->Append(test::Say(rid), test::kT0, rid);
          if (e) acked[t].push_back(e->id);
          if (i % 10 == 0) {  // a retry returns the same entry
            auto again = l->Append(test::Say(rid), test::kT0, rid);
            CHECK(again.has_value());
            if (again && e) CHECK(again->id == e->id);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  auto l = ua.Open().value();
  CHECK(l->Head(kUA).seq == kThreads * kEach);
  // Re-verify the whole chain through a read-only copy, as a peer would.
  LedgerOptions o;
  auto copy = Ledger::Open(NewMemoryStore(), test::TestCharter(), std::move(o)).value();
  std::set<Digest> stored;
  for (const DecodedEntry& e : l->Read(kUA, 1, 100000).value()) {
    REQUIRE(copy->Ingest(e.envelope).value() == IngestOutcome::kStored);
    stored.insert(e.id);
  }
  for (const auto& ids : acked) {
    CHECK(ids.size() == kEach);
    for (const Digest& id : ids) CHECK(stored.count(id) == 1);
  }
}

TEST_CASE("a second open of the same data folder fails with a clear message") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", kUA};
  auto first = ua.Open().value();
  auto second = OpenLevelDbStore(ua.data);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code() == Code::kAlreadyExists);
  CHECK(second.error().message().find("in use") != std::string::npos);
}

TEST_CASE("a data folder of another ledger is refused and left untouched") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", kUA};
  { (void)ua.Open().value()->Append(test::Say("one"), test::kT0).value(); }
  CharterDraft d;
  d.title = "another ledger";
  d.parties[0] = {"UA", "x", test::PartyKey(kUA).public_key()};
  d.parties[1] = {"RU", "y", test::PartyKey(kRU).public_key()};
  std::string other = NewUnsignedCharter(d).value();
  for (PartyIndex p = 0; p < 2; ++p) other = Charter::Parse(other).value().Sign(test::PartyKey(p)).value();
  auto store = OpenLevelDbStore(ua.data).value();
  LedgerOptions o;
  auto r = Ledger::Open(std::move(store), other, std::move(o));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kFailedPrecondition);
  auto again = ua.Open().value();
  CHECK(again->Head(kUA).seq == 1);
}

// A memory store whose writes fail on demand as LevelDB's do on a full disk.
// A failed batch is not visible; with `lands`, it is kept aside and appears at
// the next successful Reopen (a complete log record whose sync failed: LevelDB
// recovers it when the DB is opened again).
class FullDiskStore final : public Store {
 public:
  struct Control {
    bool writes_fail = false;
    bool reopen_fails = false;
    bool lands = false;
    int writes = 0;   // Write calls
    int reopens = 0;  // Reopen calls
  };
  explicit FullDiskStore(std::shared_ptr<Control> c) : c_(std::move(c)) {}

  Result<std::optional<std::string>> Get(std::string_view key) override { return inner_->Get(key); }
  Status Scan(std::string_view start, std::string_view end, const ScanFn& fn) override {
    return inner_->Scan(start, end, fn);
  }
  Status Write(const WriteBatch& batch, bool sync) override {
    std::lock_guard lock(mu_);
    ++c_->writes;
    if (!c_->writes_fail) return inner_->Write(batch, sync);
    if (c_->lands) landed_.push_back(batch);
    return Status(Code::kResourceExhausted, "store write: IO error: /data/ledger/000005.log: No space left on device");
  }
  Status Reopen() override {
    std::lock_guard lock(mu_);
    ++c_->reopens;
    if (c_->reopen_fails) return Status(Code::kResourceExhausted, "store reopen: 0 KiB free in /data");
    for (const WriteBatch& b : landed_) {
      if (Status s = inner_->Write(b, true); !s.ok()) return s;
    }
    landed_.clear();
    return Status::Ok();
  }

 private:
  std::shared_ptr<Control> c_;
  std::unique_ptr<Store> inner_ = NewMemoryStore();
  std::mutex mu_;
  std::vector<WriteBatch> landed_;
};

struct FullDiskLedger {
  test::TempDir dir;
  std::shared_ptr<FullDiskStore::Control> disk = std::make_shared<FullDiskStore::Control>();
  std::unique_ptr<Ledger> ledger;

  FullDiskLedger() {
    LedgerOptions o;
    o.self = kUA;
    o.key = test::PartyKey(kUA);
    o.high_water_mark = dir.path() / "ua.hwm";
    ledger = Ledger::Open(std::make_unique<FullDiskStore>(disk), test::TestCharter(), std::move(o)).value();
  }
  // The stored own feed, verified entry by entry by a read-only copy.
  std::vector<Digest> VerifiedFeed() const {
    auto copy = Ledger::Open(NewMemoryStore(), test::TestCharter(), LedgerOptions{}).value();
    std::vector<Digest> ids;
    for (const DecodedEntry& e : ledger->Read(kUA, 1, 1000).value()) {
      REQUIRE(copy->Ingest(e.envelope).value() == IngestOutcome::kStored);
      ids.push_back(e.id);
    }
    return ids;
  }
};

TEST_CASE("disk full: Append fails with kResourceExhausted, signs nothing until space is freed, then resumes at the next seq") {
  FullDiskLedger t;
  Ledger& l = *t.ledger;
  auto one = l.Append(test::Say("one"), test::kT0).value();
  auto two = l.Append(test::Say("two"), test::kT0).value();

  t.disk->writes_fail = true;
  t.disk->reopen_fails = true;
  auto full = l.Append(test::Say("three"), test::kT0, "req-3");
  REQUIRE_FALSE(full.has_value());
  CHECK(full.error().code() == Code::kResourceExhausted);
  const std::string& msg = full.error().message();
  CHECK(msg.find("disk full") != std::string::npos);
  CHECK(msg.find("no space left on the data folder's disk") != std::string::npos);
  CHECK(msg.find("free space and retry") != std::string::npos);
  CHECK(msg.find("No space left on device") != std::string::npos);  // the cause, as the OS said it
  CHECK(l.Head(kUA).seq == 2);
  CHECK(t.VerifiedFeed() == std::vector<Digest>{one.id, two.id});
  REQUIRE(l.signing_blocked().has_value());
  CHECK(l.signing_blocked()->find("disk full") != std::string::npos);

  // While the disk stays full: each Append tries to reopen the store, fails
  // the same way and writes (so signs) nothing.
  const int writes = t.disk->writes, reopens = t.disk->reopens;
  for (int i = 0; i < 3; ++i) {
    auto again = l.Append(test::Say("while full " + std::to_string(i)), test::kT0, "req-full-" + std::to_string(i));
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().code() == Code::kResourceExhausted);
    CHECK(again.error().message().find("disk full") != std::string::npos);
  }
  CHECK(t.disk->writes == writes);
  CHECK(t.disk->reopens == reopens + 3);
  CHECK(l.Head(kUA).seq == 2);
  // Another party's entry is not stored into the failed store either.
  auto ru = l.Ingest(SignEntry(test::PartyKey(kRU), NextOf(l, kRU, test::Say("ru"), test::kT0)).envelope);
  REQUIRE_FALSE(ru.has_value());
  CHECK(ru.error().code() == Code::kResourceExhausted);
  CHECK(t.disk->writes == writes);

  // Space freed: no restart, the next Append reopens and signs seq 3 on two.
  t.disk->writes_fail = false;
  t.disk->reopen_fails = false;
  auto three = l.Append(test::Say("three"), test::kT0, "req-3");
  REQUIRE_MESSAGE(three.has_value(), three.status().ToString());
  CHECK(three->seq() == 3);
  CHECK(three->entry.prev() == two.id.view());
  CHECK_FALSE(l.signing_blocked().has_value());
  CHECK(l.Append(test::Say("four"), test::kT0).value().seq() == 4);
  CHECK(l.Ingest(SignEntry(test::PartyKey(kRU), NextOf(l, kRU, test::Say("ru"), test::kT0)).envelope).value() ==
        IngestOutcome::kStored);
  CHECK(t.VerifiedFeed().size() == 4);
}

TEST_CASE("disk full: a batch reported failed but stored after all is adopted on reopen, and its request id returns it") {
  FullDiskLedger t;
  Ledger& l = *t.ledger;
  auto one = l.Append(test::Say("one"), test::kT0).value();

  SUBCASE("the reopen right after the failure works: the Append succeeds with the stored entry") {
    t.disk->writes_fail = true;
    t.disk->lands = true;
    // The first write fails; the reopen finds the batch stored.
    auto two = l.Append(test::Say("two"), test::kT0 + 1, "req-2");
    t.disk->writes_fail = false;
    REQUIRE_MESSAGE(two.has_value(), two.status().ToString());
    CHECK(two->seq() == 2);
    CHECK(l.Head(kUA).id == two->id);
    CHECK_FALSE(l.signing_blocked().has_value());
    CHECK(l.Append(test::Say("two"), test::kT0 + 99, "req-2").value().id == two->id);
    CHECK(l.Append(test::Say("three"), test::kT0).value().entry.prev() == two->id.view());
    CHECK(t.VerifiedFeed().size() == 3);
  }
  SUBCASE("the disk stays full for a while: the retry after freeing space returns the stored entry") {
    t.disk->writes_fail = true;
    t.disk->lands = true;
    t.disk->reopen_fails = true;
    auto two = l.Append(test::Say("two"), test::kT0 + 1, "req-2");
    REQUIRE_FALSE(two.has_value());
    CHECK(two.error().code() == Code::kResourceExhausted);
    CHECK(l.Head(kUA).seq == 1);
    CHECK(l.Read(kUA, 1, 10).value().size() == 1);  // not visible before the reopen

    t.disk->writes_fail = false;
    t.disk->reopen_fails = false;
    const int writes = t.disk->writes;
    auto retry = l.Append(test::Say("two"), test::kT0 + 99, "req-2");
    REQUIRE_MESSAGE(retry.has_value(), retry.status().ToString());
    CHECK(t.disk->writes == writes);       // nothing signed anew
    CHECK(retry->seq() == 2);
    CHECK(retry->time_ms() == test::kT0 + 1);  // the entry signed the first time
    CHECK(retry->entry.prev() == one.id.view());
    CHECK(l.Head(kUA).id == retry->id);
    CHECK_FALSE(l.signing_blocked().has_value());
    auto three = l.Append(test::Say("three"), test::kT0 + 100).value();
    CHECK(three.seq() == 3);
    CHECK(three.entry.prev() == retry->id.view());
    CHECK(t.VerifiedFeed() == std::vector<Digest>{one.id, retry->id, three.id});
  }
}

// RU's feed as UA's node receives it when catching up: a proposal, statements
// that name it (stage 2 must see the earlier entries of the same batch), and
// filler.
std::vector<std::string> RuCatchUp(test::Scenario& sc, int n) {
  const DecodedEntry& p = sc.Add(kRU, test::Propose(test::RemainsTerms(kRU, 12, test::kT0 + 86400000)));
  const Digest proposal = p.id;
  for (int i = 2; i <= n; ++i) {
    v1::Entry body = test::Say("RU statement " + std::to_string(i));
    if (i % 10 == 0) body.mutable_statement()->set_reference(proposal.str());
    sc.Add(kRU, body);
  }
  std::vector<std::string> out;
  for (const DecodedEntry& e : sc.feed(kRU)) out.push_back(e.envelope);
  return out;
}

TEST_CASE("catch-up: a batch of the other party's entries is stored in one synced write, as Ingest one by one would") {
  test::Scenario sc;
  const std::vector<std::string> feed = RuCatchUp(sc, 120);
  FullDiskLedger batched, single;
  const int writes_before = batched.disk->writes;
  auto r = batched.ledger->IngestBatch(feed);
  REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  CHECK(r->stored == 120);
  CHECK(r->duplicates == 0);
  CHECK(batched.disk->writes - writes_before == 1);
  for (const std::string& env : feed) REQUIRE(single.ledger->Ingest(env).value() == IngestOutcome::kStored);
  CHECK(batched.ledger->Head(kRU).seq == 120);
  CHECK(batched.ledger->Head(kRU).id == single.ledger->Head(kRU).id);
  auto a = batched.ledger->Read(kRU, 1, 1000).value();
  auto b = single.ledger->Read(kRU, 1, 1000).value();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].envelope == b[i].envelope);
  CHECK(batched.ledger->Find(a[9].id).value().has_value());
  // The node still signs, after the batch, with seen = RU's head.
  auto own = batched.ledger->Append(test::Say("UA after catch-up"), test::kT0 + 10'000'000);
  REQUIRE_MESSAGE(own.has_value(), own.error().ToString());
  CHECK(own->entry.seen().seq() == 120);

  SUBCASE("sent again with more: duplicates are no-ops, the new ones stored") {
    test::Scenario more;
    std::vector<std::string> longer = RuCatchUp(more, 150);
    // `more` signs the same bodies at the same times: the first 120 are the same entries.
    REQUIRE(longer[119] == feed[119]);
    auto again = batched.ledger->IngestBatch(longer);
    REQUIRE_MESSAGE(again.has_value(), again.error().ToString());
    CHECK(again->duplicates == 120);
    CHECK(again->stored == 30);
    CHECK(batched.ledger->Head(kRU).seq == 150);
  }
}

TEST_CASE("catch-up: a bad entry in a batch is refused with its reason; the entries before it are stored, none after") {
  test::Scenario sc;
  std::vector<std::string> feed = RuCatchUp(sc, 60);
  feed[40][feed[40].size() - 3] ^= 0x01;  // a bit of RU#41's signature
  FullDiskLedger t;
  auto r = t.ledger->IngestBatch(feed);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kRejected);
  CHECK_MESSAGE(r.error().message().find("bad-signature") != std::string::npos, r.error().message());
  CHECK(t.ledger->Head(kRU).seq == 40);
  CHECK(t.ledger->Read(kRU, 41, 100).value().empty());
}

TEST_CASE("a node refuses a charter without both signatures, or a key that is not its party's") {
  SUBCASE("unsigned") {
    LedgerOptions o;
    auto r = Ledger::Open(NewMemoryStore(), test::UnsignedTestCharter(), std::move(o));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message().find("not signed by both") != std::string::npos);
  }
  SUBCASE("wrong key") {
    LedgerOptions o;
    o.self = kUA;
    o.key = test::PartyKey(kRU);
    auto r = Ledger::Open(NewMemoryStore(), test::TestCharter(), std::move(o));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kPermissionDenied);
  }
}

}  // namespace
}  // namespace parley
