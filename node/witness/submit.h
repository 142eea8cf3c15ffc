// The log's side of c2sp.org/tlog-witness: submit one checkpoint to one
// witness and check the cosignature it returns. A node (issue 14, "nodes
// get witnessed") calls it per witness after its feed grows; retries,
// backoff and coalescing are the caller's.
//
// Thread safety: pure apart from the HTTP request; call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "crypto/merkle.h"
#include "crypto/status.h"
#include "node/tlog/note.h"

namespace parley {

struct WitnessEndpoint {
  // "http://host:port" or "https://host:port", optionally followed by a
  // path prefix ("https://w.example:443/tlog"); add-checkpoint is appended.
  std::string url;
  NoteVerifier key;  // the witness's cosignature/v1 key
  std::chrono::milliseconds timeout{5000};
  // For https: verify the server certificate against the system's CAs
  // (true), or not (false: only for self-signed test witnesses).
  bool verify_tls = true;
};

struct SubmitOutcome {
  uint64_t size = 0;          // the size cosigned (the checkpoint's)
  NoteSignature cosignature;  // verified with endpoint.key
  uint64_t timestamp = 0;     // the witness's time in it
};

// Submits `signed_note` — a checkpoint of `tree` (its size and root),
// signed by the log — claiming the witness last cosigned `known_size`. On a
// 409 naming a size at most tree.size() it tries once more from that size
// (the re-synchronisation the spec foresees). Errors:
//   kUnavailable        the witness cannot be reached or answered 5xx
//   kFailedPrecondition 409 with a size above this tree's: the witness has
//                       cosigned more of this log than we hold (our rollback,
//                       or a fork)
//   kRejected           422: our tree is inconsistent with what it cosigned
//   kPermissionDenied   403; kNotFound 404; kInvalidArgument 400
//   kDataLoss           a 200 without a valid cosignature of endpoint.key
// REQUIRES: known_size <= tree.size(); tree uses MerkleScheme::kRfc6962.
Result<SubmitOutcome> SubmitCheckpoint(const WitnessEndpoint& endpoint, const MerkleTree& tree,
                                       const std::string& signed_note, uint64_t known_size);

}  // namespace parley
