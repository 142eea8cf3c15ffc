#include "node/manifest/manifest_proof.h"

#include <nlohmann/json.hpp>

#include "crypto/merkle.h"
#include "crypto/sign.h"
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"
#include "node/base/json.h"
#include "parley/v1/ledger.pb.h"

namespace parley {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kFormat = "parley-manifest-proof/v1";

Status Unusable(const std::string& why) { return Status(Code::kInvalidArgument, "proof file: " + why); }

ProofVerdict Invalid(std::string why) {
  ProofVerdict v;
  v.explanation = std::move(why);
  return v;
}

// The entry inside an envelope, if `key` signed it.
std::optional<v1::Entry> SignedBy(std::string_view envelope, const PublicKey& key) {
  v1::SignedEntry se;
  if (!se.ParseFromString(std::string(envelope))) return std::nullopt;
  auto sig = Signature::FromBytes(se.signature());
  if (!sig || !Verify(key, kEntryDomain, se.entry(), *sig)) return std::nullopt;
  v1::Entry e;
  if (!e.ParseFromString(se.entry())) return std::nullopt;
  return e;
}

Result<std::string> Hex(const Json& j, const char* field, size_t size = 0) {
  if (!j.contains(field) || !j[field].is_string()) return Unusable(std::string("\"") + field + "\" must be a hex string");
  auto b = FromHex(j[field].get<std::string>());
  if (!b || (size && b->size() != size)) {
    return Unusable(std::string("\"") + field + "\" must be " + (size ? std::to_string(size) + " bytes of " : "") + "hex");
  }
  return *b;
}

}  // namespace

Result<std::string> MakeProofFile(const v1::ProveRecordResponse& p) {
  auto record = DecodeCanonicalRecord(p.record());
  if (!record) return record.error();
  Json j;
  j["format"] = kFormat;
  j["kind"] = std::string(ManifestKindName(record->kind));
  Json fields = Json::object();
  const auto& columns = ManifestColumns(record->kind);
  for (size_t i = 0; i < columns.size(); ++i) fields[columns[i]] = record->fields[i];
  j["record"] = fields;
  j["salt"] = ToHex(p.salt());
  j["index"] = p.index();
  j["count"] = p.count();
  Json path = Json::array();
  for (const std::string& d : p.path()) path.push_back(ToHex(d));
  j["path"] = path;
  j["entry"] = ToHex(p.entry());
  Json chain = Json::array();
  for (const std::string& e : p.key_chain()) chain.push_back(ToHex(e));
  j["key_chain"] = chain;
  j["charter"] = ToHex(p.signed_charter());
  return DumpJson(j, 2) + "\n";
}

Result<ProofVerdict> VerifyProofFile(std::string_view text, std::string_view trusted_charter) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Unusable("not a JSON object");
  if (!j.contains("format") || j["format"] != kFormat) return Unusable("\"format\" is not parley-manifest-proof/v1");
  if (!j.contains("kind") || !j["kind"].is_string()) return Unusable("\"kind\" must be a string");
  auto kind = ParseManifestKind(j["kind"].get<std::string>());
  if (!kind) return Unusable("\"kind\" must be remains or prisoners");
  if (!j.contains("record") || !j["record"].is_object()) return Unusable("\"record\" must be an object");
  ManifestRecord record;
  record.kind = *kind;
  const auto& columns = ManifestColumns(*kind);
  if (j["record"].size() != columns.size()) return Unusable("\"record\" must have exactly the kind's columns");
  for (const std::string& c : columns) {
    if (!j["record"].contains(c) || !j["record"][c].is_string()) {
      return Unusable("\"record\" lacks the column \"" + c + "\" (a string)");
    }
    record.fields.push_back(j["record"][c].get<std::string>());
  }
  for (const char* f : {"index", "count"}) {
    if (!j.contains(f) || !j[f].is_number_unsigned()) return Unusable(std::string("\"") + f + "\" must be a number");
  }
  if (!j.contains("path") || !j["path"].is_array()) return Unusable("\"path\" must be an array");
  if (!j.contains("key_chain") || !j["key_chain"].is_array()) return Unusable("\"key_chain\" must be an array");
  auto salt_bytes = Hex(j, "salt", Salt::kSize);
  if (!salt_bytes) return salt_bytes.error();
  auto entry = Hex(j, "entry");
  if (!entry) return entry.error();
  MerkleProof proof;
  proof.index = j["index"].get<uint64_t>();
  proof.leaf_count = j["count"].get<uint64_t>();
  for (const Json& d : j["path"]) {
    auto b = d.is_string() ? FromHex(d.get<std::string>()) : std::nullopt;
    if (!b || b->size() != Digest::kSize) return Unusable("\"path\" must hold 32-byte hex digests");
    proof.path.push_back(*Digest::FromBytes(*b));
  }
  std::vector<std::string> chain;
  for (const Json& e : j["key_chain"]) {
    auto b = e.is_string() ? FromHex(e.get<std::string>()) : std::nullopt;
    if (!b) return Unusable("\"key_chain\" must hold hex entries");
    chain.push_back(*b);
  }
  std::string charter_bytes(trusted_charter);
  const bool own_charter = !trusted_charter.empty();
  if (!own_charter) {
    auto c = Hex(j, "charter");
    if (!c) return c.error();
    charter_bytes = *c;
  }
  auto charter = Charter::Parse(charter_bytes);
  if (!charter) return Unusable("the charter: " + charter.error().message());

  ProofVerdict verdict;
  verdict.record = record;
  if (Status s = CheckManifestRecord(record); !s.ok()) return Invalid("the record breaks its kind's rules: " + s.message());

  // The signer, and the keys it held: the charter key, then each rotation's.
  v1::SignedEntry se;
  v1::Entry carrier;
  if (!se.ParseFromString(*entry) || !carrier.ParseFromString(se.entry())) {
    return Invalid("the entry is not a SignedEntry");
  }
  if (carrier.ledger_id() != charter->ledger_id().view()) {
    return Invalid("the entry belongs to another ledger than the charter's");
  }
  if (carrier.author() > 1) return Invalid("the entry's author is no party of the charter");
  const PartyIndex signer = carrier.author();
  std::vector<PublicKey> keys{charter->party_key(signer)};
  std::vector<uint64_t> rotated_at;
  std::vector<uint64_t> compromised_from;  // per rotation; 0: none declared
  for (size_t i = 0; i < chain.size(); ++i) {
    auto e = SignedBy(chain[i], keys.back());
    const std::string which = "key chain entry " + std::to_string(i + 1);
    if (!e) return Invalid(which + " is not signed by the key before it");
    if (e->ledger_id() != charter->ledger_id().view() || e->author() != signer || !e->has_rotate_key()) {
      return Invalid(which + " is not a RotateKey of the entry's author on this ledger");
    }
    auto next = PublicKey::FromBytes(e->rotate_key().new_public_key());
    auto pop = Signature::FromBytes(e->rotate_key().new_key_signature());
    if (!next || !pop ||
        !Verify(*next, "parley/rotate/v1", RotateKeyMessage(charter->ledger_id().view(), signer, *next), *pop)) {
      return Invalid(which + " lacks a valid proof of possession by its new key");
    }
    if (!rotated_at.empty() && e->seq() <= rotated_at.back()) return Invalid(which + " is out of order");
    const uint64_t c = e->rotate_key().compromised_from_seq();
    if (c != 0 && c <= carrier.seq() && carrier.seq() < e->seq()) {
      return Invalid("the signer declared its entries from seq " + std::to_string(c) +
                     " compromised, and the entry carrying the commitment is seq " + std::to_string(carrier.seq()));
    }
    keys.push_back(*next);
    rotated_at.push_back(e->seq());
    compromised_from.push_back(c);
  }
  // Key k (0: the charter key, k: rotation k's new key) may have signed the
  // entry if it existed by then, and no rotation from k on declared entries
  // from before the entry compromised: a compromised key is not trusted for
  // anything from its compromise on (with a thief's key, "before the
  // rotation" proves nothing).
  size_t key_index = keys.size();
  for (size_t k = 0; k < keys.size(); ++k) {
    if (k > 0 && rotated_at[k - 1] >= carrier.seq()) break;  // rotated only after the entry
    bool distrusted = false;
    for (size_t j = k; j < compromised_from.size(); ++j) {
      if (compromised_from[j] != 0 && compromised_from[j] <= carrier.seq()) distrusted = true;
    }
    if (!distrusted && SignedBy(*entry, keys[k])) key_index = k;
  }
  if (key_index == keys.size()) {
    return Invalid("the entry's signature does not verify under a key of " + charter->party_code(signer) +
                   " that was in force for it and not declared compromised");
  }
  if (Status s = CheckEntryFields(carrier, *charter); !s.ok()) return Invalid("the entry is malformed: " + s.message());

  std::optional<Digest> root;
  std::string where;
  bool found = false;
  // The root is not stated separately: the commitment in the entry names it.
  // A disclosure is not a place a record is committed to (§8.5).
  const auto carried = ManifestCommitmentsOf(carrier);
  if (carrier.body_case() != v1::Entry::kPropose && carrier.body_case() != v1::Entry::kHandover &&
      carrier.body_case() != v1::Entry::kReceipt) {
    return Invalid("the entry carries no manifest commitment (it is no proposal, handover or receipt)");
  }
  const Digest leaf = MerkleLeaf(*Salt::FromBytes(*salt_bytes), CanonicalRecord(record));
  for (const CarriedManifest& c : carried) {
    if (found || c.kind == v1::Entry::kDisclose || c.commitment.count() != proof.leaf_count) continue;
    auto r = Digest::FromBytes(c.commitment.root());
    if (r && MerkleVerify(*r, leaf, proof)) {
      root = r;
      where = c.where;
      found = true;
    }
  }
  if (!found) {
    return Invalid("the record, its salt, index and path do not lead to a manifest root of " +
                   std::to_string(proof.leaf_count) + " records that the entry commits to");
  }
  verdict.valid = true;
  verdict.explanation =
      "VALID: record " + std::to_string(proof.index + 1) + " of " + std::to_string(proof.leaf_count) +
      " of the " + std::string(ManifestKindName(*kind)) + " manifest " + ToHex(*root) + ", committed to in " + where +
      " signed by " + charter->party_code(signer) + " (" + charter->party_name(signer) + ") at seq " +
      std::to_string(carrier.seq()) + " of ledger " + ToHex(charter->ledger_id()) +
      (key_index == 0 ? " with its charter key" : " with its key after rotation " + std::to_string(key_index)) +
      (own_charter ? ", checked against the charter you gave."
                   : ", checked against the charter inside the proof file: compare its ledger id with the one "
                     "you trust.");
  return verdict;
}

}  // namespace parley
