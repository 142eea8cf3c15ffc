// Peak RSS of `parley audit` on a bundle of N malformed entry records
// (default 1,000,000; about 7 MB) and on one of 200 malformed records of 1 MB
// each, next to the peak RSS of `parley audit` on a small valid bundle
// measured in the same run. Each audit is a child
// process of its own, so its peak RSS (wait4's ru_maxrss) is the audit's.
// Usage: parley_audit_memory_bench [N] [dir]
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bundle_fixtures.h"
#include "node_harness.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Run {
  int code = -1;
  double rss_mb = 0;
  double seconds = 0;
  uintmax_t report_bytes = 0;
};

// `parley args...` with stdout to `report`, stderr discarded.
Run Measure(const std::vector<std::string>& args, const fs::path& report) {
  std::vector<std::string> argv{PARLEY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto start = Clock::now();
  const pid_t pid = test::Spawn(argv, report.c_str(), O_WRONLY | O_CREAT | O_TRUNC, "/dev/null", O_WRONLY);
  int st = 0;
  rusage ru{};
  PARLEY_CHECK(::wait4(pid, &st, 0, &ru) == pid);
  Run r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.code = test::ExitCode(st);
  r.rss_mb = ru.ru_maxrss / 1024.0;
  r.report_bytes = fs::file_size(report);
  return r;
}

}  // namespace
}  // namespace parley

int main(int argc, char** argv) {
  using namespace parley;
  InitCrypto();
  const uint64_t n = argc > 1 ? std::stoull(argv[1]) : 1000000;
  const fs::path dir = fs::path(argc > 2 ? argv[2] : fs::temp_directory_path().string()) / "parley-audit-memory-bench";
  fs::create_directories(dir);
  const fs::path junk = dir / "junk.parley", big = dir / "big.parley", valid = dir / "valid.parley",
                 report = dir / "report";
  constexpr uint64_t kValidEntries = 1000;
  constexpr uint64_t kBigRecords = 200;
  constexpr size_t kBigRecordBytes = 1000000;

  std::printf("writing a bundle of %llu malformed records, one of %llu malformed 1 MB records and one of %llu valid "
              "statements ...\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(kBigRecords),
              static_cast<unsigned long long>(kValidEntries));
  test::WriteJunkBundle(junk, n);
  test::WriteJunkBundle(big, kBigRecords, kBigRecordBytes);
  test::WriteStatementBundle(valid, kValidEntries);
  std::printf("  %.1f MB, %.1f MB and %.1f MB\n", fs::file_size(junk) / 1e6, fs::file_size(big) / 1e6,
              fs::file_size(valid) / 1e6);

  struct Row {
    const char* what;
    Run value, baseline;
    int want_code;
  };
  std::vector<Row> rows;
  for (const char* format : {"text", "--json"}) {
    std::vector<std::string> a{"audit", valid.string()}, b{"audit", junk.string()};
    if (std::string(format) == "--json") a.push_back(format), b.push_back(format);
    Row r{format, {}, {}, 1};
    r.baseline = Measure(a, report);
    r.value = Measure(b, report);
    rows.push_back(r);
  }
  {
    // Few but large records: the records in flight are bounded by bytes too.
    Row r{"text, 1 MB records,", {}, {}, 1};
    r.baseline = rows.front().baseline;
    r.value = Measure({"audit", big.string()}, report);
    rows.push_back(r);
  }
  const Run startup = Measure({"--help"}, report);

  bool ok = true;
  std::printf("\n%-46s %10s %10s %7s %s\n", "figure", "value", "baseline", "ratio", "target");
  // posix_spawn's child shares this process's memory until it execs, and
  // the kernel carries our peak into the child's ru_maxrss: every figure is
  // at least ours, printed here. This process stays small (it streams the
  // junk bundle out), so the figures are the audits'.
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);
  std::printf("%-46s %10.1f\n", "this bench process peak RSS (MB), a floor", self.ru_maxrss / 1024.0);
  std::printf("%-46s %10.1f %10s %7s %s\n", "parley --help peak RSS (MB), process startup", startup.rss_mb, "", "", "");
  for (const Row& r : rows) {
    const double ratio = r.value.rss_mb / r.baseline.rss_mb;
    const bool met = r.value.rss_mb < 100 && ratio < 2;
    ok = ok && met && r.value.code == r.want_code && r.baseline.code == 0;
    std::printf("%-46s %10.1f %10.1f %7.2f %s\n",
                (std::string("audit ") + r.what + " peak RSS (MB), junk vs valid").c_str(), r.value.rss_mb,
                r.baseline.rss_mb, ratio, met ? "< 100 MB and < 2x  met" : "< 100 MB and < 2x  MISSED");
    std::printf("%-46s %10.2f %10.2f %7s\n", (std::string("audit ") + r.what + " time (s)").c_str(), r.value.seconds,
                r.baseline.seconds, "");
    std::printf("%-46s %10ju %10ju %7s\n", (std::string("audit ") + r.what + " report size (bytes)").c_str(),
                r.value.report_bytes, r.baseline.report_bytes, "");
    std::printf("%-46s %10d %10d %7s %s\n", (std::string("audit ") + r.what + " exit code").c_str(), r.value.code,
                r.baseline.code, "", "1 (violations) and 0 (clean)");
  }
  fs::remove_all(dir);
  std::printf("\n%s\n", ok ? "all targets met" : "TARGET MISSED");
  return ok ? 0 : 1;
}
