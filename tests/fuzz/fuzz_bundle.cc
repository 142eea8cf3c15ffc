// fuzz_bundle: the bundle reader and the auditor on arbitrary files.
//
// The input is the bundle file; when it does not start with the "PARLEYB1"
// magic, the magic is put in front (so corpus files may be whole bundles
// that `parley audit` reads as they are, and the mutator need not rediscover
// the magic). The file lives in a memfd, reached by path.
//
// Per input: AuditBundle must not crash, hang or leak; an error is "unusable
// input" (kDataLoss, kNotFound or kIoError); a report renders as text and as
// JSON, and its bookkeeping is consistent (entries verified ≤ entry records
// read; clean() iff no violation or fork finding).
#include <cstddef>
#include <cstdint>

#include "node/report/audit.h"
#include "node/report/bundle.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parley::fuzz::FuzzInit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  static fuzz::MemFile file;
  const std::string_view input = fuzz::AsView(data, size);
  if (input.substr(0, kBundleMagic.size()) == kBundleMagic) {
    file.Write(input);
  } else {
    file.Write(kBundleMagic, input);
  }

  AuditOptions options;
  options.now_ms = test::kT0 + 7 * 86400000ll;
  options.threads = 2;
  options.max_timeline = 64;
  Result<AuditReport> report = AuditBundle(file.path(), options);
  if (!report) {
    const Code c = report.error().code();
    FUZZ_CHECK(c == Code::kDataLoss || c == Code::kNotFound || c == Code::kIoError, report.error().ToString());
    return 0;
  }
  bool bad = false;
  for (const AuditFinding& f : report->findings) bad = bad || f.kind == "violation" || f.kind == "fork";
  FUZZ_CHECK(bad == !report->clean(), "clean() disagrees with the findings");
  FUZZ_CHECK(report->entries[0] + report->entries[1] + report->unchecked <= report->records,
             "more entries verified than records read");
  FUZZ_CHECK(report->timeline.size() <= options.max_timeline, "timeline longer than max_timeline");
  (void)RenderAudit(*report);
  (void)AuditJson(*report).dump();
  return 0;
}
