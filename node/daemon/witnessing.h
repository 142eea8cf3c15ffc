// Nodes get witnessed (docs/PROTOCOL.md §15.7): the party node's side of
// c2sp.org/tlog-witness.
//
// - FeedTreeKeeper: an incremental RFC 6962 tree of one feed (leaf hashes,
//   appended as the feed grows; nothing is re-hashed).
// - SubmitSchedule: when one witness may be sent the next checkpoint —
//   coalesced (at most one submission every kMinSubmitInterval, always the
//   newest head) and backed off exponentially with jitter while it fails.
// - CheckpointBook: the cosigned checkpoints of both feeds, stored in the
//   ledger's store (side rows, one merged note per (party, size)), each
//   verified before it is stored; the per-witness state; the alarms.
// - Witnessing: the threads — one keeper (trees, signing our checkpoint,
//   checking checkpoints of the peer's feed) and one submitter per charter
//   witness (outbound HTTP only). Appends never wait for any of it.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "crypto/merkle.h"
#include "node/daemon/keyring.h"
#include "node/ledger/ledger.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"
#include "node/witness/submit.h"
#include "parley/v1/operator.pb.h"

namespace parley {

class Metrics;

inline constexpr auto kMinSubmitInterval = std::chrono::milliseconds(100);
inline constexpr auto kFirstRetryDelay = std::chrono::milliseconds(200);
inline constexpr auto kMaxRetryDelay = std::chrono::seconds(30);
// How often the node asks the peer's node and each witness for checkpoints
// of the peer's feed (also after each catch-up).
inline constexpr auto kCheckpointPollInterval = std::chrono::seconds(2);
inline constexpr auto kWitnessPollInterval = std::chrono::seconds(10);
// GetCheckpoints answers at most this many notes.
inline constexpr size_t kMaxCheckpointsPerAnswer = 1000;
// Checkpoints of the peer's feed above our copy's head kept (in memory)
// until our copy reaches their size.
inline constexpr size_t kMaxPendingCheckpoints = 1000;

// The RFC 6962 tree of one feed, kept up to date from the ledger.
class FeedTreeKeeper {
 public:
  FeedTreeKeeper() : tree_({}, MerkleScheme::kRfc6962) {}
  // Appends the leaf hashes of the entries stored since the last call.
  // Returns the tree size afterwards. When the tree grew, `on_grown` runs
  // with the tree still write-locked (so what it derives from the tree is
  // published together with it). One caller at a time.
  Result<uint64_t> Sync(const Ledger& ledger, PartyIndex party,
                        const std::function<void(const MerkleTree&)>& on_grown = {});
  uint64_t size() const;
  // True iff `root` is the root of this feed's first `size` entries;
  // nullopt when the tree holds fewer than `size` entries.
  std::optional<bool> Matches(uint64_t size, const Digest& root) const;
  // The tree, read-locked for as long as the lock lives.
  std::shared_mutex& mutex() const { return mu_; }
  const MerkleTree& tree() const { return tree_; }  // REQUIRES: mutex() held

 private:
  mutable std::shared_mutex mu_;
  MerkleTree tree_;
};

// When to submit to one witness. Pure: the caller passes the time.
class SubmitSchedule {
 public:
  using Clock = std::chrono::steady_clock;
  // `jitter` returns a value in [0, 1); the delay after n failures is
  // min(kMaxRetryDelay, kFirstRetryDelay * 2^(n-1)) * (0.5 + jitter / 2).
  explicit SubmitSchedule(uint64_t cosigned = 0, std::function<double()> jitter = nullptr);

  // The earliest time the next submission of a head of `head` entries may
  // start; nullopt when the witness has cosigned it already.
  std::optional<Clock::time_point> Next(uint64_t head) const;
  void Started(Clock::time_point now) { last_start_ = now; }
  void Succeeded(uint64_t size);
  void Failed(Clock::time_point now);
  uint64_t cosigned() const { return cosigned_; }
  int failures() const { return failures_; }
  // The current retry delay (zero without failures).
  Clock::duration retry_delay() const { return retry_delay_; }

 private:
  uint64_t cosigned_;
  std::function<double()> jitter_;
  std::optional<Clock::time_point> last_start_;
  Clock::time_point retry_at_{};
  Clock::duration retry_delay_{};
  int failures_ = 0;
};

// A checkpoint note verified against the charter (see CheckpointBook::Verify).
struct VerifiedCheckpoint {
  PartyIndex party = 0;
  Checkpoint checkpoint;
  std::string note;  // text + the party's line(s) + verified witness lines only
  struct Cosig {
    size_t witness = 0;  // index into charter().witnesses()
    uint64_t timestamp = 0;
  };
  std::vector<Cosig> cosignatures;
};

class CheckpointBook {
 public:
  CheckpointBook(Ledger& ledger, Metrics* metrics);
  // Reads the stored witness state and alarms.
  Status Load();

  // Checks `note` as a checkpoint of `party`'s feed: it parses; its origin is
  // FeedOrigin(party); it is signed by a key of the party's key history (the
  // charter key or a rotation's key); every line of a charter witness's key
  // verifies; at least one does. Lines of other keys are dropped.
  // kInvalidArgument / kPermissionDenied saying what is wrong.
  Result<VerifiedCheckpoint> Verify(PartyIndex party, std::string_view note) const;

  // Stores `v` (merged with the note already stored for its (party, size):
  // the union of signature lines) and advances each witness's cosigned size.
  // Two different texts of one (party, size) are a split view: an alarm, and
  // nothing is stored (kRejected).
  Status Store(const VerifiedCheckpoint& v);

  // Stored notes of `party`'s feed with size >= from_size, in size order.
  Result<std::vector<std::string>> Read(PartyIndex party, uint64_t from_size, size_t max) const;
  // The largest stored size of `party`'s feed (0: none).
  uint64_t largest(PartyIndex party) const;

  // Raises an alarm: kept as evidence (a side row named by its SHA-256),
  // logged at error level, counted — once per distinct evidence.
  void RaiseAlarm(const std::string& kind, const std::string& detail, const std::string& evidence);
  // Every alarm kept, as "<kind>: <detail>" (oldest first).
  std::vector<std::string> alarms() const;

  // The last error talking to witness `w` about `party`'s feed ("" clears).
  void SetError(size_t w, PartyIndex party, const std::string& error);
  // What the witness last cosigned of `party`'s feed (size, its time).
  std::pair<uint64_t, uint64_t> cosigned(size_t w, PartyIndex party) const;
  // Per witness and feed, for `parley status`.
  void FillStatus(google::protobuf::RepeatedPtrField<v1::WitnessFeedStatus>* out) const;

  const Ledger& ledger() const { return ledger_; }

 private:
  struct WitnessFeed {
    uint64_t size = 0;
    uint64_t time = 0;
    std::string error;
  };
  Ledger& ledger_;
  Metrics* const metrics_;
  mutable std::mutex alarm_mu_;  // guards alarms_
  mutable std::mutex mu_;  // serialises Store's read-merge-write; guards witnesses_, largest_
  std::vector<std::array<WitnessFeed, 2>> witnesses_;
  uint64_t largest_[2] = {0, 0};
  std::vector<std::string> alarms_;
};

class Witnessing {
 public:
  using SubmitFn = std::function<Result<SubmitOutcome>(const WitnessEndpoint&, const MerkleTree&,
                                                       const std::string&, uint64_t)>;
  // GET `url`: the body of a 200, kNotFound for a 404, kUnavailable else.
  using GetFn = std::function<Result<std::string>(const std::string& url)>;
  // The peer's node's cosigned checkpoints of its feed from a size on.
  using PeerFetchFn = std::function<Result<std::vector<std::string>>(PartyIndex party, uint64_t from_size)>;

  // `book` and `keys` must outlive this. Null functions: the real HTTP
  // ones (SubmitCheckpoint, an httplib GET); no peer fetch.
  Witnessing(Ledger& ledger, const KeyRing& keys, CheckpointBook& book, Metrics* metrics,
             SubmitFn submit = nullptr, GetFn get = nullptr, PeerFetchFn peer_fetch = nullptr);
  ~Witnessing();

  void Start();
  void Stop();
  // Asks for an early fetch of the peer's checkpoints (after a catch-up).
  void Poke();
  // Checks notes of the peer's feed (from the peer or a witness) and stores
  // those that hold; a root that differs from our copy is an alarm.
  void Offer(PartyIndex party, const std::vector<std::string>& notes, const std::string& source);

 private:
  struct Submitter {
    size_t index = 0;
    WitnessEndpoint endpoint;
    SubmitSchedule schedule;
    std::thread thread;
    std::chrono::steady_clock::time_point next_poll{};
  };
  void RunKeeper();
  void RunSubmitter(Submitter& s);
  void RunFetcher();
  // Signs the checkpoint of `tree` (the own feed's). REQUIRES: own tree
  // write-locked.
  void SignHead(const MerkleTree& tree);
  // Checks one note of `party`'s feed; true if it is done with (stored,
  // refused, alarm), false to keep it pending.
  bool Check(PartyIndex party, const std::string& note, const std::string& source);
  void PollWitness(Submitter& s);

  Ledger& ledger_;
  const KeyRing& keys_;
  CheckpointBook& book_;
  Metrics* const metrics_;
  SubmitFn submit_;
  GetFn get_;
  PeerFetchFn peer_fetch_;
  const PartyIndex self_, other_;
  FeedTreeKeeper trees_[2];
  std::string head_note_;  // the signed checkpoint of trees_[self_]; guarded by its mutex
  uint64_t head_size_ = 0;  // its size; guarded by mu_

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool poked_ = false;
  struct Offered {
    PartyIndex party = 0;
    std::string note;
    std::string source;
  };
  std::deque<Offered> offered_;  // guarded by mu_
  std::map<std::pair<PartyIndex, std::string>, std::string> pending_;  // keeper's only: note -> source
  std::set<Digest> refused_;  // keeper's only: notes refused (logged once; at most kMaxPendingCheckpoints)
  std::vector<std::unique_ptr<Submitter>> submitters_;
  std::thread keeper_;
  std::thread fetcher_;
};

}  // namespace parley
