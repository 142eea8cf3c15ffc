// `parley node`: run this party's node (node/daemon); `parley tls init`: the
// certificate of its peer port.
#pragma once

#include <CLI/CLI.hpp>

#include "node/cli/command.h"

namespace parley::cli {

CommandRunner AddNodeCommand(CLI::App& app);
CommandRunner AddTlsCommands(CLI::App& app);

}  // namespace parley::cli
