#include <fcntl.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "node/store/store.h"

namespace parley {
namespace {

// LevelDB reports an OS error as an IOError whose message ends in
// strerror(errno); out of space (or quota) is told apart by that text.
bool IsOutOfSpace(const leveldb::Status& s) {
  if (!s.IsIOError()) return false;
  const std::string text = s.ToString();
  return text.find(std::strerror(ENOSPC)) != std::string::npos ||
         text.find(std::strerror(EDQUOT)) != std::string::npos;
}

Status FromLevelDb(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status(Code::kDataLoss, what + ": the stored data is damaged: " + s.ToString());
  if (IsOutOfSpace(s)) return Status(Code::kResourceExhausted, what + ": " + s.ToString());
  return Status(Code::kIoError, what + ": " + s.ToString());
}

// Every read checks the checksum of each block it reads: a flipped bit in a
// table file is a kDataLoss error, never wrong bytes.
leveldb::ReadOptions CheckedReads() {
  leveldb::ReadOptions options;
  options.verify_checksums = true;
  return options;
}

// The marker beside the LevelDB folder that says a database was created
// here (docs/PROTOCOL.md, "Storage").
std::filesystem::path CreatedMarker(const std::filesystem::path& dir) { return dir / "ledger.created"; }

// Writes the marker and makes it durable (the file, then the folder entry).
Status WriteCreatedMarker(const std::filesystem::path& dir) {
  const std::filesystem::path marker = CreatedMarker(dir);
  const std::string text = "parley: a LevelDB database was created in ledger/; never create it again over this folder\n";
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  int err = errno;
  if (fd >= 0) ::close(fd);
  if (ok) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ok = dfd >= 0 && ::fsync(dfd) == 0;
    err = errno;
    if (dfd >= 0) ::close(dfd);
  }
  if (!ok) return Status(Code::kIoError, "cannot write " + marker.string() + ": " + std::strerror(err));
  return Status::Ok();
}

// What the LevelDB folder holds before it is opened.
struct Found {
  bool current = false;  // CURRENT
  std::string files;     // LevelDB's data files (tables, logs, manifests), a few named
};

Found Survey(const std::filesystem::path& db_dir) {
  Found f;
  std::error_code ec;
  f.current = std::filesystem::exists(db_dir / "CURRENT", ec);
  int n = 0;
  for (auto it = std::filesystem::directory_iterator(db_dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.ends_with(".ldb") || name.ends_with(".sst") || name.ends_with(".log") || name.rfind("MANIFEST-", 0) == 0) {
      if (n++ < 3) f.files += (f.files.empty() ? "" : ", ") + name;
    }
  }
  if (n > 3) f.files += ", …";
  return f;
}

// kPermissionDenied naming `dir` if this process cannot create files in it.
// (Checked up front: LevelDB would say "NotFound: .../LOCK".) access() also
// answers for a read-only file system; root passes permission bits.
Status CheckWritable(const std::filesystem::path& dir) {
  if (::access(dir.c_str(), W_OK | X_OK) == 0) return Status::Ok();
  return Status(Code::kPermissionDenied,
                "data folder " + dir.string() + " is not writable (" + std::strerror(errno) +
                    "): the node must create and write its database files there");
}

// The LevelDB database in `dir`, opened; kAlreadyExists if another process
// holds it. Creates a database only in a folder that never held one: with
// the created-marker present, or LevelDB data files present, a missing
// CURRENT is kDataLoss (LevelDB would otherwise start a fresh, empty
// database and delete the old files as garbage).
Result<std::unique_ptr<leveldb::DB>> OpenDb(const std::filesystem::path& dir) {
  const std::filesystem::path db_dir = dir / "ledger";
  std::error_code ec;
  const bool marked = std::filesystem::exists(CreatedMarker(dir), ec);
  const Found found = Survey(db_dir);
  const bool create = !found.current;
  if (create && marked) {
    return Status(Code::kDataLoss, "data folder " + dir.string() +
                                       " holds a ledger but its LevelDB files are damaged: CURRENT missing in " +
                                       db_dir.string() +
                                       (found.files.empty() ? " (and no data files left)" : " (found " + found.files + ")") +
                                       "; refusing to create a new database over it: restore the folder from a backup; "
                                       "or, to accept the loss and start an empty database (the node then recovers its "
                                       "own feed from the peer), move " + db_dir.string() + " aside and delete " +
                                       CreatedMarker(dir).string());
  }
  if (create && !found.files.empty()) {
    return Status(Code::kDataLoss, "data folder " + dir.string() + " holds LevelDB files (" + found.files +
                                       ") but CURRENT is missing in " + db_dir.string() +
                                       ": the database is damaged; refusing to create a new one over it");
  }
  if (Status s = CheckWritable(std::filesystem::exists(db_dir, ec) ? db_dir : dir); !s.ok()) return s;
  leveldb::Options options;
  options.create_if_missing = create;
  options.paranoid_checks = true;  // a damaged log or manifest fails the open
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, db_dir.string(), &raw);
  if (!s.ok()) {
    if (s.IsIOError() && !IsOutOfSpace(s) && s.ToString().find("lock") != std::string::npos) {
      return Status(Code::kAlreadyExists, "data folder " + dir.string() +
                                              " is in use by another process (" + s.ToString() + ")");
    }
    if (s.IsCorruption()) {
      return Status(Code::kDataLoss, "data folder " + dir.string() + " holds a ledger but its LevelDB files are damaged: " +
                                         s.ToString() + "; restore the folder from a backup");
    }
    return FromLevelDb(s, "open store in " + dir.string());
  }
  std::unique_ptr<leveldb::DB> db(raw);
  if (!marked) {
    // Right after creation, or a folder from before the marker existed.
    if (Status m = WriteCreatedMarker(dir); !m.ok()) return m;
  }
  return db;
}

// A LevelDB database that can be closed and opened again in place (Reopen).
// Readers and writers share mu_; Reopen takes it alone, so no iterator or
// call outlives the DB object it used.
class LevelDbStore final : public Store {
 public:
  LevelDbStore(std::filesystem::path dir, std::unique_ptr<leveldb::DB> db) : dir_(std::move(dir)), db_(std::move(db)) {}

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::shared_lock<std::shared_mutex> lock;
    if (Status s = LockOpen(lock); !s.ok()) return s;
    std::string value;
    leveldb::Status s = db_->Get(CheckedReads(), leveldb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromLevelDb(s, "store read");
    return std::optional<std::string>(std::move(value));
  }

  Status Write(const WriteBatch& batch, bool sync) override {
    // Never opens a closed store: the owner decides when to reopen after a
    // failed write (Reopen), and must re-read what it holds then.
    std::shared_lock lock(mu_);
    if (!db_) return Closed();
    leveldb::WriteBatch b;
    for (const auto& [k, v] : batch.puts()) b.Put(k, v);
    for (const auto& k : batch.deletes()) b.Delete(k);
    leveldb::WriteOptions options;
    options.sync = sync;
    return FromLevelDb(db_->Write(options, &b), "store write");
  }

  Status Compact() override {
    std::shared_lock<std::shared_mutex> lock;
    if (Status s = LockOpen(lock); !s.ok()) return s;
    db_->CompactRange(nullptr, nullptr);  // flushes the memtable (a new log) first
    return Status::Ok();
  }

  Status Scan(std::string_view start, std::string_view end, const ScanFn& fn) override {
    std::shared_lock<std::shared_mutex> lock;
    if (Status s = LockOpen(lock); !s.ok()) return s;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(CheckedReads()));
    // A damaged block is skipped by LevelDB's iterator, its error kept for
    // status(): stop at the first error instead of reading on past a gap.
    for (it->Seek(leveldb::Slice(start.data(), start.size())); it->Valid() && it->status().ok(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (key >= end) break;
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromLevelDb(it->status(), "store scan");
  }

  Result<std::unique_ptr<StoreSnapshot>> Snapshot() override;

  // LevelDB's recovery on open replays the write-ahead log into a new table
  // (a log record cut short by the failed write is dropped whole; a complete
  // one is kept), syncs it, and starts a fresh log, so nothing written later
  // lands behind a torn record. It needs about the size of the logs in free
  // space: without it the DB is left open (readable) rather than closed.
  Status Reopen() override {
    std::unique_lock lock(mu_);
    if (db_) {
      if (Status s = CheckRoomForRecovery(); !s.ok()) return s;
      db_.reset();  // releases LevelDB's file lock
    }
    auto db = OpenDb(dir_);
    if (!db) return db.error();
    db_ = std::move(*db);
    return Status::Ok();
  }

 private:
  static Status Closed() {
    return Status(Code::kUnavailable, "store is closed: reopening it after a failed write failed");
  }

  // Takes `lock` (shared) on an open DB, opening it first if a failed
  // Reopen left it closed.
  Status LockOpen(std::shared_lock<std::shared_mutex>& lock) {
    lock = std::shared_lock<std::shared_mutex>(mu_);
    if (db_) return Status::Ok();
    lock.unlock();
    if (Status s = OpenIfClosed(); !s.ok()) return s;
    lock.lock();
    return db_ ? Status::Ok() : Closed();
  }

  Status OpenIfClosed() {
    std::unique_lock lock(mu_);
    if (db_) return Status::Ok();
    auto db = OpenDb(dir_);
    if (!db) return db.error();
    db_ = std::move(*db);
    return Status::Ok();
  }

  // kResourceExhausted if the file system of the data folder has less free
  // space than recovery writes: a table as large as the logs (an upper bound:
  // the same puts, less framing, maybe compressed) and a new manifest.
  Status CheckRoomForRecovery() const {
    const std::filesystem::path db_dir = dir_ / "ledger";
    uint64_t need = 64 * 1024;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(db_dir, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.ends_with(".log") || name.rfind("MANIFEST-", 0) == 0) {
        std::error_code size_ec;
        const uintmax_t size = it->file_size(size_ec);
        if (!size_ec) need += size + size / 8;
      }
    }
    struct statvfs v {};
    if (::statvfs(db_dir.c_str(), &v) != 0) return Status::Ok();  // unknown: try
    const uint64_t free_bytes = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
    if (free_bytes >= need) return Status::Ok();
    return Status(Code::kResourceExhausted, "store reopen: " + std::to_string(free_bytes / 1024) + " KiB free in " +
                                                dir_.string() + ", recovering the store needs about " +
                                                std::to_string(need / 1024) + " KiB");
  }

  const std::filesystem::path dir_;
  std::shared_mutex mu_;
  std::unique_ptr<leveldb::DB> db_;  // null after a Reopen that failed to open
};

// A leveldb::Snapshot of an open LevelDbStore. It holds the store's lock
// shared for its lifetime, so the DB it was taken from stays open under it
// (Reopen waits; reads and writes do not).
class LevelDbSnapshot final : public StoreSnapshot {
 public:
  LevelDbSnapshot(std::shared_lock<std::shared_mutex> lock, leveldb::DB* db)
      : lock_(std::move(lock)), db_(db), snapshot_(db->GetSnapshot()) {}
  ~LevelDbSnapshot() override { db_->ReleaseSnapshot(snapshot_); }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    leveldb::Status s = db_->Get(Options(), leveldb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromLevelDb(s, "snapshot read");
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(std::string_view start, std::string_view end,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(Options()));
    for (it->Seek(leveldb::Slice(start.data(), start.size())); it->Valid() && it->status().ok(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (key >= end) break;
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromLevelDb(it->status(), "snapshot scan");
  }

 private:
  leveldb::ReadOptions Options() const {
    leveldb::ReadOptions options = CheckedReads();
    options.snapshot = snapshot_;
    options.fill_cache = false;  // a backup reads everything once
    return options;
  }
  std::shared_lock<std::shared_mutex> lock_;
  leveldb::DB* db_;
  const leveldb::Snapshot* snapshot_;
};

Result<std::unique_ptr<StoreSnapshot>> LevelDbStore::Snapshot() {
  std::shared_lock<std::shared_mutex> lock;
  if (Status s = LockOpen(lock); !s.ok()) return s;
  leveldb::DB* db = db_.get();
  return std::unique_ptr<StoreSnapshot>(std::make_unique<LevelDbSnapshot>(std::move(lock), db));
}

}  // namespace

Result<std::unique_ptr<Store>> OpenLevelDbStore(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(Code::kIoError, "cannot create data folder " + dir.string() + ": " + ec.message());
  auto db = OpenDb(dir);
  if (!db) return db.error();
  return std::unique_ptr<Store>(std::make_unique<LevelDbStore>(dir, std::move(*db)));
}

}  // namespace parley
