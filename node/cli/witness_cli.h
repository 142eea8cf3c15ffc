// `parley witness --config FILE`: run a c2sp.org/tlog-witness
// (node/witness/). `--print-vkey` prints the witness's verifier key
// (cosignature/v1) for the logs and auditors that trust it, and exits.
#pragma once

#include <memory>
#include <thread>

#include "crypto/status.h"
#include "node/witness/server.h"
#include "node/witness/witness.h"

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

namespace parley {

struct WitnessFlags {
  std::string config;
  bool print_vkey = false;
  CLI::App* cmd = nullptr;
};

void AddWitnessCommand(CLI::App& app, WitnessFlags& f);

// The exit status if `parley witness` was given, else nullopt.
std::optional<int> RunWitnessCommand(const WitnessFlags& f);

// A witness serving on its own threads in this process: `parley witness`,
// or `parley relay --witness-config` (the intermediary as relay and witness).
class RunningWitness {
 public:
  // Reads the config file (and the key's passphrase as it says), opens the
  // witness's state, binds and starts serving; errors say what is wrong.
  static Result<std::unique_ptr<RunningWitness>> Start(const std::string& config_path);
  ~RunningWitness();
  // Stops serving; false if the server had failed.
  bool Stop();

 private:
  RunningWitness() = default;
  std::unique_ptr<Witness> witness_;
  std::unique_ptr<WitnessServer> server_;
  std::thread serve_;
  bool served_ = true;
};

}  // namespace parley
