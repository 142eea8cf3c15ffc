// Merkle trees, in two hashings over one shape:
//
// kManifest — commitments over manifests (lists of people), so the ledger
// carries a root and a count and no personal data:
//   leaf_i  = H("parley/leaf/v1", salt_i(32) || record_i)
//   node    = H("parley/node/v1", left(32) || right(32))
// The tree over n >= 1 leaves is built level by level; a level with an odd
// number of nodes promotes its last node unchanged to the next level (no
// duplication, so no CVE-2012-2459-style ambiguity). The root of one leaf is
// the leaf. Leaves and inner nodes are domain separated.
//
// An inclusion proof for leaf i is the list of sibling digests from the leaf
// up to the root (levels where the node was promoted contribute nothing),
// plus i and n, from which the left/right position of each sibling follows.
//
// kRfc6962 — the Merkle Tree Hash of RFC 6962 §2.1 (SHA-256), which C2SP
// transparency-log checkpoints commit to (each feed's log view,
// docs/PROTOCOL.md §15):
//   leaf    = SHA-256(0x00 || leaf bytes)        (Rfc6962LeafHash)
//   node    = SHA-256(0x01 || left || right)
//   empty   = SHA-256("")                        (the root of no leaves)
// RFC 6962 splits n leaves at the largest power of two below n; building
// level by level and promoting an odd last node gives exactly that shape, so
// one tree serves both hashings, and the inclusion proofs below are RFC
// 6962's audit paths. Consistency proofs (§2.1.2) are RFC 6962 only.
//
// Thread safety: pure functions; a MerkleTree is immutable after
// construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/types.h"

namespace parley {

using Salt = FixedBytes<32, struct SaltTag>;

enum class MerkleScheme { kManifest, kRfc6962 };

// RFC 6962: SHA-256(0x00 || leaf).
Digest Rfc6962LeafHash(std::string_view leaf);
// RFC 6962: SHA-256(0x01 || left || right).
Digest Rfc6962NodeHash(const Digest& left, const Digest& right);
// RFC 6962: the root of the empty tree, SHA-256 of the empty string.
Digest Rfc6962EmptyRoot();

Digest MerkleLeaf(const Salt& salt, std::string_view record);

// REQUIRES: !leaves.empty().
Digest MerkleRoot(const std::vector<Digest>& leaves);

struct MerkleProof {
  uint64_t index = 0;       // position of the leaf, 0-based
  uint64_t leaf_count = 0;  // n, the number of leaves in the tree
  std::vector<Digest> path; // siblings, leaf level first
};

// REQUIRES: index < leaves.size(). Builds the whole tree: O(n) per call;
// for many proofs over one tree use MerkleTree.
MerkleProof MerkleProve(const std::vector<Digest>& leaves, uint64_t index);

// Every level of one tree, built once (about 2n digests), so that each proof
// is O(log n).
class MerkleTree {
 public:
  // `leaves` are leaf hashes (MerkleLeaf or Rfc6962LeafHash).
  // REQUIRES: !leaves.empty() for kManifest; kRfc6962 allows the empty tree.
  explicit MerkleTree(std::vector<Digest> leaves, MerkleScheme scheme = MerkleScheme::kManifest);

  const Digest& root() const { return root_; }
  uint64_t size() const { return levels_.front().size(); }
  const std::vector<Digest>& leaves() const { return levels_.front(); }

  // REQUIRES: index < size().
  MerkleProof Prove(uint64_t index) const;

  // Appends one leaf hash, updating the right edge: O(log n). The result is
  // the tree that the constructor builds from all the leaves (a feed's tree
  // grows with each entry without being rebuilt).
  void Append(const Digest& leaf);

  // RFC 6962 §2.1.2 PROOF(old_size, D[size]): the consistency proof from the
  // tree of the first `old_size` leaves to this one. Empty when old_size is 0
  // or size(). O(log n).
  // REQUIRES: scheme kRfc6962, old_size <= size().
  std::vector<Digest> ConsistencyProof(uint64_t old_size) const;

 private:
  // The hash of the subtree over leaves [lo, hi), a node of this tree.
  const Digest& NodeAt(uint64_t lo, uint64_t hi) const;
  void SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool whole, std::vector<Digest>& out) const;

  MerkleScheme scheme_;
  std::vector<std::vector<Digest>> levels_;  // leaves first, root level last
  Digest root_;
};

// True iff `proof` shows that `leaf` is at proof.index in the tree of
// proof.leaf_count leaves whose root is `root`. False (never a crash) for
// leaf_count == 0, index >= leaf_count, or a path of the wrong length.
// The root alone does not commit to n (e.g. a proof in a 3-leaf tree also
// verifies with leaf_count 4): callers must check proof.leaf_count against
// the count signed next to the root.
[[nodiscard]] bool MerkleVerify(const Digest& root, const Digest& leaf,
                                const MerkleProof& proof,
                                MerkleScheme scheme = MerkleScheme::kManifest);

// RFC 9162 §2.1.4.2 (the verification of RFC 6962 §2.1.2 proofs): true iff
// `proof` shows that the tree of `old_size` leaves with root `old_root` is a
// prefix of the tree of `new_size` leaves with root `new_root`. By the rules
// of c2sp.org/tlog-witness: equal sizes need equal roots and an empty
// proof; old_size 0 needs an empty proof (the empty tree is a prefix of
// every tree). False, never a crash, for any other input.
[[nodiscard]] bool Rfc6962VerifyConsistency(uint64_t old_size, uint64_t new_size,
                                            const Digest& old_root, const Digest& new_root,
                                            const std::vector<Digest>& proof);

}  // namespace parley
