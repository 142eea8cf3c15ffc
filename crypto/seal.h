// Encryption for data that must stay private: the manifests (lists of
// people) a node keeps and shares with the other party's node.
//
//   SymmetricKey + Encrypt/Decrypt: XSalsa20-Poly1305 (crypto_secretbox),
//     output nonce(24) || ciphertext+MAC; a fresh random nonce each time.
//   SealTo/OpenSealed: libsodium sealed box (X25519 + XSalsa20-Poly1305,
//     anonymous sender) to a party's Ed25519 key, converted to X25519 the
//     standard way (crypto_sign_ed25519_pk_to_curve25519). Only the holder of
//     that Ed25519 secret key can open it.
//   DeriveKey: a symmetric key bound to a signing key and a purpose,
//     H("parley/derive/v1", purpose || 0x00 || seed) (BLAKE2b-256).
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "crypto/sign.h"
#include "crypto/status.h"
#include "crypto/types.h"

namespace parley {

// A 32-byte secretbox key. Wiped on destruction.
class SymmetricKey {
 public:
  static constexpr size_t kSize = 32;
  SymmetricKey();  // random
  static Result<SymmetricKey> FromBytes(std::string_view bytes);
  SymmetricKey(const SymmetricKey&) = default;
  SymmetricKey& operator=(const SymmetricKey&) = default;
  ~SymmetricKey();
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes_.data()), kSize}; }
  const uint8_t* data() const { return bytes_.data(); }

 private:
  explicit SymmetricKey(std::nullptr_t) {}
  std::array<uint8_t, kSize> bytes_{};
};

// nonce(24) || secretbox(plaintext): plaintext.size() + 40 bytes.
std::string Encrypt(const SymmetricKey& key, std::string_view plaintext);
// The same with a given 24-byte nonce, which the caller guarantees is never
// used twice with this key (e.g. any fixed nonce for a key used only once).
std::string Encrypt(const SymmetricKey& key, std::string_view plaintext, std::string_view nonce);
// kDataLoss if the bytes are too short or fail authentication.
Result<std::string> Decrypt(const SymmetricKey& key, std::string_view box);

SymmetricKey DeriveKey(const SecretKey& key, std::string_view purpose);

// Overwrites the bytes with zeros in a way the compiler keeps
// (sodium_memzero): for buffers that held keys or personal data.
void Wipe(std::string& bytes);

// Sealed box to `recipient`'s Ed25519 key: plaintext.size() + 48 bytes.
// kInvalidArgument if the key has no X25519 form (a small-order point).
Result<std::string> SealTo(const PublicKey& recipient, std::string_view plaintext);
// kDataLoss if `sealed` was not sealed to this key or was altered.
Result<std::string> OpenSealed(const SecretKey& key, std::string_view sealed);

}  // namespace parley
