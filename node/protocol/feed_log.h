// Each party's feed seen as a C2SP transparency log (docs/PROTOCOL.md §15):
// an RFC 6962 Merkle tree over the feed's envelopes in seq order, named by
// an origin, whose tree heads are checkpoints signed as signed notes with
// the party's Ed25519 key, so that any c2sp.org/tlog-witness can witness it.
//
//   leaf i (0-based)  = the SignedEntry envelope of entry seq i + 1, exactly
//                       as stored and served
//   leaf hash         = SHA-256(0x00 || envelope)
//   tree size N       = the feed's head seq
//   origin = key name = "parley-ledger/" || hex(ledger_id) || "/" || party code
//   key ID            = SHA-256(origin || 0x0A || 0x01 || party key)[:4]
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crypto/merkle.h"
#include "crypto/sign.h"
#include "node/protocol/charter.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"

namespace parley {

// Every Parley origin starts with this; no domain string (all "parley/...")
// does, which keeps note signatures and entry signatures apart (§15.3).
inline constexpr std::string_view kFeedOriginPrefix = "parley-ledger/";

// The origin line (and checkpoint key name) of `party`'s feed.
std::string FeedOrigin(const Charter& charter, PartyIndex party);

// The RFC 6962 tree over `envelopes` (entries seq 1..N of one feed, in order).
MerkleTree FeedTree(const std::vector<std::string>& envelopes);

// The checkpoint of the feed whose entries seq 1..N are `envelopes`.
Checkpoint FeedCheckpoint(const Charter& charter, PartyIndex party,
                          const std::vector<std::string>& envelopes);

// The checkpoint as a signed note, signed by `key` (the party's signing key)
// under the origin as key name.
std::string SignFeedCheckpoint(const SecretKey& key, const Charter& charter, PartyIndex party,
                               const Checkpoint& checkpoint);

// The verifier of checkpoints of `party`'s feed signed with `key`. A witness
// is configured with FormatVerifierKey of it.
NoteVerifier FeedNoteVerifier(const Charter& charter, PartyIndex party, const PublicKey& key);

}  // namespace parley
