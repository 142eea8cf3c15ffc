// Merkle commitments over manifests (lists of people), so the ledger carries
// a root and a count and no personal data.
//
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
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/types.h"

namespace parley {

using Salt = FixedBytes<32, struct SaltTag>;

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
  // REQUIRES: !leaves.empty().
  explicit MerkleTree(std::vector<Digest> leaves);

  const Digest& root() const { return levels_.back().front(); }
  uint64_t size() const { return levels_.front().size(); }
  const std::vector<Digest>& leaves() const { return levels_.front(); }

  // REQUIRES: index < size().
  MerkleProof Prove(uint64_t index) const;

 private:
  std::vector<std::vector<Digest>> levels_;  // leaves first, root level last
};

// True iff `proof` shows that `leaf` is at proof.index in the tree of
// proof.leaf_count leaves whose root is `root`. False (never a crash) for
// leaf_count == 0, index >= leaf_count, or a path of the wrong length.
// The root alone does not commit to n (e.g. a proof in a 3-leaf tree also
// verifies with leaf_count 4): callers must check proof.leaf_count against
// the count signed next to the root.
[[nodiscard]] bool MerkleVerify(const Digest& root, const Digest& leaf,
                                const MerkleProof& proof);

}  // namespace parley
