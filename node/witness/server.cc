#include "node/witness/server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <functional>
#include <map>
#include <thread>

#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "node/witness/http_loop.h"

namespace parley {

namespace {

// The witness's routes, on either front. `add` answers an add-checkpoint
// body.
void AddRoutes(httplib::Server& http, Witness* witness,
               std::function<WitnessResponse(std::string_view body)> add) {
  http.Post("/add-checkpoint", [add = std::move(add)](const httplib::Request& req, httplib::Response& res) {
    WitnessResponse r = add(req.body);
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  });
  // The origins the witness knows, by the hash the monitoring URL uses
  // (computed once, not per request).
  std::map<std::string, std::string> by_hash;
  for (const std::string& origin : witness->Origins()) by_hash.emplace(ToHex(Sha256(origin)), origin);
  http.Get(R"(/([0-9a-f]{64})/checkpoint)",
           [witness, by_hash = std::move(by_hash)](const httplib::Request& req, httplib::Response& res) {
             auto origin = by_hash.find(req.matches[1]);
             if (origin != by_hash.end()) {
               if (auto note = witness->Latest(origin->second)) {
                 res.status = 200;
                 res.set_content(*note, "text/plain; charset=utf-8");
                 return;
               }
             }
             res.status = 404;
             res.set_content("no checkpoint cosigned for this origin\n", "text/plain; charset=utf-8");
           });
}

}  // namespace

// Plain HTTP: the event loop (http_loop.h), holding each 200 until the
// state write recording it is durable. HTTPS: httplib's SSLServer, a thread
// per connection, each waiting in Witness::AddCheckpoint.
struct WitnessServer::Impl {
  Witness* witness = nullptr;
  std::unique_ptr<HttpLoop> loop;
  std::unique_ptr<httplib::Server> tls;
  int listen_fd = -1;  // the listening socket httplib made (for its backlog)
};

WitnessServer::WitnessServer(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}

WitnessServer::~WitnessServer() {
  if (impl_->loop) impl_->witness->SetWriteListener({});
}

Result<std::unique_ptr<WitnessServer>> WitnessServer::Bind(Witness* witness, const std::string& listen,
                                                          const std::filesystem::path& tls_cert,
                                                          const std::filesystem::path& tls_key) {
  if (tls_cert.empty() != tls_key.empty()) {
    return Status(Code::kInvalidArgument, "TLS needs both tls_cert and tls_key");
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status(Code::kInvalidArgument, "listen address must be host:port, got " + listen);
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || port < 0 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return Status(Code::kInvalidArgument, "listen address has no valid port: " + listen);
  }
  auto impl = std::make_unique<Impl>();
  impl->witness = witness;
  if (tls_cert.empty()) {
    HttpLoopOptions options;
    options.max_body_bytes = kMaxAddCheckpointBytes;
    options.settle = [witness](uint64_t generation) {
      HeldAnswer a;
      switch (witness->Settle(generation)) {
        case Durability::kPending: a.state = HeldAnswer::kPending; break;
        case Durability::kDurable: a.state = HeldAnswer::kRelease; break;
        case Durability::kFailed: {
          WitnessResponse failed = witness->WriteFailed();
          a.state = HeldAnswer::kReplace;
          a.status = failed.status;
          a.body = std::move(failed.body);
          break;
        }
      }
      return a;
    };
    // Nothing more to read: the requests accepted are all there will be
    // for now, so their write need not wait for more.
    options.on_idle = [witness] { witness->Flush(); };
    auto loop = HttpLoop::Bind(host, port, std::move(options));
    if (!loop) return loop.error();
    HttpLoop* raw = loop->get();
    AddRoutes(raw->routes(), witness, [witness, raw](std::string_view body) {
      AcceptedCheckpoint accepted = witness->Accept(body);
      if (accepted.generation != 0) raw->Hold(accepted.generation);
      return std::move(accepted.response);
    });
    witness->SetWriteListener([raw] { raw->Wake(); });
    port = raw->port();
    impl->loop = std::move(loop).value();
    return std::unique_ptr<WitnessServer>(new WitnessServer(std::move(impl), port));
  }
  struct stat st {};
  if (::stat(tls_key.c_str(), &st) != 0) return Status(Code::kNotFound, "cannot read TLS key " + tls_key.string());
  Status mode = CheckPrivateFileMode(st.st_mode, tls_key, "TLS key");
  if (!mode.ok()) return mode;
  auto tls = std::make_unique<httplib::SSLServer>(tls_cert.c_str(), tls_key.c_str());
  if (!tls->is_valid()) {
    return Status(Code::kInvalidArgument,
                  "cannot make a TLS server from " + tls_cert.string() + " and " + tls_key.string());
  }
  httplib::Server& http = *tls;
  impl->tls = std::move(tls);
  http.set_payload_max_length(kMaxAddCheckpointBytes);
  // One thread per open connection: a log keeps its connection open and
  // waits on the group commit (witness.h), so the pool must hold as many
  // connections as there are logs submitting at once for their requests to
  // share one state write (httplib's default is 8 threads).
  http.new_task_queue = [] { return new httplib::ThreadPool(kWitnessHttpThreads); };
  // Answers go out at once, not held back by Nagle's algorithm for the
  // client's delayed acknowledgement.
  http.set_tcp_nodelay(true);
  http.set_keep_alive_max_count(1000);
  Impl* raw = impl.get();
  http.set_socket_options([raw](socket_t sock) {
    httplib::default_socket_options(sock);
    raw->listen_fd = sock;
  });
  AddRoutes(http, witness, [witness](std::string_view body) { return witness->AddCheckpoint(body); });
  if (port == 0) {
    port = http.bind_to_any_port(host);
    if (port < 0) return Status(Code::kUnavailable, "cannot listen on " + listen);
  } else if (!http.bind_to_port(host, port)) {
    return Status(Code::kUnavailable, "cannot listen on " + listen + " (in use, or not a local address)");
  }
  // httplib listens with a backlog of 5: many logs connecting at once would
  // have connections refused or reset. Listening again only raises it.
  if (raw->listen_fd >= 0) ::listen(raw->listen_fd, SOMAXCONN);
  return std::unique_ptr<WitnessServer>(new WitnessServer(std::move(impl), port));
}

bool WitnessServer::Serve() {
  {
    std::lock_guard lock(mu_);
    if (stop_requested_) return true;
    serving_ = true;
  }
  bool ok = true;
  if (impl_->loop) {
    impl_->loop->Run();
  } else {
    ok = impl_->tls->listen_after_bind();
  }
  serving_ = false;
  return ok;
}

// httplib's stop() acts only on a server already listening, so a Stop that
// races with the start of Serve waits until Serve listens (or has returned).
void WitnessServer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  if (impl_->loop) return impl_->loop->Stop();
  while (serving_ && !impl_->tls->is_running()) std::this_thread::yield();
  impl_->tls->stop();
}

}  // namespace parley
