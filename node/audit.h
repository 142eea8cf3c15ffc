// Audit: verify a ledger from an export bundle, trusting neither node.
//
// Every entry is checked under every structural rule (docs/PROTOCOL.md §4)
// by replaying it into a read-only Ledger; every fork proof is checked;
// then the agreement state is recomputed (§7) with the same code the nodes
// use, and the report lists what it found:
//   violations    structural failures and forks — the ledger is not clean;
//   void          signed statements without effect;
//   contested     agreements where an acceptance and a withdrawal crossed;
//   unilateral    open proposals, cancel requests, attestations, statements;
//   discrepancies handover vs receipt counts, counts vs agreed, reconciliation;
//   compromised   entries signed with a key their author declared compromised
//                 (without effect);
// and every key rotation: who rotated where, and whether it is in effect;
// and every manifest disclosure on record.
//
// Thread safety: pure functions over their inputs.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"
#include "node/agreements.h"
#include "node/charter.h"

namespace parley {

struct AuditFinding {
  std::string kind;   // "violation", "fork", "void", "void-link", "compromised", "contested", "discrepancy"; or "unilateral"
  std::string where;  // e.g. "record 7 (RU#5)" or "agreement RU#1"
  std::string what;   // the reason, in words
};

// One entry as the timeline of the HTML report shows it, in canonical order.
struct TimelineItem {
  StatementRef at;
  v1::Entry::BodyCase kind = v1::Entry::BODY_NOT_SET;
  std::optional<Digest> target;  // the proposal/agreement/entry it refers to
  std::string text;              // one-line description
};

struct AuditOptions {
  int64_t now_ms = 0;          // when open proposals are judged expired
  int threads = 2;             // signature verification threads
  size_t max_timeline = 20000; // timeline items kept (0 = none)
};

struct AuditKeyRotation {
  PartyIndex party = 0;
  KeyRotation rotation;  // acknowledged_by 0: not yet in effect (pending)
};

// The kinds of AuditReport::findings, in the order reports count them.
inline constexpr std::string_view kFindingKinds[] = {"violation",   "fork",        "void",     "contested",
                                                     "discrepancy", "compromised", "void-link"};

// At most this many findings of one kind are kept in detail; the rest are
// only counted (AuditReport::omitted). A bundle of a million garbage records
// thus costs the audit no more memory, and its report no more lines, than a
// hundred would (docs/PROTOCOL.md §13).
inline constexpr size_t kMaxFindingsPerKind = 100;

struct AuditReport {
  std::string charter_bytes;
  uint64_t entries[2] = {0, 0};    // entries verified per party
  uint64_t records = 0;            // entry and fork-proof records read
  uint64_t unchecked = 0;          // entries after a feed's first violation
  // violation, fork, void, contested, discrepancy, compromised: the first
  // kMaxFindingsPerKind of each kind, in the order found. Add with AddFinding.
  std::vector<AuditFinding> findings;
  std::map<std::string, uint64_t, std::less<>> omitted;  // per kind: found but not kept in `findings`
  // One side's word: not problems, but never agreement. Open proposals and
  // one-sided cancel requests first, then one item per claim of
  // `state.claims` (attestations, statements), in that order.
  std::vector<AuditFinding> unilateral;
  std::vector<AuditKeyRotation> key_rotations;  // in feed order per party
  LedgerState state;
  std::vector<TimelineItem> timeline;  // canonical order; see max_timeline
  bool timeline_truncated = false;

  // Keeps `f` in `findings`, or only counts it once its kind has
  // kMaxFindingsPerKind there.
  void AddFinding(AuditFinding f);
  // Findings of `kind` found: those kept plus those omitted.
  uint64_t Count(std::string_view kind) const;
  uint64_t Omitted(std::string_view kind) const;

  bool clean() const;  // no violation and no fork (compromised entries are not violations)
  int exit_code() const { return clean() ? 0 : 1; }
};

// Audits the bundle at `path`, streaming it: memory grows with the number of
// valid entries by about 100 bytes each, never with their size, nor with the
// number of records it rejects (see kMaxFindingsPerKind). Signatures are
// verified on `threads` threads. An error Status means unusable input (not a
// bundle, truncated, unknown version, charter unreadable): exit code 2.
Result<AuditReport> AuditBundle(const std::string& path, const AuditOptions& options);

// A one-line description of an entry ("proposes RU→UA 1212 remains", ...).
std::string DescribeEntry(const Charter& charter, const v1::Entry& entry);
// One line on a key rotation: pending or in effect, and what it declares compromised.
std::string DescribeRotation(const Charter& charter, const AuditKeyRotation& rotation);

// The manifest disclosure statements of the two feeds (docs/PROTOCOL.md
// §8.4), in canonical order, each {party, seq, time, manifest, count, to}.
std::vector<nlohmann::json> ManifestDisclosures(const Charter& charter, const LedgerState& state);

// The human report and the machine one (schema in docs/PROTOCOL.md §13).
std::string RenderAudit(const AuditReport& report);
nlohmann::json AuditJson(const AuditReport& report);

}  // namespace parley
