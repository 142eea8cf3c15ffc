// HighWaterMark: a small file, kept apart from the data folder, recording the
// highest seq this node has signed in its own feed. If the data folder is
// lost or rolled back to an older copy, its head falls below the mark and the
// node refuses to sign until it has recovered its feed (from the peer), so it
// never signs two different entries at one seq.
//
// File layout (80 bytes, written in place with one pwrite + fdatasync):
//   "PARLEYH1" (8) | ledger_id (32) | seq u64 little-endian (8) |
//   BLAKE2b-256("parley/hwm/v1" || the preceding 48 bytes) (32)
//
// One signer per mark: Open takes an exclusive lock (an OFD lock, fcntl
// F_OFD_SETLK) on the lock file `<mark>.lock` beside the mark and holds it
// until the HighWaterMark is destroyed; the lock file then holds the
// holder's pid as decimal text (for the message a second opener gets). The
// mark is read only after the lock is taken, so what the Ledger compares
// with its stored head is the newest mark any signer wrote. The lock file
// is never removed (removing a held lock file would let a second opener
// lock a new one). A file system without OFD locks makes Open fail
// (kIoError), on the safe side. A lock is local to one machine and one mark
// file: the same key with another mark, or on another machine, is not
// stopped here (docs/PROTOCOL.md, "One signer per key").
//
// Thread safety: not thread-safe; the Ledger serializes calls.
#pragma once

#include <filesystem>
#include <memory>

#include "crypto/status.h"
#include "crypto/types.h"

namespace parley {

class HighWaterMark {
 public:
  // Locks, then opens or creates (mode 0600), the mark for `ledger_id`.
  // Fails if another process (or another HighWaterMark in this one) holds
  // the lock (kAlreadyExists, naming the holder's pid and the lock file), if
  // the file is corrupt (kDataLoss) or belongs to another ledger
  // (kFailedPrecondition).
  static Result<std::unique_ptr<HighWaterMark>> Open(const std::filesystem::path& path,
                                                     const Digest& ledger_id);
  ~HighWaterMark();

  uint64_t seq() const { return seq_; }

  // Durably records `seq`. REQUIRES: seq >= this->seq(). On error seq() is
  // unchanged and the file may hold the old or the new mark (a later Advance
  // rewrites it whole). Errors: kResourceExhausted if the disk is full (ENOSPC,
  // EDQUOT), kIoError otherwise.
  Status Advance(uint64_t seq);

  // Re-reads the mark from its path before a signature (a second line of
  // defence behind the lock: a lock file removed by hand, or a mark file
  // replaced). If the file says a higher seq than seq(), another signer has
  // used the key: seq() takes that value (so the Ledger's rollback check
  // stops signing) and the result is kFailedPrecondition. kDataLoss if the
  // file is corrupt or of another ledger, kIoError if it cannot be read;
  // seq() is then unchanged.
  Status Reread();

 private:
  HighWaterMark(int lock_fd, int fd, Digest ledger_id, uint64_t seq, std::filesystem::path path)
      : lock_fd_(lock_fd), fd_(fd), ledger_id_(ledger_id), seq_(seq), path_(std::move(path)) {}
  int lock_fd_;  // holds the lock while open
  int fd_;
  Digest ledger_id_;
  uint64_t seq_;
  std::filesystem::path path_;
};

}  // namespace parley
