// End to end: after UA's node is killed with SIGKILL while statements are
// being submitted and restarted, RU's node catches up at once. (What UA keeps
// across kills — nothing acknowledged lost, no seq signed twice, RU's copy a
// prefix of UA's — is the 100-cycle kill loop in fault_test.cc.)
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "node/ledger/ledger.h"
#include "node/store/store.h"
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

// After a peer restart the replicator reconnects at once: its backoff (up to
// 5 s) is only for a peer that cannot be reached or that serves bad data.
// (Typically well under 1 s; the bound leaves room for a sanitized build.)
TEST_CASE("Crash: RU catches up with UA within 3 s of each of 6 restarts of UA") {
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
    const bool converged = test::Eventually([&] { return n.Converged(); }, std::chrono::milliseconds(3000));
    CHECK_MESSAGE(converged, "RU had not caught up ", SecondsSince(restarted), " s after UA answered again");
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
