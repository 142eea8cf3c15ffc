// The operator's edge, end to end: what the CLI and the operator API must
// refuse before anything is signed, what reaches the terminal, and how an
// operator sees a statement before signing it (--dry-run, the question on a
// terminal, --yes). Real `parley node` processes on 127.0.0.1.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "node/protocol/entry.h"
#include "node/base/text.h"
#include "node_harness.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
using test::IdOf;

// True if no byte of `s` could drive a terminal (escape sequences, BEL, ...).
bool NoControls(const std::string& s) {
  for (char ch : s) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if ((u < 0x20 && ch != '\n') || u == 0x7f) return false;
  }
  return s.find("\xe2\x80\xae") == std::string::npos;
}

std::vector<std::string> Propose(const std::string& from, const std::string& until,
                                 const std::string& transfer = "RU>UA:remains:12") {
  return {"propose", "--kind", "remains_transfer", "--transfer", transfer, "--crossing", "border", "--transport",
          "road", "--from", from, "--until", until};
}

std::vector<std::string> With(std::vector<std::string> args, std::initializer_list<std::string> more) {
  args.insert(args.end(), more);
  return args;
}

// Runs `parley args...` with its standard input on a new pseudo-terminal to
// which `typed` has been written, as an operator at a terminal would type it.
test::CliResult RunOnTerminal(std::vector<std::string> args, const std::string& typed) {
  test::CliResult r;
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave = ::ptsname(master);
  test::TempDir dir;
  const std::string out = (dir.path() / "out").string(), err = (dir.path() / "err").string();
  args.insert(args.begin(), PARLEY_BINARY);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, slave.c_str(), O_RDWR | O_NOCTTY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  REQUIRE(::write(master, typed.data(), typed.size()) == static_cast<ssize_t>(typed.size()));
  int st = 0;
  ::waitpid(pid, &st, 0);
  ::close(master);
  r.code = test::ExitCode(st);
  r.out = test::ReadText(out);
  r.err = test::ReadText(err);
  return r;
}

TEST_CASE("edge: charter create refuses control characters in the charter's text, and writes nothing") {
  test::TempDir dir;
  const std::string out = (dir.path() / "charter").string();
  const std::string ua = "UA=" + ToHex(test::PartyKey(kUA).public_key()), ru = "RU=" + ToHex(test::PartyKey(kRU).public_key());
  auto r = test::RunParley({"charter", "create", "--title", "Return\x1b[2J", "--party", ua, "--party", ru, "--out", out});
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.err.find("--title: byte 6: U+001B (a control character) is not allowed") != std::string::npos, r.err);
  r = test::RunParley({"charter", "create", "--title", "ok", "--party", ua, "--party", ru, "--name",
                       "UA=\xe2\x80\xae" "reversed", "--out", out});
  CHECK(r.code == 2);
  CHECK(r.err.find("--name: ") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("charter create takes witnesses as VKEY=URL; show prints them; a bad witness is refused and nothing is written") {
  test::TempDir dir;
  const std::string out = (dir.path() / "charter").string();
  const std::string ua = "UA=" + ToHex(test::PartyKey(kUA).public_key()), ru = "RU=" + ToHex(test::PartyKey(kRU).public_key());
  const NoteVerifier w{"icrc.example/witness", NoteKeyType::kCosignatureV1, SecretKey::FromSeed(test::SeedFrom(0x60)).public_key()};
  const std::string vkey = FormatVerifierKey(w);
  // An Ed25519 (log) vkey is not a witness's cosignature key.
  const std::string log_vkey = FormatVerifierKey({"icrc.example/witness", NoteKeyType::kEd25519, w.key});
  auto r = test::RunParley({"charter", "create", "--title", "t", "--party", ua, "--party", ru, "--witness",
                            log_vkey + "=http://127.0.0.1:9", "--out", out});
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.err.find("not a cosignature/v1 key") != std::string::npos, r.err);
  r = test::RunParley({"charter", "create", "--title", "t", "--party", ua, "--party", ru, "--witness",
                       vkey + "=http://127.0.0.1:9/", "--out", out});
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.err.find("must not end in '/'") != std::string::npos, r.err);
  r = test::RunParley({"charter", "create", "--title", "t", "--party", ua, "--party", ru, "--witness",
                       vkey + "=http://127.0.0.1:9", "--require-cosignatures", "2", "--out", out});
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.err.find("exceeds the 1 witnesses") != std::string::npos, r.err);
  CHECK_FALSE(std::filesystem::exists(out));
  r = test::RunParley({"charter", "create", "--title", "t", "--party", ua, "--party", ru, "--witness",
                       vkey + "=http://127.0.0.1:9/tlog", "--require-cosignatures", "1", "--out", out});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  r = test::RunParley({"charter", "show", "--charter", out});
  CHECK(r.out.find("witness " + vkey + "\n  at http://127.0.0.1:9/tlog") != std::string::npos);
  CHECK(r.out.find("audits require 1 of 1 witness cosignatures") != std::string::npos);
  r = test::RunParley({"charter", "show", "--charter", out, "--json"});
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["witnesses"][0]["vkey"] == vkey);
  CHECK(j["witnesses"][0]["url"] == "http://127.0.0.1:9/tlog");
  CHECK(j["required_cosignatures"] == 1);
}

TEST_SUITE("e2e") {

TEST_CASE("edge: the CLI and the operator API refuse what must not be signed; nothing is signed, the peer keeps up") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  auto p = n.ru.Cli(With(Propose("2031-06-09", "2031-06-10"), {"--json"}));
  REQUIRE_MESSAGE(p.code == 0, p.err);
  const std::string proposal = IdOf(p);
  REQUIRE(test::Eventually([&] { return n.ua.HeadOf(kRU).seq == 1; }));
  auto a = n.ua.Cli({"accept", proposal.substr(0, 12)});
  REQUIRE_MESSAGE(a.code == 0, a.err);
  auto claim = n.ru.Cli({"attest", "--what", "trucks staged", "--json"});
  REQUIRE_MESSAGE(claim.code == 0, claim.err);
  const std::string attestation = IdOf(claim);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  const FeedHead ru_before = n.ru.HeadOf(kRU), ua_before = n.ua.HeadOf(kUA);

  // Each is refused with exit 2 and a message containing `says`.
  struct Refusal {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Refusal> refusals = {
      {With(Propose("2025-02-30", "2025-03-05"), {"--allow-past"}), "--from '2025-02-30': there is no day 30"},
      {With(Propose("2025-06-01", "2025-06-31"), {"--allow-past"}), "--until '2025-06-31': there is no day 31"},
      {With(Propose("0000-01-01", "2025-06-01"), {"--allow-past"}), "year must be between 1970 and 2199"},
      {With(Propose("-001-01-01", "2025-06-01"), {"--allow-past"}), "not a date"},
      {Propose("2031-06-11T-1:00Z", "2031-06-12"), "--from '2031-06-11T-1:00Z'"},
      {Propose("2031-06-11T10:-5Z", "2031-06-12"), "--from '2031-06-11T10:-5Z'"},
      {Propose("2031-06-11T10:00:00Z junk", "2031-06-12"), "unexpected text after the time"},
      {Propose("2031-06-09", "2031-06-10", "RU>UA:remains:-1"), "--transfer COUNT '-1': only the digits"},
      {Propose("2031-06-09", "2031-06-10", "RU>UA:remains:12abc"), "--transfer COUNT '12abc'"},
      {Propose("2031-06-09", "2031-06-10", "RU>UA:remains:1e3"), "--transfer COUNT '1e3'"},
      {Propose("2031-06-09", "2031-06-10", "RU>UA:remains: 7"), "--transfer COUNT ' 7'"},
      {Propose("2031-06-09", "2031-06-10", "RU>UA:remains:0"), "--transfer COUNT must be at least 1"},
      {Propose("2025-06-09", "2025-06-10"), "the window ends in the past (2025-06-10T00:00:00Z); give --allow-past"},
      {Propose("2045-06-09", "2045-06-10"), "more than 5 years from now"},
      {With(Propose("2031-06-09", "2031-06-10"), {"--expires", "2025-01-01"}), "is already past"},
      {{"handover", proposal.substr(0, 12), "--count", "-1"}, "--count '-1': only the digits 0-9"},
      {{"handover", proposal.substr(0, 12), "--count", "1e3"}, "--count '1e3'"},
      {{"handover", proposal.substr(0, 12), "--count", "0"}, "--count must be at least 1"},
      {{"handover", proposal.substr(0, 12), "--count", "5", "--transfer", "-1"}, "--transfer '-1'"},
      {{"receipt", proposal.substr(0, 12), "--count", "5", "--matched", "x"}, "--matched 'x'"},
      {{"statement", "a\x1b[2J\x1b[HVerdict: CLEAN"}, "text: byte 1: U+001B (a control character) is not allowed"},
      {{"statement", "bell\x07"}, "U+0007 (a control character)"},
      {{"statement", "\xe2\x80\xae" "reversed"}, "U+202E (a bidi control)"},
      {{"statement", "pasted \xff\xfe bytes"}, "text: byte 7: 0xff is not valid UTF-8"},
      {{"attest", "--what", "ok", "--where", "x\x1b]8;;http://x.invalid\x07"}, "--where: byte 1: U+001B"},
      {{"reject", proposal.substr(0, 12), "--reason", "no\r\x1b[Kyes"}, "--reason: byte 2: U+000D"},
      {{"show", "ab\x1b[2Jcd"}, "'ab\\u{1b}[2Jcd' is not an ID prefix"},
      {{"accept", attestation.substr(0, 12)}, "is an attestation, not a proposal"},
  };
  for (const Refusal& r : refusals) {
    auto res = n.ru.Cli(r.args);
    CAPTURE(Printable(res.err));
    CHECK(res.code == 2);
    CHECK(res.err.find(r.says) != std::string::npos);
    CHECK(res.err.find("libprotobuf") == std::string::npos);
    CHECK(NoControls(res.err));
    CHECK(NoControls(res.out));
  }

  // Too large: refused before signing, with the field and the limit named.
  auto big = n.ru.Cli({"statement", std::string(100 * 1000, 'x')});
  CHECK(big.code != 0);
  CHECK_MESSAGE(big.err.find("statement.text is 100000 bytes; the limit is 16384") != std::string::npos, big.err);
  // Through the operator API: a 1 MB statement, and a proposal whose every
  // field is within its limit but whose signed entry would not be.
  auto op = n.ru.Client();
  auto huge = op->Submit(test::Say(std::string(1000 * 1000, 'x')), "huge");
  REQUIRE_FALSE(huge.has_value());
  v1::Terms terms = test::RemainsTerms(kRU, 1, 1'900'000'000'000);
  terms.set_notes(std::string(kMaxTextBytes, 'n'));
  terms.set_crossing_point(std::string(kMaxNameBytes, 'c'));
  for (int i = 0; i < 8000; ++i) *terms.add_transfers() = terms.transfers(0);  // 8 bytes each
  auto wide = op->Submit(test::Propose(terms), "wide");
  REQUIRE_FALSE(wide.has_value());
  CHECK_MESSAGE(wide.error().message().rfind("oversized: the signed entry would be ", 0) == 0, wide.error().message());
  CHECK(wide.error().message().find("the limit is 65536") != std::string::npos);

  // Nothing was signed by any of it.
  CHECK(n.ru.HeadOf(kRU).seq == ru_before.seq);
  CHECK(n.ru.HeadOf(kRU).id == ru_before.id);
  CHECK(n.ua.HeadOf(kUA).seq == ua_before.seq);
  // The node's own views still read, and the largest statement allowed is
  // signed and replicated: the feed is not stuck.
  auto list = n.ru.Cli({"list", "--json"});
  CHECK_MESSAGE(list.code == 0, list.err);
  auto ok = n.ru.Cli({"statement", std::string(kMaxTextBytes, 'y'), "--json"});
  REQUIRE_MESSAGE(ok.code == 0, ok.err);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  CHECK(n.ua.HeadOf(kRU).seq == ru_before.seq + 1);
}

TEST_CASE("edge: --dry-run shows the statement and signs nothing; at a terminal the CLI asks first") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  const std::string socket = n.ru.socket().string();

  auto dry = n.ru.Cli(With(Propose("2031-06-09T08:00Z", "2031-06-09T18:00Z"),
                           {"--intermediary", "ICRC", "--notes", "trucks ready", "--dry-run"}));
  REQUIRE_MESSAGE(dry.code == 0, dry.err);
  CHECK(dry.out.find("would sign RU#1  proposes remains_transfer: RU→UA remains 12, road, "
                     "2031-06-09 08:00–2031-06-09 18:00 UTC; crossing border; intermediary ICRC; notes \"trucks "
                     "ready\"; never expires") != std::string::npos);
  CHECK(dry.out.find("dry run: nothing was signed") != std::string::npos);
  CHECK(n.ru.HeadOf(kRU).seq == 0);
  auto dry_json = n.ru.Cli(With(Propose("2031-06-09", "2031-06-10"), {"--dry-run", "--json"}));
  REQUIRE_MESSAGE(dry_json.code == 0, dry_json.err);
  auto j = nlohmann::json::parse(dry_json.out);
  CHECK(j["dry_run"] == true);
  CHECK(j["seq"] == 1);
  CHECK(n.ru.HeadOf(kRU).seq == 0);

  auto p = n.ru.Cli(With(Propose("2031-06-09", "2031-06-10"), {"--json"}));
  REQUIRE_MESSAGE(p.code == 0, p.err);
  const std::string proposal = IdOf(p).substr(0, 12);
  // A dry run of what the node would refuse is refused, saying why.
  auto own_accept = n.ru.Cli({"accept", proposal, "--dry-run"});
  CHECK(own_accept.code != 0);
  CHECK_MESSAGE(own_accept.err.find("refusing to sign an accept that would have no effect") != std::string::npos,
                own_accept.err);
  CHECK(n.ru.HeadOf(kRU).seq == 1);

  // At a terminal: shown, then asked. "n" signs nothing; "y" signs.
  auto no = RunOnTerminal({"statement", "the trucks are waiting", "--socket", socket}, "n\n");
  CHECK(no.code == 1);
  CHECK(no.out.find("about to sign RU#2  states (one-sided): \"the trucks are waiting\"") != std::string::npos);
  CHECK(no.out.find("Sign it? A signature cannot be taken back. [y/N]") != std::string::npos);
  CHECK(no.out.find("not signed") != std::string::npos);
  CHECK(n.ru.HeadOf(kRU).seq == 1);
  auto eof = RunOnTerminal({"statement", "the trucks are waiting", "--socket", socket}, "\x04");
  CHECK(eof.code == 1);
  CHECK(n.ru.HeadOf(kRU).seq == 1);
  auto yes = RunOnTerminal({"statement", "the trucks are waiting", "--socket", socket}, "y\n");
  CHECK_MESSAGE(yes.code == 0, yes.err);
  CHECK(yes.out.find("signed statement RU#2") != std::string::npos);
  CHECK(n.ru.HeadOf(kRU).seq == 2);
  // --yes: no question, even at a terminal.
  auto scripted = RunOnTerminal({"statement", "again", "--yes", "--socket", socket}, "");
  CHECK_MESSAGE(scripted.code == 0, scripted.err);
  CHECK(scripted.out.find("about to sign") == std::string::npos);
  CHECK(n.ru.HeadOf(kRU).seq == 3);
}

}  // TEST_SUITE("e2e")

}  // namespace
}  // namespace parley
