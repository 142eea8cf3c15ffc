// WitnessConfig: what `parley witness` needs, from a file of `key = value`
// lines ('#' starts a comment); relative paths are relative to the file.
//
//   name            = witness.example/icrc   # the witness's key name
//   key_file        = witness.key            # passphrase-protected key (0600)
//   passphrase_env  = PARLEY_PASSPHRASE      # or passphrase_file, or neither: prompt
//   passphrase_file = witness.pass
//   listen          = 127.0.0.1:7480         # HTTP, or HTTPS with tls_cert and tls_key
//   tls_cert        = tls/tls.crt            # PEM (parley tls init); both or neither
//   tls_key         = tls/tls.key            # mode 0600
//   state_file      = witness.state          # the last cosigned checkpoint per log
//   high_water_mark = witness.key.hwm        # default key_file + ".hwm"; keep apart from state_file
//   evidence_dir    = witness-evidence       # default state_file + ".evidence"; refused forks kept
//   log             = <vkey> [<origin>]      # one line per log key; the origin
//                                            # defaults to the vkey's key name
//
// Several `log` lines with one origin give that log several keys.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "node/witness/witness.h"

namespace parley {

struct WitnessConfig {
  std::string name;
  std::filesystem::path key_file;
  std::string passphrase_env;
  std::filesystem::path passphrase_file;
  std::string listen = "127.0.0.1:7480";
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
  std::filesystem::path state_file;
  std::filesystem::path high_water_mark;
  std::filesystem::path evidence_dir;
  std::vector<WitnessLog> logs;
};

// kInvalidArgument naming the line for an unknown key, a repeated key
// (other than `log`), a malformed vkey or a missing required key (name,
// key_file, state_file, at least one log).
Result<WitnessConfig> ParseWitnessConfig(std::string_view text, const std::filesystem::path& base_dir);
Result<WitnessConfig> ReadWitnessConfig(const std::filesystem::path& path);

}  // namespace parley
