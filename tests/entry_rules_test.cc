// The structural rules (docs/PROTOCOL.md §4) as one table, run through every
// path by which an entry is accepted: Ledger::Ingest, Ledger::IngestBatch (the
// bad entry after valid ones, and alone after everything else), the offline
// audit of a bundle, and — for rules about the body, which the signing side
// applies too — Ledger::Append and Ledger::Preview of the same body; every
// row but forged signatures also through the signing side's check itself
// (FeedVerifier::CheckSignable: all of them run the one FeedVerifier).
// Handover and receipt totals at and past 2^64 - 1 run through every path
// into agreement state, and through the node's VoidReason.
//
// Each row names a rule case, which starting ledger it applies to (RU's first
// entry, or a later one), which body kinds it is tried with, and the
// violation expected (or none: a boundary that must pass). Every offending
// entry is RU's next entry after a valid scenario (World) — built from a valid
// body of the kind, then broken in one way. The structural rules do not judge
// meaning: a withdrawal of the other side's proposal is structurally valid
// (and void in agreement state, tests/agreements_test.cc).
#include <doctest/doctest.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "fixtures.h"
#include "node/report/audit.h"
#include "node/report/bundle.h"
#include "node/ledger/ledger.h"
#include "node/protocol/agreements.h"
#include "node/protocol/verifier.h"

namespace parley {
namespace {

using test::kRU;
using test::kT0;
using test::kUA;
using test::TheCharter;
using Kind = v1::Entry::BodyCase;

SecretKey KeyOfSeed(uint8_t first) { return SecretKey::FromSeed(test::SeedFrom(first)); }

// --- the valid scenario -----------------------------------------------------

enum Start : unsigned {
  kFirst = 1,  // RU's feed is empty: the bad entry is RU#1 (prev must be the ledger id; no seen needed)
  kLater = 2,  // RU has two entries: the bad entry is RU#3
  kBoth = kFirst | kLater,
};

// Two feeds written by hand, each entry having seen the other feed's head
// unless told otherwise, signed with the key the schedule says:
//   UA#1 propose P        RU#1 propose Q (seen 1)   [later only]
//   UA#2 statement S      RU#2 statement (seen 2)   [later only]
//   UA#3 propose P2
// Rows may Add more valid entries before building the bad one.
class World {
 public:
  static constexpr uint64_t kAll = ~0ull;

  explicit World(Start start) : schedule_(TheCharter()) {
    keys_.push_back(test::PartyKey(kUA));
    keys_.push_back(test::PartyKey(kRU));
    Add(kUA, test::Propose(test::RemainsTerms(kRU, 1212, kT0)));
    if (start == kLater) Add(kRU, test::Propose(test::RemainsTerms(kRU, 10, kT0)));
    Add(kUA, test::Say("S: a statement, not a proposal"));
    if (start == kLater) Add(kRU, test::Say("noted"));
    Add(kUA, test::Propose(test::RemainsTerms(kRU, 600, kT0)));
  }

  const DecodedEntry& P() const { return feeds_[kUA][0]; }
  const DecodedEntry& S() const { return feeds_[kUA][1]; }
  const DecodedEntry& P2() const { return feeds_[kUA][2]; }

  // `p`'s next entry with `body`, header fields set, unsigned; `seen` is how
  // much of the other feed it has seen.
  v1::Entry Next(PartyIndex p, v1::Entry body, uint64_t seen = kAll) const {
    const auto& feed = feeds_[p];
    const auto& other = feeds_[1 - p];
    body.set_ledger_id(TheCharter().ledger_id().str());
    body.set_author(p);
    body.set_seq(feed.size() + 1);
    body.set_prev(feed.empty() ? TheCharter().ledger_id().str() : feed.back().id.str());
    const uint64_t s = seen == kAll ? other.size() : seen;
    body.clear_seen();
    if (s > 0) {
      body.mutable_seen()->set_seq(s);
      body.mutable_seen()->set_id(other[s - 1].id.str());
    }
    body.set_time_ms(kT0 + 1000 * static_cast<int64_t>(clock_ + 1));
    return body;
  }

  const DecodedEntry& Add(PartyIndex p, v1::Entry body, uint64_t seen = kAll) {
    const v1::Entry e = Next(p, std::move(body), seen);
    DecodedEntry d = SignEntry(KeyFor(e), e);
    ++clock_;
    schedule_.Observe(d.entry);
    order_.push_back(d.envelope);
    feeds_[p].push_back(std::move(d));
    return feeds_[p].back();
  }

  // A second, validly signed version of `p`'s head: a fork, delivered after
  // the valid entries.
  void AddFork(PartyIndex p) {
    v1::Entry twin = feeds_[p].back().entry;
    twin.set_time_ms(twin.time_ms() + 1);
    extras_.push_back(Sign(twin));
  }

  // The secret key of a rotation, so that Add can sign with it once it is in effect.
  void Learn(SecretKey key) { keys_.push_back(std::move(key)); }

  // Signed with the key the schedule names for it.
  std::string Sign(const v1::Entry& e) const { return SignEntry(KeyFor(e), e).envelope; }

  const std::vector<DecodedEntry>& feed(PartyIndex p) const { return feeds_[p]; }
  const std::vector<std::string>& order() const { return order_; }    // valid entries, in a causal order
  const std::vector<std::string>& extras() const { return extras_; }  // fork halves

 private:
  const SecretKey& KeyFor(const v1::Entry& e) const {
    if (e.author() > 1) return keys_[kRU];
    const PublicKey& k = schedule_.KeyFor(e.author(), e.seq(), e.has_seen() ? e.seen().seq() : 0);
    for (const SecretKey& s : keys_) {
      if (s.public_key() == k) return s;
    }
    PARLEY_CHECK(false && "World: no secret for the key in effect");
    return keys_[0];
  }

  KeySchedule schedule_;
  std::vector<SecretKey> keys_;
  std::vector<DecodedEntry> feeds_[2];
  std::vector<std::string> order_, extras_;
  int clock_ = 0;
};

// --- valid bodies of every kind, and ways to break them -----------------------

const std::vector<Kind> kAllKinds = {v1::Entry::kPropose,  v1::Entry::kAccept,      v1::Entry::kReject,
                                     v1::Entry::kWithdraw, v1::Entry::kCancel,      v1::Entry::kHandover,
                                     v1::Entry::kReceipt,  v1::Entry::kAttestation, v1::Entry::kStatement,
                                     v1::Entry::kRotateKey};
// Kinds whose body names another entry; the first seven must name a proposal.
const std::vector<Kind> kReferring(kAllKinds.begin(), kAllKinds.end() - 1);
const std::vector<Kind> kNamingProposals(kAllKinds.begin(), kAllKinds.end() - 3);
const std::vector<Kind> kFreeReferences = {v1::Entry::kAttestation, v1::Entry::kStatement};
const std::vector<Kind> kStatementOnly = {v1::Entry::kStatement};
const std::vector<Kind> kProposeOnly = {v1::Entry::kPropose};
const std::vector<Kind> kRotateOnly = {v1::Entry::kRotateKey};

// Points the body's reference (proposal, agreement, counters or reference) at `id`.
v1::Entry WithReference(v1::Entry b, const Digest& id) {
  const std::string s = id.str();
  switch (b.body_case()) {
    case v1::Entry::kPropose: b.mutable_propose()->set_counters(s); break;
    case v1::Entry::kAccept: b.mutable_accept()->set_proposal(s); break;
    case v1::Entry::kReject: b.mutable_reject()->set_proposal(s); break;
    case v1::Entry::kWithdraw: b.mutable_withdraw()->set_proposal(s); break;
    case v1::Entry::kCancel: b.mutable_cancel()->set_agreement(s); break;
    case v1::Entry::kHandover: b.mutable_handover()->set_agreement(s); break;
    case v1::Entry::kReceipt: b.mutable_receipt()->set_agreement(s); break;
    case v1::Entry::kAttestation: b.mutable_attestation()->set_reference(s); break;
    case v1::Entry::kStatement: b.mutable_statement()->set_reference(s); break;
    default: PARLEY_CHECK(false && "WithReference: a body without references");
  }
  return b;
}

// A valid RU body of `kind`; each one that can refers to UA's proposal P.
v1::Entry BodyOf(Kind kind, const World& w) {
  switch (kind) {
    case v1::Entry::kPropose: return WithReference(test::Propose(test::RemainsTerms(kRU, 5, kT0)), w.P().id);
    case v1::Entry::kAccept: return test::Accept(w.P());
    case v1::Entry::kReject: return test::Reject(w.P());
    case v1::Entry::kWithdraw: return test::Withdraw(w.P());
    case v1::Entry::kCancel: return test::Cancel(w.P());
    case v1::Entry::kHandover: return test::Handover(w.P(), 0, 1212);
    case v1::Entry::kReceipt: return test::Receipt(w.P(), 0, 1212);
    case v1::Entry::kAttestation: return WithReference(test::Attest("trucks staged"), w.P().id);
    case v1::Entry::kStatement: return WithReference(test::Say("objection"), w.P().id);
    case v1::Entry::kRotateKey: return RotateKeyBody(TheCharter(), kRU, KeyOfSeed(0x60));
    default: PARLEY_CHECK(false && "BodyOf: no such kind");
  }
  return {};
}

// The same body, no longer well formed (§5: stage 1, bad-body).
v1::Entry Malformed(v1::Entry b) {
  switch (b.body_case()) {
    case v1::Entry::kPropose: {
      v1::Terms t;
      PARLEY_CHECK(t.ParseFromString(b.propose().terms()));
      t.clear_transfers();
      b.mutable_propose()->set_terms(t.SerializeAsString());
      break;
    }
    case v1::Entry::kAccept: b.mutable_accept()->set_terms_digest("short"); break;
    case v1::Entry::kReject: b.mutable_reject()->set_proposal(""); break;
    case v1::Entry::kWithdraw: b.mutable_withdraw()->set_proposal(std::string(31, 'w')); break;
    case v1::Entry::kCancel: b.mutable_cancel()->set_agreement(std::string(33, 'c')); break;
    case v1::Entry::kHandover: b.mutable_handover()->set_count(0); break;
    case v1::Entry::kReceipt: b.mutable_receipt()->mutable_manifest()->set_root("short"); break;
    case v1::Entry::kAttestation: b.mutable_attestation()->set_what(""); break;
    case v1::Entry::kStatement: b.mutable_statement()->set_text(""); break;
    case v1::Entry::kRotateKey: b = RotateKeyBody(TheCharter(), kRU, test::PartyKey(kRU)); break;  // its own key
    default: PARLEY_CHECK(false && "Malformed: no such kind");
  }
  return b;
}

// --- the offending entry ----------------------------------------------------

struct Bad {
  v1::Entry entry;       // what was signed (for the signing side: the body and its header)
  std::string envelope;  // what is delivered
};

Bad Signed(const World& w, v1::Entry e) {
  std::string env = w.Sign(e);
  return {std::move(e), std::move(env)};
}

// RU's next entry with `body`, validly signed.
Bad Next(World& w, v1::Entry body, uint64_t seen = World::kAll) { return Signed(w, w.Next(kRU, std::move(body), seen)); }

std::string FlipSignatureBit(const std::string& envelope) {
  v1::SignedEntry s;
  PARLEY_CHECK(s.ParseFromString(envelope));
  std::string sig = s.signature();
  sig[10] ^= 0x01;
  s.set_signature(sig);
  return s.SerializeAsString();
}

// A propose whose envelope, as RU's next entry, is exactly `size` bytes.
Bad ProposeOfSize(World& w, size_t size) {
  v1::Terms t = test::RemainsTerms(kRU, 1, kT0);
  for (int i = 0; i < 7000; ++i) *t.add_transfers() = t.transfers(0);
  size_t notes = 0;
  for (int i = 0; i < 10; ++i) {
    t.set_notes(std::string(notes, 'n'));
    const size_t now = w.Sign(w.Next(kRU, test::Propose(t))).size();
    if (now == size) break;
    notes += size - now;  // the length prefixes keep their width in this range
  }
  Bad b = Next(w, test::Propose(t));
  PARLEY_CHECK(b.envelope.size() == size);
  return b;
}

// --- the table ----------------------------------------------------------------

struct Rule {
  const char* name;
  std::optional<Violation> expect;  // nullopt: a boundary that is valid and must be stored
  unsigned starts;                  // Start bits
  const std::vector<Kind>* kinds;   // body kinds the row is tried with
  bool signing;                     // the signing side must refuse (or sign) the same body too
  std::function<Bad(World&, v1::Entry body)> build;
};

constexpr bool kSigning = true;
constexpr bool kReceiving = false;  // receiving paths only: a header a node never signs, or keys it would need
const std::optional<Violation> kValid = std::nullopt;
using V = Violation;

const std::vector<Rule>& Rules() {
  static const std::vector<Rule> rules = {
      // {name, violation expected (kValid: must be stored), starts, body kinds, kSigning/kReceiving, build}
      // Stage 1: size.
      {"an envelope of exactly 65,536 bytes", kValid, kBoth, &kProposeOnly, kSigning,
       [](World& w, v1::Entry) { return ProposeOfSize(w, kMaxEnvelopeBytes); }},
      {"an envelope of 65,537 bytes", V::kOversized, kBoth, &kProposeOnly, kSigning,
       [](World& w, v1::Entry) { return ProposeOfSize(w, kMaxEnvelopeBytes + 1); }},
      // Stage 1: signature, over every kind.
      {"a forged signature (one bit flipped)", V::kBadSignature, kBoth, &kAllKinds, kReceiving,
       [](World& w, v1::Entry b) {
         Bad bad = Next(w, b);
         bad.envelope = FlipSignatureBit(bad.envelope);
         return bad;
       }},
      {"signed by the other party's key", V::kBadSignature, kBoth, &kAllKinds, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         return Bad{e, SignEntry(test::PartyKey(kUA), e).envelope};
       }},
      {"signed bytes changed after signing", V::kBadSignature, kBoth, &kAllKinds, kReceiving,
       [](World& w, v1::Entry b) {
         Bad bad = Next(w, b);
         v1::SignedEntry s;
         PARLEY_CHECK(s.ParseFromString(bad.envelope));
         bad.entry.set_time_ms(bad.entry.time_ms() + 1);
         s.set_entry(bad.entry.SerializeAsString());
         bad.envelope = s.SerializeAsString();
         return bad;
       }},
      {"signed with the key a rotation retired", V::kBadSignature, kBoth, &kAllKinds, kReceiving,
       [](World& w, v1::Entry b) {
         w.Add(kRU, RotateKeyBody(TheCharter(), kRU, KeyOfSeed(0xa0)));
         w.Add(kUA, test::Say("acknowledges RU's rotation"));
         v1::Entry e = w.Next(kRU, b);
         return Bad{e, SignEntry(test::PartyKey(kRU), e).envelope};
       }},
      {"signed with a rotation's key before it is acknowledged", V::kBadSignature, kBoth, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         w.Add(kRU, RotateKeyBody(TheCharter(), kRU, KeyOfSeed(0xa0)));
         v1::Entry e = w.Next(kRU, b);
         return Bad{e, SignEntry(KeyOfSeed(0xa0), e).envelope};
       }},
      // Stage 1: header fields.
      {"another ledger's id", V::kWrongLedger, kBoth, &kAllKinds, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_ledger_id(std::string(32, '\x42'));
         return Signed(w, e);
       }},
      {"an author that is not a party", V::kUnknownAuthor, kBoth, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_author(2);
         return Signed(w, e);
       }},
      {"seq 0", V::kMalformed, kBoth, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_seq(0);
         return Signed(w, e);
       }},
      {"a prev of 31 bytes", V::kMalformed, kBoth, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_prev(e.prev().substr(1));
         return Signed(w, e);
       }},
      {"a seen with seq 0", V::kMalformed, kBoth, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.mutable_seen()->set_seq(0);
         return Signed(w, e);
       }},
      // Stage 1: bodies (§5, §5.2).
      {"a body that is not well formed", V::kBadBody, kBoth, &kAllKinds, kSigning,
       [](World& w, v1::Entry b) { return Next(w, Malformed(b)); }},
      {"no body at all", V::kBadBody, kBoth, &kStatementOnly, kSigning,
       [](World& w, v1::Entry) { return Next(w, v1::Entry()); }},
      {"free text with an ESC", V::kBadBody, kBoth, &kStatementOnly, kSigning,
       [](World& w, v1::Entry) { return Next(w, test::Say("red \x1b[31m text")); }},
      {"rotate_key declaring compromised a seq after itself", V::kBadBody, kBoth, &kRotateOnly, kSigning,
       [](World& w, v1::Entry) {
         return Next(w, RotateKeyBody(TheCharter(), kRU, KeyOfSeed(0x60), w.feed(kRU).size() + 2));
       }},
      {"rotate_key declaring compromised from its own seq (declares nothing)", kValid, kBoth, &kRotateOnly, kReceiving,
       [](World& w, v1::Entry) {
         return Next(w, RotateKeyBody(TheCharter(), kRU, KeyOfSeed(0x60), w.feed(kRU).size() + 1));
       }},
      // Stage 2: frozen feed.
      {"an entry of a feed frozen by a fork", V::kFeedFrozen, kLater, &kAllKinds, kReceiving,
       [](World& w, v1::Entry b) {
         w.AddFork(kRU);
         return Next(w, b);
       }},
      // Stage 2: seq and prev.
      {"a seq that skips one", V::kSeqGap, kBoth, &kAllKinds, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_seq(e.seq() + 1);
         return Signed(w, e);
       }},
      {"first entry: prev an arbitrary ID, not the ledger id", V::kWrongPrev, kFirst, &kAllKinds, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_prev(std::string(32, '\x42'));
         return Signed(w, e);
       }},
      {"first entry: prev the other feed's first entry", V::kWrongPrev, kFirst, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_prev(w.P().id.str());
         return Signed(w, e);
       }},
      {"prev the ledger id after the first entry", V::kWrongPrev, kLater, &kAllKinds, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_prev(TheCharter().ledger_id().str());
         return Signed(w, e);
       }},
      {"prev an older entry than the head", V::kWrongPrev, kLater, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_prev(w.feed(kRU)[0].id.str());
         return Signed(w, e);
       }},
      // Stage 2: time.
      {"time 1 ms before the previous entry's", V::kTimeBackwards, kLater, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_time_ms(w.feed(kRU).back().time_ms() - 1);
         return Signed(w, e);
       }},
      {"time equal to the previous entry's", kValid, kLater, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_time_ms(w.feed(kRU).back().time_ms());
         return Signed(w, e);
       }},
      {"first entry: any time, even before 1970", kValid, kFirst, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.set_time_ms(-1);
         return Signed(w, e);
       }},
      // Stage 2: seen.
      {"seen absent after an entry that had seen", V::kSeenBackwards, kLater, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) { return Next(w, b, 0); }},
      {"seen below the previous entry's", V::kSeenBackwards, kLater, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) { return Next(w, b, 1); }},
      {"seen equal to the previous entry's", kValid, kLater, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) { return Next(w, b, 2); }},
      {"first entry: no seen at all", kValid, kFirst, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry) { return Next(w, test::Say("first words"), 0); }},
      {"seen beyond the other feed's head", V::kSeenMismatch, kBoth, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         e.mutable_seen()->set_seq(e.seen().seq() + 1);
         e.mutable_seen()->set_id(std::string(32, '\x42'));
         return Signed(w, e);
       }},
      {"seen with the right seq and a wrong ID", V::kSeenMismatch, kBoth, &kStatementOnly, kReceiving,
       [](World& w, v1::Entry b) {
         v1::Entry e = w.Next(kRU, b);
         std::string id = e.seen().id();
         id[3] ^= 0x10;
         e.mutable_seen()->set_id(id);
         return Signed(w, e);
       }},
      // Stage 2: references (§5), over every kind that has one.
      {"a reference to an entry its author had not seen", V::kBadReference, kBoth, &kReferring, kReceiving,
       [](World& w, v1::Entry b) { return Next(w, WithReference(b, w.P2().id), 2); }},  // P2 is UA#3
      {"a reference to the newest entry its author had seen", kValid, kBoth, &kReferring, kSigning,
       [](World& w, v1::Entry b) { return Next(w, WithReference(b, w.P2().id)); }},
      {"a reference to an entry that does not exist", V::kBadReference, kBoth, &kReferring, kSigning,
       [](World& w, v1::Entry b) { return Next(w, WithReference(b, Hash("no", "such entry"))); }},
      {"a proposal or agreement reference naming a statement", V::kBadReference, kBoth, &kNamingProposals, kSigning,
       [](World& w, v1::Entry b) { return Next(w, WithReference(b, w.S().id)); }},
      {"a reference to its author's own previous proposal", kValid, kLater, &kNamingProposals, kSigning,
       [](World& w, v1::Entry b) { return Next(w, WithReference(b, w.feed(kRU)[0].id)); }},
      {"an attestation's or statement's reference to a statement", kValid, kBoth, &kFreeReferences, kSigning,
       [](World& w, v1::Entry b) { return Next(w, WithReference(b, w.S().id)); }},
      // Stage 2: key rotation (§5.1, checks 15-16).
      {"rotate_key to the other party's key", V::kBadBody, kBoth, &kRotateOnly, kSigning,
       [](World& w, v1::Entry) { return Next(w, RotateKeyBody(TheCharter(), kRU, test::PartyKey(kUA))); }},
      {"rotate_key to an observer's key", V::kBadBody, kBoth, &kRotateOnly, kSigning,
       [](World& w, v1::Entry) { return Next(w, RotateKeyBody(TheCharter(), kRU, test::ObserverKey())); }},
      {"a second rotate_key before the first is acknowledged", V::kRotationPending, kBoth, &kRotateOnly, kSigning,
       [](World& w, v1::Entry b) {
         w.Add(kRU, RotateKeyBody(TheCharter(), kRU, KeyOfSeed(0xa0)));
         return Next(w, b);
       }},
      {"a second rotate_key once the first took effect", kValid, kBoth, &kRotateOnly, kReceiving,
       [](World& w, v1::Entry b) {
         w.Add(kRU, RotateKeyBody(TheCharter(), kRU, KeyOfSeed(0xa0)));
         w.Add(kUA, test::Say("acknowledges RU's rotation"));
         w.Learn(KeyOfSeed(0xa0));
         return Next(w, b);
       }},
      {"rotate_key to the key already in effect", V::kBadBody, kBoth, &kRotateOnly, kReceiving,
       [](World& w, v1::Entry) {
         w.Add(kRU, RotateKeyBody(TheCharter(), kRU, KeyOfSeed(0xa0)));
         w.Add(kUA, test::Say("acknowledges RU's rotation"));
         w.Learn(KeyOfSeed(0xa0));
         return Next(w, RotateKeyBody(TheCharter(), kRU, KeyOfSeed(0xa0)));
       }},
  };
  return rules;
}

// One row applied to one start and one body kind.
struct Case {
  const Rule* rule;
  Start start;
  Kind kind;

  std::string name() const {
    return std::string(rule->name) + (start == kFirst ? " [RU#1, " : " [later entry, ") + KindName(kind) + "]";
  }
  std::string expected() const { return rule->expect ? ViolationName(*rule->expect) : "stored"; }
  // Builds the world (with the row's extra valid entries) and the offending entry.
  std::pair<World, Bad> Build() const {
    World w(start);
    v1::Entry body = BodyOf(kind, w);
    Bad bad = rule->build(w, std::move(body));
    return {std::move(w), std::move(bad)};
  }
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> out;
    for (const Rule& r : Rules()) {
      for (Start s : {kFirst, kLater}) {
        if (!(r.starts & s)) continue;
        for (Kind k : *r.kinds) out.push_back(Case{&r, s, k});
      }
    }
    return out;
  }();
  return cases;
}

// --- the acceptance paths -------------------------------------------------------

std::string Outcome(const Status& s) {
  if (auto v = ViolationOf(s)) return ViolationName(*v);
  return "error " + s.ToString();
}

std::unique_ptr<Ledger> ObserverCopy() {
  return Ledger::Open(NewMemoryStore(), test::TestCharter(), LedgerOptions()).value();
}

void Deliver(Ledger& l, const std::vector<std::string>& envelopes) {
  for (const std::string& env : envelopes) {
    auto r = l.Ingest(env);
    REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  }
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Both heads as "UA#n RU#m", to compare before and after.
std::string Heads(const Ledger& l) {
  return "UA#" + std::to_string(l.Head(kUA).seq) + " RU#" + std::to_string(l.Head(kRU).seq) + " " +
         ToHex(l.Head(kRU).id).substr(0, 8);
}

TEST_CASE("the rule table covers every violation of PROTOCOL.md §4 and every body kind") {
  std::set<std::string> violations, kinds;
  for (const Case& c : Cases()) {
    if (c.rule->expect) violations.insert(ViolationName(*c.rule->expect));
    if (c.rule->expect == Violation::kBadSignature) kinds.insert(KindName(c.kind));
  }
  CHECK(violations.size() == 14);  // every Violation
  CHECK(kinds.size() == kAllKinds.size());
}

TEST_CASE("Ingest refuses each rule-breaking entry with its violation and stores nothing; boundaries are stored") {
  for (const Case& c : Cases()) {
    INFO(c.name());
    auto [w, bad] = c.Build();
    auto l = ObserverCopy();
    Deliver(*l, Concat(w.order(), w.extras()));
    const std::string before = Heads(*l);
    auto r = l->Ingest(bad.envelope);
    CHECK((r ? std::string(*r == IngestOutcome::kStored ? "stored" : "duplicate or fork") : Outcome(r.error())) ==
          c.expected());
    if (c.rule->expect) CHECK(Heads(*l) == before);
    else CHECK(l->Head(kRU).seq == w.feed(kRU).size() + 1);
  }
}

TEST_CASE("IngestBatch refuses the entry after storing the valid ones before it in the same batch") {
  for (const Case& c : Cases()) {
    INFO(c.name());
    auto [w, bad] = c.Build();
    auto l = ObserverCopy();
    // All but the last two valid entries one by one; the rest in one batch.
    const std::vector<std::string>& order = w.order();
    Deliver(*l, std::vector<std::string>(order.begin(), order.end() - 2));
    std::vector<std::string> batch(order.end() - 2, order.end());
    batch = Concat(batch, w.extras());
    batch.push_back(bad.envelope);
    auto r = l->IngestBatch(batch);
    CHECK((r ? (r->stored == 3 ? "stored" : "stored " + std::to_string(r->stored)) : Outcome(r.error())) ==
          c.expected());
    CHECK(l->Head(kUA).seq == w.feed(kUA).size());
    CHECK(l->Head(kRU).seq == w.feed(kRU).size() + (c.rule->expect ? 0 : 1));
  }
}

TEST_CASE("IngestBatch of the entry alone, after everything else was stored (a frozen feed included)") {
  for (const Case& c : Cases()) {
    INFO(c.name());
    auto [w, bad] = c.Build();
    auto l = ObserverCopy();
    Deliver(*l, Concat(w.order(), w.extras()));
    const std::string before = Heads(*l);
    auto r = l->IngestBatch({bad.envelope});
    CHECK((r ? (r->stored == 1 ? "stored" : "not stored") : Outcome(r.error())) == c.expected());
    if (c.rule->expect) CHECK(Heads(*l) == before);
  }
}

// The first violation the audit names, or what else it found.
std::string AuditVerdict(const AuditReport& r) {
  for (const AuditFinding& f : r.findings) {
    if (f.kind == "violation" && f.where != "feeds") return f.what.substr(0, f.what.find(':'));
  }
  if (r.Count("fork") > 0) return "fork, " + std::to_string(r.unchecked) + " unchecked";
  return r.clean() ? "stored" : "unclean";
}

TEST_CASE("the audit of a bundle holding the entry names the same violation") {
  test::TempDir dir;
  const std::filesystem::path path = dir.path() / "rules.parley";
  for (const Case& c : Cases()) {
    INFO(c.name());
    auto [w, bad] = c.Build();
    {
      auto bw = BundleWriter::Create(path, TheCharter(), "entry_rules_test", kT0).value();
      for (const std::string& env : Concat(w.order(), w.extras())) REQUIRE(bw->AddEntry(env).ok());
      REQUIRE(bw->AddEntry(bad.envelope).ok());
      REQUIRE(bw->Finish().ok());
    }
    AuditOptions o;
    o.now_ms = kT0;
    o.threads = 1;
    auto report = AuditBundle(path.string(), o);
    REQUIRE_MESSAGE(report.has_value(), report.error().ToString());
    // A fork is the audit's own finding; the entries after it are not checked.
    const std::string expected = c.rule->expect == Violation::kFeedFrozen ? "fork, 1 unchecked" : c.expected();
    CHECK(AuditVerdict(*report) == expected);
    if (!c.rule->expect) {
      CHECK(report->entries[kUA] == w.feed(kUA).size());
      CHECK(report->entries[kRU] == w.feed(kRU).size() + 1);
    }
  }
}

// RU's own node holding the world's feeds: a data folder filled by an
// observer copy, then opened with RU's key.
std::unique_ptr<Ledger> RuNode(const World& w, const std::filesystem::path& data) {
  {
    auto l = Ledger::Open(OpenLevelDbStore(data).value(), test::TestCharter(), LedgerOptions()).value();
    Deliver(*l, w.order());
  }
  LedgerOptions o;
  o.self = kRU;
  o.key = test::PartyKey(kRU);
  auto l = Ledger::Open(OpenLevelDbStore(data).value(), test::TestCharter(), std::move(o));
  REQUIRE_MESSAGE(l.has_value(), l.error().ToString());
  return std::move(*l);
}

TEST_CASE("Append and Preview refuse to sign a body that breaks a rule, and sign the boundaries exactly") {
  int n = 0;
  for (const Case& c : Cases()) {
    if (!c.rule->signing) continue;
    INFO(c.name());
    auto [w, bad] = c.Build();
    test::TempDir dir;
    auto l = RuNode(w, dir.path() / "ru");
    const std::string before = Heads(*l);
    const int64_t now = bad.entry.time_ms();
    auto preview = l->Preview(bad.entry, now);
    CHECK((preview ? "stored" : Outcome(preview.error())) == c.expected());
    auto signed_entry = l->Append(bad.entry, now);
    CHECK((signed_entry ? "stored" : Outcome(signed_entry.error())) == c.expected());
    if (c.rule->expect) {
      CHECK(Heads(*l) == before);
    } else if (signed_entry && preview) {
      // The node signs exactly the entry the receiving paths were shown.
      CHECK(preview->SerializeAsString() == bad.entry.SerializeAsString());
      CHECK(signed_entry->envelope == bad.envelope);
    }
    ++n;
  }
  CHECK(n > 50);
}

TEST_CASE("the verifier's signing-side check refuses every row's entry as the receiving paths do (faults of the "
          "signature aside)") {
  // FeedVerifier::CheckSignable is what Append and Preview run before they
  // sign; here it is given the very entry each row delivers, header faults
  // included (a node's own header is built by FeedVerifier::NextEntry, so
  // Append alone cannot reach them).
  int n = 0;
  for (const Case& c : Cases()) {
    if (c.rule->expect == Violation::kBadSignature) continue;  // the one check that needs the signature
    INFO(c.name());
    auto [w, bad] = c.Build();
    auto l = ObserverCopy();
    Deliver(*l, Concat(w.order(), w.extras()));
    const FeedVerifier verifier(l->charter());
    const Status s = verifier.CheckSignable(bad.entry, *l, *l->key_schedule());
    CHECK((s.ok() ? std::string("stored") : Outcome(s)) == c.expected());
    ++n;
  }
  CHECK(n > 100);
}

TEST_CASE("FeedVerifier::CheckForkProof: two validly signed entries at one seq prove a fork; nothing else does") {
  World w(kLater);
  const FeedVerifier verifier(TheCharter());
  const KeySchedule schedule(TheCharter());
  auto half = [](const std::string& envelope) {
    v1::SignedEntry s;
    PARLEY_CHECK(s.ParseFromString(envelope));
    return s;
  };
  const DecodedEntry& head = w.feed(kRU)[1];
  v1::Entry twin = head.entry;
  twin.set_time_ms(twin.time_ms() + 1);
  const std::string twin_envelope = w.Sign(twin);
  auto proof = [&](const std::string& a, const std::string& b) {
    v1::ForkProof f;
    *f.mutable_first() = half(a);
    *f.mutable_second() = half(b);
    return verifier.CheckForkProof(f, schedule);
  };
  auto fork = proof(head.envelope, twin_envelope);
  REQUIRE_MESSAGE(fork.has_value(), fork.error().ToString());
  CHECK(fork->party == kRU);
  CHECK(fork->seq == 2);
  auto refusal = [&](const std::string& a, const std::string& b) {
    auto r = proof(a, b);
    return r ? std::string("accepted as a fork") : r.error().message();
  };
  const std::string not_two = "fork proof is not two different entries at one seq of one feed";
  CHECK(refusal(head.envelope, head.envelope) == not_two);             // one entry twice
  CHECK(refusal(w.feed(kRU)[0].envelope, head.envelope) == not_two);  // two seqs
  CHECK(refusal(w.feed(kUA)[1].envelope, head.envelope) == not_two);  // two feeds
  CHECK(refusal(head.envelope, FlipSignatureBit(twin_envelope)).rfind("fork proof does not verify", 0) == 0);
}

// --- totals at the 64-bit boundary, through every path ------------------------

// UA's proposal P (RU hands 1212 remains to UA) accepted by RU; RU's
// handovers and UA's receipts of transfer 0 as given.
struct Totals {
  const char* name;
  std::vector<uint64_t> handovers, receipts;
  const char* state;  // the agreement's state
  uint64_t handed_over, received;
  size_t void_reports;
};

const std::vector<Totals> kTotals = {
    {"handovers 2^63-1, 2^63-1, 1214 and a receipt of 1212: the last handover would wrap; never completed",
     {UINT64_MAX / 2, UINT64_MAX / 2, 1214}, {1212}, "disputed", UINT64_MAX - 1, 1212, 1},
    {"handovers 2^63-1 and 2^63 reach 2^64-1 exactly; a receipt of 2^64-1 completes",
     {UINT64_MAX / 2, UINT64_MAX / 2 + 1}, {UINT64_MAX}, "completed", UINT64_MAX, UINT64_MAX, 0},
    {"one handover and one receipt of 2^64-1", {UINT64_MAX}, {UINT64_MAX}, "completed", UINT64_MAX, UINT64_MAX, 0},
    {"a handover of 1 after 2^64-1 is void; the agreement stays completed",
     {UINT64_MAX, 1}, {UINT64_MAX}, "completed", UINT64_MAX, UINT64_MAX, 1},
    {"receipts 2^64-2, 1, then 1 past the limit: void", {UINT64_MAX}, {UINT64_MAX - 1, 1, 1}, "completed", UINT64_MAX,
     UINT64_MAX, 1},
};

World TotalsWorld(const Totals& t) {
  World w(kFirst);
  w.Add(kRU, test::Accept(w.P()));
  for (uint64_t h : t.handovers) w.Add(kRU, test::Handover(w.P(), 0, h));
  for (uint64_t r : t.receipts) w.Add(kUA, test::Receipt(w.P(), 0, r));
  return w;
}

std::string TotalsOf(const LedgerState& s, const World& w) {
  const Proposal* p = s.Find(w.P().id);
  if (!p || !p->agreement) return "no agreement";
  const TransferProgress& t = p->agreement->transfers[0];
  size_t void_reports = 0;
  for (const VoidStatement& v : s.void_statements) {
    void_reports += v.kind == v1::Entry::kHandover || v.kind == v1::Entry::kReceipt;
  }
  return std::string(AgreementStateName(p->agreement->state)) + " " + std::to_string(t.handed_over) + "/" +
         std::to_string(t.received) + ", " + std::to_string(void_reports) + " void";
}

LedgerState StateOf(const Ledger& l) {
  return ComputeState(l.Read(kUA, 1, SIZE_MAX).value(), l.Read(kRU, 1, SIZE_MAX).value(), kT0);
}

TEST_CASE("handover and receipt totals at 2^64-1 exactly and past it: the same state through every path") {
  test::TempDir dir;
  for (const Totals& t : kTotals) {
    INFO(t.name);
    const World w = TotalsWorld(t);
    const std::string expected = std::string(t.state) + " " + std::to_string(t.handed_over) + "/" +
                                 std::to_string(t.received) + ", " + std::to_string(t.void_reports) + " void";
    // Ingest, one by one.
    auto one = ObserverCopy();
    Deliver(*one, w.order());
    CHECK(TotalsOf(StateOf(*one), w) == expected);
    // IngestBatch, all at once.
    auto batch = ObserverCopy();
    auto r = batch->IngestBatch(w.order());
    REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
    CHECK(r->stored == w.order().size());
    CHECK(TotalsOf(StateOf(*batch), w) == expected);
    // The audit of a bundle.
    const std::filesystem::path path = dir.path() / "totals.parley";
    {
      auto bw = BundleWriter::Create(path, TheCharter(), "entry_rules_test", kT0).value();
      for (const std::string& env : w.order()) REQUIRE(bw->AddEntry(env).ok());
      REQUIRE(bw->Finish().ok());
    }
    AuditOptions o;
    o.now_ms = kT0;
    o.threads = 1;
    auto report = AuditBundle(path.string(), o);
    REQUIRE_MESSAGE(report.has_value(), report.error().ToString());
    CHECK(TotalsOf(report->state, w) == expected);
    // The node's own side: the state it keeps for Submit, and VoidReason of
    // each report before it is signed (void exactly when the state lists it).
    IncrementalState inc;
    size_t at[2] = {0, 0};
    for (const std::string& env : w.order()) {
      const PartyIndex p = at[kUA] < w.feed(kUA).size() && w.feed(kUA)[at[kUA]].envelope == env ? kUA : kRU;
      const DecodedEntry& e = w.feed(p)[at[p]++];
      REQUIRE(e.envelope == env);
      const bool void_now = VoidReason(inc.state(), e.entry).has_value();
      bool listed = false;
      for (const VoidStatement& v : report->state.void_statements) listed = listed || v.at.id == e.id;
      CHECK(void_now == listed);
      std::vector<DecodedEntry> next[2];
      next[p].push_back(e);
      REQUIRE(inc.Add(next));
    }
    CHECK(TotalsOf(inc.state(), w) == expected);
  }
}

}  // namespace
}  // namespace parley
