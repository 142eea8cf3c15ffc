// Passphrase-protected key files for an Ed25519 secret key.
//
// File layout, exactly 177 bytes (integers little-endian):
//   offset size
//        0    8  magic       "PARLEYK1"
//        8    1  version     1 (u8)
//        9    8  opslimit    Argon2id ops limit (u64)
//       17    8  memlimit    Argon2id memory limit in bytes (u64)
//       25   16  salt        Argon2id salt
//       41   24  nonce       XSalsa20-Poly1305 (secretbox) nonce
//       65   32  public_key  the Ed25519 public key in clear, so that a file
//                            can be identified without the passphrase
//       97   80  box         crypto_secretbox_easy(seed(32) || public_key(32))
//                            = MAC(16) || ciphertext(64)
// Keys:
//   derived = Argon2id13(passphrase, salt, opslimit, memlimit), 32 bytes
//   box_key = BLAKE2b-256(key = derived,
//                         msg = "parley/keyfile/v1" || bytes[0, 97))
// so the whole header and the clear public key are bound to the box: a change
// to any byte of the file makes opening fail. After opening, the decrypted
// public key must equal the clear one and the seed must derive it.
//
// Accepted KDF parameters: opslimit in [crypto_pwhash_OPSLIMIT_INTERACTIVE,
// 8 x crypto_pwhash_OPSLIMIT_SENSITIVE] = [2, 32], memlimit in
// [crypto_pwhash_MEMLIMIT_INTERACTIVE, 4 x crypto_pwhash_MEMLIMIT_SENSITIVE]
// = [64 MiB, 4 GiB]; the upper bounds keep a hostile file from making
// OpenKey run for hours or exhaust memory.
//
// Thread safety: free functions; no shared state.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "crypto/sign.h"
#include "crypto/status.h"

namespace parley {

inline constexpr size_t kKeyFileSize = 177;

struct KdfParams {
  // Defaults: libsodium's crypto_pwhash_OPSLIMIT_MODERATE / MEMLIMIT_MODERATE.
  uint64_t opslimit = 0;  // 0 = library default
  uint64_t memlimit = 0;  // bytes; 0 = library default
};

// KDF parameters at libsodium's interactive minimum (fast; for tests).
KdfParams InteractiveKdfParams();

// Encrypts `key` under `passphrase` into the key-file bytes (fresh random
// salt and nonce). Fails with kInvalidArgument if params are outside the
// accepted range (above).
Result<std::string> SealKey(const SecretKey& key, std::string_view passphrase,
                            const KdfParams& params = {});

// Decrypts key-file bytes. Errors, each with a message saying what was wrong:
//   kDataLoss          not a Parley key file (bad magic), unsupported version,
//                      wrong size (the message gives expected and actual), or
//                      a decrypted key that does not match the clear public key
//   kPermissionDenied  "wrong passphrase or tampered key file": secretbox
//                      cannot tell the two apart (any header, salt, nonce,
//                      public key or box byte changed lands here)
//   kInvalidArgument   KDF parameters outside the accepted range (above)
//   kInternal          Argon2id failed (out of memory for memlimit)
Result<SecretKey> OpenKey(std::string_view file_bytes, std::string_view passphrase);

// The public key stored in clear in a key file, without the passphrase;
// nullopt unless the bytes have the size, magic and version of a key file.
// Unauthenticated until OpenKey succeeds: use it to identify, not to trust.
std::optional<PublicKey> KeyFilePublicKey(std::string_view file_bytes);

// WriteKeyFile seals `key` and creates `path` exclusively with mode 0600 (an
// existing file is never overwritten: kAlreadyExists), then fsyncs the file
// and its directory. On a failed write the partial file is removed.
// ReadKeyFile refuses a file whose mode grants anything to group or others
// (kPermissionDenied, the message gives the mode in octal); kNotFound if
// missing; otherwise the errors of OpenKey, prefixed with the path.
Status WriteKeyFile(const std::filesystem::path& path, const SecretKey& key,
                    std::string_view passphrase, const KdfParams& params = {});
Result<SecretKey> ReadKeyFile(const std::filesystem::path& path,
                              std::string_view passphrase);

// The one rule for files that hold private keys (the signing key file, the
// TLS key): `st_mode` (from stat) must grant nothing to group or others.
// kPermissionDenied otherwise: "<what> <path> has mode 0644; it must not be
// accessible by group or others (chmod 600 it)".
Status CheckPrivateFileMode(unsigned st_mode, const std::filesystem::path& path, std::string_view what);

}  // namespace parley
