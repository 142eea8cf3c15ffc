// Recovery in the ledger: the causal order both feeds are recovered in, the
// peer's confirmation of the own head, and own entries above a mark that was
// restored from an older copy (docs/PROTOCOL.md §9, §10).
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <thread>

#include "fixtures.h"
#include "node/report/bundle.h"
#include "node/store/high_water_mark.h"
#include "node/ledger/ledger.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
namespace fs = std::filesystem;

// An envelope whose entry's seen names seq `seen` (all the ordering reads).
std::string SeeingEnvelope(uint64_t seen) {
  v1::Entry e;
  if (seen > 0) e.mutable_seen()->set_seq(seen);
  v1::SignedEntry s;
  s.set_entry(e.SerializeAsString());
  return s.SerializeAsString();
}

EnvelopeSource SourceOf(const std::vector<uint64_t>& seens) {
  auto at = std::make_shared<size_t>(0);
  return [seens, at]() -> Result<std::optional<std::string>> {
    if (*at == seens.size()) return std::optional<std::string>();
    return std::optional<std::string>(SeeingEnvelope(seens[(*at)++]));
  };
}

TEST_CASE("MergeFeedsInCausalOrder hands each entry over after every entry its seen names, from the held heads on") {
  // Feed 0 holds 1 entry already, feed 1 none; the sources give the rest.
  // Feed 1's entries name feed 0's seq 2, 2, 4; feed 0's name feed 1's 0, 1, 1, 3.
  const std::vector<uint64_t> seen0 = {0, 1, 1, 3}, seen1 = {2, 2, 4};
  const uint64_t have[2] = {1, 0};
  uint64_t given[2] = {have[0], have[1]};
  std::string order;
  Status s = MergeFeedsInCausalOrder(SourceOf(seen0), SourceOf(seen1), have, [&](PartyIndex p, std::string env) {
    v1::SignedEntry se;
    v1::Entry e;
    REQUIRE(se.ParseFromString(env));
    REQUIRE(e.ParseFromString(se.entry()));
    CHECK_MESSAGE(e.seen().seq() <= given[1 - p], "party " << p << " entry handed over before what it has seen");
    ++given[p];
    order += std::to_string(p);
    return Status::Ok();
  });
  REQUIRE(s.ok());
  CHECK(given[0] == 5);
  CHECK(given[1] == 3);
  CHECK(order == "0100110");
}

struct Node {
  fs::path data, hwm;
  bool require_peer_confirmation = false;

  Result<std::unique_ptr<Ledger>> Open() const {
    auto store = OpenLevelDbStore(data);
    if (!store) return store.error();
    LedgerOptions o;
    o.self = kUA;
    o.key = test::PartyKey(kUA);
    o.high_water_mark = hwm;
    o.require_peer_confirmation = require_peer_confirmation;
    return Ledger::Open(std::move(*store), test::TestCharter(), std::move(o));
  }
};

// The next entry of UA's feed in `l`, signed with UA's key outside `l`.
std::string SignedElsewhere(const Ledger& l, const std::string& text) {
  const FeedHead h = l.Head(kUA);
  v1::Entry e = test::Say(text);
  e.set_ledger_id(l.charter().ledger_id().str());
  e.set_author(kUA);
  e.set_seq(h.seq + 1);
  e.set_prev(h.seq == 0 ? l.charter().ledger_id().str() : h.id.str());
  e.set_time_ms(test::kT0 + 10);
  return SignEntry(test::PartyKey(kUA), e).envelope;
}

TEST_CASE("with require_peer_confirmation nothing is signed until the peer has confirmed the own head") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", true};
  auto l = ua.Open().value();
  REQUIRE(l->signing_blocked().has_value());
  CHECK(l->signing_blocked()->find("waiting for the peer to confirm this node's own head (seq 0)") != std::string::npos);
  CHECK(l->signing_blocked()->find("sign_without_peer_confirmation") != std::string::npos);
  auto refused = l->Append(test::Say("too early"), test::kT0);  // waits kPeerConfirmationWait, then refuses
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == Code::kFailedPrecondition);
  CHECK_FALSE(l->Preview(test::Say("too early"), test::kT0).has_value());
  // The peer holding more of our feed than we do is no confirmation.
  CHECK(l->ConfirmOwnHead(1).code() == Code::kFailedPrecondition);
  CHECK(l->signing_blocked().has_value());
  REQUIRE(l->ConfirmOwnHead(0).ok());
  CHECK(l->own_head_confirmed());
  CHECK_FALSE(l->signing_blocked().has_value());
  CHECK(l->Append(test::Say("now"), test::kT0).value().seq() == 1);
}

TEST_CASE("an Append waiting for the peer's confirmation signs as soon as it comes") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm", true};
  auto l = ua.Open().value();
  std::thread confirm([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    REQUIRE(l->ConfirmOwnHead(0).ok());
  });
  auto r = l->Append(test::Say("waits"), test::kT0);
  confirm.join();
  REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  CHECK(r->seq() == 1);
}

TEST_CASE("folder and mark restored from an older copy: own entries above the mark are recovered until the peer confirms, key misuse after") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm"};
  {
    auto l = ua.Open().value();
    (void)l->Append(test::Say("one"), test::kT0).value();
    (void)l->Append(test::Say("two"), test::kT0).value();
  }
  fs::copy(ua.data, dir.path() / "old-data", fs::copy_options::recursive);
  fs::copy_file(ua.hwm, dir.path() / "old.hwm");
  std::vector<std::string> later;
  Digest ledger_id;
  {
    auto l = ua.Open().value();
    ledger_id = l->charter().ledger_id();
    later.push_back(l->Append(test::Say("three"), test::kT0).value().envelope);
    later.push_back(l->Append(test::Say("four"), test::kT0).value().envelope);
  }
  fs::remove_all(ua.data);
  fs::rename(dir.path() / "old-data", ua.data);
  fs::copy_file(dir.path() / "old.hwm", ua.hwm, fs::copy_options::overwrite_existing);

  ua.require_peer_confirmation = true;
  {
    auto l = ua.Open().value();
    CHECK(l->Head(kUA).seq == 2);  // and the mark says 2: nothing local tells it is stale
    REQUIRE(l->signing_blocked().has_value());
    CHECK(l->signing_blocked()->find("waiting for the peer") != std::string::npos);
    // The peer serves seq 3 and 4: taken as ours, the mark follows.
    CHECK(l->Ingest(later[0]).value() == IngestOutcome::kStored);
    CHECK(l->Ingest(later[1]).value() == IngestOutcome::kStored);
    CHECK(l->Head(kUA).seq == 4);
  }
  {
    auto mark = HighWaterMark::Open(ua.hwm, ledger_id);
    REQUIRE(mark.has_value());
    CHECK((*mark)->seq() == 4);
  }
  auto l = ua.Open().value();
  REQUIRE(l->ConfirmOwnHead(4).ok());
  CHECK_FALSE(l->signing_blocked().has_value());
  // Once confirmed, an own entry this node did not sign is key misuse.
  auto r = l->Ingest(SignedElsewhere(*l, "signed with UA's key somewhere else"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message().find("never signed here") != std::string::npos);
  CHECK(l->signing_blocked().has_value());
}

TEST_CASE("after a signature since the start, an own entry above the mark is key misuse even unconfirmed") {
  test::TempDir dir;
  Node ua{dir.path() / "ua", dir.path() / "ua.hwm"};
  auto l = ua.Open().value();
  (void)l->Append(test::Say("one"), test::kT0).value();
  auto r = l->Ingest(SignedElsewhere(*l, "two?"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kFailedPrecondition);
  CHECK(l->Head(kUA).seq == 1);
}

}  // namespace
}  // namespace parley
