// One test per structural rule of DESIGN.md: a bad entry is rejected with its
// specific violation, and nothing is written to the store.
#include <doctest/doctest.h>

#include <atomic>

#include "crypto/hash.h"
#include "fixtures.h"
#include "node/ledger/ledger.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

// A memory store that counts writes, so a test can prove none happened.
class CountingStore final : public Store {
 public:
  explicit CountingStore(std::shared_ptr<std::atomic<int>> writes)
      : inner_(NewMemoryStore()), writes_(std::move(writes)) {}
  Result<std::optional<std::string>> Get(std::string_view key) override { return inner_->Get(key); }
  Status Write(const WriteBatch& batch, bool sync) override {
    ++*writes_;
    return inner_->Write(batch, sync);
  }
  Status Scan(std::string_view start, std::string_view end, const ScanFn& fn) override {
    return inner_->Scan(start, end, fn);
  }

 private:
  std::unique_ptr<Store> inner_;
  std::shared_ptr<std::atomic<int>> writes_;
};

// UA's node, holding a few entries of both feeds: UA#1 propose, RU#1 statement
// (seen UA#1), UA#2 statement (seen RU#1).
struct Fixture {
  std::shared_ptr<std::atomic<int>> writes = std::make_shared<std::atomic<int>>(0);
  std::unique_ptr<Ledger> ledger;
  SecretKey ru_key = test::PartyKey(kRU);
  DecodedEntry ua_proposal;

  Fixture() {
    LedgerOptions o;
    o.self = kUA;
    o.key = test::PartyKey(kUA);
    ledger = Ledger::Open(std::make_unique<CountingStore>(writes), test::TestCharter(), std::move(o)).value();
    ua_proposal = ledger->Append(test::Propose(test::RemainsTerms(kRU, 1212, test::kT0)), test::kT0).value();
    REQUIRE(ledger->Ingest(SignEntry(ru_key, Next(test::Say("received")).entry).envelope).value() ==
            IngestOutcome::kStored);
    (void)ledger->Append(test::Say("noted"), test::kT0 + 2000).value();
  }

  // A valid next RU entry (seq 2) with `body`, as a template to break.
  DecodedEntry Next(v1::Entry body) const {
    const FeedHead ru = ledger->Head(kRU);
    const FeedHead ua = ledger->Head(kUA);
    body.set_ledger_id(ledger->charter().ledger_id().str());
    body.set_author(kRU);
    body.set_seq(ru.seq + 1);
    body.set_prev(ru.seq == 0 ? ledger->charter().ledger_id().str() : ru.id.str());
    body.mutable_seen()->set_seq(ua.seq);
    body.mutable_seen()->set_id(ua.id.str());
    body.set_time_ms(test::kT0 + 5000);
    DecodedEntry d;
    d.entry = body;
    return d;
  }

  // Signs `e` as RU, ingests it, and checks it was refused for `v` with
  // nothing written and both heads unchanged.
  void ExpectRejected(const v1::Entry& e, Violation v, const SecretKey* key = nullptr) {
    ExpectRejectedEnvelope(SignEntry(key ? *key : ru_key, e).envelope, v);
  }

  void ExpectRejectedEnvelope(const std::string& envelope, Violation v) {
    const FeedHead before[2] = {ledger->Head(kUA), ledger->Head(kRU)};
    const int writes_before = *writes;
    auto r = ledger->Ingest(envelope);
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().ToString());
    CHECK(r.error().code() == Code::kRejected);
    REQUIRE(ViolationOf(r.error()).has_value());
    CHECK(std::string(ViolationName(*ViolationOf(r.error()))) == ViolationName(v));
    CHECK_FALSE(r.error().message().empty());
    CHECK(*writes == writes_before);
    for (PartyIndex p = 0; p < 2; ++p) {
      CHECK(ledger->Head(p).seq == before[p].seq);
      CHECK(ledger->Head(p).id == before[p].id);
    }
  }
};

TEST_CASE("a valid successor entry is stored, and again is a duplicate no-op") {
  Fixture f;
  const std::string env = SignEntry(f.ru_key, f.Next(test::Say("ok")).entry).envelope;
  CHECK(f.ledger->Ingest(env).value() == IngestOutcome::kStored);
  const int writes = *f.writes;
  CHECK(f.ledger->Ingest(env).value() == IngestOutcome::kDuplicate);
  CHECK(*f.writes == writes);
  CHECK(f.ledger->Head(kRU).seq == 2);
}

TEST_CASE("rejects an entry with a forged signature") {
  Fixture f;
  v1::SignedEntry s;
  REQUIRE(s.ParseFromString(SignEntry(f.ru_key, f.Next(test::Say("x")).entry).envelope));
  std::string sig = s.signature();
  sig[10] ^= 0x01;
  s.set_signature(sig);
  f.ExpectRejectedEnvelope(s.SerializeAsString(), Violation::kBadSignature);
}

TEST_CASE("rejects an entry signed by a key that is not the author's") {
  Fixture f;
  SecretKey ua = test::PartyKey(kUA);
  f.ExpectRejected(f.Next(test::Say("x")).entry, Violation::kBadSignature, &ua);
}

TEST_CASE("rejects an entry whose author is not a party") {
  Fixture f;
  v1::Entry e = f.Next(test::Say("x")).entry;
  e.set_author(2);
  f.ExpectRejected(e, Violation::kUnknownAuthor);
}

TEST_CASE("rejects an entry of another ledger") {
  Fixture f;
  v1::Entry e = f.Next(test::Say("x")).entry;
  std::string other = e.ledger_id();
  other[0] ^= 0x55;
  e.set_ledger_id(other);
  f.ExpectRejected(e, Violation::kWrongLedger);
}

TEST_CASE("rejects an entry whose seq leaves a gap") {
  Fixture f;
  v1::Entry e = f.Next(test::Say("x")).entry;
  e.set_seq(3);
  f.ExpectRejected(e, Violation::kSeqGap);
}

TEST_CASE("rejects an entry whose prev is not the head") {
  Fixture f;
  v1::Entry e = f.Next(test::Say("x")).entry;
  e.set_prev(f.ledger->charter().ledger_id().str());  // valid only for seq 1
  f.ExpectRejected(e, Violation::kWrongPrev);
}

TEST_CASE("rejects an entry whose time goes backwards") {
  Fixture f;
  v1::Entry e = f.Next(test::Say("x")).entry;
  e.set_time_ms(test::kT0 - 1);
  f.ExpectRejected(e, Violation::kTimeBackwards);
}

TEST_CASE("rejects an entry whose seen goes backwards") {
  Fixture f;
  v1::Entry e = f.Next(test::Say("x")).entry;
  e.clear_seen();  // RU#1 had seen UA#1
  f.ExpectRejected(e, Violation::kSeenBackwards);
}

TEST_CASE("rejects an entry whose seen does not match the other feed") {
  Fixture f;
  SUBCASE("seen names a seq the other feed does not hold") {
    v1::Entry e = f.Next(test::Say("x")).entry;
    e.mutable_seen()->set_seq(9);
    f.ExpectRejected(e, Violation::kSeenMismatch);
  }
  SUBCASE("seen names the right seq with a wrong id") {
    v1::Entry e = f.Next(test::Say("x")).entry;
    std::string id = e.seen().id();
    id[3] ^= 0x10;
    e.mutable_seen()->set_id(id);
    f.ExpectRejected(e, Violation::kSeenMismatch);
  }
}

TEST_CASE("rejects a body that references an entry outside the author's causal past") {
  Fixture f;
  SUBCASE("an entry the author had not seen") {
    // UA#2 exists, but RU claims to have seen only UA#1.
    v1::Entry e = f.Next(test::Say("x")).entry;
    const FeedHead ua = f.ledger->Head(kUA);
    e.mutable_statement()->set_reference(ua.id.str());
    e.mutable_seen()->set_seq(1);
    e.mutable_seen()->set_id(f.ua_proposal.id.str());
    f.ExpectRejected(e, Violation::kBadReference);
  }
  SUBCASE("an entry that does not exist") {
    v1::Entry e = f.Next(test::Say("x")).entry;
    e.mutable_statement()->set_reference(std::string(32, '\x42'));
    f.ExpectRejected(e, Violation::kBadReference);
  }
  SUBCASE("an accept that names something other than a proposal") {
    v1::Entry body;
    body.mutable_accept()->set_proposal(f.ledger->Head(kUA).id.str());  // UA#2 is a statement
    body.mutable_accept()->set_terms_digest(std::string(32, '\0'));
    f.ExpectRejected(f.Next(body).entry, Violation::kBadReference);
  }
}

TEST_CASE("rejects malformed and oversized bytes") {
  Fixture f;
  SUBCASE("garbage") { f.ExpectRejectedEnvelope("\xff\xff\xff not protobuf", Violation::kMalformed); }
  SUBCASE("empty signature") {
    v1::SignedEntry s;
    s.set_entry(f.Next(test::Say("x")).entry.SerializeAsString());
    f.ExpectRejectedEnvelope(s.SerializeAsString(), Violation::kMalformed);
  }
  SUBCASE("entry bytes that are not an Entry") {
    v1::SignedEntry s;
    s.set_entry("\x0a\xff");
    s.set_signature(std::string(64, '\0'));
    f.ExpectRejectedEnvelope(s.SerializeAsString(), Violation::kMalformed);
  }
  SUBCASE("oversized") {
    v1::Entry e = f.Next(test::Say(std::string(kMaxEnvelopeBytes, 'x'))).entry;
    f.ExpectRejected(e, Violation::kOversized);
  }
  SUBCASE("seq 0") {
    v1::Entry e = f.Next(test::Say("x")).entry;
    e.set_seq(0);
    f.ExpectRejected(e, Violation::kMalformed);
  }
}

TEST_CASE("rejects a body that is not well formed") {
  Fixture f;
  v1::Terms terms = test::RemainsTerms(kRU, 10, test::kT0);
  SUBCASE("no body") { f.ExpectRejected(f.Next(v1::Entry()).entry, Violation::kBadBody); }
  SUBCASE("no transfers") {
    terms.clear_transfers();
    f.ExpectRejected(f.Next(test::Propose(terms)).entry, Violation::kBadBody);
  }
  SUBCASE("transfer to oneself") {
    terms.mutable_transfers(0)->set_to_party(kRU);
    f.ExpectRejected(f.Next(test::Propose(terms)).entry, Violation::kBadBody);
  }
  SUBCASE("zero count") {
    terms.mutable_transfers(0)->set_count(0);
    f.ExpectRejected(f.Next(test::Propose(terms)).entry, Violation::kBadBody);
  }
  SUBCASE("window ends before it starts") {
    terms.mutable_window()->set_end_ms(terms.window().start_ms() - 1);
    f.ExpectRejected(f.Next(test::Propose(terms)).entry, Violation::kBadBody);
  }
  SUBCASE("manifest count differs from the transfer count") {
    terms.mutable_transfers(0)->mutable_manifest()->set_root(std::string(32, '\1'));
    terms.mutable_transfers(0)->mutable_manifest()->set_count(9);
    f.ExpectRejected(f.Next(test::Propose(terms)).entry, Violation::kBadBody);
  }
  SUBCASE("accept with a short proposal id") {
    v1::Entry body;
    body.mutable_accept()->set_proposal("short");
    body.mutable_accept()->set_terms_digest(std::string(32, '\0'));
    f.ExpectRejected(f.Next(body).entry, Violation::kBadBody);
  }
  SUBCASE("key rotation without proof of the new key") {
    v1::Entry body;
    body.mutable_rotate_key()->set_new_public_key(test::ObserverKey().public_key().str());
    body.mutable_rotate_key()->set_new_key_signature(std::string(64, '\0'));
    f.ExpectRejected(f.Next(body).entry, Violation::kBadBody);
  }
}

TEST_CASE("accepts a key rotation that proves possession of the new key") {
  Fixture f;
  SecretKey next = SecretKey::Generate();
  v1::Entry body;
  std::string msg = f.ledger->charter().ledger_id().str() + std::string("\x01\x00\x00\x00", 4) + next.public_key().str();
  body.mutable_rotate_key()->set_new_public_key(next.public_key().str());
  body.mutable_rotate_key()->set_new_key_signature(Sign(next, kRotateDomain, msg).str());
  CHECK(f.ledger->Ingest(SignEntry(f.ru_key, f.Next(body).entry).envelope).value() == IngestOutcome::kStored);
}

TEST_CASE("a disclose is well formed with a manifest commitment and the other party as recipient") {
  Fixture f;
  const Digest root = Hash("test", "manifest");
  v1::Entry body = test::Disclose(root, 20, kUA);  // RU discloses to UA
  CHECK(std::string(KindName(body.body_case())) == "disclose");
  CHECK(KindWithArticle(body.body_case()) == "a disclose");
  SUBCASE("stored, referencing no entry") {
    const DecodedEntry e = f.Next(body);
    CHECK(ReferencesOf(e.entry).empty());
    CHECK(f.ledger->Ingest(SignEntry(f.ru_key, e.entry).envelope).value() == IngestOutcome::kStored);
  }
  SUBCASE("no manifest") {
    body.mutable_disclose()->clear_manifest();
    f.ExpectRejected(f.Next(body).entry, Violation::kBadBody);
  }
  SUBCASE("a root that is not 32 bytes") {
    body.mutable_disclose()->mutable_manifest()->set_root(std::string(31, '\1'));
    f.ExpectRejected(f.Next(body).entry, Violation::kBadBody);
  }
  SUBCASE("count 0") {
    body.mutable_disclose()->mutable_manifest()->set_count(0);
    f.ExpectRejected(f.Next(body).entry, Violation::kBadBody);
  }
  SUBCASE("to the author itself") {
    body.mutable_disclose()->set_to_party(kRU);
    f.ExpectRejected(f.Next(body).entry, Violation::kBadBody);
  }
  SUBCASE("to no party") {
    body.mutable_disclose()->set_to_party(2);
    f.ExpectRejected(f.Next(body).entry, Violation::kBadBody);
  }
}

TEST_CASE("the node refuses to sign a body that breaks a structural rule") {
  Fixture f;
  v1::Terms terms = test::RemainsTerms(kRU, 10, test::kT0);
  terms.clear_transfers();
  auto r = f.ledger->Append(test::Propose(terms), test::kT0 + 9000);
  REQUIRE_FALSE(r.has_value());
  CHECK(ViolationOf(r.error()) == Violation::kBadBody);
  CHECK(f.ledger->Head(kUA).seq == 2);
}

}  // namespace
}  // namespace parley
