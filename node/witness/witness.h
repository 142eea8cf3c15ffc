// A c2sp.org/tlog-witness: it cosigns checkpoints of the logs it is
// configured for, each only if it is consistent with the last checkpoint it
// cosigned for that origin, and keeps that last checkpoint durably.
//
// AddCheckpoint implements `POST <prefix>/add-checkpoint` exactly as the
// spec says, without HTTP (node/witness/server.h carries it):
//   body = "old " size "\n" *(base64(hash) "\n") "\n" checkpoint-note
// answering
//   400  malformed body (also: more than 63 proof lines), old size > size
//   404  unknown origin
//   403  no valid signature of a trusted key for the origin, or a line of a
//        trusted key that does not verify
//   409  old size is not the last cosigned size; body "<size>\n",
//        Content-Type text/x.tlog.size
//   422  (the body kept in evidence_dir) a size-0 checkpoint whose root is not the empty tree's; a proof for
//        old size 0; equal sizes with another root; a consistency proof that
//        does not verify
//   200  one cosignature/v1 line by the witness key, carrying its own time
//   500  the state could not be written (nothing was cosigned), or an earlier
//        write failed and the witness has stopped cosigning until restarted
// The check of the old size against the last cosigned size and the update of
// that size happen under one lock, so concurrent requests for one origin are
// serialized: two requests from the same old size are never both cosigned,
// and a smaller checkpoint never replaces a larger one.
//
// Durability: the state (every origin's last cosigned checkpoint note,
// including the log's signatures and the cosignature) is written whole into
// whichever of the state file's two regions does not hold the newest state,
// then fdatasynced, so a torn write leaves the previous state (the file is
// laid out anew, atomically, on the first write and when the state outgrows
// its region). A generation counter in it is also recorded in a high-water mark
// (node/store/high_water_mark.h) kept apart from it; Open refuses a state
// file older than the mark (rolled back) or missing while the mark says the
// witness has cosigned (lost). Layout: docs/PROTOCOL.md §15.5.
//
// Group commit: a request that passes the checks updates the in-memory state
// at once (so the next request is checked against it) and waits. A committer
// thread writes the whole state, and then the mark, once for all requests
// accepted since its last write, while the next ones queue (lingering up to
// commit_linger for more when logs submit at once); when both are durable
// every request of that write gets its cosignature. No cosignature
// (answer, Latest, generation) leaves the witness before the state that
// records it is durable. If a write fails, every request of it gets 500, and
// the witness stops cosigning (500 "state not durable, restart") until it is
// restarted: its memory is ahead of its disk, and a restart reads back
// whatever the disk holds.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/sign.h"
#include "crypto/status.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"

namespace parley {

class HighWaterMark;

// The most proof lines a request may carry.
inline constexpr size_t kMaxProofLines = 63;
// The largest request body accepted: 63 proof lines and a note.
inline constexpr size_t kMaxAddCheckpointBytes = 64 + kMaxProofLines * 45 + kMaxNoteBytes;
inline constexpr std::string_view kTlogSizeContentType = "text/x.tlog.size";
inline constexpr size_t kMaxEvidenceFiles = 1000;
// The most requests the committer waits for before writing (commit_linger).
inline constexpr uint64_t kMaxCommitBatch = 1024;

struct WitnessLog {
  std::string origin;
  std::vector<NoteVerifier> keys;  // any of them may sign (key rotation)
};

struct WitnessOptions {
  std::string name;  // the witness's key name, e.g. "witness.example/icrc"
  std::vector<WitnessLog> logs;
  std::filesystem::path state_file;
  std::filesystem::path high_water_mark;
  // Where refused checkpoints that the log validly signed are kept as
  // evidence of its misbehaviour (422 only): one file per distinct request
  // body, named by its SHA-256 in hex, at most kMaxEvidenceFiles. Empty: not kept.
  std::filesystem::path evidence_dir;
  // Group commit: when the last write recorded more than one request (so
  // logs are submitting at once), the committer waits this long for more
  // to join the next write (or until kMaxCommitBatch are waiting, or Flush
  // says no more are coming): fewer, larger writes for a little latency. A
  // lone log is never kept waiting.
  std::chrono::microseconds commit_linger{2000};
  // Seconds since the epoch for cosignatures; the system clock by default.
  std::function<uint64_t()> now_seconds;
  // Tests only: called by the committer thread before each state write,
  // with the generation it is about to write; a non-OK status fails that
  // write as a disk error would. Empty: nothing is called.
  std::function<Status(uint64_t generation)> before_write;
};

struct WitnessResponse {
  int status = 500;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// An answer that may not be sent yet (Witness::Accept): a 200 whose
// cosignature is recorded in a state write not yet durable (generation > 0),
// or any other answer, final at once (generation 0).
struct AcceptedCheckpoint {
  AcceptedCheckpoint(WitnessResponse r, uint64_t g = 0) : response(std::move(r)), generation(g) {}  // NOLINT: implicit
  WitnessResponse response;
  uint64_t generation;
};

// Where the write that records a generation stands.
enum class Durability { kPending, kDurable, kFailed };

// The parsed request body.
struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<Digest> proof;
  std::string note;  // the checkpoint note, unparsed
};
// kInvalidArgument naming what is malformed (the 400 cases of the body's form).
Result<AddCheckpointRequest> ParseAddCheckpoint(std::string_view body);
std::string FormatAddCheckpoint(const AddCheckpointRequest& request);

class Witness {
 public:
  // Opens (or, on first use, creates) the state. Refuses, saying what to do:
  // a log listed twice or with no key; a state file corrupt or of another
  // witness key (kDataLoss); a state older than the high-water mark or
  // missing while the mark is above zero (kFailedPrecondition); the mark
  // held by another process (kAlreadyExists).
  static Result<std::unique_ptr<Witness>> Open(SecretKey key, WitnessOptions options);
  // Stops the committer thread (after the write it is doing, if any).
  // REQUIRES: no AddCheckpoint call in progress.
  ~Witness();

  // Checks and answers a request, waiting (blocking this thread) until the
  // state that records an accepted checkpoint is durable.
  WitnessResponse AddCheckpoint(std::string_view body);

  // The same without waiting, for a server that holds answers itself
  // (node/witness/http_loop.h): the answer, and the generation it must wait
  // for. Its 200 may be sent once Settle(generation) is kDurable; if it
  // becomes kFailed, send WriteFailed() instead.
  AcceptedCheckpoint Accept(std::string_view body);
  Durability Settle(uint64_t generation) const;
  WitnessResponse WriteFailed() const;
  // Called by the committer thread after each state write, durable or
  // failed (so a server holding answers can look again). Set it before
  // requests arrive; clear it (empty function) before what it calls goes
  // away. Must not block or call back into the witness.
  void SetWriteListener(std::function<void()> listener);
  // No more requests are coming for now (a server with nothing left to
  // read): the committer stops lingering (commit_linger) and writes what it
  // has.
  void Flush();

  // The durable note (checkpoint, log signature, cosignature) of `origin`,
  // if the witness has cosigned one.
  std::optional<std::string> Latest(std::string_view origin) const;
  // Every configured origin.
  std::vector<std::string> Origins() const;
  // The witness's verifier key (type cosignature/v1).
  NoteVerifier verifier() const;
  // The generation of the durable state: the count of checkpoints cosigned
  // (one write may record several).
  uint64_t generation() const;

 private:
  struct Stored {
    Checkpoint checkpoint;
    std::string note;
  };
  using Notes = std::map<std::string, std::string, std::less<>>;  // origin → note
  Witness(SecretKey key, WitnessOptions options, std::unique_ptr<HighWaterMark> mark);
  // Writes `notes` as the state at `generation`, then the mark.
  Status Persist(const Notes& notes, uint64_t generation);
  // Opens an existing state file in the two-region format for writing and
  // picks the region the next write goes to (leaves a one-state file
  // alone: the first write lays it out anew).
  Status OpenRegions();
  // The committer thread: whenever requests have been accepted since the
  // last write, writes the state (all of them at once); after a failed
  // write it writes nothing more.
  void CommitLoop();
  // The 500 once a write has failed. REQUIRES: mu_ held.
  WitnessResponse NotDurable() const;
  // Keeps a refused, validly signed request body in evidence_dir (best effort).
  void KeepEvidence(std::string_view body);

  const SecretKey key_;
  const WitnessOptions options_;
  std::map<std::string, const WitnessLog*, std::less<>> logs_;
  mutable std::mutex mu_;
  std::condition_variable work_;         // requests accepted, or stopping
  std::unique_ptr<HighWaterMark> mark_;  // used only by the committer thread
  // The state file (§15.5), used only by Open and the committer thread: its
  // descriptor (-1 until laid out in regions), region size, next region.
  int state_fd_ = -1;
  size_t region_bytes_ = 0;
  size_t next_region_ = 0;
  // What requests are checked against: every accepted checkpoint, durable or
  // not yet, at generation generation_.
  std::map<std::string, Stored> state_;  // guarded by mu_
  uint64_t generation_ = 0;              // guarded by mu_
  // What has been written: the notes Latest shows, at durable_generation_.
  Notes durable_;                        // guarded by mu_
  uint64_t durable_generation_ = 0;      // guarded by mu_
  std::string failed_;                   // guarded by mu_: why a write failed; empty if none has
  bool stop_ = false;                    // guarded by mu_
  bool committer_waiting_ = false;       // guarded by mu_: in work_.wait for requests
  bool lingering_ = false;               // guarded by mu_: waiting for more to join a write
  bool flush_ = false;                   // guarded by mu_: Flush called while lingering
  // durable_generation_, or kWriteFailed once a write has failed: what the
  // requests waiting for their write watch (atomic wait: they wake without
  // taking mu_).
  static constexpr uint64_t kWriteFailed = UINT64_MAX;
  std::atomic<uint64_t> published_{0};
  std::function<void()> write_listener_;  // guarded by mu_
  std::thread committer_;
};

// The witness state file, for tests and tools: decode and encode.
struct WitnessStateFile {
  PublicKey witness_key;
  uint64_t generation = 0;
  std::vector<std::string> notes;
};
Result<WitnessStateFile> DecodeWitnessState(std::string_view bytes);
// The newest valid state of a whole state file (§15.5: two regions, or one
// state written whole); kDataLoss if it holds none.
Result<WitnessStateFile> ReadWitnessState(std::string_view file);
std::string EncodeWitnessState(const WitnessStateFile& state);

// The 32-byte identity the witness's high-water mark is bound to:
// H("parley/witness/v1", witness public key).
Digest WitnessMarkId(const PublicKey& key);

}  // namespace parley
