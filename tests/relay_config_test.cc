// The relay's config (node/relay/config.h) and the node's relay keys
// (node/daemon/config.h): what is accepted, and what is refused with which
// reason.
#include <doctest/doctest.h>

#include <fstream>

#include "fixtures.h"
#include "node/daemon/config.h"
#include "node/relay/config.h"

namespace parley {
namespace {

NodeConfig BaseNode() {
  NodeConfig c;
  c.data_dir = "d";
  c.key_file = "k";
  c.charter = "c";
  c.socket = "s";
  c.plaintext = true;
  return c;
}

TEST_CASE("node config: relay replaces peer; both, or neither, is refused; TLS through a relay pins the relay") {
  NodeConfig c = BaseNode();
  CHECK(c.Validate().message().find("peer (or relay) is not set") != std::string::npos);
  REQUIRE(c.Set("relay", "127.0.0.1:7400", "").ok());
  CHECK(c.Validate().ok());
  CHECK(c.remote() == "127.0.0.1:7400");
  c.peer = "127.0.0.1:7402";
  CHECK(c.Validate().message().find("peer and relay are both set") != std::string::npos);
  c.peer.clear();
  c.relay = "10.1.2.3:7400";
  CHECK(c.Validate().message().find("relay address 10.1.2.3:7400 is not on loopback") != std::string::npos);
  c.plaintext = false;
  c.tls_cert = "t.crt";
  c.tls_key = "t.key";
  CHECK(c.Validate().message().find("relay_fingerprint") != std::string::npos);
  c.relay_fingerprint = std::string(64, 'a');
  CHECK(c.Validate().ok());
  NodeConfig d = BaseNode();
  d.peer = "127.0.0.1:7402";
  d.relay_fingerprint = std::string(64, 'a');
  CHECK(d.Validate().message().find("relay_fingerprint is set but relay is not") != std::string::npos);
}

TEST_CASE("relay config: keys, TLS or loopback plaintext, and the errors") {
  test::TempDir dir;
  const auto file = dir.path() / "relay.conf";
  std::ofstream(file) << "data_dir = data  # comment\ncharter = charter.bin\nlisten = 127.0.0.1:7400\nplaintext = true\n";
  RelayConfig c;
  REQUIRE(LoadRelayConfig(file, c).ok());
  CHECK(c.data_dir == dir.path() / "data");
  CHECK(c.charter == dir.path() / "charter.bin");
  CHECK(c.Validate().ok());
  c.listen = "0.0.0.0:7400";
  CHECK(c.Validate().message().find("plaintext is refused off loopback") != std::string::npos);
  c.plaintext = false;
  CHECK(c.Validate().message().find("no TLS configured") != std::string::npos);
  c.tls_cert = "a.crt";
  c.tls_key = "a.key";
  c.client_fingerprints = std::string(64, 'b') + ",zz";
  CHECK(c.Validate().message().find("'zz' is not a certificate fingerprint") != std::string::npos);
  c.client_fingerprints = std::string(64, 'b') + "," + std::string(64, 'c');
  CHECK(c.Validate().ok());

  std::ofstream(file) << "data_dir = data\nkey_file = relay.key\n";
  RelayConfig bad;
  const Status s = LoadRelayConfig(file, bad);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK_MESSAGE(s.message().find("relay.conf:2: unknown relay config key 'key_file'") != std::string::npos, s.message());
  CHECK(bad.Set("plaintext", "yes", "").code() == Code::kInvalidArgument);
  CHECK(bad.Set("log_level", "loud", "").code() == Code::kInvalidArgument);
  // Every listed key is accepted.
  for (std::string_view key : RelayConfig::Keys()) {
    CAPTURE(key);
    const std::string value = key == "plaintext" ? "true" : key == "log_level" ? "debug" : "x";
    CHECK(bad.Set(key, value, "").ok());
  }
}

}  // namespace
}  // namespace parley
