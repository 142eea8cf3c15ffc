// fuzz_key_file: OpenKey and KeyFilePublicKey on arbitrary bytes, with the
// passphrase of the committed seeds ("fuzz passphrase").
//
// Cost: OpenKey runs Argon2id before it can tell anything past the framing
// and the KDF parameters, ~0.1 s at the interactive minimum (64 MiB). The
// accepted range goes up to 32 passes over 4 GiB, which would make one input
// run for minutes and trip libFuzzer's memory limit without being a bug
// (crypto/key_file.h documents that bound). So the harness calls OpenKey
// only when the parameters are outside the accepted range (refused before
// Argon2) or at most kMaxFuzzOpslimit / kMaxFuzzMemlimit; otherwise it checks
// the framing answers alone. Expect a few exec/s on inputs that reach Argon2.
//
// Invariants: OpenKey and KeyFilePublicKey agree on framing (a file
// KeyFilePublicKey refuses is refused by OpenKey with kDataLoss); an opened
// key's public key equals the clear one; errors carry the documented codes.
#include <cstddef>
#include <cstdint>

#include "crypto/key_file.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

constexpr std::string_view kPassphrase = "fuzz passphrase";
constexpr uint64_t kMaxFuzzOpslimit = 3;
constexpr uint64_t kMaxFuzzMemlimit = 64ull << 20;  // crypto_pwhash_MEMLIMIT_INTERACTIVE

uint64_t U64At(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parley::fuzz::FuzzInit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  const std::string_view file = fuzz::AsView(data, size);
  const std::optional<PublicKey> clear = KeyFilePublicKey(file);
  if (clear) {
    FUZZ_CHECK(file.size() == kKeyFileSize, "KeyFilePublicKey accepted a file of the wrong size");
    FUZZ_CHECK(clear->view() == file.substr(65, 32), "KeyFilePublicKey returned other bytes than offset 65");
    const uint64_t ops = U64At(file, 9), mem = U64At(file, 17);
    const bool accepted = ops >= 2 && ops <= 32 && mem >= (64ull << 20) && mem <= (4ull << 30);
    if (accepted && (ops > kMaxFuzzOpslimit || mem > kMaxFuzzMemlimit)) return 0;  // too slow to fuzz
  }

  Result<SecretKey> key = OpenKey(file, kPassphrase);
  if (!clear) {
    FUZZ_CHECK(!key && key.error().code() == Code::kDataLoss,
               "OpenKey got past framing that KeyFilePublicKey refuses: " + key.status().ToString());
    return 0;
  }
  if (key) {
    FUZZ_CHECK(key->public_key() == *clear, "opened key differs from the clear public key");
    return 0;
  }
  const Code c = key.error().code();
  FUZZ_CHECK(c == Code::kDataLoss || c == Code::kPermissionDenied || c == Code::kInvalidArgument ||
                 c == Code::kInternal,
             "unexpected error code: " + key.error().ToString());
  return 0;
}
