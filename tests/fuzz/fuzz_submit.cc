// fuzz_submit: random operator requests through the signing path, and what
// the other side's node makes of whatever was signed. A node must never sign
// what its own peer would refuse (docs/PROTOCOL.md §5.2, §11).
//
// Input: records of
//   flags (1 byte) | length (2 bytes, big-endian) | SubmitRequest (length bytes)
// flags bit 0 is the side that submits (0 = UA, 1 = RU); with bit 1 set,
// bits 2-7 (k) repeat a statement's text up to k KiB, and grow a proposal: its
// notes to k KiB for k <= 16, else its transfers to 2 (k - 16) KiB (up to
// 94 KiB), so that inputs of a few bytes reach the field and envelope limits.
//
// Each request goes the way Submit takes it: CheckEntryBody, then the
// side's Ledger (memory store). Ledger::Preview and Ledger::Append must
// agree (both refuse, or both accept with the same entry); an entry signed
// must be stored (kStored) by the other side's Ledger, which verifies it as
// it would an entry from the wire, and must decode under stage 1 alone.
//
// So that accepts, reports and references can be reached, an ID field of
// exactly one byte k is replaced with the ID of the k-th entry signed so far
// (mod their number), and an accept's one-byte terms digest with the digest
// of the terms of the proposal it names.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "node/protocol/entry.h"
#include "node/ledger/ledger.h"
#include "parley/v1/operator.pb.h"
#include "tests/fuzz/fuzz_common.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

std::unique_ptr<Ledger> OpenNode(PartyIndex self) {
  LedgerOptions o;
  o.self = self;
  o.key = test::PartyKey(self);
  o.sync = false;
  auto l = Ledger::Open(NewMemoryStore(), test::TestCharter(), std::move(o));
  FUZZ_CHECK(l.has_value(), "cannot open a ledger: " + (l ? std::string() : l.error().message()));
  return std::move(*l);
}

// Replaces one-byte ID fields with IDs of entries signed so far.
class Remapper {
 public:
  explicit Remapper(const std::vector<DecodedEntry>& signed_so_far) : entries_(signed_so_far) {}

  void Id(std::string* field) const {
    if (field->size() != 1 || entries_.empty()) return;
    *field = Pick(*field).id.str();
  }
  void Accept(v1::Accept* a) const {
    if (a->proposal().size() != 1 || entries_.empty()) return;
    const DecodedEntry& p = Pick(a->proposal());
    a->set_proposal(p.id.str());
    if (a->terms_digest().size() == 1 && p.kind() == v1::Entry::kPropose) {
      a->set_terms_digest(TermsDigest(p.entry.propose().terms()).str());
    }
  }

 private:
  const DecodedEntry& Pick(const std::string& one_byte) const {
    return entries_[static_cast<uint8_t>(one_byte[0]) % entries_.size()];
  }
  const std::vector<DecodedEntry>& entries_;
};

void Remap(v1::Entry& body, const Remapper& r) {
  switch (body.body_case()) {
    case v1::Entry::kPropose:
      r.Id(body.mutable_propose()->mutable_counters());
      r.Id(body.mutable_propose()->mutable_amends());
      break;
    case v1::Entry::kAccept: r.Accept(body.mutable_accept()); break;
    case v1::Entry::kReject: r.Id(body.mutable_reject()->mutable_proposal()); break;
    case v1::Entry::kWithdraw: r.Id(body.mutable_withdraw()->mutable_proposal()); break;
    case v1::Entry::kCancel: r.Id(body.mutable_cancel()->mutable_agreement()); break;
    case v1::Entry::kHandover: r.Id(body.mutable_handover()->mutable_agreement()); break;
    case v1::Entry::kReceipt: r.Id(body.mutable_receipt()->mutable_agreement()); break;
    case v1::Entry::kAttestation: r.Id(body.mutable_attestation()->mutable_reference()); break;
    case v1::Entry::kStatement: r.Id(body.mutable_statement()->mutable_reference()); break;
    default: break;
  }
}

// Repeats `text` until it is at least `kib` KiB long.
void Grow(std::string* text, size_t kib) {
  if (text->empty() || kib == 0) return;
  const std::string unit = *text;
  while (text->size() < kib * 1024) *text += unit;
}

void Amplify(v1::Entry& body, size_t kib) {
  if (body.has_statement()) Grow(body.mutable_statement()->mutable_text(), kib);
  if (body.has_propose() && kib > 0) {
    // Longer notes, or more transfers (each within every field limit), so
    // that the envelope limit itself is reached.
    v1::Terms terms;
    if (!terms.ParseFromString(body.propose().terms())) return;
    if (kib <= 16) {
      Grow(terms.mutable_notes(), kib);
    } else if (terms.transfers_size() > 0) {
      const v1::Transfer unit = terms.transfers(0);
      const size_t each = unit.ByteSizeLong() + 2;  // tag and length
      for (size_t size = terms.ByteSizeLong(); size < (kib - 16) * 2048; size += each) *terms.add_transfers() = unit;
    }
    body.mutable_propose()->set_terms(terms.SerializeAsString());
  }
}

}  // namespace
}  // namespace parley

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parley::fuzz::FuzzInit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  std::unique_ptr<Ledger> nodes[2] = {OpenNode(test::kUA), OpenNode(test::kRU)};
  std::vector<DecodedEntry> signed_entries;
  std::set<std::string> used_ids;
  int64_t now = test::kT0;
  size_t pos = 0;
  for (int record = 0; record < 24 && pos + 3 <= size; ++record) {
    const uint8_t flags = data[pos];
    const size_t len = (size_t{data[pos + 1]} << 8) | data[pos + 2];
    pos += 3;
    if (pos + len > size) break;
    v1::SubmitRequest req;
    const bool parsed = req.ParseFromArray(data + pos, static_cast<int>(len));
    pos += len;
    if (!parsed) continue;
    const PartyIndex side = flags & 1;
    v1::Entry body = req.body();
    Remap(body, Remapper(signed_entries));
    if (flags & 2) Amplify(body, flags >> 2);
    now += 1000;

    // OperatorService::Submit's first check, then the ledger's.
    if (!CheckEntryBody(body, test::TheCharter()).ok()) continue;
    Ledger& signer = *nodes[side];
    // A request id used before returns the first entry (or is refused with
    // another body): Preview, which ignores request ids, is compared only
    // on first use.
    const std::string& rid = req.request_id();
    const bool repeat = !rid.empty() && !used_ids.insert(rid).second;
    auto preview = signer.Preview(body, now);
    auto e = signer.Append(body, now, rid);
    if (!repeat) {
      FUZZ_CHECK(preview.has_value() == e.has_value(),
                 "Preview and Append disagree: " + (preview ? std::string("preview ok") : preview.error().message()) +
                     " / " + (e ? std::string("append ok") : e.error().message()));
      FUZZ_CHECK(!e || preview->SerializeAsString() == e->entry.SerializeAsString(),
                 "Append signed another entry than Preview showed");
    }
    if (!e) continue;
    if (std::any_of(signed_entries.begin(), signed_entries.end(), [&](const DecodedEntry& d) { return d.id == e->id; })) {
      FUZZ_CHECK(repeat, "a new request returned an entry signed before");
      continue;
    }
    // What was signed is what any node accepts.
    FUZZ_CHECK(e->envelope.size() <= kMaxEnvelopeBytes, "signed an oversized envelope");
    auto decoded = DecodeEntry(e->envelope, test::TheCharter(), nodes[1 - side]->key_schedule().get());
    FUZZ_CHECK(decoded.has_value(), "signed an entry stage 1 refuses: " + decoded.error().message());
    auto stored = nodes[1 - side]->Ingest(e->envelope);
    FUZZ_CHECK(stored.has_value(), "the peer refuses a signed entry: " + stored.error().message());
    FUZZ_CHECK(*stored == IngestOutcome::kStored, "the peer did not store a new signed entry");
    signed_entries.push_back(std::move(*e));
  }
  return 0;
}
