#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "node/protocol/agreements.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"
#include "node/report/views.h"
#include "tests/fixtures.h"
#include "tests/json_schema.h"

// Views (node/report/views.h): `parley list`, `parley show` and their --json forms,
// over the story of June 2025 (DESIGN.md): RU announces a date alone, UA
// objects and counters with another date, RU accepts the counter, and the
// handover and receipt are reported.

namespace parley {
namespace {

TEST_SUITE_BEGIN("views");

using test::kRU;
using test::kT0;
using test::kUA;
using test::Scenario;
using test::TheCharter;

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kNow = kT0 + kHour;

// The June story. Every entry has seen all of the other feed, so the
// canonical order is the order below; the clock ticks one second per entry.
struct JuneStory {
  Scenario s;
  DecodedEntry announced;  // RU#1: 1,212 remains by road, 9 June, RU's date alone
  DecodedEntry objection;  // UA#1: statement referring to RU#1
  DecodedEntry counter;    // UA#2: the same transfer on 10 June, countering RU#1
  DecodedEntry accepted;   // RU#2: RU accepts UA#2 -> the agreement
  DecodedEntry late;       // UA#3: rejects RU#1, already countered: void
  DecodedEntry handover;   // RU#3: 1,212 handed over on 10 June 10:00
  DecodedEntry receipt;    // UA#4: 1,212 received on 10 June 14:00
  DecodedEntry staged;     // RU#4: attestation "refrigerated trucks staged"
  DecodedEntry exchange;   // UA#5: 1,200 prisoners each way, left unanswered
  LedgerState state;

  JuneStory() {
    announced = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 1212, kT0 + kDay)));

    v1::Entry say = test::Say("the timing was set unilaterally");
    say.mutable_statement()->set_reference(announced.id.str());
    objection = s.Add(kUA, say);

    v1::Entry counter_body = test::Propose(test::RemainsTerms(kRU, 1212, kT0 + 2 * kDay));
    counter_body.mutable_propose()->set_counters(announced.id.str());
    counter = s.Add(kUA, counter_body);

    accepted = s.Add(kRU, test::Accept(counter));
    late = s.Add(kUA, test::Reject(announced, "superseded by our counter-proposal"));

    v1::Entry handed = test::Handover(counter, 0, 1212);
    handed.mutable_handover()->set_handed_over_ms(kT0 + 2 * kDay + 10 * kHour);
    handover = s.Add(kRU, handed);

    v1::Entry received = test::Receipt(counter, 0, 1212);
    received.mutable_receipt()->set_received_ms(kT0 + 2 * kDay + 14 * kHour);
    receipt = s.Add(kUA, received);

    v1::Entry attest = test::Attest("refrigerated trucks staged");
    attest.mutable_attestation()->set_where("near the crossing");
    attest.mutable_attestation()->set_when_ms(kT0 + 2 * kDay + 6 * kHour);
    attest.mutable_attestation()->set_reference(counter.id.str());
    staged = s.Add(kRU, attest);

    v1::Entry swap = test::Propose(test::ExchangeTerms(1200, kT0 + 5 * kDay), v1::PRISONER_EXCHANGE);
    swap.mutable_propose()->set_expires_ms(kT0 + 4 * kDay + 500);
    exchange = s.Add(kUA, swap);

    state = ComputeState(s.feed(kUA), s.feed(kRU), kNow);
  }

  std::string List(std::optional<std::string> filter = std::nullopt) const {
    Result<std::string> out = RenderList(TheCharter(), state, std::move(filter));
    REQUIRE(out.has_value());
    return *out;
  }

  Result<std::string> Show(const Digest& id) const {
    return RenderShow(TheCharter(), state, s.feed(kUA), s.feed(kRU), id);
  }
};

std::string Short(const DecodedEntry& e) { return ToHex(e.id).substr(0, 12); }

// The line of `text` that starts with `prefix`, or "" if none.
std::string LineStarting(const std::string& text, const std::string& prefix) {
  const size_t at = ("\n" + text).find("\n" + prefix);
  if (at == std::string::npos) return "";
  return text.substr(at, text.find('\n', at) - at);
}

// The table of proposals: what RenderList prints before the claims.
std::string Table(const std::string& list) { return list.substr(0, list.find("\nOne-sided claims")); }

bool Contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// --- list -------------------------------------------------------------------

TEST_CASE("list shows the agreement as signed by both and the open proposal as its proposer's alone") {
  JuneStory j;
  const std::string list = j.List();
  INFO(list);

  const std::string agreed = LineStarting(list, Short(j.counter));
  CHECK(Contains(agreed, "UA  remains_transfer"));
  CHECK(Contains(agreed, "RU→UA remains 1212, road, 2025-06-10 00:00–2025-06-11 00:00 UTC"));
  CHECK(Contains(agreed, "AGREED (signed by both) — completed: 1212 of 1212 handed over, 1212 received"));

  const std::string announced = LineStarting(list, Short(j.announced));
  CHECK(Contains(announced, "RU→UA remains 1212, road, 2025-06-09 00:00–2025-06-10 00:00 UTC"));
  CHECK(Contains(announced, "countered by UA (UA#2, " + Short(j.counter) + ") — proposed by RU alone, not accepted"));
  CHECK_FALSE(Contains(announced, "AGREED"));

  const std::string open = LineStarting(list, Short(j.exchange));
  CHECK(Contains(open, "prisoner_exchange"));
  CHECK(Contains(open, "UA→RU prisoners of war 1200 + RU→UA prisoners of war 1200"));
  CHECK(Contains(open, "open — proposed by UA alone, not accepted; expires 2025-06-12 00:00 UTC"));

  CHECK(Contains(list, "only AGREED ones are signed by both sides (bilateral)"));
  CHECK(list.find(Short(j.announced)) < list.find(Short(j.counter)));
  CHECK(list.find(Short(j.counter)) < list.find(Short(j.exchange)));
}

TEST_CASE("list keeps one-sided claims and void statements in sections of their own") {
  JuneStory j;
  const std::string list = j.List();
  INFO(list);
  const size_t claims = list.find("One-sided claims");
  const size_t voids = list.find("Void statements");
  REQUIRE(claims != std::string::npos);
  REQUIRE(voids != std::string::npos);
  CHECK(claims < voids);
  CHECK(Contains(list, "UA#1  2025-06-08T00:00:02Z  statement: \"the timing was set unilaterally\"; re RU#1 (" +
                           Short(j.announced) + ")"));
  CHECK(Contains(list, "RU#4  2025-06-08T00:00:08Z  attestation: refrigerated trucks staged @ near the crossing; "
                       "when 2025-06-10 06:00 UTC; re UA#2 (" + Short(j.counter) + ")"));
  CHECK(list.find("refrigerated trucks staged") > claims);
  CHECK(Contains(list.substr(voids), "UA#3  2025-06-08T00:00:05Z  reject: the proposal was already countered"));
}

TEST_CASE("list filters by proposal state or agreement state") {
  JuneStory j;
  auto only = [&](const std::string& filter, const DecodedEntry& expected) {
    const std::string list = j.List(filter);
    INFO(filter << "\n" << list);
    for (const DecodedEntry* e : {&j.announced, &j.counter, &j.exchange}) {
      CHECK(!LineStarting(Table(list), Short(*e)).empty() == (e == &expected));
    }
  };
  only("open", j.exchange);
  only("agreed", j.counter);
  only("completed", j.counter);
  only("COMPLETED", j.counter);
  only("countered", j.announced);

  SUBCASE("a state no proposal is in lists none and says so, with the claims still listed") {
    const std::string list = j.List("cancel-requested");
    CHECK(Contains(list, "No proposals in state 'cancel_requested' (3 in all)."));
    CHECK(Contains(list, "refrigerated trucks staged"));
  }
  SUBCASE("an unknown state is refused with the list of states") {
    Result<std::string> out = RenderList(TheCharter(), j.state, "done");
    REQUIRE_FALSE(out.has_value());
    CHECK(out.error().code() == Code::kInvalidArgument);
    CHECK(Contains(out.error().message(), "unknown state 'done'"));
    CHECK(Contains(out.error().message(), "open, agreed, rejected, withdrawn, expired, countered, in_progress"));
  }
}

TEST_CASE("list of an empty ledger says there are no proposals yet") {
  const LedgerState empty = ComputeState({}, {}, kNow);
  Result<std::string> out = RenderList(TheCharter(), empty, std::nullopt);
  REQUIRE(out.has_value());
  CHECK(*out == "No proposals yet.\n\nOne-sided claims (each one side's word alone; never agreement):\n  none\n");

  const nlohmann::json json = StateJson(TheCharter(), empty);
  CHECK(json["proposals"].empty());
  CHECK(json["claims"].empty());
  CHECK(json["void_statements"].empty());
}

TEST_CASE("list and JSON show a cancel request as the requesting side's alone") {
  Scenario s;
  const DecodedEntry proposal = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 1212, kT0 + kDay)));
  s.Add(kUA, test::Accept(proposal));
  const DecodedEntry cancel = s.Add(kUA, test::Cancel(proposal));
  const LedgerState state = ComputeState(s.feed(kUA), s.feed(kRU), kNow);

  Result<std::string> list = RenderList(TheCharter(), state, "cancel_requested");
  REQUIRE(list.has_value());
  CHECK(Contains(LineStarting(*list, ToHex(proposal.id).substr(0, 12)),
                 "AGREED (signed by both) — cancellation requested by UA alone (UA#2)"));

  const nlohmann::json json = StateJson(TheCharter(), state);
  const nlohmann::json& agreement = json["proposals"][0]["agreement"];
  CHECK(agreement["state"] == "cancel_requested");
  CHECK(agreement["cancel_requests"] ==
        nlohmann::json{{"UA", {{"party", "UA"}, {"seq", 2}, {"id", ToHex(cancel.id)}, {"time", "2025-06-08T00:00:03Z"}}}});
}

// --- StateJson --------------------------------------------------------------

TEST_CASE("state JSON carries the ledger, the parties and every proposal with its agreement") {
  JuneStory j;
  const nlohmann::json json = StateJson(TheCharter(), j.state);
  INFO(json.dump(2));

  CHECK(json["ledger_id"] == ToHex(TheCharter().ledger_id()));
  REQUIRE(json["parties"].size() == 2);
  CHECK(json["parties"][0] == nlohmann::json{{"index", 0}, {"code", "UA"}, {"name", TheCharter().party_name(kUA)}});
  CHECK(json["parties"][1]["code"] == "RU");

  REQUIRE(json["proposals"].size() == 3);
  const nlohmann::json& announced = json["proposals"][0];
  CHECK(announced["id"] == ToHex(j.announced.id));
  CHECK(announced["proposer"] == "RU");
  CHECK(announced["kind"] == "remains_transfer");
  CHECK(announced["state"] == "countered");
  CHECK(announced["bilateral"] == false);
  CHECK(announced["countered_by"] == ToHex(j.counter.id));
  CHECK(announced["answered"] ==
        nlohmann::json{{"party", "UA"}, {"seq", 2}, {"id", ToHex(j.counter.id)}, {"time", "2025-06-08T00:00:03Z"}});
  CHECK(announced["agreement"].is_null());
  CHECK(announced["terms"]["window"] ==
        nlohmann::json{{"start", "2025-06-09T00:00:00Z"}, {"end", "2025-06-10T00:00:00Z"}});

  const nlohmann::json& agreed = json["proposals"][1];
  CHECK(agreed["id"] == ToHex(j.counter.id));
  CHECK(agreed["proposer"] == "UA");
  CHECK(agreed["state"] == "agreed");
  CHECK(agreed["bilateral"] == true);
  CHECK(agreed["contested"] == false);
  CHECK(agreed["counters"] == ToHex(j.announced.id));
  CHECK(agreed["amends"].is_null());
  CHECK(agreed["expires"].is_null());
  CHECK(agreed["proposed"] ==
        nlohmann::json{{"party", "UA"}, {"seq", 2}, {"id", ToHex(j.counter.id)}, {"time", "2025-06-08T00:00:03Z"}});
  const nlohmann::json& terms = agreed["terms"];
  CHECK(terms["transfers"] ==
        nlohmann::json::array({{{"from", "RU"}, {"to", "UA"}, {"category", "remains"}, {"count", 1212}}}));
  CHECK(terms["crossing_point"] == "Belarus-Ukraine border crossing");
  CHECK(terms["transport"] == "road");
  CHECK(terms["window"]["start"] == "2025-06-10T00:00:00Z");
  CHECK(terms["intermediary"] == "ICRC");
  CHECK(terms["notes"] == "");

  const nlohmann::json& agreement = agreed["agreement"];
  CHECK(agreement["state"] == "completed");
  CHECK(agreement["accepted"]["party"] == "RU");
  CHECK(agreement["accepted"]["seq"] == 2);
  CHECK(agreement["accepted"]["id"] == ToHex(j.accepted.id));
  REQUIRE(agreement["transfers"].size() == 1);
  const nlohmann::json& progress = agreement["transfers"][0];
  CHECK(progress["handed_over"] == 1212);
  CHECK(progress["received"] == 1212);
  CHECK(progress["handovers"][0]["id"] == ToHex(j.handover.id));
  CHECK(progress["receipts"][0]["id"] == ToHex(j.receipt.id));
  CHECK(progress["reconciliation"]["matched"] == 1212);
  CHECK(progress["handover_manifest"].is_null());
  CHECK(agreement["cancel_requests"] == nlohmann::json::object());
  CHECK(agreement["amended_by"].is_null());

  const nlohmann::json& open = json["proposals"][2];
  CHECK(open["kind"] == "prisoner_exchange");
  CHECK(open["state"] == "open");
  CHECK(open["bilateral"] == false);
  CHECK(open["answered"].is_null());
  CHECK(open["expires"] == "2025-06-12T00:00:00.500Z");
  CHECK(open["terms"]["transfers"].size() == 2);
  CHECK(open["terms"]["transfers"][1]["category"] == "prisoners_of_war");

  REQUIRE(json["void_statements"].size() == 1);
  CHECK(json["void_statements"][0] == nlohmann::json{{"party", "UA"},
                                                     {"seq", 3},
                                                     {"id", ToHex(j.late.id)},
                                                     {"kind", "reject"},
                                                     {"reason", "the proposal was already countered"}});

  REQUIRE(json["claims"].size() == 2);
  CHECK(json["claims"][0]["kind"] == "statement");
  CHECK(json["claims"][0]["party"] == "UA");
  CHECK(json["claims"][0]["when"].is_null());
  CHECK(json["claims"][0]["reference"] == ToHex(j.announced.id));
  CHECK(json["claims"][1] == nlohmann::json{{"party", "RU"},
                                            {"seq", 4},
                                            {"id", ToHex(j.staged.id)},
                                            {"time", "2025-06-08T00:00:08Z"},
                                            {"kind", "attestation"},
                                            {"text", "refrigerated trucks staged @ near the crossing"},
                                            {"when", "2025-06-10T06:00:00Z"},
                                            {"reference", ToHex(j.counter.id)}});
}

// --- show -------------------------------------------------------------------

TEST_CASE("show of the agreement lists its whole history in canonical order, void ones marked") {
  JuneStory j;
  Result<std::string> show = j.Show(j.counter.id);
  REQUIRE(show.has_value());
  INFO(*show);

  CHECK(Contains(*show, "Proposal " + ToHex(j.counter.id)));
  CHECK(Contains(*show, "remains_transfer proposed by UA (UA#2, 2025-06-08T00:00:03Z)"));
  CHECK(Contains(*show, "counters RU#1 (" + Short(j.announced) + ")"));
  CHECK(Contains(*show, "transfer 0: RU → UA, remains, 1212"));
  CHECK(Contains(*show, "window: 2025-06-10T00:00:00Z – 2025-06-11T00:00:00Z"));

  const std::vector<std::string> history = {
      "RU#1  2025-06-08T00:00:01Z  proposes remains_transfer " + Short(j.announced),
      "UA#1  2025-06-08T00:00:02Z  states (one-sided): \"the timing was set unilaterally\"; re RU#1",
      "UA#2  2025-06-08T00:00:03Z  proposes remains_transfer " + Short(j.counter) + ": RU→UA remains 1212, road, "
      "2025-06-10 00:00–2025-06-11 00:00 UTC; counters RU#1",
      "RU#2  2025-06-08T00:00:04Z  accepts UA#2",
      "UA#3  2025-06-08T00:00:05Z  rejects RU#1: superseded by our counter-proposal "
      "(void: the proposal was already countered)",
      "RU#3  2025-06-08T00:00:06Z  reports handing over 1212 under UA#2 (transfer 0) at crossing, "
      "handed over 2025-06-10T10:00:00Z",
      "UA#4  2025-06-08T00:00:07Z  reports receiving 1212 under UA#2 (transfer 0), received 2025-06-10T14:00:00Z; "
      "matched 1212",
      "RU#4  2025-06-08T00:00:08Z  attests (one-sided): refrigerated trucks staged @ near the crossing; "
      "when 2025-06-10T06:00:00Z; re UA#2",
  };
  size_t at = show->find("History");
  REQUIRE(at != std::string::npos);
  for (const std::string& line : history) {
    const size_t found = show->find(line, at);
    CHECK_MESSAGE(found != std::string::npos, "missing or out of order: " << line);
    if (found != std::string::npos) at = found;
  }
  CHECK_FALSE(Contains(*show, "UA#5"));  // the open exchange is another proposal's business
}

TEST_CASE("show keeps the proposed windows, the agreed window, the executed times and the claims apart") {
  JuneStory j;
  Result<std::string> show = j.Show(j.counter.id);
  REQUIRE(show.has_value());
  INFO(*show);
  const std::string summary = show->substr(show->find("\nSummary"));

  const size_t proposed = summary.find("Proposed windows (each one side's proposal alone):");
  const size_t agreed = summary.find("Agreed windows (the same terms signed by both):");
  const size_t executed = summary.find("Executed (each side's own report):");
  const size_t claims = summary.find("One-sided claims (never agreement):");
  REQUIRE(proposed < agreed);
  REQUIRE(agreed < executed);
  REQUIRE(executed < claims);

  const std::string proposed_part = summary.substr(proposed, agreed - proposed);
  CHECK(Contains(proposed_part, "RU#1 " + Short(j.announced) +
                                    " by RU: 2025-06-09 00:00–2025-06-10 00:00 UTC; countered by UA"));
  CHECK(Contains(proposed_part, "proposed by RU alone, not accepted"));
  CHECK(Contains(proposed_part, "UA#2 " + Short(j.counter) + " by UA: 2025-06-10 00:00–2025-06-11 00:00 UTC; AGREED"));

  const std::string agreed_part = summary.substr(agreed, executed - agreed);
  CHECK(Contains(agreed_part, "2025-06-10 00:00–2025-06-11 00:00 UTC — " + Short(j.counter) +
                                  " proposed by UA (UA#2), accepted by RU (RU#2, 2025-06-08T00:00:04Z); completed"));
  CHECK_FALSE(Contains(agreed_part, "2025-06-09 00:00"));

  const std::string executed_part = summary.substr(executed, claims - executed);
  CHECK(Contains(executed_part, "RU#3 handover: 1212 (transfer 0) handed over 2025-06-10 10:00 UTC"));
  CHECK(Contains(executed_part, "UA#4 receipt: 1212 (transfer 0) received 2025-06-10 14:00 UTC"));

  const std::string claims_part = summary.substr(claims);
  CHECK(Contains(claims_part, "UA#1 statement: \"the timing was set unilaterally\""));
  CHECK(Contains(claims_part, "RU#4 attestation: refrigerated trucks staged @ near the crossing"));
}

TEST_CASE("show of the countered proposal names its counter but leaves the counter's own history out") {
  JuneStory j;
  Result<std::string> show = j.Show(j.announced.id);
  REQUIRE(show.has_value());
  INFO(*show);
  CHECK(Contains(*show, "standing: countered by UA (UA#2, " + Short(j.counter) + ") — proposed by RU alone"));
  CHECK(Contains(*show, "UA#1  2025-06-08T00:00:02Z  states (one-sided)"));
  CHECK(Contains(*show, "UA#2  2025-06-08T00:00:03Z  proposes remains_transfer " + Short(j.counter)));
  CHECK(Contains(*show, "UA#3  2025-06-08T00:00:05Z  rejects RU#1"));
  CHECK_FALSE(Contains(*show, "RU#2"));  // the acceptance of the counter
  CHECK_FALSE(Contains(*show, "RU#3"));  // the handover under it
  CHECK_FALSE(Contains(*show, "RU#4"));  // the attestation about it
  CHECK(Contains(*show, "    RU#1 " + Short(j.announced) + " by RU: 2025-06-09 00:00–2025-06-10 00:00 UTC; countered"));
  CHECK_FALSE(Contains(*show, "UA#2 " + Short(j.counter) + " by UA"));
  CHECK(Contains(*show, "none: nothing here is signed by both sides; see the counter-proposal " + Short(j.counter) +
                            " for what followed"));
}

TEST_CASE("show of a proposal nobody answered says nothing is agreed or executed") {
  JuneStory j;
  Result<std::string> show = j.Show(j.exchange.id);
  REQUIRE(show.has_value());
  INFO(*show);
  CHECK(Contains(*show, "standing: open — proposed by UA alone, not accepted"));
  CHECK(Contains(*show, "expires: 2025-06-12T00:00:00.500Z"));
  CHECK(Contains(*show, "UA#5  2025-06-08T00:00:09Z  proposes prisoner_exchange"));
  CHECK(Contains(*show, "none: nothing here is signed by both sides"));
  CHECK(Contains(*show, "Executed (each side's own report):\n    none reported"));
  CHECK(Contains(*show, "One-sided claims (never agreement):\n    none"));
  CHECK_FALSE(Contains(*show, "RU#1"));
}

TEST_CASE("show of an unknown ID is not found") {
  JuneStory j;
  Result<std::string> show = j.Show(j.objection.id);  // an entry, but not a proposal
  REQUIRE_FALSE(show.has_value());
  CHECK(show.error().code() == Code::kNotFound);
  Result<nlohmann::json> json = ShowJson(TheCharter(), j.state, j.s.feed(kUA), j.s.feed(kRU), j.objection.id);
  REQUIRE_FALSE(json.has_value());
  CHECK(json.error().code() == Code::kNotFound);
}

TEST_CASE("show JSON carries the same history and summary") {
  JuneStory j;
  Result<nlohmann::json> json = ShowJson(TheCharter(), j.state, j.s.feed(kUA), j.s.feed(kRU), j.counter.id);
  REQUIRE(json.has_value());
  INFO(json->dump(2));

  CHECK((*json)["proposal"] == StateJson(TheCharter(), j.state)["proposals"][1]);

  const nlohmann::json& history = (*json)["history"];
  REQUIRE(history.size() == 8);
  std::vector<std::string> labels;
  for (const nlohmann::json& h : history) labels.push_back(h["party"].get<std::string>() + "#" + h["seq"].dump());
  CHECK(labels == std::vector<std::string>{"RU#1", "UA#1", "UA#2", "RU#2", "UA#3", "RU#3", "UA#4", "RU#4"});
  CHECK(history[3]["kind"] == "accept");
  CHECK(history[3]["text"] == "accepts UA#2");
  CHECK(history[3]["void"].is_null());
  CHECK(history[4]["void"] == "the proposal was already countered");
  CHECK(history[0]["time"] == "2025-06-08T00:00:01Z");

  const nlohmann::json& summary = (*json)["summary"];
  REQUIRE(summary["proposed"].size() == 2);
  CHECK(summary["proposed"][0] == nlohmann::json{{"proposal", ToHex(j.announced.id)},
                                                 {"by", "RU"},
                                                 {"seq", 1},
                                                 {"window", {{"start", "2025-06-09T00:00:00Z"}, {"end", "2025-06-10T00:00:00Z"}}},
                                                 {"state", "countered"}});
  CHECK(summary["proposed"][1]["state"] == "agreed");
  REQUIRE(summary["agreed"].size() == 1);
  CHECK(summary["agreed"][0]["window"]["start"] == "2025-06-10T00:00:00Z");
  CHECK(summary["agreed"][0]["accepted"]["id"] == ToHex(j.accepted.id));
  CHECK(summary["agreed"][0]["state"] == "completed");
  REQUIRE(summary["executed"].size() == 2);
  CHECK(summary["executed"][0]["kind"] == "handover");
  CHECK(summary["executed"][0]["at"] == "2025-06-10T10:00:00Z");
  CHECK(summary["executed"][0]["count"] == 1212);
  CHECK(summary["executed"][1]["kind"] == "receipt");
  CHECK(summary["executed"][1]["at"] == "2025-06-10T14:00:00Z");
  REQUIRE(summary["claims"].size() == 2);
  CHECK(summary["claims"][1]["text"] == "refrigerated trucks staged @ near the crossing");
}

// --- ResolveIdPrefix --------------------------------------------------------

Digest DigestFromHex(const std::string& hex) { return Digest::FromBytes(FromHex(hex).value()).value(); }

TEST_CASE("an ID prefix resolves to the one ID it starts, in either case") {
  JuneStory j;
  std::vector<Digest> ids;
  for (const Proposal& p : j.state.proposals) ids.push_back(p.id);

  std::string prefix = ToHex(j.counter.id).substr(0, 8);
  for (char& ch : prefix) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  Result<Digest> found = ResolveIdPrefix(prefix, ids);
  REQUIRE(found.has_value());
  CHECK(*found == j.counter.id);

  found = ResolveIdPrefix(ToHex(j.exchange.id), ids);
  REQUIRE(found.has_value());
  CHECK(*found == j.exchange.id);
}

TEST_CASE("an ID prefix that matches several IDs is ambiguous and names them") {
  const Digest a = DigestFromHex("abcd01" + std::string(58, '0'));
  const Digest b = DigestFromHex("abcd02" + std::string(58, '0'));
  const Digest other = DigestFromHex(std::string(64, 'f'));
  Result<Digest> found = ResolveIdPrefix("ABCD", {a, b, other, a});
  REQUIRE_FALSE(found.has_value());
  CHECK(found.error().code() == Code::kInvalidArgument);
  CHECK(found.error().message() == "prefix ABCD is ambiguous: matches 2 entries (abcd01000000…, abcd02000000…)");

  SUBCASE("a longer prefix tells them apart; duplicates count once") {
    CHECK(ResolveIdPrefix("abcd02", {a, b, b}).value() == b);
  }
}

TEST_CASE("an ID prefix that matches nothing is not found") {
  const Digest a = DigestFromHex("abcd01" + std::string(58, '0'));
  Result<Digest> found = ResolveIdPrefix("beef", {a});
  REQUIRE_FALSE(found.has_value());
  CHECK(found.error().code() == Code::kNotFound);
  CHECK(found.error().message() == "no entry starts with beef");
  CHECK(ResolveIdPrefix("abcd", {}).error().code() == Code::kNotFound);
}

TEST_CASE("an ID prefix that is not hex or shorter than 4 digits is refused as such") {
  const Digest a = DigestFromHex("abcd01" + std::string(58, '0'));
  for (const char* bad : {"", "abc", "xyz1", "ab d", "abcd-1"}) {
    Result<Digest> found = ResolveIdPrefix(bad, {a});
    INFO(bad);
    REQUIRE_FALSE(found.has_value());
    CHECK(found.error().code() == Code::kInvalidArgument);
  }
  CHECK(Contains(ResolveIdPrefix("abc", {a}).error().message(), "too short: give at least 4 hex digits"));
  CHECK(Contains(ResolveIdPrefix("xyz1", {a}).error().message(), "is not an ID prefix: IDs are hex"));
}

// RU#1 proposed, UA#1 accepted; RU#2 proposes an amendment; both cancel the
// agreement (UA#2, RU#3); UA#3 accepts the amendment, which so becomes an
// agreement of its own: the acceptance stands, the amendment's link is void.
struct AmendAfterCancel {
  Scenario s;
  DecodedEntry original, amendment, acceptance;
  LedgerState state;
  AmendAfterCancel() {
    original = s.Add(kRU, test::Propose(test::RemainsTerms(kRU, 1212, kT0 + kDay)));
    s.Add(kUA, test::Accept(original));
    v1::Entry amend = test::Propose(test::RemainsTerms(kRU, 1212, kT0 + 3 * kDay));
    amend.mutable_propose()->set_amends(original.id.str());
    amendment = s.Add(kRU, amend);
    s.Add(kUA, test::Cancel(original));
    s.Add(kRU, test::Cancel(original));
    acceptance = s.Add(kUA, test::Accept(amendment));
    state = ComputeState(s.feed(kUA), s.feed(kRU), kNow);
  }
};

TEST_CASE("a statement that stands with a void link is shown apart from void statements, in every view") {
  AmendAfterCancel a;
  const std::string reason =
      "the agreement named was already cancelled when the amendment was accepted; the amendment stands as an "
      "agreement of its own";

  const nlohmann::json json = StateJson(TheCharter(), a.state);
  INFO(json.dump(2));
  CHECK(json["void_statements"].empty());  // the acceptance made an agreement: not void
  REQUIRE(json["void_links"].size() == 1);
  CHECK(json["void_links"][0] == nlohmann::json{{"party", "RU"},
                                                {"seq", 2},
                                                {"id", ToHex(a.amendment.id)},
                                                {"kind", "propose"},
                                                {"field", "amends"},
                                                {"target", ToHex(a.original.id)},
                                                {"reason", reason}});
  const nlohmann::json& amendment = json["proposals"][1];
  CHECK(amendment["state"] == "agreed");
  CHECK(amendment["agreement"]["accepted"]["id"] == ToHex(a.acceptance.id));
  CHECK(amendment["amends"].is_null());
  CHECK(amendment["void_links"] ==
        nlohmann::json::array({{{"field", "amends"}, {"target", ToHex(a.original.id)}, {"reason", reason}}}));
  CHECK(json["proposals"][0]["void_links"] == nlohmann::json::array());

  Result<std::string> list = RenderList(TheCharter(), a.state);
  REQUIRE(list.has_value());
  CHECK_FALSE(Contains(*list, "Void statements"));
  CHECK(Contains(*list, "Void links (the statement stands; the link named has no effect):\n"
                        "  RU#2  2025-06-08T00:00:03Z  propose, link void: amends RU#1 (" +
                            ToHex(a.original.id).substr(0, 12) + "): " + reason + "\n"));

  Result<std::string> show = RenderShow(TheCharter(), a.state, a.s.feed(kUA), a.s.feed(kRU), a.amendment.id);
  REQUIRE(show.has_value());
  INFO(*show);
  CHECK(Contains(*show, "  link void: amends RU#1 ("));
  CHECK(Contains(*show, "(link void: amends RU#1 ("));
  CHECK_FALSE(Contains(*show, "(void:"));

  Result<nlohmann::json> show_json = ShowJson(TheCharter(), a.state, a.s.feed(kUA), a.s.feed(kRU), a.amendment.id);
  REQUIRE(show_json.has_value());
  for (const nlohmann::json& h : (*show_json)["history"]) {
    CAPTURE(h.dump());
    CHECK(h["void"].is_null());
    CHECK(h["void_links"].size() == (h["id"] == ToHex(a.amendment.id) ? 1u : 0u));
  }
}

// --- docs/audit.schema.json ------------------------------------------------------

using test::HaveJsonSchema;
using test::Validate;

TEST_CASE("list, show and audit JSON of several ledgers validate against docs/audit.schema.json") {
  REQUIRE_MESSAGE(HaveJsonSchema(), "/usr/bin/python3 with the jsonschema module is missing: apt-get install "
                                    "python3-jsonschema (./setup.sh test installs it)");
  test::TempDir dir;
  JuneStory june;
  AmendAfterCancel amend;
  CHECK(Validate(dir, "june-state", StateJson(TheCharter(), june.state), "state") == 0);
  CHECK(Validate(dir, "june-state-any", StateJson(TheCharter(), june.state), "any") == 0);
  CHECK(Validate(dir, "amend-state", StateJson(TheCharter(), amend.state), "state") == 0);
  for (const DecodedEntry* p : {&june.announced, &june.counter, &june.exchange}) {
    auto j = ShowJson(TheCharter(), june.state, june.s.feed(kUA), june.s.feed(kRU), p->id);
    REQUIRE(j.has_value());
    CHECK(Validate(dir, "june-show-" + ToHex(p->id).substr(0, 8), *j, "show") == 0);
  }
  auto j = ShowJson(TheCharter(), amend.state, amend.s.feed(kUA), amend.s.feed(kRU), amend.amendment.id);
  REQUIRE(j.has_value());
  CHECK(Validate(dir, "amend-show", *j, "show") == 0);

  // The audit of each as a bundle.
  int n = 0;
  for (const Scenario* s : {&june.s, &amend.s}) {
    const auto bundle = dir.path() / ("b" + std::to_string(++n) + ".parley");
    auto w = BundleWriter::Create(bundle, TheCharter(), "UA", kT0).value();
    for (const auto& [party, index] : CanonicalOrder(s->feed(kUA), s->feed(kRU))) {
      REQUIRE(w->AddEntry(s->feed(party)[index].envelope).ok());
    }
    REQUIRE(w->Finish().ok());
    AuditOptions o;
    o.now_ms = kNow;
    AuditReport r = AuditBundle(bundle.string(), o).value();
    CHECK(r.clean());
    if (s == &amend.s) {  // the void link is its own finding kind, not "void"
      CHECK(r.Count("void-link") == 1);
      CHECK(r.Count("void") == 0);
      // The HTML timeline marks the amendment's propose as a void link, the acceptance not at all.
      const std::string html = RenderAuditHtml(r);
      CHECK(html.find("data-seq=\"2\" data-kind=\"propose\" data-void=\"link\"") != std::string::npos);
      CHECK(html.find("data-kind=\"accept\" data-void") == std::string::npos);
    }
    CHECK(Validate(dir, "audit" + std::to_string(n), AuditJson(r), "audit") == 0);
    CHECK(Validate(dir, "audit-any" + std::to_string(n), AuditJson(r), "any") == 0);
  }

  SUBCASE("and the validator does fail on an output that breaks the schema") {
    nlohmann::json bad = StateJson(TheCharter(), june.state);
    bad["proposals"][0]["state"] = "maybe";
    bad.erase("void_links");
    CHECK(Validate(dir, "bad", bad, "state", /*quiet=*/true) != 0);
  }
}

TEST_SUITE_END();

}  // namespace
}  // namespace parley
