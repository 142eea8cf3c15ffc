#include "node/daemon/keyring.h"

namespace parley {
namespace {

std::shared_ptr<const SecretKey> Copy(const SecretKey& k) {
  return std::make_shared<const SecretKey>(SecretKey::FromSeed(k.seed()));
}

}  // namespace

KeyRing::KeyRing(const SecretKey& key, const SecretKey* next)
    : key_(Copy(key)), next_(next ? Copy(*next) : nullptr) {}

void KeyRing::SetNext(const SecretKey& next) {
  auto copy = Copy(next);
  std::lock_guard lock(mu_);
  next_ = std::move(copy);
}

std::shared_ptr<const SecretKey> KeyRing::TokenKey(const KeySchedule& schedule, PartyIndex self) const {
  std::lock_guard lock(mu_);
  if (next_ && schedule.HistoryIndex(self, next_->public_key()).value_or(0) > 0) return next_;
  return key_;
}

std::shared_ptr<const SecretKey> KeyRing::Holding(const PublicKey& key) const {
  std::lock_guard lock(mu_);
  if (key_ && key_->public_key() == key) return key_;
  if (next_ && next_->public_key() == key) return next_;
  return nullptr;
}

}  // namespace parley
