#include "node/report/bundle.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace parley {
namespace {

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

uint64_t SeenSeq(const std::string& envelope) {
  v1::SignedEntry s;
  v1::Entry e;
  if (!s.ParseFromString(envelope) || !e.ParseFromString(s.entry())) return 0;
  return e.has_seen() ? e.seen().seq() : 0;
}

}  // namespace

Result<std::unique_ptr<BundleWriter>> BundleWriter::Create(const std::filesystem::path& path, const Charter& charter,
                                                           const std::string& exported_by, int64_t exported_ms) {
  std::unique_ptr<BundleWriter> w(new BundleWriter());
  w->path_ = path;
  w->file_ = std::fopen(path.c_str(), "wb");
  if (!w->file_) return Status(Code::kIoError, "cannot create " + path.string() + ": " + std::strerror(errno));
  if (std::fwrite(kBundleMagic.data(), 1, kBundleMagic.size(), w->file_) != kBundleMagic.size()) {
    return Status(Code::kIoError, "cannot write " + path.string());
  }
  v1::BundleRecord header;
  header.mutable_header()->set_format_version(kBundleFormatVersion);
  header.mutable_header()->set_ledger_id(charter.ledger_id().str());
  header.mutable_header()->set_exported_ms(exported_ms);
  header.mutable_header()->set_exported_by(exported_by);
  if (Status s = w->Write(header); !s.ok()) return s;
  v1::BundleRecord c;
  c.set_charter(charter.signed_bytes());
  if (Status s = w->Write(c); !s.ok()) return s;
  return w;
}

BundleWriter::~BundleWriter() {
  if (file_) std::fclose(file_);
}

Status BundleWriter::Write(const v1::BundleRecord& record) {
  std::string bytes = record.SerializeAsString();
  std::string len = Varint(bytes.size());
  if (std::fwrite(len.data(), 1, len.size(), file_) != len.size() ||
      std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return Status(Code::kIoError, "cannot write " + path_.string() + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Status BundleWriter::AddEntry(const std::string& envelope) {
  v1::BundleRecord r;
  r.set_entry(envelope);
  ++entries_;
  return Write(r);
}

Status BundleWriter::AddForkProof(const v1::ForkProof& proof) {
  v1::BundleRecord r;
  *r.mutable_fork_proof() = proof;
  ++forks_;
  return Write(r);
}

Status BundleWriter::AddCheckpoint(const std::string& note) {
  v1::BundleRecord r;
  r.set_checkpoint(note);
  ++checkpoints_;
  return Write(r);
}

Status BundleWriter::Finish() {
  v1::BundleRecord r;
  r.mutable_trailer()->set_entry_count(entries_);
  r.mutable_trailer()->set_fork_proof_count(forks_);
  r.mutable_trailer()->set_checkpoint_count(checkpoints_);
  if (Status s = Write(r); !s.ok()) return s;
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) {
    return Status(Code::kIoError, "cannot flush " + path_.string() + ": " + std::strerror(errno));
  }
  std::fclose(file_);
  file_ = nullptr;
  return Status::Ok();
}

Status MergeFeedsInCausalOrder(const EnvelopeSource& feed0, const EnvelopeSource& feed1, const uint64_t have[2],
                               const CausalSink& sink) {
  const EnvelopeSource* src[2] = {&feed0, &feed1};
  std::optional<std::string> pending[2];
  bool ended[2] = {false, false};
  uint64_t written[2] = {have[0], have[1]};
  auto fill = [&](int p) -> Status {
    if (pending[p] || ended[p]) return Status::Ok();
    auto next = (*src[p])();
    if (!next) return next.error();
    if (!next->has_value()) ended[p] = true;
    else pending[p] = std::move(**next);
    return Status::Ok();
  };
  while (true) {
    if (Status s = fill(0); !s.ok()) return s;
    if (Status s = fill(1); !s.ok()) return s;
    if (!pending[0] && !pending[1]) return Status::Ok();
    int pick = -1;
    for (int p = 0; p < 2 && pick < 0; ++p) {
      if (pending[p] && SeenSeq(*pending[p]) <= written[1 - p]) pick = p;
    }
    if (pick < 0) {
      // Neither can go next: a feed names an entry the other does not have.
      // Hand it over anyway so that the consumer reports it (seen-mismatch).
      pick = pending[0] ? 0 : 1;
    }
    std::string envelope = std::move(*pending[pick]);
    pending[pick].reset();
    ++written[pick];
    if (Status s = sink(static_cast<PartyIndex>(pick), std::move(envelope)); !s.ok()) return s;
  }
}

Status WriteFeedsInCausalOrder(BundleWriter& w, const EnvelopeSource& feed0, const EnvelopeSource& feed1) {
  const uint64_t have[2] = {0, 0};
  return MergeFeedsInCausalOrder(feed0, feed1, have,
                                 [&w](PartyIndex, std::string envelope) { return w.AddEntry(envelope); });
}

Result<std::unique_ptr<BundleReader>> BundleReader::Open(const std::filesystem::path& path) {
  std::unique_ptr<BundleReader> r(new BundleReader());
  r->path_ = path.string();
  r->file_ = std::fopen(path.c_str(), "rb");
  if (!r->file_) return Status(Code::kNotFound, "cannot open " + path.string() + ": " + std::strerror(errno));
  char magic[8];
  if (std::fread(magic, 1, 8, r->file_) != 8 || std::string_view(magic, 8) != kBundleMagic) {
    return Status(Code::kDataLoss, path.string() + " is not a Parley bundle (it does not start with PARLEYB1)");
  }
  r->hash_ = std::make_unique<StreamHash>(kBundleDigestDomain);
  r->Digested(std::string_view(magic, 8));
  auto header = r->ReadRecord();
  if (!header) return header.error();
  if (!header->has_header()) return Status(Code::kDataLoss, "bundle: the first record is not the header");
  r->header_ = header->header();
  if (r->header_.format_version() != kBundleFormatVersion) {
    return Status(Code::kDataLoss, "bundle: unknown format version " + std::to_string(r->header_.format_version()) +
                                       " (this build reads version 1)");
  }
  auto charter = r->ReadRecord();
  if (!charter) return charter.error();
  if (!charter->has_charter()) return Status(Code::kDataLoss, "bundle: the second record is not the charter");
  r->charter_ = charter->charter();
  return r;
}

BundleReader::~BundleReader() {
  if (file_) std::fclose(file_);
}

void BundleReader::Digested(std::string_view bytes) {
  if (rereading_ || !hash_) return;
  hash_->Update(bytes);
  size_ += bytes.size();
}

const Digest& BundleReader::digest() const {
  PARLEY_CHECK(digest_.has_value());
  return *digest_;
}

Result<v1::BundleRecord> BundleReader::ReadRecord() {
  uint64_t len = 0;
  int shift = 0;
  const long offset = std::ftell(file_);
  last_offset_ = static_cast<uint64_t>(offset);
  std::string prefix;  // the length's bytes as read
  while (true) {
    int c = std::fgetc(file_);
    if (c != EOF) prefix.push_back(static_cast<char>(c));
    if (c == EOF) {
      return Status(Code::kDataLoss, "bundle is truncated at byte " + std::to_string(offset) +
                                         " (record " + std::to_string(index_) + "): no trailer");
    }
    len |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) break;
    shift += 7;
    if (shift > 28) return Status(Code::kDataLoss, "bundle: malformed record length at byte " + std::to_string(offset));
  }
  if (len > kMaxBundleRecordBytes) {
    return Status(Code::kDataLoss, "bundle: record " + std::to_string(index_) + " claims " + std::to_string(len) +
                                       " bytes, more than the 1 MiB limit");
  }
  std::string bytes(len, '\0');
  if (std::fread(bytes.data(), 1, len, file_) != len) {
    return Status(Code::kDataLoss, "bundle is truncated inside record " + std::to_string(index_) + " at byte " +
                                       std::to_string(offset));
  }
  Digested(prefix);
  Digested(bytes);
  v1::BundleRecord record;
  if (!record.ParseFromString(bytes)) {
    return Status(Code::kDataLoss, "bundle: record " + std::to_string(index_) + " at byte " +
                                       std::to_string(offset) + " is malformed");
  }
  ++index_;
  return record;
}

Result<std::string> BundleReader::EntryAt(uint64_t offset) {
  const long resume = std::ftell(file_);
  const uint64_t index = index_;
  if (std::fseek(file_, static_cast<long>(offset), SEEK_SET) != 0) {
    return Status(Code::kIoError, "cannot seek in " + path_);
  }
  rereading_ = true;
  auto r = ReadRecord();
  rereading_ = false;
  index_ = index;
  std::fseek(file_, resume, SEEK_SET);
  if (!r) return r.error();
  if (!r->has_entry()) return Status(Code::kDataLoss, "bundle changed while being read: no entry at byte " + std::to_string(offset));
  return std::move(*r->mutable_entry());
}

Result<std::optional<BundleReader::Record>> BundleReader::Next() {
  if (done_) return std::optional<Record>();
  auto r = ReadRecord();
  if (!r) return r.error();
  Record out;
  out.index = index_ - 1;
  out.offset = last_offset_;
  switch (r->record_case()) {
    case v1::BundleRecord::kEntry:
      ++entries_;
      out.entry = std::move(*r->mutable_entry());
      return std::optional<Record>(std::move(out));
    case v1::BundleRecord::kForkProof:
      ++forks_;
      out.fork = std::move(*r->mutable_fork_proof());
      return std::optional<Record>(std::move(out));
    case v1::BundleRecord::kCheckpoint:
      ++checkpoints_;
      out.checkpoint = std::move(*r->mutable_checkpoint());
      return std::optional<Record>(std::move(out));
    case v1::BundleRecord::kTrailer:
      if (r->trailer().entry_count() != entries_ || r->trailer().fork_proof_count() != forks_ ||
          r->trailer().checkpoint_count() != checkpoints_) {
        return Status(Code::kDataLoss, "bundle: wrong trailer counts: the trailer counts " +
                                           std::to_string(r->trailer().entry_count()) + " entries, " +
                                           std::to_string(r->trailer().fork_proof_count()) + " fork proofs and " +
                                           std::to_string(r->trailer().checkpoint_count()) +
                                           " checkpoints, the file holds " + std::to_string(entries_) + ", " +
                                           std::to_string(forks_) + " and " + std::to_string(checkpoints_) +
                                           " (records were dropped or added)");
      }
      done_ = true;
      if (std::fgetc(file_) != EOF) return Status(Code::kDataLoss, "bundle: data after the trailer");
      digest_ = hash_->Final();
      hash_.reset();
      return std::optional<Record>();
    default:
      return Status(Code::kDataLoss, "bundle: record " + std::to_string(out.index) +
                                         " is not an entry, fork proof, checkpoint or trailer");
  }
}

}  // namespace parley
