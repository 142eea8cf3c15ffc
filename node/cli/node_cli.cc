#include "node/cli/node_cli.h"

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "crypto/key_file.h"
#include "node/base/clock.h"
#include "node/base/parse.h"
#include "node/base/text.h"
#include "node/cli/cli_common.h"
#include "node/daemon/config.h"
#include "node/daemon/log.h"
#include "node/daemon/node.h"
#include "node/daemon/tls.h"

namespace parley::cli {
namespace {

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
  const sigset_t set = BlockStopSignals();

  auto node = Node::Start(cfg, std::move(*key), std::move(next_key));
  if (!node) {
    Log(LogLevel::kError, "node failed to start", {{"reason", node.error().message()}});
    return Fail(node.error());
  }
  WaitForStop(set, cfg.log_file);
  (*node)->Shutdown();
  return kExitOk;
}

}  // namespace

CommandRunner AddNodeCommand(CLI::App& app) {
  struct Flags {
    std::string config_file;
    std::vector<std::pair<std::string, std::string>> ov = {
        {"data_dir", ""}, {"key_file", ""}, {"passphrase_env", ""}, {"passphrase_file", ""}, {"charter", ""},
        {"listen", ""},   {"peer", ""},     {"socket", ""},         {"high_water_mark", ""},
        {"tls_cert", ""}, {"tls_key", ""},  {"peer_fingerprint", ""}, {"observer_fingerprints", ""},
        {"plaintext", ""}, {"next_key_file", ""}, {"party", ""}, {"manifest_dir", ""},
        {"log_level", ""}, {"log_file", ""}, {"relay", ""}, {"relay_fingerprint", ""}};
    CLI::App* node;
  };
  auto f = std::make_shared<Flags>();
  auto* node = f->node = app.add_subcommand("node", "run this party's node");
  node->add_option("--config", f->config_file, "config file (key = value lines)");
  for (auto& [k, v] : f->ov) {
    std::string flag = "--" + k;
    for (auto& ch : flag) if (ch == '_') ch = '-';
    node->add_option(flag, v, "overrides `" + k + "` of the config file");
  }
  return [f]() -> std::optional<int> {
    if (!*f->node) return std::nullopt;
    return CmdNode(f->config_file, f->ov);
  };
}

CommandRunner AddTlsCommands(CLI::App& app) {
  struct Flags {
    std::string tls_dir, tls_name = "parley-node";
    CLI::App* tls_init;
  };
  auto f = std::make_shared<Flags>();
  auto* tls = app.add_subcommand("tls", "TLS certificates for the peer port");
  tls->require_subcommand(1);
  auto* tls_init = f->tls_init =
      tls->add_subcommand("init", "make a key and self-signed certificate; prints its fingerprint to pin");
  tls_init->add_option("--out", f->tls_dir, "folder for tls.key (0600) and tls.crt")->required();
  tls_init->add_option("--name", f->tls_name, "certificate common name");
  return [f]() -> std::optional<int> {
    if (!*f->tls_init) return std::nullopt;
    auto fp = CreateSelfSignedCertificate(f->tls_dir, f->tls_name);
    if (!fp) return Fail(fp.error());
    std::cout << *fp << "\n";
    return kExitOk;
  };
}

}  // namespace parley::cli
