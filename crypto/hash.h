// H: BLAKE2b-256 (libsodium crypto_generichash, 32-byte output, no key),
// always domain separated: H(domain, message) = BLAKE2b-256(domain || message).
// Sha256: for the formats of other specifications only (RFC 6962, C2SP).
//
// Thread safety: pure functions.
#pragma once

#include <memory>
#include <string_view>

#include "crypto/types.h"

namespace parley {

Digest Hash(std::string_view domain, std::string_view message);

// H(domain, message) over a message given in parts, in order: the same
// digest as Hash(domain, part1 || part2 || ...), without holding the message.
class StreamHash {
 public:
  explicit StreamHash(std::string_view domain);
  ~StreamHash();
  StreamHash(const StreamHash&) = delete;
  StreamHash& operator=(const StreamHash&) = delete;
  StreamHash& Update(std::string_view part);
  Digest Final();  // REQUIRES: called once; no Update after

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Plain SHA-256 (libsodium crypto_hash_sha256), with no domain string: only
// for formats that other specifications fix, RFC 6962 Merkle trees and
// C2SP signed-note key IDs (docs/PROTOCOL.md §15). Parley's own hashes use Hash.
Digest Sha256(std::string_view message);

// Fills `out` with cryptographically secure random bytes.
void RandomBytes(std::span<uint8_t> out);

}  // namespace parley
