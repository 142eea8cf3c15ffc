// Mutual TLS with pinned certificates on the peer port, between real nodes.
#include <doctest/doctest.h>

#include "node_harness.h"

namespace parley {
namespace {

using test::kUA;

// Rewrites a node's config for TLS with its own certificate and `pin`.
void UseTls(const test::NodeProcess& n, const std::string& pin) {
  std::string conf = test::ReadText(n.dir() / "node.conf");
  conf = conf.substr(0, conf.find("plaintext = true"));
  // (As every harness node: sign at once, with the peer unreachable too.)
  std::ofstream(n.dir() / "node.conf") << conf << "tls_cert = tls/tls.crt\ntls_key = tls/tls.key\n"
                                       << "peer_fingerprint = " << pin << "\n"
                                       << "sign_without_peer_confirmation = true\n";
}

std::string TlsInit(const test::NodeProcess& n) {
  auto r = test::RunParley({"tls", "init", "--out", (n.dir() / "tls").string()});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  REQUIRE(r.out.size() >= 64);
  return r.out.substr(0, 64);
}

TEST_SUITE("e2e") {

TEST_CASE("nodes replicate over mutual TLS with pinned certificates, and refuse a certificate not pinned") {
  test::NodePair n;
  const std::string ua_fp = TlsInit(n.ua), ru_fp = TlsInit(n.ru);
  SUBCASE("both pinned") {
    UseTls(n.ua, ru_fp);
    UseTls(n.ru, ua_fp);
    REQUIRE(n.ua.Start());
    REQUIRE(n.ru.Start());
    REQUIRE(n.ua.Client()->Submit(test::Say("over TLS"), "tls-1").has_value());
    CHECK(test::Eventually([&] { return n.ru.HeadOf(kUA).seq == 1; }, std::chrono::seconds(10)));
    CHECK(test::ReadText(n.ua.log()).find("mutual TLS, pinned") != std::string::npos);
  }
  SUBCASE("RU pins a different certificate for UA") {
    UseTls(n.ua, ru_fp);
    UseTls(n.ru, std::string(64, 'a'));
    REQUIRE(n.ua.Start());
    REQUIRE(n.ru.Start());
    REQUIRE(n.ua.Client()->Submit(test::Say("not for RU"), "tls-2").has_value());
    std::this_thread::sleep_for(std::chrono::seconds(2));
    CHECK(n.ru.HeadOf(kUA).seq == 0);
    auto st = n.ru.Client()->GetStatus();
    REQUIRE(st.has_value());
    CHECK_FALSE(st->peer().connected());
    // RU's server refused UA's client at the handshake, and says so: with
    // UA's certificate fingerprint (gRPC gives no address there).
    CHECK(test::Eventually([&] {
      return test::ReadText(n.ru.log()).find("TLS handshake refused: a client's certificate is not pinned") !=
             std::string::npos;
    }));
    const std::string ru_log = test::ReadText(n.ru.log());
    CHECK(ru_log.find("fingerprint=" + ua_fp) != std::string::npos);
    CHECK(ru_log.find("side=server") != std::string::npos);
  }
}

TEST_CASE("a TLS key file readable by group or others is refused, as the signing key file is") {
  test::NodePair n;
  UseTls(n.ua, TlsInit(n.ua));  // any pin: the key file is refused first
  std::filesystem::permissions(n.ua.dir() / "tls" / "tls.key", std::filesystem::perms::owner_read |
                                                                   std::filesystem::perms::owner_write |
                                                                   std::filesystem::perms::group_read |
                                                                   std::filesystem::perms::others_read);
  CHECK_FALSE(n.ua.Start());  // exits at start (a node that started is killed with the pair)
  const std::string log = test::ReadText(n.ua.log());
  INFO(log);
  CHECK(log.find("TLS key file " + (n.ua.dir() / "tls" / "tls.key").string() + " has mode 0644") != std::string::npos);
  CHECK(log.find("chmod 600") != std::string::npos);
}

TEST_CASE("a node without TLS settings refuses to start unless plaintext is asked for") {
  test::NodePair n;
  std::string conf = test::ReadText(n.ua.dir() / "node.conf");
  std::ofstream(n.ua.dir() / "node.conf") << conf.substr(0, conf.find("plaintext = true"));
  auto r = test::RunParley({"node", "--config", (n.ua.dir() / "node.conf").string()});
  CHECK(r.code != 0);
  CHECK(r.err.find("say plaintext = true") != std::string::npos);
  auto off = test::RunParley({"node", "--config", (n.ua.dir() / "node.conf").string(), "--plaintext", "true",
                              "--listen", "10.1.2.3:7000"});
  CHECK(off.code != 0);
  CHECK(off.err.find("not on loopback") != std::string::npos);
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
