// Entries: decoding, verifying and signing one party's statements.
//
// An entry travels and is stored as SignedEntry bytes (the "envelope"): the
// exact serialized Entry plus the author's Ed25519 signature over
// "parley/entry/v1" || entry. Its ID is BLAKE2b-256 of the same input.
//
// Validation happens in two stages, both pure:
//   1. DecodeEntry — context-free: size, parse, ledger, author, signature,
//      and that the body is well formed. The key a signature must verify
//      under is the charter's unless the author rotated its key: then a
//      KeySchedule derived from the stored feeds says which key signs which
//      entry (docs/PROTOCOL.md §5.1).
//   2. Stage 2 — against what is already stored (a FeedIndex): seq, prev,
//      time, seen, and that body references lie in the author's causal past
//      and point at the right kind of entry; then KeySchedule::CheckRotation
//      for RotateKey bodies. FeedVerifier (node/protocol/verifier.h) runs
//      the whole sequence for every path.
// Each failure is a Status with code kRejected whose message starts with the
// violation's name ("seq-gap: ..."), listed in docs/PROTOCOL.md.
//
// Thread safety: pure functions; DecodedEntry is a value.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sign.h"
#include "crypto/status.h"
#include "crypto/types.h"
#include "node/protocol/charter.h"
#include "parley/v1/ledger.pb.h"

namespace parley {

inline constexpr std::string_view kEntryDomain = "parley/entry/v1";
inline constexpr std::string_view kTermsDomain = "parley/terms/v1";
inline constexpr std::string_view kRotateDomain = "parley/rotate/v1";
// Largest SignedEntry accepted, in bytes.
inline constexpr size_t kMaxEnvelopeBytes = 64 * 1024;
// Largest free-text fields, in bytes (docs/PROTOCOL.md §5.2): names and
// places (crossing_point, intermediary, place, where), and longer text
// (notes, reason, what, statement text). Every such field must also keep the
// text rule (node/base/text.h).
inline constexpr size_t kMaxNameBytes = 512;
inline constexpr size_t kMaxTextBytes = 16 * 1024;

enum class Violation {
  kOversized,      // envelope larger than kMaxEnvelopeBytes
  kMalformed,      // not a SignedEntry / Entry, or a header field malformed
  kWrongLedger,    // ledger_id differs from this ledger's
  kUnknownAuthor,  // author is not a party of the charter
  kBadSignature,   // signature does not verify under the author's key
  kBadBody,        // body missing or not well formed
  kSeqGap,         // seq is not head + 1
  kWrongPrev,      // prev is not the ID of the author's previous entry
  kTimeBackwards,  // time_ms earlier than the author's previous entry
  kSeenBackwards,  // seen earlier than in the author's previous entry
  kSeenMismatch,   // seen names an entry the other feed does not hold
  kBadReference,   // body references an entry outside the causal past, or
                   // an entry of the wrong kind
  kFeedFrozen,     // the author's feed is frozen by a fork proof
  kRotationPending,  // a RotateKey while the author's previous rotation is
                     // not yet in effect for it
};

// Stable kebab-case name, e.g. "seq-gap".
const char* ViolationName(Violation v);
Status Rejection(Violation v, const std::string& detail);
// The violation a Status from this module names, if any.
std::optional<Violation> ViolationOf(const Status& status);

struct DecodedEntry {
  std::string envelope;  // SignedEntry bytes exactly as received or stored
  v1::Entry entry;       // parsed from the signed bytes (never re-serialized)
  Digest id;

  PartyIndex author() const { return entry.author(); }
  uint64_t seq() const { return entry.seq(); }
  int64_t time_ms() const { return entry.time_ms(); }
  v1::Entry::BodyCase kind() const { return entry.body_case(); }
};

class KeySchedule;

// Stage 1. Checks, in this order: size, envelope parse, signature length,
// entry parse, ledger, author, signature, header fields, body. The signature
// must verify under schedule->KeyFor(author, seq, seen.seq); without a
// schedule, under the author's charter key (right for any ledger without
// rotations). REQUIRES: `schedule`, if given, was built from `charter`.
Result<DecodedEntry> DecodeEntry(std::string_view envelope, const Charter& charter,
                                 const KeySchedule* schedule = nullptr);

// The context-free checks DecodeEntry applies after the signature: header
// fields (seq, prev, seen) and the body. Used before signing a new entry.
Status CheckEntryFields(const v1::Entry& entry, const Charter& charter);
// The body alone (§5), for a body not yet placed in an entry.
Status CheckEntryBody(const v1::Entry& entry, const Charter& charter);

// Stage 1 for an entry about to be signed: every check DecodeEntry makes of
// a signed envelope but the signature — ledger and author, CheckEntryFields,
// and that the envelope will not be oversized. FeedVerifier::CheckSignable
// runs it (with a frozen feed and stage 2) before a node signs, so that it
// never signs what a receiving node refuses.
Status CheckSignable(const v1::Entry& entry, const Charter& charter);

// Serializes `entry` (all header fields set by the caller), signs it and
// returns it decoded. Does not validate.
DecodedEntry SignEntry(const SecretKey& key, const v1::Entry& entry);

// The head of one feed as stage 2 needs it.
struct FeedHead {
  uint64_t seq = 0;        // 0 = empty feed
  Digest id;               // ID of entry `seq` (unset when empty)
  int64_t time_ms = 0;     // time of entry `seq`
  uint64_t seen_seq = 0;   // seen.seq of entry `seq` (0 = none)
};

struct EntryRef {
  PartyIndex party = 0;
  uint64_t seq = 0;
  v1::Entry::BodyCase kind = v1::Entry::BODY_NOT_SET;
};

// Read access to the entries stored so far. Implementations return an error
// Status only when the underlying storage fails.
class FeedIndex {
 public:
  virtual ~FeedIndex() = default;
  virtual FeedHead Head(PartyIndex party) const = 0;
  virtual Result<std::optional<EntryRef>> Find(const Digest& id) const = 0;
  virtual Result<std::optional<Digest>> IdAt(PartyIndex party, uint64_t seq) const = 0;
};

// Stage 2 (seq, prev, time, seen, references) is FeedVerifier::CheckNext
// (node/protocol/verifier.h), the one place that decides acceptance.

// --- Key rotation (docs/PROTOCOL.md §5.1) ---------------------------------

// One RotateKey of one party, as the feeds define it.
struct KeyRotation {
  uint64_t seq = 0;               // r: the RotateKey entry's seq in its author's feed
  PublicKey new_key;              // K'
  uint64_t compromised_from = 0;  // c: entries [c, r) declared compromised; 0 = none
  uint64_t acknowledged_by = 0;   // seq of the other party's first entry with
                                  // seen.seq >= r; 0 = not yet (pending)

  bool pending() const { return acknowledged_by == 0; }
};

// Which key signs which entry, per party: the charter key, then each
// rotation's new key for the author's entries after it that have its
// acknowledgement in their causal past (seq > r and seen.seq >= the
// acknowledging entry's seq). Built by observing stored entries in a causal
// order (each after its author's previous one and after the other feed's
// entry its seen names), as the Ledger and the auditor store them.
//
// Thread safety: a value; const methods may be called concurrently.
class KeySchedule {
 public:
  explicit KeySchedule(const Charter& charter);

  // The key that must sign `author`'s entry at `seq` whose seen.seq is
  // `seen_seq` (0 = no seen).
  const PublicKey& KeyFor(PartyIndex author, uint64_t seq, uint64_t seen_seq) const;
  // How many of `author`'s rotations are in effect for that entry (0: the
  // charter key signs it).
  size_t RotationsInEffect(PartyIndex author, uint64_t seq, uint64_t seen_seq) const;

  const PublicKey& charter_key(PartyIndex p) const { return initial_[p]; }
  const std::vector<KeyRotation>& rotations(PartyIndex p) const { return rotations_[p]; }
  // The party's last rotation if it is not yet acknowledged.
  const KeyRotation* pending(PartyIndex p) const;
  // True while no party has rotated: every key is the charter's.
  bool empty() const { return rotations_[0].empty() && rotations_[1].empty(); }
  // Increases with every change; equal versions of copies mean equal contents.
  uint64_t version() const { return version_; }

  // The party whose key history (charter key or any rotation's new key)
  // holds `key`; and the position in it (0 = charter key, i = rotation i-1).
  std::optional<PartyIndex> PartyOf(const PublicKey& key) const;
  std::optional<size_t> HistoryIndex(PartyIndex p, const PublicKey& key) const;

  // Stage 2 for RotateKey bodies (no-op for others): the author's previous
  // rotation must be in effect for `e` (rotation-pending); the new key must
  // be no party's or observer's key, past or present, and compromised_from_seq
  // must not reach back to the previous rotation (bad-body).
  // REQUIRES: e passed stage 1 and stage 2 (FeedVerifier::CheckNext runs it after them).
  Status CheckRotation(const v1::Entry& e) const;

  // Records a stored entry: a RotateKey adds a pending rotation; an entry
  // whose seen reaches the other party's pending rotation acknowledges it.
  // Returns a bit mask of the parties whose last rotation changed.
  // REQUIRES: e passed both stages; entries observed in a causal order.
  unsigned Observe(const v1::Entry& e);
  // Appends a rotation read back from storage. REQUIRES: in seq order.
  void Restore(PartyIndex p, const KeyRotation& r);

 private:
  PublicKey initial_[2];
  std::vector<PublicKey> observers_;
  std::vector<KeyRotation> rotations_[2];
  uint64_t version_ = 0;
};

// Stage 1 for two whole feeds read from elsewhere (each a party's envelopes
// from seq 1 in seq order, e.g. a client's ReadFeed of both feeds): decodes
// every entry under the key schedule the feeds define, taking them in a
// causal order, and returns them per party. Only the header checks the key
// schedule relies on are made beyond stage 1 (author and seq match the
// position; seen within the other feed); stage 2 is the source's job.
// `schedule`, if given, receives the schedule of the two feeds.
Result<std::array<std::vector<DecodedEntry>, 2>> DecodeFeeds(const Charter& charter,
                                                             const std::vector<std::string>& feed0,
                                                             const std::vector<std::string>& feed1,
                                                             KeySchedule* schedule = nullptr);

// The bytes the new key signs in a RotateKey:
// ledger_id || u32le(author) || new_public_key.
std::string RotateKeyMessage(std::string_view ledger_id, PartyIndex author, const PublicKey& new_key);
// A RotateKey body to `new_key`, with its proof of possession, declaring the
// author's entries from `compromised_from` (0 = none) on compromised.
v1::Entry RotateKeyBody(const Charter& charter, PartyIndex author, const SecretKey& new_key,
                        uint64_t compromised_from = 0);

// BLAKE2b-256("parley/terms/v1" || terms_bytes): what an Accept commits to.
Digest TermsDigest(std::string_view terms_bytes);

// The IDs a body refers to (proposal, agreement, counters, amends,
// reference), each with whether it must name a Propose entry.
struct BodyReference {
  std::string_view field;  // e.g. "accept.proposal"
  Digest id;
  bool must_be_proposal;
};
std::vector<BodyReference> ReferencesOf(const v1::Entry& entry);

// The manifest commitments an entry carries (docs/PROTOCOL.md §8.1), in
// body order: a proposal's transfers that name one, a handover's, a
// receipt's, a disclosure's. `sender` is the party whose manifest it is:
// the transfer's from_party, a handover's or disclosure's author, a
// receipt's other party (a receipt names the sender's manifest). `where`
// describes the place for messages ("the proposal's transfer 0"). Terms
// that do not parse carry none.
struct CarriedManifest {
  v1::ManifestCommitment commitment;
  PartyIndex sender = 0;
  v1::Entry::BodyCase kind = v1::Entry::BODY_NOT_SET;
  std::string where;
};
std::vector<CarriedManifest> ManifestCommitmentsOf(const v1::Entry& entry);

// Short lower-case name of a body kind: "propose", "accept", ...
const char* KindName(v1::Entry::BodyCase kind);
// The name with its article, for messages: "a propose", "an accept".
std::string KindWithArticle(v1::Entry::BodyCase kind);

}  // namespace parley
