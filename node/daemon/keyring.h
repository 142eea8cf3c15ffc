// KeyRing: the node's own secret keys outside the Ledger — the key it was
// started with and, for a rotation (docs/PROTOCOL.md §5.1), its next key —
// for what the node signs besides entries: peer-call tokens (peer_auth.h).
//
// The Ledger holds its own copies for signing entries; the operator service
// gives both the next key when `parley rotate-key` asks for a rotation.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "crypto/sign.h"
#include "node/protocol/entry.h"

namespace parley {

class KeyRing {
 public:
  KeyRing(const SecretKey& key, const SecretKey* next);

  void SetNext(const SecretKey& next);

  // The key for peer-call tokens: the next key as soon as `schedule` records
  // a rotation of `self` to it (pending or in effect: the other node accepts
  // a pending rotation's new key, so the token key never has to change at the
  // instant the rotation takes effect), else the key.
  std::shared_ptr<const SecretKey> TokenKey(const KeySchedule& schedule, PartyIndex self) const;
  // The held secret key whose public key is `key` (the key or the next
  // key), or null: for signing checkpoints with the key in effect.
  std::shared_ptr<const SecretKey> Holding(const PublicKey& key) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const SecretKey> key_;
  std::shared_ptr<const SecretKey> next_;
};

}  // namespace parley
