#include "node/manifest/manifest_store.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <system_error>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "crypto/hash.h"
#include "node/base/clock.h"
#include "crypto/endian.h"

namespace parley {
namespace {

constexpr std::string_view kWrapPurpose = "parley/manifest-store/v1";
constexpr size_t kWrappedKeySize = 24 + 16 + SymmetricKey::kSize;  // nonce || box(record key)
constexpr size_t kRandomPerRecord = Salt::kSize + SymmetricKey::kSize + 24;  // salt, record key, wrap nonce
constexpr size_t kBoxOverhead = 24 + 16;  // nonce || MAC of Encrypt
const std::string kZeroNonce(24, '\0');  // record keys encrypt exactly one value

// Calls fn(begin, end) over [0, n): for a large n in two halves, the second
// on a helper thread: hashing the leaves and encrypting the rows are most of
// a big Commit's CPU outside LevelDB.
// The halves touch disjoint elements; fn must not throw.
template <typename Fn>
void ForHalves(size_t n, const Fn& fn) {
  constexpr size_t kParallelFrom = 4096;
  if (n < kParallelFrom) {
    fn(size_t{0}, n);
    return;
  }
  const size_t mid = n / 2;
  std::optional<std::thread> helper;
  try {
    helper.emplace([&fn, mid, n] { fn(mid, n); });
  } catch (const std::system_error&) {  // no thread to be had: do it here
    fn(mid, n);
  }
  fn(size_t{0}, mid);
  if (helper) helper->join();
}

std::string Be64(uint64_t v) {
  std::string out;
  AppendBigEndian64(out, v);
  return out;
}

std::string WrapKey(const PublicKey& k) { return "w" + std::string(k.view()); }
std::string InfoKey(const Digest& root) { return "m" + root.str(); }
std::string LeavesKey(const Digest& root) { return "l" + root.str(); }
std::string RecordKey(const Digest& root, uint64_t index) { return "d" + root.str() + Be64(index); }
std::string ReconciliationKey(const Digest& root, const Digest& receipt) {
  return "a" + root.str() + receipt.str();
}

v1::ManifestKind ToProto(ManifestKind k) {
  return k == ManifestKind::kRemains ? v1::MANIFEST_REMAINS : v1::MANIFEST_PRISONERS;
}

// The least key above every key that starts with `prefix` (none is all 0xff
// here: every prefix begins with a row letter).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  PARLEY_CHECK(!prefix.empty());
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

Status Corrupt(const std::string& what) {
  return Status(Code::kDataLoss, "manifest store: " + what);
}

std::string IndexRowKey(const Digest& root) { return "i" + root.str(); }

// The record-id index row: entries of digest(16) || index(8), sorted.
constexpr size_t kIdDigestSize = 16;
constexpr size_t kIndexEntrySize = kIdDigestSize + 8;

std::string PackIndex(std::vector<std::pair<std::string, uint64_t>> entries) {
  std::sort(entries.begin(), entries.end());
  std::string packed;
  packed.reserve(entries.size() * kIndexEntrySize);
  for (const auto& [digest, index] : entries) {
    packed += digest;
    packed += Be64(index);
  }
  return packed;
}

// Offsets (in entries) of the entries with `digest`: almost always none or
// one; two ids of one manifest sharing a 128-bit keyed digest stay correct.
std::pair<size_t, size_t> IndexRange(std::string_view packed, std::string_view digest) {
  const size_t n = packed.size() / kIndexEntrySize;
  const auto at = [&](size_t i) { return packed.substr(i * kIndexEntrySize, kIdDigestSize); };
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (at(mid) < digest) lo = mid + 1;
    else hi = mid;
  }
  size_t end = lo;
  while (end < n && at(end) == digest) ++end;
  return {lo, end};
}

uint64_t IndexAt(std::string_view packed, size_t entry) {
  return ReadBigEndian64(packed.substr(entry * kIndexEntrySize + kIdDigestSize, 8));
}


}  // namespace


Result<std::unique_ptr<ManifestStore>> ManifestStore::Open(std::unique_ptr<parley::Store> store,
                                                           const SecretKey& key) {
  const SymmetricKey wrap = DeriveKey(key, kWrapPurpose);
  auto wrapped = store->Get(WrapKey(key.public_key()));
  if (!wrapped) return wrapped.error();
  if (*wrapped) {
    auto master = Decrypt(wrap, **wrapped);
    if (!master) return Corrupt("the master key does not open under this node's key");
    auto k = SymmetricKey::FromBytes(*master);
    Wipe(*master);
    if (!k) return Corrupt("the master key has the wrong size");
    return std::unique_ptr<ManifestStore>(new ManifestStore(std::move(store), std::move(*k)));
  }
  bool any = false;
  if (Status s = store->Scan("", std::string(1, '\xff'), [&](std::string_view, std::string_view) {
        any = true;
        return false;
      });
      !s.ok()) {
    return s;
  }
  if (any) {
    return Status(Code::kPermissionDenied,
                  "the manifest store was created under another signing key and holds no master key for this "
                  "one; start the node with the key it last ran with");
  }
  SymmetricKey master;
  WriteBatch batch;
  batch.Put(WrapKey(key.public_key()), Encrypt(wrap, master.view()));
  if (Status s = store->Write(batch, true); !s.ok()) return s;
  return std::unique_ptr<ManifestStore>(new ManifestStore(std::move(store), std::move(master)));
}

Status ManifestStore::AddKey(const SecretKey& key) {
  WriteBatch batch;
  batch.Put(WrapKey(key.public_key()), Encrypt(DeriveKey(key, kWrapPurpose), master_.view()));
  return store_->Write(batch, true);
}

Result<v1::ManifestInfo> ManifestStore::Commit(std::vector<ManifestRecord> records, PartyIndex author) {
  PARLEY_CHECK(!records.empty());
  const ManifestKind kind = records[0].kind;
  std::string random(records.size() * kRandomPerRecord, '\0');
  std::vector<Slot> slots(records.size());
  ForHalves(records.size(), [&](size_t begin, size_t end) {
    RandomBytes({reinterpret_cast<uint8_t*>(random.data()) + begin * kRandomPerRecord,
                 (end - begin) * kRandomPerRecord});
    for (size_t i = begin; i < end; ++i) {
      PARLEY_CHECK(records[i].kind == kind);
      Slot& s = slots[i];
      s.salt = *Salt::FromBytes(std::string_view(random).substr(i * kRandomPerRecord, Salt::kSize));
      s.record = CanonicalRecord(records[i]);
      s.id = records[i].id();
      s.leaf = MerkleLeaf(s.salt, s.record);
    }
  });
  auto info = Put(kind, author, slots, random);
  Wipe(random);  // the record keys
  return info;
}

Result<v1::ManifestInfo> ManifestStore::Put(ManifestKind kind, PartyIndex author, const std::vector<Slot>& slots,
                                            std::string_view random) {
  std::vector<Digest> leaves;
  leaves.reserve(slots.size());
  for (const Slot& s : slots) leaves.push_back(s.leaf);
  const Digest root = MerkleRoot(leaves);

  std::lock_guard lock(write_mu_);
  if (auto held = Find(root); !held || *held) {
    if (!held) return held.error();
    return **held;
  }
  // Row i: box(master, record key i) || box(record key i, salt || record),
  // the record key and the wrap nonce taken from `random`; none for an
  // erased record.
  std::vector<std::string> rows(slots.size());
  std::vector<std::pair<std::string, uint64_t>> index(slots.size());
  ForHalves(slots.size(), [&](size_t begin, size_t end) {
    std::string plain;
    for (size_t i = begin; i < end; ++i) {
      const Slot& s = slots[i];
      if (s.record.empty()) continue;
      index[i] = {IdDigest(root, s.id), i};
      const std::string_view r = random.substr(i * kRandomPerRecord, kRandomPerRecord);
      auto record_key = SymmetricKey::FromBytes(r.substr(Salt::kSize, SymmetricKey::kSize));
      plain.assign(s.salt.view());
      plain.append(s.record);
      std::string& row = rows[i];
      row.reserve(kWrappedKeySize + kBoxOverhead + plain.size());
      row.append(Encrypt(master_, record_key->view(), r.substr(Salt::kSize + SymmetricKey::kSize)));
      row.append(Encrypt(*record_key, plain, kZeroNonce));
      Wipe(plain);
    }
  });
  WriteBatch batch;
  std::string all;
  all.reserve(leaves.size() * Digest::kSize);
  uint64_t erased = 0;
  for (size_t i = 0; i < slots.size(); ++i) {
    all.append(leaves[i].view());
    if (slots[i].record.empty()) {
      ++erased;
      continue;
    }
    batch.Put(RecordKey(root, i), std::move(rows[i]));
  }
  // Erased slots (an import) have no entry.
  index.erase(std::remove_if(index.begin(), index.end(), [](const auto& e) { return e.first.empty(); }), index.end());
  batch.Put(IndexRowKey(root), PackIndex(std::move(index)));
  v1::ManifestInfo info;
  info.set_root(root.str());
  info.set_count(slots.size());
  info.set_kind(ToProto(kind));
  info.set_author(author);
  info.set_stored_ms(NowMs());
  info.set_erased(erased);
  batch.Put(LeavesKey(root), std::move(all));
  batch.Put(InfoKey(root), info.SerializeAsString());
  if (Status s = store_->Write(batch, true); !s.ok()) return s;
  return info;
}

Result<v1::ManifestInfo> ManifestStore::Import(const v1::ManifestData& data, const Digest& ledger_id) {
  const auto bad = [](const std::string& why) { return Status(Code::kDataLoss, "shared manifest: " + why); };
  if (data.ledger_id() != ledger_id.view()) return bad("it is for another ledger");
  if (data.kind() != v1::MANIFEST_REMAINS && data.kind() != v1::MANIFEST_PRISONERS) return bad("unknown kind");
  if (data.author() > 1) return bad("author is not a party index");
  if (data.count() == 0 || data.count() > kMaxManifestRows ||
      data.count() != static_cast<uint64_t>(data.leaves_size())) {
    return bad("count " + std::to_string(data.count()) + " but " + std::to_string(data.leaves_size()) + " leaves");
  }
  auto root = Digest::FromBytes(data.root());
  if (!root) return bad("root must be 32 bytes");
  const ManifestKind kind = data.kind() == v1::MANIFEST_REMAINS ? ManifestKind::kRemains : ManifestKind::kPrisoners;
  std::vector<Slot> slots(data.leaves_size());
  std::unordered_set<std::string> ids;
  for (int i = 0; i < data.leaves_size(); ++i) {
    const v1::ManifestLeaf& l = data.leaves(i);
    Slot& s = slots[i];
    const std::string where = "leaf " + std::to_string(i) + ": ";
    if (l.record().empty()) {
      auto leaf = Digest::FromBytes(l.leaf());
      if (!leaf || !l.salt().empty()) return bad(where + "an erased record carries its 32-byte leaf and no salt");
      s.leaf = *leaf;
      continue;
    }
    auto salt = Salt::FromBytes(l.salt());
    if (!salt || !l.leaf().empty()) return bad(where + "a record carries a 32-byte salt and no leaf");
    auto record = DecodeCanonicalRecord(l.record());
    if (!record) return bad(where + record.error().message());
    if (record->kind != kind) return bad(where + "a record of another kind");
    if (!ids.insert(record->id()).second) return bad(where + "a record id seen on an earlier leaf");
    s.salt = *salt;
    s.record = l.record();
    s.id = record->id();
    s.leaf = MerkleLeaf(s.salt, s.record);
  }
  std::vector<Digest> leaves;
  for (const Slot& s : slots) leaves.push_back(s.leaf);
  if (MerkleRoot(leaves) != *root) return bad("its leaves do not give its root");
  std::string random(slots.size() * kRandomPerRecord, '\0');
  RandomBytes({reinterpret_cast<uint8_t*>(random.data()), random.size()});
  auto info = Put(kind, data.author(), slots, random);
  Wipe(random);  // the record keys
  return info;
}

Result<std::optional<v1::ManifestInfo>> ManifestStore::Find(const Digest& root) const {
  auto v = store_->Get(InfoKey(root));
  if (!v) return v.error();
  if (!*v) return std::optional<v1::ManifestInfo>();
  v1::ManifestInfo info;
  if (!info.ParseFromString(**v)) return Corrupt("unreadable manifest header");
  return std::optional<v1::ManifestInfo>(std::move(info));
}

Result<std::vector<v1::ManifestInfo>> ManifestStore::List() const {
  std::vector<v1::ManifestInfo> out;
  bool ok = true;
  Status s = store_->Scan("m", "n", [&](std::string_view, std::string_view v) {
    v1::ManifestInfo info;
    ok = info.ParseFromString(std::string(v));
    if (ok) out.push_back(std::move(info));
    return ok;
  });
  if (!s.ok()) return s;
  if (!ok) return Corrupt("unreadable manifest header");
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.stored_ms() < b.stored_ms(); });
  return out;
}

Result<std::vector<Digest>> ManifestStore::Leaves(const Digest& root, uint64_t count) const {
  auto v = store_->Get(LeavesKey(root));
  if (!v) return v.error();
  if (!*v || (*v)->size() != count * Digest::kSize) return Corrupt("the leaves row is missing or has the wrong size");
  std::vector<Digest> leaves(count);
  for (uint64_t i = 0; i < count; ++i) {
    leaves[i] = *Digest::FromBytes(std::string_view(**v).substr(i * Digest::kSize, Digest::kSize));
  }
  return leaves;
}

Result<std::optional<std::pair<Salt, std::string>>> ManifestStore::ReadRecord(const Digest& root,
                                                                              uint64_t index) const {
  using Out = std::optional<std::pair<Salt, std::string>>;
  auto v = store_->Get(RecordKey(root, index));
  if (!v) return v.error();
  if (!*v) return Out();
  const std::string_view row = **v;
  if (row.size() < kWrappedKeySize) return Corrupt("a record row is too short");
  auto key_bytes = Decrypt(master_, row.substr(0, kWrappedKeySize));
  if (!key_bytes) return Corrupt("a record key does not open under the master key");
  auto record_key = SymmetricKey::FromBytes(*key_bytes);
  Wipe(*key_bytes);
  if (!record_key) return Corrupt("a record key has the wrong size");
  auto plain = Decrypt(*record_key, row.substr(kWrappedKeySize));
  if (!plain || plain->size() < Salt::kSize) return Corrupt("a record does not open under its key");
  Salt salt = *Salt::FromBytes(std::string_view(*plain).substr(0, Salt::kSize));
  Out out(std::pair(salt, plain->substr(Salt::kSize)));
  Wipe(*plain);
  return out;
}

std::string ManifestStore::IdDigest(const Digest& root, std::string_view record_id) const {
  std::string keyed(master_.view());
  keyed.append(root.view());
  keyed.append(record_id);
  const Digest d = Hash("parley/record-index/v1", keyed);
  Wipe(keyed);
  return std::string(d.view().substr(0, kIdDigestSize));
}

Result<std::string> ManifestStore::LoadIndex(const Digest& root) const {
  auto v = store_->Get(IndexRowKey(root));
  if (!v) return v.error();
  if (!*v) return Corrupt("a manifest held here has no record index row");
  if ((*v)->size() % kIndexEntrySize != 0) return Corrupt("the record index row has the wrong size");
  return std::move(**v);
}

Result<std::optional<ManifestStore::Found>> ManifestStore::FindRecord(const Digest& root, uint64_t count,
                                                                      std::string_view record_id) const {
  auto packed = LoadIndex(root);
  if (!packed) return packed.error();
  const auto [begin, end] = IndexRange(*packed, IdDigest(root, record_id));
  for (size_t e = begin; e < end; ++e) {
    const uint64_t index = IndexAt(*packed, e);
    if (index >= count) return Corrupt("the record index points past the manifest");
    auto rec = ReadRecord(root, index);
    if (!rec) return rec.error();
    if (!*rec) continue;  // erased since the index row was read
    auto decoded = DecodeCanonicalRecord((*rec)->second);
    if (!decoded) return Corrupt("a stored record does not decode");
    if (decoded->id() == record_id) return std::optional<Found>(Found{index, (*rec)->first, std::move((*rec)->second)});
    Wipe((*rec)->second);
  }
  return std::optional<Found>();
}

Result<v1::ManifestData> ManifestStore::Export(const Digest& root, const Digest& ledger_id) const {
  auto info = Held(root);
  if (!info) return info.error();
  auto leaves = Leaves(root, info->count());
  if (!leaves) return leaves.error();
  v1::ManifestData data;
  data.set_ledger_id(ledger_id.str());
  data.set_author(info->author());
  data.set_kind(info->kind());
  data.set_root(root.str());
  data.set_count(info->count());
  for (uint64_t i = 0; i < info->count(); ++i) {
    auto rec = ReadRecord(root, i);
    if (!rec) return rec.error();
    v1::ManifestLeaf* l = data.add_leaves();
    if (*rec) {
      l->set_salt((*rec)->first.str());
      l->set_record((*rec)->second);
    } else {
      l->set_leaf((*leaves)[i].str());
    }
  }
  return data;
}

Result<std::vector<ManifestStore::RecordProof>> ManifestStore::ProveAll(const Digest& root) const {
  auto info = Held(root);
  if (!info) return info.error();
  auto leaves = Leaves(root, info->count());
  if (!leaves) return leaves.error();
  const MerkleTree tree(std::move(*leaves));
  if (tree.root() != root) return Corrupt("the stored leaves do not give the manifest's root");
  std::vector<RecordProof> out;
  out.reserve(tree.size());
  for (uint64_t i = 0; i < tree.size(); ++i) {
    auto rec = ReadRecord(root, i);
    if (!rec) return rec.error();
    if (!*rec) continue;
    out.push_back({*info, std::move((*rec)->second), (*rec)->first, tree.Prove(i)});
  }
  return out;
}

Result<v1::ManifestInfo> ManifestStore::Held(const Digest& root) const {
  auto info = Find(root);
  if (!info) return info.error();
  if (!*info) return Status(Code::kNotFound, "no manifest with root " + ToHex(root) + " is held here");
  return std::move(**info);
}

Status ManifestStore::ForEachRecord(const Digest& root, uint64_t count, const RecordFn& fn) const {
  for (uint64_t i = 0; i < count; ++i) {
    auto rec = ReadRecord(root, i);
    if (!rec) return rec.error();
    if (!*rec) continue;  // erased
    auto decoded = DecodeCanonicalRecord((*rec)->second);
    if (!decoded) return Corrupt("a stored record does not decode");
    if (!fn(i, (*rec)->first, (*rec)->second, *decoded)) break;
  }
  return Status::Ok();
}

Result<ManifestStore::RecordProof> ManifestStore::Prove(const Digest& root, std::string_view record_id) const {
  auto info = Held(root);
  if (!info) return info.error();
  auto found = FindRecord(root, info->count(), record_id);
  if (!found) return found.error();
  if (!*found) return Status(Code::kNotFound, "the manifest holds no record with that id (never on it, or erased)");
  auto leaves = Leaves(root, info->count());
  if (!leaves) return leaves.error();
  const uint64_t index = (*found)->index;
  return RecordProof{*info, std::move((*found)->record), (*found)->salt, MerkleTree(std::move(*leaves)).Prove(index)};
}

Result<std::vector<std::string>> ManifestStore::RecordIds(const Digest& root) const {
  auto info = Held(root);
  if (!info) return info.error();
  std::vector<std::string> ids;
  Status s = ForEachRecord(root, info->count(), [&](uint64_t, const Salt&, std::string&, const ManifestRecord& r) {
    ids.push_back(r.id());
    return true;
  });
  if (!s.ok()) return s;
  return ids;
}

Result<std::vector<std::string>> ManifestStore::Records(const Digest& root) const {
  auto info = Held(root);
  if (!info) return info.error();
  std::vector<std::string> out;
  Status s = ForEachRecord(root, info->count(), [&](uint64_t, const Salt&, std::string& bytes, const ManifestRecord&) {
    out.push_back(std::move(bytes));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

namespace {

constexpr const char* kOutcomeNames[] = {"matched", "missing", "not_on_manifest", "unidentified", "other_side"};
constexpr char kSavedFormat = 1;  // first byte of a saved reconciliation's plaintext

// A saved reconciliation's plaintext: the format byte (1), the arrival
// list's keyed digest (32), then one line per outcome, "outcome TAB
// arrival_id TAB record_id LF". `receipt` is the row key's tail.
Result<v1::SavedReconciliation> DecodeSavedReconciliation(std::string_view receipt, std::string_view plain) {
  if (plain.size() < 1 + Digest::kSize || plain[0] != kSavedFormat) {
    return Corrupt("a saved reconciliation has an unknown format");
  }
  v1::SavedReconciliation r;
  r.set_receipt(std::string(receipt));
  r.set_arrivals_digest(std::string(plain.substr(1, Digest::kSize)));
  plain.remove_prefix(1 + Digest::kSize);
  while (!plain.empty()) {
    const size_t end = plain.find('\n');
    if (end == std::string_view::npos) return Corrupt("a saved reconciliation ends inside a line");
    const std::string_view line = plain.substr(0, end);
    plain.remove_prefix(end + 1);
    const size_t t1 = line.find('\t');
    const size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos) return Corrupt("a saved reconciliation line has fewer than three fields");
    v1::ReconciliationLine* l = r.add_lines();
    l->set_outcome(std::string(line.substr(0, t1)));
    l->set_arrival_id(std::string(line.substr(t1 + 1, t2 - t1 - 1)));
    l->set_record_id(std::string(line.substr(t2 + 1)));
  }
  return r;
}

std::string EncodeSavedReconciliation(const v1::SavedReconciliation& r) {
  std::string plain(1, kSavedFormat);
  plain += r.arrivals_digest();
  for (const v1::ReconciliationLine& l : r.lines()) {
    plain += l.outcome() + '\t' + l.arrival_id() + '\t' + l.record_id() + '\n';
  }
  return plain;
}

void WipeLines(v1::SavedReconciliation& r) {
  for (v1::ReconciliationLine& l : *r.mutable_lines()) {
    Wipe(*l.mutable_arrival_id());
    Wipe(*l.mutable_record_id());
  }
}


}  // namespace

Status ManifestStore::ScanReconciliations(
    const Digest& root, const std::function<void(std::string_view key, v1::SavedReconciliation&)>& fn) const {
  const std::string from = "a" + root.str();
  Status bad = Status::Ok();
  Status s = store_->Scan(from, PrefixEnd(from), [&](std::string_view key, std::string_view value) {
    auto plain = Decrypt(master_, value);
    if (!plain) {
      bad = Corrupt("a saved reconciliation does not open under the master key");
      return false;
    }
    auto r = DecodeSavedReconciliation(key.substr(from.size()), *plain);
    Wipe(*plain);
    if (!r) {
      bad = r.error();
      return false;
    }
    fn(key, *r);
    WipeLines(*r);
    return true;
  });
  if (!s.ok()) return s;
  return bad;
}

Result<std::vector<v1::SavedReconciliation>> ManifestStore::Reconciliations(const Digest& root) const {
  std::vector<v1::SavedReconciliation> out;
  Status s = ScanReconciliations(root, [&](std::string_view, v1::SavedReconciliation& r) { out.push_back(r); });
  if (!s.ok()) return s;
  return out;
}

Status ManifestStore::SaveReconciliation(const Digest& root, std::string_view arrivals_csv,
                                         const ReconciliationResult& result, const Digest& receipt) {
  std::lock_guard lock(write_mu_);  // not between an erasure's scan and its write
  v1::SavedReconciliation saved;
  // Keyed with the master key, so the data folder cannot confirm a guessed list.
  std::string keyed(master_.view());
  keyed.append(arrivals_csv);
  saved.set_arrivals_digest(Hash("parley/arrivals/v1", keyed).str());
  Wipe(keyed);
  auto index = LoadIndex(root);
  if (!index) return index.error();
  for (const ReconciliationLine& l : result.detail) {
    v1::ReconciliationLine* line = saved.add_lines();
    line->set_outcome(kOutcomeNames[static_cast<int>(l.outcome)]);
    line->set_arrival_id(l.arrival_id);
    // A manifest record erased since the list was reconciled is not named.
    const bool on_manifest = l.outcome == ReconciliationLine::Outcome::kMatched ||
                             l.outcome == ReconciliationLine::Outcome::kMissing;
    if (on_manifest && !l.record_id.empty()) {
      const auto [begin, end] = IndexRange(*index, IdDigest(root, l.record_id));
      if (begin == end) continue;  // record_id stays empty
    }
    line->set_record_id(l.record_id);
  }
  std::string plain = EncodeSavedReconciliation(saved);
  WipeLines(saved);
  WriteBatch batch;
  batch.Put(ReconciliationKey(root, receipt), Encrypt(master_, plain));
  Wipe(plain);
  return store_->Write(batch, true);
}

Status ManifestStore::Erase(const Digest& root, std::string_view record_id) {
  std::lock_guard lock(write_mu_);
  auto info = Held(root);
  if (!info) return info.error();
  auto found = FindRecord(root, info->count(), record_id);
  if (!found) return found.error();
  if (!*found) {
    return Status(Code::kNotFound, "the manifest holds no record with that id (never on it, or already erased)");
  }
  const uint64_t index = (*found)->index;
  Wipe((*found)->record);
  auto packed = LoadIndex(root);
  if (!packed) return packed.error();
  std::string rest;  // the index without the erased record's entry
  rest.reserve(packed->size());
  for (size_t e = 0; e < packed->size() / kIndexEntrySize; ++e) {
    if (IndexAt(*packed, e) != index) rest.append(std::string_view(*packed).substr(e * kIndexEntrySize, kIndexEntrySize));
  }
  info->set_erased(info->erased() + 1);
  WriteBatch batch;
  batch.Delete(RecordKey(root, index));
  batch.Put(IndexRowKey(root), std::move(rest));
  batch.Put(InfoKey(root), info->SerializeAsString());
  // Saved reconciliations that name the record keep the line, without the id.
  Status s = ScanReconciliations(root, [&](std::string_view key, v1::SavedReconciliation& r) {
    bool named = false;
    for (v1::ReconciliationLine& l : *r.mutable_lines()) {
      if (l.record_id() == record_id && (l.outcome() == "matched" || l.outcome() == "missing")) {
        Wipe(*l.mutable_record_id());
        l.clear_record_id();
        named = true;
      }
    }
    if (!named) return;
    std::string plain = EncodeSavedReconciliation(r);
    batch.Put(std::string(key), Encrypt(master_, plain));
    Wipe(plain);
  });
  if (!s.ok()) return s;
  if (Status w = store_->Write(batch, true); !w.ok()) return w;
  return store_->Compact();
}

}  // namespace parley

namespace parley {

Status ManifestStore::RowCheck::Add(std::string_view key, std::string_view value) {
  const auto bad = [&](const std::string& what) {
    return Status(Code::kDataLoss, "manifest store row " + (key.empty() ? std::string("(empty key)") : std::string(1, key[0])) +
                                       (key.size() > 1 ? ToHex(key.substr(1, 8)) + "…" : "") + ": " + what);
  };
  if (key.empty()) return bad("empty key");
  const size_t n = key.size();
  switch (key[0]) {
    case 'w':
      if (n != 1 + PublicKey::kSize) return bad("wrong key length");
      return Status::Ok();
    case 'm': {
      if (n != 1 + Digest::kSize) return bad("wrong key length");
      v1::ManifestInfo info;
      if (!info.ParseFromArray(value.data(), static_cast<int>(value.size())) || info.root() != key.substr(1) ||
          info.count() == 0) {
        return bad("the manifest header does not parse or names another root");
      }
      infos_[std::string(key.substr(1))] = info.count();
      return Status::Ok();
    }
    case 'l': {
      if (n != 1 + Digest::kSize) return bad("wrong key length");
      if (value.empty() || value.size() % Digest::kSize != 0) return bad("the leaves are not whole digests");
      std::vector<Digest> leaves;
      leaves.reserve(value.size() / Digest::kSize);
      for (size_t off = 0; off < value.size(); off += Digest::kSize) {
        leaves.push_back(*Digest::FromBytes(value.substr(off, Digest::kSize)));
      }
      if (MerkleRoot(leaves) != *Digest::FromBytes(key.substr(1))) return bad("its leaves do not give its root");
      leaves_[std::string(key.substr(1))] = leaves.size();
      return Status::Ok();
    }
    case 'd':
      if (n != 1 + Digest::kSize + 8) return bad("wrong key length");
      return Status::Ok();
    case 'i':
      if (n != 1 + Digest::kSize) return bad("wrong key length");
      if (value.size() % 24 != 0) return bad("the index is not whole entries");
      return Status::Ok();
    case 'a':
      if (n != 1 + 2 * Digest::kSize) return bad("wrong key length");
      return Status::Ok();
    default: return bad("unknown row kind");
  }
}

Status ManifestStore::RowCheck::Finish() const {
  if (infos_.size() != leaves_.size()) {
    return Status(Code::kDataLoss, "manifest store rows: " + std::to_string(infos_.size()) + " manifest headers but " +
                                       std::to_string(leaves_.size()) + " leaf rows");
  }
  for (const auto& [root, count] : infos_) {
    auto it = leaves_.find(root);
    if (it == leaves_.end() || it->second != count) {
      return Status(Code::kDataLoss, "manifest store rows: manifest " + ToHex(root).substr(0, 16) +
                                         "… has no leaf row of its count");
    }
  }
  return Status::Ok();
}

}  // namespace parley
