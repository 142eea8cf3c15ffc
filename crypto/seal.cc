#include "crypto/seal.h"

#include <sodium.h>

#include <cstring>

#include "crypto/hash.h"

namespace parley {
namespace {

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

static_assert(SymmetricKey::kSize == crypto_secretbox_KEYBYTES);

}  // namespace

SymmetricKey::SymmetricKey() {
  InitCrypto();
  randombytes_buf(bytes_.data(), kSize);
}

Result<SymmetricKey> SymmetricKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) return Status(Code::kDataLoss, "a symmetric key must be 32 bytes");
  SymmetricKey k(nullptr);
  std::memcpy(k.bytes_.data(), bytes.data(), kSize);
  return k;
}

SymmetricKey::~SymmetricKey() { sodium_memzero(bytes_.data(), kSize); }

std::string Encrypt(const SymmetricKey& key, std::string_view plaintext) {
  InitCrypto();
  unsigned char nonce[crypto_secretbox_NONCEBYTES];
  randombytes_buf(nonce, sizeof nonce);
  return Encrypt(key, plaintext, std::string_view(reinterpret_cast<const char*>(nonce), sizeof nonce));
}

std::string Encrypt(const SymmetricKey& key, std::string_view plaintext, std::string_view nonce_bytes) {
  PARLEY_CHECK(nonce_bytes.size() == crypto_secretbox_NONCEBYTES);
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  unsigned char* nonce = U(out);
  std::memcpy(nonce, nonce_bytes.data(), crypto_secretbox_NONCEBYTES);
  PARLEY_CHECK(crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, U(plaintext), plaintext.size(),
                                     nonce, key.data()) == 0);
  return out;
}

Result<std::string> Decrypt(const SymmetricKey& key, std::string_view box) {
  constexpr size_t kOverhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
  if (box.size() < kOverhead) return Status(Code::kDataLoss, "encrypted value is too short");
  std::string out(box.size() - kOverhead, '\0');
  if (crypto_secretbox_open_easy(U(out), U(box) + crypto_secretbox_NONCEBYTES,
                                 box.size() - crypto_secretbox_NONCEBYTES, U(box), key.data()) != 0) {
    return Status(Code::kDataLoss, "encrypted value fails authentication (wrong key or altered bytes)");
  }
  return out;
}

SymmetricKey DeriveKey(const SecretKey& key, std::string_view purpose) {
  Seed seed = key.seed();
  std::string msg(purpose);
  msg.push_back('\0');
  msg.append(seed.view());
  sodium_memzero(seed.bytes.data(), seed.bytes.size());
  const Digest d = Hash("parley/derive/v1", msg);
  sodium_memzero(msg.data(), msg.size());
  return *SymmetricKey::FromBytes(d.view());
}

void Wipe(std::string& bytes) {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
}

Result<std::string> SealTo(const PublicKey& recipient, std::string_view plaintext) {
  InitCrypto();
  unsigned char x25519[crypto_box_PUBLICKEYBYTES];
  if (crypto_sign_ed25519_pk_to_curve25519(x25519, recipient.bytes.data()) != 0) {
    return Status(Code::kInvalidArgument, "the recipient's key has no X25519 form");
  }
  std::string out(plaintext.size() + crypto_box_SEALBYTES, '\0');
  PARLEY_CHECK(crypto_box_seal(U(out), U(plaintext), plaintext.size(), x25519) == 0);
  return out;
}

Result<std::string> OpenSealed(const SecretKey& key, std::string_view sealed) {
  InitCrypto();
  if (sealed.size() < crypto_box_SEALBYTES) return Status(Code::kDataLoss, "sealed box is too short");
  unsigned char ed_pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char ed_sk[crypto_sign_SECRETKEYBYTES];
  unsigned char x_pk[crypto_box_PUBLICKEYBYTES];
  unsigned char x_sk[crypto_box_SECRETKEYBYTES];
  Seed seed = key.seed();
  PARLEY_CHECK(crypto_sign_seed_keypair(ed_pk, ed_sk, seed.bytes.data()) == 0);
  sodium_memzero(seed.bytes.data(), seed.bytes.size());
  const bool converted = crypto_sign_ed25519_sk_to_curve25519(x_sk, ed_sk) == 0 &&
                         crypto_sign_ed25519_pk_to_curve25519(x_pk, ed_pk) == 0;
  sodium_memzero(ed_sk, sizeof ed_sk);
  std::string out(sealed.size() - crypto_box_SEALBYTES, '\0');
  const bool opened = converted && crypto_box_seal_open(U(out), U(sealed), sealed.size(), x_pk, x_sk) == 0;
  sodium_memzero(x_sk, sizeof x_sk);
  if (!opened) return Status(Code::kDataLoss, "sealed box was not sealed to this key or was altered");
  return out;
}

}  // namespace parley
