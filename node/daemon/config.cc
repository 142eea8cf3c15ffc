#include "node/daemon/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "node/daemon/log.h"
#include "node/base/text.h"

namespace parley {
namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::filesystem::path Resolve(std::string_view v, const std::filesystem::path& base) {
  std::filesystem::path p(v);
  return p.is_absolute() || base.empty() ? p : base / p;
}

std::string ReadSecretLine(std::istream& in) {
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// host:port with an IPv4 literal or a bracketed IPv6 literal and a port in
// 1..65535.
bool ParseMetricsAddress(std::string_view v) {
  const size_t colon = v.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view port = v.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const int n = std::stoi(std::string(port));
  if (n < 1 || n > 65535) return false;
  std::string host(v.substr(0, colon));
  unsigned char buf[sizeof(in6_addr)];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return ::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1;
  }
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1;
}

}  // namespace

const std::vector<std::string_view>& NodeConfig::Keys() {
  static const std::vector<std::string_view> keys = {
      "data_dir",  "key_file",        "next_key_file",         "party",          "passphrase_env",
      "passphrase_file", "charter",   "listen",                "peer",           "socket",
      "high_water_mark", "manifest_dir", "tls_cert",           "tls_key",        "peer_fingerprint",
      "observer_fingerprints", "plaintext", "log_level",       "log_file",       "sign_without_peer_confirmation",
      "metrics_listen", "metrics_allow_remote", "relay", "relay_fingerprint"};
  return keys;
}

Status NodeConfig::Set(std::string_view key, std::string_view value, const std::filesystem::path& base) {
  const auto& keys = Keys();
  if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
    return Status(Code::kInvalidArgument, "unknown config key '" + Printable(key) + "' (docs/OPERATIONS.md lists them)");
  }
  if (key == "data_dir") data_dir = Resolve(value, base);
  else if (key == "key_file") key_file = Resolve(value, base);
  else if (key == "next_key_file") next_key_file = Resolve(value, base);
  else if (key == "party") party = std::string(value);
  else if (key == "passphrase_env") passphrase_env = std::string(value);
  else if (key == "passphrase_file") passphrase_file = Resolve(value, base);
  else if (key == "charter") charter = Resolve(value, base);
  else if (key == "listen") listen = std::string(value);
  else if (key == "peer") peer = std::string(value);
  else if (key == "socket") socket = Resolve(value, base);
  else if (key == "high_water_mark") high_water_mark = Resolve(value, base);
  else if (key == "manifest_dir") manifest_dir = Resolve(value, base);
  else if (key == "tls_cert") tls_cert = Resolve(value, base);
  else if (key == "tls_key") tls_key = Resolve(value, base);
  else if (key == "peer_fingerprint") peer_fingerprint = std::string(value);
  else if (key == "observer_fingerprints") observer_fingerprints = std::string(value);
  else if (key == "relay") relay = std::string(value);
  else if (key == "relay_fingerprint") relay_fingerprint = std::string(value);
  else if (key == "log_file") log_file = Resolve(value, base);
  else if (key == "log_level") {
    if (!ParseLogLevel(value)) {
      return Status(Code::kInvalidArgument,
                    "log_level must be debug, info, warn or error, not '" + Printable(value) + "'");
    }
    log_level = std::string(value);
  }
  else if (key == "plaintext") {
    if (value != "true" && value != "false") {
      return Status(Code::kInvalidArgument, "plaintext must be true or false, not '" + std::string(value) + "'");
    }
    plaintext = value == "true";
  }
  else if (key == "sign_without_peer_confirmation") {
    if (value != "true" && value != "false") {
      return Status(Code::kInvalidArgument,
                    "sign_without_peer_confirmation must be true or false, not '" + Printable(value) + "'");
    }
    sign_without_peer_confirmation = value == "true";
  }
  else if (key == "metrics_listen") {
    // An IP literal and a port (the HTTP server binds addresses, it does not
    // resolve names); an empty value turns metrics off.
    if (!value.empty() && !ParseMetricsAddress(value)) {
      return Status(Code::kInvalidArgument,
                    "metrics_listen must be IP:port (an IPv4 address or [IPv6], port 1-65535), e.g. "
                    "127.0.0.1:9464, not '" + Printable(value) + "'");
    }
    metrics_listen = std::string(value);
  }
  else if (key == "metrics_allow_remote") {
    if (value != "true" && value != "false") {
      return Status(Code::kInvalidArgument,
                    "metrics_allow_remote must be true or false, not '" + Printable(value) + "'");
    }
    metrics_allow_remote = value == "true";
  }
  else return Status(Code::kInternal, "config key '" + std::string(key) + "' is listed but not handled");
  return Status::Ok();
}

Status NodeConfig::Validate() const {
  auto missing = [](const char* what) {
    return Status(Code::kInvalidArgument, std::string("config: ") + what + " is not set");
  };
  if (data_dir.empty()) return missing("data_dir");
  if (key_file.empty()) return missing("key_file");
  if (charter.empty()) return missing("charter");
  if (socket.empty()) return missing("socket");
  if (peer.empty() && relay.empty()) return missing("peer (or relay)");
  if (!peer.empty() && !relay.empty()) {
    return Status(Code::kInvalidArgument,
                  "config: peer and relay are both set; a node replicates either directly with the other party's "
                  "node (peer) or through a relay (relay), not both");
  }
  if (!relay_fingerprint.empty() && relay.empty()) {
    return Status(Code::kInvalidArgument, "config: relay_fingerprint is set but relay is not");
  }
  if (!metrics_listen.empty() && !metrics_allow_remote && !IsLoopbackAddress(metrics_listen)) {
    return Status(Code::kInvalidArgument,
                  "config: metrics_listen address " + Printable(metrics_listen) +
                      " is not on loopback; the metrics endpoint has no authentication or TLS, so it is refused "
                      "off loopback unless you also set metrics_allow_remote = true (then firewall it)");
  }
  const bool tls = !tls_cert.empty() || !tls_key.empty() || !peer_fingerprint.empty() || !relay_fingerprint.empty();
  if (tls) {
    if (!relay.empty()) {
      if (tls_cert.empty() || tls_key.empty() || relay_fingerprint.size() != 64) {
        return Status(Code::kInvalidArgument,
                      "config: TLS through a relay needs tls_cert, tls_key and relay_fingerprint (64 hex digits: "
                      "the relay's certificate, as printed by `parley tls init`)");
      }
      if (plaintext) return Status(Code::kInvalidArgument, "config: plaintext = true and TLS settings both given");
      return Status::Ok();
    }
    if (tls_cert.empty() || tls_key.empty() || peer_fingerprint.size() != 64) {
      return Status(Code::kInvalidArgument,
                    "config: TLS needs tls_cert, tls_key and peer_fingerprint (64 hex digits: the other "
                    "node's certificate, as printed by `parley tls init`)");
    }
    if (plaintext) return Status(Code::kInvalidArgument, "config: plaintext = true and TLS settings both given");
    return Status::Ok();
  }
  if (!plaintext) {
    return Status(Code::kInvalidArgument,
                  "config: no TLS configured (tls_cert, tls_key, peer_fingerprint); to run without TLS on "
                  "loopback, say plaintext = true");
  }
  if (!IsLoopbackAddress(listen)) {
    return Status(Code::kInvalidArgument,
                  "config: listen address " + listen + " is not on loopback; plaintext is refused off loopback");
  }
  const std::string& remote = relay.empty() ? peer : relay;
  if (!IsLoopbackAddress(remote)) {
    return Status(Code::kInvalidArgument, std::string("config: ") + (relay.empty() ? "peer" : "relay") + " address " +
                                              remote + " is not on loopback; plaintext is refused off loopback");
  }
  return Status::Ok();
}

Status LoadConfigFile(const std::filesystem::path& path, NodeConfig& config) {
  return ReadKeyValueFile(path, [&config](std::string_view key, std::string_view value,
                                          const std::filesystem::path& base) { return config.Set(key, value, base); });
}

Status ReadKeyValueFile(const std::filesystem::path& path, const KeyValueSetter& set) {
  std::ifstream in(path);
  if (!in) return Status(Code::kNotFound, "cannot read config file " + path.string());
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::string t = Trim(line);
    if (t.empty()) continue;
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      return Status(Code::kInvalidArgument, path.string() + ":" + std::to_string(n) + ": expected key = value");
    }
    Status s = set(Trim(std::string_view(t).substr(0, eq)), Trim(std::string_view(t).substr(eq + 1)),
                   path.parent_path());
    if (!s.ok()) return Status(s.code(), path.string() + ":" + std::to_string(n) + ": " + s.message());
  }
  return Status::Ok();
}

Result<std::string> ReadPassphrase(const NodeConfig& config, std::string_view prompt) {
  if (!config.passphrase_env.empty()) {
    const char* v = std::getenv(config.passphrase_env.c_str());
    if (!v) return Status(Code::kNotFound, "environment variable " + config.passphrase_env + " is not set");
    return std::string(v);
  }
  if (!config.passphrase_file.empty()) {
    struct stat st {};
    if (::stat(config.passphrase_file.c_str(), &st) != 0) {
      return Status(Code::kNotFound, "cannot read passphrase file " + config.passphrase_file.string());
    }
    if (st.st_mode & 077) {
      return Status(Code::kPermissionDenied,
                    "passphrase file " + config.passphrase_file.string() + " is readable by group or others; chmod 600 it");
    }
    std::ifstream in(config.passphrase_file);
    return ReadSecretLine(in);
  }
  if (!::isatty(STDIN_FILENO)) {
    return Status(Code::kInvalidArgument,
                  "no passphrase: set passphrase_env or passphrase_file, or run on a terminal to be prompted");
  }
  std::cerr << prompt << std::flush;
  termios old{};
  ::tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string pass = ReadSecretLine(std::cin);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  return pass;
}

bool IsLoopbackAddress(std::string_view hp) {
  std::string_view host = hp;
  if (host.rfind("ipv4:", 0) == 0) host.remove_prefix(5);
  if (host.rfind("ipv6:", 0) == 0) host.remove_prefix(5);
  if (!host.empty() && host[0] == '[') {
    return host.rfind("[::1]", 0) == 0;
  }
  host = host.substr(0, host.rfind(':'));
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

}  // namespace parley
