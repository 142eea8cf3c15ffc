#include "node/cli/audit_cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>

#include "crypto/key_file.h"
#include "node/base/clock.h"
#include "node/base/json.h"
#include "node/base/parse.h"
#include "node/base/text.h"
#include "node/cli/cli_common.h"
#include "node/daemon/config.h"
#include "node/daemon/peer_client.h"
#include "node/daemon/tls.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"

namespace parley::cli {
namespace {

struct PeerTlsFlags {
  std::string cert, key, fingerprint;
  bool plaintext = false;
};

// Reads both feeds and the fork proofs from a node's peer service into a
// bundle at `out`, up to the heads the node reported first.
Status FetchBundleFromPeer(const std::string& address, const Charter& charter, const SecretKey& key,
                           const PeerTlsFlags& tls, const std::string& out) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (tls.plaintext) {
    if (!IsLoopbackAddress(address)) {
      return Status(Code::kInvalidArgument, "--peer " + address + " is not on loopback; plaintext is refused off loopback");
    }
    creds = grpc::InsecureChannelCredentials();
  } else {
    if (tls.cert.empty() || tls.key.empty() || tls.fingerprint.size() != 64) {
      return Status(Code::kInvalidArgument,
                    "--peer needs --tls-cert, --tls-key and --peer-fingerprint (or --plaintext on loopback)");
    }
    auto files = ReadTlsFiles(tls.cert, tls.key);
    if (!files) return files.error();
    creds = PinnedChannelCredentials(*files, tls.fingerprint);
  }
  auto token_key = std::make_shared<const SecretKey>(SecretKey::FromSeed(key.seed()));
  const PeerClient peer(address, creds, charter.ledger_id(), [token_key] { return token_key; },
                        std::chrono::seconds(30));
  auto heads = peer.GetHeads();
  if (!heads) return heads.error();
  uint64_t head[2] = {0, 0};
  for (const auto& f : heads->feeds()) {
    if (f.party() <= 1) head[f.party()] = f.seq();
  }
  auto w = BundleWriter::Create(out, charter, "peer " + address, NowMs());
  if (!w) return w.error();
  if (Status s = WriteFeedsInCausalOrder(**w, peer.FeedSource(0, 1, head[0], charter.party_code(0)),
                                         peer.FeedSource(1, 1, head[1], charter.party_code(1)));
      !s.ok()) {
    return s;
  }
  auto forks = peer.GetForkProofs();
  if (!forks) return forks.error();
  for (const auto& f : forks->proofs()) {
    if (Status fs = (*w)->AddForkProof(f); !fs.ok()) return fs;
  }
  return (*w)->Finish();
}

int CmdAudit(std::string bundle, bool json, const std::string& now, const std::string& peer,
             const std::string& charter_file, const std::string& key_file, const PassFlags& pf,
             const PeerTlsFlags& tls, const std::string& html, bool require_witnesses,
             std::optional<uint32_t> required_cosignatures) {
  int64_t now_ms = NowMs();
  if (!now.empty()) {
    auto t = ParseTime(now, "--now");
    if (!t) return Fail(t.error());
    now_ms = *t;
  }
  std::optional<TempFile> fetched;
  if (!peer.empty()) {
    if (charter_file.empty()) return Fail(Status(Code::kInvalidArgument, "--peer needs --charter: the charter you hold for this ledger"));
    auto bytes = ReadFileBytes(charter_file, "charter");
    if (!bytes) return Fail(bytes.error());
    auto charter = Charter::Parse(*bytes);
    if (!charter) return Fail(charter.error());
    if (key_file.empty()) {
      return Fail(Status(Code::kInvalidArgument, "--peer needs --key: your key as an observer (or party) of the ledger"));
    }
    auto pass = GetPassphrase(pf);
    if (!pass) return Fail(pass.error());
    auto key = ReadKeyFile(key_file, *pass);
    if (!key) return Fail(key.error());
    fetched.emplace();
    if (Status s = FetchBundleFromPeer(peer, *charter, *key, tls, fetched->path); !s.ok()) {
      std::cerr << "parley audit: cannot read the ledger from " << Printable(peer) << ": " << Printable(s.message())
                << "\n";
      return kExitUsage;
    }
    bundle = fetched->path;
  } else if (bundle.empty()) {
    return Fail(Status(Code::kInvalidArgument, "name a BUNDLE file, or --peer HOST:PORT with --charter"));
  }
  AuditOptions options;
  options.now_ms = now_ms;
  options.require_witnesses = require_witnesses;
  options.required_cosignatures = required_cosignatures;
  auto report = AuditBundle(bundle, options);
  if (!report) {
    std::cerr << "parley audit: unusable input: " << Printable(report.error().message()) << "\n";
    return kExitUsage;
  }
  if (!html.empty()) {
    if (Status s = WriteFileAtomically(html, RenderAuditHtml(*report)); !s.ok()) {
      std::cerr << "parley audit: " << s.message() << "\n";
      return kExitUsage;  // 1 would read as "violations found"
    }
  }
  if (json) std::cout << DumpJson(AuditJson(*report), 2) << "\n";
  else std::cout << RenderAudit(*report);
  return report->exit_code();
}

}  // namespace

CommandRunner AddAuditCommand(CLI::App& app) {
  struct Flags {
    std::string out, now, peer, html, charter_file, audit_key, require_witnesses;
    bool json = false;
    PassFlags audit_pass;
    PeerTlsFlags audit_tls;
    CLI::App* audit;
  };
  auto f = std::make_shared<Flags>();
  PeerTlsFlags& audit_tls = f->audit_tls;
  auto* audit = f->audit = app.add_subcommand("audit", "verify a bundle offline, or a node live (exit 0 clean, 1 violations, 2 unusable)");
  audit->add_option("bundle", f->out, "bundle file");
  audit->add_option("--peer", f->peer, "audit a running node read-only through its peer port instead (HOST:PORT)");
  audit->add_option("--charter", f->charter_file, "with --peer: the charter you hold for the ledger");
  audit->add_option("--key", f->audit_key, "with --peer: your key file (an observer's or a party's)");
  AddPassOptions(audit, f->audit_pass);
  audit->add_option("--tls-cert", audit_tls.cert, "with --peer: your TLS certificate (parley tls init)");
  audit->add_option("--tls-key", audit_tls.key, "with --peer: your TLS key");
  audit->add_option("--peer-fingerprint", audit_tls.fingerprint, "with --peer: the node's certificate fingerprint");
  audit->add_flag("--plaintext", audit_tls.plaintext, "with --peer: no TLS (loopback only)");
  audit->add_option("--html", f->html, "also write a self-contained HTML report to this file");
  audit->add_flag("--json", f->json, "machine-readable report");
  audit->add_option("--now", f->now, "evaluate expiry at this UTC time (default: now)");
  // An optional value: `--require-witnesses`, `--require-witnesses 2`, `--require-witnesses=2`.
  audit->add_option("--require-witnesses", f->require_witnesses,
                    "fail (exit 1) unless each feed's head is covered by K cosignatures of distinct charter "
                    "witnesses (K default: the charter's required_cosignatures)")
      ->expected(0, 1)
      ->default_str("");
  return [f]() -> std::optional<int> {
    if (!*f->audit) return std::nullopt;
    const bool require = f->audit->count("--require-witnesses") > 0;
    std::optional<uint32_t> k;
    if (require && !f->require_witnesses.empty()) {
      const std::string& v = f->require_witnesses;
      if (v.find_first_not_of("0123456789") != std::string::npos && f->out.empty()) {
        f->out = v;  // `--require-witnesses BUNDLE`: the bundle, not K
      } else if (v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
        return Fail(Status(Code::kInvalidArgument,
                           "--require-witnesses: K must be a number of witnesses, not \"" + Printable(v) + "\""));
      } else {
        k = static_cast<uint32_t>(std::stoul(v));
      }
    }
    return CmdAudit(f->out, f->json, f->now, f->peer, f->charter_file, f->audit_key, f->audit_pass, f->audit_tls,
                    f->html, require, k);
  };
}

}  // namespace parley::cli
