// fuzz_add_checkpoint: an add-checkpoint request body (c2sp.org/tlog-witness)
// through ParseAddCheckpoint and the whole Witness::AddCheckpoint.
//
// The witness (node/witness/witness.h) is configured for one log
// (fuzz_add_checkpoint.h) and keeps its state in a temporary folder (tmpfs
// where there is one). Before each call it is reopened from a saved state in
// which it has cosigned the log's checkpoint of size 8, so every input meets
// the same witness and a 200 is possible (the state write, the mark and
// Latest are then exercised too). Per input:
//   1. ParseAddCheckpoint does not crash; what parses formats back to the
//      same bytes; a refusal is kInvalidArgument.
//   2. AddCheckpoint answers only the documented codes: 400 exactly when the
//      body, its note or its checkpoint does not parse or the old size is
//      above the size; 409 as text/x.tlog.size with "8\n"; a 200 carries one
//      cosignature that verifies over the checkpoint, came from old size 8,
//      and the witness then shows that checkpoint as its latest at the next
//      generation (one of size 8 only with the stored root, whatever its
//      extension lines); any other answer leaves the latest note and the
//      generation as they were; a 422 keeps the body as evidence.
//   3. If the body's note text is a checkpoint of the log, the same body is
//      sent again with the text re-signed by the log's key, so that mutated
//      sizes, roots and proofs get past the signature check to the size and
//      consistency checks.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>

#include "crypto/hash.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"
#include "node/witness/witness.h"
#include "tests/fuzz/fuzz_add_checkpoint.h"
#include "tests/fuzz/fuzz_common.h"

namespace parley::fuzz {
namespace {

namespace fs = std::filesystem;

SecretKey WitnessKey() { return SecretKey::FromSeed(test::SeedFrom(0x53)); }

class Harness {
 public:
  Harness() {
    std::string tmpl = fs::is_directory("/dev/shm") ? "/dev/shm/parley-fuzz-add-checkpoint-XXXXXX"
                                                     : "/tmp/parley-fuzz-add-checkpoint-XXXXXX";
    const char* made = ::mkdtemp(tmpl.data());
    FUZZ_CHECK(made != nullptr, "cannot make a temporary folder");
    root_ = made;
    fs::create_directories(root_ / "saved");
    fs::create_directories(root_ / "live");
    // The saved state: the log's checkpoint of size 8 cosigned.
    {
      auto w = Open(root_ / "saved");
      const WitnessResponse r = w->AddCheckpoint(FuzzLog().Body(0, kFuzzCosignedSize));
      FUZZ_CHECK(r.status == 200, "the saved state cannot be made: " + r.body);
      cosigned_note_ = *w->Latest(FuzzLog().origin());
      cosigned_generation_ = w->generation();
    }
  }
  ~Harness() {
    witness_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // The witness, reopened from the saved state.
  Witness& Fresh() {
    witness_.reset();
    const fs::path live = root_ / "live";
    std::error_code ec;
    fs::remove_all(live / "evidence", ec);
    fs::copy_file(root_ / "saved" / "state", live / "state", fs::copy_options::overwrite_existing);
    fs::copy_file(root_ / "saved" / "mark", live / "mark", fs::copy_options::overwrite_existing);
    witness_ = Open(live);
    FUZZ_CHECK(witness_->Latest(FuzzLog().origin()) == cosigned_note_, "the saved state did not reopen");
    return *witness_;
  }
  fs::path evidence() const { return root_ / "live" / "evidence"; }
  const std::string& cosigned_note() const { return cosigned_note_; }
  uint64_t cosigned_generation() const { return cosigned_generation_; }

 private:
  static std::unique_ptr<Witness> Open(const fs::path& dir) {
    WitnessOptions o;
    o.name = "fuzz.example/witness";
    o.logs = {FuzzLog().witness_log()};
    o.state_file = dir / "state";
    o.high_water_mark = dir / "mark";
    o.evidence_dir = dir / "evidence";
    o.now_seconds = [] { return uint64_t{1700000000}; };
    auto opened = Witness::Open(WitnessKey(), std::move(o));
    FUZZ_CHECK(opened.has_value(), "the fuzz witness does not open: " + opened.error().ToString());
    return std::move(opened).value();
  }

  fs::path root_;
  std::unique_ptr<Witness> witness_;
  std::string cosigned_note_;
  uint64_t cosigned_generation_ = 0;
};

Harness& TheHarness() {
  static Harness h;  // its folder is removed at exit
  return h;
}

// Whether the body is malformed in the sense of the 400 answer.
bool Malformed(const Result<AddCheckpointRequest>& request) {
  if (!request) return true;
  auto note = ParseNote(request->note);
  if (!note) return true;
  auto c = ParseCheckpoint(note->text);
  if (!c) return true;
  return false;
}

void Check(std::string_view body) {
  Harness& h = TheHarness();
  auto request = ParseAddCheckpoint(body);
  if (request) {
    FUZZ_CHECK(FormatAddCheckpoint(*request) == body, "a body does not format back to its bytes");
    FUZZ_CHECK(request->proof.size() <= kMaxProofLines, "more than 63 proof lines accepted");
  } else {
    FUZZ_CHECK(request.error().code() == Code::kInvalidArgument, request.error().ToString());
  }

  Witness& w = h.Fresh();
  const WitnessResponse r = w.AddCheckpoint(body);
  const int s = r.status;
  FUZZ_CHECK(s == 200 || s == 400 || s == 403 || s == 404 || s == 409 || s == 422, "status " + std::to_string(s));
  FUZZ_CHECK(!r.body.empty() && r.body.back() == '\n', "an answer body without a final newline");
  if (Malformed(request)) FUZZ_CHECK(s == 400, "a malformed body answered " + std::to_string(s));
  if (s == 400 && !Malformed(request)) {
    const auto c = ParseCheckpoint(ParseNote(request->note)->text);
    FUZZ_CHECK(request->old_size > c->size, "400 for a well-formed body with old size <= size");
  }
  if (s == 409) {
    FUZZ_CHECK(r.content_type == kTlogSizeContentType, "409 without text/x.tlog.size");
    FUZZ_CHECK(r.body == std::to_string(kFuzzCosignedSize) + "\n", "409 with another size: " + r.body);
  }
  const std::optional<std::string> latest = w.Latest(FuzzLog().origin());
  if (s != 200) {
    FUZZ_CHECK(latest == h.cosigned_note(), "a refused body changed the latest note");
    FUZZ_CHECK(w.generation() == h.cosigned_generation(), "a refused body changed the generation");
  }
  if (s == 422) {
    std::ifstream in(h.evidence() / (ToHex(Sha256(body)) + ".txt"), std::ios::binary);
    const std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    FUZZ_CHECK(kept == body, "a 422 body was not kept as evidence");
  }
  if (s == 200) {
    FUZZ_CHECK(request.has_value(), "200 for a body that does not parse");
    FUZZ_CHECK(request->old_size == kFuzzCosignedSize, "200 from another old size");
    auto note = ParseNote(request->note);
    FUZZ_CHECK(note.has_value(), "200 for a note that does not parse");
    auto c = ParseCheckpoint(note->text);
    FUZZ_CHECK(c.has_value() && c->origin == FuzzLog().origin(), "200 for another origin");
    FUZZ_CHECK(c->size >= kFuzzCosignedSize, "200 for a smaller checkpoint");
    auto lines = ParseSignatureLines(r.body);
    FUZZ_CHECK(lines.has_value() && lines->size() == 1, "200 without one signature line");
    const NoteVerifier v{"fuzz.example/witness", NoteKeyType::kCosignatureV1, WitnessKey().public_key()};
    FUZZ_CHECK(VerifyNote(Note{note->text, *lines}, std::vector{v}).has_value(), "the cosignature does not verify");
    FUZZ_CHECK(latest.has_value() && ParseNote(*latest)->text == note->text, "200 but the latest note is another");
    FUZZ_CHECK(w.generation() == h.cosigned_generation() + 1, "200 but the generation did not advance by one");
    // A checkpoint of the same size must be the same tree (extension lines may differ).
    if (c->size == kFuzzCosignedSize) {
      FUZZ_CHECK(c->root == FuzzLog().Tree(kFuzzCosignedSize).root(), "200 for another root at size 8");
    }
  }
}

void CheckOne(std::string_view in) {
  Check(in);
  // Re-signed by the log, so that mutations reach the size and consistency checks.
  auto request = ParseAddCheckpoint(in);
  if (!request) return;
  const size_t split = request->note.rfind("\n\n");
  if (split == std::string::npos) return;
  const std::string text = request->note.substr(0, split + 1);
  auto c = ParseCheckpoint(text);
  if (!c || c->origin != FuzzLog().origin()) return;
  AddCheckpointRequest resigned = *request;
  resigned.note = FormatNote(Note{text, {SignNote(FuzzLog().key(), FuzzLog().origin(), text)}});
  Check(FormatAddCheckpoint(resigned));
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parley::fuzz::FuzzInit();
  (void)parley::fuzz::TheHarness();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parley::fuzz::CheckOne(parley::fuzz::AsView(data, size));
  return 0;
}
