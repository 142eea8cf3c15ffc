// End to end: a node that lost its data folder, or had it (and its
// high-water mark) restored from an older copy, recovers both feeds from the
// peer in causal order and signs on at the next seq, never one seq twice
// (docs/OPERATIONS.md, "Recovery"; docs/PROTOCOL.md §9, §10).
#include <doctest/doctest.h>

#include <filesystem>

#include "node_harness.h"

namespace parley {
namespace {

using test::IdOf;
using test::kRU;
using test::kUA;
namespace fs = std::filesystem;

// Every seq of both feeds holds the same entry on both nodes, and neither
// node holds a fork proof or raises an alarm.
void CheckSameFeedsNoFork(test::NodePair& n) {
  auto ua = n.ua.Client();
  auto ru = n.ru.Client();
  const Charter charter = ua->GetCharter().value();
  auto a = ua->ReadFeeds(charter);
  auto b = ru->ReadFeeds(charter);
  REQUIRE_MESSAGE(a.has_value(), a.error().ToString());
  REQUIRE_MESSAGE(b.has_value(), b.error().ToString());
  for (PartyIndex p = 0; p < 2; ++p) {
    REQUIRE((*a)[p].size() == (*b)[p].size());
    for (size_t i = 0; i < (*a)[p].size(); ++i) {
      CHECK((*a)[p][i].seq() == i + 1);
      CHECK_MESSAGE((*a)[p][i].id == (*b)[p][i].id, "party " << p << " seq " << i + 1 << " differs");
    }
  }
  for (auto* c : {ua.get(), ru.get()}) {
    auto st = c->GetStatus().value();
    CHECK(st.fork_proofs() == 0);
    CHECK_MESSAGE(st.alarms_size() == 0, (st.alarms_size() ? st.alarms(0) : std::string()));
  }
}

std::string AlarmsOf(const test::NodeProcess& node) {
  auto st = node.Client()->GetStatus();
  if (!st) return "(no status: " + st.error().ToString() + ")";
  std::string out;
  for (const auto& a : st->alarms()) out += a + "\n";
  return out + "last error: " + st->peer().last_error();
}

// A story in which RU's entries cite UA's feed: UA proposes, RU accepts, UA
// notes it, RU answers, and so on — each one signed after the other side's
// last entry arrived.
void PlayCitingStory(test::NodePair& n) {
  auto p = n.ua.Cli({"propose", "--kind", "remains_transfer", "--transfer", "UA>RU:remains:12",
                     "--crossing", "border", "--transport", "road", "--from", "2025-06-09", "--until", "2025-06-10",
                     "--allow-past", "--json"});
  REQUIRE_MESSAGE(p.code == 0, p.err);
  REQUIRE(test::Eventually([&] { return n.ru.HeadOf(kUA).seq == 1; }));
  auto a = n.ru.Cli({"accept", IdOf(p).substr(0, 12), "--json"});
  REQUIRE_MESSAGE(a.code == 0, a.err);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(test::Eventually([&] { return n.Converged(); }));
    REQUIRE(n.ua.Client()->Submit(test::Say("UA notes round " + std::to_string(i)), "ua-" + std::to_string(i)));
    REQUIRE(test::Eventually([&] { return n.Converged(); }));
    REQUIRE(n.ru.Client()->Submit(test::Say("RU answers round " + std::to_string(i)), "ru-" + std::to_string(i)));
  }
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  // RU's entries do cite UA's feed (the case the old recovery failed on).
  auto ru_feed = n.ru.Client()->ReadFeed(n.ru.Client()->GetCharter().value(), kRU).value();
  REQUIRE(ru_feed.size() == 4);
  CHECK(ru_feed[0].entry.seen().seq() == 1);
  CHECK(ru_feed[3].entry.seen().seq() == 4);
}

TEST_SUITE("e2e") {

TEST_CASE("a node whose own entries cite the other feed recovers both feeds after losing its data folder, then signs head+1") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  PlayCitingStory(n);
  const FeedHead own = n.ru.HeadOf(kRU), other = n.ru.HeadOf(kUA);
  REQUIRE(n.ru.Stop() == 0);
  fs::remove_all(n.ru.dir() / "data");  // the high-water mark (key.hwm) survives
  n.ru.SetSignWithoutPeerConfirmation(false);  // the default
  REQUIRE(n.ru.Start());
  REQUIRE_MESSAGE(test::Eventually([&] { return n.ru.HeadOf(kRU).seq == own.seq; }, std::chrono::seconds(20)),
                  AlarmsOf(n.ru));
  CHECK(n.ru.HeadOf(kRU).id == own.id);
  REQUIRE(test::Eventually([&] { return n.ru.HeadOf(kUA).seq == other.seq; }));
  CHECK(n.ru.HeadOf(kUA).id == other.id);
  auto next = n.ru.Client()->Submit(test::Say("RU after the recovery"), "ru-after");
  REQUIRE_MESSAGE(next.has_value(), ((next.has_value() ? std::string() : next.error().ToString()) + "\n" + AlarmsOf(n.ru)));
  CHECK(next->seq() == own.seq + 1);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  CHECK(n.ua.HeadOf(kRU).seq == own.seq + 1);
  CheckSameFeedsNoFork(n);
  auto status = n.ru.Cli({"status"});
  CHECK(status.code == 0);
  CHECK(status.out.find("ALARM") == std::string::npos);
  CHECK(status.out.find("seen-mismatch") == std::string::npos);
}

TEST_CASE("a node killed with SIGKILL while it recovers both feeds recovers after a restart and never signs a seq twice") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  // A few hundred entries on each side, signed while the other side's keep
  // arriving: RU's seen links cite UA's feed all along, and UA's cite RU's.
  {
    auto ua = n.ua.Client();
    auto ru = n.ru.Client();
    for (int i = 0; i < 300; ++i) {
      REQUIRE(ua->Submit(test::Say("UA " + std::to_string(i)), "ua-" + std::to_string(i)));
      REQUIRE(ru->Submit(test::Say("RU " + std::to_string(i)), "ru-" + std::to_string(i)));
    }
  }
  REQUIRE(test::Eventually([&] { return n.Converged(); }, std::chrono::seconds(30)));
  const FeedHead own = n.ru.HeadOf(kRU);
  REQUIRE(own.seq == 300);
  REQUIRE(n.ru.Stop() == 0);
  fs::remove_all(n.ru.dir() / "data");
  n.ru.SetSignWithoutPeerConfirmation(false);
  REQUIRE(n.ru.Start());
  // Killed as soon as the recovery has begun.
  REQUIRE(test::Eventually([&] { return n.ru.HeadOf(kRU).seq > 0 || n.ru.HeadOf(kUA).seq > 0; },
                           std::chrono::seconds(20)));
  n.ru.Kill();
  {
    // What the killed node kept (read offline is not possible while locked;
    // it is not running now, so start it and look at once).
    REQUIRE(n.ru.Start());
    const uint64_t kept = n.ru.HeadOf(kRU).seq;
    MESSAGE("own entries held right after the restart: " << kept << " of " << own.seq);
  }
  // While the recovery runs, nothing is signed at a seq the peer holds.
  auto early = n.ru.Client()->Submit(test::Say("RU during the recovery"), "ru-during");
  REQUIRE_MESSAGE(test::Eventually([&] { return n.ru.HeadOf(kRU).seq >= own.seq; }, std::chrono::seconds(30)),
                  AlarmsOf(n.ru));
  if (early.has_value()) CHECK(early->seq() == own.seq + 1);  // it waited for the recovery
  REQUIRE(n.ru.HeadOf(kRU).seq <= own.seq + 1);
  auto next = n.ru.Client()->Submit(test::Say("RU after the recovery"), "ru-after");
  REQUIRE_MESSAGE(next.has_value(), ((next.has_value() ? std::string() : next.error().ToString()) + "\n" + AlarmsOf(n.ru)));
  CHECK(next->seq() == n.ru.HeadOf(kRU).seq);
  CHECK(next->seq() > own.seq);
  REQUIRE(test::Eventually([&] { return n.Converged(); }, std::chrono::seconds(20)));
  CheckSameFeedsNoFork(n);
}

TEST_CASE("a data folder and mark restored from an older copy: no signing until the peer confirms, then recovery and head+1") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  auto ua = n.ua.Client();
  for (int i = 0; i < 3; ++i) REQUIRE(ua->Submit(test::Say("UA before the backup " + std::to_string(i)), "b" + std::to_string(i)));
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  REQUIRE(n.ua.Stop() == 0);
  const fs::path backup = n.ua.dir() / "backup";
  fs::create_directories(backup);
  fs::copy(n.ua.dir() / "data", backup / "data", fs::copy_options::recursive);
  fs::copy_file(n.ua.dir() / "key.hwm", backup / "key.hwm");
  REQUIRE(n.ua.Start());
  ua = n.ua.Client();
  REQUIRE(n.ru.Client()->Submit(test::Say("RU in between"), "ru-0"));
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  for (int i = 0; i < 2; ++i) REQUIRE(ua->Submit(test::Say("UA after the backup " + std::to_string(i)), "a" + std::to_string(i)));
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  const FeedHead newest = n.ua.HeadOf(kUA);
  REQUIRE(newest.seq == 5);
  REQUIRE(n.ua.Stop() == 0);
  REQUIRE(n.ru.Stop() == 0);

  auto restore = [&] {
    fs::remove_all(n.ua.dir() / "data");
    fs::copy(backup / "data", n.ua.dir() / "data", fs::copy_options::recursive);
    fs::copy_file(backup / "key.hwm", n.ua.dir() / "key.hwm", fs::copy_options::overwrite_existing);
  };

  SUBCASE("by default it waits for the peer, then recovers the newer entries and signs the next seq") {
    restore();
    n.ua.SetSignWithoutPeerConfirmation(false);
    REQUIRE(n.ua.Start());
    CHECK(n.ua.HeadOf(kUA).seq == 3);
    const std::string alarms = AlarmsOf(n.ua);
    CHECK_MESSAGE(alarms.find("waiting for the peer to confirm this node's own head (seq 3)") != std::string::npos, alarms);
    CHECK(alarms.find("sign_without_peer_confirmation") != std::string::npos);
    auto refused = n.ua.Client()->Submit(test::Say("would be a second seq 4"), "second-4");
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message().find("waiting for the peer to confirm") != std::string::npos);
    auto status = n.ua.Cli({"status"});
    CHECK(status.out.find("waiting for the peer to confirm") != std::string::npos);
    CHECK(n.ua.HeadOf(kUA).seq == 3);

    REQUIRE(n.ru.Start());
    REQUIRE_MESSAGE(test::Eventually([&] { return n.ua.HeadOf(kUA).seq == newest.seq; }, std::chrono::seconds(20)),
                    AlarmsOf(n.ua));
    CHECK(n.ua.HeadOf(kUA).id == newest.id);
    auto next = n.ua.Client()->Submit(test::Say("UA after the restore"), "after-restore");
    REQUIRE_MESSAGE(next.has_value(), ((next.has_value() ? std::string() : next.error().ToString()) + "\n" + AlarmsOf(n.ua)));
    CHECK(next->seq() == newest.seq + 1);
    REQUIRE(test::Eventually([&] { return n.Converged(); }));
    CheckSameFeedsNoFork(n);
  }

  SUBCASE("with sign_without_peer_confirmation it signs at once: the risky path signs seq 4 a second time") {
    restore();
    n.ua.SetSignWithoutPeerConfirmation(true);
    REQUIRE(n.ua.Start());
    auto at_once = n.ua.Client()->Submit(test::Say("signed while cut off"), "offline-4");
    REQUIRE_MESSAGE(at_once.has_value(), at_once.error().ToString());
    CHECK(at_once->seq() == 4);  // RU already holds another UA#4
    // On contact the node is shown its other seq 4: a fork of its own feed,
    // proved and stored; signing stops (the documented risk).
    REQUIRE(n.ru.Start());
    REQUIRE(test::Eventually([&] { return AlarmsOf(n.ua).find("misused") != std::string::npos; },
                             std::chrono::seconds(20)));
    CHECK(n.ua.Client()->GetStatus().value().fork_proofs() == 1);
    CHECK_FALSE(n.ua.Client()->Submit(test::Say("more"), "more").has_value());
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
