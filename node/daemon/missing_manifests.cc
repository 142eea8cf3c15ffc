#include "node/daemon/missing_manifests.h"

#include "node/daemon/log.h"

namespace parley {

std::vector<v1::ManifestCommitment> OwnManifestCommitments(const v1::Entry& e, PartyIndex self) {
  std::vector<v1::ManifestCommitment> out;
  if (e.author() != self) return out;
  for (CarriedManifest& c : ManifestCommitmentsOf(e)) {
    if (c.sender == self) out.push_back(std::move(c.commitment));
  }
  return out;
}

Result<std::vector<v1::MissingManifest>> MissingManifests::Check() {
  std::lock_guard lock(mu_);
  const PartyIndex self = *ledger_.self();
  const uint64_t head = ledger_.Head(self).seq;
  // Envelopes as stored (each was verified before it was stored): parsed,
  // not verified again, so a first check of a long feed stays cheap.
  while (scanned_ < head) {
    auto batch = ledger_.ReadEnvelopes(self, scanned_ + 1, 1024);
    if (!batch) return batch.error();
    if (batch->empty()) break;
    for (const std::string& envelope : *batch) {
      v1::SignedEntry se;
      v1::Entry e;
      if (!se.ParseFromString(envelope) || !e.ParseFromString(se.entry())) {
        return Status(Code::kDataLoss, "own entry " + std::to_string(scanned_ + 1) + " as stored does not parse");
      }
      for (const v1::ManifestCommitment& m : OwnManifestCommitments(e, self)) {
        if (missing_.contains(m.root())) continue;
        auto root = Digest::FromBytes(m.root());
        if (!root) continue;  // the entry rules allow only 32-byte roots
        auto held = manifests_.Find(*root);
        if (!held) return held.error();
        if (held->has_value()) continue;
        v1::MissingManifest& miss = missing_[m.root()];
        miss.set_root(m.root());
        miss.set_count(m.count());
        miss.set_seq(e.seq());
        order_.push_back(m.root());
        Log(LogLevel::kError,
            "manifest missing: an own entry names a manifest this node does not hold (committed after the backup "
            "this node was restored from?); it cannot be recovered from the peer",
            {{"manifest", ToHex(*root)}, {"records", std::to_string(m.count())}, {"seq", std::to_string(e.seq())}});
      }
      ++scanned_;  // only once the entry is done: an error retries it
    }
  }
  std::vector<v1::MissingManifest> out;
  for (const std::string& root : order_) out.push_back(missing_[root]);
  return out;
}

}  // namespace parley
