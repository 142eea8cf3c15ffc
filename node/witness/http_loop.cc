#include "node/witness/http_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <vector>

namespace parley {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

const char* Reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

// An answer the loop writes itself (framing refusals, replaced answers).
std::string PlainResponse(int status, std::string_view body, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) +
                    "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

// One framed request, for httplib to read; what it writes is kept.
class MemoryStream : public httplib::Stream {
 public:
  MemoryStream(std::string_view request, const std::string& ip, int port) : in_(request), ip_(ip), port_(port) {}
  bool is_readable() const override { return !in_.empty(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size());
    std::memcpy(ptr, in_.data(), n);
    in_.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = ip_;
    port = port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  // Not the connection's descriptor: httplib built on select() answers 500
  // to a descriptor at or above FD_SETSIZE, which this stream never polls.
  socket_t socket() const override { return -1; }
  std::string& out() { return out_; }

 private:
  std::string_view in_;
  const std::string& ip_;
  int port_;
  std::string out_;
};

// httplib's request handling, reachable for one in-memory request.
class Router : public httplib::Server {
 public:
  bool Answer(httplib::Stream& stream, bool* close) { return process_request(stream, false, *close, {}); }
};

}  // namespace

struct HttpLoop::Impl {
  struct Held {
    uint64_t ticket;  // 0: ready to send
    std::string bytes;
    bool close_after;
  };
  struct Conn {
    int fd = -1;
    std::string ip;
    int port = 0;
    std::string in;
    std::string out;
    size_t out_sent = 0;
    std::deque<Held> held;
    bool continue_sent = false;  // for the request being received
    bool closing = false;        // read no more; close once everything is sent
    uint32_t interest = 0;       // the epoll events registered
    Clock::time_point active;    // last byte received or sent
  };

  HttpLoopOptions options;
  Router router;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::atomic<bool> stop{false};
  uint64_t next_id = 2;  // 0: the listening socket, 1: the wake eventfd
  std::unordered_map<uint64_t, Conn> conns;
  uint64_t held_ticket = 0;  // set by Hold from the handler being run
  bool listening = true;
  Clock::time_point accept_paused_until;

  ~Impl() {
    for (auto& [id, c] : conns) ::close(c.fd);
    if (listen_fd >= 0) ::close(listen_fd);
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void Close(uint64_t id) {
    auto it = conns.find(id);
    if (it == conns.end()) return;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->second.fd, nullptr);
    ::close(it->second.fd);
    conns.erase(it);
  }

  void SetListening(bool on) {
    epoll_event ev{};
    ev.events = on ? uint32_t{EPOLLIN} : 0u;
    ev.data.u64 = 0;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listen_fd, &ev);
    listening = on;
  }

  void AcceptAll() {
    while (true) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: the rest wait in the backlog. Not polled for
          // a while, or the level-triggered listening socket would spin.
          SetListening(false);
          accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
        }
        return;
      }
      if (conns.size() >= options.max_connections) {
        const std::string busy = PlainResponse(503, "too many connections\n", true);
        (void)!::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const uint64_t id = next_id++;
      Conn& c = conns[id];
      c.fd = fd;
      char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
      if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        c.ip = host;
        c.port = std::atoi(serv);
      }
      c.active = Clock::now();
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = id;
      c.interest = EPOLLIN;
      if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) Close(id);
    }
  }

  // Answers the complete requests buffered on `c`, as far as limits allow.
  void Answer(Conn& c) {
    while (!c.closing && c.held.size() < options.max_held_per_connection && !c.in.empty()) {
      const HttpFrame f = FrameHttpRequest(c.in, options.max_header_bytes, options.max_body_bytes);
      if (f.state == HttpFrame::kNeedMore) {
        if (f.expects_100 && !c.continue_sent) {
          c.held.push_back({0, std::string(kContinue), false});
          c.continue_sent = true;
        }
        return;
      }
      if (f.state == HttpFrame::kRefuse) {
        c.held.push_back({0, PlainResponse(f.status, f.reason + "\n", true), true});
        c.closing = true;
        return;
      }
      MemoryStream stream(std::string_view(c.in).substr(0, f.length), c.ip, c.port);
      held_ticket = 0;
      bool close = false;
      const bool ok = router.Answer(stream, &close);
      std::string bytes = std::move(stream.out());
      // httplib answers "Expect: 100-continue" itself; the client has had
      // its 100 from the loop already, or sent the body without waiting.
      if (bytes.compare(0, kContinue.size(), kContinue) == 0) bytes.erase(0, kContinue.size());
      c.in.erase(0, f.length);
      c.continue_sent = false;
      if (!ok || close) c.closing = true;
      if (!bytes.empty()) c.held.push_back({held_ticket, std::move(bytes), c.closing});
    }
  }

  // Moves the answers that may go, in order, to the output.
  void Release(Conn& c) {
    while (!c.held.empty()) {
      Held& h = c.held.front();
      if (h.ticket != 0) {
        const HeldAnswer a = options.settle(h.ticket);
        if (a.state == HeldAnswer::kPending) return;
        if (a.state == HeldAnswer::kReplace) h.bytes = PlainResponse(a.status, a.body, h.close_after);
      }
      c.out += h.bytes;
      c.held.pop_front();
    }
  }

  // Sends what it can; false if the connection is gone.
  bool Send(Conn& c) {
    while (c.out_sent < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) return false;
      c.out_sent += static_cast<size_t>(n);
      c.active = Clock::now();
    }
    if (c.out_sent == c.out.size()) {
      c.out.clear();
      c.out_sent = 0;
    }
    return true;
  }

  // Answers, releases and sends on connection `id` until nothing moves,
  // then registers the events it waits for; closes it when it is done.
  void Pump(uint64_t id) {
    auto it = conns.find(id);
    if (it == conns.end()) return;
    Conn& c = it->second;
    while (true) {
      const size_t unanswered = c.in.size();
      Answer(c);
      Release(c);
      if (!Send(c)) return Close(id);
      // Answered some but stopped at the limit of held answers: if sending
      // made room, answer more.
      if (c.in.empty() || c.in.size() == unanswered) break;
    }
    if (c.closing && c.held.empty() && c.out.empty()) return Close(id);
    const bool reading = !c.closing && c.held.size() < options.max_held_per_connection;
    const uint32_t want = (reading ? uint32_t{EPOLLIN} : 0u) | (c.out.empty() ? 0u : uint32_t{EPOLLOUT});
    if (want != c.interest) {
      epoll_event ev{};
      ev.events = want;
      ev.data.u64 = id;
      ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
      c.interest = want;
    }
  }

  void Receive(uint64_t id) {
    Conn& c = conns.at(id);
    char buf[16384];
    bool client_done = false;
    while (!c.closing) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0) return Close(id);  // reset
      if (n == 0) {  // the client is done sending
        client_done = true;
        break;
      }
      c.in.append(buf, static_cast<size_t>(n));
      c.active = Clock::now();
      // A short read emptied the socket (epoll reports any more): no
      // second recv just to hear EAGAIN.
      if (static_cast<size_t>(n) < sizeof buf) break;
      if (c.in.size() > options.max_header_bytes + options.max_body_bytes) break;  // framing refuses it
    }
    if (client_done) {
      // Requests already complete are still answered (a client may
      // half-close after sending); then the connection closes.
      Answer(c);
      c.closing = true;
    }
    Pump(id);
  }

  // Closes connections idle, stalled or slow past their timeouts.
  void Sweep() {
    const auto now = Clock::now();
    std::vector<uint64_t> expired;
    for (const auto& [id, c] : conns) {
      const auto idle = now - c.active;
      if (!c.held.empty() && c.out.empty()) continue;  // waiting for a write, not for the client
      const bool begun = !c.in.empty() || !c.out.empty();
      const int limit = begun ? options.request_timeout_seconds : options.idle_timeout_seconds;
      if (idle > std::chrono::seconds(limit)) expired.push_back(id);
    }
    for (uint64_t id : expired) Close(id);
  }

  void Run() {
    std::vector<epoll_event> events(256);
    auto last_sweep = Clock::now();
    bool busy = false;  // the last round handled events
    while (!stop.load()) {
      int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 0);
      if (n == 0) {
        if (busy && options.on_idle) options.on_idle();
        n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), listening ? 1000 : 100);
      }
      busy = n > 0;
      if (n < 0 && errno != EINTR) return;
      bool woken = false;
      for (int i = 0; i < n; ++i) {
        const uint64_t id = events[i].data.u64;
        if (id == 0) {
          AcceptAll();
        } else if (id == 1) {
          uint64_t count = 0;
          (void)!::read(wake_fd, &count, sizeof count);
          woken = true;
        } else if (conns.count(id) != 0) {
          if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            Receive(id);
          } else {
            Pump(id);
          }
        }
      }
      if (stop.load()) break;
      if (woken) {
        std::vector<uint64_t> waiting;
        for (const auto& [id, c] : conns) {
          if (!c.held.empty()) waiting.push_back(id);
        }
        for (uint64_t id : waiting) Pump(id);
      }
      if (!listening && Clock::now() >= accept_paused_until) SetListening(true);
      if (Clock::now() - last_sweep > std::chrono::seconds(1)) {
        Sweep();
        last_sweep = Clock::now();
      }
    }
  }
};

HttpLoop::HttpLoop(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}
HttpLoop::~HttpLoop() = default;

Result<std::unique_ptr<HttpLoop>> HttpLoop::Bind(const std::string& host, int port, HttpLoopOptions options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0 || found == nullptr) {
    return Status(Code::kUnavailable, "cannot listen on " + host + ":" + service + " (not a local address)");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->router.set_payload_max_length(impl->options.max_body_bytes);
  // What httplib's answers advertise in their Keep-Alive header.
  impl->router.set_keep_alive_timeout(impl->options.idle_timeout_seconds);
  impl->router.set_keep_alive_max_count(1000000);
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return Status(Code::kUnavailable, "cannot listen on " + host + ":" + service + " (in use, or not a local address)");
  impl->listen_fd = fd;
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int actual = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                                 : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  impl->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  impl->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->epoll_fd < 0 || impl->wake_fd < 0) return Status(Code::kUnavailable, std::string("epoll: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  ::epoll_ctl(impl->epoll_fd, EPOLL_CTL_ADD, impl->listen_fd, &ev);
  ev.data.u64 = 1;
  ::epoll_ctl(impl->epoll_fd, EPOLL_CTL_ADD, impl->wake_fd, &ev);
  return std::unique_ptr<HttpLoop>(new HttpLoop(std::move(impl), actual));
}

httplib::Server& HttpLoop::routes() { return impl_->router; }
void HttpLoop::Hold(uint64_t ticket) { impl_->held_ticket = ticket; }
void HttpLoop::Run() { impl_->Run(); }

void HttpLoop::Wake() {
  const uint64_t one = 1;
  (void)!::write(impl_->wake_fd, &one, sizeof one);
}

void HttpLoop::Stop() {
  impl_->stop = true;
  Wake();
}

}  // namespace parley
