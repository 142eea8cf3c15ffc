// The test vectors published in docs/PROTOCOL.md are recomputed here, so the
// document cannot drift from the code. To regenerate the block after a
// deliberate protocol change: PARLEY_UPDATE_VECTORS=1 ./parley_tests -tc='*vectors*'
// (the three blocks: entries, state vectors, manifest/bundle/rotation vectors)
#include <doctest/doctest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "node/manifest/manifest.h"
#include "fixtures.h"
#include "node/protocol/agreements.h"
#include "node/protocol/feed_log.h"
#include "node/report/audit.h"
#include "node/report/bundle.h"
#include "node/ledger/ledger.h"
#include "node/report/views.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

constexpr std::string_view kBegin = "<!-- test-vectors:begin -->";
constexpr std::string_view kEnd = "<!-- test-vectors:end -->";

struct Vectors {
  std::string text;
  std::vector<std::string> envelopes;  // in the order a node would store them
};

std::string Wrap(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 64) out += "    " + hex.substr(i, 64) + "\n";
  return out;
}

Vectors Generate() {
  Vectors v;
  std::ostringstream out;
  const Charter& c = test::TheCharter();
  out << "Seeds (Ed25519, 32 bytes each):\n\n";
  out << "    UA seed " << ToHex(test::SeedFrom(0x00)) << "\n";
  out << "    UA key  " << ToHex(test::PartyKey(kUA).public_key()) << "\n";
  out << "    RU seed " << ToHex(test::SeedFrom(0x20)) << "\n";
  out << "    RU key  " << ToHex(test::PartyKey(kRU).public_key()) << "\n";
  out << "    ICRC (observer) seed " << ToHex(test::SeedFrom(0x40)) << "\n";
  out << "    ICRC (observer) key  " << ToHex(test::ObserverKey().public_key()) << "\n\n";
  out << "Charter (SignedCharter bytes, hex):\n\n" << Wrap(ToHex(c.signed_bytes())) << "\n";
  out << "    charter bytes (SignedCharter.charter): " << c.charter_bytes().size() << " bytes\n";
  out << "    ledger_id " << ToHex(c.ledger_id()) << "\n\n";

  test::Scenario s;
  int64_t t = test::kT0;
  auto at = [&](int minutes) { return t + int64_t{60000} * minutes; };
  auto emit = [&](const DecodedEntry& e, const char* title) {
    v1::SignedEntry env;
    env.ParseFromString(e.envelope);
    out << "#### " << c.party_code(e.author()) << "#" << e.seq() << " " << KindName(e.kind()) << " — " << title << "\n\n";
    out << "entry (hex):\n\n" << Wrap(ToHex(env.entry()));
    out << "\n    id        " << ToHex(e.id) << "\n";
    out << "    signature " << ToHex(env.signature()) << "\n\n";
    v.envelopes.push_back(e.envelope);
    return e;
  };

  v1::Terms first = test::RemainsTerms(kRU, 1212, at(60 * 24));
  first.set_crossing_point("Bryansk region border crossing");
  first.set_notes("remains held in refrigerated trucks");
  auto p1 = emit(s.Add(kRU, test::Propose(first), 0, at(1)), "RU proposes the transfer of 1,212 remains on a date of its choosing");
  v1::Entry objection = test::Say("The timing was set unilaterally; no date has been agreed.");
  objection.mutable_statement()->set_reference(p1.id.str());
  emit(s.Add(kUA, objection, 1, at(2)), "UA puts an objection on record");
  v1::Terms counter_terms = first;
  counter_terms.mutable_window()->set_start_ms(at(60 * 24 * 5));
  counter_terms.mutable_window()->set_end_ms(at(60 * 24 * 6));
  v1::Entry counter = test::Propose(counter_terms);
  counter.mutable_propose()->set_counters(p1.id.str());
  auto p2 = emit(s.Add(kUA, counter, 1, at(3)), "UA counters with another window");
  emit(s.Add(kRU, test::Accept(p2), 2, at(4)), "RU accepts UA's counter-proposal");
  v1::Entry h = test::Handover(p2, 0, 1212);
  h.mutable_handover()->set_handed_over_ms(at(60 * 24 * 5 + 60));
  emit(s.Add(kRU, h, 2, at(60 * 24 * 5 + 61)), "RU reports the handover of 1,212");
  emit(s.Add(kUA, test::Receipt(p2, 0, 1212), 3, at(60 * 24 * 5 + 62)), "UA reports a receipt that reconciles");
  v1::Entry attest = test::Attest("refrigerated trucks staged");
  attest.mutable_attestation()->set_where("near the border crossing");
  attest.mutable_attestation()->set_when_ms(at(5));
  emit(s.Add(kRU, attest, 3, at(60 * 24 * 5 + 63)), "RU's one-sided attestation");
  auto p3 = emit(s.Add(kUA, test::Propose(test::ExchangeTerms(1200, at(60 * 24 * 10)), v1::PRISONER_EXCHANGE), 4,
                       at(60 * 24 * 5 + 64)),
                 "UA proposes an exchange of 1,200 prisoners each way");
  auto p4 = emit(s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 6000, at(60 * 24 * 30))), 4, at(60 * 24 * 5 + 65)),
                 "RU proposes a further transfer of 6,000 remains");
  emit(s.Add(kUA, test::Reject(p4, "not before the exchange"), 5, at(60 * 24 * 5 + 66)), "UA rejects it");
  emit(s.Add(kRU, test::Withdraw(p4), 5, at(60 * 24 * 5 + 67)), "RU withdraws it (void: already rejected)");
  emit(s.Add(kRU, test::Cancel(p3), 5, at(60 * 24 * 5 + 68)), "RU asks to cancel (void: not an agreement)");
  SecretKey next = SecretKey::FromSeed(test::SeedFrom(0x60));
  v1::Entry rotate;
  std::string msg = c.ledger_id().str() + std::string("\x01\x00\x00\x00", 4) + next.public_key().str();
  rotate.mutable_rotate_key()->set_new_public_key(next.public_key().str());
  rotate.mutable_rotate_key()->set_new_key_signature(Sign(next, kRotateDomain, msg).str());
  emit(s.Add(kRU, rotate, 5, at(60 * 24 * 5 + 69)), "RU rotates to the key of seed 60..7f");
  // A disclosure its node records before sharing a manifest (§8.4); the root
  // is a fixed pattern standing for a real manifest's.
  emit(s.Add(kUA, test::Disclose(*Digest::FromBytes(test::SeedFrom(0x80).view()), 20, kRU), 5,
             at(60 * 24 * 5 + 70)),
       "UA's node records that it disclosed a manifest of 20 records (root 80..9f) to RU");
  v.text = out.str();
  return v;
}

// --- state vectors: verdicts of §7 on small ledgers of their own ---------------

constexpr std::string_view kStateBegin = "<!-- state-vectors:begin -->";
constexpr std::string_view kStateEnd = "<!-- state-vectors:end -->";

struct StateCase {
  std::string title;
  test::Scenario scenario;
  int64_t now_ms = 0;
};

// The resolved cases of issue 12 (docs/PROTOCOL.md §7): each a ledger under
// the charter above, with the state every verifier must compute.
std::vector<StateCase> StateCases() {
  std::vector<StateCase> cases;
  const int64_t t = test::kT0;
  auto at = [&](int minutes) { return t + int64_t{60000} * minutes; };
  {
    StateCase c;
    c.title = "a report reaching a completed agreement is applied: disputed, 10 handed over, 9 received";
    test::Scenario& s = c.scenario;
    const DecodedEntry p = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 10, at(60 * 24))), 0, at(1));
    s.Add(kUA, test::Accept(p), 1, at(2));
    s.Add(kRU, test::Handover(p, 0, 6), 1, at(3));
    s.Add(kUA, test::Receipt(p, 0, 6), 2, at(4));  // completed 6/6
    s.Add(kRU, test::Handover(p, 0, 4), 2, at(5));
    s.Add(kUA, test::Receipt(p, 0, 3), 3, at(6));
    c.now_ms = at(7);
    cases.push_back(std::move(c));
  }
  {
    StateCase c;
    c.title = "a withdrawal of a proposal already expired is void: the proposal stays expired";
    test::Scenario& s = c.scenario;
    v1::Entry propose = test::Propose(test::RemainsTerms(kRU, 1212, at(60 * 24)));
    propose.mutable_propose()->set_expires_ms(at(10));
    const DecodedEntry p = s.Add(kRU, propose, 0, at(1));
    s.Add(kRU, test::Withdraw(p), 0, at(11));
    c.now_ms = at(12);
    cases.push_back(std::move(c));
  }
  {
    StateCase c;
    c.title = "an amendment accepted after both cancelled the agreement: the acceptance stands, the link is void";
    test::Scenario& s = c.scenario;
    const DecodedEntry p = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 1212, at(60 * 24))), 0, at(1));
    s.Add(kUA, test::Accept(p), 1, at(2));
    v1::Entry amend = test::Propose(test::RemainsTerms(kRU, 1212, at(60 * 24 * 3)));
    amend.mutable_propose()->set_amends(p.id.str());
    const DecodedEntry q = s.Add(kRU, amend, 1, at(3));
    s.Add(kUA, test::Cancel(p), 2, at(4));
    s.Add(kRU, test::Cancel(p), 2, at(5));
    s.Add(kUA, test::Accept(q), 3, at(6));
    c.now_ms = at(7);
    cases.push_back(std::move(c));
  }
  {
    StateCase c;
    c.title = "a completed agreement cannot be cancelled or amended: a void cancel and a void link";
    test::Scenario& s = c.scenario;
    const DecodedEntry p = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 1212, at(60 * 24))), 0, at(1));
    s.Add(kUA, test::Accept(p), 1, at(2));
    s.Add(kRU, test::Handover(p, 0, 1212), 1, at(3));
    s.Add(kUA, test::Receipt(p, 0, 1212), 2, at(4));
    s.Add(kUA, test::Cancel(p), 2, at(5));
    v1::Entry amend = test::Propose(test::RemainsTerms(kRU, 1212, at(60 * 24 * 3)));
    amend.mutable_propose()->set_amends(p.id.str());
    s.Add(kRU, amend, 3, at(6));
    c.now_ms = at(7);
    cases.push_back(std::move(c));
  }
  return cases;
}

// Envelopes of a scenario in canonical order (an order a node can store them in).
std::vector<const DecodedEntry*> InOrder(const test::Scenario& s) {
  std::vector<const DecodedEntry*> out;
  for (const auto& [party, index] : CanonicalOrder(s.feed(kUA), s.feed(kRU))) out.push_back(&s.feed(party)[index]);
  return out;
}

std::string GenerateStateVectors() {
  const Charter& c = test::TheCharter();
  std::ostringstream out;
  int n = 0;
  for (const StateCase& sc : StateCases()) {
    out << "#### State " << ++n << " — " << sc.title << "\n\n";
    out << "Envelopes (SignedEntry, hex), in canonical order:\n\n";
    for (const DecodedEntry* e : InOrder(sc.scenario)) {
      out << "    " << c.party_code(e->author()) << "#" << e->seq() << " " << KindName(e->kind()) << ", id "
          << ToHex(e->id) << "\n";
      out << Wrap(ToHex(e->envelope)) << "\n";
    }
    const LedgerState state = ComputeState(sc.scenario.feed(kUA), sc.scenario.feed(kRU), sc.now_ms);
    out << "State at now = " << IsoTime(sc.now_ms) << " (" << sc.now_ms << " ms), as LedgerState::Render:\n\n";
    std::istringstream lines(state.Render(c));
    for (std::string line; std::getline(lines, line);) out << "    " << line << "\n";
    out << "\n";
  }
  return out.str();
}

std::string ReadDoc(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("the test vectors in docs/PROTOCOL.md match what the code computes") {
  const std::string path = std::string(PARLEY_SOURCE_DIR) + "/docs/PROTOCOL.md";
  std::string doc = ReadDoc(path);
  const size_t b = doc.find(kBegin);
  const size_t e = doc.find(kEnd);
  REQUIRE_MESSAGE(b != std::string::npos, "no test-vectors block in " << path);
  REQUIRE(e != std::string::npos);
  const size_t start = b + kBegin.size() + 1;
  const std::string generated = Generate().text;
  if (std::getenv("PARLEY_UPDATE_VECTORS")) {
    doc.replace(start, e - start, generated);
    std::ofstream(path) << doc;
  }
  CHECK(doc.substr(start, e - start) == generated);
}

TEST_CASE("the state vectors in docs/PROTOCOL.md match the verdicts the code computes") {
  const std::string path = std::string(PARLEY_SOURCE_DIR) + "/docs/PROTOCOL.md";
  std::string doc = ReadDoc(path);
  const size_t b = doc.find(kStateBegin);
  const size_t e = doc.find(kStateEnd);
  REQUIRE_MESSAGE(b != std::string::npos, "no state-vectors block in " << path);
  REQUIRE(e != std::string::npos);
  const size_t start = b + kStateBegin.size() + 1;
  const std::string generated = GenerateStateVectors();
  if (std::getenv("PARLEY_UPDATE_VECTORS")) {
    doc.replace(start, e - start, generated);
    std::ofstream(path) << doc;
  }
  CHECK(doc.substr(start, e - start) == generated);
}

TEST_CASE("each state vector is a valid ledger, and its stored feeds give the published verdict") {
  for (const StateCase& sc : StateCases()) {
    CAPTURE(sc.title);
    LedgerOptions o;
    auto ledger = Ledger::Open(NewMemoryStore(), test::TestCharter(), std::move(o)).value();
    for (const DecodedEntry* env : InOrder(sc.scenario)) {
      auto r = ledger->Ingest(env->envelope);
      REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
      CHECK(*r == IngestOutcome::kStored);
    }
    const auto ua = ledger->Read(kUA, 1, SIZE_MAX).value();
    const auto ru = ledger->Read(kRU, 1, SIZE_MAX).value();
    CHECK(ComputeState(ua, ru, sc.now_ms).Render(test::TheCharter()) ==
          ComputeState(sc.scenario.feed(kUA), sc.scenario.feed(kRU), sc.now_ms).Render(test::TheCharter()));
  }
}

TEST_CASE("the published vector entries form a valid ledger a node accepts") {
  LedgerOptions o;  // read-only copy, as an auditor's
  auto ledger = Ledger::Open(NewMemoryStore(), test::TestCharter(), std::move(o)).value();
  for (const std::string& env : Generate().envelopes) {
    auto r = ledger->Ingest(env);
    REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
    CHECK(*r == IngestOutcome::kStored);
  }
  CHECK(ledger->Head(kUA).seq == 6);
  CHECK(ledger->Head(kRU).seq == 8);
}

}  // namespace
}  // namespace parley

namespace parley {
namespace {

TEST_CASE("the published vectors, as a bundle, pass the auditor clean") {
  test::TempDir dir;
  const auto path = dir.path() / "vectors.parley";
  auto w = BundleWriter::Create(path, test::TheCharter(), "UA", test::kT0).value();
  for (const std::string& env : Generate().envelopes) REQUIRE(w->AddEntry(env).ok());
  REQUIRE(w->Finish().ok());
  AuditOptions o;
  o.now_ms = test::kT0;
  AuditReport r = AuditBundle(path.string(), o).value();
  CHECK(r.clean());
  CHECK(r.entries[test::kUA] == 6);
  CHECK(r.entries[test::kRU] == 8);
  // The vectors include two deliberately void statements (a withdrawal after a
  // rejection, a cancel of a proposal never agreed); the auditor names them.
  int voids = 0;
  for (const auto& f : r.findings) voids += f.kind == "void";
  CHECK(voids == 2);
  REQUIRE(r.disclosures.size() == 1);  // UA#6
  CHECK(r.disclosures[0].at.seq == 6);
}

}  // namespace
}  // namespace parley

// --- manifest, bundle and rotation vectors (docs/PROTOCOL.md §14.2) -----------

namespace parley {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMoreBegin = "<!-- more-vectors:begin -->";
constexpr std::string_view kMoreEnd = "<!-- more-vectors:end -->";

// The manifest of the vector: three remains records, fixed salts.
std::vector<ManifestRecord> VectorRecords() {
  std::vector<ManifestRecord> records(3);
  records[0].kind = records[1].kind = records[2].kind = ManifestKind::kRemains;
  records[0].fields = {"UA-2025-0001", "Ivan Petrenko", "2025-03-14", "Kharkiv region\nnear Vovchansk", "identity_disc",
                       "S-17"};
  records[1].fields = {"UA-2025-0002", "", "2025-03-15", "Kharkiv region", "unidentified", ""};
  records[2].fields = {"UA-2025-0003", "Олег Коваленко", "2025-03-15", "Sumy region", "documents", ""};
  return records;
}
Salt VectorSalt(size_t i) { return *Salt::FromBytes(test::SeedFrom(static_cast<uint8_t>(0xa0 + 0x20 * i)).view()); }

// The ledger of the bundle vector: an agreement carried out with a
// discrepancy, and a void statement.
test::Scenario BundleScenario() {
  test::Scenario s;
  const int64_t t = test::kT0;
  auto at = [&](int minutes) { return t + int64_t{60000} * minutes; };
  const DecodedEntry p = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 3, at(60 * 24))), 0, at(1));
  s.Add(kUA, test::Accept(p), 1, at(2));
  s.Add(kRU, test::Handover(p, 0, 3), 1, at(3));
  s.Add(kUA, test::Receipt(p, 0, 2), 2, at(4));
  s.Add(kRU, test::Withdraw(p), 2, at(5));  // void: already agreed
  return s;
}

// The ledger of the rotation vector: RU rotates to the key of seed 60..7f,
// signs once more with the old key while the rotation is pending, UA
// acknowledges, RU signs with the new key.
test::Scenario RotationScenario() {
  test::Scenario s;
  const Charter& c = test::TheCharter();
  const int64_t t = test::kT0;
  auto at = [&](int minutes) { return t + int64_t{60000} * minutes; };
  SecretKey next = SecretKey::FromSeed(test::SeedFrom(0x60));
  s.Add(kRU, test::Say("RU's first entry, under its charter key"), 0, at(1));
  s.Add(kUA, test::Say("UA's first entry"), 1, at(2));
  v1::Entry rotate;
  const std::string msg = c.ledger_id().str() + std::string("\x01\x00\x00\x00", 4) + next.public_key().str();
  rotate.mutable_rotate_key()->set_new_public_key(next.public_key().str());
  rotate.mutable_rotate_key()->set_new_key_signature(Sign(next, kRotateDomain, msg).str());
  s.Add(kRU, rotate, 1, at(3));
  s.Add(kRU, test::Say("RU, rotation pending: still the charter key"), 1, at(4));
  s.Add(kUA, test::Say("UA has seen the rotation: this acknowledges it"), 3, at(5));
  s.UseKey(kRU, next);
  s.Add(kRU, test::Say("RU after the acknowledgement: the new key"), 2, at(6));
  return s;
}

// Writes `s`'s feeds in canonical order as a bundle exported by UA at kT0.
void WriteScenarioBundle(const fs::path& path, const test::Scenario& s) {
  auto w = BundleWriter::Create(path, test::TheCharter(), "UA", test::kT0).value();
  for (const DecodedEntry* e : InOrder(s)) PARLEY_CHECK(w->AddEntry(e->envelope).ok());
  PARLEY_CHECK(w->Finish().ok());
}

// The verdict lines of an audit: everything but what depends on the build
// and the hour (AuditSubject's versions and time).
std::string Verdict(const AuditReport& r) {
  const Charter& c = test::TheCharter();
  std::ostringstream out;
  out << "    digest  " << ToHex(r.audited.bundle_digest) << " (" << r.audited.bundle_bytes << " bytes)\n";
  out << "    heads   " << DescribeHead(c, kUA, r.audited.heads[kUA]) << "\n";
  out << "            " << DescribeHead(c, kRU, r.audited.heads[kRU]) << "\n";
  out << "    clean   " << (r.clean() ? "true" : "false") << " (exit code " << r.exit_code() << ")\n";
  out << "    entries UA " << r.entries[kUA] << ", RU " << r.entries[kRU] << "\n";
  for (const AuditFinding& f : r.findings) out << "    finding " << FindingName(f.kind) << " " << f.where << ": " << f.what << "\n";
  for (const AuditKeyRotation& k : r.key_rotations) out << "    rotation " << DescribeRotation(c, k) << "\n";
  std::istringstream lines(r.state.Render(c));
  for (std::string line; std::getline(lines, line);) out << "    state   " << line << "\n";
  return out.str();
}

AuditReport AuditOf(const fs::path& path, int64_t now_ms) {
  AuditOptions o;
  o.now_ms = now_ms;
  return AuditBundle(path.string(), o).value();
}

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string GenerateMoreVectors() {
  const Charter& c = test::TheCharter();
  std::ostringstream out;
  // 1. A manifest.
  out << "#### Manifest — three remains records\n\n";
  const std::vector<ManifestRecord> records = VectorRecords();
  std::vector<Digest> leaves;
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string bytes = CanonicalRecord(records[i]);
    leaves.push_back(MerkleLeaf(VectorSalt(i), bytes));
    out << "Record " << i << " (" << ManifestKindName(records[i].kind) << "; fields in canonical order, as JSON strings):\n\n    ";
    for (size_t k = 0; k < records[i].fields.size(); ++k) out << (k ? ", " : "") << nlohmann::json(records[i].fields[k]).dump();
    out << "\n\n    canonical record (hex):\n" << Wrap(ToHex(bytes));
    out << "    salt " << ToHex(VectorSalt(i)) << "\n";
    out << "    leaf " << ToHex(leaves.back()) << "\n\n";
  }
  const MerkleTree tree(leaves);
  out << "    root  " << ToHex(tree.root()) << " (count " << tree.size() << ")\n";
  for (uint64_t i : {uint64_t{1}, uint64_t{2}}) {
    const MerkleProof proof = tree.Prove(i);
    out << "    proof of record " << i << ": index " << proof.index << ", count " << proof.leaf_count << ", path";
    for (const Digest& d : proof.path) out << "\n      " << ToHex(d);
    out << "\n";
  }
  out << "\n";

  test::TempDir dir;
  // 2. A complete bundle.
  {
    const test::Scenario s = BundleScenario();
    const fs::path path = dir.path() / "bundle.parley";
    WriteScenarioBundle(path, s);
    out << "#### Bundle — an agreement carried out with a discrepancy, and a void withdrawal\n\n";
    out << "Entries in the file, in canonical order:";
    for (const DecodedEntry* e : InOrder(s)) {
      out << " " << c.party_code(e->author()) << "#" << e->seq() << " " << KindName(e->kind());
    }
    out << ". The whole file (hex):\n\n" << Wrap(ToHex(ReadBytes(path)));
    const int64_t now = test::kT0 + 60000 * 6;
    out << "\nIts audit at now = " << IsoTime(now) << " (" << now << " ms):\n\n" << Verdict(AuditOf(path, now)) << "\n";
  }
  // 3. An acknowledged rotation.
  {
    const test::Scenario s = RotationScenario();
    out << "#### Rotation — RU rotates its key, UA acknowledges, RU signs with the new key\n\n";
    out << "    RU#2's new key " << ToHex(SecretKey::FromSeed(test::SeedFrom(0x60)).public_key()) << " (seed 60..7f)\n\n";
    out << "Envelopes (SignedEntry, hex), in canonical order, each with the key it verifies under:\n\n";
    KeySchedule schedule(c);
    for (const DecodedEntry* e : InOrder(s)) {
      const uint64_t seen = e->entry.has_seen() ? e->entry.seen().seq() : 0;
      out << "    " << c.party_code(e->author()) << "#" << e->seq() << " " << KindName(e->kind()) << ", seen " << seen
          << ", id " << ToHex(e->id) << "\n";
      out << "    key " << ToHex(schedule.KeyFor(e->author(), e->seq(), seen)) << "\n";
      out << Wrap(ToHex(e->envelope)) << "\n";
      schedule.Observe(e->entry);
    }
    const fs::path path = dir.path() / "rotation.parley";
    WriteScenarioBundle(path, s);
    const int64_t now = test::kT0 + 60000 * 7;
    out << "Its audit, as a bundle exported by UA at " << IsoTime(test::kT0) << ", at now = " << IsoTime(now) << ":\n\n"
        << Verdict(AuditOf(path, now));
  }
  return out.str();
}

TEST_CASE("the manifest, bundle and rotation vectors in docs/PROTOCOL.md match what the code computes") {
  const std::string path = std::string(PARLEY_SOURCE_DIR) + "/docs/PROTOCOL.md";
  std::string doc = ReadDoc(path);
  const size_t b = doc.find(kMoreBegin);
  const size_t e = doc.find(kMoreEnd);
  REQUIRE_MESSAGE(b != std::string::npos, "no more-vectors block in " << path);
  REQUIRE(e != std::string::npos);
  const size_t start = b + kMoreBegin.size() + 1;
  const std::string generated = GenerateMoreVectors();
  if (std::getenv("PARLEY_UPDATE_VECTORS")) {
    doc.replace(start, e - start, generated);
    std::ofstream(path) << doc;
  }
  CHECK(doc.substr(start, e - start) == generated);
}

TEST_CASE("the manifest vector verifies: each proof against the root, each leaf from its salt and record") {
  const std::vector<ManifestRecord> records = VectorRecords();
  std::vector<Digest> leaves;
  for (size_t i = 0; i < records.size(); ++i) {
    REQUIRE(CheckManifestRecord(records[i]).ok());
    leaves.push_back(MerkleLeaf(VectorSalt(i), CanonicalRecord(records[i])));
    CHECK(DecodeCanonicalRecord(CanonicalRecord(records[i])).value().fields == records[i].fields);
  }
  const MerkleTree tree(leaves);
  // Recomputed by hand from §8.1: three leaves, the third promoted.
  const Digest left = Hash("parley/node/v1", leaves[0].str() + leaves[1].str());
  CHECK(tree.root() == Hash("parley/node/v1", left.str() + leaves[2].str()));
  for (uint64_t i = 0; i < leaves.size(); ++i) CHECK(MerkleVerify(tree.root(), leaves[i], tree.Prove(i)));
}

TEST_CASE("the rotation vector is acknowledged and in effect, and the bundle vector's verdict is as published") {
  test::TempDir dir;
  const fs::path rotation = dir.path() / "rotation.parley";
  WriteScenarioBundle(rotation, RotationScenario());
  const AuditReport r = AuditOf(rotation, test::kT0 + 60000 * 7);
  CHECK(r.clean());
  REQUIRE(r.key_rotations.size() == 1);
  CHECK(r.key_rotations[0].party == kRU);
  CHECK(r.key_rotations[0].rotation.seq == 2);
  CHECK(r.key_rotations[0].rotation.acknowledged_by == 2);
  CHECK(r.key_rotations[0].rotation.new_key == SecretKey::FromSeed(test::SeedFrom(0x60)).public_key());
  // The bundle vector: the audit's digest is H("parley/bundle/v1", file).
  const fs::path bundle = dir.path() / "bundle.parley";
  WriteScenarioBundle(bundle, BundleScenario());
  const AuditReport b = AuditOf(bundle, test::kT0 + 60000 * 6);
  CHECK(b.audited.bundle_digest == Hash("parley/bundle/v1", ReadBytes(bundle)));
  CHECK(b.clean());
  CHECK(b.Count("void") == 1);
  CHECK(b.Count("discrepancy") >= 1);
}

// --- the transparency-log view of a feed (§15) ----------------------------------

constexpr std::string_view kTlogBegin = "<!-- tlog-vectors:begin -->";
constexpr std::string_view kTlogEnd = "<!-- tlog-vectors:end -->";

std::vector<std::string> FeedOf(PartyIndex party) {
  std::vector<std::string> feed;
  for (const std::string& env : Generate().envelopes) {
    auto d = DecodeEntry(env, test::TheCharter());
    if (d.has_value() && d->author() == party) feed.push_back(env);
  }
  return feed;
}

std::string GenerateTlogVectors() {
  const Charter& c = test::TheCharter();
  const std::vector<std::string> feed = FeedOf(kUA);
  const SecretKey key = test::PartyKey(kUA);
  std::ostringstream out;
  out << "UA's feed of the vectors above (6 entries), as a log, signed with UA's key (seed 00..1f):\n\n";
  out << "    origin " << FeedOrigin(c, kUA) << "\n";
  out << "    vkey   " << FormatVerifierKey(FeedNoteVerifier(c, kUA, key.public_key())) << "\n\n";
  out << "Leaf hashes, SHA-256(0x00 || envelope), seq 1 to 6:\n\n";
  for (size_t i = 0; i < feed.size(); ++i) out << "    " << (i + 1) << " " << ToHex(Rfc6962LeafHash(feed[i])) << "\n";
  const std::vector<std::string> first3(feed.begin(), feed.begin() + 3);
  for (const auto* part : {&first3, &feed}) {
    const Checkpoint cp = FeedCheckpoint(c, kUA, *part);
    out << "\nThe checkpoint of size " << cp.size << ", as a signed note (exact bytes; the last line is the signature):\n\n";
    std::istringstream lines(SignFeedCheckpoint(key, c, kUA, cp));
    for (std::string line; std::getline(lines, line);) out << (line.empty() ? "" : "    ") << line << "\n";
  }
  out << "\nThe consistency proof from size 3 to size 6 (RFC 6962 §2.1.2), base64 as in an add-checkpoint body:\n\n";
  for (const Digest& h : FeedTree(feed).ConsistencyProof(3)) out << "    " << ToBase64(h.view()) << "\n";
  // A witness's cosignature/v1 of the size-6 checkpoint (§15.4).
  const SecretKey witness = SecretKey::FromSeed(test::SeedFrom(0x60));
  const NoteVerifier wv{"icrc.example/witness", NoteKeyType::kCosignatureV1, witness.public_key()};
  const Checkpoint cp6 = FeedCheckpoint(c, kUA, feed);
  const std::string text = FormatCheckpoint(cp6);
  constexpr uint64_t kCosignedAt = 1749380400;  // 2025-06-08T11:00:00Z
  out << "\nA witness named `icrc.example/witness` with the key of seed 60..7f, vkey\n\n    " << FormatVerifierKey(wv)
      << "\n\ncosigns that size-6 checkpoint at " << kCosignedAt << " (2025-06-08T11:00:00Z). It signs these bytes"
      << " (shown as lines):\n\n";
  std::istringstream msg(CosignatureMessage(kCosignedAt, text));
  for (std::string line; std::getline(msg, line);) out << "    " << line << "\n";
  out << "\nand answers add-checkpoint with this line, which follows UA's signature line in the cosigned note:\n\n    "
      << FormatSignatureLine(Cosign(witness, wv.name, text, kCosignedAt));
  return out.str();
}

TEST_CASE("the transparency-log vectors in docs/PROTOCOL.md match what the code computes") {
  const std::string path = std::string(PARLEY_SOURCE_DIR) + "/docs/PROTOCOL.md";
  std::string doc = ReadDoc(path);
  const size_t b = doc.find(kTlogBegin);
  const size_t e = doc.find(kTlogEnd);
  REQUIRE_MESSAGE(b != std::string::npos, "no tlog-vectors block in " << path);
  REQUIRE(e != std::string::npos);
  const size_t start = b + kTlogBegin.size() + 1;
  const std::string generated = GenerateTlogVectors();
  if (std::getenv("PARLEY_UPDATE_VECTORS")) {
    doc.replace(start, e - start, generated);
    std::ofstream(path) << doc;
  }
  CHECK(doc.substr(start, e - start) == generated);
}

TEST_CASE("a feed checkpoint verifies as a C2SP note under the party's vkey, and its proof links the sizes") {
  const Charter& c = test::TheCharter();
  const std::vector<std::string> feed = FeedOf(kUA);
  REQUIRE(feed.size() == 6);
  const Checkpoint cp = FeedCheckpoint(c, kUA, feed);
  CHECK(cp.origin == "parley-ledger/" + ToHex(c.ledger_id()) + "/UA");
  CHECK(cp.size == 6);
  auto note = ParseNote(SignFeedCheckpoint(test::PartyKey(kUA), c, kUA, cp));
  REQUIRE(note.has_value());
  CHECK(ParseCheckpoint(note->text).value() == cp);
  CHECK(VerifyNote(*note, std::vector{FeedNoteVerifier(c, kUA, test::PartyKey(kUA).public_key())}).has_value());
  // Not under the other party's key, nor under UA's key for RU's origin.
  CHECK_FALSE(VerifyNote(*note, std::vector{FeedNoteVerifier(c, kUA, test::PartyKey(kRU).public_key())}).has_value());
  CHECK_FALSE(VerifyNote(*note, std::vector{FeedNoteVerifier(c, kRU, test::PartyKey(kUA).public_key())}).has_value());
  const Checkpoint old = FeedCheckpoint(c, kUA, std::vector<std::string>(feed.begin(), feed.begin() + 3));
  CHECK(Rfc6962VerifyConsistency(3, 6, old.root, cp.root, FeedTree(feed).ConsistencyProof(3)));
  CHECK(FeedCheckpoint(c, kUA, {}).root == Rfc6962EmptyRoot());
}

TEST_CASE("domain separation: a note signature is never an entry signature, nor the other way round") {
  const Charter& c = test::TheCharter();
  const SecretKey key = test::PartyKey(kUA);
  const std::vector<std::string> feed = FeedOf(kUA);
  // Every Parley domain string starts with "parley/"; every feed origin, so
  // every checkpoint text a node signs, starts with "parley-ledger/".
  for (std::string_view d : {kEntryDomain, kTermsDomain, kRotateDomain}) CHECK(d.substr(0, 7) == "parley/");
  CHECK(FeedOrigin(c, kUA).substr(0, 14) == kFeedOriginPrefix);
  CHECK(FeedOrigin(c, kUA).substr(0, 7) != "parley/");

  // A checkpoint signature does not verify as an entry signature of the checkpoint text.
  const std::string text = FormatCheckpoint(FeedCheckpoint(c, kUA, feed));
  const NoteSignature note_sig = SignNote(key, FeedOrigin(c, kUA), text);
  CHECK_FALSE(Verify(key.public_key(), kEntryDomain, text, *Signature::FromBytes(note_sig.signature)));
  CHECK_FALSE(Verify(key.public_key(), kEntryDomain, text.substr(kEntryDomain.size()),
                     *Signature::FromBytes(note_sig.signature)));

  // An entry signature signs "parley/entry/v1" || E: as a note text that is
  // not a note (E holds control bytes), and its first line is not the origin.
  v1::SignedEntry env;
  REQUIRE(env.ParseFromString(feed[0]));
  const std::string signed_bytes = std::string(kEntryDomain) + env.entry();
  Note forged{signed_bytes + "\n", {NoteSignature{FeedOrigin(c, kUA), FeedNoteVerifier(c, kUA, key.public_key()).key_id(),
                                                  env.signature()}}};
  CHECK_FALSE(ParseNote(FormatNote(forged)).has_value());
  auto as_checkpoint = ParseCheckpoint(forged.text);
  const bool is_feed_checkpoint = as_checkpoint.has_value() && as_checkpoint->origin == FeedOrigin(c, kUA);
  CHECK_FALSE(is_feed_checkpoint);
  // Its signature is over signed_bytes, not signed_bytes + "\n".
  CHECK_FALSE(VerifyNote(forged, std::vector{FeedNoteVerifier(c, kUA, key.public_key())}).has_value());
}

}  // namespace
}  // namespace parley
