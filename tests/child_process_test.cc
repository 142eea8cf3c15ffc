// The test harness's ChildProcess (tests/node_harness.h), on /bin/sh
// children: exit codes remembered, Stop and Kill idempotent, the destructor
// leaves no process behind, and the waits give up when the process exits.
#include <doctest/doctest.h>

#include <cerrno>

#include "node_harness.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// True while `pid` names a process (running or a zombie not yet reaped).
bool Alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

std::vector<std::string> Sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

TEST_CASE("ChildProcess: Stop returns the exit code, remembers it, and a second Stop or Kill changes nothing") {
  test::TempDir dir;
  test::ChildProcess p(dir.path() / "child.log");
  CHECK(p.Stop() == -1);  // never started
  CHECK(p.Exited());
  p.Spawn(Sh("trap 'exit 7' TERM; echo child started >&2; while :; do sleep 0.05; done"));
  const pid_t pid = p.pid();
  REQUIRE(pid > 0);
  REQUIRE(p.WaitForLog("child started", 0));
  CHECK_FALSE(p.Exited());
  CHECK(p.exit_code() == -1);
  CHECK(p.Stop() == 7);
  CHECK(p.pid() == -1);
  CHECK_FALSE(Alive(pid));
  CHECK(p.Stop() == 7);
  p.Kill();
  CHECK(p.exit_code() == 7);
}

TEST_CASE("ChildProcess: a child ended by a signal reports 128 + the signal") {
  test::TempDir dir;
  test::ChildProcess p(dir.path() / "child.log");
  p.Spawn({"/bin/sleep", "30"});
  CHECK(p.Stop() == 128 + SIGTERM);
  p.Spawn({"/bin/sleep", "30"});  // a restart after Stop
  p.Kill();
  CHECK(p.exit_code() == 128 + SIGKILL);
  CHECK(p.Exited());
}

TEST_CASE("ChildProcess: Exited reaps a child that ended by itself and keeps its code; the waits give up at once") {
  test::TempDir dir;
  test::ChildProcess p(dir.path() / "child.log");
  p.Spawn(Sh("echo bad config >&2; exit 3"));
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(p.WaitReady([] { return false; }, 20s));
  CHECK_FALSE(p.WaitForLog("never written", 0, 20s));
  CHECK(std::chrono::steady_clock::now() - start < 10s);  // not the timeout
  CHECK(p.exit_code() == 3);
  CHECK(p.Stop() == 3);
  CHECK(test::ReadText(p.log()).find("bad config") != std::string::npos);
  CHECK(p.Diagnose().find("exit code 3") != std::string::npos);
}

TEST_CASE("ChildProcess: WaitForLog reads only after the offset; a restart appends to the log") {
  test::TempDir dir;
  test::ChildProcess p(dir.path() / "child.log");
  p.Spawn(Sh("echo up >&2; exec sleep 30"));
  REQUIRE(p.WaitForLog("up", 0));
  p.Kill();
  const size_t before = test::ReadText(p.log()).size();
  p.Spawn(Sh("exec sleep 30"));
  CHECK_FALSE(p.WaitForLog("up", before, 300ms));  // the first run's line does not count
  CHECK(p.pid() > 0);                              // timed out, still running
  p.Kill();
  p.Spawn(Sh("echo up >&2; exec sleep 30"));
  CHECK(p.WaitForLog("up", before));
  CHECK(test::ReadText(p.log()) == "up\nup\n");
}

TEST_CASE("ChildProcess: the destructor kills and reaps a child still running") {
  test::TempDir dir;
  pid_t pid = -1;
  {
    test::ChildProcess p(dir.path() / "child.log");
    p.Spawn({"/bin/sleep", "30"});
    pid = p.pid();
    REQUIRE(pid > 0);
    CHECK(Alive(pid));
    CHECK(p.Diagnose().find("State:") != std::string::npos);
  }
  CHECK_FALSE(Alive(pid));  // gone, not a zombie either: reaped
}

}  // namespace
}  // namespace parley
