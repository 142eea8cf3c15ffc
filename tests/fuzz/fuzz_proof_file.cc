// fuzz_proof_file: VerifyProofFile (node/manifest/manifest_proof.h) on arbitrary text
// — what `parley manifest verify` reads from a file a family was handed — with
// the charter inside the file, and with the first seed's charter as the
// trusted one.
//
// Invariants: never crashes or hangs; an unusable file is an error with
// kInvalidArgument, never another code; a VALID verdict holds a record that
// passes the kind's rules and an explanation that starts with "VALID"; an
// invalid one has a reason.
#include <cstddef>
#include <cstdint>
#include <string>

#include "node/manifest/manifest.h"
#include "node/manifest/manifest_proof.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parley::fuzz::FuzzInit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  const std::string_view text = fuzz::AsView(data, size);
  for (const bool own_charter : {false, true}) {
    // The trusted charter: the one the file names, taken at face value, so
    // that mutations of everything else still reach the signature checks.
    std::string trusted;
    if (own_charter) {
      const size_t at = text.find("\"charter\": \"");
      if (at == std::string_view::npos) continue;
      const size_t end = text.find('"', at + 12);
      auto bytes = FromHex(text.substr(at + 12, end == std::string_view::npos ? 0 : end - at - 12));
      if (!bytes || bytes->empty()) continue;
      trusted = *bytes;
    }
    auto verdict = VerifyProofFile(text, trusted);
    if (!verdict) {
      FUZZ_CHECK(verdict.error().code() == Code::kInvalidArgument, verdict.error().ToString());
      continue;
    }
    FUZZ_CHECK(!verdict->explanation.empty(), "a verdict without an explanation");
    if (verdict->valid) {
      FUZZ_CHECK(verdict->record && CheckManifestRecord(*verdict->record).ok(), "a valid proof of a bad record");
      FUZZ_CHECK(verdict->explanation.rfind("VALID", 0) == 0, verdict->explanation);
    }
  }
  return 0;
}
