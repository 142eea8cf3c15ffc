// Every audit report names what it audited (docs/PROTOCOL.md §12, §13): the
// bundle's digest and size, both feeds' heads, the header's unverified word,
// the parley and protocol versions, and when it ran — in the text, the JSON
// and the HTML report alike, with nothing from the bundle leaking raw.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "crypto/hash.h"
#include "fixtures.h"
#include "json_schema.h"
#include "node/base/text.h"
#include "node/base/time.h"
#include "node/base/version.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"
#include "node_harness.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using test::kRU;
using test::kT0;
using test::kUA;

// What the header's exported_by says in the hostile bundles below: a terminal
// escape, a bidi override, HTML and a quote.
const std::string kHostile = "RU\x1b[2J\xe2\x80\xae<script>alert(1)</script>\"&";
constexpr int64_t kAuditedAt = kT0 + 3600 * 1000 + 250;

std::string FileBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// RU#1, UA#1, RU#2: statements, each having seen the other feed's latest.
struct Story {
  test::Scenario s;
  DecodedEntry ru1_, ua1_, ru2_;
  const DecodedEntry* ru1 = &ru1_;
  const DecodedEntry* ua1 = &ua1_;
  const DecodedEntry* ru2 = &ru2_;
  Story() {
    ru1_ = s.Add(kRU, test::Say("first"));
    ua1_ = s.Add(kUA, test::Say("second"));
    ru2_ = s.Add(kRU, test::Say("third"));
  }
};

void WriteBundle(const fs::path& path, const std::vector<std::string>& envelopes, const std::string& exported_by) {
  auto w = BundleWriter::Create(path, test::TheCharter(), exported_by, kT0 + 7).value();
  for (const std::string& e : envelopes) REQUIRE(w->AddEntry(e).ok());
  REQUIRE(w->Finish().ok());
}

AuditReport Audit(const fs::path& path) {
  AuditOptions o;
  o.now_ms = kAuditedAt;
  auto r = AuditBundle(path.string(), o);
  REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  return std::move(*r);
}

bool Has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST_CASE("every audit report names the bundle, the heads, the versions and the time, and nothing hostile leaks") {
  test::TempDir dir;
  Story st;
  const fs::path path = dir.path() / "story.parley";
  WriteBundle(path, {st.ru1->envelope, st.ua1->envelope, st.ru2->envelope}, kHostile);
  const AuditReport r = Audit(path);
  REQUIRE(r.clean());

  // The report's own fields: each recomputed here another way.
  const std::string bytes = FileBytes(path);
  const Digest digest = Hash("parley/bundle/v1", bytes);
  const AuditSubject& a = r.audited;
  CHECK(a.bundle_digest == digest);
  CHECK(a.bundle_bytes == bytes.size());
  CHECK(a.heads[kRU].seq == 2);
  CHECK(a.heads[kRU].id == st.ru2->id);
  CHECK(a.heads[kUA].seq == 1);
  CHECK(a.heads[kUA].id == st.ua1->id);
  CHECK(a.exported_by == kHostile);
  CHECK(a.exported_ms == kT0 + 7);
  CHECK(a.parley_release == std::string(ParleyRelease()));
  CHECK(a.parley_commit == std::string(ParleyCommit()));
  CHECK_FALSE(a.parley_release.empty());
  CHECK(a.protocol_version == 1);
  CHECK(a.audited_ms == kAuditedAt);
  const std::string audited_at = IsoTime(kAuditedAt);
  CHECK(audited_at == "2025-06-08T01:00:00.250Z");  // kT0 = 2025-06-08T00:00:00Z

  SUBCASE("text") {
    const std::string text = RenderAudit(r);
    INFO(text);
    CHECK(Has(text, "  bundle: " + ToHex(digest) + " (H(\"parley/bundle/v1\", file), " + std::to_string(bytes.size()) +
                        " bytes)\n"));
    CHECK(Has(text, "  feed heads: UA#1 " + ToHex(st.ua1->id) + ", RU#2 " + ToHex(st.ru2->id) + "\n"));
    CHECK(Has(text, "  exported by \"" + Printable(kHostile) + "\" at " + IsoTime(kT0 + 7) +
                        " (the bundle's word, not verified)\n"));
    CHECK(Has(text, "  audited by parley " + std::string(ParleyRelease()) + " (protocol v1, commit " +
                        std::string(ParleyCommit()) + ") at " + audited_at + "\n"));
    CHECK_FALSE(Has(text, "\x1b"));
    CHECK_FALSE(Has(text, "\xe2\x80\xae"));
  }
  SUBCASE("JSON") {
    const nlohmann::json j = AuditJson(r);
    const nlohmann::json& au = j["audited"];
    CHECK(au["bundle_digest"] == ToHex(digest));
    CHECK(au["bundle_bytes"] == bytes.size());
    CHECK(au["heads"]["RU"]["seq"] == 2);
    CHECK(au["heads"]["RU"]["id"] == ToHex(st.ru2->id));
    CHECK(au["heads"]["UA"]["seq"] == 1);
    CHECK(au["heads"]["UA"]["id"] == ToHex(st.ua1->id));
    CHECK(au["exported_by"] == kHostile);  // exact, as a JSON string: escaped by the encoder
    CHECK(au["exported_ms"] == kT0 + 7);
    CHECK(au["parley_version"] == std::string(ParleyRelease()));
    CHECK(au["parley_commit"] == std::string(ParleyCommit()));
    CHECK(au["protocol_version"] == 1);
    CHECK(au["audited_at"] == audited_at);
    const std::string dumped = DumpJson(j, 2);
    CHECK_FALSE(Has(dumped, "\x1b"));  // control bytes are \u escapes
    CHECK(Has(dumped, "\\u001b[2J"));
    REQUIRE_MESSAGE(test::HaveJsonSchema(), "/usr/bin/python3 with the jsonschema module is missing");
    CHECK(test::Validate(dir, "audited", j, "audit") == 0);
    nlohmann::json bad = j;
    bad["audited"].erase("bundle_digest");
    CHECK(test::Validate(dir, "audited-bad", bad, "audit", /*quiet=*/true) != 0);
  }
  SUBCASE("HTML") {
    const std::string html = RenderAuditHtml(r);
    CHECK(Has(html, "<span class=\"mono\" id=\"bundle-digest\">" + ToHex(digest) + "</span> <span class=\"muted\">(" +
                        std::to_string(bytes.size()) + " bytes;"));
    CHECK(Has(html, "id=\"feed-heads\">UA#1 " + ToHex(st.ua1->id) + "<br>RU#2 " + ToHex(st.ru2->id) + "</td>"));
    CHECK(Has(html, "<td id=\"audited-by\">parley " + HtmlEscape(std::string(ParleyRelease())) +
                        " (protocol v1, commit " + HtmlEscape(std::string(ParleyCommit())) + ") at " + audited_at +
                        "</td>"));
    CHECK(Has(html, "<tr><th>Exported by</th><td>" + HtmlEscape(kHostile) + " at "));
    CHECK_FALSE(Has(html, "<script>"));
    CHECK_FALSE(Has(html, "\x1b"));
    CHECK_FALSE(Has(html, "\xe2\x80\xae"));
  }
}

TEST_CASE("the bundle digest covers every byte of the file, and the heads stop at a feed's first violation") {
  test::TempDir dir;
  Story st;
  const fs::path a = dir.path() / "a.parley";
  const fs::path b = dir.path() / "b.parley";
  WriteBundle(a, {st.ru1->envelope, st.ua1->envelope, st.ru2->envelope}, "UA");
  WriteBundle(b, {st.ru1->envelope, st.ua1->envelope, st.ru2->envelope}, "UB");  // one byte differs
  const AuditReport ra = Audit(a);
  const AuditReport rb = Audit(b);
  CHECK(ra.audited.bundle_digest == Hash("parley/bundle/v1", FileBytes(a)));
  CHECK(rb.audited.bundle_digest == Hash("parley/bundle/v1", FileBytes(b)));
  CHECK(ra.audited.bundle_digest != rb.audited.bundle_digest);
  CHECK(ra.audited.heads[kRU].id == rb.audited.heads[kRU].id);

  // RU#2 with a signature that does not verify: RU's head is RU#1.
  v1::SignedEntry forged;
  REQUIRE(forged.ParseFromString(st.ru2->envelope));
  std::string sig = forged.signature();
  sig[0] = static_cast<char>(sig[0] ^ 1);
  forged.set_signature(sig);
  const fs::path c = dir.path() / "c.parley";
  WriteBundle(c, {st.ru1->envelope, st.ua1->envelope, forged.SerializeAsString()}, "UA");
  const AuditReport rc = Audit(c);
  CHECK_FALSE(rc.clean());
  CHECK(rc.audited.heads[kRU].seq == 1);
  CHECK(rc.audited.heads[kRU].id == st.ru1->id);
  CHECK(rc.audited.heads[kUA].seq == 1);
  CHECK(Has(RenderAudit(rc), "  feed heads: UA#1 " + ToHex(st.ua1->id) + ", RU#1 " + ToHex(st.ru1->id) + "\n"));
}

TEST_CASE("a feed with no entry has head 0 and no id in every report") {
  test::TempDir dir;
  Story st;
  const fs::path path = dir.path() / "ru-only.parley";
  WriteBundle(path, {st.ru1->envelope}, "RU");
  const AuditReport r = Audit(path);
  CHECK(r.audited.heads[kUA].seq == 0);
  CHECK(Has(RenderAudit(r), "  feed heads: UA: no entry, RU#1 " + ToHex(st.ru1->id) + "\n"));
  const nlohmann::json j = AuditJson(r);
  CHECK(j["audited"]["heads"]["UA"]["seq"] == 0);
  CHECK(j["audited"]["heads"]["UA"]["id"].is_null());
  CHECK(Has(RenderAuditHtml(r), "id=\"feed-heads\">UA: no entry<br>RU#1 "));
  REQUIRE(test::HaveJsonSchema());
  CHECK(test::Validate(dir, "ru-only", j, "audit") == 0);
}

TEST_SUITE("e2e") {

TEST_CASE("parley audit --json names what it audited, with the version parley --version prints and the --now time") {
  test::TempDir dir;
  Story st;
  const fs::path path = dir.path() / "story.parley";
  WriteBundle(path, {st.ru1->envelope, st.ua1->envelope, st.ru2->envelope}, "UA");
  const test::CliResult version = test::RunParley({"--version"});
  REQUIRE(version.code == 0);
  const test::CliResult out = test::RunParley({"audit", "--json", "--now", "2025-06-08T01:00:00Z", path.string()});
  INFO(out.err);
  REQUIRE(out.code == 0);
  const nlohmann::json j = nlohmann::json::parse(out.out);
  const nlohmann::json& au = j["audited"];
  CHECK(au["audited_at"] == "2025-06-08T01:00:00Z");
  CHECK(au["bundle_digest"] == ToHex(Hash("parley/bundle/v1", FileBytes(path))));
  const std::string v = au["parley_version"].get<std::string>();
  const std::string c = au["parley_commit"].get<std::string>();
  CHECK(Has(version.out, "parley " + v + " (protocol v1, commit " + c + ")"));
  REQUIRE(test::HaveJsonSchema());
  CHECK(test::Validate(dir, "cli-audit", j, "audit") == 0);
  const test::CliResult text = test::RunParley({"audit", "--now", "2025-06-08T01:00:00Z", path.string()});
  CHECK(Has(text.out, "  audited by parley " + v + " (protocol v1, commit " + c + ") at 2025-06-08T01:00:00Z\n"));
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
