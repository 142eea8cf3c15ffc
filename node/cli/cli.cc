#include "node/cli/cli.h"

#include "node/cli/audit_cli.h"
#include "node/cli/charter_cli.h"
#include "node/cli/cli_common.h"
#include "node/cli/key_cli.h"
#include "node/cli/node_cli.h"
#include "node/cli/statements.h"
#include "node/cli/views_cli.h"
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

  // node
  std::string config_file;
  std::vector<std::pair<std::string, std::string>> ov = {
      {"data_dir", ""}, {"key_file", ""}, {"passphrase_env", ""}, {"passphrase_file", ""}, {"charter", ""},
      {"listen", ""},   {"peer", ""},     {"socket", ""},         {"high_water_mark", ""},
      {"tls_cert", ""}, {"tls_key", ""},  {"peer_fingerprint", ""}, {"observer_fingerprints", ""},
      {"plaintext", ""}, {"next_key_file", ""}, {"party", ""}, {"manifest_dir", ""},
      {"log_level", ""}, {"log_file", ""}};
  auto* node = app.add_subcommand("node", "run this party's node");
  node->add_option("--config", config_file, "config file (key = value lines)");
  for (auto& [k, v] : ov) {
    std::string flag = "--" + k;
    for (auto& ch : flag) if (ch == '_') ch = '-';
    node->add_option(flag, v, "overrides `" + k + "` of the config file");
  }

  Common c;
  TermsFlags terms;
  std::string id, reason, state, out, what, where, when, text, ref, place, at;
  // Numbers are taken as text and parsed strictly (ParseCount): "-1", "12abc"
  // and "1e3" are refused, not read as 18446744073709551615, 12 and 1.
  std::string transfer = "0", count, matched = "0", missing = "0", not_on_manifest = "0", unidentified = "0",
              other_side = "0";
  bool json = false;

  auto* propose = app.add_subcommand("propose", "propose an exchange (signed by this party alone until accepted)");
  AddNodeOptions(propose, c, true);
  AddTermsOptions(propose, terms, true);

  auto* counter = app.add_subcommand("counter", "answer the other side's open proposal with other terms");
  AddNodeOptions(counter, c, true);
  counter->add_option("proposal", id, "ID (or unique prefix) of the proposal countered")->required();
  AddTermsOptions(counter, terms, false);

  auto* amend = app.add_subcommand("amend", "propose new terms (e.g. a new date) for an agreement");
  AddNodeOptions(amend, c, true);
  amend->add_option("agreement", id, "ID (or unique prefix) of the agreement")->required();
  AddTermsOptions(amend, terms, false);

  auto* accept = app.add_subcommand("accept", "accept the other side's proposal: it becomes an agreement");
  AddNodeOptions(accept, c, true);
  accept->add_option("proposal", id, "proposal ID or unique prefix")->required();

  auto* reject = app.add_subcommand("reject", "reject the other side's proposal");
  AddNodeOptions(reject, c, true);
  reject->add_option("proposal", id, "proposal ID or unique prefix")->required();
  reject->add_option("--reason", reason, "why");

  auto* withdraw = app.add_subcommand("withdraw", "withdraw one of this party's open proposals");
  AddNodeOptions(withdraw, c, true);
  withdraw->add_option("proposal", id, "proposal ID or unique prefix")->required();
  withdraw->add_option("--reason", reason, "why");

  auto* cancel = app.add_subcommand("cancel", "ask to cancel an agreement (cancelled once both have)");
  AddNodeOptions(cancel, c, true);
  cancel->add_option("agreement", id, "agreement ID or unique prefix")->required();
  cancel->add_option("--reason", reason, "why");

  auto* handover = app.add_subcommand("handover", "report a handover (by the sending party)");
  AddNodeOptions(handover, c, true);
  handover->add_option("agreement", id, "agreement ID or unique prefix")->required();
  handover->add_option("--transfer", transfer, "index of the transfer in the agreed terms")->default_val(0);
  handover->add_option("--count", count, "persons / remains handed over")->required();
  handover->add_option("--place", place, "where");
  handover->add_option("--at", at, "when, UTC");
  std::string manifest, arrivals;
  handover->add_option("--manifest", manifest, "ROOT:COUNT of the manifest handed over (parley manifest commit)");

  auto* receipt = app.add_subcommand("receipt", "report a receipt and its reconciliation (by the receiving party)");
  AddNodeOptions(receipt, c, true);
  receipt->add_option("agreement", id, "agreement ID or unique prefix")->required();
  receipt->add_option("--transfer", transfer, "index of the transfer in the agreed terms")->default_val(0);
  auto* receipt_count = receipt->add_option("--count", count, "persons / remains received");
  receipt->add_option("--manifest", manifest,
                      "ROOT:COUNT of the manifest received against (default with --arrivals: the agreed transfer's)");
  receipt->add_option("--arrivals", arrivals,
                      "CSV of what arrived (arrival_id,record_id,status): the node reconciles it with the manifest "
                      "and the receipt carries the figures")
      ->excludes(receipt_count);
  for (auto* o : {receipt->add_option("--matched", matched, "records that matched"),
                  receipt->add_option("--missing", missing, "on the manifest but not received"),
                  receipt->add_option("--not-on-manifest", not_on_manifest, "received but not on the manifest"),
                  receipt->add_option("--unidentified", unidentified, "identity not established"),
                  receipt->add_option("--other-side", other_side, "belong to the other side")}) {
    o->excludes("--arrivals");
  }
  receipt->add_option("--place", place, "where");
  receipt->add_option("--at", at, "when, UTC");

  auto* attest = app.add_subcommand("attest", "put a one-sided claim of fact on record (never an agreement)");
  AddNodeOptions(attest, c, true);
  attest->add_option("--what", what, "what is claimed")->required();
  attest->add_option("--where", where, "where");
  attest->add_option("--when", when, "when, UTC");
  attest->add_option("--ref", ref, "ID (prefix) of an entry it refers to");

  auto* statement = app.add_subcommand("statement", "put an objection or notice on record");
  AddNodeOptions(statement, c, true);
  statement->add_option("text", text, "the statement")->required();
  statement->add_option("--ref", ref, "ID (prefix) of an entry it refers to");

  std::string new_key_file;
  std::string compromised_from = "0";
  PassFlags rotate_pass;
  auto* rotate = app.add_subcommand("rotate-key", "replace this party's signing key (in effect once the other side acknowledges)");
  AddNodeOptions(rotate, c, true);
  rotate->add_option("--new-key", new_key_file, "key file of the new key (parley keygen)")->required();
  rotate->add_option("--compromised-from", compromised_from,
                     "declare this party's own entries from this seq up to the rotation compromised (void)");
  AddPassOptions(rotate, rotate_pass);

  auto* list = app.add_subcommand("list", "proposals and agreements, and what is one-sided");
  AddNodeOptions(list, c, false);
  list->add_option("--state", state, "only this state (open, agreed, completed, ...)");

  auto* show = app.add_subcommand("show", "one proposal's or agreement's whole history");
  AddNodeOptions(show, c, false);
  show->add_option("id", id, "ID or unique prefix")->required();

  HealthLimits health_limits;
  auto* status = app.add_subcommand(
      "status", "heads, peer connectivity, lag, forks, alarms; exit 0 healthy, 1 degraded, 2 alarm, 3 no answer");
  AddNodeOptions(status, c, false);
  status->add_flag("--check", health_limits.check, "print nothing; only the exit code (for scripts and monitors)");
  status->add_option("--max-disconnected", health_limits.max_disconnected,
                     "seconds without the peer before the node counts as degraded (default 60)");
  status->add_option("--max-lag", health_limits.max_lag,
                     "entries behind the peer's feed before the node counts as degraded (default 1000)");

  auto* watch = app.add_subcommand("watch", "print every entry of both feeds, live");
  AddNodeOptions(watch, c, false);

  auto* exp = app.add_subcommand("export", "write an audit bundle");
  AddNodeOptions(exp, c, false);
  exp->add_option("bundle", out, "output file")->required();

  std::string now, peer, html, charter_file, audit_key;
  PassFlags audit_pass;
  auto* audit = app.add_subcommand("audit", "verify a bundle offline, or a node live (exit 0 clean, 1 violations, 2 unusable)");
  audit->add_option("bundle", out, "bundle file");
  audit->add_option("--peer", peer, "audit a running node read-only through its peer port instead (HOST:PORT)");
  audit->add_option("--charter", charter_file, "with --peer: the charter you hold for the ledger");
  audit->add_option("--key", audit_key, "with --peer: your key file (an observer's or a party's)");
  AddPassOptions(audit, audit_pass);
  PeerTlsFlags audit_tls;
  audit->add_option("--tls-cert", audit_tls.cert, "with --peer: your TLS certificate (parley tls init)");
  audit->add_option("--tls-key", audit_tls.key, "with --peer: your TLS key");
  audit->add_option("--peer-fingerprint", audit_tls.fingerprint, "with --peer: the node's certificate fingerprint");
  audit->add_flag("--plaintext", audit_tls.plaintext, "with --peer: no TLS (loopback only)");
  audit->add_option("--html", html, "also write a self-contained HTML report to this file");
  audit->add_flag("--json", json, "machine-readable report");
  audit->add_option("--now", now, "evaluate expiry at this UTC time (default: now)");

  PassFlags pf;
  std::string kdf = "moderate", key_file;
  auto* keygen = app.add_subcommand("keygen", "make a new key pair in a passphrase-protected file (0600)");
  keygen->add_option("--out", out, "key file to create")->required();
  keygen->add_option("--kdf", kdf, "Argon2id cost: moderate (default) or interactive");
  AddPassOptions(keygen, pf);

  auto* key_cmd = app.add_subcommand("key", "show a key file's public key; change its passphrase");
  key_cmd->require_subcommand(1);
  std::string key_path;
  auto* key_show = key_cmd->add_subcommand("show", "the public key of a key file (no passphrase needed)");
  key_show->add_option("file", key_path, "key file")->required();
  key_show->add_flag("--json", json, "machine-readable output");
  PassFlags new_pf;
  auto* key_passwd = key_cmd->add_subcommand("passwd", "the same key under a new passphrase (file replaced atomically)");
  key_passwd->add_option("file", key_path, "key file")->required();
  AddPassOptions(key_passwd, pf);
  key_passwd->add_option("--new-passphrase-env", new_pf.env, "environment variable holding the new passphrase");
  key_passwd->add_option("--new-passphrase-file", new_pf.file, "file holding the new passphrase (mode 0600)");
  key_passwd->add_option("--kdf", kdf, "Argon2id cost of the new file: moderate (default) or interactive");

  auto* charter = app.add_subcommand("charter", "create, sign and show a ledger's charter");
  charter->require_subcommand(1);
  std::string title;
  std::vector<std::string> parties, names, observers;
  auto* ccreate = charter->add_subcommand("create", "write a new, unsigned charter");
  ccreate->add_option("--title", title, "title of the ledger")->required();
  ccreate->add_option("--party", parties, "CODE=KEY (hex public key or key file), twice")->required();
  ccreate->add_option("--name", names, "CODE=display name");
  ccreate->add_option("--observer", observers, "NAME=KEY of an auditor or witness");
  ccreate->add_option("--out", out, "charter file")->required();
  auto* csign = charter->add_subcommand("sign", "sign the charter as the party whose key this is");
  csign->add_option("--charter", charter_file, "charter file (updated in place)")->required();
  csign->add_option("--key", key_file, "key file")->required();
  AddPassOptions(csign, pf);
  auto* cshow = charter->add_subcommand("show", "print a charter and who has signed it");
  cshow->add_option("--charter", charter_file, "charter file")->required();
  cshow->add_flag("--json", json, "machine-readable output");

  auto* tls = app.add_subcommand("tls", "TLS certificates for the peer port");
  tls->require_subcommand(1);
  std::string tls_dir, tls_name = "parley-node";
  auto* tls_init = tls->add_subcommand("init", "make a key and self-signed certificate; prints its fingerprint to pin");
  tls_init->add_option("--out", tls_dir, "folder for tls.key (0600) and tls.crt")->required();
  tls_init->add_option("--name", tls_name, "certificate common name");

  std::string demo_dir = "demo-data";
  auto* demo = app.add_subcommand("demo", "two nodes on 127.0.0.1 play the June 2025 exchange, then the audit");
  demo->add_option("--dir", demo_dir, "folder for the demo's keys, data and logs: new, empty, or made by an earlier demo (then emptied)");

  ManifestFlags manifest_flags;
  AddManifestCommands(app, manifest_flags, DefaultSocket());

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (argc > 1) {
      if (auto code = UnknownCommand(app, argv[1])) return *code;
    }
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (*node) return CmdNode(config_file, ov);
  if (*tls_init) {
    auto fp = CreateSelfSignedCertificate(tls_dir, tls_name);
    if (!fp) return Fail(fp.error());
    std::cout << *fp << "\n";
    return kExitOk;
  }
  if (*keygen) return CmdKeygen(out, pf, kdf);
  if (*key_show) return CmdKeyShow(key_path, json);
  if (*key_passwd) return CmdKeyPasswd(key_path, pf, new_pf, kdf);
  if (*ccreate) return CmdCharterCreate(title, parties, names, observers, out);
  if (*csign) return CmdCharterSign(charter_file, key_file, pf);
  if (*cshow) return CmdCharterShow(charter_file, json);
  if (*audit) return CmdAudit(out, json, now, peer, charter_file, audit_key, audit_pass, audit_tls, html);
  if (*demo) return RunDemo(argv[0], demo_dir.c_str());
  if (*list) return CmdList(c, state);
  if (*show) return CmdShow(c, id);
  if (*status) return CmdStatus(c, health_limits);
  if (*watch) return CmdWatch(c);
  if (*exp) return CmdExport(c, out);
  if (*rotate) {
    auto from = ParseCount(compromised_from, "--compromised-from");
    if (!from) return Fail(from.error());
    return CmdRotateKey(c, new_key_file, rotate_pass, *from);
  }
  if (auto code = RunManifestCommand(manifest_flags)) return *code;
  if (*receipt && arrivals.empty() && receipt_count->count() == 0) {
    return Fail(Status(Code::kInvalidArgument, "receipt needs --count or --arrivals"));
  }

  // Statements. Free text and numbers are checked before anything is asked of
  // the node.
  for (const auto& [flag, value] : {std::pair{"--reason", &reason}, std::pair{"--what", &what},
                                     std::pair{"--where", &where}, std::pair{"text", &text},
                                     std::pair{"--place", &place}}) {
    if (Status st = CheckFlagText(flag, *value); !st.ok()) return Fail(st);
  }
  struct Number {
    const char* flag;
    const std::string* text;
    uint64_t max;
    uint64_t value = 0;
  };
  Number numbers[] = {{"--transfer", &transfer, kMaxTransferIndex}, {"--count", &count, kMaxCount},
                      {"--matched", &matched, kMaxCount},           {"--missing", &missing, kMaxCount},
                      {"--not-on-manifest", &not_on_manifest, kMaxCount},
                      {"--unidentified", &unidentified, kMaxCount}, {"--other-side", &other_side, kMaxCount}};
  for (Number& n : numbers) {
    if (n.text->empty() && n.text == &count) continue;  // receipt --arrivals: the count comes from the list
    auto v = ParseCount(*n.text, n.flag, n.max);
    if (!v) return Fail(v.error());
    n.value = *v;
  }
  const uint32_t transfer_index = static_cast<uint32_t>(numbers[0].value);
  const uint64_t count_value = numbers[1].value;
  if (*handover && count_value == 0) return Fail(Status(Code::kInvalidArgument, "--count must be at least 1"));

  const bool needs_feeds = !(*propose);
  auto s = Connect(c, needs_feeds || !ref.empty());
  if (!s) return Fail(s.error());
  v1::Entry body;
  std::string arrivals_csv;  // receipt --arrivals: sent with the receipt, kept by the node once signed
  if (*propose) {
    auto b = BuildPropose(*s->charter, terms, nullptr, NowMs());
    if (!b) return Fail(b.error());
    body = *b;
  } else if (*counter || *amend) {
    auto target = ResolveProposal(*s, id);
    if (!target) return Fail(target.error());
    auto b = BuildPropose(*s->charter, terms, &target->entry.propose(), NowMs());
    if (!b) return Fail(b.error());
    body = *b;
    if (*counter) body.mutable_propose()->set_counters(target->id.str());
    else body.mutable_propose()->set_amends(target->id.str());
  } else if (*accept) {
    auto p = ResolveProposal(*s, id);
    if (!p) return Fail(p.error());
    body.mutable_accept()->set_proposal(p->id.str());
    body.mutable_accept()->set_terms_digest(TermsDigest(p->entry.propose().terms()).str());
  } else if (*reject || *withdraw || *cancel) {
    auto p = ResolveProposal(*s, id);
    if (!p) return Fail(p.error());
    if (*reject) {
      body.mutable_reject()->set_proposal(p->id.str());
      body.mutable_reject()->set_reason(reason);
    } else if (*withdraw) {
      body.mutable_withdraw()->set_proposal(p->id.str());
      body.mutable_withdraw()->set_reason(reason);
    } else {
      body.mutable_cancel()->set_agreement(p->id.str());
      body.mutable_cancel()->set_reason(reason);
    }
  } else if (*handover || *receipt) {
    auto p = ResolveProposal(*s, id);
    if (!p) return Fail(p.error());
    int64_t at_ms = 0;
    if (!at.empty()) {
      auto t = ParseTime(at, "--at");
      if (!t) return Fail(t.error());
      at_ms = *t;
    }
    std::optional<v1::ManifestCommitment> commitment;
    if (!manifest.empty()) {
      auto m = ParseCommitment(manifest);
      if (!m) return Fail(m.error());
      commitment = *m;
    }
    if (*handover) {
      auto* h = body.mutable_handover();
      h->set_agreement(p->id.str());
      h->set_transfer_index(transfer_index);
      h->set_count(count_value);
      h->set_place(place);
      h->set_handed_over_ms(at_ms);
      if (commitment) *h->mutable_manifest() = *commitment;
    } else {
      auto* r = body.mutable_receipt();
      r->set_agreement(p->id.str());
      r->set_transfer_index(transfer_index);
      r->set_count(count_value);
      r->set_place(place);
      r->set_received_ms(at_ms);
      auto* rec = r->mutable_reconciliation();
      rec->set_matched(numbers[2].value);
      rec->set_missing(numbers[3].value);
      rec->set_not_on_manifest(numbers[4].value);
      rec->set_unidentified(numbers[5].value);
      rec->set_other_side(numbers[6].value);
      if (!arrivals.empty()) {
        // The manifest: given, or the one the agreed transfer names.
        if (!commitment) {
          v1::Terms terms;
          terms.ParseFromString(p->entry.propose().terms());
          if (static_cast<int>(transfer_index) < terms.transfers_size() &&
              terms.transfers(static_cast<int>(transfer_index)).has_manifest()) {
            commitment = terms.transfers(static_cast<int>(transfer_index)).manifest();
          } else {
            return Fail(Status(Code::kInvalidArgument,
                               "the agreed transfer names no manifest: give --manifest ROOT:COUNT"));
          }
        }
        auto csv = ReadFileBytes(arrivals, "arrival list");
        if (!csv) return Fail(csv.error());
        arrivals_csv = std::move(*csv);
        auto result = s->client->ReconcileArrivals(*Digest::FromBytes(commitment->root()), arrivals_csv);
        if (!result) {
          std::cerr << "parley: " << arrivals << ": " << result.error().message() << "\nnothing was signed\n";
          return result.error().code() == Code::kInvalidArgument ? kExitUsage : kExitFailed;
        }
        if (result->manifest().count() != commitment->count()) {
          return Fail(Status(Code::kInvalidArgument, "the manifest holds " + std::to_string(result->manifest().count()) +
                                                         " records, not " + std::to_string(commitment->count())));
        }
        *rec = result->figures();
        r->set_count(result->received());
        if (!c.json) {
          std::cout << "reconciled " << result->received() << " arrivals with manifest "
                    << ToHex(commitment->root()).substr(0, 16) << "…: " << rec->matched() << " matched, "
                    << rec->missing() << " missing, " << rec->not_on_manifest() << " not on the manifest, "
                    << rec->unidentified() << " unidentified, " << rec->other_side() << " the other side's\n";
        }
      }
      if (commitment) *r->mutable_manifest() = *commitment;
    }
  } else if (*attest || *statement) {
    std::string ref_id;
    if (!ref.empty()) {
      auto r = ResolveEntry(*s, ref);
      if (!r) return Fail(r.error());
      ref_id = r->id.str();
    }
    if (*attest) {
      auto* a = body.mutable_attestation();
      a->set_what(what);
      a->set_where(where);
      if (!when.empty()) {
        auto t = ParseTime(when, "--when");
        if (!t) return Fail(t.error());
        a->set_when_ms(*t);
      }
      a->set_reference(ref_id);
    } else {
      body.mutable_statement()->set_text(text);
      body.mutable_statement()->set_reference(ref_id);
    }
  }
  return Submit(*s, c, body, arrivals_csv);
}

}  // namespace parley
