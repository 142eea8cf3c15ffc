// H: BLAKE2b-256 (libsodium crypto_generichash, 32-byte output, no key),
// always domain separated: H(domain, message) = BLAKE2b-256(domain || message).
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "crypto/types.h"

namespace parley {

Digest Hash(std::string_view domain, std::string_view message);

// H(domain, message) over a message given in pieces (a file streamed
// through): Hash(domain, a || b) == HashStream(domain).Update(a).Update(b).Final().
class HashStream {
 public:
  explicit HashStream(std::string_view domain);
  HashStream& Update(std::string_view part);
  Digest Final();

 private:
  alignas(64) unsigned char state_[384];  // crypto_generichash_state
};

// Fills `out` with cryptographically secure random bytes.
void RandomBytes(std::span<uint8_t> out);

}  // namespace parley
