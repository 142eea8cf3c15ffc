// RelayConfig: what `parley relay` needs, from a config file of `key = value`
// lines (the node's format, ReadKeyValueFile in node/daemon/config.h).
//
//   data_dir            = icrc-data            # LevelDB folder (created if missing)
//   charter             = charter.bin          # SignedCharter bytes, signed by both parties
//   listen              = 127.0.0.1:7400       # the relay's Peer service
//   tls_cert            = tls/tls.crt          # the relay's certificate (parley tls init)
//   tls_key             = tls/tls.key
//   client_fingerprints = 3f2a…,9c1d…,ab12…    # the parties' and observers' node certificates
//   plaintext           = true                 # no TLS: loopback only, and only if said
//   log_level           = info                 # debug | info | warn | error
//   log_file            = /var/log/parley/icrc.log  # default: stderr
//
// Relative paths are relative to the config file's folder. Who may call what
// is decided by the per-call auth against the charter's keys (peer_auth.h),
// not by the certificate: TLS only keeps strangers off the port.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"

namespace parley {

struct RelayConfig {
  std::filesystem::path data_dir;
  std::filesystem::path charter;
  std::string listen = "127.0.0.1:7400";
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  std::string client_fingerprints;  // comma-separated
  bool plaintext = false;
  std::string log_level = "info";
  std::filesystem::path log_file;

  // Every key Set accepts, in the order docs/OPERATIONS.md lists them.
  static const std::vector<std::string_view>& Keys();
  // Sets one key; kInvalidArgument for an unknown key or a bad value.
  Status Set(std::string_view key, std::string_view value, const std::filesystem::path& base);
  // data_dir and charter set; TLS (cert, key, at least one fingerprint of
  // 64 hex digits) or plaintext = true with listen on loopback.
  Status Validate() const;
};

Status LoadRelayConfig(const std::filesystem::path& path, RelayConfig& config);

}  // namespace parley
