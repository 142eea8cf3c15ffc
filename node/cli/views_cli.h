// `parley list show status watch export`: views of the local node.
#pragma once

#include <CLI/CLI.hpp>

#include "node/cli/command.h"

namespace parley::cli {

CommandRunner AddViewCommands(CLI::App& app);

}  // namespace parley::cli
