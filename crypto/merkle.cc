#include "crypto/merkle.h"

#include <cstring>

#include "crypto/hash.h"
#include "crypto/status.h"

namespace parley {
namespace {

constexpr std::string_view kLeafDomain = "parley/leaf/v1";
constexpr std::string_view kNodeDomain = "parley/node/v1";

Digest Node(const Digest& left, const Digest& right) {
  char buf[2 * Digest::kSize];
  std::memcpy(buf, left.bytes.data(), Digest::kSize);
  std::memcpy(buf + Digest::kSize, right.bytes.data(), Digest::kSize);
  return Hash(kNodeDomain, std::string_view(buf, sizeof buf));
}

// The next level up: pairs hashed left to right, an odd last node promoted.
std::vector<Digest> Parents(const std::vector<Digest>& level) {
  std::vector<Digest> up;
  up.reserve(level.size() / 2 + 1);
  for (size_t i = 0; i < level.size(); i += 2) {
    up.push_back(i + 1 < level.size() ? Node(level[i], level[i + 1]) : level[i]);
  }
  return up;
}

}  // namespace

Digest MerkleLeaf(const Salt& salt, std::string_view record) {
  std::string buf;
  buf.reserve(Salt::kSize + record.size());
  buf.append(salt.view());
  buf.append(record);
  return Hash(kLeafDomain, buf);
}

Digest MerkleRoot(const std::vector<Digest>& leaves) {
  PARLEY_CHECK(!leaves.empty());
  if (leaves.size() == 1) return leaves[0];
  std::vector<Digest> level = Parents(leaves);
  while (level.size() > 1) level = Parents(level);
  return level[0];
}

MerkleProof MerkleProve(const std::vector<Digest>& leaves, uint64_t index) {
  return MerkleTree(leaves).Prove(index);
}

MerkleTree::MerkleTree(std::vector<Digest> leaves) {
  PARLEY_CHECK(!leaves.empty());
  levels_.push_back(std::move(leaves));
  while (levels_.back().size() > 1) levels_.push_back(Parents(levels_.back()));
}

MerkleProof MerkleTree::Prove(uint64_t index) const {
  PARLEY_CHECK(index < size());
  MerkleProof proof;
  proof.index = index;
  proof.leaf_count = size();
  uint64_t i = index;
  for (size_t level = 0; level + 1 < levels_.size(); ++level) {
    const uint64_t sibling = i ^ 1;
    if (sibling < levels_[level].size()) proof.path.push_back(levels_[level][sibling]);
    i /= 2;
  }
  return proof;
}

bool MerkleVerify(const Digest& root, const Digest& leaf, const MerkleProof& proof) {
  if (proof.leaf_count == 0 || proof.index >= proof.leaf_count) return false;
  Digest acc = leaf;
  uint64_t i = proof.index;
  uint64_t width = proof.leaf_count;
  size_t used = 0;
  while (width > 1) {
    const uint64_t sibling = i ^ 1;
    if (sibling < width) {  // otherwise this node is promoted unchanged
      if (used == proof.path.size()) return false;
      const Digest& s = proof.path[used++];
      acc = (i & 1) ? Node(s, acc) : Node(acc, s);
    }
    i /= 2;
    width = width / 2 + width % 2;
  }
  return used == proof.path.size() && acc == root;
}

}  // namespace parley
