// fuzz_manifest_csv: the same bytes to ParseManifestCsv (remains and
// prisoners) and ParseArrivalsCsv, and, when a manifest and the arrival list
// both parse, to Reconcile.
//
// Invariants:
//   - a parsed manifest is non-empty; every record has the requested kind and
//     passes CheckManifestRecord; record ids are unique; the canonical bytes
//     of the (distinct) records are pairwise different;
//   - a parsed arrival list is non-empty; arrival ids are unique, non-empty
//     record ids are unique, and the record id follows the status rule;
//   - an error is kInvalidArgument, begins with "line " or is the empty-list
//     message of its parser, and is printable ASCII (a message that quoted a
//     mutated cell would almost never be);
//   - Reconcile's figures add up: matched + missing = manifest size,
//     matched + not_on_manifest + unidentified + other_side = received,
//     one detail line per arrival and per missing record.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "node/manifest/manifest.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

using namespace parley;

void CheckError(const Status& s, std::string_view empty_message) {
  FUZZ_CHECK(s.code() == Code::kInvalidArgument, "unexpected code: " + s.ToString());
  const std::string& m = s.message();
  FUZZ_CHECK(m.rfind("line ", 0) == 0 || m == empty_message, "unexpected message: " + m);
  for (char c : m) {
    FUZZ_CHECK(c >= 0x20 && c < 0x7F, "a byte outside printable ASCII in an error message");
  }
}

// The record ids of a manifest that parsed, or nothing.
std::vector<std::string> CheckManifest(ManifestKind kind, std::string_view csv) {
  Result<std::vector<ManifestRecord>> r = ParseManifestCsv(kind, csv);
  if (!r) {
    CheckError(r.error(), "the manifest has no records");
    return {};
  }
  FUZZ_CHECK(!r->empty(), "an empty manifest parsed");
  FUZZ_CHECK(r->size() <= kMaxManifestRows, "too many records");
  std::unordered_set<std::string> ids, canonical;
  std::vector<std::string> id_list;
  for (const ManifestRecord& record : *r) {
    FUZZ_CHECK(record.kind == kind, "a record of another kind");
    const Status s = CheckManifestRecord(record);
    FUZZ_CHECK(s.ok(), "a parsed record fails CheckManifestRecord: " + s.ToString());
    FUZZ_CHECK(ids.insert(record.id()).second, "a duplicate record id parsed");
    FUZZ_CHECK(canonical.insert(CanonicalRecord(record)).second,
               "two distinct records with the same canonical bytes");
    id_list.push_back(record.id());
  }
  return id_list;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view csv = fuzz::AsView(data, size);
  std::vector<std::string> remains = CheckManifest(ManifestKind::kRemains, csv);
  std::vector<std::string> prisoners = CheckManifest(ManifestKind::kPrisoners, csv);
  FUZZ_CHECK(remains.empty() || prisoners.empty(), "one file parsed as both kinds");

  Result<std::vector<Arrival>> arrivals = ParseArrivalsCsv(csv);
  if (!arrivals) {
    CheckError(arrivals.error(), "the arrival list has no rows");
    return 0;
  }
  FUZZ_CHECK(!arrivals->empty(), "an empty arrival list parsed");
  std::unordered_set<std::string> arrival_ids, record_ids;
  for (const Arrival& a : *arrivals) {
    FUZZ_CHECK(arrival_ids.insert(a.arrival_id).second, "a duplicate arrival id parsed");
    FUZZ_CHECK(a.record_id.empty() || record_ids.insert(a.record_id).second,
               "a duplicate record id parsed in an arrival list");
    FUZZ_CHECK(a.status != Arrival::Status::kIdentified || !a.record_id.empty(),
               "an identified arrival without a record id");
    FUZZ_CHECK(a.status != Arrival::Status::kUnidentified || a.record_id.empty(),
               "an unidentified arrival with a record id");
  }

  // An arrival list never parses as a manifest (other headers), so reconcile
  // it with the ids it names itself and with half of them.
  std::vector<std::string> ids(record_ids.begin(), record_ids.end());
  for (const auto& manifest : {ids, std::vector<std::string>(ids.begin(), ids.begin() + ids.size() / 2)}) {
    const ReconciliationResult r = Reconcile(manifest, *arrivals);
    const v1::Reconciliation& f = r.figures;
    FUZZ_CHECK(r.received == arrivals->size(), "received is not the number of arrivals");
    FUZZ_CHECK(f.matched() + f.missing() == manifest.size(), "matched + missing is not the manifest size");
    FUZZ_CHECK(f.matched() + f.not_on_manifest() + f.unidentified() + f.other_side() == r.received,
               "the arrival outcomes do not add up to received");
    FUZZ_CHECK(r.detail.size() == r.received + f.missing(), "one detail line per arrival and missing record");
  }
  return 0;
}
