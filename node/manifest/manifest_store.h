// ManifestStore: a node's private store of manifests (its own and those the
// other party's node shared with it), encrypted at rest, in a LevelDB
// database of its own apart from the ledger (never exported, never
// replicated). Layout and cryptography: docs/PROTOCOL.md §8.7.
//
//   - A random 32-byte master key, kept only wrapped: encrypted under a key
//     derived from each signing key the node has held (so the data folder
//     alone, without the passphrase-protected key file, reads as noise).
//   - Each record (salt || canonical bytes) is encrypted under a random
//     per-record key; that key is stored wrapped under the master key in the
//     same row. Erasing a record deletes the row: its key, salt and text are
//     gone, while the leaf digests — and so the root, every signature and
//     every other record's proof — stay.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "crypto/seal.h"
#include "crypto/sign.h"
#include "node/protocol/charter.h"
#include "node/manifest/manifest.h"
#include "node/store/store.h"
#include "parley/v1/manifest.pb.h"

namespace parley {

class ManifestStore {
 public:
  // Opens the store over `store`, unwrapping the master key with `key`; an
  // empty store gets a fresh master key. kPermissionDenied if the store is
  // not empty (it holds manifests, or only master keys wrapped for other
  // signing keys) but holds no master key wrapped for `key`.
  static Result<std::unique_ptr<ManifestStore>> Open(std::unique_ptr<Store> store, const SecretKey& key);

  // Also wraps the master key for `key` (a rotation's next signing key), so
  // the store opens under either.
  Status AddKey(const SecretKey& key);

  // Salts, commits to and stores a manifest of `author` (this node's party).
  // REQUIRES: records non-empty, each passing CheckManifestRecord, ids unique
  // (ParseManifestCsv guarantees all three).
  Result<v1::ManifestInfo> Commit(std::vector<ManifestRecord> records, PartyIndex author);

  // Stores a manifest received from the other party's node after checking
  // it: ledger id, count, every record's bytes and rules, unique ids, and that
  // the leaves give `data.root()`. kDataLoss if not. Storing one already held
  // returns its info.
  Result<v1::ManifestInfo> Import(const v1::ManifestData& data, const Digest& ledger_id);

  // nullopt if not held.
  Result<std::optional<v1::ManifestInfo>> Find(const Digest& root) const;
  Result<std::vector<v1::ManifestInfo>> List() const;

  // The whole manifest as it is shared (erased records as leaf digests).
  Result<v1::ManifestData> Export(const Digest& root, const Digest& ledger_id) const;

  struct RecordProof {
    v1::ManifestInfo info;
    std::string record;  // canonical bytes
    Salt salt;
    MerkleProof proof;
  };
  // kNotFound if the manifest or the record (never held, or erased) is not here.
  Result<RecordProof> Prove(const Digest& root, std::string_view record_id) const;

  // Proofs of many records at once, the tree built once (bench, tests):
  // indexes in tree order.
  Result<std::vector<RecordProof>> ProveAll(const Digest& root) const;

  // The record ids of a manifest, in tree order; erased records are left out.
  Result<std::vector<std::string>> RecordIds(const Digest& root) const;

  // The canonical bytes of every record not erased, in tree order.
  Result<std::vector<std::string>> Records(const Digest& root) const;

  // Every reconciliation saved against `root`, decrypted.
  Result<std::vector<v1::SavedReconciliation>> Reconciliations(const Digest& root) const;

  // Keeps the per-person outcome of a reconciliation, encrypted, under the
  // ID of the signed Receipt that carries its figures (saved again for the
  // same receipt, it replaces the row). A matched or missing line whose
  // record is no longer held (erased meanwhile) names no one.
  Status SaveReconciliation(const Digest& root, std::string_view arrivals_csv, const ReconciliationResult& result,
                            const Digest& receipt);

  // Erases one record's plaintext (kNotFound if absent or already erased)
  // and, in the same write, its id from every saved matched or missing line
  // that names it (the line and its outcome stay, so the figures still add
  // up); then compacts the database so the deleted rows leave its files.
  Status Erase(const Digest& root, std::string_view record_id);

  // A consistent copy of every row as of now, for an online backup: the
  // rows stay encrypted (the backup holds what the data folder holds).
  Result<std::unique_ptr<StoreSnapshot>> Snapshot() const { return store_->Snapshot(); }

  // Checks rows of a manifest store read from elsewhere (a backup) before
  // they are written to a new store, without the key: each row's key has a
  // known kind and length; each `m` row parses and names its own root; each
  // `l` row's leaves give the root it is stored under and match that
  // manifest's count; every manifest has both rows. kDataLoss naming the
  // first row that fails.
  class RowCheck {
   public:
    Status Add(std::string_view key, std::string_view value);
    Status Finish() const;

   private:
    std::map<std::string, uint64_t> infos_;   // root -> count of its `m` row
    std::map<std::string, uint64_t> leaves_;  // root -> leaves of its `l` row
  };

 private:
  ManifestStore(std::unique_ptr<Store> store, SymmetricKey master)
      : store_(std::move(store)), master_(std::move(master)) {}

  struct Slot {
    Digest leaf;
    Salt salt;
    std::string record;  // canonical bytes; empty if erased
    std::string id;      // the record's id; empty if erased
  };
  // The record-id index: one `i` row per manifest, entries of
  // IdDigest(id)(16) || index(8) sorted by digest (§8.7). IdDigest is keyed
  // with the master key, so the data folder cannot confirm a guessed id.
  std::string IdDigest(const Digest& root, std::string_view record_id) const;
  // The index row of `root` (every manifest stored has one; kDataLoss if
  // it is missing or not whole entries).
  Result<std::string> LoadIndex(const Digest& root) const;
  // The record with `record_id`: its index and (salt, bytes); nullopt if the
  // manifest holds none (never on it, or erased). Reads one record.
  struct Found {
    uint64_t index;
    Salt salt;
    std::string record;
  };
  Result<std::optional<Found>> FindRecord(const Digest& root, uint64_t count, std::string_view record_id) const;

  Result<v1::ManifestInfo> Put(ManifestKind kind, PartyIndex author, const std::vector<Slot>& slots,
                               std::string_view random);
  Result<std::vector<Digest>> Leaves(const Digest& root, uint64_t count) const;
  // The manifest's info; kNotFound if not held.
  Result<v1::ManifestInfo> Held(const Digest& root) const;
  // Decrypts and decodes every record not erased, in tree order, calling fn
  // until it returns false. kDataLoss for a record that does not open or decode.
  using RecordFn = std::function<bool(uint64_t index, const Salt& salt, std::string& bytes,
                                      const ManifestRecord& record)>;
  Status ForEachRecord(const Digest& root, uint64_t count, const RecordFn& fn) const;
  // Decrypts and decodes each saved reconciliation of `root` (fn gets its
  // row key). kDataLoss for one that does not open or decode.
  Status ScanReconciliations(const Digest& root,
                             const std::function<void(std::string_view key, v1::SavedReconciliation&)>& fn) const;
  // Decrypts record `index`; nullopt if erased.
  Result<std::optional<std::pair<Salt, std::string>>> ReadRecord(const Digest& root, uint64_t index) const;

  std::unique_ptr<parley::Store> store_;
  SymmetricKey master_;
  std::mutex write_mu_;  // serialises read-modify-write of the header rows
};

}  // namespace parley
