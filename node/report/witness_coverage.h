// Witness coverage: what the cosigned checkpoints of a bundle (docs/PROTOCOL.md
// §12, §15) prove about when each entry existed, checked against the
// charter and the feeds in the bundle (§13 "Witness coverage").
//
// For each checkpoint note it verifies, in this order: the note and its
// checkpoint text parse; the origin is one party's feed origin; a signature
// line of that party verifies under a key the party had in effect for that
// tree size (CheckpointKeys); the size is at most the entries of the feed in
// the bundle, and the root is the RFC 6962 root of the feed's first `size`
// leaves; every cosignature/v1 line of a charter witness verifies (lines of
// unknown keys are ignored). A checkpoint that passes is *valid*; each of
// its verified cosignatures is evidence that the witness saw the feed's
// first `size` entries at the cosignature's time.
//
// Memory: 32 bytes per entry (the leaf hashes, freed by Finish), one
// record per verified cosignature, and about 64 bytes per 1024 entries of
// cached subtree roots. Nothing is kept per entry after Finish: per-entry
// answers (Earliest) are computed from the cosignatures sorted by size.
//
// Thread safety: one thread builds it; after Finish, const methods may be
// called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/types.h"
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"

namespace parley {

// The clock skew the backdating rule allows (docs/PROTOCOL.md §13).
inline constexpr int64_t kWitnessClockSkewMs = 10 * 60 * 1000;

// A key a party signs its checkpoints with, and the tree sizes it may sign.
struct CheckpointKey {
  PublicKey key;
  uint64_t from_size = 0;
  uint64_t until_size = UINT64_MAX;
};

// The keys `party` may sign a checkpoint of size N with (docs/PROTOCOL.md
// §13): key i of its history (0 = the charter key, i = rotation i-1's new
// key) for from_i <= N <= until_i, where from_0 = 0, from_i = the RotateKey
// entry's seq, and until_i = unbounded while no later key has signed an
// entry of the feed, else the last seq key i signed (at least from_i).
// `last_signed[i]` is the last seq of the feed signed with key i (0: none;
// missing entries count as 0).
std::vector<CheckpointKey> CheckpointKeys(const KeySchedule& schedule, PartyIndex party,
                                          const std::vector<uint64_t>& last_signed);

// One thing wrong with a checkpoint record.
struct CheckpointProblem {
  bool fork = false;      // a split view: the party signed a root other than its feed's (else a violation)
  std::string where;      // "record 12 (checkpoint RU size 41)"
  std::string what;       // in words; strings from the note shown through Printable
};

// The earliest cosignature that covers an entry, and the same witness's
// cosignature before it.
struct EntryEvidence {
  uint64_t time_s = 0;    // the cosignature's timestamp, POSIX seconds
  uint32_t witness = 0;   // index into Charter::witnesses()
  uint64_t size = 0;      // the cosigned checkpoint's size (>= the entry's seq)
  uint64_t record = 0;    // the bundle record holding it
  // The latest time the same witness cosigned a valid checkpoint of the feed
  // that does not hold the entry (size < seq); nullopt if it never did.
  std::optional<uint64_t> previous_s;
};

// A run of one feed's entries [from, to] with the same earliest evidence.
struct EvidenceRun {
  uint64_t from = 0, to = 0;
  EntryEvidence evidence;
};

// What an entry's declared time says against its evidence (docs/PROTOCOL.md §13).
enum class TimeVerdict {
  kConsistent,
  kAfterWitness,  // declared after a witness had already seen the entry: impossible
  kBackdated,     // declared before the witness's previous cosignature without it, beyond the skew
};
// The one place the rule lives:
//   kAfterWitness  iff time_ms > time_s*1000 + 999 (a later second than the cosignature's);
//   kBackdated     iff previous_s is set and time_ms < previous_s*1000 - kWitnessClockSkewMs.
TimeVerdict JudgeTime(int64_t time_ms, const EntryEvidence& evidence);

class WitnessCoverage {
 public:
  explicit WitnessCoverage(const Charter& charter);

  // The leaf hash of `party`'s next entry (SHA-256(0x00 || envelope)), in seq order.
  void AddLeaf(PartyIndex party, const Digest& leaf_hash) { leaves_[party].push_back(leaf_hash); }
  uint64_t leaves(PartyIndex party) const { return leaves_[party].size(); }
  // The keys `party` signs checkpoints with (CheckpointKeys); none set: the charter key.
  void SetKeys(PartyIndex party, std::vector<CheckpointKey> keys) { keys_[party] = std::move(keys); }

  // Verifies the checkpoint note of bundle record `record` against the
  // leaves added so far; keeps its verified cosignatures if it is valid.
  // Returns what is wrong with it (empty: nothing).
  std::vector<CheckpointProblem> Add(uint64_t record, std::string_view note);
  // After the last Add: sorts the evidence and frees the leaves.
  void Finish();

  // The RFC 6962 root of `party`'s first n leaves. REQUIRES: n <= leaves(party), before Finish.
  Digest RootOf(PartyIndex party, uint64_t n);

  // After Finish:
  uint64_t valid_checkpoints() const { return valid_; }
  // The earliest verified cosignature of a valid checkpoint of size >= seq (ties: the smaller size).
  std::optional<EntryEvidence> Earliest(PartyIndex party, uint64_t seq) const;
  // The largest size of `party`'s feed cosigned by `witness` (0: none).
  uint64_t CoveredBy(PartyIndex party, uint32_t witness) const;
  // The largest N such that k distinct charter witnesses each cosigned a
  // valid checkpoint of size >= N (0 if fewer than k witnesses did; for k = 0, UINT64_MAX).
  uint64_t CoveredSize(PartyIndex party, size_t k) const;
  // The feed's entries 1..covered grouped into runs of one earliest
  // evidence, in seq order; at most `max_runs` (the rest counted in *more).
  std::vector<EvidenceRun> Runs(PartyIndex party, uint64_t covered, size_t max_runs, uint64_t* more) const;

 private:
  struct Point {  // one verified cosignature of a valid checkpoint
    uint64_t size, time_s, record;
    uint32_t witness;
  };
  Charter charter_;
  std::array<std::string, 2> origins_;
  std::array<std::vector<Digest>, 2> leaves_;
  std::array<std::vector<CheckpointKey>, 2> keys_;
  // Roots of aligned subtrees of 2^k leaves, k >= kCacheLevel: cache_[p][k - kCacheLevel][i].
  static constexpr unsigned kCacheLevel = 10;
  std::array<std::vector<std::vector<Digest>>, 2> cache_;
  std::array<uint64_t, 2> cached_leaves_{0, 0};
  std::array<std::vector<Point>, 2> points_;        // by size, then time
  std::array<std::vector<uint32_t>, 2> suffix_min_; // index of the earliest point among [i, end)
  // Per party and witness: (size, running max of time over sizes so far), sorted by size.
  std::array<std::vector<std::vector<std::pair<uint64_t, uint64_t>>>, 2> by_witness_;
  uint64_t valid_ = 0;

  Digest Perfect(PartyIndex party, uint64_t lo, unsigned k);
  EntryEvidence EvidenceAt(PartyIndex party, size_t i, uint64_t seq) const;
};

// The coverage of two whole feeds held in memory (a node's copy, for
// `parley show`): every entry's leaf, the checkpoint keys from the feeds'
// rotations, then each checkpoint note (`notes`, any order) checked as the
// audit checks a checkpoint record (record = its index in `notes`). What is
// wrong with a note goes to *problems when given. Finished.
WitnessCoverage CoverFeeds(const Charter& charter, const std::vector<DecodedEntry>& feed0,
                           const std::vector<DecodedEntry>& feed1, const std::vector<std::string>& notes,
                           std::vector<CheckpointProblem>* problems = nullptr);

}  // namespace parley
