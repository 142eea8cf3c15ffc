// C2SP signed notes (c2sp.org/signed-note): text signed by one or more keys,
// the envelope of transparency-log checkpoints and their cosignatures.
//
//   note      = text "\n" 1*signature-line      (text ends in "\n")
//   signature = "— " key-name " " base64(key-id(4, big-endian) || sig) "\n"
//
// The text is separated from the signatures by the last empty line. A note
// is valid UTF-8 with no control character but newline. Key names are
// non-empty and hold no Unicode space and no '+'.
//
// Verification follows the spec: a signature line is matched to a trusted
// key by (name, key ID); lines of unknown keys are ignored; a line of a
// known key that does not verify rejects the whole note; a note with no
// verified known signature is rejected.
//
// Two signature types are supported (signature type byte in the key ID):
//   0x01 Ed25519 over the note text            (a log's own signature)
//   0x04 cosignature/v1, c2sp.org/tlog-cosignature: 8-byte big-endian
//        timestamp || Ed25519 over
//        "cosignature/v1\ntime <T>\n" || note text (a witness's cosignature)
// Every byte layout here is in docs/PROTOCOL.md §15.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sign.h"
#include "crypto/status.h"
#include "crypto/types.h"

namespace parley {

// Limits a parser applies (the spec asks verifiers for some; it requires at
// least 16 signatures to be accepted).
inline constexpr size_t kMaxNoteBytes = 256 * 1024;
inline constexpr size_t kMaxNoteSignatures = 100;

enum class NoteKeyType : uint8_t {
  kEd25519 = 0x01,        // c2sp.org/signed-note Ed25519
  kCosignatureV1 = 0x04,  // c2sp.org/tlog-cosignature, timestamped Ed25519
};

// One signature line as written: the key name, the 4-byte key ID, and the
// signature bytes that follow the key ID.
struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;

  friend bool operator==(const NoteSignature&, const NoteSignature&) = default;
};

struct Note {
  std::string text;  // ends in "\n"; the exact signed bytes
  std::vector<NoteSignature> signatures;
};

// A trusted key: name, type and Ed25519 public key.
struct NoteVerifier {
  std::string name;
  NoteKeyType type = NoteKeyType::kEd25519;
  PublicKey key;

  // SHA-256(name || 0x0A || type || key)[:4], big-endian.
  uint32_t key_id() const;
};

// True iff `name` may be a key name: non-empty, valid UTF-8, no Unicode
// space, no '+', no control character.
bool ValidKeyName(std::string_view name);

// Parses a whole note. kInvalidArgument, saying what is wrong, for any
// deviation from the format above or a limit exceeded.
Result<Note> ParseNote(std::string_view bytes);
// Parses a block of signature lines alone (a witness's answer): one or more
// lines, each ending in "\n".
Result<std::vector<NoteSignature>> ParseSignatureLines(std::string_view bytes);

std::string FormatSignatureLine(const NoteSignature& sig);
// text || "\n" || every signature line. REQUIRES: text ends in "\n".
std::string FormatNote(const Note& note);

// The key ID of (name, type, key).
uint32_t NoteKeyId(std::string_view name, NoteKeyType type, const PublicKey& key);

// Verifier keys: "<name>+<hex key ID, 8 digits>+<base64(type || key)>".
// Parsing checks that the key ID matches name, type and key.
Result<NoteVerifier> ParseVerifierKey(std::string_view vkey);
std::string FormatVerifierKey(const NoteVerifier& v);

// Ed25519 (type 0x01) signature of `text` by `key` under `name`.
NoteSignature SignNote(const SecretKey& key, std::string_view name, std::string_view text);

// The message a cosignature/v1 signs: "cosignature/v1\ntime <T>\n" || text.
std::string CosignatureMessage(uint64_t timestamp, std::string_view text);
// A cosignature/v1 (type 0x04) of `text` at `timestamp` (POSIX seconds).
// REQUIRES: timestamp <= 2^63 - 1.
NoteSignature Cosign(const SecretKey& key, std::string_view name, std::string_view text,
                     uint64_t timestamp);

struct VerifiedSignature {
  size_t verifier = 0;     // index into the verifiers given
  uint64_t timestamp = 0;  // cosignatures only; 0 for Ed25519 notes
};

// Verifies `note` against `verifiers` by the rules above. kPermissionDenied
// when a known key's signature fails ("signature of <name> does not verify")
// or when no known key signed.
Result<std::vector<VerifiedSignature>> VerifyNote(const Note& note,
                                                  std::span<const NoteVerifier> verifiers);

}  // namespace parley
