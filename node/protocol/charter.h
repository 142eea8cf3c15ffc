// Charter: the founding document of a ledger — title, exactly two parties
// (code, name, Ed25519 key), optional observers, optional transparency-log
// witnesses — signed by both parties.
//
//   ledger_id      = BLAKE2b-256("parley/charter/v1" || charter_bytes)
//   signatures[i]  = Ed25519(party i, "parley/charter/v1" || charter_bytes)
//
// A Charter value is parsed from SignedCharter bytes and checked: structure,
// and every signature that is present. Signatures may be missing while the
// charter is being signed (`parley charter sign`); a node refuses to start
// unless fully_signed().
//
// Thread safety: immutable after construction.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sign.h"
#include "crypto/status.h"
#include "crypto/types.h"
#include "node/tlog/note.h"
#include "parley/v1/ledger.pb.h"

namespace parley {

inline constexpr std::string_view kCharterDomain = "parley/charter/v1";
inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kMaxCharterBytes = 64 * 1024;

using PartyIndex = uint32_t;  // 0 or 1: position in Charter.parties

struct CharterParty {
  std::string code;  // e.g. "UA"
  std::string name;
  PublicKey key;
};

struct CharterObserver {
  std::string name;
  PublicKey key;
};

// A transparency-log witness named in the charter (docs/PROTOCOL.md §2).
struct CharterWitness {
  std::string name;  // its cosignature key name
  PublicKey key;     // its Ed25519 cosignature/v1 key
  std::string url;   // submission prefix: http(s)://host[:port][/path]

  // The cosignature/v1 verifier of this witness (c2sp.org/tlog-cosignature).
  NoteVerifier verifier() const { return {name, NoteKeyType::kCosignatureV1, key}; }
};

struct CharterDraft {
  std::string title;
  std::array<CharterParty, 2> parties;
  std::vector<CharterObserver> observers;
  int64_t created_ms = 0;
  std::vector<CharterWitness> witnesses;
  uint32_t required_cosignatures = 0;  // <= witnesses.size()
};

inline constexpr size_t kMaxWitnessNameBytes = 255;
inline constexpr size_t kMaxWitnessUrlBytes = 1024;

// A witness's submission URL as the charter allows it: "http://" or
// "https://", a host, then an optional port and path; printable ASCII, no
// space, query, fragment or trailing '/'; at most kMaxWitnessUrlBytes.
Status CheckWitnessUrl(std::string_view url);

// Serializes a draft into SignedCharter bytes with no signatures yet, after
// checking it (codes 1..16 of [A-Z0-9_-], distinct codes and keys, title set,
// witnesses well-formed and distinct, required_cosignatures <= witnesses).
Result<std::string> NewUnsignedCharter(const CharterDraft& draft);

class Charter {
 public:
  // Parses SignedCharter bytes. Fails (kInvalidArgument / kDataLoss) on
  // malformed bytes, a structural problem, or a present signature that does
  // not verify — the message says which.
  static Result<Charter> Parse(std::string_view signed_charter_bytes);

  // Returns SignedCharter bytes with `key`'s signature added at the index of
  // the party that owns `key`. kPermissionDenied if `key` is no party's.
  Result<std::string> Sign(const SecretKey& key) const;

  bool fully_signed() const { return signed_by_[0] && signed_by_[1]; }
  bool signed_by(PartyIndex p) const { return signed_by_[p]; }

  const Digest& ledger_id() const { return ledger_id_; }
  const v1::Charter& proto() const { return charter_; }
  const std::string& charter_bytes() const { return signed_.charter(); }
  // The SignedCharter bytes this value was parsed from.
  const std::string& signed_bytes() const { return signed_bytes_; }

  const PublicKey& party_key(PartyIndex p) const { return keys_[p]; }
  const std::string& party_code(PartyIndex p) const { return charter_.parties(p).code(); }
  const std::string& party_name(PartyIndex p) const { return charter_.parties(p).name(); }
  std::optional<PartyIndex> PartyOf(const PublicKey& key) const;
  std::optional<PartyIndex> PartyByCode(std::string_view code) const;
  std::vector<CharterObserver> observers() const;
  // The charter's witnesses, in charter order (empty: none).
  const std::vector<CharterWitness>& witnesses() const { return witnesses_; }
  // How many cosignatures from distinct charter witnesses an auditor
  // requires by default (`audit --require-witnesses`).
  uint32_t required_cosignatures() const { return charter_.required_cosignatures(); }

 private:
  Charter() = default;
  std::string signed_bytes_;
  v1::SignedCharter signed_;
  v1::Charter charter_;
  Digest ledger_id_;
  std::array<PublicKey, 2> keys_;
  std::array<bool, 2> signed_by_{false, false};
  std::vector<CharterWitness> witnesses_;
};

}  // namespace parley
