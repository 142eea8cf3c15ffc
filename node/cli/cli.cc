// The wiring of the `parley` command line: one line per command family
// (each in its own file, registering its subcommands and running them), the
// parse, and the dispatch. See command.h.
#include "node/cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sign.h"
#include "node/base/text.h"
#include "node/cli/audit_cli.h"
#include "node/cli/backup_cli.h"
#include "node/cli/charter_cli.h"
#include "node/cli/cli_common.h"
#include "node/cli/key_cli.h"
#include "node/cli/manifest_cli.h"
#include "node/cli/node_cli.h"
#include "node/cli/relay_cli.h"
#include "node/cli/submit_cli.h"
#include "node/cli/version.h"
#include "node/cli/views_cli.h"
#include "node/cli/witness_cli.h"

namespace parley {

using namespace cli;

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// `parley WORD ...` where WORD is no command: says so (escaped), suggests
// the nearest command if it is close (WORD of 3 or more letters begins it, or
// it is at most max(2, |WORD|/3) edits away), lists the commands; exit 2.
// nullopt if `word` is a command or an option: CLI11's message is the better
// one then.
std::optional<int> UnknownCommand(const CLI::App& app, std::string_view word) {
  if (word.empty() || word[0] == '-') return std::nullopt;
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  if (std::find(names.begin(), names.end(), word) != names.end()) return std::nullopt;
  std::string nearest;
  size_t best = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& name : names) {
    const size_t d = word.size() >= 3 && name.rfind(word, 0) == 0 ? 0 : EditDistance(word, name);
    if (d < best) best = d, nearest = name;
  }
  std::cerr << "parley: unknown command \"" << Printable(word) << "\"";
  if (!nearest.empty()) std::cerr << "; did you mean \"" << nearest << "\"?";
  std::cerr << "\ncommands:";
  for (const std::string& name : names) std::cerr << " " << name;
  std::cerr << "\n(parley --help says what each does)\n";
  return kExitUsage;
}

}  // namespace

int RunCli(int argc, char** argv) {
  InitCrypto();
  CLI::App app{"parley: a signed two-party ledger for exchange agreements"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  app.set_version_flag("--version", VersionText(), "print the version, the protocol version and the source commit");

  // One line per command family, in the order `parley --help` lists them.
  std::vector<CommandRunner> families;
  families.push_back(AddNodeCommand(app));      // node
  families.push_back(AddSubmitCommands(app));   // propose ... statement, rotate-key
  families.push_back(AddViewCommands(app));     // list show status watch export
  families.push_back(AddAuditCommand(app));     // audit
  families.push_back(AddKeyCommands(app));      // keygen, key show|passwd
  families.push_back(AddCharterCommands(app));  // charter create|sign|show
  families.push_back(AddTlsCommands(app));      // tls init
  families.push_back(AddDemoCommand(app, argv[0]));
  families.push_back(AddManifestCommands(app));  // manifest ...
  families.push_back(AddBackupCommands(app, DefaultSocket()));  // backup, restore
  WitnessFlags witness_flags;  // witness
  AddWitnessCommand(app, witness_flags);
  families.push_back([&witness_flags] { return RunWitnessCommand(witness_flags); });
  families.push_back(AddRelayCommand(app));     // relay

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (argc > 1) {
      if (auto code = UnknownCommand(app, argv[1])) return *code;
    }
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  for (const CommandRunner& run : families) {
    if (auto code = run()) return *code;
  }
  return kExitUsage;  // not reached: every family requires its subcommand
}

}  // namespace parley
