// End to end: a relay (`parley relay`, node/relay/, docs/PROTOCOL.md §16)
// between two nodes that have no direct link. They converge through it; a
// partition of one side from the relay leaves both signing and they
// converge after; Publish takes only a party's own, valid entries; strangers
// are refused, observers read, and no manifest is served. A node whose
// entry the relay refuses logs why and backs off; an idle link stays up.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <string_view>
#include <thread>

#include "node/relay/relay_service.h"
#include "node_harness.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
using test::RelayProcess;
namespace fs = std::filesystem;

// UA and RU configured with `relay` and no `peer`.
struct RelayTrio {
  test::TempDir root;
  int relay_port = test::FreePort();
  RelayProcess relay{root.path(), relay_port};
  test::NodeProcess ua{root.path(), kUA, test::FreePort(), ""};
  test::NodeProcess ru{root.path(), kRU, test::FreePort(), ""};

  RelayTrio() {
    ua.SetExtraConfig("relay = " + relay.address() + "\n");
    ru.SetExtraConfig("relay = " + relay.address() + "\n");
  }
  bool Converged() {
    const auto r = relay.Heads();
    for (PartyIndex p = 0; p < 2; ++p) {
      FeedHead a = ua.HeadOf(p), b = ru.HeadOf(p);
      if (a.seq != b.seq || a.id != b.id || r[p] != a.seq) return false;
    }
    return true;
  }
};

// Publishes `envelopes` as `key`; the call's status.
grpc::Status PublishAs(const RelayProcess& relay, const SecretKey& key, const std::vector<std::string>& envelopes,
                       v1::Heads* heads) {
  const PeerClient client = relay.ClientAs(key);
  grpc::ClientContext ctx;
  size_t i = 0;
  return client.Publish(ctx, std::chrono::seconds(5), [&]() -> std::optional<std::string> {
    if (i == envelopes.size()) return std::nullopt;
    return envelopes[i++];
  }, heads);
}

// The stored feed `party` as the relay serves it, read as `key`.
std::vector<std::string> FeedAt(const RelayProcess& relay, const SecretKey& key, PartyIndex party) {
  auto r = relay.ClientAs(key).ReadFeed(party, 1, 1000);
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().ToString()));
  return *r;
}

TEST_CASE("relay: two nodes with no direct link converge through it; an observer reads the same bytes" *
          doctest::test_suite("e2e")) {
  RelayTrio t;
  REQUIRE(t.relay.Start());
  REQUIRE(t.ua.Start());
  REQUIRE(t.ru.Start());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(t.ua.Cli({"statement", "ua " + std::to_string(i)}).code == 0);
    REQUIRE(t.ru.Cli({"statement", "ru " + std::to_string(i)}).code == 0);
  }
  REQUIRE_MESSAGE(test::Eventually([&] { return t.Converged(); }), test::ReadText(t.relay.log()));
  CHECK(t.ua.HeadOf(kUA).seq == 3);
  CHECK(t.ru.HeadOf(kUA).seq == 3);
  // An observer reads both feeds at the relay: the entries exactly as UA's
  // node stored and signed them (byte-identical, so checkpoints match).
  auto ua_ops = t.ua.Client();
  const Charter charter = ua_ops->GetCharter().value();
  auto at_ua = ua_ops->ReadFeeds(charter);
  REQUIRE(at_ua.has_value());
  for (PartyIndex p = 0; p < 2; ++p) {
    const auto at_relay = FeedAt(t.relay, test::ObserverKey(), p);
    REQUIRE(at_relay.size() == (*at_ua)[p].size());
    for (size_t i = 0; i < at_relay.size(); ++i) CHECK(at_relay[i] == (*at_ua)[p][i].envelope);
  }
  // An observer (the ICRC's auditor) audits the ledger live at the relay;
  // the report equals the offline audit of UA's export.
  const auto observer_key = t.root.path() / "icrc.key";
  REQUIRE(WriteKeyFile(observer_key, test::ObserverKey(), "test passphrase", InteractiveKdfParams()).ok());
  auto live = test::RunParley({"audit", "--peer", t.relay.address(), "--charter", (t.ua.dir() / "charter").string(),
                               "--key", observer_key.string(), "--passphrase-env", "PARLEY_TEST_PASSPHRASE",
                               "--plaintext", "--json"});
  REQUIRE_MESSAGE(live.code == 0, live.err);
  const auto bundle = t.root.path() / "export.parley";
  REQUIRE(t.ua.Cli({"export", bundle.string()}).code == 0);
  auto offline = test::RunParley({"audit", bundle.string(), "--json"});
  REQUIRE(offline.code == 0);
  auto a = nlohmann::json::parse(live.out), b = nlohmann::json::parse(offline.out);
  CHECK(a["entries"] == b["entries"]);
  CHECK(a["state"] == b["state"]);
  // Neither node holds a fork proof or an alarm; each names the relay.
  for (auto* n : {&t.ua, &t.ru}) {
    auto st = n->Client()->GetStatus().value();
    CHECK(st.fork_proofs() == 0);
    CHECK(st.alarms_size() == 0);
    CHECK(st.peer().address() == t.relay.address());
  }
}

TEST_CASE("relay: a side cut off from the relay keeps signing, and both converge when it is back" *
          doctest::test_suite("e2e")) {
  RelayTrio t;
  REQUIRE(t.relay.Start());
  REQUIRE(t.ua.Start());
  REQUIRE(t.ru.Start());
  REQUIRE(t.ua.Cli({"statement", "before"}).code == 0);
  REQUIRE(test::Eventually([&] { return t.Converged(); }));
  // RU is cut off: its node points at a dead port (restarted so).
  REQUIRE(t.ru.Stop() == 0);
  t.ru.SetExtraConfig("relay = 127.0.0.1:" + std::to_string(test::FreePort()) + "\n");
  REQUIRE(t.ru.Start());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(t.ua.Cli({"statement", "ua during " + std::to_string(i)}).code == 0);
    REQUIRE(t.ru.Cli({"statement", "ru during " + std::to_string(i)}).code == 0);
  }
  CHECK(test::Eventually([&] { return t.relay.Heads()[kUA] == 4; }));
  CHECK(t.relay.Heads()[kRU] == 0);
  CHECK(t.ru.HeadOf(kUA).seq == 1);
  // The relay itself goes down for a while: UA signs on.
  REQUIRE(t.relay.Stop() == 0);
  REQUIRE(t.ua.Cli({"statement", "relay down"}).code == 0);
  REQUIRE(t.relay.Start());
  // RU reconnected to the relay.
  REQUIRE(t.ru.Stop() == 0);
  t.ru.SetExtraConfig("relay = " + t.relay.address() + "\n");
  REQUIRE(t.ru.Start());
  REQUIRE_MESSAGE(test::Eventually([&] { return t.Converged(); }, std::chrono::seconds(20)),
                  test::ReadText(t.relay.log()));
  CHECK(t.ua.HeadOf(kUA).seq == 5);
  CHECK(t.ua.HeadOf(kRU).seq == 3);
}

TEST_CASE("relay: a node whose data folder waits for peer confirmation gets it from the relay's heads" *
          doctest::test_suite("e2e")) {
  RelayTrio t;
  t.ua.SetSignWithoutPeerConfirmation(false);
  t.ua.SetExtraConfig("relay = " + t.relay.address() + "\n");
  REQUIRE(t.relay.Start());
  REQUIRE(t.ua.Start());
  // Signing waits until the relay's GetHeads confirms UA's own head.
  auto r = t.ua.Cli({"statement", "confirmed through the relay"});
  CHECK_MESSAGE(r.code == 0, r.err);
  CHECK(test::Eventually([&] { return t.relay.Heads()[kUA] == 1; }));
}

TEST_CASE("relay: Publish takes a party's own valid entries only; strangers and observers are refused" *
          doctest::test_suite("e2e")) {
  test::TempDir root;
  RelayProcess relay(root.path(), test::FreePort());
  REQUIRE(relay.Start());
  test::Scenario s;
  s.Add(kUA, test::Say("one"));
  s.Add(kUA, test::Say("two"));
  s.Add(kRU, test::Say("ru one"));
  const std::vector<std::string> ua_feed = {s.feed(kUA)[0].envelope, s.feed(kUA)[1].envelope};
  v1::Heads heads;

  SUBCASE("the party's own entries are stored, then served") {
    REQUIRE(PublishAs(relay, test::PartyKey(kUA), ua_feed, &heads).ok());
    CHECK(heads.feeds(kUA).seq() == 2);
    CHECK(FeedAt(relay, test::PartyKey(kRU), kUA) == ua_feed);
    // Publishing again is a no-op (duplicates).
    REQUIRE(PublishAs(relay, test::PartyKey(kUA), ua_feed, &heads).ok());
    CHECK(relay.Heads() == std::array<uint64_t, 2>{2, 0});
  }
  SUBCASE("a party publishing the other party's entries is refused, nothing stored") {
    const grpc::Status st = PublishAs(relay, test::PartyKey(kRU), ua_feed, &heads);
    CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK_MESSAGE(st.error_message().find("publishes only its own feed") != std::string::npos, st.error_message());
    CHECK(relay.Heads() == std::array<uint64_t, 2>{0, 0});
  }
  SUBCASE("an observer and a stranger may not publish; the observer may read") {
    grpc::Status st = PublishAs(relay, test::ObserverKey(), ua_feed, &heads);
    CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    const SecretKey stranger = SecretKey::FromSeed(test::SeedFrom(0x90));
    st = PublishAs(relay, stranger, ua_feed, &heads);
    CHECK(st.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(relay.Heads() == std::array<uint64_t, 2>{0, 0});
    // A stranger reads nothing either.
    auto h = relay.ClientAs(stranger).GetHeads();
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().code() == Code::kPermissionDenied);
    CHECK(relay.ClientAs(test::ObserverKey()).GetHeads().has_value());
  }
  SUBCASE("a forged entry is refused and nothing stored changes") {
    REQUIRE(PublishAs(relay, test::PartyKey(kUA), {ua_feed[0]}, &heads).ok());
    std::string forged = ua_feed[1];
    forged[forged.size() / 2] ^= 0x01;
    const grpc::Status st = PublishAs(relay, test::PartyKey(kUA), {forged}, &heads);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_MESSAGE(st.error_message().find("published entry refused") != std::string::npos, st.error_message());
    CHECK(relay.Heads() == std::array<uint64_t, 2>{1, 0});
    CHECK(FeedAt(relay, test::ObserverKey(), kUA) == std::vector<std::string>{ua_feed[0]});
  }
  SUBCASE("in one stream: the good entries before a forged one are stored, it and those after it are not") {
    test::Scenario longer;
    for (int i = 0; i < 40; ++i) longer.Add(kUA, test::Say("entry " + std::to_string(i)));
    std::vector<std::string> stream;
    for (const auto& e : longer.feed(kUA)) stream.push_back(e.envelope);
    stream[30][stream[30].size() / 2] ^= 0x01;  // seq 31 forged; 32.. valid but unplaceable
    const grpc::Status st = PublishAs(relay, test::PartyKey(kUA), stream, &heads);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_MESSAGE(st.error_message().find("published entry refused") != std::string::npos, st.error_message());
    CHECK(relay.Heads() == std::array<uint64_t, 2>{30, 0});
    const std::vector<std::string> good(stream.begin(), stream.begin() + 30);
    CHECK(FeedAt(relay, test::ObserverKey(), kUA) == good);
  }
  SUBCASE("a publisher still sending when an entry is refused is cancelled; the good entry before it stays") {
    std::string forged = ua_feed[1];
    forged[forged.size() / 2] ^= 0x01;
    const std::vector<std::string> stream = {ua_feed[0], forged};
    const PeerClient client = relay.ClientAs(test::PartyKey(kUA));
    grpc::ClientContext ctx;
    size_t i = 0;
    const grpc::Status st = client.Publish(ctx, std::chrono::seconds(10), [&]() -> std::optional<std::string> {
      if (i < stream.size()) return stream[i++];
      // The stream stays open past the relay's grace, as a node's does
      // between its entries.
      std::this_thread::sleep_for(kPublishRefusalGrace * 3);
      return std::nullopt;
    }, &heads);
    // The client reads the cancel as CANCELLED, or as UNAVAILABLE "keepalive
    // watchdog timeout": while its only thread sleeps in the generator no
    // thread polls the connection, so the relay's ping acks are read only by
    // gRPC's backup poller (every 5 s), after the 1 s watchdog has fired
    // (peer_client.h). The relay's log says it cancelled, and why.
    CHECK_MESSAGE((st.error_code() == grpc::StatusCode::CANCELLED ||
                   st.error_code() == grpc::StatusCode::UNAVAILABLE),
                  st.error_message());
    CHECK(test::ReadText(relay.log()).find("call cancelled") != std::string::npos);
    CHECK(relay.Heads() == std::array<uint64_t, 2>{1, 0});
    CHECK(FeedAt(relay, test::ObserverKey(), kUA) == std::vector<std::string>{ua_feed[0]});
    CHECK(test::ReadText(relay.log()).find("published entry refused") != std::string::npos);
  }
  SUBCASE("a second version of a seq becomes a fork proof served by GetForkProofs") {
    REQUIRE(PublishAs(relay, test::PartyKey(kUA), {ua_feed[0]}, &heads).ok());
    test::Scenario other;
    other.Add(kUA, test::Say("another one"));
    REQUIRE(PublishAs(relay, test::PartyKey(kUA), {other.feed(kUA)[0].envelope}, &heads).ok());
    CHECK(heads.frozen_parties_size() == 1);
    auto proofs = relay.ClientAs(test::PartyKey(kRU)).GetForkProofs();
    REQUIRE(proofs.has_value());
    CHECK(proofs->proofs_size() == 1);
  }
  SUBCASE("the relay serves no manifest") {
    auto m = relay.ClientAs(test::PartyKey(kRU)).GetSealedManifest(test::TheCharter().ledger_id(), 1 << 20);
    REQUIRE_FALSE(m.has_value());
    CHECK(m.error().code() == Code::kFailedPrecondition);
    CHECK_MESSAGE(m.error().message().find("a relay holds no manifests") != std::string::npos, m.error().message());
  }
}

TEST_CASE("relay: a fork the relay caught reaches the other party's node, which freezes that feed too" *
          doctest::test_suite("e2e")) {
  RelayTrio t;
  REQUIRE(t.relay.Start());
  // UA's key signs two different entries 1 (key misuse); both are published.
  test::Scenario a, b;
  a.Add(kUA, test::Say("version a"));
  b.Add(kUA, test::Say("version b"));
  v1::Heads heads;
  REQUIRE(PublishAs(t.relay, test::PartyKey(kUA), {a.feed(kUA)[0].envelope}, &heads).ok());
  REQUIRE(PublishAs(t.relay, test::PartyKey(kUA), {b.feed(kUA)[0].envelope}, &heads).ok());
  REQUIRE(heads.frozen_parties_size() == 1);
  REQUIRE(t.ru.Start());
  REQUIRE_MESSAGE(test::Eventually([&] { return t.ru.Client()->GetStatus().value().fork_proofs() == 1; }),
                  test::ReadText(t.ru.log()));
  CHECK(t.ru.HeadOf(kUA).seq == 1);
  // RU's own statements still go through the relay.
  REQUIRE(t.ru.Cli({"statement", "noted"}).code == 0);
  CHECK(test::Eventually([&] { return t.relay.Heads()[kRU] == 1; }));
}

// The lines of `text` from byte `from` on that contain `needle`.
std::vector<std::string> LinesWith(const std::string& text, std::string_view needle, size_t from = 0) {
  std::vector<std::string> out;
  std::istringstream in(text.substr(std::min(from, text.size())));
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) out.push_back(line);
  }
  return out;
}

// A log line's time (its ts=, node/daemon/log.h) in ms since the epoch.
int64_t LoggedAtMs(const std::string& line) {
  std::tm tm{};
  int ms = 0;
  REQUIRE_MESSAGE(std::sscanf(line.c_str(), "ts=%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                              &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) == 7,
                  line);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// SIGTERM; the exit code, and how long the process took to exit.
template <typename Process>
std::pair<int, std::chrono::milliseconds> TimedStop(Process& p) {
  const auto t0 = std::chrono::steady_clock::now();
  const int code = p.Stop();
  return {code, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)};
}

TEST_CASE("relay: a node whose published entry the relay refuses logs why, backs off, and stops promptly meanwhile" *
          doctest::test_suite("e2e")) {
  using namespace std::chrono_literals;
  test::TempDir root;
  RelayProcess relay(root.path(), test::FreePort());
  test::NodeProcess ua(root.path(), kUA, test::FreePort(), "");
  ua.SetExtraConfig("relay = " + relay.address() + "\n");
  REQUIRE(relay.Start());
  // RU's entry 1 reaches UA's node through the relay.
  test::Scenario s;
  s.Add(kRU, test::Say("ru one"));
  const std::string ru_one = s.feed(kRU)[0].envelope;
  v1::Heads heads;
  REQUIRE(PublishAs(relay, test::PartyKey(kRU), {ru_one}, &heads).ok());
  REQUIRE(ua.Start());
  // (Asked on a connection of its own each time: a node's stop waits up to
  // its 2 s shutdown deadline while the harness's kept HeadOf connection is
  // open.)
  REQUIRE(test::Eventually([&] { return ua.Client()->GetStatus().value().feeds(kRU).seq() == 1; }));
  // The relay loses its data folder and starts empty, and RU's node has not
  // published again yet. UA's entry 1 names RU's entry 1 as seen, which the
  // relay no longer holds: it refuses that entry on every attempt.
  const size_t before_restart = test::ReadText(ua.log()).size();
  REQUIRE(relay.Stop() == 0);
  fs::remove_all(root.path() / "relay" / "data");
  REQUIRE(relay.Start());
  REQUIRE(test::Eventually(
      [&] { return test::ReadText(ua.log()).find("peer reconnected", before_restart) != std::string::npos; }));
  const size_t node_from = test::ReadText(ua.log()).size(), relay_from = test::ReadText(relay.log()).size();
  REQUIRE(ua.Cli({"statement", "seen ru one"}).code == 0);
  constexpr std::string_view kEnded = "publishing to the relay ended";
  constexpr std::string_view kRefused = "published entry refused";
  constexpr std::string_view kWhy = "seen names entry 1 of the other feed, which is not stored";
  constexpr size_t kAttempts = 6;
  REQUIRE_MESSAGE(test::Eventually([&] { return LinesWith(test::ReadText(ua.log()), kEnded, node_from).size() >= kAttempts; },
                                   20s),
                  (test::ReadText(ua.log()) + "\nrelay:\n" + test::ReadText(relay.log())));

  // In back-off (3.2 s after the 6th failure) the node stops at once.
  const auto [code, took] = TimedStop(ua);
  CHECK(code == 0);
  CHECK_MESSAGE(took < 2s, took.count(), " ms", test::ReadText(ua.log()).substr(node_from));

  const std::string node_log = test::ReadText(ua.log()), relay_log = test::ReadText(relay.log());
  const auto ended = LinesWith(node_log, kEnded, node_from);
  const auto refused = LinesWith(relay_log, kRefused, relay_from);
  REQUIRE(ended.size() >= kAttempts);
  // (a) The node logs each failed attempt with the relay's reason and the
  // entries it sent; each is one refusal at the relay. The node ends its
  // stream itself, so the relay never has to cancel it.
  for (const std::string& line : ended) {
    CHECK_MESSAGE(line.find("level=warn") != std::string::npos, line);
    CHECK_MESSAGE(line.find(kWhy) != std::string::npos, line);
    CHECK_MESSAGE(line.find("sent=1..1") != std::string::npos, line);
  }
  CHECK(refused.size() == ended.size());
  for (const std::string& line : refused) CHECK_MESSAGE(line.find(kWhy) != std::string::npos, line);
  CHECK_MESSAGE(LinesWith(relay_log, "call cancelled", relay_from).empty(), relay_log);
  CHECK(relay.Heads() == std::array<uint64_t, 2>{0, 0});
  // (b) Back-off, not a loop: the node waits longer after each failure
  // (100 ms, 200 ms, ... 1.6 s before the 6th attempt), so the gap between
  // the 5th and 6th failures is well over the one between the 1st and 2nd
  // (without back-off both are one attempt, ~kPublishLinger), and few
  // attempts fit in the first 1.5 s (3; without back-off, 7).
  std::vector<int64_t> at;
  for (const std::string& line : ended) at.push_back(LoggedAtMs(line));
  const int64_t first_gap = at[1] - at[0], last_gap = at[kAttempts - 1] - at[kAttempts - 2];
  CHECK_MESSAGE(last_gap >= first_gap + 1000, "gaps between failures (ms): first ", first_gap, ", last ", last_gap);
  CHECK_MESSAGE(std::count_if(at.begin(), at.end(), [&](int64_t t) { return t - at[0] < 1500; }) <= 4,
                "failures in the first 1.5 s");

  // Once RU's entry 1 is back at the relay (as RU's node publishes it when
  // it reconnects), UA's entry goes through, and a node stopped with
  // nothing to publish logs no failure either.
  REQUIRE(PublishAs(relay, test::PartyKey(kRU), {ru_one}, &heads).ok());
  const size_t node_restart = test::ReadText(ua.log()).size();
  REQUIRE(ua.Start());
  CHECK(test::Eventually([&] { return relay.Heads()[kUA] == 1; }));
  const auto [code2, took2] = TimedStop(ua);
  CHECK(code2 == 0);
  CHECK_MESSAGE(took2 < 2s, took2.count(), " ms");
  const std::string after = test::ReadText(ua.log()).substr(node_restart);
  CHECK_MESSAGE(LinesWith(after, kEnded).empty(), after);
  CHECK_MESSAGE(after.find("node stopped") != std::string::npos, after);
}

// Keepalive on the link is a ping after kKeepaliveIdleMs without traffic,
// answered within kKeepaliveTimeoutMs (both sides: peer_client.h,
// ConfigurePeerServer). While nothing is signed, each node's link to the
// relay carries only its idle Subscribe to the other feed, and no Publish
// call (a node holds none open while it has nothing to send); the next
// entry opens one.
TEST_CASE("relay: after several keepalive periods with nothing to publish, the next entry reaches the other party at once" *
          doctest::test_suite("e2e")) {
  using namespace std::chrono_literals;
  RelayTrio t;
  REQUIRE(t.relay.Start());
  REQUIRE(t.ua.Start());
  REQUIRE(t.ru.Start());
  REQUIRE(t.ua.Cli({"statement", "before the pause"}).code == 0);
  REQUIRE(test::Eventually([&] { return t.ru.HeadOf(kUA).seq == 1; }));
  const size_t ua_from = test::ReadText(t.ua.log()).size(), ru_from = test::ReadText(t.ru.log()).size(),
               relay_from = test::ReadText(t.relay.log()).size();
  // Three whole keepalive cycles (a ping and its timeout) with no entry.
  std::this_thread::sleep_for(3 * std::chrono::milliseconds(kKeepaliveIdleMs + kKeepaliveTimeoutMs));
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(t.ua.Cli({"statement", "after the pause"}).code == 0);
  CHECK(test::Eventually([&] { return t.ru.HeadOf(kUA).seq == 2; }, 2s));
  MESSAGE("the entry after the pause reached RU's node in ",
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count(), " ms");
  // No stream broke meanwhile: no publish error, no disconnect, at either
  // node or the relay.
  const std::string ua_log = test::ReadText(t.ua.log()).substr(ua_from);
  const std::string ru_log = test::ReadText(t.ru.log()).substr(ru_from);
  CHECK_MESSAGE(LinesWith(ua_log, "publishing to the relay ended").empty(), ua_log);
  CHECK_MESSAGE(LinesWith(ua_log, "level=warn").empty(), ua_log);
  CHECK_MESSAGE(LinesWith(ru_log, "level=warn").empty(), ru_log);
  CHECK_MESSAGE(LinesWith(test::ReadText(t.relay.log()), "level=warn", relay_from).empty(), test::ReadText(t.relay.log()));
}

TEST_CASE("relay: a relay that lost its data between two of a node's Publish calls gets the whole feed again" *
          doctest::test_suite("e2e")) {
  test::TempDir root;
  RelayProcess relay(root.path(), test::FreePort());
  test::NodeProcess ua(root.path(), kUA, test::FreePort(), "");
  ua.SetExtraConfig("relay = " + relay.address() + "\n");
  REQUIRE(relay.Start());
  REQUIRE(ua.Start());
  REQUIRE(ua.Cli({"statement", "one"}).code == 0);
  REQUIRE(test::Eventually([&] { return relay.Heads()[kUA] == 1; }));
  const size_t from = test::ReadText(ua.log()).size();
  REQUIRE(relay.Stop() == 0);
  fs::remove_all(root.path() / "relay" / "data");
  REQUIRE(relay.Start());
  REQUIRE(test::Eventually([&] { return test::ReadText(ua.log()).find("peer reconnected", from) != std::string::npos; }));
  // UA's next call starts after entry 1, where its last one left the relay;
  // the empty relay refuses entry 2 as out of sequence, and the retry asks
  // its heads and sends both.
  REQUIRE(ua.Cli({"statement", "two"}).code == 0);
  CHECK_MESSAGE(test::Eventually([&] { return relay.Heads()[kUA] == 2; }), test::ReadText(ua.log()));
  CHECK(FeedAt(relay, test::ObserverKey(), kUA).size() == 2);
  const auto ended = LinesWith(test::ReadText(ua.log()), "publishing to the relay ended", from);
  REQUIRE(ended.size() == 1);
  CHECK_MESSAGE(ended[0].find("expected seq 1") != std::string::npos, ended[0]);
  CHECK_MESSAGE(ended[0].find("sent=2..2") != std::string::npos, ended[0]);
}

}  // namespace
}  // namespace parley
