// A transparency log the tests build themselves (not Parley's): arbitrary
// leaves, its own Ed25519 key and origin, checkpoints as signed notes and
// add-checkpoint bodies, for witnessing.
#pragma once

#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "crypto/sign.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"
#include "node/witness/witness.h"

namespace parley::test {

// The key whose seed is 32 bytes of `b` (test logs' and witnesses' keys).
inline SecretKey KeyFilledWith(uint8_t b) {
  Seed s;
  s.bytes.fill(b);
  return SecretKey::FromSeed(s);
}

class TestLog {
 public:
  // Leaf i is "leaf i"; with `fork_prefix` set, leaves from `fork_from` on
  // are "<fork_prefix> i" instead: a fork of the same log (same origin and
  // key) sharing its first `fork_from` leaves.
  TestLog(std::string origin, uint8_t seed_byte, std::string fork_prefix = "", uint64_t fork_from = UINT64_MAX)
      : origin_(std::move(origin)), key_(KeyFilledWith(seed_byte)), prefix_(std::move(fork_prefix)), fork_from_(fork_from) {}

  const std::string& origin() const { return origin_; }
  const SecretKey& key() const { return key_; }
  NoteVerifier verifier() const { return NoteVerifier{origin_, NoteKeyType::kEd25519, key_.public_key()}; }
  WitnessLog witness_log() const { return WitnessLog{origin_, {verifier()}}; }

  std::string Leaf(uint64_t i) const {
    return (i < fork_from_ ? std::string("leaf") : prefix_) + " " + std::to_string(i);
  }
  MerkleTree Tree(uint64_t n) const {
    std::vector<Digest> leaves;
    for (uint64_t i = 0; i < n; ++i) leaves.push_back(Rfc6962LeafHash(Leaf(i)));
    return MerkleTree(std::move(leaves), MerkleScheme::kRfc6962);
  }
  std::string CheckpointText(uint64_t n) const {
    return FormatCheckpoint(Checkpoint{origin_, n, Tree(n).root(), {}});
  }
  // The checkpoint of size n signed by the log's key.
  std::string SignedCheckpoint(uint64_t n) const {
    const std::string text = CheckpointText(n);
    return FormatNote(Note{text, {SignNote(key_, origin_, text)}});
  }
  // An add-checkpoint body from old size m to n with the right proof.
  std::string Body(uint64_t m, uint64_t n) const {
    return FormatAddCheckpoint(AddCheckpointRequest{m, Tree(n).ConsistencyProof(m), SignedCheckpoint(n)});
  }

 private:
  std::string origin_;
  SecretKey key_;
  std::string prefix_;
  uint64_t fork_from_;
};

}  // namespace parley::test
