// NodeConfig: everything `parley node` needs, read from a config file of
// `key = value` lines ('#' starts a comment) and overridden by flags.
//
//   data_dir        = ua-data             # LevelDB folder (created if missing)
//   key_file        = ua.key              # passphrase-protected key (0600)
//   next_key_file   = ua-next.key         # the key of a rotation (parley rotate-key), same passphrase
//   party           = UA                  # this node's party code; needed only when
//                                         # key_file holds a rotated (non-charter) key
//                                         # and the data folder was lost
//   passphrase_env  = PARLEY_PASSPHRASE   # env var holding the passphrase, or
//   passphrase_file = ua.pass             # a file holding it (0600), or neither: prompt
//   charter         = charter.bin         # SignedCharter bytes, signed by both
//   listen          = 127.0.0.1:7401      # peer service address
//   peer            = 127.0.0.1:7402      # the other party's node
//   socket          = ua.sock             # operator socket (mode 0600)
//   high_water_mark = ua.key.hwm          # default: key_file + ".hwm"; locked (MARK.lock) while the node runs
//   manifest_dir    = ua-manifests        # default: data_dir + "/manifests" (encrypted)
//   tls_cert        = tls/tls.crt         # this node's certificate (parley tls init)
//   tls_key         = tls/tls.key
//   peer_fingerprint = 3f2a…              # SHA-256 of the other node's certificate
//   observer_fingerprints = ab12…,cd34…   # auditors' certificates allowed to connect
//   plaintext       = true                # no TLS: loopback only, and only if said
//   log_level       = info                # debug | info | warn | error
//   log_file        = /var/log/parley/ua.log  # default: stderr; reopened on SIGHUP
//   sign_without_peer_confirmation = true # RISKY; default false: after each start the node
//                                         # signs only once the peer has confirmed how much of
//                                         # our feed it holds. true signs at once, even with the
//                                         # peer unreachable: if the data folder and mark were
//                                         # restored from an older copy, a seq the peer already
//                                         # holds is signed twice, the peer proves a fork and
//                                         # freezes our feed (docs/OPERATIONS.md, "Recovery")
//   metrics_listen  = 127.0.0.1:9464      # Prometheus endpoint (GET /metrics); default: none (off)
//   metrics_allow_remote = true           # serve metrics off loopback (unauthenticated; default false)
//   relay           = 127.0.0.1:7400      # replicate through this relay instead of a peer (no `peer`)
//   relay_fingerprint = 9c1d…             # SHA-256 of the relay's certificate (TLS through a relay)
//
// Relative paths are relative to the config file's folder.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"

namespace parley {

struct NodeConfig {
  std::filesystem::path data_dir;
  std::filesystem::path key_file;
  std::filesystem::path next_key_file;  // optional
  std::string party;                    // optional party code
  std::string passphrase_env;
  std::filesystem::path passphrase_file;
  std::filesystem::path charter;
  std::string listen = "127.0.0.1:7401";
  std::string peer;
  std::filesystem::path socket;
  std::filesystem::path high_water_mark;
  std::filesystem::path manifest_dir;
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  std::string peer_fingerprint;
  std::string observer_fingerprints;  // comma-separated
  bool plaintext = false;
  bool sign_without_peer_confirmation = false;
  std::string log_level = "info";       // debug | info | warn | error
  std::filesystem::path log_file;       // empty: stderr
  std::string metrics_listen;           // host:port; empty: no metrics endpoint
  bool metrics_allow_remote = false;    // metrics_listen may be off loopback
  std::string relay;                    // host:port of a relay (docs/PROTOCOL.md §16); excludes `peer`
  std::string relay_fingerprint;        // the relay's certificate, pinned (TLS)

  // Where the replicator connects: the relay if one is set, else the peer.
  const std::string& remote() const { return relay.empty() ? peer : relay; }

  // Every key Set accepts, in the order docs/OPERATIONS.md lists them (a
  // test holds the two together).
  static const std::vector<std::string_view>& Keys();

  // Sets one key; kInvalidArgument for an unknown key. `base` resolves
  // relative paths.
  Status Set(std::string_view key, std::string_view value, const std::filesystem::path& base);
  // Every required setting present; TLS configured, or plaintext asked for
  // explicitly with both addresses on loopback; metrics_listen on loopback
  // unless metrics_allow_remote.
  Status Validate() const;
};

// Reads a config file into `config` (keys not in the file are left as they are).
Status LoadConfigFile(const std::filesystem::path& path, NodeConfig& config);

// The `key = value` file format itself ('#' starts a comment; blank lines
// skipped): calls `set` with each pair and the file's folder (for relative
// paths); the first error is returned with the file and line. Shared by
// the node and the relay (node/relay/config.h).
using KeyValueSetter =
    std::function<Status(std::string_view key, std::string_view value, const std::filesystem::path& base)>;
Status ReadKeyValueFile(const std::filesystem::path& path, const KeyValueSetter& set);

// The passphrase from the env var, the file, or (if stdin is a terminal) a
// prompt without echo.
Result<std::string> ReadPassphrase(const NodeConfig& config, std::string_view prompt);

// True for 127.0.0.0/8, localhost and [::1] host:port strings.
bool IsLoopbackAddress(std::string_view host_port);

}  // namespace parley
