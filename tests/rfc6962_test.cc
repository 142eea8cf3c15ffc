// RFC 6962 Merkle trees (crypto/merkle.h, scheme kRfc6962): the published
// Certificate Transparency reference vectors, and property tests against an
// independent recursive implementation of RFC 6962 §2.1 written out below.
#include <doctest/doctest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "crypto/merkle.h"

namespace parley {
namespace {

Digest D(std::string_view hex) { return *Digest::FromBytes(*FromHex(hex)); }
std::string Bin(std::string_view hex) { return *FromHex(hex); }

// RFC 6962 §2.1, recursively, straight from the text (independent of merkle.cc).
Digest RefMth(const std::vector<std::string>& d, size_t lo, size_t hi) {
  if (hi == lo) return Sha256("");
  if (hi - lo == 1) return Sha256(std::string(1, '\0') + d[lo]);
  size_t k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return Sha256(std::string(1, '\1') + RefMth(d, lo, lo + k).str() + RefMth(d, lo + k, hi).str());
}

void RefSubProof(const std::vector<std::string>& d, size_t m, size_t lo, size_t hi, bool b,
                 std::vector<Digest>& out) {
  const size_t n = hi - lo;
  if (m == n) {
    if (!b) out.push_back(RefMth(d, lo, hi));
    return;
  }
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  if (m <= k) {
    RefSubProof(d, m, lo, lo + k, b, out);
    out.push_back(RefMth(d, lo + k, hi));
  } else {
    RefSubProof(d, m - k, lo + k, hi, false, out);
    out.push_back(RefMth(d, lo, lo + k));
  }
}

std::vector<Digest> LeafHashes(const std::vector<std::string>& d, size_t n) {
  std::vector<Digest> out;
  for (size_t i = 0; i < n; ++i) out.push_back(Rfc6962LeafHash(d[i]));
  return out;
}

// The Certificate Transparency reference data (as published with the
// transparency-dev/merkle Go module's proof tests): eight leaves, the roots
// of the trees of sizes 1..8, audit paths and consistency proofs.
const std::vector<std::string> kLeaves = {
    "", Bin("00"), Bin("10"), Bin("2021"), Bin("3031"), Bin("40414243"), Bin("5051525354555657"),
    Bin("606162636465666768696a6b6c6d6e6f")};
const std::vector<Digest> kRoots = {
    D("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    D("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    D("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    D("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    D("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    D("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    D("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    D("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
};

struct ConsistencyVector {
  uint64_t old_size, new_size;
  std::vector<Digest> proof;
};
const std::vector<ConsistencyVector> kConsistency = {
    {1, 1, {}},
    {1, 8,
     {D("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
      D("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
      D("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")}},
    {6, 8,
     {D("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
      D("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
      D("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}},
    {2, 5,
     {D("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
      D("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")}},
    {6, 7,
     {D("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
      D("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
      D("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}},
};

TEST_CASE("RFC 6962 hashes: leaf 0x00 prefix, node 0x01 prefix, SHA-256; the empty tree is SHA-256 of nothing") {
  CHECK(ToHex(Rfc6962EmptyRoot()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Rfc6962LeafHash("abc") == Sha256(std::string("\0abc", 4)));
  const Digest l = Sha256("l"), r = Sha256("r");
  CHECK(Rfc6962NodeHash(l, r) == Sha256("\x01" + l.str() + r.str()));
  CHECK(MerkleTree({}, MerkleScheme::kRfc6962).root() == Rfc6962EmptyRoot());
  CHECK(MerkleTree({}, MerkleScheme::kRfc6962).size() == 0);
}

TEST_CASE("RFC 6962 roots of the reference vectors, sizes 1 to 8") {
  for (size_t n = 1; n <= 8; ++n) {
    CAPTURE(n);
    CHECK(MerkleTree(LeafHashes(kLeaves, n), MerkleScheme::kRfc6962).root() == kRoots[n - 1]);
    CHECK(RefMth(kLeaves, 0, n) == kRoots[n - 1]);
  }
}

TEST_CASE("RFC 6962 audit paths of the reference vectors") {
  struct V {
    uint64_t index, size;
    std::vector<Digest> path;
  };
  const std::vector<V> vectors = {
      {0, 1, {}},
      {0, 8,
       {D("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        D("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        D("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")}},
      {5, 8,
       {D("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        D("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        D("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}},
      {2, 3, {D("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")}},
      {1, 5,
       {D("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        D("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        D("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")}},
  };
  for (const auto& v : vectors) {
    CAPTURE(v.index);
    CAPTURE(v.size);
    MerkleTree tree(LeafHashes(kLeaves, v.size), MerkleScheme::kRfc6962);
    const MerkleProof proof = tree.Prove(v.index);
    CHECK(proof.path == v.path);
    CHECK(MerkleVerify(kRoots[v.size - 1], Rfc6962LeafHash(kLeaves[v.index]), proof, MerkleScheme::kRfc6962));
    CHECK_FALSE(MerkleVerify(kRoots[v.size - 1], Rfc6962LeafHash("other"), proof, MerkleScheme::kRfc6962));
  }
}

TEST_CASE("RFC 6962 consistency proofs of the reference vectors: generated byte for byte, and verified") {
  for (const auto& v : kConsistency) {
    CAPTURE(v.old_size);
    CAPTURE(v.new_size);
    MerkleTree tree(LeafHashes(kLeaves, v.new_size), MerkleScheme::kRfc6962);
    CHECK(tree.ConsistencyProof(v.old_size) == v.proof);
    CHECK(Rfc6962VerifyConsistency(v.old_size, v.new_size, kRoots[v.old_size - 1], kRoots[v.new_size - 1], v.proof));
    if (v.proof.empty()) continue;
    // The corruptions the reference test applies, each refused.
    CHECK_FALSE(Rfc6962VerifyConsistency(v.old_size - 1, v.new_size, kRoots[v.old_size - 1], kRoots[v.new_size - 1], v.proof));
    CHECK_FALSE(Rfc6962VerifyConsistency(v.old_size + 1, v.new_size, kRoots[v.old_size - 1], kRoots[v.new_size - 1], v.proof));
    CHECK_FALSE(Rfc6962VerifyConsistency(v.old_size ^ 2, v.new_size, kRoots[v.old_size - 1], kRoots[v.new_size - 1], v.proof));
    CHECK_FALSE(Rfc6962VerifyConsistency(v.old_size, v.new_size * 2, kRoots[v.old_size - 1], kRoots[v.new_size - 1], v.proof));
    CHECK_FALSE(Rfc6962VerifyConsistency(v.old_size, v.new_size / 2, kRoots[v.old_size - 1], kRoots[v.new_size - 1], v.proof));
    CHECK_FALSE(Rfc6962VerifyConsistency(v.old_size, v.new_size, kRoots[v.new_size - 1], kRoots[v.old_size - 1], v.proof));
    CHECK_FALSE(Rfc6962VerifyConsistency(v.old_size, v.new_size, kRoots[v.old_size - 1], kRoots[v.new_size - 1], {}));
  }
}

TEST_CASE("RFC 6962 consistency edge cases follow tlog-witness: size 0 and equal sizes") {
  const Digest a = Sha256("a"), b = Sha256("b");
  CHECK(Rfc6962VerifyConsistency(0, 0, a, a, {}));
  CHECK(Rfc6962VerifyConsistency(0, 5, a, b, {}));
  CHECK_FALSE(Rfc6962VerifyConsistency(0, 5, a, b, {a}));
  CHECK(Rfc6962VerifyConsistency(3, 3, a, a, {}));
  CHECK_FALSE(Rfc6962VerifyConsistency(3, 3, a, b, {}));
  CHECK_FALSE(Rfc6962VerifyConsistency(3, 3, a, a, {a}));
  CHECK_FALSE(Rfc6962VerifyConsistency(4, 3, a, a, {}));
  CHECK_FALSE(Rfc6962VerifyConsistency(1, 2, a, b, {}));
}

TEST_CASE("property: in random trees every consistency proof between any two sizes verifies, and every tampered one does not") {
  std::mt19937_64 rng(6962);
  for (int round = 0; round < 6; ++round) {
    const size_t n = 1 + rng() % 70;
    std::vector<std::string> data;
    for (size_t i = 0; i < n; ++i) data.push_back(std::string(rng() % 9, static_cast<char>('a' + rng() % 26)));
    MerkleTree full(LeafHashes(data, n), MerkleScheme::kRfc6962);
    REQUIRE(full.root() == RefMth(data, 0, n));
    for (size_t m = 0; m <= n; ++m) {
      const Digest old_root = RefMth(data, 0, m);
      for (size_t k = m; k <= n; ++k) {
        CAPTURE(m);
        CAPTURE(k);
        MerkleTree tree(LeafHashes(data, k), MerkleScheme::kRfc6962);
        const Digest new_root = RefMth(data, 0, k);
        REQUIRE(tree.root() == new_root);
        const std::vector<Digest> proof = tree.ConsistencyProof(m);
        std::vector<Digest> ref;
        if (m > 0 && m < k) RefSubProof(data, m, 0, k, true, ref);
        REQUIRE(proof == ref);
        REQUIRE(Rfc6962VerifyConsistency(m, k, old_root, new_root, proof));
        if (m == 0 || m == k) continue;
        // Every single-bit flip of every element, every dropped element,
        // an extra element, a wrong root on either side.
        for (size_t i = 0; i < proof.size(); ++i) {
          auto bad = proof;
          bad[i].bytes[rng() % 32] ^= static_cast<uint8_t>(1u << (rng() % 8));
          REQUIRE_FALSE(Rfc6962VerifyConsistency(m, k, old_root, new_root, bad));
          auto shorter = proof;
          shorter.erase(shorter.begin() + static_cast<long>(i));
          REQUIRE_FALSE(Rfc6962VerifyConsistency(m, k, old_root, new_root, shorter));
        }
        auto longer = proof;
        longer.push_back(new_root);
        REQUIRE_FALSE(Rfc6962VerifyConsistency(m, k, old_root, new_root, longer));
        REQUIRE_FALSE(Rfc6962VerifyConsistency(m, k, Sha256("x"), new_root, proof));
        REQUIRE_FALSE(Rfc6962VerifyConsistency(m, k, old_root, Sha256("x"), proof));
        // A different history of the same sizes is not consistent.
        auto other = data;
        other[rng() % m] += "!";
        REQUIRE_FALSE(Rfc6962VerifyConsistency(m, k, RefMth(other, 0, m), new_root, proof));
      }
    }
  }
}

TEST_CASE("a tree grown leaf by leaf equals the tree built at once, at every size, in both hashings") {
  std::mt19937_64 rng(42);
  for (MerkleScheme scheme : {MerkleScheme::kRfc6962, MerkleScheme::kManifest}) {
    std::vector<Digest> leaves;
    std::optional<MerkleTree> grown;
    if (scheme == MerkleScheme::kRfc6962) grown.emplace(std::vector<Digest>{}, scheme);
    for (size_t n = 1; n <= 130; ++n) {
      Digest leaf;
      for (auto& b : leaf.bytes) b = static_cast<uint8_t>(rng());
      leaves.push_back(leaf);
      if (grown) {
        grown->Append(leaf);
      } else {
        grown.emplace(leaves, scheme);
      }
      const MerkleTree built(leaves, scheme);
      CAPTURE(n);
      REQUIRE(grown->size() == n);
      REQUIRE(grown->root() == built.root());
      const uint64_t i = rng() % n;
      CHECK(grown->Prove(i).path == built.Prove(i).path);
      if (scheme == MerkleScheme::kRfc6962) {
        const uint64_t m = rng() % (n + 1);
        CHECK(grown->ConsistencyProof(m) == built.ConsistencyProof(m));
      }
    }
  }
}

}  // namespace
}  // namespace parley
