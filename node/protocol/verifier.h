// FeedVerifier: the one place that decides whether an entry is accepted
// (docs/PROTOCOL.md §4). Every path runs it: the node's own Append and
// Preview (before signing: a node never signs what its peer would refuse),
// Ledger::Ingest, Ledger::IngestBatch and the offline audit of a bundle.
//
// The acceptance sequence of one entry:
//   1. Decode — stage 1 (DecodeEntry): size, parse, ledger, author, the
//      signature under the key the KeySchedule names, header fields, body.
//      Recheck decodes again when the schedule changed since (a rotation or
//      its acknowledgement stored meanwhile) and names another key for it.
//   2. Place — against what is stored: an entry at or below its feed's head
//      is a duplicate (same ID) or a fork (another ID); above it, a feed
//      frozen by a fork accepts nothing (feed-frozen).
//   3. CheckNext — stage 2: seq, prev (the ledger id for a feed's first
//      entry), time, seen, the body's references; then the key schedule's
//      rotation rules (KeySchedule::CheckRotation).
// Verify runs 2 and 3 for a decoded entry. For an entry about to be signed,
// NextEntry fills in the header a receiving node expects and CheckSignable
// makes every check but the signature (stage 1 without it, the envelope
// size, a frozen feed, stage 2).
//
// What the verifier looks things up in is a FeedView: the heads, the entry
// IDs by seq and by ID, and which feeds are frozen. It stores nothing; the
// caller (the ledger, the auditor) stores what it accepts and keeps the view
// and the key schedule up to date.
//
// Thread safety: const methods of a value; call concurrently at will.
#pragma once

#include <string_view>

#include "crypto/status.h"
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"

namespace parley {

// What the verifier needs to know of the entries stored so far.
// Implementations return an error Status only when their storage fails.
class FeedView : public FeedIndex {
 public:
  // True once a fork proof froze `party`'s feed.
  virtual bool Frozen(PartyIndex party) const = 0;
};

class FeedVerifier {
 public:
  // REQUIRES: `charter` outlives the verifier.
  explicit FeedVerifier(const Charter& charter) : charter_(charter) {}

  const Charter& charter() const { return charter_; }

  // Stage 1 of a received envelope under `schedule` (nullptr: the charter keys).
  Result<DecodedEntry> Decode(std::string_view envelope, const KeySchedule* schedule) const;

  // True if `e`, verified under `used`, must be signed with another key
  // under `now`.
  static bool KeyChanged(const KeySchedule& used, const KeySchedule& now, const v1::Entry& e);
  // `decoded` came from Decode(envelope, &used). If the schedule is `now`
  // since, decodes again when that may change the answer: a refusal, or an
  // entry whose key `now` names differently.
  void Recheck(Result<DecodedEntry>& decoded, std::string_view envelope, const KeySchedule& used,
               const KeySchedule& now) const;

  enum class Placement {
    kNext,       // the author's next entry: may be stored if CheckNext passes
    kDuplicate,  // already stored (same ID)
    kFork,       // another entry is stored at its seq: a fork
  };
  // Where a decoded entry falls against `view`; a rejection (feed-frozen)
  // for an entry above the head of a frozen feed.
  Result<Placement> Place(const DecodedEntry& e, const FeedView& view) const;
  // Stage 2 and the rotation rules for the author's next entry.
  // REQUIRES: e passed stage 1.
  Status CheckNext(const v1::Entry& e, const FeedView& view, const KeySchedule& schedule) const;
  // Place, then CheckNext for the next entry: the whole acceptance of a
  // decoded entry.
  Result<Placement> Verify(const DecodedEntry& e, const FeedView& view, const KeySchedule& schedule) const;

  // A fork proof's two entries, verified under `schedule`: both stage 1,
  // one author, one seq, two IDs. The feed and seq it proves a fork at, or
  // a refusal saying why it proves nothing.
  struct ForkAt {
    PartyIndex party = 0;
    uint64_t seq = 0;
  };
  Result<ForkAt> CheckForkProof(const v1::ForkProof& proof, const KeySchedule& schedule) const;

  // `author`'s next entry with the body of `body`: ledger, author, seq, prev,
  // seen (the other feed's head) and time (max(now_ms, the previous entry's))
  // as a receiving node expects them. Unsigned, unchecked.
  v1::Entry NextEntry(PartyIndex author, const v1::Entry& body, const FeedView& view, int64_t now_ms) const;
  // Every check a receiving node makes of `entry` but the signature: stage 1
  // without it (node/protocol/entry.h CheckSignable, the envelope size
  // included), a frozen feed, then CheckNext.
  Status CheckSignable(const v1::Entry& entry, const FeedView& view, const KeySchedule& schedule) const;

 private:
  Status CheckNotFrozen(const v1::Entry& e, const FeedView& view) const;
  const Charter& charter_;
};

}  // namespace parley
