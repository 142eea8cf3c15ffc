#include "crypto/sign.h"

#include <sodium.h>

#include <mutex>
#include <string>

#include "crypto/status.h"

namespace parley {

static_assert(PublicKey::kSize == crypto_sign_PUBLICKEYBYTES);
static_assert(Signature::kSize == crypto_sign_BYTES);
static_assert(Seed::kSize == crypto_sign_SEEDBYTES);
static_assert(crypto_sign_SECRETKEYBYTES == 64);  // SecretKey::sk_

namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string Concat(std::string_view domain, std::string_view message) {
  std::string buf;
  buf.reserve(domain.size() + message.size());
  buf.append(domain);
  buf.append(message);
  return buf;
}

}  // namespace

void InitCrypto() {
  static std::once_flag once;
  // sodium_init returns 0 on first success, 1 if already initialised.
  std::call_once(once, [] { PARLEY_CHECK(sodium_init() >= 0); });
}

SecretKey::SecretKey(SecretKey&& other) noexcept
    : sk_(other.sk_), public_key_(other.public_key_) {
  sodium_memzero(other.sk_.data(), other.sk_.size());
  other.public_key_ = PublicKey();
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    sk_ = other.sk_;
    public_key_ = other.public_key_;
    sodium_memzero(other.sk_.data(), other.sk_.size());
    other.public_key_ = PublicKey();
  }
  return *this;
}

SecretKey::~SecretKey() { sodium_memzero(sk_.data(), sk_.size()); }

SecretKey SecretKey::FromSeed(const Seed& seed) {
  InitCrypto();
  SecretKey key;
  PARLEY_CHECK(crypto_sign_seed_keypair(key.public_key_.bytes.data(),
                                        key.sk_.data(), seed.bytes.data()) == 0);
  return key;
}

SecretKey SecretKey::Generate() {
  InitCrypto();
  SecretKey key;
  PARLEY_CHECK(crypto_sign_keypair(key.public_key_.bytes.data(),
                                   key.sk_.data()) == 0);
  return key;
}

Seed SecretKey::seed() const {
  Seed seed;
  PARLEY_CHECK(crypto_sign_ed25519_sk_to_seed(seed.bytes.data(), sk_.data()) == 0);
  return seed;
}

Signature SignRaw(const SecretKey& key, std::string_view message) {
  InitCrypto();
  Signature sig;
  PARLEY_CHECK(crypto_sign_detached(sig.bytes.data(), nullptr, Bytes(message),
                                    message.size(), key.sk_.data()) == 0);
  return sig;
}

bool VerifyRaw(const PublicKey& key, std::string_view message,
               const Signature& signature) {
  InitCrypto();
  return crypto_sign_verify_detached(signature.bytes.data(), Bytes(message),
                                     message.size(), key.bytes.data()) == 0;
}

// Ed25519 hashes R || A || message, so a prefix cannot be streamed into
// libsodium's one-shot API; the concatenation costs one copy of the message.
Signature Sign(const SecretKey& key, std::string_view domain,
               std::string_view message) {
  if (domain.empty()) return SignRaw(key, message);
  return SignRaw(key, Concat(domain, message));
}

bool Verify(const PublicKey& key, std::string_view domain,
            std::string_view message, const Signature& signature) {
  if (domain.empty()) return VerifyRaw(key, message, signature);
  return VerifyRaw(key, Concat(domain, message), signature);
}

}  // namespace parley
