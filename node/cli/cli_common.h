// What the `parley` commands share: exit codes and error output, files,
// the options of the commands that talk to the local node (Common), a
// connection with the node's charter and feeds (Snapshot), and signing a
// statement there after the preview and confirmation (Submit).
#pragma once

#include <signal.h>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "node/cli/client.h"
#include "node/cli/command.h"
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"
#include "parley/v1/ledger.pb.h"

namespace parley::cli {

// A temporary file removed when this goes out of scope.
struct TempFile {
  std::string path;
  TempFile() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "parley-audit-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    if (fd >= 0) ::close(fd);
    path = tmpl;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// Prints "parley: MESSAGE" (escaped) to stderr; exit 2 for kInvalidArgument,
// else 1.
int Fail(const Status& s);
Result<std::string> ReadFileBytes(const std::string& path, const char* what);
Status WriteFileAtomically(const std::string& path, const std::string& bytes);
std::string NewRequestId();

// Options shared by the commands that talk to the local node.
struct Common {
  std::string socket;
  bool json = false;
  std::string request_id;
  bool yes = false;      // sign without asking, even on a terminal
  bool dry_run = false;  // show what would be signed; sign nothing
};

// $PARLEY_SOCKET, else parley.sock.
std::string DefaultSocket();
// --socket, --json; with `mutating` also --request-id, --yes, --dry-run.
void AddNodeOptions(CLI::App* cmd, Common& c, bool mutating);

// The node's charter and both feeds, for views and ID resolution.
struct Snapshot {
  std::unique_ptr<OperatorClient> client;
  std::optional<Charter> charter;
  std::vector<DecodedEntry> feeds[2];
};

Result<Snapshot> Connect(const Common& c, bool with_feeds);
// statements.h's ResolveEntry / ResolveProposal over the snapshot's feeds.
Result<DecodedEntry> ResolveEntry(const Snapshot& s, const std::string& prefix);
Result<DecodedEntry> ResolveProposal(const Snapshot& s, const std::string& prefix);
// Asks on the terminal; true for "y" or "yes".
bool Confirm(const std::string& question);
std::optional<int> PreviewAndConfirm(Snapshot& s, const Common& c, const v1::Entry& body, const std::string& rid,
                                     const std::string& arrivals_csv);
// Signs `body` at the node (after the preview and question, unless --yes)
// and prints what was signed.
int Submit(Snapshot& s, const Common& c, const v1::Entry& body, const std::string& arrivals_csv = {});

struct PassFlags {
  std::string env, file;
};

Result<std::string> GetPassphrase(const PassFlags& p);
void AddPassOptions(CLI::App* cmd, PassFlags& p);

// For a long-running command (node, relay): blocks SIGINT, SIGTERM and
// SIGHUP in this thread and the threads it starts afterwards, so that
// WaitForStop receives them. Call before starting any thread.
sigset_t BlockStopSignals();
// Waits for SIGINT or SIGTERM (logged as "stopping"); each SIGHUP in the
// meantime reopens `log_file` (log rotation; empty: stderr).
void WaitForStop(const sigset_t& set, const std::filesystem::path& log_file);

}  // namespace parley::cli
