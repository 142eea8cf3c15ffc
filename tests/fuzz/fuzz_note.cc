// fuzz_note: the C2SP formats a witness reads from strangers (node/tlog,
// node/witness) on arbitrary bytes.
//
// Per input:
//   1. ParseNote, ParseSignatureLines, ParseCheckpoint, ParseVerifierKey and
//      ParseAddCheckpoint must not crash; what parses formats back to the
//      same bytes (the formats have one spelling: strict decimal, canonical
//      base64), and refusals are kInvalidArgument.
//   2. Witness::AddCheckpoint on the input (a witness over a temporary
//      folder, one log with a fixed key) answers one of the documented
//      status codes; a 200 carries one cosignature line that verifies over
//      the checkpoint of the body; 409 answers text/x.tlog.size.
//   3. The input is also re-signed: if it is an add-checkpoint body whose
//      note text parses as a checkpoint, the text is signed with the log's
//      key so that mutations reach the size and consistency checks.
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "crypto/merkle.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"
#include "node/witness/witness.h"
#include "tests/fuzz/fuzz_common.h"

namespace parley::fuzz {
namespace {

constexpr std::string_view kOrigin = "fuzz.example/log";

const SecretKey& LogKey() {
  static const SecretKey key = SecretKey::FromSeed(test::SeedFrom(0x50));
  return key;
}

Witness& TheWitness() {
  static std::unique_ptr<Witness> w = [] {
    // tmpfs where there is one: the witness fsyncs its state on every 200.
    std::string tmpl = std::filesystem::is_directory("/dev/shm") ? "/dev/shm/parley-fuzz-note-XXXXXX"
                                                                  : "/tmp/parley-fuzz-note-XXXXXX";
    const char* made = ::mkdtemp(tmpl.data());
    FUZZ_CHECK(made != nullptr, "cannot make a temporary folder");
    const std::filesystem::path dir = made;
    WitnessOptions o;
    o.name = "fuzz.example/witness";
    o.logs = {WitnessLog{std::string(kOrigin), {NoteVerifier{std::string(kOrigin), NoteKeyType::kEd25519,
                                                              LogKey().public_key()}}}};
    o.state_file = dir / "state";
    o.high_water_mark = dir / "mark";
    o.now_seconds = [] { return uint64_t{1700000000}; };
    auto opened = Witness::Open(SecretKey::FromSeed(test::SeedFrom(0x51)), std::move(o));
    FUZZ_CHECK(opened.has_value(), "the fuzz witness does not open");
    return std::move(opened).value();
  }();
  return *w;
}

void CheckAnswer(const AddCheckpointRequest* request, const WitnessResponse& r) {
  const int s = r.status;
  FUZZ_CHECK(s == 200 || s == 400 || s == 403 || s == 404 || s == 409 || s == 422,
             "status " + std::to_string(s));
  if (s == 409) FUZZ_CHECK(r.content_type == kTlogSizeContentType, "409 without text/x.tlog.size");
  if (s != 200) return;
  FUZZ_CHECK(request != nullptr, "200 for a body that does not parse");
  auto note = ParseNote(request->note);
  FUZZ_CHECK(note.has_value(), "200 for a note that does not parse");
  auto lines = ParseSignatureLines(r.body);
  FUZZ_CHECK(lines.has_value() && lines->size() == 1, "200 without one signature line");
  const NoteVerifier w{"fuzz.example/witness", NoteKeyType::kCosignatureV1,
                       SecretKey::FromSeed(test::SeedFrom(0x51)).public_key()};
  FUZZ_CHECK(VerifyNote(Note{note->text, *lines}, std::vector{w}).has_value(), "the cosignature does not verify");
}

void CheckOne(std::string_view in) {
  if (auto note = ParseNote(in)) {
    FUZZ_CHECK(FormatNote(*note) == in, "a parsed note does not format back to its bytes");
    if (auto c = ParseCheckpoint(note->text)) {
      FUZZ_CHECK(FormatCheckpoint(*c) == note->text, "a parsed checkpoint does not format back");
    }
  } else {
    FUZZ_CHECK(note.error().code() == Code::kInvalidArgument, note.error().ToString());
  }
  if (auto lines = ParseSignatureLines(in)) {
    std::string back;
    for (const auto& l : *lines) back += FormatSignatureLine(l);
    FUZZ_CHECK(back == in, "parsed signature lines do not format back");
  }
  if (auto v = ParseVerifierKey(in)) FUZZ_CHECK(FormatVerifierKey(*v) == in, "a vkey does not format back");

  auto request = ParseAddCheckpoint(in);
  if (request) FUZZ_CHECK(FormatAddCheckpoint(*request) == in, "a body does not format back");
  CheckAnswer(request ? &*request : nullptr, TheWitness().AddCheckpoint(in));

  // Re-signed, so that mutated sizes, roots and proofs get past the signature.
  if (!request) return;
  const size_t split = request->note.rfind("\n\n");
  if (split == std::string::npos) return;
  const std::string text = request->note.substr(0, split + 1);
  auto c = ParseCheckpoint(text);
  if (!c || c->origin != kOrigin) return;
  AddCheckpointRequest signed_request = *request;
  signed_request.note = FormatNote(Note{text, {SignNote(LogKey(), kOrigin, text)}});
  CheckAnswer(&signed_request, TheWitness().AddCheckpoint(FormatAddCheckpoint(signed_request)));
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parley::fuzz::FuzzInit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parley::fuzz::CheckOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
