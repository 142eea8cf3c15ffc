// `parley propose counter amend accept reject withdraw cancel handover
// receipt attest statement rotate-key`: the commands that sign at the local
// node (bodies built by statements.h).
#pragma once

#include <CLI/CLI.hpp>

#include "node/cli/command.h"

namespace parley::cli {

CommandRunner AddSubmitCommands(CLI::App& app);

}  // namespace parley::cli
