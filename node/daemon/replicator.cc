#include "node/daemon/replicator.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>

#include "crypto/seal.h"
#include "node/report/bundle.h"
#include "node/base/clock.h"
#include "node/daemon/log.h"
#include "node/daemon/metrics.h"
#include "node/manifest/manifest.h"
#include "node/daemon/peer_auth.h"
#include "node/daemon/peer_service.h"

namespace parley {
namespace {

using Clock = std::chrono::system_clock;

constexpr auto kSubscribeDeadline = std::chrono::seconds(60);

}  // namespace

Replicator::Replicator(Ledger& ledger, std::string peer_address, const KeyRing& keys,
                       std::shared_ptr<grpc::ChannelCredentials> credentials, Metrics* metrics, bool via_relay)
    : ledger_(ledger),
      address_(std::move(peer_address)),
      keys_(keys),
      self_(*ledger.self()),
      other_(1 - *ledger.self()),
      peer_(address_, std::move(credentials), ledger.charter().ledger_id(),
            [this] { return keys_.TokenKey(*ledger_.key_schedule(), self_); }),
      via_relay_(via_relay),
      metrics_(metrics) {
  status_.set_address(address_);
}

Replicator::~Replicator() { Stop(); }

void Replicator::Start() {
  thread_ = std::thread([this] { Run(); });
  if (via_relay_) publisher_ = std::thread([this] { RunPublisher(); });
}

void Replicator::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable() && !publisher_.joinable()) return;
    stopping_ = true;
    if (active_) active_->TryCancel();
    if (publishing_) publishing_->TryCancel();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (publisher_.joinable()) publisher_.join();
}

v1::PeerStatus Replicator::status() const {
  std::lock_guard lock(mu_);
  v1::PeerStatus s = status_;
  const uint64_t have = ledger_.Head(other_).seq;
  s.set_lag(s.peer_head_seq() > have ? s.peer_head_seq() - have : 0);
  return s;
}

std::array<uint64_t, 2> Replicator::catching_up_to() const {
  std::lock_guard lock(mu_);
  return catching_up_to_;
}

Replicator::ProgressScope::ProgressScope(Replicator& r, uint64_t own_to, uint64_t other_to) : r_(r) {
  std::lock_guard lock(r_.mu_);
  r_.catching_up_to_[r_.self_] = own_to;
  r_.catching_up_to_[r_.other_] = other_to;
}

Replicator::ProgressScope::~ProgressScope() {
  std::lock_guard lock(r_.mu_);
  r_.catching_up_to_ = {0, 0};
}

void Replicator::SetError(const std::string& error) {
  std::lock_guard lock(mu_);
  status_.set_last_error(error);
  SetConnectedLocked(false);
}

void Replicator::SetConnectedLocked(bool connected) {
  if (connected == status_.connected()) return;
  status_.set_connected(connected);
  if (connected) {
    Log(LogLevel::kInfo, ever_connected_ ? "peer reconnected" : "peer connected", {{"peer", address_}});
    ever_connected_ = true;
  } else {
    Log(LogLevel::kWarn, "peer disconnected", {{"peer", address_}, {"last_error", status_.last_error()}});
  }
}

void Replicator::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [&] { return stopping_; });
}

namespace {

// The largest sealed manifest a node takes from its peer (about 1.5 million
// records).
constexpr uint64_t kMaxSealedManifestBytes = 256ull << 20;

}  // namespace

Result<v1::ManifestData> Replicator::FetchManifest(const Digest& root) const {
  auto key = keys_.TokenKey(*ledger_.key_schedule(), self_);
  auto sealed = peer_.GetSealedManifest(root, kMaxSealedManifestBytes);
  if (!sealed) return sealed.error();
  auto plain = OpenSealed(*key, *sealed);
  if (!plain) return plain.error();
  // Count the leaves before parsing: an empty leaf is 2 bytes on the wire,
  // and a peer must not make this node allocate for 100 million of them.
  uint64_t leaves = 0;
  {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(plain->data()),
                                              static_cast<int>(plain->size()));
    while (const uint32_t tag = in.ReadTag()) {
      if (google::protobuf::internal::WireFormatLite::GetTagFieldNumber(tag) == 6) ++leaves;
      if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) {
        return Status(Code::kDataLoss, "the peer's manifest does not parse");
      }
    }
  }
  if (leaves > kMaxManifestRows) {
    return Status(Code::kDataLoss, "the peer's manifest has " + std::to_string(leaves) + " records, over the " +
                                       std::to_string(kMaxManifestRows) + " a manifest may hold");
  }
  v1::ManifestData data;
  const bool parsed = data.ParseFromString(*plain);
  Wipe(*plain);
  if (!parsed) return Status(Code::kDataLoss, "the peer's manifest does not parse");
  return data;
}

void Replicator::Run() {
  auto backoff = std::chrono::milliseconds(100);
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (Round()) {
      backoff = std::chrono::milliseconds(100);
    } else {
      SleepFor(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }
}

void Replicator::AcknowledgeRotation() {
  const KeyRotation* pending = ledger_.key_schedule()->pending(other_);
  if (!pending) return;
  const Charter& c = ledger_.charter();
  const std::string code = c.party_code(other_);
  const std::string seq = std::to_string(pending->seq);
  auto rotation = ledger_.Read(other_, pending->seq, 1);
  if (!rotation || rotation->empty()) return;
  v1::Entry body;
  body.mutable_statement()->set_text("acknowledges " + code + "'s key rotation at " + code + "#" + seq +
                                     " to key " + ToHex(pending->new_key).substr(0, 16) + "…");
  body.mutable_statement()->set_reference(rotation->front().id.str());
  auto e = MeteredAppend(ledger_, metrics_, body, NowMs(), "ack-rotation/" + code + "/" + seq);
  if (!e) {
    Log(LogLevel::kWarn, "cannot acknowledge the peer's key rotation yet",
        {{"rotation", code + "#" + seq}, {"reason", e.error().ToString()}});
    return;
  }
  Log(LogLevel::kInfo, "acknowledged the peer's key rotation",
      {{"rotation", code + "#" + seq}, {"seq", std::to_string(e->seq())}});
}

bool Replicator::RecoverOwnFeed(const v1::Heads& heads) {
  uint64_t peer_own = 0, peer_other = 0;
  for (const auto& f : heads.feeds()) {
    if (f.party() == self_) peer_own = f.seq();
    if (f.party() == other_) peer_other = f.seq();
  }
  const uint64_t mine = ledger_.Head(self_).seq;
  // First the entry both copies hold at the lower head: the same ID is a
  // no-op; a different one is a fork of our own feed (key misuse, or a seq
  // signed again on a stale folder): proof stored, alarm, signing stops.
  if (const uint64_t common = std::min(peer_own, mine); common > 0) {
    auto batch = peer_.ReadFeed(self_, common, 1);
    if (!batch) {
      SetError("reading own feed from peer: " + batch.error().message());
      return false;
    }
    if (batch->empty()) {
      SetError("reading own feed from peer: the peer reported seq " + std::to_string(peer_own) +
               " of our feed but did not serve seq " + std::to_string(common));
      return false;
    }
    auto r = MeteredIngest(ledger_, metrics_, batch->front());
    if (!r) {
      Log(LogLevel::kError, "peer's copy of our own feed refused", {{"reason", r.error().ToString()}});
      SetError("own feed from peer: " + r.error().ToString());
      return false;
    }
    if (*r == IngestOutcome::kFork) {
      Log(LogLevel::kError, "ALARM: the peer holds a different version of our own feed; our key is misused",
          {{"seq", std::to_string(common)}});
      SetError("peer holds a different version of our own feed");
      return true;  // signing has stopped (Ledger); the other feed still replicates
    }
  }
  if (peer_own > mine) {
    Log(LogLevel::kWarn, "peer holds more of our own feed than we do; recovering it",
        {{"ours", std::to_string(mine)}, {"peer", std::to_string(peer_own)}});
    if (!RecoverBothFeeds(peer_own, peer_other)) return false;
    const uint64_t now = ledger_.Head(self_).seq;
    if (now < peer_own) {
      SetError("own feed from peer: recovered up to seq " + std::to_string(now) + " of " + std::to_string(peer_own));
      return false;
    }
    Log(LogLevel::kInfo, "recovered our own feed from the peer",
        {{"own_head", std::to_string(now)}, {"other_head", std::to_string(ledger_.Head(other_).seq)}});
  }
  const bool was_confirmed = ledger_.own_head_confirmed();
  if (Status s = ledger_.ConfirmOwnHead(peer_own); !s.ok()) {
    SetError("own feed from peer: " + s.message());
    return false;
  }
  if (!was_confirmed) {
    Log(LogLevel::kInfo, "the peer confirmed our own head",
        {{"own_head", std::to_string(ledger_.Head(self_).seq)}, {"peer_holds", std::to_string(peer_own)}});
    if (on_confirmed_) on_confirmed_();
  }
  return true;
}

bool Replicator::RecoverBothFeeds(uint64_t own_to, uint64_t other_to) {
  // Both feeds from the peer, in a causal order (MergeFeedsInCausalOrder,
  // node/report/bundle.h): each own entry after the other feed's entry its seen
  // names, each entry of the other feed after the own entry its seen names.
  // Each source reads ranges lazily; runs of one feed are ingested as one
  // batch (for the other feed: one fsync per run). What was stored stays
  // stored if the node is killed meanwhile: the next start resumes from the
  // heads.
  ProgressScope progress(*this, own_to, other_to);
  std::vector<std::string> run;
  PartyIndex run_party = self_;
  auto flush = [&]() -> Status {
    if (run.empty()) return Status::Ok();
    auto r = MeteredIngestBatch(ledger_, metrics_, run_party, run);
    run.clear();
    if (!r) return r.error();
    if (r->forks > 0) return Status(Code::kFailedPrecondition, "a fork proof was stored");
    return Status::Ok();
  };
  const uint64_t have_own = ledger_.Head(self_).seq, have_other = ledger_.Head(other_).seq;
  uint64_t have[2];
  have[self_] = have_own;
  have[other_] = have_other;
  EnvelopeSource sources[2];
  const Charter& charter = ledger_.charter();
  sources[self_] = peer_.FeedSource(self_, have_own + 1, own_to, charter.party_code(self_));
  sources[other_] = peer_.FeedSource(other_, have_other + 1, other_to, charter.party_code(other_));
  Status s = MergeFeedsInCausalOrder(sources[0], sources[1], have, [&](PartyIndex p, std::string envelope) {
    if (p != run_party || run.size() >= kMaxReadCount) {
      if (Status f = flush(); !f.ok()) return f;
      run_party = p;
    }
    run.push_back(std::move(envelope));
    return Status::Ok();
  });
  if (s.ok()) s = flush();
  if (!s.ok()) {
    Log(LogLevel::kError, "recovering our own feed from the peer failed", {{"reason", s.ToString()}});
    SetError("own feed from peer: " + s.ToString());
    return false;
  }
  {
    std::lock_guard lock(mu_);
    status_.set_last_contact_ms(NowMs());
  }
  return true;
}

bool Replicator::CatchUp(const v1::Heads& heads) {
  uint64_t peer_seq = 0;
  for (const auto& f : heads.feeds()) {
    if (f.party() == other_) peer_seq = f.seq();
  }
  uint64_t from = ledger_.Head(other_).seq + 1;
  if (from > peer_seq) return true;
  ProgressScope progress(*this, 0, peer_seq);
  // Range reads of up to kMaxReadCount entries, each batch verified on two
  // threads and stored with one fsync (Ledger::IngestBatch), the next range
  // read while this one is ingested. The live Subscribe that follows starts
  // from the new head.
  auto pending = std::async(std::launch::async, [this, from] { return peer_.ReadFeed(other_, from, kMaxReadCount); });
  while (true) {
    auto batch = pending.get();
    if (!batch) {
      SetError("catching up from peer: " + batch.error().message());
      return false;
    }
    if (batch->empty()) break;
    from += batch->size();
    if (from <= peer_seq) {
      pending = std::async(std::launch::async, [this, from] { return peer_.ReadFeed(other_, from, kMaxReadCount); });
    }
    auto r = MeteredIngestBatch(ledger_, metrics_, other_, *batch);
    if (!r) {
      Log(LogLevel::kWarn, "refused an entry from the peer",
          {{"peer", address_}, {"reason", r.error().ToString()}});
      SetError("refused entry from peer: " + r.error().ToString());
      return false;  // (a read still running is waited for by `pending`)
    }
    {
      std::lock_guard lock(mu_);
      status_.set_last_contact_ms(NowMs());
      if (r->forks > 0) status_.set_last_error("fork proof stored: the peer's feed forked");
    }
    if (r->forks > 0) {
      Log(LogLevel::kError, "the peer's feed forked: fork proof stored, feed frozen", {{"peer", address_}});
      break;
    }
    if (from > peer_seq || r->stored == 0) break;  // the rest comes with Subscribe
  }
  if (pending.valid()) pending.wait();
  return true;
}

Result<std::vector<std::string>> Replicator::FetchCheckpoints(PartyIndex party, uint64_t from_size) const {
  auto got = peer_.GetCheckpoints(party, from_size);
  if (!got) return got.error();
  return std::vector<std::string>(got->notes().begin(), got->notes().end());
}

bool Replicator::Round() {
  auto got = peer_.GetHeads();
  if (!got) {
    SetError(got.error().message());
    return false;
  }
  const v1::Heads& heads = *got;
  {
    std::lock_guard lock(mu_);
    status_.set_last_contact_ms(NowMs());
    for (const auto& f : heads.feeds()) {
      if (f.party() == other_) status_.set_peer_head_seq(f.seq());
    }
  }
  if (!RecoverOwnFeed(heads)) return false;
  if (!CatchUp(heads)) return false;
  if (via_relay_) PullForkProofs();
  AcknowledgeRotation();  // one stored before a restart
  if (on_caught_up_) on_caught_up_();

  grpc::ClientContext ctx;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return true;
    active_ = &ctx;
    SetConnectedLocked(true);
    status_.clear_last_error();
  }
  bool refused = false;
  grpc::Status s = peer_.Subscribe(ctx, other_, ledger_.Head(other_).seq + 1, kSubscribeDeadline,
                                   [&](const std::string& envelope) {
    auto r = MeteredIngest(ledger_, metrics_, envelope);
    if (!r) {
      Log(LogLevel::kWarn, "refused an entry from the peer",
          {{"peer", address_}, {"reason", r.error().ToString()}});
      SetError("refused entry from peer: " + r.error().ToString());
      refused = true;
      return false;
    }
    {
      std::lock_guard lock(mu_);
      status_.set_last_contact_ms(NowMs());
      const uint64_t have = ledger_.Head(other_).seq;
      if (status_.peer_head_seq() < have) status_.set_peer_head_seq(have);
      if (*r == IngestOutcome::kFork) {
        Log(LogLevel::kError, "the peer's feed forked: fork proof stored, feed frozen", {{"peer", address_}});
        status_.set_last_error("fork proof stored: the peer's feed forked");
      }
    }
    // The other party rotated its key: acknowledge at once (§5.1), so that
    // its old key stops signing its entries as soon as possible.
    if (*r == IngestOutcome::kStored) AcknowledgeRotation();
    return true;
  });
  {
    std::lock_guard lock(mu_);
    active_ = nullptr;
    SetConnectedLocked(false);
  }
  if (refused) return false;
  if (s.ok() || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return true;
  if (s.error_code() == grpc::StatusCode::CANCELLED) return true;
  const Status error = peer_.CallError("Subscribe", s);
  Log(LogLevel::kWarn, "peer stream ended", {{"peer", address_}, {"error", error.message()}});
  SetError("peer stream ended: " + error.message());
  // A live stream that dropped (the peer restarted, the link broke) is retried
  // at once: the next GetHeads decides whether to back off. Anything else —
  // an oversized or malformed message — backs off, so a hostile peer cannot
  // make this node spin.
  return s.error_code() == grpc::StatusCode::UNAVAILABLE;
}

void Replicator::PullForkProofs() {
  auto proofs = peer_.GetForkProofs();
  if (!proofs) {
    Log(LogLevel::kWarn, "cannot read the relay's fork proofs", {{"relay", address_}, {"reason", proofs.error().message()}});
    return;
  }
  for (const v1::ForkProof& proof : proofs->proofs()) {
    // Both halves through the one ingest path: the one held is a duplicate,
    // the other validly signed one at the same seq is the fork (each is
    // verified; a forged half is refused and changes nothing).
    for (const v1::SignedEntry* half : {&proof.first(), &proof.second()}) {
      auto r = MeteredIngest(ledger_, metrics_, half->SerializeAsString());
      if (r && *r == IngestOutcome::kFork) {
        Log(LogLevel::kError, "the relay proved a fork of the other feed: fork proof stored, feed frozen",
            {{"relay", address_}});
        std::lock_guard lock(mu_);
        status_.set_last_error("fork proof stored: the relay proved the other feed forked");
      }
    }
  }
}

void Replicator::RunPublisher() {
  auto backoff = std::chrono::milliseconds(100);
  std::optional<uint64_t> known;  // the relay's head of our feed, as our last call left it
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    uint64_t published = 0;
    if (!PublishRound(known, &published)) {
      known.reset();
      SleepFor(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(100);
    // The relay holds our feed up to `published`: no call is open until our
    // next entry is stored (the next call starts from there, with no
    // GetHeads first), or kPublishRecheck has passed (the relay's heads are
    // asked again: a relay that lost its data gets our feed again; one that
    // lost it sooner refuses the next entry, and the retry asks them).
    known.reset();
    const auto recheck_at = std::chrono::steady_clock::now() + kPublishRecheck;
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= recheck_at) break;
      if (ledger_.WaitForHead(self_, published, std::min(now + kPublishLinger, recheck_at)).seq > published) {
        known = published;
        break;
      }
    }
  }
}

bool Replicator::PublishRound(std::optional<uint64_t> relay_head, uint64_t* published) {
  uint64_t relay_own = 0;
  if (relay_head) {
    relay_own = *relay_head;
  } else {
    auto got = peer_.GetHeads();
    if (!got) return false;  // Round reports the unreachable relay
    for (const auto& f : got->feeds()) {
      if (f.party() == self_) relay_own = f.seq();
    }
    // The relay holds more of our feed than we do (a lost or restored data
    // folder): Round recovers it from the relay first.
    if (relay_own > ledger_.Head(self_).seq) return false;
  }
  *published = relay_own;
  if (relay_own == ledger_.Head(self_).seq) return true;  // nothing to send
  grpc::ClientContext ctx;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return true;
    publishing_ = &ctx;
  }
  // The call sends what we hold from the relay's head on, then each entry as
  // it is stored, and ends once no entry has come for kPublishLinger (or a
  // little before its deadline): the relay then answers, with its heads or
  // with why it refused an entry. It is not held open while idle: a relay
  // that refuses an entry cancels a stream still open after
  // kPublishRefusalGrace (node/relay/relay_service.h), and this end could
  // not learn that (nor why) until it wrote again.
  const auto renew_at = std::chrono::steady_clock::now() + kSubscribeDeadline - std::chrono::seconds(5);
  uint64_t next = relay_own + 1;
  std::deque<std::string> buffer;
  Status read_error;
  v1::Heads answer;
  const uint64_t first = next;
  grpc::Status s = peer_.Publish(ctx, kSubscribeDeadline, [&]() -> std::optional<std::string> {
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return std::nullopt;
      }
      if (buffer.empty()) {
        auto read = ledger_.ReadEnvelopes(self_, next, 256);
        if (!read) {
          read_error = read.error();
          return std::nullopt;
        }
        for (std::string& e : *read) buffer.push_back(std::move(e));
      }
      if (!buffer.empty()) {
        std::string e = std::move(buffer.front());
        buffer.pop_front();
        ++next;
        return e;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= renew_at) return std::nullopt;
      if (ledger_.WaitForHead(self_, next - 1, now + kPublishLinger).seq < next) return std::nullopt;
    }
  }, &answer);
  {
    std::lock_guard lock(mu_);
    publishing_ = nullptr;
  }
  if (!read_error.ok()) {
    Log(LogLevel::kError, "cannot read our own feed to publish it", {{"reason", read_error.ToString()}});
    return false;
  }
  if (s.ok()) {
    Log(LogLevel::kDebug, "published our own feed to the relay",
        {{"relay", address_}, {"from", std::to_string(first)}, {"sent_to", std::to_string(next - 1)}});
    *published = next - 1;
    return true;
  }
  const std::string sent = next > first ? std::to_string(first) + ".." + std::to_string(next - 1) : "none";
  if (s.error_code() == grpc::StatusCode::CANCELLED) {
    // Cancelled here (stopping) ends the round; cancelled by the relay is an
    // error: retried with backoff.
    {
      std::lock_guard lock(mu_);
      if (stopping_) return true;
    }
    Log(LogLevel::kWarn, "publishing to the relay ended",
        {{"relay", address_},
         {"error", "the relay cancelled the call (a relay does so when it refuses an entry while the stream is "
                   "still open; its log says which entry and why)"},
         {"sent", sent}});
    return false;
  }
  // Refused (the relay's status names the entry and says why), or the call
  // broke.
  const Status error = peer_.CallError("Publish", s);
  Log(LogLevel::kWarn, "publishing to the relay ended", {{"relay", address_}, {"error", error.message()}, {"sent", sent}});
  return false;
}

}  // namespace parley
