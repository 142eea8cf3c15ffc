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

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "crypto/key_file.h"
#include "fixtures.h"
#include "node/cli/client.h"
#include "node/daemon/peer_client.h"
#include "node/tlog/note.h"

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

// The exit code of a wait status: the process's own, or 128 + the signal
// that ended it (as a shell reports it).
inline int ExitCode(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

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
  r.code = ExitCode(st);
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

// One long-running child process of a test (a node, a relay, a witness): its
// pid, the log file its stderr is appended to, and the one way to start,
// watch, stop and kill it. The destructor kills a process still running, so
// a failed REQUIRE leaves no process behind.
class ChildProcess {
 public:
  explicit ChildProcess(fs::path log) : log_(std::move(log)) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { Kill(); }

  const fs::path& log() const { return log_; }
  pid_t pid() const { return pid_; }  // -1 when not running
  // How the last run ended (ExitCode), -1 while running or never run.
  int exit_code() const { return exit_code_; }

  // Starts `args` (args[0] a path), stdout inherited, stderr appended to the
  // log. The previous run must have ended (Stop, Kill or Exited).
  void Spawn(const std::vector<std::string>& args) {
    PARLEY_CHECK(pid_ <= 0 && "ChildProcess started while still running");
    exit_code_ = -1;
    pid_ = test::Spawn(args, nullptr, 0, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND);
  }

  // True once the process has exited (reaps it without blocking and
  // remembers its exit code).
  bool Exited() {
    if (pid_ <= 0) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) Reaped(st);
    return pid_ <= 0;
  }

  // SIGTERM and wait; returns the exit code (or 128+signal). On a process
  // not running: the code of how it last ended, -1 if it never ran.
  int Stop() { return SignalAndReap(SIGTERM); }

  // SIGKILL and reap; nothing if not running.
  void Kill() { SignalAndReap(SIGKILL); }

  // Polls until `ready` holds with the process still running: false if it
  // exits first or `timeout` passes.
  bool WaitReady(const std::function<bool()>& ready, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return Eventually([&] { return Exited() || ready(); }, timeout) && !Exited();
  }

  // Waits until the log shows `text` at or after byte `from` (the log's size
  // before a restart: it is appended to), the process still running.
  bool WaitForLog(const std::string& text, size_t from,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return WaitReady([&] { return ReadText(log_).find(text, from) != std::string::npos; }, timeout);
  }

  // What the process is doing, for a failure message: its state and, per
  // thread, its name and the kernel function it waits in (or how it exited).
  std::string Diagnose() const {
    if (pid_ <= 0) return "not running (exit code " + std::to_string(exit_code_) + ")";
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

 private:
  int SignalAndReap(int sig) {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, sig);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    Reaped(st);
    return exit_code_;
  }
  void Reaped(int status) {
    exit_code_ = ExitCode(status);
    pid_ = -1;
  }

  fs::path log_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// One party's node as a child process, in its own folder under `root`.
class NodeProcess : public ChildProcess {
 public:
  NodeProcess(const fs::path& root, PartyIndex party, int listen_port, std::string peer_address)
      : ChildProcess(root / (party == kUA ? "ua" : "ru") / "node.log"), party_(party),
        dir_(root / (party == kUA ? "ua" : "ru")), listen_port_(listen_port), peer_(std::move(peer_address)) {
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

  const fs::path& dir() const { return dir_; }
  fs::path socket() const { return dir_ / "op.sock"; }
  std::string address() const { return "127.0.0.1:" + std::to_string(listen_port_); }

  // Starts the process (log appended to node.log) and waits until its
  // operator socket answers. False if it exits or does not answer in 10 s.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    ::setenv("PARLEY_TEST_PASSPHRASE", "test passphrase", 1);
    Spawn({PARLEY_BINARY, "node", "--config", (dir_ / "node.conf").string()});
    return WaitReady([&] {
      auto c = OperatorClient::Connect(socket());
      return c && (*c)->GetStatus().has_value();
    }, timeout);
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
  mutable std::mutex status_mu_;
  mutable std::unique_ptr<OperatorClient> status_client_;
};

// `parley relay` as a child process, plaintext on a 127.0.0.1 port, holding
// the test charter in its own folder under `root`.
class RelayProcess : public ChildProcess {
 public:
  RelayProcess(const fs::path& root, int port) : ChildProcess(root / "relay" / "relay.log"), dir_(root / "relay"),
                                                 port_(port) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "charter") << TestCharter();
    std::ofstream(dir_ / "relay.conf") << "data_dir = data\ncharter = charter\nlisten = 127.0.0.1:" << port_
                                       << "\nplaintext = true\n";
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Starts the process and waits until its port answers GetHeads.
  bool Start() {
    // It logs "relay started" once its port is bound; a probe before that
    // would leave the test's channel in reconnect backoff.
    const size_t logged = ReadText(log()).size();  // a restart appends
    Spawn({PARLEY_BINARY, "relay", "--config", (dir_ / "relay.conf").string()});
    return WaitForLog("relay started", logged) && ClientAs(ObserverKey()).GetHeads().has_value();
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
};

// `parley witness` as a child process on a 127.0.0.1 port, in folder `dir`:
// named `name`, signing with `key`, witnessing the logs of `logs` (each
// configured as `log = FormatVerifierKey(...)`).
class WitnessProcess : public ChildProcess {
 public:
  WitnessProcess(const fs::path& dir, const std::string& name, const SecretKey& key,
                 const std::vector<NoteVerifier>& logs, int port = FreePort())
      : ChildProcess(dir / "witness.log"), dir_(dir), port_(port) {
    fs::create_directories(dir_ / "mark");
    PARLEY_CHECK(WriteKeyFile(dir_ / "witness.key", key, "test passphrase", InteractiveKdfParams()).ok());
    std::ofstream conf(config());
    conf << "name = " << name << "\nkey_file = witness.key\npassphrase_env = PARLEY_TEST_PASSPHRASE\n"
         << "listen = 127.0.0.1:" << port_ << "\nstate_file = witness.state\nhigh_water_mark = mark/witness.hwm\n";
    for (const NoteVerifier& l : logs) conf << "log = " << FormatVerifierKey(l) << "\n";
  }

  fs::path config() const { return dir_ / "witness.conf"; }
  fs::path state() const { return dir_ / "witness.state"; }
  int port() const { return port_; }

  // Serves HTTPS with a certificate of `parley tls init`.
  void UseTls(const fs::path& tls_dir) {
    std::ofstream(config(), std::ios::app) << "tls_cert = " << (tls_dir / "tls.crt").string() << "\n"
                                           << "tls_key = " << (tls_dir / "tls.key").string() << "\n";
    tls_ = true;
  }

  // Starts the process and waits until it answers HTTP(S).
  bool Start() {
    ::setenv("PARLEY_TEST_PASSPHRASE", "test passphrase", 1);
    Spawn({PARLEY_BINARY, "witness", "--config", config().string()});
    return WaitReady([&] { return static_cast<bool>(Get("/" + std::string(64, '0') + "/checkpoint")); });
  }

  // The certificate is self-signed and pinned nowhere here: the TLS test
  // checks the channel, not the certificate's name.
  httplib::Result Post(const std::string& body) {
    if (tls_) {
      httplib::SSLClient c("127.0.0.1", port_);
      c.enable_server_certificate_verification(false);
      return c.Post("/add-checkpoint", body, "text/plain");
    }
    httplib::Client c("127.0.0.1", port_);
    return c.Post("/add-checkpoint", body, "text/plain");
  }
  httplib::Result Get(const std::string& path) {
    if (tls_) {
      httplib::SSLClient c("127.0.0.1", port_);
      c.enable_server_certificate_verification(false);
      return c.Get(path.c_str());
    }
    httplib::Client c("127.0.0.1", port_);
    return c.Get(path.c_str());
  }

 private:
  fs::path dir_;
  int port_;
  bool tls_ = false;
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
