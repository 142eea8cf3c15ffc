// Proof files: what a family (or anyone) needs to check, offline, that one
// person is on a manifest the parties committed to in a signed entry — and
// nothing about anyone else on it. JSON; layout in docs/PROTOCOL.md §8.5:
//
//   {"format": "parley-manifest-proof/v1",
//    "kind": "remains" | "prisoners",
//    "record": {COLUMN: VALUE, ...},        // the one person, every column
//    "salt": HEX32, "index": N, "count": N, "path": [HEX32, ...],
//    "entry": HEX,                          // SignedEntry carrying the commitment
//    "key_chain": [HEX, ...],               // the signer's RotateKey entries
//    "charter": HEX}                        // SignedCharter of the ledger
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"
#include "node/manifest/manifest.h"
#include "parley/v1/operator.pb.h"

namespace parley {

// The proof file for what ProveRecord returned. kDataLoss if its record
// bytes do not decode.
Result<std::string> MakeProofFile(const v1::ProveRecordResponse& proof);

struct ProofVerdict {
  bool valid = false;
  // Valid: what the proof shows, in one paragraph. Invalid: why not.
  std::string explanation;
  std::optional<ManifestRecord> record;  // as the file states it
};

// Checks a proof file against `trusted_charter` (SignedCharter bytes the
// verifier holds; if empty, the charter inside the file, which the caller
// must then compare with one it trusts — the verdict says so). Checks: the
// charter; the key chain from the signer's charter key, each RotateKey
// signed by the key before it with its proof of possession; the entry's
// signature by a key of that chain in force before the entry; the entry's
// ledger, structure, and a ManifestCommitment with this root and count; no
// rotation in the chain declaring the entry compromised; the record's rules;
// and the Merkle path from H(salt || canonical record) to the root.
// An error (not a verdict) only if the file is unusable: not JSON, missing
// or mistyped fields, unparseable charter.
Result<ProofVerdict> VerifyProofFile(std::string_view json, std::string_view trusted_charter);

}  // namespace parley
