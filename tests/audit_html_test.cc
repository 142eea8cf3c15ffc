#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"
#include "tests/fixtures.h"

// The HTML audit report (node/report/audit_html.h) over the June story, audited from
// a real bundle: the page must be self-contained, escape what the parties
// wrote, and be something a browser actually parses and draws.
//
// Set PARLEY_AUDIT_HTML_OUT=DIR to keep the page and the screenshot there.

namespace parley {
namespace {

TEST_SUITE_BEGIN("audit_html");

using test::kRU;
using test::kT0;
using test::kUA;
using test::Scenario;
using test::TheCharter;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
constexpr const char* kScript = "<script>alert(1)</script>";

// Two feeds written with Scenario, then exported to a bundle in a temp dir
// in the order written (every entry has seen all of the other feed, so that
// order is causal) and audited.
struct TestBundle {
  Scenario s;
  std::vector<std::string> envelopes;  // in the order written
  test::TempDir dir;
  std::filesystem::path bundle = dir.path() / "ledger.bundle";

  const DecodedEntry& Add(PartyIndex p, v1::Entry body) {
    const DecodedEntry& e = s.Add(p, std::move(body));
    envelopes.push_back(e.envelope);
    return e;
  }

  std::string Html() const {
    auto w = BundleWriter::Create(bundle, TheCharter(), "UA", kT0 + 3 * kDay);
    REQUIRE(w.has_value());
    for (const std::string& env : envelopes) REQUIRE((*w)->AddEntry(env).ok());
    REQUIRE((*w)->Finish().ok());
    AuditOptions options;
    options.now_ms = kT0 + kHour;
    auto report = AuditBundle(bundle.string(), options);
    REQUIRE(report.has_value());
    REQUIRE(report->timeline.size() == envelopes.size());
    return RenderAuditHtml(*report);
  }
};

// The June story, with one hostile statement.
struct JuneBundle : TestBundle {
  JuneBundle() {
    const DecodedEntry announced = Add(kRU, test::Propose(test::RemainsTerms(kRU, 1212, kT0 + kDay)));  // RU#1

    v1::Entry say = test::Say("the timing was set unilaterally; we object");  // UA#1
    say.mutable_statement()->set_reference(announced.id.str());
    Add(kUA, say);

    v1::Entry counter_body = test::Propose(test::RemainsTerms(kRU, 1212, kT0 + 2 * kDay));  // UA#2
    counter_body.mutable_propose()->set_counters(announced.id.str());
    const DecodedEntry counter = Add(kUA, counter_body);

    Add(kRU, test::Accept(counter));                                            // RU#2
    Add(kUA, test::Reject(announced, "superseded by our counter-proposal"));    // UA#3: void

    v1::Entry handed = test::Handover(counter, 0, 1212);  // RU#3
    handed.mutable_handover()->set_handed_over_ms(kT0 + 2 * kDay + 10 * kHour);
    Add(kRU, handed);

    v1::Entry received = test::Receipt(counter, 0, 1212);  // UA#4
    received.mutable_receipt()->set_received_ms(kT0 + 2 * kDay + 14 * kHour);
    Add(kUA, received);

    v1::Entry attest = test::Attest("refrigerated trucks staged");  // RU#4
    attest.mutable_attestation()->set_where("near the crossing");
    attest.mutable_attestation()->set_reference(counter.id.str());
    Add(kRU, attest);

    v1::Entry swap = test::Propose(test::ExchangeTerms(1200, kT0 + 5 * kDay), v1::PRISONER_EXCHANGE);  // UA#5
    swap.mutable_propose()->set_expires_ms(kT0 + 4 * kDay);
    Add(kUA, swap);

    Add(kRU, test::Say(kScript));  // RU#5
  }
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Runs `command` with /bin/sh; its exit status, or -1 if it did not exit.
int Run(const std::string& command) {
  const int rc = std::system(command.c_str());
  return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST_CASE("the HTML audit report is one self-contained page with a two-lane timeline, agreements and findings") {
  JuneBundle june;
  const std::string html = june.Html();

  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(Count(html, "id=\"timeline\"") == 1);
  CHECK(Count(html, "class=\"lane\"") == 2);
  CHECK(Count(html, "class=\"entry\"") == june.envelopes.size());
  for (int seq = 1; seq <= 5; ++seq) {
    CHECK(Count(html, "data-party=\"UA\" data-seq=\"" + std::to_string(seq) + "\"") == 1);
    CHECK(Count(html, "data-party=\"RU\" data-seq=\"" + std::to_string(seq) + "\"") == 1);
  }
  CHECK(Count(html, "class=\"accept-link\"") == 1);  // RU#2 accepts UA#2
  CHECK(html.find("data-from=\"RU#2\" data-to=\"UA#2\"") != std::string::npos);
  // One-sided: UA's objection, RU's attestation, UA's open exchange proposal, RU's statement.
  CHECK(Count(html, "class=\"one-sided\"") == 4);
  CHECK(Count(html, "data-one-sided=\"yes\"") == 4);
  // UA#3 rejects a proposal UA had already countered: void, struck through.
  CHECK(html.find("id=\"e-UA-3\" data-party=\"UA\" data-seq=\"3\" data-kind=\"reject\" data-void=\"yes\"") !=
        std::string::npos);
  CHECK(Count(html, "class=\"strike\"") == 1);
  CHECK(Count(html, "id=\"verdict\"") == 1);
  CHECK(html.find(">CLEAN<") != std::string::npos);
  CHECK(Count(html, "id=\"agreements\"") == 1);
  CHECK(Count(html, "id=\"findings\"") == 1);
  const size_t findings_at = html.find("id=\"findings\"");
  const std::string findings = html.substr(findings_at, html.find("</table>", findings_at) - findings_at);
  CHECK(Count(findings, "<tr data-kind=") == 1);  // UA#3's void reject
  CHECK(findings.find("the proposal was already countered") != std::string::npos);
  const size_t claims_at = html.find("id=\"one-sided-claims\"");
  REQUIRE(claims_at != std::string::npos);
  const std::string claims = html.substr(claims_at, html.find("</table>", claims_at) - claims_at);
  CHECK(Count(claims, "<tr data-kind=\"unilateral\"") == 4);
  CHECK(claims.find("refrigerated trucks staged") != std::string::npos);
  CHECK(html.find("<b>4</b> one-sided claims") != std::string::npos);
  CHECK(html.find("<b>1</b> void statement<") != std::string::npos);
  CHECK(html.find("<b>Bilateral</b> — signed by both: proposed by UA (UA#2), accepted by RU (RU#2)") !=
        std::string::npos);
  CHECK(html.find("handed over <b>1212</b> of 1212 (RU#3); received <b>1212</b> (UA#4)") != std::string::npos);
  CHECK(html.find("Ukraine Coordination HQ for the Treatment of POWs") != std::string::npos);
  CHECK(html.find("Russian Federation Ministry of Defence") != std::string::npos);

  // What the parties wrote is escaped; nothing is loaded from elsewhere.
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
}

TEST_CASE("text from the ledger is escaped and cannot hide itself") {
  CHECK(HtmlEscape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;");
  CHECK(HtmlEscape("Мирне населення") == "Мирне населення");
  CHECK(HtmlEscape("x\xE2\x80\xAEy") == "x[U+202E]y");  // right-to-left override
  CHECK(HtmlEscape("a\x1b[2Jb") == "a[U+001B][2Jb");
  CHECK(HtmlEscape("bad\xC0\xAF") == "bad\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  CHECK(HtmlEscape("cut\xE2\x80") == "cut\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("headless Chromium parses the HTML audit report and draws it") {
  const std::filesystem::path chromium = "/usr/bin/chromium";
  if (!std::filesystem::exists(chromium)) {
    MESSAGE("skipped: /usr/bin/chromium is not installed (setup.sh installs it)");
    return;
  }
  JuneBundle june;
  const std::string html = june.Html();
  const std::filesystem::path& dir = june.dir.path();
  const std::filesystem::path page = dir / "report.html";
  WriteFile(page, html);
  const std::string url = "file://" + page.string();
  auto chromium_cmd = [&](const std::string& profile) {
    std::filesystem::create_directories(dir / profile);
    return "timeout 90 " + chromium.string() +
           " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
           " --disable-background-networking --disable-component-update --disable-sync"
           " --user-data-dir=" + (dir / profile).string();
  };

  const std::filesystem::path shot = dir / "shot.png";
  const int shot_rc = Run(chromium_cmd("profile-shot") + " --screenshot=" + shot.string() +
                          " --window-size=1400,1800 " + url + " >" + (dir / "shot.log").string() + " 2>&1");
  CHECK(shot_rc == 0);
  REQUIRE(std::filesystem::exists(shot));
  const std::string png = ReadFile(shot);
  CHECK(png.size() > 10 * 1024);
  CHECK(png.rfind("\x89PNG\r\n\x1a\n", 0) == 0);

  const std::filesystem::path dom_file = dir / "dom.html";
  const int dom_rc = Run(chromium_cmd("profile-dom") + " --dump-dom " + url + " >" + dom_file.string() + " 2>" +
                         (dir / "dom.log").string());
  CHECK(dom_rc == 0);
  const std::string dom = ReadFile(dom_file);
  CHECK(dom.find("id=\"timeline\"") != std::string::npos);
  CHECK(dom.find("id=\"verdict\"") != std::string::npos);
  CHECK(dom.find("CLEAN") != std::string::npos);
  CHECK(Count(dom, "class=\"entry\"") == june.envelopes.size());
  CHECK(Count(dom, "class=\"accept-link\"") == 1);
  CHECK(dom.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(dom.find("<script") == std::string::npos);

  if (const char* keep = std::getenv("PARLEY_AUDIT_HTML_OUT")) {
    std::filesystem::create_directories(keep);
    std::filesystem::copy_file(page, std::filesystem::path(keep) / "report.html",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(shot, std::filesystem::path(keep) / "shot.png",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(june.bundle, std::filesystem::path(keep) / "june.bundle",
                               std::filesystem::copy_options::overwrite_existing);
  }
}

TEST_CASE("agreements in progress, disputed, cancelled or awaiting cancellation are coloured by state") {
  TestBundle b;
  const DecodedEntry a = b.Add(kRU, test::Propose(test::RemainsTerms(kRU, 100, kT0 + kDay)));  // RU#1
  b.Add(kUA, test::Accept(a));                                                                 // UA#1
  b.Add(kRU, test::Handover(a, 0, 100));                                                       // RU#2
  b.Add(kUA, test::Receipt(a, 0, 90));                                 // UA#2: disputed
  const DecodedEntry x = b.Add(kUA, test::Propose(test::ExchangeTerms(50, kT0 + kDay), v1::PRISONER_EXCHANGE));
  b.Add(kRU, test::Accept(x));                                         // RU#3
  b.Add(kRU, test::Cancel(x));                                         // RU#4
  b.Add(kUA, test::Cancel(x));                                         // UA#4: cancelled by both
  const DecodedEntry c = b.Add(kRU, test::Propose(test::RemainsTerms(kRU, 30, kT0 + kDay)));  // RU#5
  b.Add(kUA, test::Accept(c));                                                                // UA#5
  b.Add(kRU, test::Handover(c, 0, 30));                                // RU#6: in progress
  const DecodedEntry own = b.Add(kUA, test::Propose(test::RemainsTerms(kUA, 7, kT0 + kDay)));  // UA#6
  b.Add(kUA, test::Accept(own));                                       // UA#7: void, own proposal
  const DecodedEntry w = b.Add(kRU, test::Propose(test::RemainsTerms(kRU, 3, kT0 + kDay)));    // RU#7
  b.Add(kRU, test::Withdraw(w));                                       // RU#8
  const DecodedEntry g = b.Add(kRU, test::Propose(test::RemainsTerms(kRU, 5, kT0 + kDay)));    // RU#9
  b.Add(kUA, test::Accept(g));                                         // UA#8
  b.Add(kUA, test::Cancel(g));                                         // UA#9: cancel requested
  const std::string html = b.Html();

  CHECK(Count(html, "class=\"entry\"") == b.envelopes.size());
  CHECK(Count(html, "class=\"box st-red\"") == 4);   // RU#1, UA#1 (disputed); UA#3, RU#3 (cancelled)
  CHECK(Count(html, "class=\"box st-blue\"") == 2);  // RU#5, UA#5 (in progress)
  CHECK(Count(html, "class=\"box st-amber\"") == 3); // UA#6 (open), RU#9, UA#8 (cancel requested)
  CHECK(Count(html, "class=\"box st-grey\"") == 1);  // RU#7 (withdrawn)
  CHECK(Count(html, "class=\"accept-link\"") == 5);
  CHECK(Count(html, "class=\"accept-link\" data-void=\"yes\" data-from=\"UA#7\" data-to=\"UA#6\"") == 1);
  CHECK(Count(html, "data-kind=\"cancel\" data-one-sided=\"yes\"") == 1);  // UA#9 alone
  CHECK(html.find("id=\"e-UA-9\" data-party=\"UA\" data-seq=\"9\" data-kind=\"cancel\"") != std::string::npos);
  CHECK(html.find("handed over 100, received 90") != std::string::npos);
  CHECK(html.find("cancelled by both (UA#4, RU#4)") != std::string::npos);
  CHECK(html.find("cancellation requested by UA alone (UA#9), not agreed by RU") != std::string::npos);
  CHECK(html.find(">CLEAN<") != std::string::npos);
  for (const char* state : {"disputed", "cancelled", "in progress", "cancel requested", "withdrawn", "open"}) {
    CHECK(html.find("data-state=\"" + std::string(state) + "\"") != std::string::npos);
  }
  if (const char* keep = std::getenv("PARLEY_AUDIT_HTML_OUT")) {
    std::filesystem::create_directories(keep);
    WriteFile(std::filesystem::path(keep) / "states.html", html);
  }
}

TEST_SUITE_END();

}  // namespace
}  // namespace parley
