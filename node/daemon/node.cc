#include "node/daemon/node.h"

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "node/daemon/backup.h"
#include "node/daemon/log.h"
#include "node/daemon/operator_service.h"
#include "node/daemon/tls.h"

namespace parley {
namespace {

Result<std::string> ReadFile(const std::filesystem::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, std::string("cannot read ") + what + " " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::unique_ptr<Node>> Node::Start(const NodeConfig& config, SecretKey key,
                                          std::optional<SecretKey> next_key) {
  if (Status s = config.Validate(); !s.ok()) return s;
  auto charter_bytes = ReadFile(config.charter, "charter");
  if (!charter_bytes) return charter_bytes.error();
  auto charter = Charter::Parse(*charter_bytes);
  if (!charter) return charter.error();
  // The party: named in the config, or the one whose charter key this is.
  // A rotated key is no charter key: then the ledger finds the party in the
  // key schedule of the stored feeds (docs/PROTOCOL.md §5.1).
  std::optional<PartyIndex> self;
  if (!config.party.empty()) {
    self = charter->PartyByCode(config.party);
    if (!self) return Status(Code::kInvalidArgument, "config: party '" + config.party + "' is not in the charter");
  } else {
    self = charter->PartyOf(key.public_key());
  }
  if (self && charter->PartyOf(key.public_key()) == 1 - *self) {
    return Status(Code::kPermissionDenied, "the key in " + config.key_file.string() + " is " +
                                               charter->party_code(1 - *self) + "'s, not " +
                                               charter->party_code(*self) + "'s");
  }
  auto store = OpenLevelDbStore(config.data_dir);
  if (!store) return store.error();
  const std::filesystem::path manifest_dir =
      config.manifest_dir.empty() ? config.data_dir / "manifests" : config.manifest_dir;
  auto manifest_db = OpenLevelDbStore(manifest_dir);
  if (!manifest_db) return manifest_db.error();
  auto manifests = ManifestStore::Open(std::move(*manifest_db), key);
  if (!manifests) {
    return Status(manifests.error().code(), "manifest store " + manifest_dir.string() + ": " +
                                                manifests.error().message());
  }
  if (next_key) {
    if (Status s = (*manifests)->AddKey(*next_key); !s.ok()) return s;
  }

  std::unique_ptr<Node> node(new Node());
  node->manifests_ = std::move(*manifests);
  node->config_ = config;
  node->keys_ = std::make_unique<KeyRing>(key, next_key ? &*next_key : nullptr);
  LedgerOptions options;
  options.self = self;
  options.key = std::move(key);
  options.next_key = std::move(next_key);
  options.high_water_mark = config.high_water_mark.empty()
                                ? std::filesystem::path(config.key_file.string() + ".hwm")
                                : config.high_water_mark;
  options.require_peer_confirmation = !config.sign_without_peer_confirmation;
  // A restored folder may be older than what the peer holds, and so may the
  // mark: sign only after the peer's confirmation, whatever the config says.
  const bool restored = WasRestored(config.data_dir);
  if (restored) {
    options.require_peer_confirmation = true;
    Log(LogLevel::kWarn, "the data folder was restored from a backup: signing waits for the peer to confirm our own "
                         "head, and what was signed after the backup is recovered from the peer",
        {{"data_dir", config.data_dir.string()},
         {"sign_without_peer_confirmation", config.sign_without_peer_confirmation ? "set, but ignored until then" : "no"}});
  } else if (config.sign_without_peer_confirmation) {
    Log(LogLevel::kWarn, "signing without the peer's confirmation of our own head (sign_without_peer_confirmation)",
        {{"risk", "if the data folder and high-water mark are an older copy, a seq is signed twice and the peer "
                  "freezes our feed with a fork proof"}});
  }
  auto ledger = Ledger::Open(std::move(*store), *charter_bytes, std::move(options));
  if (!ledger) return ledger.error();
  node->ledger_ = std::move(*ledger);
  self = node->ledger_->self();  // set: Open fails for a key of no party
  if (auto damage = node->ledger_->damaged()) {
    Log(LogLevel::kError, "the data folder is damaged", {{"data_dir", config.data_dir.string()}, {"damage", *damage}});
  }
  if (auto blocked = node->ledger_->signing_blocked()) {
    Log(LogLevel::kWarn, "signing is blocked", {{"reason", *blocked}});
  }

  std::shared_ptr<grpc::ServerCredentials> server_creds = grpc::InsecureServerCredentials();
  std::shared_ptr<grpc::ChannelCredentials> channel_creds = grpc::InsecureChannelCredentials();
  if (!config.plaintext) {
    auto tls = ReadTlsFiles(config.tls_cert, config.tls_key);
    if (!tls) return tls.error();
    // Through a relay the other party's node never connects here: only the
    // observers (and a peer_fingerprint, if also given) are let in.
    std::set<std::string> allowed;
    if (!config.peer_fingerprint.empty()) allowed.insert(config.peer_fingerprint);
    std::stringstream observers(config.observer_fingerprints);
    for (std::string fp; std::getline(observers, fp, ',');) {
      if (!fp.empty()) allowed.insert(fp);
    }
    server_creds = PinnedServerCredentials(*tls, std::move(allowed));
    channel_creds =
        PinnedChannelCredentials(*tls, config.relay.empty() ? config.peer_fingerprint : config.relay_fingerprint);
  }
  node->metrics_ = std::make_unique<Metrics>(*node->ledger_);
  Metrics* metrics = node->metrics_.get();
  node->replicator_ =
      std::make_unique<Replicator>(*node->ledger_, config.remote(), *node->keys_, channel_creds, metrics,
                                   !config.relay.empty());
  node->missing_manifests_ = std::make_unique<MissingManifests>(*node->ledger_, *node->manifests_);
  {
    MissingManifests* missing = node->missing_manifests_.get();
    const std::filesystem::path data_dir = config.data_dir;
    node->replicator_->OnOwnHeadConfirmed([missing, data_dir, restored] {
      // What was signed after a backup is recovered by now: name the own
      // manifests it names that the restored store lacks.
      auto found = missing->Check();
      if (!found) Log(LogLevel::kWarn, "cannot check for missing manifests", {{"reason", found.error().ToString()}});
      if (restored) {
        if (Status s = ClearRestoredMarker(data_dir); !s.ok()) {
          Log(LogLevel::kWarn, "cannot remove the restore marker", {{"reason", s.ToString()}});
        } else {
          Log(LogLevel::kInfo, "restore complete: the peer confirmed our own head",
              {{"missing_manifests", found ? std::to_string(found->size()) : "unknown"}});
        }
      }
    });
  }
  // Nodes get witnessed (docs/PROTOCOL.md §15.7): our checkpoints go to the
  // charter's witnesses, their cosignatures are kept and served.
  node->checkpoints_ = std::make_unique<CheckpointBook>(*node->ledger_, metrics);
  if (Status s = node->checkpoints_->Load(); !s.ok()) {
    Log(LogLevel::kError, "cannot read the stored witness state", {{"reason", s.ToString()}});
  }
  {
    Replicator* replicator = node->replicator_.get();
    node->witnessing_ = std::make_unique<Witnessing>(
        *node->ledger_, *node->keys_, *node->checkpoints_, metrics, nullptr, nullptr,
        [replicator](PartyIndex party, uint64_t from) { return replicator->FetchCheckpoints(party, from); });
    Witnessing* witnessing = node->witnessing_.get();
    node->replicator_->OnCaughtUp([witnessing] { witnessing->Poke(); });
  }
  node->peer_service_ = std::make_unique<PeerService>(*node->ledger_, node->manifests_.get(), metrics);
  node->peer_service_->ServeCheckpoints(node->checkpoints_.get());
  node->operator_service_ =
      std::make_unique<OperatorService>(*node->ledger_, *node->replicator_, *node->keys_, *node->manifests_,
                                         *node->missing_manifests_, metrics);
  node->operator_service_->ServeCheckpoints(node->checkpoints_.get());
  metrics->Watch(node->replicator_.get(), node->peer_service_.get());

  {
    grpc::ServerBuilder b;
    b.AddListeningPort(config.listen, server_creds, &node->peer_port_);
    b.RegisterService(node->peer_service_.get());
    ConfigurePeerServer(b, "parley-peer", 16 * 1024);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(PeerCallMetrics(*metrics));
    b.experimental().SetInterceptorCreators(std::move(interceptors));
    node->peer_server_ = b.BuildAndStart();
    // A failed bind: BuildAndStart returns null, or a server whose selected
    // port is 0 (gRPC logs the errno; we cannot read it here).
    if (!node->peer_server_ || node->peer_port_ == 0) {
      return Status(Code::kUnavailable, "cannot listen on the peer address " + config.listen +
                                            ": address in use (another node or program is bound to it) or not "
                                            "available on this machine");
    }
  }
  {
    std::error_code ec;
    std::filesystem::remove(config.socket, ec);  // a stale socket of a stopped node
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + std::filesystem::absolute(config.socket).string(),
                       grpc::InsecureServerCredentials());
    b.RegisterService(node->operator_service_.get());
    // Manifests arrive here as whole CSV files (local socket, mode 0600).
    b.SetMaxReceiveMessageSize(256 << 20);
    // The standard gRPC health service (grpc.health.v1.Health) for service
    // managers and probes, on the operator socket only: gRPC adds it to the
    // servers built while this process-wide flag is set, so it is set for
    // this builder alone (the peer port serves nothing unauthenticated).
    // SERVING while the node runs; `parley status --check` gives the finer
    // healthy / degraded / alarm.
    grpc::EnableDefaultHealthCheckService(true);
    mode_t old = ::umask(0177);  // the socket is created 0600
    node->operator_server_ = b.BuildAndStart();
    ::umask(old);
    grpc::EnableDefaultHealthCheckService(false);
    if (!node->operator_server_) {
      return Status(Code::kUnavailable, "cannot listen on operator socket " + config.socket.string());
    }
    ::chmod(config.socket.c_str(), 0600);
  }
  if (!config.metrics_listen.empty()) {
    if (Status s = metrics->Serve(config.metrics_listen); !s.ok()) return s;
    if (!IsLoopbackAddress(config.metrics_listen)) {
      Log(LogLevel::kWarn, "metrics served off loopback without authentication (metrics_allow_remote)",
          {{"metrics", config.metrics_listen}});
    }
  }
  node->replicator_->Start();
  node->witnessing_->Start();
  const Charter& c = node->ledger_->charter();
  Log(LogLevel::kInfo, "node started",
      {{"party", c.party_code(*self)},
       {"ledger", ToHex(c.ledger_id()).substr(0, 16)},
       {"listen", config.listen.substr(0, config.listen.rfind(':')) + ":" + std::to_string(node->peer_port_)},
       {config.relay.empty() ? "peer" : "relay", config.remote()},
       {"socket", config.socket.string()},
       {"transport", config.plaintext ? "plaintext (loopback)" : "mutual TLS, pinned"},
       {"metrics", config.metrics_listen.empty() ? "off" : config.metrics_listen},
       {"own_head", std::to_string(node->ledger_->Head(*self).seq)},
       {"peer_head", std::to_string(node->ledger_->Head(1 - *self).seq)}});
  return node;
}

void Node::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (metrics_) metrics_->Stop();  // no scrape reads what is stopped below
  if (operator_server_ && operator_server_->GetHealthCheckService()) {
    operator_server_->GetHealthCheckService()->SetServingStatus(false);  // stopping: NOT_SERVING
  }
  if (witnessing_) witnessing_->Stop();
  if (replicator_) replicator_->Stop();
  if (peer_service_) peer_service_->Stop();
  if (operator_service_) operator_service_->Stop();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  if (peer_server_) peer_server_->Shutdown(deadline);
  if (operator_server_) operator_server_->Shutdown(deadline);
  std::error_code ec;
  std::filesystem::remove(config_.socket, ec);
  Log(LogLevel::kInfo, "node stopped");
}

Node::~Node() { Shutdown(); }

}  // namespace parley
