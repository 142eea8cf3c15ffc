// `parley demo`: two nodes (UA and RU) on 127.0.0.1 play the June 2025 story
// of shared/seeds through the real CLI, then export and audit the ledger.
// Three processes: UA, RU and the ICRC as relay and witness (`parley relay
// --witness-config`); UA and RU have no direct link, every entry travels
// through the relay, and the charter names the ICRC's witness, which
// cosigns both feeds' checkpoints with its own clock; the audit requires
// its cosignature on both heads and shows when it saw each entry. A relay holds
// no manifests, so UA records its receipt with its own counts instead of
// fetching RU's list, and RU (who holds the list) writes the family's proof.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "node/cli/cli.h"
#include "node/cli/client.h"
#include "crypto/key_file.h"
#include "node/protocol/charter.h"
#include "node/protocol/feed_log.h"
#include "node/tlog/note.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

// Synthetic lists for the demo: `n` remains, every third without a name
// (DNA pending or unidentified), and an arrival list matching all of them.
void WriteDemoLists(const fs::path& manifest, const fs::path& arrivals, int n) {
  static const char* kBasis[] = {"identity_disc", "documents", "dna_pending", "uniform", "unidentified", "place_found"};
  std::ofstream m(manifest), a(arrivals);
  m << "tag,name,recovered_on,recovered_at,identification,seal\n";
  a << "arrival_id,record_id,status\n";
  char tag[32], date[16];
  for (int i = 1; i <= n; ++i) {
    std::snprintf(tag, sizeof tag, "RU-2025-%05d", i);
    std::snprintf(date, sizeof date, "2025-0%d-%02d", 3 + i % 3, 1 + i % 28);
    const char* basis = kBasis[i % 6];
    const bool named = basis != std::string("unidentified") && basis != std::string("dna_pending");
    m << tag << "," << (named ? "Demo Person " + std::to_string(i) : "") << "," << date
      << ",\"Zaporizhzhia region, sector " << i % 40 << "\"," << basis << ",S-" << 100000 + i << "\n";
    a << "UA-MORGUE-" << i << "," << tag << ",identified\n";
  }
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

struct Run {
  int code;
  std::string out;
};

Run Exec(const std::vector<std::string>& args) {
  std::string cmd;
  for (const auto& a : args) cmd += Quote(a) + " ";
  cmd += "2>&1";
  Run r{0, ""};
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {127, "cannot run " + args[0]};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  return r;
}

std::string Day(int days_from_now, int hour) {
  std::time_t t = std::time(nullptr) + days_from_now * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:00Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, hour);
  return buf;
}

class Demo {
 public:
  Demo(std::string exe, fs::path dir) : exe_(std::move(exe)), dir_(std::move(dir)) {}
  ~Demo() { StopNodes(); }

  int Play();

 private:
  struct Side {
    std::string code;
    fs::path key, pass, conf, sock, log, tls;
    std::string fingerprint;  // of this side's TLS certificate
    pid_t pid = -1;
  };

  bool Check(const Run& r, const std::string& what) {
    if (r.code == 0) return true;
    std::cerr << "demo: " << what << " failed (exit " << r.code << "):\n" << r.out;
    return false;
  }

  // Runs a CLI command as `side`, prints it the way an operator would type
  // it, and returns the new entry's ID.
  std::optional<std::string> Say(Side& side, const std::string& narration, std::vector<std::string> args) {
    std::cout << "\n" << side.code << ": " << narration << "\n  $ parley";
    for (const auto& a : args) std::cout << " " << (a.find(' ') != std::string::npos ? Quote(a) : a);
    std::cout << "\n";
    args.insert(args.begin(), exe_);
    args.push_back("--socket");
    args.push_back(side.sock.string());
    args.push_back("--json");
    Run r = Exec(args);
    if (!Check(r, args[1])) return std::nullopt;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded()) {
      std::cerr << "demo: unexpected output: " << r.out;
      return std::nullopt;
    }
    std::cout << "  -> signed " << side.code << "#" << j["seq"].get<uint64_t>() << ", id "
              << j["id"].get<std::string>().substr(0, 16) << "…\n";
    return j["id"].get<std::string>();
  }

  // Runs a CLI command that signs nothing (side may be null: offline), prints
  // it and its output; returns the output, nullopt on failure.
  std::optional<std::string> Tool(Side* side, const std::string& narration, std::vector<std::string> args) {
    std::cout << "\n" << (side ? side->code + ": " : "") << narration << "\n  $ parley";
    for (const auto& a : args) std::cout << " " << (a.find(' ') != std::string::npos ? Quote(a) : a);
    std::cout << "\n";
    args.insert(args.begin(), exe_);
    if (side) {
      args.push_back("--socket");
      args.push_back(side->sock.string());
    }
    Run r = Exec(args);
    if (!Check(r, args[1] + " " + args[2])) return std::nullopt;
    std::string indented;
    for (size_t at = 0; at < r.out.size();) {
      const size_t nl = r.out.find('\n', at);
      indented += "  " + r.out.substr(at, nl == std::string::npos ? std::string::npos : nl - at + 1);
      at = nl == std::string::npos ? r.out.size() : nl + 1;
    }
    std::cout << indented;
    return r.out;
  }

  bool StartNode(Side& s, int listen, int relay);
  bool StartRelay(int port);
  // The ICRC witness's verifier key (cosignature/v1), from its key file.
  std::string WitnessVkey();
  // The witness's config: the two feeds of `charter` as the logs it witnesses.
  bool WriteWitnessConfig(const fs::path& charter, int port);
  // Until `side`'s node holds cosignatures of both feeds up to their heads.
  bool WaitWitnessed(Side& side);
  bool WaitSynced();
  void StopNodes();

  std::string exe_;
  fs::path dir_;
  Side ua_, ru_, icrc_;  // icrc_: the relay and witness (its key is the witness's; no socket)
  fs::path witness_conf_;
};

constexpr const char* kWitnessName = "icrc.example/witness";

std::string Demo::WitnessVkey() {
  std::ifstream in(icrc_.pass);
  std::string pass;
  std::getline(in, pass);
  auto key = ReadKeyFile(icrc_.key, pass);
  if (!key) {
    std::cerr << "demo: cannot read the witness key: " << key.error().message() << "\n";
    return "";
  }
  return FormatVerifierKey({kWitnessName, NoteKeyType::kCosignatureV1, key->public_key()});
}

bool Demo::WriteWitnessConfig(const fs::path& charter_file, int port) {
  std::ifstream in(charter_file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto charter = Charter::Parse(bytes.str());
  if (!charter) {
    std::cerr << "demo: " << charter.error().message() << "\n";
    return false;
  }
  witness_conf_ = dir_ / "icrc-witness.conf";
  std::ofstream out(witness_conf_);
  out << "# the ICRC's witness: cosigns UA's and RU's checkpoints with its own clock (c2sp.org/tlog-witness)\n"
      << "name = " << kWitnessName << "\n"
      << "key_file = " << icrc_.key.filename().string() << "\n"
      << "passphrase_file = " << icrc_.pass.filename().string() << "\n"
      << "listen = 127.0.0.1:" << port << "\n"
      << "state_file = icrc-witness.state\n";
  for (PartyIndex p = 0; p < 2; ++p) {
    out << "log = " << FormatVerifierKey(FeedNoteVerifier(*charter, p, charter->party_key(p))) << "\n";
  }
  return static_cast<bool>(out.flush());
}

bool Demo::WaitWitnessed(Side& side) {
  for (int i = 0; i < 600; ++i) {
    Run r = Exec({exe_, "status", "--json", "--socket", side.sock.string()});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    size_t done = 0;
    if (!j.is_discarded() && j.contains("witnesses")) {
      for (const auto& w : j["witnesses"]) {
        if (w.value("unwitnessed", uint64_t{1}) == 0 && w.value("cosigned_size", uint64_t{0}) > 0) ++done;
      }
    }
    if (done == 2) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cerr << "demo: " << side.code << "'s node did not get both feeds witnessed within 60 s\n";
  return false;
}

bool Demo::StartRelay(int port) {
  Side& s = icrc_;
  std::ofstream(s.conf) << "# the ICRC's relay: both feeds, verified, served to UA and RU\n"
                        << "data_dir = icrc-data\n"
                        << "charter = charter.bin\n"
                        << "listen = 127.0.0.1:" << port << "\n"
                        << "tls_cert = " << (s.tls.filename() / "tls.crt").string() << "\n"
                        << "tls_key = " << (s.tls.filename() / "tls.key").string() << "\n"
                        << "client_fingerprints = " << ua_.fingerprint << "," << ru_.fingerprint << "\n";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(s.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::execl(exe_.c_str(), exe_.c_str(), "relay", "--config", s.conf.c_str(), "--witness-config",
            witness_conf_.c_str(), nullptr);
    ::_exit(127);
  }
  s.pid = pid;
  // Started once its log says so (it binds before it logs).
  for (int i = 0; i < 300; ++i) {
    std::ifstream in(s.log);
    std::stringstream text;
    text << in.rdbuf();
    if (text.str().find("relay started") != std::string::npos) return true;
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      s.pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "demo: the ICRC's relay did not start; its log (" << s.log << "):\n";
  std::ifstream in(s.log);
  std::cerr << in.rdbuf();
  return false;
}

bool Demo::StartNode(Side& s, int listen, int relay) {
  fs::path data = dir_ / (s.code + "-data");
  std::ofstream(s.conf) << "# " << s.code << "'s node\n"
                        << "data_dir = " << data.filename().string() << "\n"
                        << "key_file = " << s.key.filename().string() << "\n"
                        << "passphrase_file = " << s.pass.filename().string() << "\n"
                        << "charter = charter.bin\n"
                        << "listen = 127.0.0.1:" << listen << "\n"
                        << "relay = 127.0.0.1:" << relay << "   # no peer: UA and RU never connect\n"
                        << "socket = " << s.sock.filename().string() << "\n"
                        << "tls_cert = " << (s.tls.filename() / "tls.crt").string() << "\n"
                        << "tls_key = " << (s.tls.filename() / "tls.key").string() << "\n"
                        << "relay_fingerprint = " << icrc_.fingerprint << "\n";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(s.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::execl(exe_.c_str(), exe_.c_str(), "node", "--config", s.conf.c_str(), nullptr);
    ::_exit(127);
  }
  s.pid = pid;
  for (int i = 0; i < 300; ++i) {
    if (auto c = OperatorClient::Connect(s.sock); c && (*c)->GetStatus()) return true;
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      s.pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "demo: " << s.code << "'s node did not start; its log (" << s.log << "):\n";
  std::ifstream in(s.log);
  std::cerr << in.rdbuf();
  return false;
}

bool Demo::WaitSynced() {
  auto a = OperatorClient::Connect(ua_.sock);
  auto b = OperatorClient::Connect(ru_.sock);
  if (!a || !b) return false;
  for (int i = 0; i < 200; ++i) {
    auto sa = (*a)->GetStatus();
    auto sb = (*b)->GetStatus();
    if (sa && sb) {
      bool same = true;
      for (int p = 0; p < 2; ++p) {
        if (sa->feeds(p).seq() != sb->feeds(p).seq() || sa->feeds(p).id() != sb->feeds(p).id()) same = false;
      }
      if (same) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::cerr << "demo: the nodes did not converge within 4 s\n";
  return false;
}

void Demo::StopNodes() {
  for (Side* s : {&ua_, &ru_, &icrc_}) {
    if (s->pid > 0) {
      ::kill(s->pid, SIGTERM);
      int st = 0;
      ::waitpid(s->pid, &st, 0);
      s->pid = -1;
    }
  }
}

// The file by which the demo knows a folder as its own. The demo deletes the
// contents of no other folder: given a non-empty folder without it, it
// refuses.
constexpr char kDemoMarker[] = ".parley-demo";

// Makes `dir` ready for a fresh demo: creates it; or, if it is empty, takes
// it; or, if an earlier demo made it (it holds kDemoMarker), empties it.
// Then writes the marker. kFailedPrecondition, with nothing deleted, for a
// non-empty folder without the marker or a path that is not a folder.
Status PrepareDemoDir(const fs::path& dir) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(dir, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) {
      return Status(Code::kFailedPrecondition,
                    dir.string() + " is not a folder (symbolic links are not followed); nothing was deleted");
    }
    std::vector<fs::path> contents;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) contents.push_back(it->path());
    if (ec) return Status(Code::kIoError, "cannot read " + dir.string() + ": " + ec.message());
    if (!contents.empty()) {
      if (!fs::is_regular_file(fs::symlink_status(dir / kDemoMarker, ec))) {
        return Status(Code::kFailedPrecondition,
                      dir.string() + " is not empty and was not made by `parley demo` (it has no " + kDemoMarker +
                          " file); nothing was deleted. Name a new or empty folder with --dir.");
      }
      for (const fs::path& p : contents) {
        if (fs::remove_all(p, ec) == static_cast<std::uintmax_t>(-1) || ec) {  // does not follow symbolic links
          return Status(Code::kIoError, "cannot empty " + dir.string() + ": " + ec.message());
        }
      }
    }
  } else if (!fs::create_directories(dir, ec) && ec) {
    return Status(Code::kIoError, "cannot create " + dir.string() + ": " + ec.message());
  }
  std::ofstream marker(dir / kDemoMarker);
  marker << "Made by `parley demo`. The next demo run with this folder deletes everything in it.\n";
  if (!marker.flush()) return Status(Code::kIoError, "cannot write " + (dir / kDemoMarker).string());
  return Status::Ok();
}

int Demo::Play() {
  if (Status s = PrepareDemoDir(dir_); !s.ok()) {
    std::cerr << "parley demo: " << s.message() << "\n";
    return 2;  // unusable input, as for every command
  }
  std::random_device rd;
  int i = 0;
  for (Side* s : {&ua_, &ru_}) {
    s->code = i++ == 0 ? "UA" : "RU";
    std::string lc = s->code == "UA" ? "ua" : "ru";
    s->key = dir_ / (lc + ".key");
    s->pass = dir_ / (lc + ".pass");
    s->conf = dir_ / (lc + ".conf");
    s->sock = dir_ / (lc + ".sock");
    s->log = dir_ / (lc + ".log");
    s->tls = dir_ / (lc + "-tls");
    {
      std::ofstream(s->pass) << "demo-" << std::hex << rd() << rd() << "\n";
    }
    fs::permissions(s->pass, fs::perms::owner_read | fs::perms::owner_write);
  }
  icrc_.code = "ICRC";
  icrc_.key = dir_ / "icrc-witness.key";
  icrc_.pass = dir_ / "icrc.pass";
  {
    std::ofstream(icrc_.pass) << "demo-" << std::hex << rd() << rd() << "\n";
  }
  fs::permissions(icrc_.pass, fs::perms::owner_read | fs::perms::owner_write);
  icrc_.conf = dir_ / "icrc.conf";
  icrc_.log = dir_ / "icrc.log";
  icrc_.tls = dir_ / "icrc-tls";
  std::cout << "== Parley demo: the June 2025 return of remains and exchange of prisoners ==\n"
            << "Two nodes on 127.0.0.1 that never connect to each other, and the ICRC's relay between them; data in "
            << dir_.string() << "\n\n"
            << "Setting up: a key for each side, a charter both sign.\n";
  for (Side* s : {&ua_, &ru_}) {
    if (!Check(Exec({exe_, "keygen", "--out", s->key.string(), "--passphrase-file", s->pass.string()}), "keygen")) return 1;
    Run tls = Exec({exe_, "tls", "init", "--out", s->tls.string(), "--name", s->code + "-node"});
    if (!Check(tls, "tls init")) return 1;
    s->fingerprint = tls.out.substr(0, 64);
  }
  // The ICRC is also the witness: its own key, which cosigns both feeds'
  // checkpoints with its own clock.
  if (!Check(Exec({exe_, "keygen", "--out", icrc_.key.string(), "--passphrase-file", icrc_.pass.string()}), "keygen")) {
    return 1;
  }
  const int witness_port = FreePort();
  const std::string witness_vkey = WitnessVkey();
  if (witness_vkey.empty()) return 1;
  Run icrc_tls = Exec({exe_, "tls", "init", "--out", icrc_.tls.string(), "--name", "ICRC-relay"});
  if (!Check(icrc_tls, "tls init")) return 1;
  icrc_.fingerprint = icrc_tls.out.substr(0, 64);
  std::cout << "TLS certificates pinned: UA " << ua_.fingerprint.substr(0, 16) << "… and RU "
            << ru_.fingerprint.substr(0, 16) << "… at the ICRC's relay, the relay's " << icrc_.fingerprint.substr(0, 16)
            << "… at both\n";
  const fs::path charter = dir_ / "charter.bin";
  if (!Check(Exec({exe_, "charter", "create", "--title", "Return of remains and exchange of prisoners (Istanbul talks)",
                   "--party", "UA=" + ua_.key.string(), "--name", "UA=Ukraine Coordination HQ for the Treatment of POWs",
                   "--party", "RU=" + ru_.key.string(), "--name", "RU=Russian Federation Ministry of Defence",
                   "--witness", witness_vkey + "=http://127.0.0.1:" + std::to_string(witness_port),
                   "--require-cosignatures", "1", "--out", charter.string()}),
             "charter create")) {
    return 1;
  }
  for (Side* s : {&ua_, &ru_}) {
    if (!Check(Exec({exe_, "charter", "sign", "--charter", charter.string(), "--key", s->key.string(),
                     "--passphrase-file", s->pass.string()}),
               "charter sign")) {
      return 1;
    }
  }
  Run show = Exec({exe_, "charter", "show", "--charter", charter.string()});
  std::cout << show.out;

  if (!WriteWitnessConfig(charter, witness_port)) return 1;
  const int ua_port = FreePort(), ru_port = FreePort(), relay_port = FreePort();
  if (!StartRelay(relay_port)) return 1;
  if (!StartNode(ua_, ua_port, relay_port) || !StartNode(ru_, ru_port, relay_port)) return 1;
  std::cout << "Running: the ICRC's relay on 127.0.0.1:" << relay_port << "; UA's node and RU's node, each with "
            << "`relay` and no `peer`: neither connects to the other. Each publishes its own feed to the relay and "
            << "reads the other's from it (mutual TLS, certificates pinned; every call signed with the party's key; "
            << "the relay verifies every entry and signs nothing)\n";

  // RU's list of the 1,212 dead and, later, what UA's morgue records as
  // arrived: synthetic records standing in for the real lists.
  const fs::path manifest = dir_ / "ru-remains-manifest.csv";
  const fs::path arrivals = dir_ / "ua-arrivals.csv";
  WriteDemoLists(manifest, arrivals, 1212);
  auto committed = Tool(&ru_, "commits its list of the 1,212 (kept in RU's node, encrypted; the ledger gets only a salted Merkle root and the count)",
                        {"manifest", "commit", manifest.string(), "--kind", "remains"});
  if (!committed) return 1;
  const size_t at = committed->find("commitment ");
  if (at == std::string::npos) return 1;
  const std::string commitment = committed->substr(at + 11, committed->find('\n', at) - at - 11);
  const std::string root = commitment.substr(0, commitment.find(':'));

  auto p1 = Say(ru_, "proposes to hand over 1,212 remains by road, on a date UA never agreed",
                {"propose", "--kind", "remains_transfer", "--transfer", "RU>UA:remains:1212:" + root, "--crossing",
                 "Bryansk region border crossing", "--transport", "road", "--from", Day(1, 8), "--until", Day(1, 18),
                 "--intermediary", "ICRC", "--notes", "remains held in refrigerated trucks"});
  if (!p1) return 1;
  if (!Say(ru_, "attests, one-sided, that the trucks are staged",
           {"attest", "--what", "refrigerated trucks with 1,212 bodies staged", "--where",
            "near the border crossing", "--when", Day(0, 6), "--ref", p1->substr(0, 12)})) {
    return 1;
  }
  if (!WaitSynced()) return 1;
  if (!Say(ua_, "puts an objection on record",
           {"statement", "The timing was set unilaterally; no date has been agreed.", "--ref", p1->substr(0, 12)})) {
    return 1;
  }
  auto p2 = Say(ua_, "counters with another window",
                {"counter", p1->substr(0, 12), "--from", Day(5, 8), "--until", Day(5, 18)});
  if (!p2 || !WaitSynced()) return 1;
  if (!Say(ru_, "accepts UA's counter-proposal: now an agreement signed by both", {"accept", p2->substr(0, 12)})) return 1;
  if (!Say(ru_, "reports the handover of 1,212",
           {"handover", p2->substr(0, 12), "--count", "1212", "--manifest", commitment, "--place",
            "Bryansk region border crossing", "--at", Day(5, 10)})) {
    return 1;
  }
  if (!WaitSynced()) return 1;
  // Through a relay no manifest travels (a relay holds none): UA records
  // the receipt with its morgue's counts, not by fetching RU's list.
  if (!Say(ua_, "reports the receipt of all 1,212 with its morgue's counts (RU's list stays with RU: the relay "
                "carries no manifests)",
           {"receipt", p2->substr(0, 12), "--count", "1212", "--matched", "1212", "--at", Day(5, 12)})) {
    return 1;
  }
  const fs::path proof = dir_ / "proof-RU-2025-00042.json";
  if (!Tool(&ru_, "writes a proof for one family: this person is on the list both sides signed, and nothing else",
            {"manifest", "prove", root, "--record", "RU-2025-00042", "--out", proof.string()}) ||
      !Tool(nullptr, "The family (or anyone) checks it offline against the charter:",
            {"manifest", "verify", proof.string(), "--charter", charter.string()})) {
    return 1;
  }
  auto p3 = Say(ua_, "proposes the exchange of 1,200 prisoners each way",
                {"propose", "--kind", "prisoner_exchange", "--transfer", "UA>RU:pow:1200", "--transfer",
                 "RU>UA:pow:1200", "--crossing", "Belarus-Ukraine border", "--transport", "road", "--from", Day(6, 8),
                 "--until", Day(6, 20), "--intermediary", "ICRC"});
  if (!p3 || !WaitSynced()) return 1;
  if (!Say(ru_, "accepts the exchange", {"accept", p3->substr(0, 12)})) return 1;
  if (!Say(ru_, "hands over 1,200", {"handover", p3->substr(0, 12), "--transfer", "1", "--count", "1200"})) return 1;
  if (!Say(ua_, "hands over 1,200", {"handover", p3->substr(0, 12), "--transfer", "0", "--count", "1200"})) return 1;
  if (!WaitSynced()) return 1;
  if (!Say(ua_, "receives 1,200", {"receipt", p3->substr(0, 12), "--transfer", "1", "--count", "1200", "--matched", "1200"})) return 1;
  if (!Say(ru_, "receives 1,200", {"receipt", p3->substr(0, 12), "--transfer", "0", "--count", "1200", "--matched", "1200"})) return 1;
  if (!WaitSynced()) return 1;

  std::string views[2];
  int v = 0;
  for (Side* s : {&ua_, &ru_}) {
    Run text = Exec({exe_, "list", "--socket", s->sock.string()});
    Run json = Exec({exe_, "list", "--json", "--socket", s->sock.string()});
    if (!Check(text, "list") || !Check(json, "list --json")) return 1;
    std::cout << "\n== " << s->code << "'s node: parley list ==\n" << text.out;
    views[v++] = json.out;
  }
  if (views[0] != views[1]) {
    std::cerr << "demo: the two nodes' views differ!\n";
    return 1;
  }
  std::cout << "\nBoth nodes compute the same state from the same two feeds.\n";

  // The ICRC's witness has cosigned both feeds; UA's node holds those
  // cosignatures (its own feed's from its submissions, RU's polled from the
  // witness), so the bundle carries them.
  if (!WaitWitnessed(ua_)) return 1;
  auto shown = Tool(&ua_, "shows the agreement with the witness's times: when the ICRC's witness first saw the proposal "
                          "and its acceptance",
                    {"show", p2->substr(0, 12)});
  if (!shown) return 1;
  const fs::path bundle = dir_ / "ledger.parley";
  if (!Check(Exec({exe_, "export", bundle.string(), "--socket", ua_.sock.string()}), "export")) return 1;
  StopNodes();
  std::cout << "\n== Audit of the exported bundle (" << bundle.string()
            << "), offline, requiring the charter's 1 witness cosignature on both heads ==\n";
  Run audit = Exec({exe_, "audit", "--require-witnesses", bundle.string()});
  std::cout << audit.out;
  std::cout << "\nNodes, relay and witness stopped. Logs: " << ua_.log.string() << ", " << ru_.log.string() << ", "
            << icrc_.log.string() << "\n";
  return audit.code;
}

}  // namespace

int RunDemo(const char* self_exe, const char* dir) {
  std::error_code ec;
  fs::path exe = fs::canonical("/proc/self/exe", ec);
  if (ec) exe = self_exe;
  Demo demo(exe.string(), fs::absolute(dir));
  return demo.Play();
}

cli::CommandRunner cli::AddDemoCommand(CLI::App& app, const char* self_exe) {
  struct Flags {
    std::string demo_dir = "demo-data";
    CLI::App* demo;
  };
  auto f = std::make_shared<Flags>();
  auto* demo = f->demo = app.add_subcommand("demo", "two nodes and the ICRC's relay on 127.0.0.1 play the June 2025 exchange, then the audit");
  demo->add_option("--dir", f->demo_dir, "folder for the demo's keys, data and logs: new, empty, or made by an earlier demo (then emptied)");
  return [f, self_exe]() -> std::optional<int> {
    if (!*f->demo) return std::nullopt;
    return RunDemo(self_exe, f->demo_dir.c_str());
  };
}

}  // namespace parley
