#include "node/cli/manifest_cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/seal.h"
#include "node/cli/cli_common.h"
#include "node/cli/client.h"
#include "node/manifest/manifest.h"
#include "node/manifest/manifest_proof.h"
#include "node/base/parse.h"
#include "node/report/views.h"

namespace parley {
namespace {

// Exit codes, errors and file reading as for every command (cli_common.h).
using cli::Fail;
using cli::kExitFailed;
using cli::kExitOk;
using cli::kExitUsage;
using cli::ReadFileBytes;

// Creates `path` (refusing an existing file) with mode 0600 and writes
// `bytes`: proof files and exports hold personal data.
Status WriteNewPrivateFile(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return Status(Code::kInvalidArgument, "cannot create " + path + ": " + std::strerror(errno) +
                                              " (it must not exist yet)");
  }
  const bool written = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  const bool closed = ::close(fd) == 0;
  if (!written || !closed) return Status(Code::kIoError, "cannot write " + path);
  return Status::Ok();
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
  auto csv = ReadFileBytes(f.file, "manifest");
  if (!csv) return Fail(csv.error());
  auto info = client.CommitManifest(*kind == ManifestKind::kRemains ? v1::MANIFEST_REMAINS : v1::MANIFEST_PRISONERS,
                                    std::move(*csv));
  if (!info) {
    std::cerr << "parley: " << f.file << ": " << info.error().message() << "\nnothing was committed\n";
    return info.error().code() == Code::kInvalidArgument ? kExitUsage : kExitFailed;
  }
  const std::string commitment = ToHex(info->root()) + ":" + std::to_string(info->count());
  if (f.json) {
    std::cout << DumpJson(nlohmann::json{{"root", ToHex(info->root())}, {"count", info->count()},
                                {"commitment", commitment}, {"kind", KindWord(info->kind())}})
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
    std::cout << DumpJson(j) << "\n";
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
  if (Status s = WriteNewPrivateFile(f.out, *file); !s.ok()) return Fail(s);
  std::cout << "proof of record " << proof->index() + 1 << " of " << proof->count() << " written to " << f.out
            << "\ncheck it anywhere with: parley manifest verify " << f.out << " --charter CHARTER\n";
  return kExitOk;
}

std::string CsvCell(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos && (v.empty() || (v.front() != ' ' && v.back() != ' '))) {
    return v;
  }
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Writes the manifest as CSV (the kind's columns, canonical order) to a new
// file readable by its owner only.
int Export(OperatorClient& client, const ManifestFlags& f, const Digest& root) {
  auto m = client.ReadManifest(root);
  if (!m) return Fail(m.error());
  std::string csv;
  const ManifestKind kind =
      m->info().kind() == v1::MANIFEST_REMAINS ? ManifestKind::kRemains : ManifestKind::kPrisoners;
  const auto& columns = ManifestColumns(kind);
  for (size_t i = 0; i < columns.size(); ++i) csv += (i ? "," : "") + columns[i];
  csv += "\n";
  for (const std::string& bytes : m->records()) {
    auto r = DecodeCanonicalRecord(bytes);
    if (!r) return Fail(r.error());
    for (size_t i = 0; i < r->fields.size(); ++i) csv += (i ? "," : "") + CsvCell(r->fields[i]);
    csv += "\n";
  }
  const Status written = WriteNewPrivateFile(f.out, csv);
  Wipe(csv);
  if (!written.ok()) return Fail(written);
  std::cout << "wrote " << m->records_size() << " " << KindWord(m->info().kind()) << " records to " << f.out
            << " (mode 0600)";
  if (m->info().erased()) std::cout << "; " << m->info().erased() << " erased records are not in it";
  std::cout << "\nit holds personal data: keep it as you keep the node's key, and delete it when done\n";
  return kExitOk;
}

int ShowReconciliations(OperatorClient& client, const ManifestFlags& f, const Digest& root) {
  auto r = client.GetReconciliations(root);
  if (!r) return Fail(r.error());
  if (f.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& saved : r->reconciliations()) {
      nlohmann::json lines = nlohmann::json::array();
      for (const auto& l : saved.lines()) {
        lines.push_back({{"outcome", l.outcome()}, {"arrival_id", l.arrival_id()}, {"record_id", l.record_id()}});
      }
      j.push_back({{"arrivals_digest", ToHex(saved.arrivals_digest())}, {"receipt", ToHex(saved.receipt())},
                   {"lines", lines}});
    }
    std::cout << DumpJson(j) << "\n";
    return kExitOk;
  }
  if (r->reconciliations_size() == 0) std::cout << "no arrival list was reconciled against this manifest here\n";
  for (const auto& saved : r->reconciliations()) {
    std::cout << "arrival list " << ToHex(saved.arrivals_digest()).substr(0, 16) << "…, receipt "
              << ToHex(saved.receipt()) << ":\n";
    for (const auto& l : saved.lines()) {
      std::cout << "  " << l.outcome() << std::string(l.outcome().size() < 16 ? 16 - l.outcome().size() : 1, ' ')
                << (l.arrival_id().empty() ? "-" : l.arrival_id()) << "  " << (l.record_id().empty() ? "-" : l.record_id())
                << "\n";
    }
  }
  return kExitOk;
}

// `parley manifest verify`: 0 the proof is valid, 1 it is not (a verdict),
// 2 no verdict could be reached — every error here (a file missing or
// unreadable, a proof file that is not one) is unusable input.
int VerifyProof(const ManifestFlags& f) {
  const auto unusable = [](const Status& s) {
    std::cerr << "parley: " << s.message() << "\n";
    return kExitUsage;
  };
  auto text = ReadFileBytes(f.file, "proof file");
  if (!text) return unusable(text.error());
  std::string charter;
  if (!f.charter.empty()) {
    auto c = ReadFileBytes(f.charter, "charter");
    if (!c) return unusable(c.error());
    charter = std::move(*c);
  }
  auto verdict = VerifyProofFile(*text, charter);
  if (!verdict) return unusable(verdict.error());
  if (f.json) {
    std::cout << DumpJson(nlohmann::json{{"valid", verdict->valid}, {"explanation", verdict->explanation}}) << "\n";
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
    if (auto n = ParseCount(std::string_view(text).substr(colon + 1), "COUNT")) count = *n;
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
  // A command on one manifest held by the node.
  const auto on_manifest = [&](const char* name, const char* what) {
    CLI::App* cmd = m->add_subcommand(name, what);
    node_opts(cmd);
    cmd->add_option("root", f.root, "ROOT or ROOT:COUNT")->required();
    return cmd;
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
  f.fetch = on_manifest("fetch", "fetch the other party's manifest from its node (sealed to our key)");
  f.prove = on_manifest("prove", "write a proof that one record is on a committed manifest");
  f.prove->add_option("--record", f.record_id, "the record's tag or service number")->required();
  f.prove->add_option("--out", f.out, "proof file to create (mode 0600; it holds the person's record)")->required();
  f.verify = m->add_subcommand("verify", "check a proof file offline (exit 0 valid, 1 invalid, 2 unusable)");
  f.verify->add_option("proof", f.file, "proof file")->required();
  f.verify->add_option("--charter", f.charter, "the charter you trust (default: the one inside the proof)");
  f.verify->add_flag("--json", f.json, "machine-readable output");
  f.exp = on_manifest("export", "write a manifest held here as CSV, in clear (a new file, mode 0600)");
  f.exp->add_option("--out", f.out, "CSV file to create")->required();
  f.reconciliation = on_manifest("reconciliation", "the per-person outcome of each arrival list reconciled here");
  f.erase = on_manifest("erase", "destroy one record's plaintext; commitments and proofs of others stay valid");
  f.erase->add_option("--record", f.record_id, "the record's tag or service number")->required();
}

std::optional<int> RunManifestCommand(const ManifestFlags& f) {
  if (f.verify && *f.verify) return VerifyProof(f);
  const bool any = (f.commit && *f.commit) || (f.list && *f.list) || (f.fetch && *f.fetch) ||
                   (f.prove && *f.prove) || (f.erase && *f.erase) || (f.exp && *f.exp) ||
                   (f.reconciliation && *f.reconciliation);
  if (!any) return std::nullopt;
  auto client = OperatorClient::Connect(f.socket);
  if (!client) return Fail(client.error());
  if (*f.commit) return Commit(**client, f);
  if (*f.list) return List(**client, f);
  if (*f.prove) return Prove(**client, f);
  auto root = ParseRoot(f.root);
  if (!root) return Fail(root.error());
  if (*f.exp) return Export(**client, f, *root);
  if (*f.reconciliation) return ShowReconciliations(**client, f, *root);
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

cli::CommandRunner AddManifestCommands(CLI::App& app) {
  auto f = std::make_shared<ManifestFlags>();
  AddManifestCommands(app, *f, cli::DefaultSocket());
  return [f] { return RunManifestCommand(*f); };
}

}  // namespace parley
