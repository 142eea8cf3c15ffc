#include "node/cli/relay_cli.h"

#include <pthread.h>
#include <signal.h>

#include <memory>
#include <string>

#include "node/base/parse.h"
#include "node/cli/cli_common.h"
#include "node/daemon/log.h"
#include "node/relay/config.h"
#include "node/relay/relay.h"

namespace parley::cli {
namespace {

int CmdRelay(const std::string& config_file) {
  RelayConfig cfg;
  if (Status s = LoadRelayConfig(config_file, cfg); !s.ok()) return Fail(s);
  if (Status s = cfg.Validate(); !s.ok()) return Fail(s);
  SetLogLevel(*ParseLogLevel(cfg.log_level));  // checked by Set
  if (!cfg.log_file.empty()) {
    if (Status s = SetLogFile(cfg.log_file); !s.ok()) return Fail(s);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto relay = Relay::Start(cfg);
  if (!relay) {
    Log(LogLevel::kError, "relay failed to start", {{"reason", relay.error().message()}});
    return Fail(relay.error());
  }
  int sig = 0;
  while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
    const Status reopened = ReopenLogFile();
    Log(reopened.ok() ? LogLevel::kInfo : LogLevel::kError, "SIGHUP: log file reopened",
        {{"error", reopened.ok() ? "" : reopened.message()}});
  }
  Log(LogLevel::kInfo, "stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*relay)->Shutdown();
  return kExitOk;
}

}  // namespace

CommandRunner AddRelayCommand(CLI::App& app) {
  struct Flags {
    std::string config_file;
    CLI::App* cmd = nullptr;
  };
  auto f = std::make_shared<Flags>();
  f->cmd = app.add_subcommand("relay", "run a relay: hold both feeds of one ledger for parties that never connect "
                                       "to each other");
  f->cmd->add_option("--config", f->config_file, "the relay's config file (key = value lines)")->required();
  return [f]() -> std::optional<int> {
    if (!*f->cmd) return std::nullopt;
    return CmdRelay(f->config_file);
  };
}

}  // namespace parley::cli
