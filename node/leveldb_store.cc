#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "node/store.h"

namespace parley {
namespace {

Status FromLevelDb(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption()) return Status(Code::kDataLoss, what + ": " + s.ToString());
  return Status(Code::kIoError, what + ": " + s.ToString());
}

class LevelDbStore final : public Store {
 public:
  explicit LevelDbStore(std::unique_ptr<leveldb::DB> db) : db_(std::move(db)) {}

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), leveldb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromLevelDb(s, "store read");
    return std::optional<std::string>(std::move(value));
  }

  Status Write(const WriteBatch& batch, bool sync) override {
    leveldb::WriteBatch b;
    for (const auto& [k, v] : batch.puts()) b.Put(k, v);
    leveldb::WriteOptions options;
    options.sync = sync;
    return FromLevelDb(db_->Write(options, &b), "store write");
  }

  Status Scan(std::string_view start, std::string_view end, const ScanFn& fn) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->Seek(leveldb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (key >= end) break;
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromLevelDb(it->status(), "store scan");
  }

 private:
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenLevelDbStore(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(Code::kIoError, "cannot create data folder " + dir.string() + ": " + ec.message());
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, (dir / "ledger").string(), &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status(Code::kAlreadyExists, "data folder " + dir.string() +
                                              " is in use by another process (" + s.ToString() + ")");
    }
    return FromLevelDb(s, "open store in " + dir.string());
  }
  return std::unique_ptr<Store>(std::make_unique<LevelDbStore>(std::unique_ptr<leveldb::DB>(raw)));
}

}  // namespace parley
