#include "node/cli/key_cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "crypto/key_file.h"
#include "node/base/json.h"
#include "node/base/text.h"
#include "node/cli/cli_common.h"
#include "node/daemon/config.h"

namespace parley::cli {
namespace {

// ---------------------------------------------------------------------------
// Offline tools.

int CmdKeygen(const std::string& out, const PassFlags& pf, const std::string& kdf) {
  auto pass = GetPassphrase(pf);
  if (!pass) return Fail(pass.error());
  KdfParams params;
  if (kdf == "interactive") params = InteractiveKdfParams();
  else if (kdf != "moderate") return Fail(Status(Code::kInvalidArgument, "--kdf is interactive or moderate"));
  SecretKey key = SecretKey::Generate();
  if (Status s = WriteKeyFile(out, key, *pass, params); !s.ok()) return Fail(s);
  std::cout << ToHex(key.public_key()) << "\n";
  return kExitOk;
}

// `parley key show FILE`: the public key of a key file, without the
// passphrase (it is stored in clear in the file).
int CmdKeyShow(const std::string& file, bool json) {
  auto bytes = ReadFileBytes(file, "key file");
  if (!bytes) return Fail(bytes.error());
  auto pk = KeyFilePublicKey(*bytes);
  if (!pk) return Fail(Status(Code::kInvalidArgument, file + " is not a Parley key file"));
  if (json) {
    std::cout << DumpJson(nlohmann::json{{"public_key", ToHex(*pk)}, {"short", ToHex(*pk).substr(0, 16)}}) << "\n";
  } else {
    std::cout << "public key  " << ToHex(*pk) << "\nshort form  " << ToHex(*pk).substr(0, 16)
              << "…  (as status, logs and charters show it)\n";
  }
  return kExitOk;
}

// `parley key passwd FILE`: the same key under a new passphrase. The new
// file is written beside the old one, opened again with the new passphrase,
// and only then renamed over it: an interruption leaves the old file whole.
int CmdKeyPasswd(const std::string& file, const PassFlags& old_pf, const PassFlags& new_pf, const std::string& kdf) {
  auto old_pass = GetPassphrase(old_pf);
  if (!old_pass) return Fail(old_pass.error());
  auto key = ReadKeyFile(file, *old_pass);
  if (!key) return Fail(key.error());
  NodeConfig cfg;
  cfg.passphrase_env = new_pf.env;
  cfg.passphrase_file = new_pf.file;
  auto new_pass = ReadPassphrase(cfg, "new passphrase: ");
  if (!new_pass) return Fail(new_pass.error());
  if (new_pf.env.empty() && new_pf.file.empty()) {  // typed at a terminal: twice
    auto again = ReadPassphrase(cfg, "new passphrase again: ");
    if (!again) return Fail(again.error());
    if (*again != *new_pass) return Fail(Status(Code::kInvalidArgument, "the two new passphrases differ; nothing changed"));
  }
  if (new_pass->empty()) return Fail(Status(Code::kInvalidArgument, "the new passphrase is empty; nothing changed"));
  KdfParams params;
  if (kdf == "interactive") params = InteractiveKdfParams();
  else if (kdf != "moderate") return Fail(Status(Code::kInvalidArgument, "--kdf is interactive or moderate"));
  const std::string tmp = file + ".new";
  if (Status s = WriteKeyFile(tmp, *key, *new_pass, params); !s.ok()) return Fail(s);
  auto check = ReadKeyFile(tmp, *new_pass);
  if (!check || check->public_key() != key->public_key()) {
    std::filesystem::remove(tmp);
    return Fail(Status(Code::kIoError, "the new key file did not open again; " + file + " is unchanged"));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) return Fail(Status(Code::kIoError, "cannot replace " + file + ": " + ec.message()));
  std::cout << "passphrase changed for " << file << " (key " << ToHex(key->public_key()).substr(0, 16) << "…)\n";
  return kExitOk;
}

}  // namespace

Result<PublicKey> ParseKeyArg(const std::string& v) {
  if (auto hex = FromHex(v); hex && hex->size() == 32) return *PublicKey::FromBytes(*hex);
  auto bytes = ReadFileBytes(v, "key file");
  if (!bytes) return Status(Code::kInvalidArgument, "'" + v + "' is neither a 64-digit hex public key nor a key file");
  auto pk = KeyFilePublicKey(*bytes);
  if (!pk) return Status(Code::kInvalidArgument, v + " is not a Parley key file");
  return *pk;
}

CommandRunner AddKeyCommands(CLI::App& app) {
  struct Flags {
    std::string out, kdf = "moderate", key_path;
    bool json = false;
    PassFlags pf, new_pf;
    CLI::App *keygen, *key_show, *key_passwd;
  };
  auto f = std::make_shared<Flags>();
  PassFlags& pf = f->pf;
  PassFlags& new_pf = f->new_pf;
  auto* keygen = f->keygen = app.add_subcommand("keygen", "make a new key pair in a passphrase-protected file (0600)");
  keygen->add_option("--out", f->out, "key file to create")->required();
  keygen->add_option("--kdf", f->kdf, "Argon2id cost: moderate (default) or interactive");
  AddPassOptions(keygen, pf);

  auto* key_cmd = app.add_subcommand("key", "show a key file's public key; change its passphrase");
  key_cmd->require_subcommand(1);
  auto* key_show = f->key_show = key_cmd->add_subcommand("show", "the public key of a key file (no passphrase needed)");
  key_show->add_option("file", f->key_path, "key file")->required();
  key_show->add_flag("--json", f->json, "machine-readable output");
  auto* key_passwd = f->key_passwd =
      key_cmd->add_subcommand("passwd", "the same key under a new passphrase (file replaced atomically)");
  key_passwd->add_option("file", f->key_path, "key file")->required();
  AddPassOptions(key_passwd, pf);
  key_passwd->add_option("--new-passphrase-env", new_pf.env, "environment variable holding the new passphrase");
  key_passwd->add_option("--new-passphrase-file", new_pf.file, "file holding the new passphrase (mode 0600)");
  key_passwd->add_option("--kdf", f->kdf, "Argon2id cost of the new file: moderate (default) or interactive");
  return [f]() -> std::optional<int> {
    if (*f->keygen) return CmdKeygen(f->out, f->pf, f->kdf);
    if (*f->key_show) return CmdKeyShow(f->key_path, f->json);
    if (*f->key_passwd) return CmdKeyPasswd(f->key_path, f->pf, f->new_pf, f->kdf);
    return std::nullopt;
  };
}

}  // namespace parley::cli
