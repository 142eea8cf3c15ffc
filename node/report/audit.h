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
//   time          entries whose declared time contradicts the witnesses'
//                 cosignatures (witness_coverage.h);
// and every key rotation: who rotated where, and whether it is in effect;
// and every manifest disclosure on record; and what the bundle's cosigned
// checkpoints prove (WitnessSummary): how far each witness cosigned each
// feed, and when a witness had seen each entry.
//
// Thread safety: pure functions over their inputs.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"
#include "node/protocol/agreements.h"
#include "node/protocol/charter.h"
#include "node/report/witness_coverage.h"

namespace parley {

// The kinds of audit findings, and how every report (text, JSON, HTML) names
// and counts them. One row per kind, in the order reports count them:
//   X(enumerator, JSON name (stable: part of docs/PROTOCOL.md §13),
//     makes the ledger unclean, HTML verdict words for one and for many,
//     HTML pill class, glossary meaning)
// Adding a kind is adding its row here; every report then lists it, counts
// it, and gives its omitted count.
#define PARLEY_FINDING_KINDS(X)                                                                                    \
  X(kViolation, "violation", true, "violation", "violations", "f-bad",                                         \
    "an entry that breaks the ledger's rules (bad signature, broken chain, ...)")                                 \
  X(kFork, "fork", true, "fork", "forks", "f-bad", "a side signed two different entries at the same place in its record") \
  X(kVoid, "void", false, "void statement", "void statements", "f-void",                                        \
    "a signed statement that has no effect (e.g. accepting a proposal already countered)")                        \
  X(kContested, "contested", false, "contested agreement", "contested agreements", "f-warn",                    \
    "an acceptance and a withdrawal crossed; the acceptance stands")                                              \
  X(kDiscrepancy, "discrepancy", false, "discrepancy", "discrepancies", "f-warn",                               \
    "reported counts or manifests that do not match each other or the agreement")                                 \
  X(kCompromised, "compromised", false, "entry signed with a compromised key",                                  \
    "entries signed with a compromised key", "f-void",                                                            \
    "signed with a key its owner later declared stolen: kept, without effect")                                    \
  X(kVoidLink, "void-link", false, "void link", "void links", "f-void",                                          \
    "a statement that stands while one of its links (counters, amends) has no effect")                            \
  X(kTime, "time", false, "time finding", "time findings", "f-warn",                                             \
    "an entry's declared time contradicts the witnesses' cosignatures: after a witness had seen it, or before a "  \
    "witness's earlier checkpoint that did not hold it (possible backdating)")

enum class FindingKind : uint8_t {
#define PARLEY_FINDING_ENUMERATOR(id, ...) id,
  PARLEY_FINDING_KINDS(PARLEY_FINDING_ENUMERATOR)
#undef PARLEY_FINDING_ENUMERATOR
};

// Every kind, in the order reports count them.
inline constexpr FindingKind kFindingKinds[] = {
#define PARLEY_FINDING_VALUE(id, ...) FindingKind::id,
    PARLEY_FINDING_KINDS(PARLEY_FINDING_VALUE)
#undef PARLEY_FINDING_VALUE
};
inline constexpr size_t kFindingKindCount = std::size(kFindingKinds);

// What reports say about one kind.
struct FindingKindInfo {
  std::string_view name;  // the stable JSON name, e.g. "violation"
  bool unclean;           // a finding of this kind makes the ledger unclean
  std::string_view one;   // "void statement": the HTML verdict's words for 1
  std::string_view many;  // "void statements": for any other number
  std::string_view html_class;  // the HTML report's pill class
  std::string_view meaning;     // the HTML glossary's explanation
};
const FindingKindInfo& InfoOf(FindingKind kind);
// The kind's stable JSON name ("violation", "fork", ...; docs/PROTOCOL.md §13).
inline std::string_view FindingName(FindingKind kind) { return InfoOf(kind).name; }
// The kind named `name`, if any.
std::optional<FindingKind> FindingKindNamed(std::string_view name);
// Compares a kind with a JSON name: `f.kind == "void"`.
inline bool operator==(FindingKind kind, std::string_view name) { return FindingName(kind) == name; }

struct AuditFinding {
  FindingKind kind = FindingKind::kViolation;
  std::string where;  // e.g. "record 7 (RU#5)" or "agreement RU#1"
  std::string what;   // the reason, in words
};

// One side's word alone (AuditReport::unilateral): not a finding; JSON kind
// "unilateral".
struct UnilateralItem {
  std::string where;  // e.g. "proposal RU#1" or "RU#4 attestation"
  std::string what;   // in words
};

// One Disclose entry (docs/PROTOCOL.md §8.4): a node's record that it sent
// one of its manifests to the other party.
struct ManifestDisclosure {
  StatementRef at;      // the Disclose entry: party, seq, ID, time
  Digest manifest;      // the manifest's root
  uint64_t count = 0;   // its records
  PartyIndex to = 0;    // the recipient
};

// One entry as the timeline of the HTML report shows it, in canonical order.
struct TimelineItem {
  StatementRef at;
  v1::Entry::BodyCase kind = v1::Entry::BODY_NOT_SET;
  std::optional<Digest> target;  // the proposal/agreement/entry it refers to
  std::string text;              // one-line description
  std::optional<EntryEvidence> evidence;  // the earliest witness cosignature covering it, if any
};

struct AuditOptions {
  int64_t now_ms = 0;          // when open proposals are judged expired; the report's time of audit
  int threads = 2;             // signature verification threads
  size_t max_timeline = 20000; // timeline items kept (0 = none)
  // `--require-witnesses [K]`: each feed's head must be covered by K
  // cosignatures of distinct charter witnesses, else exit 1
  // (docs/PROTOCOL.md §13). K unset: the charter's required_cosignatures.
  bool require_witnesses = false;
  std::optional<uint32_t> required_cosignatures;
};

// The evidence runs of one feed a report lists; the rest are counted.
inline constexpr size_t kMaxEvidenceRuns = 100;

// What the bundle's cosigned checkpoints prove (docs/PROTOCOL.md §13).
struct WitnessSummary {
  uint64_t checkpoint_records = 0;  // checkpoint records read
  uint64_t valid_checkpoints = 0;   // of them, valid (party-signed, root of the bundle's feed)
  uint32_t required = 0;            // K: --require-witnesses K, else the charter's
  bool enforced = false;            // --require-witnesses given
  struct Feed {
    uint64_t head = 0;                    // the verified head (AuditSubject::heads)
    std::vector<uint64_t> by_witness;     // per charter witness: the largest size it cosigned
    uint64_t covered = 0;                 // entries 1..covered covered by `required` distinct witnesses
    std::vector<EvidenceRun> runs;        // entries 1..head with evidence, grouped
    uint64_t runs_omitted = 0;
  } feeds[2];
  // True iff every feed's head is covered by `required` witnesses.
  bool met() const { return feeds[0].covered >= feeds[0].head && feeds[1].covered >= feeds[1].head; }
};

// What an audit audited, with what and when: every report (text, JSON, HTML)
// names it (docs/PROTOCOL.md §13).
struct AuditSubject {
  Digest bundle_digest;        // H("parley/bundle/v1", the file's bytes): kBundleDigestDomain, §12
  uint64_t bundle_bytes = 0;   // the file's size
  // Per party, the last entry of its feed the audit verified (seq 0: none):
  // the head of the feed as the bundle holds it, or, after a feed's first
  // violation or fork, the last entry before it.
  FeedHead heads[2];
  std::string exported_by;     // the header's word, not verified (the other side may have written it)
  int64_t exported_ms = 0;     // likewise
  std::string parley_release;  // ParleyRelease() of the build that audited
  std::string parley_commit;   // ParleyCommit()
  uint32_t protocol_version = 0;  // kProtocolVersion it applied
  int64_t audited_ms = 0;      // when it ran: AuditOptions::now_ms
};

struct AuditKeyRotation {
  PartyIndex party = 0;
  KeyRotation rotation;  // acknowledged_by 0: not yet in effect (pending)
};

// At most this many findings of one kind are kept in detail; the rest are
// only counted (AuditReport::omitted). A bundle of a million garbage records
// thus costs the audit no more memory, and its report no more lines, than a
// hundred would (docs/PROTOCOL.md §13).
inline constexpr size_t kMaxFindingsPerKind = 100;
// The claims (attestations, statements) an audit lists; the rest are counted
// (LedgerState::claims_omitted), so that the audit's memory does not grow
// with a ledger made of statements.
inline constexpr size_t kMaxClaimsListed = 1000;

struct AuditReport {
  std::string charter_bytes;
  AuditSubject audited;
  uint64_t entries[2] = {0, 0};    // entries verified per party
  uint64_t records = 0;            // entry and fork-proof records read
  uint64_t unchecked = 0;          // entries after a feed's first violation
  // violation, fork, void, contested, discrepancy, compromised: the first
  // kMaxFindingsPerKind of each kind, in the order found. Add with AddFinding.
  std::vector<AuditFinding> findings;
  std::array<uint64_t, kFindingKindCount> omitted{};  // per kind: found but not kept in `findings`
  // One side's word: not problems, but never agreement. Open proposals and
  // one-sided cancel requests first, then one item per claim of
  // `state.claims` (attestations, statements), in that order.
  std::vector<UnilateralItem> unilateral;
  std::vector<AuditKeyRotation> key_rotations;  // in feed order per party
  // Every Disclose entry in canonical order, but those signed with a key
  // their author declared compromised (those are `compromised` findings).
  std::vector<ManifestDisclosure> disclosures;
  LedgerState state;
  std::vector<TimelineItem> timeline;  // canonical order; see max_timeline
  bool timeline_truncated = false;
  WitnessSummary witnesses;

  // Keeps `f` in `findings`, or only counts it once its kind has
  // kMaxFindingsPerKind there.
  void AddFinding(AuditFinding f);
  // Findings of `kind` found: those kept plus those omitted.
  uint64_t Count(FindingKind kind) const;
  uint64_t Omitted(FindingKind kind) const { return omitted[static_cast<size_t>(kind)]; }
  // By JSON name ("violation"); 0 for a name that is no kind.
  uint64_t Count(std::string_view name) const;
  uint64_t Omitted(std::string_view name) const;

  bool clean() const;  // no finding of an unclean kind: violation, fork (compromised entries are not violations)
  // 1 if not clean, or if witnesses are required and a feed's head is not covered.
  int exit_code() const { return clean() && (!witnesses.enforced || witnesses.met()) ? 0 : 1; }
};

// Audits the bundle at `path`, streaming it: memory grows with the number of
// valid entries by about 100 bytes each (plus 32 for its RFC 6962 leaf hash,
// and 8 for its declared time when the charter lists witnesses), never with
// their size, nor with the number of records it rejects (see kMaxFindingsPerKind). Signatures are
// verified on `threads` threads. An error Status means unusable input (not a
// bundle, truncated, unknown version, charter unreadable, wrong trailer
// counts, data after the trailer: docs/PROTOCOL.md §12.1): exit code 2.
Result<AuditReport> AuditBundle(const std::string& path, const AuditOptions& options);

// A one-line description of an entry ("proposes RU→UA 1212 remains", ...).
std::string DescribeEntry(const Charter& charter, const v1::Entry& entry);
// One line on a key rotation: pending or in effect, and what it declares compromised.
std::string DescribeRotation(const Charter& charter, const AuditKeyRotation& rotation);

// The report's manifest disclosures (docs/PROTOCOL.md §8.4), in canonical
// order, each {party, seq, time, manifest, count, to}.
std::vector<nlohmann::json> ManifestDisclosures(const Charter& charter, const AuditReport& report);

// One feed's head as reports name it: "UA#6 <entry id in hex>", or "UA: no entry".
std::string DescribeHead(const Charter& charter, PartyIndex party, const FeedHead& head);
// "parley 0.1.0 (protocol v1, commit 1a2b3c4d5e6f) at 2025-06-08T12:00:00Z":
// the build that audited and when.
std::string AuditedBy(const AuditSubject& audited);

// "RU#41..#57 not covered by 1 witness" for each feed whose head the
// required witnesses do not cover (empty when both are).
std::vector<std::string> UnwitnessedTails(const Charter& charter, const WitnessSummary& w);
// "existed by 2025-06-08T12:00:00Z, per witness \"W\"" (the name through Printable).
std::string DescribeEvidence(const Charter& charter, const EntryEvidence& evidence);

// The human report and the machine one (schema in docs/PROTOCOL.md §13).
std::string RenderAudit(const AuditReport& report);
nlohmann::json AuditJson(const AuditReport& report);

}  // namespace parley
