// `parley backup` (online, through the node's operator socket) and `parley
// restore` (offline, into a new data folder). File format and guarantees:
// node/daemon/backup.h, docs/PROTOCOL.md §9 ("Backup file"); the operator's
// side: docs/OPERATIONS.md, "Backup and restore".
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>

namespace parley {

// Adds both commands to `app`. The function returned, called after the
// command line is parsed, runs whichever was given and returns its exit
// status (0 done, 1 failed, 2 bad usage), or nullopt if neither was.
std::function<std::optional<int>()> AddBackupCommands(CLI::App& app, const std::string& default_socket);

}  // namespace parley
