// A single-threaded HTTP/1.1 server on epoll whose answers may be held
// back: the witness's plain-HTTP front (node/witness/server.h).
//
// Why not httplib's own server: it gives every connection a thread, and a
// witness request would wake its thread twice (for the request, then again
// when its group-committed write is durable). With a thread switch or two
// per request the scheduler costs as much as the cryptography. Here one
// thread reads every ready connection, answers each request through
// httplib's own request handling (the routes registered on routes(), parsed
// and written by httplib::Server::process_request over an in-memory
// stream), and holds an answer whose handler called Hold(ticket) until
// settle(ticket) says it may go: the committer thread wakes the loop once
// per write (Wake), and the loop sends every answer that write released.
//
// What the loop does itself is only the framing: where a request ends
// (FrameHttpRequest below), keep-alive, pipelined answers kept in order,
// "100 Continue" for a client that waits for it, timeouts, and limits. A
// request with Transfer-Encoding gets 411 (tlog-witness clients send
// Content-Length).
//
// Thread safety: Run on one thread; Wake and Stop from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/status.h"

namespace httplib {
class Server;
}

namespace parley {

// Where a held answer stands.
struct HeldAnswer {
  enum State { kPending, kRelease, kReplace } state = kPending;
  // kReplace: the answer sent instead (text/plain).
  int status = 500;
  std::string body;
};

struct HttpLoopOptions {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1 << 20;
  // Past this a new connection gets 503 and is closed; past the process's
  // descriptor limit connections wait in the listen backlog.
  size_t max_connections = 1024;
  int idle_timeout_seconds = 60;     // a keep-alive connection with nothing pending
  int request_timeout_seconds = 10;  // a request begun and not finished
  // Answers waiting per connection (pipelined requests): past this the
  // connection is not read until some are sent.
  size_t max_held_per_connection = 64;
  std::function<HeldAnswer(uint64_t ticket)> settle;
  // Called when the loop has answered everything it had read and nothing
  // more is ready (empty: nothing is called).
  std::function<void()> on_idle;
};

// Where the first request in `in` ends.
struct HttpFrame {
  enum State { kNeedMore, kComplete, kRefuse } state = kNeedMore;
  size_t length = 0;          // kComplete: bytes of the request, headers and body
  bool expects_100 = false;   // headers complete, body not: the client waits for "100 Continue"
  int status = 0;             // kRefuse: 400, 411, 413 or 431
  std::string reason;         // kRefuse
};
HttpFrame FrameHttpRequest(std::string_view in, size_t max_header_bytes, size_t max_body_bytes);

class HttpLoop {
 public:
  // Listens on host:port (port 0: any free port). kUnavailable if it cannot.
  static Result<std::unique_ptr<HttpLoop>> Bind(const std::string& host, int port, HttpLoopOptions options);
  ~HttpLoop();

  int port() const { return port_; }
  // The routes (Get, Post, ...) requests are answered by. Register them
  // before Run.
  httplib::Server& routes();
  // From inside a route handler: hold this request's answer until
  // settle(ticket) releases or replaces it.
  void Hold(uint64_t ticket);

  // Serves until Stop (at once if Stop came first).
  void Run();
  // Makes Run look at its held answers again (e.g. after a write).
  void Wake();
  void Stop();

 private:
  struct Impl;
  explicit HttpLoop(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace parley
