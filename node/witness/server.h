// The witness over HTTP (cpp-httplib): c2sp.org/tlog-witness
//   POST /add-checkpoint             → Witness::AddCheckpoint
//   GET  /<hex SHA-256 of origin>/checkpoint → the last cosigned checkpoint
//                                      (monitoring; 404 if none)
// Plain HTTP; put a TLS-terminating proxy in front where needed.
//
// Thread safety: Serve blocks on its own threads; Stop may be called from
// any thread (e.g. a signal watcher).
#pragma once

#include <memory>
#include <string>

#include "crypto/status.h"
#include "node/witness/witness.h"

namespace parley {

class WitnessServer {
 public:
  // Binds `listen` ("host:port"; "[::1]:port" for IPv6). kUnavailable if it
  // cannot bind.
  static Result<std::unique_ptr<WitnessServer>> Bind(Witness* witness, const std::string& listen);
  ~WitnessServer();

  int port() const { return port_; }
  // Serves until Stop. Returns false if the server failed.
  bool Serve();
  void Stop();

 private:
  struct Impl;
  explicit WitnessServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace parley
