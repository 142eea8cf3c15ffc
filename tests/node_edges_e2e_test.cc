// End to end, at the edges a node must be safe at: a second node with the
// same key and high-water mark, a second node on the same peer address, a
// damaged data folder. Real `parley node` processes on 127.0.0.1.
#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "node/store/store.h"
#include "node_harness.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
namespace fs = std::filesystem;

// Runs `parley args...` that should exit by itself (a node refused at
// start); one still running after `timeout` is killed and reported with
// code -1, so a node that wrongly starts fails the test instead of hanging it.
test::CliResult RunRefused(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  test::TempDir tmp;
  const fs::path out = tmp.path() / "out", err = tmp.path() / "err";
  std::vector<std::string> argv{PARLEY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const int flags = O_WRONLY | O_CREAT | O_TRUNC;
  const pid_t pid = test::Spawn(argv, out.c_str(), flags, err.c_str(), flags);
  int st = 0;
  const bool exited = test::Eventually([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, timeout);
  test::CliResult r;
  if (exited) {
    r.code = test::ExitCode(st);
  } else {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
    r.code = -1;
  }
  r.out = test::ReadText(out);
  r.err = test::ReadText(err);
  if (!exited) r.err = "(still running after the timeout: it started) " + r.err;
  return r;
}

TEST_SUITE("e2e") {

TEST_CASE("a second node with the same key and high-water mark, on a copy of the data folder, refuses to start and names the holder") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  auto ua = n.ua.Client();
  for (int i = 1; i <= 6; ++i) REQUIRE(ua->Submit(test::Say("UA statement " + std::to_string(i)), "").has_value());
  REQUIRE(n.ua.Stop() == 0);
  // The twin: the same key file (so the same mark, key + ".hwm"), a copy of
  // the data folder, its own socket and port.
  test::TempDir twin_root;
  test::NodeProcess twin(twin_root.path(), kUA, test::FreePort(), n.ua.address());
  fs::copy(n.ua.dir() / "data", twin.dir() / "data", fs::copy_options::recursive);
  std::ofstream(twin.dir() / "node.conf", std::ios::app) << "key_file = " << (n.ua.dir() / "key").string() << "\n";
  REQUIRE(n.ua.Start());

  auto r = RunRefused({"node", "--config", (twin.dir() / "node.conf").string()});
  INFO(r.err);
  CHECK(r.code > 0);
  CHECK(r.err.find("high-water mark " + (n.ua.dir() / "key.hwm").string() + " is in use by another process (pid " +
                   std::to_string(n.ua.pid()) + ",") != std::string::npos);

  // UA signs seq 7 alone.
  auto seven = n.ua.Client()->Submit(test::Say("UA statement 7"), "");
  REQUIRE_MESSAGE(seven.has_value(), seven.error().ToString());
  CHECK(seven->seq() == 7);
  // Once UA has stopped, the twin starts on its stale copy, and refuses to
  // sign seq 7 a second time (the mark says 7, its copy holds 6).
  REQUIRE(n.ua.Stop() == 0);
  n.ru.Kill();  // no peer to recover from: the twin must not sign on its own
  REQUIRE(twin.Start());
  auto st = twin.Client()->GetStatus();
  REQUIRE(st.has_value());
  CHECK(st->feeds(kUA).seq() == 6);
  auto again = twin.Client()->Submit(test::Say("a different seq 7"), "");
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().message().find("high-water mark") != std::string::npos);
}

TEST_CASE("a second node on the same peer address refuses to start and names the address; the first keeps serving") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  // RU's own folder, key and mark, but UA's listen address.
  auto r = RunRefused({"node", "--config", (n.ru.dir() / "node.conf").string(), "--listen", n.ua.address()});
  INFO(r.err);
  CHECK(r.code > 0);
  CHECK(r.err.find("cannot listen on the peer address " + n.ua.address() + ": address in use") != std::string::npos);
  // UA still owns the port: RU, started properly, replicates from it.
  REQUIRE(n.ru.Start());
  REQUIRE(n.ua.Client()->Submit(test::Say("still here"), "").has_value());
  REQUIRE(test::Eventually([&] { return n.ru.HeadOf(kUA).seq == 1; }));
}

TEST_CASE("a node on a damaged data folder says so in status and its log, signs nothing and serves no bad bytes") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  auto ua = n.ua.Client();
  for (int i = 0; i < 300; ++i) {
    REQUIRE(ua->Submit(test::Say("UA statement number " + std::to_string(i) + " on the record"), "").has_value());
  }
  REQUIRE(n.ua.Stop() == 0);
  {
    // Into table files, then six bytes flipped a third of the way into the largest.
    REQUIRE(OpenLevelDbStore(n.ua.dir() / "data").value()->Compact().ok());
    fs::path table;
    for (const auto& f : fs::directory_iterator(n.ua.dir() / "data" / "ledger")) {
      if (f.path().extension() == ".ldb" && (table.empty() || f.file_size() > fs::file_size(table))) table = f.path();
    }
    REQUIRE(!table.empty());
    std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(table) / 3));
    f.write("\xde\xad\xbe\xef\x00\x01", 6);
  }
  REQUIRE(n.ua.Start());
  auto st = n.ua.Client()->GetStatus();
  REQUIRE(st.has_value());
  std::string alarms;
  for (const auto& a : st->alarms()) alarms += a + "\n";
  INFO(alarms);
  CHECK(alarms.find("data folder is damaged") != std::string::npos);
  CHECK(test::ReadText(n.ua.log()).find("the data folder is damaged") != std::string::npos);
  auto r = n.ua.Client()->Submit(test::Say("after the damage"), "");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message().find("damaged") != std::string::npos);
  // RU pulls UA's feed: what arrives verifies (RU verifies every entry),
  // and it stops short of the damage.
  REQUIRE(n.ru.Start());
  REQUIRE(test::Eventually([&] { return test::ReadText(n.ua.log()).find("not served") != std::string::npos; }));
  CHECK(n.ru.HeadOf(kUA).seq < 300);
}

TEST_CASE("a node whose data folder lost CURRENT refuses to start, names it, and creates nothing over it") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ua.Client()->Submit(test::Say("on the record"), "").has_value());
  REQUIRE(n.ua.Stop() == 0);
  const fs::path db = n.ua.dir() / "data" / "ledger";
  REQUIRE(OpenLevelDbStore(n.ua.dir() / "data").value()->Compact().ok());  // the entry into a table file
  fs::remove(db / "CURRENT");
  std::set<std::string> before;
  for (const auto& f : fs::directory_iterator(db)) before.insert(f.path().filename().string());

  auto r = RunRefused({"node", "--config", (n.ua.dir() / "node.conf").string()});
  INFO(r.err);
  CHECK(r.code > 0);
  CHECK(r.err.find("holds a ledger but its LevelDB files are damaged: CURRENT missing in " + db.string()) !=
        std::string::npos);
  CHECK_FALSE(fs::exists(db / "CURRENT"));
  for (const std::string& name : before) CHECK_MESSAGE(fs::exists(db / name), name, " was deleted");
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
