// The witness over HTTP (cpp-httplib): c2sp.org/tlog-witness
//   POST /add-checkpoint             → Witness::AddCheckpoint
//   GET  /<hex SHA-256 of origin>/checkpoint → the last cosigned checkpoint
//                                      (monitoring; 404 if none)
// HTTPS when given a certificate and key (PEM, e.g. from `parley tls init`;
// the key file must not be readable by group or others): cpp-httplib's TLS
// server, a thread per connection waiting in Witness::AddCheckpoint. Plain
// HTTP otherwise: one epoll thread (http_loop.h) that holds each 200 until
// the state write recording it is durable. Both answer through
// cpp-httplib's request handling, with the same routes.
//
// Thread safety: Serve blocks on its own threads; Stop may be called from
// any thread (e.g. a signal watcher).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "crypto/status.h"
#include "node/witness/witness.h"

namespace parley {

// HTTPS connections served at once (one thread each); more wait to be
// accepted.
inline constexpr size_t kWitnessHttpThreads = 256;

class WitnessServer {
 public:
  // Binds `listen` ("host:port"; "[::1]:port" for IPv6). kUnavailable if it
  // cannot bind; kInvalidArgument for only one of tls_cert and tls_key, or
  // files that do not make a TLS server. REQUIRES: `witness` outlives the
  // server.
  static Result<std::unique_ptr<WitnessServer>> Bind(Witness* witness, const std::string& listen,
                                                     const std::filesystem::path& tls_cert = {},
                                                     const std::filesystem::path& tls_key = {});
  ~WitnessServer();

  int port() const { return port_; }
  // Serves until Stop (at once if Stop came first). Returns false if the
  // server failed.
  bool Serve();
  // Ends Serve, whether it is serving, about to, or not called yet.
  void Stop();

 private:
  struct Impl;
  explicit WitnessServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
  std::mutex mu_;
  bool stop_requested_ = false;  // guarded by mu_
  std::atomic<bool> serving_{false};
};

}  // namespace parley
