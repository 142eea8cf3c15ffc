// Key rotation (docs/PROTOCOL.md §5.1): a RotateKey takes effect for its
// author's later entries once the other party has acknowledged it; entries
// declared compromised stay in the feed without effect; the ledger, the
// auditor and a restarted node all follow the same key schedule.
#include <doctest/doctest.h>

#include <memory>

#include "fixtures.h"
#include "node/protocol/agreements.h"
#include "node/report/audit.h"
#include "node/report/bundle.h"
#include "node/ledger/ledger.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

SecretKey KeyOfSeed(uint8_t first) { return SecretKey::FromSeed(test::SeedFrom(first)); }

// Two feeds written by hand, like test::Scenario, but each entry is signed
// with the key the caller chooses (by default the party's current one).
class Feeds {
 public:
  static constexpr uint64_t kAll = ~0ull;

  Feeds() {
    keys_[kUA] = std::make_unique<SecretKey>(test::PartyKey(kUA));
    keys_[kRU] = std::make_unique<SecretKey>(test::PartyKey(kRU));
  }

  // The next entry of `p`, signed with `key` (default: p's current key), not
  // yet added.
  DecodedEntry Make(PartyIndex p, v1::Entry body, uint64_t seen = kAll, const SecretKey* key = nullptr) const {
    const auto& feed = feeds_[p];
    const auto& other = feeds_[1 - p];
    body.set_ledger_id(test::TheCharter().ledger_id().str());
    body.set_author(p);
    body.set_seq(feed.size() + 1);
    body.set_prev(feed.empty() ? test::TheCharter().ledger_id().str() : feed.back().id.str());
    const uint64_t s = seen == kAll ? other.size() : seen;
    PARLEY_CHECK(s <= other.size());
    if (s > 0) {
      body.mutable_seen()->set_seq(s);
      body.mutable_seen()->set_id(other[s - 1].id.str());
    }
    body.set_time_ms(test::kT0 + 1000 * static_cast<int64_t>(feeds_[0].size() + feeds_[1].size() + 1));
    return SignEntry(key ? *key : *keys_[p], body);
  }

  const DecodedEntry& Add(PartyIndex p, v1::Entry body, uint64_t seen = kAll, const SecretKey* key = nullptr) {
    feeds_[p].push_back(Make(p, std::move(body), seen, key));
    order_.push_back(feeds_[p].back().envelope);
    return feeds_[p].back();
  }

  // From now on, Add signs p's entries with `key`.
  void Use(PartyIndex p, SecretKey key) { keys_[p] = std::make_unique<SecretKey>(std::move(key)); }

  const std::vector<DecodedEntry>& feed(PartyIndex p) const { return feeds_[p]; }
  // Every envelope in the order added: a causal order.
  const std::vector<std::string>& order() const { return order_; }

 private:
  std::unique_ptr<SecretKey> keys_[2];
  std::vector<DecodedEntry> feeds_[2];
  std::vector<std::string> order_;
};

std::unique_ptr<Ledger> ReadOnlyLedger() {
  return Ledger::Open(NewMemoryStore(), test::TestCharter(), LedgerOptions{}).value();
}

void ExpectStored(Ledger& l, const DecodedEntry& e) {
  auto r = l.Ingest(e.envelope);
  REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  CHECK(*r == IngestOutcome::kStored);
}

// The refusal's message.
std::string ExpectRefused(Ledger& l, const DecodedEntry& e, Violation v) {
  auto r = l.Ingest(e.envelope);
  REQUIRE_FALSE(r.has_value());
  CHECK_MESSAGE(ViolationOf(r.error()) == v, r.error().ToString());
  return r.error().message();
}

bool SignedBy(const DecodedEntry& e, const PublicKey& key) {
  v1::SignedEntry se;
  PARLEY_CHECK(se.ParseFromString(e.envelope));
  return Verify(key, kEntryDomain, se.entry(), *Signature::FromBytes(se.signature()));
}

TEST_CASE("until the other party acknowledges a rotation the old key signs and the new key is refused") {
  Feeds f;
  auto l = ReadOnlyLedger();
  const SecretKey next = KeyOfSeed(0x60);
  ExpectStored(*l, f.Add(kUA, test::Say("before")));
  ExpectStored(*l, f.Add(kRU, test::Say("hello")));
  ExpectStored(*l, f.Add(kUA, RotateKeyBody(test::TheCharter(), kUA, next)));  // UA#2
  REQUIRE(l->key_schedule()->pending(kUA) != nullptr);

  const std::string refused = ExpectRefused(*l, f.Make(kUA, test::Say("too early"), Feeds::kAll, &next), Violation::kBadSignature);
  CHECK(refused.find("not in effect") != std::string::npos);
  CHECK(refused.find("RU has not acknowledged") != std::string::npos);
  ExpectStored(*l, f.Add(kUA, test::Say("still the old key")));  // UA#3
  CHECK(l->current_key(kUA) == test::PartyKey(kUA).public_key());
  CHECK(l->key_schedule()->rotations(kUA).at(0).pending());
}

TEST_CASE("after the acknowledgement the new key signs the author's later entries and the old key is refused as retired") {
  Feeds f;
  auto l = ReadOnlyLedger();
  const SecretKey next = KeyOfSeed(0x60);
  ExpectStored(*l, f.Add(kUA, test::Say("before")));                                   // UA#1
  ExpectStored(*l, f.Add(kRU, test::Say("hello")));                                    // RU#1
  ExpectStored(*l, f.Add(kUA, RotateKeyBody(test::TheCharter(), kUA, next)));          // UA#2
  ExpectStored(*l, f.Add(kRU, test::Say("seen your rotation")));                       // RU#2: the acknowledgement
  REQUIRE(l->key_schedule()->rotations(kUA).at(0).acknowledged_by == 2);

  SUBCASE("an entry that has not seen the acknowledgement is still signed with the old key") {
    ExpectRefused(*l, f.Make(kUA, test::Say("new key, ack unseen"), 1, &next), Violation::kBadSignature);
    ExpectStored(*l, f.Add(kUA, test::Say("old key, ack unseen"), 1));  // UA#3, seen RU#1
  }
  const SecretKey old = test::PartyKey(kUA);
  const std::string retired = ExpectRefused(*l, f.Make(kUA, test::Say("old key"), Feeds::kAll, &old), Violation::kBadSignature);
  CHECK(retired.find("signed with a retired key") != std::string::npos);
  f.Use(kUA, KeyOfSeed(0x60));
  const DecodedEntry& signed_new = f.Add(kUA, test::Say("new key"));
  ExpectStored(*l, signed_new);
  CHECK(SignedBy(signed_new, next.public_key()));
  // For good: an even later entry with the old key is refused as well.
  ExpectRefused(*l, f.Make(kUA, test::Say("old again"), Feeds::kAll, &old), Violation::kBadSignature);
  // The other party's key is unaffected.
  ExpectStored(*l, f.Add(kRU, test::Say("RU keeps its key")));
  CHECK(l->current_key(kRU) == test::PartyKey(kRU).public_key());
  CHECK(l->current_key(kUA) == next.public_key());
  // Stored entries read back verified, under the key that signed each.
  auto feed = l->Read(kUA, 1, 100);
  REQUIRE_MESSAGE(feed.has_value(), feed.error().ToString());
  CHECK(feed->size() == f.feed(kUA).size());
  CHECK(l->Get(kUA, f.feed(kUA).size()).value().has_value());
}

TEST_CASE("a client decodes both feeds read from a node under the key schedule they define") {
  Feeds f;
  f.Add(kUA, test::Say("before"));
  f.Add(kUA, RotateKeyBody(test::TheCharter(), kUA, KeyOfSeed(0x60)));
  f.Add(kRU, test::Say("ack"));
  f.Use(kUA, KeyOfSeed(0x60));
  f.Add(kUA, test::Say("new key"));
  f.Add(kRU, test::Say("later"));
  std::vector<std::string> envelopes[2];
  for (PartyIndex p = 0; p < 2; ++p) {
    for (const DecodedEntry& e : f.feed(p)) envelopes[p].push_back(e.envelope);
  }
  KeySchedule schedule(test::TheCharter());
  auto feeds = DecodeFeeds(test::TheCharter(), envelopes[0], envelopes[1], &schedule);
  REQUIRE_MESSAGE(feeds.has_value(), feeds.error().ToString());
  CHECK((*feeds)[kUA].size() == 3);
  CHECK((*feeds)[kRU].size() == 2);
  CHECK(schedule.rotations(kUA).at(0).acknowledged_by == 1);
  // Without the schedule, the entry signed with the new key does not verify.
  CHECK_FALSE(DecodeEntry(envelopes[kUA][2], test::TheCharter()).has_value());

  const SecretKey old = test::PartyKey(kUA);
  envelopes[kUA][2] = f.Make(kUA, test::Say("x"), Feeds::kAll, &old).envelope;  // seq 4 where 3 belongs
  CHECK_FALSE(DecodeFeeds(test::TheCharter(), envelopes[0], envelopes[1]).has_value());
}

TEST_CASE("a second rotation before the first took effect is refused as rotation-pending") {
  Feeds f;
  auto l = ReadOnlyLedger();
  ExpectStored(*l, f.Add(kRU, test::Say("hello")));
  ExpectStored(*l, f.Add(kUA, RotateKeyBody(test::TheCharter(), kUA, KeyOfSeed(0x60))));  // UA#1
  ExpectRefused(*l, f.Make(kUA, RotateKeyBody(test::TheCharter(), kUA, KeyOfSeed(0x80))), Violation::kRotationPending);

  ExpectStored(*l, f.Add(kRU, test::Say("ack")));  // RU#2 acknowledges UA#1
  SUBCASE("also when the acknowledgement exists but is not in the rotation's causal past") {
    ExpectRefused(*l, f.Make(kUA, RotateKeyBody(test::TheCharter(), kUA, KeyOfSeed(0x80)), 1),
                  Violation::kRotationPending);
  }
  f.Use(kUA, KeyOfSeed(0x60));
  SUBCASE("and a key is never reused") {
    ExpectRefused(*l, f.Make(kUA, RotateKeyBody(test::TheCharter(), kUA, test::PartyKey(kUA))), Violation::kBadBody);
    ExpectRefused(*l, f.Make(kUA, RotateKeyBody(test::TheCharter(), kUA, test::PartyKey(kRU))), Violation::kBadBody);
  }
  // Once the first is in effect, the next rotation is signed with its key.
  ExpectStored(*l, f.Add(kUA, RotateKeyBody(test::TheCharter(), kUA, KeyOfSeed(0x80))));  // UA#2
  ExpectStored(*l, f.Add(kRU, test::Say("ack again")));
  f.Use(kUA, KeyOfSeed(0x80));
  ExpectStored(*l, f.Add(kUA, test::Say("third key")));
  CHECK(l->key_schedule()->rotations(kUA).size() == 2);
  CHECK(l->current_key(kUA) == KeyOfSeed(0x80).public_key());
}

TEST_CASE("entries signed with a key declared compromised stay in the feed but have no effect on agreement state") {
  Feeds f;
  auto l = ReadOnlyLedger();
  ExpectStored(*l, f.Add(kUA, test::Say("genuine")));                                          // UA#1
  const DecodedEntry p = f.Add(kRU, test::Propose(test::RemainsTerms(kRU, 1212, test::kT0)));  // RU#1
  ExpectStored(*l, p);
  ExpectStored(*l, f.Add(kUA, test::Accept(p)));                                               // UA#2: compromised
  const DecodedEntry q = f.Add(kUA, test::Propose(test::RemainsTerms(kUA, 10, test::kT0)));    // UA#3: compromised
  ExpectStored(*l, q);
  ExpectStored(*l, f.Add(kUA, RotateKeyBody(test::TheCharter(), kUA, KeyOfSeed(0x60), 2)));   // UA#4
  ExpectStored(*l, f.Add(kRU, test::Accept(q)));                                               // RU#2
  CHECK(l->Head(kUA).seq == 4);  // signed history is kept

  LedgerState s = ComputeState(f.feed(kUA), f.feed(kRU), test::kT0);
  const Proposal* proposal = s.Find(p.id);
  REQUIRE(proposal != nullptr);
  CHECK(proposal->state == ProposalState::kOpen);  // the compromised accept made no agreement
  CHECK(s.Find(q.id) == nullptr);                  // nor is the compromised proposal one
  REQUIRE(s.void_statements.size() == 3);
  CHECK(s.void_statements[0].compromised);
  CHECK(s.void_statements[0].at.seq == 2);
  CHECK(s.void_statements[0].reason.find("declared compromised from seq 2") != std::string::npos);
  CHECK(s.void_statements[1].compromised);
  CHECK(s.void_statements[1].at.seq == 3);
  CHECK_FALSE(s.void_statements[2].compromised);
  CHECK(s.void_statements[2].at.party == kRU);
  CHECK(s.void_statements[2].reason == "accepts a proposal signed with a key declared compromised");
  CHECK(s.claims.size() == 1);  // UA#1 only
}

// Writes the feeds of `f` in the order they were made, plus `extra`.
std::filesystem::path WriteBundle(const test::TempDir& dir, const Feeds& f, const std::vector<std::string>& extra = {}) {
  const auto path = dir.path() / "ledger.parley";
  auto w = BundleWriter::Create(path, test::TheCharter(), "UA", test::kT0).value();
  for (const std::string& env : f.order()) PARLEY_CHECK(w->AddEntry(env).ok());
  for (const std::string& env : extra) PARLEY_CHECK(w->AddEntry(env).ok());
  PARLEY_CHECK(w->Finish().ok());
  return path;
}

AuditReport Audit(const std::filesystem::path& path, int threads = 2) {
  AuditOptions o;
  o.now_ms = test::kT0;
  o.threads = threads;
  auto r = AuditBundle(path.string(), o);
  REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  return *r;
}

TEST_CASE("the audit verifies a ledger across a rotation, reports it and flags the compromised entries") {
  test::TempDir dir;
  Feeds f;
  f.Add(kUA, test::Say("genuine"));
  const DecodedEntry p = f.Add(kRU, test::Propose(test::RemainsTerms(kRU, 1212, test::kT0)));
  f.Add(kUA, test::Accept(p));  // UA#2, declared compromised below
  f.Add(kUA, RotateKeyBody(test::TheCharter(), kUA, KeyOfSeed(0x60), 2));  // UA#3
  f.Add(kUA, test::Say("old key, not yet acknowledged"));                  // UA#4
  f.Add(kRU, test::Say("ack"));                                            // RU#2
  f.Use(kUA, KeyOfSeed(0x60));
  // Enough entries after the rotation that the parallel workers verify many
  // of them before the sequential check has seen the acknowledgement.
  for (int i = 0; i < 6000; ++i) f.Add(i % 3 ? kUA : kRU, test::Say("n" + std::to_string(i)));
  const uint64_t ua = f.feed(kUA).size(), ru = f.feed(kRU).size();

  for (int threads : {1, 3}) {
    CAPTURE(threads);
    AuditReport r = Audit(WriteBundle(dir, f), threads);
    CHECK(r.clean());
    CHECK(r.entries[kUA] == ua);
    CHECK(r.entries[kRU] == ru);
    REQUIRE(r.key_rotations.size() == 1);
    CHECK(r.key_rotations[0].party == kUA);
    CHECK(r.key_rotations[0].rotation.seq == 3);
    CHECK(r.key_rotations[0].rotation.acknowledged_by == 2);
    CHECK(r.key_rotations[0].rotation.compromised_from == 2);
    size_t compromised = 0;
    for (const AuditFinding& finding : r.findings) {
      if (finding.kind == "compromised") {
        ++compromised;
        CHECK(finding.where == "UA#2 accept");
      }
    }
    CHECK(compromised == 1);
    CHECK(r.state.Find(p.id)->state == ProposalState::kOpen);
    const std::string human = RenderAudit(r);
    CHECK(human.find("UA#3 rotates UA's key to") != std::string::npos);
    CHECK(human.find("in effect since RU#2 acknowledged it") != std::string::npos);
    const nlohmann::json j = AuditJson(r);
    CHECK(j["key_rotations"][0]["party"] == "UA");
    CHECK(j["key_rotations"][0]["acknowledged_by"] == 2);
    CHECK(j["clean"] == true);
  }

  SUBCASE("an entry signed with the retired key after the rotation took effect is a violation") {
    const SecretKey old = test::PartyKey(kUA);
    AuditReport r = Audit(WriteBundle(dir, f, {f.Make(kUA, test::Say("forged"), Feeds::kAll, &old).envelope}));
    CHECK_FALSE(r.clean());
    bool found = false;
    for (const AuditFinding& finding : r.findings) {
      if (finding.kind == "violation" && finding.what.find("signed with a retired key") != std::string::npos) found = true;
    }
    CHECK(found);
  }
}

TEST_CASE("a node rotates only to a key it holds and signs with it once the other party has acknowledged") {
  const SecretKey next = KeyOfSeed(0x60);
  auto open = [](PartyIndex self, std::optional<SecretKey> next_key) {
    LedgerOptions o;
    o.self = self;
    o.key = test::PartyKey(self);
    o.next_key = std::move(next_key);
    return Ledger::Open(NewMemoryStore(), test::TestCharter(), std::move(o)).value();
  };
  auto sync = [](Ledger& from, Ledger& to, PartyIndex p) {
    for (const DecodedEntry& e : from.Read(p, to.Head(p).seq + 1, 1000).value()) REQUIRE(to.Ingest(e.envelope).has_value());
  };
  auto ua = open(kUA, std::nullopt);
  auto ru = open(kRU, std::nullopt);
  auto refused = ua->Append(RotateKeyBody(ua->charter(), kUA, next), test::kT0);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == Code::kFailedPrecondition);

  REQUIRE(ua->SetNextKey(KeyOfSeed(0x60)).ok());
  auto rotation = ua->Append(RotateKeyBody(ua->charter(), kUA, next), test::kT0);
  REQUIRE_MESSAGE(rotation.has_value(), rotation.error().ToString());
  CHECK(ua->SetNextKey(KeyOfSeed(0x80)).code() == Code::kInvalidArgument);  // the pending one stays
  auto second = ua->Append(RotateKeyBody(ua->charter(), kUA, next), test::kT0);
  REQUIRE_FALSE(second.has_value());
  CHECK(ViolationOf(second.error()) == Violation::kRotationPending);

  auto before_ack = ua->Append(test::Say("before the ack"), test::kT0 + 1).value();
  CHECK(SignedBy(before_ack, test::PartyKey(kUA).public_key()));
  sync(*ua, *ru, kUA);
  auto ack = ru->Append(test::Say("noted"), test::kT0 + 2).value();
  CHECK(ack.entry.seen().seq() == 2);
  CHECK(ru->current_key(kUA) == next.public_key());
  sync(*ru, *ua, kRU);
  CHECK(ua->current_key(kUA) == next.public_key());
  CHECK_FALSE(ua->signing_blocked().has_value());
  auto after = ua->Append(test::Say("after the ack"), test::kT0 + 3).value();
  CHECK(SignedBy(after, next.public_key()));
  sync(*ua, *ru, kUA);
  CHECK(ru->Head(kUA).seq == 3);

  // And again: the key in effect is kept, the retired one dropped.
  REQUIRE(ua->SetNextKey(KeyOfSeed(0x80)).ok());
  auto again = ua->Append(RotateKeyBody(ua->charter(), kUA, KeyOfSeed(0x80)), test::kT0 + 4);
  REQUIRE_MESSAGE(again.has_value(), again.error().ToString());
  CHECK(SignedBy(*again, next.public_key()));
  sync(*ua, *ru, kUA);
  ru->Append(test::Say("noted again"), test::kT0 + 5).value();
  sync(*ru, *ua, kRU);
  CHECK(SignedBy(ua->Append(test::Say("third key"), test::kT0 + 6).value(), KeyOfSeed(0x80).public_key()));
}

// A Store over a shared one that can drop the "k" rows, to model a data
// folder written before the key schedule was persisted.
class SharedStore final : public Store {
 public:
  SharedStore(std::shared_ptr<Store> base, bool drop_schedule) : base_(std::move(base)), drop_(drop_schedule) {}
  Result<std::optional<std::string>> Get(std::string_view key) override { return base_->Get(key); }
  Status Write(const WriteBatch& batch, bool sync) override {
    WriteBatch kept;
    for (const auto& [k, v] : batch.puts()) {
      if (!(drop_ && !k.empty() && k[0] == 'k')) kept.Put(k, v);
    }
    return base_->Write(kept, sync);
  }
  Status Scan(std::string_view start, std::string_view end, const ScanFn& fn) override {
    return base_->Scan(start, end, fn);
  }

 private:
  std::shared_ptr<Store> base_;
  bool drop_;
};

TEST_CASE("the key schedule survives close and reopen and a restarted node must bring the key in effect") {
  test::TempDir dir;
  const SecretKey next = KeyOfSeed(0x60);
  auto open = [&](std::optional<PartyIndex> self, SecretKey key, std::optional<SecretKey> next_key) {
    auto store = OpenLevelDbStore(dir.path() / "ua");
    REQUIRE(store.has_value());
    LedgerOptions o;
    o.self = self;
    o.key = std::move(key);
    o.next_key = std::move(next_key);
    o.high_water_mark = dir.path() / "ua.hwm";
    return Ledger::Open(std::move(*store), test::TestCharter(), std::move(o));
  };
  {
    auto ua = open(kUA, test::PartyKey(kUA), KeyOfSeed(0x60)).value();
    REQUIRE(ua->Append(RotateKeyBody(ua->charter(), kUA, next), test::kT0).has_value());
  }
  SUBCASE("restarted while the rotation is pending, with the old key and the new one as next key") {
    auto l = open(kUA, test::PartyKey(kUA), KeyOfSeed(0x60));
    REQUIRE_MESSAGE(l.has_value(), l.error().ToString());
    CHECK_FALSE((*l)->signing_blocked().has_value());
    REQUIRE((*l)->key_schedule()->pending(kUA) != nullptr);
    CHECK(SignedBy((*l)->Append(test::Say("old key"), test::kT0 + 1).value(), test::PartyKey(kUA).public_key()));
  }
  SUBCASE("restarted while the rotation is pending, with the new key alone: signing waits for the acknowledgement") {
    auto l = open(kUA, KeyOfSeed(0x60), std::nullopt);
    REQUIRE_MESSAGE(l.has_value(), l.error().ToString());
    REQUIRE((*l)->signing_blocked().has_value());
    CHECK((*l)->signing_blocked()->find("holds only the new key") != std::string::npos);
  }
  SUBCASE("restarted after the rotation took effect") {
    {
      auto ua = open(kUA, test::PartyKey(kUA), KeyOfSeed(0x60)).value();
      // RU acknowledges: its first entry has seen UA#1.
      const FeedHead head = ua->Head(kUA);
      v1::Entry ack = test::Say("ack");
      ack.set_ledger_id(ua->charter().ledger_id().str());
      ack.set_author(kRU);
      ack.set_seq(1);
      ack.set_prev(ua->charter().ledger_id().str());
      ack.mutable_seen()->set_seq(head.seq);
      ack.mutable_seen()->set_id(head.id.str());
      ack.set_time_ms(test::kT0);
      REQUIRE(ua->Ingest(SignEntry(test::PartyKey(kRU), ack).envelope).has_value());
      CHECK(SignedBy(ua->Append(test::Say("new key"), test::kT0 + 1).value(), next.public_key()));
    }
    {
      // The config still names the old key, with the new one as next key.
      auto l = open(kUA, test::PartyKey(kUA), KeyOfSeed(0x60));
      REQUIRE_MESSAGE(l.has_value(), l.error().ToString());
      CHECK(SignedBy((*l)->Append(test::Say("via next key"), test::kT0 + 2).value(), next.public_key()));
    }
    {
      auto old_only = open(kUA, test::PartyKey(kUA), std::nullopt);
      REQUIRE_FALSE(old_only.has_value());
      CHECK(old_only.error().code() == Code::kPermissionDenied);
      CHECK(old_only.error().message().find("retired") != std::string::npos);
    }
    SUBCASE("a lost data folder opens with the new key, and signs once its feed is recovered") {
      std::vector<std::string> causal;  // as a peer would serve them: each after what it has seen
      {
        auto old = open(std::nullopt, KeyOfSeed(0x60), std::nullopt).value();
        auto ua_feed = old->Read(kUA, 1, 10).value();
        auto ru_feed = old->Read(kRU, 1, 10).value();
        causal = {ua_feed[0].envelope, ru_feed[0].envelope, ua_feed[1].envelope, ua_feed[2].envelope};
      }
      auto store = OpenLevelDbStore(dir.path() / "ua-fresh");
      LedgerOptions o;
      o.self = kUA;
      o.key = KeyOfSeed(0x60);
      o.high_water_mark = dir.path() / "ua.hwm";
      auto fresh = Ledger::Open(std::move(*store), test::TestCharter(), std::move(o));
      REQUIRE_MESSAGE(fresh.has_value(), fresh.error().ToString());
      CHECK((*fresh)->signing_blocked().has_value());
      for (const std::string& env : causal) REQUIRE((*fresh)->Ingest(env).has_value());
      CHECK_FALSE((*fresh)->signing_blocked().has_value());
      CHECK(SignedBy((*fresh)->Append(test::Say("recovered"), test::kT0 + 4).value(), next.public_key()));
    }
    SUBCASE("started with the new key alone, the party found from the key") {
      auto l = open(std::nullopt, KeyOfSeed(0x60), std::nullopt);
      REQUIRE_MESSAGE(l.has_value(), l.error().ToString());
      CHECK((*l)->self() == kUA);
      const KeyRotation& r = (*l)->key_schedule()->rotations(kUA).at(0);
      CHECK(r.seq == 1);
      CHECK(r.acknowledged_by == 1);
      CHECK(r.new_key == next.public_key());
      auto e = (*l)->Append(test::Say("after restart"), test::kT0 + 3).value();
      CHECK(e.seq() == 4);
      CHECK(SignedBy(e, next.public_key()));
      CHECK((*l)->Read(kUA, 1, 10).value().size() == 4);
    }
  }
}

TEST_CASE("a data folder written before the key schedule was stored rebuilds it at open") {
  auto base = std::shared_ptr<Store>(NewMemoryStore());
  Feeds f;
  {
    auto l = Ledger::Open(std::make_unique<SharedStore>(base, true), test::TestCharter(), LedgerOptions{}).value();
    ExpectStored(*l, f.Add(kUA, test::Say("one")));
    ExpectStored(*l, f.Add(kRU, RotateKeyBody(test::TheCharter(), kRU, KeyOfSeed(0x60), 1)));  // RU#1
    ExpectStored(*l, f.Add(kUA, test::Say("no ack yet"), 0));
    ExpectStored(*l, f.Add(kUA, test::Say("ack")));  // UA#3 acknowledges RU#1
    f.Use(kRU, KeyOfSeed(0x60));
    ExpectStored(*l, f.Add(kRU, test::Say("new key")));
  }
  REQUIRE_FALSE(base->Get("k").value().has_value());
  auto l = Ledger::Open(std::make_unique<SharedStore>(base, false), test::TestCharter(), LedgerOptions{}).value();
  CHECK(base->Get("k").value().has_value());
  const auto& rots = l->key_schedule()->rotations(kRU);
  REQUIRE(rots.size() == 1);
  CHECK(rots[0].seq == 1);
  CHECK(rots[0].acknowledged_by == 3);
  CHECK(rots[0].compromised_from == 1);
  CHECK(l->Read(kRU, 1, 10).value().size() == 2);
  ExpectStored(*l, f.Add(kRU, test::Say("still the new key")));
}

}  // namespace
}  // namespace parley
