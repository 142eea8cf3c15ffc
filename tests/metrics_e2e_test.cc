// The Prometheus endpoint (docs/OPERATIONS.md, "Metrics"): real `parley`
// processes on 127.0.0.1 scraped over HTTP with a raw socket; the figures
// move as entries are signed, replicated and refused, and as the peer comes
// and goes. Off by default: a node without metrics_listen listens on its
// peer port only. A non-loopback address is refused without the opt-in.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <regex>

#include "node/daemon/config.h"
#include "node_harness.h"
#include "parley/v1/peer.grpc.pb.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
namespace fs = std::filesystem;

// GET `path` from 127.0.0.1:`port` over a raw socket (HTTP/1.0: the server
// closes when done). The body, or nullopt if nothing answers with 200.
std::optional<std::string> HttpGet(int port, const std::string& path = "/metrics") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t body = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || resp.find(" 200 ") != 8 || body == std::string::npos) return std::nullopt;
  return resp.substr(body + 4);
}

// The value of one series (`name` or `name{labels}` exactly as the text
// format writes it) in a scrape; nullopt if absent.
std::optional<double> Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::strtod(line.c_str() + series.size() + 1, nullptr);
  }
  return std::nullopt;
}

// The series' value in a fresh scrape of `port` (-1 if the scrape or the
// series failed), for Eventually.
double Scraped(int port, const std::string& series) {
  auto text = HttpGet(port);
  if (!text) return -1;
  return Sample(*text, series).value_or(-1);
}

// The TCP ports process `pid` listens on: its socket fds matched with the
// LISTEN rows (state 0A) of /proc/net/tcp and tcp6.
std::set<int> ListeningPorts(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code ec2;
    const std::string link = fs::read_symlink(fd.path(), ec2).string();
    if (link.rfind("socket:[", 0) == 0) inodes.insert(link.substr(8, link.size() - 9));
  }
  std::set<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream in(test::ReadText(table));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream row(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      row >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (state == "0A" && inodes.count(inode)) ports.insert(std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16));
    }
  }
  return ports;
}

// A fake RU node for the refusals that only a peer can cause: GetHeads
// reports an RU feed of `ru_head` entries (none of UA's), ReadFeed serves
// nothing, and Subscribe streams `items` byte for byte, then holds the
// stream until the client cancels.
class FakePeer final : public v1::Peer::Service {
 public:
  FakePeer(std::vector<std::string> items, uint64_t ru_head) : items_(std::move(items)), ru_head_(ru_head) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
    PARLEY_CHECK(server_ != nullptr && port_ != 0);
  }
  ~FakePeer() override {
    stopping_ = true;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status GetHeads(grpc::ServerContext*, const v1::GetHeadsRequest*, v1::Heads* resp) override {
    resp->set_ledger_id(test::TheCharter().ledger_id().str());
    auto* ua = resp->add_feeds();
    ua->set_party(kUA);
    auto* ru = resp->add_feeds();
    ru->set_party(kRU);
    ru->set_seq(ru_head_);
    ru->set_id(std::string(32, '\x5a'));
    return grpc::Status::OK;
  }
  grpc::Status ReadFeed(grpc::ServerContext*, const v1::ReadFeedRequest*, grpc::ServerWriter<v1::FeedItem>*) override {
    return grpc::Status::OK;
  }
  grpc::Status Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                         grpc::ServerWriter<v1::FeedItem>* writer) override {
    if (req->party() == kRU) {
      v1::FeedItem item;
      for (const std::string& env : items_) {
        item.set_envelope(env);
        if (!writer->Write(item)) return grpc::Status::OK;
      }
    }
    while (!ctx->IsCancelled() && !stopping_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return grpc::Status::OK;
  }

 private:
  const std::vector<std::string> items_;
  const uint64_t ru_head_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<grpc::Server> server_;
};

// RU#1 with `text`, signed with RU's real key.
DecodedEntry RuFirst(const std::string& text) {
  v1::Entry e = test::Say(text);
  e.set_ledger_id(test::TheCharter().ledger_id().str());
  e.set_author(kRU);
  e.set_seq(1);
  e.set_prev(test::TheCharter().ledger_id().str());
  e.set_time_ms(test::kT0);
  return SignEntry(test::PartyKey(kRU), e);
}

std::string MetricsConfig(int port) { return "metrics_listen = 127.0.0.1:" + std::to_string(port) + "\n"; }

TEST_CASE("metrics config: an address off loopback is refused unless metrics_allow_remote says so") {
  NodeConfig c;
  REQUIRE(c.Set("data_dir", "d", "/tmp").ok());
  REQUIRE(c.Set("key_file", "k", "/tmp").ok());
  REQUIRE(c.Set("charter", "c", "/tmp").ok());
  REQUIRE(c.Set("socket", "s", "/tmp").ok());
  REQUIRE(c.Set("peer", "127.0.0.1:7402", "/tmp").ok());
  REQUIRE(c.Set("plaintext", "true", "/tmp").ok());
  CHECK(c.metrics_listen.empty());  // off by default
  CHECK(c.Validate().ok());

  REQUIRE(c.Set("metrics_listen", "0.0.0.0:9464", "").ok());
  const Status off_loopback = c.Validate();
  CHECK(off_loopback.code() == Code::kInvalidArgument);
  CHECK_MESSAGE(off_loopback.message().find("metrics_listen address 0.0.0.0:9464 is not on loopback") !=
                    std::string::npos,
                off_loopback.message());
  CHECK(off_loopback.message().find("metrics_allow_remote = true") != std::string::npos);
  REQUIRE(c.Set("metrics_allow_remote", "true", "").ok());
  CHECK(c.Validate().ok());

  for (const char* loopback : {"127.0.0.1:9464", "127.1.2.3:1", "[::1]:9464"}) {
    NodeConfig l = c;
    l.metrics_allow_remote = false;
    REQUIRE(l.Set("metrics_listen", loopback, "").ok());
    CHECK_MESSAGE(l.Validate().ok(), loopback);
  }
  // A name is not an address (the server does not resolve it; and
  // "127.0.0.1.example.org" must not pass for loopback).
  for (const char* bad : {"localhost:9464", "127.0.0.1.example.org:9464", "127.0.0.1", "127.0.0.1:0",
                          "127.0.0.1:65536", "127.0.0.1:x", ":9464", "[::1:9464", "127.0.0.1:9464\x1b[2J"}) {
    NodeConfig b;
    const Status s = b.Set("metrics_listen", bad, "");
    CHECK_MESSAGE(s.code() == Code::kInvalidArgument, bad);
    CHECK(s.message().find("metrics_listen must be IP:port") != std::string::npos);
    CHECK(s.message().find('\x1b') == std::string::npos);  // shown through Printable
    CHECK(b.metrics_listen.empty());  // nothing kept
  }
  NodeConfig b;
  CHECK(b.Set("metrics_allow_remote", "yes", "").code() == Code::kInvalidArgument);
}

TEST_SUITE("e2e") {

TEST_CASE("metrics: off by default, the node listens on its peer port only") {
  test::NodePair pair;
  REQUIRE(pair.ua.Start());
  CHECK(ListeningPorts(pair.ua.pid()) == std::set<int>{pair.ua_port});
  CHECK(test::ReadText(pair.ua.log()).find("metrics=off") != std::string::npos);
}

TEST_CASE("metrics: heads, appends, ingests, refusals, peer calls and the peer link move as they happen") {
  test::NodePair pair;
  const int ua_metrics = test::FreePort(), ru_metrics = test::FreePort();
  pair.ua.SetExtraConfig(MetricsConfig(ua_metrics));
  pair.ru.SetExtraConfig(MetricsConfig(ru_metrics));
  REQUIRE(pair.ua.Start());
  REQUIRE(pair.ru.Start());
  CHECK(ListeningPorts(pair.ua.pid()) == std::set<int>{pair.ua_port, ua_metrics});

  auto first = HttpGet(ua_metrics);
  REQUIRE(first.has_value());
  // Every figure is there from the start, with its help text.
  for (const char* name : {"parley_feed_head_seq", "parley_peer_connected", "parley_lag_entries",
                           "parley_entries_appended_total", "parley_entries_ingested_total",
                           "parley_entries_refused_total", "parley_peer_calls_refused_total",
                           "parley_fork_proofs", "parley_fork_proofs_stored_total",
                           "parley_append_latency_seconds", "parley_catchup_remaining_entries",
                           "parley_signing_blocked", "parley_witness_alarms_total",
                           "parley_checkpoints_cosigned_total"}) {
    CHECK_MESSAGE(first->find(std::string("# HELP ") + name + " ") != std::string::npos, name);
  }
  CHECK(Sample(*first, "parley_entries_appended_total") == 0);
  CHECK(Sample(*first, "parley_feed_head_seq{party=\"own\"}") == 0);
  CHECK(Sample(*first, "parley_entries_refused_total{reason=\"bad-body\",source=\"local\"}") == 0);
  CHECK(Sample(*first, "parley_fork_proofs{party=\"peer\"}") == 0);
  CHECK(test::Eventually([&] { return Scraped(ua_metrics, "parley_peer_connected") == 1; }));
  CHECK(test::Eventually([&] { return Scraped(ru_metrics, "parley_peer_connected") == 1; }));

  auto ua = pair.ua.Client();
  for (int i = 1; i <= 3; ++i) {
    auto r = ua->Submit(test::Say("UA statement " + std::to_string(i)), "metrics-" + std::to_string(i));
    REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  }
  // A repeated request id returns the entry first signed: not a new append.
  REQUIRE(ua->Submit(test::Say("UA statement 3"), "metrics-3").has_value());
  auto after = HttpGet(ua_metrics);
  REQUIRE(after.has_value());
  CHECK(Sample(*after, "parley_entries_appended_total") == 3);
  CHECK(Sample(*after, "parley_feed_head_seq{party=\"own\"}") == 3);
  CHECK(Sample(*after, "parley_append_latency_seconds_count") == 3);
  CHECK(Sample(*after, "parley_append_latency_seconds_sum") > 0);
  CHECK(test::Eventually([&] { return Scraped(ru_metrics, "parley_feed_head_seq{party=\"peer\"}") == 3; }));
  CHECK(Scraped(ru_metrics, "parley_entries_ingested_total{party=\"peer\"}") == 3);
  CHECK(Scraped(ru_metrics, "parley_entries_appended_total") == 0);
  CHECK(Scraped(ru_metrics, "parley_lag_entries{behind=\"us\"}") == 0);
  // UA knows RU has been sent all three.
  CHECK(test::Eventually([&] { return Scraped(ua_metrics, "parley_lag_entries{behind=\"peer\"}") == 0; }));

  // A refused entry: counted under its violation's name, never its message.
  auto refused = ua->Submit(test::Say("a control character \x1b[31m here"), "metrics-bad");
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message().find("bad-body") != std::string::npos);
  auto with_refusal = HttpGet(ua_metrics);
  REQUIRE(with_refusal.has_value());
  CHECK(Sample(*with_refusal, "parley_entries_refused_total{reason=\"bad-body\",source=\"local\"}") == 1);
  CHECK(Sample(*with_refusal, "parley_entries_appended_total") == 3);
  CHECK(with_refusal->find("control character") == std::string::npos);
  CHECK(with_refusal->find('\x1b') == std::string::npos);
  CHECK(pair.ua.HeadOf(kUA).seq == 3);  // nothing stored

  // A peer call without a token: refused, counted by its code.
  {
    auto stub = v1::Peer::NewStub(grpc::CreateChannel(pair.ua.address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::GetHeadsRequest req;
    req.set_ledger_id(test::TheCharter().ledger_id().str());
    v1::Heads heads;
    REQUIRE(stub->GetHeads(&ctx, req, &heads).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  CHECK(test::Eventually(
      [&] { return Scraped(ua_metrics, "parley_peer_calls_refused_total{code=\"UNAUTHENTICATED\"}") == 1; }));

  // The peer goes away: disconnected; what we sign meanwhile is lag on its side.
  REQUIRE(pair.ru.Stop() == 0);
  CHECK(test::Eventually([&] { return Scraped(ua_metrics, "parley_peer_connected") == 0; }));
  for (int i = 4; i <= 5; ++i) {
    REQUIRE(ua->Submit(test::Say("UA statement " + std::to_string(i)), "metrics-" + std::to_string(i)).has_value());
  }
  CHECK(Scraped(ua_metrics, "parley_entries_appended_total") == 5);
  CHECK(Scraped(ua_metrics, "parley_lag_entries{behind=\"peer\"}") == 2);
  CHECK_FALSE(HttpGet(ru_metrics).has_value());  // its endpoint went with it

  // It comes back: connected, caught up, its counters start again.
  REQUIRE(pair.ru.Start());
  CHECK(test::Eventually([&] { return Scraped(ua_metrics, "parley_peer_connected") == 1; }));
  CHECK(test::Eventually([&] { return Scraped(ru_metrics, "parley_feed_head_seq{party=\"peer\"}") == 5; }));
  CHECK(Scraped(ru_metrics, "parley_entries_ingested_total{party=\"peer\"}") == 2);
  CHECK(test::Eventually([&] { return Scraped(ua_metrics, "parley_lag_entries{behind=\"peer\"}") == 0; }));
  CHECK(Scraped(ru_metrics, "parley_catchup_remaining_entries{party=\"peer\"}") == 0);
}

TEST_CASE("metrics: an entry the peer sends that breaks a rule counts under its violation, not its text") {
  DecodedEntry ru1 = RuFirst("RU#1 reason=\"}\n# HELP injected");
  v1::SignedEntry env;
  REQUIRE(env.ParseFromString(ru1.envelope));
  std::string sig = env.signature();
  sig[5] = static_cast<char>(sig[5] ^ 0x01);
  env.set_signature(sig);
  test::TempDir root;
  FakePeer fake({env.SerializeAsString()}, 1);
  test::NodeProcess ua(root.path(), kUA, test::FreePort(), fake.address());
  const int port = test::FreePort();
  ua.SetExtraConfig(MetricsConfig(port));
  REQUIRE(ua.Start());
  const std::string series = "parley_entries_refused_total{reason=\"bad-signature\",source=\"peer\"}";
  CHECK(test::Eventually([&] { return Scraped(port, series) >= 1; }));
  auto text = HttpGet(port);
  REQUIRE(text.has_value());
  CHECK(Sample(*text, "parley_entries_ingested_total{party=\"peer\"}") == 0);
  CHECK(Sample(*text, "parley_feed_head_seq{party=\"peer\"}") == 0);
  CHECK(Sample(*text, "parley_entries_refused_total{reason=\"bad-signature\",source=\"local\"}") == 0);
  CHECK(text->find("injected") == std::string::npos);
  CHECK(ua.HeadOf(kRU).seq == 0);  // nothing stored
}

TEST_CASE("metrics: two RU#1s from the peer are one fork proof, counted and held") {
  test::TempDir root;
  FakePeer fake({RuFirst("RU#1").envelope, RuFirst("RU#1, another version").envelope}, 1);
  test::NodeProcess ua(root.path(), kUA, test::FreePort(), fake.address());
  const int port = test::FreePort();
  ua.SetExtraConfig(MetricsConfig(port));
  REQUIRE(ua.Start());
  CHECK(test::Eventually([&] { return Scraped(port, "parley_fork_proofs{party=\"peer\"}") == 1; }));
  auto text = HttpGet(port);
  REQUIRE(text.has_value());
  CHECK(Sample(*text, "parley_fork_proofs_stored_total") == 1);
  CHECK(Sample(*text, "parley_fork_proofs{party=\"own\"}") == 0);
  CHECK(Sample(*text, "parley_entries_ingested_total{party=\"peer\"}") == 1);
  CHECK(Sample(*text, "parley_feed_head_seq{party=\"peer\"}") == 1);
}

TEST_CASE("metrics: a node whose metrics address is taken does not start, and says why") {
  test::NodePair pair;
  pair.ua.SetExtraConfig(MetricsConfig(pair.ru_port));  // RU's peer port, held by RU
  REQUIRE(pair.ru.Start());
  CHECK_FALSE(pair.ua.Start());
  const std::string log = test::ReadText(pair.ua.log());
  CHECK_MESSAGE(log.find("cannot serve metrics on 127.0.0.1:" + std::to_string(pair.ru_port)) != std::string::npos,
                log);
}

TEST_CASE("metrics: a node refuses to start with its metrics off loopback and no opt-in") {
  test::NodePair pair;
  pair.ua.SetExtraConfig("metrics_listen = 0.0.0.0:" + std::to_string(test::FreePort()) + "\n");
  CHECK_FALSE(pair.ua.Start());
  const std::string log = test::ReadText(pair.ua.log());
  CHECK_MESSAGE(log.find("is not on loopback") != std::string::npos, log);
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
