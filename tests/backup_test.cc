// Backup files (node/daemon/backup.h): a snapshot of a live ledger and
// manifest store restores to the same feeds and manifests, verified entry by
// entry; a damaged, cut-short or foreign file and a non-empty target folder
// are refused with a clear error and change nothing; signing goes on while a
// backup streams.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "crypto/endian.h"
#include "crypto/hash.h"
#include "fixtures.h"
#include "node/daemon/backup.h"
#include "node/daemon/missing_manifests.h"
#include "node/manifest/manifest_store.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
namespace fs = std::filesystem;

std::unique_ptr<Ledger> OpenUa(const fs::path& data, bool sync = true) {
  LedgerOptions o;
  o.self = kUA;
  o.key = test::PartyKey(kUA);
  o.sync = sync;
  return Ledger::Open(OpenLevelDbStore(data).value(), test::TestCharter(), std::move(o)).value();
}

std::unique_ptr<Ledger> OpenRuInMemory() {
  LedgerOptions o;
  o.self = kRU;
  o.key = test::PartyKey(kRU);
  return Ledger::Open(NewMemoryStore(), test::TestCharter(), std::move(o)).value();
}

std::unique_ptr<ManifestStore> OpenManifests(const fs::path& dir) {
  return ManifestStore::Open(OpenLevelDbStore(dir).value(), test::PartyKey(kUA)).value();
}

v1::ManifestInfo CommitManifest(ManifestStore& store, int records) {
  std::string csv = "tag,name,recovered_on,recovered_at,identification,seal\n";
  for (int i = 0; i < records; ++i) {
    csv += "T-" + std::to_string(i) + ",Name " + std::to_string(i) + ",2025-05-10,Field,identity_disc,S" +
           std::to_string(i) + "\n";
  }
  return store.Commit(ParseManifestCsv(ManifestKind::kRemains, csv).value(), kUA).value();
}

// `rounds` entries on each side, each citing the other feed's newest.
void PlayRounds(Ledger& ua, Ledger& ru, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    auto a = ua.Append(test::Say("UA " + std::to_string(i)), test::kT0 + i);
    REQUIRE(a.has_value());
    REQUIRE(ru.Ingest(a->envelope).has_value());
    auto r = ru.Append(test::Say("RU " + std::to_string(i)), test::kT0 + i);
    REQUIRE(r.has_value());
    REQUIRE(ua.Ingest(r->envelope).has_value());
  }
}

Result<BackupSummary> BackupTo(const Ledger& ledger, const ManifestStore& manifests, const fs::path& file,
                               std::chrono::milliseconds per_chunk = {}) {
  auto ls = ledger.Snapshot();
  if (!ls) return ls.error();
  auto ms = manifests.Snapshot();
  if (!ms) return ms.error();
  std::ofstream out(file, std::ios::binary);
  return WriteBackup(**ls, **ms, kUA, test::kT0, [&](std::string_view bytes) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (per_chunk.count()) std::this_thread::sleep_for(per_chunk);
    return out ? Status::Ok() : Status(Code::kIoError, "write failed");
  });
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void WriteAll(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

// Every name in `dir`, sorted.
std::string Listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) names.push_back(fs::relative(e.path(), dir).string());
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += n + "\n";
  return out;
}

TEST_CASE("StreamHash over pieces is Hash over the whole") {
  const std::string msg = "the quick brown fox jumps over the lazy dog";
  StreamHash h("parley/backup/v1");
  h.Update(msg.substr(0, 7)).Update("").Update(msg.substr(7));
  CHECK(h.Final() == Hash("parley/backup/v1", msg));
  CHECK(StreamHash("a").Final() != StreamHash("b").Final());
}

TEST_CASE("a backup of a live ledger and manifest store restores to the same feeds and manifests") {
  test::TempDir dir;
  auto ua = OpenUa(dir.path() / "ua");
  auto ru = OpenRuInMemory();
  auto manifests = OpenManifests(dir.path() / "ua" / "manifests");
  const v1::ManifestInfo info = CommitManifest(*manifests, 5);
  PlayRounds(*ua, *ru, 20);
  const fs::path file = dir.path() / "ua.backup";
  auto summary = BackupTo(*ua, *manifests, file);
  REQUIRE_MESSAGE(summary.has_value(), summary.error().ToString());
  CHECK(summary->heads[kUA] == 20);
  CHECK(summary->heads[kRU] == 20);
  CHECK(summary->entries == 40);
  CHECK(summary->manifest_rows > 0);
  CHECK(summary->bytes == fs::file_size(file));
  // Signed after the snapshot: not in the backup.
  PlayRounds(*ua, *ru, 1);

  const fs::path restored = dir.path() / "restored";
  auto r = RestoreBackup(file, restored);
  REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  CHECK(r->ledger_id == test::TheCharter().ledger_id());
  CHECK(WasRestored(restored));
  {
    auto copy = Ledger::Open(OpenLevelDbStore(restored).value(), test::TestCharter(), LedgerOptions()).value();
    CHECK_FALSE(copy->damaged().has_value());
    for (PartyIndex p = 0; p < 2; ++p) {
      REQUIRE(copy->Head(p).seq == 20);
      for (uint64_t s = 1; s <= 20; ++s) CHECK(copy->IdAt(p, s).value() == ua->IdAt(p, s).value());
    }
    CHECK(copy->key_schedule()->rotations(kUA).empty());
  }
  auto restored_manifests = OpenManifests(restored / "manifests");
  auto found = restored_manifests->Find(*Digest::FromBytes(info.root()));
  REQUIRE(found.has_value());
  REQUIRE(found->has_value());
  CHECK((*found)->count() == 5);
  CHECK(restored_manifests->Records(*Digest::FromBytes(info.root())).value() ==
        manifests->Records(*Digest::FromBytes(info.root())).value());
  CHECK(ClearRestoredMarker(restored).ok());
  CHECK_FALSE(WasRestored(restored));
}

TEST_CASE("restore refuses a damaged, cut-short or foreign file and a non-empty folder, and changes nothing") {
  test::TempDir dir;
  auto ua = OpenUa(dir.path() / "ua");
  auto ru = OpenRuInMemory();
  auto manifests = OpenManifests(dir.path() / "ua" / "manifests");
  CommitManifest(*manifests, 3);
  PlayRounds(*ua, *ru, 5);
  const fs::path file = dir.path() / "ua.backup";
  REQUIRE(BackupTo(*ua, *manifests, file).has_value());
  const std::string good = ReadAll(file);
  const fs::path target = dir.path() / "target";
  const std::string before = Listing(dir.path());

  const auto refused = [&](const std::string& bytes, const std::string& expect) {
    const fs::path bad = dir.path() / "bad.backup";
    WriteAll(bad, bytes);
    auto r = RestoreBackup(bad, target);
    REQUIRE_FALSE(r.has_value());
    CHECK_MESSAGE(r.error().message().find(expect) != std::string::npos, r.error().message());
    CHECK(r.error().message().find("nothing was restored") != std::string::npos);
    fs::remove(bad);
    CHECK_FALSE(fs::exists(target));
    CHECK(Listing(dir.path()) == before);  // no staging folder left behind
  };
  SUBCASE("a changed byte") {
    std::string bytes = good;
    bytes[bytes.size() / 2] ^= 0x01;
    refused(bytes, "damaged");
  }
  SUBCASE("cut short") { refused(good.substr(0, good.size() / 2), "cut short"); }
  SUBCASE("cut short by its digest's last byte") { refused(good.substr(0, good.size() - 1), "cut short"); }
  SUBCASE("a byte too many") { refused(good + "x", "damaged"); }
  SUBCASE("not a backup") { refused("PARLEYB1 a bundle, say", "not a Parley backup file"); }
  SUBCASE("empty") { refused("", "not a Parley backup file"); }
  SUBCASE("a non-empty folder") {
    fs::create_directories(target);
    WriteAll(target / "something", "keep me");
    auto r = RestoreBackup(file, target);
    REQUIRE_FALSE(r.has_value());
    CHECK_MESSAGE(r.error().message().find("is not empty (it holds something)") != std::string::npos,
                  r.error().message());
    CHECK(Listing(target) == "something\n");
    CHECK(ReadAll(target / "something") == "keep me");
  }
  SUBCASE("an empty folder is fine, named with a trailing slash too") {
    fs::create_directories(target);
    auto r = RestoreBackup(file, target.string() + "/");
    REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
    CHECK(WasRestored(target));
    CHECK(fs::exists(target / "ledger"));
    CHECK(fs::exists(target / "manifests"));
  }
}

TEST_CASE("restore with a manifest folder outside the data folder fills both, or neither") {
  test::TempDir dir;
  auto ua = OpenUa(dir.path() / "ua");
  auto ru = OpenRuInMemory();
  auto manifests = OpenManifests(dir.path() / "ua-manifests");
  const v1::ManifestInfo info = CommitManifest(*manifests, 2);
  PlayRounds(*ua, *ru, 2);
  const fs::path file = dir.path() / "ua.backup";
  REQUIRE(BackupTo(*ua, *manifests, file).has_value());
  const fs::path data = dir.path() / "new" / "data", mdir = dir.path() / "new" / "manifests";
  SUBCASE("both empty") {
    auto r = RestoreBackup(file, data, mdir);
    REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
    CHECK(WasRestored(data));
    CHECK_FALSE(fs::exists(data / "manifests"));
    auto restored = OpenManifests(mdir);
    CHECK(restored->Find(*Digest::FromBytes(info.root())).value().has_value());
  }
  SUBCASE("the manifest folder not empty") {
    fs::create_directories(mdir);
    WriteAll(mdir / "x", "x");
    auto r = RestoreBackup(file, data, mdir);
    REQUIRE_FALSE(r.has_value());
    CHECK_MESSAGE(r.error().message().find("manifest folder") != std::string::npos, r.error().message());
    CHECK_FALSE(fs::exists(data));
    CHECK(Listing(mdir) == "x\n");
  }
}

TEST_CASE("missing manifests: own manifests named by own entries and not held, nothing else") {
  test::TempDir dir;
  LedgerOptions o;
  o.self = kUA;
  o.key = test::PartyKey(kUA);
  auto ua = Ledger::Open(NewMemoryStore(), test::TestCharter(), std::move(o)).value();
  auto manifests = OpenManifests(dir.path() / "m");
  const v1::ManifestInfo held = CommitManifest(*manifests, 2);
  const auto root_of = [](uint8_t b) { return Digest::FromBytes(std::string(32, static_cast<char>(b))).value(); };
  MissingManifests missing(*ua, *manifests);
  CHECK(missing.Check().value().empty());
  // An exchange: UA's transfer names a manifest not held (missing), RU's
  // transfer one that is RU's to hold (not UA's: not named).
  v1::Terms terms = test::ExchangeTerms(2, test::kT0);
  terms.mutable_transfers(0)->mutable_manifest()->set_root(root_of(0xA1).str());
  terms.mutable_transfers(0)->mutable_manifest()->set_count(2);
  terms.mutable_transfers(1)->mutable_manifest()->set_root(root_of(0xB2).str());
  terms.mutable_transfers(1)->mutable_manifest()->set_count(2);
  REQUIRE(ua->Append(test::Propose(terms, v1::PRISONER_EXCHANGE), test::kT0));
  // A disclosure of a held manifest: not missing; of one not held: missing.
  REQUIRE(ua->Append(test::Disclose(*Digest::FromBytes(held.root()), 2, kRU), test::kT0));
  REQUIRE(ua->Append(test::Say("nothing named"), test::kT0));
  REQUIRE(ua->Append(test::Disclose(root_of(0xC3), 7, kRU), test::kT0));
  auto found = missing.Check();
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 2);
  CHECK((*found)[0].root() == root_of(0xA1).str());
  CHECK((*found)[0].seq() == 1);
  CHECK((*found)[1].root() == root_of(0xC3).str());
  CHECK((*found)[1].count() == 7);
  CHECK((*found)[1].seq() == 4);
  CHECK(missing.Check().value().size() == 2);  // the same again, not twice
}

TEST_CASE("restore verifies every entry with the ledger's checks, even in a file whose digest is right") {
  // A snapshot of rows as a node would store them, but RU's third entry has
  // a broken signature: the file is well formed, its digest right.
  test::Scenario sc;
  for (int i = 0; i < 4; ++i) {
    sc.Add(kUA, test::Say("UA " + std::to_string(i)));
    sc.Add(kRU, test::Say("RU " + std::to_string(i)));
  }
  auto store = NewMemoryStore();
  WriteBatch rows;
  rows.Put("c", test::TestCharter());
  for (PartyIndex p = 0; p < 2; ++p) {
    for (const DecodedEntry& e : sc.feed(p)) {
      std::string key = "e";
      key.push_back(static_cast<char>(p));
      AppendBigEndian64(key, e.seq());
      std::string envelope = e.envelope;
      if (p == kRU && e.seq() == 3) {
        v1::SignedEntry se;
        REQUIRE(se.ParseFromString(envelope));
        std::string sig = se.signature();
        sig[5] ^= 0x01;
        se.set_signature(sig);
        envelope = se.SerializeAsString();
      }
      rows.Put(key, envelope);
    }
    std::string head;
    AppendBigEndian64(head, sc.feed(p).size());
    head += std::string(48, '\0');
    rows.Put(std::string("h") + static_cast<char>(p), head);
  }
  REQUIRE(store->Write(rows, false).ok());
  LedgerSnapshot snapshot(store->Snapshot().value());
  REQUIRE(snapshot.Load().ok());
  auto no_manifests = NewMemoryStore()->Snapshot().value();
  test::TempDir dir;
  const fs::path file = dir.path() / "tampered.backup";
  {
    std::ofstream out(file, std::ios::binary);
    auto s = WriteBackup(snapshot, *no_manifests, kUA, test::kT0, [&](std::string_view b) {
      out.write(b.data(), static_cast<std::streamsize>(b.size()));
      return Status::Ok();
    });
    REQUIRE(s.has_value());
  }
  REQUIRE(BackupReader::Open(file).has_value());  // the file itself is whole
  auto r = RestoreBackup(file, dir.path() / "target");
  REQUIRE_FALSE(r.has_value());
  CHECK_MESSAGE(r.error().message().find("refused by the ledger's checks") != std::string::npos, r.error().message());
  CHECK_MESSAGE(r.error().message().find("signature") != std::string::npos, r.error().message());
  CHECK_FALSE(fs::exists(dir.path() / "target"));
}

TEST_CASE("signing goes on while a backup streams: the snapshot is all it waits for") {
  test::TempDir dir;
  constexpr int kEntries = 20000;
  {
    auto ua = OpenUa(dir.path() / "ua", /*sync=*/false);
    for (int i = 0; i < kEntries; ++i) REQUIRE(ua->Append(test::Say("UA " + std::to_string(i)), test::kT0 + i));
  }
  auto ua = OpenUa(dir.path() / "ua");  // synced appends, as a node's
  auto manifests = OpenManifests(dir.path() / "manifests");
  using Clock = std::chrono::steady_clock;
  const auto append_us = [&](int i) {
    const auto t = Clock::now();
    REQUIRE(ua->Append(test::Say("during " + std::to_string(i)), test::kT0 + kEntries + i));
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
  };
  int64_t baseline_max = 0;
  for (int i = 0; i < 50; ++i) baseline_max = std::max(baseline_max, append_us(i));

  // The snapshots themselves.
  const auto t0 = Clock::now();
  auto ls = ua->Snapshot();
  auto ms = manifests->Snapshot();
  const auto snapshot_us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  REQUIRE(ls.has_value());
  REQUIRE(ms.has_value());
  ls->reset();
  ms->reset();

  // A backup slowed to well over a second (a slow disk or reader), with
  // appends going on all the while.
  std::atomic<bool> done{false};
  Result<BackupSummary> summary = Status(Code::kInternal, "not run");
  int64_t backup_ms = 0;
  std::thread backup([&] {
    const auto t = Clock::now();
    summary = BackupTo(*ua, *manifests, dir.path() / "ua.backup", std::chrono::milliseconds(300));
    backup_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
    done = true;
  });
  int64_t during_max = 0;
  int during = 0;
  while (!done) during_max = std::max(during_max, append_us(100 + during++));
  backup.join();
  REQUIRE_MESSAGE(summary.has_value(), summary.error().ToString());
  MESSAGE("backup of " << summary->entries << " entries (" << summary->bytes << " bytes) streamed in " << backup_ms
                       << " ms; taking both snapshots: " << snapshot_us << " us; appends (synced): max "
                       << baseline_max << " us before, max " << during_max << " us during (" << during
                       << " signed during the backup)");
  CHECK(summary->heads[kUA] >= kEntries + 50);
  CHECK(summary->heads[kUA] < static_cast<uint64_t>(kEntries + 50 + during));  // later ones are not in it
  CHECK(during > 10);
  // Never held up for the backup's duration, only (if at all) for the snapshot.
  CHECK(during_max * 4 < backup_ms * 1000);
}

}  // namespace
}  // namespace parley
