#include <map>
#include <mutex>

#include "node/store/store.h"

namespace parley {
namespace {

class MemoryStore final : public Store {
 public:
  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = map_.find(std::string(key));
    if (it == map_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Status Write(const WriteBatch& batch, bool sync) override {
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : batch.puts()) map_[k] = v;
    for (const auto& k : batch.deletes()) map_.erase(k);
    return Status::Ok();
  }

  Status Scan(std::string_view start, std::string_view end, const ScanFn& fn) override {
    std::lock_guard lock(mu_);
    for (auto it = map_.lower_bound(std::string(start));
         it != map_.end() && it->first < end; ++it) {
      if (!fn(it->first, it->second)) break;
    }
    return Status::Ok();
  }

  // A copy: small stores only (tests).
  Result<std::unique_ptr<StoreSnapshot>> Snapshot() override {
    class Copy final : public StoreSnapshot {
     public:
      explicit Copy(std::map<std::string, std::string, std::less<>> map) : map_(std::move(map)) {}
      Result<std::optional<std::string>> Get(std::string_view key) override {
        auto it = map_.find(key);
        if (it == map_.end()) return std::optional<std::string>();
        return std::optional<std::string>(it->second);
      }
      Status Scan(std::string_view start, std::string_view end,
                  const std::function<bool(std::string_view, std::string_view)>& fn) override {
        for (auto it = map_.lower_bound(start); it != map_.end() && it->first < end; ++it) {
          if (!fn(it->first, it->second)) break;
        }
        return Status::Ok();
      }

     private:
      std::map<std::string, std::string, std::less<>> map_;
    };
    std::lock_guard lock(mu_);
    return std::unique_ptr<StoreSnapshot>(std::make_unique<Copy>(map_));
  }

  // A memory store never holds half a write: nothing to recover.
  Status Reopen() override { return Status::Ok(); }

 private:
  std::mutex mu_;
  std::map<std::string, std::string, std::less<>> map_;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace parley
