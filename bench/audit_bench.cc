// Audit throughput and memory on a generated ledger of N entries (default
// 1,000,000), next to the raw Ed25519 verify rate on two threads measured in
// the same run. Usage: parley_audit_bench [N] [dir]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "crypto/hash.h"
#include "crypto/sign.h"
#include "node/report/audit.h"
#include "node/report/bundle.h"
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"

namespace parley {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

SecretKey KeyFor(uint8_t first) {
  Seed s;
  for (size_t i = 0; i < 32; ++i) s.bytes[i] = static_cast<uint8_t>(first + i);
  return SecretKey::FromSeed(s);
}

std::string MakeCharter(const SecretKey& ua, const SecretKey& ru) {
  CharterDraft d;
  d.title = "audit benchmark";
  d.parties[0] = {"UA", "UA", ua.public_key()};
  d.parties[1] = {"RU", "RU", ru.public_key()};
  d.created_ms = 1749340800000;
  std::string bytes = NewUnsignedCharter(d).value();
  bytes = Charter::Parse(bytes).value().Sign(ua).value();
  return Charter::Parse(bytes).value().Sign(ru).value();
}

// Raw libsodium verifies/s of ~200-byte messages on `threads` threads.
double VerifyRate(int threads, double seconds) {
  SecretKey k = KeyFor(1);
  std::string msg(200, 'x');
  Signature sig = Sign(k, "parley/entry/v1", msg);
  std::atomic<uint64_t> total{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      uint64_t n = 0;
      while (!stop) {
        if (!Verify(k.public_key(), "parley/entry/v1", msg, sig)) std::abort();
        ++n;
      }
      total += n;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  return total / Seconds(start, Clock::now());
}

// Writes a valid bundle of n entries: the two parties take turns, each entry
// having seen the other's latest; a few proposals, acceptances and reports,
// the rest short statements.
void Generate(const std::filesystem::path& path, uint64_t n) {
  SecretKey keys[2] = {KeyFor(0x00), KeyFor(0x20)};
  const std::string charter_bytes = MakeCharter(keys[0], keys[1]);
  const Charter charter = Charter::Parse(charter_bytes).value();
  // Build the chain (serialize + hash) sequentially, sign in parallel.
  std::vector<std::string> entries(n);
  Digest heads[2];
  uint64_t seqs[2] = {0, 0};
  int64_t t = 1749340800000;
  for (uint64_t i = 0; i < n; ++i) {
    const PartyIndex p = static_cast<PartyIndex>(i % 2);
    v1::Entry e;
    e.set_ledger_id(charter.ledger_id().str());
    e.set_author(p);
    e.set_seq(++seqs[p]);
    e.set_prev(seqs[p] == 1 ? charter.ledger_id().str() : heads[p].str());
    if (seqs[1 - p] > 0) {
      e.mutable_seen()->set_seq(seqs[1 - p]);
      e.mutable_seen()->set_id(heads[1 - p].str());
    }
    e.set_time_ms(t + static_cast<int64_t>(i));
    e.mutable_statement()->set_text("noted " + std::to_string(i % 1000));
    entries[i] = e.SerializeAsString();
    heads[p] = Hash(kEntryDomain, entries[i]);
  }
  std::vector<std::string> envelopes(n);
  std::vector<std::thread> ts;
  for (int w = 0; w < 2; ++w) {
    ts.emplace_back([&, w] {
      for (uint64_t i = static_cast<uint64_t>(w); i < n; i += 2) {
        v1::SignedEntry s;
        s.set_entry(entries[i]);
        s.set_signature(Sign(keys[i % 2], kEntryDomain, entries[i]).str());
        envelopes[i] = s.SerializeAsString();
      }
    });
  }
  for (auto& th : ts) th.join();
  auto w = BundleWriter::Create(path, charter, "bench", t).value();
  for (const auto& env : envelopes) PARLEY_CHECK(w->AddEntry(env).ok());
  PARLEY_CHECK(w->Finish().ok());
}

struct AuditRun {
  double seconds = 0;
  long peak_rss_kb = 0;
  bool ok = false;
};

// Generates a bundle of n entries in `dir`, audits it in a child process (a
// fresh image, so its peak RSS is the audit's own), and removes it.
AuditRun GenerateAndAudit(const char* self, const std::filesystem::path& dir, uint64_t n) {
  const auto bundle = dir / "audit-bench.parley";
  std::printf("generating a bundle of %llu entries ...\n", static_cast<unsigned long long>(n));
  auto g0 = Clock::now();
  Generate(bundle, n);
  std::printf("  %.1f s, %.0f MB\n", Seconds(g0, Clock::now()), std::filesystem::file_size(bundle) / 1e6);
  std::fflush(stdout);
  AuditRun run;
  auto a0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", self, "--audit-only", bundle.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  run.seconds = Seconds(a0, Clock::now());
  run.peak_rss_kb = ru.ru_maxrss;
  run.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("  audited in %.1f s, peak RSS %.1f MB\n", run.seconds, run.peak_rss_kb / 1024.0);
  std::filesystem::remove(bundle);
  return run;
}

}  // namespace
}  // namespace parley

int main(int argc, char** argv) {
  using namespace parley;
  InitCrypto();
  if (argc == 3 && std::string(argv[1]) == "--audit-only") {
    // The measured process: a fresh image, so its peak RSS is the audit's.
    AuditOptions o;
    o.now_ms = 1749340800000;
    o.max_timeline = 0;
    auto r = AuditBundle(argv[2], o);
    if (!r) {
      std::fprintf(stderr, "%s\n", r.error().ToString().c_str());
      return 2;
    }
    std::printf("%llu\n", static_cast<unsigned long long>(r->entries[0] + r->entries[1]));
    return r->clean() ? 0 : 1;
  }
  // --growth A B: peak RSS of the audit at A and at B entries, and the
  // bytes it grows per entry between them.
  if (argc >= 4 && std::string(argv[1]) == "--growth") {
    const uint64_t a = std::stoull(argv[2]), b = std::stoull(argv[3]);
    const std::filesystem::path dir = argc > 4 ? argv[4] : std::filesystem::temp_directory_path();
    AuditRun ra = GenerateAndAudit(argv[0], dir, a);
    AuditRun rb = GenerateAndAudit(argv[0], dir, b);
    const double per_entry = (rb.peak_rss_kb - ra.peak_rss_kb) * 1024.0 / static_cast<double>(b - a);
    std::printf("\n%-44s %14s %14s %8s %s\n", "figure", "value", "baseline", "ratio", "target");
    std::printf("%-44s %14.1f %14s %8s %s\n", ("audit peak RSS at " + std::to_string(a) + " (MB)").c_str(),
                ra.peak_rss_kb / 1024.0, "", "", "");
    std::printf("%-44s %14.1f %14s %8s %s\n", ("audit peak RSS at " + std::to_string(b) + " (MB)").c_str(),
                rb.peak_rss_kb / 1024.0, "", "", "");
    std::printf("%-44s %14.1f %14s %8s %s\n", "RSS growth per entry (bytes)", per_entry, "", "",
                per_entry <= 120 ? "<= 120  met" : "<= 120  MISSED");
    std::printf("audit results: %s\n", ra.ok && rb.ok ? "clean, all entries verified" : "FAILED");
    return ra.ok && rb.ok ? 0 : 1;
  }
  const uint64_t n = argc > 1 ? std::stoull(argv[1]) : 1000000;
  const std::filesystem::path dir = argc > 2 ? argv[2] : std::filesystem::temp_directory_path();
  const double raw1 = VerifyRate(1, 2.0);
  const double raw2 = VerifyRate(2, 2.0);
  AuditRun r = GenerateAndAudit(argv[0], dir, n);
  const double rate = n / r.seconds;
  std::printf("\n%-44s %14s %14s %8s %s\n", "figure", "value", "baseline", "ratio", "target");
  std::printf("%-44s %14.0f %14s %8s %s\n", "raw Ed25519 verify, 1 thread (/s)", raw1, "", "", "");
  std::printf("%-44s %14.0f %14s %8s %s\n", "raw Ed25519 verify, 2 threads (/s)", raw2, "", "", "");
  std::printf("%-44s %14.0f %14.0f %8.2f %s\n", "audit, entries/s (2 threads)", rate, raw2, rate / raw2,
              rate / raw2 >= 0.9 ? ">= 0.9  met" : ">= 0.9  MISSED");
  std::printf("%-44s %14.1f %14s %8s %s\n", "audit peak RSS (MB)", r.peak_rss_kb / 1024.0, "", "",
              r.peak_rss_kb / 1024.0 < 200 ? "< 200  met" : "< 200  MISSED");
  std::printf("audit result: %s\n", r.ok ? "clean, all entries verified" : "FAILED");
  return r.ok ? 0 : 1;
}
