// The manifest store (encrypted at rest, proofs, export/import, erasure),
// canonical record bytes, secretbox and sealed boxes, and proof files checked
// against a real signed entry.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "crypto/seal.h"
#include "fixtures.h"
#include "node/ledger/ledger.h"
#include "node/manifest/manifest.h"
#include "node/manifest/manifest_proof.h"
#include "node/manifest/manifest_store.h"
#include "parley/v1/operator.pb.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

// A Store that forwards to a shared inner store, so that a test keeps a
// handle on the raw rows after handing the ManifestStore its own pointer, and
// can reopen the same rows under another key.
class SharedStore : public Store {
 public:
  explicit SharedStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}
  Result<std::optional<std::string>> Get(std::string_view key) override { return inner_->Get(key); }
  Status Write(const WriteBatch& batch, bool sync) override { return inner_->Write(batch, sync); }
  Status Scan(std::string_view start, std::string_view end, const ScanFn& fn) override {
    return inner_->Scan(start, end, fn);
  }
  Status Reopen() override { return inner_->Reopen(); }
  Status Compact() override { return inner_->Compact(); }

 private:
  std::shared_ptr<Store> inner_;
};

// Every raw row of `store` (key, value).
std::vector<std::pair<std::string, std::string>> Rows(Store& store) {
  std::vector<std::pair<std::string, std::string>> rows;
  REQUIRE(store
              .Scan("", std::string(8, '\xff'),
                    [&](std::string_view k, std::string_view v) {
                      rows.emplace_back(std::string(k), std::string(v));
                      return true;
                    })
              .ok());
  return rows;
}

std::string Num(size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06zu", i);
  return buf;
}

constexpr const char* kIdentifications[] = {"documents",   "identity_disc", "uniform",
                                            "place_found", "dna_pending",   "unidentified"};

// A valid remains record, unique per i: tag BODY-<i>, a (Cyrillic) name
// unless unidentified, a seal on three of four.
ManifestRecord RemainsRecord(size_t i) {
  const std::string ident = kIdentifications[i % 6];
  ManifestRecord r;
  r.kind = ManifestKind::kRemains;
  r.fields = {"BODY-" + Num(i),
              ident == "unidentified" ? "" : "Петренко Іван " + Num(i),
              "2024-" + std::string(i % 12 < 9 ? "0" : "") + std::to_string(i % 12 + 1) + "-" +
                  std::string(i % 28 < 9 ? "0" : "") + std::to_string(i % 28 + 1),
              "Sector " + std::to_string(i % 50) + "\nnear Kupiansk",
              ident,
              i % 4 == 3 ? "" : "SEAL-" + Num(i)};
  return r;
}

std::vector<ManifestRecord> RemainsManifest(size_t n) {
  std::vector<ManifestRecord> records;
  records.reserve(n);
  for (size_t i = 0; i < n; ++i) records.push_back(RemainsRecord(i));
  return records;
}

ManifestRecord PrisonerRecord() {
  ManifestRecord r;
  r.kind = ManifestKind::kPrisoners;
  r.fields = {"AB-123456", "Kovalenko", "Oleksandr Petrovych", "1999-02-28", "sergeant", "under_25", "yes"};
  return r;
}

std::unique_ptr<ManifestStore> OpenMemory(const SecretKey& key) {
  return ManifestStore::Open(NewMemoryStore(), key).value();
}

Digest RootOf(const v1::ManifestInfo& info) { return *Digest::FromBytes(info.root()); }

Digest LedgerId() { return test::TheCharter().ledger_id(); }

bool ProofHolds(const Digest& root, uint64_t count, const ManifestStore::RecordProof& p) {
  return p.proof.leaf_count == count && MerkleVerify(root, MerkleLeaf(p.salt, p.record), p.proof);
}

std::string Flip(std::string s, size_t at) {
  s.at(at) = static_cast<char>(s.at(at) ^ 0x01);
  return s;
}

template <typename T>
T FlipBytes(T value, size_t at) {
  value.bytes.at(at) ^= 0x01;
  return value;
}

// --- proofs ------------------------------------------------------------------

TEST_CASE("every record of a 6,000-record remains manifest has a proof that verifies against the committed root") {
  auto store = OpenMemory(test::PartyKey(kRU));
  const auto records = RemainsManifest(6000);
  const v1::ManifestInfo info = store->Commit(records, kRU).value();
  CHECK(info.count() == 6000);
  CHECK(info.kind() == v1::MANIFEST_REMAINS);
  CHECK(info.author() == kRU);
  CHECK(info.erased() == 0);
  const Digest root = RootOf(info);

  const auto proofs = store->ProveAll(root).value();
  REQUIRE(proofs.size() == 6000);
  size_t verified = 0, in_order = 0, same_record = 0;
  for (size_t i = 0; i < proofs.size(); ++i) {
    if (ProofHolds(root, info.count(), proofs[i])) ++verified;
    if (proofs[i].proof.index == i) ++in_order;
    if (proofs[i].record == CanonicalRecord(records[i])) ++same_record;
  }
  CHECK(verified == 6000);
  CHECK(in_order == 6000);
  CHECK(same_record == 6000);

  // Prove by id gives the same proof as ProveAll.
  const auto one = store->Prove(root, "BODY-004321").value();
  CHECK(one.proof.index == 4321);
  CHECK(one.record == proofs[4321].record);
  CHECK(one.proof.path == proofs[4321].proof.path);
  CHECK(ProofHolds(root, 6000, one));
  CHECK(store->Prove(root, "BODY-999999").error().code() == Code::kNotFound);
  CHECK(store->Prove(FlipBytes(root, 0), "BODY-000001").error().code() == Code::kNotFound);
}

TEST_CASE("a record proof fails for an altered record byte, salt, path element, index, count or root") {
  auto store = OpenMemory(test::PartyKey(kRU));
  const v1::ManifestInfo info = store->Commit(RemainsManifest(6000), kRU).value();
  const Digest root = RootOf(info);
  const auto proofs = store->ProveAll(root).value();
  const Digest other_root = RootOf(store->Commit(RemainsManifest(6000), kRU).value());  // fresh salts
  REQUIRE(other_root != root);

  // First, last (promoted at odd levels), and a few in between.
  for (size_t i : {size_t{0}, size_t{1}, size_t{2999}, size_t{4321}, size_t{5998}, size_t{5999}}) {
    CAPTURE(i);
    const ManifestStore::RecordProof& p = proofs[i];
    REQUIRE(ProofHolds(root, 6000, p));
    const Digest leaf = MerkleLeaf(p.salt, p.record);

    size_t held = 0;
    for (size_t b = 0; b < p.record.size(); ++b) held += MerkleVerify(root, MerkleLeaf(p.salt, Flip(p.record, b)), p.proof);
    CHECK(held == 0);
    CHECK_FALSE(MerkleVerify(root, MerkleLeaf(p.salt, p.record + "x"), p.proof));
    CHECK_FALSE(MerkleVerify(root, MerkleLeaf(p.salt, p.record.substr(0, p.record.size() - 1)), p.proof));

    held = 0;
    for (size_t b = 0; b < Salt::kSize; ++b) held += MerkleVerify(root, MerkleLeaf(FlipBytes(p.salt, b), p.record), p.proof);
    CHECK(held == 0);

    held = 0;
    for (size_t k = 0; k < p.proof.path.size(); ++k) {
      MerkleProof bad = p.proof;
      bad.path[k] = FlipBytes(bad.path[k], 31);
      held += MerkleVerify(root, leaf, bad);
    }
    CHECK(held == 0);
    MerkleProof shorter = p.proof;
    shorter.path.pop_back();
    CHECK_FALSE(MerkleVerify(root, leaf, shorter));

    for (uint64_t wrong : {p.proof.index ^ 1, p.proof.index + 1, p.proof.index + 2, uint64_t{6000}}) {
      if (wrong == p.proof.index) continue;
      MerkleProof bad = p.proof;
      bad.index = wrong;
      CHECK_FALSE(MerkleVerify(root, leaf, bad));
    }
    MerkleProof no_leaves = p.proof;
    no_leaves.leaf_count = 0;
    CHECK_FALSE(MerkleVerify(root, leaf, no_leaves));

    CHECK_FALSE(MerkleVerify(other_root, leaf, p.proof));
    CHECK_FALSE(MerkleVerify(FlipBytes(root, 0), leaf, p.proof));
    // Another record's leaf at this proof's place.
    CHECK_FALSE(MerkleVerify(root, MerkleLeaf(proofs[(i + 7) % 6000].salt, proofs[(i + 7) % 6000].record), p.proof));
  }
}

// --- encryption at rest --------------------------------------------------------

TEST_CASE("a committed manifest is stored encrypted: no stored key or value holds a name, tag, seal, place or salt") {
  auto raw = std::shared_ptr<Store>(NewMemoryStore());
  auto store = ManifestStore::Open(std::make_unique<SharedStore>(raw), test::PartyKey(kRU)).value();
  std::vector<ManifestRecord> records;
  std::vector<std::string> canaries;
  for (size_t i = 0; i < 40; ++i) {
    ManifestRecord r = RemainsRecord(i);
    r.fields[0] = "CANARYTAG" + Num(i);
    if (!r.fields[1].empty()) r.fields[1] = "Zyxcanary Name" + Num(i);
    r.fields[3] = "Canaryville " + Num(i) + "\nbehind the mill";
    if (!r.fields[5].empty()) r.fields[5] = "CANSEAL" + Num(i);
    for (size_t f : {0, 1, 3, 5}) {
      if (!r.fields[f].empty()) canaries.push_back(r.fields[f]);
    }
    records.push_back(std::move(r));
  }
  canaries.push_back("Canaryville");
  canaries.push_back("behind the mill");
  const v1::ManifestInfo info = store->Commit(records, kRU).value();
  const Digest root = RootOf(info);
  for (const auto& p : store->ProveAll(root).value()) canaries.push_back(p.salt.str());

  // The reconciliation detail names record ids too.
  std::string arrivals = "arrival_id,record_id,status\n";
  for (size_t i = 0; i < 10; ++i) arrivals += "ARR" + Num(i) + ",CANARYTAG" + Num(i) + ",identified\n";
  canaries.push_back("ARR000003");
  const auto parsed = ParseArrivalsCsv(arrivals).value();
  const ReconciliationResult result = Reconcile(store->RecordIds(root).value(), parsed);
  CHECK(result.figures.matched() == 10);
  CHECK(result.figures.missing() == 30);
  REQUIRE(store->SaveReconciliation(root, arrivals, result, Hash("test", "receipt")).ok());

  const auto rows = Rows(*raw);
  CHECK(rows.size() >= 40);
  std::vector<std::string> found;
  for (const auto& [k, v] : rows) {
    for (const std::string& c : canaries) {
      if (k.find(c) != std::string::npos || v.find(c) != std::string::npos) found.push_back(ToHex(c));
    }
  }
  CHECK(found.empty());
}

TEST_CASE("a manifest store opens only under a signing key it holds the master key for, and AddKey adds one") {
  auto raw = std::shared_ptr<Store>(NewMemoryStore());
  const SecretKey key = test::PartyKey(kRU);
  const SecretKey next = SecretKey::Generate();
  Digest root;
  {
    auto store = ManifestStore::Open(std::make_unique<SharedStore>(raw), key).value();
    root = RootOf(store->Commit(RemainsManifest(30), kRU).value());
  }
  auto denied = ManifestStore::Open(std::make_unique<SharedStore>(raw), next);
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().code() == Code::kPermissionDenied);
  CHECK(ManifestStore::Open(std::make_unique<SharedStore>(raw), test::PartyKey(kUA)).error().code() ==
        Code::kPermissionDenied);
  {
    auto store = ManifestStore::Open(std::make_unique<SharedStore>(raw), key).value();
    REQUIRE(store->AddKey(next).ok());
  }
  auto store = ManifestStore::Open(std::make_unique<SharedStore>(raw), next).value();
  const auto p = store->Prove(root, "BODY-000017").value();
  CHECK(p.proof.index == 17);
  CHECK(ProofHolds(root, 30, p));
  CHECK(DecodeCanonicalRecord(p.record).value().fields == RemainsRecord(17).fields);
  // The old key still opens it too.
  CHECK(ManifestStore::Open(std::make_unique<SharedStore>(raw), key).has_value());
  // Other keys still do not.
  CHECK(ManifestStore::Open(std::make_unique<SharedStore>(raw), test::PartyKey(kUA)).error().code() ==
        Code::kPermissionDenied);
}

// --- export and import -----------------------------------------------------------

TEST_CASE("a manifest exported and imported into a store under another key keeps its root, count and kind") {
  // Large enough that Commit and Import split their work over two threads.
  auto mine = OpenMemory(test::PartyKey(kRU));
  const v1::ManifestInfo info = mine->Commit(RemainsManifest(5000), kRU).value();
  const Digest root = RootOf(info);
  const v1::ManifestData data = mine->Export(root, LedgerId()).value();
  CHECK(data.ledger_id() == LedgerId().str());
  CHECK(data.leaves_size() == 5000);

  auto theirs = OpenMemory(test::PartyKey(kUA));
  const v1::ManifestInfo imported = theirs->Import(data, LedgerId()).value();
  CHECK(imported.root() == info.root());
  CHECK(imported.count() == 5000);
  CHECK(imported.kind() == v1::MANIFEST_REMAINS);
  CHECK(imported.author() == kRU);
  CHECK(theirs->RecordIds(root).value() == mine->RecordIds(root).value());
  const auto p = theirs->Prove(root, "BODY-004250").value();
  CHECK(ProofHolds(root, 5000, p));
  CHECK(p.record == CanonicalRecord(RemainsRecord(4250)));
  // The copy exports the same salts and records, byte for byte.
  CHECK(theirs->Export(root, LedgerId()).value().SerializeAsString() == data.SerializeAsString());
  // Importing it again returns what is held.
  CHECK(theirs->Import(data, LedgerId()).value().root() == info.root());
  CHECK(theirs->List().value().size() == 1);
}

TEST_CASE("a manifest import is refused with kDataLoss, storing nothing, for altered bytes, swapped leaves, another ledger "
          "or a repeated record id") {
  auto mine = OpenMemory(test::PartyKey(kRU));
  const Digest root = RootOf(mine->Commit(RemainsManifest(64), kRU).value());
  const v1::ManifestData good = mine->Export(root, LedgerId()).value();
  v1::ManifestData data = good;
  Digest expect_absent = root;

  SUBCASE("a changed digit in a name") {
    std::string& r = *data.mutable_leaves(4)->mutable_record();
    const size_t at = r.find(Num(4), r.find("Іван"));
    REQUIRE(at != std::string::npos);
    r[at] = '9';  // still a valid record, another leaf
    REQUIRE(DecodeCanonicalRecord(r).has_value());
  }
  SUBCASE("a broken field length") {
    std::string& r = *data.mutable_leaves(6)->mutable_record();
    r[18] = static_cast<char>(r[18] + 1);
  }
  SUBCASE("a changed salt") { data.mutable_leaves(7)->set_salt(Flip(data.leaves(7).salt(), 0)); }
  SUBCASE("two leaves swapped") { std::swap(*data.mutable_leaves(3), *data.mutable_leaves(4)); }
  SUBCASE("another ledger's id") {
    Digest other = LedgerId();
    other.bytes[0] ^= 1;
    data.set_ledger_id(other.str());
  }
  SUBCASE("a count that does not match the leaves") { data.set_count(63); }
  SUBCASE("a record id twice, under a root its leaves do give") {
    // Leaf 9 carries leaf 8's record under a fresh salt; the root is
    // recomputed so only the repeated id is wrong.
    data.mutable_leaves(9)->set_record(data.leaves(8).record());
    data.mutable_leaves(9)->set_salt(std::string(32, 'S'));
    std::vector<Digest> leaves;
    for (const auto& l : data.leaves()) leaves.push_back(MerkleLeaf(*Salt::FromBytes(l.salt()), l.record()));
    expect_absent = MerkleRoot(leaves);
    data.set_root(expect_absent.str());
  }
  SUBCASE("a record of the other kind") {
    data.mutable_leaves(2)->set_record(CanonicalRecord(PrisonerRecord()));
  }

  auto theirs = OpenMemory(test::PartyKey(kUA));
  auto r = theirs->Import(data, LedgerId());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kDataLoss);
  CHECK_FALSE(theirs->Find(root).value().has_value());
  CHECK_FALSE(theirs->Find(expect_absent).value().has_value());
  CHECK(theirs->List().value().empty());
  // The intact export still goes in.
  CHECK(theirs->Import(good, LedgerId()).has_value());
}

// --- erasure ---------------------------------------------------------------------

TEST_CASE("erasing a record removes its proof and id but keeps the root, the count and every other proof") {
  auto store = OpenMemory(test::PartyKey(kRU));
  const v1::ManifestInfo info = store->Commit(RemainsManifest(300), kRU).value();
  const Digest root = RootOf(info);
  const auto before = store->Prove(root, "BODY-000042").value();
  const Digest erased_leaf = MerkleLeaf(before.salt, before.record);

  REQUIRE(store->Erase(root, "BODY-000042").ok());
  CHECK(store->Prove(root, "BODY-000042").error().code() == Code::kNotFound);
  CHECK(store->Erase(root, "BODY-000042").code() == Code::kNotFound);
  const auto ids = store->RecordIds(root).value();
  CHECK(ids.size() == 299);
  CHECK(std::find(ids.begin(), ids.end(), "BODY-000042") == ids.end());
  const v1::ManifestInfo after = store->Find(root).value().value();
  CHECK(after.root() == info.root());
  CHECK(after.count() == 300);
  CHECK(after.erased() == 1);

  const auto proofs = store->ProveAll(root).value();
  REQUIRE(proofs.size() == 299);
  size_t verified = 0;
  for (const auto& p : proofs) {
    verified += ProofHolds(root, 300, p);
    CHECK(p.proof.index != 42);
  }
  CHECK(verified == 299);

  const v1::ManifestData data = store->Export(root, LedgerId()).value();
  REQUIRE(data.leaves_size() == 300);
  CHECK(data.leaves(42).record().empty());
  CHECK(data.leaves(42).salt().empty());
  CHECK(data.leaves(42).leaf() == erased_leaf.str());
  CHECK(data.leaves(41).leaf().empty());

  auto theirs = OpenMemory(test::PartyKey(kUA));
  const v1::ManifestInfo imported = theirs->Import(data, LedgerId()).value();
  CHECK(imported.root() == info.root());
  CHECK(imported.count() == 300);
  CHECK(imported.erased() == 1);
  CHECK(theirs->Prove(root, "BODY-000042").error().code() == Code::kNotFound);
  CHECK(ProofHolds(root, 300, theirs->Prove(root, "BODY-000043").value()));
}

TEST_CASE("erasing a record takes its id out of every saved matched or missing line, keeping each line, outcome and receipt") {
  auto store = OpenMemory(test::PartyKey(kUA));
  const Digest root = RootOf(store->Commit(RemainsManifest(50), kRU).value());
  // Two arrival lists: one names BODY-000007 (matched); in the other it is
  // missing, and an arrival of the other side's names it (the receiver's
  // own line: it keeps the id).
  std::string with = "arrival_id,record_id,status\nA1,BODY-000007,identified\nA2,,unidentified\n";
  std::string without = "arrival_id,record_id,status\nB1,BODY-000008,identified\nB2,BODY-000007,other_side\n";
  // One receipt ID all 0xff bytes: its row is the last key under the
  // manifest's prefix, which a scan bounded by prefix || 0xff would miss.
  const Digest receipt_with = *Digest::FromBytes(std::string(32, '\xff'));
  const Digest receipt_without = Hash("test", "receipt 2");
  const auto ids = store->RecordIds(root).value();
  REQUIRE(store->SaveReconciliation(root, with, Reconcile(ids, ParseArrivalsCsv(with).value()), receipt_with).ok());
  REQUIRE(store->SaveReconciliation(root, without, Reconcile(ids, ParseArrivalsCsv(without).value()), receipt_without)
              .ok());
  const auto Outcomes = [&] {
    std::map<std::string, std::vector<std::string>> by_receipt;  // receipt -> "outcome/arrival/record" lines
    for (const auto& saved : store->Reconciliations(root).value()) {
      auto& lines = by_receipt[ToHex(saved.receipt())];
      for (const auto& l : saved.lines()) lines.push_back(l.outcome() + "/" + l.arrival_id() + "/" + l.record_id());
    }
    return by_receipt;
  };
  const auto before = Outcomes();
  REQUIRE(before.size() == 2);
  REQUIRE(before.at(ToHex(receipt_with)).size() == 2 + 49);
  CHECK(before.at(ToHex(receipt_with))[0] == "matched/A1/BODY-000007");
  const auto& missing_before = before.at(ToHex(receipt_without));
  CHECK(std::count(missing_before.begin(), missing_before.end(), "missing//BODY-000007") == 1);

  REQUIRE(store->Erase(root, "BODY-000007").ok());
  const auto after = Outcomes();
  REQUIRE(after.size() == 2);
  for (const auto& [receipt, lines] : after) {
    REQUIRE(lines.size() == before.at(receipt).size());
    for (size_t i = 0; i < lines.size(); ++i) {
      // A matched or missing line naming the record keeps outcome and
      // arrival; every other line is as it was.
      const std::string& was = before.at(receipt)[i];
      const bool blanked = was == "matched/A1/BODY-000007" || was == "missing//BODY-000007";
      CHECK(lines[i] == (blanked ? was.substr(0, was.rfind('/') + 1) : was));
    }
  }
  CHECK(after.at(ToHex(receipt_with))[0] == "matched/A1/");
  // Nothing else named changes: BODY-000008 is still in its lines.
  const auto& b = after.at(ToHex(receipt_without));
  CHECK(std::count(b.begin(), b.end(), "matched/B1/BODY-000008") == 1);
  CHECK(std::count(b.begin(), b.end(), "other_side/B2/BODY-000007") == 1);
  CHECK(std::count(b.begin(), b.end(), "missing//") == 1);

  // A list reconciled before the erasure and saved after it (its receipt
  // signed meanwhile) does not bring the id back; an id not on the manifest
  // is the receiver's own and stays.
  const std::string late = "arrival_id,record_id,status\nC1,BODY-000007,identified\nC2,ELSEWHERE-1,identified\n";
  const Digest receipt_late = Hash("test", "receipt 3");
  REQUIRE(store->SaveReconciliation(root, late, Reconcile(ids, ParseArrivalsCsv(late).value()), receipt_late).ok());
  const auto with_late = Outcomes();  // kept alive: l refers into it
  const auto& l = with_late.at(ToHex(receipt_late));
  CHECK(l[0] == "matched/C1/");
  CHECK(l[1] == "not_on_manifest/C2/ELSEWHERE-1");
  CHECK(std::count(l.begin(), l.end(), "missing//BODY-000009") == 1);

  // Saved again for the same receipt (a retry), the row is replaced, not added.
  REQUIRE(store->SaveReconciliation(root, late, Reconcile(ids, ParseArrivalsCsv(late).value()), receipt_late).ok());
  CHECK(store->Reconciliations(root).value().size() == 3);
}

TEST_CASE("a record id is found through the keyed index row: Prove and Erase read one record, and the row holds no id") {
  auto raw = std::shared_ptr<Store>(NewMemoryStore());
  auto store = ManifestStore::Open(std::make_unique<SharedStore>(raw), test::PartyKey(kRU)).value();
  const Digest root = RootOf(store->Commit(RemainsManifest(200), kRU).value());
  const auto IndexRow = [&]() -> std::optional<std::string> {
    for (const auto& [k, v] : Rows(*raw)) {
      if (k[0] == 'i') return v;
    }
    return std::nullopt;
  };
  const auto row = IndexRow();
  REQUIRE(row.has_value());
  CHECK(row->size() == 200 * 24);
  CHECK(row->find("BODY-") == std::string::npos);
  for (size_t i : {0, 1, 77, 199}) CHECK(store->Prove(root, "BODY-" + Num(i)).value().proof.index == i);
  CHECK(store->Prove(root, "BODY-" + Num(200)).error().code() == Code::kNotFound);
  CHECK(store->Prove(root, "").error().code() == Code::kNotFound);
  REQUIRE(store->Erase(root, "BODY-" + Num(77)).ok());
  CHECK(IndexRow()->size() == 199 * 24);
  CHECK(store->Prove(root, "BODY-" + Num(78)).value().proof.index == 78);

  // A missing or torn index row is kDataLoss (every manifest stored has
  // one), and an erasure then changes nothing.
  for (const std::string& damaged : {std::string(), std::string("short")}) {
    CAPTURE(damaged);
    WriteBatch bad;
    if (damaged.empty()) bad.Delete("i" + root.str());
    else bad.Put("i" + root.str(), damaged);
    REQUIRE(raw->Write(bad, true).ok());
    CHECK(store->Prove(root, "BODY-" + Num(5)).error().code() == Code::kDataLoss);
    CHECK(store->Erase(root, "BODY-" + Num(5)).code() == Code::kDataLoss);
    CHECK(store->Find(root).value()->erased() == 1);
    CHECK(store->RecordIds(root).value().size() == 199);
  }
}

TEST_CASE("a saved reconciliation that does not decode is kDataLoss, not a partial answer") {
  auto raw = std::shared_ptr<Store>(NewMemoryStore());
  auto store = ManifestStore::Open(std::make_unique<SharedStore>(raw), test::PartyKey(kUA)).value();
  const Digest root = RootOf(store->Commit(RemainsManifest(5), kRU).value());
  const std::string csv = "arrival_id,record_id,status\nA1,BODY-000001,identified\n";
  REQUIRE(store->SaveReconciliation(root, csv, Reconcile(store->RecordIds(root).value(), ParseArrivalsCsv(csv).value()),
                                    Hash("test", "receipt"))
              .ok());
  for (const auto& [k, v] : Rows(*raw)) {
    if (k[0] != 'a') continue;
    WriteBatch b;
    std::string flipped = v;
    flipped.back() ^= 1;
    b.Put(k, flipped);
    REQUIRE(raw->Write(b, true).ok());
  }
  CHECK(store->Reconciliations(root).error().code() == Code::kDataLoss);
  CHECK(store->Erase(root, "BODY-000001").code() == Code::kDataLoss);
  CHECK(store->RecordIds(root).value().size() == 5);  // the failed erasure changed nothing
}

// --- secretbox and sealed boxes ---------------------------------------------------

TEST_CASE("a sealed box opens only with the recipient's key and only unaltered") {
  const SecretKey ru = test::PartyKey(kRU);
  const std::string plain("manifest bytes \x00\x01 for the other side", 36);
  const std::string sealed = SealTo(ru.public_key(), plain).value();
  CHECK(sealed.size() == plain.size() + 48);
  CHECK(sealed.find("manifest bytes") == std::string::npos);
  CHECK(OpenSealed(ru, sealed).value() == plain);
  CHECK(SealTo(ru.public_key(), plain).value() != sealed);  // ephemeral sender key each time
  CHECK(OpenSealed(ru, SealTo(ru.public_key(), "").value()).value().empty());

  CHECK(OpenSealed(test::PartyKey(kUA), sealed).error().code() == Code::kDataLoss);
  CHECK(OpenSealed(SecretKey::Generate(), sealed).error().code() == Code::kDataLoss);
  size_t opened = 0;
  for (size_t b = 0; b < sealed.size(); ++b) opened += OpenSealed(ru, Flip(sealed, b)).has_value();
  CHECK(opened == 0);
  CHECK(OpenSealed(ru, sealed.substr(0, sealed.size() - 1)).error().code() == Code::kDataLoss);
  CHECK(OpenSealed(ru, sealed.substr(0, 47)).error().code() == Code::kDataLoss);
  CHECK(OpenSealed(ru, "").error().code() == Code::kDataLoss);
  CHECK(OpenSealed(ru, Flip(sealed, sealed.size() - 1)).error().code() == Code::kDataLoss);
}

TEST_CASE("secretbox Encrypt and Decrypt (manifest rows at rest) round-trip; another key, a flipped byte or a short box gives kDataLoss") {
  const SymmetricKey key;
  const std::string plain = "salt || canonical record";
  const std::string box = Encrypt(key, plain);
  CHECK(box.size() == plain.size() + 40);
  CHECK(Decrypt(key, box).value() == plain);
  CHECK(Encrypt(key, plain) != box);  // fresh nonce
  const std::string nonce(24, 'n');
  CHECK(Encrypt(key, plain, nonce) == Encrypt(key, plain, nonce));
  CHECK(Encrypt(key, plain, nonce).substr(0, 24) == nonce);
  CHECK(Decrypt(key, Encrypt(key, "", nonce)).value().empty());

  CHECK(Decrypt(SymmetricKey(), box).error().code() == Code::kDataLoss);
  size_t opened = 0;
  for (size_t b = 0; b < box.size(); ++b) opened += Decrypt(key, Flip(box, b)).has_value();
  CHECK(opened == 0);
  CHECK(Decrypt(key, box.substr(0, box.size() - 1)).error().code() == Code::kDataLoss);
  CHECK(Decrypt(key, box.substr(0, 39)).error().code() == Code::kDataLoss);
  CHECK(Decrypt(key, "").error().code() == Code::kDataLoss);
  CHECK(SymmetricKey::FromBytes(std::string(31, 'k')).error().code() == Code::kDataLoss);
  CHECK(Decrypt(*SymmetricKey::FromBytes(key.view()), box).value() == plain);
}

TEST_CASE("DeriveKey (the manifest store's wrap key) is fixed for a signing key and purpose and differs across either") {
  const SecretKey ru = test::PartyKey(kRU);
  CHECK(DeriveKey(ru, "a").view() == DeriveKey(test::PartyKey(kRU), "a").view());
  CHECK(DeriveKey(ru, "a").view() != DeriveKey(ru, "b").view());
  CHECK(DeriveKey(ru, "a").view() != DeriveKey(test::PartyKey(kUA), "a").view());
}

// --- canonical record bytes -------------------------------------------------------

TEST_CASE("a manifest record's canonical bytes decode back to it, and truncated or extra bytes fail") {
  for (const ManifestRecord& r : {RemainsRecord(0), RemainsRecord(5), RemainsRecord(7), PrisonerRecord()}) {
    CAPTURE(r.id());
    const std::string bytes = CanonicalRecord(r);
    const ManifestRecord back = DecodeCanonicalRecord(bytes).value();
    CHECK(back.kind == r.kind);
    CHECK(back.fields == r.fields);
    CHECK(CanonicalRecord(back) == bytes);

    size_t decoded = 0;
    for (size_t n = 0; n < bytes.size(); ++n) decoded += DecodeCanonicalRecord(bytes.substr(0, n)).has_value();
    CHECK(decoded == 0);
    CHECK(DecodeCanonicalRecord(bytes + "x").error().code() == Code::kDataLoss);
    CHECK(DecodeCanonicalRecord(bytes + std::string(4, '\0')).error().code() == Code::kDataLoss);  // a 7th/8th field
    CHECK(DecodeCanonicalRecord(Flip(bytes, 0)).error().code() == Code::kDataLoss);               // prefix
    std::string other_kind = bytes;
    other_kind[16] = 3;
    CHECK(DecodeCanonicalRecord(other_kind).error().code() == Code::kDataLoss);
  }
  // Well-formed bytes of a record that breaks its rules.
  ManifestRecord bad = RemainsRecord(5);  // unidentified
  bad.fields[1] = "a name";
  CHECK(DecodeCanonicalRecord(CanonicalRecord(bad)).error().code() == Code::kDataLoss);
  bad = RemainsRecord(1);
  bad.fields[2] = "2024-02-30";
  CHECK(DecodeCanonicalRecord(CanonicalRecord(bad)).error().code() == Code::kDataLoss);
}

// --- proof files ------------------------------------------------------------------

std::unique_ptr<Ledger> OpenLedger(PartyIndex self, const std::string& charter) {
  LedgerOptions o;
  o.self = self;
  o.key = test::PartyKey(self);
  return Ledger::Open(NewMemoryStore(), charter, std::move(o)).value();
}

// Another charter between the same parties with the same keys: another ledger.
std::string OtherLedgerCharter() {
  CharterDraft d;
  d.title = "Another exchange between the same parties";
  d.parties[0] = {"UA", "UA", test::PartyKey(kUA).public_key()};
  d.parties[1] = {"RU", "RU", test::PartyKey(kRU).public_key()};
  d.created_ms = test::kT0;
  std::string bytes = NewUnsignedCharter(d).value();
  for (PartyIndex p = 0; p < 2; ++p) bytes = Charter::Parse(bytes).value().Sign(test::PartyKey(p)).value();
  return bytes;
}

// The same parties' codes with other keys.
std::string OtherKeysCharter() {
  const SecretKey a = SecretKey::FromSeed(test::SeedFrom(0x60));
  const SecretKey b = SecretKey::FromSeed(test::SeedFrom(0x80));
  CharterDraft d;
  d.title = "Return of remains and exchange of prisoners, June 2025";
  d.parties[0] = {"UA", "Ukraine Coordination HQ for the Treatment of POWs", a.public_key()};
  d.parties[1] = {"RU", "Russian Federation Ministry of Defence", b.public_key()};
  d.created_ms = test::kT0;
  std::string bytes = NewUnsignedCharter(d).value();
  bytes = Charter::Parse(bytes).value().Sign(a).value();
  return Charter::Parse(bytes).value().Sign(b).value();
}

constexpr size_t kProofRecords = 20;
constexpr size_t kProven = 4;  // identified, with a name and a seal

struct ProofSetup {
  std::vector<ManifestRecord> records = RemainsManifest(kProofRecords);
  std::unique_ptr<ManifestStore> store = OpenMemory(test::PartyKey(kRU));
  v1::ManifestInfo info;
  v1::Terms terms;
  DecodedEntry entry;  // RU's proposal carrying the commitment

  ProofSetup() {
    info = store->Commit(records, kRU).value();
    terms = test::RemainsTerms(kRU, kProofRecords, test::kT0);
    terms.mutable_transfers(0)->mutable_manifest()->set_root(info.root());
    terms.mutable_transfers(0)->mutable_manifest()->set_count(kProofRecords);
    entry = OpenLedger(kRU, test::TestCharter())->Append(test::Propose(terms), test::kT0).value();
  }

  v1::ProveRecordResponse Response(const std::string& envelope) const {
    const auto p = store->Prove(RootOf(info), "BODY-" + Num(kProven)).value();
    v1::ProveRecordResponse r;
    r.set_kind(v1::MANIFEST_REMAINS);
    r.set_record(p.record);
    r.set_salt(p.salt.str());
    r.set_index(p.proof.index);
    r.set_count(p.proof.leaf_count);
    for (const Digest& d : p.proof.path) r.add_path(d.str());
    r.set_entry(envelope);
    r.set_signed_charter(test::TestCharter());
    return r;
  }
  std::string File(const std::string& envelope) const { return MakeProofFile(Response(envelope)).value(); }
  std::string File() const { return File(entry.envelope); }
};

ProofVerdict VerifyFile(const std::string& file, const std::string& charter = test::TestCharter()) {
  auto v = VerifyProofFile(file, charter);
  REQUIRE_MESSAGE(v.has_value(), v.status().ToString());
  return std::move(v).value();
}

std::string Edit(const std::string& file, const std::function<void(nlohmann::ordered_json&)>& change) {
  auto j = nlohmann::ordered_json::parse(file);
  change(j);
  return j.dump(2);
}

std::string FlipHex(std::string hex) {
  hex.at(0) = hex.at(0) == '0' ? '1' : '0';
  return hex;
}

TEST_CASE("a proof file of one record verifies against the charter and names the root, and holds no other record") {
  const ProofSetup s;
  const std::string file = s.File();
  const ProofVerdict v = VerifyFile(file);
  CHECK_MESSAGE(v.valid, v.explanation);
  CHECK(v.explanation.find(ToHex(s.info.root())) != std::string::npos);
  CHECK(v.explanation.find("RU") != std::string::npos);
  REQUIRE(v.record.has_value());
  CHECK(v.record->fields == RemainsRecord(kProven).fields);
  CHECK(file.find("Петренко Іван " + Num(kProven)) != std::string::npos);

  for (size_t i = 0; i < kProofRecords; ++i) {
    if (i == kProven) continue;
    CAPTURE(i);
    CHECK(file.find("BODY-" + Num(i)) == std::string::npos);
    CHECK(file.find("SEAL-" + Num(i)) == std::string::npos);
    CHECK(file.find("Петренко Іван " + Num(i)) == std::string::npos);
  }

  // Without a trusted charter the one inside the file is used, and the
  // verdict says so.
  const ProofVerdict own = VerifyFile(file, "");
  CHECK(own.valid);
  CHECK(own.explanation.find("inside the proof file") != std::string::npos);
}

TEST_CASE("a proof file is invalid (not an error) when its record, salt, path, index or count is changed") {
  const ProofSetup s;
  const std::string file = s.File();
  REQUIRE(VerifyFile(file).valid);
  std::string bad;
  SUBCASE("a changed name") {
    bad = Edit(file, [](auto& j) { j["record"]["name"] = "Петренко Іван 000006"; });
  }
  SUBCASE("a changed seal") { bad = Edit(file, [](auto& j) { j["record"]["seal"] = "SEAL-000099"; }); }
  SUBCASE("a changed salt") {
    bad = Edit(file, [](auto& j) { j["salt"] = FlipHex(j["salt"].template get<std::string>()); });
  }
  SUBCASE("a changed path entry") {
    bad = Edit(file, [](auto& j) { j["path"][1] = FlipHex(j["path"][1].template get<std::string>()); });
  }
  SUBCASE("a path entry dropped") { bad = Edit(file, [](auto& j) { j["path"].erase(0); }); }
  SUBCASE("a changed index") { bad = Edit(file, [](auto& j) { j["index"] = kProven + 1; }); }
  SUBCASE("a changed count") { bad = Edit(file, [](auto& j) { j["count"] = kProofRecords + 1; }); }
  SUBCASE("a record that breaks its rules") {
    bad = Edit(file, [](auto& j) { j["record"]["recovered_on"] = "2024-13-01"; });
  }
  const ProofVerdict v = VerifyFile(bad);
  CHECK_FALSE(v.valid);
  CHECK_FALSE(v.explanation.empty());
}

TEST_CASE("a proof file is invalid when its entry is forged, of another ledger, or checked against other keys") {
  const ProofSetup s;
  SUBCASE("RU's entry signed with UA's key") {
    const std::string forged = SignEntry(test::PartyKey(kUA), s.entry.entry).envelope;
    const ProofVerdict v = VerifyFile(s.File(forged));
    CHECK_FALSE(v.valid);
    CHECK(v.explanation.find("signature") != std::string::npos);
  }
  SUBCASE("an entry with an altered signature byte") {
    v1::SignedEntry se;
    REQUIRE(se.ParseFromString(s.entry.envelope));
    se.set_signature(Flip(se.signature(), 3));
    CHECK_FALSE(VerifyFile(s.File(se.SerializeAsString())).valid);
  }
  SUBCASE("an entry carrying another root") {
    v1::Terms terms = s.terms;
    terms.mutable_transfers(0)->mutable_manifest()->set_root(std::string(32, 'r'));
    const auto other = OpenLedger(kRU, test::TestCharter())->Append(test::Propose(terms), test::kT0).value();
    CHECK_FALSE(VerifyFile(s.File(other.envelope)).valid);
  }
  SUBCASE("an entry carrying no commitment") {
    const auto other = OpenLedger(kRU, test::TestCharter())->Append(test::Say("no manifest"), test::kT0).value();
    CHECK_FALSE(VerifyFile(s.File(other.envelope)).valid);
  }
  SUBCASE("an entry of another ledger between the same parties and keys") {
    const auto other = OpenLedger(kRU, OtherLedgerCharter())->Append(test::Propose(s.terms), test::kT0).value();
    const ProofVerdict v = VerifyFile(s.File(other.envelope));
    CHECK_FALSE(v.valid);
    CHECK(v.explanation.find("ledger") != std::string::npos);
  }
  SUBCASE("checked against a charter with other keys") {
    CHECK_FALSE(VerifyFile(s.File(), OtherKeysCharter()).valid);
  }
  SUBCASE("checked against the charter of another ledger") {
    CHECK_FALSE(VerifyFile(s.File(), OtherLedgerCharter()).valid);
  }
}

// An entry of RU after `prev`, with `body`, signed by `key`.
DecodedEntry RuEntryAfter(const DecodedEntry& prev, uint64_t seq, v1::Entry body, const SecretKey& key) {
  v1::Entry e = prev.entry;
  e.clear_propose();
  e.MergeFrom(body);
  e.set_seq(seq);
  e.set_prev(prev.id.str());
  e.set_time_ms(prev.time_ms() + 1000 * static_cast<int64_t>(seq));
  return SignEntry(key, e);
}

TEST_CASE("a proof file follows the signer's key chain and refuses an entry signed with a key declared compromised") {
  const ProofSetup s;
  const SecretKey k1 = SecretKey::FromSeed(test::SeedFrom(0x61));
  const auto rotation = [&](uint64_t compromised_from) {
    return RuEntryAfter(s.entry, 2, RotateKeyBody(test::TheCharter(), kRU, k1, compromised_from), test::PartyKey(kRU));
  };
  const auto with_chain = [&](const std::string& envelope, const std::vector<DecodedEntry>& chain) {
    v1::ProveRecordResponse r = s.Response(envelope);
    for (const DecodedEntry& c : chain) r.add_key_chain(c.envelope);
    return MakeProofFile(r).value();
  };
  SUBCASE("a routine rotation after the entry: valid with the charter key") {
    const ProofVerdict v = VerifyFile(with_chain(s.entry.envelope, {rotation(0)}));
    CHECK_MESSAGE(v.valid, v.explanation);
    CHECK(v.explanation.find("with its charter key") != std::string::npos);
  }
  SUBCASE("an entry after the rotation, signed with the new key: valid") {
    const DecodedEntry later = RuEntryAfter(rotation(0), 3, test::Propose(s.terms), k1);
    const ProofVerdict v = VerifyFile(with_chain(later.envelope, {rotation(0)}));
    CHECK_MESSAGE(v.valid, v.explanation);
    CHECK(v.explanation.find("after rotation 1") != std::string::npos);
  }
  SUBCASE("the rotation declares the entry's seq compromised: invalid") {
    const ProofVerdict v = VerifyFile(with_chain(s.entry.envelope, {rotation(1)}));
    CHECK_FALSE(v.valid);
    CHECK(v.explanation.find("compromised") != std::string::npos);
  }
  SUBCASE("a thief's entry after the rotation, signed with the compromised old key: invalid") {
    const DecodedEntry forged = RuEntryAfter(rotation(1), 5, test::Propose(s.terms), test::PartyKey(kRU));
    const ProofVerdict v = VerifyFile(with_chain(forged.envelope, {rotation(1)}));
    CHECK_FALSE(v.valid);
    CHECK(v.explanation.find("not declared compromised") != std::string::npos);
  }
  SUBCASE("a chain entry not signed by the key before it: invalid") {
    const DecodedEntry bad = RuEntryAfter(s.entry, 2, RotateKeyBody(test::TheCharter(), kRU, k1, 0), k1);
    CHECK_FALSE(VerifyFile(with_chain(s.entry.envelope, {bad})).valid);
  }
}

// ProveRecord (operator service) falls back to an entry of the other party
// when the author signed none; the proof then rests on that party's signature
// and the verdict names it.
TEST_CASE("a proof whose commitment only UA signed verifies and names UA, not RU, as the signer") {
  const ProofSetup s;
  const auto ua = OpenLedger(kUA, test::TestCharter())->Append(test::Propose(s.terms), test::kT0).value();
  const ProofVerdict v = VerifyFile(s.File(ua.envelope));
  CHECK(v.valid);
  CHECK(v.explanation.find("signed by UA") != std::string::npos);
  CHECK(v.explanation.find("signed by RU") == std::string::npos);
}

TEST_CASE("an unusable proof file is an error: not JSON, a missing field, a mistyped field, an unparseable charter") {
  const ProofSetup s;
  const std::string file = s.File();
  std::vector<std::string> bad = {
      "",
      "not json",
      "[1,2,3]",
      file.substr(0, file.size() / 2),
      Edit(file, [](auto& j) { j.erase("salt"); }),
      Edit(file, [](auto& j) { j.erase("path"); }),
      Edit(file, [](auto& j) { j.erase("record"); }),
      Edit(file, [](auto& j) { j.erase("entry"); }),
      Edit(file, [](auto& j) { j.erase("index"); }),
      Edit(file, [](auto& j) { j.erase("format"); }),
      Edit(file, [](auto& j) { j["record"].erase("seal"); }),
      Edit(file, [](auto& j) { j["record"]["extra"] = "x"; }),
      Edit(file, [](auto& j) { j["index"] = "5"; }),
      Edit(file, [](auto& j) { j["index"] = -1; }),
      Edit(file, [](auto& j) { j["salt"] = "zz"; }),
      Edit(file, [](auto& j) { j["path"][0] = 7; }),
      Edit(file, [](auto& j) { j["kind"] = "cargo"; }),
      Edit(file, [](auto& j) { j["format"] = "parley-manifest-proof/v2"; }),
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    CAPTURE(i);
    auto v = VerifyProofFile(bad[i], test::TestCharter());
    REQUIRE_FALSE(v.has_value());
    CHECK(v.error().code() == Code::kInvalidArgument);
  }
  auto v = VerifyProofFile(file, "not a charter");
  REQUIRE_FALSE(v.has_value());
  CHECK(v.error().code() == Code::kInvalidArgument);
  // Without a trusted charter, the file's own must parse.
  CHECK(VerifyProofFile(Edit(file, [](auto& j) { j["charter"] = "00"; }), "").error().code() ==
        Code::kInvalidArgument);
}

TEST_CASE("MakeProofFile refuses record bytes that do not decode") {
  const ProofSetup s;
  v1::ProveRecordResponse r = s.Response(s.entry.envelope);
  r.set_record(r.record().substr(0, r.record().size() - 1));
  CHECK(MakeProofFile(r).error().code() == Code::kDataLoss);
}

// The store's rows moved from operator.proto to manifest.proto: the bytes on
// disk (the `m` row) and on the operator socket stay what they were. Expected
// bytes written by hand from the field numbers (PROTOCOL.md §8.7).
TEST_CASE("the manifest store's rows keep their bytes: ManifestInfo and SavedReconciliation") {
  v1::ManifestInfo info;
  info.set_root(std::string(32, '\x11'));
  info.set_count(300);
  info.set_kind(v1::MANIFEST_PRISONERS);
  info.set_author(1);
  info.set_stored_ms(5);
  info.set_erased(2);
  CHECK(ToHex(info.SerializeAsString()) ==
        "0a20" + std::string(64, '1') + "10ac02" "1802" "2001" "2805" "3002");
  v1::SavedReconciliation saved;
  saved.set_arrivals_digest("d");
  v1::ReconciliationLine* line = saved.add_lines();
  line->set_outcome("m");
  line->set_arrival_id("a");
  line->set_record_id("r");
  saved.set_receipt("x");
  CHECK(ToHex(saved.SerializeAsString()) == "0a0164" "1209" "0a016d" "120161" "1a0172" "1a0178");
  // The operator API carries them as the same messages.
  v1::ListManifestsResponse list;
  *list.add_manifests() = info;
  CHECK(list.manifests(0).SerializeAsString() == info.SerializeAsString());
}

}  // namespace
}  // namespace parley
