#include "node/protocol/verifier.h"

#include <algorithm>

#include "crypto/hash.h"

namespace parley {
namespace {

// Stage 2 (docs/PROTOCOL.md §4): may `e` be appended to its author's feed,
// given `index`? seq, prev (the ledger id for the first entry), time, seen,
// and that the body's references lie in the author's causal past and name
// the right kind of entry. REQUIRES: e passed CheckEntryFields.
Status CheckSuccessor(const v1::Entry& e, const Digest& ledger_id, const FeedIndex& index) {
  const PartyIndex author = e.author();
  const PartyIndex other = 1 - author;
  const FeedHead head = index.Head(author);
  const std::string where = "entry " + std::to_string(e.seq()) + " of party " + std::to_string(author);

  if (e.seq() != head.seq + 1) {
    return Rejection(Violation::kSeqGap, where + ": expected seq " + std::to_string(head.seq + 1));
  }
  const Digest& expected_prev = head.seq == 0 ? ledger_id : head.id;
  if (e.prev() != expected_prev.view()) {
    return Rejection(Violation::kWrongPrev,
                     where + ": prev " + ToHex(e.prev()).substr(0, 16) + "… is not " +
                         (head.seq == 0 ? std::string("the ledger id")
                                        : "the ID of entry " + std::to_string(head.seq)));
  }
  if (head.seq > 0 && e.time_ms() < head.time_ms) {
    return Rejection(Violation::kTimeBackwards,
                     where + ": time " + std::to_string(e.time_ms()) + " ms is before " +
                         std::to_string(head.time_ms) + " ms of entry " + std::to_string(head.seq));
  }
  const uint64_t seen_seq = e.has_seen() ? e.seen().seq() : 0;
  if (seen_seq < head.seen_seq) {
    return Rejection(Violation::kSeenBackwards,
                     where + ": seen seq " + std::to_string(seen_seq) + " is below " +
                         std::to_string(head.seen_seq) + " of entry " + std::to_string(head.seq));
  }
  if (e.has_seen()) {
    auto id = index.IdAt(other, seen_seq);
    if (!id) return id.error();
    if (!id->has_value() || (*id)->view() != e.seen().id()) {
      return Rejection(Violation::kSeenMismatch,
                       where + ": seen names entry " + std::to_string(seen_seq) +
                           " of the other feed, which " +
                           (id->has_value() ? "has a different ID" : "is not stored"));
    }
  }
  for (const BodyReference& ref : ReferencesOf(e)) {
    auto found = index.Find(ref.id);
    if (!found) return found.error();
    const std::string what = where + ": " + std::string(ref.field) + " " + ToHex(ref.id).substr(0, 16) + "…";
    if (!found->has_value()) {
      return Rejection(Violation::kBadReference, what + " is not a known entry");
    }
    const EntryRef& r = **found;
    bool in_past = (r.party == author && r.seq < e.seq()) || (r.party == other && r.seq <= seen_seq);
    if (!in_past) {
      return Rejection(Violation::kBadReference, what + " is not in the author's causal past");
    }
    if (ref.must_be_proposal && r.kind != v1::Entry::kPropose) {
      return Rejection(Violation::kBadReference,
                       what + " is " + KindWithArticle(r.kind) + ", not a proposal");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<DecodedEntry> FeedVerifier::Decode(std::string_view envelope, const KeySchedule* schedule) const {
  return DecodeEntry(envelope, charter_, schedule);
}

bool FeedVerifier::KeyChanged(const KeySchedule& used, const KeySchedule& now, const v1::Entry& e) {
  if (&used == &now) return false;
  const uint64_t seen = e.has_seen() ? e.seen().seq() : 0;
  return used.KeyFor(e.author(), e.seq(), seen) != now.KeyFor(e.author(), e.seq(), seen);
}

void FeedVerifier::Recheck(Result<DecodedEntry>& decoded, std::string_view envelope, const KeySchedule& used,
                           const KeySchedule& now) const {
  // Versions tell copies apart, not a schedule re-read from the store: the
  // keys themselves are compared.
  if (&used == &now) return;
  if (!decoded || KeyChanged(used, now, decoded->entry)) decoded = Decode(envelope, &now);
}

Result<FeedVerifier::Placement> FeedVerifier::Place(const DecodedEntry& e, const FeedView& view) const {
  const PartyIndex p = e.author();
  if (e.seq() <= view.Head(p).seq) {
    auto stored = view.IdAt(p, e.seq());
    if (!stored) return stored.error();
    if (!stored->has_value()) return Status(Code::kDataLoss, "entry below head is missing from the store");
    return **stored == e.id ? Placement::kDuplicate : Placement::kFork;
  }
  if (Status s = CheckNotFrozen(e.entry, view); !s.ok()) return s;
  return Placement::kNext;
}

Status FeedVerifier::CheckNotFrozen(const v1::Entry& e, const FeedView& view) const {
  if (!view.Frozen(e.author())) return Status::Ok();
  return Rejection(Violation::kFeedFrozen, "the feed of " + charter_.party_code(e.author()) +
                                               " is frozen by a fork proof; entry " + std::to_string(e.seq()) +
                                               " not accepted");
}

Status FeedVerifier::CheckNext(const v1::Entry& e, const FeedView& view, const KeySchedule& schedule) const {
  if (Status s = CheckSuccessor(e, charter_.ledger_id(), view); !s.ok()) return s;
  return schedule.CheckRotation(e);
}

Result<FeedVerifier::Placement> FeedVerifier::Verify(const DecodedEntry& e, const FeedView& view,
                                                     const KeySchedule& schedule) const {
  auto placed = Place(e, view);
  if (!placed || *placed != Placement::kNext) return placed;
  if (Status s = CheckNext(e.entry, view, schedule); !s.ok()) return s;
  return Placement::kNext;
}

Result<FeedVerifier::ForkAt> FeedVerifier::CheckForkProof(const v1::ForkProof& proof,
                                                           const KeySchedule& schedule) const {
  auto a = Decode(proof.first().SerializeAsString(), &schedule);
  auto b = Decode(proof.second().SerializeAsString(), &schedule);
  if (!a || !b) {
    return Status(Code::kRejected, "fork proof does not verify: " + (!a ? a.error().message() : b.error().message()));
  }
  if (a->author() != b->author() || a->seq() != b->seq() || a->id == b->id) {
    return Status(Code::kRejected, "fork proof is not two different entries at one seq of one feed");
  }
  return ForkAt{a->author(), a->seq()};
}

v1::Entry FeedVerifier::NextEntry(PartyIndex author, const v1::Entry& body, const FeedView& view,
                                  int64_t now_ms) const {
  const FeedHead head = view.Head(author);
  const FeedHead other = view.Head(1 - author);
  v1::Entry entry;
  entry.CopyFrom(body);
  entry.set_ledger_id(charter_.ledger_id().str());
  entry.set_author(author);
  entry.set_seq(head.seq + 1);
  entry.set_prev(head.seq == 0 ? charter_.ledger_id().str() : head.id.str());
  if (other.seq > 0) {
    entry.mutable_seen()->set_seq(other.seq);
    entry.mutable_seen()->set_id(other.id.str());
  } else {
    entry.clear_seen();
  }
  entry.set_time_ms(std::max(now_ms, head.time_ms));
  return entry;
}

Status FeedVerifier::CheckSignable(const v1::Entry& entry, const FeedView& view, const KeySchedule& schedule) const {
  if (Status s = parley::CheckSignable(entry, charter_); !s.ok()) return s;
  if (Status s = CheckNotFrozen(entry, view); !s.ok()) return s;
  return CheckNext(entry, view, schedule);
}

}  // namespace parley
