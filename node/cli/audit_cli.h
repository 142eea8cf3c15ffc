// `parley audit`: verify a bundle offline, or a node live through its peer port.
#pragma once

#include <CLI/CLI.hpp>

#include "node/cli/command.h"

namespace parley::cli {

CommandRunner AddAuditCommand(CLI::App& app);

}  // namespace parley::cli
