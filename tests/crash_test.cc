// End to end: UA's node is killed with SIGKILL while statements are being
// submitted, again and again. No acknowledged statement may be lost, the feed
// must stay a valid chain, signing must continue at the next seq, RU's copy
// must never run ahead of or diverge from what UA kept, and RU must catch up.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "node/ledger.h"
#include "node/store.h"
#include "node_harness.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
using Ms = std::chrono::milliseconds;

// The error of a failed Result, for assertion messages (doctest builds the
// message even for passing assertions when run with -s).
template <class T>
std::string Why(const Result<T>& r) {
  return r.has_value() ? std::string() : r.error().ToString();
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct Ack {
  std::string request_id;
  Digest id;
  uint64_t seq = 0;
};

// Submits statements to UA from a writer thread (each with a fresh request
// id, which is also its text), kills UA with SIGKILL after `delay`, restarts
// it and returns what was acknowledged. `calls` counts every Submit made.
std::vector<Ack> WriteAndKill(test::NodePair& n, const std::string& tag, Ms delay, int& calls) {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<Ack> acks;
  std::thread writer([&] {
    auto client = OperatorClient::Connect(n.ua.socket());
    if (!client) return;
    for (int i = 0; !stop.load(); ++i) {
      const std::string rid = tag + "-" + std::to_string(i);
      auto r = (*client)->Submit(test::Say(rid), rid);
      std::lock_guard lock(mu);
      ++calls;
      if (!r) break;  // the node is gone: later calls would fail the same way
      acks.push_back({rid, *Digest::FromBytes(r->id()), r->seq()});
    }
  });
  std::this_thread::sleep_for(delay);
  stop = true;
  n.ua.Kill();
  // OperatorClient::Submit retries an unreachable node for about 6 s with the
  // same request id. Restarting before joining keeps a cycle short; a retry
  // that reaches the restarted node must get back the entry its request made
  // before the crash, if it made one, and never a second entry.
  const bool restarted = n.ua.Start();
  writer.join();
  REQUIRE(restarted);
  return acks;
}

TEST_SUITE("e2e") {

TEST_CASE("Crash: UA killed with SIGKILL 20 times while statements are submitted loses no acknowledged statement") {
  const auto started = std::chrono::steady_clock::now();
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());

  constexpr int kCycles = 20;
  std::mt19937 rng(20250608);
  std::uniform_int_distribution<int> delay_ms(20, 150);

  std::vector<Ack> acked;  // every acknowledged statement, all cycles
  int calls = 0;           // Submit calls made, acknowledged or not

  for (int cycle = 0; cycle < kCycles; ++cycle) {
    CAPTURE(cycle);
    for (Ack& a : WriteAndKill(n, "crash-" + std::to_string(cycle), Ms(delay_ms(rng)), calls)) {
      acked.push_back(std::move(a));
    }

    auto client = n.ua.Client();
    auto feed = client->ReadFeed(test::TheCharter(), kUA);
    REQUIRE_MESSAGE(feed.has_value(), Why(feed));

    // Every acknowledged statement is there, at the seq it was acknowledged
    // with, and no request made two entries.
    std::set<std::string> texts;
    for (const DecodedEntry& e : *feed) {
      const bool first = texts.insert(e.entry.statement().text()).second;
      CHECK_MESSAGE(first, "two entries for request ", e.entry.statement().text());
    }
    size_t missing = 0;
    for (const Ack& a : acked) {
      if (a.seq == 0 || a.seq > feed->size() || (*feed)[a.seq - 1].id != a.id) ++missing;
    }
    CHECK_MESSAGE(missing == 0, missing, " acknowledged entries missing from UA's feed");

    // The whole feed re-verifies from scratch, entry by entry, as a chain.
    auto fresh = Ledger::Open(NewMemoryStore(), test::TestCharter(), LedgerOptions{});
    REQUIRE(fresh.has_value());
    for (const DecodedEntry& e : *feed) {
      auto r = (*fresh)->Ingest(e.envelope);
      REQUIRE_MESSAGE(r.has_value(), "seq ", e.seq(), ": ", Why(r));
      REQUIRE(*r == IngestOutcome::kStored);
    }
    CHECK((*fresh)->Head(kUA).seq == feed->size());

    // RU never holds an entry of UA's that UA lost: its copy is a prefix.
    auto ru_copy = n.ru.Client()->ReadFeed(test::TheCharter(), kUA);
    REQUIRE_MESSAGE(ru_copy.has_value(), Why(ru_copy));
    CHECK(ru_copy->size() <= feed->size());
    for (size_t i = 0; i < ru_copy->size() && i < feed->size(); ++i) {
      CHECK((*ru_copy)[i].id == (*feed)[i].id);
    }

    // Signing continues right after the head.
    const uint64_t head = feed->size();
    CHECK(n.ua.HeadOf(kUA).seq == head);
    const std::string rid = "after-crash-" + std::to_string(cycle);
    auto next = client->Submit(test::Say(rid), rid);
    REQUIRE_MESSAGE(next.has_value(), Why(next));
    CHECK(next->seq() == head + 1);
    acked.push_back({rid, *Digest::FromBytes(next->id()), next->seq()});
    ++calls;

    // RU converges after every restart.
    CHECK(test::Eventually([&] { return n.Converged(); }, std::chrono::seconds(5)));
  }

  CHECK(test::Eventually([&] { return n.Converged(); }, std::chrono::seconds(15)));
  auto ua_feed = n.ua.Client()->ReadFeed(test::TheCharter(), kUA);
  auto ru_feed = n.ru.Client()->ReadFeed(test::TheCharter(), kUA);
  REQUIRE(ua_feed.has_value());
  REQUIRE(ru_feed.has_value());
  REQUIRE(ua_feed->size() == ru_feed->size());
  for (size_t i = 0; i < ua_feed->size(); ++i) CHECK((*ua_feed)[i].envelope == (*ru_feed)[i].envelope);
  for (auto* node : {&n.ua, &n.ru}) {
    auto st = node->Client()->GetStatus();
    REQUIRE(st.has_value());
    CHECK(st->fork_proofs() == 0);
    CHECK(st->alarms_size() == 0);
  }

  std::set<Digest> ids;
  for (const DecodedEntry& e : *ua_feed) ids.insert(e.id);
  size_t lost = 0;
  std::set<std::string> requests;
  for (const Ack& a : acked) {
    if (!ids.count(a.id)) ++lost;
    requests.insert(a.request_id);
  }
  CHECK(lost == 0);
  CHECK(requests.size() == acked.size());
  CHECK(acked.size() >= static_cast<size_t>(kCycles));
  MESSAGE(kCycles, " cycles, ", acked.size(), " acknowledged entries, ", lost, " lost (", calls,
          " Submit calls, UA head ", ua_feed->size(), ", ", SecondsSince(started), " s)");
}

// After a peer restart the replicator reconnects at once: its backoff is only
// for a peer that cannot be reached or that serves bad data.
TEST_CASE("Crash: RU catches up with UA within 1.5 s of each of 6 restarts of UA") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  int calls = 0;
  for (int cycle = 0; cycle < 6; ++cycle) {
    CAPTURE(cycle);
    WriteAndKill(n, "restart-" + std::to_string(cycle), Ms(50), calls);
    const std::string rid = "after-restart-" + std::to_string(cycle);
    auto next = n.ua.Client()->Submit(test::Say(rid), rid);
    REQUIRE_MESSAGE(next.has_value(), Why(next));
    const auto restarted = std::chrono::steady_clock::now();
    const bool converged = test::Eventually([&] { return n.Converged(); }, std::chrono::milliseconds(1500));
    CHECK_MESSAGE(converged, "RU had not caught up ", SecondsSince(restarted), " s after UA answered again");
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
