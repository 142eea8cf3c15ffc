#include "node/protocol/agreements.h"

#include <algorithm>
#include <cstdint>
#include <sstream>

#include "crypto/hash.h"

namespace parley {
namespace {

StatementRef RefOf(const DecodedEntry& e) {
  return StatementRef{e.author(), e.seq(), e.id, e.time_ms(),
                      e.entry.has_seen() ? e.entry.seen().seq() : 0};
}

bool Expired(const Proposal& p, int64_t at_ms) { return p.expires_ms != 0 && at_ms > p.expires_ms; }

// "In force" per statement kind (docs/PROTOCOL.md §7, the table): the state
// of the agreement at the statement's place in the canonical order decides.

// Handovers and receipts: every state but cancelled and amended. A report on a
// completed agreement is applied (over-delivery, a late batch: an auditor must
// see it), and the agreement becomes disputed with the totals.
bool TakesReports(const Agreement& a) {
  return a.state != AgreementState::kCancelled && a.state != AgreementState::kAmended;
}

// Cancel, and an amendment's `amends` link (when proposed and when accepted):
// those states, and not completed either. An executed exchange cannot be
// undone or re-negotiated; it stays completed.
bool CancellableOrAmendable(const Agreement& a) { return TakesReports(a) && a.state != AgreementState::kCompleted; }

// Recomputes an agreement's state from its execution reports and cancel
// requests, unless it has been amended or cancelled.
void UpdateAgreementState(Agreement& a) {
  if (!TakesReports(a)) return;
  if (a.cancel_requests[0] && a.cancel_requests[1]) {
    a.state = AgreementState::kCancelled;
    return;
  }
  if (a.cancel_requests[0] || a.cancel_requests[1]) {
    a.state = AgreementState::kCancelRequested;
    return;
  }
  bool any = false, all_done = true, dispute = false;
  for (const TransferProgress& t : a.transfers) {
    const bool both = !t.handovers.empty() && !t.receipts.empty();
    any = any || !t.handovers.empty() || !t.receipts.empty();
    if (both && (t.handed_over != t.received ||
                 (t.handover_manifest && t.receipt_manifest && *t.handover_manifest != *t.receipt_manifest))) {
      dispute = true;
    }
    // The receiver's reconciliation against the manifest found a mismatch.
    const v1::Reconciliation& r = t.reconciliation;
    if (r.missing() || r.not_on_manifest() || r.unidentified() || r.other_side()) dispute = true;
    if (!both) all_done = false;
  }
  if (dispute) a.state = AgreementState::kDisputed;
  else if (any && all_done) a.state = AgreementState::kCompleted;
  else if (any) a.state = AgreementState::kInProgress;
  else a.state = AgreementState::kAgreed;
}

class Replayer {
 public:
  explicit Replayer(LedgerState& state) : s_(state) {}

  void Apply(const DecodedEntry& e) {
    const v1::Entry& en = e.entry;
    switch (en.body_case()) {
      case v1::Entry::kPropose: return OnPropose(e);
      case v1::Entry::kAccept: return OnAccept(e);
      case v1::Entry::kReject: return OnReject(e);
      case v1::Entry::kWithdraw: return OnWithdraw(e);
      case v1::Entry::kCancel: return OnCancel(e);
      case v1::Entry::kHandover: return OnExecution(e, true);
      case v1::Entry::kReceipt: return OnExecution(e, false);
      case v1::Entry::kAttestation: {
        const auto& a = en.attestation();
        Claim c{RefOf(e), en.body_case(), a.where().empty() ? a.what() : a.what() + " @ " + a.where(),
                a.when_ms(), Digest::FromBytes(a.reference())};
        s_.claims.push_back(std::move(c));
        return;
      }
      case v1::Entry::kStatement: {
        const auto& st = en.statement();
        s_.claims.push_back(Claim{RefOf(e), en.body_case(), st.text(), 0, Digest::FromBytes(st.reference())});
        return;
      }
      default:
        return;  // RotateKey and unknown bodies do not change agreement state
    }
  }

 private:
  void Void(const DecodedEntry& e, std::string reason) {
    s_.void_statements.push_back(VoidStatement{RefOf(e), e.kind(), std::move(reason)});
  }

  void VoidLinkOf(const StatementRef& at, const char* field, const std::string& target, std::string reason,
                  const StatementRef& by) {
    s_.void_links.push_back(
        VoidLink{at, v1::Entry::kPropose, field, Digest::FromBytes(target), std::move(reason), by});
  }

  Proposal* Lookup(const std::string& id_bytes) {
    auto id = Digest::FromBytes(id_bytes);
    if (!id) return nullptr;
    auto it = s_.by_id.find(*id);
    return it == s_.by_id.end() ? nullptr : &s_.proposals[it->second];
  }

  // Whether `id_bytes` names an entry signed with a key declared compromised.
  // (Any bytes: the operator service evaluates bodies not yet validated.)
  bool DeclaredCompromised(const std::string& id_bytes) const {
    auto id = Digest::FromBytes(id_bytes);
    return id && s_.compromised.count(*id) > 0;
  }

  // "an unknown proposal", or why it is unknown to agreement state.
  std::string Unknown(const std::string& id_bytes, const char* what = "proposal") {
    if (DeclaredCompromised(id_bytes)) {
      return std::string("a ") + what + " signed with a key declared compromised";
    }
    return std::string("an unknown ") + what;
  }

  static std::string StateWord(const Proposal& p) { return ProposalStateName(p.state); }

  void OnPropose(const DecodedEntry& e) {
    const v1::Propose& pr = e.entry.propose();
    Proposal p;
    p.id = e.id;
    p.proposed = RefOf(e);
    p.kind = pr.kind();
    p.terms.ParseFromString(pr.terms());  // well formed: checked by DecodeEntry
    p.terms_digest = TermsDigest(pr.terms());
    p.expires_ms = pr.expires_ms();
    // A void link leaves the proposal standing on its own: it is a void
    // link, not a void statement.
    const std::string stands = "; the proposal stands on its own";
    if (!pr.counters().empty()) {
      Proposal* c = Lookup(pr.counters());
      if (!c) {
        VoidLinkOf(p.proposed, "counters", pr.counters(), "names " + Unknown(pr.counters()) + stands, p.proposed);
      } else if (c->proposer() == e.author()) {
        VoidLinkOf(p.proposed, "counters", pr.counters(), "the proposal countered is its own author's" + stands,
                   p.proposed);
      } else if (c->state != ProposalState::kOpen || Expired(*c, e.time_ms())) {
        VoidLinkOf(p.proposed, "counters", pr.counters(),
                   "the proposal countered was already " +
                       std::string(Expired(*c, e.time_ms()) && c->state == ProposalState::kOpen ? "expired"
                                                                                               : StateWord(*c)) +
                       stands,
                   p.proposed);
      } else {
        c->state = ProposalState::kCountered;
        c->answered = RefOf(e);
        c->countered_by = e.id;
        p.counters = c->id;
      }
    }
    if (!pr.amends().empty()) {
      Proposal* g = Lookup(pr.amends());
      if (!g) {
        VoidLinkOf(p.proposed, "amends", pr.amends(), "names " + Unknown(pr.amends(), "agreement") + stands,
                   p.proposed);
      } else if (!g->agreement) {
        VoidLinkOf(p.proposed, "amends", pr.amends(),
                   "the proposal named is not an agreement (it is " + StateWord(*g) + ")" + stands, p.proposed);
      } else if (!CancellableOrAmendable(*g->agreement)) {
        VoidLinkOf(p.proposed, "amends", pr.amends(),
                   std::string("the agreement named was already ") + AgreementStateName(g->agreement->state) + stands,
                   p.proposed);
      } else {
        p.amends = g->id;
      }
    }
    s_.by_id[p.id] = s_.proposals.size();
    s_.proposals.push_back(std::move(p));
  }

  void MakeAgreement(Proposal& p, const DecodedEntry& accept) {
    p.state = ProposalState::kAgreed;
    p.answered = RefOf(accept);
    Agreement a;
    a.accepted = RefOf(accept);
    a.transfers.resize(static_cast<size_t>(p.terms.transfers_size()));
    p.agreement = std::move(a);
    if (p.amends) {
      Proposal* old = Lookup(p.amends->str());
      if (old && old->agreement && CancellableOrAmendable(*old->agreement)) {
        old->agreement->state = AgreementState::kAmended;
        old->agreement->amended_by = p.id;
      } else {
        // The acceptance stands (it made this agreement); the amendment's link
        // has no effect: nothing was amended.
        VoidLinkOf(p.proposed, "amends", p.amends->str(),
                   std::string("the agreement named was already ") +
                       (old && old->agreement ? AgreementStateName(old->agreement->state) : "gone") +
                       " when the amendment was accepted; the amendment stands as an agreement of its own",
                   RefOf(accept));
        p.amends.reset();
      }
    }
  }

  void OnAccept(const DecodedEntry& e) {
    Proposal* p = Lookup(e.entry.accept().proposal());
    if (!p) return Void(e, "accepts " + Unknown(e.entry.accept().proposal()));
    if (p->proposer() == e.author()) return Void(e, "accepts its own author's proposal");
    if (e.entry.accept().terms_digest() != p->terms_digest.view()) {
      return Void(e, "terms digest does not match the proposal's terms");
    }
    if (p->state == ProposalState::kOpen) {
      if (Expired(*p, e.time_ms())) return Void(e, "accepted after the proposal expired");
      return MakeAgreement(*p, e);
    }
    if (p->state == ProposalState::kWithdrawn) {
      // A copy: MakeAgreement overwrites p->answered.
      const StatementRef w = *p->answered;
      if (w.seq <= RefOf(e).seen_seq) {
        return Void(e, "the proposal was withdrawn before this acceptance (the acceptor had seen the withdrawal)");
      }
      // As when the acceptance comes first in canonical order.
      if (Expired(*p, e.time_ms())) return Void(e, "accepted after the proposal expired");
      // Neither side had seen the other's statement: mailbox rule.
      MakeAgreement(*p, e);
      p->contested = true;
      s_.void_statements.push_back(VoidStatement{w, v1::Entry::kWithdraw,
                                                 "crossed with an acceptance; the acceptance stands (contested)"});
      return;
    }
    Void(e, "the proposal was already " + StateWord(*p));
  }

  void OnReject(const DecodedEntry& e) {
    Proposal* p = Lookup(e.entry.reject().proposal());
    if (!p) return Void(e, "rejects " + Unknown(e.entry.reject().proposal()));
    if (p->proposer() == e.author()) return Void(e, "rejects its own author's proposal");
    if (p->state != ProposalState::kOpen) return Void(e, "the proposal was already " + StateWord(*p));
    if (Expired(*p, e.time_ms())) return Void(e, "rejected after the proposal expired");
    p->state = ProposalState::kRejected;
    p->answered = RefOf(e);
  }

  void OnWithdraw(const DecodedEntry& e) {
    Proposal* p = Lookup(e.entry.withdraw().proposal());
    if (!p) return Void(e, "withdraws " + Unknown(e.entry.withdraw().proposal()));
    if (p->proposer() != e.author()) return Void(e, "withdraws the other side's proposal");
    if (p->state == ProposalState::kOpen) {
      // Nothing was open to withdraw: the proposal stays expired.
      if (Expired(*p, e.time_ms())) return Void(e, "the proposal had already expired");
      p->state = ProposalState::kWithdrawn;
      p->answered = RefOf(e);
      return;
    }
    if (p->state == ProposalState::kAgreed) {
      const StatementRef& acc = p->agreement->accepted;
      if (acc.seq <= RefOf(e).seen_seq) {
        return Void(e, "the proposal was already accepted (the proposer had seen the acceptance)");
      }
      p->contested = true;
      return Void(e, "crossed with an acceptance; the acceptance stands (contested)");
    }
    Void(e, "the proposal was already " + StateWord(*p));
  }

  void OnCancel(const DecodedEntry& e) {
    Proposal* p = Lookup(e.entry.cancel().agreement());
    if (!p && DeclaredCompromised(e.entry.cancel().agreement())) {
      return Void(e, "cancels " + Unknown(e.entry.cancel().agreement()));
    }
    if (!p || !p->agreement) return Void(e, "cancels something that is not an agreement");
    Agreement& a = *p->agreement;
    if (!CancellableOrAmendable(a)) {
      return Void(e, std::string("the agreement is already ") + AgreementStateName(a.state));
    }
    if (a.cancel_requests[e.author()]) return Void(e, "this party had already asked to cancel");
    a.cancel_requests[e.author()] = RefOf(e);
    UpdateAgreementState(a);
  }

  void OnExecution(const DecodedEntry& e, bool handover) {
    const std::string& agreement_id = handover ? e.entry.handover().agreement() : e.entry.receipt().agreement();
    const uint32_t index = handover ? e.entry.handover().transfer_index() : e.entry.receipt().transfer_index();
    const char* what = handover ? "handover" : "receipt";
    Proposal* p = Lookup(agreement_id);
    if (!p && DeclaredCompromised(agreement_id)) {
      return Void(e, std::string(what) + " for " + Unknown(agreement_id));
    }
    if (!p || !p->agreement) return Void(e, std::string(what) + " for something that is not an agreement");
    Agreement& a = *p->agreement;
    if (!TakesReports(a)) {
      return Void(e, std::string(what) + " under an agreement already " + AgreementStateName(a.state));
    }
    if (index >= a.transfers.size()) {
      return Void(e, std::string(what) + " names transfer " + std::to_string(index) + "; the agreement has " +
                         std::to_string(a.transfers.size()));
    }
    const v1::Transfer& t = p->terms.transfers(static_cast<int>(index));
    const PartyIndex must_be = handover ? t.from_party() : t.to_party();
    if (e.author() != must_be) {
      return Void(e, std::string(what) + " must come from the " + (handover ? "sending" : "receiving") + " party");
    }
    TransferProgress& tp = a.transfers[index];
    // Totals are uint64: a report that would carry one past 2^64 - 1 cannot
    // be added up (wrapping would make 2^63 + 2^63 + 2 "equal" to 2); it is
    // void rather than silently corrupting the totals (found by fuzz_ingest).
    auto overflows = [](uint64_t total, uint64_t add) { return add > UINT64_MAX - total; };
    const std::string where = "transfer " + std::to_string(index) + "'s ";
    if (handover ? overflows(tp.handed_over, e.entry.handover().count())
                 : overflows(tp.received, e.entry.receipt().count())) {
      return Void(e, std::string(what) + " count would take " + where + (handover ? "handed-over" : "received") +
                         " total past 2^64 - 1");
    }
    if (!handover) {
      const auto& sum = tp.reconciliation;
      const auto& rec = e.entry.receipt().reconciliation();
      if (overflows(sum.matched(), rec.matched()) || overflows(sum.missing(), rec.missing()) ||
          overflows(sum.not_on_manifest(), rec.not_on_manifest()) ||
          overflows(sum.unidentified(), rec.unidentified()) || overflows(sum.other_side(), rec.other_side())) {
        return Void(e, "receipt reconciliation figures would take " + where + "totals past 2^64 - 1");
      }
    }
    if (handover) {
      const auto& h = e.entry.handover();
      tp.handed_over += h.count();
      tp.handovers.push_back(RefOf(e));
      if (h.has_manifest()) tp.handover_manifest = Digest::FromBytes(h.manifest().root());
    } else {
      const auto& r = e.entry.receipt();
      tp.received += r.count();
      tp.receipts.push_back(RefOf(e));
      if (r.has_manifest()) {
        tp.receipt_manifest = Digest::FromBytes(r.manifest().root());
        tp.receipt_manifest_count = r.manifest().count();
      }
      auto& sum = tp.reconciliation;
      const auto& rec = r.reconciliation();
      sum.set_matched(sum.matched() + rec.matched());
      // Against a manifest, "missing" is what no receipt of the transfer
      // matched: each arrival list is reconciled with the whole manifest, so
      // a second batch's list would count the first batch's people missing
      // again (docs/PROTOCOL.md §7, §8.6).
      if (tp.receipt_manifest_count) {
        const uint64_t n = *tp.receipt_manifest_count;
        sum.set_missing(n > sum.matched() ? n - sum.matched() : 0);
      } else {
        sum.set_missing(sum.missing() + rec.missing());
      }
      sum.set_not_on_manifest(sum.not_on_manifest() + rec.not_on_manifest());
      sum.set_unidentified(sum.unidentified() + rec.unidentified());
      sum.set_other_side(sum.other_side() + rec.other_side());
    }
    UpdateAgreementState(a);
  }

  LedgerState& s_;
};

std::string Label(const Charter& c, const StatementRef& r) {
  return c.party_code(r.party) + "#" + std::to_string(r.seq);
}

const char* KindWord(v1::ExchangeKind k) {
  switch (k) {
    case v1::REMAINS_TRANSFER: return "remains_transfer";
    case v1::PRISONER_EXCHANGE: return "prisoner_exchange";
    default: return "unspecified";
  }
}

}  // namespace

const char* ProposalStateName(ProposalState s) {
  switch (s) {
    case ProposalState::kOpen: return "open";
    case ProposalState::kAgreed: return "agreed";
    case ProposalState::kRejected: return "rejected";
    case ProposalState::kWithdrawn: return "withdrawn";
    case ProposalState::kExpired: return "expired";
    case ProposalState::kCountered: return "countered";
  }
  return "unknown";
}

const char* AgreementStateName(AgreementState s) {
  switch (s) {
    case AgreementState::kAgreed: return "agreed";
    case AgreementState::kInProgress: return "in_progress";
    case AgreementState::kCompleted: return "completed";
    case AgreementState::kDisputed: return "disputed";
    case AgreementState::kAmended: return "amended";
    case AgreementState::kCancelRequested: return "cancel_requested";
    case AgreementState::kCancelled: return "cancelled";
  }
  return "unknown";
}

const Proposal* LedgerState::Find(const Digest& id) const {
  auto it = by_id.find(id);
  return it == by_id.end() ? nullptr : &proposals[it->second];
}

std::vector<std::pair<PartyIndex, size_t>> CanonicalOrder(const std::vector<DecodedEntry>& feed0,
                                                          const std::vector<DecodedEntry>& feed1) {
  const std::vector<DecodedEntry>* feeds[2] = {&feed0, &feed1};
  std::vector<uint64_t> lamport[2];
  lamport[0].resize(feed0.size());
  lamport[1].resize(feed1.size());
  size_t next[2] = {0, 0};
  // Assign Lamport numbers in any causal order: an entry is ready once the
  // other feed has been numbered up to its seen.seq.
  while (next[0] < feed0.size() || next[1] < feed1.size()) {
    bool progressed = false;
    for (PartyIndex p = 0; p < 2; ++p) {
      while (next[p] < feeds[p]->size()) {
        const DecodedEntry& e = (*feeds[p])[next[p]];
        const uint64_t seen = e.entry.has_seen() ? e.entry.seen().seq() : 0;
        if (seen > next[1 - p]) break;
        uint64_t l = next[p] == 0 ? 0 : lamport[p][next[p] - 1];
        if (seen > 0) l = std::max(l, lamport[1 - p][seen - 1]);
        lamport[p][next[p]] = l + 1;
        ++next[p];
        progressed = true;
      }
    }
    // Validated feeds cannot see each other's future; PARLEY_CHECK guards
    // against a caller passing unvalidated feeds.
    PARLEY_CHECK(progressed);
  }
  std::vector<std::pair<PartyIndex, size_t>> order;
  order.reserve(feed0.size() + feed1.size());
  for (PartyIndex p = 0; p < 2; ++p) {
    for (size_t i = 0; i < feeds[p]->size(); ++i) order.emplace_back(p, i);
  }
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    const uint64_t la = lamport[a.first][a.second], lb = lamport[b.first][b.second];
    if (la != lb) return la < lb;
    if (a.first != b.first) return a.first < b.first;
    return a.second < b.second;
  });
  return order;
}

void StateBuilder::DeclareCompromised(PartyIndex party, uint64_t from_seq, uint64_t rotation_seq) {
  if (from_seq == 0 || from_seq >= rotation_seq) return;
  compromised_[party].push_back(CompromisedRange{from_seq, rotation_seq});
}

namespace {
// Attestations and statements: one side's word, changing no agreement.
bool IsClaim(v1::Entry::BodyCase kind) { return kind == v1::Entry::kAttestation || kind == v1::Entry::kStatement; }
}  // namespace

bool StateBuilder::OmitsClaim(PartyIndex party, uint64_t seq, v1::Entry::BodyCase kind) {
  if (!IsClaim(kind)) return false;
  if (state_.claims.size() < max_claims_) return false;
  for (const CompromisedRange& r : compromised_[party]) {
    if (seq >= r.from && seq < r.to) return false;
  }
  ++state_.claims_omitted;
  return true;
}

void StateBuilder::Apply(const DecodedEntry& e) {
  for (const CompromisedRange& r : compromised_[e.author()]) {
    if (e.seq() >= r.from && e.seq() < r.to) {
      state_.compromised.insert(e.id);
      state_.void_statements.push_back(
          VoidStatement{RefOf(e), e.kind(),
                        "signed with a key its author declared compromised from seq " + std::to_string(r.from) +
                            " (RotateKey at seq " + std::to_string(r.to) + "); no effect",
                        true});
      return;
    }
  }
  if (IsClaim(e.kind()) && state_.claims.size() >= max_claims_) {
    ++state_.claims_omitted;
    return;
  }
  Replayer(state_).Apply(e);
}

LedgerState StateBuilder::Finish(int64_t now_ms) && {
  for (Proposal& p : state_.proposals) {
    if (p.state == ProposalState::kOpen && Expired(p, now_ms)) p.state = ProposalState::kExpired;
  }
  return std::move(state_);
}

LedgerState ComputeState(const std::vector<DecodedEntry>& feed0,
                         const std::vector<DecodedEntry>& feed1, int64_t now_ms) {
  StateBuilder builder;
  const std::vector<DecodedEntry>* feeds[2] = {&feed0, &feed1};
  for (PartyIndex p = 0; p < 2; ++p) {
    for (const DecodedEntry& e : *feeds[p]) {
      if (e.kind() == v1::Entry::kRotateKey) {
        builder.DeclareCompromised(p, e.entry.rotate_key().compromised_from_seq(), e.seq());
      }
    }
  }
  for (const auto& [party, index] : CanonicalOrder(feed0, feed1)) {
    builder.Apply((*feeds[party])[index]);
  }
  return std::move(builder).Finish(now_ms);
}

std::optional<std::string> VoidReason(const LedgerState& state, const v1::Entry& candidate) {
  // What the candidate reads and changes: the proposals, and the entries
  // declared compromised. The lists it may add to start empty, so that
  // whatever lands in them is the candidate's doing.
  LedgerState scratch;
  scratch.proposals = state.proposals;
  scratch.by_id = state.by_id;
  scratch.compromised = state.compromised;
  DecodedEntry e;
  e.entry = candidate;
  // Agreement state never looks at signatures; an ID no stored entry has.
  e.id = Hash("parley/candidate", candidate.SerializeAsString());
  Replayer(scratch).Apply(e);
  for (const VoidStatement& v : scratch.void_statements) {
    if (v.at.id == e.id) return v.reason;
  }
  // A proposal whose counters / amends would do nothing, or an acceptance
  // that would leave an amendment's link without effect.
  for (const VoidLink& v : scratch.void_links) {
    if (v.by.id == e.id) return v.field + ": " + v.reason;
  }
  return std::nullopt;
}

void IncrementalState::DeclareCompromised(PartyIndex party, uint64_t from_seq, uint64_t rotation_seq) {
  builder_.DeclareCompromised(party, from_seq, rotation_seq);
  declared_.insert({party, rotation_seq});
}

bool IncrementalState::AddOne(const DecodedEntry& e, uint64_t lamport) {
  const PartyIndex p = e.author();
  if (lamport < last_lamport_ || (lamport == last_lamport_ && p < last_party_)) return false;
  const uint64_t from = e.kind() == v1::Entry::kRotateKey ? e.entry.rotate_key().compromised_from_seq() : 0;
  if (from != 0 && from < e.seq() && declared_.count({p, e.seq()}) == 0) return false;
  builder_.Apply(e);
  lamport_[p].push_back(lamport);
  heads_[p] = FeedHead{e.seq(), e.id, e.time_ms(), e.entry.has_seen() ? e.entry.seen().seq() : 0};
  last_lamport_ = lamport;
  last_party_ = p;
  return true;
}

bool IncrementalState::Add(const std::vector<DecodedEntry> (&next)[2]) {
  size_t at[2] = {0, 0};
  while (at[0] < next[0].size() || at[1] < next[1].size()) {
    // Of the two feeds' next entries, those whose seen is applied already;
    // the one first in canonical order (L, party) goes next.
    std::optional<PartyIndex> pick;
    uint64_t pick_l = 0;
    for (PartyIndex p = 0; p < 2; ++p) {
      if (at[p] >= next[p].size()) continue;
      const DecodedEntry& e = next[p][at[p]];
      if (e.author() != p || e.seq() != count(p) + 1) return false;
      const uint64_t seen = e.entry.has_seen() ? e.entry.seen().seq() : 0;
      if (seen > count(1 - p)) continue;
      uint64_t l = lamport_[p].empty() ? 0 : lamport_[p].back();
      if (seen > 0) l = std::max(l, lamport_[1 - p][seen - 1]);
      if (!pick || l + 1 < pick_l) {
        pick = p;
        pick_l = l + 1;
      }
    }
    // The rest name entries of the other feed not given yet (it was read a
    // moment earlier than this one): left for the next Add.
    if (!pick) return true;
    if (!AddOne(next[*pick][at[*pick]], pick_l)) return false;
    ++at[*pick];
  }
  return true;
}

std::string LedgerState::Render(const Charter& c) const {
  std::ostringstream out;
  for (const Proposal& p : proposals) {
    out << "proposal " << Label(c, p.proposed) << " " << KindWord(p.kind) << ": " << ProposalStateName(p.state);
    if (p.answered) out << " by " << Label(c, *p.answered);
    if (p.contested) out << " (contested)";
    out << (p.bilateral() ? " [bilateral]" : " [" + c.party_code(p.proposer()) + " alone]");
    if (p.counters) out << " counters " << Label(c, proposals[by_id.at(*p.counters)].proposed);
    if (p.amends) out << " amends " << Label(c, proposals[by_id.at(*p.amends)].proposed);
    if (p.agreement) {
      const Agreement& a = *p.agreement;
      out << "; agreement " << AgreementStateName(a.state);
      for (PartyIndex q = 0; q < 2; ++q) {
        if (a.cancel_requests[q]) out << " cancel:" << Label(c, *a.cancel_requests[q]);
      }
      for (size_t i = 0; i < a.transfers.size(); ++i) {
        const TransferProgress& t = a.transfers[i];
        if (t.handovers.empty() && t.receipts.empty()) continue;
        out << " t" << i << "=" << t.handed_over << "/" << t.received;
      }
    }
    out << "\n";
  }
  for (const VoidStatement& v : void_statements) {
    out << "void " << Label(c, v.at) << " " << KindName(v.kind) << ": " << v.reason << "\n";
  }
  for (const VoidLink& v : void_links) {
    out << "link void " << Label(c, v.at) << " " << KindName(v.kind) << " " << v.field << ": " << v.reason << "\n";
  }
  for (const Claim& cl : claims) {
    out << "claim " << Label(c, cl.at) << " " << KindName(cl.kind) << " [" << c.party_code(cl.at.party)
        << " alone]: " << cl.text << "\n";
  }
  return out.str();
}

}  // namespace parley
