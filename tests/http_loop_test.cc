// The witness's plain-HTTP front (node/witness/http_loop.h) over real
// sockets on 127.0.0.1: where a request ends, held answers kept in order
// behind pipelined ones, "100 Continue", refusals that close, a client that
// half-closes; and through WitnessServer, that no 200 leaves before its write
// is durable and a failed write answers 500.
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "fixtures.h"
#include "node/witness/http_loop.h"
#include "node/witness/server.h"
#include "node/witness/witness.h"
#include "tlog_fixtures.h"

namespace parley {
namespace {

using Clock = std::chrono::steady_clock;

TEST_CASE("http framing: where a request ends, and what is refused before it is read") {
  const auto frame = [](std::string_view in) { return FrameHttpRequest(in, 1024, 100); };
  CHECK(frame("GET / HTTP/1.1\r\nHost: x\r\n").state == HttpFrame::kNeedMore);
  HttpFrame f = frame("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next");
  CHECK(f.state == HttpFrame::kComplete);
  CHECK(f.length == 27);
  f = frame("POST /a HTTP/1.1\r\ncontent-LENGTH:  5 \r\n\r\nhelloGET");
  CHECK(f.state == HttpFrame::kComplete);
  CHECK(f.length == 46);
  f = frame("POST /a HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhel");
  CHECK(f.state == HttpFrame::kNeedMore);
  CHECK(f.expects_100);
  CHECK_FALSE(frame("POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel").expects_100);
  const std::map<std::string, std::pair<int, std::string>> refused = {
      {"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", {411, "Content-Length"}},
      {"POST /a HTTP/1.1\r\nContent-Length: 101\r\n\r\n", {413, "too large"}},
      {"POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", {400, "not a decimal"}},
      {"POST /a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", {400, "disagree"}},
      {"POST /a HTTP/1.1\r\nContent-Length : 5\r\n\r\n", {400, "white space"}},
      {"POST /a HTTP/1.1\r\nno colon here\r\n\r\n", {400, "no name"}},
      {"GET / HTTP/1.1\r\nX: " + std::string(1100, 'a'), {431, "too long"}},
      {"GET / HTTP/1.1\r\nX: " + std::string(1100, 'a') + "\r\n\r\n", {431, "too long"}},
  };
  for (const auto& [in, want] : refused) {
    CAPTURE(in.substr(0, 60));
    f = frame(in);
    CHECK(f.state == HttpFrame::kRefuse);
    CHECK(f.status == want.first);
    CHECK(f.reason.find(want.second) != std::string::npos);
  }
}

// A loop serving `POST /held` (its answer held under the ticket in the
// body) and `GET /now`; tickets are released or replaced by the test.
struct Loop {
  std::mutex mu;
  std::map<uint64_t, HeldAnswer> settled;  // guarded by mu
  std::unique_ptr<HttpLoop> loop;
  std::thread serving;

  explicit Loop(HttpLoopOptions o = {}) {
    o.settle = [this](uint64_t ticket) {
      std::lock_guard lock(mu);
      auto it = settled.find(ticket);
      return it == settled.end() ? HeldAnswer{} : it->second;
    };
    loop = HttpLoop::Bind("127.0.0.1", 0, std::move(o)).value();
    HttpLoop* raw = loop.get();
    raw->routes().Post("/held", [raw](const httplib::Request& req, httplib::Response& res) {
      raw->Hold(std::stoull(req.body));
      res.set_content("released " + req.body, "text/plain");
    });
    raw->routes().Get("/now", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("now", "text/plain");
    });
    serving = std::thread([raw] { raw->Run(); });
  }
  ~Loop() {
    loop->Stop();
    serving.join();
  }
  void Settle(uint64_t ticket, HeldAnswer a) {
    {
      std::lock_guard lock(mu);
      settled[ticket] = std::move(a);
    }
    loop->Wake();
  }
  void Release(uint64_t ticket) { Settle(ticket, HeldAnswer{HeldAnswer::kRelease, 0, ""}); }
};

// A raw TCP client.
struct Raw {
  int fd = -1;
  explicit Raw(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Raw() { ::close(fd); }
  void Send(std::string_view s) { REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size())); }
  // Everything received within `ms` (less if the server closes).
  std::string Receive(int ms, bool* closed = nullptr) {
    std::string out;
    const auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count());
      if (::poll(&p, 1, std::max(left, 0)) <= 0) break;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed != nullptr) *closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // Receives until `text` shows (or 5 s).
  std::string ReceiveUntil(std::string_view text) {
    std::string out;
    const auto end = Clock::now() + std::chrono::seconds(5);
    while (out.find(text) == std::string::npos && Clock::now() < end) out += Receive(50);
    return out;
  }
};

std::string PostHeld(uint64_t ticket) {
  const std::string body = std::to_string(ticket);
  return "POST /held HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
const std::string kGetNow = "GET /now HTTP/1.1\r\nHost: t\r\n\r\n";

TEST_CASE("http loop: a held answer waits for its release; pipelined answers behind it keep their order") {
  Loop l;
  Raw c(l.loop->port());
  c.Send(PostHeld(7) + kGetNow + PostHeld(8));
  CHECK(c.Receive(200).empty());  // "now" is ready, but must not overtake the held first answer
  l.Release(8);
  CHECK(c.Receive(200).empty());
  l.Release(7);
  const std::string got = c.ReceiveUntil("released 8");
  const size_t first = got.find("released 7"), now = got.find("now"), last = got.find("released 8");
  REQUIRE(first != std::string::npos);
  REQUIRE(now != std::string::npos);
  REQUIRE(last != std::string::npos);
  CHECK(first < now);
  CHECK(now < last);
  CHECK(got.find("HTTP/1.1 200") == 0);
  // The connection stays open for the next request.
  c.Send(kGetNow);
  CHECK(c.ReceiveUntil("now").find("HTTP/1.1 200") == 0);
}

TEST_CASE("http loop: a replaced answer is sent in place of the held one; other connections are not held") {
  Loop l;
  Raw held(l.loop->port()), other(l.loop->port());
  held.Send(PostHeld(3));
  other.Send(kGetNow);
  CHECK(other.ReceiveUntil("now").find("HTTP/1.1 200") == 0);
  l.Settle(3, HeldAnswer{HeldAnswer::kReplace, 500, "the write failed\n"});
  const std::string got = held.ReceiveUntil("the write failed");
  CHECK(got.find("HTTP/1.1 500") == 0);
  CHECK(got.find("released") == std::string::npos);
}

TEST_CASE("http loop: 100 Continue for a client that waits for it, then the answer") {
  Loop l;
  Raw c(l.loop->port());
  c.Send("GET /now HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  CHECK(c.ReceiveUntil("\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");
  c.Send("abcd");
  const std::string got = c.ReceiveUntil("now");
  CHECK(got.find("HTTP/1.1 200") == 0);
  CHECK(got.find("100 Continue") == std::string::npos);  // httplib's own 100 is not sent twice
}

TEST_CASE("http loop: a refused request gets its status and the connection closes; a half-closed client gets its answer") {
  Loop l;
  {
    Raw c(l.loop->port());
    c.Send("POST /held HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n");
    bool closed = false;
    const std::string got = c.Receive(2000, &closed);
    CHECK(got.find("HTTP/1.1 411") == 0);
    CHECK(got.find("Connection: close") != std::string::npos);
    CHECK(closed);
  }
  {
    Raw c(l.loop->port());
    c.Send(PostHeld(11));
    ::shutdown(c.fd, SHUT_WR);
    l.Release(11);
    bool closed = false;
    const std::string got = c.Receive(2000, &closed);
    CHECK(got.find("released 11") != std::string::npos);
    CHECK(closed);
  }
  {  // An unknown path: httplib's 404, on a connection that stays usable.
    Raw c(l.loop->port());
    c.Send("GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(c.ReceiveUntil("\r\n\r\n").find("HTTP/1.1 404") == 0);
    c.Send(kGetNow);
    CHECK(c.ReceiveUntil("now").find("HTTP/1.1 200") == 0);
  }
}

TEST_CASE("http loop: a request begun and not finished is closed after the request timeout; an idle one after the idle timeout") {
  HttpLoopOptions o;
  o.request_timeout_seconds = 1;
  o.idle_timeout_seconds = 2;
  Loop l(o);
  Raw partial(l.loop->port()), idle(l.loop->port());
  partial.Send("GET /now HTTP/1.1\r\nHo");
  const auto start = Clock::now();
  bool closed = false;
  partial.Receive(4000, &closed);
  CHECK(closed);
  CHECK(Clock::now() - start < std::chrono::milliseconds(3500));
  closed = false;
  idle.Receive(3000, &closed);
  CHECK(closed);
}

TEST_CASE("witness over HTTP: no 200 leaves before its write is durable; a failed write answers 500") {
  test::TempDir dir;
  test::TestLog log{"log.example/http", 0x44};
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, holding = false, fail = false;
  WitnessOptions o;
  o.name = "witness.example/http";
  o.logs = {log.witness_log()};
  o.state_file = dir.path() / "state";
  o.high_water_mark = dir.path() / "mark";
  o.before_write = [&](uint64_t) {
    std::unique_lock lock(mu);
    holding = true;
    cv.notify_all();
    cv.wait(lock, [&] { return !hold; });
    holding = false;
    return fail ? Status(Code::kIoError, "injected: disk gone") : Status::Ok();
  };
  auto witness = Witness::Open(test::KeyFilledWith(0x5a), std::move(o)).value();
  auto server = WitnessServer::Bind(witness.get(), "127.0.0.1:0").value();
  std::thread serving([&] { server->Serve(); });
  const auto post = [](const std::string& body) {
    return "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           body;
  };
  {
    Raw c(server->port());
    {
      std::lock_guard lock(mu);
      hold = true;
    }
    c.Send(post(log.Body(0, 3)));
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return holding; });
    }
    CHECK(c.Receive(300).empty());  // accepted, its write not durable yet
    {
      std::lock_guard lock(mu);
      hold = false;
    }
    cv.notify_all();
    const std::string got = c.ReceiveUntil("\n\xE2\x80\x94 ");
    CHECK(got.find("HTTP/1.1 200") == 0);
    CHECK(got.find("\xE2\x80\x94 witness.example/http ") != std::string::npos);
    {
      std::lock_guard lock(mu);
      fail = true;
    }
    c.Send(post(log.Body(3, 5)));
    const std::string failed = c.ReceiveUntil("nothing was cosigned");
    CHECK(failed.find("HTTP/1.1 500") == 0);
    CHECK(failed.find("disk gone") != std::string::npos);
    c.Send(post(log.Body(3, 6)));
    CHECK(c.ReceiveUntil("restart").find("HTTP/1.1 500") == 0);
  }
  server->Stop();
  serving.join();
  CHECK(witness->generation() == 1);
}

}  // namespace
}  // namespace parley
