#include <leveldb/db.h>
#include <leveldb/write_batch.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "node/store.h"

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
  if (s.IsCorruption()) return Status(Code::kDataLoss, what + ": " + s.ToString());
  if (IsOutOfSpace(s)) return Status(Code::kResourceExhausted, what + ": " + s.ToString());
  return Status(Code::kIoError, what + ": " + s.ToString());
}

leveldb::Options DbOptions() {
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  return options;
}

// The LevelDB database in `dir`, opened; kAlreadyExists if another process
// holds it.
Result<std::unique_ptr<leveldb::DB>> OpenDb(const std::filesystem::path& dir) {
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(DbOptions(), (dir / "ledger").string(), &raw);
  if (!s.ok()) {
    if (s.IsIOError() && !IsOutOfSpace(s) && s.ToString().find("lock") != std::string::npos) {
      return Status(Code::kAlreadyExists, "data folder " + dir.string() +
                                              " is in use by another process (" + s.ToString() + ")");
    }
    return FromLevelDb(s, "open store in " + dir.string());
  }
  return std::unique_ptr<leveldb::DB>(raw);
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
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), leveldb::Slice(key.data(), key.size()), &value);
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
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->Seek(leveldb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (key >= end) break;
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromLevelDb(it->status(), "store scan");
  }

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
