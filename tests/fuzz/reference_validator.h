// A small, independent reference for what a node stores: the structural
// rules of docs/PROTOCOL.md §4 (both stages, in the numbered order), the body
// rules of §5, the key schedule of §5.1 and the duplicate / fork / freeze
// rules of §6 — written from that document alone. It shares no code with
// node/protocol/entry.cc or node/ledger/ledger.cc: only the generated protobuf classes (to
// read fields) and the primitives H and Verify of crypto/ (PROTOCOL.md §1).
//
// fuzz_ingest feeds the same envelopes to a Ledger and to this class and
// requires the same outcome: stored, duplicate, fork, or refused with the
// same violation name.
//
// Readings of the document that are not spelled out word for word:
//   - "kind / category / transport set" (§5): a named, non-zero enum value.
//     An unknown number that proto3 keeps is not "set".
//   - "manifest as above" (§5): root exactly 32 bytes and count ≥ 1
//     (ledger.proto: "number of records (leaves), >= 1"); for a transfer also
//     count equal to the transfer's count.
//   - RotateKey's signed message uses the entry's ledger_id, which check 3
//     has already made equal to the charter's.
//   - Check 11 (time) only applies when the feed has a head; the first entry
//     of a feed may carry any time.
//   - §6 vs check 8: an entry at a seq the feed already holds is compared by
//     ID (duplicate or fork) even when the feed is frozen; §6 says a node
//     "that receives an entry at a seq it already holds compares IDs", and
//     §4's parenthesis on check 9 hands those entries to §6. Only entries
//     above the head meet check 8 ("feed-frozen").
//
// Key rotation (§5.1, checks 15–16):
//   - A RotateKey at seq r of party a names a new key K'. It is acknowledged
//     by the first entry of the other party whose seen.seq ≥ r (in storage
//     order, a causal order), and pending until then.
//   - The key that signs a's entry (seq s, seen.seq x) — check 5 — is K_n for
//     the largest n such that every rotation i ≤ n is acknowledged (by the
//     other party's entry b_i), s > r_i and x ≥ b_i; the charter key if n = 0.
//     Like the node, the reference applies this to an entry at a seq already
//     held (§6) with that entry's own seen, whether or not the other feed
//     holds it.
//   - Check 15 ("rotation-pending"): a's previous rotation is acknowledged
//     and x ≥ its acknowledgement's seq. Check 16 ("bad-body"): K' is no
//     charter key, no key either party rotated to, no observer's key, and
//     compromised_from_seq is 0 or above the previous rotation's seq.
//
// Thread safety: a value; not for concurrent use.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/hash.h"
#include "crypto/sign.h"
#include "crypto/types.h"
#include "parley/v1/ledger.pb.h"

namespace parley::fuzz {

class ReferenceValidator {
 public:
  enum class Kind { kStored, kDuplicate, kFork, kRefused };
  struct Outcome {
    Kind kind = Kind::kRefused;
    std::string violation;  // kRefused: the §4 name, e.g. "seq-gap"
    std::string detail;     // why, for failure messages
  };

  struct Stored {
    std::string envelope;
    std::string id;  // 32 bytes
    int64_t time_ms = 0;
    uint64_t seen_seq = 0;
    bool is_proposal = false;
  };

  struct Rotation {
    uint64_t seq = 0;               // r
    PublicKey new_key;              // K'
    uint64_t compromised_from = 0;
    uint64_t acknowledged_by = 0;   // 0 = pending
  };

  ReferenceValidator(std::string ledger_id, std::array<PublicKey, 2> party_keys,
                     std::vector<PublicKey> observer_keys = {})
      : ledger_id_(std::move(ledger_id)), keys_(party_keys), observers_(std::move(observer_keys)) {}

  // The key that must sign `author`'s entry at `seq` with seen.seq `seen`.
  const PublicKey& KeyFor(uint32_t author, uint64_t seq, uint64_t seen) const {
    const PublicKey* key = &keys_[author];
    for (const Rotation& r : rotations_[author]) {
      if (r.acknowledged_by == 0 || seq <= r.seq || seen < r.acknowledged_by) break;
      key = &r.new_key;
    }
    return *key;
  }
  const std::vector<Rotation>& rotations(uint32_t party) const { return rotations_[party]; }
  const PublicKey& charter_key(uint32_t party) const { return keys_[party]; }

  // §4 stage 1 (checks 1–7). On success, `entry` and `id` are filled.
  Outcome Stage1(std::string_view envelope, v1::Entry* entry = nullptr, std::string* id = nullptr) const {
    if (envelope.size() > 65536) return Refuse("oversized", "envelope > 65,536 bytes");
    v1::SignedEntry se;
    if (!se.ParseFromArray(envelope.data(), static_cast<int>(envelope.size()))) {
      return Refuse("malformed", "not a SignedEntry");
    }
    if (se.signature().size() != 64) return Refuse("malformed", "signature is not 64 bytes");
    v1::Entry e;
    if (!e.ParseFromString(se.entry())) return Refuse("malformed", "entry is not an Entry");
    if (e.ledger_id() != ledger_id_) return Refuse("wrong-ledger", "ledger_id differs");
    if (e.author() != 0 && e.author() != 1) return Refuse("unknown-author", "author not 0/1");
    Signature sig = *Signature::FromBytes(se.signature());
    const uint64_t seen_seq = e.has_seen() ? e.seen().seq() : 0;
    if (!Verify(KeyFor(e.author(), e.seq(), seen_seq), "parley/entry/v1", se.entry(), sig)) {
      return Refuse("bad-signature", "Verify failed");
    }
    if (e.seq() < 1) return Refuse("malformed", "seq < 1");
    if (e.prev().size() != 32) return Refuse("malformed", "prev not 32 bytes");
    if (e.has_seen() && (e.seen().seq() < 1 || e.seen().id().size() != 32)) {
      return Refuse("malformed", "seen needs seq >= 1 and a 32-byte id");
    }
    if (std::string why = BodyProblem(e); !why.empty()) return Refuse("bad-body", why);
    if (entry) *entry = std::move(e);
    if (id) *id = Hash("parley/entry/v1", se.entry()).str();
    return Outcome{Kind::kStored, "", ""};
  }

  // Stage 1, then §6 for a seq already held, then stage 2 (checks 8–14);
  // stores the entry when every check passes.
  Outcome Ingest(std::string_view envelope) {
    v1::Entry e;
    std::string id;
    Outcome s1 = Stage1(envelope, &e, &id);
    if (s1.kind != Kind::kStored) return s1;
    const uint32_t a = e.author();
    const uint32_t o = 1 - a;
    std::vector<Stored>& feed = feeds_[a];
    const std::vector<Stored>& other = feeds_[o];

    if (e.seq() <= feed.size()) {  // §6
      if (feed[e.seq() - 1].id == id) return Outcome{Kind::kDuplicate, "", ""};
      frozen_[a] = true;
      return Outcome{Kind::kFork, "", ""};
    }
    if (frozen_[a]) return Refuse("feed-frozen", "feed frozen by a fork proof");               // 8
    if (e.seq() != feed.size() + 1) return Refuse("seq-gap", "seq != head + 1");               // 9
    const std::string& want_prev = feed.empty() ? ledger_id_ : feed.back().id;
    if (e.prev() != want_prev) return Refuse("wrong-prev", "prev != head id");                 // 10
    if (!feed.empty() && e.time_ms() < feed.back().time_ms) {                                  // 11
      return Refuse("time-backwards", "time below head's");
    }
    const uint64_t seen = e.has_seen() ? e.seen().seq() : 0;
    if (!feed.empty() && seen < feed.back().seen_seq) {                                        // 12
      return Refuse("seen-backwards", "seen below head's");
    }
    if (e.has_seen()) {                                                                        // 13
      if (seen > other.size() || other[seen - 1].id != e.seen().id()) {
        return Refuse("seen-mismatch", "other feed holds no such entry");
      }
    }
    for (const auto& [bytes, must_be_proposal] : References(e)) {                              // 14
      auto it = by_id_.find(bytes);
      if (it == by_id_.end()) return Refuse("bad-reference", "unknown entry");
      const auto [party, seq] = it->second;
      const bool in_past = (party == a && seq < e.seq()) || (party == o && seq <= seen);
      if (!in_past) return Refuse("bad-reference", "not in the causal past");
      if (must_be_proposal && !feeds_[party][seq - 1].is_proposal) {
        return Refuse("bad-reference", "not a proposal");
      }
    }
    if (e.body_case() == v1::Entry::kRotateKey) {                                             // §5.1
      const v1::RotateKey& r = e.rotate_key();
      if (!rotations_[a].empty()) {
        const Rotation& last = rotations_[a].back();
        if (last.acknowledged_by == 0 || seen < last.acknowledged_by) {
          return Refuse("rotation-pending", "previous rotation not in effect");
        }
        if (r.compromised_from_seq() != 0 && r.compromised_from_seq() <= last.seq) {
          return Refuse("bad-body", "compromised_from_seq reaches the previous rotation");
        }
      }
      const PublicKey k = *PublicKey::FromBytes(r.new_public_key());
      for (uint32_t q = 0; q < 2; ++q) {
        if (k == keys_[q]) return Refuse("bad-body", "new key is a charter key");
        for (const Rotation& old : rotations_[q]) {
          if (k == old.new_key) return Refuse("bad-body", "new key was rotated to before");
        }
      }
      for (const PublicKey& o : observers_) {
        if (k == o) return Refuse("bad-body", "new key is an observer's");
      }
    }
    feed.push_back(Stored{std::string(envelope), id, e.time_ms(), seen,
                          e.body_case() == v1::Entry::kPropose});
    by_id_.emplace(id, std::make_pair(a, static_cast<uint64_t>(feed.size())));
    if (!rotations_[o].empty() && rotations_[o].back().acknowledged_by == 0 &&
        seen >= rotations_[o].back().seq) {
      rotations_[o].back().acknowledged_by = e.seq();
    }
    if (e.body_case() == v1::Entry::kRotateKey) {
      rotations_[a].push_back(Rotation{e.seq(), *PublicKey::FromBytes(e.rotate_key().new_public_key()),
                                       e.rotate_key().compromised_from_seq(), 0});
    }
    return Outcome{Kind::kStored, "", ""};
  }

  const std::vector<Stored>& feed(uint32_t party) const { return feeds_[party]; }
  bool frozen(uint32_t party) const { return frozen_[party]; }

  // The IDs a body references (§5, "references"), each with whether it must
  // name a Propose. Empty optional IDs reference nothing.
  static std::vector<std::pair<std::string, bool>> References(const v1::Entry& e) {
    std::vector<std::pair<std::string, bool>> out;
    auto add = [&](const std::string& b, bool proposal) {
      if (!b.empty()) out.emplace_back(b, proposal);
    };
    switch (e.body_case()) {
      case v1::Entry::kPropose: add(e.propose().counters(), true); add(e.propose().amends(), true); break;
      case v1::Entry::kAccept: add(e.accept().proposal(), true); break;
      case v1::Entry::kReject: add(e.reject().proposal(), true); break;
      case v1::Entry::kWithdraw: add(e.withdraw().proposal(), true); break;
      case v1::Entry::kCancel: add(e.cancel().agreement(), true); break;
      case v1::Entry::kHandover: add(e.handover().agreement(), true); break;
      case v1::Entry::kReceipt: add(e.receipt().agreement(), true); break;
      case v1::Entry::kAttestation: add(e.attestation().reference(), false); break;
      case v1::Entry::kStatement: add(e.statement().reference(), false); break;
      case v1::Entry::kDisclose: break;  // a manifest root, not an entry
      default: break;
    }
    return out;
  }

 private:
  static Outcome Refuse(const char* violation, std::string detail) {
    return Outcome{Kind::kRefused, violation, std::move(detail)};
  }

  static bool Id(const std::string& b) { return b.size() == 32; }
  static bool OptionalId(const std::string& b) { return b.empty() || b.size() == 32; }

  // §5.2: "" when `s` is at most `max` bytes of UTF-8 (RFC 3629) holding no
  // C0 control but TAB and LF, no DEL or C1 control, no bidi control (U+061C,
  // U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and no U+2028 / U+2029.
  static std::string TextProblem(const std::string& s, size_t max) {
    if (s.size() > max) return "text over its limit";
    size_t i = 0;
    while (i < s.size()) {
      const unsigned char b = static_cast<unsigned char>(s[i]);
      uint32_t cp;
      size_t n;
      if (b <= 0x7F) { cp = b; n = 1; }
      else if (b >= 0xC2 && b <= 0xDF) { cp = b & 0x1F; n = 2; }
      else if (b >= 0xE0 && b <= 0xEF) { cp = b & 0x0F; n = 3; }
      else if (b >= 0xF0 && b <= 0xF4) { cp = b & 0x07; n = 4; }
      else return "not UTF-8";
      if (i + n > s.size()) return "truncated UTF-8";
      for (size_t k = 1; k < n; ++k) {
        const unsigned char c = static_cast<unsigned char>(s[i + k]);
        if (c < 0x80 || c > 0xBF) return "not UTF-8";
        cp = (cp << 6) | (c & 0x3F);
      }
      if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return "overlong UTF-8";
      if (cp >= 0xD800 && cp <= 0xDFFF) return "surrogate";
      const bool control = (cp < 0x20 && cp != 0x09 && cp != 0x0A) || (cp >= 0x7F && cp <= 0x9F);
      const bool bidi = cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
                        (cp >= 0x2066 && cp <= 0x2069);
      if (control || bidi || cp == 0x2028 || cp == 0x2029) return "refused character";
      i += n;
    }
    return "";
  }
  static constexpr size_t kShortText = 512, kLongText = 16384;  // §5.2's table

  // "" when the manifest is well formed (§5 "as above").
  static std::string ManifestProblem(const v1::ManifestCommitment& m) {
    if (!Id(m.root())) return "manifest root not 32 bytes";
    if (m.count() < 1) return "manifest count 0";
    return "";
  }

  // §5 "well formed when", for the body of `e`; "" when it is.
  std::string BodyProblem(const v1::Entry& e) const {
    switch (e.body_case()) {
      case v1::Entry::kPropose: {
        const v1::Propose& p = e.propose();
        if (p.kind() != v1::REMAINS_TRANSFER && p.kind() != v1::PRISONER_EXCHANGE) return "propose kind";
        v1::Terms t;
        if (!t.ParseFromString(p.terms())) return "terms do not parse";
        if (t.transfers_size() < 1) return "no transfers";
        for (const v1::Transfer& tr : t.transfers()) {
          if (tr.from_party() > 1 || tr.to_party() > 1 || tr.from_party() == tr.to_party()) return "transfer parties";
          if (tr.category() != v1::REMAINS && tr.category() != v1::PRISONERS_OF_WAR &&
              tr.category() != v1::CIVILIAN_DETAINEES) {
            return "transfer category";
          }
          if (tr.count() < 1) return "transfer count";
          if (tr.has_manifest()) {
            if (std::string m = ManifestProblem(tr.manifest()); !m.empty()) return m;
            if (tr.manifest().count() != tr.count()) return "manifest count != transfer count";
          }
        }
        if (t.transport() < v1::ROAD || t.transport() > v1::OTHER) return "transport";
        if (!t.has_window() || t.window().end_ms() < t.window().start_ms()) return "window";
        for (const auto& [text, max] : {std::pair{&t.crossing_point(), kShortText},
                                        std::pair{&t.intermediary(), kShortText}, std::pair{&t.notes(), kLongText}}) {
          if (std::string why = TextProblem(*text, max); !why.empty()) return "terms: " + why;
        }
        if (!OptionalId(p.counters()) || !OptionalId(p.amends())) return "counters/amends length";
        if (!p.counters().empty() && !p.amends().empty()) return "counters and amends";
        if (p.expires_ms() < 0) return "expires_ms < 0";
        return "";
      }
      case v1::Entry::kAccept:
        if (!Id(e.accept().proposal()) || !Id(e.accept().terms_digest())) return "accept ids";
        return "";
      case v1::Entry::kReject: return Id(e.reject().proposal()) ? TextProblem(e.reject().reason(), kLongText) : "reject id";
      case v1::Entry::kWithdraw:
        return Id(e.withdraw().proposal()) ? TextProblem(e.withdraw().reason(), kLongText) : "withdraw id";
      case v1::Entry::kCancel: return Id(e.cancel().agreement()) ? TextProblem(e.cancel().reason(), kLongText) : "cancel id";
      case v1::Entry::kHandover:
        if (!Id(e.handover().agreement())) return "handover id";
        if (e.handover().count() < 1) return "handover count";
        if (std::string why = TextProblem(e.handover().place(), kShortText); !why.empty()) return why;
        return e.handover().has_manifest() ? ManifestProblem(e.handover().manifest()) : "";
      case v1::Entry::kReceipt:
        if (!Id(e.receipt().agreement())) return "receipt id";
        if (std::string why = TextProblem(e.receipt().place(), kShortText); !why.empty()) return why;
        return e.receipt().has_manifest() ? ManifestProblem(e.receipt().manifest()) : "";
      case v1::Entry::kAttestation:
        if (e.attestation().what().empty()) return "attestation what";
        if (std::string why = TextProblem(e.attestation().what(), kLongText); !why.empty()) return why;
        if (std::string why = TextProblem(e.attestation().where(), kShortText); !why.empty()) return why;
        return OptionalId(e.attestation().reference()) ? "" : "attestation reference";
      case v1::Entry::kStatement:
        if (e.statement().text().empty()) return "statement text";
        if (std::string why = TextProblem(e.statement().text(), kLongText); !why.empty()) return why;
        return OptionalId(e.statement().reference()) ? "" : "statement reference";
      case v1::Entry::kRotateKey: {
        const v1::RotateKey& r = e.rotate_key();
        if (r.new_public_key().size() != 32) return "new key length";
        if (r.new_public_key() == keys_[e.author()].view()) return "new key is the charter key";
        if (r.new_key_signature().size() != 64) return "new key signature length";
        std::string msg = e.ledger_id();
        for (int i = 0; i < 4; ++i) msg.push_back(static_cast<char>((e.author() >> (8 * i)) & 0xff));
        msg += r.new_public_key();
        if (!Verify(*PublicKey::FromBytes(r.new_public_key()), "parley/rotate/v1", msg,
                    *Signature::FromBytes(r.new_key_signature()))) {
          return "new key signature";
        }
        if (r.compromised_from_seq() > e.seq()) return "compromised_from_seq after entry";
        return "";
      }
      case v1::Entry::kDisclose:  // §5: a manifest as above; to_party the other party; references nothing
        if (!e.disclose().has_manifest()) return "disclose manifest missing";
        if (std::string m = ManifestProblem(e.disclose().manifest()); !m.empty()) return m;
        if (e.disclose().to_party() != 1 - e.author()) return "disclose to_party not the other party";
        return "";
      case v1::Entry::BODY_NOT_SET:
        return "no body";
    }
    return "unknown body";
  }

  std::string ledger_id_;
  std::array<PublicKey, 2> keys_;  // charter keys
  std::vector<PublicKey> observers_;
  std::vector<Rotation> rotations_[2];
  std::vector<Stored> feeds_[2];
  bool frozen_[2] = {false, false};
  std::map<std::string, std::pair<uint32_t, uint64_t>> by_id_;  // id -> (party, seq)
};

}  // namespace parley::fuzz
