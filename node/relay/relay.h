// Relay: `parley relay` running — the Ledger of one charter in its own data
// folder, opened with no local party, served by RelayService on one port
// (mutual TLS pinned to the callers' certificates, or plaintext on loopback
// when the config says so). docs/PROTOCOL.md §16.
//
// Thread safety: Start and Shutdown from one thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "node/ledger/ledger.h"
#include "node/relay/config.h"
#include "node/relay/relay_service.h"

namespace parley {

class Relay {
 public:
  // Opens (or founds) the store with the charter (signed by both parties)
  // and starts serving. Errors: a bad config or charter, a store of another
  // charter or in use, a port that cannot be bound.
  static Result<std::unique_ptr<Relay>> Start(const RelayConfig& config);
  ~Relay();

  void Shutdown();
  int port() const { return port_; }
  Ledger& ledger() { return *ledger_; }

 private:
  Relay() = default;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<RelayService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace parley
