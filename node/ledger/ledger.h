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
// until Ingest has recovered the missing entries of the node's own feed. The
// mark is locked while the ledger is open (one signer per mark: a second
// Open with the same mark fails, kAlreadyExists) and re-read before each
// group of signatures.
//
// Peer confirmation (docs/PROTOCOL.md §9, "Restored from an older copy"): a
// data folder and a mark restored together from an older copy agree with
// each other and look current. With LedgerOptions::require_peer_confirmation
// the ledger signs nothing after Open until ConfirmOwnHead says that the
// peer holds no more of the own feed than this store does. Until then, or
// until the first signature since Open, own entries above the mark that
// arrive through Ingest are taken as this node's own (the mark was stale)
// and the mark advances to them; after that, such an entry is key misuse.
//
// Key rotation (docs/PROTOCOL.md §5.1): the ledger keeps each party's key
// schedule, derived from the stored RotateKey entries and their
// acknowledgements and persisted beside them, and verifies every entry under
// the key the schedule names for it. The local party rotates by appending a
// RotateKey to a key it holds as its next key; from the other party's
// acknowledgement on, Append signs with that key.
//
// Damaged storage (docs/PROTOCOL.md §9, "Checks at start"): Open checks the
// stored data — every row read with block checksums verified, both feeds
// checked as hash chains from seq 1 to their head rows, and the signatures
// of the last kSignaturesCheckedAtOpen entries of each feed verified. What
// fails is not repaired and does not fail Open: the ledger records the
// damage, stops signing, and no longer serves a feed from its first damaged
// seq on (kDataLoss). A read that meets damage later (the store says
// kDataLoss) does the same. damaged() says what was found.
//
// A failed write (disk full, I/O error) does not stop the node for good: the
// ledger writes nothing more into that store until it has reopened it (see
// Store::Reopen) and re-read heads, key schedule and high-water mark from it,
// retried on each Append and Ingest; a batch found stored after all is
// adopted. Meanwhile Append signs nothing and fails, with kResourceExhausted
// while the disk is full.
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
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"
#include "node/protocol/verifier.h"
#include "node/store/high_water_mark.h"
#include "node/store/store.h"

namespace parley {

struct LedgerOptions {
  // The local party and its key; without them the ledger is read-only
  // (an observer's or auditor's copy) and Append fails. `self` may be left
  // unset with a key: the party whose key history holds the key is the local
  // one. The key must be the local party's key in effect (its charter key or
  // the key of its last rotation in effect), or the new key of its pending
  // rotation (then signing waits for the acknowledgement), or a retired key
  // when next_key is the key in effect (a node restarted after its rotation
  // took effect, before its config was updated). With `self` given and a
  // high-water mark above the stored own head (a lost data folder), any key
  // not of the other party opens: signing stays blocked until the own feed is
  // recovered, and then the recovered schedule decides.
  std::optional<PartyIndex> self;
  std::optional<SecretKey> key;
  // The key the local party rotates (or has rotated) to: a fresh key, for an
  // Append of a RotateKey to it, or the pending rotation's new key. Append
  // signs with it once the rotation is in effect. See also SetNextKey.
  std::optional<SecretKey> next_key;
  // Where the own-feed high-water mark lives, outside the data folder.
  // Empty: no mark (tests of other things only).
  std::filesystem::path high_water_mark;
  // Durable writes (fsync) for the node's own entries. Default true; only
  // benchmarks of the store itself turn it off.
  bool sync = true;
  // Sign nothing after Open until ConfirmOwnHead (the peer's view of the own
  // feed) — a folder and mark restored together from an older copy cannot
  // be told from current ones locally. Default false (a ledger alone has no
  // peer); a node turns it on unless its operator said otherwise.
  bool require_peer_confirmation = false;
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

// A consistent, read-only view of a ledger as of one moment, for an online
// backup (Ledger::Snapshot): both feeds, their heads and the fork proofs as
// they were when it was taken — every entry with its index and head rows,
// never half of one. Taking it blocks neither signing nor ingest for longer
// than LevelDB takes to pin a sequence number; reading it blocks neither.
class LedgerSnapshot {
 public:
  explicit LedgerSnapshot(std::unique_ptr<StoreSnapshot> snapshot) : snapshot_(std::move(snapshot)) {}
  // Reads the charter and both heads. kDataLoss if a row is damaged.
  Status Load();
  const std::string& signed_charter() const { return charter_; }
  uint64_t head(PartyIndex party) const { return heads_[party]; }
  // Up to `max` envelopes of `party`'s feed from seq `from` on, as stored;
  // kDataLoss if a seq below the head is missing.
  Result<std::vector<std::string>> ReadEnvelopes(PartyIndex party, uint64_t from, size_t max) const;
  Result<std::vector<v1::ForkProof>> ForkProofs() const;

 private:
  std::unique_ptr<StoreSnapshot> snapshot_;
  std::string charter_;
  uint64_t heads_[2] = {0, 0};
};

class Ledger : public FeedView {
 public:
  // Opens the ledger in `store`. A new store is founded with the charter; an
  // existing one must hold the same charter (kFailedPrecondition otherwise).
  // The charter must be signed by both parties.
  static Result<std::unique_ptr<Ledger>> Open(std::unique_ptr<Store> store,
                                              std::string_view signed_charter,
                                              LedgerOptions options);

  const Charter& charter() const { return charter_; }
  std::optional<PartyIndex> self() const { return options_.self; }

  // The key schedule as of the entries stored so far (an immutable snapshot).
  std::shared_ptr<const KeySchedule> key_schedule() const;
  // The key `party`'s next entry must be signed with, given the stored heads
  // (its seen would be the other feed's head).
  PublicKey current_key(PartyIndex party) const;
  // Gives the ledger the local party's next key at run time (as
  // LedgerOptions::next_key does at Open), replacing any earlier one that no
  // rotation names yet; an earlier next key already in effect becomes the
  // key (the retired key is dropped). Errors: kFailedPrecondition if read-only;
  // kInvalidArgument if the key is already some party's or an observer's key
  // other than the local party's pending one, or if a rotation to the next
  // key held is pending.
  Status SetNextKey(SecretKey key);

  // Signs and durably stores a new entry of the local party's feed whose body
  // is the body of `body` (its header fields are ignored). The entry's time
  // is max(now_ms, time of the previous entry). With a non-empty request_id,
  // a repeated call with the same id and body returns the entry first made
  // instead of signing again; with the same id and another body it fails
  // (kAlreadyExists).
  // A RotateKey body is signed only when the ledger holds the new key as its
  // next key (kFailedPrecondition otherwise), so that it can sign once the
  // rotation takes effect; RotateKeyBody (node/protocol/entry.h) makes one.
  // Errors: kFailedPrecondition if read-only, frozen or signing is blocked
  // (rollback, key misuse, no secret key for the key in effect); kRejected if
  // the body breaks a structural rule; kResourceExhausted ("disk full: ...")
  // if the data folder's disk or the high-water mark's is full, for the write
  // that found it and for every Append until the store has been reopened
  // with enough space (nothing is signed meanwhile; free space and retry,
  // no restart needed); other storage errors likewise until a reopen works.
  // After such an error the entry may turn out stored after all: a retry
  // with the same request id then returns it.
  Result<DecodedEntry> Append(const v1::Entry& body, int64_t now_ms,
                              const std::string& request_id = "");

  // The entry Append(body, now_ms) would sign now, unsigned, after every
  // check Append makes before signing (the same code); nothing is signed or
  // stored. For a dry run and for showing an operator what is about to be
  // signed. Errors: as Append's.
  Result<v1::Entry> Preview(const v1::Entry& body, int64_t now_ms);

  // Verifies and stores an envelope received from elsewhere (normally the
  // other party's feed; the own feed during recovery). A rejected entry
  // changes nothing. With `only_author` (a relay taking a party's Publish),
  // a validly signed entry of the other feed is refused (kPermissionDenied)
  // before anything is looked up or stored.
  Result<IngestOutcome> Ingest(std::string_view envelope, std::optional<PartyIndex> only_author = std::nullopt);

  // What IngestBatch did.
  struct BatchOutcome {
    size_t stored = 0;      // new entries stored
    size_t duplicates = 0;  // already stored
    size_t forks = 0;       // fork proofs stored
  };
  // Ingests `envelopes` in order, with the same result as calling Ingest on
  // each until the first error (returned; what came before it stays
  // stored). A run of entries of the other party that each chain onto the
  // one before is verified on two threads and stored in one synced write —
  // catching up costs one fsync per batch, not per entry. Anything else (the
  // own feed, duplicates, forks, violations) goes through Ingest one by one.
  // `only_author`: as for Ingest (a relay's Publish: the caller's feed only).
  Result<BatchOutcome> IngestBatch(const std::vector<std::string>& envelopes,
                                   std::optional<PartyIndex> only_author = std::nullopt);

  // FeedView (what the verifier looks up).
  FeedHead Head(PartyIndex party) const override;
  bool Frozen(PartyIndex party) const override { return frozen(party); }
  Result<std::optional<EntryRef>> Find(const Digest& id) const override;
  Result<std::optional<Digest>> IdAt(PartyIndex party, uint64_t seq) const override;

  Result<std::optional<DecodedEntry>> Get(PartyIndex party, uint64_t seq) const;
  // Up to `max` stored envelopes of `party`'s feed from seq `from` on, as
  // stored (each was verified before it was stored; this does not verify
  // again): for serving feeds to peers.
  Result<std::vector<std::string>> ReadEnvelopes(PartyIndex party, uint64_t from, size_t max) const;
  Result<std::optional<DecodedEntry>> GetById(const Digest& id) const;
  // Entries seq >= from of `party`, at most `max`, in seq order.
  Result<std::vector<DecodedEntry>> Read(PartyIndex party, uint64_t from, size_t max) const;

  // Blocks until `party`'s head is above `seq` or `deadline` passes, and
  // returns the head then. Used to serve live subscriptions.
  FeedHead WaitForHead(PartyIndex party, uint64_t seq,
                       std::chrono::steady_clock::time_point deadline) const;

  Result<std::vector<StoredFork>> Forks() const;

  // Side rows: what the node keeps beside the feeds in the same store (so a
  // backup carries it) under keys starting with 'w', 'x' or 'y', which the
  // ledger itself never uses — cosigned checkpoints, witness state, alarms
  // (node/daemon/witnessing.h). Writes are synced and independent of
  // Append's group commit. kInvalidArgument for a key outside those
  // prefixes (a scan's `hi` may be up to "z").
  Status WriteSideRows(const WriteBatch& batch);
  Result<std::optional<std::string>> GetSideRow(std::string_view key) const;
  Status ScanSideRows(std::string_view lo, std::string_view hi, const Store::ScanFn& fn) const;
  // A snapshot of the whole ledger as of now (see LedgerSnapshot).
  // kFailedPrecondition if damage was found in the store (a backup would
  // copy it), or if the store takes no snapshots.
  Result<std::unique_ptr<LedgerSnapshot>> Snapshot() const;
  bool frozen(PartyIndex party) const;
  // What damage was found in the store (at Open or by a read since), if
  // any: then signing is stopped and the damaged range is not served.
  std::optional<std::string> damaged() const;
  // How many of the newest entries of each feed have their signatures
  // verified at Open (older ones are covered by the hash chain up to them
  // and by block checksums; see docs/PROTOCOL.md §9).
  static constexpr uint64_t kSignaturesCheckedAtOpen = 256;
  // Why Append refuses to sign, if it does.
  std::optional<std::string> signing_blocked() const;

  // The peer reports holding the own feed up to `peer_seq`, and the caller
  // has checked that the peer's entry at `peer_seq` is ours (Ingest said
  // kDuplicate) or that peer_seq is 0. If the own head is at or above it,
  // the own head is confirmed from now on: signing may start (with
  // require_peer_confirmation), and an own entry above the mark is key
  // misuse from now on. kFailedPrecondition if the own head is below
  // peer_seq (recover first).
  Status ConfirmOwnHead(uint64_t peer_seq);
  bool own_head_confirmed() const;
  // How long Append and Preview wait for ConfirmOwnHead when that is all
  // that keeps them from signing, before they refuse.
  static constexpr std::chrono::milliseconds kPeerConfirmationWait{3000};

 private:
  Ledger(std::unique_ptr<Store> store, Charter charter, LedgerOptions options)
      : store_(std::move(store)), charter_(std::move(charter)), verifier_(charter_), options_(std::move(options)) {}

  struct Writer;  // one waiting Append

  Status Load();
  // Reads both feeds' heads and whether a fork proof froze them.
  Status ReadFeeds(FeedHead heads[2], bool frozen[2]);
  // Reads the "k" rows, first building them from the stored entries when the
  // store predates them. `heads`: as stored.
  Result<std::shared_ptr<const KeySchedule>> LoadKeySchedule(const FeedHead heads[2]);
  // Blocks signing (and writing) after a failed write; `failure` is what
  // Append reports (WriteFailure in ledger.cc). REQUIRES: mu_ not held.
  void NoteWriteFailure(Status failure);
  // After a failed write: reopens the store, re-reads it (Reload) and
  // unblocks; the failure to report if that fails. OK at once if no write
  // failed. REQUIRES: write_mu_ held, mu_ not held.
  Status RecoverStore();
  // Re-reads heads, fork flags and key schedule from the reopened store and
  // advances the mark to the own head. On error `disk` names the disk that
  // failed. REQUIRES: write_mu_ held, mu_ not held.
  Status Reload(std::string_view& disk);
  // Checks the keys in options_ against the schedule. REQUIRES: options_.self
  // set, hwm_ opened (if any), before the mark advances to the stored head.
  Status CheckKeys();
  // The key to sign the own entry at `seq` with, if held. REQUIRES: write_mu_
  // or mu_ held.
  const SecretKey* SignerFor(const KeySchedule& schedule, uint64_t seq, uint64_t seen_seq) const;
  // What signing needs first, for Append's group and Preview alike: a
  // failed write recovered (RecoverStore), the high-water mark re-read behind
  // its lock. The error to refuse with, or OK. REQUIRES: write_mu_ held, mu_
  // not held.
  Status ReadyToSign();
  // The heads, why signing is blocked (if it is) and the key schedule, as of
  // now. REQUIRES: mu_ not held.
  struct SigningState {
    FeedHead heads[2];
    std::optional<std::string> blocked;
    std::shared_ptr<const KeySchedule> schedule;
  };
  SigningState SigningSnapshot() const;
  // The local party's next entry with `body`, given the heads in `index`,
  // and the key to sign it with: the verifier's next entry and its every
  // check but the signature (FeedVerifier::CheckSignable), and the node's own
  // conditions (not blocked, the keys held). REQUIRES: write_mu_ held.
  Result<std::pair<v1::Entry, const SecretKey*>> NextEntry(const v1::Entry& body, int64_t now_ms,
                                                           const KeySchedule& schedule, const FeedView& index,
                                                           const std::optional<std::string>& blocked) const;
  // Commits `group` (signing each in order, one batch write). REQUIRES:
  // write_mu_ held, mu_ not held.
  void CommitGroup(const std::vector<Writer*>& group);
  // Stores one entry and advances its feed's head; the entry's effect on the
  // key schedule is written in the same batch. REQUIRES: write_mu_ held.
  Status StoreEntry(const DecodedEntry& e, WriteBatch batch, bool sync);
  // Observes `e` in a copy of `schedule`; when it changes, adds the changed
  // "k" rows to `batch` and returns the copy (nullptr: unchanged).
  static std::shared_ptr<const KeySchedule> ObserveInto(const KeySchedule& schedule, const v1::Entry& e,
                                                        WriteBatch& batch);
  // Stores the fork proof of `e` and the entry stored at its seq; freezes
  // the feed. REQUIRES: write_mu_ held.
  Result<IngestOutcome> RecordFork(const DecodedEntry& e);
  // REQUIRES: mu_ held.
  void RefreshSigningBlock();
  // Waits (up to kPeerConfirmationWait) while the only thing that keeps this
  // node from signing is the peer's confirmation. REQUIRES: mu_ not held.
  void AwaitPeerConfirmation();
  // Why Append refuses to sign: damage first, then blocked_. REQUIRES: mu_ held.
  std::optional<std::string> BlockedLocked() const;
  // The check of the stored data at Open (see the class comment); records
  // what it finds with NoteDamage. Errors only for storage failures other
  // than damage.
  Status CheckStoredData();
  // Records damage found by `s` (if it is kDataLoss) in `party`'s feed from
  // `seq` on (no party: somewhere else in the store) and returns `s`.
  // REQUIRES: mu_ not held.
  Status NoteDamage(Status s, std::optional<PartyIndex> party = std::nullopt, uint64_t seq = 1) const;

  std::unique_ptr<Store> store_;
  const Charter charter_;
  const FeedVerifier verifier_;  // decides every entry's acceptance
  // Set by Open; only next_key changes later (SetNextKey, with write_mu_ and
  // mu_ held: read it with either held).
  LedgerOptions options_;
  std::unique_ptr<HighWaterMark> hwm_;  // used with write_mu_ held

  // Serializes everything that writes: the Append group leader and Ingest.
  // Lock order: write_mu_ before mu_.
  std::mutex write_mu_;

  mutable std::mutex mu_;  // guards everything below
  mutable std::condition_variable head_changed_;
  FeedHead heads_[2];      // written with write_mu_ and mu_ held
  std::shared_ptr<const KeySchedule> schedule_;  // replaced with write_mu_ and mu_ held
  bool frozen_[2] = {false, false};
  std::optional<std::string> blocked_;       // why signing is refused
  std::optional<Status> write_failure_;      // a write failed; cleared by RecoverStore
  bool key_misused_ = false;                 // own feed forked or extended elsewhere
  bool own_head_confirmed_ = false;          // ConfirmOwnHead since Open
  bool may_adopt_own_ = true;                // no confirmation or signature since Open
  bool awaiting_peer_ = false;               // blocked_ says only: waiting for the peer
  std::deque<Writer*> writers_;              // waiting Appends; front is the leader
  // Damage found in the store, and from which seq each feed is not served
  // (UINT64_MAX: all of it is). Set by const reads too, hence mutable.
  mutable std::optional<std::string> damaged_;
  mutable uint64_t damaged_from_[2] = {UINT64_MAX, UINT64_MAX};
};

}  // namespace parley
