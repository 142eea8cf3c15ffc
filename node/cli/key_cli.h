// `parley keygen` and `parley key show|passwd`: key files, offline.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "crypto/sign.h"
#include "crypto/status.h"
#include "node/cli/command.h"

namespace parley::cli {

CommandRunner AddKeyCommands(CLI::App& app);

// A public key given as 64 hex digits or as a key file (its public part).
Result<PublicKey> ParseKeyArg(const std::string& v);

}  // namespace parley::cli
