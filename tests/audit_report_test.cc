// What the audit report holds: a bounded number of findings of one kind
// however many records a bundle has that the audit rejects, and each
// one-sided claim once.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "node/report/views.h"
#include <map>
#include "bundle_fixtures.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node_harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define PARLEY_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PARLEY_TEST_SANITIZED 1
#endif
#endif

namespace parley {
namespace {

namespace fs = std::filesystem;
using test::kRU;
using test::kUA;

constexpr uint64_t kJunkRecords = 200000;

// One junk bundle for the tests of this file, written once.
const fs::path& JunkBundle() {
  static test::TempDir dir;
  static const fs::path path = [] {
    fs::path p = dir.path() / "junk.parley";
    test::WriteJunkBundle(p, kJunkRecords);
    return p;
  }();
  return path;
}

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_CASE("an audit keeps the first findings of a kind and counts the rest") {
  AuditOptions o;
  o.now_ms = test::kT0;
  auto r = AuditBundle(JunkBundle().string(), o);
  REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  CHECK(r->records == kJunkRecords);
  CHECK(r->findings.size() == kMaxFindingsPerKind);
  CHECK(r->Count("violation") == kJunkRecords);
  CHECK(r->Omitted("violation") == kJunkRecords - kMaxFindingsPerKind);
  CHECK(r->Count("fork") == 0);
  CHECK_FALSE(r->clean());
  CHECK(r->exit_code() == 1);
  // The kept ones are the first found, each with its position.
  CHECK(r->findings.front().where == "record 2");
  CHECK(r->findings.back().where == "record " + std::to_string(2 + kMaxFindingsPerKind - 1));

  const std::string text = RenderAudit(*r);
  CHECK(text.size() < 32 * 1024);
  CHECK(Occurrences(text, "\n  violation  record ") == kMaxFindingsPerKind);
  CHECK(text.find("  violation  … and " + std::to_string(kJunkRecords - kMaxFindingsPerKind) + " more, not listed") !=
        std::string::npos);
  CHECK(text.find("VIOLATIONS FOUND — " + std::to_string(kJunkRecords) + " violations") != std::string::npos);

  const std::string html = RenderAuditHtml(*r);
  CHECK(html.size() < 256 * 1024);
  CHECK(html.find("<li data-kind=\"violation\"><b>" + std::to_string(kJunkRecords) + "</b>") != std::string::npos);
  CHECK(html.find("… and " + std::to_string(kJunkRecords - kMaxFindingsPerKind) + " more violation findings") !=
        std::string::npos);

  const nlohmann::json j = AuditJson(*r);
  CHECK(j["findings"].size() == kMaxFindingsPerKind);
  CHECK(j["findings_omitted"]["violation"] == kJunkRecords - kMaxFindingsPerKind);
  CHECK(j["findings_omitted"]["fork"] == 0);
  CHECK(j.dump(2).size() < 64 * 1024);
}

TEST_CASE("a clean audit omits nothing and says so in its JSON") {
  test::TempDir dir;
  const fs::path bundle = dir.path() / "ok.parley";
  test::WriteStatementBundle(bundle, 10);
  AuditOptions o;
  o.now_ms = test::kT0;
  auto r = AuditBundle(bundle.string(), o);
  REQUIRE(r.has_value());
  CHECK(r->clean());
  const nlohmann::json j = AuditJson(*r);
  for (FindingKind kind : kFindingKinds) {
    CHECK(r->Omitted(kind) == 0);
    CHECK(j["findings_omitted"][std::string(FindingName(kind))] == 0);
  }
  CHECK(RenderAudit(*r).find("more, not listed") == std::string::npos);
}

// Audits a bundle of `s`'s entries RU#1, UA#1, RU#2 (each has seen all of the
// other feed before it: this order is causal), judged at kT0.
Result<AuditReport> AuditRuUaRu(const test::Scenario& s) {
  test::TempDir dir;
  const fs::path bundle = dir.path() / "three.parley";
  {
    auto w = BundleWriter::Create(bundle, test::TheCharter(), "test", test::kT0).value();
    for (const DecodedEntry* e : {&s.feed(kRU)[0], &s.feed(kUA)[0], &s.feed(kRU)[1]}) {
      REQUIRE(w->AddEntry(e->envelope).ok());
    }
    REQUIRE(w->Finish().ok());
  }
  AuditOptions o;
  o.now_ms = test::kT0;
  return AuditBundle(bundle.string(), o);
}

TEST_CASE("the text audit lists each one-sided claim once") {
  test::Scenario s;
  const DecodedEntry p = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 1212, test::kT0)));
  s.Add(kUA, test::Say("The timing was set unilaterally."));
  s.Add(kRU, test::Attest("refrigerated trucks staged"));
  auto r = AuditRuUaRu(s);
  REQUIRE(r.has_value());
  const std::string text = RenderAudit(*r);
  INFO(text);
  CHECK(Occurrences(text, "The timing was set unilaterally.") == 1);
  CHECK(Occurrences(text, "refrigerated trucks staged") == 1);
  // The open proposal is one side's word too, and still said to be.
  CHECK(Occurrences(text, "proposed by RU alone; not accepted") == 1);
}

TEST_CASE("finding kinds keep their JSON names, and a name finds its kind") {
  std::vector<std::string> names;
  for (FindingKind kind : kFindingKinds) {
    names.emplace_back(FindingName(kind));
    CHECK(FindingKindNamed(FindingName(kind)) == kind);
    CHECK(kind == FindingName(kind));
  }
  // docs/PROTOCOL.md §13: these names are part of the JSON schema.
  CHECK(names == std::vector<std::string>{"violation", "fork", "void", "contested", "discrepancy", "compromised", "void-link", "time"});
  CHECK_FALSE(FindingKindNamed("unilateral").has_value());
  CHECK_FALSE(FindingKindNamed("other").has_value());
  CHECK(InfoOf(FindingKind::kViolation).unclean);
  CHECK(InfoOf(FindingKind::kFork).unclean);
  CHECK_FALSE(InfoOf(FindingKind::kCompromised).unclean);
}

TEST_CASE("every finding kind is listed and counted the same in the text, JSON and HTML reports") {
  AuditReport r;
  r.charter_bytes = test::TestCharter();
  // Kind i has i + 1 findings, and every other kind more than a report lists.
  std::map<FindingKind, uint64_t> found;
  for (size_t i = 0; i < kFindingKindCount; ++i) {
    const FindingKind kind = kFindingKinds[i];
    found[kind] = i % 2 == 0 ? i + 1 : kMaxFindingsPerKind + i;
    for (uint64_t n = 0; n < found[kind]; ++n) {
      r.AddFinding({kind, std::string(FindingName(kind)) + "-where-" + std::to_string(n), "what"});
    }
  }
  r.unilateral.push_back({"proposal RU#1", "proposed by RU alone; not accepted"});
  const std::string text = RenderAudit(r);
  const nlohmann::json j = AuditJson(r);
  const std::string html = RenderAuditHtml(r);
  INFO(text);
  for (FindingKind kind : kFindingKinds) {
    const std::string name(FindingName(kind));
    CAPTURE(name);
    const uint64_t n = found[kind];
    const uint64_t listed = std::min<uint64_t>(n, kMaxFindingsPerKind);
    const uint64_t omitted = n - listed;
    CHECK(r.Count(kind) == n);
    CHECK(r.Omitted(kind) == omitted);
    // JSON
    uint64_t in_json = 0;
    for (const auto& f : j["findings"]) in_json += f["kind"] == name;
    CHECK(in_json == listed);
    CHECK(j["findings_omitted"][name] == omitted);
    // text: one line per listed finding, one for the rest, and the verdict's count
    CHECK(Occurrences(text, "\n  " + name + "  " + name + "-where-") == listed);
    CHECK(Occurrences(text, "\n  " + name + "  … and " + std::to_string(omitted) + " more, not listed") ==
          (omitted > 0 ? 1 : 0));
    const std::string words(n == 1 ? InfoOf(kind).one : InfoOf(kind).many);
    const size_t verdict = text.find("\nVerdict: ");
    REQUIRE(verdict != std::string::npos);
    CHECK(text.find(std::to_string(n) + " " + words, verdict) != std::string::npos);
    // HTML: one row per listed finding, the rest in a paragraph, the verdict's count, the glossary
    CHECK(Occurrences(html, "<tr data-kind=\"" + name + "\">") == listed);
    CHECK(Occurrences(html, "data-omitted=\"" + name + "\">… and " + std::to_string(omitted) + " more") ==
          (omitted > 0 ? 1 : 0));
    CHECK(Occurrences(html, "<li data-kind=\"" + name + "\"><b>" + std::to_string(n) + "</b>") == 1);
    CHECK(Occurrences(html, "<dt>" + name + "</dt>") == 1);
  }
  CHECK(Occurrences(html, "<li data-kind=\"unilateral\"><b>1</b>") == 1);
  CHECK(html.find("other findings") == std::string::npos);  // every kind has its own line
  CHECK(j["unilateral"].size() == 1);
  CHECK(j["unilateral"][0]["kind"] == "unilateral");
  CHECK(j["clean"] == false);
  CHECK(text.find("VIOLATIONS FOUND") != std::string::npos);
}

TEST_CASE("compromised findings count as compromised in the HTML verdict, and leave the ledger clean") {
  AuditReport r;
  r.charter_bytes = test::TestCharter();
  r.AddFinding({FindingKind::kCompromised, "UA#2 statement", "signed with a key its author declared compromised"});
  CHECK(r.clean());
  const std::string html = RenderAuditHtml(r);
  CHECK(html.find("<li data-kind=\"compromised\"><b>1</b> entry signed with a compromised key</li>") !=
        std::string::npos);
  CHECK(html.find("<div class=\"word\">CLEAN</div>") != std::string::npos);
  CHECK(RenderAudit(r).find("Verdict: CLEAN") != std::string::npos);
  CHECK(AuditJson(r)["clean"] == true);
}

TEST_CASE("a disclose is listed as a manifest disclosure by every report, and is neither a claim nor a finding") {
  test::Scenario s;
  const DecodedEntry p = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 20, test::kT0)));
  s.Add(kUA, test::Accept(p));
  const Digest root = Hash("test", "manifest");
  const DecodedEntry d = s.Add(kRU, test::Disclose(root, 20, kUA));
  auto r = AuditRuUaRu(s);
  REQUIRE(r.has_value());
  CHECK(r->clean());
  CHECK(r->findings.empty());
  CHECK(r->unilateral.empty());       // the agreement is bilateral; the disclosure is no claim
  CHECK(r->state.claims.empty());
  CHECK(r->state.void_statements.empty());
  REQUIRE(r->state.proposals.size() == 1);
  CHECK(r->state.proposals[0].state == ProposalState::kAgreed);
  REQUIRE(r->disclosures.size() == 1);
  CHECK(r->disclosures[0].at.seq == 2);
  CHECK(r->disclosures[0].at.id == d.id);

  const std::string hex = ToHex(root);
  const nlohmann::json j = AuditJson(*r);
  REQUIRE(j["manifest_disclosures"].size() == 1);
  CHECK(j["manifest_disclosures"][0]["party"] == "RU");
  CHECK(j["manifest_disclosures"][0]["seq"] == 2);
  CHECK(j["manifest_disclosures"][0]["manifest"] == hex);
  CHECK(j["manifest_disclosures"][0]["count"] == 20);
  CHECK(j["manifest_disclosures"][0]["to"] == "UA");

  const std::string text = RenderAudit(*r);
  INFO(text);
  CHECK(text.find("manifest " + hex.substr(0, 16) + "… (20 records) to UA") != std::string::npos);
  const std::string html = RenderAuditHtml(*r);
  CHECK(html.find("RU shared manifest " + hex.substr(0, 16) + "… (20 records) with UA") != std::string::npos);
  // The entry's own line, in the timeline and `parley show`, says the same.
  const std::string line = "discloses manifest " + hex.substr(0, 12) + " (20 records) to UA";
  CHECK(DescribeEntry(test::TheCharter(), d.entry) == line);
  CHECK(DescribePreview(test::TheCharter(), d.entry) == line);
  REQUIRE(r->timeline.size() == 3);
  CHECK(r->timeline[2].text == line);
  CHECK(html.find(line) != std::string::npos);
}

TEST_SUITE("e2e") {

// Runs `parley args...` and returns its exit code, output and peak RSS (kB).
// posix_spawn's child runs in this process's memory until it execs, and the
// kernel then carries this process's peak into the child's ru_maxrss: the
// figure is max(our peak, the audit's), and bounds the audit's only where
// our own peak is below the bound.
struct Measured {
  test::CliResult cli;
  long max_rss_kb = 0;
};
Measured RunMeasured(const std::vector<std::string>& args) {
  test::TempDir dir;
  const fs::path out = dir.path() / "out", err = dir.path() / "err";
  std::vector<std::string> argv{PARLEY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const int flags = O_WRONLY | O_CREAT | O_TRUNC;
  const pid_t pid = test::Spawn(argv, out.c_str(), flags, err.c_str(), flags);
  int st = 0;
  rusage ru{};
  PARLEY_CHECK(::wait4(pid, &st, 0, &ru) == pid);
  Measured m;
  m.cli.code = test::ExitCode(st);
  m.cli.out = test::ReadText(out);
  m.cli.err = test::ReadText(err);
  m.max_rss_kb = ru.ru_maxrss;
  return m;
}

TEST_CASE("parley audit rejects a bundle of 200,000 malformed records with a bounded report") {
  const Measured text = RunMeasured({"audit", JunkBundle().string()});
  INFO(text.cli.err);
  CHECK(text.cli.code == 1);  // violations found: the file is a bundle, its records are not entries
  CHECK(text.cli.out.size() < 32 * 1024);
  CHECK(text.cli.out.find("VIOLATIONS FOUND — 200000 violations") != std::string::npos);
  CHECK(text.cli.out.find("  violation  … and 199900 more, not listed") != std::string::npos);

  const Measured json = RunMeasured({"audit", "--json", JunkBundle().string()});
  CHECK(json.cli.code == 1);
  CHECK(json.cli.out.size() < 64 * 1024);
  const auto j = nlohmann::json::parse(json.cli.out);
  CHECK(j["clean"] == false);
  CHECK(j["findings"].size() == kMaxFindingsPerKind);
  CHECK(j["findings_omitted"]["violation"] == 199900);

#ifndef PARLEY_TEST_SANITIZED
  // Memory grows with the entries kept, not the records rejected. (The old
  // audit kept every finding: ~200 MB here, ~1 GB for a million.) Figures
  // for a million records: bash bench/audit_memory.sh.
  constexpr long kLimitKb = 100 * 1024;
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);
  MESSAGE("peak RSS of parley audit: text " << text.max_rss_kb / 1024 << " MB, --json " << json.max_rss_kb / 1024
                                            << " MB (of this test process: " << self.ru_maxrss / 1024 << " MB)");
  if (self.ru_maxrss < kLimitKb) {
    CHECK(text.max_rss_kb < kLimitKb);
    CHECK(json.max_rss_kb < kLimitKb);
  }
#endif
}

TEST_CASE("parley audit holds a bounded number of bytes of records in flight, however large the records") {
  test::TempDir dir;
  const fs::path big = dir.path() / "big.parley";
  constexpr uint64_t kRecords = 48;
  test::WriteJunkBundle(big, kRecords, 1000000);  // 48 MB of records the audit rejects
  const Measured m = RunMeasured({"audit", big.string()});
  CHECK(m.cli.code == 1);
  CHECK(m.cli.out.find("VIOLATIONS FOUND — 48 violations") != std::string::npos);
#ifndef PARLEY_TEST_SANITIZED
  // The old audit read 4 chunks of 1024 records ahead: all 48 MB (~63 MB
  // peak). Now chunks end at 1 MiB: ~24 MB. See RunMeasured's caveat above.
  constexpr long kLimitKb = 40 * 1024;
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);
  MESSAGE("peak RSS of parley audit on 48 records of 1 MB: " << m.max_rss_kb / 1024 << " MB");
  if (self.ru_maxrss < kLimitKb) CHECK(m.max_rss_kb < kLimitKb);
#endif
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
