#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "crypto/key_file.h"
#include "node/protocol/agreements.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"
#include "node/cli/client.h"
#include "node/cli/manifest_cli.h"
#include "node/cli/version.h"
#include "node/base/clock.h"
#include "node/daemon/config.h"
#include "node/daemon/log.h"
#include "node/daemon/node.h"
#include "node/daemon/peer_auth.h"
#include "node/daemon/tls.h"
#include "node/daemon/peer_service.h"
#include "node/daemon/replicator.h"
#include "node/base/parse.h"
#include "node/base/text.h"
#include "node/report/views.h"

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

int Fail(const Status& s);
Result<std::string> ReadFileBytes(const std::string& path, const char* what);
Status WriteFileAtomically(const std::string& path, const std::string& bytes);
// Counts of persons or remains an operator may type: more is a typo.
constexpr uint64_t kMaxCount = 1'000'000;
// The largest transfer index (terms hold few transfers).
constexpr uint64_t kMaxTransferIndex = 1'000;
// How far ahead an exchange window may start before it reads as a typo.
constexpr int64_t kFarFutureMs = int64_t{5} * 366 * 24 * 3600 * 1000;

Status CheckFlagText(std::string_view flag, const std::string& value);
std::string NewRequestId();
struct Common {
  std::string socket;
  bool json = false;
  std::string request_id;
  bool yes = false;      // sign without asking, even on a terminal
  bool dry_run = false;  // show what would be signed; sign nothing
};

std::string DefaultSocket();
void AddNodeOptions(CLI::App* cmd, Common& c, bool mutating);
// The node's charter and both feeds, for views and ID resolution.
struct Snapshot {
  std::unique_ptr<OperatorClient> client;
  std::optional<Charter> charter;
  std::vector<DecodedEntry> feeds[2];
};

Result<Snapshot> Connect(const Common& c, bool with_feeds);
Result<DecodedEntry> ResolveEntry(const Snapshot& s, const std::string& prefix);
Result<DecodedEntry> ResolveProposal(const Snapshot& s, const std::string& prefix);
bool Confirm(const std::string& question);
std::optional<int> PreviewAndConfirm(Snapshot& s, const Common& c, const v1::Entry& body, const std::string& rid,
                                     const std::string& arrivals_csv);
int Submit(Snapshot& s, const Common& c, const v1::Entry& body, const std::string& arrivals_csv = {});
struct PassFlags {
  std::string env, file;
};

Result<std::string> GetPassphrase(const PassFlags& p);
void AddPassOptions(CLI::App* cmd, PassFlags& p);

}  // namespace parley::cli
