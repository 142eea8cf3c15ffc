// H: BLAKE2b-256 (libsodium crypto_generichash, 32-byte output, no key),
// always domain separated: H(domain, message) = BLAKE2b-256(domain || message).
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "crypto/types.h"

namespace parley {

Digest Hash(std::string_view domain, std::string_view message);

// Fills `out` with cryptographically secure random bytes.
void RandomBytes(std::span<uint8_t> out);

}  // namespace parley
