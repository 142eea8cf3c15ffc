#include "node/tlog/note.h"

#include "crypto/endian.h"
#include "crypto/hash.h"

namespace parley {
namespace {

constexpr std::string_view kEmDashSpace = "\xE2\x80\x94 ";  // U+2014, U+0020

Status Bad(std::string what) { return Status(Code::kInvalidArgument, "note: " + std::move(what)); }

// Decodes one UTF-8 code point at s[i], advancing i; nullopt on invalid
// UTF-8 (overlong forms, surrogates and values above U+10FFFF included).
std::optional<uint32_t> NextCodePoint(std::string_view s, size_t& i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  if (c < 0x80) {
    ++i;
    return c;
  }
  size_t len = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) return std::nullopt;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += len;
  return cp;
}

// Unicode White_Space (what Go's unicode.IsSpace answers true for).
bool IsUnicodeSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// Valid UTF-8 without any control character but "\n" (the rule for a whole note).
std::optional<std::string> CheckNoteCharacters(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t at = i;
    auto cp = NextCodePoint(s, i);
    if (!cp) return "invalid UTF-8 at byte " + std::to_string(at);
    if (*cp < 0x20 && *cp != '\n') return "control character at byte " + std::to_string(at);
  }
  return std::nullopt;
}

Result<NoteSignature> ParseSignatureLine(std::string_view line) {
  if (line.substr(0, kEmDashSpace.size()) != kEmDashSpace) {
    return Bad("a signature line must start with an em dash and a space");
  }
  line.remove_prefix(kEmDashSpace.size());
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return Bad("a signature line has no space between key name and signature");
  NoteSignature sig;
  sig.name = std::string(line.substr(0, space));
  if (!ValidKeyName(sig.name)) return Bad("a signature line has an invalid key name");
  auto raw = FromBase64(line.substr(space + 1));
  if (!raw) return Bad("a signature of " + sig.name + " is not canonical base64");
  if (raw->size() < 5) return Bad("a signature of " + sig.name + " is shorter than a key ID and one byte");
  sig.key_id = ReadBigEndian32(*raw);
  sig.signature = raw->substr(4);
  return sig;
}

}  // namespace

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  size_t i = 0;
  while (i < name.size()) {
    auto cp = NextCodePoint(name, i);
    if (!cp || *cp < 0x20 || *cp == 0x7F || *cp == '+' || IsUnicodeSpace(*cp)) return false;
  }
  return true;
}

Result<std::vector<NoteSignature>> ParseSignatureLines(std::string_view bytes) {
  if (bytes.size() > kMaxNoteBytes) return Bad("larger than " + std::to_string(kMaxNoteBytes) + " bytes");
  if (auto bad = CheckNoteCharacters(bytes)) return Bad(*bad);
  if (bytes.empty()) return Bad("no signature line");
  if (bytes.back() != '\n') return Bad("the last signature line does not end in a newline");
  std::vector<NoteSignature> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t nl = bytes.find('\n', pos);
    if (out.size() == kMaxNoteSignatures) {
      return Bad("more than " + std::to_string(kMaxNoteSignatures) + " signatures");
    }
    auto sig = ParseSignatureLine(bytes.substr(pos, nl - pos));
    if (!sig) return sig.error();
    out.push_back(std::move(*sig));
    pos = nl + 1;
  }
  return out;
}

Result<Note> ParseNote(std::string_view bytes) {
  if (bytes.size() > kMaxNoteBytes) return Bad("larger than " + std::to_string(kMaxNoteBytes) + " bytes");
  if (auto bad = CheckNoteCharacters(bytes)) return Bad(*bad);
  const size_t split = bytes.rfind("\n\n");
  if (split == std::string_view::npos) return Bad("no empty line between the text and the signatures");
  Note note;
  note.text = std::string(bytes.substr(0, split + 1));
  auto sigs = ParseSignatureLines(bytes.substr(split + 2));
  if (!sigs) return sigs.error();
  note.signatures = std::move(*sigs);
  return note;
}

std::string FormatSignatureLine(const NoteSignature& sig) {
  std::string raw;
  AppendBigEndian32(raw, sig.key_id);
  raw += sig.signature;
  return std::string(kEmDashSpace) + sig.name + " " + ToBase64(raw) + "\n";
}

std::string FormatNote(const Note& note) {
  PARLEY_CHECK(!note.text.empty() && note.text.back() == '\n');
  std::string out = note.text + "\n";
  for (const auto& sig : note.signatures) out += FormatSignatureLine(sig);
  return out;
}

uint32_t NoteKeyId(std::string_view name, NoteKeyType type, const PublicKey& key) {
  std::string buf(name);
  buf.push_back('\n');
  buf.push_back(static_cast<char>(type));
  buf.append(key.view());
  return ReadBigEndian32(Sha256(buf).view());
}

uint32_t NoteVerifier::key_id() const { return NoteKeyId(name, type, key); }

Result<NoteVerifier> ParseVerifierKey(std::string_view vkey) {
  const auto bad = [&](const std::string& what) {
    return Status(Code::kInvalidArgument, "verifier key: " + what + " (want name+keyid+base64)");
  };
  const size_t p1 = vkey.find('+');
  if (p1 == std::string_view::npos) return bad("no '+'");
  const size_t p2 = vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return bad("only one '+'");
  NoteVerifier v;
  v.name = std::string(vkey.substr(0, p1));
  if (!ValidKeyName(v.name)) return bad("invalid key name");
  const std::string_view id_hex = vkey.substr(p1 + 1, p2 - p1 - 1);
  auto id = FromHex(id_hex);
  if (id_hex.size() != 8 || !id) return bad("the key ID is not 8 hex digits");
  auto material = FromBase64(vkey.substr(p2 + 1));
  if (!material) return bad("the key is not canonical base64");
  if (material->size() != 1 + PublicKey::kSize) return bad("the key is not a type byte and 32 bytes");
  const uint8_t type = static_cast<uint8_t>((*material)[0]);
  if (type != static_cast<uint8_t>(NoteKeyType::kEd25519) &&
      type != static_cast<uint8_t>(NoteKeyType::kCosignatureV1)) {
    return bad("unsupported signature type " + std::to_string(type) + " (1 Ed25519 and 4 cosignature/v1 are)");
  }
  v.type = static_cast<NoteKeyType>(type);
  v.key = *PublicKey::FromBytes(std::string_view(*material).substr(1));
  if (ReadBigEndian32(*id) != v.key_id()) return bad("the key ID does not match the name and key");
  return v;
}

std::string FormatVerifierKey(const NoteVerifier& v) {
  std::string id;
  AppendBigEndian32(id, v.key_id());
  std::string material(1, static_cast<char>(v.type));
  material.append(v.key.view());
  return v.name + "+" + ToHex(id) + "+" + ToBase64(material);
}

NoteSignature SignNote(const SecretKey& key, std::string_view name, std::string_view text) {
  return NoteSignature{std::string(name), NoteKeyId(name, NoteKeyType::kEd25519, key.public_key()),
                       SignRaw(key, text).str()};
}

std::string CosignatureMessage(uint64_t timestamp, std::string_view text) {
  std::string msg = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n";
  msg.append(text);
  return msg;
}

NoteSignature Cosign(const SecretKey& key, std::string_view name, std::string_view text,
                     uint64_t timestamp) {
  PARLEY_CHECK(timestamp <= uint64_t{INT64_MAX});
  std::string sig;
  AppendBigEndian64(sig, timestamp);
  sig += SignRaw(key, CosignatureMessage(timestamp, text)).str();
  return NoteSignature{std::string(name), NoteKeyId(name, NoteKeyType::kCosignatureV1, key.public_key()),
                       std::move(sig)};
}

Result<std::vector<VerifiedSignature>> VerifyNote(const Note& note,
                                                  std::span<const NoteVerifier> verifiers) {
  std::vector<VerifiedSignature> out;
  for (const auto& sig : note.signatures) {
    for (size_t v = 0; v < verifiers.size(); ++v) {
      const NoteVerifier& known = verifiers[v];
      if (known.name != sig.name || known.key_id() != sig.key_id) continue;
      const auto fail = [&] {
        return Status(Code::kPermissionDenied, "note: the signature of " + known.name + " does not verify");
      };
      VerifiedSignature ok{v, 0};
      if (known.type == NoteKeyType::kEd25519) {
        auto s = Signature::FromBytes(sig.signature);
        if (!s || !VerifyRaw(known.key, note.text, *s)) return fail();
      } else {
        if (sig.signature.size() != 8 + Signature::kSize) return fail();
        ok.timestamp = ReadBigEndian64(sig.signature);
        auto s = Signature::FromBytes(std::string_view(sig.signature).substr(8));
        if (ok.timestamp > uint64_t{INT64_MAX} ||
            !VerifyRaw(known.key, CosignatureMessage(ok.timestamp, note.text), *s)) {
          return fail();
        }
      }
      out.push_back(ok);
      break;
    }
  }
  if (out.empty()) return Status(Code::kPermissionDenied, "note: no signature from a trusted key");
  return out;
}

}  // namespace parley
