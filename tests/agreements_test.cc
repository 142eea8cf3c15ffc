#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "node/protocol/agreements.h"
#include "tests/fixtures.h"

// Agreement state as a pure function of the two feeds (DESIGN.md, "Agreement
// state"). Most expectations compare LedgerState::Render, one line per
// proposal, void statement and claim, so a failure shows the whole state.
// The feeds are written by hand with Scenario; by default every entry has seen
// all of the other feed, so the canonical order is the order of the Add calls.

namespace parley {
namespace {

TEST_SUITE_BEGIN("agreements");

using test::kRU;
using test::kT0;
using test::kUA;
using test::Scenario;
using test::TheCharter;

// Well after every entry's time: "now" unless a test is about expiry.
constexpr int64_t kNow = kT0 + 3'600'000;
// The expiry used by the expiry tests; the first entry is signed at kT0 + 1 s.
constexpr int64_t kExpiry = kT0 + 60'000;
constexpr int64_t kDay = 86'400'000;

LedgerState State(const Scenario& s, int64_t now_ms = kNow) {
  return ComputeState(s.feed(kUA), s.feed(kRU), now_ms);
}

std::string Render(const Scenario& s, int64_t now_ms = kNow) {
  return State(s, now_ms).Render(TheCharter());
}

// RU returns 1,212 remains to UA, on the day after the story's day by default.
v1::Terms Remains(int64_t start_ms = kT0 + kDay) { return test::RemainsTerms(kRU, 1212, start_ms); }

// 1,200 prisoners each way: transfer 0 is UA -> RU, transfer 1 is RU -> UA.
v1::Entry ProposeExchange() { return test::Propose(test::ExchangeTerms(1200, kT0 + kDay), v1::PRISONER_EXCHANGE); }

v1::Entry ProposeRemains(int64_t expires_ms = 0) {
  v1::Entry e = test::Propose(Remains());
  e.mutable_propose()->set_expires_ms(expires_ms);
  return e;
}

v1::Entry CounterOf(const DecodedEntry& countered) {
  v1::Entry e = test::Propose(Remains(kT0 + 2 * kDay));
  e.mutable_propose()->set_counters(countered.id.str());
  return e;
}

v1::Entry AmendmentOf(const DecodedEntry& agreement) {
  v1::Entry e = test::Propose(Remains(kT0 + 3 * kDay));
  e.mutable_propose()->set_amends(agreement.id.str());
  return e;
}

v1::Entry WithManifest(v1::Entry e, char fill) {
  v1::ManifestCommitment* m =
      e.has_handover() ? e.mutable_handover()->mutable_manifest() : e.mutable_receipt()->mutable_manifest();
  m->set_root(std::string(32, fill));
  m->set_count(1212);
  return e;
}

// A table row: a scenario written by `build` and the state it must render.
struct Case {
  const char* name;
  std::function<void(Scenario&)> build;
  std::string expected;
};

void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SUBCASE(c.name) {
      Scenario s;
      c.build(s);
      CHECK(Render(s) == c.expected);
    }
  }
}

// Scenario::Add returns a reference into a vector that later Adds may move:
// tests keep copies.
DecodedEntry Add(Scenario& s, PartyIndex p, v1::Entry body, uint64_t seen = Scenario::kAll, int64_t time_ms = 0) {
  return s.Add(p, std::move(body), seen, time_ms);
}

// RU proposes the remains transfer and UA accepts: RU#1, UA#1.
DecodedEntry Agreed(Scenario& s) {
  const DecodedEntry p = Add(s, kRU, ProposeRemains());
  Add(s, kUA, test::Accept(p));
  return p;
}

// Position of (party, index) in the canonical order.
size_t PositionOf(const std::vector<std::pair<PartyIndex, size_t>>& order, PartyIndex p, size_t index) {
  auto it = std::find(order.begin(), order.end(), std::make_pair(p, index));
  REQUIRE(it != order.end());
  return static_cast<size_t>(it - order.begin());
}

// --- proposals ---------------------------------------------------------------

TEST_CASE("a proposal nobody has answered is open and shown as the proposer's alone") {
  Scenario s;
  Add(s, kRU, ProposeRemains());
  CHECK(Render(s) == "proposal RU#1 remains_transfer: open [RU alone]\n");

  const LedgerState state = State(s);
  REQUIRE(state.proposals.size() == 1);
  CHECK(ProposalStateName(state.proposals[0].state) == std::string("open"));
  CHECK_FALSE(state.proposals[0].bilateral());
  CHECK_FALSE(state.proposals[0].agreement);
}

TEST_CASE("an acceptance by the other party of the exact terms makes a bilateral agreement") {
  Scenario s;
  const DecodedEntry p = Add(s, kRU, ProposeRemains());
  const DecodedEntry a = Add(s, kUA, test::Accept(p));
  CHECK(Render(s) == "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement agreed\n");

  const LedgerState state = State(s);
  const Proposal* found = state.Find(p.id);
  REQUIRE(found);
  CHECK(found->bilateral());
  REQUIRE(found->agreement);
  CHECK(AgreementStateName(found->agreement->state) == std::string("agreed"));
  CHECK(found->agreement->accepted.id == a.id);
  CHECK(found->agreement->transfers.size() == 1);
  CHECK_FALSE(found->contested);
}

TEST_CASE("an open proposal ends rejected, withdrawn or countered by the right party's statement") {
  RunCases({
      {"rejected by the other party",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kUA, test::Reject(p));
       },
       "proposal RU#1 remains_transfer: rejected by UA#1 [RU alone]\n"},
      {"withdrawn by the proposer",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kRU, test::Withdraw(p));
       },
       "proposal RU#1 remains_transfer: withdrawn by RU#2 [RU alone]\n"},
      {"countered by the other party's proposal",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kUA, CounterOf(p));
       },
       "proposal RU#1 remains_transfer: countered by UA#1 [RU alone]\n"
       "proposal UA#1 remains_transfer: open [UA alone] counters RU#1\n"},
      {"a prisoner exchange proposed by UA and accepted by RU",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kUA, ProposeExchange());
         Add(s, kRU, test::Accept(p));
       },
       "proposal UA#1 prisoner_exchange: agreed by RU#1 [bilateral]; agreement agreed\n"},
  });
}

TEST_CASE("a counter-proposal can itself be accepted, and the countered proposal can no longer be") {
  Scenario s;
  const DecodedEntry p = Add(s, kRU, ProposeRemains());
  const DecodedEntry counter = Add(s, kUA, CounterOf(p));
  Add(s, kRU, test::Accept(counter));
  Add(s, kUA, test::Accept(p));
  CHECK(Render(s) ==
        "proposal RU#1 remains_transfer: countered by UA#1 [RU alone]\n"
        "proposal UA#1 remains_transfer: agreed by RU#2 [bilateral] counters RU#1; agreement agreed\n"
        "void UA#2 accept: the proposal was already countered\n");

  const LedgerState state = State(s);
  REQUIRE(state.Find(p.id));
  CHECK(state.Find(p.id)->countered_by == counter.id);
  CHECK(state.Find(counter.id)->counters == p.id);
}

TEST_CASE("an open proposal expires once now is past its expiry, not at it") {
  Scenario s;
  Add(s, kRU, ProposeRemains(kExpiry));
  CHECK(Render(s, kExpiry - 1) == "proposal RU#1 remains_transfer: open [RU alone]\n");
  CHECK(Render(s, kExpiry) == "proposal RU#1 remains_transfer: open [RU alone]\n");
  CHECK(Render(s, kExpiry + 1) == "proposal RU#1 remains_transfer: expired [RU alone]\n");

  SUBCASE("a proposal without expiry never expires") {
    Scenario forever;
    Add(forever, kRU, ProposeRemains(0));
    CHECK(Render(forever, kNow + 365 * kDay) == "proposal RU#1 remains_transfer: open [RU alone]\n");
  }
}

TEST_CASE("an acceptance signed after the proposal expired is void; one signed at the expiry stands") {
  SUBCASE("signed after the expiry") {
    Scenario s;
    const DecodedEntry p = Add(s, kRU, ProposeRemains(kExpiry));
    Add(s, kUA, test::Accept(p), Scenario::kAll, kExpiry + 1);
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: expired [RU alone]\n"
          "void UA#1 accept: accepted after the proposal expired\n");
  }
  SUBCASE("signed at the expiry") {
    Scenario s;
    const DecodedEntry p = Add(s, kRU, ProposeRemains(kExpiry));
    Add(s, kUA, test::Accept(p), Scenario::kAll, kExpiry);
    CHECK(Render(s) == "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement agreed\n");
  }
}

TEST_CASE("countering a proposal that is not open voids the link, and the counter-proposal stands on its own") {
  // A void link, not a void statement: the proposal is made.
  const std::string stands = "; the proposal stands on its own\n";
  RunCases({
      {"already agreed",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kUA, CounterOf(p));
       },
       "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement agreed\n"
       "proposal UA#2 remains_transfer: open [UA alone]\n"
       "link void UA#2 propose counters: the proposal countered was already agreed" + stands},
      {"already rejected",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kUA, test::Reject(p));
         Add(s, kUA, CounterOf(p));
       },
       "proposal RU#1 remains_transfer: rejected by UA#1 [RU alone]\n"
       "proposal UA#2 remains_transfer: open [UA alone]\n"
       "link void UA#2 propose counters: the proposal countered was already rejected" + stands},
      {"already withdrawn",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kRU, test::Withdraw(p));
         Add(s, kUA, CounterOf(p));
       },
       "proposal RU#1 remains_transfer: withdrawn by RU#2 [RU alone]\n"
       "proposal UA#1 remains_transfer: open [UA alone]\n"
       "link void UA#1 propose counters: the proposal countered was already withdrawn" + stands},
      {"already countered",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kUA, CounterOf(p));
         Add(s, kUA, CounterOf(p));
       },
       "proposal RU#1 remains_transfer: countered by UA#1 [RU alone]\n"
       "proposal UA#1 remains_transfer: open [UA alone] counters RU#1\n"
       "proposal UA#2 remains_transfer: open [UA alone]\n"
       "link void UA#2 propose counters: the proposal countered was already countered" + stands},
      {"expired when the counter-proposal was signed",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains(kExpiry));
         Add(s, kUA, CounterOf(p), Scenario::kAll, kExpiry + 1);
       },
       "proposal RU#1 remains_transfer: expired [RU alone]\n"
       "proposal UA#1 remains_transfer: open [UA alone]\n"
       "link void UA#1 propose counters: the proposal countered was already expired" + stands},
      {"the countering party's own proposal",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kRU, CounterOf(p));
       },
       "proposal RU#1 remains_transfer: open [RU alone]\n"
       "proposal RU#2 remains_transfer: open [RU alone]\n"
       "link void RU#2 propose counters: the proposal countered is its own author's" + stands},
  });
}

TEST_CASE("a link to a proposal signed with a key declared compromised is void, and the proposal stands") {
  Scenario s;
  const DecodedEntry p = Add(s, kRU, ProposeRemains());  // RU#1, declared compromised below
  Add(s, kUA, CounterOf(p));                              // UA#1
  StateBuilder b;
  b.DeclareCompromised(kRU, 1, 2);
  for (const auto& [party, index] : CanonicalOrder(s.feed(kUA), s.feed(kRU))) b.Apply(s.feed(party)[index]);
  const LedgerState state = std::move(b).Finish(kNow);
  CHECK(state.Render(TheCharter()) ==
        "proposal UA#1 remains_transfer: open [UA alone]\n"
        "void RU#1 propose: signed with a key its author declared compromised from seq 1 (RotateKey at seq 2); "
        "no effect\n"
        "link void UA#1 propose counters: names a proposal signed with a key declared compromised; the proposal "
        "stands on its own\n");
  REQUIRE(state.void_links.size() == 1);
  CHECK(state.void_links[0].target == p.id);
}

TEST_CASE("answers from the wrong party or to a settled proposal are void and change nothing") {
  const std::string open = "proposal RU#1 remains_transfer: open [RU alone]\n";
  const std::string agreed = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement agreed\n";
  RunCases({
      {"an acceptance of one's own proposal",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kRU, test::Accept(p));
       },
       open + "void RU#2 accept: accepts its own author's proposal\n"},
      {"an acceptance with another terms digest",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         v1::Entry accept = test::Accept(p);
         accept.mutable_accept()->set_terms_digest(TermsDigest(Remains(kT0 + 9 * kDay).SerializeAsString()).str());
         Add(s, kUA, accept);
       },
       open + "void UA#1 accept: terms digest does not match the proposal's terms\n"},
      {"a second acceptance",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kUA, test::Accept(p));
       },
       agreed + "void UA#2 accept: the proposal was already agreed\n"},
      {"a rejection after agreement",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kUA, test::Reject(p));
       },
       agreed + "void UA#2 reject: the proposal was already agreed\n"},
      {"a rejection by the proposer",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kRU, test::Reject(p));
       },
       open + "void RU#2 reject: rejects its own author's proposal\n"},
      {"a rejection signed after the proposal expired",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains(kExpiry));
         Add(s, kUA, test::Reject(p), Scenario::kAll, kExpiry + 1);
       },
       "proposal RU#1 remains_transfer: expired [RU alone]\n"
       "void UA#1 reject: rejected after the proposal expired\n"},
      {"a withdrawal by the other party",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kUA, test::Withdraw(p));
       },
       open + "void UA#1 withdraw: withdraws the other side's proposal\n"},
      {"a withdrawal after rejection",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kUA, test::Reject(p));
         Add(s, kRU, test::Withdraw(p));
       },
       "proposal RU#1 remains_transfer: rejected by UA#1 [RU alone]\n"
       "void RU#2 withdraw: the proposal was already rejected\n"},
      {"an acceptance naming an entry that is not a proposal",
       [](Scenario& s) {
         const DecodedEntry said = Add(s, kRU, test::Say("we propose nothing"));
         v1::Entry accept;
         accept.mutable_accept()->set_proposal(said.id.str());
         accept.mutable_accept()->set_terms_digest(std::string(32, '\0'));
         Add(s, kUA, accept);
       },
       "void UA#1 accept: accepts an unknown proposal\n"
       "claim RU#1 statement [RU alone]: we propose nothing\n"},
  });
}

TEST_CASE("withdrawing a proposal that had already expired is void, and the proposal stays expired") {
  // Nothing was open to withdraw (docs/PROTOCOL.md §7, Withdraw).
  SUBCASE("signed after the expiry") {
    Scenario s;
    const DecodedEntry p = Add(s, kRU, ProposeRemains(kExpiry));
    Add(s, kRU, test::Withdraw(p), Scenario::kAll, kExpiry + 1);
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: expired [RU alone]\n"
          "void RU#2 withdraw: the proposal had already expired\n");
    const LedgerState state = State(s);
    CHECK_FALSE(state.Find(p.id)->answered);
  }
  SUBCASE("signed at the expiry: still open, so withdrawn") {
    Scenario s;
    const DecodedEntry p = Add(s, kRU, ProposeRemains(kExpiry));
    Add(s, kRU, test::Withdraw(p), Scenario::kAll, kExpiry);
    CHECK(Render(s) == "proposal RU#1 remains_transfer: withdrawn by RU#2 [RU alone]\n");
  }
  SUBCASE("an acceptance crossing the late withdrawal is void for the expiry, not contested") {
    Scenario s;
    const DecodedEntry p = Add(s, kRU, ProposeRemains(kExpiry));
    Add(s, kRU, test::Withdraw(p), 0, kExpiry + 1);
    Add(s, kUA, test::Accept(p), 1, kExpiry + 2);
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: expired [RU alone]\n"
          "void UA#1 accept: accepted after the proposal expired\n"
          "void RU#2 withdraw: the proposal had already expired\n");
  }
}

// --- the withdraw / accept race ------------------------------------------------

TEST_CASE("an acceptance whose author had seen the withdrawal is void and the proposal stays withdrawn") {
  Scenario s;
  const DecodedEntry p = Add(s, kRU, ProposeRemains());
  Add(s, kRU, test::Withdraw(p));

  SUBCASE("seen exactly the withdrawal") {
    Add(s, kUA, test::Accept(p), /*seen=*/2);
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: withdrawn by RU#2 [RU alone]\n"
          "void UA#1 accept: the proposal was withdrawn before this acceptance "
          "(the acceptor had seen the withdrawal)\n");
  }
  SUBCASE("seen past the withdrawal") {
    Add(s, kRU, test::Say("our proposal RU#1 is withdrawn"));
    Add(s, kUA, test::Accept(p), /*seen=*/3);
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: withdrawn by RU#2 [RU alone]\n"
          "void UA#1 accept: the proposal was withdrawn before this acceptance "
          "(the acceptor had seen the withdrawal)\n"
          "claim RU#3 statement [RU alone]: our proposal RU#1 is withdrawn\n");
  }
  CHECK_FALSE(State(s).Find(p.id)->contested);
}

TEST_CASE("a withdrawal whose author had seen the acceptance is void and the agreement is not contested") {
  Scenario s;
  const DecodedEntry p = Add(s, kRU, ProposeRemains());
  Add(s, kUA, test::Accept(p), /*seen=*/1);
  Add(s, kRU, test::Withdraw(p), /*seen=*/1);
  CHECK(Render(s) ==
        "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement agreed\n"
        "void RU#2 withdraw: the proposal was already accepted (the proposer had seen the acceptance)\n");
  CHECK_FALSE(State(s).Find(p.id)->contested);
}

TEST_CASE("a crossing acceptance and withdrawal: the acceptance stands, contested, whichever is first in canonical order") {
  // Neither author had seen the other's statement. Lamport numbers are given
  // per entry; padding statements move one or the other earlier.
  Scenario s;
  DecodedEntry proposal, accept, withdraw;
  std::string expected;
  bool accept_first = false;

  SUBCASE("the acceptance has the lower Lamport number") {
    proposal = Add(s, kRU, ProposeRemains());       // RU#1 L1
    Add(s, kRU, test::Say("pad"), 0);                // RU#2 L2
    accept = Add(s, kUA, test::Accept(proposal), 1);  // UA#1 L2
    withdraw = Add(s, kRU, test::Withdraw(proposal), 0);  // RU#3 L3
    accept_first = true;
    expected =
        "proposal RU#1 remains_transfer: agreed by UA#1 (contested) [bilateral]; agreement agreed\n"
        "void RU#3 withdraw: crossed with an acceptance; the acceptance stands (contested)\n"
        "claim RU#2 statement [RU alone]: pad\n";
  }
  SUBCASE("the withdrawal has the lower Lamport number") {
    proposal = Add(s, kRU, ProposeRemains());             // RU#1 L1
    withdraw = Add(s, kRU, test::Withdraw(proposal), 0);  // RU#2 L2
    Add(s, kUA, test::Say("pad"), 1);                      // UA#1 L2
    accept = Add(s, kUA, test::Accept(proposal), 1);        // UA#2 L3
    accept_first = false;
    expected =
        "proposal RU#1 remains_transfer: agreed by UA#2 (contested) [bilateral]; agreement agreed\n"
        "void RU#2 withdraw: crossed with an acceptance; the acceptance stands (contested)\n"
        "claim UA#1 statement [UA alone]: pad\n";
  }
  SUBCASE("equal Lamport numbers, the acceptor (UA) first by party index") {
    proposal = Add(s, kRU, ProposeRemains());             // RU#1 L1
    accept = Add(s, kUA, test::Accept(proposal), 1);       // UA#1 L2
    withdraw = Add(s, kRU, test::Withdraw(proposal), 0);  // RU#2 L2
    accept_first = true;
    expected =
        "proposal RU#1 remains_transfer: agreed by UA#1 (contested) [bilateral]; agreement agreed\n"
        "void RU#2 withdraw: crossed with an acceptance; the acceptance stands (contested)\n";
  }
  SUBCASE("equal Lamport numbers, the proposer (UA) first by party index") {
    proposal = Add(s, kUA, ProposeRemains());             // UA#1 L1
    accept = Add(s, kRU, test::Accept(proposal), 1);       // RU#1 L2
    withdraw = Add(s, kUA, test::Withdraw(proposal), 0);  // UA#2 L2
    accept_first = false;
    expected =
        "proposal UA#1 remains_transfer: agreed by RU#1 (contested) [bilateral]; agreement agreed\n"
        "void UA#2 withdraw: crossed with an acceptance; the acceptance stands (contested)\n";
  }

  // The premise: the interleaving is the one the subcase names.
  const auto order = CanonicalOrder(s.feed(kUA), s.feed(kRU));
  const size_t at_accept = PositionOf(order, accept.author(), accept.seq() - 1);
  const size_t at_withdraw = PositionOf(order, withdraw.author(), withdraw.seq() - 1);
  CHECK((at_accept < at_withdraw) == accept_first);

  CHECK(Render(s) == expected);
  const LedgerState state = State(s);
  const Proposal* p = state.Find(proposal.id);
  REQUIRE(p);
  CHECK(p->state == ProposalState::kAgreed);
  CHECK(p->contested);
  REQUIRE(p->agreement);
  CHECK(p->agreement->accepted.id == accept.id);
  REQUIRE(state.void_statements.size() == 1);
  CHECK(state.void_statements[0].at.id == withdraw.id);
  CHECK(state.void_statements[0].kind == v1::Entry::kWithdraw);
}

TEST_CASE("an acceptance signed after expiry stays void when it crosses a withdrawal, in either order") {
  Scenario s;
  std::string expected;
  SUBCASE("the acceptance has the lower Lamport number") {
    const DecodedEntry p = Add(s, kRU, ProposeRemains(kExpiry));  // RU#1 L1
    Add(s, kRU, test::Say("pad"), 0);                               // RU#2 L2
    Add(s, kUA, test::Accept(p), 1, kExpiry + 1);                   // UA#1 L2
    Add(s, kRU, test::Withdraw(p), 0);                              // RU#3 L3
    expected =
        "proposal RU#1 remains_transfer: withdrawn by RU#3 [RU alone]\n"
        "void UA#1 accept: accepted after the proposal expired\n"
        "claim RU#2 statement [RU alone]: pad\n";
  }
  SUBCASE("the withdrawal has the lower Lamport number") {
    const DecodedEntry p = Add(s, kRU, ProposeRemains(kExpiry));  // RU#1 L1
    Add(s, kRU, test::Withdraw(p), 0);                              // RU#2 L2
    Add(s, kUA, test::Say("pad"), 1);                               // UA#1 L2
    Add(s, kUA, test::Accept(p), 1, kExpiry + 1);                   // UA#2 L3
    expected =
        "proposal RU#1 remains_transfer: withdrawn by RU#2 [RU alone]\n"
        "void UA#2 accept: accepted after the proposal expired\n"
        "claim UA#1 statement [UA alone]: pad\n";
  }
  CHECK(Render(s) == expected);
}

// --- execution -----------------------------------------------------------------

TEST_CASE("an agreement is in progress from the first handover and completed when every count is received") {
  const std::string line = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement ";
  Scenario s;
  const DecodedEntry p = Agreed(s);

  SUBCASE("handover, then receipt") {
    Add(s, kRU, test::Handover(p, 0, 1212));
    CHECK(Render(s) == line + "in_progress t0=1212/0\n");
    Add(s, kUA, test::Receipt(p, 0, 1212));
    CHECK(Render(s) == line + "completed t0=1212/1212\n");
  }
  SUBCASE("receipt reported before the handover") {
    Add(s, kUA, test::Receipt(p, 0, 1212));
    CHECK(Render(s) == line + "in_progress t0=0/1212\n");
    Add(s, kRU, test::Handover(p, 0, 1212));
    CHECK(Render(s) == line + "completed t0=1212/1212\n");
  }
  SUBCASE("in two batches each way") {
    Add(s, kRU, test::Handover(p, 0, 600));
    Add(s, kUA, test::Receipt(p, 0, 600));
    Add(s, kRU, test::Handover(p, 0, 612));
    Add(s, kUA, test::Receipt(p, 0, 612));
    CHECK(Render(s) == line + "completed t0=1212/1212\n");
    const LedgerState state = State(s);
    const TransferProgress& t = state.Find(p.id)->agreement->transfers[0];
    CHECK(t.handovers.size() == 2);
    CHECK(t.receipts.size() == 2);
    CHECK(t.reconciliation.matched() == 1212);
  }
}

// A receipt that reconciled an arrival list of `received` records against the
// 1,212-record manifest `root`.
v1::Entry ReconciledReceipt(const DecodedEntry& p, uint64_t received, uint64_t matched, uint64_t missing,
                            uint64_t unidentified, const std::string& root) {
  v1::Entry e = test::Receipt(p, 0, received);
  e.mutable_receipt()->mutable_manifest()->set_root(root);
  e.mutable_receipt()->mutable_manifest()->set_count(1212);
  auto* r = e.mutable_receipt()->mutable_reconciliation();
  r->set_matched(matched);
  r->set_missing(missing);
  r->set_unidentified(unidentified);
  return e;
}

TEST_CASE("against a manifest, a transfer's missing records are those no receipt matched, and any mismatch disputes it") {
  const std::string line = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement ";
  const std::string root(32, '\x07');
  Scenario s;
  const DecodedEntry p = Agreed(s);
  Add(s, kRU, test::Handover(p, 0, 1212));

  SUBCASE("two batches, each reconciled with the whole manifest, add up to everyone: completed") {
    Add(s, kUA, ReconciledReceipt(p, 600, 600, 612, 0, root));
    CHECK(Render(s) == line + "disputed t0=1212/600\n");  // 612 not (yet) arrived
    Add(s, kUA, ReconciledReceipt(p, 612, 612, 600, 0, root));
    CHECK(Render(s) == line + "completed t0=1212/1212\n");
    const LedgerState state = State(s);
    const TransferProgress& t = state.Find(p.id)->agreement->transfers[0];
    CHECK(t.reconciliation.matched() == 1212);
    CHECK(t.reconciliation.missing() == 0);
  }
  SUBCASE("unidentified remains among them: disputed, with the figures") {
    Add(s, kUA, ReconciledReceipt(p, 1212, 1207, 5, 5, root));
    CHECK(Render(s) == line + "disputed t0=1212/1212\n");
    const LedgerState state = State(s);
    const TransferProgress& t = state.Find(p.id)->agreement->transfers[0];
    CHECK(t.reconciliation.missing() == 5);
    CHECK(t.reconciliation.unidentified() == 5);
  }
}

TEST_CASE("a prisoner exchange is completed only when both transfers are handed over and received") {
  const std::string line = "proposal UA#1 prisoner_exchange: agreed by RU#1 [bilateral]; agreement ";
  Scenario s;
  const DecodedEntry p = Add(s, kUA, ProposeExchange());
  Add(s, kRU, test::Accept(p));
  Add(s, kUA, test::Handover(p, 0, 1200));  // UA -> RU
  Add(s, kRU, test::Receipt(p, 0, 1200));
  CHECK(Render(s) == line + "in_progress t0=1200/1200\n");
  Add(s, kRU, test::Handover(p, 1, 1200));  // RU -> UA
  CHECK(Render(s) == line + "in_progress t0=1200/1200 t1=1200/0\n");
  Add(s, kUA, test::Receipt(p, 1, 1200));
  CHECK(Render(s) == line + "completed t0=1200/1200 t1=1200/1200\n");
}

TEST_CASE("a transfer whose received count or manifest differs from the handover is disputed") {
  const std::string line = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement ";
  Scenario s;
  const DecodedEntry p = Agreed(s);
  Add(s, kRU, WithManifest(test::Handover(p, 0, 1212), 'a'));

  SUBCASE("fewer received") {
    Add(s, kUA, test::Receipt(p, 0, 1200));
    CHECK(Render(s) == line + "disputed t0=1212/1200\n");
  }
  SUBCASE("more received") {
    Add(s, kUA, test::Receipt(p, 0, 1213));
    CHECK(Render(s) == line + "disputed t0=1212/1213\n");
  }
  SUBCASE("same count, another manifest") {
    Add(s, kUA, WithManifest(test::Receipt(p, 0, 1212), 'b'));
    CHECK(Render(s) == line + "disputed t0=1212/1212\n");
  }
  SUBCASE("same count, same manifest: no dispute") {
    Add(s, kUA, WithManifest(test::Receipt(p, 0, 1212), 'a'));
    CHECK(Render(s) == line + "completed t0=1212/1212\n");
  }
}

TEST_CASE("a report reaching a completed agreement is applied, and the agreement is disputed with the totals") {
  // docs/PROTOCOL.md §7: reports are in force on a completed agreement; an
  // over-delivery or a late batch is shown, not dropped.
  const std::string line = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement ";
  Scenario s;
  const DecodedEntry p = Add(s, kRU, test::Propose(test::RemainsTerms(kRU, 10, kT0 + kDay)));
  Add(s, kUA, test::Accept(p));
  Add(s, kRU, test::Handover(p, 0, 6));
  Add(s, kUA, test::Receipt(p, 0, 6));
  CHECK(Render(s) == line + "completed t0=6/6\n");

  Add(s, kRU, test::Handover(p, 0, 4));
  CHECK(Render(s) == line + "disputed t0=10/6\n");
  SUBCASE("the late batch is received short: disputed 10/9") {
    Add(s, kUA, test::Receipt(p, 0, 3));
    CHECK(Render(s) == line + "disputed t0=10/9\n");
    const LedgerState state = State(s);
    CHECK(state.void_statements.empty());
    const TransferProgress& t = state.Find(p.id)->agreement->transfers[0];
    CHECK(t.handovers.size() == 2);
    CHECK(t.receipts.size() == 2);
  }
  SUBCASE("the late batch is received in full: completed again, 10/10") {
    Add(s, kUA, test::Receipt(p, 0, 4));
    CHECK(Render(s) == line + "completed t0=10/10\n");
  }
  SUBCASE("disputed again, the agreement can be cancelled: it is no longer completed") {
    Add(s, kUA, test::Cancel(p));
    CHECK(Render(s) == line + "cancel_requested cancel:UA#3 t0=10/6\n");
  }
}

TEST_CASE("\"in force\" per statement kind: the table of docs/PROTOCOL.md §7") {
  // For each state an agreement G can be in, whether a handover, a receipt, a
  // cancel (by UA) and an amendment's `amends` link (proposed by RU) take effect.
  struct Row {
    const char* state;
    std::function<void(Scenario&, const DecodedEntry&)> reach;  // brings G (RU#1, UA#1) to `state`
    bool reports, cancel, amend;
  };
  const std::vector<Row> rows = {
      {"agreed", [](Scenario&, const DecodedEntry&) {}, true, true, true},
      {"in_progress", [](Scenario& s, const DecodedEntry& g) { Add(s, kRU, test::Handover(g, 0, 100)); }, true,
       true, true},
      {"completed",
       [](Scenario& s, const DecodedEntry& g) {
         Add(s, kRU, test::Handover(g, 0, 1212));
         Add(s, kUA, test::Receipt(g, 0, 1212));
       },
       true, false, false},
      {"disputed",
       [](Scenario& s, const DecodedEntry& g) {
         Add(s, kRU, test::Handover(g, 0, 1212));
         Add(s, kUA, test::Receipt(g, 0, 1200));
       },
       true, true, true},
      {"cancel_requested", [](Scenario& s, const DecodedEntry& g) { Add(s, kRU, test::Cancel(g)); }, true, true,
       true},
      {"cancelled",
       [](Scenario& s, const DecodedEntry& g) {
         Add(s, kRU, test::Cancel(g));
         Add(s, kUA, test::Cancel(g));
       },
       false, false, false},
      {"amended",
       [](Scenario& s, const DecodedEntry& g) { Add(s, kUA, test::Accept(Add(s, kRU, AmendmentOf(g)))); }, false,
       false, false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.state);
    auto reached = [&](Scenario& s) {
      const DecodedEntry g = Agreed(s);
      row.reach(s, g);
      REQUIRE(std::string(AgreementStateName(State(s).Find(g.id)->agreement->state)) == row.state);
      return g;
    };
    {
      Scenario s;
      const DecodedEntry g = reached(s);
      Add(s, kRU, test::Handover(g, 0, 1));
      Add(s, kUA, test::Receipt(g, 0, 1));
      const LedgerState state = State(s);
      CHECK(state.void_statements.size() == (row.reports ? 0u : 2u));
    }
    {
      Scenario s;
      const DecodedEntry g = reached(s);
      const DecodedEntry c = Add(s, kUA, test::Cancel(g));
      const LedgerState state = State(s);
      const bool void_cancel = std::any_of(state.void_statements.begin(), state.void_statements.end(),
                                           [&](const VoidStatement& v) { return v.at.id == c.id; });
      CHECK(void_cancel == !row.cancel);
    }
    {
      Scenario s;
      const DecodedEntry g = reached(s);
      const DecodedEntry q = Add(s, kRU, AmendmentOf(g));
      const LedgerState state = State(s);
      CHECK(state.Find(q.id)->amends.has_value() == row.amend);
      CHECK(state.void_links.size() == (row.amend ? 0u : 1u));
      CHECK(state.void_statements.empty());  // the amendment is a proposal either way
    }
  }
}

// Totals are unsigned 64-bit and never wrap (docs/PROTOCOL.md §7): a report
// that would carry one past 2^64 - 1 is void; one that reaches it exactly counts.
constexpr uint64_t kMaxTotal = UINT64_MAX;       // 2^64 - 1
constexpr uint64_t kHalfTotal = UINT64_MAX / 2;  // 2^63 - 1

TEST_CASE("handover and receipt totals never wrap: a report past 2^64 - 1 is void, one reaching it exactly counts") {
  const std::string line = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement ";
  Scenario s;
  const DecodedEntry p = Agreed(s);

  SUBCASE("handovers of 2^63-1, 2^63-1 and 1214 and a receipt of 1212: disputed, never completed") {
    Add(s, kRU, test::Handover(p, 0, kHalfTotal));
    Add(s, kRU, test::Handover(p, 0, kHalfTotal));
    Add(s, kRU, test::Handover(p, 0, 1214));  // would wrap the total to 1212
    Add(s, kUA, test::Receipt(p, 0, 1212));
    CHECK(Render(s) == line + "disputed t0=18446744073709551614/1212\n" +
                           "void RU#4 handover: handover count would take transfer 0's handed-over total past "
                           "2^64 - 1\n");
  }
  SUBCASE("handovers reaching exactly 2^64 - 1 count, a receipt of that total completes, one more is void") {
    Add(s, kRU, test::Handover(p, 0, kHalfTotal));
    Add(s, kRU, test::Handover(p, 0, kHalfTotal + 1));
    Add(s, kUA, test::Receipt(p, 0, kMaxTotal));
    CHECK(Render(s) == line + "completed t0=18446744073709551615/18446744073709551615\n");
    Add(s, kRU, test::Handover(p, 0, 1));
    CHECK(Render(s) == line + "completed t0=18446744073709551615/18446744073709551615\n" +
                           "void RU#4 handover: handover count would take transfer 0's handed-over total past "
                           "2^64 - 1\n");
  }
  SUBCASE("receipts reaching exactly 2^64 - 1 count; one more is void") {
    Add(s, kUA, test::Receipt(p, 0, kMaxTotal - 1));
    Add(s, kUA, test::Receipt(p, 0, 1));
    CHECK(Render(s) == line + "in_progress t0=0/18446744073709551615\n");
    Add(s, kUA, test::Receipt(p, 0, 1));
    CHECK(Render(s) == line + "in_progress t0=0/18446744073709551615\n" +
                           "void UA#4 receipt: receipt count would take transfer 0's received total past 2^64 - 1\n");
  }
}

TEST_CASE("each reconciliation figure is summed up to exactly 2^64 - 1; a receipt that would pass it is void") {
  struct Figure {
    const char* name;
    void (v1::Reconciliation::*set)(uint64_t);
    uint64_t (v1::Reconciliation::*get)() const;
  };
  const Figure figures[] = {
      {"matched", &v1::Reconciliation::set_matched, &v1::Reconciliation::matched},
      {"missing", &v1::Reconciliation::set_missing, &v1::Reconciliation::missing},
      {"not_on_manifest", &v1::Reconciliation::set_not_on_manifest, &v1::Reconciliation::not_on_manifest},
      {"unidentified", &v1::Reconciliation::set_unidentified, &v1::Reconciliation::unidentified},
      {"other_side", &v1::Reconciliation::set_other_side, &v1::Reconciliation::other_side},
  };
  for (const Figure& f : figures) {
    INFO(f.name);
    Scenario s;
    const DecodedEntry p = Agreed(s);
    auto receipt = [&](uint64_t figure) {
      v1::Entry e = test::Receipt(p, 0, 0);
      e.mutable_receipt()->mutable_reconciliation()->Clear();
      (e.mutable_receipt()->mutable_reconciliation()->*f.set)(figure);
      Add(s, kUA, e);
    };
    receipt(kMaxTotal - 1);
    receipt(1);  // exactly 2^64 - 1: counts
    receipt(1);  // past it: void
    const LedgerState state = State(s);
    CHECK((state.Find(p.id)->agreement->transfers[0].reconciliation.*f.get)() == kMaxTotal);
    REQUIRE(state.void_statements.size() == 1);
    CHECK(state.void_statements[0].at.seq == 4);
    CHECK(state.void_statements[0].reason ==
          "receipt reconciliation figures would take transfer 0's totals past 2^64 - 1");
  }
}

TEST_CASE("handovers and receipts from the wrong party, for a missing transfer or no agreement are void") {
  const std::string agreed = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement agreed\n";
  RunCases({
      {"a handover by the receiving party",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kUA, test::Handover(p, 0, 1212));
       },
       agreed + "void UA#2 handover: handover must come from the sending party\n"},
      {"a receipt by the sending party",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kRU, test::Receipt(p, 0, 1212));
       },
       agreed + "void RU#2 receipt: receipt must come from the receiving party\n"},
      {"a handover for transfer 1 of a one-transfer agreement",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kRU, test::Handover(p, 1, 1212));
       },
       agreed + "void RU#2 handover: handover names transfer 1; the agreement has 1\n"},
      {"a receipt for transfer 7",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kUA, test::Receipt(p, 7, 1212));
       },
       agreed + "void UA#2 receipt: receipt names transfer 7; the agreement has 1\n"},
      {"a handover under a proposal that was never accepted",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kRU, test::Handover(p, 0, 1212));
       },
       "proposal RU#1 remains_transfer: open [RU alone]\n"
       "void RU#2 handover: handover for something that is not an agreement\n"},
      {"in a prisoner exchange, RU handing over UA's transfer",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kUA, ProposeExchange());
         Add(s, kRU, test::Accept(p));
         Add(s, kRU, test::Handover(p, 0, 1200));
       },
       "proposal UA#1 prisoner_exchange: agreed by RU#1 [bilateral]; agreement agreed\n"
       "void RU#2 handover: handover must come from the sending party\n"},
  });
}

// --- cancellation ----------------------------------------------------------------

TEST_CASE("one party's cancel is only a request; the agreement is cancelled when both have cancelled") {
  const std::string line = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement ";
  Scenario s;
  const DecodedEntry p = Agreed(s);
  Add(s, kUA, test::Cancel(p));
  CHECK(Render(s) == line + "cancel_requested cancel:UA#2\n");
  {
    const LedgerState state = State(s);
    const Agreement& a = *state.Find(p.id)->agreement;
    CHECK(a.cancel_requests[kUA]);
    CHECK_FALSE(a.cancel_requests[kRU]);
  }
  Add(s, kRU, test::Cancel(p));
  CHECK(Render(s) == line + "cancelled cancel:UA#2 cancel:RU#2\n");
}

TEST_CASE("a cancel request during execution keeps the counts and later reports") {
  const std::string line = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement ";
  Scenario s;
  const DecodedEntry p = Agreed(s);
  Add(s, kRU, test::Handover(p, 0, 1212));
  Add(s, kUA, test::Cancel(p));
  CHECK(Render(s) == line + "cancel_requested cancel:UA#2 t0=1212/0\n");
  Add(s, kUA, test::Receipt(p, 0, 1212));
  CHECK(Render(s) == line + "cancel_requested cancel:UA#2 t0=1212/1212\n");
}

TEST_CASE("cancels that repeat, come too late or name no agreement are void") {
  const std::string line = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement ";
  RunCases({
      {"the same party cancelling twice",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kUA, test::Cancel(p));
         Add(s, kUA, test::Cancel(p));
       },
       line + "cancel_requested cancel:UA#2\n" + "void UA#3 cancel: this party had already asked to cancel\n"},
      {"a cancel after completion",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kRU, test::Handover(p, 0, 1212));
         Add(s, kUA, test::Receipt(p, 0, 1212));
         Add(s, kUA, test::Cancel(p));
       },
       line + "completed t0=1212/1212\n" + "void UA#3 cancel: the agreement is already completed\n"},
      {"a third cancel after both cancelled",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kUA, test::Cancel(p));
         Add(s, kRU, test::Cancel(p));
         Add(s, kUA, test::Cancel(p));
       },
       line + "cancelled cancel:UA#2 cancel:RU#2\n" + "void UA#3 cancel: the agreement is already cancelled\n"},
      {"a cancel of a proposal that was never accepted",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kUA, test::Cancel(p));
       },
       "proposal RU#1 remains_transfer: open [RU alone]\n"
       "void UA#1 cancel: cancels something that is not an agreement\n"},
  });
}

TEST_CASE("handovers and receipts under a cancelled agreement are void") {
  const std::string line = "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement ";
  Scenario s;
  const DecodedEntry p = Agreed(s);
  Add(s, kUA, test::Cancel(p));
  Add(s, kRU, test::Cancel(p));
  Add(s, kRU, test::Handover(p, 0, 1212));
  Add(s, kUA, test::Receipt(p, 0, 1212));
  CHECK(Render(s) == line + "cancelled cancel:UA#2 cancel:RU#2\n" +
                         "void RU#3 handover: handover under an agreement already cancelled\n"
                         "void UA#3 receipt: receipt under an agreement already cancelled\n");
}

// --- amendment -------------------------------------------------------------------

TEST_CASE("an amendment replaces the agreement only once accepted; until then the old terms stand") {
  Scenario s;
  const DecodedEntry p = Agreed(s);
  const DecodedEntry amendment = Add(s, kRU, AmendmentOf(p));
  CHECK(Render(s) ==
        "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement agreed\n"
        "proposal RU#2 remains_transfer: open [RU alone] amends RU#1\n");

  SUBCASE("accepted") {
    Add(s, kUA, test::Accept(amendment));
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement amended\n"
          "proposal RU#2 remains_transfer: agreed by UA#2 [bilateral] amends RU#1; agreement agreed\n");
    const LedgerState state = State(s);
    CHECK(state.Find(p.id)->agreement->amended_by == amendment.id);

    // Execution now happens under the amendment; the old agreement takes no reports.
    Add(s, kRU, test::Handover(p, 0, 1212));
    Add(s, kRU, test::Handover(amendment, 0, 1212));
    Add(s, kUA, test::Cancel(p));
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement amended\n"
          "proposal RU#2 remains_transfer: agreed by UA#2 [bilateral] amends RU#1; agreement in_progress "
          "t0=1212/0\n"
          "void RU#3 handover: handover under an agreement already amended\n"
          "void UA#3 cancel: the agreement is already amended\n");
  }
  SUBCASE("rejected: the old agreement stays in force") {
    Add(s, kUA, test::Reject(amendment));
    Add(s, kRU, test::Handover(p, 0, 1212));
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement in_progress t0=1212/0\n"
          "proposal RU#2 remains_transfer: rejected by UA#2 [RU alone] amends RU#1\n");
  }
}

TEST_CASE("an amendment of something that is not an agreement in force is void as a link") {
  const std::string stands = "; the proposal stands on its own\n";
  RunCases({
      {"a cancelled agreement",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kUA, test::Cancel(p));
         Add(s, kRU, test::Cancel(p));
         Add(s, kRU, AmendmentOf(p));
       },
       "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement cancelled cancel:UA#2 cancel:RU#2\n"
       "proposal RU#3 remains_transfer: open [RU alone]\n"
       "link void RU#3 propose amends: the agreement named was already cancelled" + stands},
      {"a completed agreement",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kRU, test::Handover(p, 0, 1212));
         Add(s, kUA, test::Receipt(p, 0, 1212));
         Add(s, kUA, AmendmentOf(p));
       },
       "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement completed t0=1212/1212\n"
       "proposal UA#3 remains_transfer: open [UA alone]\n"
       "link void UA#3 propose amends: the agreement named was already completed" + stands},
      {"an agreement already amended",
       [](Scenario& s) {
         const DecodedEntry p = Agreed(s);
         Add(s, kUA, test::Accept(Add(s, kRU, AmendmentOf(p))));
         Add(s, kRU, AmendmentOf(p));
       },
       "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement amended\n"
       "proposal RU#2 remains_transfer: agreed by UA#2 [bilateral] amends RU#1; agreement agreed\n"
       "proposal RU#3 remains_transfer: open [RU alone]\n"
       "link void RU#3 propose amends: the agreement named was already amended" + stands},
      {"a proposal that was never accepted",
       [](Scenario& s) {
         const DecodedEntry p = Add(s, kRU, ProposeRemains());
         Add(s, kRU, AmendmentOf(p));
       },
       "proposal RU#1 remains_transfer: open [RU alone]\n"
       "proposal RU#2 remains_transfer: open [RU alone]\n"
       "link void RU#2 propose amends: the proposal named is not an agreement (it is open)" + stands},
  });
}

TEST_CASE("an amendment accepted after the old agreement left force stands as an agreement of its own") {
  // The acceptance made an agreement: it is not void. The amendment's link is.
  const std::string note = " when the amendment was accepted; the amendment stands as an agreement of its own\n";
  Scenario s;
  const DecodedEntry p = Agreed(s);
  const DecodedEntry amendment = Add(s, kRU, AmendmentOf(p));

  SUBCASE("cancelled meanwhile") {
    Add(s, kUA, test::Cancel(p));
    Add(s, kRU, test::Cancel(p));
    Add(s, kUA, test::Accept(amendment));
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement cancelled cancel:UA#2 cancel:RU#3\n"
          "proposal RU#2 remains_transfer: agreed by UA#3 [bilateral]; agreement agreed\n"
          "link void RU#2 propose amends: the agreement named was already cancelled" + note);
    const LedgerState state = State(s);
    CHECK(state.void_statements.empty());
    REQUIRE(state.void_links.size() == 1);
    CHECK(state.void_links[0].at.id == amendment.id);
    CHECK(state.void_links[0].field == "amends");
    CHECK(state.void_links[0].target == p.id);
    CHECK_FALSE(state.Find(amendment.id)->amends);
    CHECK(state.Find(amendment.id)->agreement);
  }
  SUBCASE("completed meanwhile: the executed agreement stays completed") {
    Add(s, kRU, test::Handover(p, 0, 1212));
    Add(s, kUA, test::Receipt(p, 0, 1212));
    Add(s, kUA, test::Accept(amendment));
    CHECK(Render(s) ==
          "proposal RU#1 remains_transfer: agreed by UA#1 [bilateral]; agreement completed t0=1212/1212\n"
          "proposal RU#2 remains_transfer: agreed by UA#3 [bilateral]; agreement agreed\n"
          "link void RU#2 propose amends: the agreement named was already completed" + note);
  }
}

// --- one-sided claims -------------------------------------------------------------

TEST_CASE("attestations and statements are one side's claims and never make an agreement") {
  Scenario s;
  const DecodedEntry p = Add(s, kRU, ProposeRemains());
  v1::Entry staged = test::Attest("1212 bodies staged in refrigerated trucks");
  staged.mutable_attestation()->set_where("near the border");
  staged.mutable_attestation()->set_when_ms(kT0 + 5000);
  staged.mutable_attestation()->set_reference(p.id.str());
  Add(s, kRU, staged);
  v1::Entry agree_in_words = test::Say("we agree to these terms");
  agree_in_words.mutable_statement()->set_reference(p.id.str());
  Add(s, kUA, agree_in_words);
  Add(s, kUA, test::Say("the timing was set unilaterally"));

  CHECK(Render(s) ==
        "proposal RU#1 remains_transfer: open [RU alone]\n"
        "claim RU#2 attestation [RU alone]: 1212 bodies staged in refrigerated trucks @ near the border\n"
        "claim UA#1 statement [UA alone]: we agree to these terms\n"
        "claim UA#2 statement [UA alone]: the timing was set unilaterally\n");

  const LedgerState state = State(s);
  REQUIRE(state.claims.size() == 3);
  CHECK(state.claims[0].when_ms == kT0 + 5000);
  CHECK(state.claims[0].reference == p.id);
  CHECK(state.claims[1].reference == p.id);
  CHECK_FALSE(state.claims[2].reference);
  CHECK_FALSE(state.Find(p.id)->agreement);
}

// --- determinism and canonical order ------------------------------------------------

// Two feeds with pseudo-random (fixed-seed) `seen` links: each entry has seen
// a non-decreasing, random prefix of the other feed.
Scenario RandomInterleaving(uint32_t seed, int entries) {
  std::mt19937 rng(seed);
  Scenario s;
  uint64_t seen[2] = {0, 0};
  for (int i = 0; i < entries; ++i) {
    const PartyIndex p = static_cast<PartyIndex>(rng() % 2);
    const uint64_t available = s.feed(1 - p).size();
    seen[p] += rng() % (available - seen[p] + 1);
    s.Add(p, test::Say("entry " + std::to_string(i)), seen[p]);
  }
  return s;
}

TEST_CASE("the canonical order puts every entry after its own predecessor and after the entry it had seen") {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    const Scenario s = RandomInterleaving(seed, 40);
    const auto order = CanonicalOrder(s.feed(kUA), s.feed(kRU));
    REQUIRE(order.size() == s.feed(kUA).size() + s.feed(kRU).size());
    for (PartyIndex p = 0; p < 2; ++p) {
      for (size_t i = 0; i < s.feed(p).size(); ++i) {
        const size_t at = PositionOf(order, p, i);
        if (i > 0) CHECK(PositionOf(order, p, i - 1) < at);
        const DecodedEntry& e = s.feed(p)[i];
        if (e.entry.has_seen()) CHECK(PositionOf(order, 1 - p, e.entry.seen().seq() - 1) < at);
      }
    }
  }
}

TEST_CASE("entries with equal Lamport numbers are ordered UA before RU") {
  Scenario s;
  Add(s, kRU, test::Say("first by the clock"), 0);
  Add(s, kUA, test::Say("second by the clock"), 0);
  const std::vector<std::pair<PartyIndex, size_t>> expected = {{kUA, 0}, {kRU, 0}};
  CHECK(CanonicalOrder(s.feed(kUA), s.feed(kRU)) == expected);
}

TEST_CASE("the same feeds always give the same state") {
  Scenario s;
  const DecodedEntry exchange = Add(s, kUA, ProposeExchange());
  const DecodedEntry remains = Add(s, kRU, ProposeRemains(), 0);
  Add(s, kRU, test::Accept(exchange), 1);
  Add(s, kUA, CounterOf(remains), 1);
  Add(s, kUA, test::Handover(exchange, 0, 1200), 1);
  Add(s, kRU, test::Attest("buses at the crossing"), 1);
  Add(s, kUA, test::Cancel(exchange));
  Add(s, kRU, test::Withdraw(remains), 3);

  const std::string first = Render(s);
  CHECK(first ==
        "proposal UA#1 prisoner_exchange: agreed by RU#2 [bilateral]; agreement cancel_requested cancel:UA#4 "
        "t0=1200/0\n"
        "proposal RU#1 remains_transfer: countered by UA#2 [RU alone]\n"
        "proposal UA#2 remains_transfer: open [UA alone] counters RU#1\n"
        "void RU#4 withdraw: the proposal was already countered\n"
        "claim RU#3 attestation [RU alone]: buses at the crossing\n");
  for (int i = 0; i < 3; ++i) CHECK(Render(s) == first);

  // Copies of the feeds (as another node or an auditor would hold them).
  const std::vector<DecodedEntry> ua = s.feed(kUA), ru = s.feed(kRU);
  CHECK(ComputeState(ua, ru, kNow).Render(TheCharter()) == first);
}

TEST_SUITE_END();

}  // namespace
}  // namespace parley
