#include "crypto/hash.h"

#include <sodium.h>

#include "crypto/sign.h"
#include "crypto/status.h"

namespace parley {

static_assert(Digest::kSize == 32);
static_assert(Digest::kSize >= crypto_generichash_BYTES_MIN &&
              Digest::kSize <= crypto_generichash_BYTES_MAX);

Digest Hash(std::string_view domain, std::string_view message) {
  InitCrypto();
  // Streaming, so domain || message is never built in memory.
  crypto_generichash_state state;
  PARLEY_CHECK(crypto_generichash_init(&state, nullptr, 0, Digest::kSize) == 0);
  for (std::string_view part : {domain, message}) {
    if (part.empty()) continue;
    PARLEY_CHECK(crypto_generichash_update(
                     &state, reinterpret_cast<const unsigned char*>(part.data()),
                     part.size()) == 0);
  }
  Digest out;
  PARLEY_CHECK(crypto_generichash_final(&state, out.bytes.data(), out.kSize) == 0);
  return out;
}

struct StreamHash::State {
  crypto_generichash_state s;
};

StreamHash::StreamHash(std::string_view domain) : state_(std::make_unique<State>()) {
  InitCrypto();
  PARLEY_CHECK(crypto_generichash_init(&state_->s, nullptr, 0, Digest::kSize) == 0);
  Update(domain);
}

StreamHash::~StreamHash() = default;

StreamHash& StreamHash::Update(std::string_view part) {
  if (part.empty()) return *this;
  PARLEY_CHECK(crypto_generichash_update(&state_->s, reinterpret_cast<const unsigned char*>(part.data()),
                                         part.size()) == 0);
  return *this;
}

Digest StreamHash::Final() {
  Digest out;
  PARLEY_CHECK(crypto_generichash_final(&state_->s, out.bytes.data(), out.kSize) == 0);
  return out;
}

Digest Sha256(std::string_view message) {
  InitCrypto();
  static_assert(Digest::kSize == crypto_hash_sha256_BYTES);
  Digest out;
  PARLEY_CHECK(crypto_hash_sha256(out.bytes.data(),
                                  reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size()) == 0);
  return out;
}

void RandomBytes(std::span<uint8_t> out) {
  InitCrypto();
  randombytes_buf(out.data(), out.size());
}

}  // namespace parley
