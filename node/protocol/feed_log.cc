#include "node/protocol/feed_log.h"

namespace parley {

std::string FeedOrigin(const Charter& charter, PartyIndex party) {
  return std::string(kFeedOriginPrefix) + ToHex(charter.ledger_id()) + "/" + charter.party_code(party);
}

MerkleTree FeedTree(const std::vector<std::string>& envelopes) {
  std::vector<Digest> leaves;
  leaves.reserve(envelopes.size());
  for (const auto& e : envelopes) leaves.push_back(Rfc6962LeafHash(e));
  return MerkleTree(std::move(leaves), MerkleScheme::kRfc6962);
}

Checkpoint FeedCheckpoint(const Charter& charter, PartyIndex party,
                          const std::vector<std::string>& envelopes) {
  Checkpoint c;
  c.origin = FeedOrigin(charter, party);
  c.size = envelopes.size();
  c.root = FeedTree(envelopes).root();
  return c;
}

std::string SignFeedCheckpoint(const SecretKey& key, const Charter& charter, PartyIndex party,
                               const Checkpoint& checkpoint) {
  const std::string text = FormatCheckpoint(checkpoint);
  return FormatNote(Note{text, {SignNote(key, FeedOrigin(charter, party), text)}});
}

NoteVerifier FeedNoteVerifier(const Charter& charter, PartyIndex party, const PublicKey& key) {
  return NoteVerifier{FeedOrigin(charter, party), NoteKeyType::kEd25519, key};
}

}  // namespace parley
