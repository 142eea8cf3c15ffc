// Backup files: an online, consistent copy of a node's ledger and manifest
// store (`parley backup`), and the offline restore of one into a new data
// folder (`parley restore`). Layout in docs/PROTOCOL.md §9, "Backup file":
//
//   "PARLEYBK" | version u32le | ledger_id(32) | party u32le | created_ms u64le
//   record* : type(1) | length u32le | payload
//             1 charter (first, once), 2 entry (causal order),
//             3 fork proof, 4 manifest-store row (key_len u32le | key | value),
//             0xFF end (heads, counts; last)
//   H("parley/backup/v1", every byte before it) (32)
//
// The ledger part holds what the ledger's rules can check again — the
// charter, both feeds' signed entries and the fork proofs — and a restore
// rebuilds the ledger by ingesting them (every entry verified by
// Ledger::Ingest). The manifest rows are copied as stored (encrypted) after
// ManifestStore::RowCheck.
//
// Thread safety: functions only; a reader is used by one thread.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crypto/status.h"
#include "crypto/types.h"
#include "node/ledger/ledger.h"
#include "node/store/store.h"

namespace parley {

inline constexpr std::string_view kBackupMagic = "PARLEYBK";
inline constexpr uint32_t kBackupFormatVersion = 1;
inline constexpr std::string_view kBackupDomain = "parley/backup/v1";
// The largest record a reader accepts (a manifest's leaf row of 8 million
// records is 256 MiB).
inline constexpr uint32_t kMaxBackupRecordBytes = 256u << 20;

// The file a restore leaves in the data folder: the folder may be older than
// what the peer holds, so the node signs only once the peer has confirmed its
// own head, whatever `sign_without_peer_confirmation` says; the node removes
// it after that confirmation.
inline constexpr std::string_view kRestoredMarker = "restored-from-backup";

struct BackupSummary {
  Digest ledger_id;
  uint32_t party = 0;        // the node that made it
  int64_t created_ms = 0;
  uint64_t heads[2] = {0, 0};
  uint64_t entries = 0;
  uint64_t fork_proofs = 0;
  uint64_t manifest_rows = 0;
  uint64_t bytes = 0;        // the whole file
};

// Writes a backup of `ledger` and `manifests` (snapshots taken in that
// order, so every manifest an entry names is in the manifest snapshot if it
// was stored when the entry was) as bytes to `sink`, in pieces of about
// 1 MiB. Stops at the first error of a snapshot (kDataLoss: damage) or of
// the sink.
Result<BackupSummary> WriteBackup(const LedgerSnapshot& ledger, StoreSnapshot& manifests, uint32_t party,
                                  int64_t created_ms, const std::function<Status(std::string_view)>& sink);

class BackupReader {
 public:
  // Opens `path` and checks all of it before anything is used: magic,
  // version, every record's framing, the end record, and the digest.
  // Errors (kDataLoss, or kNotFound/kIoError for the file) say what is
  // wrong: not a backup, another version, cut short, damaged.
  static Result<std::unique_ptr<BackupReader>> Open(const std::filesystem::path& path);
  ~BackupReader();

  const BackupSummary& summary() const { return summary_; }

  struct Record {
    uint8_t type = 0;
    std::string payload;
  };
  // The next record from the start (after the header), nullopt after the
  // end record.
  Result<std::optional<Record>> Next();

 private:
  BackupReader() = default;
  std::FILE* file_ = nullptr;
  std::string path_;
  BackupSummary summary_;
  bool done_ = false;
};

// Restores the backup `file` into `data_dir` (and the manifest store into
// `manifest_dir`, default `data_dir`/manifests), offline. Refuses (and
// changes nothing) when a target folder exists and is not empty, when the
// file is not a whole, undamaged backup, or when an entry or row fails its
// checks: everything is built in a staging folder beside the target and
// renamed into place only when complete (and fsync'd). Leaves
// kRestoredMarker in `data_dir`.
Result<BackupSummary> RestoreBackup(const std::filesystem::path& file, const std::filesystem::path& data_dir,
                                    const std::filesystem::path& manifest_dir = {});

// Whether `data_dir` holds kRestoredMarker; removing it (with an fsync of
// the folder) once the peer has confirmed the node's own head.
bool WasRestored(const std::filesystem::path& data_dir);
Status ClearRestoredMarker(const std::filesystem::path& data_dir);

}  // namespace parley
