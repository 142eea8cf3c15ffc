// Ledger: the two feeds of one charter, held in a Store — the heart of a node.
//
// The local party appends to its own feed (Append: sign, then durable write,
// never the same seq twice); the other party's entries arrive through Ingest,
// which verifies each one under every structural rule before storing it.
// Two validly signed entries at one seq of one feed become a durable fork
// proof, and that feed accepts nothing more. A different version of the
// node's *own* feed is an alarm: its key is being misused, and it stops
// signing.
//
// Own-feed safety: with a HighWaterMark file, a data folder whose own head
// is below the mark (lost, or rolled back to an older copy) refuses to sign
// until Ingest has recovered the missing entries of the node's own feed.
//
// Thread safety: all methods may be called concurrently. Concurrent Appends
// are committed in groups: one leader signs every waiting request in order
// and writes them in one synced batch (one fsync for the group), like
// LevelDB's own writer queue. Ingest and the group leader exclude each other.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "crypto/sign.h"
#include "crypto/status.h"
#include "node/charter.h"
#include "node/entry.h"
#include "node/high_water_mark.h"
#include "node/store.h"

namespace parley {

struct LedgerOptions {
  // The local party and its key; without them the ledger is read-only
  // (an observer's or auditor's copy) and Append fails.
  std::optional<PartyIndex> self;
  std::optional<SecretKey> key;
  // Where the own-feed high-water mark lives, outside the data folder.
  // Empty: no mark (tests of other things only).
  std::filesystem::path high_water_mark;
  // Durable writes (fsync) for the node's own entries. Default true; only
  // benchmarks of the store itself turn it off.
  bool sync = true;
};

enum class IngestOutcome {
  kStored,     // a new entry, verified and stored
  kDuplicate,  // already stored (same ID): nothing changed
  kFork,       // same author and seq as a stored entry, different ID:
               // fork proof stored durably, feed frozen
};

struct StoredFork {
  PartyIndex party = 0;
  uint64_t seq = 0;
  v1::ForkProof proof;
};

class Ledger : public FeedIndex {
 public:
  // Opens the ledger in `store`. A new store is founded with the charter; an
  // existing one must hold the same charter (kFailedPrecondition otherwise).
  // The charter must be signed by both parties.
  static Result<std::unique_ptr<Ledger>> Open(std::unique_ptr<Store> store,
                                              std::string_view signed_charter,
                                              LedgerOptions options);

  const Charter& charter() const { return charter_; }
  std::optional<PartyIndex> self() const { return options_.self; }

  // Signs and durably stores a new entry of the local party's feed whose body
  // is the body of `body` (its header fields are ignored). The entry's time
  // is max(now_ms, time of the previous entry). With a non-empty request_id,
  // a repeated call with the same id and body returns the entry first made
  // instead of signing again; with the same id and another body it fails
  // (kAlreadyExists).
  // Errors: kFailedPrecondition if read-only, frozen or signing is blocked
  // (rollback, key misuse, earlier write failure); kRejected if the body
  // breaks a structural rule; storage errors.
  Result<DecodedEntry> Append(const v1::Entry& body, int64_t now_ms,
                              const std::string& request_id = "");

  // Verifies and stores an envelope received from elsewhere (normally the
  // other party's feed; the own feed during recovery). A rejected entry
  // changes nothing.
  Result<IngestOutcome> Ingest(std::string_view envelope);

  // FeedIndex.
  FeedHead Head(PartyIndex party) const override;
  Result<std::optional<EntryRef>> Find(const Digest& id) const override;
  Result<std::optional<Digest>> IdAt(PartyIndex party, uint64_t seq) const override;

  Result<std::optional<DecodedEntry>> Get(PartyIndex party, uint64_t seq) const;
  Result<std::optional<DecodedEntry>> GetById(const Digest& id) const;
  // Entries seq >= from of `party`, at most `max`, in seq order.
  Result<std::vector<DecodedEntry>> Read(PartyIndex party, uint64_t from, size_t max) const;

  // Blocks until `party`'s head is above `seq` or `deadline` passes, and
  // returns the head then. Used to serve live subscriptions.
  FeedHead WaitForHead(PartyIndex party, uint64_t seq,
                       std::chrono::steady_clock::time_point deadline) const;

  Result<std::vector<StoredFork>> Forks() const;
  bool frozen(PartyIndex party) const;
  // Why Append refuses to sign, if it does.
  std::optional<std::string> signing_blocked() const;

 private:
  Ledger(std::unique_ptr<Store> store, Charter charter, LedgerOptions options)
      : store_(std::move(store)), charter_(std::move(charter)), options_(std::move(options)) {}

  struct Writer;  // one waiting Append

  Status Load();
  // Commits `group` (signing each in order, one batch write). REQUIRES:
  // write_mu_ held, mu_ not held.
  void CommitGroup(const std::vector<Writer*>& group);
  // Stores one entry and advances its feed's head. REQUIRES: write_mu_ held.
  Status StoreEntry(const DecodedEntry& e, WriteBatch batch, bool sync);
  Result<IngestOutcome> RecordFork(const DecodedEntry& e, const std::string& stored_envelope);
  // REQUIRES: mu_ held.
  void RefreshSigningBlock();

  std::unique_ptr<Store> store_;
  const Charter charter_;
  const LedgerOptions options_;
  std::unique_ptr<HighWaterMark> hwm_;  // used with write_mu_ held

  // Serializes everything that writes: the Append group leader and Ingest.
  // Lock order: write_mu_ before mu_.
  std::mutex write_mu_;

  mutable std::mutex mu_;  // guards everything below
  mutable std::condition_variable head_changed_;
  FeedHead heads_[2];      // written with write_mu_ and mu_ held
  bool frozen_[2] = {false, false};
  std::optional<std::string> blocked_;       // why signing is refused
  std::optional<std::string> write_failed_;  // sticky: a write failed after signing
  bool key_misused_ = false;                 // own feed forked or extended elsewhere
  std::deque<Writer*> writers_;              // waiting Appends; front is the leader
};

}  // namespace parley
