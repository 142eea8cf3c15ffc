#include "node/cli/key_cli.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "crypto/key_file.h"
#include "node/protocol/agreements.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"
#include "node/cli/client.h"
#include "node/cli/manifest_cli.h"
#include "node/cli/version.h"
#include "node/base/clock.h"
#include "node/daemon/config.h"
#include "node/daemon/log.h"
#include "node/daemon/node.h"
#include "node/daemon/peer_auth.h"
#include "node/daemon/tls.h"
#include "node/daemon/peer_service.h"
#include "node/daemon/replicator.h"
#include "node/base/parse.h"
#include "node/base/text.h"
#include "node/report/views.h"

namespace parley::cli {

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

Result<PublicKey> ParseKeyArg(const std::string& v) {
  if (auto hex = FromHex(v); hex && hex->size() == 32) return *PublicKey::FromBytes(*hex);
  auto bytes = ReadFileBytes(v, "key file");
  if (!bytes) return Status(Code::kInvalidArgument, "'" + v + "' is neither a 64-digit hex public key nor a key file");
  auto pk = KeyFilePublicKey(*bytes);
  if (!pk) return Status(Code::kInvalidArgument, v + " is not a Parley key file");
  return *pk;
}

// Rotates this party's key to the key in `new_key_file` (docs/PROTOCOL.md
// §5.1): the node takes it as its next key and signs a RotateKey to it.
int CmdRotateKey(const Common& c, const std::string& new_key_file, const PassFlags& pf, uint64_t compromised_from) {
  auto pass = GetPassphrase(pf);
  if (!pass) return Fail(pass.error());
  auto key = ReadKeyFile(new_key_file, *pass);
  if (!key) return Fail(key.error());
  auto s = Connect(c, false);
  if (!s) return Fail(s.error());
  if (c.dry_run || (!c.yes && ::isatty(STDIN_FILENO))) {
    std::cout << (c.dry_run ? "would sign" : "about to sign") << " rotate_key: this party's key becomes "
              << ToHex(key->public_key()) << " once the other party acknowledges it";
    if (compromised_from != 0) {
      std::cout << "; declares this party's entries from #" << compromised_from << " on signed with a compromised key";
    }
    std::cout << "\n";
    if (c.dry_run) {
      std::cout << "dry run: nothing was signed (the node checks a rotation when it signs it)\n";
      return kExitOk;
    }
    if (!Confirm("Sign it? A signature cannot be taken back.")) {
      std::cout << "not signed\n";
      return kExitFailed;
    }
  }
  const std::string rid = c.request_id.empty() ? NewRequestId() : c.request_id;
  auto r = s->client->RotateKey(key->seed(), compromised_from, rid);
  if (!r) return Fail(r.error());
  auto st = s->client->GetStatus();
  const std::string code = st ? s->charter->party_code(st->self()) : "?";
  const std::string other = st ? s->charter->party_code(1 - st->self()) : "the other party";
  if (c.json) {
    std::cout << DumpJson(nlohmann::json{{"id", ToHex(r->id())}, {"seq", r->seq()}, {"kind", "rotate_key"}, {"party", code},
                                {"new_key", ToHex(key->public_key())}, {"compromised_from_seq", compromised_from},
                                {"request_id", rid}})
              << "\n";
    return kExitOk;
  }
  std::cout << "signed rotate_key " << code << "#" << r->seq() << "  id " << ToHex(r->id()) << "\n"
            << "new key " << ToHex(key->public_key()) << ": in effect once " << other
            << "'s node acknowledges it (it does so on receipt; see `parley status`).\n"
            << "Keep it across a restart: add `next_key_file = " << new_key_file
            << "` to this node's config now; once the rotation is in effect, move the new key file over key_file "
               "and drop next_key_file.\n";
  return kExitOk;
}

}  // namespace parley::cli
