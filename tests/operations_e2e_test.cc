// Running a node for real: health for monitors (`parley status` exit codes,
// --check), the log (level, file, SIGHUP, peer connect/disconnect lines),
// a clean stop, `--version`, and key tooling. Real processes on 127.0.0.1.
#include <doctest/doctest.h>

#include <signal.h>
#include <stdlib.h>

#include <regex>

#include <nlohmann/json.hpp>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <future>

#include "crypto/key_file.h"
#include "node_harness.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("operations: --version names the release, the protocol and the commit") {
  auto r = test::RunParley({"--version"});
  CHECK(r.code == 0);
  CHECK_MESSAGE(std::regex_search(r.out, std::regex(R"(^parley \d+\.\d+\.\d+ \(protocol v1, commit ([0-9a-f]{12}|unknown)\)\n$)")),
                r.out);
}

TEST_CASE("operations: key show needs no passphrase; key passwd changes it and keeps the key") {
  test::TempDir dir;
  const std::string file = (dir.path() / "k").string();
  ::setenv("PARLEY_TEST_OLD", "old passphrase", 1);
  ::setenv("PARLEY_TEST_NEW", "new passphrase", 1);
  auto made = test::RunParley({"keygen", "--out", file, "--kdf", "interactive", "--passphrase-env", "PARLEY_TEST_OLD"});
  REQUIRE_MESSAGE(made.code == 0, made.err);
  const std::string pk = made.out.substr(0, 64);
  auto shown = test::RunParley({"key", "show", file});
  CHECK(shown.code == 0);
  CHECK(Contains(shown.out, "public key  " + pk));
  auto shown_json = test::RunParley({"key", "show", file, "--json"});
  CHECK(nlohmann::json::parse(shown_json.out)["public_key"] == pk);

  auto wrong = test::RunParley({"key", "passwd", file, "--passphrase-env", "PARLEY_TEST_NEW", "--new-passphrase-env",
                                "PARLEY_TEST_NEW", "--kdf", "interactive"});
  CHECK(wrong.code != 0);  // the old passphrase is needed
  auto changed = test::RunParley({"key", "passwd", file, "--passphrase-env", "PARLEY_TEST_OLD", "--new-passphrase-env",
                                  "PARLEY_TEST_NEW", "--kdf", "interactive"});
  REQUIRE_MESSAGE(changed.code == 0, changed.err);
  CHECK_FALSE(ReadKeyFile(file, "old passphrase").has_value());
  auto key = ReadKeyFile(file, "new passphrase");
  REQUIRE(key.has_value());
  CHECK(ToHex(key->public_key()) == pk);
  CHECK_FALSE(std::filesystem::exists(file + ".new"));

  auto missing = test::RunParley({"key", "show", (dir.path() / "nothing").string()});
  CHECK(missing.code != 0);
  CHECK(Contains(missing.err, "cannot read key file"));
}

// grpc.health.v1.Health/Check for the whole server (service ""), as a
// service manager's probe asks it, with raw bytes: an empty request, and a
// response of tag 0x08 and the status enum (1 SERVING, 2 NOT_SERVING).
grpc::Status CallHealthCheck(const std::string& target, std::string* response_bytes) {
  grpc::GenericStub stub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(std::move(s)); });
  const grpc::Status s = done.get_future().get();
  std::vector<grpc::Slice> slices;
  if (s.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& sl : slices) response_bytes->append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  }
  return s;
}

// The health status of the node at `socket`, or -1 if the call failed.
int HealthCheck(const std::filesystem::path& socket) {
  std::string bytes;
  if (!CallHealthCheck("unix:" + std::filesystem::absolute(socket).string(), &bytes).ok()) return -1;
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : -1;
}

TEST_SUITE("e2e") {

TEST_CASE("operations: the operator socket serves the standard gRPC health check; the peer port does not") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  CHECK(HealthCheck(n.ua.socket()) == 1);  // SERVING
  // The peer port answers nothing unauthenticated, health included.
  std::string ignored;
  CHECK(CallHealthCheck(n.ua.address(), &ignored).error_code() == grpc::StatusCode::UNIMPLEMENTED);
}

TEST_CASE("operations: status exit codes — 0 healthy, 1 degraded, 2 alarm, 3 no answer; --check prints nothing") {
  test::NodePair n;
  std::ofstream(n.ua.dir() / "node.conf", std::ios::app) << "log_file = own.log\nlog_level = debug\n";
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  REQUIRE(n.ua.Cli({"statement", "hello", "--yes"}).code == 0);
  auto connected = [](const test::NodeProcess& node) {
    auto st = node.Client()->GetStatus();
    return st.has_value() && st->peer().connected();
  };
  REQUIRE(test::Eventually([&] { return n.Converged() && connected(n.ua) && connected(n.ru); },
                           std::chrono::seconds(20)));
  CHECK(n.ua.Cli({"status", "--check"}).code == 0);
  auto ok = n.ua.Cli({"status", "--check"});
  CHECK(ok.out.empty());
  CHECK(ok.err.empty());
  auto text = n.ua.Cli({"status"});
  CHECK(text.code == 0);
  CHECK(Contains(text.out, "health: OK"));

  // The peer goes away: degraded once it has been gone longer than allowed.
  REQUIRE(n.ru.Stop() == 0);
  CHECK_FALSE(std::filesystem::exists(n.ru.socket()));  // removed on a clean stop
  REQUIRE(test::Eventually([&] { return n.ua.Cli({"status", "--check", "--max-disconnected", "1"}).code == 1; },
                           std::chrono::seconds(15)));
  auto degraded = n.ua.Cli({"status", "--json", "--max-disconnected", "1"});
  CHECK(degraded.code == 1);
  auto j = nlohmann::json::parse(degraded.out);
  CHECK(j["health"]["state"] == "degraded");
  CHECK(Contains(j["health"]["reasons"][0].get<std::string>(), "peer not connected for"));
  CHECK(n.ua.Cli({"status", "--check"}).code == 0);  // within the default 60 s
  CHECK(n.ua.Cli({"status", "--check", "--max-disconnected", "x"}).code == 2);  // a usage error

  // SIGHUP: the log file is reopened (as after logrotate), the node runs on.
  const auto log = n.ua.dir() / "own.log";
  REQUIRE(test::Eventually([&] { return Contains(test::ReadText(log), "peer disconnected"); }));
  CHECK(Contains(test::ReadText(log), "peer connected"));
  std::filesystem::rename(log, n.ua.dir() / "own.log.1");
  REQUIRE(::kill(n.ua.pid(), SIGHUP) == 0);
  REQUIRE(test::Eventually([&] { return Contains(test::ReadText(log), "SIGHUP: log file reopened"); }));
  CHECK(n.ua.Cli({"status", "--check"}).code == 0);
  // The peer comes back: "peer reconnected".
  REQUIRE(n.ru.Start());
  REQUIRE(test::Eventually([&] { return Contains(test::ReadText(log), "peer reconnected"); }));

  // No answer: 3, and --check still prints nothing.
  REQUIRE(n.ua.Stop() == 0);
  CHECK_FALSE(std::filesystem::exists(n.ua.socket()));
  auto gone = n.ua.Cli({"status", "--check"});
  CHECK(gone.code == 3);
  CHECK(gone.out.empty());
  CHECK(gone.err.empty());
  CHECK(n.ua.Cli({"status"}).code == 3);
}

TEST_CASE("operations: an unknown log level is refused at start, naming the key") {
  test::NodePair n;
  std::ofstream(n.ua.dir() / "node.conf", std::ios::app) << "log_level = loud\n";
  CHECK_FALSE(n.ua.Start(std::chrono::seconds(5)));
  CHECK(Contains(test::ReadText(n.ua.log()), "log_level must be debug, info, warn or error, not 'loud'"));
}

}  // TEST_SUITE("e2e")

}  // namespace
}  // namespace parley
