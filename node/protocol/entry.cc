#include "node/protocol/entry.h"

#include <algorithm>
#include <tuple>

#include "crypto/hash.h"
#include "node/base/text.h"
#include "crypto/endian.h"

namespace parley {
namespace {

constexpr const char* kViolationNames[] = {
    "oversized",      "malformed",      "wrong-ledger",   "unknown-author",
    "bad-signature",  "bad-body",       "seq-gap",        "wrong-prev",
    "time-backwards", "seen-backwards", "seen-mismatch",  "bad-reference",
    "feed-frozen",    "rotation-pending",
};
constexpr int kViolationCount = sizeof(kViolationNames) / sizeof(kViolationNames[0]);

Status BadBody(const std::string& detail) { return Rejection(Violation::kBadBody, detail); }

bool IsId(const std::string& b) { return b.size() == Digest::kSize; }

// The text rule and the field's size limit (§5.2).
Status CheckText(std::string_view field, const std::string& value, size_t max_bytes) {
  if (auto why = CheckTextField(field, value, max_bytes)) return BadBody(*why);
  return Status::Ok();
}
bool IsOptionalId(const std::string& b) { return b.empty() || IsId(b); }

Status CheckManifest(const v1::ManifestCommitment& m, const std::string& where) {
  if (!IsId(m.root())) return BadBody(where + ".manifest.root must be 32 bytes");
  if (m.count() == 0) return BadBody(where + ".manifest.count must be at least 1");
  return Status::Ok();
}

Status CheckTerms(const v1::Propose& p) {
  v1::Terms terms;
  if (!terms.ParseFromString(p.terms())) return BadBody("propose.terms is not a Terms message");
  if (terms.transfers_size() == 0) return BadBody("propose.terms has no transfers");
  for (int i = 0; i < terms.transfers_size(); ++i) {
    const auto& t = terms.transfers(i);
    std::string where = "propose.terms.transfers[" + std::to_string(i) + "]";
    if (t.from_party() > 1 || t.to_party() > 1 || t.from_party() == t.to_party()) {
      return BadBody(where + " must go from one party (0 or 1) to the other");
    }
    if (t.category() == v1::CATEGORY_UNSPECIFIED || !v1::Category_IsValid(t.category())) {
      return BadBody(where + ".category is not set");
    }
    if (t.count() == 0) return BadBody(where + ".count must be at least 1");
    if (t.has_manifest()) {
      if (Status s = CheckManifest(t.manifest(), where); !s.ok()) return s;
      if (t.manifest().count() != t.count()) {
        return BadBody(where + ".manifest.count " + std::to_string(t.manifest().count()) +
                       " differs from count " + std::to_string(t.count()));
      }
    }
  }
  if (terms.transport() == v1::TRANSPORT_UNSPECIFIED || !v1::Transport_IsValid(terms.transport())) {
    return BadBody("propose.terms.transport is not set");
  }
  if (!terms.has_window()) return BadBody("propose.terms.window is not set");
  for (const auto& [field, value, max] : {std::tuple{"propose.terms.crossing_point", &terms.crossing_point(), kMaxNameBytes},
                                          std::tuple{"propose.terms.intermediary", &terms.intermediary(), kMaxNameBytes},
                                          std::tuple{"propose.terms.notes", &terms.notes(), kMaxTextBytes}}) {
    if (Status s = CheckText(field, *value, max); !s.ok()) return s;
  }
  if (terms.window().end_ms() < terms.window().start_ms()) {
    return BadBody("propose.terms.window ends before it starts");
  }
  return Status::Ok();
}

Status CheckBody(const v1::Entry& e, const Charter& charter) {
  switch (e.body_case()) {
    case v1::Entry::BODY_NOT_SET:
      return BadBody("entry has no body");
    case v1::Entry::kPropose: {
      const auto& p = e.propose();
      if (p.kind() == v1::EXCHANGE_KIND_UNSPECIFIED || !v1::ExchangeKind_IsValid(p.kind())) {
        return BadBody("propose.kind is not set");
      }
      if (!IsOptionalId(p.counters())) return BadBody("propose.counters must be empty or 32 bytes");
      if (!IsOptionalId(p.amends())) return BadBody("propose.amends must be empty or 32 bytes");
      if (!p.counters().empty() && !p.amends().empty()) {
        return BadBody("propose cannot both counter a proposal and amend an agreement");
      }
      if (p.expires_ms() < 0) return BadBody("propose.expires_ms is negative");
      return CheckTerms(p);
    }
    case v1::Entry::kAccept:
      if (!IsId(e.accept().proposal())) return BadBody("accept.proposal must be 32 bytes");
      if (!IsId(e.accept().terms_digest())) return BadBody("accept.terms_digest must be 32 bytes");
      return Status::Ok();
    case v1::Entry::kReject:
      if (!IsId(e.reject().proposal())) return BadBody("reject.proposal must be 32 bytes");
      return CheckText("reject.reason", e.reject().reason(), kMaxTextBytes);
    case v1::Entry::kWithdraw:
      if (!IsId(e.withdraw().proposal())) return BadBody("withdraw.proposal must be 32 bytes");
      return CheckText("withdraw.reason", e.withdraw().reason(), kMaxTextBytes);
    case v1::Entry::kCancel:
      if (!IsId(e.cancel().agreement())) return BadBody("cancel.agreement must be 32 bytes");
      return CheckText("cancel.reason", e.cancel().reason(), kMaxTextBytes);
    case v1::Entry::kHandover: {
      const auto& h = e.handover();
      if (!IsId(h.agreement())) return BadBody("handover.agreement must be 32 bytes");
      if (h.count() == 0) return BadBody("handover.count must be at least 1");
      if (Status s = CheckText("handover.place", h.place(), kMaxNameBytes); !s.ok()) return s;
      if (h.has_manifest()) return CheckManifest(h.manifest(), "handover");
      return Status::Ok();
    }
    case v1::Entry::kReceipt: {
      const auto& r = e.receipt();
      if (!IsId(r.agreement())) return BadBody("receipt.agreement must be 32 bytes");
      if (Status s = CheckText("receipt.place", r.place(), kMaxNameBytes); !s.ok()) return s;
      if (r.has_manifest()) return CheckManifest(r.manifest(), "receipt");
      return Status::Ok();
    }
    case v1::Entry::kAttestation:
      if (e.attestation().what().empty()) return BadBody("attestation.what is empty");
      if (Status s = CheckText("attestation.what", e.attestation().what(), kMaxTextBytes); !s.ok()) return s;
      if (Status s = CheckText("attestation.where", e.attestation().where(), kMaxNameBytes); !s.ok()) return s;
      if (!IsOptionalId(e.attestation().reference())) {
        return BadBody("attestation.reference must be empty or 32 bytes");
      }
      return Status::Ok();
    case v1::Entry::kStatement:
      if (e.statement().text().empty()) return BadBody("statement.text is empty");
      if (Status s = CheckText("statement.text", e.statement().text(), kMaxTextBytes); !s.ok()) return s;
      if (!IsOptionalId(e.statement().reference())) {
        return BadBody("statement.reference must be empty or 32 bytes");
      }
      return Status::Ok();
    case v1::Entry::kRotateKey: {
      const auto& r = e.rotate_key();
      auto key = PublicKey::FromBytes(r.new_public_key());
      auto sig = Signature::FromBytes(r.new_key_signature());
      if (!key || !sig) return BadBody("rotate_key needs a 32-byte key and a 64-byte signature");
      if (*key == charter.party_key(e.author())) return BadBody("rotate_key.new_public_key is the current key");
      if (!Verify(*key, kRotateDomain, RotateKeyMessage(e.ledger_id(), e.author(), *key), *sig)) {
        return BadBody("rotate_key.new_key_signature does not verify under the new key");
      }
      if (r.compromised_from_seq() > e.seq()) {
        return BadBody("rotate_key.compromised_from_seq is after this entry");
      }
      return Status::Ok();
    }
    case v1::Entry::kDisclose: {
      const auto& d = e.disclose();
      if (!d.has_manifest()) return BadBody("disclose.manifest is not set");
      if (Status s = CheckManifest(d.manifest(), "disclose"); !s.ok()) return s;
      if (d.to_party() > 1 || d.to_party() == e.author()) {
        return BadBody("disclose.to_party must be the other party (" + std::to_string(1 - e.author()) + "), not " +
                       std::to_string(d.to_party()));
      }
      return Status::Ok();
    }
  }
  return BadBody("unknown body kind");
}

}  // namespace

Status CheckEntryBody(const v1::Entry& entry, const Charter& charter) { return CheckBody(entry, charter); }

const char* ViolationName(Violation v) { return kViolationNames[static_cast<int>(v)]; }

Status Rejection(Violation v, const std::string& detail) {
  return Status(Code::kRejected, std::string(ViolationName(v)) + ": " + detail);
}

std::optional<Violation> ViolationOf(const Status& status) {
  if (status.code() != Code::kRejected) return std::nullopt;
  const std::string& m = status.message();
  for (int i = 0; i < kViolationCount; ++i) {
    std::string prefix = std::string(kViolationNames[i]) + ":";
    if (m.compare(0, prefix.size(), prefix) == 0) return static_cast<Violation>(i);
  }
  return std::nullopt;
}

const char* KindName(v1::Entry::BodyCase kind) {
  switch (kind) {
    case v1::Entry::kPropose: return "propose";
    case v1::Entry::kAccept: return "accept";
    case v1::Entry::kReject: return "reject";
    case v1::Entry::kWithdraw: return "withdraw";
    case v1::Entry::kCancel: return "cancel";
    case v1::Entry::kHandover: return "handover";
    case v1::Entry::kReceipt: return "receipt";
    case v1::Entry::kAttestation: return "attestation";
    case v1::Entry::kStatement: return "statement";
    case v1::Entry::kRotateKey: return "rotate_key";
    case v1::Entry::kDisclose: return "disclose";
    case v1::Entry::BODY_NOT_SET: return "none";
  }
  return "unknown";
}

std::string KindWithArticle(v1::Entry::BodyCase kind) {
  const std::string name = KindName(kind);
  const bool vowel = std::string_view("aeiou").find(name[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + name;
}

Digest TermsDigest(std::string_view terms_bytes) { return Hash(kTermsDomain, terms_bytes); }

namespace {

std::string Label(const Charter& c, PartyIndex p, uint64_t seq) { return c.party_code(p) + "#" + std::to_string(seq); }

// Why a signature that fails under the scheduled key failed, when it verifies
// under another key of the author: a retired key, or a new key that is not
// yet in effect for the entry. Empty otherwise. Runs on failures only.
std::string WrongKeyDetail(const Charter& c, const KeySchedule& schedule, const v1::Entry& e,
                           std::string_view entry_bytes, const Signature& signature) {
  const PartyIndex a = e.author();
  const auto& rots = schedule.rotations(a);
  if (rots.empty()) return "";
  const uint64_t seen = e.has_seen() ? e.seen().seq() : 0;
  const size_t in_effect = schedule.RotationsInEffect(a, e.seq(), seen);
  for (size_t i = 0; i <= rots.size(); ++i) {
    if (i == in_effect) continue;
    const PublicKey& k = i == 0 ? schedule.charter_key(a) : rots[i - 1].new_key;
    if (!Verify(k, kEntryDomain, entry_bytes, signature)) continue;
    if (i < in_effect) {
      const KeyRotation& r = rots[i];
      return ": it is signed with a retired key (replaced by RotateKey " + Label(c, a, r.seq) + ", in effect since " +
             Label(c, 1 - a, r.acknowledged_by) + " acknowledged it)";
    }
    const KeyRotation& r = rots[in_effect];
    return ": it is signed with the new key of RotateKey " + Label(c, a, r.seq) +
           ", which is not in effect for it (" +
           (r.pending() ? c.party_code(1 - a) + " has not acknowledged the rotation"
                        : "the acknowledgement " + Label(c, 1 - a, r.acknowledged_by) +
                              " is not in its causal past: its seen is " + std::to_string(seen)) +
           ")";
  }
  return "";
}

}  // namespace

namespace {

// The header fields the signature check needs: whose key, in which ledger.
Status CheckLedgerAndAuthor(const v1::Entry& e, const Charter& charter) {
  if (e.ledger_id() != charter.ledger_id().view()) {
    return Rejection(Violation::kWrongLedger, "entry belongs to ledger " + ToHex(e.ledger_id()) +
                                                  ", this is " + ToHex(charter.ledger_id()));
  }
  if (e.author() > 1) {
    return Rejection(Violation::kUnknownAuthor,
                     "author " + std::to_string(e.author()) + " is not a party (0 or 1)");
  }
  return Status::Ok();
}

}  // namespace

Result<DecodedEntry> DecodeEntry(std::string_view envelope, const Charter& charter, const KeySchedule* schedule) {
  if (envelope.size() > kMaxEnvelopeBytes) {
    return Rejection(Violation::kOversized, std::to_string(envelope.size()) +
                                                " bytes exceeds the limit of " +
                                                std::to_string(kMaxEnvelopeBytes));
  }
  v1::SignedEntry signed_entry;
  if (!signed_entry.ParseFromArray(envelope.data(), static_cast<int>(envelope.size()))) {
    return Rejection(Violation::kMalformed, "not a SignedEntry (protobuf parse failed)");
  }
  auto signature = Signature::FromBytes(signed_entry.signature());
  if (!signature) {
    return Rejection(Violation::kMalformed, "signature is " +
                                                std::to_string(signed_entry.signature().size()) +
                                                " bytes, expected 64");
  }
  DecodedEntry out;
  if (!out.entry.ParseFromString(signed_entry.entry())) {
    return Rejection(Violation::kMalformed, "entry bytes are not an Entry (protobuf parse failed)");
  }
  const v1::Entry& e = out.entry;
  if (Status s = CheckLedgerAndAuthor(e, charter); !s.ok()) return s;
  const uint64_t seen_seq = e.has_seen() ? e.seen().seq() : 0;
  const PublicKey& key = schedule ? schedule->KeyFor(e.author(), e.seq(), seen_seq) : charter.party_key(e.author());
  if (!Verify(key, kEntryDomain, signed_entry.entry(), *signature)) {
    std::string detail = "signature of " + charter.party_code(e.author()) + " entry " + std::to_string(e.seq()) +
                         " does not verify";
    if (schedule) detail += WrongKeyDetail(charter, *schedule, e, signed_entry.entry(), *signature);
    return Rejection(Violation::kBadSignature, detail);
  }
  if (Status s = CheckEntryFields(e, charter); !s.ok()) return s;
  out.id = Hash(kEntryDomain, signed_entry.entry());
  out.envelope = std::string(envelope);
  return out;
}

Status CheckEntryFields(const v1::Entry& e, const Charter& charter) {
  if (e.seq() == 0) return Rejection(Violation::kMalformed, "seq is 0 (feeds start at 1)");
  if (!IsId(e.prev())) return Rejection(Violation::kMalformed, "prev must be 32 bytes");
  if (e.has_seen() && (e.seen().seq() == 0 || !IsId(e.seen().id()))) {
    return Rejection(Violation::kMalformed, "seen needs seq >= 1 and a 32-byte id");
  }
  return CheckBody(e, charter);
}

Status CheckSignable(const v1::Entry& entry, const Charter& charter) {
  if (Status s = CheckLedgerAndAuthor(entry, charter); !s.ok()) return s;
  if (Status s = CheckEntryFields(entry, charter); !s.ok()) return s;
  // The envelope's size does not depend on the signature's value: measure it
  // with a placeholder of the signature's fixed length.
  v1::SignedEntry envelope;
  envelope.set_entry(entry.SerializeAsString());
  envelope.set_signature(std::string(Signature::kSize, '\0'));
  const size_t size = envelope.ByteSizeLong();
  if (size > kMaxEnvelopeBytes) {
    return Rejection(Violation::kOversized, "the signed entry would be " + std::to_string(size) +
                                                " bytes; the limit is " + std::to_string(kMaxEnvelopeBytes));
  }
  return Status::Ok();
}

DecodedEntry SignEntry(const SecretKey& key, const v1::Entry& entry) {
  DecodedEntry out;
  std::string bytes = entry.SerializeAsString();
  v1::SignedEntry signed_entry;
  signed_entry.set_signature(Sign(key, kEntryDomain, bytes).str());
  out.id = Hash(kEntryDomain, bytes);
  out.entry = entry;
  signed_entry.set_entry(std::move(bytes));
  out.envelope = signed_entry.SerializeAsString();
  return out;
}

Result<std::array<std::vector<DecodedEntry>, 2>> DecodeFeeds(const Charter& charter,
                                                             const std::vector<std::string>& feed0,
                                                             const std::vector<std::string>& feed1,
                                                             KeySchedule* schedule_out) {
  const std::vector<std::string>* feeds[2] = {&feed0, &feed1};
  std::array<std::vector<DecodedEntry>, 2> out;
  out[0].reserve(feed0.size());
  out[1].reserve(feed1.size());
  KeySchedule schedule(charter);
  while (out[0].size() < feed0.size() || out[1].size() < feed1.size()) {
    bool progressed = false;
    for (PartyIndex p = 0; p < 2; ++p) {
      while (out[p].size() < feeds[p]->size()) {
        const std::string& envelope = (*feeds[p])[out[p].size()];
        // The header only, to know whether the other feed is far enough.
        v1::SignedEntry se;
        v1::Entry header;
        if (!se.ParseFromString(envelope) || !header.ParseFromString(se.entry())) {
          return Rejection(Violation::kMalformed, "entry " + std::to_string(out[p].size() + 1) + " of party " +
                                                      std::to_string(p) + " does not parse");
        }
        const uint64_t seen = header.has_seen() ? header.seen().seq() : 0;
        if (seen > out[1 - p].size()) break;  // after more of the other feed
        auto d = DecodeEntry(envelope, charter, &schedule);
        if (!d) return d.error();
        if (d->author() != p || d->seq() != out[p].size() + 1) {
          return Rejection(Violation::kSeqGap, "entry " + std::to_string(out[p].size() + 1) + " of party " +
                                                   std::to_string(p) + " is entry " + std::to_string(d->seq()) +
                                                   " of party " + std::to_string(d->author()));
        }
        schedule.Observe(d->entry);
        out[p].push_back(std::move(*d));
        progressed = true;
      }
    }
    if (!progressed) {
      return Rejection(Violation::kSeenMismatch, "the feeds' seen links name entries beyond the other feed");
    }
  }
  if (schedule_out) *schedule_out = std::move(schedule);
  return out;
}

std::string RotateKeyMessage(std::string_view ledger_id, PartyIndex author, const PublicKey& new_key) {
  std::string msg(ledger_id);
  AppendLittleEndian32(msg, author);
  msg += new_key.view();
  return msg;
}

v1::Entry RotateKeyBody(const Charter& charter, PartyIndex author, const SecretKey& new_key,
                        uint64_t compromised_from) {
  v1::Entry body;
  auto* r = body.mutable_rotate_key();
  r->set_new_public_key(new_key.public_key().str());
  r->set_new_key_signature(
      Sign(new_key, kRotateDomain, RotateKeyMessage(charter.ledger_id().view(), author, new_key.public_key())).str());
  r->set_compromised_from_seq(compromised_from);
  return body;
}

KeySchedule::KeySchedule(const Charter& charter) {
  initial_[0] = charter.party_key(0);
  initial_[1] = charter.party_key(1);
  for (const CharterObserver& o : charter.observers()) observers_.push_back(o.key);
}

size_t KeySchedule::RotationsInEffect(PartyIndex author, uint64_t seq, uint64_t seen_seq) const {
  const auto& rots = rotations_[author];
  size_t n = 0;
  while (n < rots.size() && !rots[n].pending() && seq > rots[n].seq && seen_seq >= rots[n].acknowledged_by) ++n;
  return n;
}

const PublicKey& KeySchedule::KeyFor(PartyIndex author, uint64_t seq, uint64_t seen_seq) const {
  if (rotations_[author].empty()) return initial_[author];  // the fast path: no rotation
  const size_t n = RotationsInEffect(author, seq, seen_seq);
  return n == 0 ? initial_[author] : rotations_[author][n - 1].new_key;
}

const KeyRotation* KeySchedule::pending(PartyIndex p) const {
  if (rotations_[p].empty() || !rotations_[p].back().pending()) return nullptr;
  return &rotations_[p].back();
}

std::optional<size_t> KeySchedule::HistoryIndex(PartyIndex p, const PublicKey& key) const {
  if (initial_[p] == key) return 0;
  for (size_t i = 0; i < rotations_[p].size(); ++i) {
    if (rotations_[p][i].new_key == key) return i + 1;
  }
  return std::nullopt;
}

std::optional<PartyIndex> KeySchedule::PartyOf(const PublicKey& key) const {
  for (PartyIndex p = 0; p < 2; ++p) {
    if (HistoryIndex(p, key)) return p;
  }
  return std::nullopt;
}

Status KeySchedule::CheckRotation(const v1::Entry& e) const {
  if (e.body_case() != v1::Entry::kRotateKey) return Status::Ok();
  const PartyIndex a = e.author();
  const std::string where = "entry " + std::to_string(e.seq()) + " of party " + std::to_string(a);
  const uint64_t seen = e.has_seen() ? e.seen().seq() : 0;
  const auto& r = e.rotate_key();
  if (!rotations_[a].empty()) {
    const KeyRotation& last = rotations_[a].back();
    if (last.pending() || seen < last.acknowledged_by) {
      return Rejection(Violation::kRotationPending,
                       where + ": the previous RotateKey (seq " + std::to_string(last.seq) +
                           ") is not yet in effect for this entry (" +
                           (last.pending() ? std::string("not acknowledged by the other party")
                                           : "its acknowledgement, seq " + std::to_string(last.acknowledged_by) +
                                                 " of the other party, is not in this entry's causal past") +
                           "); a party rotates again only after its previous rotation took effect");
    }
    if (r.compromised_from_seq() != 0 && r.compromised_from_seq() <= last.seq) {
      return Rejection(Violation::kBadBody, where + ": rotate_key.compromised_from_seq " +
                                                std::to_string(r.compromised_from_seq()) +
                                                " reaches back to the previous RotateKey (seq " +
                                                std::to_string(last.seq) + ")");
    }
  }
  const PublicKey key = *PublicKey::FromBytes(r.new_public_key());  // 32 bytes: checked in stage 1
  if (auto owner = PartyOf(key)) {
    return Rejection(Violation::kBadBody, where + ": rotate_key.new_public_key is already a key of party " +
                                              std::to_string(*owner) + " (keys are never reused)");
  }
  if (std::find(observers_.begin(), observers_.end(), key) != observers_.end()) {
    return Rejection(Violation::kBadBody, where + ": rotate_key.new_public_key is an observer's key");
  }
  return Status::Ok();
}

unsigned KeySchedule::Observe(const v1::Entry& e) {
  unsigned changed = 0;
  const PartyIndex a = e.author();
  const PartyIndex o = 1 - a;
  const uint64_t seen = e.has_seen() ? e.seen().seq() : 0;
  if (!rotations_[o].empty() && rotations_[o].back().pending() && seen >= rotations_[o].back().seq) {
    rotations_[o].back().acknowledged_by = e.seq();
    changed |= 1u << o;
  }
  if (e.body_case() == v1::Entry::kRotateKey) {
    KeyRotation r;
    r.seq = e.seq();
    r.new_key = *PublicKey::FromBytes(e.rotate_key().new_public_key());
    r.compromised_from = e.rotate_key().compromised_from_seq();
    rotations_[a].push_back(r);
    changed |= 1u << a;
  }
  if (changed) ++version_;
  return changed;
}

void KeySchedule::Restore(PartyIndex p, const KeyRotation& r) {
  rotations_[p].push_back(r);
  ++version_;
}

std::vector<CarriedManifest> ManifestCommitmentsOf(const v1::Entry& e) {
  std::vector<CarriedManifest> out;
  const PartyIndex author = e.author();
  switch (e.body_case()) {
    case v1::Entry::kPropose: {
      v1::Terms terms;
      if (!terms.ParseFromString(e.propose().terms())) break;
      for (int i = 0; i < terms.transfers_size(); ++i) {
        const v1::Transfer& t = terms.transfers(i);
        if (t.has_manifest()) {
          out.push_back({t.manifest(), t.from_party(), e.body_case(), "the proposal's transfer " + std::to_string(i)});
        }
      }
      break;
    }
    case v1::Entry::kHandover:
      if (e.handover().has_manifest()) out.push_back({e.handover().manifest(), author, e.body_case(), "a handover report"});
      break;
    case v1::Entry::kReceipt:
      if (e.receipt().has_manifest()) out.push_back({e.receipt().manifest(), 1 - author, e.body_case(), "a receipt report"});
      break;
    case v1::Entry::kDisclose:
      if (e.disclose().has_manifest()) out.push_back({e.disclose().manifest(), author, e.body_case(), "a disclosure"});
      break;
    default: break;
  }
  return out;
}

std::vector<BodyReference> ReferencesOf(const v1::Entry& e) {
  std::vector<BodyReference> refs;
  auto add = [&](std::string_view field, const std::string& bytes, bool proposal) {
    if (auto id = Digest::FromBytes(bytes)) refs.push_back({field, *id, proposal});
  };
  switch (e.body_case()) {
    case v1::Entry::kPropose:
      add("propose.counters", e.propose().counters(), true);
      add("propose.amends", e.propose().amends(), true);
      break;
    case v1::Entry::kAccept: add("accept.proposal", e.accept().proposal(), true); break;
    case v1::Entry::kReject: add("reject.proposal", e.reject().proposal(), true); break;
    case v1::Entry::kWithdraw: add("withdraw.proposal", e.withdraw().proposal(), true); break;
    case v1::Entry::kCancel: add("cancel.agreement", e.cancel().agreement(), true); break;
    case v1::Entry::kHandover: add("handover.agreement", e.handover().agreement(), true); break;
    case v1::Entry::kReceipt: add("receipt.agreement", e.receipt().agreement(), true); break;
    case v1::Entry::kAttestation: add("attestation.reference", e.attestation().reference(), false); break;
    case v1::Entry::kStatement: add("statement.reference", e.statement().reference(), false); break;
    case v1::Entry::kDisclose: break;  // names a manifest root, not an entry
    default: break;
  }
  return refs;
}

}  // namespace parley
