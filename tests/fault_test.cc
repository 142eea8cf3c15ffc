// End to end, under faults: UA killed with SIGKILL 100 times under concurrent
// writers, a full disk (a small tmpfs), a network partition while both
// parties keep signing (a network namespace of their own whose loopback is
// cut), and a peer paused with SIGSTOP again and again.
//
// Each test is bounded in time. The disk-full and partition tests need root
// (mount, unshare/setns); without it they say so and pass without checking.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "node/ledger/ledger.h"
#include "node/store/store.h"
#include "node_harness.h"
#include "parley/v1/operator.grpc.pb.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
using Ms = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

template <class T>
std::string Why(const Result<T>& r) {
  return r.has_value() ? std::string() : r.error().ToString();
}

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Ack {
  std::string request_id;
  Digest id;
  uint64_t seq = 0;
};

// --- /proc figures -----------------------------------------------------------

int OpenFds(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

int Threads(pid_t pid) {
  std::istringstream in(test::ReadText("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

// --- a feed checked incrementally ---------------------------------------------

// What one node served of UA's feed, verified entry by entry as a chain by a
// read-only ledger of its own (each cycle only the new part, plus the last
// entry already verified: a different ID there would be a fork). `ids[i]` is
// the ID at seq i + 1.
struct VerifiedFeed {
  std::unique_ptr<Ledger> fresh;
  std::vector<Digest> ids;

  VerifiedFeed() { Reset(); }
  void Reset() {
    fresh = std::move(Ledger::Open(NewMemoryStore(), test::TestCharter(), LedgerOptions{}).value());
    ids.clear();
  }
};

// Reads `party`'s feed from `node` from the last verified entry on and
// ingests it into `v`. Returns the entries read (the overlap included).
std::vector<DecodedEntry> ReadAndVerify(OperatorClient& node, PartyIndex party, VerifiedFeed& v) {
  const uint64_t from = v.ids.empty() ? 1 : v.ids.size();
  auto feed = node.ReadFeed(test::TheCharter(), party, from);
  REQUIRE_MESSAGE(feed.has_value(), Why(feed));
  if (!v.ids.empty()) {
    REQUIRE_MESSAGE(!feed->empty(), "the node no longer serves seq ", from, ": its head went back");
    REQUIRE((*feed)[0].seq() == from);
    CHECK_MESSAGE((*feed)[0].id == v.ids.back(), "seq ", from, " changed since it was verified");
  }
  for (const DecodedEntry& e : *feed) {
    auto r = v.fresh->Ingest(e.envelope);
    REQUIRE_MESSAGE(r.has_value(), "seq ", e.seq(), ": ", Why(r));
    if (e.seq() <= v.ids.size()) {
      CHECK(*r == IngestOutcome::kDuplicate);
    } else {
      REQUIRE(*r == IngestOutcome::kStored);
      REQUIRE(e.seq() == v.ids.size() + 1);
      v.ids.push_back(e.id);
    }
  }
  CHECK(v.fresh->Head(party).seq == v.ids.size());
  return std::move(*feed);
}

// Every ID ever seen at each seq of UA's feed: acknowledged to a writer, served
// by UA, or held by RU. More than one ID at one seq = that seq was signed twice.
struct SeqRegistry {
  std::map<uint64_t, std::set<Digest>> ids;
  void Add(uint64_t seq, const Digest& id) { ids[seq].insert(id); }
  size_t SignedTwice() const {
    size_t n = 0;
    for (const auto& [seq, s] : ids) n += s.size() > 1;
    return n;
  }
};


// --- disk full ----------------------------------------------------------------

// A tmpfs of `size` mounted on `dir` (created if missing), unmounted again on
// destruction. Mounting needs root; mounted() says whether it worked.
class Tmpfs {
 public:
  Tmpfs(const fs::path& dir, const std::string& size) : dir_(dir) {
    fs::create_directories(dir);
    const std::string opts = "size=" + size + ",mode=0700";
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  uint64_t FreeBytes() const {
    struct statvfs v {};
    if (::statvfs(dir_.c_str(), &v) != 0) return 0;
    return static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

// The operator service without OperatorClient's retries and error mapping,
// to see the gRPC status code a node answers with.
class RawOperator {
 public:
  explicit RawOperator(const fs::path& socket)
      : stub_(v1::Operator::NewStub(grpc::CreateChannel("unix:" + fs::absolute(socket).string(),
                                                        grpc::InsecureChannelCredentials()))) {}
  grpc::Status Submit(const v1::Entry& body, const std::string& request_id, v1::SubmitResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.set_wait_for_ready(true);
    v1::SubmitRequest req;
    req.set_request_id(request_id);
    *req.mutable_body() = body;
    return stub_->Submit(&ctx, req, resp);
  }

 private:
  std::unique_ptr<v1::Operator::Stub> stub_;
};

std::string CodeName(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    default: return "code " + std::to_string(static_cast<int>(c));
  }
}

// UA alone (its peer address is a port nobody listens on) with its data
// folder on a 4 MiB tmpfs, most of it taken by a filler file written first.
struct DiskFullRig {
  test::TempDir root;
  test::NodeProcess ua{root.path(), kUA, test::FreePort(), "127.0.0.1:" + std::to_string(test::FreePort())};
  Tmpfs tmpfs{ua.dir() / "data", "4m"};
  fs::path filler = ua.dir() / "data" / "filler";
  std::vector<Ack> acked;
  grpc::Status failure;  // the first failed Submit
  const std::string text = std::string(kMaxTextBytes - 64, 'x');  // near-largest statements fill the disk fast

  ~DiskFullRig() { ua.Kill(); }  // before the tmpfs goes

  // Leaves `free_bytes` free on the tmpfs. False if it cannot.
  bool Fill(uint64_t free_bytes) {
    const uint64_t avail = tmpfs.FreeBytes();
    if (avail <= free_bytes) return false;
    std::ofstream out(filler, std::ios::binary);
    const std::string chunk(64 * 1024, '\0');
    for (uint64_t left = avail - free_bytes; left > 0;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
      out.write(chunk.data(), static_cast<std::streamsize>(n));
      left -= n;
    }
    out.close();
    return out.good() || fs::exists(filler);
  }

  // Submits ~16 KiB statements until one fails (at most `max`).
  void AppendUntilFailure(RawOperator& op, int max) {
    for (int i = 0; i < max; ++i) {
      const std::string rid = "fill-" + std::to_string(i);
      v1::SubmitResponse resp;
      grpc::Status s = op.Submit(test::Say(rid + " " + text), rid, &resp);
      if (!s.ok()) {
        failure = s;
        return;
      }
      acked.push_back({rid, *Digest::FromBytes(resp.id()), resp.seq()});
    }
  }

  // UA's feed verifies entry by entry and ends exactly at the last
  // acknowledged entry: nothing partial, nothing unacknowledged, nothing lost.
  void CheckFeedEndsAtLastAck() {
    auto client = ua.Client();
    auto feed = client->ReadFeed(test::TheCharter(), kUA);
    REQUIRE_MESSAGE(feed.has_value(), Why(feed));
    CHECK(feed->size() == acked.size());
    VerifiedFeed v;
    for (const DecodedEntry& e : *feed) {
      auto r = v.fresh->Ingest(e.envelope);
      REQUIRE_MESSAGE(r.has_value(), "seq ", e.seq(), ": ", Why(r));
      CHECK(*r == IngestOutcome::kStored);
    }
    for (const Ack& a : acked) {
      CHECK((a.seq <= feed->size() && (*feed)[a.seq - 1].id == a.id));
    }
    const FeedHead head = ua.HeadOf(kUA);
    CHECK(head.seq == acked.size());
    if (!acked.empty()) CHECK(head.id == acked.back().id);
  }
};

// --- partition ------------------------------------------------------------------

// A network namespace of its own with its loopback up, entered only around
// the start of the two nodes: both then listen and talk on *its* 127.0.0.1,
// while their operator sockets (Unix sockets in the file system) stay
// reachable from the test. Cut() makes that loopback drop every packet (a
// pfifo qdisc of length 0 via tc, else the loopback is set down) and Heal()
// undoes it. Needs CAP_SYS_ADMIN and CAP_NET_ADMIN.
class PrivateNetwork {
 public:
  PrivateNetwork() {
    orig_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig_ < 0) { why_ = std::string("open own netns: ") + std::strerror(errno); return; }
    if (::unshare(CLONE_NEWNET) != 0) { why_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno); return; }
    ns_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const bool up = SetLoopbackUp(true);
    if (::setns(orig_, CLONE_NEWNET) != 0) std::abort();  // the test thread must not stay in it
    if (ns_ < 0) { why_ = "cannot open the new netns"; return; }
    if (!up) { why_ = std::string("cannot set loopback up: ") + std::strerror(errno); return; }
    ok_ = true;
  }
  ~PrivateNetwork() {
    if (ns_ >= 0) ::close(ns_);
    if (orig_ >= 0) ::close(orig_);
  }
  PrivateNetwork(const PrivateNetwork&) = delete;
  PrivateNetwork& operator=(const PrivateNetwork&) = delete;

  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }

  // While alive, the calling thread is inside the namespace.
  class Inside {
   public:
    explicit Inside(PrivateNetwork& n) : n_(n) { REQUIRE(::setns(n_.ns_, CLONE_NEWNET) == 0); }
    ~Inside() {
      if (::setns(n_.orig_, CLONE_NEWNET) != 0) std::abort();
    }

   private:
    PrivateNetwork& n_;
  };

  // Cuts the loopback; returns how ("" if it could not).
  std::string Cut() {
    if (Run({"tc", "qdisc", "add", "dev", "lo", "root", "pfifo", "limit", "0"}) == 0) {
      how_ = "tc pfifo limit 0 on lo: every packet dropped";
    } else if (InNs([&] { return SetLoopbackUp(false); })) {
      how_ = "loopback set down: no route, packets dropped";
    } else {
      how_.clear();
    }
    return how_;
  }
  bool Heal() {
    if (how_.rfind("tc", 0) == 0) return Run({"tc", "qdisc", "del", "dev", "lo", "root"}) == 0;
    return InNs([&] { return SetLoopbackUp(true); });
  }

 private:
  static bool SetLoopbackUp(bool up) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    bool ok = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
    if (ok) {
      ifr.ifr_flags = static_cast<short>(up ? (ifr.ifr_flags | IFF_UP | IFF_RUNNING) : (ifr.ifr_flags & ~IFF_UP));
      ok = ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    }
    ::close(fd);
    return ok;
  }
  template <class F>
  bool InNs(F&& f) {
    if (::setns(ns_, CLONE_NEWNET) != 0) return false;
    const bool r = f();
    if (::setns(orig_, CLONE_NEWNET) != 0) std::abort();
    return r;
  }
  // Runs a command (found in /usr/sbin, /sbin, /usr/bin or /bin) inside the namespace.
  // Everything the child needs is built before the fork: the child of this
  // multithreaded process must not touch the heap (see Spawn in
  // node_harness.h); it joins the namespace (setns) before it execs.
  int Run(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> paths;
    for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) paths.push_back(dir + args[0]);
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setns(ns_, CLONE_NEWNET) != 0) ::_exit(126);
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      for (const auto& path : paths) ::execv(path.c_str(), argv.data());
      ::_exit(127);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  }

  int orig_ = -1, ns_ = -1;
  bool ok_ = false;
  std::string why_, how_;
};

// Reads both feeds of `node` and ingests them into a fresh read-only ledger
// (interleaved, as their `seen` links require). True if every entry of both
// verifies.
bool BothFeedsVerify(test::NodeProcess& node, size_t* total) {
  auto client = node.Client();
  std::vector<DecodedEntry> feeds[2];
  for (PartyIndex p = 0; p < 2; ++p) {
    auto f = client->ReadFeed(test::TheCharter(), p);
    if (!f) return false;
    feeds[p] = std::move(*f);
  }
  VerifiedFeed v;
  size_t next[2] = {0, 0};
  for (bool progress = true; progress;) {
    progress = false;
    for (PartyIndex p = 0; p < 2; ++p) {
      while (next[p] < feeds[p].size()) {
        auto r = v.fresh->Ingest(feeds[p][next[p]].envelope);
        if (!r || *r != IngestOutcome::kStored) break;
        ++next[p];
        progress = true;
      }
    }
  }
  *total = next[0] + next[1];
  return next[0] == feeds[0].size() && next[1] == feeds[1].size();
}

TEST_SUITE("e2e") {

// ---------------------------------------------------------------------------
// 1. kill -9 loop
// ---------------------------------------------------------------------------

TEST_CASE("fault: UA killed with SIGKILL 100 times under 2-4 concurrent writers: nothing acknowledged lost, no seq signed twice") {
  const auto started = Clock::now();
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());

  constexpr int kCycles = 100;
  // A bound on the whole test for heavily loaded machines: most of a cycle is
  // the node's own start (Argon2id key unlock, LevelDB open) and the client's
  // fixed retry schedule; past the budget the loop stops early and says so.
  constexpr double kBudgetSeconds = 150;
  std::mt19937 rng(20250609);
  std::uniform_int_distribution<int> delay_ms(5, 40);
  std::uniform_int_distribution<int> writer_count(2, 4);

  std::vector<Ack> acked;
  SeqRegistry registry;
  VerifiedFeed ua_view;  // UA's feed as UA serves it
  uint64_t ru_have = 0;  // how much of UA's feed RU's copy holds, as read so far
  int calls = 0, failed_calls = 0, writers_total = 0;
  uint64_t ru_behind_sum = 0;
  double t_wait = 0, t_write = 0, t_restart = 0, t_join = 0, t_verify = 0;

  int cycles = 0;
  int ru_live = 0;  // cycles that began with RU subscribed and caught up
  for (int cycle = 0; cycle < kCycles && SecondsSince(started) < kBudgetSeconds; ++cycle, ++cycles) {
    CAPTURE(cycle);
    // RU should be subscribed when the writers start, so that it receives
    // entries live and would hold any entry UA signed, served and then lost.
    auto tw = Clock::now();
    const bool live = test::Eventually(
        [&] {
          auto st = n.ru.Client()->GetStatus();
          return st && st->peer().connected() && n.Converged();
        },
        Ms(1500));
    ru_live += live;
    t_wait += std::chrono::duration<double>(Clock::now() - tw).count();
    const int writers = writer_count(rng);
    const Ms delay(delay_ms(rng));
    writers_total += writers;

    // Writers, each with its own operator connection and unique request ids.
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<Ack> cycle_acks;
    std::vector<std::string> errors;
    std::vector<std::unique_ptr<OperatorClient>> clients;
    for (int w = 0; w < writers; ++w) clients.push_back(n.ua.Client());
    auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        OperatorClient& client = *clients[w];
        for (int i = 0; !stop.load(); ++i) {
          const std::string rid = "c" + std::to_string(cycle) + "-w" + std::to_string(w) + "-" + std::to_string(i);
          auto r = client.Submit(test::Say(rid), rid);
          std::lock_guard lock(mu);
          ++calls;
          if (!r) {
            ++failed_calls;
            errors.push_back(r.error().ToString());
            break;  // the node is gone for longer than the client retries
          }
          cycle_acks.push_back({rid, *Digest::FromBytes(r->id()), r->seq()});
        }
      });
    }
    std::this_thread::sleep_for(delay);
    stop = true;
    n.ua.Kill();
    auto t1 = Clock::now();
    // A call cut off by the kill is retried by OperatorClient::Submit with the
    // same request id; restarting before joining lets it reach the new process.
    // (30 s: under ASan on a busy 2-core machine a start has once taken
    // longer than the default 10 s.)
    const bool restarted = n.ua.Start(std::chrono::seconds(30));
    auto t2 = Clock::now();
    for (auto& t : threads) t.join();
    auto t3 = Clock::now();
    if (!restarted) {
      const std::string log = test::ReadText(n.ua.log());
      FAIL_CHECK("UA did not restart in 30 s; the process: ", n.ua.Diagnose(), "\nthe end of its log:\n",
                 log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
    }
    REQUIRE(restarted);
    CHECK_MESSAGE(errors.empty(), errors.front());

    // UA's feed: the new part verifies as a chain continuing what was
    // verified before (same ID at the last verified seq).
    auto ua = n.ua.Client();
    for (const DecodedEntry& e : ReadAndVerify(*ua, kUA, ua_view)) registry.Add(e.seq(), e.id);
    for (const Ack& a : cycle_acks) {
      registry.Add(a.seq, a.id);
      acked.push_back(a);
    }
    // Every acknowledged entry, of every cycle so far, is at its seq.
    size_t missing = 0;
    for (const Ack& a : acked) {
      if (a.seq == 0 || a.seq > ua_view.ids.size() || ua_view.ids[a.seq - 1] != a.id) ++missing;
    }
    REQUIRE_MESSAGE(missing == 0, missing, " acknowledged entries missing from UA's feed");

    // RU's copy of UA's feed: everything it received since the last look.
    auto ru = n.ru.Client();
    auto ru_new = ru->ReadFeed(test::TheCharter(), kUA, ru_have + 1);
    REQUIRE_MESSAGE(ru_new.has_value(), Why(ru_new));
    for (const DecodedEntry& e : *ru_new) {
      REQUIRE(e.seq() == ru_have + 1);
      ++ru_have;
      registry.Add(e.seq(), e.id);
    }
    ru_behind_sum += ua_view.ids.size() - std::min<uint64_t>(ru_have, ua_view.ids.size());
    REQUIRE_MESSAGE(registry.SignedTwice() == 0, "a seq of UA's feed was signed twice");
    auto ru_status = ru->GetStatus();
    REQUIRE(ru_status.has_value());
    REQUIRE(ru_status->fork_proofs() == 0);
    REQUIRE(ru_status->alarms_size() == 0);
    auto ua_status = ua->GetStatus();
    REQUIRE(ua_status.has_value());
    REQUIRE_MESSAGE(ua_status->alarms_size() == 0, ua_status->alarms(0));
    auto t4 = Clock::now();

    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    t_write += secs(t0, t1);
    t_restart += secs(t1, t2);
    t_join += secs(t2, t3);
    t_verify += secs(t3, t4);
  }

  // At the end: RU catches up, holds exactly UA's feed, and a full re-read of
  // both copies verifies from scratch.
  CHECK(test::Eventually([&] { return n.Converged(); }, std::chrono::seconds(15)));
  auto ua_feed = n.ua.Client()->ReadFeed(test::TheCharter(), kUA);
  auto ru_feed = n.ru.Client()->ReadFeed(test::TheCharter(), kUA);
  REQUIRE(ua_feed.has_value());
  REQUIRE(ru_feed.has_value());
  REQUIRE(ua_feed->size() == ru_feed->size());
  REQUIRE(ua_feed->size() == ua_view.ids.size());
  VerifiedFeed full;
  for (size_t i = 0; i < ua_feed->size(); ++i) {
    CHECK((*ua_feed)[i].envelope == (*ru_feed)[i].envelope);
    CHECK((*ua_feed)[i].id == ua_view.ids[i]);
    registry.Add((*ru_feed)[i].seq(), (*ru_feed)[i].id);
    auto r = full.fresh->Ingest((*ua_feed)[i].envelope);
    REQUIRE_MESSAGE(r.has_value(), Why(r));
    REQUIRE(*r == IngestOutcome::kStored);
  }
  for (auto* node : {&n.ua, &n.ru}) {
    auto st = node->Client()->GetStatus();
    REQUIRE(st.has_value());
    CHECK(st->fork_proofs() == 0);
    CHECK(st->alarms_size() == 0);
  }
  size_t lost = 0;
  std::set<std::string> requests;
  for (const Ack& a : acked) {
    if (a.seq > ua_feed->size() || (*ua_feed)[a.seq - 1].id != a.id) ++lost;
    requests.insert(a.request_id);
  }
  const size_t signed_twice = registry.SignedTwice();
  CHECK(lost == 0);
  CHECK(signed_twice == 0);
  CHECK(requests.size() == acked.size());
  CHECK(cycles >= 20);
  CHECK(acked.size() >= static_cast<size_t>(cycles));
  MESSAGE(cycles, " cycles, ", acked.size(), " acknowledged entries, ", lost, " lost, ", signed_twice,
          " seq signed twice");
  if (cycles < kCycles) MESSAGE("  stopped after ", cycles, " of ", kCycles, " cycles: time budget of ", kBudgetSeconds, " s");
  MESSAGE("  ", calls, " Submit calls (", failed_calls, " failed), ", writers_total, " writer threads, UA head ",
          ua_feed->size(), "; RU subscribed and caught up at the start of ", ru_live, " cycles, behind by ",
          static_cast<double>(ru_behind_sum) / cycles, " entries on average at the checks; ", SecondsSince(started),
          " s in all");
  MESSAGE("  per cycle (ms): waiting for RU ", 1000 * t_wait / cycles, ", writing ", 1000 * t_write / cycles,
          ", restart ", 1000 * t_restart / cycles, ", writers' retries after the restart ", 1000 * t_join / cycles,
          ", checks ", 1000 * t_verify / cycles);
}


// ---------------------------------------------------------------------------
// 2. disk full
// ---------------------------------------------------------------------------

// The write that hits ENOSPC fails its Submit with RESOURCE_EXHAUSTED and a
// message that says the disk is full and what to do; what it signed is
// nowhere. Until space is freed every Submit fails the same way and nothing
// is signed; once it is, the next Submit reopens the store and signs the next
// seq, without a restart. Reads keep working throughout.
TEST_CASE("fault: disk full: RESOURCE_EXHAUSTED, and appends resume without a restart once space is freed") {
  const auto started = Clock::now();
  DiskFullRig rig;
  if (!rig.tmpfs.mounted()) {
    MESSAGE("cannot mount a tmpfs (", rig.tmpfs.error(), "): disk-full test skipped");
    return;
  }
  REQUIRE(rig.Fill(1536 * 1024));
  REQUIRE(rig.ua.Start());
  RawOperator op(rig.ua.socket());
  rig.AppendUntilFailure(op, 1000);
  REQUIRE_MESSAGE(!rig.failure.ok(), "1000 statements of ~16 KiB fitted in 1.5 MiB");
  CHECK(rig.acked.size() > 0);
  const std::string msg = rig.failure.error_message();
  MESSAGE("disk full after ", rig.acked.size(), " entries (", rig.tmpfs.FreeBytes() / 1024, " KiB free): ",
          CodeName(rig.failure.error_code()), ": ", msg);
  CHECK(rig.failure.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(msg.rfind("disk full: no space left on the data folder's disk", 0) == 0);  // not a bare IO error
  CHECK(msg.find("free space and retry") != std::string::npos);
  CHECK(msg.find("No space left on device") != std::string::npos);
  // Nothing partial: the feed ends at the last acknowledged entry and every
  // stored entry verifies (reads work while the disk is full).
  rig.CheckFeedEndsAtLastAck();

  // While full: refused the same way, nothing signed.
  v1::SubmitResponse resp;
  auto t = Clock::now();
  grpc::Status full = op.Submit(test::Say("while-full " + rig.text), "while-full", &resp);
  const double full_ms = 1000 * SecondsSince(t);
  MESSAGE("next Submit while full (", full_ms, " ms): ", CodeName(full.error_code()), ": ", full.error_message());
  CHECK(full.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(full.error_message().rfind("disk full: ", 0) == 0);
  if (full.ok()) rig.acked.push_back({"while-full", *Digest::FromBytes(resp.id()), resp.seq()});
  rig.CheckFeedEndsAtLastAck();
  // `parley status` says why signing stopped; no other alarm, no fork proof.
  auto st = rig.ua.Client()->GetStatus();
  REQUIRE(st.has_value());
  CHECK(st->fork_proofs() == 0);
  REQUIRE(st->alarms_size() == 1);
  CHECK(st->alarms(0).find("disk full") != std::string::npos);
  MESSAGE("status while full: ", st->alarms(0));

  // Space freed, no restart: the next Submit signs the next seq.
  REQUIRE(fs::remove(rig.filler));
  t = Clock::now();
  grpc::Status freed = op.Submit(test::Say("after-free"), "after-free", &resp);
  const double freed_ms = 1000 * SecondsSince(t);
  REQUIRE_MESSAGE(freed.ok(), CodeName(freed.error_code()), ": ", freed.error_message());
  CHECK(resp.seq() == rig.acked.size() + 1);
  rig.acked.push_back({"after-free", *Digest::FromBytes(resp.id()), resp.seq()});
  MESSAGE("space freed: appends resume without a restart at seq ", resp.seq(), " (first Submit ", freed_ms,
          " ms, store reopened)");
  // The retry of the refused request signs it now, once.
  grpc::Status retried = op.Submit(test::Say("while-full " + rig.text), "while-full", &resp);
  REQUIRE_MESSAGE(retried.ok(), CodeName(retried.error_code()), ": ", retried.error_message());
  CHECK(resp.seq() == rig.acked.size() + 1);
  rig.acked.push_back({"while-full", *Digest::FromBytes(resp.id()), resp.seq()});
  rig.CheckFeedEndsAtLastAck();
  auto after = rig.ua.Client()->GetStatus();
  REQUIRE(after.has_value());
  CHECK_MESSAGE(after->alarms_size() == 0, after->alarms(0));
  CHECK(after->fork_proofs() == 0);

  // And all of it survives a restart.
  CHECK(rig.ua.Stop() == 0);
  REQUIRE_MESSAGE(rig.ua.Start(), "UA does not start again on the freed disk: ", test::ReadText(rig.ua.log()));
  rig.CheckFeedEndsAtLastAck();
  RawOperator op2(rig.ua.socket());
  grpc::Status resumed = op2.Submit(test::Say("after-restart"), "after-restart", &resp);
  REQUIRE_MESSAGE(resumed.ok(), CodeName(resumed.error_code()), ": ", resumed.error_message());
  CHECK(resp.seq() == rig.acked.size() + 1);
  rig.acked.push_back({"after-restart", *Digest::FromBytes(resp.id()), resp.seq()});
  rig.CheckFeedEndsAtLastAck();
  MESSAGE("after a restart the feed is intact (", rig.acked.size(), " entries); ", SecondsSince(started), " s in all");
}

// ---------------------------------------------------------------------------
// 3. partition
// ---------------------------------------------------------------------------

// Both nodes run in a network namespace of their own and talk over its
// loopback; the test cuts that loopback (every packet dropped, connections
// left open as on a real cut link) while both keep signing, including an
// acceptance of each other's proposal and, on RU, a withdrawal of the proposal
// UA is accepting meanwhile. After the link heals they converge to the same
// two feeds and the same view.
TEST_CASE("fault: partition: both nodes sign while cut off, then converge to identical feeds and views") {
  const auto started = Clock::now();
  PrivateNetwork net;
  if (!net.ok()) {
    MESSAGE("no private network namespace (", net.why(), "): partition test skipped");
    return;
  }
  test::NodePair n;
  {
    PrivateNetwork::Inside inside(net);
    REQUIRE(n.ua.Start());
    REQUIRE(n.ru.Start());
  }
  auto decode = [](const v1::SubmitResponse& r) { return DecodeEntry(r.envelope(), test::TheCharter()).value(); };
  auto p_ua = n.ua.Client()->Submit(test::Propose(test::RemainsTerms(kUA, 12, test::kT0 + 86400000)), "ua-proposal");
  REQUIRE_MESSAGE(p_ua.has_value(), Why(p_ua));
  auto p_ru = n.ru.Client()->Submit(test::Propose(test::RemainsTerms(kRU, 34, test::kT0 + 86400000)), "ru-proposal");
  REQUIRE_MESSAGE(p_ru.has_value(), Why(p_ru));
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  const uint64_t ua_before = n.ua.HeadOf(kUA).seq, ru_before = n.ru.HeadOf(kRU).seq;

  const std::string how = net.Cut();
  REQUIRE_MESSAGE(!how.empty(), "cannot cut the namespace's loopback");
  const auto cut_at = Clock::now();

  std::vector<Ack> acks[2];
  std::string errors[2];
  auto writer = [&](PartyIndex p) {
    auto client = (p == kUA ? n.ua : n.ru).Client();
    for (int i = 0; i < 40; ++i) {
      const std::string rid = std::string(p == kUA ? "ua" : "ru") + "-cut-" + std::to_string(i);
      v1::Entry body = test::Say(rid);
      if (i == 10) body = test::Accept(decode(p == kUA ? *p_ru : *p_ua));
      if (i == 20 && p == kRU) body = test::Withdraw(decode(*p_ru));
      auto r = client->Submit(body, rid);
      if (!r) {
        errors[p] = rid + ": " + r.error().ToString();
        return;
      }
      acks[p].push_back({rid, *Digest::FromBytes(r->id()), r->seq()});
      std::this_thread::sleep_for(Ms(25));
    }
  };
  std::thread ua_writer(writer, kUA), ru_writer(writer, kRU);
  ua_writer.join();
  ru_writer.join();
  CHECK_MESSAGE(errors[kUA].empty(), errors[kUA]);
  CHECK_MESSAGE(errors[kRU].empty(), errors[kRU]);
  REQUIRE(acks[kUA].size() == 40);
  REQUIRE(acks[kRU].size() == 40);

  // The cut lasts at least 3 s (long enough for TCP's retransmission backoff
  // to grow), and nothing crossed it.
  std::this_thread::sleep_until(std::max(cut_at + Ms(3000), Clock::now() + Ms(500)));
  CHECK(n.ru.HeadOf(kUA).seq == ua_before);
  CHECK(n.ua.HeadOf(kRU).seq == ru_before);
  auto ua_st = n.ua.Client()->GetStatus();
  auto ru_st = n.ru.Client()->GetStatus();
  REQUIRE(ua_st.has_value());
  REQUIRE(ru_st.has_value());
  const double cut_for = SecondsSince(cut_at);

  REQUIRE(net.Heal());
  const auto healed_at = Clock::now();
  const bool converged = test::Eventually([&] { return n.Converged(); }, std::chrono::seconds(30));
  const double converge_s = SecondsSince(healed_at);
  REQUIRE_MESSAGE(converged, "not converged 30 s after the link healed");

  // Both feeds complete and identical on both nodes.
  for (PartyIndex p = 0; p < 2; ++p) {
    auto at_ua = n.ua.Client()->ReadFeed(test::TheCharter(), p);
    auto at_ru = n.ru.Client()->ReadFeed(test::TheCharter(), p);
    REQUIRE(at_ua.has_value());
    REQUIRE(at_ru.has_value());
    REQUIRE(at_ua->size() == at_ru->size());
    for (size_t i = 0; i < at_ua->size(); ++i) CHECK((*at_ua)[i].envelope == (*at_ru)[i].envelope);
    for (const Ack& a : acks[p]) {
      CHECK((a.seq <= at_ua->size() && (*at_ua)[a.seq - 1].id == a.id));
    }
    CHECK(at_ua->size() == (p == kUA ? ua_before : ru_before) + 40);
  }
  size_t ua_total = 0, ru_total = 0;
  CHECK(BothFeedsVerify(n.ua, &ua_total));
  CHECK(BothFeedsVerify(n.ru, &ru_total));
  CHECK(ua_total == ru_total);

  auto ua_list = n.ua.Cli({"list", "--json"});
  auto ru_list = n.ru.Cli({"list", "--json"});
  REQUIRE_MESSAGE(ua_list.code == 0, ua_list.err);
  REQUIRE_MESSAGE(ru_list.code == 0, ru_list.err);
  CHECK(ua_list.out == ru_list.out);
  CHECK(ua_list.out.find(ToHex(*Digest::FromBytes(p_ua->id()))) != std::string::npos);
  for (auto* node : {&n.ua, &n.ru}) {
    auto st = node->Client()->GetStatus();
    REQUIRE(st.has_value());
    CHECK(st->fork_proofs() == 0);
    CHECK(st->alarms_size() == 0);
  }
  MESSAGE("partition (", how, ") for ", cut_for, " s; 40 entries signed on each side while cut off; during the cut "
          "UA's status said peer connected=", ua_st->peer().connected(), ", RU's connected=", ru_st->peer().connected(),
          "; converged ", converge_s, " s after the link healed; ", ua_total, " entries in both feeds, identical `list --json`; ",
          SecondsSince(started), " s");
}

// ---------------------------------------------------------------------------
// 4. paused peer
// ---------------------------------------------------------------------------

struct PauseFigures {
  int base_fds = 0, base_threads = 0, max_fds = 0, max_threads = 0;
  std::vector<double> detected;   // seconds to connected=false, or -1
  std::vector<double> recovered;  // seconds from SIGCONT to converged
  std::vector<bool> cli_connected;
};

// Pauses RU `pauses` times for `pause` each. During each pause UA signs 5
// statements (its operator must not depend on RU) and UA's status is polled
// for peer.connected == false; `parley status --json` is read at the end of
// the pause (or at detection). After SIGCONT, RU signs one and both converge.
PauseFigures PauseRepeatedly(test::NodePair& n, int pauses, Ms pause) {
  PauseFigures f;
  auto ua = n.ua.Client();
  auto ru = n.ru.Client();
  for (int i = 0; i < 5; ++i) {
    REQUIRE(ua->Submit(test::Say("warm-ua-" + std::to_string(i)), "warm-ua-" + std::to_string(i)).has_value());
    REQUIRE(ru->Submit(test::Say("warm-ru-" + std::to_string(i)), "warm-ru-" + std::to_string(i)).has_value());
  }
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  std::this_thread::sleep_for(Ms(500));
  const pid_t pid = n.ua.pid();
  f.base_fds = f.max_fds = OpenFds(pid);
  f.base_threads = f.max_threads = Threads(pid);

  for (int k = 0; k < pauses; ++k) {
    CAPTURE(k);
    REQUIRE(::kill(n.ru.pid(), SIGSTOP) == 0);
    const auto t0 = Clock::now();
    for (int i = 0; i < 5; ++i) {
      const std::string rid = "paused-" + std::to_string(k) + "-" + std::to_string(i);
      const auto ts = Clock::now();
      auto r = ua->Submit(test::Say(rid), rid);
      CHECK_MESSAGE(r.has_value(), Why(r));
      CHECK(SecondsSince(ts) < 2.0);
    }
    double detected = -1;
    while (Clock::now() - t0 < pause) {
      auto st = ua->GetStatus();
      if (st && !st->peer().connected()) {
        detected = SecondsSince(t0);
        break;
      }
      std::this_thread::sleep_for(Ms(50));
    }
    f.detected.push_back(detected);
    auto cli = n.ua.Cli({"status", "--json"});
    auto j = nlohmann::json::parse(cli.out, nullptr, false);
    CHECK_MESSAGE((cli.code == 0 && !j.is_discarded()), cli.err);
    f.cli_connected.push_back(!j.is_discarded() && j["peer"]["connected"].get<bool>());
    std::this_thread::sleep_until(t0 + pause);
    REQUIRE(::kill(n.ru.pid(), SIGCONT) == 0);
    const auto t1 = Clock::now();
    const std::string rid = "resumed-" + std::to_string(k);
    auto r = ru->Submit(test::Say(rid), rid);
    CHECK_MESSAGE(r.has_value(), Why(r));
    const bool converged = test::Eventually([&] { return n.Converged(); }, std::chrono::seconds(15));
    CHECK_MESSAGE(converged, "not converged 15 s after SIGCONT");
    f.recovered.push_back(SecondsSince(t1));
    f.max_fds = std::max(f.max_fds, OpenFds(pid));
    f.max_threads = std::max(f.max_threads, Threads(pid));
  }
  return f;
}

std::string Describe(const PauseFigures& f) {
  std::ostringstream o;
  o << "detected after (s):";
  for (double d : f.detected) o << " " << (d < 0 ? std::string("never") : std::to_string(d).substr(0, 4));
  o << "; `status --json` peer.connected at that point:";
  for (bool c : f.cli_connected) o << " " << (c ? "true" : "false");
  o << "; converged after SIGCONT (s):";
  for (double r : f.recovered) o << " " << std::to_string(r).substr(0, 4);
  o << "; UA fds " << f.base_fds << " -> max " << f.max_fds << ", threads " << f.base_threads << " -> max "
    << f.max_threads;
  return o.str();
}

constexpr int kFdSlack = 8;
constexpr int kThreadSlack = 4;

// A paused peer is noticed by HTTP/2 keepalives (replicator.h: a ping after
// 1 s idle, 1 s to answer), so UA's status says "not connected" within 3 s;
// UA keeps signing meanwhile, both catch up after each SIGCONT, and nothing
// piles up in UA over repeated pauses.
TEST_CASE("fault: RU paused with SIGSTOP 5 times for 4 s: detected within 3 s, UA keeps signing, both recover, no fd or thread growth") {
  const auto started = Clock::now();
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  PauseFigures f = PauseRepeatedly(n, 5, Ms(4000));
  for (size_t k = 0; k < f.detected.size(); ++k) {
    CAPTURE(k);
    CHECK(f.detected[k] >= 0);
    CHECK(f.detected[k] <= 3.0);
    CHECK(!f.cli_connected[k]);
  }
  CHECK(f.max_fds <= f.base_fds + kFdSlack);
  CHECK(f.max_threads <= f.base_threads + kThreadSlack);
  MESSAGE("5 pauses of 4 s: ", Describe(f), "; ", SecondsSince(started), " s");
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
