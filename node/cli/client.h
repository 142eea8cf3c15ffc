// OperatorClient: the CLI's connection to its own node over the operator
// Unix socket. Every call has a deadline; errors come back as Status with a
// message an operator can act on ("node not running at ua.sock").
//
// Thread safety: one client per thread.
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"
#include "parley/v1/operator.grpc.pb.h"

namespace parley {

class OperatorClient {
 public:
  static Result<std::unique_ptr<OperatorClient>> Connect(const std::filesystem::path& socket);

  // Submits a statement. Retries UNAVAILABLE a few times with the same
  // request id, so a retry never creates a second entry.
  // `arrivals_csv`: only with a Receipt naming a manifest, the arrival list
  // its figures come from (SubmitRequest.arrivals_csv). `dry_run`: every
  // check, nothing signed (SubmitRequest.dry_run).
  Result<v1::SubmitResponse> Submit(const v1::Entry& body, const std::string& request_id,
                                    const std::string& arrivals_csv = {}, bool dry_run = false);
  Result<v1::StatusResponse> GetStatus();
  Result<Charter> GetCharter();
  // One feed from `from` on, decoded and verified against the charter and
  // the key schedule of both feeds (docs/PROTOCOL.md §5.1).
  Result<std::vector<DecodedEntry>> ReadFeed(const Charter& charter, PartyIndex party, uint64_t from = 1);
  // Both feeds whole, decoded and verified (DecodeFeeds); `schedule`, if
  // given, receives their key schedule.
  Result<std::array<std::vector<DecodedEntry>, 2>> ReadFeeds(const Charter& charter, KeySchedule* schedule = nullptr);
  // One feed's envelopes as stored, from `from` on.
  Result<std::vector<std::string>> ReadRaw(PartyIndex party, uint64_t from = 1);
  // Asks the node to rotate to the key with this seed (operator.proto).
  Result<v1::SubmitResponse> RotateKey(const Seed& new_key_seed, uint64_t compromised_from,
                                       const std::string& request_id);
  Result<v1::ForkProofs> GetForkProofs();
  // Every cosigned checkpoint the node stores of `party`'s feed, in size
  // order (as many GetCheckpoints calls as it takes).
  Result<std::vector<std::string>> GetCheckpoints(PartyIndex party);
  // Manifests (operator.proto); these calls may take a while for a large
  // manifest and have a 5-minute deadline.
  Result<v1::ManifestInfo> CommitManifest(v1::ManifestKind kind, std::string csv);
  Result<v1::ListManifestsResponse> ListManifests();
  Result<v1::ManifestInfo> FetchManifest(const Digest& root);
  Result<v1::ProveRecordResponse> ProveRecord(const Digest& root, const std::string& record_id);
  Result<v1::ReconcileArrivalsResponse> ReconcileArrivals(const Digest& root, std::string arrivals_csv);
  Status EraseRecord(const Digest& root, const std::string& record_id);
  Result<v1::ReadManifestResponse> ReadManifest(const Digest& root);
  Result<v1::GetReconciliationsResponse> GetReconciliations(const Digest& root);
  // An online backup (operator.proto Backup): hands each piece of the
  // backup file's bytes to `sink` as it arrives; stops at its first error.
  Status Backup(const std::function<Status(std::string_view)>& sink);
  // Streams one feed from `from` on, following new entries, calling fn for
  // each; stops when fn returns false or the node goes away.
  Status Follow(PartyIndex party, uint64_t from, const std::function<bool(const std::string&)>& fn);
  // A pull source for one feed (for streaming exports).
  std::function<Result<std::optional<std::string>>()> FeedSource(PartyIndex party);

 private:
  explicit OperatorClient(std::filesystem::path socket) : socket_(std::move(socket)) {}
  Status Convert(const grpc::Status& s) const;
  // One unary call with the long deadline manifest calls need.
  template <class Req, class Resp, class Method>
  Result<Resp> LongCall(Method method, const Req& req);

  std::filesystem::path socket_;
  std::unique_ptr<v1::Operator::Stub> stub_;
  std::vector<std::shared_ptr<void>> streams_;  // keeps FeedSource streams alive
};

}  // namespace parley
