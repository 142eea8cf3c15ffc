// The `parley` command line: every subcommand is a function that returns the
// process exit code, so tests can drive it directly.
//
//   node                          run a node (node/daemon)
//   propose counter amend accept reject withdraw cancel
//   handover receipt attest statement        sign statements at the local node
//   list show status watch export            views of the local node
//   keygen  charter create|sign|show  audit  offline tools
//   backup (online)  restore (offline)       node/cli/backup_cli.h
//   demo                          two nodes on loopback play the June 2025 story
//
// Exit codes: 0 success; 1 the operation failed (or, for audit, violations
// found); 2 bad usage or unusable input.
#pragma once

#include "node/cli/command.h"

namespace CLI {
class App;
}  // namespace CLI

namespace parley {

int RunCli(int argc, char** argv);

// Plays the demo in `dir` using the `parley` binary at `self_exe`.
int RunDemo(const char* self_exe, const char* dir);

namespace cli {
// `parley demo [--dir DIR]`, run with the `parley` binary at `self_exe`.
CommandRunner AddDemoCommand(CLI::App& app, const char* self_exe);
}  // namespace cli

}  // namespace parley
