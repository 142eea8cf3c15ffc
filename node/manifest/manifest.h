// Manifests: the lists of people an exchange covers, kept off the ledger.
// This file is the pure part: the two record schemas, CSV import (manifests
// and arrival lists), the canonical record bytes the Merkle leaves commit to,
// and reconciliation of an arrival list against a manifest. Storage
// (encrypted at rest) is in manifest_store.h, proof files in
// manifest_proof.h. Byte layouts: docs/PROTOCOL.md §8.
//
// Error messages name the line (1-based, counting the header as line 1), the
// column (1-based) and the column's name, and never quote a cell's value: a
// manifest holds personal data, and errors end up in terminals and logs.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"
#include "parley/v1/ledger.pb.h"

namespace parley {

enum class ManifestKind : uint8_t {
  kRemains = 1,    // GC I Art. 16 / 17: the dead
  kPrisoners = 2,  // GC III Art. 122: prisoners of war (and detainees)
};

// "remains" / "prisoners" ("unknown" for a value outside the enum). Parsing
// refuses any other name with kInvalidArgument.
std::string_view ManifestKindName(ManifestKind kind);
Result<ManifestKind> ParseManifestKind(std::string_view name);

// The columns of a kind, in canonical order. The first column is the record
// id (unique within a manifest). Remains (one body each):
//   tag             record id (the body's tag)
//   name            optional ("if known"); must be empty when identification
//                   is unidentified: an unidentified body has no name yet
//   recovered_on    date
//   recovered_at    required multi-line text: the place
//   identification  one of documents, identity_disc, uniform, place_found,
//                   dna_pending, unidentified
//   seal            optional: seal number of the personal-effects packet; if
//                   present, the same rule as a record id
// Prisoners (one person each):
//   service_number  record id
//   surname, first_names, rank   required text
//   date_of_birth   date
//   category        one of seriously_wounded, seriously_sick, under_25, other
//   consent         one of yes, no, unknown (consent to repatriation)
//
// Value rules. Every value: valid UTF-8, at most kMaxCellBytes bytes, no
// control characters (C0, DEL, C1) except that multi-line text may hold line
// feeds. A record id (also arrival_id, and record_id of an arrival list):
// 1..kMaxIdChars characters (code points), not beginning or ending with a
// space. Required text: not empty and not only spaces (or line breaks). A
// date: YYYY-MM-DD, a real calendar date (leap years counted), year
// 1900-2100. Vocabulary words match exactly (case-sensitive).
//
// REQUIRES (for the kind argument): kRemains or kPrisoners.
const std::vector<std::string>& ManifestColumns(ManifestKind kind);

inline constexpr size_t kMaxCellBytes = 256;           // per value, after unquoting
inline constexpr size_t kMaxIdChars = 64;              // record ids and seals
inline constexpr size_t kMaxManifestRows = 1'000'000;  // records (or arrivals) per file

// One record: its kind and one value per column, in canonical order.
struct ManifestRecord {
  ManifestKind kind = ManifestKind::kRemains;
  std::vector<std::string> fields;
  const std::string& id() const { return fields.at(0); }
};

// The bytes a leaf commits to (leaf = MerkleLeaf(salt, CanonicalRecord(r))):
//   "parley/record/v1" || kind (1 byte: 1 remains, 2 prisoners)
//   || for each field in canonical order: length (4 bytes, big-endian) || bytes
// The 16-byte prefix carries no length or terminator; it is fixed. Empty
// optional fields are length 0. Injective for records of the same field count.
std::string CanonicalRecord(const ManifestRecord& record);

// The inverse of CanonicalRecord: kDataLoss for bytes that are not one, and
// the record's rules are checked (CheckManifestRecord).
Result<ManifestRecord> DecodeCanonicalRecord(std::string_view bytes);

// Checks one record against its kind's rules (the same rules as the CSV
// import, without line numbers and without the uniqueness of ids): kind,
// field count, required fields, vocabularies, dates, lengths, UTF-8, the
// cross-field rule. Errors (kInvalidArgument) name the field, never its value:
//   field 3 (recovered_on): not a date of the form YYYY-MM-DD
Status CheckManifestRecord(const ManifestRecord& record);

// CSV, as read by both parsers below (RFC 4180 with the usual leniencies):
//   - Cells are separated by commas, rows by LF or CRLF; a carriage return
//     not followed by a line feed (outside quotes) is an error. An optional
//     UTF-8 BOM at the very start is skipped; a final line break is optional.
//   - Completely empty lines (outside quotes) are skipped; a line of spaces
//     is a row of one cell.
//   - A cell that starts with '"' (after spaces/tabs) is quoted: it runs to
//     the next lone '"', may hold commas, line breaks and doubled quotes
//     ("" = one quote), and is kept as is (not trimmed) except that a CRLF
//     inside it becomes LF, so the same record gives the same bytes from a
//     Windows or a Unix file. After the closing quote only spaces/tabs may
//     come before the next comma or line break ("text after the closing
//     quote" otherwise). A quoted cell left open at the end is an error.
//   - An unquoted cell is trimmed of surrounding spaces and tabs and may not
//     contain '"' ("a quote inside an unquoted cell").
//   - Every cell must be valid UTF-8 and at most kMaxCellBytes bytes.
//   - Line numbers are physical lines (1-based; the header is line 1 unless
//     empty lines precede it). An error in a row names the line where the
//     row starts, even if a quoted cell carried it over several lines; the
//     line after such a row is numbered by the lines actually consumed.
//   - Columns are numbered 1-based in file order.
//   - The first non-empty row is the header: exactly the expected column
//     names, each once, in any order, case-sensitive. Every other row has
//     exactly one cell per header column. At most kMaxManifestRows rows.
//
// Error messages (code kInvalidArgument) always begin with "line N", except
// for an empty list (header only):
//   line 7, column 3 (recovered_on): not a date of the form YYYY-MM-DD
//   line 9, column 1 (tag): the record id duplicates line 4
//   line 1, column 4: not a column of a remains manifest (its columns are ...)
//   line 1: the header has no column seal
//   line 12: 5 cells where the header has 6 columns
//   the manifest has no records / the arrival list has no rows
// A header cell that is not a known column is not quoted back either: in a
// file that lacks its header, that row is a record. Only the first error is
// reported; values are checked in file order (cell syntax, then each value
// against its column, then the cross-field rules, then duplicates).

// Parses a manifest CSV of `kind` (grammar above). Records come back in file
// order with fields in canonical order. Refuses (kInvalidArgument, naming
// line and column): a malformed row, a wrong number of cells, an
// unknown/missing/repeated header column, a value breaking its column's
// rule, a duplicate record id (naming both lines), an empty manifest ("the
// manifest has no records"). All-or-nothing: on error no records.
// Every record returned passes CheckManifestRecord.
Result<std::vector<ManifestRecord>> ParseManifestCsv(ManifestKind kind, std::string_view csv);

// An arrival list: what actually arrived, as the receiving party recorded it.
// Columns (header required, any order; the CSV grammar and error format
// above): arrival_id, record_id, status.
//   status "identified":   record_id required; matched if on the manifest,
//                          else counted not_on_manifest
//   status "unidentified": record_id must be empty
//   status "other_side":   belongs to the other side (record_id optional)
// arrival_id is required and unique; a non-empty record_id may appear on
// only one line, whatever its status (refused naming both lines). Both ids
// follow the record id rule. A list with no rows is refused ("the arrival
// list has no rows").
struct Arrival {
  std::string arrival_id;
  std::string record_id;
  enum class Status : uint8_t { kIdentified, kUnidentified, kOtherSide } status = Status::kIdentified;
};
Result<std::vector<Arrival>> ParseArrivalsCsv(std::string_view csv);

// The outcome for one arrival or one manifest record.
struct ReconciliationLine {
  enum class Outcome : uint8_t { kMatched, kMissing, kNotOnManifest, kUnidentified, kOtherSide } outcome;
  std::string arrival_id;  // empty for kMissing
  std::string record_id;   // empty for kUnidentified (and kOtherSide without one)
};

struct ReconciliationResult {
  v1::Reconciliation figures;               // the counts the Receipt carries
  uint64_t received = 0;                    // arrivals.size()
  std::vector<ReconciliationLine> detail;   // arrivals in order, then missing records in manifest order
};

// Compares the arrivals with the manifest's record ids. For each arrival in
// order: other_side -> kOtherSide; unidentified -> kUnidentified; identified
// -> kMatched if its record id is on the manifest, else kNotOnManifest. Then
// each manifest record not matched -> kMissing, in manifest order (a record
// whose id an other_side arrival names is still missing). figures counts the
// outcomes; received = arrivals.size(); so matched + missing is the manifest
// size and matched + not_on_manifest + unidentified + other_side = received.
// O(n + m) expected time.
// REQUIRES: manifest ids unique (as ParseManifestCsv guarantees) and
// non-empty arrival record ids unique (as ParseArrivalsCsv guarantees); an
// identified arrival repeating an already matched id counts not_on_manifest.
ReconciliationResult Reconcile(const std::vector<std::string>& manifest_ids,
                                       const std::vector<Arrival>& arrivals);

}  // namespace parley
