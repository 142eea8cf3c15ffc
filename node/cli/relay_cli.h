// `parley relay --config FILE`: run a relay for one ledger (node/relay/,
// docs/PROTOCOL.md §16): both feeds held and verified, served to the
// parties and the charter's observers, each party publishing its own feed.
#pragma once

#include <CLI/CLI.hpp>

#include "node/cli/command.h"

namespace parley::cli {

CommandRunner AddRelayCommand(CLI::App& app);

}  // namespace parley::cli
