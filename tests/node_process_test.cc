// End to end: real `parley node` processes on 127.0.0.1, driven through the
// CLI and the operator socket as an operator would.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include "node/protocol/agreements.h"
#include <map>
#include <nlohmann/json.hpp>

#include "node_harness.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
using test::IdOf;

TEST_SUITE("e2e") {

TEST_CASE("a proposal on one node and its acceptance on the other give the same agreement on both") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  auto p = n.ru.Cli({"propose", "--kind", "remains_transfer", "--transfer", "RU>UA:remains:1212", "--crossing",
                     "border", "--transport", "road", "--from", "2025-06-09", "--until", "2025-06-10", "--allow-past", "--json"});
  REQUIRE_MESSAGE(p.code == 0, p.err);
  const std::string id = IdOf(p);
  REQUIRE(id.size() == 64);

  // UA sees RU's proposal well under a second after RU's node signed it.
  const auto signed_at = std::chrono::steady_clock::now();
  REQUIRE(test::Eventually([&] { return n.ua.HeadOf(kRU).seq == 1; }, std::chrono::seconds(1)));
  const auto seen_after = std::chrono::steady_clock::now() - signed_at;
  CHECK(seen_after < std::chrono::milliseconds(750));

  auto a = n.ua.Cli({"accept", id.substr(0, 10), "--json"});
  REQUIRE_MESSAGE(a.code == 0, a.err);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  auto ua_view = n.ua.Cli({"show", id.substr(0, 8), "--json"});
  auto ru_view = n.ru.Cli({"show", id.substr(0, 8), "--json"});
  REQUIRE(ua_view.code == 0);
  CHECK(ua_view.out == ru_view.out);
  auto j = nlohmann::json::parse(ua_view.out);
  CHECK(j["proposal"]["state"] == "agreed");
  CHECK(j["proposal"]["bilateral"] == true);
  CHECK(j["proposal"]["proposer"] == "RU");
  CHECK(j["proposal"]["answered"]["party"] == "UA");
  auto list = n.ua.Cli({"list"});
  CHECK(list.out.find("AGREED (signed by both)") != std::string::npos);
}

TEST_CASE("a node that was down catches up with 100 statements and both views are identical") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  REQUIRE(n.ru.Stop() == 0);
  auto client = n.ua.Client();
  for (int i = 0; i < 100; ++i) {
    v1::Entry body = test::Say("statement " + std::to_string(i));
    REQUIRE(client->Submit(body, "partition-" + std::to_string(i)).has_value());
  }
  CHECK(n.ua.HeadOf(kUA).seq == 100);
  REQUIRE(n.ru.Start());
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  auto a = n.ua.Cli({"list", "--json"});
  auto b = n.ru.Cli({"list", "--json"});
  CHECK(a.code == 0);
  CHECK(a.out == b.out);
  CHECK(n.ru.HeadOf(kUA).seq == 100);
}

TEST_CASE("a node whose data folder was lost recovers its own feed from the peer (two range reads) and signs on at the next seq") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  auto client = n.ua.Client();
  for (int i = 0; i < 1500; ++i) {  // more than one range read (1000)
    REQUIRE(client->Submit(test::Say("before the loss " + std::to_string(i)), "lost-" + std::to_string(i)).has_value());
  }
  REQUIRE(test::Eventually([&] { return n.Converged(); }, std::chrono::seconds(30)));
  const FeedHead before = n.ua.HeadOf(kUA);
  REQUIRE(n.ua.Stop() == 0);
  std::filesystem::remove_all(n.ua.dir() / "data");  // the high-water mark (key.hwm) survives
  REQUIRE(n.ua.Start());
  // Recovered from RU's copy (until then it refuses to sign: ledger_test.cc), then signs at the next seq.
  REQUIRE(test::Eventually([&] { return n.ua.HeadOf(kUA).seq == before.seq; }, std::chrono::seconds(30)));
  CHECK(n.ua.HeadOf(kUA).id == before.id);
  auto next = n.ua.Client()->Submit(test::Say("after the recovery"), "after-loss");
  REQUIRE_MESSAGE(next.has_value(), next.error().ToString());
  CHECK(next->seq() == before.seq + 1);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  auto st = n.ua.Client()->GetStatus();
  REQUIRE(st.has_value());
  CHECK(st->alarms_size() == 0);
}

TEST_CASE("a retried request id gives one entry") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  auto first = n.ua.Cli({"statement", "notice", "--request-id", "r-42", "--json"});
  auto again = n.ua.Cli({"statement", "notice", "--request-id", "r-42", "--json"});
  REQUIRE(first.code == 0);
  REQUIRE(again.code == 0);
  CHECK(IdOf(first) == IdOf(again));
  CHECK(n.ua.HeadOf(kUA).seq == 1);
  auto other = n.ua.Cli({"statement", "another notice", "--request-id", "r-42"});
  CHECK(other.code != 0);
  CHECK(other.err.find("already used for a different statement") != std::string::npos);
  CHECK(n.ua.HeadOf(kUA).seq == 1);
}

TEST_CASE("the node refuses to sign void statements and says why") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  auto p = n.ua.Cli({"propose", "--kind", "remains", "--transfer", "UA>RU:remains:5", "--crossing", "x",
                     "--transport", "rail", "--from", "2025-06-09", "--until", "2025-06-10", "--allow-past", "--json"});
  REQUIRE(p.code == 0);
  auto own = n.ua.Cli({"accept", IdOf(p).substr(0, 12)});
  CHECK(own.code != 0);
  CHECK(own.err.find("accepts its own") != std::string::npos);
  REQUIRE(n.ua.Cli({"withdraw", IdOf(p).substr(0, 12)}).code == 0);
  auto again = n.ua.Cli({"withdraw", IdOf(p).substr(0, 12)});
  CHECK(again.code != 0);
  CHECK(again.err.find("already withdrawn") != std::string::npos);
  CHECK(n.ua.HeadOf(kUA).seq == 2);
  // A malformed body straight through the operator API (no CLI to resolve
  // IDs): refused with the reason, nothing signed.
  std::vector<v1::Entry> malformed(3);
  malformed[0].mutable_cancel()->set_agreement("short");
  malformed[1].mutable_handover()->set_agreement(std::string(31, 'x'));
  malformed[2].mutable_accept()->set_proposal("");
  for (size_t i = 0; i < malformed.size(); ++i) {
    auto r = n.ua.Client()->Submit(malformed[i], "malformed-" + std::to_string(i));
    REQUIRE_FALSE(r.has_value());
    CHECK_MESSAGE(r.error().message().find("must be 32 bytes") != std::string::npos, r.error().message());
  }
  CHECK(n.ua.HeadOf(kUA).seq == 2);
}

TEST_CASE("CLI errors give a clear message and a non-zero exit") {
  test::NodePair n;
  SUBCASE("node not running") {
    auto r = n.ua.Cli({"status"});
    CHECK(r.code != 0);
    CHECK(r.err.find("node not running") != std::string::npos);
  }
  SUBCASE("bad flags") {
    auto r = test::RunParley({"propose", "--transport", "teleport"});
    CHECK(r.code == 2);
    CHECK_FALSE(r.err.empty());
    auto t = test::RunParley({"no-such-command"});
    CHECK(t.code == 2);
  }
  SUBCASE("unknown and ambiguous IDs") {
    REQUIRE(n.ua.Start());
    auto unknown = n.ua.Cli({"show", "abcdef0123"});
    CHECK(unknown.code != 0);
    CHECK(unknown.err.find("no entry starts with") != std::string::npos);
    auto bad = n.ua.Cli({"show", "xyz!"});
    CHECK(bad.code != 0);
    // Make entries until two IDs share their first four hex digits.
    auto client = n.ua.Client();
    std::map<std::string, int> prefixes;
    std::string shared;
    for (int i = 0; i < 5000 && shared.empty(); ++i) {
      auto r = client->Submit(test::Say("s" + std::to_string(i)), "amb-" + std::to_string(i));
      REQUIRE(r.has_value());
      std::string prefix = ToHex(r->id()).substr(0, 4);
      if (++prefixes[prefix] == 2) shared = prefix;
    }
    REQUIRE_FALSE(shared.empty());
    auto amb = n.ua.Cli({"accept", shared});
    CHECK(amb.code != 0);
    CHECK(amb.err.find("ambiguous") != std::string::npos);
  }
}

TEST_CASE("a second node on the same data folder refuses to start, and SIGTERM stops a node cleanly") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  struct stat st {};
  REQUIRE(::stat(n.ua.socket().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // The same config with its own socket and port: the data folder's lock is
  // what must refuse it.
  auto twin = test::RunParley({"node", "--config", (n.ua.dir() / "node.conf").string(), "--socket",
                               (n.root.path() / "twin.sock").string(), "--listen",
                               "127.0.0.1:" + std::to_string(test::FreePort())});
  CHECK(twin.code != 0);
  CHECK(twin.err.find("in use by another process") != std::string::npos);
  CHECK(n.ua.Stop() == 0);
  CHECK(test::ReadText(n.ua.log()).find("node stopped") != std::string::npos);
}

TEST_CASE("the demo plays the story end to end and its audit is clean") {
  test::TempDir dir;
  auto r = test::RunParley({"demo", "--dir", (dir.path() / "demo").string()});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("Both nodes compute the same state") != std::string::npos);
  CHECK(r.out.find("Verdict: CLEAN") != std::string::npos);
  CHECK(r.out.find("AGREED (signed by both) — completed: 1212 of 1212") != std::string::npos);
  // Through the intermediary: the ICRC's witness cosigned both heads, and
  // `show` and the audit say when it first saw the entries.
  CHECK(r.out.find("Witnesses required (1): MET — both feeds' heads are covered") != std::string::npos);
  CHECK(r.out.find("existed by ") != std::string::npos);
  CHECK(r.out.find("per witness \"icrc.example/witness\"") != std::string::npos);
  CHECK(std::filesystem::is_regular_file(dir.path() / "demo" / ".parley-demo"));  // the next demo may empty it

  // Again in the same folder: the demo empties what it made before.
  std::ofstream(dir.path() / "demo" / "stale.txt") << "left over\n";
  auto again = test::RunParley({"demo", "--dir", (dir.path() / "demo").string()});
  INFO(again.err);
  CHECK(again.code == 0);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "demo" / "stale.txt"));
  CHECK(again.out.find("Verdict: CLEAN") != std::string::npos);
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
