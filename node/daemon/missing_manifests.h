// MissingManifests: the node's own manifests that its own feed names but its
// manifest store does not hold — after a restore from a backup, those
// committed after the backup was made. Manifests are private (never
// replicated), so the peer cannot give them back; the node names each one
// (`parley status`, and an error line in the log when first found) instead of
// losing it without a word.
//
// An own entry names an own manifest in a Disclose, a Handover, or a
// Propose's transfer whose sender is the node's party. Only the node's own
// feed is read: what the other party's entries name is not the node's to
// hold. A manifest committed after the backup that no own entry names yet
// cannot be found this way.
//
// Thread safety: Check may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "node/ledger/ledger.h"
#include "node/manifest/manifest_store.h"
#include "parley/v1/operator.pb.h"

namespace parley {

// The commitments to manifests of `self` that entry `e` (of `self`'s feed)
// carries.
std::vector<v1::ManifestCommitment> OwnManifestCommitments(const v1::Entry& e, PartyIndex self);

class MissingManifests {
 public:
  MissingManifests(const Ledger& ledger, const ManifestStore& manifests) : ledger_(ledger), manifests_(manifests) {}

  // Reads the own entries stored since the last call and returns every own
  // manifest named and not held, in the order first named. Logs each one
  // the first time it is found.
  Result<std::vector<v1::MissingManifest>> Check();

 private:
  const Ledger& ledger_;
  const ManifestStore& manifests_;
  std::mutex mu_;
  uint64_t scanned_ = 0;                               // own seqs read so far
  std::map<std::string, v1::MissingManifest> missing_;  // by root
  std::vector<std::string> order_;                     // roots, first named first
};

}  // namespace parley
