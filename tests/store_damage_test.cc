// Damaged storage is detected and named, never papered over: bytes flipped
// in a LevelDB table or log, a write-ahead log cut short, CURRENT or the
// MANIFEST deleted, LevelDB files without CURRENT, an unwritable folder; a
// fresh database is never created over a folder that held one. And the
// high-water mark admits one signer at a time. Real LevelDB folders on disk
// (docs/PROTOCOL.md §9 "Storage").
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "fixtures.h"
#include "node/store/high_water_mark.h"
#include "node/ledger/ledger.h"
#include "node/store/store.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using test::kRU;
using test::kUA;

template <class T>
std::string Why(const Result<T>& r) {
  return r.has_value() ? std::string() : r.error().ToString();
}

struct Folder {
  test::TempDir root;
  fs::path data() const { return root.path() / "data"; }
  fs::path db() const { return data() / "ledger"; }
  fs::path hwm() const { return root.path() / "ua.hwm"; }

  Result<std::unique_ptr<Ledger>> Open() const {
    auto store = OpenLevelDbStore(data());
    if (!store) return store.error();
    LedgerOptions o;
    o.self = kUA;
    o.key = test::PartyKey(kUA);
    o.high_water_mark = hwm();
    return Ledger::Open(std::move(*store), test::TestCharter(), std::move(o));
  }

  // `n` UA entries; with `to_tables`, the store is compacted afterwards so
  // that they sit in table (.ldb) files, not in the write-ahead log.
  void Write(int n, bool to_tables) {
    {
      auto l = Open().value();
      for (int i = 0; i < n; ++i) {
        REQUIRE(l->Append(test::Say("statement number " + std::to_string(i) + " on the record"), test::kT0 + i)
                    .has_value());
      }
    }
    if (to_tables) REQUIRE(OpenLevelDbStore(data()).value()->Compact().ok());
  }

  // Every data file of the LevelDB folder with its size: what must not
  // change when an open is refused (LevelDB's own info log, LOG, and its
  // LOCK file are left out: each open attempt rotates LOG).
  std::map<std::string, uintmax_t> Files() const {
    std::map<std::string, uintmax_t> out;
    for (const auto& f : fs::directory_iterator(db())) {
      const std::string name = f.path().filename().string();
      if (name != "LOG" && name != "LOG.old" && name != "LOCK") out[name] = f.file_size();
    }
    return out;
  }

  fs::path Largest(std::string_view suffix) const {
    fs::path best;
    uintmax_t size = 0;
    for (const auto& f : fs::directory_iterator(db())) {
      const std::string name = f.path().filename().string();
      if (name.ends_with(suffix) && f.file_size() > size) {
        best = f.path();
        size = f.file_size();
      }
    }
    REQUIRE_MESSAGE(!best.empty(), "no *", suffix, " file in ", db().string());
    return best;
  }
};

void FlipBytes(const fs::path& file, uintmax_t offset, int count) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  for (int i = 0; i < count; ++i) {
    f.seekg(static_cast<std::streamoff>(offset + i));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset + i));
    f.put(static_cast<char>(c ^ 0x5a));
  }
}

// Reads UA's feed from seq 1 the way the peer service does; returns the
// seq it stopped at and the error there (OK if it read the whole feed).
std::pair<uint64_t, Status> ServeAll(const Ledger& l) {
  uint64_t next = 1;
  for (;;) {
    auto got = l.ReadEnvelopes(kUA, next, 64);
    if (!got) return {next, got.error()};
    if (got->empty()) return {next, Status::Ok()};
    for (const std::string& env : *got) {
      auto d = DecodeEntry(env, l.charter());
      if (!d) return {next, Status(Code::kInternal, "served an entry that does not verify at seq " + std::to_string(next))};
      ++next;
    }
  }
}

TEST_CASE("six bytes flipped in a table file: named at open, signing stops, the damaged range is not served") {
  Folder f;
  f.Write(300, /*to_tables=*/true);
  const fs::path table = f.Largest(".ldb");
  // A third of the way in: the UA entries fill most of the table.
  FlipBytes(table, fs::file_size(table) / 3, 6);

  auto l = f.Open();
  REQUIRE_MESSAGE(l.has_value(), Why(l));  // it opens, to say what is wrong
  auto damage = (*l)->damaged();
  REQUIRE_MESSAGE(damage.has_value(), "six flipped bytes in ", table.string(), " went unnoticed");
  INFO(*damage);
  CHECK(damage->find("UA") != std::string::npos);
  CHECK(damage->find("damaged") != std::string::npos);
  CHECK(damage->find("checksum") != std::string::npos);

  auto blocked = (*l)->signing_blocked();
  REQUIRE(blocked.has_value());
  CHECK(blocked->find("data folder is damaged") != std::string::npos);
  auto r = (*l)->Append(test::Say("after the damage"), test::kT0 + 1000);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kFailedPrecondition);

  auto [stopped_at, why] = ServeAll(**l);
  CHECK_MESSAGE(why.code() == Code::kDataLoss, why.ToString());
  CHECK(stopped_at <= 300);
  CHECK(why.message().find("not served") != std::string::npos);
}

TEST_CASE("a read that meets damage at run time returns kDataLoss and stops signing") {
  // A store that says kDataLoss for every read once told to, like LevelDB
  // with a checksum mismatch in a block not read at open.
  class DamagedReads final : public Store {
   public:
    explicit DamagedReads(bool* damaged) : base_(NewMemoryStore()), damaged_(damaged) {}
    Result<std::optional<std::string>> Get(std::string_view key) override {
      if (*damaged_) return Status(Code::kDataLoss, "store read: Corruption: block checksum mismatch");
      return base_->Get(key);
    }
    Status Write(const WriteBatch& b, bool sync) override { return base_->Write(b, sync); }
    Status Scan(std::string_view start, std::string_view end, const ScanFn& fn) override {
      if (*damaged_) return Status(Code::kDataLoss, "store scan: Corruption: block checksum mismatch");
      return base_->Scan(start, end, fn);
    }

   private:
    std::unique_ptr<Store> base_;
    bool* damaged_;
  };
  bool damaged = false;
  LedgerOptions o;
  o.self = kUA;
  o.key = test::PartyKey(kUA);
  auto l = Ledger::Open(std::make_unique<DamagedReads>(&damaged), test::TestCharter(), std::move(o)).value();
  REQUIRE(l->Append(test::Say("one"), test::kT0).has_value());
  CHECK_FALSE(l->damaged().has_value());

  damaged = true;
  auto read = l->ReadEnvelopes(kUA, 1, 10);
  REQUIRE_FALSE(read.has_value());
  CHECK(read.error().code() == Code::kDataLoss);
  REQUIRE(l->damaged().has_value());
  CHECK(l->damaged()->find("checksum mismatch") != std::string::npos);
  damaged = false;  // even if the next read would work, the damage stands
  auto again = l->ReadEnvelopes(kUA, 1, 10);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code() == Code::kDataLoss);
  auto r = l->Append(test::Say("two"), test::kT0 + 1);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kFailedPrecondition);
  CHECK(r.error().message().find("damaged") != std::string::npos);
}

TEST_CASE("a write-ahead log cut short loses acknowledged own entries: the high-water mark stops signing and says so") {
  Folder f;
  f.Write(40, /*to_tables=*/false);  // all in the log
  const fs::path log = f.Largest(".log");
  fs::resize_file(log, fs::file_size(log) / 2);

  auto l = f.Open();
  REQUIRE_MESSAGE(l.has_value(), Why(l));
  CHECK((*l)->Head(kUA).seq < 40);
  auto blocked = (*l)->signing_blocked();
  REQUIRE_MESSAGE(blocked.has_value(), "the lost entries went unnoticed; head ", (*l)->Head(kUA).seq);
  CHECK(blocked->find("signed up to seq 40") != std::string::npos);
  CHECK(blocked->find("write-ahead") != std::string::npos);
  CHECK_FALSE((*l)->Append(test::Say("would reuse a seq"), test::kT0 + 100).has_value());
}

TEST_CASE("bytes flipped in the write-ahead log: the open fails with kDataLoss naming the damage") {
  Folder f;
  f.Write(40, /*to_tables=*/false);
  const fs::path log = f.Largest(".log");
  FlipBytes(log, fs::file_size(log) / 2, 6);
  const auto before = f.Files();
  auto l = f.Open();
  REQUIRE_FALSE(l.has_value());
  INFO(l.error().ToString());
  CHECK(l.error().code() == Code::kDataLoss);
  CHECK(l.error().message().find("LevelDB files are damaged") != std::string::npos);
  CHECK(f.Files() == before);
}

TEST_CASE("CURRENT or the MANIFEST deleted: the open fails with kDataLoss and no fresh database is created") {
  Folder f;
  f.Write(50, /*to_tables=*/true);
  CHECK(fs::exists(f.data() / "ledger.created"));
  std::string gone;
  SUBCASE("CURRENT") {
    fs::remove(f.db() / "CURRENT");
    gone = "CURRENT missing";
  }
  SUBCASE("MANIFEST") {
    for (const auto& e : fs::directory_iterator(f.db())) {
      if (e.path().filename().string().rfind("MANIFEST-", 0) == 0) fs::remove(e.path());
    }
    gone = "MANIFEST";
  }
  SUBCASE("CURRENT, in a folder from before the created-marker") {
    fs::remove(f.data() / "ledger.created");
    fs::remove(f.db() / "CURRENT");
    gone = "CURRENT is missing";
  }
  const auto before = f.Files();
  for (int attempt = 0; attempt < 2; ++attempt) {  // and again: the first refusal changed nothing
    auto store = OpenLevelDbStore(f.data());
    REQUIRE_FALSE(store.has_value());
    INFO(store.error().ToString());
    CHECK(store.error().code() == Code::kDataLoss);
    CHECK(store.error().message().find(f.data().string()) != std::string::npos);
    CHECK(store.error().message().find(gone) != std::string::npos);
    CHECK(f.Files() == before);
  }
  CHECK_FALSE(f.Open().has_value());
}

TEST_CASE("the created-marker: written at creation, added to a folder from before it, and a new folder still opens") {
  Folder f;
  REQUIRE(OpenLevelDbStore(f.data()).has_value());
  CHECK(fs::exists(f.data() / "ledger.created"));
  fs::remove(f.data() / "ledger.created");
  REQUIRE(OpenLevelDbStore(f.data()).has_value());  // CURRENT present: an older folder
  CHECK(fs::exists(f.data() / "ledger.created"));
}

TEST_CASE("an unwritable data folder is named as such") {
  test::TempDir root;
  SUBCASE("a file where the folder should be") {
    std::ofstream(root.path() / "data") << "not a folder";
    auto s = OpenLevelDbStore(root.path() / "data");
    REQUIRE_FALSE(s.has_value());
    INFO(s.error().ToString());
    CHECK(s.error().message().find((root.path() / "data").string()) != std::string::npos);
    CHECK(s.error().message().find("LOCK") == std::string::npos);
  }
  SUBCASE("a folder without write permission (or on a read-only file system, as root)") {
    const fs::path data = root.path() / "data";
    fs::create_directories(data);
    bool mounted = false;
    if (::geteuid() == 0) {
      // Permission bits do not stop root: use a read-only mount instead.
      mounted = ::mount("tmpfs", data.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") == 0 &&
                ::mount(nullptr, data.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0;
      if (!mounted) {
        ::umount(data.c_str());
        MESSAGE("running as root without mount rights: the unwritable-folder case is not checked");
        return;
      }
    } else {
      fs::permissions(data, fs::perms::owner_read | fs::perms::owner_exec);
    }
    auto s = OpenLevelDbStore(data);
    if (mounted) ::umount(data.c_str());
    fs::permissions(data, fs::perms::owner_all);
    REQUIRE_FALSE(s.has_value());
    INFO(s.error().ToString());
    CHECK(s.error().code() == Code::kPermissionDenied);
    CHECK(s.error().message().find("data folder " + data.string() + " is not writable") != std::string::npos);
  }
}

TEST_CASE("the high-water mark admits one holder at a time and names the pid that holds it") {
  test::TempDir dir;
  const fs::path mark = dir.path() / "ua.hwm";
  const Digest id = test::TheCharter().ledger_id();
  {
    auto first = HighWaterMark::Open(mark, id);
    REQUIRE_MESSAGE(first.has_value(), Why(first));
    REQUIRE((*first)->Advance(7).ok());
    auto second = HighWaterMark::Open(mark, id);
    REQUIRE_FALSE(second.has_value());
    INFO(second.error().ToString());
    CHECK(second.error().code() == Code::kAlreadyExists);
    CHECK(second.error().message().find("in use by another process (pid " + std::to_string(::getpid())) !=
          std::string::npos);
    CHECK(second.error().message().find(mark.string()) != std::string::npos);
  }
  auto again = HighWaterMark::Open(mark, id);  // released with its holder
  REQUIRE_MESSAGE(again.has_value(), Why(again));
  CHECK((*again)->seq() == 7);
}

TEST_CASE("a mark advanced behind the lock by another signer stops signing before the next entry") {
  Folder f;
  auto l = f.Open().value();
  for (int i = 0; i < 3; ++i) REQUIRE(l->Append(test::Say("mine " + std::to_string(i)), test::kT0 + i).has_value());
  // Another signer's mark at seq 5, written over the file in place, as a
  // second node that got past the lock (its lock file removed by hand) would.
  test::TempDir other;
  {
    auto m = HighWaterMark::Open(other.path() / "mark", test::TheCharter().ledger_id()).value();
    REQUIRE(m->Advance(5).ok());
  }
  std::ifstream in(other.path() / "mark", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() == 80);
  std::fstream(f.hwm(), std::ios::in | std::ios::out | std::ios::binary).write(bytes.data(), 80);

  auto r = l->Append(test::Say("would be a second seq 4"), test::kT0 + 10);
  REQUIRE_FALSE(r.has_value());
  INFO(r.error().ToString());
  CHECK(r.error().code() == Code::kFailedPrecondition);
  CHECK(r.error().message().find("signed up to seq 5 (high-water mark)") != std::string::npos);
  CHECK(l->Head(kUA).seq == 3);
  REQUIRE(l->signing_blocked().has_value());
}

}  // namespace
}  // namespace parley
