// fuzz_envelope: stage 1 (DecodeEntry) on arbitrary bytes, against the fixed
// test charter of tests/fixtures.h.
//
// Per input:
//   1. DecodeEntry(input) must not crash; a refusal is kRejected and names a
//      §4 violation, the same one the reference validator names; an accepted
//      envelope satisfies the invariants below.
//   2. Random bytes almost never carry a valid signature, so if the input
//      parses as a SignedEntry whose entry names a party of this ledger, the
//      entry bytes are re-signed with that party's fixed key and decoded
//      again: this reaches the header and body checks (§4 #6-7, §5) with
//      every mutation of the entry bytes.
// Invariants of an accepted envelope: id == H("parley/entry/v1", entry
// bytes), the envelope is kept byte for byte, the signature verifies under
// the author's charter key, author ∈ {0,1}, seq ≥ 1, prev is 32 bytes, the
// body is set and every reference is 32 bytes.
#include <cstddef>
#include <cstdint>

#include "crypto/hash.h"
#include "node/report/audit.h"
#include "node/protocol/entry.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/reference_validator.h"

namespace parley::fuzz {
namespace {

const SecretKey& Key(PartyIndex p) {
  static const SecretKey keys[2] = {test::PartyKey(0), test::PartyKey(1)};
  return keys[p];
}

ReferenceValidator& Reference() {
  static ReferenceValidator r(test::TheCharter().ledger_id().str(),
                              {test::TheCharter().party_key(0), test::TheCharter().party_key(1)});
  return r;
}

void CheckOne(std::string_view envelope) {
  const Charter& charter = test::TheCharter();
  Result<DecodedEntry> d = DecodeEntry(envelope, charter);
  ReferenceValidator::Outcome ref = Reference().Stage1(envelope);
  if (!d) {
    FUZZ_CHECK(d.error().code() == Code::kRejected, d.error().ToString());
    std::optional<Violation> v = ViolationOf(d.error());
    FUZZ_CHECK(v.has_value(), "refusal names no violation: " + d.error().message());
    FUZZ_CHECK(ref.kind == ReferenceValidator::Kind::kRefused,
               "DecodeEntry refused what the reference accepts: " + d.error().message());
    FUZZ_CHECK(ref.violation == ViolationName(*v),
               "DecodeEntry says " + d.error().message() + "; reference says " + ref.violation + " (" +
                   ref.detail + ")");
    return;
  }
  FUZZ_CHECK(ref.kind == ReferenceValidator::Kind::kStored,
             "DecodeEntry accepted what the reference refuses: " + ref.violation + " (" + ref.detail + ")");
  const DecodedEntry& e = *d;
  v1::SignedEntry se;
  FUZZ_CHECK(se.ParseFromArray(envelope.data(), static_cast<int>(envelope.size())), "envelope reparse");
  FUZZ_CHECK(e.envelope == envelope, "envelope not kept byte for byte");
  FUZZ_CHECK(e.id == Hash(kEntryDomain, se.entry()), "id != H(entry domain, entry bytes)");
  FUZZ_CHECK(e.author() <= 1, "author");
  FUZZ_CHECK(e.seq() >= 1, "seq");
  FUZZ_CHECK(e.entry.prev().size() == 32, "prev");
  FUZZ_CHECK(e.entry.ledger_id() == charter.ledger_id().view(), "ledger id");
  FUZZ_CHECK(e.kind() != v1::Entry::BODY_NOT_SET, "body");
  auto sig = Signature::FromBytes(se.signature());
  FUZZ_CHECK(sig && Verify(charter.party_key(e.author()), kEntryDomain, se.entry(), *sig), "signature");
  v1::Entry reparsed;
  FUZZ_CHECK(reparsed.ParseFromString(se.entry()), "entry reparse");
  FUZZ_CHECK(CheckEntryFields(e.entry, charter).ok(), "decoded entry fails CheckEntryFields");
  const auto refs = ReferencesOf(e.entry);
  FUZZ_CHECK(refs.size() == ReferenceValidator::References(e.entry).size(), "reference count differs");
  (void)DescribeEntry(charter, e.entry);
  (void)KindName(e.kind());
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parley::fuzz::FuzzInit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  const std::string_view input = fuzz::AsView(data, size);
  fuzz::CheckOne(input);

  v1::SignedEntry se;
  v1::Entry e;
  if (!se.ParseFromArray(input.data(), static_cast<int>(input.size())) || !e.ParseFromString(se.entry()) ||
      e.author() > 1) {
    return 0;
  }
  v1::SignedEntry resigned;
  resigned.set_entry(se.entry());
  resigned.set_signature(Sign(fuzz::Key(e.author()), kEntryDomain, se.entry()).str());
  fuzz::CheckOne(resigned.SerializeAsString());
  return 0;
}
