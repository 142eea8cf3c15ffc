// The audit's memory does not grow with a ledger made of statements: it lists
// the first kMaxClaimsListed claims (attestations, statements) and counts the
// rest, in the text, the JSON (valid under docs/audit.schema.json) and the
// HTML alike; the verdict's count of one-sided claims still counts them all,
// and the agreement state is the same as with every claim kept.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "fixtures.h"
#include "json_schema.h"
#include "node/protocol/agreements.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"

namespace parley {
namespace {

using test::kRU;
using test::kT0;
using test::kUA;

std::vector<const DecodedEntry*> InOrder(const test::Scenario& s) {
  std::vector<const DecodedEntry*> out;
  for (const auto& [party, index] : CanonicalOrder(s.feed(kUA), s.feed(kRU))) out.push_back(&s.feed(party)[index]);
  return out;
}

TEST_CASE("an audit lists the first kMaxClaimsListed claims, counts the rest, and reaches the same state") {
  test::Scenario s;
  const size_t extra = 37;
  const size_t n = kMaxClaimsListed + extra;
  // A proposal and its acceptance among the statements: the state must not
  // depend on how many claims are kept.
  const DecodedEntry p = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 3, kT0 + 86'400'000)));
  s.Add(kUA, test::Accept(p));
  for (size_t i = 0; i < n; ++i) s.Add(i % 2 ? kUA : kRU, test::Say("noted " + std::to_string(i)));

  test::TempDir dir;
  const auto path = dir.path() / "claims.parley";
  {
    auto w = BundleWriter::Create(path, test::TheCharter(), "UA", kT0).value();
    for (const DecodedEntry* e : InOrder(s)) REQUIRE(w->AddEntry(e->envelope).ok());
    REQUIRE(w->Finish().ok());
  }
  AuditOptions o;
  o.now_ms = kT0 + 3'600'000;
  auto r = AuditBundle(path.string(), o);
  REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  CHECK(r->clean());
  CHECK(r->state.claims.size() == kMaxClaimsListed);
  CHECK(r->state.claims_omitted == extra);
  // The first claims are the ones kept, in canonical order.
  CHECK(r->state.claims.front().text == "noted 0");

  // The same agreement state as the unbounded computation.
  StateBuilder all;
  for (const DecodedEntry* e : InOrder(s)) all.Apply(*e);
  const LedgerState full = std::move(all).Finish(o.now_ms);
  CHECK(full.claims.size() == n);
  CHECK(full.claims_omitted == 0);
  REQUIRE(full.proposals.size() == 1);
  REQUIRE(r->state.proposals.size() == 1);
  CHECK(r->state.proposals[0].state == full.proposals[0].state);

  const std::string text = RenderAudit(*r);
  CHECK(text.find("… and " + std::to_string(extra) + " more, not listed") != std::string::npos);
  CHECK(text.find(std::to_string(n) + " one-sided claims") != std::string::npos);

  const nlohmann::json j = AuditJson(*r);
  CHECK(j["unilateral_omitted"] == extra);
  CHECK(j["state"]["claims_omitted"] == extra);
  CHECK(j["state"]["claims"].size() == kMaxClaimsListed);
  REQUIRE_MESSAGE(test::HaveJsonSchema(), "/usr/bin/python3 with the jsonschema module is missing");
  CHECK(test::Validate(dir, "claims", j, "audit") == 0);

  const std::string html = RenderAuditHtml(*r);
  CHECK(html.find("<b>" + std::to_string(n) + "</b>") != std::string::npos);
  CHECK(html.find("… and " + std::to_string(extra) + " more claims") != std::string::npos);
}

}  // namespace
}  // namespace parley
