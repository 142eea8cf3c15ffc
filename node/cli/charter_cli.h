// `parley charter create|sign|show`: a ledger's charter, offline.
#pragma once

#include <CLI/CLI.hpp>

#include "node/cli/command.h"

namespace parley::cli {

CommandRunner AddCharterCommands(CLI::App& app);

}  // namespace parley::cli
