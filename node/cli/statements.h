// Statement building: the flags of a signing command (`parley propose`,
// `accept`, `handover`, `receipt`, ...) turned into the body of a v1::Entry.
// Pure functions of the flags, the charter, the entries the flags name and
// the time: no node, no files, no terminal. The commands (submit_cli.cc)
// resolve the IDs in the node's feeds, call these, and send the body.
//
// Every refusal is kInvalidArgument (exit 2) with a message that names the
// flag and says what is wrong; nothing is signed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"
#include "parley/v1/ledger.pb.h"
#include "parley/v1/operator.pb.h"

namespace parley::cli {

// Counts of persons or remains an operator may type: more is a typo.
constexpr uint64_t kMaxCount = 1'000'000;
// The largest transfer index (terms hold few transfers).
constexpr uint64_t kMaxTransferIndex = 1'000;
// How far ahead an exchange window may start before it reads as a typo.
constexpr int64_t kFarFutureMs = int64_t{5} * 366 * 24 * 3600 * 1000;

// The text rule (node/base/text.h, docs/PROTOCOL.md §5.2) for a flag's value,
// checked before the value goes into a request (protobuf would log invalid
// UTF-8 raw and send nothing the node can read).
Status CheckFlagText(std::string_view flag, const std::string& value);

// Terms flags: propose, counter, amend.
struct TermsFlags {
  std::string kind;
  std::vector<std::string> transfers;  // FROM>TO:CATEGORY:COUNT[:MANIFEST_ROOT]
  std::string crossing, transport, intermediary, notes;
  std::string window_start, window_end, expires;
  bool allow_past = false;        // a window or expiry already past
  bool allow_far_future = false;  // a window starting more than 5 years out
};

// remains | pow | civilians (and the long names).
Result<v1::Category> ParseCategory(const std::string& c);

// Builds a Propose body: `base` (when countering or amending) supplies every
// term not given as a flag.
Result<v1::Entry> BuildPropose(const Charter& charter, const TermsFlags& f, const v1::Propose* base, int64_t now_ms);

// The signing commands whose body is built here.
enum class StatementKind {
  kPropose, kCounter, kAmend, kAccept, kReject, kWithdraw, kCancel, kHandover, kReceipt, kAttest, kStatement
};

// Every flag of the signing commands, as typed. Numbers are taken as text
// and parsed strictly (ParseCount): "-1", "12abc" and "1e3" are refused, not
// read as 18446744073709551615, 12 and 1.
struct StatementFlags {
  TermsFlags terms;                // propose, counter, amend
  std::string id;                  // the proposal or agreement the command names
  std::string reason;              // reject, withdraw, cancel
  std::string what, where, when;   // attest
  std::string text;                // statement
  std::string ref;                 // attest, statement: an entry referred to
  std::string place, at;           // handover, receipt
  std::string manifest;            // handover, receipt: ROOT:COUNT
  std::string arrivals;            // receipt: CSV of arrivals (read by the command)
  std::string transfer = "0", count, matched = "0", missing = "0", not_on_manifest = "0", unidentified = "0",
              other_side = "0";
};

// The numbers of StatementFlags, parsed.
struct StatementNumbers {
  uint32_t transfer = 0;
  uint64_t count = 0, matched = 0, missing = 0, not_on_manifest = 0, unidentified = 0, other_side = 0;
};

// What the flags alone decide, before the node is asked anything: a receipt
// has --count or --arrivals; free text keeps the text rule; numbers are
// numbers in range; a handover counts at least 1.
Result<StatementNumbers> CheckStatementFlags(StatementKind kind, const StatementFlags& f);

// Whether `kind` names a proposal or agreement (StatementFlags::id) that
// must be resolved first (ResolveProposal).
bool NamesProposal(StatementKind kind);

// The body of the statement. `target` is the proposal or agreement the flags
// name (NamesProposal), resolved; `ref_id` the entry --ref names (raw ID
// bytes, empty for none). For a receipt with --arrivals, the body carries the
// manifest (given, or the agreed transfer's) and the typed figures; the
// command then reconciles the arrivals with it (ApplyArrivals).
Result<v1::Entry> BuildStatement(StatementKind kind, const StatementFlags& f, const StatementNumbers& n,
                                 const Charter& charter, const DecodedEntry* target, const std::string& ref_id,
                                 int64_t now_ms);

// receipt --arrivals: the node's reconciliation of the arrival list with the
// receipt's manifest becomes the receipt's figures and count. Refused if the
// manifest the node holds has another count than the receipt names.
Status ApplyArrivals(v1::Receipt& receipt, const v1::ReconcileArrivalsResponse& result);

// The entry of `feeds` whose ID begins with `prefix` (hex, unique).
Result<DecodedEntry> ResolveEntry(const std::vector<DecodedEntry> (&feeds)[2], const std::string& prefix);
// The same, refused unless it is a proposal.
Result<DecodedEntry> ResolveProposal(const std::vector<DecodedEntry> (&feeds)[2], const std::string& prefix);

}  // namespace parley::cli
