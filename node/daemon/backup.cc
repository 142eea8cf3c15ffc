#include "node/daemon/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/endian.h"
#include "crypto/hash.h"
#include "node/manifest/manifest_store.h"
#include "node/report/bundle.h"

namespace parley {
namespace {

constexpr uint8_t kCharterRecord = 1;
constexpr uint8_t kEntryRecord = 2;
constexpr uint8_t kForkRecord = 3;
constexpr uint8_t kManifestRowRecord = 4;
constexpr uint8_t kEndRecord = 0xFF;
constexpr size_t kHeaderSize = 8 + 4 + 32 + 4 + 8;
constexpr size_t kEndSize = 5 * 8;  // heads[0], heads[1], entries, fork proofs, manifest rows
constexpr size_t kChunkBytes = 1 << 20;
constexpr size_t kReadBatch = 512;

// The bytes of a backup, hashed as they go and handed to the sink in chunks.
class Out {
 public:
  explicit Out(const std::function<Status(std::string_view)>& sink) : sink_(sink), hash_(kBackupDomain) {}

  Status Add(std::string_view bytes) {
    hash_.Update(bytes);
    buffer_ += bytes;
    bytes_ += bytes.size();
    return buffer_.size() >= kChunkBytes ? Flush() : Status::Ok();
  }
  Status Record(uint8_t type, std::string_view payload) {
    std::string head(1, static_cast<char>(type));
    AppendLittleEndian32(head, static_cast<uint32_t>(payload.size()));
    if (Status s = Add(head); !s.ok()) return s;
    return Add(payload);
  }
  // Appends the digest and hands over the rest.
  Status Finish() {
    const Digest d = hash_.Final();
    buffer_ += d.view();
    bytes_ += d.kSize;
    return Flush();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  Status Flush() {
    Status s;
    for (size_t off = 0; s.ok() && off < buffer_.size(); off += kChunkBytes) {
      s = sink_(std::string_view(buffer_).substr(off, kChunkBytes));
    }
    buffer_.clear();
    return s;
  }
  const std::function<Status(std::string_view)>& sink_;
  StreamHash hash_;
  std::string buffer_;
  uint64_t bytes_ = 0;
};

Status Damaged(const std::string& path, const std::string& what) {
  return Status(Code::kDataLoss, "backup file " + path + " is " + what + "; nothing was restored from it");
}

// fsyncs `path` (a file or a folder).
Status SyncPath(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(Code::kIoError, "cannot open " + path.string() + ": " + std::strerror(errno));
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return Status(Code::kIoError, "cannot fsync " + path.string() + ": " + std::strerror(err));
  return Status::Ok();
}

// fsyncs every file and folder under `dir`, and `dir`.
Status SyncTree(const std::filesystem::path& dir) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() || it->is_directory()) {
      if (Status s = SyncPath(it->path()); !s.ok()) return s;
    }
  }
  if (ec) return Status(Code::kIoError, "cannot list " + dir.string() + ": " + ec.message());
  return SyncPath(dir);
}

// OK if `dir` is absent or an empty folder.
Status CheckEmptyTarget(const std::filesystem::path& dir, const char* what) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return Status::Ok();
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status(Code::kFailedPrecondition, std::string(what) + " " + dir.string() +
                                                 " exists and is not a folder; nothing was changed");
  }
  std::string names;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    if (n++ < 3) names += (names.empty() ? "" : ", ") + it->path().filename().string();
  }
  if (n == 0) return Status::Ok();
  if (n > 3) names += ", …";
  return Status(Code::kFailedPrecondition, std::string(what) + " " + dir.string() + " is not empty (it holds " + names +
                                               "): restore writes only into a new or empty folder, never over a "
                                               "node's data; nothing was changed");
}

Status WriteMarker(const std::filesystem::path& dir, const BackupSummary& b) {
  const std::filesystem::path path = dir / std::string(kRestoredMarker);
  const std::string text =
      "parley: this data folder was restored from a backup of ledger " + ToHex(b.ledger_id) + " made at ms " +
      std::to_string(b.created_ms) + " (own feed of party " + std::to_string(b.party) + " up to seq " +
      std::to_string(b.heads[b.party < 2 ? b.party : 0]) +
      ").\nThe node signs only once the peer has confirmed its own head, and removes this file then.\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  const bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) return Status(Code::kIoError, "cannot write " + path.string() + ": " + std::strerror(err));
  return Status::Ok();
}

}  // namespace

Result<BackupSummary> WriteBackup(const LedgerSnapshot& ledger, StoreSnapshot& manifests, uint32_t party,
                                  int64_t created_ms, const std::function<Status(std::string_view)>& sink) {
  auto charter = Charter::Parse(ledger.signed_charter());
  if (!charter) return charter.error();
  BackupSummary summary;
  summary.ledger_id = charter->ledger_id();
  summary.party = party;
  summary.created_ms = created_ms;
  Out out(sink);
  std::string header(kBackupMagic);
  AppendLittleEndian32(header, kBackupFormatVersion);
  header += summary.ledger_id.view();
  AppendLittleEndian32(header, party);
  AppendLittleEndian64(header, static_cast<uint64_t>(created_ms));
  if (Status s = out.Add(header); !s.ok()) return s;
  if (Status s = out.Record(kCharterRecord, ledger.signed_charter()); !s.ok()) return s;

  // Both feeds, in a causal order (a restore ingests them in file order).
  const auto source = [&ledger](PartyIndex p) -> EnvelopeSource {
    auto state = std::make_shared<std::pair<uint64_t, std::vector<std::string>>>(1, std::vector<std::string>());
    auto pos = std::make_shared<size_t>(0);
    return [&ledger, p, state, pos]() -> Result<std::optional<std::string>> {
      auto& [next, buffer] = *state;
      if (*pos == buffer.size()) {
        auto batch = ledger.ReadEnvelopes(p, next, kReadBatch);
        if (!batch) return batch.error();
        buffer = std::move(*batch);
        *pos = 0;
        next += buffer.size();
        if (buffer.empty()) return std::optional<std::string>();
      }
      return std::optional<std::string>(std::move(buffer[(*pos)++]));
    };
  };
  const uint64_t have[2] = {0, 0};
  Status merged = MergeFeedsInCausalOrder(source(0), source(1), have, [&](PartyIndex, std::string envelope) {
    ++summary.entries;
    return out.Record(kEntryRecord, envelope);
  });
  if (!merged.ok()) return merged;
  summary.heads[0] = ledger.head(0);
  summary.heads[1] = ledger.head(1);
  if (summary.entries != summary.heads[0] + summary.heads[1]) {
    return Status(Code::kDataLoss, "the ledger snapshot's feeds do not follow each other's seen links (" +
                                       std::to_string(summary.entries) + " of " +
                                       std::to_string(summary.heads[0] + summary.heads[1]) + " entries ordered)");
  }
  auto forks = ledger.ForkProofs();
  if (!forks) return forks.error();
  for (const v1::ForkProof& f : *forks) {
    if (Status s = out.Record(kForkRecord, f.SerializeAsString()); !s.ok()) return s;
    ++summary.fork_proofs;
  }

  Status row_status;
  Status scanned = manifests.Scan("", std::string(1, '\xff'), [&](std::string_view key, std::string_view value) {
    std::string payload;
    AppendLittleEndian32(payload, static_cast<uint32_t>(key.size()));
    payload += key;
    payload += value;
    if (payload.size() > kMaxBackupRecordBytes) {
      row_status = Status(Code::kResourceExhausted, "a manifest store row of " + std::to_string(payload.size()) +
                                                        " bytes is larger than a backup record may be");
      return false;
    }
    row_status = out.Record(kManifestRowRecord, payload);
    ++summary.manifest_rows;
    return row_status.ok();
  });
  if (!scanned.ok()) return scanned;
  if (!row_status.ok()) return row_status;

  std::string end;
  AppendLittleEndian64(end, summary.heads[0]);
  AppendLittleEndian64(end, summary.heads[1]);
  AppendLittleEndian64(end, summary.entries);
  AppendLittleEndian64(end, summary.fork_proofs);
  AppendLittleEndian64(end, summary.manifest_rows);
  if (Status s = out.Record(kEndRecord, end); !s.ok()) return s;
  if (Status s = out.Finish(); !s.ok()) return s;
  summary.bytes = out.bytes();
  return summary;
}

BackupReader::~BackupReader() {
  if (file_) std::fclose(file_);
}

Result<std::unique_ptr<BackupReader>> BackupReader::Open(const std::filesystem::path& path) {
  std::unique_ptr<BackupReader> r(new BackupReader());
  r->path_ = path.string();
  r->file_ = std::fopen(path.c_str(), "rb");
  if (!r->file_) {
    const int err = errno;
    return Status(err == ENOENT ? Code::kNotFound : Code::kIoError,
                  "cannot open backup file " + r->path_ + ": " + std::strerror(err));
  }
  StreamHash hash(kBackupDomain);
  uint64_t offset = 0;
  std::string buf;
  // Reads exactly n bytes into buf (false at the end of the file).
  const auto read = [&](size_t n) {
    buf.resize(n);
    const size_t got = n ? std::fread(buf.data(), 1, n, r->file_) : 0;
    buf.resize(got);
    return got == n;
  };
  const auto cut = [&](const std::string& where) {
    return Damaged(r->path_, "cut short (it ends at byte " + std::to_string(offset + buf.size()) + ", inside " + where +
                                 "): an incomplete copy");
  };
  if (!read(kHeaderSize)) {
    if (buf.size() >= kBackupMagic.size() && std::string_view(buf).substr(0, 8) == kBackupMagic) return cut("its header");
    return Damaged(r->path_, "not a Parley backup file (too short)");
  }
  if (std::string_view(buf).substr(0, 8) != kBackupMagic) {
    return Damaged(r->path_, "not a Parley backup file (it does not begin with " + std::string(kBackupMagic) + ")");
  }
  const uint32_t version = ReadLittleEndian32(std::string_view(buf).substr(8));
  if (version != kBackupFormatVersion) {
    return Status(Code::kFailedPrecondition, "backup file " + r->path_ + " has format version " +
                                                 std::to_string(version) + "; this parley reads version " +
                                                 std::to_string(kBackupFormatVersion));
  }
  r->summary_.ledger_id = *Digest::FromBytes(std::string_view(buf).substr(12, 32));
  r->summary_.party = ReadLittleEndian32(std::string_view(buf).substr(44));
  r->summary_.created_ms = static_cast<int64_t>(ReadLittleEndian64(std::string_view(buf).substr(48)));
  hash.Update(buf);
  offset += buf.size();

  uint64_t counts[5] = {0, 0, 0, 0, 0};  // charter, entries, forks, rows, ends
  bool ended = false;
  while (!ended) {
    if (!read(5)) return cut("a record's header");
    const uint8_t type = static_cast<uint8_t>(buf[0]);
    const uint32_t length = ReadLittleEndian32(std::string_view(buf).substr(1));
    hash.Update(buf);
    offset += 5;
    const bool known = type == kCharterRecord || type == kEntryRecord || type == kForkRecord ||
                       type == kManifestRowRecord || type == kEndRecord;
    if (!known || length > kMaxBackupRecordBytes || (type == kEndRecord && length != kEndSize) ||
        (counts[0] == 0) != (type == kCharterRecord) || (type == kCharterRecord && counts[0] > 0)) {
      return Damaged(r->path_, "damaged: a record at byte " + std::to_string(offset - 5) + " is malformed");
    }
    if (!read(length)) return cut("a record");
    hash.Update(buf);
    offset += length;
    switch (type) {
      case kCharterRecord: ++counts[0]; break;
      case kEntryRecord: ++counts[1]; break;
      case kForkRecord: ++counts[2]; break;
      case kManifestRowRecord:
        if (length < 4 || ReadLittleEndian32(buf) > length - 4) {
          return Damaged(r->path_, "damaged: a manifest row at byte " + std::to_string(offset - length) + " is malformed");
        }
        ++counts[3];
        break;
      case kEndRecord: {
        const std::string_view e(buf);
        r->summary_.heads[0] = ReadLittleEndian64(e.substr(0));
        r->summary_.heads[1] = ReadLittleEndian64(e.substr(8));
        r->summary_.entries = ReadLittleEndian64(e.substr(16));
        r->summary_.fork_proofs = ReadLittleEndian64(e.substr(24));
        r->summary_.manifest_rows = ReadLittleEndian64(e.substr(32));
        ended = true;
        break;
      }
    }
  }
  if (!read(Digest::kSize)) return cut("its digest");
  const std::string stored = buf;
  offset += Digest::kSize;
  if (std::fgetc(r->file_) != EOF) {
    return Damaged(r->path_, "damaged: bytes follow its digest at byte " + std::to_string(offset));
  }
  if (hash.Final().view() != stored) {
    return Damaged(r->path_, "damaged: its digest does not match its content (a byte was changed)");
  }
  const BackupSummary& s = r->summary_;
  if (s.entries != counts[1] || s.fork_proofs != counts[2] || s.manifest_rows != counts[3] ||
      s.entries != s.heads[0] + s.heads[1]) {
    return Damaged(r->path_, "inconsistent: its end record's counts do not match its records");
  }
  r->summary_.bytes = offset;
  if (std::fseek(r->file_, static_cast<long>(kHeaderSize), SEEK_SET) != 0) {
    return Status(Code::kIoError, "cannot re-read backup file " + r->path_);
  }
  return r;
}

Result<std::optional<BackupReader::Record>> BackupReader::Next() {
  if (done_) return std::optional<Record>();
  Record rec;
  std::string head(5, '\0');
  if (std::fread(head.data(), 1, 5, file_) != 5) return Damaged(path_, "changed while it was read");
  rec.type = static_cast<uint8_t>(head[0]);
  const uint32_t length = ReadLittleEndian32(std::string_view(head).substr(1));
  if (length > kMaxBackupRecordBytes) return Damaged(path_, "changed while it was read");
  rec.payload.resize(length);
  if (length && std::fread(rec.payload.data(), 1, length, file_) != length) {
    return Damaged(path_, "changed while it was read");
  }
  if (rec.type == kEndRecord) {
    done_ = true;
    return std::optional<Record>();
  }
  return std::optional<Record>(std::move(rec));
}

namespace {

// Builds the restored data folder in `stage` (and the manifest store in
// `stage_manifests`) from `reader`.
Status BuildFromBackup(BackupReader& reader, const std::filesystem::path& stage,
                       const std::filesystem::path& stage_manifests) {
  const BackupSummary& summary = reader.summary();
  auto first = reader.Next();
  if (!first) return first.error();
  if (!*first || (*first)->type != kCharterRecord) return Status(Code::kDataLoss, "the backup holds no charter");
  auto charter = Charter::Parse((*first)->payload);
  if (!charter) return Status(Code::kDataLoss, "the backup's charter does not parse: " + charter.error().message());
  if (charter->ledger_id() != summary.ledger_id) {
    return Status(Code::kDataLoss, "the backup's charter is of ledger " + ToHex(charter->ledger_id()) +
                                       ", not the ledger its header names");
  }
  auto store = OpenLevelDbStore(stage);
  if (!store) return store.error();
  // Read-only (no key, no mark): every entry goes through the same checks
  // a node applies to what it receives.
  auto ledger = Ledger::Open(std::move(*store), (*first)->payload, LedgerOptions{});
  if (!ledger) return ledger.error();
  std::vector<std::string> batch;
  uint64_t ingested = 0;
  const auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    auto r = (*ledger)->IngestBatch(batch);
    if (!r) {
      return Status(Code::kDataLoss, "an entry of the backup (after " + std::to_string(ingested) +
                                         " restored) is refused by the ledger's checks: " + r.error().message());
    }
    if (r->stored != batch.size()) {
      return Status(Code::kDataLoss, "the backup holds an entry twice, or one that forks its feed, near entry " +
                                         std::to_string(ingested + r->stored + 1));
    }
    ingested += batch.size();
    batch.clear();
    return Status::Ok();
  };

  auto manifest_db = OpenLevelDbStore(stage_manifests);
  if (!manifest_db) return manifest_db.error();
  ManifestStore::RowCheck check;
  WriteBatch rows;
  size_t row_bytes = 0;
  const auto flush_rows = [&]() -> Status {
    if (rows.empty()) return Status::Ok();
    Status s = (*manifest_db)->Write(rows, false);
    rows = WriteBatch();
    row_bytes = 0;
    return s;
  };

  for (;;) {
    auto rec = reader.Next();
    if (!rec) return rec.error();
    if (!*rec) break;
    switch ((*rec)->type) {
      case kEntryRecord:
        batch.push_back(std::move((*rec)->payload));
        if (batch.size() >= kReadBatch) {
          if (Status s = flush(); !s.ok()) return s;
        }
        break;
      case kForkRecord: {
        if (Status s = flush(); !s.ok()) return s;
        v1::ForkProof proof;
        if (!proof.ParseFromString((*rec)->payload)) return Status(Code::kDataLoss, "a fork proof of the backup does not parse");
        auto outcome = (*ledger)->Ingest(proof.second().SerializeAsString());
        if (outcome && *outcome == IngestOutcome::kDuplicate) outcome = (*ledger)->Ingest(proof.first().SerializeAsString());
        if (!outcome || *outcome != IngestOutcome::kFork) {
          return Status(Code::kDataLoss, "a fork proof of the backup does not prove a fork of the entries it holds" +
                                             (outcome ? std::string() : ": " + outcome.error().message()));
        }
        break;
      }
      case kManifestRowRecord: {
        if (Status s = flush(); !s.ok()) return s;
        const std::string& p = (*rec)->payload;
        const uint32_t key_len = ReadLittleEndian32(p);
        const std::string_view key = std::string_view(p).substr(4, key_len);
        const std::string_view value = std::string_view(p).substr(4 + key_len);
        if (Status s = check.Add(key, value); !s.ok()) return s;
        rows.Put(std::string(key), std::string(value));
        row_bytes += p.size();
        if (row_bytes >= (8u << 20)) {
          if (Status s = flush_rows(); !s.ok()) return s;
        }
        break;
      }
      default: return Status(Code::kDataLoss, "the backup holds a second charter");
    }
  }
  if (Status s = flush(); !s.ok()) return s;
  if (Status s = flush_rows(); !s.ok()) return s;
  if (Status s = check.Finish(); !s.ok()) return s;
  for (PartyIndex p = 0; p < 2; ++p) {
    if ((*ledger)->Head(p).seq != summary.heads[p]) {
      return Status(Code::kDataLoss, "the restored feed of " + charter->party_code(p) + " ends at seq " +
                                         std::to_string((*ledger)->Head(p).seq) + ", the backup says " +
                                         std::to_string(summary.heads[p]));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<BackupSummary> RestoreBackup(const std::filesystem::path& file, const std::filesystem::path& data_dir_in,
                                    const std::filesystem::path& manifest_dir_in) {
  // Absolute, normal, without a trailing separator ("data/" is "data").
  const auto normal = [](const std::filesystem::path& p) {
    std::filesystem::path n = std::filesystem::absolute(p).lexically_normal();
    return n.has_filename() ? n : n.parent_path();
  };
  const std::filesystem::path data_dir = normal(data_dir_in);
  const std::filesystem::path manifest_dir = manifest_dir_in.empty() ? data_dir / "manifests" : normal(manifest_dir_in);
  const std::filesystem::path rel = manifest_dir.lexically_relative(data_dir);
  const bool inside = !rel.empty() && *rel.begin() != ".." && rel != ".";
  if (Status s = CheckEmptyTarget(data_dir, "data folder"); !s.ok()) return s;
  if (!inside) {
    if (Status s = CheckEmptyTarget(manifest_dir, "manifest folder"); !s.ok()) return s;
  }
  auto reader = BackupReader::Open(file);
  if (!reader) return reader.error();

  // Built beside the targets, renamed into place once complete.
  const std::string tag = ".restoring-" + std::to_string(::getpid());
  const std::filesystem::path stage = data_dir.parent_path() / ("." + data_dir.filename().string() + tag);
  const std::filesystem::path stage_manifests =
      inside ? stage / rel : manifest_dir.parent_path() / ("." + manifest_dir.filename().string() + tag);
  std::error_code ec;
  std::filesystem::create_directories(data_dir.parent_path(), ec);
  if (!inside) std::filesystem::create_directories(manifest_dir.parent_path(), ec);
  const auto cleanup = [&] {
    std::error_code ignored;
    std::filesystem::remove_all(stage, ignored);
    if (!inside) std::filesystem::remove_all(stage_manifests, ignored);
  };
  cleanup();
  Status built = BuildFromBackup(**reader, stage, stage_manifests);
  if (built.ok()) built = WriteMarker(stage, (*reader)->summary());
  if (built.ok()) built = SyncTree(stage);
  if (built.ok() && !inside) built = SyncTree(stage_manifests);
  if (!built.ok()) {
    cleanup();
    return Status(built.code(), built.message() + "; nothing was restored");
  }
  // rename(2) replaces an absent or empty folder; a folder filled meanwhile
  // makes it fail (ENOTEMPTY) and nothing is replaced.
  if (!inside && ::rename(stage_manifests.c_str(), manifest_dir.c_str()) != 0) {
    const int err = errno;
    cleanup();
    return Status(Code::kIoError, "cannot move the restored manifest store to " + manifest_dir.string() + ": " +
                                      std::strerror(err) + "; nothing was restored");
  }
  if (::rename(stage.c_str(), data_dir.c_str()) != 0) {
    const int err = errno;
    cleanup();
    return Status(Code::kIoError, "cannot move the restored data folder to " + data_dir.string() + ": " +
                                      std::strerror(err) + (inside ? "" : " (the manifest store is already in place)") +
                                      "; restore the data folder again");
  }
  if (Status s = SyncPath(data_dir.parent_path()); !s.ok()) return s;
  if (!inside) {
    if (Status s = SyncPath(manifest_dir.parent_path()); !s.ok()) return s;
  }
  return (*reader)->summary();
}

bool WasRestored(const std::filesystem::path& data_dir) {
  std::error_code ec;
  return std::filesystem::exists(data_dir / std::string(kRestoredMarker), ec);
}

Status ClearRestoredMarker(const std::filesystem::path& data_dir) {
  const std::filesystem::path path = data_dir / std::string(kRestoredMarker);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status(Code::kIoError, "cannot remove " + path.string() + ": " + std::strerror(errno));
  }
  return SyncPath(data_dir);
}

}  // namespace parley
