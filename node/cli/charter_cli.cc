#include "node/cli/charter_cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "crypto/key_file.h"
#include "node/base/clock.h"
#include "node/base/json.h"
#include "node/base/parse.h"
#include "node/base/text.h"
#include "node/base/time.h"
#include "node/cli/cli_common.h"
#include "node/cli/key_cli.h"
#include "node/cli/statements.h"
#include "node/protocol/charter.h"

namespace parley::cli {
namespace {

// "--witness VKEY=URL": the witness's vkey as `parley witness --print-vkey`
// prints it (name+keyid+base64(0x04 || key)), then its submission URL.
Result<CharterWitness> ParseWitnessFlag(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos) {
    return Status(Code::kInvalidArgument, "bad --witness '" + Printable(arg) + "': use VKEY=URL");
  }
  auto vkey = ParseVerifierKey(arg.substr(0, eq));
  if (!vkey) return Status(Code::kInvalidArgument, "bad --witness vkey: " + vkey.error().message());
  if (vkey->type != NoteKeyType::kCosignatureV1) {
    return Status(Code::kInvalidArgument, "bad --witness vkey '" + Printable(vkey->name) +
                                              "': not a cosignature/v1 key (`parley witness --print-vkey` prints one)");
  }
  return CharterWitness{vkey->name, vkey->key, arg.substr(eq + 1)};
}

int CmdCharterCreate(const std::string& title, const std::vector<std::string>& parties,
                     const std::vector<std::string>& names, const std::vector<std::string>& observers,
                     const std::vector<std::string>& witnesses, uint32_t required_cosignatures,
                     const std::string& out) {
  if (parties.size() != 2) return Fail(Status(Code::kInvalidArgument, "exactly two --party CODE=KEY are needed"));
  // The charter's text is shown to every operator and auditor: the same rule
  // as statements (§5.2).
  if (Status st = CheckFlagText("--title", title); !st.ok()) return Fail(st);
  for (const auto& list : {&names, &observers}) {
    for (const std::string& v : *list) {
      if (Status st = CheckFlagText(list == &names ? "--name" : "--observer", v); !st.ok()) return Fail(st);
    }
  }
  CharterDraft d;
  d.title = title;
  d.created_ms = NowMs();
  for (size_t i = 0; i < 2; ++i) {
    auto eq = parties[i].find('=');
    if (eq == std::string::npos) return Fail(Status(Code::kInvalidArgument, "bad --party '" + parties[i] + "': use CODE=KEY"));
    d.parties[i].code = parties[i].substr(0, eq);
    auto key = ParseKeyArg(parties[i].substr(eq + 1));
    if (!key) return Fail(key.error());
    d.parties[i].key = *key;
    d.parties[i].name = d.parties[i].code;
  }
  for (const std::string& n : names) {
    auto eq = n.find('=');
    bool used = false;
    for (auto& p : d.parties) {
      if (eq != std::string::npos && p.code == n.substr(0, eq)) {
        p.name = n.substr(eq + 1);
        used = true;
      }
    }
    if (!used) return Fail(Status(Code::kInvalidArgument, "bad --name '" + n + "': use CODE=NAME for a --party CODE"));
  }
  for (const std::string& o : observers) {
    auto eq = o.find('=');
    if (eq == std::string::npos) return Fail(Status(Code::kInvalidArgument, "bad --observer '" + o + "': use NAME=KEY"));
    auto key = ParseKeyArg(o.substr(eq + 1));
    if (!key) return Fail(key.error());
    d.observers.push_back({o.substr(0, eq), *key});
  }
  for (const std::string& w : witnesses) {
    auto witness = ParseWitnessFlag(w);
    if (!witness) return Fail(witness.error());
    d.witnesses.push_back(std::move(*witness));
  }
  d.required_cosignatures = required_cosignatures;
  auto bytes = NewUnsignedCharter(d);
  if (!bytes) return Fail(bytes.error());
  if (Status s = WriteFileAtomically(out, *bytes); !s.ok()) return Fail(s);
  std::cout << "charter written to " << out << "; ledger id " << ToHex(Charter::Parse(*bytes)->ledger_id())
            << "\nnext: each party runs `parley charter sign --charter " << out << " --key KEYFILE`\n";
  return kExitOk;
}

int CmdCharterSign(const std::string& path, const std::string& key_file, const PassFlags& pf) {
  auto bytes = ReadFileBytes(path, "charter");
  if (!bytes) return Fail(bytes.error());
  auto charter = Charter::Parse(*bytes);
  if (!charter) return Fail(charter.error());
  auto pass = GetPassphrase(pf);
  if (!pass) return Fail(pass.error());
  auto key = ReadKeyFile(key_file, *pass);
  if (!key) return Fail(key.error());
  auto signed_bytes = charter->Sign(*key);
  if (!signed_bytes) return Fail(signed_bytes.error());
  if (Status s = WriteFileAtomically(path, *signed_bytes); !s.ok()) return Fail(s);
  auto again = Charter::Parse(*signed_bytes);
  std::cout << "signed as " << again->party_code(*again->PartyOf(key->public_key())) << "; "
            << (again->fully_signed() ? "the charter is now signed by both parties" : "waiting for the other party")
            << "\n";
  return kExitOk;
}

int CmdCharterShow(const std::string& path, bool json) {
  auto bytes = ReadFileBytes(path, "charter");
  if (!bytes) return Fail(bytes.error());
  auto c = Charter::Parse(*bytes);
  if (!c) return Fail(c.error());
  if (json) {
    nlohmann::json j;
    j["ledger_id"] = ToHex(c->ledger_id());
    j["title"] = c->proto().title();
    j["fully_signed"] = c->fully_signed();
    for (PartyIndex p = 0; p < 2; ++p) {
      j["parties"].push_back({{"code", c->party_code(p)}, {"name", c->party_name(p)},
                              {"public_key", ToHex(c->party_key(p))}, {"signed", c->signed_by(p)}});
    }
    j["observers"] = nlohmann::json::array();
    for (const auto& o : c->observers()) j["observers"].push_back({{"name", o.name}, {"public_key", ToHex(o.key)}});
    j["witnesses"] = nlohmann::json::array();
    for (const auto& w : c->witnesses()) {
      j["witnesses"].push_back({{"name", w.name}, {"public_key", ToHex(w.key)}, {"url", w.url},
                                {"vkey", FormatVerifierKey(w.verifier())}});
    }
    j["required_cosignatures"] = c->required_cosignatures();
    std::cout << DumpJson(j, 2) << "\n";
    return kExitOk;
  }
  std::cout << "title:     " << Printable(c->proto().title()) << "\nledger id: " << ToHex(c->ledger_id()) << "\n";
  for (PartyIndex p = 0; p < 2; ++p) {
    std::cout << "party " << c->party_code(p) << ": " << Printable(c->party_name(p)) << "\n  key " << ToHex(c->party_key(p))
              << "  " << (c->signed_by(p) ? "signed" : "NOT signed") << "\n";
  }
  for (const auto& o : c->observers()) std::cout << "observer " << Printable(o.name) << ": " << ToHex(o.key) << "\n";
  for (const auto& w : c->witnesses()) {
    std::cout << "witness " << FormatVerifierKey(w.verifier()) << "\n  at " << w.url << "\n";
  }
  if (!c->witnesses().empty()) {
    std::cout << "audits require " << c->required_cosignatures() << " of " << c->witnesses().size()
              << " witness cosignatures by default\n";
  }
  return kExitOk;
}

}  // namespace

CommandRunner AddCharterCommands(CLI::App& app) {
  struct Flags {
    std::string title, out, charter_file, key_file;
    std::vector<std::string> parties, names, observers, witnesses;
    uint32_t required_cosignatures = 0;
    bool json = false;
    PassFlags pf;
    CLI::App *ccreate, *csign, *cshow;
  };
  auto f = std::make_shared<Flags>();
  auto* charter = app.add_subcommand("charter", "create, sign and show a ledger's charter");
  charter->require_subcommand(1);
  auto* ccreate = f->ccreate = charter->add_subcommand("create", "write a new, unsigned charter");
  ccreate->add_option("--title", f->title, "title of the ledger")->required();
  ccreate->add_option("--party", f->parties, "CODE=KEY (hex public key or key file), twice")->required();
  ccreate->add_option("--name", f->names, "CODE=display name");
  ccreate->add_option("--observer", f->observers, "NAME=KEY of an auditor or witness");
  ccreate->add_option("--witness", f->witnesses,
                      "VKEY=URL of a transparency-log witness (vkey from `parley witness --print-vkey`)");
  ccreate->add_option("--require-cosignatures", f->required_cosignatures,
                      "cosignatures an audit requires by default (at most the witnesses listed)");
  ccreate->add_option("--out", f->out, "charter file")->required();
  auto* csign = f->csign = charter->add_subcommand("sign", "sign the charter as the party whose key this is");
  csign->add_option("--charter", f->charter_file, "charter file (updated in place)")->required();
  csign->add_option("--key", f->key_file, "key file")->required();
  AddPassOptions(csign, f->pf);
  auto* cshow = f->cshow = charter->add_subcommand("show", "print a charter and who has signed it");
  cshow->add_option("--charter", f->charter_file, "charter file")->required();
  cshow->add_flag("--json", f->json, "machine-readable output");
  return [f]() -> std::optional<int> {
    if (*f->ccreate) return CmdCharterCreate(f->title, f->parties, f->names, f->observers, f->witnesses,
                                           f->required_cosignatures, f->out);
    if (*f->csign) return CmdCharterSign(f->charter_file, f->key_file, f->pf);
    if (*f->cshow) return CmdCharterShow(f->charter_file, f->json);
    return std::nullopt;
  };
}

}  // namespace parley::cli
