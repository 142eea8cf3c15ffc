#include "node/cli/cli_common.h"

#include <pthread.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "node/base/json.h"
#include "node/base/text.h"
#include "node/cli/statements.h"
#include "node/daemon/config.h"
#include "node/daemon/log.h"
#include "node/report/views.h"

namespace parley::cli {

int Fail(const Status& s) {
  std::cerr << "parley: " << PrintableLines(s.message()) << "\n";
  return (s.code() == Code::kInvalidArgument) ? kExitUsage : kExitFailed;
}

Result<std::string> ReadFileBytes(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, std::string("cannot read ") + what + " " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out.flush()) return Status(Code::kIoError, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status(Code::kIoError, "cannot replace " + path + ": " + ec.message());
  return Status::Ok();
}

std::string NewRequestId() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd() << rd() << rd();
  return out.str();
}

// ---------------------------------------------------------------------------
// Options shared by the commands that talk to the local node.

std::string DefaultSocket() {
  const char* env = std::getenv("PARLEY_SOCKET");
  return env ? env : "parley.sock";
}

void AddNodeOptions(CLI::App* cmd, Common& c, bool mutating) {
  cmd->add_option("--socket", c.socket, "operator socket of the local node (env PARLEY_SOCKET)")
      ->default_val(DefaultSocket());
  cmd->add_flag("--json", c.json, "machine-readable output");
  if (mutating) {
    cmd->add_option("--request-id", c.request_id,
                    "id of this request; repeating a call with the same id never makes a second entry");
    cmd->add_flag("--yes,-y", c.yes, "sign without showing the statement and asking first (for scripts)");
    cmd->add_flag("--dry-run", c.dry_run,
                  "show the statement as it would be signed, after every check the node makes; sign nothing");
  }
}

Result<Snapshot> Connect(const Common& c, bool with_feeds) {
  Snapshot s;
  auto client = OperatorClient::Connect(c.socket);
  if (!client) return client.error();
  s.client = std::move(*client);
  auto charter = s.client->GetCharter();
  if (!charter) return charter.error();
  s.charter = std::move(*charter);
  if (with_feeds) {
    auto feeds = s.client->ReadFeeds(*s.charter);
    if (!feeds) return feeds.error();
    for (PartyIndex p = 0; p < 2; ++p) s.feeds[p] = std::move((*feeds)[p]);
  }
  return s;
}

Result<DecodedEntry> ResolveEntry(const Snapshot& s, const std::string& prefix) { return ResolveEntry(s.feeds, prefix); }

Result<DecodedEntry> ResolveProposal(const Snapshot& s, const std::string& prefix) {
  return ResolveProposal(s.feeds, prefix);
}

// Asks on the terminal; true for "y" or "yes".
bool Confirm(const std::string& question) {
  std::cout << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

// Shows what a signing command is about to sign — with --dry-run, or on a
// terminal before asking. The node previews it through the same checks it
// makes before signing (SubmitRequest.dry_run), so what is shown is what it
// would sign, and a statement it would refuse (void, malformed, too large)
// is refused here. Returns the exit code to stop with, or nullopt to sign.
std::optional<int> PreviewAndConfirm(Snapshot& s, const Common& c, const v1::Entry& body, const std::string& rid,
                                     const std::string& arrivals_csv) {
  const bool ask = !c.yes && !c.dry_run && ::isatty(STDIN_FILENO);
  if (!c.dry_run && !ask) return std::nullopt;
  auto r = s.client->Submit(body, rid, arrivals_csv, /*dry_run=*/true);
  if (!r) return Fail(r.error());
  v1::Entry entry;
  if (!entry.ParseFromString(r->preview())) {
    return Fail(Status(Code::kInternal, "the node's preview of the statement is not an Entry"));
  }
  const std::string label = s.charter->party_code(entry.author()) + "#" + std::to_string(entry.seq());
  if (c.json) {
    std::cout << DumpJson(nlohmann::json{{"dry_run", true},           {"seq", entry.seq()},
                                {"kind", KindName(entry.body_case())}, {"party", s.charter->party_code(entry.author())},
                                {"text", DescribePreview(*s.charter, entry)}, {"void", nullptr}})
              << "\n";
  } else {
    std::cout << (c.dry_run ? "would sign " : "about to sign ") << label << "  " << DescribePreview(*s.charter, entry)
              << "\n  the node checked it: it is well formed and would take effect (not void)\n";
  }
  if (c.dry_run) {
    if (!c.json) std::cout << "dry run: nothing was signed\n";
    return kExitOk;
  }
  if (!Confirm("Sign it? A signature cannot be taken back.")) {
    std::cout << "not signed\n";
    return kExitFailed;
  }
  return std::nullopt;
}

int Submit(Snapshot& s, const Common& c, const v1::Entry& body, const std::string& arrivals_csv) {
  const std::string rid = c.request_id.empty() ? NewRequestId() : c.request_id;
  if (auto stop = PreviewAndConfirm(s, c, body, rid, arrivals_csv)) return *stop;
  auto r = s.client->Submit(body, rid, arrivals_csv);
  if (!r) return Fail(r.error());
  auto st = s.client->GetStatus();
  const PartyIndex self = st ? st->self() : 0;
  if (c.json) {
    nlohmann::json j = {{"id", ToHex(r->id())}, {"seq", r->seq()}, {"kind", KindName(body.body_case())},
                        {"party", s.charter->party_code(self)}, {"request_id", rid}};
    std::cout << DumpJson(j) << "\n";
  } else {
    std::cout << "signed " << KindName(body.body_case()) << " " << s.charter->party_code(self) << "#" << r->seq()
              << "  id " << ToHex(r->id()) << "\n";
  }
  return kExitOk;
}

Result<std::string> GetPassphrase(const PassFlags& p) {
  NodeConfig cfg;
  cfg.passphrase_env = p.env;
  cfg.passphrase_file = p.file;
  return ReadPassphrase(cfg, "passphrase: ");
}

void AddPassOptions(CLI::App* cmd, PassFlags& p) {
  cmd->add_option("--passphrase-env", p.env, "environment variable holding the passphrase");
  cmd->add_option("--passphrase-file", p.file, "file holding the passphrase (mode 0600)");
}

sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

void WaitForStop(const sigset_t& set, const std::filesystem::path& log_file) {
  int sig = 0;
  while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
    const Status reopened = ReopenLogFile();
    Log(reopened.ok() ? LogLevel::kInfo : LogLevel::kError, "SIGHUP: log file reopened",
        {{"log_file", log_file.empty() ? "(stderr)" : log_file.string()},
         {"error", reopened.ok() ? "" : reopened.message()}});
  }
  Log(LogLevel::kInfo, "stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
}

}  // namespace parley::cli
