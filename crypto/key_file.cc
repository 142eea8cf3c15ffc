#include "crypto/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "crypto/hash.h"
#include "crypto/endian.h"

namespace parley {
namespace {

// The grammar is in key_file.h; these are its offsets.
constexpr std::string_view kMagic = "PARLEYK1";
constexpr uint8_t kVersion = 1;
constexpr size_t kMagicOffset = 0;
constexpr size_t kVersionOffset = 8;
constexpr size_t kOpslimitOffset = 9;
constexpr size_t kMemlimitOffset = 17;
constexpr size_t kSaltOffset = 25;
constexpr size_t kNonceOffset = 41;
constexpr size_t kPublicKeyOffset = 65;
constexpr size_t kBoxOffset = 97;  // also the length of the bound header
constexpr size_t kPlainSize = Seed::kSize + PublicKey::kSize;
constexpr size_t kBoxSize = crypto_secretbox_MACBYTES + kPlainSize;
constexpr std::string_view kBindingDomain = "parley/keyfile/v1";

static_assert(kMagic.size() == kVersionOffset - kMagicOffset);
static_assert(kSaltOffset + crypto_pwhash_SALTBYTES == kNonceOffset);
static_assert(kNonceOffset + crypto_secretbox_NONCEBYTES == kPublicKeyOffset);
static_assert(kPublicKeyOffset + PublicKey::kSize == kBoxOffset);
static_assert(kBoxOffset + kBoxSize == kKeyFileSize);
static_assert(crypto_secretbox_KEYBYTES == 32);
static_assert(crypto_secretbox_MACBYTES == 16);

constexpr uint64_t kMinOpslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr uint64_t kMaxOpslimit = 8ull * crypto_pwhash_OPSLIMIT_SENSITIVE;
constexpr uint64_t kMinMemlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
constexpr uint64_t kMaxMemlimit = 4ull * crypto_pwhash_MEMLIMIT_SENSITIVE;
static_assert(kMaxOpslimit <= crypto_pwhash_OPSLIMIT_MAX);

// A fixed-size secret buffer that wipes itself on every exit path.
template <size_t N>
struct Wiped {
  std::array<uint8_t, N> b{};
  Wiped() = default;
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { sodium_memzero(b.data(), b.size()); }
  uint8_t* data() { return b.data(); }
};

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Status CheckKdfParams(uint64_t opslimit, uint64_t memlimit) {
  if (opslimit < kMinOpslimit) {
    return Status(Code::kInvalidArgument,
                  "Argon2id opslimit " + std::to_string(opslimit) +
                      " is below the minimum " + std::to_string(kMinOpslimit) +
                      " (crypto_pwhash_OPSLIMIT_INTERACTIVE)");
  }
  if (opslimit > kMaxOpslimit) {
    return Status(Code::kInvalidArgument,
                  "Argon2id opslimit " + std::to_string(opslimit) +
                      " is above the maximum " + std::to_string(kMaxOpslimit) +
                      " (8 x crypto_pwhash_OPSLIMIT_SENSITIVE)");
  }
  if (memlimit < kMinMemlimit) {
    return Status(Code::kInvalidArgument,
                  "Argon2id memlimit " + std::to_string(memlimit) +
                      " bytes is below the minimum " +
                      std::to_string(kMinMemlimit) +
                      " (crypto_pwhash_MEMLIMIT_INTERACTIVE)");
  }
  if (memlimit > kMaxMemlimit || memlimit > std::numeric_limits<size_t>::max()) {
    return Status(Code::kInvalidArgument,
                  "Argon2id memlimit " + std::to_string(memlimit) +
                      " bytes is above the maximum " +
                      std::to_string(kMaxMemlimit) +
                      " (4 x crypto_pwhash_MEMLIMIT_SENSITIVE)");
  }
  return Status::Ok();
}

// box_key = BLAKE2b-256(key = Argon2id(passphrase), "parley/keyfile/v1" ||
// header), where header = file bytes [0, kBoxOffset).
Status DeriveBoxKey(std::string_view header, std::string_view passphrase,
                    uint64_t opslimit, uint64_t memlimit,
                    Wiped<crypto_secretbox_KEYBYTES>& box_key) {
  Wiped<32> derived;
  if (crypto_pwhash(derived.data(), derived.b.size(), passphrase.data(),
                    passphrase.size(), Bytes(header.substr(kSaltOffset)),
                    opslimit, static_cast<size_t>(memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status(Code::kInternal,
                  "Argon2id key derivation failed (out of memory for memlimit " +
                      std::to_string(memlimit) + " bytes?)");
  }
  crypto_generichash_state state;
  PARLEY_CHECK(crypto_generichash_init(&state, derived.data(), derived.b.size(),
                                       box_key.b.size()) == 0);
  PARLEY_CHECK(crypto_generichash_update(&state, Bytes(kBindingDomain),
                                         kBindingDomain.size()) == 0);
  PARLEY_CHECK(crypto_generichash_update(&state, Bytes(header), header.size()) == 0);
  PARLEY_CHECK(crypto_generichash_final(&state, box_key.data(), box_key.b.size()) == 0);
  sodium_memzero(&state, sizeof state);
  return Status::Ok();
}

// Magic, version and size, in that order, so that the message names the
// first thing that is wrong.
Status CheckFraming(std::string_view file) {
  if (file.size() < kMagic.size() || file.substr(0, kMagic.size()) != kMagic) {
    return Status(Code::kDataLoss,
                  "not a Parley key file (does not start with \"PARLEYK1\")");
  }
  if (file.size() > kVersionOffset &&
      static_cast<uint8_t>(file[kVersionOffset]) != kVersion) {
    return Status(Code::kDataLoss,
                  "unsupported key file version " +
                      std::to_string(static_cast<uint8_t>(file[kVersionOffset])) +
                      " (this build reads version " + std::to_string(kVersion) +
                      ")");
  }
  if (file.size() != kKeyFileSize) {
    return Status(Code::kDataLoss,
                  "key file is " + std::to_string(file.size()) +
                      " bytes, expected " + std::to_string(kKeyFileSize) +
                      (file.size() < kKeyFileSize ? " (truncated)" : ""));
  }
  return Status::Ok();
}

Status Errno(Code code, const std::string& what, const std::filesystem::path& path) {
  return Status(code, what + " " + path.string() + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  int Close() {
    int rc = 0;
    if (fd_ >= 0) rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

}  // namespace

KdfParams InteractiveKdfParams() {
  return KdfParams{crypto_pwhash_OPSLIMIT_INTERACTIVE,
                   crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

Result<std::string> SealKey(const SecretKey& key, std::string_view passphrase,
                            const KdfParams& params) {
  InitCrypto();
  const uint64_t opslimit =
      params.opslimit != 0 ? params.opslimit : crypto_pwhash_OPSLIMIT_MODERATE;
  const uint64_t memlimit =
      params.memlimit != 0 ? params.memlimit : crypto_pwhash_MEMLIMIT_MODERATE;
  if (Status s = CheckKdfParams(opslimit, memlimit); !s.ok()) return s;

  std::string file(kKeyFileSize, '\0');
  file.replace(kMagicOffset, kMagic.size(), kMagic);
  file[kVersionOffset] = static_cast<char>(kVersion);
  WriteLittleEndian64(opslimit, &file[kOpslimitOffset]);
  WriteLittleEndian64(memlimit, &file[kMemlimitOffset]);
  auto* raw = reinterpret_cast<unsigned char*>(file.data());
  randombytes_buf(raw + kSaltOffset, crypto_pwhash_SALTBYTES);
  randombytes_buf(raw + kNonceOffset, crypto_secretbox_NONCEBYTES);
  file.replace(kPublicKeyOffset, PublicKey::kSize, key.public_key().view());

  Wiped<crypto_secretbox_KEYBYTES> box_key;
  std::string_view header(file.data(), kBoxOffset);
  if (Status s = DeriveBoxKey(header, passphrase, opslimit, memlimit, box_key);
      !s.ok()) {
    return s;
  }
  Wiped<kPlainSize> plain;
  {
    Seed seed = key.seed();
    std::memcpy(plain.data(), seed.bytes.data(), Seed::kSize);
    sodium_memzero(seed.bytes.data(), seed.bytes.size());
  }
  std::memcpy(plain.data() + Seed::kSize, key.public_key().bytes.data(),
              PublicKey::kSize);
  PARLEY_CHECK(crypto_secretbox_easy(raw + kBoxOffset, plain.data(), kPlainSize,
                                     raw + kNonceOffset, box_key.data()) == 0);
  return file;
}

Result<SecretKey> OpenKey(std::string_view file, std::string_view passphrase) {
  InitCrypto();
  if (Status s = CheckFraming(file); !s.ok()) return s;
  const uint64_t opslimit = ReadLittleEndian64(file.substr(kOpslimitOffset, 8));
  const uint64_t memlimit = ReadLittleEndian64(file.substr(kMemlimitOffset, 8));
  if (Status s = CheckKdfParams(opslimit, memlimit); !s.ok()) {
    return Status(s.code(), "key file KDF parameters rejected: " + s.message());
  }

  Wiped<crypto_secretbox_KEYBYTES> box_key;
  if (Status s = DeriveBoxKey(file.substr(0, kBoxOffset), passphrase, opslimit,
                              memlimit, box_key);
      !s.ok()) {
    return s;
  }
  Wiped<kPlainSize> plain;
  if (crypto_secretbox_open_easy(plain.data(), Bytes(file.substr(kBoxOffset)),
                                 kBoxSize, Bytes(file.substr(kNonceOffset)),
                                 box_key.data()) != 0) {
    return Status(Code::kPermissionDenied, "wrong passphrase or tampered key file");
  }

  // Only a writer who knew the passphrase can get here, so a mismatch is a
  // faulty writer, not an attacker; refuse it all the same.
  const std::string_view clear_pk = file.substr(kPublicKeyOffset, PublicKey::kSize);
  if (sodium_memcmp(plain.data() + Seed::kSize, Bytes(clear_pk),
                    PublicKey::kSize) != 0) {
    return Status(Code::kDataLoss,
                  "key file is inconsistent: the encrypted public key differs "
                  "from the clear one");
  }
  Seed seed;
  std::memcpy(seed.bytes.data(), plain.data(), Seed::kSize);
  SecretKey key = SecretKey::FromSeed(seed);
  sodium_memzero(seed.bytes.data(), seed.bytes.size());
  if (key.public_key().view() != clear_pk) {
    return Status(Code::kDataLoss,
                  "key file is inconsistent: the decrypted seed does not "
                  "derive the stored public key");
  }
  return key;
}

std::optional<PublicKey> KeyFilePublicKey(std::string_view file) {
  if (!CheckFraming(file).ok()) return std::nullopt;
  return PublicKey::FromBytes(file.substr(kPublicKeyOffset, PublicKey::kSize));
}

Status WriteKeyFile(const std::filesystem::path& path, const SecretKey& key,
                    std::string_view passphrase, const KdfParams& params) {
  Result<std::string> sealed = SealKey(key, passphrase, params);
  if (!sealed) return sealed.error();
  const std::string& bytes = *sealed;

  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
               0600));
  if (!fd.ok()) {
    if (errno == EEXIST) {
      return Status(Code::kAlreadyExists,
                    "key file " + path.string() +
                        " already exists; refusing to overwrite it");
    }
    return Errno(Code::kIoError, "cannot create key file", path);
  }
  auto fail = [&](const std::string& what) {
    Status s = Errno(Code::kIoError, what, path);
    fd.Close();
    ::unlink(path.c_str());
    return s;
  };
  // The umask can only clear bits; make the mode exactly 0600 regardless.
  if (::fchmod(fd.get(), 0600) != 0) return fail("cannot chmod key file");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write key file");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot fsync key file");
  if (fd.Close() != 0) return fail("cannot close key file");

  // Make the new directory entry durable too.
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.ok() || ::fsync(dir_fd.get()) != 0) {
    return Errno(Code::kIoError, "cannot fsync the directory of key file", path);
  }
  return Status::Ok();
}

Status CheckPrivateFileMode(unsigned st_mode, const std::filesystem::path& path, std::string_view what) {
  if ((st_mode & 077) == 0) return Status::Ok();
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", st_mode & 07777);
  return Status(Code::kPermissionDenied, std::string(what) + " " + path.string() + " has mode " + mode +
                                             "; it must not be accessible by group or others (chmod 600 it)");
}

Result<SecretKey> ReadKeyFile(const std::filesystem::path& path,
                              std::string_view passphrase) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) {
    if (errno == ENOENT) {
      return Status(Code::kNotFound, "no key file at " + path.string());
    }
    return Errno(Code::kIoError, "cannot open key file", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno(Code::kIoError, "cannot stat key file", path);
  if (!S_ISREG(st.st_mode)) {
    return Status(Code::kInvalidArgument,
                  "key file " + path.string() + " is not a regular file");
  }
  if (Status s = CheckPrivateFileMode(st.st_mode, path, "key file"); !s.ok()) return s;
  // Read at most one byte past the expected size: enough for OpenKey to
  // report a wrong size, without slurping an arbitrary file.
  std::string bytes(kKeyFileSize + 1, '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(Code::kIoError, "cannot read key file", path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);
  if (got > kKeyFileSize) {
    if (Status s = CheckFraming(std::string_view(bytes).substr(0, kKeyFileSize));
        !s.ok()) {
      return Status(s.code(), "key file " + path.string() + ": " + s.message());
    }
    return Status(Code::kDataLoss,
                  "key file " + path.string() + " is " +
                      std::to_string(st.st_size) + " bytes, expected " +
                      std::to_string(kKeyFileSize));
  }
  Result<SecretKey> key = OpenKey(bytes, passphrase);
  if (!key) {
    return Status(key.error().code(),
                  "key file " + path.string() + ": " + key.error().message());
  }
  return key;
}

}  // namespace parley
