// Ed25519 signing with domain separation, over exact bytes.
//
// Every signature in Parley covers `domain || message`, where domain is an
// ASCII string such as "parley/entry/v1" (no length prefix, no terminator)
// and message is the exact byte string carried on the wire. Callers never
// re-serialize before verifying.
//
// SecretKey is move-only and wipes itself (sodium_memzero) on destruction.
// It has no printing or conversion to string.
//
// Thread safety: SecretKey is immutable after construction; Sign and Verify
// may be called concurrently from any thread.
#pragma once

#include <string_view>

#include "crypto/types.h"

namespace parley {

// Must be called once before any other crypto function (idempotent,
// thread-safe). Stops the process if libsodium cannot initialise.
void InitCrypto();

class SecretKey {
 public:
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  ~SecretKey();

  // Deterministic key pair from a 32-byte seed (crypto_sign_seed_keypair).
  static SecretKey FromSeed(const Seed& seed);
  // Fresh random key pair.
  static SecretKey Generate();

  const PublicKey& public_key() const { return public_key_; }
  // The seed this key was derived from (secret: for key files only).
  Seed seed() const;

 private:
  friend Signature SignRaw(const SecretKey& key, std::string_view message);

  SecretKey() = default;
  std::array<uint8_t, 64> sk_{};  // libsodium's seed || public key layout
  PublicKey public_key_;
};

// Ed25519 signature over domain || message.
Signature Sign(const SecretKey& key, std::string_view domain,
               std::string_view message);

// True iff `signature` is a valid Ed25519 signature by `key` over
// domain || message. Rejects non-canonical and small-order encodings the way
// libsodium's crypto_sign_verify_detached does.
[[nodiscard]] bool Verify(const PublicKey& key, std::string_view domain,
                          std::string_view message, const Signature& signature);

// Raw Ed25519 (no domain): known-answer tests against RFC 8032, and C2SP
// signed notes (node/tlog), whose texts are kept apart from every
// `domain || message` above by the rule in docs/PROTOCOL.md §15.3.
Signature SignRaw(const SecretKey& key, std::string_view message);
[[nodiscard]] bool VerifyRaw(const PublicKey& key, std::string_view message,
                             const Signature& signature);

}  // namespace parley
