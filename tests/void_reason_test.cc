// VoidReason (node/protocol/agreements.h): whether a party's next statement
// would be void, as a pure function of the agreement state before it — what
// a node's Submit asks before signing. Each row builds a scenario, asks
// VoidReason about a candidate, and checks the reason against the row's
// expectation (PROTOCOL.md §7, the "in force" table) and against the state
// ComputeState gives once the candidate is actually signed and added: the
// two must agree exactly. IncrementalState is checked against ComputeState
// on the same feeds, in order and concurrently written.
#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "node/protocol/agreements.h"
#include "tests/fixtures.h"

namespace parley {
namespace {

using test::kRU;
using test::kT0;
using test::kUA;
using test::Scenario;
using test::TheCharter;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kExpiry = kT0 + 60'000;  // the first entry is signed at kT0 + 1 s

v1::Terms Remains(int64_t start_ms = kT0 + kDay) { return test::RemainsTerms(kRU, 1212, start_ms); }
v1::Entry ProposeRemains(int64_t expires_ms = 0) {
  v1::Entry e = test::Propose(Remains());
  e.mutable_propose()->set_expires_ms(expires_ms);
  return e;
}

// The state before Finish of the scenario's feeds, replayed in canonical order.
StateBuilder BuilderOf(const Scenario& s) {
  StateBuilder b;
  const std::vector<DecodedEntry>* feeds[2] = {&s.feed(kUA), &s.feed(kRU)};
  for (PartyIndex p = 0; p < 2; ++p) {
    for (const DecodedEntry& e : *feeds[p]) {
      if (e.kind() == v1::Entry::kRotateKey) b.DeclareCompromised(p, e.entry.rotate_key().compromised_from_seq(), e.seq());
    }
  }
  for (const auto& [p, i] : CanonicalOrder(s.feed(kUA), s.feed(kRU))) b.Apply((*feeds[p])[i]);
  return b;
}

// `p`'s next entry with `body`, header as Scenario::Add would set it (seen
// all of the other feed), unsigned.
v1::Entry Candidate(const Scenario& s, PartyIndex p, v1::Entry body, int64_t time_ms) {
  const auto& own = s.feed(p);
  const auto& other = s.feed(1 - p);
  body.set_ledger_id(TheCharter().ledger_id().str());
  body.set_author(p);
  body.set_seq(own.size() + 1);
  body.set_prev(own.empty() ? TheCharter().ledger_id().str() : own.back().id.str());
  if (!other.empty()) {
    body.mutable_seen()->set_seq(other.size());
    body.mutable_seen()->set_id(other.back().id.str());
  }
  body.set_time_ms(time_ms);
  return body;
}

struct Row {
  const char* name;
  // Builds the scenario; returns the candidate's author and body.
  std::function<std::pair<PartyIndex, v1::Entry>(Scenario&)> build;
  // nullopt: takes effect; else a part of the reason.
  std::optional<std::string> reason;
  int64_t time_ms = 0;  // the candidate's time; 0: kT0 + 1 hour
};

const DecodedEntry& Agreed(Scenario& s, int64_t expires_ms = 0) {
  const DecodedEntry p = s.Add(kRU, ProposeRemains(expires_ms));
  s.Add(kUA, test::Accept(p));
  return s.feed(kRU)[0];
}

const std::vector<Row>& Rows() {
  static const std::vector<Row> rows = {
      {"accept of an open proposal", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains());
         return std::pair{kUA, test::Accept(p)};
       }, std::nullopt},
      {"accept of its own author's proposal", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains());
         return std::pair{kRU, test::Accept(p)};
       }, "accepts its own author's proposal"},
      {"accept of an unknown proposal", [](Scenario& s) {
         s.Add(kRU, ProposeRemains());
         const DecodedEntry st = s.Add(kRU, test::Say("not a proposal"));
         return std::pair{kUA, test::Accept(st)};
       }, "accepts an unknown proposal"},
      {"accept with another terms digest", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains());
         v1::Entry a = test::Accept(p);
         a.mutable_accept()->set_terms_digest(std::string(32, 'x'));
         return std::pair{kUA, a};
       }, "terms digest does not match"},
      {"accept of a withdrawn proposal (the withdrawal seen)", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains());
         s.Add(kRU, test::Withdraw(s.feed(kRU)[0]));
         return std::pair{kUA, test::Accept(p)};
       }, "withdrawn before this acceptance"},
      {"accept of an expired proposal", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains(kExpiry));
         return std::pair{kUA, test::Accept(p)};
       }, "accepted after the proposal expired", kExpiry + 1},
      {"accept at the expiry itself", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains(kExpiry));
         return std::pair{kUA, test::Accept(p)};
       }, std::nullopt, kExpiry},
      {"accept of a countered proposal", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains());
         v1::Entry counter = test::Propose(Remains(kT0 + 2 * kDay));
         counter.mutable_propose()->set_counters(p.id.str());
         s.Add(kUA, counter);
         return std::pair{kUA, test::Accept(s.feed(kRU)[0])};
       }, "already countered"},
      {"reject of a rejected proposal", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains());
         s.Add(kUA, test::Reject(p));
         return std::pair{kUA, test::Reject(s.feed(kRU)[0])};
       }, "already rejected"},
      {"withdraw of the other side's proposal", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains());
         return std::pair{kUA, test::Withdraw(p)};
       }, "withdraws the other side's proposal"},
      {"withdraw of an expired proposal (it stays expired)", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains(kExpiry));
         return std::pair{kRU, test::Withdraw(p)};
       }, "the proposal had already expired", kExpiry + 1},
      {"withdraw of an accepted proposal, the acceptance seen", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         return std::pair{kRU, test::Withdraw(p)};
       }, "already accepted"},
      {"cancel of an agreement in force", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         return std::pair{kUA, test::Cancel(p)};
       }, std::nullopt},
      {"cancel twice by one party", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         s.Add(kUA, test::Cancel(p));
         return std::pair{kUA, test::Cancel(s.feed(kRU)[0])};
       }, "had already asked to cancel"},
      {"cancel of a completed agreement", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         s.Add(kRU, test::Handover(p, 0, 1212));
         s.Add(kUA, test::Receipt(s.feed(kRU)[0], 0, 1212));
         return std::pair{kRU, test::Cancel(s.feed(kRU)[0])};
       }, "the agreement is already completed"},
      {"cancel of an open proposal", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains());
         return std::pair{kUA, test::Cancel(p)};
       }, "not an agreement"},
      {"amends of a cancelled agreement (the link void, the proposal stands)", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         s.Add(kUA, test::Cancel(p));
         s.Add(kRU, test::Cancel(s.feed(kRU)[0]));
         v1::Entry amend = test::Propose(Remains(kT0 + 3 * kDay));
         amend.mutable_propose()->set_amends(s.feed(kRU)[0].id.str());
         return std::pair{kUA, amend};
       }, "amends: the agreement named was already cancelled"},
      {"amends of an agreement in force", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         v1::Entry amend = test::Propose(Remains(kT0 + 3 * kDay));
         amend.mutable_propose()->set_amends(p.id.str());
         return std::pair{kUA, amend};
       }, std::nullopt},
      {"accept of an amendment whose agreement was cancelled meanwhile (the accept stands, the link is void)",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         v1::Entry amend = test::Propose(Remains(kT0 + 3 * kDay));
         amend.mutable_propose()->set_amends(p.id.str());
         s.Add(kRU, amend);
         s.Add(kUA, test::Cancel(s.feed(kRU)[0]));
         s.Add(kRU, test::Cancel(s.feed(kRU)[0]));
         return std::pair{kUA, test::Accept(s.feed(kRU)[1])};
       }, "amends: the agreement named was already cancelled"},
      {"counters of its own author's proposal", [](Scenario& s) {
         const DecodedEntry p = s.Add(kRU, ProposeRemains());
         v1::Entry counter = test::Propose(Remains(kT0 + 2 * kDay));
         counter.mutable_propose()->set_counters(p.id.str());
         return std::pair{kRU, counter};
       }, "counters: the proposal countered is its own author's"},
      {"handover under an agreement in force", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         return std::pair{kRU, test::Handover(p, 0, 1212)};
       }, std::nullopt},
      {"handover by the receiving party", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         return std::pair{kUA, test::Handover(p, 0, 1212)};
       }, "must come from the sending party"},
      {"handover naming a transfer the agreement does not have", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         return std::pair{kRU, test::Handover(p, 1, 1212)};
       }, "names transfer 1"},
      {"a report after completed is applied (§7: over-delivery is shown)", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         s.Add(kRU, test::Handover(p, 0, 1212));
         s.Add(kUA, test::Receipt(s.feed(kRU)[0], 0, 1212));
         return std::pair{kRU, test::Handover(s.feed(kRU)[0], 0, 4)};
       }, std::nullopt},
      {"a receipt under a cancelled agreement", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         s.Add(kUA, test::Cancel(p));
         s.Add(kRU, test::Cancel(s.feed(kRU)[0]));
         return std::pair{kUA, test::Receipt(s.feed(kRU)[0], 0, 1)};
       }, "receipt under an agreement already cancelled"},
      {"a handover reaching exactly 2^64 - 1", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         s.Add(kRU, test::Handover(p, 0, UINT64_MAX / 2));
         return std::pair{kRU, test::Handover(s.feed(kRU)[0], 0, UINT64_MAX / 2 + 1)};
       }, std::nullopt},
      {"a third handover passing 2^64 - 1 (2^63-1, 2^63-1, then 1214)", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         s.Add(kRU, test::Handover(p, 0, UINT64_MAX / 2));
         s.Add(kRU, test::Handover(s.feed(kRU)[0], 0, UINT64_MAX / 2));
         return std::pair{kRU, test::Handover(s.feed(kRU)[0], 0, 1214)};
       }, "past 2^64 - 1"},
      {"a receipt passing 2^64 - 1", [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         s.Add(kUA, test::Receipt(p, 0, UINT64_MAX));
         return std::pair{kUA, test::Receipt(s.feed(kRU)[0], 0, 1)};
       }, "received total past 2^64 - 1"},
      {"a statement is never void", [](Scenario& s) {
         Agreed(s);
         return std::pair{kUA, test::Say("noted")};
       }, std::nullopt},
  };
  return rows;
}

TEST_CASE("VoidReason: the in-force table, row by row, and the same verdict as the state once signed") {
  for (const Row& row : Rows()) {
    INFO(std::string(row.name));
    Scenario s;
    auto [author, body] = row.build(s);
    const int64_t time = row.time_ms != 0 ? row.time_ms : kT0 + 3'600'000;
    const StateBuilder before = BuilderOf(s);
    const std::string rendered = before.state().Render(TheCharter());
    const std::optional<std::string> reason = VoidReason(before.state(), Candidate(s, author, body, time));
    if (row.reason) {
      REQUIRE(reason.has_value());
      CHECK_MESSAGE(reason->find(*row.reason) != std::string::npos, *reason);
    } else {
      CHECK_MESSAGE(!reason.has_value(), reason.value_or(""));
    }
    CHECK(before.state().Render(TheCharter()) == rendered);  // pure: the state is not changed

    // Signed and added, the statement gets the same verdict from the whole state.
    const DecodedEntry& added = s.Add(author, body, Scenario::kAll, time);
    const LedgerState after = ComputeState(s.feed(kUA), s.feed(kRU), time);
    std::optional<std::string> found;
    for (const VoidStatement& v : after.void_statements) {
      if (v.at.id == added.id) found = v.reason;
    }
    for (const VoidLink& v : after.void_links) {
      if (v.by.id == added.id) found = v.field + ": " + v.reason;
    }
    CHECK(found == reason);
  }
}

TEST_CASE("VoidReason: an accept crossing a withdrawal stands (mailbox rule), one that saw it is void") {
  Scenario s;
  const DecodedEntry p = s.Add(kRU, ProposeRemains());
  s.Add(kUA, test::Say("seen the proposal"));
  s.Add(kRU, test::Withdraw(s.feed(kRU)[0]), 1);
  const StateBuilder b = BuilderOf(s);
  // UA had not seen the withdrawal (seen RU#1 only): the acceptance stands.
  v1::Entry crossing = Candidate(s, kUA, test::Accept(p), kT0 + 10'000);
  crossing.mutable_seen()->set_seq(1);
  crossing.mutable_seen()->set_id(s.feed(kRU)[0].id.str());
  CHECK(VoidReason(b.state(), crossing).value_or("stands") == "stands");
  const v1::Entry saw = Candidate(s, kUA, test::Accept(s.feed(kRU)[0]), kT0 + 10'000);
  CHECK(VoidReason(b.state(), saw).value_or("").find("withdrawn before this acceptance") != std::string::npos);
}

// The feeds of a scenario after `n` entries of each (fewer if it has fewer).
std::vector<DecodedEntry> Upto(const std::vector<DecodedEntry>& f, size_t from, size_t to) {
  return std::vector<DecodedEntry>(f.begin() + static_cast<long>(std::min(from, f.size())),
                                   f.begin() + static_cast<long>(std::min(to, f.size())));
}

TEST_CASE("IncrementalState: added a few entries at a time it equals the state of the whole feeds") {
  Scenario s;
  const DecodedEntry p = s.Add(kRU, ProposeRemains());
  s.Add(kUA, test::Accept(p));
  s.Add(kRU, test::Handover(s.feed(kRU)[0], 0, 600));
  s.Add(kUA, test::Receipt(s.feed(kRU)[0], 0, 600));
  s.Add(kRU, test::Handover(s.feed(kRU)[0], 0, 612));
  s.Add(kUA, test::Say("noted"));
  IncrementalState inc;
  for (size_t n = 0; n < 4; ++n) {
    std::vector<DecodedEntry> next[2] = {Upto(s.feed(kUA), inc.count(kUA), n + 1), Upto(s.feed(kRU), inc.count(kRU), n + 1)};
    REQUIRE(inc.Add(next));
  }
  CHECK(inc.count(kUA) == 3);
  CHECK(inc.count(kRU) == 3);
  CHECK(inc.head(kRU).id == s.feed(kRU).back().id);
  CHECK(inc.state().Render(TheCharter()) == BuilderOf(s).state().Render(TheCharter()));
}

TEST_CASE("IncrementalState refuses an entry that comes before applied ones in canonical order; from empty it works") {
  Scenario s;
  s.Add(kRU, ProposeRemains());
  s.Add(kRU, test::Say("one"));
  s.Add(kRU, test::Say("two"));
  s.Add(kUA, test::Say("written without having seen RU"), 0);  // L = 1: before RU#2 and RU#3
  IncrementalState inc;
  std::vector<DecodedEntry> first[2] = {{}, s.feed(kRU)};
  REQUIRE(inc.Add(first));
  std::vector<DecodedEntry> late[2] = {s.feed(kUA), {}};
  CHECK_FALSE(inc.Add(late));
  IncrementalState fresh;
  std::vector<DecodedEntry> all[2] = {s.feed(kUA), s.feed(kRU)};
  REQUIRE(fresh.Add(all));
  CHECK(fresh.state().Render(TheCharter()) == BuilderOf(s).state().Render(TheCharter()));
}

TEST_CASE("IncrementalState leaves an entry whose seen names an entry not given yet for the next Add") {
  Scenario s;
  const DecodedEntry p = s.Add(kRU, ProposeRemains());
  s.Add(kUA, test::Accept(p));
  s.Add(kRU, test::Handover(p, 0, 1212));  // seen UA#1
  IncrementalState inc;
  std::vector<DecodedEntry> ru_only[2] = {{}, s.feed(kRU)};  // UA's feed read before UA#1 was stored
  REQUIRE(inc.Add(ru_only));
  CHECK(inc.count(kRU) == 1);
  CHECK(inc.count(kUA) == 0);
  std::vector<DecodedEntry> rest[2] = {s.feed(kUA), Upto(s.feed(kRU), 1, 2)};
  REQUIRE(inc.Add(rest));
  CHECK(inc.count(kRU) == 2);
  CHECK(inc.state().Render(TheCharter()) == BuilderOf(s).state().Render(TheCharter()));
}

TEST_CASE("IncrementalState refuses a RotateKey declaring earlier entries compromised unless declared up front") {
  Scenario s;
  const DecodedEntry p = s.Add(kRU, ProposeRemains());
  s.Add(kUA, test::Accept(p));
  v1::Entry rotate = RotateKeyBody(TheCharter(), kUA, SecretKey::FromSeed(test::SeedFrom(0x70)), 1);
  s.Add(kUA, rotate);
  IncrementalState inc;
  std::vector<DecodedEntry> all[2] = {s.feed(kUA), s.feed(kRU)};
  CHECK_FALSE(inc.Add(all));
  IncrementalState declared;
  declared.DeclareCompromised(kUA, 1, 2);
  REQUIRE(declared.Add(all));
  CHECK(declared.state().Render(TheCharter()) == BuilderOf(s).state().Render(TheCharter()));
  CHECK(declared.state().Render(TheCharter()).find("compromised") != std::string::npos);
}

}  // namespace
}  // namespace parley
