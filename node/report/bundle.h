// Bundles: the export file an auditor verifies (format in
// proto/parley/v1/bundle.proto and docs/PROTOCOL.md §12). Written and read
// as a stream: neither side holds the whole bundle in memory.
//
// Thread safety: a writer or reader is used by one thread at a time.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crypto/hash.h"
#include "crypto/status.h"
#include "node/protocol/charter.h"
#include "parley/v1/bundle.pb.h"

namespace parley {

inline constexpr std::string_view kBundleMagic = "PARLEYB1";
inline constexpr uint32_t kBundleFormatVersion = 1;
inline constexpr size_t kMaxBundleRecordBytes = 1 << 20;
// A bundle's digest is H(kBundleDigestDomain, every byte of the file), from
// the magic to the end of the trailer (docs/PROTOCOL.md §12).
inline constexpr std::string_view kBundleDigestDomain = "parley/bundle/v1";

class BundleWriter {
 public:
  // Creates `path` (replacing it) and writes the header and the charter.
  static Result<std::unique_ptr<BundleWriter>> Create(const std::filesystem::path& path,
                                                      const Charter& charter, const std::string& exported_by,
                                                      int64_t exported_ms);
  ~BundleWriter();

  // REQUIRES: entries are added in a causal order (see WriteFeedsInCausalOrder).
  Status AddEntry(const std::string& envelope);
  Status AddForkProof(const v1::ForkProof& proof);
  // A cosigned checkpoint of one feed as a signed note (docs/PROTOCOL.md
  // §12): added after the fork proofs.
  Status AddCheckpoint(const std::string& note);
  // Writes the trailer, flushes and fsyncs. The file is complete only after.
  Status Finish();

 private:
  BundleWriter() = default;
  Status Write(const v1::BundleRecord& record);
  std::FILE* file_ = nullptr;
  std::filesystem::path path_;
  uint64_t entries_ = 0;
  uint64_t forks_ = 0;
  uint64_t checkpoints_ = 0;
};

// Next envelope of one feed in seq order, nullopt at its end.
using EnvelopeSource = std::function<Result<std::optional<std::string>>()>;

// Interleaves the two feeds so that every entry follows the other feed's
// entry its `seen` names, pulling each source lazily, and adds them to `w`.
Status WriteFeedsInCausalOrder(BundleWriter& w, const EnvelopeSource& feed0, const EnvelopeSource& feed1);

// The ordering WriteFeedsInCausalOrder uses, for any consumer (a node
// recovering both feeds from its peer uses it too). Feed p's source yields
// its entries from seq have[p] + 1 on, in seq order (`have[p]` entries of
// feed p are already held); each envelope is handed to `sink(p, envelope)`
// once every entry its `seen` names has been handed over or held. When
// neither feed's next entry can go (one names an entry the other source does
// not have), feed 0's goes anyway, so that whoever checks it reports the
// seen-mismatch. Stops at the first error of a source or of `sink`.
using CausalSink = std::function<Status(PartyIndex party, std::string envelope)>;
Status MergeFeedsInCausalOrder(const EnvelopeSource& feed0, const EnvelopeSource& feed1, const uint64_t have[2],
                               const CausalSink& sink);

class BundleReader {
 public:
  // Opens `path` and reads the header and the charter. Errors say what is
  // wrong: not a bundle, unknown format version, truncated, malformed.
  static Result<std::unique_ptr<BundleReader>> Open(const std::filesystem::path& path);
  ~BundleReader();

  const v1::BundleHeader& header() const { return header_; }
  const std::string& charter_bytes() const { return charter_; }

  struct Record {
    uint64_t index = 0;                  // position of the record in the file (0-based)
    uint64_t offset = 0;                 // byte offset of the record's length prefix
    std::optional<std::string> entry;    // an envelope, or
    std::optional<v1::ForkProof> fork;   // a fork proof, or
    std::optional<std::string> checkpoint;  // a cosigned checkpoint note (unverified)
  };
  // The next entry, fork-proof or checkpoint record; nullopt once the trailer has been
  // read and its counts match. Errors: truncated, malformed, counts differ.
  Result<std::optional<Record>> Next();

  // Re-reads the entry record at `offset` (as returned in Record::offset).
  Result<std::string> EntryAt(uint64_t offset);

  // Once Next() has returned nullopt (the whole file read, trailer and all):
  // the bundle's digest (kBundleDigestDomain) and size, over the bytes as
  // this reader read them in its one pass (EntryAt does not count).
  // REQUIRES: Next() returned nullopt.
  const Digest& digest() const;
  uint64_t size() const { return size_; }

 private:
  BundleReader() = default;
  Result<v1::BundleRecord> ReadRecord();
  void Digested(std::string_view bytes);  // bytes of the first pass, in file order
  std::FILE* file_ = nullptr;
  std::string path_;
  uint64_t index_ = 0;
  uint64_t last_offset_ = 0;
  uint64_t entries_ = 0;
  uint64_t forks_ = 0;
  uint64_t checkpoints_ = 0;
  bool done_ = false;
  bool rereading_ = false;  // inside EntryAt: bytes read are not digested again
  std::unique_ptr<StreamHash> hash_;
  std::optional<Digest> digest_;
  uint64_t size_ = 0;
  v1::BundleHeader header_;
  std::string charter_;
};

}  // namespace parley
