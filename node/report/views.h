// Views: what operators and auditors read — the agreement state rendered as
// text for people and as JSON for machines. `parley list` and `parley show`
// print them (`--json` for the JSON forms); the auditor reuses them.
//
// Every view says plainly what is bilateral and what is unilateral: only an
// agreed proposal is signed by both sides; an open proposal, a cancel request,
// a handover or receipt report, an attestation or a statement is one side's
// word alone. A proposed window, an agreed window and an executed time are
// three different things and are never shown as one another.
//
// Times are UTC. JSON carries them as ISO-8601 strings, "2025-06-08T12:00:00Z"
// (with ".mmm" before the Z only when the milliseconds are not zero); text
// views write "2025-06-08 12:00 UTC" in summaries and the ISO form elsewhere.
//
// Thread safety: pure functions over values; safe to call concurrently.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"
#include "crypto/types.h"
#include "node/base/json.h"
#include "node/base/time.h"
#include "node/protocol/agreements.h"
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"
#include "node/report/witness_coverage.h"

namespace parley {

// JSON schema of StateJson (key names are stable; new keys may be added).
// A REF is where a statement stands in the ledger:
//   REF = {"party": "RU", "seq": 1, "id": HEX, "time": ISO}   // author's clock
// HEX is a 64-digit lower-case entry ID; ISO a UTC time as above.
//
//   {
//     "ledger_id": HEX,
//     "title": "Return of remains ...",
//     "parties": [{"index": 0, "code": "UA", "name": "..."}, {"index": 1, ...}],
//     "proposals": [PROPOSAL, ...],           // canonical order
//     "void_statements": [{"party": "UA", "seq": 3, "id": HEX,   // no effect at all
//                          "kind": "accept",  // entry kind, see KindName
//                          "reason": "the proposal was already countered"}],
//     "void_links": [{"party": "RU", "seq": 2, "id": HEX,        // the statement stands;
//                     "kind": "propose",                        // this link of it has no effect
//                     "field": "counters" | "amends",
//                     "target": HEX | null,                     // the ID the link names
//                     "reason": "the agreement named was already completed; ..."}],
//     "claims": [CLAIM, ...]                  // one side's word alone
//   }
//   PROPOSAL = {
//     "id": HEX,                              // = the agreement's ID if agreed
//     "proposer": "RU",
//     "kind": "remains_transfer" | "prisoner_exchange" | "unspecified",
//     "state": "open" | "agreed" | "rejected" | "withdrawn" | "expired" | "countered",
//     "bilateral": bool,                      // true iff state == "agreed"
//     "contested": bool,                      // an acceptance and a withdrawal crossed
//     "proposed": REF,
//     "terms": {
//       "transfers": [{"from": "RU", "to": "UA",
//                      "category": "remains" | "prisoners_of_war" | "civilian_detainees",
//                      "count": 1212,
//                      "manifest": {"root": HEX, "count": 1212}}],  // "manifest" only if given
//       "crossing_point": "...",
//       "transport": "road" | "rail" | "air" | "sea" | "other",
//       "window": {"start": ISO, "end": ISO}, // as proposed by the proposer
//       "intermediary": "...", "notes": "..."
//     },
//     "terms_digest": HEX,                    // what an acceptance commits to
//     "expires": ISO | null,                  // null: never
//     "counters": HEX | null,                 // the proposal this one countered (if effective)
//     "amends": HEX | null,                   // the agreement this one would replace (if effective)
//     "void_links": [{"field": "counters" | "amends", "target": HEX | null,
//                     "reason": "..."}],     // its links without effect (also in the
//                                             // state's "void_links"); [] when none
//     "countered_by": HEX | null,
//     "answered": REF | null,                 // the accept / reject / withdraw / counter
//     "agreement": null | {                   // present iff state == "agreed"
//       "state": "agreed" | "in_progress" | "completed" | "disputed" | "amended" |
//                "cancel_requested" | "cancelled",
//       "accepted": REF,                      // the acceptance that made it
//       "transfers": [{                       // one per agreed transfer, same order
//         "handed_over": 1212, "received": 1212,   // summed report counts
//         "handovers": [REF, ...], "receipts": [REF, ...],
//         "handover_manifest": HEX | null, "receipt_manifest": HEX | null,
//         "reconciliation": {"matched": 0, "missing": 0, "not_on_manifest": 0,
//                            "unidentified": 0, "other_side": 0}  // summed over receipts
//       }],
//       "cancel_requests": {"UA": REF, ...},  // only the parties that asked
//       "amended_by": HEX | null
//     }
//   }
//   CLAIM = {"party": "RU", "seq": 4, "id": HEX, "time": ISO,
//            "kind": "attestation" | "statement",
//            "text": "...",                   // attestation: what (" @ where")
//            "when": ISO | null,              // attestation's claimed time
//            "reference": HEX | null}
nlohmann::json StateJson(const Charter& charter, const LedgerState& state);

// The table `parley list` prints: one line per proposal (short ID = first 12
// hex digits, proposer, kind, terms in brief, and where it stands in words,
// e.g. "AGREED (signed by both) — completed" or "open — proposed by RU alone,
// not accepted"), then "One-sided claims" and, if any, "Void statements" and
// "Void links" (a statement that stands, one of whose links has no effect:
// "RU#3  ISO  propose, link void: amends RU#1 (…): reason").
// An empty ledger reads "No proposals yet."
//
// `state_filter`, if given, keeps only the proposals whose proposal state or
// agreement state has that name ("open", "agreed", "countered", "completed",
// "cancel_requested", ...; case-insensitive, '-' accepted for '_'); claims and
// void statements are always listed. kInvalidArgument names the valid states
// if `state_filter` is none of them.
Result<std::string> RenderList(const Charter& charter, const LedgerState& state,
                               std::optional<std::string> state_filter = std::nullopt);

// The whole history of one proposal or agreement, as `parley show ID` prints
// it: the terms in full; then, in canonical order, every entry that concerns
// it, one per line as "CODE#seq  time  what", with void ones marked
// "(void: reason)" and a void link of one that stands "(link void: amends
// RU#1 (…): reason)"; then a summary that keeps apart the windows proposed (and
// by whom), the windows agreed (signed by both), the executed times reported
// in handovers and receipts, and the one-sided claims.
//
// The entries that concern proposal P: P and the proposals it counters or
// amends, transitively (its thread); every entry naming one of them (accept,
// reject, withdraw, cancel, handover, receipt, a later counter-proposal or
// amendment of it); and every attestation or statement referring to one of
// those, except to a later counter-proposal or amendment, which has a history
// of its own. The summary covers the proposals of the thread.
//
// REQUIRES: `state` was computed by ComputeState from feed0 and feed1.
// kNotFound if no proposal has ID `id` (see ResolveIdPrefix for short IDs).
// With `coverage` (the cosigned checkpoints the node holds, CoverFeeds),
// each history line also says when a witness first covered the entry.
Result<std::string> RenderShow(const Charter& charter, const LedgerState& state,
                               const std::vector<DecodedEntry>& feed0,
                               const std::vector<DecodedEntry>& feed1, const Digest& id,
                               const WitnessCoverage* coverage = nullptr);

// The same content as RenderShow, for `parley show ID --json`:
//   {
//     "proposal": PROPOSAL,                   // as in StateJson
//     "history": [{"party": "RU", "seq": 1, "id": HEX, "time": ISO,
//                  "kind": "propose",         // entry kind, see KindName
//                  "text": "proposes ...",    // as in the text view
//                  "void": "reason" | null,  // the statement has no effect
//                  "void_links": [{"field", "target", "reason"}],  // it stands; these links do not
//                  "witnessed": {"by": ISO, "witness": NAME, "size": N} | null}],  // with coverage:
//                                             // the earliest cosignature covering the entry
//     "summary": {
//       "proposed": [{"proposal": HEX, "by": "RU", "seq": 1,
//                     "window": {"start": ISO, "end": ISO},
//                     "state": "countered"}], // each one side's proposal
//       "agreed": [{"proposal": HEX, "window": {"start": ISO, "end": ISO},
//                   "proposed": REF, "accepted": REF,
//                   "state": "completed"}],   // agreement state; signed by both
//       "executed": [{"party": "RU", "seq": 3, "id": HEX,
//                     "kind": "handover" | "receipt", "transfer": 0, "count": 1212,
//                     "at": ISO | null,       // handed_over_ms / received_ms
//                     "place": "...", "void": "reason" | null}],
//       "claims": [CLAIM, ...]                // as in StateJson
//     }
//   }
Result<nlohmann::json> ShowJson(const Charter& charter, const LedgerState& state,
                                const std::vector<DecodedEntry>& feed0,
                                const std::vector<DecodedEntry>& feed1, const Digest& id,
                                const WitnessCoverage* coverage = nullptr);

// One statement not yet signed (the entry a node would sign), in the words of
// the history lines of RenderShow, with a proposal's terms in full: what an
// operator is shown before signing. Untrusted text is shown through
// Printable (node/base/text.h).
std::string DescribePreview(const Charter& charter, const v1::Entry& entry);

// A Disclose body in the words every view uses for it (history lines,
// previews, the audit's entry lines): "discloses manifest ROOT (N records)
// to UA", ROOT being the first 12 hex digits of the manifest's root.
std::string DescribeDisclose(const Charter& charter, const v1::Disclose& disclose);

// The one ID in `candidates` that starts with `hex_prefix` (at least 4 hex
// digits, either case), as typed by an operator after `parley show`.
// Duplicate candidates count once. Errors:
//   kInvalidArgument  the prefix is not hex or shorter than 4 digits;
//   kNotFound         "no entry starts with X";
//   kInvalidArgument  "prefix X is ambiguous: matches N entries (abc…, def…)".
Result<Digest> ResolveIdPrefix(std::string_view hex_prefix, const std::vector<Digest>& candidates);

}  // namespace parley
