// `parley manifest ...`: commit a CSV manifest, list, fetch the other
// party's, export one in clear (CSV), show reconciliation detail, prove one
// record, verify a proof offline, erase a record. Also
// the commitment syntax ROOT:COUNT that propose, handover and receipt take.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "crypto/status.h"
#include "node/cli/command.h"
#include "parley/v1/ledger.pb.h"

namespace parley {

struct ManifestFlags {
  std::string socket;
  bool json = false;
  std::string kind = "remains";
  std::string file;       // commit: the CSV; verify: the proof
  std::string root;       // ROOT or ROOT:COUNT (hex)
  std::string record_id;  // prove, erase
  std::string out;        // prove: proof file to write; export: CSV to write
  std::string charter;    // verify: the charter you trust

  CLI::App* commit = nullptr;
  CLI::App* list = nullptr;
  CLI::App* fetch = nullptr;
  CLI::App* prove = nullptr;
  CLI::App* verify = nullptr;
  CLI::App* erase = nullptr;
  CLI::App* exp = nullptr;
  CLI::App* reconciliation = nullptr;
};

void AddManifestCommands(CLI::App& app, ManifestFlags& f, const std::string& default_socket);

// The exit status if one of the manifest commands was given, else nullopt.
std::optional<int> RunManifestCommand(const ManifestFlags& f);

// The two above as one command family (command.h), with the default socket
// of the other commands.
cli::CommandRunner AddManifestCommands(CLI::App& app);

// "ROOT:COUNT" (64 hex digits, a colon, a number >= 1) as `manifest commit`
// prints it.
Result<v1::ManifestCommitment> ParseCommitment(const std::string& text);

}  // namespace parley
