#include "node/cli/witness_cli.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include "crypto/key_file.h"
#include "node/base/text.h"
#include "node/daemon/config.h"
#include "node/daemon/log.h"
#include "node/witness/config.h"
#include "node/witness/server.h"
#include "node/witness/witness.h"

namespace parley {
namespace {

int Fail(const Status& s) {
  std::cerr << "parley witness: " << PrintableLines(s.message()) << "\n";
  return s.code() == Code::kInvalidArgument ? 2 : 1;
}

}  // namespace

void AddWitnessCommand(CLI::App& app, WitnessFlags& f) {
  f.cmd = app.add_subcommand("witness", "run a C2SP tlog-witness that cosigns checkpoints of the logs in its config");
  f.cmd->add_option("--config", f.config, "the witness config file")->required();
  f.cmd->add_flag("--print-vkey", f.print_vkey, "print the witness's verifier key (cosignature/v1) and exit");
}

std::optional<int> RunWitnessCommand(const WitnessFlags& f) {
  if (f.cmd == nullptr || !*f.cmd) return std::nullopt;
  InitCrypto();
  if (f.print_vkey) {
    auto cfg = ReadWitnessConfig(f.config);
    if (!cfg) return Fail(cfg.error());
    NodeConfig pass_cfg;  // only its passphrase fields
    pass_cfg.passphrase_env = cfg->passphrase_env;
    pass_cfg.passphrase_file = cfg->passphrase_file;
    auto pass = ReadPassphrase(pass_cfg, "passphrase for " + cfg->key_file.string() + ": ");
    if (!pass) return Fail(pass.error());
    auto key = ReadKeyFile(cfg->key_file, *pass);
    if (!key) return Fail(key.error());
    if (!ValidKeyName(cfg->name)) return Fail(Status(Code::kInvalidArgument, "the witness name is not a key name"));
    std::cout << FormatVerifierKey(NoteVerifier{cfg->name, NoteKeyType::kCosignatureV1, key->public_key()}) << "\n";
    return 0;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto running = RunningWitness::Start(f.config);
  if (!running) return Fail(running.error());
  int sig = 0;
  sigwait(&set, &sig);
  Log(LogLevel::kInfo, "witness stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  return (*running)->Stop() ? 0 : 1;
}

Result<std::unique_ptr<RunningWitness>> RunningWitness::Start(const std::string& config_path) {
  auto cfg = ReadWitnessConfig(config_path);
  if (!cfg) return cfg.error();
  NodeConfig pass_cfg;  // only its passphrase fields
  pass_cfg.passphrase_env = cfg->passphrase_env;
  pass_cfg.passphrase_file = cfg->passphrase_file;
  auto pass = ReadPassphrase(pass_cfg, "passphrase for " + cfg->key_file.string() + ": ");
  if (!pass) return pass.error();
  auto key = ReadKeyFile(cfg->key_file, *pass);
  if (!key) return key.error();
  WitnessOptions o;
  o.name = cfg->name;
  o.logs = cfg->logs;
  o.state_file = cfg->state_file;
  o.high_water_mark = cfg->high_water_mark;
  o.evidence_dir = cfg->evidence_dir;
  auto witness = Witness::Open(std::move(*key), std::move(o));
  if (!witness) {
    Log(LogLevel::kError, "witness failed to start", {{"reason", witness.error().message()}});
    return witness.error();
  }
  auto server = WitnessServer::Bind(witness->get(), cfg->listen, cfg->tls_cert, cfg->tls_key);
  if (!server) return server.error();
  Log(LogLevel::kInfo, "witness listening",
      {{"listen", cfg->listen}, {"port", std::to_string((*server)->port())},
       {"tls", cfg->tls_cert.empty() ? "no" : "yes"},
       {"vkey", FormatVerifierKey((*witness)->verifier())},
       {"logs", std::to_string(cfg->logs.size())},
       {"generation", std::to_string((*witness)->generation())}});
  std::unique_ptr<RunningWitness> out(new RunningWitness());
  out->witness_ = std::move(*witness);
  out->server_ = std::move(*server);
  RunningWitness* self = out.get();
  out->serve_ = std::thread([self] { self->served_ = self->server_->Serve(); });
  return out;
}

bool RunningWitness::Stop() {
  if (serve_.joinable()) {
    server_->Stop();
    serve_.join();
  }
  return served_;
}

RunningWitness::~RunningWitness() { Stop(); }

}  // namespace parley
