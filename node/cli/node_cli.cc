#include "node/cli/node_cli.h"

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

// ---------------------------------------------------------------------------
// The node.

int CmdNode(const std::string& config_file, const std::vector<std::pair<std::string, std::string>>& overrides) {
  NodeConfig cfg;
  if (!config_file.empty()) {
    if (Status s = LoadConfigFile(config_file, cfg); !s.ok()) return Fail(s);
  }
  for (const auto& [k, v] : overrides) {
    if (v.empty()) continue;
    if (Status s = cfg.Set(k, v, {}); !s.ok()) return Fail(s);
  }
  if (Status s = cfg.Validate(); !s.ok()) return Fail(s);
  SetLogLevel(*ParseLogLevel(cfg.log_level));  // checked by Set
  if (!cfg.log_file.empty()) {
    if (Status s = SetLogFile(cfg.log_file); !s.ok()) return Fail(s);
  }
  auto pass = ReadPassphrase(cfg, "passphrase for " + cfg.key_file.string() + ": ");
  if (!pass) return Fail(pass.error());
  auto key = ReadKeyFile(cfg.key_file, *pass);
  if (!key) return Fail(key.error());
  std::optional<SecretKey> next_key;
  if (!cfg.next_key_file.empty()) {  // same passphrase as key_file
    auto next = ReadKeyFile(cfg.next_key_file, *pass);
    if (!next) return Fail(next.error());
    next_key = std::move(*next);
  }

  // Signals are taken synchronously by this thread only: SIGINT and SIGTERM
  // stop the node cleanly (the socket file is removed); SIGHUP reopens the
  // log file (log rotation) and the node runs on.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto node = Node::Start(cfg, std::move(*key), std::move(next_key));
  if (!node) {
    Log(LogLevel::kError, "node failed to start", {{"reason", node.error().message()}});
    return Fail(node.error());
  }
  int sig = 0;
  while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
    const Status reopened = ReopenLogFile();
    Log(reopened.ok() ? LogLevel::kInfo : LogLevel::kError, "SIGHUP: log file reopened",
        {{"log_file", cfg.log_file.empty() ? "(stderr)" : cfg.log_file.string()},
         {"error", reopened.ok() ? "" : reopened.message()}});
  }
  Log(LogLevel::kInfo, "stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*node)->Shutdown();
  return kExitOk;
}

}  // namespace parley::cli
