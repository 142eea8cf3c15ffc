#include "node/cli/statements.h"

#include "node/base/parse.h"
#include "node/base/text.h"
#include "node/base/time.h"
#include "node/cli/manifest_cli.h"
#include "node/report/views.h"

namespace parley::cli {

Status CheckFlagText(std::string_view flag, const std::string& value) {
  if (auto why = TextRuleViolation(value)) return Status(Code::kInvalidArgument, std::string(flag) + ": " + *why);
  return Status::Ok();
}

Result<v1::Category> ParseCategory(const std::string& c) {
  if (c == "remains") return v1::REMAINS;
  if (c == "pow" || c == "prisoners_of_war") return v1::PRISONERS_OF_WAR;
  if (c == "civilians" || c == "civilian_detainees") return v1::CIVILIAN_DETAINEES;
  return Status(Code::kInvalidArgument, "unknown category '" + Printable(c) + "' (remains | pow | civilians)");
}

// Builds a Propose body: `base` (when countering or amending) supplies every
// term not given as a flag.
Result<v1::Entry> BuildPropose(const Charter& charter, const TermsFlags& f, const v1::Propose* base, int64_t now_ms) {
  v1::Terms terms;
  v1::ExchangeKind kind = v1::EXCHANGE_KIND_UNSPECIFIED;
  if (base) {
    terms.ParseFromString(base->terms());
    kind = base->kind();
  }
  if (!f.kind.empty()) {
    if (f.kind == "remains_transfer" || f.kind == "remains") kind = v1::REMAINS_TRANSFER;
    else if (f.kind == "prisoner_exchange" || f.kind == "exchange") kind = v1::PRISONER_EXCHANGE;
    else return Status(Code::kInvalidArgument, "unknown --kind '" + Printable(f.kind) + "' (remains_transfer | prisoner_exchange)");
  }
  if (!f.transfers.empty()) terms.clear_transfers();
  for (const std::string& t : f.transfers) {
    auto gt = t.find('>');
    auto c1 = t.find(':');
    auto c2 = c1 == std::string::npos ? std::string::npos : t.find(':', c1 + 1);
    if (gt == std::string::npos || c1 == std::string::npos || c2 == std::string::npos || gt > c1) {
      return Status(Code::kInvalidArgument,
                    "bad --transfer '" + Printable(t) + "': use FROM>TO:CATEGORY:COUNT, e.g. RU>UA:remains:1212");
    }
    auto from = charter.PartyByCode(t.substr(0, gt));
    auto to = charter.PartyByCode(t.substr(gt + 1, c1 - gt - 1));
    if (!from || !to) {
      return Status(Code::kInvalidArgument, "bad --transfer '" + Printable(t) + "': parties are " + charter.party_code(0) +
                                                " and " + charter.party_code(1));
    }
    auto cat = ParseCategory(t.substr(c1 + 1, c2 - c1 - 1));
    if (!cat) return cat.error();
    // COUNT, optionally followed by :ROOT of a committed manifest of COUNT records.
    const size_t c3 = t.find(':', c2 + 1);
    auto parsed = ParseCount(t.substr(c2 + 1, c3 == std::string::npos ? std::string::npos : c3 - c2 - 1),
                             "--transfer COUNT", kMaxCount);
    if (!parsed) return parsed.error();
    if (*parsed == 0) return Status(Code::kInvalidArgument, "--transfer COUNT must be at least 1");
    const uint64_t count = *parsed;
    auto* tr = terms.add_transfers();
    tr->set_from_party(*from);
    tr->set_to_party(*to);
    tr->set_category(*cat);
    tr->set_count(count);
    if (c3 != std::string::npos) {
      auto m = ParseCommitment(t.substr(c3 + 1) + ":" + std::to_string(count));
      if (!m) return Status(Code::kInvalidArgument, "bad --transfer '" + Printable(t) + "': " + m.error().message());
      *tr->mutable_manifest() = *m;
    }
  }
  for (const auto& [flag, value] : {std::pair{"--crossing", &f.crossing}, std::pair{"--intermediary", &f.intermediary},
                                     std::pair{"--notes", &f.notes}}) {
    if (Status st = CheckFlagText(flag, *value); !st.ok()) return st;
  }
  if (!f.crossing.empty()) terms.set_crossing_point(f.crossing);
  if (!f.transport.empty()) {
    static const std::pair<const char*, v1::Transport> kTransports[] = {
        {"road", v1::ROAD}, {"rail", v1::RAIL}, {"air", v1::AIR}, {"sea", v1::SEA}, {"other", v1::OTHER}};
    bool found = false;
    for (const auto& [name, value] : kTransports) {
      if (f.transport == name) {
        terms.set_transport(value);
        found = true;
      }
    }
    if (!found) {
      return Status(Code::kInvalidArgument,
                    "unknown --transport '" + Printable(f.transport) + "' (road | rail | air | sea | other)");
    }
  }
  if (!f.window_start.empty()) {
    auto t = ParseTime(f.window_start, "--from");
    if (!t) return t.error();
    terms.mutable_window()->set_start_ms(*t);
  }
  if (!f.window_end.empty()) {
    auto t = ParseTime(f.window_end, "--until");
    if (!t) return t.error();
    terms.mutable_window()->set_end_ms(*t);
  }
  if (!f.intermediary.empty()) terms.set_intermediary(f.intermediary);
  if (!f.notes.empty()) terms.set_notes(f.notes);
  v1::Entry body;
  body.mutable_propose()->set_kind(kind);
  body.mutable_propose()->set_terms(terms.SerializeAsString());
  if (!f.expires.empty()) {
    auto t = ParseTime(f.expires, "--expires");
    if (!t) return t.error();
    body.mutable_propose()->set_expires_ms(*t);
  }
  // Catch what the node would refuse, with the flag names in the message.
  if (kind == v1::EXCHANGE_KIND_UNSPECIFIED) return Status(Code::kInvalidArgument, "--kind is required");
  if (terms.transfers_size() == 0) return Status(Code::kInvalidArgument, "at least one --transfer is required");
  if (terms.transport() == v1::TRANSPORT_UNSPECIFIED) return Status(Code::kInvalidArgument, "--transport is required");
  if (!terms.has_window()) return Status(Code::kInvalidArgument, "--from and --until are required");
  if (terms.window().end_ms() < terms.window().start_ms()) {
    return Status(Code::kInvalidArgument, "--until is before --from");
  }
  // Signatures cannot be taken back: a window no one can meet is a typo
  // unless the operator says otherwise.
  if (!f.allow_past && terms.window().end_ms() < now_ms) {
    return Status(Code::kInvalidArgument, "the window ends in the past (" + IsoTime(terms.window().end_ms()) +
                                              "); give --allow-past to sign it anyway");
  }
  if (!f.allow_past && body.propose().expires_ms() != 0 && body.propose().expires_ms() <= now_ms) {
    return Status(Code::kInvalidArgument, "--expires " + IsoTime(body.propose().expires_ms()) +
                                              " is already past; give --allow-past to sign it anyway");
  }
  if (!f.allow_far_future && terms.window().start_ms() > now_ms + kFarFutureMs) {
    return Status(Code::kInvalidArgument, "the window starts " + IsoTime(terms.window().start_ms()) +
                                              ", more than 5 years from now; check the year, or give "
                                              "--allow-far-future");
  }
  return body;
}


bool NamesProposal(StatementKind kind) {
  return kind != StatementKind::kPropose && kind != StatementKind::kAttest && kind != StatementKind::kStatement;
}

Result<StatementNumbers> CheckStatementFlags(StatementKind kind, const StatementFlags& f) {
  if (kind == StatementKind::kReceipt && f.arrivals.empty() && f.count.empty()) {
    return Status(Code::kInvalidArgument, "receipt needs --count or --arrivals");
  }
  for (const auto& [flag, value] : {std::pair{"--reason", &f.reason}, std::pair{"--what", &f.what},
                                     std::pair{"--where", &f.where}, std::pair{"text", &f.text},
                                     std::pair{"--place", &f.place}}) {
    if (Status st = CheckFlagText(flag, *value); !st.ok()) return st;
  }
  struct Number {
    const char* flag;
    const std::string* text;
    uint64_t max;
    uint64_t value = 0;
  };
  Number numbers[] = {{"--transfer", &f.transfer, kMaxTransferIndex}, {"--count", &f.count, kMaxCount},
                      {"--matched", &f.matched, kMaxCount},           {"--missing", &f.missing, kMaxCount},
                      {"--not-on-manifest", &f.not_on_manifest, kMaxCount},
                      {"--unidentified", &f.unidentified, kMaxCount}, {"--other-side", &f.other_side, kMaxCount}};
  for (Number& n : numbers) {
    if (n.text->empty() && n.text == &f.count) continue;  // receipt --arrivals: the count comes from the list
    auto v = ParseCount(*n.text, n.flag, n.max);
    if (!v) return v.error();
    n.value = *v;
  }
  StatementNumbers out;
  out.transfer = static_cast<uint32_t>(numbers[0].value);
  out.count = numbers[1].value;
  out.matched = numbers[2].value;
  out.missing = numbers[3].value;
  out.not_on_manifest = numbers[4].value;
  out.unidentified = numbers[5].value;
  out.other_side = numbers[6].value;
  if (kind == StatementKind::kHandover && out.count == 0) {
    return Status(Code::kInvalidArgument, "--count must be at least 1");
  }
  return out;
}

Result<v1::Entry> BuildStatement(StatementKind kind, const StatementFlags& f, const StatementNumbers& n,
                                 const Charter& charter, const DecodedEntry* target, const std::string& ref_id,
                                 int64_t now_ms) {
  if (NamesProposal(kind) && (target == nullptr || target->kind() != v1::Entry::kPropose)) {
    return Status(Code::kInvalidArgument, "the entry named is not a proposal");
  }
  v1::Entry body;
  switch (kind) {
    case StatementKind::kPropose:
      return BuildPropose(charter, f.terms, nullptr, now_ms);
    case StatementKind::kCounter:
    case StatementKind::kAmend: {
      auto b = BuildPropose(charter, f.terms, &target->entry.propose(), now_ms);
      if (!b) return b;
      body = *b;
      if (kind == StatementKind::kCounter) body.mutable_propose()->set_counters(target->id.str());
      else body.mutable_propose()->set_amends(target->id.str());
      return body;
    }
    case StatementKind::kAccept:
      body.mutable_accept()->set_proposal(target->id.str());
      body.mutable_accept()->set_terms_digest(TermsDigest(target->entry.propose().terms()).str());
      return body;
    case StatementKind::kReject:
      body.mutable_reject()->set_proposal(target->id.str());
      body.mutable_reject()->set_reason(f.reason);
      return body;
    case StatementKind::kWithdraw:
      body.mutable_withdraw()->set_proposal(target->id.str());
      body.mutable_withdraw()->set_reason(f.reason);
      return body;
    case StatementKind::kCancel:
      body.mutable_cancel()->set_agreement(target->id.str());
      body.mutable_cancel()->set_reason(f.reason);
      return body;
    case StatementKind::kHandover:
    case StatementKind::kReceipt: {
      int64_t at_ms = 0;
      if (!f.at.empty()) {
        auto t = ParseTime(f.at, "--at");
        if (!t) return t.error();
        at_ms = *t;
      }
      std::optional<v1::ManifestCommitment> commitment;
      if (!f.manifest.empty()) {
        auto m = ParseCommitment(f.manifest);
        if (!m) return m.error();
        commitment = *m;
      }
      if (kind == StatementKind::kHandover) {
        auto* h = body.mutable_handover();
        h->set_agreement(target->id.str());
        h->set_transfer_index(n.transfer);
        h->set_count(n.count);
        h->set_place(f.place);
        h->set_handed_over_ms(at_ms);
        if (commitment) *h->mutable_manifest() = *commitment;
        return body;
      }
      auto* r = body.mutable_receipt();
      r->set_agreement(target->id.str());
      r->set_transfer_index(n.transfer);
      r->set_count(n.count);
      r->set_place(f.place);
      r->set_received_ms(at_ms);
      auto* rec = r->mutable_reconciliation();
      rec->set_matched(n.matched);
      rec->set_missing(n.missing);
      rec->set_not_on_manifest(n.not_on_manifest);
      rec->set_unidentified(n.unidentified);
      rec->set_other_side(n.other_side);
      if (!f.arrivals.empty() && !commitment) {
        // The manifest: given, or the one the agreed transfer names.
        v1::Terms terms;
        terms.ParseFromString(target->entry.propose().terms());
        if (static_cast<int>(n.transfer) < terms.transfers_size() &&
            terms.transfers(static_cast<int>(n.transfer)).has_manifest()) {
          commitment = terms.transfers(static_cast<int>(n.transfer)).manifest();
        } else {
          return Status(Code::kInvalidArgument, "the agreed transfer names no manifest: give --manifest ROOT:COUNT");
        }
      }
      if (commitment) *r->mutable_manifest() = *commitment;
      return body;
    }
    case StatementKind::kAttest: {
      auto* a = body.mutable_attestation();
      a->set_what(f.what);
      a->set_where(f.where);
      if (!f.when.empty()) {
        auto t = ParseTime(f.when, "--when");
        if (!t) return t.error();
        a->set_when_ms(*t);
      }
      a->set_reference(ref_id);
      return body;
    }
    case StatementKind::kStatement:
      body.mutable_statement()->set_text(f.text);
      body.mutable_statement()->set_reference(ref_id);
      return body;
  }
  return Status(Code::kInternal, "unknown statement kind");
}

Status ApplyArrivals(v1::Receipt& receipt, const v1::ReconcileArrivalsResponse& result) {
  if (result.manifest().count() != receipt.manifest().count()) {
    return Status(Code::kInvalidArgument, "the manifest holds " + std::to_string(result.manifest().count()) +
                                              " records, not " + std::to_string(receipt.manifest().count()));
  }
  *receipt.mutable_reconciliation() = result.figures();
  receipt.set_count(result.received());
  return Status::Ok();
}

Result<DecodedEntry> ResolveEntry(const std::vector<DecodedEntry> (&feeds)[2], const std::string& prefix) {
  std::vector<Digest> ids;
  for (const auto& feed : feeds) {
    for (const auto& e : feed) ids.push_back(e.id);
  }
  auto id = ResolveIdPrefix(prefix, ids);
  if (!id) return id.error();
  for (const auto& feed : feeds) {
    for (const auto& e : feed) {
      if (e.id == *id) return e;
    }
  }
  return Status(Code::kNotFound, "no entry " + Printable(prefix));
}

Result<DecodedEntry> ResolveProposal(const std::vector<DecodedEntry> (&feeds)[2], const std::string& prefix) {
  auto e = ResolveEntry(feeds, prefix);
  if (!e) return e;
  if (e->kind() != v1::Entry::kPropose) {
    return Status(Code::kInvalidArgument,
                  "entry " + Printable(prefix) + " is " + KindWithArticle(e->kind()) + ", not a proposal");
  }
  return e;
}

}  // namespace parley::cli
