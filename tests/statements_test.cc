// Statement building (node/cli/statements.h): the flags of the signing
// commands turned into entry bodies, and every refusal with the flag it names.
// No process, no node: pure functions over a test charter and hand-made feeds.
#include <doctest/doctest.h>

#include "fixtures.h"
#include "node/base/parse.h"
#include "node/cli/statements.h"

namespace parley {
namespace {

using cli::StatementFlags;
using cli::StatementKind;
using cli::TermsFlags;

bool Has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// 2025-06-08T00:00Z, before the windows below.
constexpr int64_t kNow = test::kT0;

TermsFlags GoodTerms() {
  TermsFlags t;
  t.kind = "remains_transfer";
  t.transfers = {"RU>UA:remains:1212"};
  t.crossing = "Belarus-Ukraine border";
  t.transport = "road";
  t.window_start = "2025-06-11T08:00Z";
  t.window_end = "2025-06-11T18:00Z";
  t.intermediary = "ICRC";
  return t;
}

// The message of a refused statement, or "" if it was built.
std::string Refusal(const Result<v1::Entry>& r) {
  if (r) return "";
  CHECK(r.error().code() == Code::kInvalidArgument);
  return r.error().message();
}

TEST_CASE("propose: the flags become the terms, exactly") {
  auto b = cli::BuildPropose(test::TheCharter(), GoodTerms(), nullptr, kNow);
  REQUIRE(b.has_value());
  REQUIRE(b->has_propose());
  CHECK(b->propose().kind() == v1::REMAINS_TRANSFER);
  v1::Terms terms;
  REQUIRE(terms.ParseFromString(b->propose().terms()));
  REQUIRE(terms.transfers_size() == 1);
  CHECK(terms.transfers(0).from_party() == test::kRU);
  CHECK(terms.transfers(0).to_party() == test::kUA);
  CHECK(terms.transfers(0).category() == v1::REMAINS);
  CHECK(terms.transfers(0).count() == 1212);
  CHECK(terms.crossing_point() == "Belarus-Ukraine border");
  CHECK(terms.transport() == v1::ROAD);
  CHECK(terms.window().start_ms() == ParseTime("2025-06-11T08:00Z").value());
  CHECK(terms.window().end_ms() == ParseTime("2025-06-11T18:00Z").value());
  CHECK(terms.intermediary() == "ICRC");
  CHECK(b->propose().expires_ms() == 0);
}

TEST_CASE("propose: each bad flag is refused with a message that names it") {
  const Charter& c = test::TheCharter();
  struct Case {
    const char* name;
    void (*edit)(TermsFlags&);
    const char* says;
  };
  const Case cases[] = {
      {"no kind", [](TermsFlags& t) { t.kind.clear(); }, "--kind is required"},
      {"unknown kind", [](TermsFlags& t) { t.kind = "swap"; }, "unknown --kind 'swap'"},
      {"no transfer", [](TermsFlags& t) { t.transfers.clear(); }, "at least one --transfer is required"},
      {"transfer syntax", [](TermsFlags& t) { t.transfers = {"RU-UA:remains:3"}; }, "use FROM>TO:CATEGORY:COUNT"},
      {"unknown party", [](TermsFlags& t) { t.transfers = {"RU>XX:remains:3"}; }, "parties are UA and RU"},
      {"unknown category", [](TermsFlags& t) { t.transfers = {"RU>UA:cats:3"}; }, "unknown category 'cats'"},
      {"count zero", [](TermsFlags& t) { t.transfers = {"RU>UA:remains:0"}; }, "--transfer COUNT must be at least 1"},
      {"count negative", [](TermsFlags& t) { t.transfers = {"RU>UA:remains:-1"}; }, "--transfer COUNT"},
      {"count too large", [](TermsFlags& t) { t.transfers = {"RU>UA:remains:1000001"}; }, "--transfer COUNT"},
      {"bad manifest root", [](TermsFlags& t) { t.transfers = {"RU>UA:remains:3:abcd"}; }, "bad --transfer"},
      {"unknown transport", [](TermsFlags& t) { t.transport = "boat"; }, "unknown --transport 'boat'"},
      {"no transport", [](TermsFlags& t) { t.transport.clear(); }, "--transport is required"},
      {"no window", [](TermsFlags& t) { t.window_start.clear(), t.window_end.clear(); }, "--from and --until are required"},
      {"bad time", [](TermsFlags& t) { t.window_start = "June 11"; }, "--from"},
      {"until before from", [](TermsFlags& t) { t.window_end = "2025-06-10T08:00Z"; }, "--until is before --from"},
      {"window past", [](TermsFlags& t) { t.window_start = "2025-06-01T08:00Z", t.window_end = "2025-06-02T08:00Z"; },
       "give --allow-past"},
      {"expiry past", [](TermsFlags& t) { t.expires = "2025-06-01T00:00Z"; }, "--expires 2025-06-01"},
      {"far future", [](TermsFlags& t) { t.window_start = "2035-06-11T08:00Z", t.window_end = "2035-06-12T08:00Z"; },
       "--allow-far-future"},
      {"control character", [](TermsFlags& t) { t.notes = "a\x1b[31mred"; }, "--notes: byte 1: U+001B"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name);
    TermsFlags t = GoodTerms();
    k.edit(t);
    const std::string why = Refusal(cli::BuildPropose(c, t, nullptr, kNow));
    CHECK_MESSAGE(Has(why, k.says), why);
  }
}

TEST_CASE("propose: --allow-past and --allow-far-future sign what would read as a typo") {
  TermsFlags t = GoodTerms();
  t.window_start = "2025-06-01T08:00Z";
  t.window_end = "2025-06-02T08:00Z";
  t.allow_past = true;
  CHECK(cli::BuildPropose(test::TheCharter(), t, nullptr, kNow).has_value());
  t = GoodTerms();
  t.window_start = "2035-06-11T08:00Z";
  t.window_end = "2035-06-12T08:00Z";
  t.allow_far_future = true;
  CHECK(cli::BuildPropose(test::TheCharter(), t, nullptr, kNow).has_value());
}

TEST_CASE("propose: a manifest root after the count is the transfer's commitment") {
  TermsFlags t = GoodTerms();
  const std::string root(64, 'a');
  t.transfers = {"RU>UA:remains:3:" + root};
  auto b = cli::BuildPropose(test::TheCharter(), t, nullptr, kNow);
  REQUIRE(b.has_value());
  v1::Terms terms;
  REQUIRE(terms.ParseFromString(b->propose().terms()));
  CHECK(ToHex(terms.transfers(0).manifest().root()) == root);
  CHECK(terms.transfers(0).manifest().count() == 3);
}

// Two feeds: RU proposes, UA accepts.
struct Feeds {
  test::Scenario s;
  DecodedEntry proposal, acceptance;
  std::vector<DecodedEntry> feeds[2];
  Feeds() {
    v1::Terms terms = test::RemainsTerms(test::kRU, 10, test::kT0 + 3 * 86400000);
    terms.mutable_transfers(0)->mutable_manifest()->set_root(std::string(32, '\x11'));
    terms.mutable_transfers(0)->mutable_manifest()->set_count(10);
    proposal = s.Add(test::kRU, test::Propose(terms));
    acceptance = s.Add(test::kUA, test::Accept(proposal));
    for (PartyIndex p = 0; p < 2; ++p) feeds[p] = s.feed(p);
  }
};

TEST_CASE("IDs: a unique prefix finds the entry; a wrong kind or an unknown prefix is refused") {
  Feeds f;
  const std::string hex = ToHex(f.proposal.id);
  auto found = cli::ResolveProposal(f.feeds, hex.substr(0, 8));
  REQUIRE(found.has_value());
  CHECK(found->id == f.proposal.id);
  auto not_proposal = cli::ResolveProposal(f.feeds, ToHex(f.acceptance.id).substr(0, 8));
  REQUIRE_FALSE(not_proposal.has_value());
  CHECK_MESSAGE(Has(not_proposal.error().message(), "is an accept, not a proposal"), not_proposal.error().message());
  CHECK(cli::ResolveEntry(f.feeds, ToHex(f.acceptance.id).substr(0, 8)).has_value());
  CHECK_FALSE(cli::ResolveEntry(f.feeds, "zz").has_value());
}

TEST_CASE("flags checked before the node is asked: receipt count, text rule, strict numbers") {
  StatementFlags f;
  auto r = cli::CheckStatementFlags(StatementKind::kReceipt, f);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "receipt needs --count or --arrivals");

  f.count = "12abc";
  r = cli::CheckStatementFlags(StatementKind::kReceipt, f);
  REQUIRE_FALSE(r.has_value());
  CHECK(Has(r.error().message(), "--count '12abc'"));

  f.count = "5";
  f.missing = "-1";
  r = cli::CheckStatementFlags(StatementKind::kReceipt, f);
  REQUIRE_FALSE(r.has_value());
  CHECK(Has(r.error().message(), "--missing '-1'"));

  f.missing = "0";
  f.transfer = "1001";
  r = cli::CheckStatementFlags(StatementKind::kReceipt, f);
  REQUIRE_FALSE(r.has_value());
  CHECK(Has(r.error().message(), "--transfer"));

  f.transfer = "0";
  f.reason = "bad\xff";
  r = cli::CheckStatementFlags(StatementKind::kReceipt, f);
  REQUIRE_FALSE(r.has_value());
  CHECK(Has(r.error().message(), "--reason: "));

  f.reason.clear();
  f.count = "0";
  r = cli::CheckStatementFlags(StatementKind::kHandover, f);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message() == "--count must be at least 1");

  f.count = "7";
  f.matched = "6";
  r = cli::CheckStatementFlags(StatementKind::kReceipt, f);
  REQUIRE(r.has_value());
  CHECK(r->count == 7);
  CHECK(r->matched == 6);

  StatementFlags accept;  // no count: only a receipt or a handover needs one
  CHECK(cli::CheckStatementFlags(StatementKind::kAccept, accept).has_value());
}

TEST_CASE("bodies: accept, reject, withdraw, cancel name the entry and carry the reason") {
  Feeds fe;
  StatementFlags f;
  f.reason = "the window moved";
  const cli::StatementNumbers n;
  const Charter& c = test::TheCharter();
  auto accept = cli::BuildStatement(StatementKind::kAccept, f, n, c, &fe.proposal, "", kNow);
  REQUIRE(accept.has_value());
  CHECK(accept->accept().proposal() == fe.proposal.id.str());
  CHECK(accept->accept().terms_digest() == TermsDigest(fe.proposal.entry.propose().terms()).str());
  auto reject = cli::BuildStatement(StatementKind::kReject, f, n, c, &fe.proposal, "", kNow);
  REQUIRE(reject.has_value());
  CHECK(reject->reject().reason() == "the window moved");
  auto withdraw = cli::BuildStatement(StatementKind::kWithdraw, f, n, c, &fe.proposal, "", kNow);
  REQUIRE(withdraw.has_value());
  CHECK(withdraw->withdraw().proposal() == fe.proposal.id.str());
  auto cancel = cli::BuildStatement(StatementKind::kCancel, f, n, c, &fe.proposal, "", kNow);
  REQUIRE(cancel.has_value());
  CHECK(cancel->cancel().agreement() == fe.proposal.id.str());
  CHECK(cancel->cancel().reason() == "the window moved");
  // Without the proposal resolved, nothing is built.
  CHECK(Has(Refusal(cli::BuildStatement(StatementKind::kAccept, f, n, c, nullptr, "", kNow)), "not a proposal"));
  CHECK(Has(Refusal(cli::BuildStatement(StatementKind::kAccept, f, n, c, &fe.acceptance, "", kNow)), "not a proposal"));
}

TEST_CASE("bodies: counter and amend keep every term not given and link the entry") {
  Feeds fe;
  StatementFlags f;
  f.terms.window_start = "2025-06-12T08:00Z";
  f.terms.window_end = "2025-06-12T18:00Z";
  const Charter& c = test::TheCharter();
  auto counter = cli::BuildStatement(StatementKind::kCounter, f, {}, c, &fe.proposal, "", kNow);
  REQUIRE(counter.has_value());
  CHECK(counter->propose().counters() == fe.proposal.id.str());
  CHECK(counter->propose().kind() == fe.proposal.entry.propose().kind());
  v1::Terms was, now;
  REQUIRE(was.ParseFromString(fe.proposal.entry.propose().terms()));
  REQUIRE(now.ParseFromString(counter->propose().terms()));
  CHECK(now.transfers(0).count() == was.transfers(0).count());
  CHECK(now.crossing_point() == was.crossing_point());
  CHECK(now.window().start_ms() == ParseTime("2025-06-12T08:00Z").value());
  auto amend = cli::BuildStatement(StatementKind::kAmend, f, {}, c, &fe.proposal, "", kNow);
  REQUIRE(amend.has_value());
  CHECK(amend->propose().amends() == fe.proposal.id.str());
  CHECK(amend->propose().counters().empty());
}

TEST_CASE("bodies: handover and receipt; --at and --manifest are checked") {
  Feeds fe;
  const Charter& c = test::TheCharter();
  StatementFlags f;
  f.count = "6";
  f.place = "Sumy";
  f.at = "2025-06-11T09:30Z";
  f.matched = "5";
  f.missing = "1";
  auto n = cli::CheckStatementFlags(StatementKind::kReceipt, f).value();
  auto h = cli::BuildStatement(StatementKind::kHandover, f, n, c, &fe.proposal, "", kNow);
  REQUIRE(h.has_value());
  CHECK(h->handover().agreement() == fe.proposal.id.str());
  CHECK(h->handover().count() == 6);
  CHECK(h->handover().place() == "Sumy");
  CHECK(h->handover().handed_over_ms() == ParseTime("2025-06-11T09:30Z").value());
  CHECK_FALSE(h->handover().has_manifest());
  auto r = cli::BuildStatement(StatementKind::kReceipt, f, n, c, &fe.proposal, "", kNow);
  REQUIRE(r.has_value());
  CHECK(r->receipt().count() == 6);
  CHECK(r->receipt().reconciliation().matched() == 5);
  CHECK(r->receipt().reconciliation().missing() == 1);
  CHECK(r->receipt().received_ms() == ParseTime("2025-06-11T09:30Z").value());

  StatementFlags bad = f;
  bad.at = "yesterday";
  CHECK(Has(Refusal(cli::BuildStatement(StatementKind::kHandover, bad, n, c, &fe.proposal, "", kNow)), "--at"));
  bad = f;
  bad.manifest = "1234:5";
  CHECK(Has(Refusal(cli::BuildStatement(StatementKind::kHandover, bad, n, c, &fe.proposal, "", kNow)), "64 hex"));
  bad.manifest = std::string(64, 'b') + ":5";
  auto with = cli::BuildStatement(StatementKind::kHandover, bad, n, c, &fe.proposal, "", kNow);
  REQUIRE(with.has_value());
  CHECK(with->handover().manifest().count() == 5);
}

TEST_CASE("receipt --arrivals: the agreed transfer's manifest, or a clear refusal; figures from the node") {
  Feeds fe;
  const Charter& c = test::TheCharter();
  StatementFlags f;
  f.arrivals = "arrivals.csv";
  auto n = cli::CheckStatementFlags(StatementKind::kReceipt, f).value();
  auto r = cli::BuildStatement(StatementKind::kReceipt, f, n, c, &fe.proposal, "", kNow);
  REQUIRE(r.has_value());
  CHECK(r->receipt().manifest().root() == std::string(32, '\x11'));
  CHECK(r->receipt().manifest().count() == 10);

  v1::ReconcileArrivalsResponse result;
  result.mutable_manifest()->set_count(10);
  result.set_received(9);
  result.mutable_figures()->set_matched(8);
  result.mutable_figures()->set_unidentified(1);
  v1::Receipt receipt = r->receipt();
  REQUIRE(cli::ApplyArrivals(receipt, result).ok());
  CHECK(receipt.count() == 9);
  CHECK(receipt.reconciliation().matched() == 8);
  CHECK(receipt.reconciliation().unidentified() == 1);

  result.mutable_manifest()->set_count(11);
  receipt = r->receipt();
  Status st = cli::ApplyArrivals(receipt, result);
  CHECK(st.code() == Code::kInvalidArgument);
  CHECK(st.message() == "the manifest holds 11 records, not 10");
  CHECK(receipt.count() == 0);  // unchanged

  // A transfer without a manifest needs --manifest.
  f.transfer = "1";
  n = cli::CheckStatementFlags(StatementKind::kReceipt, f).value();
  CHECK(Refusal(cli::BuildStatement(StatementKind::kReceipt, f, n, c, &fe.proposal, "", kNow)) ==
        "the agreed transfer names no manifest: give --manifest ROOT:COUNT");
}

TEST_CASE("bodies: attest and statement carry the text and the reference") {
  Feeds fe;
  const Charter& c = test::TheCharter();
  StatementFlags f;
  f.what = "a convoy arrived";
  f.where = "Sumy";
  f.when = "2025-06-11T10:00Z";
  f.text = "we object";
  auto a = cli::BuildStatement(StatementKind::kAttest, f, {}, c, nullptr, fe.proposal.id.str(), kNow);
  REQUIRE(a.has_value());
  CHECK(a->attestation().what() == "a convoy arrived");
  CHECK(a->attestation().where() == "Sumy");
  CHECK(a->attestation().when_ms() == ParseTime("2025-06-11T10:00Z").value());
  CHECK(a->attestation().reference() == fe.proposal.id.str());
  f.when = "soon";
  CHECK(Has(Refusal(cli::BuildStatement(StatementKind::kAttest, f, {}, c, nullptr, "", kNow)), "--when"));
  auto s = cli::BuildStatement(StatementKind::kStatement, f, {}, c, nullptr, "", kNow);
  REQUIRE(s.has_value());
  CHECK(s->statement().text() == "we object");
  CHECK(s->statement().reference().empty());
}

}  // namespace
}  // namespace parley
