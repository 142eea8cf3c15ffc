// Agreement state: a pure function of the two feeds.
//
// ComputeState replays both feeds in the canonical causal order (see
// docs/PROTOCOL.md, "State"): each entry gets a Lamport number
// L = 1 + max(L(own previous entry), L(other feed's entry at seen.seq)),
// and entries are applied in order of (L, party index). Every node and every
// auditor that holds the same feeds computes the same state.
//
// The result says, for every proposal and agreement, who signed what and
// when, and whether it is bilateral (signed by both) or one side's alone.
// Statements that are kept in the feed but have no effect (a late accept, an
// accept of one's own proposal, ...) are listed as void, with the reason. A
// statement that stands while one of its links has no effect (a proposal whose
// `counters` or `amends` names something it cannot counter or amend) is not
// void: it is listed apart, as a void link (docs/PROTOCOL.md §7).
//
// Thread safety: pure function; the result is a value.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "node/protocol/charter.h"
#include "node/protocol/entry.h"

namespace parley {

enum class ProposalState { kOpen, kAgreed, kRejected, kWithdrawn, kExpired, kCountered };
enum class AgreementState {
  kAgreed,           // signed by both; nothing executed yet
  kInProgress,       // at least one handover or receipt
  kCompleted,        // every transfer handed over and received, counts equal
  kDisputed,         // a transfer's handed-over and received counts or manifests differ, or a
                     // receipt's reconciliation reports anything but matched records
  kAmended,          // replaced by an agreed amendment
  kCancelRequested,  // one party asked to cancel
  kCancelled,        // both parties cancelled
};

const char* ProposalStateName(ProposalState s);
const char* AgreementStateName(AgreementState s);

// Where a statement stands in the ledger.
struct StatementRef {
  PartyIndex party = 0;
  uint64_t seq = 0;
  Digest id;
  int64_t time_ms = 0;   // the author's clock
  uint64_t seen_seq = 0; // how much of the other feed the author had seen
};

struct TransferProgress {
  uint64_t handed_over = 0;  // sum of handover counts
  uint64_t received = 0;     // sum of receipt counts
  std::vector<StatementRef> handovers;
  std::vector<StatementRef> receipts;
  std::optional<Digest> handover_manifest;  // latest handover's manifest root
  std::optional<Digest> receipt_manifest;   // latest receipt's manifest root
  std::optional<uint64_t> receipt_manifest_count;  // its count
  // Summed over receipts, except `missing` once a receipt named a manifest:
  // then the manifest's count minus the records matched (never below 0).
  v1::Reconciliation reconciliation;
};

struct Agreement {
  AgreementState state = AgreementState::kAgreed;
  StatementRef accepted;  // the acceptance that made it
  std::vector<TransferProgress> transfers;  // one per agreed transfer
  std::array<std::optional<StatementRef>, 2> cancel_requests;
  std::optional<Digest> amended_by;  // the agreed amendment that replaced it
};

struct Proposal {
  Digest id;
  StatementRef proposed;
  PartyIndex proposer() const { return proposed.party; }
  v1::ExchangeKind kind = v1::EXCHANGE_KIND_UNSPECIFIED;
  v1::Terms terms;
  Digest terms_digest;
  // The links as they took effect; a link that did not is null here and
  // listed in LedgerState::void_links (with the ID it named).
  std::optional<Digest> counters;  // the proposal this one countered (if effective)
  std::optional<Digest> amends;    // the agreement this one amends or would amend (if effective)
  int64_t expires_ms = 0;

  ProposalState state = ProposalState::kOpen;
  std::optional<StatementRef> answered;  // the accept / reject / withdraw / counter
  std::optional<Digest> countered_by;
  // An acceptance and a withdrawal crossed (neither author had seen the
  // other): the acceptance stands by the mailbox rule, flagged here.
  bool contested = false;
  std::optional<Agreement> agreement;  // when state == kAgreed

  bool bilateral() const { return state == ProposalState::kAgreed; }
};

// A statement kept in a feed that has no effect at all.
struct VoidStatement {
  StatementRef at;
  v1::Entry::BodyCase kind;
  std::string reason;
  // Signed with a key its author later declared compromised (a RotateKey's
  // compromised_from_seq, docs/PROTOCOL.md §5.1): without effect for that
  // reason alone.
  bool compromised = false;
};

// A link of a statement that stands, without effect: the statement has its
// effect (a proposal is made), the link does not (nothing is countered or
// amended). Never also in void_statements.
struct VoidLink {
  StatementRef at;            // the statement that carries the link
  v1::Entry::BodyCase kind;   // kPropose
  std::string field;          // "counters" or "amends"
  std::optional<Digest> target;  // the ID the link names
  std::string reason;
  // The statement that found the link void: `at` itself, or the Accept that
  // made an amendment an agreement after the agreement it named left force.
  StatementRef by;
};

// A one-sided claim: attestations and statements on record.
struct Claim {
  StatementRef at;
  v1::Entry::BodyCase kind;  // kAttestation or kStatement
  std::string text;          // what (+ where) or the statement text
  int64_t when_ms = 0;       // attestation's claimed time; 0 if none
  std::optional<Digest> reference;
};

struct LedgerState {
  std::vector<Proposal> proposals;  // in canonical order
  // Deques: a long ledger adds one claim per statement, and a deque grows
  // without the doubling copies of a vector.
  std::deque<VoidStatement> void_statements;
  std::deque<VoidLink> void_links;  // in the order found (canonical order)
  std::deque<Claim> claims;
  // Claims past the StateBuilder's max_claims: counted, not kept (the
  // auditor's bound on memory; a node keeps every claim).
  uint64_t claims_omitted = 0;
  std::map<Digest, size_t> by_id;  // proposal ID -> index in proposals
  // Entries signed with a key declared compromised (each also in
  // void_statements), so that statements naming them can say so.
  std::set<Digest> compromised;

  const Proposal* Find(const Digest& id) const;
  // One line per proposal, void statement, void link and claim, in a fixed
  // format, for tests and logs: e.g.
  //   "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement completed t0=1212/1212"
  //   "void RU#2 withdraw: the proposal was already rejected"
  //   "link void UA#3 propose amends: the agreement named was already completed; ..."
  std::string Render(const Charter& charter) const;
};

// REQUIRES: each feed holds one party's entries from seq 1 without gaps, all
// of which passed DecodeEntry and CheckSuccessor (as stored by a Ledger or
// verified by the auditor). now_ms decides which open proposals have expired.
// Entries a RotateKey in the feeds declares compromised have no effect.
LedgerState ComputeState(const std::vector<DecodedEntry>& feed0,
                         const std::vector<DecodedEntry>& feed1, int64_t now_ms);

// The same computation one entry at a time, for callers that stream the
// feeds (the auditor). REQUIRES: entries are applied in canonical order, and
// every RotateKey's compromised range is declared before the first Apply.
class StateBuilder {
 public:
  // Keeps the first `max_claims` claims (attestations and statements; they
  // change no agreement) and counts the rest in LedgerState::claims_omitted.
  explicit StateBuilder(size_t max_claims = SIZE_MAX) : max_claims_(max_claims) {}
  // `party`'s entries with seq in [from_seq, rotation_seq) were signed with a
  // key that party declared compromised in its RotateKey at rotation_seq:
  // they are void. from_seq 0 declares nothing.
  void DeclareCompromised(PartyIndex party, uint64_t from_seq, uint64_t rotation_seq);
  void Apply(const DecodedEntry& e);
  // The state so far, before Finish (open proposals not yet expired as of
  // a time): what VoidReason needs.
  const LedgerState& state() const { return state_; }
  // If an entry of `kind` at `party`'s `seq` would only be counted as an
  // omitted claim (the claims list is full and no compromised range covers
  // it), counts it and returns true: the caller need not decode it. Else
  // returns false and changes nothing; the caller Applies the entry.
  bool OmitsClaim(PartyIndex party, uint64_t seq, v1::Entry::BodyCase kind);
  LedgerState Finish(int64_t now_ms) &&;

 private:
  struct CompromisedRange {
    uint64_t from, to;  // [from, to): to is the RotateKey's seq
  };
  std::vector<CompromisedRange> compromised_[2];
  size_t max_claims_;
  LedgerState state_;
};

// Whether `candidate` would be void: its author's next entry, header fields
// set (author, seq, seen, time_ms; the rest of the header is not looked at),
// applied after everything `state` holds. `state` is a state before Finish
// (StateBuilder::state(), IncrementalState::state()) of entries that all
// come before the candidate in canonical order — true of a party's next
// entry, whose seen is the other feed's head. The reason a void statement
// gets (docs/PROTOCOL.md §7), or for a statement that stands while a link it
// carries or finds is void, "field: reason". nullopt: it would take effect.
// Pure: `state` is not changed, and no signature is needed.
std::optional<std::string> VoidReason(const LedgerState& state, const v1::Entry& candidate);

// Agreement state kept up to date as the feeds grow, for a node that asks
// VoidReason on every statement it is to sign. Entries are added in
// canonical order; an entry that would not come after everything applied
// (the other party wrote it without having seen entries applied already),
// or a RotateKey declaring earlier entries compromised that was not declared
// up front, is refused: then the caller starts again from an empty one
// (DeclareCompromised for every rotation first), which always succeeds.
class IncrementalState {
 public:
  // As StateBuilder's. REQUIRES: before any Add.
  void DeclareCompromised(PartyIndex party, uint64_t from_seq, uint64_t rotation_seq);
  // Applies each feed's next entries (`next[p]`: `p`'s entries from seq
  // count(p) + 1 on, in seq order) in canonical order. Entries whose seen
  // names an entry of the other feed not applied and not given (the feeds
  // were read one after the other) are left for a later Add: count() says
  // how far it got. False if one cannot be applied (see above); what came
  // before it stays applied.
  bool Add(const std::vector<DecodedEntry> (&next)[2]);
  uint64_t count(PartyIndex p) const { return lamport_[p].size(); }
  // The head of each feed as applied (seq 0: empty).
  const FeedHead& head(PartyIndex p) const { return heads_[p]; }
  const LedgerState& state() const { return builder_.state(); }

 private:
  bool AddOne(const DecodedEntry& e, uint64_t lamport);
  StateBuilder builder_;
  std::vector<uint64_t> lamport_[2];
  FeedHead heads_[2];
  uint64_t last_lamport_ = 0;
  PartyIndex last_party_ = 0;
  std::set<std::pair<PartyIndex, uint64_t>> declared_;  // (party, RotateKey seq) declared up front
};

// Canonical order of the two feeds: pairs (party, index into that feed).
std::vector<std::pair<PartyIndex, size_t>> CanonicalOrder(const std::vector<DecodedEntry>& feed0,
                                                          const std::vector<DecodedEntry>& feed1);

}  // namespace parley
