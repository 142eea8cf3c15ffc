#include "node/relay/relay.h"

#include <fstream>
#include <set>
#include <sstream>

#include "node/daemon/log.h"
#include "node/daemon/peer_client.h"
#include "node/daemon/peer_service.h"
#include "node/daemon/tls.h"

namespace parley {

Result<std::unique_ptr<Relay>> Relay::Start(const RelayConfig& config) {
  if (Status s = config.Validate(); !s.ok()) return s;
  std::string charter_bytes;
  {
    std::ifstream in(config.charter, std::ios::binary);
    if (!in) return Status(Code::kNotFound, "cannot read charter " + config.charter.string());
    std::stringstream ss;
    ss << in.rdbuf();
    charter_bytes = ss.str();
  }
  auto store = OpenLevelDbStore(config.data_dir);
  if (!store) return store.error();
  // No local party, no key: the relay signs nothing and verifies everything
  // with the same Ledger a party's node uses.
  auto ledger = Ledger::Open(std::move(*store), charter_bytes, LedgerOptions{});
  if (!ledger) return ledger.error();
  std::unique_ptr<Relay> relay(new Relay());
  relay->ledger_ = std::move(*ledger);
  if (auto damage = relay->ledger_->damaged()) {
    Log(LogLevel::kError, "the relay's data folder is damaged",
        {{"data_dir", config.data_dir.string()}, {"damage", *damage}});
  }
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!config.plaintext) {
    auto tls = ReadTlsFiles(config.tls_cert, config.tls_key);
    if (!tls) return tls.error();
    std::set<std::string> allowed;
    std::stringstream list(config.client_fingerprints);
    for (std::string fp; std::getline(list, fp, ',');) allowed.insert(fp);
    creds = PinnedServerCredentials(*tls, std::move(allowed));
  }
  relay->service_ = std::make_unique<RelayService>(*relay->ledger_);
  grpc::ServerBuilder b;
  b.AddListeningPort(config.listen, creds, &relay->port_);
  b.RegisterService(relay->service_.get());
  ConfigurePeerServer(b, "parley-relay", kMaxPeerMessageBytes);  // Publish carries whole entries
  relay->server_ = b.BuildAndStart();
  if (!relay->server_ || relay->port_ == 0) {
    return Status(Code::kUnavailable, "cannot listen on the relay address " + config.listen +
                                          ": address in use or not available on this machine");
  }
  const Charter& c = relay->ledger_->charter();
  Log(LogLevel::kInfo, "relay started",
      {{"ledger", ToHex(c.ledger_id()).substr(0, 16)},
       {"parties", c.party_code(0) + "," + c.party_code(1)},
       {"listen", config.listen.substr(0, config.listen.rfind(':')) + ":" + std::to_string(relay->port_)},
       {"transport", config.plaintext ? "plaintext (loopback)" : "mutual TLS, pinned"},
       {"heads", std::to_string(relay->ledger_->Head(0).seq) + "," + std::to_string(relay->ledger_->Head(1).seq)}});
  return relay;
}

void Relay::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (service_) service_->Stop();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  Log(LogLevel::kInfo, "relay stopped");
}

Relay::~Relay() { Shutdown(); }

}  // namespace parley
