// fuzz_ingest: structure-aware. The input drives (through FuzzedDataProvider)
// a sequence of at most kMaxSteps operations, each of which builds one
// envelope for a party of the fixed test charter — the valid next entry with
// a random body, or one of the mutations below — signs it with the fixed test
// keys, and ingests it into a read-only Ledger over NewMemoryStore and into
// the independent ReferenceValidator (reference_validator.h). Both must give
// the same outcome: stored, duplicate, fork, or refused with the same
// violation name.
//
// After the sequence:
//   - heads, frozen flags, stored envelopes and fork proofs agree;
//   - ComputeState over the stored feeds is deterministic (twice, same
//     Render() and StateJson), and the views render;
//   - every agreement's per-transfer sums equal the sum of the reports they
//     list, without wrapping;
//   - a bundle of the stored feeds (and fork proofs) audits with no
//     violation, the same entry counts and the same state (AuditBundle).
//
// Signing follows the key schedule (§5.1) as the reference knows it, so
// sequences go on past rotations. Milestones (below) give libFuzzer feedback
// for protocol states the code under test does not branch on. To read a
// reproducer step by step: PARLEY_FUZZ_TRACE=1 build-fuzz/fuzz_ingest FILE.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>

#include "crypto/hash.h"
#include "node/report/audit.h"
#include "node/report/bundle.h"
#include "node/ledger/ledger.h"
#include "node/store/store.h"
#include "node/report/views.h"
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/reference_validator.h"

namespace parley::fuzz {
namespace {

constexpr int kMaxSteps = 32;
using Ref = ReferenceValidator;

// Every key the generator signs with: the parties' charter keys (0, 1), the
// observer's (2) and fresh keys a RotateKey may name (3..6).
constexpr int kKeys = 7;
const SecretKey& PoolKey(int i) {
  static const SecretKey keys[kKeys] = {
      test::PartyKey(0), test::PartyKey(1), test::ObserverKey(),
      SecretKey::FromSeed(test::SeedFrom(0x60)), SecretKey::FromSeed(test::SeedFrom(0x80)),
      SecretKey::FromSeed(test::SeedFrom(0xa0)), SecretKey::FromSeed(test::SeedFrom(0xc0))};
  return keys[i];
}

// The secret key of `pk` from the pool (every key a rotation can name is).
const SecretKey& SecretFor(const PublicKey& pk) {
  for (int i = 0; i < kKeys; ++i) {
    if (PoolKey(i).public_key() == pk) return PoolKey(i);
  }
  FUZZ_CHECK(false, "no secret key for " + ToHex(pk));
  std::abort();
}

enum class Op {
  kValid,
  kWrongSeq,
  kWrongPrev,
  kBadSeen,
  kTimeBackwards,
  kWrongLedger,
  kSignatureFlip,
  kEntryFlip,
  kDuplicate,
  kEquivocate,
  kWrongKey,
  kUnknownAuthor,
  kHeaderMalformed,
  kRawBytes,
  kOversized,
  kMaxValue = kOversized,
};

const char* OutcomeName(const Result<IngestOutcome>& r) {
  if (!r) return "refused";
  switch (*r) {
    case IngestOutcome::kStored: return "stored";
    case IngestOutcome::kDuplicate: return "duplicate";
    case IngestOutcome::kFork: return "fork";
  }
  return "?";
}

const char* RefName(Ref::Kind k) {
  switch (k) {
    case Ref::Kind::kStored: return "stored";
    case Ref::Kind::kDuplicate: return "duplicate";
    case Ref::Kind::kFork: return "fork";
    case Ref::Kind::kRefused: return "refused";
  }
  return "?";
}

class Generator {
 public:
  explicit Generator(FuzzedDataProvider& fdp, const Ref& ref) : fdp_(fdp), ref_(ref) {}

  // Remembers a generated envelope and, if it parses, its ID (and terms, for
  // a proposal) as something later bodies may reference.
  void Remember(const std::string& envelope) {
    envelopes_.push_back(envelope);
    v1::SignedEntry se;
    v1::Entry e;
    if (!se.ParseFromString(envelope) || !e.ParseFromString(se.entry())) return;
    const std::string id = Hash(kEntryDomain, se.entry()).str();
    ids_.push_back(id);
    if (e.body_case() == v1::Entry::kPropose) proposals_.emplace_back(id, e.propose().terms());
  }

  std::string Next(Op op) {
    const PartyIndex p = fdp_.ConsumeBool() ? 1 : 0;
    switch (op) {
      case Op::kRawBytes: return fdp_.ConsumeRandomLengthString(512);
      case Op::kOversized: {
        std::string env = Sign(p, ValidNext(p));
        env.resize(kMaxEnvelopeBytes + 1 + fdp_.ConsumeIntegralInRange<size_t>(0, 8), '\x01');
        return env;
      }
      case Op::kDuplicate:
        if (!envelopes_.empty()) return envelopes_[Pick(envelopes_.size())];
        break;
      case Op::kEquivocate: {
        const auto& feed = ref_.feed(p);
        if (feed.empty()) break;
        const uint64_t s = fdp_.ConsumeIntegralInRange<uint64_t>(1, feed.size());
        v1::Entry e = ValidNext(p);
        e.set_seq(s);
        e.set_prev(s == 1 ? LedgerId() : feed[s - 2].id);
        if (fdp_.ConsumeIntegralInRange(0, 3) == 0) {
          // A seen the other feed does not (yet) hold: stage 2 never looks.
          e.mutable_seen()->set_seq(ref_.feed(1 - p).size() + fdp_.ConsumeIntegralInRange<uint64_t>(1, 4));
          e.mutable_seen()->set_id(AnyId());
        }
        return Sign(p, e);
      }
      default:
        break;
    }
    v1::Entry e = ValidNext(p);
    const auto& feed = ref_.feed(p);
    const auto& other = ref_.feed(1 - p);
    bool wrong_key = false;
    switch (op) {
      case Op::kWrongSeq:
        switch (fdp_.ConsumeIntegralInRange(0, 2)) {
          case 0: e.set_seq(e.seq() + fdp_.ConsumeIntegralInRange<uint64_t>(1, 3)); break;
          case 1: e.set_seq(fdp_.ConsumeIntegral<uint64_t>()); break;
          default: e.set_seq(e.seq() > 1 ? e.seq() - 1 : 0); break;
        }
        break;
      case Op::kWrongPrev:
        switch (fdp_.ConsumeIntegralInRange(0, 3)) {
          case 0: e.set_prev(LedgerId()); break;
          case 1: e.set_prev(AnyId()); break;
          case 2: e.set_prev(std::string(31, '\0')); break;
          default: e.clear_prev(); break;
        }
        break;
      case Op::kBadSeen:
        switch (fdp_.ConsumeIntegralInRange(0, 4)) {
          case 0:  // beyond the other feed
            e.mutable_seen()->set_seq(other.size() + fdp_.ConsumeIntegralInRange<uint64_t>(1, 2));
            e.mutable_seen()->set_id(AnyId());
            break;
          case 1:  // right seq, wrong id
            if (!other.empty()) {
              e.mutable_seen()->set_seq(fdp_.ConsumeIntegralInRange<uint64_t>(1, other.size()));
              e.mutable_seen()->set_id(AnyId());
            }
            break;
          case 2: e.mutable_seen()->set_seq(0); break;
          case 3: e.mutable_seen()->set_id(e.seen().id().substr(0, 16)); break;
          default:  // backwards: below the author's previous seen
            if (!feed.empty() && feed.back().seen_seq > 0) {
              const uint64_t s = fdp_.ConsumeIntegralInRange<uint64_t>(0, feed.back().seen_seq - 1);
              if (s == 0) {
                e.clear_seen();
              } else {
                e.mutable_seen()->set_seq(s);
                e.mutable_seen()->set_id(other[s - 1].id);
              }
            }
            break;
        }
        break;
      case Op::kTimeBackwards:
        if (!feed.empty()) e.set_time_ms(feed.back().time_ms - fdp_.ConsumeIntegralInRange<int64_t>(1, 86400000));
        break;
      case Op::kWrongLedger:
        e.set_ledger_id(fdp_.ConsumeBool() ? AnyId() : std::string());
        break;
      case Op::kWrongKey:
        wrong_key = true;
        break;
      case Op::kUnknownAuthor:
        e.set_author(fdp_.ConsumeIntegralInRange<uint32_t>(2, 0xffffffffu));
        break;
      case Op::kHeaderMalformed:
        switch (fdp_.ConsumeIntegralInRange(0, 2)) {
          case 0: e.set_seq(0); break;
          case 1: e.clear_body(); break;
          default: e.mutable_seen()->clear_id(); break;
        }
        break;
      default:
        break;
    }
    std::string bytes = e.SerializeAsString();
    if (op == Op::kEntryFlip && !bytes.empty()) Flip(bytes);
    v1::SignedEntry se;
    const SecretKey* signer = &KeyFor(e);
    if (wrong_key) {
      const int i = fdp_.ConsumeIntegralInRange(0, kKeys - 1);
      signer = &PoolKey(PoolKey(i).public_key() == signer->public_key() ? (i + 1) % kKeys : i);
    }
    std::string sig = parley::Sign(*signer, kEntryDomain, bytes).str();
    if (op == Op::kSignatureFlip) Flip(sig);
    se.set_entry(std::move(bytes));
    se.set_signature(std::move(sig));
    return se.SerializeAsString();
  }

 private:
  std::string LedgerId() const { return test::TheCharter().ledger_id().str(); }

  size_t Pick(size_t n) { return fdp_.ConsumeIntegralInRange<size_t>(0, n - 1); }

  void Flip(std::string& s) {
    const size_t i = Pick(s.size());
    s[i] = static_cast<char>(s[i] ^ (1u << fdp_.ConsumeIntegralInRange(0, 7)));
  }

  // The key the schedule (as the reference knows it) names for `e`; the
  // author's charter key for an author that is not a party.
  const SecretKey& KeyFor(const v1::Entry& e) {
    if (e.author() > 1) return PoolKey(fdp_.ConsumeBool() ? 1 : 0);
    return SecretFor(ref_.KeyFor(e.author(), e.seq(), e.has_seen() ? e.seen().seq() : 0));
  }

  std::string Sign(PartyIndex, const v1::Entry& e) {
    v1::SignedEntry se;
    se.set_entry(e.SerializeAsString());
    se.set_signature(parley::Sign(KeyFor(e), kEntryDomain, se.entry()).str());
    return se.SerializeAsString();
  }

  std::string RandomBytes(size_t n) {
    std::string s = fdp_.ConsumeBytesAsString(n);
    s.resize(n, '\x5a');
    return s;
  }

  // Some 32-byte ID: of a generated entry, or random.
  std::string AnyId() {
    if (!ids_.empty() && fdp_.ConsumeBool()) return ids_[Pick(ids_.size())];
    return RandomBytes(32);
  }

  // A reference field: usually a generated proposal or entry; sometimes
  // random, empty or of the wrong length.
  std::string AnyRef(bool want_proposal) {
    switch (fdp_.ConsumeIntegralInRange(0, 7)) {
      case 0: return RandomBytes(32);
      case 1: return std::string();
      case 2: return RandomBytes(fdp_.ConsumeBool() ? 31 : 33);
      case 3: case 4:
        if (!ids_.empty()) return ids_[Pick(ids_.size())];
        [[fallthrough]];
      default:
        if (want_proposal && !proposals_.empty()) return proposals_[Pick(proposals_.size())].first;
        if (!ids_.empty()) return ids_[Pick(ids_.size())];
        return RandomBytes(32);
    }
  }

  uint64_t Count() {
    switch (fdp_.ConsumeIntegralInRange(0, 5)) {
      case 0: return 0;
      case 1: return UINT64_MAX - fdp_.ConsumeIntegralInRange<uint64_t>(0, 3);
      case 2: return (1ull << 63) + fdp_.ConsumeIntegralInRange<uint64_t>(0, 3);
      default: return fdp_.ConsumeIntegralInRange<uint64_t>(1, 1300);
    }
  }

  int64_t Time() {
    switch (fdp_.ConsumeIntegralInRange(0, 4)) {
      case 0: return 0;
      case 1: return fdp_.ConsumeIntegral<int64_t>();
      default: return test::kT0 + fdp_.ConsumeIntegralInRange<int64_t>(-86400000, 30 * 86400000ll);
    }
  }

  void FillManifest(v1::ManifestCommitment* m, uint64_t count) {
    m->set_root(RandomBytes(fdp_.ConsumeIntegralInRange(0, 5) == 0 ? 31 : 32));
    m->set_count(fdp_.ConsumeIntegralInRange(0, 4) == 0 ? Count() : count);
  }

  std::string Terms() {
    if (fdp_.ConsumeIntegralInRange(0, 15) == 0) return fdp_.ConsumeRandomLengthString(64);
    v1::Terms t;
    const int n = fdp_.ConsumeIntegralInRange(0, 8) == 0 ? 0 : fdp_.ConsumeIntegralInRange(1, 3);
    for (int i = 0; i < n; ++i) {
      auto* tr = t.add_transfers();
      const uint32_t from = fdp_.ConsumeIntegralInRange<uint32_t>(0, 1);
      tr->set_from_party(fdp_.ConsumeIntegralInRange(0, 9) == 0 ? fdp_.ConsumeIntegralInRange<uint32_t>(0, 2) : from);
      tr->set_to_party(fdp_.ConsumeIntegralInRange(0, 9) == 0 ? fdp_.ConsumeIntegralInRange<uint32_t>(0, 2) : 1 - from);
      tr->set_category(static_cast<v1::Category>(fdp_.ConsumeIntegralInRange(0, 9) == 0
                                                     ? fdp_.ConsumeIntegralInRange(0, 5)
                                                     : fdp_.ConsumeIntegralInRange(1, 3)));
      tr->set_count(Count());
      if (fdp_.ConsumeBool()) FillManifest(tr->mutable_manifest(), tr->count());
    }
    t.set_crossing_point(Text());
    t.set_transport(static_cast<v1::Transport>(fdp_.ConsumeIntegralInRange(0, 9) == 0
                                                   ? fdp_.ConsumeIntegralInRange(0, 7)
                                                   : fdp_.ConsumeIntegralInRange(1, 5)));
    if (fdp_.ConsumeIntegralInRange(0, 9) != 0) {
      const int64_t start = Time();
      t.mutable_window()->set_start_ms(start);
      const int64_t length = fdp_.ConsumeIntegralInRange<int64_t>(0, 86400000);
      t.mutable_window()->set_end_ms(fdp_.ConsumeIntegralInRange(0, 9) == 0 ? fdp_.ConsumeIntegral<int64_t>()
                                     : start > INT64_MAX - length           ? INT64_MAX
                                                                            : start + length);
    }
    if (fdp_.ConsumeBool()) t.set_intermediary("ICRC");
    return t.SerializeAsString();
  }

  // Proto3 `string` fields must hold UTF-8 or the entry does not serialize
  // to something that parses; keep text ASCII.
  std::string Text() {
    std::string s = fdp_.ConsumeRandomLengthString(24);
    for (char& c : s) c = static_cast<char>(0x20 + (static_cast<uint8_t>(c) % 0x5f));
    return s;
  }

  void Body(PartyIndex p, v1::Entry& e) {
    switch (fdp_.ConsumeIntegralInRange(0, 11)) {
      case 0: case 1: {
        auto* pr = e.mutable_propose();
        pr->set_kind(static_cast<v1::ExchangeKind>(fdp_.ConsumeIntegralInRange(0, 9) == 0
                                                       ? fdp_.ConsumeIntegralInRange(0, 4)
                                                       : fdp_.ConsumeIntegralInRange(1, 2)));
        pr->set_terms(Terms());
        switch (fdp_.ConsumeIntegralInRange(0, 4)) {
          case 0: pr->set_counters(AnyRef(true)); break;
          case 1: pr->set_amends(AnyRef(true)); break;
          case 2: pr->set_counters(AnyRef(true)); pr->set_amends(AnyRef(true)); break;
          default: break;
        }
        if (fdp_.ConsumeBool()) pr->set_expires_ms(Time());
        return;
      }
      case 2: {
        auto* a = e.mutable_accept();
        a->set_proposal(AnyRef(true));
        std::string digest;
        for (const auto& [id, terms] : proposals_) {
          if (id == a->proposal()) digest = TermsDigest(terms).str();
        }
        if (digest.empty() || fdp_.ConsumeIntegralInRange(0, 7) == 0) digest = RandomBytes(fdp_.ConsumeBool() ? 32 : 16);
        a->set_terms_digest(digest);
        return;
      }
      case 3: e.mutable_reject()->set_proposal(AnyRef(true)); e.mutable_reject()->set_reason(Text()); return;
      case 4: e.mutable_withdraw()->set_proposal(AnyRef(true)); return;
      case 5: e.mutable_cancel()->set_agreement(AnyRef(true)); return;
      case 6: {
        auto* h = e.mutable_handover();
        h->set_agreement(AnyRef(true));
        h->set_transfer_index(fdp_.ConsumeIntegralInRange<uint32_t>(0, 3));
        h->set_count(Count());
        if (fdp_.ConsumeBool()) FillManifest(h->mutable_manifest(), h->count());
        h->set_handed_over_ms(Time());
        return;
      }
      case 7: {
        auto* r = e.mutable_receipt();
        r->set_agreement(AnyRef(true));
        r->set_transfer_index(fdp_.ConsumeIntegralInRange<uint32_t>(0, 3));
        r->set_count(Count());
        if (fdp_.ConsumeBool()) FillManifest(r->mutable_manifest(), r->count());
        if (fdp_.ConsumeBool()) {
          r->mutable_reconciliation()->set_matched(Count());
          r->mutable_reconciliation()->set_missing(Count());
          r->mutable_reconciliation()->set_other_side(fdp_.ConsumeIntegralInRange<uint64_t>(0, 2));
        }
        r->set_received_ms(Time());
        return;
      }
      case 8: {
        auto* a = e.mutable_attestation();
        a->set_what(Text());
        a->set_where(Text());
        a->set_when_ms(Time());
        if (fdp_.ConsumeBool()) a->set_reference(AnyRef(false));
        return;
      }
      case 9:
        e.mutable_statement()->set_text(Text());
        if (fdp_.ConsumeBool()) e.mutable_statement()->set_reference(AnyRef(false));
        return;
      case 10: {
        auto* d = e.mutable_disclose();
        // Usually to the other party; sometimes to the author or no party,
        // or without a manifest.
        d->set_to_party(fdp_.ConsumeIntegralInRange(0, 7) == 0 ? fdp_.ConsumeIntegralInRange<uint32_t>(0, 2) : 1 - p);
        if (fdp_.ConsumeIntegralInRange(0, 15) != 0) FillManifest(d->mutable_manifest(), Count());
        return;
      }
      default: {
        auto* r = e.mutable_rotate_key();
        // Usually a fresh key; sometimes a charter, observer or used key, or
        // a key of the wrong length.
        const int which = fdp_.ConsumeIntegralInRange(0, 7) == 0 ? fdp_.ConsumeIntegralInRange(0, kKeys - 1)
                                                                 : fdp_.ConsumeIntegralInRange(3, kKeys - 1);
        const SecretKey& next = PoolKey(which);
        const bool short_key = fdp_.ConsumeIntegralInRange(0, 15) == 0;
        r->set_new_public_key(short_key ? next.public_key().str().substr(1) : next.public_key().str());
        std::string msg = e.ledger_id();
        for (int i = 0; i < 4; ++i) msg.push_back(static_cast<char>((p >> (8 * i)) & 0xff));
        msg += r->new_public_key();
        std::string sig = parley::Sign(next, kRotateDomain, msg).str();
        if (fdp_.ConsumeIntegralInRange(0, 7) == 0) Flip(sig);
        r->set_new_key_signature(sig);
        r->set_compromised_from_seq(fdp_.ConsumeBool() ? 0 : fdp_.ConsumeIntegralInRange<uint64_t>(0, e.seq() + 1));
        return;
      }
    }
  }

  // The entry that would be stored next in p's feed, with a random body
  // (which may itself break a §5 or reference rule).
  v1::Entry ValidNext(PartyIndex p) {
    const auto& feed = ref_.feed(p);
    const auto& other = ref_.feed(1 - p);
    v1::Entry e;
    e.set_ledger_id(LedgerId());
    e.set_author(p);
    e.set_seq(feed.size() + 1);
    e.set_prev(feed.empty() ? LedgerId() : feed.back().id);
    const uint64_t min_seen = feed.empty() ? 0 : feed.back().seen_seq;
    const uint64_t seen = fdp_.ConsumeBool() ? other.size()
                                             : fdp_.ConsumeIntegralInRange<uint64_t>(min_seen, other.size());
    if (seen > 0) {
      e.mutable_seen()->set_seq(seen);
      e.mutable_seen()->set_id(other[seen - 1].id);
    }
    const int64_t head_time = feed.empty() ? test::kT0 : feed.back().time_ms;
    e.set_time_ms(head_time + fdp_.ConsumeIntegralInRange<int64_t>(0, 86400000));
    Body(p, e);
    return e;
  }

  FuzzedDataProvider& fdp_;
  const Ref& ref_;
  std::vector<std::string> envelopes_;
  std::vector<std::string> ids_;
  std::vector<std::pair<std::string, std::string>> proposals_;  // (id, terms bytes)
};

// Extra feedback for libFuzzer: one branch per abstract protocol state of
// interest (rotations pending, acknowledged and in use; forks around a
// rotation; repeated execution reports and their totals), so that inputs
// reaching deeper states count as new coverage even where the code under
// test runs the same lines. Pure bookkeeping: it never fails an input.
[[gnu::noinline]] void Reached(int line) {
  static volatile int sink;
  sink = line;
}
#define FUZZ_REACHED(cond)            \
  do {                                \
    if (cond) Reached(__LINE__);      \
  } while (0)

class Milestones {
 public:
  void Step(const Ref& ref, Ref::Kind kind, const std::string& envelope) {
    v1::SignedEntry se;
    v1::Entry e;
    if (!se.ParseFromString(envelope) || !e.ParseFromString(se.entry()) || e.author() > 1) return;
    const uint32_t a = e.author(), o = 1 - a;
    const uint64_t seen = e.has_seen() ? e.seen().seq() : 0;
    const bool stored = kind == Ref::Kind::kStored;
    const auto& own = ref.rotations(a);
    const auto& theirs = ref.rotations(o);
    const bool pending = !own.empty() && own.back().acknowledged_by == 0;
    FUZZ_REACHED(!own.empty());
    FUZZ_REACHED(own.size() >= 2);
    FUZZ_REACHED(pending && ref.feed(a).size() > own.back().seq);
    FUZZ_REACHED(stored && ref.KeyFor(a, e.seq(), seen) != ref.charter_key(a));
    FUZZ_REACHED(stored && !theirs.empty() && theirs.back().acknowledged_by == e.seq());
    FUZZ_REACHED(stored && e.has_rotate_key() && e.rotate_key().compromised_from_seq() != 0);
    FUZZ_REACHED(kind == Ref::Kind::kRefused && !own.empty());
    if (kind == Ref::Kind::kFork) {
      FUZZ_REACHED(!own.empty());
      FUZZ_REACHED(pending);
      FUZZ_REACHED(seen > ref.feed(o).size());
      FUZZ_REACHED(pending && e.seq() > own.back().seq);
      if (pending && e.seq() > own.back().seq && seen > ref.feed(o).size()) {
        Reached(__LINE__);
        fork_beyond_[a] = true;
      }
    }
    FUZZ_REACHED(fork_beyond_[o] && stored && !theirs.empty() && theirs.back().acknowledged_by == e.seq());
    if (!stored) return;
    const std::string id = Hash(kEntryDomain, se.entry()).str();
    if (e.has_propose()) {
      v1::Terms t;
      if (t.ParseFromString(e.propose().terms())) proposals_[id] = {a, e.propose().terms(), t};
    }
    if (e.has_accept()) {
      auto it = proposals_.find(e.accept().proposal());
      if (it != proposals_.end() && it->second.author != a &&
          TermsDigest(it->second.terms_bytes).view() == e.accept().terms_digest()) {
        Reached(__LINE__);
        agreements_.insert(it->first);
      }
    }
    if (e.has_handover() || e.has_receipt()) {
      const bool h = e.has_handover();
      const std::string& agreement = h ? e.handover().agreement() : e.receipt().agreement();
      const uint32_t index = h ? e.handover().transfer_index() : e.receipt().transfer_index();
      if (!agreements_.count(agreement)) return;
      const v1::Terms& terms = proposals_[agreement].terms;
      if (static_cast<int>(index) >= terms.transfers_size()) return;
      const auto& tr = terms.transfers(static_cast<int>(index));
      if (a != (h ? tr.from_party() : tr.to_party())) return;
      Total& t = totals_[{agreement, uint64_t{index} * 2 + h}];
      const uint64_t count = h ? e.handover().count() : e.receipt().count();
      const bool wrapped = t.sum + count < t.sum;
      t.sum += count;
      ++t.reports;
      FUZZ_REACHED(true);
      FUZZ_REACHED(t.reports >= 2);
      FUZZ_REACHED(t.reports >= 2 && t.sum >= (1ull << 63));
      FUZZ_REACHED(t.reports >= 2 && wrapped);
    }
  }

 private:
  struct Total {
    uint64_t sum = 0;
    int reports = 0;
  };
  struct StoredProposal {
    uint32_t author = 0;
    std::string terms_bytes;
    v1::Terms terms;
  };
  bool fork_beyond_[2] = {false, false};
  std::map<std::string, StoredProposal> proposals_;  // by ID
  std::set<std::string> agreements_;                  // accepted proposals (approximately)
  std::map<std::pair<std::string, uint64_t>, Total> totals_;
};

std::string Describe(const std::string& envelope) {
  v1::SignedEntry se;
  v1::Entry e;
  if (!se.ParseFromString(envelope) || !e.ParseFromString(se.entry())) return "(unparsable envelope)";
  return "entry author=" + std::to_string(e.author()) + " seq=" + std::to_string(e.seq()) + " body=" +
         KindName(e.body_case()) + "\n  " + e.ShortDebugString();
}

// The ledger's key schedule (§5.1) equals the reference's: same rotations
// (seq, new key, compromised_from, acknowledging seq), in order, per party.
std::string ScheduleDiff(const std::vector<KeyRotation>& got, const std::vector<Ref::Rotation>& want) {
  auto show = [](uint64_t seq, const PublicKey& k, uint64_t c, uint64_t ack) {
    return "{seq " + std::to_string(seq) + ", key " + ToHex(k).substr(0, 12) + ", compromised_from " +
           std::to_string(c) + ", acknowledged_by " + std::to_string(ack) + "}";
  };
  std::string g, w;
  for (const KeyRotation& r : got) g += show(r.seq, r.new_key, r.compromised_from, r.acknowledged_by);
  for (const Ref::Rotation& r : want) w += show(r.seq, r.new_key, r.compromised_from, r.acknowledged_by);
  return g == w ? std::string() : "code under test: [" + g + "], reference: [" + w + "]";
}

void CheckSchedule(const KeySchedule& schedule, const Ref& ref, const std::string& context) {
  for (PartyIndex p = 0; p < 2; ++p) {
    const std::string diff = ScheduleDiff(schedule.rotations(p), ref.rotations(p));
    FUZZ_CHECK(diff.empty(), "key schedule of party " + std::to_string(p) + " differs: " + diff + "\n" + context);
  }
}

// Per-transfer sums of an agreement equal the sums of the reports it lists.
void CheckSums(const LedgerState& state, const std::map<Digest, const DecodedEntry*>& by_id) {
  for (const Proposal& p : state.proposals) {
    if (!p.agreement) continue;
    for (const TransferProgress& t : p.agreement->transfers) {
      unsigned __int128 handed = 0, received = 0;
      for (const StatementRef& r : t.handovers) handed += by_id.at(r.id)->entry.handover().count();
      for (const StatementRef& r : t.receipts) received += by_id.at(r.id)->entry.receipt().count();
      FUZZ_CHECK(handed == t.handed_over && received == t.received,
                 "agreement " + ToHex(p.id).substr(0, 12) + ": transfer totals wrapped around 2^64: handed_over=" +
                     std::to_string(t.handed_over) + " (reports sum to " +
                     (handed > UINT64_MAX ? std::string("more than 2^64") : std::to_string(static_cast<uint64_t>(handed))) +
                     "), received=" + std::to_string(t.received) + " (reports sum to " +
                     (received > UINT64_MAX ? std::string("more than 2^64") : std::to_string(static_cast<uint64_t>(received))) +
                     "); agreement state " + AgreementStateName(p.agreement->state));
    }
  }
}

void CheckState(Ledger& ledger, const Ref& ref, uint64_t forks_seen, int64_t now_ms) {
  const Charter& charter = ledger.charter();
  std::vector<DecodedEntry> feeds[2];
  for (PartyIndex p = 0; p < 2; ++p) {
    const FeedHead head = ledger.Head(p);
    const auto& rf = ref.feed(p);
    FUZZ_CHECK(head.seq == rf.size(), "head of party " + std::to_string(p) + " is " + std::to_string(head.seq) +
                                          ", reference holds " + std::to_string(rf.size()));
    FUZZ_CHECK(ledger.frozen(p) == ref.frozen(p), "frozen flag of party " + std::to_string(p));
    auto read = ledger.Read(p, 1, 1000);
    FUZZ_CHECK(read.has_value(), read.status().ToString());
    feeds[p] = std::move(*read);
    FUZZ_CHECK(feeds[p].size() == rf.size(), "Read returned a different number of entries");
    for (size_t i = 0; i < rf.size(); ++i) {
      FUZZ_CHECK(feeds[p][i].envelope == rf[i].envelope, "stored envelope differs from the one ingested");
      FUZZ_CHECK(feeds[p][i].id.view() == rf[i].id, "stored id differs");
    }
    if (!rf.empty()) FUZZ_CHECK(head.id.view() == rf.back().id, "head id differs");
  }
  auto forks = ledger.Forks();
  FUZZ_CHECK(forks.has_value(), forks.status().ToString());
  FUZZ_CHECK(forks->size() == forks_seen, "stored fork proofs: " + std::to_string(forks->size()) +
                                              ", distinct forks ingested: " + std::to_string(forks_seen));

  LedgerState a = ComputeState(feeds[0], feeds[1], now_ms);
  LedgerState b = ComputeState(feeds[0], feeds[1], now_ms);
  const std::string rendered = a.Render(charter);
  FUZZ_CHECK(rendered == b.Render(charter), "ComputeState is not deterministic");
  const std::string json = StateJson(charter, a).dump();
  FUZZ_CHECK(json == StateJson(charter, b).dump(), "StateJson is not deterministic");
  auto list = RenderList(charter, a);
  FUZZ_CHECK(list.has_value(), list.status().ToString());
  std::map<Digest, const DecodedEntry*> by_id;
  for (const auto& f : feeds) {
    for (const DecodedEntry& e : f) by_id[e.id] = &e;
  }
  CheckSums(a, by_id);
  for (size_t i = 0; i < a.proposals.size() && i < 4; ++i) {
    auto show = RenderShow(charter, a, feeds[0], feeds[1], a.proposals[i].id);
    FUZZ_CHECK(show.has_value(), show.status().ToString());
    auto show_json = ShowJson(charter, a, feeds[0], feeds[1], a.proposals[i].id);
    FUZZ_CHECK(show_json.has_value(), show_json.status().ToString());
    (void)show_json->dump();
  }

  // The same feeds through an export bundle and the auditor.
  static MemFile file;
  auto writer = BundleWriter::Create(file.path(), charter, "UA", now_ms);
  FUZZ_CHECK(writer.has_value(), writer.status().ToString());
  size_t next[2] = {0, 0};
  auto source = [&](PartyIndex p) -> EnvelopeSource {
    return [&, p]() -> Result<std::optional<std::string>> {
      if (next[p] >= feeds[p].size()) return std::optional<std::string>();
      return std::optional<std::string>(feeds[p][next[p]++].envelope);
    };
  };
  FUZZ_CHECK(WriteFeedsInCausalOrder(**writer, source(0), source(1)).ok(), "WriteFeedsInCausalOrder");
  for (const StoredFork& f : *forks) FUZZ_CHECK((*writer)->AddForkProof(f.proof).ok(), "AddForkProof");
  FUZZ_CHECK((*writer)->Finish().ok(), "BundleWriter::Finish");
  AuditOptions options;
  options.now_ms = now_ms;
  options.threads = 1;
  auto report = AuditBundle(file.path(), options);
  FUZZ_CHECK(report.has_value(), "audit of a bundle of stored feeds failed: " + report.status().ToString());
  std::string first_violation;
  for (const AuditFinding& f : report->findings) {
    if (f.kind == "violation" && first_violation.empty()) first_violation = f.where + ": " + f.what;
  }
  FUZZ_CHECK(report->Count("violation") == 0, "audit finds a violation in feeds the ledger stored: " + first_violation);
  // Count: findings beyond the first kMaxFindingsPerKind of a kind are only counted.
  FUZZ_CHECK(report->Count("fork") == forks->size(), "audit fork findings differ from stored fork proofs");
  FUZZ_CHECK(report->entries[0] == feeds[0].size() && report->entries[1] == feeds[1].size(),
             "audit verified a different number of entries");
  FUZZ_CHECK(report->state.Render(charter) == rendered,
             "audit state differs from ComputeState:\n--- audit\n" + report->state.Render(charter) +
                 "--- ComputeState\n" + rendered);
  std::vector<KeyRotation> audited[2];
  for (const AuditKeyRotation& r : report->key_rotations) {
    FUZZ_CHECK(r.party <= 1, "audit key rotation of party " + std::to_string(r.party));
    audited[r.party].push_back(r.rotation);
  }
  for (PartyIndex p = 0; p < 2; ++p) {
    const std::string diff = ScheduleDiff(audited[p], ref.rotations(p));
    FUZZ_CHECK(diff.empty(), "audit key_rotations of party " + std::to_string(p) + " differ: " + diff);
  }
  (void)RenderAudit(*report);
  (void)AuditJson(*report).dump();
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  parley::fuzz::FuzzInit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  using fuzz::Ref;
  FuzzedDataProvider fdp(data, size);
  const Charter& charter = test::TheCharter();
  auto ledger = Ledger::Open(NewMemoryStore(), charter.signed_bytes(), LedgerOptions{});
  FUZZ_CHECK(ledger.has_value(), ledger.status().ToString());
  std::vector<PublicKey> observers;
  for (const CharterObserver& o : charter.observers()) observers.push_back(o.key);
  Ref ref(charter.ledger_id().str(), {charter.party_key(0), charter.party_key(1)}, observers);
  fuzz::Generator gen(fdp, ref);
  fuzz::Milestones milestones;
  // PARLEY_FUZZ_TRACE=1: print every step (to read a reproducer).
  static const bool trace = std::getenv("PARLEY_FUZZ_TRACE") != nullptr;
  std::set<std::string> forks;  // IDs of the second entries of fork proofs

  const int steps = fdp.ConsumeIntegralInRange(1, fuzz::kMaxSteps);
  for (int i = 0; i < steps && fdp.remaining_bytes() > 0; ++i) {
    const auto op = fdp.ConsumeIntegralInRange(0, 3) != 0 ? fuzz::Op::kValid : fdp.ConsumeEnum<fuzz::Op>();
    const std::string envelope = gen.Next(op);
    Result<IngestOutcome> got = (*ledger)->Ingest(envelope);
    const Ref::Outcome want = ref.Ingest(envelope);
    gen.Remember(envelope);
    milestones.Step(ref, want.kind, envelope);
    const std::string context = "step " + std::to_string(i) + " op " + std::to_string(static_cast<int>(op)) +
                                ": ledger says " + fuzz::OutcomeName(got) +
                                (got ? "" : " (" + got.error().ToString() + ")") + ", reference says " +
                                fuzz::RefName(want.kind) + (want.violation.empty() ? "" : " (" + want.violation + ": " + want.detail + ")") +
                                "\n  " + fuzz::Describe(envelope);
    if (trace) {
      // Which of the author's keys the reference says signs it (0 = charter key).
      v1::SignedEntry se;
      v1::Entry e;
      size_t key_index = 0;
      if (se.ParseFromString(envelope) && e.ParseFromString(se.entry()) && e.author() <= 1) {
        const PublicKey& k = ref.KeyFor(e.author(), e.seq(), e.has_seen() ? e.seen().seq() : 0);
        for (size_t r = 0; r < ref.rotations(e.author()).size(); ++r) {
          if (ref.rotations(e.author())[r].new_key == k) key_index = r + 1;
        }
      }
      std::fprintf(stderr, "%s\n  key in effect: #%zu\n", context.c_str(), key_index);
    }
    fuzz::CheckSchedule(*(*ledger)->key_schedule(), ref, context);
    if (!got) {
      FUZZ_CHECK(got.error().code() == Code::kRejected, context);
      auto v = ViolationOf(got.error());
      FUZZ_CHECK(v.has_value(), context);
      FUZZ_CHECK(want.kind == Ref::Kind::kRefused && want.violation == ViolationName(*v), context);
      continue;
    }
    switch (*got) {
      case IngestOutcome::kStored: FUZZ_CHECK(want.kind == Ref::Kind::kStored, context); break;
      case IngestOutcome::kDuplicate: FUZZ_CHECK(want.kind == Ref::Kind::kDuplicate, context); break;
      case IngestOutcome::kFork:
      {
        FUZZ_CHECK(want.kind == Ref::Kind::kFork, context);
        std::string id;
        (void)ref.Stage1(envelope, nullptr, &id);
        forks.insert(id);
        break;
      }
    }
  }
  const int64_t now_ms = test::kT0 + fdp.ConsumeIntegralInRange<int64_t>(-86400000, 60 * 86400000ll);
  fuzz::CheckState(**ledger, ref, forks.size(), now_ms);
  return 0;
}
