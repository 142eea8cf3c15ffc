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

Digest NodeOf(MerkleScheme scheme, const Digest& left, const Digest& right) {
  return scheme == MerkleScheme::kRfc6962 ? Rfc6962NodeHash(left, right) : Node(left, right);
}

// The next level up: pairs hashed left to right, an odd last node promoted.
std::vector<Digest> Parents(const std::vector<Digest>& level,
                            MerkleScheme scheme = MerkleScheme::kManifest) {
  std::vector<Digest> up;
  up.reserve(level.size() / 2 + 1);
  for (size_t i = 0; i < level.size(); i += 2) {
    up.push_back(i + 1 < level.size() ? NodeOf(scheme, level[i], level[i + 1]) : level[i]);
  }
  return up;
}

// The smallest l with 2^l >= n. REQUIRES: n >= 1.
unsigned CeilLog2(uint64_t n) {
  unsigned l = 0;
  while ((uint64_t{1} << l) < n) ++l;
  return l;
}

// The largest power of two strictly below n. REQUIRES: n >= 2.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
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

Digest Rfc6962LeafHash(std::string_view leaf) {
  std::string buf;
  buf.reserve(1 + leaf.size());
  buf.push_back('\x00');
  buf.append(leaf);
  return Sha256(buf);
}

Digest Rfc6962NodeHash(const Digest& left, const Digest& right) {
  char buf[1 + 2 * Digest::kSize];
  buf[0] = '\x01';
  std::memcpy(buf + 1, left.bytes.data(), Digest::kSize);
  std::memcpy(buf + 1 + Digest::kSize, right.bytes.data(), Digest::kSize);
  return Sha256(std::string_view(buf, sizeof buf));
}

Digest Rfc6962EmptyRoot() { return Sha256(""); }

MerkleTree::MerkleTree(std::vector<Digest> leaves, MerkleScheme scheme) : scheme_(scheme) {
  PARLEY_CHECK(!leaves.empty() || scheme == MerkleScheme::kRfc6962);
  levels_.push_back(std::move(leaves));
  while (levels_.back().size() > 1) levels_.push_back(Parents(levels_.back(), scheme));
  root_ = levels_.back().empty() ? Rfc6962EmptyRoot() : levels_.back().front();
}

void MerkleTree::Append(const Digest& leaf) {
  levels_[0].push_back(leaf);
  for (size_t l = 0; levels_[l].size() > 1; ++l) {
    if (l + 1 == levels_.size()) levels_.emplace_back();
    const size_t i = levels_[l].size() - 1;  // the new or changed node
    const Digest up = (i & 1) ? NodeOf(scheme_, levels_[l][i - 1], levels_[l][i]) : levels_[l][i];
    std::vector<Digest>& parents = levels_[l + 1];
    if (i / 2 == parents.size()) {
      parents.push_back(up);
    } else {
      parents[i / 2] = up;
    }
  }
  root_ = levels_.back().front();
}

// A node of the RFC 6962 shape over [lo, hi) starts at a multiple of 2^l,
// l = ceil(log2(hi - lo)), and is complete unless hi is the tree's size, where
// level building promoted it: either way it is levels_[l][lo >> l].
const Digest& MerkleTree::NodeAt(uint64_t lo, uint64_t hi) const {
  PARLEY_CHECK(lo < hi && hi <= size());
  const unsigned l = CeilLog2(hi - lo);
  PARLEY_CHECK(l < levels_.size() && (lo >> l) < levels_[l].size());
  PARLEY_CHECK((lo & ((uint64_t{1} << l) - 1)) == 0);
  return levels_[l][lo >> l];
}

// RFC 6962 §2.1.2 SUBPROOF(m, D[lo:hi], whole).
void MerkleTree::SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool whole,
                          std::vector<Digest>& out) const {
  const uint64_t n = hi - lo;
  if (m == n) {
    if (!whole) out.push_back(NodeAt(lo, hi));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, lo, lo + k, whole, out);
    out.push_back(NodeAt(lo + k, hi));
  } else {
    SubProof(m - k, lo + k, hi, false, out);
    out.push_back(NodeAt(lo, lo + k));
  }
}

std::vector<Digest> MerkleTree::ConsistencyProof(uint64_t old_size) const {
  PARLEY_CHECK(scheme_ == MerkleScheme::kRfc6962 && old_size <= size());
  std::vector<Digest> proof;
  if (old_size == 0 || old_size == size()) return proof;
  SubProof(old_size, 0, size(), true, proof);
  return proof;
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

bool MerkleVerify(const Digest& root, const Digest& leaf, const MerkleProof& proof,
                  MerkleScheme scheme) {
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
      acc = (i & 1) ? NodeOf(scheme, s, acc) : NodeOf(scheme, acc, s);
    }
    i /= 2;
    width = width / 2 + width % 2;
  }
  return used == proof.path.size() && acc == root;
}

bool Rfc6962VerifyConsistency(uint64_t old_size, uint64_t new_size, const Digest& old_root,
                              const Digest& new_root, const std::vector<Digest>& proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty();
  if (proof.empty()) return false;
  // RFC 9162 §2.1.4.2, step by step.
  std::vector<Digest> path;
  path.reserve(proof.size() + 1);
  if ((old_size & (old_size - 1)) == 0) path.push_back(old_root);  // a power of two
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Digest fr = path[0];
  Digest sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Digest& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = Rfc6962NodeHash(c, fr);
      sr = Rfc6962NodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = Rfc6962NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

}  // namespace parley
