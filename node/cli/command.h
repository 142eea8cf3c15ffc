// One family of `parley` subcommands (e.g. `charter create|sign|show`).
// Each family's file has one function, AddXCommands(CLI::App&), that
// registers its subcommands and flags on the app and returns its runner; cli.cc
// calls one such function per family, parses the command line, and asks each
// runner in turn: the runner of the family whose subcommand was given runs it
// and returns the exit code, every other returns nullopt.
#pragma once

#include <functional>
#include <optional>

namespace parley::cli {

using CommandRunner = std::function<std::optional<int>()>;

}  // namespace parley::cli
