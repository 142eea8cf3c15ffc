// Entries: decoding, verifying and signing one party's statements.
//
// An entry travels and is stored as SignedEntry bytes (the "envelope"): the
// exact serialized Entry plus the author's Ed25519 signature over
// "parley/entry/v1" || entry. Its ID is BLAKE2b-256 of the same input.
//
// Validation happens in two stages, both pure:
//   1. DecodeEntry — context-free: size, parse, ledger, author, signature,
//      and that the body is well formed.
//   2. CheckSuccessor — against what is already stored (a FeedIndex): seq,
//      prev, time, seen, and that body references lie in the author's
//      causal past and point at the right kind of entry.
// Each failure is a Status with code kRejected whose message starts with the
// violation's name ("seq-gap: ..."), listed in docs/PROTOCOL.md.
//
// Thread safety: pure functions; DecodedEntry is a value.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/sign.h"
#include "crypto/status.h"
#include "crypto/types.h"
#include "node/charter.h"
#include "parley/v1/ledger.pb.h"

namespace parley {

inline constexpr std::string_view kEntryDomain = "parley/entry/v1";
inline constexpr std::string_view kTermsDomain = "parley/terms/v1";
inline constexpr std::string_view kRotateDomain = "parley/rotate/v1";
// Largest SignedEntry accepted, in bytes.
inline constexpr size_t kMaxEnvelopeBytes = 64 * 1024;

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

// Stage 1. Checks, in this order: size, envelope parse, signature length,
// entry parse, ledger, author, signature, header fields, body.
Result<DecodedEntry> DecodeEntry(std::string_view envelope, const Charter& charter);

// The context-free checks DecodeEntry applies after the signature: header
// fields (seq, prev, seen) and the body. Used before signing a new entry.
Status CheckEntryFields(const v1::Entry& entry, const Charter& charter);

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

// Stage 2: may `e` be appended to its author's feed, given `index`?
// REQUIRES: e passed CheckEntryFields for this ledger.
Status CheckSuccessor(const v1::Entry& e, const Digest& ledger_id, const FeedIndex& index);

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

// Short lower-case name of a body kind: "propose", "accept", ...
const char* KindName(v1::Entry::BodyCase kind);

}  // namespace parley
