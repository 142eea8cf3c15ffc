// C2SP signed notes, checkpoints and cosignatures (node/tlog): the examples
// of the specifications themselves, then the rules case by case.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "crypto/endian.h"
#include "crypto/hash.h"
#include "crypto/sign.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"

namespace parley {
namespace {

SecretKey KeyOf(uint8_t b) {
  Seed s;
  s.bytes.fill(b);
  return SecretKey::FromSeed(s);
}

// c2sp.org/signed-note, "Verifier keys — Example".
constexpr std::string_view kSpecVkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr std::string_view kSpecNote =
    "This is an example message.\n"
    "\n"
    "\xE2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

TEST_CASE("the signed-note spec's example verifies under its verifier key") {
  auto v = ParseVerifierKey(kSpecVkey);
  REQUIRE(v.has_value());
  CHECK(v->name == "example.com/foo");
  CHECK(v->type == NoteKeyType::kEd25519);
  CHECK(v->key_id() == 0x530d903a);
  CHECK(FormatVerifierKey(*v) == kSpecVkey);
  auto note = ParseNote(kSpecNote);
  REQUIRE(note.has_value());
  CHECK(note->text == "This is an example message.\n");
  REQUIRE(note->signatures.size() == 1);
  CHECK(note->signatures[0].key_id == 0x530d903a);
  CHECK(FormatNote(*note) == kSpecNote);
  std::vector<NoteVerifier> trusted{*v};
  auto ok = VerifyNote(*note, trusted);
  REQUIRE(ok.has_value());
  CHECK(ok->size() == 1);
  // One changed byte of the text: the known key's signature fails, the note is refused.
  Note altered = *note;
  altered.text[0] = 't';
  CHECK(VerifyNote(altered, trusted).error().code() == Code::kPermissionDenied);
}

TEST_CASE("the checkpoint and cosignature spec examples parse: key IDs and the cosignature's time") {
  const std::string checkpoint_note =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
      "\xE2\x80\x94 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
      "\xE2\x80\x94 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
  auto note = ParseNote(checkpoint_note);
  REQUIRE(note.has_value());
  auto c = ParseCheckpoint(note->text);
  REQUIRE(c.has_value());
  CHECK(c->origin == "example.com/behind-the-sofa");
  CHECK(c->size == 20852163);
  CHECK(ToBase64(c->root.view()) == "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  CHECK(FormatCheckpoint(*c) == note->text);
  REQUIRE(note->signatures.size() == 2);
  CHECK(note->signatures[0].signature.size() == 64);  // Ed25519
  const NoteSignature& cosig = note->signatures[1];
  CHECK(cosig.key_id == 0x8d66cf3f);
  REQUIRE(cosig.signature.size() == 72);  // u64 timestamp || Ed25519
  // The spec's signed-message example carries "time 1679315147".
  CHECK(ReadBigEndian64(cosig.signature) == 1679315147);
  CHECK(CosignatureMessage(1679315147, note->text) ==
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  // Neither key is known: both lines are ignored, so the note is refused.
  CHECK(VerifyNote(*note, {}).error().code() == Code::kPermissionDenied);
}

TEST_CASE("key IDs are SHA-256(name || 0x0A || type || key)[:4], one per signature type") {
  const SecretKey k = KeyOf(7);
  std::string in = std::string("log.example/a") + "\n" + "\x01" + k.public_key().str();
  CHECK(NoteKeyId("log.example/a", NoteKeyType::kEd25519, k.public_key()) == ReadBigEndian32(Sha256(in).view()));
  in[in.find('\n') + 1] = '\x04';
  CHECK(NoteKeyId("log.example/a", NoteKeyType::kCosignatureV1, k.public_key()) ==
        ReadBigEndian32(Sha256(in).view()));
  CHECK(NoteKeyId("log.example/a", NoteKeyType::kEd25519, k.public_key()) !=
        NoteKeyId("log.example/a", NoteKeyType::kCosignatureV1, k.public_key()));
}

TEST_CASE("signing and verifying: unknown keys are ignored, a known key that fails refuses the note") {
  const SecretKey log = KeyOf(1), other = KeyOf(2), witness = KeyOf(3);
  const std::string text = "log.example/x\n3\n" + ToBase64(Sha256("r").view()) + "\n";
  Note note{text, {SignNote(log, "log.example/x", text)}};
  const NoteVerifier log_v{"log.example/x", NoteKeyType::kEd25519, log.public_key()};
  const NoteVerifier witness_v{"witness.example/w", NoteKeyType::kCosignatureV1, witness.public_key()};

  SUBCASE("a signature by another key under the same name is an unknown key, ignored") {
    note.signatures.insert(note.signatures.begin(), SignNote(other, "log.example/x", text));
    auto ok = VerifyNote(note, std::vector{log_v});
    REQUIRE(ok.has_value());
    CHECK(ok->size() == 1);
  }
  SUBCASE("a bad signature with the known name and key ID refuses the whole note") {
    NoteSignature forged = note.signatures[0];
    forged.signature[5] ^= 1;
    note.signatures.push_back(forged);
    auto r = VerifyNote(note, std::vector{log_v});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message().find("log.example/x") != std::string::npos);
  }
  SUBCASE("a known key ID whose signature has the wrong length refuses the note") {
    note.signatures[0].signature.pop_back();
    CHECK_FALSE(VerifyNote(note, std::vector{log_v}).has_value());
  }
  SUBCASE("no signature of a trusted key: refused") {
    CHECK_FALSE(VerifyNote(note, std::vector{witness_v}).has_value());
  }
  SUBCASE("a cosignature verifies with its timestamp; its bytes are the timestamp and a signature over the cosigned message") {
    const NoteSignature cosig = Cosign(witness, "witness.example/w", text, 1700000000);
    REQUIRE(cosig.signature.size() == 72);
    CHECK(ReadBigEndian64(cosig.signature) == 1700000000);
    CHECK(VerifyRaw(witness.public_key(), "cosignature/v1\ntime 1700000000\n" + text,
                    *Signature::FromBytes(cosig.signature.substr(8))));
    note.signatures.push_back(cosig);
    auto ok = VerifyNote(note, std::vector{log_v, witness_v});
    REQUIRE(ok.has_value());
    REQUIRE(ok->size() == 2);
    CHECK((*ok)[1].verifier == 1);
    CHECK((*ok)[1].timestamp == 1700000000);
    // The cosignature does not verify as a plain Ed25519 signature of the text.
    CHECK_FALSE(VerifyRaw(witness.public_key(), text, *Signature::FromBytes(cosig.signature.substr(8))));
    // A changed timestamp breaks it.
    note.signatures[1].signature[7] ^= 1;
    CHECK_FALSE(VerifyNote(note, std::vector{log_v, witness_v}).has_value());
  }
  SUBCASE("the formatted note parses back to the same note") {
    note.signatures.push_back(Cosign(witness, "witness.example/w", text, 5));
    auto back = ParseNote(FormatNote(note));
    REQUIRE(back.has_value());
    CHECK(back->text == note.text);
    CHECK(back->signatures == note.signatures);
  }
}

TEST_CASE("malformed notes are refused, saying what is wrong") {
  const SecretKey k = KeyOf(4);
  const std::string text = "hello\n";
  const std::string line = FormatSignatureLine(SignNote(k, "a.example/k", text));
  struct Case {
    std::string bytes;
    std::string says;
  };
  const std::vector<Case> cases = {
      {text + line, "no empty line"},
      {text + "\n", "no signature line"},
      {text + "\n" + line.substr(0, line.size() - 1), "newline"},
      {text + "\n" + "- a.example/k AAAA\n", "em dash"},
      {text + "\n" + "\xE2\x80\x94 a.example/kAAAA\n", "no space"},
      {text + "\n" + "\xE2\x80\x94 a.exa+mple/k AAAAAAA=\n", "key name"},
      {text + "\n" + "\xE2\x80\x94 a.example/k AAAAAAA\n", "base64"},
      {text + "\n" + "\xE2\x80\x94 a.example/k AAAAAA==\n", "shorter"},
      {"hel\tlo\n\n" + line, "control character"},
      {"hel\xffo\n\n" + line, "UTF-8"},
      {"hel\xC0\xAFo\n\n" + line, "UTF-8"},  // overlong '/'
      {std::string(kMaxNoteBytes, 'a') + "\n\n" + line, "larger"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.bytes.substr(0, 80));
    auto r = ParseNote(c.bytes);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kInvalidArgument);
    CHECK(r.error().message().find(c.says) != std::string::npos);
  }
  // At most kMaxNoteSignatures lines; exactly that many is fine.
  std::string many = text + "\n";
  for (size_t i = 0; i < kMaxNoteSignatures; ++i) many += line;
  CHECK(ParseNote(many).has_value());
  CHECK_FALSE(ParseNote(many + line).has_value());
  // The text may contain empty lines: the last empty line separates.
  auto multi = ParseNote("a\n\nb\n\n" + line);
  REQUIRE(multi.has_value());
  CHECK(multi->text == "a\n\nb\n");
}

TEST_CASE("key names: no spaces of any kind, no plus, not empty") {
  CHECK(ValidKeyName("example.com/log42"));
  CHECK(ValidKeyName("ключ.example/журнал"));
  CHECK_FALSE(ValidKeyName(""));
  CHECK_FALSE(ValidKeyName("a b"));
  CHECK_FALSE(ValidKeyName("a+b"));
  CHECK_FALSE(ValidKeyName("a\xC2\xA0" "b"));      // U+00A0
  CHECK_FALSE(ValidKeyName("a\xE3\x80\x80" "b"));  // U+3000
  CHECK_FALSE(ValidKeyName("a\xE2\x80\xA8" "b"));  // U+2028
}

TEST_CASE("verifier keys: malformed ones and ones whose key ID does not match are refused") {
  const SecretKey k = KeyOf(5);
  const NoteVerifier v{"w.example/1", NoteKeyType::kCosignatureV1, k.public_key()};
  const std::string good = FormatVerifierKey(v);
  auto back = ParseVerifierKey(good);
  REQUIRE(back.has_value());
  CHECK(back->type == NoteKeyType::kCosignatureV1);
  CHECK(back->key == k.public_key());
  std::string wrong_id = good;
  wrong_id[wrong_id.find('+') + 1] = wrong_id[wrong_id.find('+') + 1] == '0' ? '1' : '0';
  for (const std::string& bad : {std::string("w.example/1"), std::string("w.example/1+abc"), wrong_id,
                                 "w.example/1+00000000+" + ToBase64(std::string(33, '\x02')),
                                 "w.example/1+0000000+" + ToBase64(std::string(33, '\x01')),
                                 "w.example/1+00000000+" + ToBase64(std::string(32, '\x01'))}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseVerifierKey(bad).has_value());
  }
}

TEST_CASE("checkpoints: the three lines are strict, extension lines are kept") {
  const std::string root = ToBase64(Sha256("x").view());
  auto c = ParseCheckpoint("o.example/log\n0\n" + root + "\next one\n");
  REQUIRE(c.has_value());
  CHECK(c->size == 0);
  CHECK(c->extensions == std::vector<std::string>{"ext one"});
  CHECK(FormatCheckpoint(*c) == "o.example/log\n0\n" + root + "\next one\n");
  CHECK(ParseCheckpoint("o\n18446744073709551615\n" + root + "\n")->size == UINT64_MAX);
  for (const std::string& bad :
       {"o\n1\n" + root, "\n1\n" + root + "\n", "o\n01\n" + root + "\n", "o\n+1\n" + root + "\n",
        "o\n18446744073709551616\n" + root + "\n", "o\n1\n" + ToBase64("short") + "\n", std::string("o\n1\n"),
        "o\n1\n" + root + "\n\n", "o\n 1\n" + root + "\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseCheckpoint(bad).has_value());
  }
}

TEST_CASE("base64 is strict: canonical standard encoding with padding only") {
  CHECK(ToBase64("") == "");
  CHECK(ToBase64("f") == "Zg==");
  CHECK(ToBase64("foobar") == "Zm9vYmFy");
  CHECK(FromBase64("Zm9vYmFy") == "foobar");
  CHECK(FromBase64("Zg==") == "f");
  CHECK_FALSE(FromBase64("Zh==").has_value());  // non-zero unused bits
  CHECK_FALSE(FromBase64("Zg").has_value());
  CHECK_FALSE(FromBase64("Zg=\n").has_value());
  CHECK_FALSE(FromBase64("Z-8_").has_value());  // URL alphabet
  CHECK_FALSE(FromBase64("Zm9v YmFy").has_value());
}

}  // namespace
}  // namespace parley
