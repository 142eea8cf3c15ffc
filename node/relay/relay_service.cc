#include "node/relay/relay_service.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "node/daemon/log.h"
#include "node/daemon/peer_service.h"

namespace parley {

RelayService::RelayService(Ledger& ledger) : ledger_(ledger), auth_(ledger.charter(), CallerKeys(ledger)) {}

grpc::Status RelayService::Admit(grpc::ServerContext* ctx, std::string_view method, const std::string* ledger_id,
                                 PublicKey* caller, PeerRole* role) {
  if (auto s = auth_.Check(*ctx, method, role, caller); !s.ok()) return s;
  if (ledger_id && *ledger_id != ledger_.charter().ledger_id().view()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this relay serves ledger " +
                                                                   ToHex(ledger_.charter().ledger_id()) + ", not " +
                                                                   ToHex(*ledger_id));
  }
  return grpc::Status::OK;
}

void RelayService::FillAll(v1::Heads* heads) const {
  heads->set_ledger_id(ledger_.charter().ledger_id().str());
  FillHeads(ledger_, heads->mutable_feeds());
  for (PartyIndex p = 0; p < 2; ++p) {
    if (ledger_.frozen(p)) heads->add_frozen_parties(p);
  }
}

grpc::Status RelayService::GetHeads(grpc::ServerContext* ctx, const v1::GetHeadsRequest* req, v1::Heads* resp) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetHeads", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  FillAll(resp);
  return grpc::Status::OK;
}

grpc::Status RelayService::ReadFeed(grpc::ServerContext* ctx, const v1::ReadFeedRequest* req,
                                    grpc::ServerWriter<v1::FeedItem>* writer) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/ReadFeed", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  std::optional<PeerAuthenticator::StreamSlot> slot;
  if (auto s = auth_.AcquireStream(caller, &slot); !s.ok()) return s;
  const uint32_t max = req->max_count() == 0 ? kMaxReadCount : std::min(req->max_count(), kMaxReadCount);
  return StreamFeed(ledger_, req->party(), req->from_seq(), max, false, ctx, writer, stopping_);
}

grpc::Status RelayService::Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                                     grpc::ServerWriter<v1::FeedItem>* writer) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/Subscribe", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  std::optional<PeerAuthenticator::StreamSlot> slot;
  if (auto s = auth_.AcquireStream(caller, &slot); !s.ok()) return s;
  return StreamFeed(ledger_, req->party(), req->from_seq(), UINT64_MAX, true, ctx, writer, stopping_,
                    kMaxPeerStreamDuration);
}

grpc::Status RelayService::GetForkProofs(grpc::ServerContext* ctx, const v1::GetForkProofsRequest* req,
                                         v1::ForkProofs* resp) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetForkProofs", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  auto forks = ledger_.Forks();
  if (!forks) return ToGrpc(forks.error());
  for (const StoredFork& f : *forks) *resp->add_proofs() = f.proof;
  return grpc::Status::OK;
}

grpc::Status RelayService::GetManifest(grpc::ServerContext* ctx, const v1::GetManifestRequest* req,
                                       grpc::ServerWriter<v1::ManifestChunk>*) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/GetManifest", &req->ledger_id(), &caller, &role); !s.ok()) return s;
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "a relay holds no manifests: they travel only between the parties' nodes");
}

grpc::Status RelayService::Publish(grpc::ServerContext* ctx, grpc::ServerReader<v1::FeedItem>* reader,
                                   v1::Heads* resp) {
  PublicKey caller;
  PeerRole role;
  if (auto s = Admit(ctx, "/parley.v1.Peer/Publish", nullptr, &caller, &role); !s.ok()) return s;
  // The feed the caller may publish: the one whose key (in effect, or its
  // pending rotation's new key) signed the call's token.
  const std::optional<PartyIndex> party = CallerKeys(ledger_)(caller);
  if (role != PeerRole::kParty || !party) {
    Log(LogLevel::kWarn, "publish refused: the caller is no party", {{"caller", ToHex(caller).substr(0, 16)}});
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "only a party publishes, and only its own feed; observers may read");
  }
  std::optional<PeerAuthenticator::StreamSlot> slot;
  if (auto s = auth_.AcquireStream(caller, &slot); !s.ok()) return s;
  const std::string code = ledger_.charter().party_code(*party);
  const auto started = std::chrono::steady_clock::now();
  // This thread reads the stream into a bounded queue; an ingest thread
  // takes whatever has arrived (up to kMaxPublishBatch entries) and stores
  // it with Ledger::IngestBatch: one synced write for a run of good entries,
  // not one per entry, and the same per-entry verification and outcome as
  // Ingest on each in order (what precedes a refused entry stays stored;
  // the refused entry and everything after it are not stored).
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;
  size_t queued_bytes = 0;
  bool closed = false;  // the reading has ended
  std::optional<Status> refused;
  uint64_t stored = 0;
  std::thread ingester([&] {
    while (true) {
      std::vector<std::string> batch;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return closed || !queue.empty(); });
        if (queue.empty()) return;
        while (!queue.empty() && batch.size() < kMaxPublishBatch) {
          queued_bytes -= queue.front().size();
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      cv.notify_all();
      auto r = ledger_.IngestBatch(batch, *party);
      if (r) {
        stored += r->stored;
        if (r->forks > 0) {
          Log(LogLevel::kError, "a party published a fork of its own feed: fork proof stored, feed frozen",
              {{"party", code}});
        }
        continue;
      }
      Log(LogLevel::kWarn, "published entry refused",
          {{"party", code}, {"reason", r.error().ToString()}, {"head", std::to_string(ledger_.Head(*party).seq)}});
      std::unique_lock lock(mu);
      refused = Status(r.error().code(), "published entry refused: " + r.error().message());
      cv.notify_all();
      // A publisher that has ended its stream gets the error as the call's
      // status; one still sending is cancelled (it cannot be answered while
      // this call still reads from it).
      if (!cv.wait_for(lock, kPublishRefusalGrace, [&] { return closed; })) {
        Log(LogLevel::kWarn, "publisher still sending after its refused entry: call cancelled", {{"party", code}});
        ctx->TryCancel();
      }
      return;
    }
  });
  v1::FeedItem item;
  while (!stopping_ && reader->Read(&item)) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] {
      return refused.has_value() || (queue.size() < kMaxPublishBatch && queued_bytes < kMaxPublishQueuedBytes);
    });
    if (refused) break;
    queued_bytes += item.envelope().size();
    queue.push_back(std::move(*item.mutable_envelope()));
    lock.unlock();
    cv.notify_all();
    if (std::chrono::steady_clock::now() - started > kMaxPeerStreamDuration) break;
  }
  {
    std::lock_guard lock(mu);
    closed = true;
  }
  cv.notify_all();
  ingester.join();
  if (refused) return ToGrpc(*refused);
  if (stored > 0) {
    Log(LogLevel::kDebug, "published entries stored", {{"party", code}, {"stored", std::to_string(stored)}});
  }
  FillAll(resp);
  return grpc::Status::OK;
}

}  // namespace parley
