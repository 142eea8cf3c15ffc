// End to end: `parley backup` against a running node, `parley restore` into
// a new data folder, and the restored node recovering from its peer what was
// signed after the backup before it signs the next seq — never one seq twice
// (docs/OPERATIONS.md, "Backup and restore").
#include <doctest/doctest.h>

#include <filesystem>

#include "node/daemon/backup.h"
#include "node_harness.h"

namespace parley {
namespace {

using test::IdOf;
using test::kRU;
using test::kUA;
namespace fs = std::filesystem;

std::string AlarmsOf(const test::NodeProcess& node) {
  auto st = node.Client()->GetStatus();
  if (!st) return "(no status: " + st.error().ToString() + ")";
  std::string out;
  for (const auto& a : st->alarms()) out += a + "\n";
  return out + "last error: " + st->peer().last_error();
}

void CheckSameFeedsNoFork(test::NodePair& n) {
  auto ua = n.ua.Client();
  auto ru = n.ru.Client();
  const Charter charter = ua->GetCharter().value();
  auto a = ua->ReadFeeds(charter);
  auto b = ru->ReadFeeds(charter);
  REQUIRE_MESSAGE(a.has_value(), a.error().ToString());
  REQUIRE_MESSAGE(b.has_value(), b.error().ToString());
  for (PartyIndex p = 0; p < 2; ++p) {
    REQUIRE((*a)[p].size() == (*b)[p].size());
    for (size_t i = 0; i < (*a)[p].size(); ++i) {
      CHECK_MESSAGE((*a)[p][i].id == (*b)[p][i].id, "party " << p << " seq " << i + 1 << " differs");
    }
  }
  for (auto* c : {ua.get(), ru.get()}) {
    auto st = c->GetStatus().value();
    CHECK(st.fork_proofs() == 0);
    CHECK_MESSAGE(st.alarms_size() == 0, (st.alarms_size() ? st.alarms(0) : std::string()));
  }
}

std::string ReadBytes(const fs::path& p) { return test::ReadText(p); }
void WriteBytes(const fs::path& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; }

// UA proposes, RU accepts, then rounds in which each side answers the
// other: RU's entries cite UA's feed.
void PlayCitingStory(test::NodePair& n, int rounds) {
  auto p = n.ua.Cli({"propose", "--kind", "remains_transfer", "--transfer", "UA>RU:remains:12", "--crossing", "border",
                     "--transport", "road", "--from", "2025-06-09", "--until", "2025-06-10", "--allow-past", "--json"});
  REQUIRE_MESSAGE(p.code == 0, p.err);
  REQUIRE(test::Eventually([&] { return n.ru.HeadOf(kUA).seq == 1; }));
  auto a = n.ru.Cli({"accept", IdOf(p).substr(0, 12), "--json"});
  REQUIRE_MESSAGE(a.code == 0, a.err);
  for (int i = 0; i < rounds; ++i) {
    REQUIRE(test::Eventually([&] { return n.Converged(); }));
    REQUIRE(n.ua.Client()->Submit(test::Say("UA round " + std::to_string(i)), "ua-r" + std::to_string(i)));
    REQUIRE(test::Eventually([&] { return n.Converged(); }));
    REQUIRE(n.ru.Client()->Submit(test::Say("RU round " + std::to_string(i)), "ru-r" + std::to_string(i)));
  }
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
}

TEST_SUITE("e2e") {

TEST_CASE("backup, 50 more signed, folder lost, restore: the node recovers the 50 from the peer and signs the next seq") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  PlayCitingStory(n, 3);
  const FeedHead at_backup = n.ru.HeadOf(kRU);
  REQUIRE(at_backup.seq == 4);
  auto ru_feed = n.ru.Client()->ReadFeed(n.ru.Client()->GetCharter().value(), kRU).value();
  CHECK(ru_feed[3].entry.seen().seq() == 4);  // RU's entries cite UA's feed

  const fs::path file = n.ru.dir() / "ru.backup";
  auto b = n.ru.Cli({"backup", "--out", file.string()});
  REQUIRE_MESSAGE(b.code == 0, b.err);
  CHECK(b.out.find("backup written to") != std::string::npos);
  CHECK(b.out.find("4 + 4 entries") != std::string::npos);
  std::string backup_bytes = ReadBytes(file);
  CHECK((fs::status(file).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  // The key's mark as it was at the backup (for the second subcase).
  fs::copy_file(n.ru.dir() / "key.hwm", n.ru.dir() / "hwm-at-backup");

  // An existing --out is refused and left as it was.
  auto again = n.ru.Cli({"backup", "--out", file.string()});
  CHECK(again.code != 0);
  CHECK_MESSAGE(again.err.find("exists; give --force") != std::string::npos, again.err);
  CHECK(ReadBytes(file) == backup_bytes);
  // With --force it is replaced by a new, whole backup (of the same feeds).
  auto forced = n.ru.Cli({"backup", "--out", file.string(), "--force"});
  REQUIRE_MESSAGE(forced.code == 0, forced.err);
  auto reread = BackupReader::Open(file);
  REQUIRE_MESSAGE(reread.has_value(), reread.error().ToString());
  CHECK((*reread)->summary().heads[kRU] == at_backup.seq);
  backup_bytes = ReadBytes(file);
  CHECK(std::distance(fs::directory_iterator(n.ru.dir()), fs::directory_iterator()) > 0);
  for (const auto& e : fs::directory_iterator(n.ru.dir())) {
    CHECK_MESSAGE(e.path().filename().string().find(".partial-") == std::string::npos, e.path());
  }

  // 50 more by RU, and UA's answers in between.
  {
    auto ru = n.ru.Client();
    for (int i = 0; i < 50; ++i) {
      REQUIRE(ru->Submit(test::Say("RU after the backup " + std::to_string(i)), "ru-after-" + std::to_string(i)));
      if (i % 10 == 0) REQUIRE(n.ua.Client()->Submit(test::Say("UA " + std::to_string(i)), "ua-a" + std::to_string(i)));
    }
  }
  REQUIRE(test::Eventually([&] { return n.Converged(); }, std::chrono::seconds(20)));
  const FeedHead newest = n.ru.HeadOf(kRU);
  const FeedHead newest_ua = n.ru.HeadOf(kUA);
  REQUIRE(newest.seq == at_backup.seq + 50);

  REQUIRE(n.ru.Stop() == 0);
  const fs::path data = n.ru.dir() / "data";
  fs::remove_all(data);

  SUBCASE("the mark kept: restore, start, recover the 50, sign the next seq") {
    // Refusals first: each leaves no data folder behind.
    {
      std::string damaged = backup_bytes;
      damaged[damaged.size() / 2] ^= 0x20;
      WriteBytes(n.ru.dir() / "damaged.backup", damaged);
      auto r = test::RunParley({"restore", (n.ru.dir() / "damaged.backup").string(), "--data-dir", data.string()});
      CHECK(r.code == 1);
      CHECK_MESSAGE(r.err.find("is damaged: its digest does not match its content") != std::string::npos, r.err);
      CHECK_FALSE(fs::exists(data));
      WriteBytes(n.ru.dir() / "short.backup", backup_bytes.substr(0, backup_bytes.size() - 100));
      r = test::RunParley({"restore", (n.ru.dir() / "short.backup").string(), "--data-dir", data.string()});
      CHECK(r.code == 1);
      CHECK_MESSAGE(r.err.find("cut short") != std::string::npos, r.err);
      CHECK_FALSE(fs::exists(data));
      const fs::path busy = n.ru.dir() / "busy";
      fs::create_directories(busy);
      WriteBytes(busy / "notes.txt", "mine");
      r = test::RunParley({"restore", file.string(), "--data-dir", busy.string()});
      CHECK(r.code == 1);
      CHECK_MESSAGE(r.err.find("is not empty (it holds notes.txt)") != std::string::npos, r.err);
      CHECK(ReadBytes(busy / "notes.txt") == "mine");
      CHECK(std::distance(fs::directory_iterator(busy), fs::directory_iterator()) == 1);
      CHECK(ReadBytes(file) == backup_bytes);
    }
    auto r = test::RunParley({"restore", file.string(), "--data-dir", data.string()});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(fs::exists(data / std::string(kRestoredMarker)));

    // The harness's nodes run with sign_without_peer_confirmation = true:
    // the restore marker overrides it.
    REQUIRE(n.ru.Start());
    REQUIRE_MESSAGE(test::Eventually([&] { return n.ru.HeadOf(kRU).seq == newest.seq; }, std::chrono::seconds(30)),
                    AlarmsOf(n.ru));
    CHECK(n.ru.HeadOf(kRU).id == newest.id);
    REQUIRE(test::Eventually([&] { return n.ru.HeadOf(kUA).seq == newest_ua.seq; }));
    auto next = n.ru.Client()->Submit(test::Say("RU after the restore"), "ru-after-restore");
    REQUIRE_MESSAGE(next.has_value(),
                    ((next.has_value() ? std::string() : next.error().ToString()) + "\n" + AlarmsOf(n.ru)));
    CHECK(next->seq() == newest.seq + 1);
    REQUIRE(test::Eventually([&] { return n.Converged(); }));
    CheckSameFeedsNoFork(n);
    CHECK(test::Eventually([&] { return !fs::exists(data / std::string(kRestoredMarker)); }));
    const std::string log = test::ReadText(n.ru.log());
    CHECK(log.find("the data folder was restored from a backup") != std::string::npos);
    CHECK(log.find("restore complete") != std::string::npos);
  }

  SUBCASE("the mark restored too, sign_without_peer_confirmation set, the peer down: it waits, then recovers") {
    REQUIRE(n.ua.Stop() == 0);
    auto r = test::RunParley({"restore", file.string(), "--data-dir", data.string()});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    fs::copy_file(n.ru.dir() / "hwm-at-backup", n.ru.dir() / "key.hwm", fs::copy_options::overwrite_existing);
    REQUIRE(n.ru.Start());  // configured to sign without the peer's confirmation
    CHECK(n.ru.HeadOf(kRU).seq == at_backup.seq);
    auto refused = n.ru.Client()->Submit(test::Say("would be a second seq 5"), "second-5");
    REQUIRE_FALSE(refused.has_value());
    CHECK_MESSAGE(refused.error().message().find("waiting for the peer to confirm") != std::string::npos,
                  refused.error().message());
    CHECK(n.ru.Cli({"status"}).code == 2);
    REQUIRE(n.ua.Start());
    REQUIRE_MESSAGE(test::Eventually([&] { return n.ru.HeadOf(kRU).seq == newest.seq; }, std::chrono::seconds(30)),
                    AlarmsOf(n.ru));
    auto next = n.ru.Client()->Submit(test::Say("RU after the restore"), "ru-after-restore");
    REQUIRE_MESSAGE(next.has_value(),
                    ((next.has_value() ? std::string() : next.error().ToString()) + "\n" + AlarmsOf(n.ru)));
    CHECK(next->seq() == newest.seq + 1);
    REQUIRE(test::Eventually([&] { return n.Converged(); }));
    CheckSameFeedsNoFork(n);
  }
}

TEST_CASE("a manifest committed after the backup is named as missing after a restore, not lost silently") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  test::TempDir files;
  const auto commit = [&](const std::string& name) {
    std::string csv = "tag,name,recovered_on,recovered_at,identification,seal\n";
    for (int i = 0; i < 4; ++i) {
      csv += name + "-" + std::to_string(i) + ",Person " + std::to_string(i) + ",2025-05-10,Field,identity_disc,S" +
             std::to_string(i) + "\n";
    }
    const fs::path path = files.path() / (name + ".csv");
    WriteBytes(path, csv);
    auto c = n.ru.Cli({"manifest", "commit", path.string(), "--kind", "remains", "--json"});
    REQUIRE_MESSAGE(c.code == 0, c.err);
    return nlohmann::json::parse(c.out)["root"].get<std::string>();
  };
  const auto propose = [&](const std::string& root) {
    auto p = n.ru.Cli({"propose", "--kind", "remains_transfer", "--transfer", "RU>UA:remains:4:" + root, "--crossing",
                       "border", "--transport", "road", "--from", "2025-06-09", "--until", "2025-06-10",
                       "--allow-past", "--json"});
    REQUIRE_MESSAGE(p.code == 0, p.err);
  };
  const std::string before = commit("BEFORE");
  propose(before);
  const fs::path file = files.path() / "ru.backup";
  auto b = n.ru.Cli({"backup", "--out", file.string()});
  REQUIRE_MESSAGE(b.code == 0, b.err);
  const std::string after = commit("AFTER");
  propose(after);  // RU#2 names it
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  CHECK(n.ru.Client()->GetStatus().value().missing_manifests_size() == 0);

  REQUIRE(n.ru.Stop() == 0);
  fs::remove_all(n.ru.dir() / "data");
  auto r = test::RunParley({"restore", file.string(), "--data-dir", (n.ru.dir() / "data").string()});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  REQUIRE(n.ru.Start());
  REQUIRE(test::Eventually([&] { return n.ru.HeadOf(kRU).seq == 2; }, std::chrono::seconds(20)));
  REQUIRE(test::Eventually([&] { return n.ru.Client()->GetStatus().value().missing_manifests_size() == 1; }));
  const auto st = n.ru.Client()->GetStatus().value();
  CHECK(ToHex(st.missing_manifests(0).root()) == after);
  CHECK(st.missing_manifests(0).count() == 4);
  CHECK(st.missing_manifests(0).seq() == 2);
  auto status = n.ru.Cli({"status"});
  CHECK_MESSAGE(status.out.find("MISSING manifest " + after) != std::string::npos, status.out);
  CHECK(status.out.find(before) == std::string::npos);  // restored with the backup
  auto json = n.ru.Cli({"status", "--json"});
  CHECK(nlohmann::json::parse(json.out)["missing_manifests"][0]["root"] == after);
  auto listed = n.ru.Cli({"manifest", "list", "--json"});
  CHECK(listed.out.find(before) != std::string::npos);
  CHECK(test::Eventually([&] { return test::ReadText(n.ru.log()).find("manifest missing") != std::string::npos; }));
  CHECK(test::ReadText(n.ru.log()).find(after) != std::string::npos);
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
