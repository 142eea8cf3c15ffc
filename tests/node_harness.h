// Runs real `parley` processes for end-to-end tests: key files, a charter,
// config files, 127.0.0.1 ports picked at run time, and the CLI as an
// operator would use it.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/key_file.h"
#include "fixtures.h"
#include "node/cli/client.h"
#include "node/daemon/peer_client.h"

namespace parley::test {

namespace fs = std::filesystem;

// A free TCP port on 127.0.0.1 for a node to listen on, chosen below the
// kernel's ephemeral range (Linux: 32768-60999). A port from that range could
// be handed to some outgoing connection (e.g. the other node reconnecting)
// while a test has the node stopped, and the restart would then fail with
// "address in use".
inline int FreePort() {
  static std::mutex mu;
  static std::mt19937 rng(std::random_device{}());
  static std::set<int> given;  // never the same port twice in one test run
  std::lock_guard lock(mu);
  std::uniform_int_distribution<int> pick(20000, 32000);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = pick(rng);
    if (given.count(port)) continue;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) {
      given.insert(port);
      return port;
    }
  }
  PARLEY_CHECK(false && "no free port in 20000-32000");
  return 0;
}

struct CliResult {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Starts `args` (args[0] a path) as a child process, its stdout and stderr
// opened from the given files (nullptr: inherited); returns its pid.
//
// posix_spawn, not fork + exec: this test process has many threads, and a
// forked child that touches the heap before exec can spin forever on an
// allocator lock some other thread held at the fork (seen under ASan: the
// child stuck running, one thread, never exec'd). posix_spawn's child does
// no heap work.
inline pid_t Spawn(const std::vector<std::string>& args, const char* out_path, int out_flags, const char* err_path,
                   int err_flags) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  PARLEY_CHECK(posix_spawn_file_actions_init(&fa) == 0);
  if (out_path) PARLEY_CHECK(posix_spawn_file_actions_addopen(&fa, 1, out_path, out_flags, 0600) == 0);
  if (err_path) PARLEY_CHECK(posix_spawn_file_actions_addopen(&fa, 2, err_path, err_flags, 0600) == 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  PARLEY_CHECK(rc == 0 && "posix_spawn failed");
  return pid;
}

// Runs `parley args...` and captures stdout and stderr.
inline CliResult RunParley(const std::vector<std::string>& args) {
  fs::path dir = fs::temp_directory_path();
  std::string tag = std::to_string(::getpid()) + "-" + std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
  fs::path out = dir / ("parley-cli-out-" + tag), err = dir / ("parley-cli-err-" + tag);
  std::vector<std::string> argv{PARLEY_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const int flags = O_WRONLY | O_CREAT | O_TRUNC;
  pid_t pid = Spawn(argv, out.c_str(), flags, err.c_str(), flags);
  int st = 0;
  ::waitpid(pid, &st, 0);
  CliResult r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  std::ifstream o(out), e(err);
  std::stringstream so, se;
  so << o.rdbuf();
  se << e.rdbuf();
  r.out = so.str();
  r.err = se.str();
#ifdef PARLEY_SOURCE_DIR  // the test suite (not the benches)
  // Every `audit --json` report of the suite must also be valid under the
  // published schema (docs/audit.schema.json, $defs/audit).
  const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
  if (json && !args.empty() && args[0] == "audit" && (r.code == 0 || r.code == 1) && !r.out.empty()) {
    const std::string src = PARLEY_SOURCE_DIR;
    const std::string cmd = "/usr/bin/python3 '" + src + "/tests/validate_json.py' '" + src +
                            "/docs/audit.schema.json' audit '" + out.string() + "' >'" + err.string() + ".schema' 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream why(err.string() + ".schema");
      std::stringstream sw;
      sw << why.rdbuf();
      r.err += "\n[test harness] audit --json output does not follow docs/audit.schema.json: " + sw.str();
      r.code = 99;
    }
    fs::remove(err.string() + ".schema");
  }
#endif
  fs::remove(out);
  fs::remove(err);
  // Every --json output of the suite must parse: one document, or one per
  // line (watch). An output that does not is made a failure of the command.
  if (std::find(args.begin(), args.end(), "--json") != args.end() && !r.out.empty() &&
      !nlohmann::json::accept(r.out)) {
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      if (!nlohmann::json::accept(line)) {
        r.err += "\n[test harness] --json output is not valid JSON: " + line;
        r.code = 99;
        break;
      }
    }
  }
  return r;
}

// The "id" of a CLI command's --json output ("" if none).
inline std::string IdOf(const CliResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("id")) return "";
  return j["id"].get<std::string>();
}

// Polls `cond` every 5 ms until it holds or `timeout` passes.
inline bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One party's node as a child process, in its own folder under `root`.
class NodeProcess {
 public:
  NodeProcess(const fs::path& root, PartyIndex party, int listen_port, std::string peer_address)
      : party_(party), dir_(root / (party == kUA ? "ua" : "ru")), listen_port_(listen_port),
        peer_(std::move(peer_address)) {
    fs::create_directories(dir_);
    if (!fs::exists(dir_ / "key")) {
      PARLEY_CHECK(WriteKeyFile(dir_ / "key", PartyKey(party), "test passphrase", InteractiveKdfParams()).ok());
      std::ofstream(dir_ / "charter") << TestCharter();
    }
    WriteConfig();
  }

  // Most tests sign with the peer down at some point, so by default the
  // test nodes sign without waiting for the peer's confirmation of their own
  // head (sign_without_peer_confirmation = true, docs/OPERATIONS.md
  // "Recovery"). A test of that wait turns it back on here (before Start).
  void SetSignWithoutPeerConfirmation(bool on) {
    sign_without_peer_confirmation_ = on;
    WriteConfig();
  }
  // Lines appended to the config file (e.g. "metrics_listen = ...\n").
  void SetExtraConfig(std::string lines) {
    extra_config_ = std::move(lines);
    WriteConfig();
  }
  ~NodeProcess() { Kill(); }

  const fs::path& dir() const { return dir_; }
  fs::path socket() const { return dir_ / "op.sock"; }
  fs::path log() const { return dir_ / "node.log"; }
  std::string address() const { return "127.0.0.1:" + std::to_string(listen_port_); }
  pid_t pid() const { return pid_; }

  // Starts the process (log appended to node.log) and waits until its
  // operator socket answers. False if it exits or does not answer in 10 s.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    ::setenv("PARLEY_TEST_PASSPHRASE", "test passphrase", 1);
    pid_ = Spawn({PARLEY_BINARY, "node", "--config", (dir_ / "node.conf").string()}, nullptr, 0, log().c_str(),
                 O_WRONLY | O_CREAT | O_APPEND);
    return Eventually([&] {
      if (Exited()) return true;
      auto c = OperatorClient::Connect(socket());
      return c && (*c)->GetStatus().has_value();
    }, timeout) && !Exited();
  }

  // What the process is doing, for a failure message: its state and, per
  // thread, its name and the kernel function it waits in (or how it exited).
  std::string Diagnose() const {
    if (pid_ <= 0) return "not running (exit status " + std::to_string(exit_status_) + ")";
    const fs::path proc = "/proc/" + std::to_string(pid_);
    std::string out;
    std::ifstream status(proc / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("State:", 0) == 0 || line.rfind("Threads:", 0) == 0) out += line + "\n";
    }
    std::error_code ec;
    for (const auto& task : fs::directory_iterator(proc / "task", ec)) {
      out += "  thread " + task.path().filename().string() + " " + ReadText(task.path() / "comm");
      out += "    waits in " + ReadText(task.path() / "wchan") + "\n";
    }
    return out;
  }

  // True once the process has exited (reaps it).
  bool Exited() {
    if (pid_ <= 0) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      exit_status_ = st;
      pid_ = -1;
      return true;
    }
    return false;
  }

  // SIGTERM and wait; returns the exit code (or 128+signal).
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

  void WriteConfig() const {
    std::ofstream(dir_ / "node.conf") << "data_dir = data\nkey_file = key\npassphrase_env = PARLEY_TEST_PASSPHRASE\n"
                                      << "charter = charter\nlisten = 127.0.0.1:" << listen_port_ << "\n"
                                      << "peer = " << peer_ << "\nsocket = op.sock\nplaintext = true\n"
                                      << "sign_without_peer_confirmation = "
                                      << (sign_without_peer_confirmation_ ? "true" : "false") << "\n"
                                      << extra_config_;
  }

  std::unique_ptr<OperatorClient> Client() const { return std::move(OperatorClient::Connect(socket()).value()); }

  // Runs the CLI against this node.
  CliResult Cli(std::vector<std::string> args) const {
    args.push_back("--socket");
    args.push_back(socket().string());
    return RunParley(args);
  }

  // Both heads as the node reports them. Polled often (Eventually), so one
  // connection is kept for it instead of a new one per call.
  FeedHead HeadOf(PartyIndex p) const {
    std::lock_guard lock(status_mu_);
    if (!status_client_) status_client_ = Client();
    auto st = status_client_->GetStatus();
    FeedHead h;
    if (!st) return h;
    h.seq = st->feeds(static_cast<int>(p)).seq();
    if (h.seq) h.id = *Digest::FromBytes(st->feeds(static_cast<int>(p)).id());
    return h;
  }

 private:
  PartyIndex party_;
  fs::path dir_;
  int listen_port_;
  std::string peer_;
  bool sign_without_peer_confirmation_ = true;
  std::string extra_config_;
  pid_t pid_ = -1;
  int exit_status_ = 0;
  mutable std::mutex status_mu_;
  mutable std::unique_ptr<OperatorClient> status_client_;
};

// `parley relay` as a child process, plaintext on a 127.0.0.1 port, holding
// the test charter in its own folder under `root`.
class RelayProcess {
 public:
  RelayProcess(const fs::path& root, int port) : dir_(root / "relay"), port_(port) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "charter") << TestCharter();
    std::ofstream(dir_ / "relay.conf") << "data_dir = data\ncharter = charter\nlisten = 127.0.0.1:" << port_
                                       << "\nplaintext = true\n";
  }
  ~RelayProcess() { Kill(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  fs::path log() const { return dir_ / "relay.log"; }
  pid_t pid() const { return pid_; }

  // Starts the process and waits until its port answers GetHeads.
  bool Start() {
    // It logs "relay started" once its port is bound; a probe before that
    // would leave the test's channel in reconnect backoff.
    const size_t logged = ReadText(log()).size();  // a restart appends
    pid_ = Spawn({PARLEY_BINARY, "relay", "--config", (dir_ / "relay.conf").string()}, nullptr, 0,
                       log().c_str(), O_WRONLY | O_CREAT | O_APPEND);
    if (!Eventually([&] {
          return Exited() || ReadText(log()).find("relay started", logged) != std::string::npos;
        }) ||
        Exited()) {
      return false;
    }
    return ClientAs(ObserverKey()).GetHeads().has_value();
  }
  bool Exited() {
    if (pid_ <= 0) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // A Peer client of this relay whose calls are signed with `key`.
  PeerClient ClientAs(const SecretKey& key) const {
    auto k = std::make_shared<const SecretKey>(SecretKey::FromSeed(key.seed()));
    return PeerClient(address(), grpc::InsecureChannelCredentials(), TheCharter().ledger_id(),
                      [k] { return k; }, std::chrono::seconds(5));
  }

  // The relay's heads (seq of each feed), as an observer reads them.
  std::array<uint64_t, 2> Heads() const {
    auto h = ClientAs(ObserverKey()).GetHeads();
    std::array<uint64_t, 2> out{UINT64_MAX, UINT64_MAX};
    if (!h) return out;
    for (const auto& f : h->feeds()) out[f.party()] = f.seq();
    return out;
  }

 private:
  fs::path dir_;
  int port_;
  pid_t pid_ = -1;
};

// Two nodes, UA and RU, each the other's peer.
struct NodePair {
  TempDir root;
  int ua_port = FreePort(), ru_port = FreePort();
  NodeProcess ua{root.path(), kUA, ua_port, "127.0.0.1:" + std::to_string(ru_port)};
  NodeProcess ru{root.path(), kRU, ru_port, "127.0.0.1:" + std::to_string(ua_port)};

  bool Converged() {
    for (PartyIndex p = 0; p < 2; ++p) {
      FeedHead a = ua.HeadOf(p), b = ru.HeadOf(p);
      if (a.seq != b.seq || a.id != b.id) return false;
    }
    return true;
  }
};

}  // namespace parley::test
