// `parley propose counter amend accept reject withdraw cancel handover
// receipt attest statement rotate-key`: the commands that sign at the local
// node. The body of each statement is built by statements.h; here the flags
// are registered, the IDs resolved in the node's feeds, and the body sent.
#include "node/cli/submit_cli.h"

#include <unistd.h>

#include <iostream>
#include <memory>

#include "crypto/key_file.h"
#include "node/base/clock.h"
#include "node/base/json.h"
#include "node/base/parse.h"
#include "node/cli/cli_common.h"
#include "node/cli/statements.h"

namespace parley::cli {
namespace {

void AddTermsOptions(CLI::App* cmd, TermsFlags& t, bool required) {
  auto* kind = cmd->add_option("--kind", t.kind, "remains_transfer | prisoner_exchange");
  auto* tr = cmd->add_option("--transfer", t.transfers,
                             "FROM>TO:CATEGORY:COUNT[:MANIFEST_ROOT], e.g. RU>UA:remains:1212 (CATEGORY: remains | pow | "
                             "civilians; MANIFEST_ROOT from `parley manifest commit`); repeat for each transfer");
  auto* cross = cmd->add_option("--crossing", t.crossing, "crossing point");
  auto* transport = cmd->add_option("--transport", t.transport, "road | rail | air | sea | other");
  auto* start = cmd->add_option("--from", t.window_start, "window start, UTC (2025-06-11T08:00Z)");
  auto* end = cmd->add_option("--until", t.window_end, "window end, UTC");
  cmd->add_option("--intermediary", t.intermediary, "e.g. ICRC");
  cmd->add_option("--notes", t.notes, "free text");
  cmd->add_option("--expires", t.expires, "the proposal lapses unless accepted by then, UTC");
  cmd->add_flag("--allow-past", t.allow_past,
                "sign a window that has already ended (or an expiry already past), e.g. to record an earlier "
                "exchange; refused otherwise as a likely typo");
  cmd->add_flag("--allow-far-future", t.allow_far_future,
                "sign a window that starts more than 5 years from now; refused otherwise as a likely typo");
  if (required) {
    kind->required();
    tr->required();
    cross->required();
    transport->required();
    start->required();
    end->required();
  }
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

struct SubmitFlags {
  Common c;
  StatementFlags f;
  std::string new_key_file;
  std::string compromised_from = "0";
  PassFlags rotate_pass;
  std::vector<std::pair<CLI::App*, StatementKind>> commands;
  CLI::App* rotate = nullptr;
};

int RunStatement(StatementKind kind, SubmitFlags& sf) {
  const Common& c = sf.c;
  const StatementFlags& f = sf.f;
  // Free text and numbers are checked before anything is asked of the node.
  auto numbers = CheckStatementFlags(kind, f);
  if (!numbers) return Fail(numbers.error());
  const bool needs_feeds = kind != StatementKind::kPropose;
  auto s = Connect(c, needs_feeds || !f.ref.empty());
  if (!s) return Fail(s.error());
  std::optional<DecodedEntry> target;
  if (NamesProposal(kind)) {
    auto p = ResolveProposal(*s, f.id);
    if (!p) return Fail(p.error());
    target = std::move(*p);
  }
  std::string ref_id;
  if ((kind == StatementKind::kAttest || kind == StatementKind::kStatement) && !f.ref.empty()) {
    auto r = ResolveEntry(*s, f.ref);
    if (!r) return Fail(r.error());
    ref_id = r->id.str();
  }
  auto body = BuildStatement(kind, f, *numbers, *s->charter, target ? &*target : nullptr, ref_id, NowMs());
  if (!body) return Fail(body.error());
  std::string arrivals_csv;  // receipt --arrivals: sent with the receipt, kept by the node once signed
  if (kind == StatementKind::kReceipt && !f.arrivals.empty()) {
    v1::Receipt* r = body->mutable_receipt();
    auto csv = ReadFileBytes(f.arrivals, "arrival list");
    if (!csv) return Fail(csv.error());
    arrivals_csv = std::move(*csv);
    auto result = s->client->ReconcileArrivals(*Digest::FromBytes(r->manifest().root()), arrivals_csv);
    if (!result) {
      std::cerr << "parley: " << f.arrivals << ": " << result.error().message() << "\nnothing was signed\n";
      return result.error().code() == Code::kInvalidArgument ? kExitUsage : kExitFailed;
    }
    if (Status st = ApplyArrivals(*r, *result); !st.ok()) return Fail(st);
    if (!c.json) {
      const auto& rec = r->reconciliation();
      std::cout << "reconciled " << result->received() << " arrivals with manifest "
                << ToHex(r->manifest().root()).substr(0, 16) << "…: " << rec.matched() << " matched, "
                << rec.missing() << " missing, " << rec.not_on_manifest() << " not on the manifest, "
                << rec.unidentified() << " unidentified, " << rec.other_side() << " the other side's\n";
    }
  }
  return Submit(*s, c, *body, arrivals_csv);
}

}  // namespace

CommandRunner AddSubmitCommands(CLI::App& app) {
  auto sf = std::make_shared<SubmitFlags>();
  Common& c = sf->c;
  StatementFlags& f = sf->f;
  auto add = [&](const char* name, const char* help, StatementKind kind) {
    CLI::App* cmd = app.add_subcommand(name, help);
    AddNodeOptions(cmd, c, true);
    sf->commands.emplace_back(cmd, kind);
    return cmd;
  };

  auto* propose = add("propose", "propose an exchange (signed by this party alone until accepted)", StatementKind::kPropose);
  AddTermsOptions(propose, f.terms, true);

  auto* counter = add("counter", "answer the other side's open proposal with other terms", StatementKind::kCounter);
  counter->add_option("proposal", f.id, "ID (or unique prefix) of the proposal countered")->required();
  AddTermsOptions(counter, f.terms, false);

  auto* amend = add("amend", "propose new terms (e.g. a new date) for an agreement", StatementKind::kAmend);
  amend->add_option("agreement", f.id, "ID (or unique prefix) of the agreement")->required();
  AddTermsOptions(amend, f.terms, false);

  auto* accept = add("accept", "accept the other side's proposal: it becomes an agreement", StatementKind::kAccept);
  accept->add_option("proposal", f.id, "proposal ID or unique prefix")->required();

  auto* reject = add("reject", "reject the other side's proposal", StatementKind::kReject);
  reject->add_option("proposal", f.id, "proposal ID or unique prefix")->required();
  reject->add_option("--reason", f.reason, "why");

  auto* withdraw = add("withdraw", "withdraw one of this party's open proposals", StatementKind::kWithdraw);
  withdraw->add_option("proposal", f.id, "proposal ID or unique prefix")->required();
  withdraw->add_option("--reason", f.reason, "why");

  auto* cancel = add("cancel", "ask to cancel an agreement (cancelled once both have)", StatementKind::kCancel);
  cancel->add_option("agreement", f.id, "agreement ID or unique prefix")->required();
  cancel->add_option("--reason", f.reason, "why");

  auto* handover = add("handover", "report a handover (by the sending party)", StatementKind::kHandover);
  handover->add_option("agreement", f.id, "agreement ID or unique prefix")->required();
  handover->add_option("--transfer", f.transfer, "index of the transfer in the agreed terms")->default_val(0);
  handover->add_option("--count", f.count, "persons / remains handed over")->required();
  handover->add_option("--place", f.place, "where");
  handover->add_option("--at", f.at, "when, UTC");
  handover->add_option("--manifest", f.manifest, "ROOT:COUNT of the manifest handed over (parley manifest commit)");

  auto* receipt = add("receipt", "report a receipt and its reconciliation (by the receiving party)", StatementKind::kReceipt);
  receipt->add_option("agreement", f.id, "agreement ID or unique prefix")->required();
  receipt->add_option("--transfer", f.transfer, "index of the transfer in the agreed terms")->default_val(0);
  auto* receipt_count = receipt->add_option("--count", f.count, "persons / remains received");
  receipt->add_option("--manifest", f.manifest,
                      "ROOT:COUNT of the manifest received against (default with --arrivals: the agreed transfer's)");
  receipt->add_option("--arrivals", f.arrivals,
                      "CSV of what arrived (arrival_id,record_id,status): the node reconciles it with the manifest "
                      "and the receipt carries the figures")
      ->excludes(receipt_count);
  for (auto* o : {receipt->add_option("--matched", f.matched, "records that matched"),
                  receipt->add_option("--missing", f.missing, "on the manifest but not received"),
                  receipt->add_option("--not-on-manifest", f.not_on_manifest, "received but not on the manifest"),
                  receipt->add_option("--unidentified", f.unidentified, "identity not established"),
                  receipt->add_option("--other-side", f.other_side, "belong to the other side")}) {
    o->excludes("--arrivals");
  }
  receipt->add_option("--place", f.place, "where");
  receipt->add_option("--at", f.at, "when, UTC");

  auto* attest = add("attest", "put a one-sided claim of fact on record (never an agreement)", StatementKind::kAttest);
  attest->add_option("--what", f.what, "what is claimed")->required();
  attest->add_option("--where", f.where, "where");
  attest->add_option("--when", f.when, "when, UTC");
  attest->add_option("--ref", f.ref, "ID (prefix) of an entry it refers to");

  auto* statement = add("statement", "put an objection or notice on record", StatementKind::kStatement);
  statement->add_option("text", f.text, "the statement")->required();
  statement->add_option("--ref", f.ref, "ID (prefix) of an entry it refers to");

  auto* rotate = app.add_subcommand("rotate-key", "replace this party's signing key (in effect once the other side acknowledges)");
  AddNodeOptions(rotate, c, true);
  rotate->add_option("--new-key", sf->new_key_file, "key file of the new key (parley keygen)")->required();
  rotate->add_option("--compromised-from", sf->compromised_from,
                     "declare this party's own entries from this seq up to the rotation compromised (void)");
  AddPassOptions(rotate, sf->rotate_pass);
  sf->rotate = rotate;

  return [sf]() -> std::optional<int> {
    if (*sf->rotate) {
      auto from = ParseCount(sf->compromised_from, "--compromised-from");
      if (!from) return Fail(from.error());
      return CmdRotateKey(sf->c, sf->new_key_file, sf->rotate_pass, *from);
    }
    for (const auto& [cmd, kind] : sf->commands) {
      if (*cmd) return RunStatement(kind, *sf);
    }
    return std::nullopt;
  };
}

}  // namespace parley::cli
