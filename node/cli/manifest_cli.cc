#include "node/cli/manifest_cli.h"

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "node/cli/client.h"
#include "node/manifest.h"
#include "node/manifest_proof.h"

namespace parley {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int Fail(const Status& s) {
  std::cerr << "parley: " << s.message() << "\n";
  return s.code() == Code::kInvalidArgument ? kExitUsage : kExitFailed;
}

Result<std::string> ReadAll(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, std::string("cannot read ") + what + " " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<Digest> ParseRoot(const std::string& text) {
  const std::string hex = text.substr(0, text.find(':'));
  auto bytes = FromHex(hex);
  if (!bytes || bytes->size() != Digest::kSize) {
    return Status(Code::kInvalidArgument, "a manifest root is 64 hex digits (as `parley manifest commit` prints it)");
  }
  return *Digest::FromBytes(*bytes);
}

std::string KindWord(v1::ManifestKind k) { return k == v1::MANIFEST_REMAINS ? "remains" : "prisoners"; }

nlohmann::json InfoJson(const v1::ManifestInfo& m, const std::string& self_code, const std::string& other_code,
                        uint32_t self) {
  return {{"root", ToHex(m.root())},
          {"count", m.count()},
          {"commitment", ToHex(m.root()) + ":" + std::to_string(m.count())},
          {"kind", KindWord(m.kind())},
          {"author", m.author() == self ? self_code : other_code},
          {"stored_ms", m.stored_ms()},
          {"erased", m.erased()}};
}

int Commit(OperatorClient& client, const ManifestFlags& f) {
  auto kind = ParseManifestKind(f.kind);
  if (!kind) return Fail(Status(Code::kInvalidArgument, "--kind must be remains or prisoners"));
  auto csv = ReadAll(f.file, "manifest");
  if (!csv) return Fail(csv.error());
  auto info = client.CommitManifest(*kind == ManifestKind::kRemains ? v1::MANIFEST_REMAINS : v1::MANIFEST_PRISONERS,
                                    std::move(*csv));
  if (!info) {
    std::cerr << "parley: " << f.file << ": " << info.error().message() << "\nnothing was committed\n";
    return info.error().code() == Code::kInvalidArgument ? kExitUsage : kExitFailed;
  }
  const std::string commitment = ToHex(info->root()) + ":" + std::to_string(info->count());
  if (f.json) {
    std::cout << nlohmann::json{{"root", ToHex(info->root())}, {"count", info->count()},
                                {"commitment", commitment}, {"kind", KindWord(info->kind())}}
                     .dump()
              << "\n";
  } else {
    std::cout << "committed " << info->count() << " " << KindWord(info->kind())
              << " records (salted, stored encrypted in the node)\n"
              << "commitment " << commitment << "\n"
              << "use it as: propose --transfer FROM>TO:CATEGORY:" << info->count() << ":" << ToHex(info->root())
              << "\n           handover/receipt --manifest " << commitment << "\n";
  }
  return kExitOk;
}

int List(OperatorClient& client, const ManifestFlags& f) {
  auto list = client.ListManifests();
  if (!list) return Fail(list.error());
  auto charter = client.GetCharter();
  auto status = client.GetStatus();
  if (!charter || !status) return Fail(!charter ? charter.error() : status.error());
  const uint32_t self = status->self();
  const std::string me = charter->party_code(self), other = charter->party_code(1 - self);
  if (f.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& m : list->manifests()) j.push_back(InfoJson(m, me, other, self));
    std::cout << j.dump() << "\n";
    return kExitOk;
  }
  if (list->manifests_size() == 0) std::cout << "no manifests held\n";
  for (const auto& m : list->manifests()) {
    std::cout << ToHex(m.root()) << ":" << m.count() << "  " << KindWord(m.kind()) << ", "
              << (m.author() == self ? "ours" : "from " + other);
    if (m.erased()) std::cout << ", " << m.erased() << " erased";
    std::cout << "\n";
  }
  return kExitOk;
}

int Prove(OperatorClient& client, const ManifestFlags& f) {
  auto root = ParseRoot(f.root);
  if (!root) return Fail(root.error());
  auto proof = client.ProveRecord(*root, f.record_id);
  if (!proof) return Fail(proof.error());
  auto file = MakeProofFile(*proof);
  if (!file) return Fail(file.error());
  std::ofstream out(f.out, std::ios::binary | std::ios::trunc);
  out << *file;
  out.close();
  if (!out) return Fail(Status(Code::kIoError, "cannot write " + f.out));
  std::cout << "proof of record " << proof->index() + 1 << " of " << proof->count() << " written to " << f.out
            << "\ncheck it anywhere with: parley manifest verify " << f.out << " --charter CHARTER\n";
  return kExitOk;
}

int VerifyProof(const ManifestFlags& f) {
  auto text = ReadAll(f.file, "proof file");
  if (!text) return Fail(text.error());
  std::string charter;
  if (!f.charter.empty()) {
    auto c = ReadAll(f.charter, "charter");
    if (!c) return Fail(c.error());
    charter = std::move(*c);
  }
  auto verdict = VerifyProofFile(*text, charter);
  if (!verdict) return Fail(verdict.error());
  if (f.json) {
    std::cout << nlohmann::json{{"valid", verdict->valid}, {"explanation", verdict->explanation}}.dump() << "\n";
  } else {
    if (verdict->valid && verdict->record) {
      const auto& cols = ManifestColumns(verdict->record->kind);
      for (size_t i = 0; i < cols.size(); ++i) std::cout << "  " << cols[i] << ": " << verdict->record->fields[i] << "\n";
    }
    std::cout << (verdict->valid ? "" : "INVALID: ") << verdict->explanation << "\n";
  }
  return verdict->valid ? kExitOk : kExitFailed;
}

}  // namespace

Result<v1::ManifestCommitment> ParseCommitment(const std::string& text) {
  const size_t colon = text.find(':');
  auto root = ParseRoot(text);
  uint64_t count = 0;
  if (colon != std::string::npos) {
    try {
      size_t used = 0;
      count = std::stoull(text.substr(colon + 1), &used);
      if (used != text.size() - colon - 1) count = 0;
    } catch (...) {
      count = 0;
    }
  }
  if (!root || count == 0) {
    return Status(Code::kInvalidArgument,
                  "a manifest commitment is ROOT:COUNT, 64 hex digits and the record count, as "
                  "`parley manifest commit` prints it");
  }
  v1::ManifestCommitment m;
  m.set_root(root->str());
  m.set_count(count);
  return m;
}

void AddManifestCommands(CLI::App& app, ManifestFlags& f, const std::string& default_socket) {
  auto* m = app.add_subcommand("manifest", "lists of people kept off the ledger: commit, share, prove, erase");
  m->require_subcommand(1);
  const auto node_opts = [&](CLI::App* cmd) {
    cmd->add_option("--socket", f.socket, "operator socket of the local node (env PARLEY_SOCKET)")
        ->default_val(default_socket);
    cmd->add_flag("--json", f.json, "machine-readable output");
  };
  f.commit = m->add_subcommand("commit", "import a CSV manifest: salt, commit (prints ROOT:COUNT), store encrypted");
  node_opts(f.commit);
  f.commit->add_option("file", f.file, "the CSV file (header: the kind's columns)")->required();
  f.commit->add_option("--kind", f.kind,
                       "remains (tag,name,recovered_on,recovered_at,identification,seal) or prisoners "
                       "(service_number,surname,first_names,date_of_birth,rank,category,consent)")
      ->default_val("remains");
  f.list = m->add_subcommand("list", "the manifests this node holds");
  node_opts(f.list);
  f.fetch = m->add_subcommand("fetch", "fetch the other party's manifest from its node (sealed to our key)");
  node_opts(f.fetch);
  f.fetch->add_option("root", f.root, "ROOT or ROOT:COUNT")->required();
  f.prove = m->add_subcommand("prove", "write a proof that one record is on a committed manifest");
  node_opts(f.prove);
  f.prove->add_option("root", f.root, "ROOT or ROOT:COUNT")->required();
  f.prove->add_option("--record", f.record_id, "the record's tag or service number")->required();
  f.prove->add_option("--out", f.out, "proof file to write")->required();
  f.verify = m->add_subcommand("verify", "check a proof file offline (exit 0 valid, 1 invalid, 2 unusable)");
  f.verify->add_option("proof", f.file, "proof file")->required();
  f.verify->add_option("--charter", f.charter, "the charter you trust (default: the one inside the proof)");
  f.verify->add_flag("--json", f.json, "machine-readable output");
  f.erase = m->add_subcommand("erase", "destroy one record's plaintext; commitments and proofs of others stay valid");
  node_opts(f.erase);
  f.erase->add_option("root", f.root, "ROOT or ROOT:COUNT")->required();
  f.erase->add_option("--record", f.record_id, "the record's tag or service number")->required();
}

std::optional<int> RunManifestCommand(const ManifestFlags& f) {
  if (f.verify && *f.verify) return VerifyProof(f);
  const bool any = (f.commit && *f.commit) || (f.list && *f.list) || (f.fetch && *f.fetch) ||
                   (f.prove && *f.prove) || (f.erase && *f.erase);
  if (!any) return std::nullopt;
  auto client = OperatorClient::Connect(f.socket);
  if (!client) return Fail(client.error());
  if (*f.commit) return Commit(**client, f);
  if (*f.list) return List(**client, f);
  if (*f.prove) return Prove(**client, f);
  auto root = ParseRoot(f.root);
  if (!root) return Fail(root.error());
  if (*f.fetch) {
    auto info = (*client)->FetchManifest(*root);
    if (!info) return Fail(info.error());
    std::cout << "holding manifest " << ToHex(info->root()) << ":" << info->count() << " (" << KindWord(info->kind())
              << "), stored encrypted\n";
    return kExitOk;
  }
  if (Status s = (*client)->EraseRecord(*root, f.record_id); !s.ok()) return Fail(s);
  std::cout << "erased: the record's key, salt and text are destroyed; the commitment and every other proof "
               "still hold\n";
  return kExitOk;
}

}  // namespace parley
