// parley_bench: end-to-end figures of real `parley node` processes, each next
// to a raw baseline measured in the same run (see bench/README.md).
//
//   1. durable appends/s through the operator API, 1 and 8 clients
//        baseline: LevelDB synced single puts/s, synced 100-entry batches/s
//   2. catch-up of a fresh RU node on a 100,000-entry UA feed, entries/s
//        baseline: libsodium Ed25519 verifies/s, 1 and 2 threads
//   3. live propagation latency UA -> RU (p50, p99)
//        baseline: synced LevelDB put latency (p50) on the same filesystem
//   4. peak RSS (VmHWM) of the RU node during catch-up
//   relay: propagation UA -> relay -> RU (p50, p99) and a fresh RU node's
//        catch-up from a relay, against the direct figures of parts 2 and 3
// plus diagnostics that split each figure into its parts (in-process Ledger
// without gRPC, a no-write RPC, DecodeEntry alone, CPU per process).
//
// Usage: parley_bench [--entries N] [--seconds S] [--statements N]
//                     [--clients 1,8] [--only appends,catchup,latency,relay,witnessed]
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../tests/node_harness.h"
#include "crypto/sign.h"
#include "node/daemon/witnessing.h"
#include "node/ledger/ledger.h"
#include "node/protocol/feed_log.h"
#include "node/store/store.h"

namespace parley::bench {
namespace {

using test::kRU;
using test::kUA;
using test::NodePair;
using test::NodeProcess;
using test::TempDir;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Progress and diagnostics go to stderr; figures to stdout.
template <typename... A>
void Note(const char* fmt, A... a) {
  std::fprintf(stderr, fmt, a...);
  std::fputc('\n', stderr);
}

std::string Fmt(double v, int prec = 0) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(prec) << v;
  return o.str();
}

// A statement body of about the size the brief asks for (~200-byte text).
v1::Entry Body(uint64_t n) {
  std::string text = "bench statement " + std::to_string(n) + ": ";
  while (text.size() < 200) text += "the quick brown fox jumps over the lazy dog; ";
  text.resize(200);
  return test::Say(text);
}

std::string Value200(uint64_t n) {
  std::string v(200, 'x');
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>('a' + (n * 31 + i * 7) % 26);
  return v;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// A "VmHWM:  12345 kB" style line of /proc/<pid>/status, in MB.
double ProcStatusMb(pid_t pid, const std::string& key) {
  std::istringstream in(test::ReadText("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream l(line.substr(key.size() + 1));
      double kb = 0;
      l >> kb;
      return kb / 1024.0;
    }
  }
  return -1;
}

std::string LoadAverage() {
  std::string s = test::ReadText("/proc/loadavg");
  std::istringstream in(s);
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// --- the final table ----------------------------------------------------------

struct Row {
  std::string figure, value, baseline, ratio, target;
  std::optional<bool> met;  // nullopt: informational
};
std::vector<Row> g_rows;

// Direct figures of this run, for the relay part's ratios (0: not measured).
double g_direct_catchup = 0;  // entries/s

void AddRow(std::string figure, std::string value, std::string baseline, std::string ratio, std::string target,
            std::optional<bool> met) {
  g_rows.push_back({std::move(figure), std::move(value), std::move(baseline), std::move(ratio), std::move(target), met});
}

void PrintTable() {
  std::vector<std::string> head = {"figure", "value", "baseline", "ratio", "target", "met?"};
  std::vector<std::vector<std::string>> cells;
  for (const Row& r : g_rows) {
    cells.push_back({r.figure, r.value, r.baseline, r.ratio, r.target, r.met ? (*r.met ? "yes" : "NO") : "-"});
  }
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i) {
    w[i] = head[i].size();
    for (const auto& c : cells) w[i] = std::max(w[i], c[i].size());
  }
  auto line = [&](const std::vector<std::string>& c) {
    std::string s;
    for (size_t i = 0; i < c.size(); ++i) {
      s += c[i];
      if (i + 1 < c.size()) s += std::string(w[i] - c[i].size() + 2, ' ');
    }
    std::printf("%s\n", s.c_str());
  };
  std::printf("\n== summary ==\n");
  line(head);
  std::string rule;
  for (size_t i = 0; i < w.size(); ++i) rule += std::string(w[i], '-') + (i + 1 < w.size() ? "  " : "");
  std::printf("%s\n", rule.c_str());
  for (const auto& c : cells) line(c);
  std::fflush(stdout);
}

// --- baselines ------------------------------------------------------------------

struct LevelDbBaseline {
  double puts_per_s = 0;        // synced single 200-byte puts
  double put_p50_ms = 0;        // latency of one synced put
  double batches_per_s = 0;     // synced 100-entry batches
  double batch_entries_per_s = 0;
  double put_plus_fdatasync_per_s = 0;  // synced put + pwrite/fdatasync of a small side file
};

std::unique_ptr<leveldb::DB> OpenRawDb(const fs::path& dir) {
  leveldb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = true;  // as the node opens its store
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(o, dir.string(), &raw);
  if (!s.ok()) {
    Note("leveldb open failed: %s", s.ToString().c_str());
    std::exit(1);
  }
  return std::unique_ptr<leveldb::DB>(raw);
}

LevelDbBaseline MeasureLevelDb(double seconds) {
  LevelDbBaseline b;
  TempDir dir;  // same filesystem as the nodes' data folders (both under the temp dir)
  auto db = OpenRawDb(dir.path() / "raw");
  leveldb::WriteOptions sync;
  sync.sync = true;
  uint64_t key = 0;
  auto K = [&](uint64_t k) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "k%016" PRIu64, k);
    return std::string(buf);
  };
  for (int i = 0; i < 20; ++i) { db->Put(sync, K(key), Value200(key)); ++key; }  // warm-up

  {  // synced single puts
    std::vector<double> lat;
    auto start = Clock::now();
    uint64_t n = 0;
    while (SecondsSince(start) < seconds) {
      auto t = Clock::now();
      leveldb::Status s = db->Put(sync, K(key), Value200(key));
      ++key;
      lat.push_back(Ms(Clock::now() - t));
      if (!s.ok()) Note("leveldb put: %s", s.ToString().c_str());
      ++n;
    }
    b.puts_per_s = static_cast<double>(n) / SecondsSince(start);
    b.put_p50_ms = Percentile(lat, 0.5);
  }
  {  // synced 100-entry batches
    auto start = Clock::now();
    uint64_t n = 0;
    while (SecondsSince(start) < seconds) {
      leveldb::WriteBatch batch;
      for (int i = 0; i < 100; ++i, ++key) batch.Put(K(key), Value200(key));
      leveldb::Status s = db->Write(sync, &batch);
      if (!s.ok()) Note("leveldb batch: %s", s.ToString().c_str());
      ++n;
    }
    double el = SecondsSince(start);
    b.batches_per_s = static_cast<double>(n) / el;
    b.batch_entries_per_s = 100.0 * static_cast<double>(n) / el;
  }
  {  // what one Append group costs at the storage layer: a synced put plus
     // the high-water mark's 80-byte pwrite + fdatasync of another file
    int fd = ::open((dir.path() / "side.hwm").c_str(), O_RDWR | O_CREAT, 0600);
    char mark[80] = {};
    auto start = Clock::now();
    uint64_t n = 0;
    while (SecondsSince(start) < seconds / 2) {
      db->Put(sync, K(key), Value200(key));
      ++key;
      std::memcpy(mark, &n, sizeof n);
      if (::pwrite(fd, mark, sizeof mark, 0) != sizeof mark || ::fdatasync(fd) != 0) Note("side file write failed");
      ++n;
    }
    b.put_plus_fdatasync_per_s = static_cast<double>(n) / SecondsSince(start);
    ::close(fd);
  }
  return b;
}

struct VerifyBaseline {
  double one_thread = 0;
  double two_threads = 0;
};

VerifyBaseline MeasureVerify(double seconds) {
  SecretKey key = test::PartyKey(kUA);
  std::string msg = Value200(7);
  Signature sig = Sign(key, kEntryDomain, msg);
  PARLEY_CHECK(Verify(key.public_key(), kEntryDomain, msg, sig));
  auto run = [&](int threads) {
    std::atomic<uint64_t> total{0};
    std::vector<std::thread> ts;
    auto start = Clock::now();
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&] {
        uint64_t n = 0;
        bool ok = true;
        while (SecondsSince(start) < seconds) {
          for (int i = 0; i < 64; ++i) ok &= Verify(key.public_key(), kEntryDomain, msg, sig);
          n += 64;
        }
        PARLEY_CHECK(ok);
        total += n;
      });
    }
    for (auto& t : ts) t.join();
    return static_cast<double>(total.load()) / SecondsSince(start);
  };
  VerifyBaseline v;
  v.one_thread = run(1);
  v.two_threads = run(2);
  return v;
}

// --- 1. durable appends through the operator API ---------------------------------

// User and system CPU seconds of a process (from /proc/<pid>/stat).
struct Cpu {
  double user = 0, sys = 0;
  double total() const { return user + sys; }
  Cpu operator-(const Cpu& o) const { return {user - o.user, sys - o.sys}; }
};

Cpu ProcessCpu(pid_t pid) {
  std::string s = test::ReadText("/proc/" + std::to_string(pid) + "/stat");
  size_t close = s.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream in(s.substr(close + 2));
  std::string field;
  Cpu c;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (int i = 3; i <= 15; ++i) {  // field 3 is state; 14 utime, 15 stime
    in >> field;
    if (i == 14) c.user = static_cast<double>(std::stoull(field)) / tick;
    if (i == 15) c.sys = static_cast<double>(std::stoull(field)) / tick;
  }
  return c;
}

std::string CpuNote(const char* who, const Cpu& c, double wall) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %.0f%% (user %.0f%% + sys %.0f%%)", who, 100 * c.total() / wall,
                100 * c.user / wall, 100 * c.sys / wall);
  return buf;
}

struct RunResult {
  double per_s = 0;
  double p50_ms = 0, p99_ms = 0;  // per call
  uint64_t ok = 0, failed = 0;
  double wall = 0;
  Cpu node_cpu, bench_cpu;  // during the run
  std::string first_error;
};

// `threads` threads each call op(thread, n) back to back for `seconds`.
RunResult Hammer(int threads, double seconds, pid_t node_pid, const std::function<void(int)>& setup,
                 const std::function<Status(int, uint64_t)>& op) {
  RunResult r;
  std::mutex mu;
  std::vector<double> lat;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> ts;
  Clock::time_point start;
  for (int c = 0; c < threads; ++c) {
    ts.emplace_back([&, c] {
      setup(c);
      ++ready;
      while (!go) std::this_thread::yield();
      std::vector<double> mine;
      uint64_t ok = 0, failed = 0;
      std::string err;
      for (uint64_t n = 0; SecondsSince(start) < seconds; ++n) {
        auto t = Clock::now();
        Status s = op(c, n);
        mine.push_back(Ms(Clock::now() - t));
        if (s.ok()) {
          ++ok;
        } else {
          ++failed;
          if (err.empty()) err = s.ToString();
        }
      }
      std::lock_guard lock(mu);
      r.ok += ok;
      r.failed += failed;
      lat.insert(lat.end(), mine.begin(), mine.end());
      if (r.first_error.empty()) r.first_error = err;
    });
  }
  while (ready < threads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  Cpu node0 = node_pid > 0 ? ProcessCpu(node_pid) : Cpu{}, self0 = ProcessCpu(::getpid());
  start = Clock::now();
  go = true;
  for (auto& t : ts) t.join();
  r.wall = SecondsSince(start);
  if (node_pid > 0) r.node_cpu = ProcessCpu(node_pid) - node0;
  r.bench_cpu = ProcessCpu(::getpid()) - self0;
  r.per_s = static_cast<double>(r.ok) / r.wall;
  r.p50_ms = Percentile(lat, 0.5);
  r.p99_ms = Percentile(lat, 0.99);
  return r;
}

void PrintRun(const char* what, int threads, const RunResult& r, bool node) {
  const double ops = static_cast<double>(std::max<uint64_t>(r.ok + r.failed, 1));
  const Cpu& cpu = node ? r.node_cpu : r.bench_cpu;
  std::printf("  %-34s %2d thr: %8s/s  (call p50 %.2f ms, p99 %.2f ms; %s CPU per call %.0f us; %s%s%s)\n", what,
              threads, Fmt(r.per_s).c_str(), r.p50_ms, r.p99_ms, node ? "node" : "bench", 1e6 * cpu.total() / ops,
              node ? CpuNote("node", r.node_cpu, r.wall).c_str() : "", node ? ", " : "",
              CpuNote("bench", r.bench_cpu, r.wall).c_str());
  if (r.failed) std::printf("    %" PRIu64 " failed; first error: %s\n", r.failed, r.first_error.c_str());
}

void BenchAppends(double seconds, const std::vector<int>& client_counts, const LevelDbBaseline& ldb) {
  std::printf("\n== 1. durable appends through the operator API (UA node alone, peer down) ==\n");
  // Diagnostic: the same Ledger, in this process, without gRPC (sync=true):
  // what the storage path alone allows, with the high-water mark as the node
  // runs it and without it (its second fdatasync per group).
  for (bool hwm : {true, false}) {
    TempDir dir;
    auto store = OpenLevelDbStore(dir.path() / "data");
    PARLEY_CHECK(store.has_value());
    LedgerOptions o;
    o.self = kUA;
    o.key = test::PartyKey(kUA);
    if (hwm) o.high_water_mark = dir.path() / "key.hwm";
    auto ledger = Ledger::Open(std::move(*store), test::TestCharter(), std::move(o));
    PARLEY_CHECK(ledger.has_value());
    for (int threads : client_counts) {
      if (!hwm && threads != client_counts.back()) continue;
      RunResult r = Hammer(
          threads, seconds / 2, -1, [](int) {},
          [&](int c, uint64_t n) -> Status {
            auto e = (*ledger)->Append(Body(n), WallMs(), "inproc-" + std::to_string(c) + "-" + std::to_string(n));
            return e ? Status::Ok() : e.error();
          });
      PrintRun(hwm ? "in-process Ledger::Append (no gRPC)" : "  same, without high-water mark", threads, r, false);
    }
  }
  NodePair pair;
  if (!pair.ua.Start()) {
    Note("UA node did not start; see %s", pair.ua.log().c_str());
    AddRow("appends/s, 8 clients", "n/a", "", "", ">= 15000/s", false);
    return;
  }
  // Diagnostic: a cheap operator RPC (GetStatus) — the gRPC ceiling.
  for (int clients : client_counts) {
    std::vector<std::unique_ptr<OperatorClient>> cs(clients);
    RunResult r = Hammer(
        clients, 1.0, pair.ua.pid(),
        [&](int c) {
          cs[c] = pair.ua.Client();
          (void)cs[c]->GetStatus();
        },
        [&](int c, uint64_t) -> Status {
          auto st = cs[c]->GetStatus();
          return st ? Status::Ok() : st.error();
        });
    PrintRun("operator GetStatus RPC (no write)", clients, r, true);
  }
  for (int clients : client_counts) {
    std::vector<std::unique_ptr<OperatorClient>> cs(clients);
    const std::string tag = "c" + std::to_string(clients);
    RunResult r = Hammer(
        clients, seconds, pair.ua.pid(),
        [&](int c) {
          cs[c] = pair.ua.Client();
          (void)cs[c]->Submit(Body(0), tag + "-warm-" + std::to_string(c));  // connects the channel
        },
        [&](int c, uint64_t n) -> Status {
          auto resp = cs[c]->Submit(Body(n), tag + "-" + std::to_string(c) + "-" + std::to_string(n));
          return resp ? Status::Ok() : resp.error();
        });
    PrintRun("operator Submit (durable append)", clients, r, true);
    const std::string name = "appends/s, " + std::to_string(clients) + " client" + (clients > 1 ? "s" : "");
    if (clients != 8) {
      AddRow(name, Fmt(r.per_s), Fmt(ldb.puts_per_s) + " synced puts/s", Fmt(r.per_s / ldb.puts_per_s, 2) + "x", "-",
             std::nullopt);
    } else {
      AddRow(name, Fmt(r.per_s), Fmt(ldb.puts_per_s) + " synced puts/s", Fmt(r.per_s / ldb.puts_per_s, 2) + "x",
             ">= 15000/s", r.per_s >= 15000 && r.failed == 0);
      AddRow("  (8 clients vs batch ceiling)", Fmt(r.per_s), Fmt(ldb.batch_entries_per_s) + " batched entries/s",
             Fmt(r.per_s / ldb.batch_entries_per_s, 3) + "x", "-", std::nullopt);
    }
  }
  pair.ua.Stop();
}

// --- 2 & 4. catch-up and the catching-up node's peak RSS -----------------------------

// Writes a UA ledger of `entries` statements directly in the UA node's data
// folder `ua_dir`/data (envelopes by seq into `envelopes` if given).
void BuildUaFeed(const fs::path& ua_dir, uint64_t entries, std::vector<std::string>* envelopes) {
  {
    // The UA data folder written directly through the Ledger, exactly as the
    // node opens it (data/, high-water mark key.hwm next to the key file).
    auto store = OpenLevelDbStore(ua_dir / "data");
    PARLEY_CHECK(store.has_value());
    LedgerOptions o;
    o.self = kUA;
    o.key = test::PartyKey(kUA);
    o.high_water_mark = ua_dir / "key.hwm";
    o.sync = false;
    auto ledger = Ledger::Open(std::move(*store), test::TestCharter(), std::move(o));
    if (!ledger) {
      Note("opening UA ledger: %s", ledger.error().ToString().c_str());
      std::exit(1);
    }
    auto start = Clock::now();
    std::atomic<uint64_t> next{0};
    std::atomic<uint64_t> failures{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 32; ++t) {  // many writers: big groups, few high-water-mark fdatasyncs
      ts.emplace_back([&] {
        for (uint64_t i; (i = next++) < entries;) {
          auto e = (*ledger)->Append(Body(i), WallMs());
          if (!e) {
            if (failures++ == 0) Note("append: %s", e.error().ToString().c_str());
            continue;
          }
          if (envelopes) (*envelopes)[e->seq()] = std::move(e->envelope);
        }
      });
    }
    for (auto& t : ts) t.join();
    PARLEY_CHECK(failures == 0);
    PARLEY_CHECK((*ledger)->Head(kUA).seq == entries);
    std::printf("  built UA ledger directly (Ledger::Append, sync=false, 32 threads): %.1f s, %s entries/s\n",
                SecondsSince(start), Fmt(static_cast<double>(entries) / SecondsSince(start)).c_str());
  }
}

void BenchCatchUp(uint64_t entries, const VerifyBaseline& verify) {
  std::printf("\n== 2. catch-up: fresh RU node pulls a %" PRIu64 "-entry UA feed ==\n", entries);
  NodePair pair;  // writes both key files and charters, starts nothing
  std::vector<std::string> envelopes(entries + 1);  // by seq, for the in-process diagnostics
  BuildUaFeed(pair.ua.dir(), entries, &envelopes);
  // Diagnostics in this process, no node running: decoding alone, and the
  // Ledger's Ingest path on LevelDB without gRPC.
  const uint64_t sample = std::min<uint64_t>(entries, 20000);
  {
    auto start = Clock::now();
    for (uint64_t i = 1; i <= sample; ++i) PARLEY_CHECK(DecodeEntry(envelopes[i], test::TheCharter()).has_value());
    std::printf("  in-process DecodeEntry (parse + verify), 1 thread: %s entries/s\n",
                Fmt(static_cast<double>(sample) / SecondsSince(start)).c_str());
  }
  {
    TempDir dir;
    auto store = OpenLevelDbStore(dir.path() / "data");
    PARLEY_CHECK(store.has_value());
    LedgerOptions o;
    o.self = kRU;
    o.key = test::PartyKey(kRU);
    o.high_water_mark = dir.path() / "key.hwm";
    auto ledger = Ledger::Open(std::move(*store), test::TestCharter(), std::move(o));
    PARLEY_CHECK(ledger.has_value());
    auto start = Clock::now();
    uint64_t i = 1;
    for (; i <= sample && SecondsSince(start) < 3; ++i) {
      auto r = (*ledger)->Ingest(envelopes[i]);
      PARLEY_CHECK(r.has_value() && *r == IngestOutcome::kStored);
    }
    std::printf("  in-process Ledger::Ingest (LevelDB, no gRPC), 1 thread: %s entries/s (%" PRIu64 " entries)\n",
                Fmt(static_cast<double>(i - 1) / SecondsSince(start)).c_str(), i - 1);
  }
  envelopes = {};

  if (!pair.ua.Start()) {
    Note("UA node did not start on the built folder; see %s:\n%s", pair.ua.log().c_str(),
         test::ReadText(pair.ua.log()).c_str());
    std::exit(1);
  }
  if (pair.ua.HeadOf(kUA).seq != entries) {
    Note("UA node reports head %" PRIu64 ", expected %" PRIu64, pair.ua.HeadOf(kUA).seq, entries);
    std::exit(1);
  }
  const Cpu ua_cpu0 = ProcessCpu(pair.ua.pid());
  auto start = Clock::now();
  if (!pair.ru.Start()) {
    Note("RU node did not start; see %s", pair.ru.log().c_str());
    std::exit(1);
  }
  const double started_after = SecondsSince(start);
  // VmHWM right after start already holds the start-up peak (the key file's
  // Argon2id derivation); VmRSS is sampled at every poll during catch-up.
  const double hwm_at_start = ProcStatusMb(pair.ru.pid(), "VmHWM");
  double rss_max = ProcStatusMb(pair.ru.pid(), "VmRSS");
  auto ru = pair.ru.Client();
  uint64_t have = 0;
  auto last_note = Clock::now();
  bool done = false;
  const double timeout_s = 1800;
  while (SecondsSince(start) < timeout_s) {
    auto st = ru->GetStatus();
    if (st) have = st->feeds(kUA).seq();
    rss_max = std::max(rss_max, ProcStatusMb(pair.ru.pid(), "VmRSS"));
    if (have >= entries) {
      done = true;
      break;
    }
    if (SecondsSince(last_note) >= 10) {
      Note("  ... catch-up: %" PRIu64 " / %" PRIu64 " after %.0f s", have, entries, SecondsSince(start));
      last_note = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double el = SecondsSince(start);
  const Cpu ru_cpu = ProcessCpu(pair.ru.pid());
  const Cpu ua_cpu = ProcessCpu(pair.ua.pid()) - ua_cpu0;
  const double rss = ProcStatusMb(pair.ru.pid(), "VmHWM");
  const double ua_rss = ProcStatusMb(pair.ua.pid(), "VmHWM");
  const double rate = static_cast<double>(have) / el;
  const double n = static_cast<double>(std::max<uint64_t>(have, 1));
  std::printf("  RU started in %.2f s; RU holds %" PRIu64 " of %" PRIu64 " UA entries after %.2f s: %s entries/s%s\n",
              started_after, have, entries, el, Fmt(rate).c_str(), done ? "" : "  (TIMED OUT)");
  std::printf("  CPU during catch-up: %s, %s\n", CpuNote("RU node", ru_cpu, el).c_str(),
              CpuNote("UA node", ua_cpu, el).c_str());
  std::printf("  per entry: %.1f us wall; RU %.1f us CPU, UA %.1f us CPU; one verify = %.1f us\n", 1e6 * el / n,
              1e6 * ru_cpu.total() / n, 1e6 * ua_cpu.total() / n, 1e6 / verify.one_thread);
  std::printf("  RU peak RSS (VmHWM) %.1f MB at the end, %.1f MB right after start; largest VmRSS sampled during"
              " catch-up %.1f MB; UA VmHWM %.1f MB\n",
              rss, hwm_at_start, rss_max, ua_rss);
  g_direct_catchup = done ? rate : 0;
  AddRow("catch-up entries/s", Fmt(rate), Fmt(verify.two_threads) + " verifies/s (2 thr)",
         Fmt(rate / verify.two_threads, 3) + "x", ">= 0.8x", done && rate >= 0.8 * verify.two_threads);
  AddRow("  (vs 1-thread verify)", Fmt(rate), Fmt(verify.one_thread) + " verifies/s (1 thr)",
         Fmt(rate / verify.one_thread, 3) + "x", "-", std::nullopt);
  AddRow("RU peak RSS (VmHWM)", Fmt(rss, 1) + " MB", Fmt(hwm_at_start, 1) + " MB VmHWM at start",
         Fmt(rss / hwm_at_start, 2) + "x", "< 100 MB", rss >= 0 && rss < 100);
  AddRow("  (max VmRSS sampled in catch-up)", Fmt(rss_max, 1) + " MB", Fmt(hwm_at_start, 1) + " MB VmHWM at start",
         Fmt(rss_max / hwm_at_start, 2) + "x", "-", std::nullopt);
  pair.ru.Stop();
  pair.ua.Stop();
}

// --- 3. live propagation latency ---------------------------------------------------------

struct Propagation {
  double p50 = 0, p99 = 0;
  bool ok = false;  // every statement arrived
};
std::optional<Propagation> g_direct_latency;  // of this run (part 3)

// Submits `statements` (+ 20 warm-up) on `ua` one at a time, each after the
// previous one arrived on `ru`'s Follow stream of UA's feed; stops both nodes.
Propagation MeasurePropagation(NodeProcess& ua_node, NodeProcess& ru_node, int statements) {
  const int warm = 20;
  const uint64_t last = static_cast<uint64_t>(warm + statements);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<Clock::time_point>> arrived(last + 1);
  std::thread follower([&] {
    auto ru = ru_node.Client();
    Status s = ru->Follow(kUA, 1, [&](const std::string& envelope) {
      auto t = Clock::now();
      v1::SignedEntry se;
      v1::Entry e;
      if (!se.ParseFromString(envelope) || !e.ParseFromString(se.entry())) return true;
      const uint64_t seq = e.seq();
      {
        std::lock_guard lock(mu);
        if (seq < arrived.size()) arrived[seq] = t;
      }
      cv.notify_all();
      return seq < last;
    });
    if (!s.ok()) Note("follow ended: %s", s.ToString().c_str());
  });
  auto ua = ua_node.Client();
  std::vector<double> lat, submit_ms;
  int timeouts = 0, negative = 0;
  const Cpu ua_cpu0 = ProcessCpu(ua_node.pid()), ru_cpu0 = ProcessCpu(ru_node.pid());
  auto start = Clock::now();
  for (uint64_t i = 1; i <= last; ++i) {
    auto t0 = Clock::now();
    auto resp = ua->Submit(Body(i), "lat-" + std::to_string(i));
    auto t1 = Clock::now();
    if (!resp) {
      Note("submit: %s", resp.error().ToString().c_str());
      break;
    }
    const uint64_t seq = resp->seq();
    std::unique_lock lock(mu);
    bool got = seq < arrived.size() &&
               cv.wait_for(lock, std::chrono::seconds(5), [&] { return arrived[seq].has_value(); });
    if (!got) {
      ++timeouts;
      continue;
    }
    if (i <= static_cast<uint64_t>(warm)) continue;
    double ms = Ms(*arrived[seq] - t1);
    if (ms < 0) ++negative;
    lat.push_back(std::max(ms, 0.0));
    submit_ms.push_back(Ms(t1 - t0));
  }
  const double el = SecondsSince(start);
  const Cpu ua_cpu = ProcessCpu(ua_node.pid()) - ua_cpu0, ru_cpu = ProcessCpu(ru_node.pid()) - ru_cpu0;
  ru_node.Stop();  // ends the Follow stream if it is still open
  follower.join();
  ua_node.Stop();
  const double p50 = Percentile(lat, 0.5), p99 = Percentile(lat, 0.99);
  std::printf("  %zu measured (%d warm-up), %d timed out, %d arrived before Submit returned\n", lat.size(), warm,
              timeouts, negative);
  std::printf("  Submit return -> arrival on RU's Follow stream: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
              p50, Percentile(lat, 0.9), p99, Percentile(lat, 1.0));
  std::printf("  Submit round trip on UA: p50 %.3f ms, p99 %.3f ms; over %.1f s: %s, %s\n", Percentile(submit_ms, 0.5),
              Percentile(submit_ms, 0.99), el, CpuNote("UA", ua_cpu, el).c_str(), CpuNote("RU", ru_cpu, el).c_str());
  Propagation out;
  out.p50 = p50;
  out.p99 = p99;
  out.ok = timeouts == 0 && !lat.empty();
  return out;
}

void BenchLatency(int statements, const LevelDbBaseline& ldb) {
  std::printf("\n== 3. live propagation latency UA -> RU (%d statements, one at a time) ==\n", statements);
  NodePair pair;
  if (!pair.ua.Start() || !pair.ru.Start()) {
    Note("nodes did not start");
    AddRow("propagation p50", "n/a", "", "", "<= 1 ms", false);
    return;
  }
  const Propagation r = MeasurePropagation(pair.ua, pair.ru, statements);
  const double p50 = r.p50, p99 = r.p99;
  const bool ok = r.ok;
  if (ok) g_direct_latency = r;
  AddRow("propagation p50", Fmt(p50, 3) + " ms", Fmt(ldb.put_p50_ms, 3) + " ms synced put",
         Fmt(p50 / ldb.put_p50_ms, 2) + "x", "<= 1 ms", ok && p50 <= 1.0);
  AddRow("propagation p99", Fmt(p99, 3) + " ms", Fmt(ldb.put_p50_ms, 3) + " ms synced put",
         Fmt(p99 / ldb.put_p50_ms, 2) + "x", "<= 3 ms", ok && p99 <= 3.0);
}

// --- relay: propagation and catch-up through `parley relay` -----------------------

// A relay and the two nodes configured with `relay = ...` and no `peer`, in
// one temp folder.
struct RelayTrio {
  TempDir root;
  test::RelayProcess relay{root.path(), test::FreePort()};
  NodeProcess ua{root.path(), kUA, test::FreePort(), ""};
  NodeProcess ru{root.path(), kRU, test::FreePort(), ""};
  RelayTrio() {
    ua.SetExtraConfig("relay = " + relay.address() + "\n");
    ru.SetExtraConfig("relay = " + relay.address() + "\n");
  }
};

// Polls `have()` every 20 ms until it reaches `entries` (or 30 minutes);
// the seconds it took, and whether it got there.
double WaitUntil(uint64_t entries, const char* what, const std::function<uint64_t()>& have, bool* done) {
  const auto start = Clock::now();
  auto last_note = start;
  uint64_t n = 0;
  *done = false;
  while (SecondsSince(start) < 1800) {
    n = have();
    if (n != UINT64_MAX && n >= entries) {
      *done = true;
      break;
    }
    if (SecondsSince(last_note) >= 10) {
      Note("  ... %s: %" PRIu64 " / %" PRIu64 " after %.0f s", what, n == UINT64_MAX ? 0 : n, entries,
           SecondsSince(start));
      last_note = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return SecondsSince(start);
}

void BenchRelay(uint64_t entries, int statements) {
  std::printf("\n== relay: UA -> relay -> RU, both nodes configured with `relay` and no `peer` ==\n");
  {  // (a) live propagation, measured as part 3 measures it directly
    RelayTrio t;
    if (!t.relay.Start() || !t.ua.Start() || !t.ru.Start()) {
      Note("relay or nodes did not start; see %s", t.relay.log().c_str());
      AddRow("relay propagation p50", "n/a", "", "", "<= 1.5 ms", false);
    } else {
      std::printf("  live propagation UA -> relay -> RU (%d statements, one at a time):\n", statements);
      const Propagation r = MeasurePropagation(t.ua, t.ru, statements);
      t.relay.Stop();
      const std::string base50 = g_direct_latency ? Fmt(g_direct_latency->p50, 3) + " ms direct" : "n/a";
      const std::string base99 = g_direct_latency ? Fmt(g_direct_latency->p99, 3) + " ms direct" : "n/a";
      std::printf("  relay p50 %.3f ms, p99 %.3f ms; direct (part 3, same run) p50 %s, p99 %s\n", r.p50, r.p99,
                  base50.c_str(), base99.c_str());
      AddRow("relay propagation p50", Fmt(r.p50, 3) + " ms", base50,
             g_direct_latency ? Fmt(r.p50 / g_direct_latency->p50, 2) + "x" : "", "<= 1.5 ms", r.ok && r.p50 <= 1.5);
      AddRow("relay propagation p99", Fmt(r.p99, 3) + " ms", base99,
             g_direct_latency ? Fmt(r.p99 / g_direct_latency->p99, 2) + "x" : "", "<= 5 ms", r.ok && r.p99 <= 5.0);
    }
  }
  // (b) catch-up: UA's node publishes its feed to a fresh relay, then a
  // fresh RU node catches up from the relay.
  RelayTrio t;
  BuildUaFeed(t.ua.dir(), entries, nullptr);
  if (!t.relay.Start()) {
    Note("relay did not start; see %s", t.relay.log().c_str());
    std::exit(1);
  }
  const PeerClient observer = t.relay.ClientAs(test::ObserverKey());
  auto relay_has = [&]() -> uint64_t {
    auto h = observer.GetHeads();
    if (!h) return UINT64_MAX;
    for (const auto& f : h->feeds()) {
      if (f.party() == kUA) return f.seq();
    }
    return 0;
  };
  const Cpu relay_cpu0 = ProcessCpu(t.relay.pid());
  auto start = Clock::now();
  if (!t.ua.Start()) {
    Note("UA node did not start; see %s", t.ua.log().c_str());
    std::exit(1);
  }
  bool published = false;
  const double pub_s = WaitUntil(entries, "publish to the relay", relay_has, &published);
  const double pub_total = SecondsSince(start);
  const Cpu relay_cpu_pub = ProcessCpu(t.relay.pid()) - relay_cpu0;
  std::printf("  UA node publishes %" PRIu64 " entries to the relay: %.2f s from UA's start (%.2f s polling), %s"
              " entries/s%s; %s\n",
              entries, pub_total, pub_s, Fmt(static_cast<double>(entries) / pub_total).c_str(),
              published ? "" : "  (TIMED OUT)", CpuNote("relay", relay_cpu_pub, pub_total).c_str());
  const Cpu relay_cpu1 = ProcessCpu(t.relay.pid());
  start = Clock::now();
  if (!t.ru.Start()) {
    Note("RU node did not start; see %s", t.ru.log().c_str());
    std::exit(1);
  }
  auto ru = t.ru.Client();
  bool caught_up = false;
  WaitUntil(entries, "catch-up from the relay", [&]() -> uint64_t {
    auto st = ru->GetStatus();
    return st ? st->feeds(kUA).seq() : UINT64_MAX;
  }, &caught_up);
  const double el = SecondsSince(start);
  const Cpu ru_cpu = ProcessCpu(t.ru.pid()), relay_cpu = ProcessCpu(t.relay.pid()) - relay_cpu1;
  const double rate = caught_up ? static_cast<double>(entries) / el : 0;
  std::printf("  fresh RU node catches up %" PRIu64 " UA entries from the relay: %.2f s (from RU's start), %s"
              " entries/s%s; %s, %s\n",
              entries, el, Fmt(rate).c_str(), caught_up ? "" : "  (TIMED OUT)", CpuNote("RU", ru_cpu, el).c_str(),
              CpuNote("relay", relay_cpu, el).c_str());
  if (g_direct_catchup > 0) {
    std::printf("  direct catch-up (part 2, same run): %s entries/s; relay / direct = %.3f\n",
                Fmt(g_direct_catchup).c_str(), rate / g_direct_catchup);
  }
  t.ru.Stop();
  t.ua.Stop();
  t.relay.Stop();
  const bool have_direct = g_direct_catchup > 0;
  AddRow("relay catch-up entries/s", Fmt(rate), have_direct ? Fmt(g_direct_catchup) + " direct entries/s" : "n/a",
         have_direct ? Fmt(rate / g_direct_catchup, 3) + "x" : "", ">= 0.7x",
         caught_up && have_direct && rate >= 0.7 * g_direct_catchup);
  AddRow("  (UA -> relay publish entries/s)", Fmt(published ? static_cast<double>(entries) / pub_total : 0),
         have_direct ? Fmt(g_direct_catchup) + " direct entries/s" : "n/a",
         have_direct && published ? Fmt(static_cast<double>(entries) / pub_total / g_direct_catchup, 3) + "x" : "",
         "-", std::nullopt);
}

// --- witnessing: appends with it on vs off ------------------------------------

// In-process Ledger::Append (LevelDB, synced, high-water mark) on a charter
// naming one witness, with the node's witnessing threads off and on. The
// witness is an in-process function that cosigns at once, so what is
// measured is what witnessing costs the append path (tree upkeep, signing
// and storing checkpoints, on their own threads) without the network.
void BenchWitnessedAppends(double seconds) {
  std::printf("\n== witnessing: appends with it on vs off (in-process Ledger, 8 threads) ==\n");
  const SecretKey wkey = SecretKey::FromSeed(test::SeedFrom(0x78));
  CharterDraft d;
  d.title = "bench";
  d.parties[0] = {"UA", "UA", test::PartyKey(kUA).public_key()};
  d.parties[1] = {"RU", "RU", test::PartyKey(kRU).public_key()};
  d.created_ms = test::kT0;
  d.witnesses.push_back({"bench/witness", wkey.public_key(), "http://127.0.0.1:9"});
  std::string charter = NewUnsignedCharter(d).value();
  for (PartyIndex p = 0; p < 2; ++p) charter = Charter::Parse(charter).value().Sign(test::PartyKey(p)).value();
  TempDir dir;
  auto store = OpenLevelDbStore(dir.path() / "data");
  PARLEY_CHECK(store.has_value());
  LedgerOptions o;
  o.self = kUA;
  o.key = test::PartyKey(kUA);
  o.high_water_mark = dir.path() / "key.hwm";
  auto ledger = Ledger::Open(std::move(*store), charter, std::move(o));
  PARLEY_CHECK(ledger.has_value());
  KeyRing keys(test::PartyKey(kUA), nullptr);
  std::atomic<uint64_t> submissions{0};
  Witnessing::SubmitFn submit = [&](const WitnessEndpoint& e, const MerkleTree& tree, const std::string& note,
                                    uint64_t) -> Result<SubmitOutcome> {
    ++submissions;
    auto n = ParseNote(note);
    if (!n) return n.error();
    SubmitOutcome out;
    out.size = tree.size();
    out.timestamp = static_cast<uint64_t>(WallMs() / 1000);
    out.cosignature = Cosign(wkey, e.key.name, n->text, out.timestamp);
    return out;
  };
  Witnessing::GetFn get = [](const std::string&) -> Result<std::string> { return Status(Code::kNotFound, "-"); };
  double rate[2] = {0, 0};
  int runs[2] = {0, 0};
  uint64_t tag = 0;
  for (int round = 0; round < 4; ++round) {
    const bool on = round % 2 == 1;
    CheckpointBook book(**ledger, nullptr);
    PARLEY_CHECK(book.Load().ok());
    std::unique_ptr<Witnessing> w;
    if (on) {
      w = std::make_unique<Witnessing>(**ledger, keys, book, nullptr, submit, get);
      w->Start();
    }
    RunResult r = Hammer(8, seconds / 2, -1, [](int) {}, [&](int c, uint64_t n) -> Status {
      auto e = (*ledger)->Append(Body(n), WallMs(), "w" + std::to_string(tag) + "-" + std::to_string(c) + "-" + std::to_string(n));
      return e ? Status::Ok() : e.error();
    });
    ++tag;
    if (w) w->Stop();
    PrintRun(on ? "Ledger::Append, witnessing on" : "Ledger::Append, witnessing off", 8, r, false);
    rate[on] += r.per_s;
    ++runs[on];
  }
  const double off = rate[0] / runs[0], on = rate[1] / runs[1];
  std::printf("  %" PRIu64 " submissions to the in-process witness while on\n", submissions.load());
  AddRow("appends/s with witnessing on", Fmt(on), Fmt(off) + " off", Fmt(on / off, 2) + "x", ">= 0.9x", on / off >= 0.9);
}

}  // namespace
}  // namespace parley::bench

int main(int argc, char** argv) {
  using namespace parley::bench;
  uint64_t entries = 100000;
  double seconds = 3;
  int statements = 1000;
  std::vector<int> clients = {1, 8};
  std::set<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--entries") entries = std::stoull(next());
    else if (a == "--seconds") seconds = std::stod(next());
    else if (a == "--statements") statements = std::stoi(next());
    else if (a == "--clients") {
      clients.clear();
      std::stringstream ss(next());
      for (std::string p; std::getline(ss, p, ',');) clients.push_back(std::stoi(p));
    } else if (a == "--only") {
      std::stringstream ss(next());
      for (std::string p; std::getline(ss, p, ',');) only.insert(p);
    } else {
      std::fprintf(a == "--help" || a == "-h" ? stdout : stderr,
                   "usage: %s [--entries N] [--seconds S] [--statements N] [--clients 1,8]\n                   [--only appends,catchup,latency,relay,witnessed]\n",
                   argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  auto want = [&](const char* what) { return only.empty() || only.count(what) > 0; };
  ::signal(SIGPIPE, SIG_IGN);
  parley::InitCrypto();

  const std::string load_at_start = LoadAverage();
  std::printf("parley bench: %u CPUs, load average %s, temp dir %s, parley binary %s\n",
              std::thread::hardware_concurrency(), load_at_start.c_str(),
              std::filesystem::temp_directory_path().c_str(), PARLEY_BINARY);
  std::printf("statement: %zu-byte body, signed envelope %zu bytes\n", Body(1).ByteSizeLong(),
              parley::SignEntry(parley::test::PartyKey(parley::test::kUA), [] {
                parley::v1::Entry e = Body(1);
                e.set_ledger_id(parley::test::TheCharter().ledger_id().str());
                e.set_seq(1);
                e.set_prev(parley::test::TheCharter().ledger_id().str());
                e.set_time_ms(WallMs());
                return e;
              }()).envelope.size());

  std::printf("\n== baselines (raw, same run, no node running) ==\n");
  LevelDbBaseline ldb = MeasureLevelDb(std::max(1.0, seconds / 1.5));
  std::printf("  LevelDB synced single 200-byte puts: %s puts/s (p50 %.3f ms)\n", Fmt(ldb.puts_per_s).c_str(),
              ldb.put_p50_ms);
  std::printf("  LevelDB synced 100-entry batches:    %s batches/s = %s entries/s\n", Fmt(ldb.batches_per_s).c_str(),
              Fmt(ldb.batch_entries_per_s).c_str());
  std::printf("  synced put + 80-byte pwrite/fdatasync of a side file (one Append group's I/O): %s/s\n",
              Fmt(ldb.put_plus_fdatasync_per_s).c_str());
  VerifyBaseline verify = MeasureVerify(1.0);
  std::printf("  Ed25519 verify (parley::Verify, 200-byte message): %s/s on 1 thread, %s/s on 2 threads\n",
              Fmt(verify.one_thread).c_str(), Fmt(verify.two_threads).c_str());

  if (want("appends")) BenchAppends(seconds, clients, ldb);
  // The relay part compares with the direct figures of the same run.
  if (want("catchup") || want("relay")) BenchCatchUp(entries, verify);
  if (want("latency") || want("relay")) BenchLatency(statements, ldb);
  if (want("relay")) BenchRelay(entries, statements);
  if (want("witnessed")) BenchWitnessedAppends(seconds);

  // The machine is shared: re-measure the two baselines to show drift.
  std::printf("\n== baselines again (drift check) ==\n");
  LevelDbBaseline again = MeasureLevelDb(1.0);
  VerifyBaseline verify_again = MeasureVerify(0.5);
  std::printf("  LevelDB synced puts/s: %s at start, %s now;  verifies/s (2 thr): %s at start, %s now\n",
              Fmt(ldb.puts_per_s).c_str(), Fmt(again.puts_per_s).c_str(), Fmt(verify.two_threads).c_str(),
              Fmt(verify_again.two_threads).c_str());
  std::printf("  load average at start: %s  now: %s\n", load_at_start.c_str(), LoadAverage().c_str());
  PrintTable();
  return 0;
}
