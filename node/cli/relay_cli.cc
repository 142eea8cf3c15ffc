#include "node/cli/relay_cli.h"

#include <pthread.h>
#include <signal.h>

#include <memory>
#include <string>

#include "node/base/parse.h"
#include "node/cli/cli_common.h"
#include "node/cli/witness_cli.h"
#include "node/daemon/log.h"
#include "node/relay/config.h"
#include "node/relay/relay.h"

namespace parley::cli {
namespace {

int CmdRelay(const std::string& config_file, const std::string& witness_config) {
  RelayConfig cfg;
  if (Status s = LoadRelayConfig(config_file, cfg); !s.ok()) return Fail(s);
  if (Status s = cfg.Validate(); !s.ok()) return Fail(s);
  SetLogLevel(*ParseLogLevel(cfg.log_level));  // checked by Set
  if (!cfg.log_file.empty()) {
    if (Status s = SetLogFile(cfg.log_file); !s.ok()) return Fail(s);
  }
  const sigset_t set = BlockStopSignals();
  // The intermediary may also be a witness (--witness-config): one process.
  std::unique_ptr<RunningWitness> witness;
  if (!witness_config.empty()) {
    auto w = RunningWitness::Start(witness_config);
    if (!w) return Fail(Status(w.error().code(), "witness: " + w.error().message()));
    witness = std::move(*w);
  }
  auto relay = Relay::Start(cfg);
  if (!relay) {
    Log(LogLevel::kError, "relay failed to start", {{"reason", relay.error().message()}});
    return Fail(relay.error());
  }
  WaitForStop(set, cfg.log_file);
  (*relay)->Shutdown();
  if (witness && !witness->Stop()) return kExitFailed;
  return kExitOk;
}

}  // namespace

CommandRunner AddRelayCommand(CLI::App& app) {
  struct Flags {
    std::string config_file, witness_config;
    CLI::App* cmd = nullptr;
  };
  auto f = std::make_shared<Flags>();
  f->cmd = app.add_subcommand("relay", "run a relay: hold both feeds of one ledger for parties that never connect "
                                       "to each other");
  f->cmd->add_option("--config", f->config_file, "the relay's config file (key = value lines)")->required();
  f->cmd->add_option("--witness-config", f->witness_config,
                     "also run a witness (parley witness's config file) in this process");
  return [f]() -> std::optional<int> {
    if (!*f->cmd) return std::nullopt;
    return CmdRelay(f->config_file, f->witness_config);
  };
}

}  // namespace parley::cli
