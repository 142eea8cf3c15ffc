// Fixed-size byte values used across Parley: public keys, signatures,
// digests, seeds. Plain value types (std::array underneath), comparable and
// hashable, with lower-case hex conversion for logs, CLIs and documents.
//
// Thread safety: values; no shared state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace parley {

template <size_t N, typename Tag>
struct FixedBytes {
  static constexpr size_t kSize = N;
  std::array<uint8_t, N> bytes{};

  std::span<const uint8_t, N> span() const { return bytes; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes.data()), N};
  }
  // The bytes as a std::string (e.g. for a protobuf `bytes` field).
  std::string str() const { return std::string(view()); }

  // Exactly N bytes, or nullopt.
  static std::optional<FixedBytes> FromBytes(std::string_view b) {
    if (b.size() != N) return std::nullopt;
    FixedBytes out;
    for (size_t i = 0; i < N; ++i) out.bytes[i] = static_cast<uint8_t>(b[i]);
    return out;
  }

  friend bool operator==(const FixedBytes&, const FixedBytes&) = default;
  friend auto operator<=>(const FixedBytes&, const FixedBytes&) = default;
};

struct PublicKeyTag {};
struct SignatureTag {};
struct DigestTag {};
struct SeedTag {};

using PublicKey = FixedBytes<32, PublicKeyTag>;  // Ed25519 public key
using Signature = FixedBytes<64, SignatureTag>;  // Ed25519 detached signature
using Digest = FixedBytes<32, DigestTag>;        // BLAKE2b-256 output (SHA-256 in RFC 6962 trees)
using Seed = FixedBytes<32, SeedTag>;            // Ed25519 seed (secret!)

// Lower-case hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);
template <size_t N, typename Tag>
std::string ToHex(const FixedBytes<N, Tag>& b) { return ToHex(b.view()); }

// Decodes hex (either case, even length); nullopt on any other input.
std::optional<std::string> FromHex(std::string_view hex);

// Standard base64 with padding (RFC 4648 §4), as C2SP notes use it.
std::string ToBase64(std::string_view bytes);
// Strict: only the canonical encoding of some byte string is accepted (no
// whitespace, padding required, unused bits zero); nullopt otherwise.
std::optional<std::string> FromBase64(std::string_view text);

}  // namespace parley
