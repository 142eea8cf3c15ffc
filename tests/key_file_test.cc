#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "crypto/key_file.h"
#include "crypto/sign.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

// The layout from key_file.h, restated here so the tests check the document.
constexpr size_t kVersionAt = 8;
constexpr size_t kOpslimitAt = 9;
constexpr size_t kMemlimitAt = 17;
constexpr size_t kSaltAt = 25;
constexpr size_t kNonceAt = 41;
constexpr size_t kPublicKeyAt = 65;
constexpr size_t kMacAt = 97;
constexpr size_t kCiphertextAt = 113;

const char kPassphrase[] = "correct horse battery staple";

void PutU64(std::string& file, size_t at, uint64_t v) {
  for (size_t i = 0; i < 8; ++i) file[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Argon2id is slow by design: seal once and share.
struct Sealed {
  SecretKey key = SecretKey::Generate();
  std::string file;
};
const Sealed& Fixture() {
  static const Sealed sealed = [] {
    Sealed s;
    Result<std::string> file = SealKey(s.key, kPassphrase, InteractiveKdfParams());
    REQUIRE(file.has_value());
    s.file = *file;
    return s;
  }();
  return sealed;
}

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("parley_key_file_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST_CASE("a sealed key file is 177 bytes: magic, version, KDF params, and the public key in clear") {
  const Sealed& s = Fixture();
  REQUIRE(s.file.size() == kKeyFileSize);
  CHECK(s.file.substr(0, 8) == "PARLEYK1");
  CHECK(s.file[kVersionAt] == 1);
  std::string expected_params(16, '\0');
  PutU64(expected_params, 0, InteractiveKdfParams().opslimit);
  PutU64(expected_params, 8, InteractiveKdfParams().memlimit);
  CHECK(s.file.substr(kOpslimitAt, 16) == expected_params);
  CHECK(s.file.substr(kPublicKeyAt, 32) == s.key.public_key().view());
  CHECK(KeyFilePublicKey(s.file) == s.key.public_key());
  CHECK_FALSE(KeyFilePublicKey(s.file.substr(0, 176)).has_value());
  CHECK_FALSE(KeyFilePublicKey("PARLEYK2" + s.file.substr(8)).has_value());
}

TEST_CASE("OpenKey recovers the sealed key with the right passphrase") {
  const Sealed& s = Fixture();
  Result<SecretKey> key = OpenKey(s.file, kPassphrase);
  REQUIRE(key.has_value());
  CHECK(key->public_key() == s.key.public_key());
  CHECK(key->seed() == s.key.seed());
  CHECK(Verify(s.key.public_key(), "d", "m", Sign(*key, "d", "m")));
}

TEST_CASE("sealing the same key twice uses a fresh salt and nonce") {
  const Sealed& s = Fixture();
  Result<std::string> again = SealKey(s.key, kPassphrase, InteractiveKdfParams());
  REQUIRE(again.has_value());
  CHECK(again->substr(kSaltAt, 16) != s.file.substr(kSaltAt, 16));
  CHECK(again->substr(kNonceAt, 24) != s.file.substr(kNonceAt, 24));
}

TEST_CASE("OpenKey with a wrong passphrase fails with permission denied") {
  Result<SecretKey> key = OpenKey(Fixture().file, "correct horse battery stapler");
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().code() == Code::kPermissionDenied);
  CHECK(key.error().message() == "wrong passphrase or tampered key file");
}

TEST_CASE("a changed byte in any region of the key file makes OpenKey fail") {
  struct Flip {
    const char* region;
    size_t at;
    uint8_t mask;
    Code expected;
  };
  const Flip flips[] = {
      {"magic", 3, 0x01, Code::kDataLoss},
      {"version", kVersionAt, 0x01, Code::kDataLoss},
      // 2 -> 3 passes: still valid, so only the derived key tells.
      {"opslimit low byte", kOpslimitAt, 0x01, Code::kPermissionDenied},
      {"opslimit high byte", kOpslimitAt + 7, 0x01, Code::kInvalidArgument},
      // +1 byte: Argon2id works in KiB, so only the header binding tells.
      {"memlimit low byte", kMemlimitAt, 0x01, Code::kPermissionDenied},
      {"memlimit high byte", kMemlimitAt + 7, 0x80, Code::kInvalidArgument},
      {"salt", kSaltAt + 5, 0x01, Code::kPermissionDenied},
      {"nonce", kNonceAt + 23, 0x80, Code::kPermissionDenied},
      {"clear public key", kPublicKeyAt + 31, 0x01, Code::kPermissionDenied},
      {"MAC", kMacAt, 0x01, Code::kPermissionDenied},
      {"ciphertext (seed)", kCiphertextAt + 10, 0x01, Code::kPermissionDenied},
      {"ciphertext (public key)", kKeyFileSize - 1, 0x01, Code::kPermissionDenied},
  };
  for (const Flip& f : flips) {
    CAPTURE(f.region);
    std::string bad = Fixture().file;
    bad[f.at] = static_cast<char>(bad[f.at] ^ f.mask);
    Result<SecretKey> key = OpenKey(bad, kPassphrase);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code() == f.expected);
    CHECK_FALSE(key.error().message().empty());
  }
}

TEST_CASE("a truncated, extended, empty or foreign file is reported as data loss with sizes") {
  const std::string& file = Fixture().file;
  Result<SecretKey> truncated = OpenKey(file.substr(0, 100), kPassphrase);
  REQUIRE_FALSE(truncated.has_value());
  CHECK(truncated.error().code() == Code::kDataLoss);
  CHECK(truncated.error().message().find("100") != std::string::npos);
  CHECK(truncated.error().message().find("177") != std::string::npos);

  Result<SecretKey> extended = OpenKey(file + "x", kPassphrase);
  REQUIRE_FALSE(extended.has_value());
  CHECK(extended.error().code() == Code::kDataLoss);
  CHECK(extended.error().message().find("178") != std::string::npos);

  for (std::string_view junk : {std::string_view(""), std::string_view("PARL"),
                                std::string_view("-----BEGIN PRIVATE KEY-----")}) {
    Result<SecretKey> key = OpenKey(junk, kPassphrase);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code() == Code::kDataLoss);
    CHECK(key.error().message().find("not a Parley key file") != std::string::npos);
  }
}

TEST_CASE("SealKey refuses KDF parameters below the interactive minimum or absurdly high") {
  const SecretKey key = SecretKey::Generate();
  const KdfParams interactive = InteractiveKdfParams();
  const KdfParams bad_params[] = {
      {interactive.opslimit - 1, interactive.memlimit},
      {interactive.opslimit, interactive.memlimit / 2},
      {interactive.opslimit, 8192},
      {1000, interactive.memlimit},
      {interactive.opslimit, uint64_t{1} << 40},
  };
  for (const KdfParams& p : bad_params) {
    CAPTURE(p.opslimit);
    CAPTURE(p.memlimit);
    Result<std::string> file = SealKey(key, kPassphrase, p);
    REQUIRE_FALSE(file.has_value());
    CHECK(file.error().code() == Code::kInvalidArgument);
    const std::string& msg = file.error().message();
    const bool names_value = msg.find(std::to_string(p.opslimit)) != std::string::npos ||
                             msg.find(std::to_string(p.memlimit)) != std::string::npos;
    CHECK(names_value);
  }
}

TEST_CASE("OpenKey refuses a file whose KDF parameters were weakened or inflated") {
  const KdfParams interactive = InteractiveKdfParams();
  struct Edit {
    size_t at;
    uint64_t value;
    const char* needle;
  };
  const Edit edits[] = {
      {kOpslimitAt, 1, "opslimit 1 "},
      {kOpslimitAt, 0, "opslimit 0 "},
      {kMemlimitAt, interactive.memlimit / 64, "memlimit 1048576 "},
      {kOpslimitAt, 1u << 20, "opslimit 1048576 "},
      {kMemlimitAt, ~uint64_t{0}, "memlimit 18446744073709551615 "},
  };
  for (const Edit& e : edits) {
    CAPTURE(e.needle);
    std::string bad = Fixture().file;
    PutU64(bad, e.at, e.value);
    Result<SecretKey> key = OpenKey(bad, kPassphrase);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code() == Code::kInvalidArgument);
    CHECK(key.error().message().find(e.needle) != std::string::npos);
  }
}

TEST_CASE("WriteKeyFile creates a 0600 file that ReadKeyFile opens, and never overwrites") {
  TempDir dir;
  const fs::path path = dir.path() / "node.key";
  const SecretKey key = SecretKey::Generate();
  REQUIRE(WriteKeyFile(path, key, kPassphrase, InteractiveKdfParams()).ok());
  CHECK(fs::status(path).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(fs::file_size(path) == kKeyFileSize);

  Result<SecretKey> read = ReadKeyFile(path, kPassphrase);
  REQUIRE(read.has_value());
  CHECK(read->public_key() == key.public_key());

  const SecretKey other = SecretKey::Generate();
  Status again = WriteKeyFile(path, other, kPassphrase, InteractiveKdfParams());
  CHECK(again.code() == Code::kAlreadyExists);
  CHECK_FALSE(again.message().empty());
  Result<SecretKey> still = ReadKeyFile(path, kPassphrase);
  REQUIRE(still.has_value());
  CHECK(still->public_key() == key.public_key());
}

TEST_CASE("ReadKeyFile refuses a key file readable by group or others") {
  TempDir dir;
  const fs::path path = dir.path() / "node.key";
  REQUIRE(WriteKeyFile(path, SecretKey::Generate(), kPassphrase, InteractiveKdfParams()).ok());
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write |
                            fs::perms::group_read | fs::perms::others_read);
  Result<SecretKey> key = ReadKeyFile(path, kPassphrase);
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().code() == Code::kPermissionDenied);
  CHECK(key.error().message().find("0644") != std::string::npos);
}

TEST_CASE("ReadKeyFile reports a missing file, a wrong passphrase and a corrupt file distinctly") {
  TempDir dir;
  Result<SecretKey> missing = ReadKeyFile(dir.path() / "absent.key", kPassphrase);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code() == Code::kNotFound);

  const fs::path path = dir.path() / "node.key";
  REQUIRE(WriteKeyFile(path, SecretKey::Generate(), kPassphrase, InteractiveKdfParams()).ok());
  Result<SecretKey> wrong = ReadKeyFile(path, "not it");
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().code() == Code::kPermissionDenied);
  CHECK(wrong.error().message().find(path.string()) != std::string::npos);

  const fs::path truncated = dir.path() / "truncated.key";
  {
    std::ofstream out(truncated, std::ios::binary);
    out << Fixture().file.substr(0, 150);
  }
  fs::permissions(truncated, fs::perms::owner_read | fs::perms::owner_write);
  Result<SecretKey> cut = ReadKeyFile(truncated, kPassphrase);
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().code() == Code::kDataLoss);
  CHECK(cut.error().message().find("150") != std::string::npos);
}

}  // namespace
}  // namespace parley
