// `parley witness` add-checkpoint throughput (bench/README.md, figure 4):
// the witness process pinned to one core (taskset) serving
// POST /add-checkpoint over HTTP on 127.0.0.1, from concurrent clients, each
// a log growing its own tree and submitting its checkpoints with their
// consistency proofs one after the other, as a real log does. Printed next
// to the raw rate of one Ed25519 verify + one Ed25519 sign on one core
// (libsodium), measured in the same run, and the ratio (target >= 0.5).
//
// Usage: parley_witness_bench [--clients 64[,128...]] [--seconds 5]
//                             [--per-log 3000] [--core 0] [--dir DIR]
#include <httplib.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "crypto/merkle.h"
#include "crypto/sign.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"
#include "node/witness/witness.h"
#include "node_harness.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

SecretKey KeyFor(uint32_t n) {
  Seed s;
  for (size_t i = 0; i < 32; ++i) s.bytes[i] = static_cast<uint8_t>(n * 7 + i);
  s.bytes[0] = static_cast<uint8_t>(n);
  s.bytes[1] = static_cast<uint8_t>(n >> 8);
  return SecretKey::FromSeed(s);
}

void PinTo(const std::vector<int>& cores) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cores) CPU_SET(c, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) std::perror("sched_setaffinity");
}

std::vector<int> OtherCores(int core) {
  std::vector<int> out;
  const int n = static_cast<int>(std::thread::hardware_concurrency());
  for (int c = 0; c < n; ++c) {
    if (c != core) out.push_back(c);
  }
  if (out.empty()) out.push_back(core);
  return out;
}

double ThreadCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct RawRate {
  double per_second = 0;      // wall clock
  double cpu_us_per_op = 0;   // this thread's CPU time per verify + sign
};

// Raw rate of (one Ed25519 verify + one Ed25519 sign) on this thread, of a
// checkpoint-sized message.
RawRate VerifySignRate(double seconds) {
  const SecretKey k = KeyFor(9999);
  const std::string msg = "example.org/log-0\n123456\n" + std::string(44, 'A') + "\n";
  Signature sig = SignRaw(k, msg);
  uint64_t n = 0;
  const double cpu0 = ThreadCpuSeconds();
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    for (int i = 0; i < 64; ++i) {
      if (!VerifyRaw(k.public_key(), msg, sig)) std::abort();
      sig = SignRaw(k, msg);
      ++n;
    }
  }
  RawRate r;
  r.per_second = n / Seconds(start, Clock::now());
  r.cpu_us_per_op = (ThreadCpuSeconds() - cpu0) * 1e6 / static_cast<double>(n);
  return r;
}

// The storage I/O of one state write (§15.5) of `bytes` bytes: a pwrite
// into one of the state file's two regions + fdatasync, then an 80-byte
// mark pwrite + fdatasync. Writes per second.
double DurableWriteRate(const fs::path& dir, size_t bytes, double seconds) {
  const std::string data(bytes, 'x');
  const fs::path file = dir / "raw.state", mark = dir / "raw.hwm";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int mfd = ::open(mark.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  PARLEY_CHECK(fd >= 0 && mfd >= 0);
  PARLEY_CHECK(::pwrite(fd, std::string(2 * bytes, '\0').data(), 2 * bytes, 0) == static_cast<ssize_t>(2 * bytes));
  PARLEY_CHECK(::fsync(fd) == 0);
  uint64_t n = 0;
  const auto start = Clock::now();
  while (Seconds(start, Clock::now()) < seconds) {
    const off_t at = static_cast<off_t>((n % 2) * bytes);
    PARLEY_CHECK(::pwrite(fd, data.data(), data.size(), at) == static_cast<ssize_t>(data.size()));
    PARLEY_CHECK(::fdatasync(fd) == 0);
    PARLEY_CHECK(::pwrite(mfd, data.data(), 80, 0) == 80 && ::fdatasync(mfd) == 0);
    ++n;
  }
  ::close(fd);
  ::close(mfd);
  fs::remove(file);
  fs::remove(mark);
  return n / Seconds(start, Clock::now());
}

// A log: its key, its tree, and its add-checkpoint bodies, made before the
// timed window so the clients' core spends its time on HTTP only.
struct BenchLog {
  std::string origin;
  PublicKey key;
  std::vector<std::string> bodies;  // old 0 → s1, s1 → s2, ...
};

BenchLog MakeLog(uint32_t i, size_t count, uint64_t start_size) {
  const SecretKey key = KeyFor(i);
  BenchLog log{"example.org/bench-log-" + std::to_string(i), key.public_key(), {}};
  std::mt19937 rng(i);
  std::uniform_int_distribution<int> grow(1, 16);
  MerkleTree tree({}, MerkleScheme::kRfc6962);
  uint64_t leaf = 0;
  auto add = [&](uint64_t n) {
    for (uint64_t k = 0; k < n; ++k) tree.Append(Rfc6962LeafHash("entry " + std::to_string(leaf++)));
  };
  add(start_size);
  uint64_t old = 0;
  for (size_t b = 0; b < count; ++b) {
    if (b > 0) add(static_cast<uint64_t>(grow(rng)));
    const std::string text = FormatCheckpoint(Checkpoint{log.origin, tree.size(), tree.root(), {}});
    const std::string note = FormatNote(Note{text, {SignNote(key, log.origin, text)}});
    log.bodies.push_back(FormatAddCheckpoint(
        AddCheckpointRequest{old, old == 0 ? std::vector<Digest>{} : tree.ConsistencyProof(old), note}));
    old = tree.size();
  }
  return log;
}

uint64_t ProcessCpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

struct RunResult {
  uint64_t requests = 0;
  uint64_t errors = 0;
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0;
  double cpu_us_per_request = 0;
  double get_rate = 0, get_cpu_us = 0;  // the monitoring GET: HTTP and threads without the crypto
  uint64_t cosigned = 0;  // the mark's generation: checkpoints cosigned
  bool ran_out = false;
};

RunResult RunOnce(const fs::path& base, int clients, double seconds, size_t per_log, int core) {
  const fs::path dir = base / ("witness-bench-" + std::to_string(::getpid()) + "-" + std::to_string(clients));
  fs::remove_all(dir);
  fs::create_directories(dir / "mark");
  std::printf("  making %d logs x %zu checkpoints (signed, with proofs)...\n", clients, per_log);
  std::fflush(stdout);
  std::vector<BenchLog> logs(static_cast<size_t>(clients));
  {
    std::atomic<int> next{0};
    std::vector<std::thread> makers;
    for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t) {
      makers.emplace_back([&] {
        for (int i; (i = next++) < clients;) logs[i] = MakeLog(static_cast<uint32_t>(i), per_log, 1000);
      });
    }
    for (auto& t : makers) t.join();
  }
  const int port = test::FreePort();
  PARLEY_CHECK(WriteKeyFile(dir / "witness.key", KeyFor(77777), "bench passphrase", InteractiveKdfParams()).ok());
  {
    std::ofstream conf(dir / "witness.conf");
    conf << "name = witness.example/bench\nkey_file = witness.key\npassphrase_env = PARLEY_BENCH_PASSPHRASE\n"
         << "listen = 127.0.0.1:" << port << "\nstate_file = witness.state\nhigh_water_mark = mark/witness.hwm\n";
    for (const auto& l : logs) {
      conf << "log = " << FormatVerifierKey(NoteVerifier{l.origin, NoteKeyType::kEd25519, l.key})
           << "\n";
    }
  }
  ::setenv("PARLEY_BENCH_PASSPHRASE", "bench passphrase", 1);
  test::ChildProcess witness(dir / "witness.log");
  witness.Spawn({"/usr/bin/taskset", "-c", std::to_string(core), PARLEY_BINARY, "witness", "--config",
                 (dir / "witness.conf").string()});
  const pid_t pid = witness.pid();  // taskset execs the witness: the same process
  const bool up = witness.WaitReady([&] {
    httplib::Client c("127.0.0.1", port);
    return static_cast<bool>(c.Get("/" + std::string(64, '0') + "/checkpoint"));
  });
  if (!up) {
    std::fprintf(stderr, "the witness did not start; see %s\n", witness.log().c_str());
    witness.Kill();
    std::exit(1);
  }

  std::atomic<bool> go{false}, stop{false};
  std::atomic<int> ready{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::vector<uint64_t> done(static_cast<size_t>(clients), 0), errors(static_cast<size_t>(clients), 0);
  std::atomic<bool> ran_out{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      c.set_read_timeout(30, 0);
      const BenchLog& log = logs[static_cast<size_t>(i)];
      // The first checkpoint (from old size 0) is sent before the window.
      auto first = c.Post("/add-checkpoint", log.bodies[0], "text/plain");
      if (!first || first->status != 200) {
        std::fprintf(stderr, "log %d, first checkpoint: %s\n", i,
                     first ? (std::to_string(first->status) + " " + first->body).c_str()
                           : httplib::to_string(first.error()).c_str());
        ++errors[i];
      }
      ++ready;
      while (!go) std::this_thread::yield();
      size_t b = 1;
      for (; b < log.bodies.size() && !stop; ++b) {
        const auto t0 = Clock::now();
        auto r = c.Post("/add-checkpoint", log.bodies[b], "text/plain");
        const auto t1 = Clock::now();
        if (stop) break;  // finished after the window: not counted
        if (!r || r->status != 200) {
          if (errors[i]++ == 0) {
            std::fprintf(stderr, "log %d: %s\n", i, r ? (std::to_string(r->status) + " " + r->body).c_str()
                                                      : httplib::to_string(r.error()).c_str());
          }
          break;
        }
        latencies[i].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        ++done[i];
      }
      if (b == log.bodies.size()) {
        ran_out = true;
        stop = true;  // the window ends when the first log has sent all its checkpoints
      }
    });
  }
  while (ready < clients) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const uint64_t cpu0 = ProcessCpuTicks(pid);
  const auto start = Clock::now();
  go = true;
  while (!stop && Seconds(start, Clock::now()) < seconds) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  const auto end = Clock::now();
  const uint64_t cpu1 = ProcessCpuTicks(pid);
  for (auto& t : threads) t.join();

  RunResult r;
  r.seconds = Seconds(start, end);
  std::vector<double> all;
  for (int i = 0; i < clients; ++i) {
    r.requests += done[i];
    r.errors += errors[i];
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
  }
  std::sort(all.begin(), all.end());
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  const double tick_us = 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (r.requests > 0) r.cpu_us_per_request = static_cast<double>(cpu1 - cpu0) * tick_us / static_cast<double>(r.requests);
  r.ran_out = ran_out;

  // Diagnostic: the same clients GET their log's latest checkpoint (the
  // monitoring endpoint: no signature, no write) for 2 s: what the HTTP
  // server and its threads cost per request on this core.
  {
    std::atomic<bool> get_stop{false};
    std::atomic<uint64_t> gets{0};
    std::vector<std::thread> getters;
    const uint64_t g0 = ProcessCpuTicks(pid);
    const auto gstart = Clock::now();
    for (int i = 0; i < clients; ++i) {
      getters.emplace_back([&, i] {
        httplib::Client c("127.0.0.1", port);
        c.set_keep_alive(true);
        c.set_tcp_nodelay(true);
        const std::string path = "/" + ToHex(Sha256(logs[static_cast<size_t>(i)].origin)) + "/checkpoint";
        while (!get_stop) {
          auto g = c.Get(path);
          if (!g || g->status != 200) break;
          gets.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const uint64_t g1 = ProcessCpuTicks(pid);
    const uint64_t counted = gets.load();
    const double gsecs = Seconds(gstart, Clock::now());
    get_stop = true;
    for (auto& t : getters) t.join();
    r.get_rate = counted / gsecs;
    if (counted > 0) r.get_cpu_us = static_cast<double>(g1 - g0) * tick_us / static_cast<double>(counted);
  }
  witness.Stop();
  {
    std::ifstream in(dir / "witness.state", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto s = ReadWitnessState(bytes)) r.cosigned = s->generation;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

int Main(int argc, char** argv) {
  std::vector<int> client_counts = {64};
  double seconds = 5;
  size_t per_log = 3000;
  int core = 0;
  fs::path base = fs::temp_directory_path();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--clients") {
      client_counts.clear();
      std::stringstream ss(v);
      for (std::string item; std::getline(ss, item, ',');) client_counts.push_back(std::stoi(item));
    } else if (a == "--seconds") {
      seconds = std::stod(v);
    } else if (a == "--per-log") {
      per_log = std::stoul(v);
    } else if (a == "--core") {
      core = std::stoi(v);
    } else if (a == "--dir") {
      base = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: parley_witness_bench [--clients 64[,128]] [--seconds 5] [--per-log 3000] "
                         "[--core 0] [--dir DIR]\n");
    return 2;
  }
  fs::create_directories(base);
  std::printf("witness add-checkpoint benchmark: witness on core %d, clients on the others; state in %s\n", core,
              base.c_str());

  std::printf("load average at start: %s (on %u cores; other work on them skews every figure)\n",
              LoadAverage().c_str(), std::thread::hardware_concurrency());
  // Baseline on the witness's core, before the witness runs.
  PinTo({core});
  const RawRate raw_rate = VerifySignRate(2.0);
  const double raw = raw_rate.per_second;
  std::printf("baseline: raw Ed25519 verify + sign on one core (libsodium): %.0f /s (%.1f us CPU each)\n", raw,
              raw_rate.cpu_us_per_op);
  const double io = DurableWriteRate(base, 64 * 400, 2.0);
  std::printf("baseline: raw durable state write (25 KB region pwrite+fdatasync, mark pwrite+fdatasync): %.0f /s\n",
              io);
  PinTo(OtherCores(core));
  std::fflush(stdout);

  struct Row {
    int clients;
    RunResult r;
  };
  std::vector<Row> rows;
  for (int clients : client_counts) {
    std::printf("run: %d logs, one client thread each, %.0f s\n", clients, seconds);
    std::fflush(stdout);
    RunResult r = RunOnce(base, clients, seconds, per_log, core);
    const double rate = r.requests / r.seconds;
    std::printf("  %llu add-checkpoint 200s in %.2f s: %.0f /s; latency p50 %.2f ms, p99 %.2f ms; witness CPU %.1f "
                "us/request (user+system); %llu cosigned in all%s%s\n",
                static_cast<unsigned long long>(r.requests), r.seconds, rate, r.p50_ms, r.p99_ms,
                r.cpu_us_per_request, static_cast<unsigned long long>(r.cosigned), r.errors ? "; ERRORS" : "",
                r.ran_out ? "; a log ran out of checkpoints (raise --per-log)" : "");
    std::fflush(stdout);
    std::printf("  diagnostic, GET <origin hash>/checkpoint from the same clients (HTTP and threads, no crypto, no "
                "write): %.0f /s, witness CPU %.1f us/request\n", r.get_rate, r.get_cpu_us);
    std::fflush(stdout);
    rows.push_back({clients, r});
  }
  std::printf("load average at end: %s\n", LoadAverage().c_str());
  std::printf("\n%-8s %12s %12s %7s %9s %9s %8s %4s %10s\n", "clients", "requests/s", "raw v+s/s", "ratio", "p50 ms",
              "p99 ms", "target", "met", "CPU ratio");
  bool errors = false;
  for (const auto& row : rows) {
    const double rate = row.r.requests / row.r.seconds;
    const bool met = rate / raw >= 0.5 && row.r.errors == 0;
    errors = errors || row.r.errors > 0;
    const double cpu_ratio = row.r.cpu_us_per_request > 0 ? raw_rate.cpu_us_per_op / row.r.cpu_us_per_request : 0;
    std::printf("%-8d %12.0f %12.0f %7.2f %9.2f %9.2f %8s %4s %10.2f\n", row.clients, rate, raw, rate / raw,
                row.r.p50_ms, row.r.p99_ms, ">=0.50", met ? "yes" : "no", cpu_ratio);
  }
  std::printf("ratio: requests/s over the raw rate (the target). CPU ratio: the raw verify + sign's CPU time over\n"
              "the witness's CPU time per request: the ratio it would reach with its core to itself and a disk\n"
              "that is not the limit.\n");
  return errors ? 1 : 0;
}

}  // namespace
}  // namespace parley

int main(int argc, char** argv) { return parley::Main(argc, argv); }
