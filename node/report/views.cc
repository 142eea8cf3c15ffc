#include "node/report/views.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "node/base/text.h"
#include "node/base/time.h"

namespace parley {
namespace {

using nlohmann::json;

constexpr size_t kShortIdDigits = 12;
constexpr size_t kMinPrefixDigits = 4;

std::string ShortId(const Digest& id) { return ToHex(id).substr(0, kShortIdDigits); }

// --- times ------------------------------------------------------------------


json IsoOrNull(int64_t ms) { return ms == 0 ? json(nullptr) : json(IsoTime(ms)); }

// "2025-06-08 12:00": minutes are what people plan with.
std::string HumanTime(int64_t ms) { return FormatUtc(ms, "%Y-%m-%d %H:%M"); }

std::string HumanWindow(const v1::TimeWindow& w) {
  return HumanTime(w.start_ms()) + "–" + HumanTime(w.end_ms()) + " UTC";
}

// --- names ------------------------------------------------------------------

const char* ExchangeKindName(v1::ExchangeKind k) {
  switch (k) {
    case v1::REMAINS_TRANSFER: return "remains_transfer";
    case v1::PRISONER_EXCHANGE: return "prisoner_exchange";
    default: return "unspecified";
  }
}

const char* CategoryName(v1::Category c) {
  switch (c) {
    case v1::REMAINS: return "remains";
    case v1::PRISONERS_OF_WAR: return "prisoners_of_war";
    case v1::CIVILIAN_DETAINEES: return "civilian_detainees";
    default: return "unspecified";
  }
}

const char* TransportName(v1::Transport t) {
  switch (t) {
    case v1::ROAD: return "road";
    case v1::RAIL: return "rail";
    case v1::AIR: return "air";
    case v1::SEA: return "sea";
    case v1::OTHER: return "other";
    default: return "unspecified";
  }
}

// "prisoners_of_war" -> "prisoners of war".
std::string Words(std::string name) {
  std::replace(name.begin(), name.end(), '_', ' ');
  return name;
}

// "RU#3".
std::string Label(const Charter& c, const StatementRef& r) {
  return c.party_code(r.party) + "#" + std::to_string(r.seq);
}

// Every state name a list filter accepts, proposal states first.
std::vector<std::string> StateNames() {
  std::vector<std::string> names;
  for (ProposalState s : {ProposalState::kOpen, ProposalState::kAgreed, ProposalState::kRejected,
                          ProposalState::kWithdrawn, ProposalState::kExpired, ProposalState::kCountered}) {
    names.push_back(ProposalStateName(s));
  }
  for (AgreementState s : {AgreementState::kAgreed, AgreementState::kInProgress, AgreementState::kCompleted,
                           AgreementState::kDisputed, AgreementState::kAmended, AgreementState::kCancelRequested,
                           AgreementState::kCancelled}) {
    if (std::find(names.begin(), names.end(), AgreementStateName(s)) == names.end()) {
      names.push_back(AgreementStateName(s));
    }
  }
  return names;
}

// --- words for people -------------------------------------------------------

// "RU→UA remains 1212 + UA→RU prisoners of war 5, road, 2025-06-09 00:00–2025-06-10 00:00 UTC".
std::string TermsSummary(const Charter& c, const v1::Terms& t) {
  std::string out;
  for (const v1::Transfer& tr : t.transfers()) {
    if (!out.empty()) out += " + ";
    out += c.party_code(tr.from_party()) + "→" + c.party_code(tr.to_party()) + " " + Words(CategoryName(tr.category())) +
           " " + std::to_string(tr.count());
  }
  return out + ", " + TransportName(t.transport()) + ", " + HumanWindow(t.window());
}

// Where an agreement stands after "AGREED (signed by both) — ".
std::string AgreementWords(const Charter& c, const Proposal& p) {
  const Agreement& a = *p.agreement;
  // Summed across transfers in 128 bits: each total is a uint64, their sum
  // need not be (fuzz_ingest: "2 of 1 handed over" after wrapping).
  __extension__ typedef unsigned __int128 Wide;  // __extension__: quiet under -Wpedantic
  Wide due = 0, handed_over = 0, received = 0;
  for (size_t i = 0; i < a.transfers.size(); ++i) {
    due += p.terms.transfers(static_cast<int>(i)).count();
    handed_over += a.transfers[i].handed_over;
    received += a.transfers[i].received;
  }
  auto str = [](Wide v) {
    std::string digits;
    do {
      digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
      v /= 10;
    } while (v != 0);
    return digits;
  };
  const std::string counts = str(handed_over) + " of " + str(due) + " handed over, " + str(received) + " received";
  switch (a.state) {
    case AgreementState::kAgreed: return "not yet executed";
    case AgreementState::kInProgress: return "in progress: " + counts;
    case AgreementState::kCompleted: return "completed: " + counts;
    case AgreementState::kDisputed: {
      std::string why = "DISPUTED, counts or manifests differ: " + counts;
      for (const TransferProgress& t : a.transfers) {
        const v1::Reconciliation& r = t.reconciliation;
        if (r.missing() || r.not_on_manifest() || r.unidentified() || r.other_side()) {
          why += "; reconciliation " + std::to_string(r.matched()) + " matched, " + std::to_string(r.missing()) +
                 " missing, " + std::to_string(r.not_on_manifest()) + " not on the manifest, " +
                 std::to_string(r.unidentified()) + " unidentified, " + std::to_string(r.other_side()) +
                 " the other side's";
        }
      }
      return why;
    }
    case AgreementState::kAmended:
      return "amended: replaced by " + (a.amended_by ? ShortId(*a.amended_by) : std::string("an amendment"));
    case AgreementState::kCancelRequested: {
      const PartyIndex by = a.cancel_requests[0] ? 0 : 1;
      return "cancellation requested by " + c.party_code(by) + " alone (" + Label(c, *a.cancel_requests[by]) + ")";
    }
    case AgreementState::kCancelled: return "cancelled by both";
  }
  return AgreementStateName(a.state);
}

// " (UA#2)" for the statement that answered `p`, if any.
std::string AnsweredAt(const Charter& c, const Proposal& p) {
  return p.answered ? " (" + Label(c, *p.answered) + ")" : "";
}

// Where a proposal stands, in words that say who signed it.
std::string Standing(const Charter& c, const Proposal& p) {
  const std::string by = c.party_code(p.proposer());
  const std::string other = c.party_code(1 - p.proposer());
  switch (p.state) {
    case ProposalState::kOpen: {
      std::string out = "open — proposed by " + by + " alone, not accepted";
      if (p.expires_ms != 0) out += "; expires " + HumanTime(p.expires_ms) + " UTC";
      return out;
    }
    case ProposalState::kAgreed: {
      std::string out = "AGREED (signed by both)";
      if (p.contested) out += ", contested: a withdrawal crossed the acceptance";
      return out + " — " + AgreementWords(c, p);
    }
    case ProposalState::kRejected:
      return "rejected by " + other + AnsweredAt(c, p) + " — proposed by " + by + " alone, never agreed";
    case ProposalState::kWithdrawn:
      return "withdrawn by " + by + AnsweredAt(c, p) + " — proposed by " + by + " alone, never agreed";
    case ProposalState::kExpired:
      return "expired " + HumanTime(p.expires_ms) + " UTC — proposed by " + by + " alone, never accepted";
    case ProposalState::kCountered: {
      std::string out = "countered by " + other;
      if (p.answered) {
        out += " (" + Label(c, *p.answered) + (p.countered_by ? ", " + ShortId(*p.countered_by) : "") + ")";
      }
      return out + " — proposed by " + by + " alone, not accepted";
    }
  }
  return ProposalStateName(p.state);
}

// Display width of UTF-8 text: one column per code point.
size_t Width(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char ch) {
    return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  }));
}

std::string Pad(std::string s, size_t width) {
  const size_t w = Width(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

// "RU#1 (3f2a9c1b0d4e)" for a proposal, "3f2a9c1b0d4e" for another entry.
std::string EntryWords(const Charter& c, const LedgerState& s, const Digest& id) {
  if (const Proposal* p = s.Find(id)) return Label(c, p->proposed) + " (" + ShortId(id) + ")";
  return ShortId(id);
}

std::string ClaimWords(const Charter& c, const LedgerState& s, const Claim& cl) {
  std::string out = KindName(cl.kind) + std::string(": ");
  out += cl.kind == v1::Entry::kStatement ? "\"" + Printable(cl.text) + "\"" : Printable(cl.text);
  if (cl.when_ms != 0) out += "; when " + HumanTime(cl.when_ms) + " UTC";
  if (cl.reference) out += "; re " + EntryWords(c, s, *cl.reference);
  return out;
}

// --- JSON -------------------------------------------------------------------

json IdOrNull(const std::optional<Digest>& id) { return id ? json(ToHex(*id)) : json(nullptr); }

json RefJson(const Charter& c, const StatementRef& r) {
  return {{"party", c.party_code(r.party)}, {"seq", r.seq}, {"id", ToHex(r.id)}, {"time", IsoTime(r.time_ms)}};
}

json WindowJson(const v1::TimeWindow& w) {
  return {{"start", IsoTime(w.start_ms())}, {"end", IsoTime(w.end_ms())}};
}

json TermsJson(const Charter& c, const v1::Terms& t) {
  json transfers = json::array();
  for (const v1::Transfer& tr : t.transfers()) {
    json j = {{"from", c.party_code(tr.from_party())},
              {"to", c.party_code(tr.to_party())},
              {"category", CategoryName(tr.category())},
              {"count", tr.count()}};
    if (tr.has_manifest()) j["manifest"] = {{"root", ToHex(tr.manifest().root())}, {"count", tr.manifest().count()}};
    transfers.push_back(std::move(j));
  }
  return {{"transfers", std::move(transfers)},
          {"crossing_point", t.crossing_point()},
          {"transport", TransportName(t.transport())},
          {"window", WindowJson(t.window())},
          {"intermediary", t.intermediary()},
          {"notes", t.notes()}};
}

json AgreementJson(const Charter& c, const Agreement& a) {
  json transfers = json::array();
  for (const TransferProgress& t : a.transfers) {
    json handovers = json::array(), receipts = json::array();
    for (const StatementRef& r : t.handovers) handovers.push_back(RefJson(c, r));
    for (const StatementRef& r : t.receipts) receipts.push_back(RefJson(c, r));
    const v1::Reconciliation& rec = t.reconciliation;
    transfers.push_back({{"handed_over", t.handed_over},
                         {"received", t.received},
                         {"handovers", std::move(handovers)},
                         {"receipts", std::move(receipts)},
                         {"handover_manifest", IdOrNull(t.handover_manifest)},
                         {"receipt_manifest", IdOrNull(t.receipt_manifest)},
                         {"reconciliation",
                          {{"matched", rec.matched()},
                           {"missing", rec.missing()},
                           {"not_on_manifest", rec.not_on_manifest()},
                           {"unidentified", rec.unidentified()},
                           {"other_side", rec.other_side()}}}});
  }
  json cancels = json::object();
  for (PartyIndex p = 0; p < 2; ++p) {
    if (a.cancel_requests[p]) cancels[c.party_code(p)] = RefJson(c, *a.cancel_requests[p]);
  }
  return {{"state", AgreementStateName(a.state)},
          {"accepted", RefJson(c, a.accepted)},
          {"transfers", std::move(transfers)},
          {"cancel_requests", std::move(cancels)},
          {"amended_by", IdOrNull(a.amended_by)}};
}

// The void links of the statement with ID `id` (a proposal's `counters` or
// `amends` that had no effect).
std::vector<const VoidLink*> VoidLinksOf(const LedgerState& s, const Digest& id) {
  std::vector<const VoidLink*> out;
  for (const VoidLink& v : s.void_links) {
    if (v.at.id == id) out.push_back(&v);
  }
  return out;
}

json VoidLinkJson(const VoidLink& v) {
  return {{"field", v.field}, {"target", IdOrNull(v.target)}, {"reason", v.reason}};
}

// "amends RU#1 (5e51736d108b): the agreement named was already completed; ..."
std::string VoidLinkWords(const Charter& c, const LedgerState& s, const VoidLink& v) {
  return v.field + " " + (v.target ? EntryWords(c, s, *v.target) : std::string("(not an ID)")) + ": " + v.reason;
}

json ProposalJson(const Charter& c, const Proposal& p, const std::vector<const VoidLink*>& void_links) {
  json j;
  j["id"] = ToHex(p.id);
  j["proposer"] = c.party_code(p.proposer());
  j["kind"] = ExchangeKindName(p.kind);
  j["state"] = ProposalStateName(p.state);
  j["bilateral"] = p.bilateral();
  j["contested"] = p.contested;
  j["proposed"] = RefJson(c, p.proposed);
  j["terms"] = TermsJson(c, p.terms);
  j["terms_digest"] = ToHex(p.terms_digest);
  j["expires"] = IsoOrNull(p.expires_ms);
  j["counters"] = IdOrNull(p.counters);
  j["amends"] = IdOrNull(p.amends);
  json links = json::array();
  for (const VoidLink* v : void_links) links.push_back(VoidLinkJson(*v));
  j["void_links"] = std::move(links);
  j["countered_by"] = IdOrNull(p.countered_by);
  j["answered"] = p.answered ? RefJson(c, *p.answered) : json(nullptr);
  j["agreement"] = p.agreement ? AgreementJson(c, *p.agreement) : json(nullptr);
  return j;
}

json ClaimJson(const Charter& c, const Claim& cl) {
  return {{"party", c.party_code(cl.at.party)}, {"seq", cl.at.seq},          {"id", ToHex(cl.at.id)},
          {"time", IsoTime(cl.at.time_ms)},     {"kind", KindName(cl.kind)}, {"text", cl.text},
          {"when", IsoOrNull(cl.when_ms)},      {"reference", IdOrNull(cl.reference)}};
}

// --- show -------------------------------------------------------------------

struct HistoryLine {
  const DecodedEntry* entry;
  std::string what;
  std::string void_reason;  // empty when the entry has its effect
  std::vector<const VoidLink*> void_links;  // links of a statement that stands, without effect
};

// What RenderShow and ShowJson present, gathered once.
struct ShowData {
  const Proposal* proposal = nullptr;
  const WitnessCoverage* coverage = nullptr;  // may be null
  std::vector<HistoryLine> history;        // canonical order
  std::vector<const Proposal*> proposals;  // the proposal and those it counters or amends, canonical order
  std::vector<const Claim*> claims;        // those made in `history`, canonical order
};

// One history line's "what", naming other entries by "CODE#seq".
std::string Describe(const Charter& c, const std::map<Digest, std::string>& labels, const DecodedEntry& e) {
  auto name = [&](const std::string& id_bytes) {
    const std::optional<Digest> id = Digest::FromBytes(id_bytes);
    if (!id) return std::string("(no entry)");
    auto it = labels.find(*id);
    return it != labels.end() ? it->second : ShortId(*id);
  };
  auto because = [](const std::string& reason) { return reason.empty() ? std::string() : ": " + Printable(reason); };
  const v1::Entry& en = e.entry;
  switch (en.body_case()) {
    case v1::Entry::kPropose: {
      const v1::Propose& pr = en.propose();
      v1::Terms terms;
      terms.ParseFromString(pr.terms());  // well formed: checked by DecodeEntry
      std::string out = "proposes " + std::string(ExchangeKindName(pr.kind())) + " " + ShortId(e.id) + ": " +
                        TermsSummary(c, terms);
      if (!pr.counters().empty()) out += "; counters " + name(pr.counters());
      if (!pr.amends().empty()) out += "; amends " + name(pr.amends());
      if (pr.expires_ms() != 0) out += "; expires " + IsoTime(pr.expires_ms());
      return out;
    }
    case v1::Entry::kAccept: return "accepts " + name(en.accept().proposal());
    case v1::Entry::kReject: return "rejects " + name(en.reject().proposal()) + because(en.reject().reason());
    case v1::Entry::kWithdraw: return "withdraws " + name(en.withdraw().proposal()) + because(en.withdraw().reason());
    case v1::Entry::kCancel: return "asks to cancel " + name(en.cancel().agreement()) + because(en.cancel().reason());
    case v1::Entry::kHandover: {
      const v1::Handover& h = en.handover();
      std::string out = "reports handing over " + std::to_string(h.count()) + " under " + name(h.agreement()) +
                        " (transfer " + std::to_string(h.transfer_index()) + ")";
      if (!h.place().empty()) out += " at " + Printable(h.place());
      if (h.handed_over_ms() != 0) out += ", handed over " + IsoTime(h.handed_over_ms());
      if (h.has_manifest()) {
        out += "; manifest " + ToHex(h.manifest().root()).substr(0, kShortIdDigits) + " (" +
               std::to_string(h.manifest().count()) + " records)";
      }
      return out;
    }
    case v1::Entry::kReceipt: {
      const v1::Receipt& r = en.receipt();
      const v1::Reconciliation& rec = r.reconciliation();
      std::string out = "reports receiving " + std::to_string(r.count()) + " under " + name(r.agreement()) +
                        " (transfer " + std::to_string(r.transfer_index()) + ")";
      if (!r.place().empty()) out += " at " + Printable(r.place());
      if (r.received_ms() != 0) out += ", received " + IsoTime(r.received_ms());
      if (r.has_manifest()) {
        out += "; manifest " + ToHex(r.manifest().root()).substr(0, kShortIdDigits) + " (" +
               std::to_string(r.manifest().count()) + " records)";
      }
      out += "; matched " + std::to_string(rec.matched()) + ", missing " + std::to_string(rec.missing()) +
             ", not on manifest " + std::to_string(rec.not_on_manifest()) + ", unidentified " +
             std::to_string(rec.unidentified()) + ", other side " + std::to_string(rec.other_side());
      return out;
    }
    case v1::Entry::kAttestation: {
      const v1::Attestation& a = en.attestation();
      std::string out = "attests (one-sided): " + Printable(a.what());
      if (!a.where().empty()) out += " @ " + Printable(a.where());
      if (a.when_ms() != 0) out += "; when " + IsoTime(a.when_ms());
      if (!a.reference().empty()) out += "; re " + name(a.reference());
      return out;
    }
    case v1::Entry::kStatement: {
      const v1::Statement& st = en.statement();
      std::string out = "states (one-sided): \"" + Printable(st.text()) + "\"";
      if (!st.reference().empty()) out += "; re " + name(st.reference());
      return out;
    }
    case v1::Entry::kRotateKey: return "rotates its key";
    case v1::Entry::kDisclose: return DescribeDisclose(c, en.disclose());
    default: return KindName(en.body_case());
  }
}

Result<ShowData> CollectShow(const Charter& c, const LedgerState& s, const std::vector<DecodedEntry>& feed0,
                             const std::vector<DecodedEntry>& feed1, const Digest& id) {
  ShowData data;
  data.proposal = s.Find(id);
  if (data.proposal == nullptr) return Status(Code::kNotFound, "no proposal or agreement has ID " + ToHex(id));

  // The proposal and the ones it counters or amends, back to the first.
  std::set<Digest> thread;
  for (const Proposal* p = data.proposal; p != nullptr && thread.insert(p->id).second;) {
    const std::optional<Digest>& before = p->counters ? p->counters : p->amends;
    p = before ? s.Find(*before) : nullptr;
  }

  const std::vector<DecodedEntry>* feeds[2] = {&feed0, &feed1};
  std::map<Digest, std::string> labels;
  for (PartyIndex party = 0; party < 2; ++party) {
    for (const DecodedEntry& e : *feeds[party]) labels[e.id] = c.party_code(party) + "#" + std::to_string(e.seq());
  }
  std::map<std::pair<PartyIndex, uint64_t>, std::string> void_reasons;
  for (const VoidStatement& v : s.void_statements) {
    std::string& reason = void_reasons[{v.at.party, v.at.seq}];
    reason += (reason.empty() ? "" : "; ") + v.reason;
  }

  // Entries of the thread's history that a statement or attestation can
  // refer to and so join it. A later proposal countering or amending the
  // thread is listed but has a history of its own.
  std::set<Digest> referable;
  for (const auto& [party, index] : CanonicalOrder(feed0, feed1)) {
    const DecodedEntry& e = (*feeds[party])[index];
    bool concerns = thread.count(e.id) > 0;
    for (const BodyReference& ref : ReferencesOf(e.entry)) {
      // Every reference but a statement's or attestation's names a proposal.
      if (ref.must_be_proposal ? thread.count(ref.id) > 0 : referable.count(ref.id) > 0) concerns = true;
    }
    if (!concerns) continue;
    if (e.kind() != v1::Entry::kPropose || thread.count(e.id) > 0) referable.insert(e.id);
    auto reason = void_reasons.find({party, e.seq()});
    data.history.push_back(HistoryLine{&e, Describe(c, labels, e),
                                       reason == void_reasons.end() ? "" : reason->second,
                                       e.kind() == v1::Entry::kPropose ? VoidLinksOf(s, e.id)
                                                                       : std::vector<const VoidLink*>{}});
  }
  for (const Proposal& p : s.proposals) {
    if (thread.count(p.id) > 0) data.proposals.push_back(&p);
  }
  for (const Claim& cl : s.claims) {
    if (referable.count(cl.at.id) > 0) data.claims.push_back(&cl);
  }
  return data;
}

std::string ProposedLine(const Charter& c, const Proposal& p) {
  return Label(c, p.proposed) + " " + ShortId(p.id) + " by " + c.party_code(p.proposer()) + ": " +
         HumanWindow(p.terms.window()) + "; " + Standing(c, p);
}

// "2025-06-10 10:00 UTC" for a reported execution time, or what stands instead.
std::string ExecutedAt(int64_t ms) { return ms != 0 ? HumanTime(ms) + " UTC" : "time not stated"; }

std::string ShowText(const Charter& c, const LedgerState& s, const ShowData& d) {
  const Proposal& p = *d.proposal;
  const v1::Terms& t = p.terms;
  std::ostringstream out;
  out << "Proposal " << ToHex(p.id) << "\n";
  out << "  " << ExchangeKindName(p.kind) << " proposed by " << c.party_code(p.proposer()) << " ("
      << Label(c, p.proposed) << ", " << IsoTime(p.proposed.time_ms) << ")\n";
  if (p.counters) out << "  counters " << EntryWords(c, s, *p.counters) << "\n";
  if (p.amends) out << "  amends " << EntryWords(c, s, *p.amends) << "\n";
  for (const VoidLink* v : VoidLinksOf(s, p.id)) out << "  link void: " << VoidLinkWords(c, s, *v) << "\n";
  out << "  standing: " << Standing(c, p) << "\n";

  out << "\nTerms (as proposed by " << c.party_code(p.proposer()) << "; terms digest " << ShortId(p.terms_digest)
      << "):\n";
  for (int i = 0; i < t.transfers_size(); ++i) {
    const v1::Transfer& tr = t.transfers(i);
    out << "  transfer " << i << ": " << c.party_code(tr.from_party()) << " → " << c.party_code(tr.to_party()) << ", "
        << Words(CategoryName(tr.category())) << ", " << tr.count();
    if (tr.has_manifest()) {
      out << "; manifest " << ToHex(tr.manifest().root()) << " (" << tr.manifest().count() << " records)";
    }
    out << "\n";
  }
  out << "  crossing point: " << (t.crossing_point().empty() ? "(none)" : Printable(t.crossing_point())) << "\n";
  out << "  transport: " << TransportName(t.transport()) << "\n";
  out << "  window: " << IsoTime(t.window().start_ms()) << " – " << IsoTime(t.window().end_ms()) << "\n";
  out << "  intermediary: " << (t.intermediary().empty() ? "(none)" : Printable(t.intermediary())) << "\n";
  out << "  notes: " << (t.notes().empty() ? "(none)" : Printable(t.notes())) << "\n";
  out << "  expires: " << (p.expires_ms != 0 ? IsoTime(p.expires_ms) : "never") << "\n";

  out << "\nHistory (canonical order; CODE#seq, author's clock, what):\n";
  for (const HistoryLine& h : d.history) {
    out << "  " << c.party_code(h.entry->author()) << "#" << h.entry->seq() << "  " << IsoTime(h.entry->time_ms())
        << "  " << h.what;
    if (!h.void_reason.empty()) out << " (void: " << h.void_reason << ")";
    for (const VoidLink* v : h.void_links) out << " (link void: " << VoidLinkWords(c, s, *v) << ")";
    out << "\n";
    if (d.coverage) {
      const auto ev = d.coverage->Earliest(h.entry->author(), h.entry->seq());
      out << "      " << (ev ? "existed by " + IsoTime(static_cast<int64_t>(ev->time_s) * 1000) + ", per witness \"" +
                                 Printable(c.witnesses()[ev->witness].name) + "\""
                           : std::string("not yet covered by a witness cosignature this node holds"))
          << "\n";
    }
  }

  out << "\nSummary\n";
  out << "  Proposed windows (each one side's proposal alone):\n";
  for (const Proposal* q : d.proposals) out << "    " << ProposedLine(c, *q) << "\n";

  out << "  Agreed windows (the same terms signed by both):\n";
  bool any_agreed = false;
  for (const Proposal* q : d.proposals) {
    if (!q->agreement) continue;
    any_agreed = true;
    const Agreement& a = *q->agreement;
    out << "    " << HumanWindow(q->terms.window()) << " — " << ShortId(q->id) << " proposed by "
        << c.party_code(q->proposer()) << " (" << Label(c, q->proposed) << "), accepted by "
        << c.party_code(a.accepted.party) << " (" << Label(c, a.accepted) << ", " << IsoTime(a.accepted.time_ms)
        << "); " << AgreementWords(c, *q) << "\n";
  }
  if (!any_agreed) {
    out << "    none: nothing here is signed by both sides";
    if (p.countered_by) out << "; see the counter-proposal " << ShortId(*p.countered_by) << " for what followed";
    out << "\n";
  }

  out << "  Executed (each side's own report):\n";
  bool any_executed = false;
  for (const HistoryLine& h : d.history) {
    const v1::Entry& en = h.entry->entry;
    if (!en.has_handover() && !en.has_receipt()) continue;
    any_executed = true;
    const std::string label = c.party_code(h.entry->author()) + "#" + std::to_string(h.entry->seq());
    if (en.has_handover()) {
      out << "    " << label << " handover: " << en.handover().count() << " (transfer "
          << en.handover().transfer_index() << ") handed over " << ExecutedAt(en.handover().handed_over_ms());
    } else {
      out << "    " << label << " receipt: " << en.receipt().count() << " (transfer " << en.receipt().transfer_index()
          << ") received " << ExecutedAt(en.receipt().received_ms());
    }
    if (!h.void_reason.empty()) out << " (void: " << h.void_reason << ")";
    out << "\n";
  }
  if (!any_executed) out << "    none reported\n";

  out << "  One-sided claims (never agreement):\n";
  for (const Claim* cl : d.claims) out << "    " << Label(c, cl->at) << " " << ClaimWords(c, s, *cl) << "\n";
  if (d.claims.empty()) out << "    none\n";
  return out.str();
}

json ShowDataJson(const Charter& c, const LedgerState& s, const ShowData& d) {
  json history = json::array(), executed = json::array();
  for (const HistoryLine& h : d.history) {
    const DecodedEntry& e = *h.entry;
    const json void_reason = h.void_reason.empty() ? json(nullptr) : json(h.void_reason);
    json links = json::array();
    for (const VoidLink* v : h.void_links) links.push_back(VoidLinkJson(*v));
    history.push_back({{"party", c.party_code(e.author())},
                       {"seq", e.seq()},
                       {"id", ToHex(e.id)},
                       {"time", IsoTime(e.time_ms())},
                       {"kind", KindName(e.kind())},
                       {"text", h.what},
                       {"void", void_reason},
                       {"void_links", std::move(links)}});
    if (d.coverage) {
      const auto ev = d.coverage->Earliest(e.author(), e.seq());
      history.back()["witnessed"] =
          ev ? json{{"by", IsoTime(static_cast<int64_t>(ev->time_s) * 1000)},
                    {"witness", c.witnesses()[ev->witness].name},
                    {"size", ev->size}}
             : json(nullptr);
    }
    if (e.entry.has_handover() || e.entry.has_receipt()) {
      const bool handover = e.entry.has_handover();
      const v1::Entry& en = e.entry;
      executed.push_back(
          {{"party", c.party_code(e.author())},
           {"seq", e.seq()},
           {"id", ToHex(e.id)},
           {"kind", KindName(e.kind())},
           {"transfer", handover ? en.handover().transfer_index() : en.receipt().transfer_index()},
           {"count", handover ? en.handover().count() : en.receipt().count()},
           {"at", IsoOrNull(handover ? en.handover().handed_over_ms() : en.receipt().received_ms())},
           {"place", handover ? en.handover().place() : en.receipt().place()},
           {"void", void_reason}});
    }
  }
  json proposed = json::array(), agreed = json::array();
  for (const Proposal* q : d.proposals) {
    proposed.push_back({{"proposal", ToHex(q->id)},
                        {"by", c.party_code(q->proposer())},
                        {"seq", q->proposed.seq},
                        {"window", WindowJson(q->terms.window())},
                        {"state", ProposalStateName(q->state)}});
    if (q->agreement) {
      agreed.push_back({{"proposal", ToHex(q->id)},
                        {"window", WindowJson(q->terms.window())},
                        {"proposed", RefJson(c, q->proposed)},
                        {"accepted", RefJson(c, q->agreement->accepted)},
                        {"state", AgreementStateName(q->agreement->state)}});
    }
  }
  json claims = json::array();
  for (const Claim* cl : d.claims) claims.push_back(ClaimJson(c, *cl));
  return {{"proposal", ProposalJson(c, *d.proposal, VoidLinksOf(s, d.proposal->id))},
          {"history", std::move(history)},
          {"summary",
           {{"proposed", std::move(proposed)},
            {"agreed", std::move(agreed)},
            {"executed", std::move(executed)},
            {"claims", std::move(claims)}}}};
}

}  // namespace

json StateJson(const Charter& charter, const LedgerState& state) {
  json parties = json::array();
  for (PartyIndex p = 0; p < 2; ++p) {
    parties.push_back({{"index", p}, {"code", charter.party_code(p)}, {"name", charter.party_name(p)}});
  }
  json proposals = json::array();
  std::map<Digest, std::vector<const VoidLink*>> links_of;
  json void_links = json::array();
  for (const VoidLink& v : state.void_links) {
    links_of[v.at.id].push_back(&v);
    void_links.push_back({{"party", charter.party_code(v.at.party)},
                          {"seq", v.at.seq},
                          {"id", ToHex(v.at.id)},
                          {"kind", KindName(v.kind)},
                          {"field", v.field},
                          {"target", IdOrNull(v.target)},
                          {"reason", v.reason}});
  }
  for (const Proposal& p : state.proposals) {
    auto it = links_of.find(p.id);
    proposals.push_back(ProposalJson(charter, p, it == links_of.end() ? std::vector<const VoidLink*>{} : it->second));
  }
  json voids = json::array();
  for (const VoidStatement& v : state.void_statements) {
    voids.push_back({{"party", charter.party_code(v.at.party)},
                     {"seq", v.at.seq},
                     {"id", ToHex(v.at.id)},
                     {"kind", KindName(v.kind)},
                     {"reason", v.reason}});
  }
  json claims = json::array();
  for (const Claim& cl : state.claims) claims.push_back(ClaimJson(charter, cl));
  return {{"ledger_id", ToHex(charter.ledger_id())},
          {"title", charter.proto().title()},
          {"parties", std::move(parties)},
          {"proposals", std::move(proposals)},
          {"void_statements", std::move(voids)},
          {"void_links", std::move(void_links)},
          {"claims", std::move(claims)},
          {"claims_omitted", state.claims_omitted}};
}

Result<std::string> RenderList(const Charter& charter, const LedgerState& state,
                               std::optional<std::string> state_filter) {
  if (state_filter) {
    std::string& f = *state_filter;
    std::transform(f.begin(), f.end(), f.begin(), [](unsigned char ch) {
      return ch == '-' ? '_' : static_cast<char>(std::tolower(ch));
    });
    const std::vector<std::string> names = StateNames();
    if (std::find(names.begin(), names.end(), f) == names.end()) {
      std::string valid;
      for (const std::string& n : names) valid += (valid.empty() ? "" : ", ") + n;
      return Status(Code::kInvalidArgument, "unknown state '" + f + "'; the states are: " + valid);
    }
  }
  auto selected = [&](const Proposal& p) {
    if (!state_filter) return true;
    return *state_filter == ProposalStateName(p.state) ||
           (p.agreement && *state_filter == AgreementStateName(p.agreement->state));
  };

  struct Row {
    std::string id, by, kind, terms, standing;
  };
  std::vector<Row> rows;
  for (const Proposal& p : state.proposals) {
    if (!selected(p)) continue;
    rows.push_back(Row{ShortId(p.id), charter.party_code(p.proposer()), ExchangeKindName(p.kind),
                       TermsSummary(charter, p.terms), Standing(charter, p)});
  }

  std::ostringstream out;
  if (state.proposals.empty()) {
    out << "No proposals yet.\n";
  } else if (rows.empty()) {
    out << "No proposals in state '" << *state_filter << "' (" << state.proposals.size() << " in all).\n";
  } else {
    out << "Proposals: only AGREED ones are signed by both sides (bilateral); every other one is its\n"
           "proposer's alone (unilateral).\n";
    Row header{"ID", "BY", "KIND", "TERMS", "STANDING"};
    size_t widths[4] = {0, 0, 0, 0};
    auto widen = [&](const Row& r) {
      widths[0] = std::max(widths[0], Width(r.id));
      widths[1] = std::max(widths[1], Width(r.by));
      widths[2] = std::max(widths[2], Width(r.kind));
      widths[3] = std::max(widths[3], Width(r.terms));
    };
    widen(header);
    for (const Row& r : rows) widen(r);
    auto print = [&](const Row& r) {
      out << Pad(r.id, widths[0]) << "  " << Pad(r.by, widths[1]) << "  " << Pad(r.kind, widths[2]) << "  "
          << Pad(r.terms, widths[3]) << "  " << r.standing << "\n";
    };
    print(header);
    for (const Row& r : rows) print(r);
  }

  out << "\nOne-sided claims (each one side's word alone; never agreement):\n";
  for (const Claim& cl : state.claims) {
    out << "  " << Label(charter, cl.at) << "  " << IsoTime(cl.at.time_ms) << "  " << ClaimWords(charter, state, cl)
        << "\n";
  }
  if (state.claims_omitted > 0) {
    out << "  … and " << state.claims_omitted << " more, not listed (the audit lists the first " << state.claims.size()
        << ")\n";
  }
  if (state.claims.empty() && state.claims_omitted == 0) out << "  none\n";

  if (!state.void_statements.empty()) {
    out << "\nVoid statements (kept in the feed as signed, without effect):\n";
    for (const VoidStatement& v : state.void_statements) {
      out << "  " << Label(charter, v.at) << "  " << IsoTime(v.at.time_ms) << "  " << KindName(v.kind) << ": "
          << v.reason << "\n";
    }
  }
  if (!state.void_links.empty()) {
    out << "\nVoid links (the statement stands; the link named has no effect):\n";
    for (const VoidLink& v : state.void_links) {
      out << "  " << Label(charter, v.at) << "  " << IsoTime(v.at.time_ms) << "  " << KindName(v.kind)
          << ", link void: " << VoidLinkWords(charter, state, v) << "\n";
    }
  }
  return out.str();
}

Result<std::string> RenderShow(const Charter& charter, const LedgerState& state,
                               const std::vector<DecodedEntry>& feed0, const std::vector<DecodedEntry>& feed1,
                               const Digest& id, const WitnessCoverage* coverage) {
  Result<ShowData> data = CollectShow(charter, state, feed0, feed1, id);
  if (!data) return data.error();
  data->coverage = coverage;
  return ShowText(charter, state, *data);
}

Result<json> ShowJson(const Charter& charter, const LedgerState& state, const std::vector<DecodedEntry>& feed0,
                      const std::vector<DecodedEntry>& feed1, const Digest& id, const WitnessCoverage* coverage) {
  Result<ShowData> data = CollectShow(charter, state, feed0, feed1, id);
  if (!data) return data.error();
  data->coverage = coverage;
  return ShowDataJson(charter, state, *data);
}

Result<Digest> ResolveIdPrefix(std::string_view hex_prefix, const std::vector<Digest>& candidates) {
  const std::string typed(hex_prefix);
  const bool is_hex = std::all_of(typed.begin(), typed.end(), [](unsigned char ch) { return std::isxdigit(ch); });
  if (!is_hex) {
    return Status(Code::kInvalidArgument, "'" + Printable(typed) + "' is not an ID prefix: IDs are hex (0-9, a-f)");
  }
  if (typed.size() < kMinPrefixDigits) {
    return Status(Code::kInvalidArgument, "ID prefix '" + typed + "' is too short: give at least " +
                                              std::to_string(kMinPrefixDigits) + " hex digits");
  }
  std::string prefix = typed;
  std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });

  std::vector<Digest> matches;
  for (const Digest& d : candidates) {
    if (ToHex(d).starts_with(prefix) && std::find(matches.begin(), matches.end(), d) == matches.end()) {
      matches.push_back(d);
    }
  }
  if (matches.empty()) return Status(Code::kNotFound, "no entry starts with " + typed);
  if (matches.size() == 1) return matches[0];

  constexpr size_t kShown = 5;
  std::string shown;
  for (size_t i = 0; i < matches.size() && i < kShown; ++i) {
    shown += (i == 0 ? "" : ", ") + ShortId(matches[i]) + "…";
  }
  if (matches.size() > kShown) shown += ", …";
  return Status(Code::kInvalidArgument, "prefix " + typed + " is ambiguous: matches " +
                                            std::to_string(matches.size()) + " entries (" + shown + ")");
}

std::string DescribeDisclose(const Charter& c, const v1::Disclose& d) {
  const std::string to = d.to_party() <= 1 ? c.party_code(d.to_party()) : "party " + std::to_string(d.to_party());
  return "discloses manifest " + ToHex(d.manifest().root()).substr(0, kShortIdDigits) + " (" +
         std::to_string(d.manifest().count()) + " records) to " + to;
}

std::string DescribePreview(const Charter& c, const v1::Entry& entry) {
  if (entry.body_case() != v1::Entry::kPropose) {
    DecodedEntry e;
    e.entry = entry;  // no ID before it is signed; Describe names only other entries
    return Describe(c, {}, e);
  }
  const v1::Propose& pr = entry.propose();
  v1::Terms t;
  t.ParseFromString(pr.terms());
  std::string out = "proposes " + std::string(ExchangeKindName(pr.kind())) + ": " + TermsSummary(c, t);
  out += "; crossing " + (t.crossing_point().empty() ? std::string("(none)") : Printable(t.crossing_point()));
  if (!t.intermediary().empty()) out += "; intermediary " + Printable(t.intermediary());
  if (!t.notes().empty()) out += "; notes \"" + Printable(t.notes()) + "\"";
  if (!pr.counters().empty()) out += "; counters " + ToHex(pr.counters()).substr(0, kShortIdDigits);
  if (!pr.amends().empty()) out += "; amends " + ToHex(pr.amends()).substr(0, kShortIdDigits);
  out += pr.expires_ms() != 0 ? "; expires " + IsoTime(pr.expires_ms()) : "; never expires";
  return out;
}

}  // namespace parley
