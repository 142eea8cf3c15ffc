#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "crypto/hash.h"
#include "crypto/merkle.h"

namespace parley {
namespace {

Salt RandomSalt() {
  Salt salt;
  RandomBytes(salt.bytes);
  return salt;
}

struct Manifest {
  std::vector<std::string> records;
  std::vector<Salt> salts;
  std::vector<Digest> leaves;
};

Manifest MakeManifest(size_t n) {
  Manifest m;
  for (size_t i = 0; i < n; ++i) {
    m.records.push_back("tag-" + std::to_string(i) + ",Name " + std::to_string(i));
    m.salts.push_back(RandomSalt());
    m.leaves.push_back(MerkleLeaf(m.salts.back(), m.records.back()));
  }
  return m;
}

// The spec from merkle.h, written out independently of merkle.cc.
Digest SpecNode(const Digest& l, const Digest& r) {
  return Hash("parley/node/v1", l.str() + r.str());
}

TEST_CASE("a leaf is H(\"parley/leaf/v1\", salt || record)") {
  const Salt salt = RandomSalt();
  CHECK(MerkleLeaf(salt, "Ivan Petrov,1990-01-01") ==
        Hash("parley/leaf/v1", salt.str() + "Ivan Petrov,1990-01-01"));
  CHECK(MerkleLeaf(salt, "") == Hash("parley/leaf/v1", salt.str()));
}

TEST_CASE("the root of one leaf is the leaf, with an empty proof") {
  const Manifest m = MakeManifest(1);
  CHECK(MerkleRoot(m.leaves) == m.leaves[0]);
  const MerkleProof proof = MerkleProve(m.leaves, 0);
  CHECK(proof.path.empty());
  CHECK(proof.leaf_count == 1);
  CHECK(MerkleVerify(m.leaves[0], m.leaves[0], proof));
}

TEST_CASE("small trees match roots computed by hand, odd last nodes promoted") {
  const Manifest m = MakeManifest(7);
  const std::vector<Digest>& l = m.leaves;
  auto first = [&](size_t n) { return std::vector<Digest>(l.begin(), l.begin() + n); };

  CHECK(MerkleRoot(first(2)) == SpecNode(l[0], l[1]));
  CHECK(MerkleRoot(first(3)) == SpecNode(SpecNode(l[0], l[1]), l[2]));
  CHECK(MerkleRoot(first(4)) == SpecNode(SpecNode(l[0], l[1]), SpecNode(l[2], l[3])));
  CHECK(MerkleRoot(first(5)) ==
        SpecNode(SpecNode(SpecNode(l[0], l[1]), SpecNode(l[2], l[3])), l[4]));
  CHECK(MerkleRoot(first(7)) ==
        SpecNode(SpecNode(SpecNode(l[0], l[1]), SpecNode(l[2], l[3])),
                 SpecNode(SpecNode(l[4], l[5]), l[6])));

  // Index 4 of 5 is promoted twice: its path is the single left subtree.
  const MerkleProof p = MerkleProve(first(5), 4);
  REQUIRE(p.path.size() == 1);
  CHECK(p.path[0] == SpecNode(SpecNode(l[0], l[1]), SpecNode(l[2], l[3])));
  // Index 2 of 3: sibling is node(l0, l1).
  const MerkleProof q = MerkleProve(first(3), 2);
  REQUIRE(q.path.size() == 1);
  CHECK(q.path[0] == SpecNode(l[0], l[1]));
}

TEST_CASE("for trees of 1 to 33 leaves, the proof of every leaf verifies") {
  const Manifest m = MakeManifest(33);
  for (size_t n = 1; n <= 33; ++n) {
    const std::vector<Digest> leaves(m.leaves.begin(), m.leaves.begin() + n);
    const Digest root = MerkleRoot(leaves);
    for (uint64_t i = 0; i < n; ++i) {
      CAPTURE(n);
      CAPTURE(i);
      const MerkleProof proof = MerkleProve(leaves, i);
      CHECK(proof.index == i);
      CHECK(proof.leaf_count == n);
      CHECK(MerkleVerify(root, MerkleLeaf(m.salts[i], m.records[i]), proof));
    }
  }
}

// The proof of merkle.h written out independently of merkle.cc (which now
// builds MerkleProve on MerkleTree, so comparing those two alone would prove
// little): siblings level by level, nothing for a promoted node.
MerkleProof SpecProve(std::vector<Digest> level, uint64_t index) {
  MerkleProof proof{index, level.size(), {}};
  while (level.size() > 1) {
    const uint64_t sibling = (index % 2 == 0) ? index + 1 : index - 1;
    if (sibling < level.size()) proof.path.push_back(level[sibling]);
    std::vector<Digest> up;
    for (size_t i = 0; i < level.size(); i += 2) {
      up.push_back(i + 1 < level.size() ? SpecNode(level[i], level[i + 1]) : level[i]);
    }
    level = std::move(up);
    index /= 2;
  }
  return proof;
}

TEST_CASE("MerkleTree gives the root and proofs of MerkleRoot and MerkleProve for 1 to 65 leaves") {
  const Manifest m = MakeManifest(65);
  for (size_t n = 1; n <= 65; ++n) {
    CAPTURE(n);
    const std::vector<Digest> leaves(m.leaves.begin(), m.leaves.begin() + n);
    const MerkleTree tree(leaves);
    CHECK(tree.size() == n);
    CHECK(tree.leaves() == leaves);
    CHECK(tree.root() == MerkleRoot(leaves));
    for (uint64_t i = 0; i < n; ++i) {
      CAPTURE(i);
      const MerkleProof proof = tree.Prove(i);
      const MerkleProof one_off = MerkleProve(leaves, i);
      const MerkleProof spec = SpecProve(leaves, i);
      CHECK(proof.index == i);
      CHECK(proof.leaf_count == n);
      CHECK(proof.path == one_off.path);
      CHECK(proof.path == spec.path);
      CHECK((proof.index == one_off.index && proof.leaf_count == one_off.leaf_count));
      CHECK(MerkleVerify(tree.root(), leaves[i], proof));
    }
  }
}

TEST_CASE("a proof fails for another leaf, salt, root, index or leaf count") {
  const Manifest m = MakeManifest(33);
  for (size_t n : {2, 3, 5, 8, 13, 33}) {
    const std::vector<Digest> leaves(m.leaves.begin(), m.leaves.begin() + n);
    const Digest root = MerkleRoot(leaves);
    const Digest other_root = MerkleRoot(
        std::vector<Digest>(m.leaves.begin() + 1, m.leaves.begin() + n + 1));
    for (uint64_t i = 0; i < n; ++i) {
      CAPTURE(n);
      CAPTURE(i);
      const MerkleProof proof = MerkleProve(leaves, i);
      const Digest& leaf = leaves[i];
      REQUIRE(MerkleVerify(root, leaf, proof));

      CHECK_FALSE(MerkleVerify(root, leaves[(i + 1) % n], proof));
      CHECK_FALSE(MerkleVerify(root, MerkleLeaf(RandomSalt(), m.records[i]), proof));
      CHECK_FALSE(MerkleVerify(root, MerkleLeaf(m.salts[i], m.records[i] + " "), proof));
      CHECK_FALSE(MerkleVerify(other_root, leaf, proof));

      for (uint64_t j = 0; j < n; ++j) {
        if (j == i) continue;
        MerkleProof moved = proof;
        moved.index = j;
        CHECK_FALSE(MerkleVerify(root, leaf, moved));
      }
      MerkleProof out_of_range = proof;
      out_of_range.index = n;
      CHECK_FALSE(MerkleVerify(root, leaf, out_of_range));

      MerkleProof doubled = proof;  // changes the path length
      doubled.leaf_count = 2 * n;
      CHECK_FALSE(MerkleVerify(root, leaf, doubled));

      if (!proof.path.empty()) {
        MerkleProof tampered = proof;
        tampered.path.back().bytes[0] ^= 1;
        CHECK_FALSE(MerkleVerify(root, leaf, tampered));
      }
    }
  }
}

TEST_CASE("MerkleVerify rejects an empty tree, an index past the end and a wrong path length") {
  const Manifest m = MakeManifest(6);
  const Digest root = MerkleRoot(m.leaves);
  const MerkleProof proof = MerkleProve(m.leaves, 2);
  REQUIRE(MerkleVerify(root, m.leaves[2], proof));

  MerkleProof empty_tree = proof;
  empty_tree.leaf_count = 0;
  CHECK_FALSE(MerkleVerify(root, m.leaves[2], empty_tree));

  MerkleProof past_end = proof;
  past_end.index = 6;
  CHECK_FALSE(MerkleVerify(root, m.leaves[2], past_end));
  past_end.index = ~uint64_t{0};
  CHECK_FALSE(MerkleVerify(root, m.leaves[2], past_end));

  MerkleProof longer = proof;
  longer.path.push_back(m.leaves[0]);
  CHECK_FALSE(MerkleVerify(root, m.leaves[2], longer));

  MerkleProof shorter = proof;
  shorter.path.pop_back();
  CHECK_FALSE(MerkleVerify(root, m.leaves[2], shorter));

  MerkleProof huge = proof;
  huge.leaf_count = ~uint64_t{0};
  CHECK_FALSE(MerkleVerify(root, m.leaves[2], huge));

  // One leaf: the proof must be empty.
  MerkleProof single{0, 1, {m.leaves[1]}};
  CHECK_FALSE(MerkleVerify(m.leaves[0], m.leaves[0], single));
}

TEST_CASE("the root does not commit to the leaf count, so callers must check leaf_count") {
  // [l0, l1, l2] read as 4 leaves hashes the same path the same way: the
  // count signed next to the root is what pins n.
  const Manifest m = MakeManifest(3);
  const Digest root = MerkleRoot(m.leaves);
  MerkleProof proof = MerkleProve(m.leaves, 0);
  proof.leaf_count = 4;
  CHECK(MerkleVerify(root, m.leaves[0], proof));
}

TEST_CASE("a leaf and an inner node with the same bytes hash differently") {
  const Manifest m = MakeManifest(2);
  // Domain separation: a 64-byte record that looks like two digests does not
  // produce the node over them.
  const Digest node = SpecNode(m.leaves[0], m.leaves[1]);
  CHECK(Hash("parley/leaf/v1", m.leaves[0].str() + m.leaves[1].str()) != node);
}

}  // namespace
}  // namespace parley
