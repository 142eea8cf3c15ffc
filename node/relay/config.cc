#include "node/relay/config.h"

#include <algorithm>
#include <sstream>

#include "node/base/text.h"
#include "node/daemon/config.h"
#include "node/daemon/log.h"

namespace parley {
namespace {

std::filesystem::path Resolve(std::string_view v, const std::filesystem::path& base) {
  std::filesystem::path p(v);
  return p.is_absolute() || base.empty() ? p : base / p;
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

const std::vector<std::string_view>& RelayConfig::Keys() {
  static const std::vector<std::string_view> keys = {"data_dir", "charter",   "listen",    "tls_cert", "tls_key",
                                                     "client_fingerprints", "plaintext", "log_level", "log_file"};
  return keys;
}

Status RelayConfig::Set(std::string_view key, std::string_view value, const std::filesystem::path& base) {
  if (key == "data_dir") data_dir = Resolve(value, base);
  else if (key == "charter") charter = Resolve(value, base);
  else if (key == "listen") listen = std::string(value);
  else if (key == "tls_cert") tls_cert = Resolve(value, base);
  else if (key == "tls_key") tls_key = Resolve(value, base);
  else if (key == "client_fingerprints") client_fingerprints = std::string(value);
  else if (key == "log_file") log_file = Resolve(value, base);
  else if (key == "plaintext") {
    if (value != "true" && value != "false") {
      return Status(Code::kInvalidArgument, "plaintext must be true or false, not '" + Printable(value) + "'");
    }
    plaintext = value == "true";
  } else if (key == "log_level") {
    if (!ParseLogLevel(value)) {
      return Status(Code::kInvalidArgument,
                    "log_level must be debug, info, warn or error, not '" + Printable(value) + "'");
    }
    log_level = std::string(value);
  } else {
    return Status(Code::kInvalidArgument,
                  "unknown relay config key '" + Printable(key) + "' (docs/OPERATIONS.md, \"Running a relay\", lists them)");
  }
  return Status::Ok();
}

Status RelayConfig::Validate() const {
  if (data_dir.empty()) return Status(Code::kInvalidArgument, "relay config: data_dir is not set");
  if (charter.empty()) return Status(Code::kInvalidArgument, "relay config: charter is not set");
  const bool tls = !tls_cert.empty() || !tls_key.empty() || !client_fingerprints.empty();
  if (tls) {
    if (plaintext) return Status(Code::kInvalidArgument, "relay config: plaintext = true and TLS settings both given");
    if (tls_cert.empty() || tls_key.empty() || client_fingerprints.empty()) {
      return Status(Code::kInvalidArgument,
                    "relay config: TLS needs tls_cert, tls_key and client_fingerprints (the parties' and observers' "
                    "certificates, 64 hex digits each, comma-separated)");
    }
    std::stringstream list(client_fingerprints);
    for (std::string fp; std::getline(list, fp, ',');) {
      if (!IsHex64(fp)) {
        return Status(Code::kInvalidArgument, "relay config: client_fingerprints: '" + Printable(fp) +
                                                  "' is not a certificate fingerprint (64 lower-case hex digits)");
      }
    }
    return Status::Ok();
  }
  if (!plaintext) {
    return Status(Code::kInvalidArgument,
                  "relay config: no TLS configured (tls_cert, tls_key, client_fingerprints); to run without TLS on "
                  "loopback, say plaintext = true");
  }
  if (!IsLoopbackAddress(listen)) {
    return Status(Code::kInvalidArgument, "relay config: listen address " + Printable(listen) +
                                              " is not on loopback; plaintext is refused off loopback");
  }
  return Status::Ok();
}

Status LoadRelayConfig(const std::filesystem::path& path, RelayConfig& config) {
  return ReadKeyValueFile(path, [&config](std::string_view key, std::string_view value,
                                          const std::filesystem::path& base) { return config.Set(key, value, base); });
}

}  // namespace parley
