// `parley witness --config FILE`: run a c2sp.org/tlog-witness
// (node/witness/). `--print-vkey` prints the witness's verifier key
// (cosignature/v1) for the logs and auditors that trust it, and exits.
#pragma once

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

}  // namespace parley
