// Store: the ordered key-value storage under a ledger. Two implementations:
// LevelDB (the node's) and memory (tests). The ledger's key layout is in
// node/ledger/ledger.cc and docs/PROTOCOL.md ("Storage").
//
// Thread safety: implementations are safe for concurrent use.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/status.h"

namespace parley {

// Puts and deletes applied atomically by Store::Write: puts first, then
// deletes (a key both put and deleted in one batch ends up absent).
class WriteBatch {
 public:
  void Put(std::string key, std::string value) {
    puts_.emplace_back(std::move(key), std::move(value));
  }
  void Delete(std::string key) { deletes_.push_back(std::move(key)); }
  const std::vector<std::pair<std::string, std::string>>& puts() const { return puts_; }
  const std::vector<std::string>& deletes() const { return deletes_; }
  bool empty() const { return puts_.empty() && deletes_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> puts_;
  std::vector<std::string> deletes_;
};

// A read-only view of a store as of one moment (Store::Snapshot): writes made
// after it was taken are not seen, and it does not hold writers up (LevelDB:
// a leveldb::Snapshot, taken under LevelDB's mutex in O(1)). Every batch
// written before it is seen whole or not at all.
class StoreSnapshot {
 public:
  virtual ~StoreSnapshot() = default;
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // As Store::Scan, over the snapshot.
  virtual Status Scan(std::string_view start, std::string_view end,
                      const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // The value at `key`, nullopt if absent; an error only if storage fails.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;

  // Applies every put of `batch` or none. With sync, the batch is on stable
  // storage when Write returns OK (it survives a crash of the process and of
  // the machine); without, it survives a crash of the process only.
  virtual Status Write(const WriteBatch& batch, bool sync) = 0;

  // Calls fn(key, value) for each key in [start, end) in byte order until fn
  // returns false.
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;
  virtual Status Scan(std::string_view start, std::string_view end, const ScanFn& fn) = 0;

  // After a failed Write: closes and reopens the underlying storage, so that
  // the failed batch is afterwards either wholly present (and as durable as a
  // synced write) or absent, and later writes do not build on whatever the
  // failed one left behind. Returns an error if it could not; a store that
  // did not get to close stays readable, one that closed and failed to open
  // tries again on each later call. Errors: kResourceExhausted when the disk
  // lacks the room that recovery needs (the store is then left open and
  // unchanged). The default (memory stores) does nothing.
  virtual Status Reopen() { return Status::Ok(); }

  // Rewrites the storage so that deleted values are no longer in its files
  // (LevelDB: the write-ahead log and every table are rewritten). What the
  // file system does with the freed blocks is outside its reach. The default
  // (memory stores) does nothing.
  virtual Status Compact() { return Status::Ok(); }

  // A consistent read-only view of the store as of now (for an online
  // backup). LevelDB: while a snapshot lives, Reopen waits for it (a
  // snapshot holds the open database); Get, Scan and Write do not. The
  // default: kFailedPrecondition.
  virtual Result<std::unique_ptr<StoreSnapshot>> Snapshot() {
    return Status(Code::kFailedPrecondition, "this store takes no snapshots");
  }
};

std::unique_ptr<Store> NewMemoryStore();

// Opens the LevelDB database in `dir` (in `dir`/ledger), creating the folder
// and the database if the folder never held one. LevelDB's own file lock
// makes a second open of the same folder fail: kAlreadyExists with a message
// that says another process holds it.
//
// Damage is named, never papered over (docs/PROTOCOL.md, "Storage"):
// - creating a database is recorded in `dir`/ledger.created (synced, with
//   its folder); with that marker, or with LevelDB data files, present but
//   CURRENT missing, Open fails with kDataLoss ("... holds a ledger but its
//   LevelDB files are damaged: CURRENT missing ...") and creates nothing;
// - LevelDB runs with paranoid_checks: a damaged log or MANIFEST (or one
//   CURRENT names that is missing) fails the open with kDataLoss;
// - every read verifies block checksums: a damaged table block is kDataLoss
//   from Get and Scan (Scan stops at it), never wrong bytes.
// A log cut short at its end is indistinguishable from a crash mid-write and
// is dropped silently by LevelDB; the ledger's high-water mark catches what
// that loses of the own feed.
// A folder this process cannot write to is kPermissionDenied naming it. A
// write or open that fails for lack of space (ENOSPC, EDQUOT) is
// kResourceExhausted; other storage failures are kIoError.
Result<std::unique_ptr<Store>> OpenLevelDbStore(const std::filesystem::path& dir);

}  // namespace parley
