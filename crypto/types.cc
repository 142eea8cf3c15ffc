#include "crypto/types.h"

#include <sodium.h>

namespace parley {

std::string ToHex(std::string_view bytes) {
  // sodium_bin2hex is constant-time, so hex of a secret does not leak timing.
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(),
                 reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  hex.pop_back();  // the terminating NUL
  return hex;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string bin(hex.size() / 2, '\0');
  size_t bin_len = 0;
  // With no `ignore` set and no `hex_end` out-param, libsodium fails unless
  // the whole input is hex digits.
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(),
                     hex.data(), hex.size(), nullptr, &bin_len,
                     nullptr) != 0 ||
      bin_len != bin.size()) {
    return std::nullopt;
  }
  return bin;
}

std::string ToBase64(std::string_view bytes) {
  const size_t len = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(len, '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL
  return out;
}

std::optional<std::string> FromBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string bin(text.size() / 4 * 3, '\0');
  size_t bin_len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), text.data(),
                        text.size(), nullptr, &bin_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  bin.resize(bin_len);
  // Canonical only: non-zero unused bits would give a second spelling.
  if (ToBase64(bin) != text) return std::nullopt;
  return bin;
}

}  // namespace parley
