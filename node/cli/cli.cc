#include "node/cli/cli.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "crypto/key_file.h"
#include "node/protocol/agreements.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"
#include "node/cli/client.h"
#include "node/cli/manifest_cli.h"
#include "node/cli/witness_cli.h"
#include "node/cli/version.h"
#include "node/base/clock.h"
#include "node/daemon/config.h"
#include "node/daemon/log.h"
#include "node/daemon/node.h"
#include "node/daemon/peer_auth.h"
#include "node/daemon/tls.h"
#include "node/daemon/peer_service.h"
#include "node/daemon/replicator.h"
#include "node/base/parse.h"
#include "node/base/text.h"
#include "node/report/views.h"

namespace parley {
namespace {

// A temporary file removed when this goes out of scope.
struct TempFile {
  std::string path;
  TempFile() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "parley-audit-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    if (fd >= 0) ::close(fd);
    path = tmpl;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int Fail(const Status& s) {
  std::cerr << "parley: " << PrintableLines(s.message()) << "\n";
  return (s.code() == Code::kInvalidArgument) ? kExitUsage : kExitFailed;
}

Result<std::string> ReadFileBytes(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kNotFound, std::string("cannot read ") + what + " " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out.flush()) return Status(Code::kIoError, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status(Code::kIoError, "cannot replace " + path + ": " + ec.message());
  return Status::Ok();
}

// Counts of persons or remains an operator may type: more is a typo.
constexpr uint64_t kMaxCount = 1'000'000;
// The largest transfer index (terms hold few transfers).
constexpr uint64_t kMaxTransferIndex = 1'000;
// How far ahead an exchange window may start before it reads as a typo.
constexpr int64_t kFarFutureMs = int64_t{5} * 366 * 24 * 3600 * 1000;

// The text rule (node/base/text.h, docs/PROTOCOL.md §5.2) for a flag's value,
// checked before the value goes into a request (protobuf would log invalid
// UTF-8 raw and send nothing the node can read).
Status CheckFlagText(std::string_view flag, const std::string& value) {
  if (auto why = TextRuleViolation(value)) return Status(Code::kInvalidArgument, std::string(flag) + ": " + *why);
  return Status::Ok();
}

std::string NewRequestId() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd() << rd() << rd();
  return out.str();
}

// ---------------------------------------------------------------------------
// Options shared by the commands that talk to the local node.

struct Common {
  std::string socket;
  bool json = false;
  std::string request_id;
  bool yes = false;      // sign without asking, even on a terminal
  bool dry_run = false;  // show what would be signed; sign nothing
};

std::string DefaultSocket() {
  const char* env = std::getenv("PARLEY_SOCKET");
  return env ? env : "parley.sock";
}

void AddNodeOptions(CLI::App* cmd, Common& c, bool mutating) {
  cmd->add_option("--socket", c.socket, "operator socket of the local node (env PARLEY_SOCKET)")
      ->default_val(DefaultSocket());
  cmd->add_flag("--json", c.json, "machine-readable output");
  if (mutating) {
    cmd->add_option("--request-id", c.request_id,
                    "id of this request; repeating a call with the same id never makes a second entry");
    cmd->add_flag("--yes,-y", c.yes, "sign without showing the statement and asking first (for scripts)");
    cmd->add_flag("--dry-run", c.dry_run,
                  "show the statement as it would be signed, after every check the node makes; sign nothing");
  }
}

// The node's charter and both feeds, for views and ID resolution.
struct Snapshot {
  std::unique_ptr<OperatorClient> client;
  std::optional<Charter> charter;
  std::vector<DecodedEntry> feeds[2];
};

Result<Snapshot> Connect(const Common& c, bool with_feeds) {
  Snapshot s;
  auto client = OperatorClient::Connect(c.socket);
  if (!client) return client.error();
  s.client = std::move(*client);
  auto charter = s.client->GetCharter();
  if (!charter) return charter.error();
  s.charter = std::move(*charter);
  if (with_feeds) {
    auto feeds = s.client->ReadFeeds(*s.charter);
    if (!feeds) return feeds.error();
    for (PartyIndex p = 0; p < 2; ++p) s.feeds[p] = std::move((*feeds)[p]);
  }
  return s;
}

Result<DecodedEntry> ResolveEntry(const Snapshot& s, const std::string& prefix) {
  std::vector<Digest> ids;
  for (const auto& feed : s.feeds) {
    for (const auto& e : feed) ids.push_back(e.id);
  }
  auto id = ResolveIdPrefix(prefix, ids);
  if (!id) return id.error();
  for (const auto& feed : s.feeds) {
    for (const auto& e : feed) {
      if (e.id == *id) return e;
    }
  }
  return Status(Code::kNotFound, "no entry " + Printable(prefix));
}

Result<DecodedEntry> ResolveProposal(const Snapshot& s, const std::string& prefix) {
  auto e = ResolveEntry(s, prefix);
  if (!e) return e;
  if (e->kind() != v1::Entry::kPropose) {
    return Status(Code::kInvalidArgument,
                  "entry " + Printable(prefix) + " is " + KindWithArticle(e->kind()) + ", not a proposal");
  }
  return e;
}

// Asks on the terminal; true for "y" or "yes".
bool Confirm(const std::string& question) {
  std::cout << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

// Shows what a signing command is about to sign — with --dry-run, or on a
// terminal before asking. The node previews it through the same checks it
// makes before signing (SubmitRequest.dry_run), so what is shown is what it
// would sign, and a statement it would refuse (void, malformed, too large)
// is refused here. Returns the exit code to stop with, or nullopt to sign.
std::optional<int> PreviewAndConfirm(Snapshot& s, const Common& c, const v1::Entry& body, const std::string& rid,
                                     const std::string& arrivals_csv) {
  const bool ask = !c.yes && !c.dry_run && ::isatty(STDIN_FILENO);
  if (!c.dry_run && !ask) return std::nullopt;
  auto r = s.client->Submit(body, rid, arrivals_csv, /*dry_run=*/true);
  if (!r) return Fail(r.error());
  v1::Entry entry;
  if (!entry.ParseFromString(r->preview())) {
    return Fail(Status(Code::kInternal, "the node's preview of the statement is not an Entry"));
  }
  const std::string label = s.charter->party_code(entry.author()) + "#" + std::to_string(entry.seq());
  if (c.json) {
    std::cout << DumpJson(nlohmann::json{{"dry_run", true},           {"seq", entry.seq()},
                                {"kind", KindName(entry.body_case())}, {"party", s.charter->party_code(entry.author())},
                                {"text", DescribePreview(*s.charter, entry)}, {"void", nullptr}})
              << "\n";
  } else {
    std::cout << (c.dry_run ? "would sign " : "about to sign ") << label << "  " << DescribePreview(*s.charter, entry)
              << "\n  the node checked it: it is well formed and would take effect (not void)\n";
  }
  if (c.dry_run) {
    if (!c.json) std::cout << "dry run: nothing was signed\n";
    return kExitOk;
  }
  if (!Confirm("Sign it? A signature cannot be taken back.")) {
    std::cout << "not signed\n";
    return kExitFailed;
  }
  return std::nullopt;
}

int Submit(Snapshot& s, const Common& c, const v1::Entry& body, const std::string& arrivals_csv = {}) {
  const std::string rid = c.request_id.empty() ? NewRequestId() : c.request_id;
  if (auto stop = PreviewAndConfirm(s, c, body, rid, arrivals_csv)) return *stop;
  auto r = s.client->Submit(body, rid, arrivals_csv);
  if (!r) return Fail(r.error());
  auto st = s.client->GetStatus();
  const PartyIndex self = st ? st->self() : 0;
  if (c.json) {
    nlohmann::json j = {{"id", ToHex(r->id())}, {"seq", r->seq()}, {"kind", KindName(body.body_case())},
                        {"party", s.charter->party_code(self)}, {"request_id", rid}};
    std::cout << DumpJson(j) << "\n";
  } else {
    std::cout << "signed " << KindName(body.body_case()) << " " << s.charter->party_code(self) << "#" << r->seq()
              << "  id " << ToHex(r->id()) << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// Terms flags: propose, counter, amend.

struct TermsFlags {
  std::string kind;
  std::vector<std::string> transfers;  // FROM>TO:CATEGORY:COUNT[:MANIFEST_ROOT]
  std::string crossing, transport, intermediary, notes;
  std::string window_start, window_end, expires;
  bool allow_past = false;        // a window or expiry already past
  bool allow_far_future = false;  // a window starting more than 5 years out
};

void AddTermsOptions(CLI::App* cmd, TermsFlags& t, bool required) {
  auto* kind = cmd->add_option("--kind", t.kind, "remains_transfer | prisoner_exchange");
  auto* tr = cmd->add_option("--transfer", t.transfers,
                             "FROM>TO:CATEGORY:COUNT[:MANIFEST_ROOT], e.g. RU>UA:remains:1212 (CATEGORY: remains | pow | "
                             "civilians; MANIFEST_ROOT from `parley manifest commit`); repeat for each transfer");
  auto* cross = cmd->add_option("--crossing", t.crossing, "crossing point");
  auto* transport = cmd->add_option("--transport", t.transport, "road | rail | air | sea | other");
  auto* start = cmd->add_option("--from", t.window_start, "window start, UTC (2025-06-11T08:00Z)");
  auto* end = cmd->add_option("--until", t.window_end, "window end, UTC");
  cmd->add_option("--intermediary", t.intermediary, "e.g. ICRC");
  cmd->add_option("--notes", t.notes, "free text");
  cmd->add_option("--expires", t.expires, "the proposal lapses unless accepted by then, UTC");
  cmd->add_flag("--allow-past", t.allow_past,
                "sign a window that has already ended (or an expiry already past), e.g. to record an earlier "
                "exchange; refused otherwise as a likely typo");
  cmd->add_flag("--allow-far-future", t.allow_far_future,
                "sign a window that starts more than 5 years from now; refused otherwise as a likely typo");
  if (required) {
    kind->required();
    tr->required();
    cross->required();
    transport->required();
    start->required();
    end->required();
  }
}

Result<v1::Category> ParseCategory(const std::string& c) {
  if (c == "remains") return v1::REMAINS;
  if (c == "pow" || c == "prisoners_of_war") return v1::PRISONERS_OF_WAR;
  if (c == "civilians" || c == "civilian_detainees") return v1::CIVILIAN_DETAINEES;
  return Status(Code::kInvalidArgument, "unknown category '" + Printable(c) + "' (remains | pow | civilians)");
}

// Builds a Propose body: `base` (when countering or amending) supplies every
// term not given as a flag.
Result<v1::Entry> BuildPropose(const Charter& charter, const TermsFlags& f, const v1::Propose* base, int64_t now_ms) {
  v1::Terms terms;
  v1::ExchangeKind kind = v1::EXCHANGE_KIND_UNSPECIFIED;
  if (base) {
    terms.ParseFromString(base->terms());
    kind = base->kind();
  }
  if (!f.kind.empty()) {
    if (f.kind == "remains_transfer" || f.kind == "remains") kind = v1::REMAINS_TRANSFER;
    else if (f.kind == "prisoner_exchange" || f.kind == "exchange") kind = v1::PRISONER_EXCHANGE;
    else return Status(Code::kInvalidArgument, "unknown --kind '" + Printable(f.kind) + "' (remains_transfer | prisoner_exchange)");
  }
  if (!f.transfers.empty()) terms.clear_transfers();
  for (const std::string& t : f.transfers) {
    auto gt = t.find('>');
    auto c1 = t.find(':');
    auto c2 = c1 == std::string::npos ? std::string::npos : t.find(':', c1 + 1);
    if (gt == std::string::npos || c1 == std::string::npos || c2 == std::string::npos || gt > c1) {
      return Status(Code::kInvalidArgument,
                    "bad --transfer '" + Printable(t) + "': use FROM>TO:CATEGORY:COUNT, e.g. RU>UA:remains:1212");
    }
    auto from = charter.PartyByCode(t.substr(0, gt));
    auto to = charter.PartyByCode(t.substr(gt + 1, c1 - gt - 1));
    if (!from || !to) {
      return Status(Code::kInvalidArgument, "bad --transfer '" + Printable(t) + "': parties are " + charter.party_code(0) +
                                                " and " + charter.party_code(1));
    }
    auto cat = ParseCategory(t.substr(c1 + 1, c2 - c1 - 1));
    if (!cat) return cat.error();
    // COUNT, optionally followed by :ROOT of a committed manifest of COUNT records.
    const size_t c3 = t.find(':', c2 + 1);
    auto parsed = ParseCount(t.substr(c2 + 1, c3 == std::string::npos ? std::string::npos : c3 - c2 - 1),
                             "--transfer COUNT", kMaxCount);
    if (!parsed) return parsed.error();
    if (*parsed == 0) return Status(Code::kInvalidArgument, "--transfer COUNT must be at least 1");
    const uint64_t count = *parsed;
    auto* tr = terms.add_transfers();
    tr->set_from_party(*from);
    tr->set_to_party(*to);
    tr->set_category(*cat);
    tr->set_count(count);
    if (c3 != std::string::npos) {
      auto m = ParseCommitment(t.substr(c3 + 1) + ":" + std::to_string(count));
      if (!m) return Status(Code::kInvalidArgument, "bad --transfer '" + Printable(t) + "': " + m.error().message());
      *tr->mutable_manifest() = *m;
    }
  }
  for (const auto& [flag, value] : {std::pair{"--crossing", &f.crossing}, std::pair{"--intermediary", &f.intermediary},
                                     std::pair{"--notes", &f.notes}}) {
    if (Status st = CheckFlagText(flag, *value); !st.ok()) return st;
  }
  if (!f.crossing.empty()) terms.set_crossing_point(f.crossing);
  if (!f.transport.empty()) {
    static const std::pair<const char*, v1::Transport> kTransports[] = {
        {"road", v1::ROAD}, {"rail", v1::RAIL}, {"air", v1::AIR}, {"sea", v1::SEA}, {"other", v1::OTHER}};
    bool found = false;
    for (const auto& [name, value] : kTransports) {
      if (f.transport == name) {
        terms.set_transport(value);
        found = true;
      }
    }
    if (!found) {
      return Status(Code::kInvalidArgument,
                    "unknown --transport '" + Printable(f.transport) + "' (road | rail | air | sea | other)");
    }
  }
  if (!f.window_start.empty()) {
    auto t = ParseTime(f.window_start, "--from");
    if (!t) return t.error();
    terms.mutable_window()->set_start_ms(*t);
  }
  if (!f.window_end.empty()) {
    auto t = ParseTime(f.window_end, "--until");
    if (!t) return t.error();
    terms.mutable_window()->set_end_ms(*t);
  }
  if (!f.intermediary.empty()) terms.set_intermediary(f.intermediary);
  if (!f.notes.empty()) terms.set_notes(f.notes);
  v1::Entry body;
  body.mutable_propose()->set_kind(kind);
  body.mutable_propose()->set_terms(terms.SerializeAsString());
  if (!f.expires.empty()) {
    auto t = ParseTime(f.expires, "--expires");
    if (!t) return t.error();
    body.mutable_propose()->set_expires_ms(*t);
  }
  // Catch what the node would refuse, with the flag names in the message.
  if (kind == v1::EXCHANGE_KIND_UNSPECIFIED) return Status(Code::kInvalidArgument, "--kind is required");
  if (terms.transfers_size() == 0) return Status(Code::kInvalidArgument, "at least one --transfer is required");
  if (terms.transport() == v1::TRANSPORT_UNSPECIFIED) return Status(Code::kInvalidArgument, "--transport is required");
  if (!terms.has_window()) return Status(Code::kInvalidArgument, "--from and --until are required");
  if (terms.window().end_ms() < terms.window().start_ms()) {
    return Status(Code::kInvalidArgument, "--until is before --from");
  }
  // Signatures cannot be taken back: a window no one can meet is a typo
  // unless the operator says otherwise.
  if (!f.allow_past && terms.window().end_ms() < now_ms) {
    return Status(Code::kInvalidArgument, "the window ends in the past (" + IsoTime(terms.window().end_ms()) +
                                              "); give --allow-past to sign it anyway");
  }
  if (!f.allow_past && body.propose().expires_ms() != 0 && body.propose().expires_ms() <= now_ms) {
    return Status(Code::kInvalidArgument, "--expires " + IsoTime(body.propose().expires_ms()) +
                                              " is already past; give --allow-past to sign it anyway");
  }
  if (!f.allow_far_future && terms.window().start_ms() > now_ms + kFarFutureMs) {
    return Status(Code::kInvalidArgument, "the window starts " + IsoTime(terms.window().start_ms()) +
                                              ", more than 5 years from now; check the year, or give "
                                              "--allow-far-future");
  }
  return body;
}

// ---------------------------------------------------------------------------
// Views.

int CmdList(const Common& c, const std::string& state) {
  auto s = Connect(c, true);
  if (!s) return Fail(s.error());
  LedgerState ls = ComputeState(s->feeds[0], s->feeds[1], NowMs());
  if (c.json) {
    nlohmann::json j = StateJson(*s->charter, ls);
    if (!state.empty()) {
      nlohmann::json kept = nlohmann::json::array();
      for (const auto& p : j["proposals"]) {
        bool match = p["state"] == state || (!p["agreement"].is_null() && p["agreement"]["state"] == state);
        if (match) kept.push_back(p);
      }
      j["proposals"] = kept;
    }
    std::cout << DumpJson(j, 2) << "\n";
    return kExitOk;
  }
  auto text = RenderList(*s->charter, ls, state.empty() ? std::nullopt : std::optional<std::string>(state));
  if (!text) return Fail(text.error());
  std::cout << *text;
  return kExitOk;
}

int CmdShow(const Common& c, const std::string& id) {
  auto s = Connect(c, true);
  if (!s) return Fail(s.error());
  auto e = ResolveProposal(*s, id);
  if (!e) return Fail(e.error());
  LedgerState ls = ComputeState(s->feeds[0], s->feeds[1], NowMs());
  if (c.json) {
    auto j = ShowJson(*s->charter, ls, s->feeds[0], s->feeds[1], e->id);
    if (!j) return Fail(j.error());
    std::cout << DumpJson(*j, 2) << "\n";
    return kExitOk;
  }
  auto text = RenderShow(*s->charter, ls, s->feeds[0], s->feeds[1], e->id);
  if (!text) return Fail(text.error());
  std::cout << *text;
  return kExitOk;
}

// `parley status` exit codes (for monitors, like a Nagios check).
constexpr int kHealthy = 0;
constexpr int kDegraded = 1;
constexpr int kAlarm = 2;
constexpr int kUnknown = 3;  // the node did not answer

struct HealthLimits {
  std::string max_disconnected = "60";  // seconds without the peer before "degraded"
  std::string max_lag = "1000";         // entries behind the peer before "degraded"
  bool check = false;                   // exit code only, no output
};

struct Health {
  int code = kHealthy;
  std::vector<std::string> reasons;
};

// The node's health from its status: an alarm (fork proof, frozen feed,
// signing stopped, key misuse: every ALARM line) is 2; the peer not
// connected for longer than `max_disconnected_ms` (since the last contact,
// or since the node started if never), or a lag above `max_lag`, is 1.
Health AssessHealth(const v1::StatusResponse& st, int64_t now_ms, int64_t max_disconnected_ms, uint64_t max_lag) {
  Health h;
  for (const auto& a : st.alarms()) h.reasons.push_back(a);
  if (st.fork_proofs() > 0 && st.alarms_size() == 0) h.reasons.push_back("fork proofs stored");
  if (!h.reasons.empty()) {
    h.code = kAlarm;
    return h;
  }
  const auto& p = st.peer();
  const int64_t since = std::max(p.last_contact_ms(), st.started_ms());
  if (!p.connected() && since > 0 && now_ms - since > max_disconnected_ms) {
    h.reasons.push_back("peer not connected for " + std::to_string((now_ms - since) / 1000) + " s (limit " +
                        std::to_string(max_disconnected_ms / 1000) + " s)");
  }
  if (p.lag() > max_lag) {
    h.reasons.push_back(std::to_string(p.lag()) + " entries behind the peer (limit " + std::to_string(max_lag) + ")");
  }
  if (!h.reasons.empty()) h.code = kDegraded;
  return h;
}

const char* HealthName(int code) { return code == kHealthy ? "ok" : code == kDegraded ? "degraded" : "alarm"; }

int CmdStatus(const Common& c, const HealthLimits& limits) {
  auto max_disconnected = ParseCount(limits.max_disconnected, "--max-disconnected", 365 * 24 * 3600);
  if (!max_disconnected) return Fail(max_disconnected.error());
  auto max_lag = ParseCount(limits.max_lag, "--max-lag");
  if (!max_lag) return Fail(max_lag.error());
  auto unknown = [&](const Status& s) {
    if (!limits.check) Fail(s);
    return kUnknown;
  };
  auto client = OperatorClient::Connect(c.socket);
  if (!client) return unknown(client.error());
  auto st = (*client)->GetStatus();
  if (!st) return unknown(st.error());
  auto charter = (*client)->GetCharter();
  if (!charter) return unknown(charter.error());
  const Health health =
      AssessHealth(*st, NowMs(), static_cast<int64_t>(*max_disconnected) * 1000, *max_lag);
  if (limits.check) return health.code;
  const auto& p = st->peer();
  if (c.json) {
    nlohmann::json j;
    j["ledger_id"] = ToHex(st->ledger_id());
    j["self"] = charter->party_code(st->self());
    for (const auto& f : st->feeds()) {
      j["heads"][charter->party_code(f.party())] = {{"seq", f.seq()}, {"id", f.seq() ? ToHex(f.id()) : ""}};
    }
    j["peer"] = {{"address", p.address()}, {"connected", p.connected()}, {"peer_head_seq", p.peer_head_seq()},
                 {"lag", p.lag()}, {"last_contact_ms", p.last_contact_ms()}, {"last_error", p.last_error()}};
    j["frozen"] = nlohmann::json::array();
    for (uint32_t f : st->frozen_parties()) j["frozen"].push_back(charter->party_code(f));
    j["fork_proofs"] = st->fork_proofs();
    j["alarms"] = nlohmann::json::array();
    for (const auto& a : st->alarms()) j["alarms"].push_back(a);
    j["health"] = {{"state", HealthName(health.code)}, {"reasons", health.reasons}};
    j["started"] = IsoTime(st->started_ms());
    j["key_rotations"] = nlohmann::json::array();
    for (const auto& r : st->rotations()) {
      j["key_rotations"].push_back({{"party", charter->party_code(r.party())},
                                    {"seq", r.seq()},
                                    {"new_key", ToHex(r.new_key())},
                                    {"compromised_from_seq", r.compromised_from_seq()},
                                    {"acknowledged_by", r.acknowledged_by()},
                                    {"state", r.acknowledged_by() ? "in effect" : "pending"}});
    }
    std::cout << DumpJson(j, 2) << "\n";
    return health.code;
  }
  std::cout << "node " << charter->party_code(st->self()) << " of ledger " << ToHex(st->ledger_id()).substr(0, 16)
            << "…\n";
  for (const auto& f : st->feeds()) {
    std::cout << "  feed " << charter->party_code(f.party()) << ": " << f.seq() << " entries"
              << (f.seq() ? "  head " + ToHex(f.id()).substr(0, 16) + "…" : "") << "\n";
  }
  std::cout << "  peer " << Printable(p.address()) << ": " << (p.connected() ? "connected" : "NOT connected")
            << ", lag " << p.lag() << (p.last_error().empty() ? "" : "  last error: " + Printable(p.last_error()))
            << "\n";
  std::cout << "  fork proofs: " << st->fork_proofs() << "\n";
  for (const auto& r : st->rotations()) {
    const std::string& code = charter->party_code(r.party());
    std::cout << "  key rotation " << code << "#" << r.seq() << " to " << ToHex(r.new_key()).substr(0, 16) << "…: "
              << (r.acknowledged_by() ? "in effect (acknowledged by " + charter->party_code(1 - r.party()) + "#" +
                                            std::to_string(r.acknowledged_by()) + ")"
                                      : "pending (" + charter->party_code(1 - r.party()) + " has not acknowledged it)");
    if (r.compromised_from_seq() != 0 && r.compromised_from_seq() < r.seq()) {
      std::cout << "; declares " << code << "#" << r.compromised_from_seq() << "–" << code << "#" << r.seq() - 1
                << " compromised";
    }
    std::cout << "\n";
  }
  for (const auto& a : st->alarms()) std::cout << "  ALARM: " << Printable(a) << "\n";
  std::cout << "  health: " << (health.code == kHealthy ? "OK" : health.code == kDegraded ? "DEGRADED" : "ALARM");
  for (size_t k = 0; k < health.reasons.size(); ++k) std::cout << (k ? "; " : " — ") << Printable(health.reasons[k]);
  std::cout << "\n";
  return health.code;
}

int CmdWatch(const Common& c) {
  auto s = Connect(c, false);
  if (!s) return Fail(s.error());
  std::mutex mu;
  // Entries are decoded under the key schedule of both feeds (§5.1). The two
  // streams are independent, so an entry may arrive before the entry of the
  // other feed that makes its key; then the schedule is rebuilt from both
  // feeds as the node holds them now, and the entry decoded again.
  KeySchedule schedule(*s->charter);
  auto refresh = [&]() -> Status {
    auto client = OperatorClient::Connect(c.socket);
    if (!client) return client.error();
    KeySchedule fresh(*s->charter);
    auto feeds = (*client)->ReadFeeds(*s->charter, &fresh);
    if (!feeds) return feeds.error();
    schedule = std::move(fresh);
    return Status::Ok();
  };
  auto follow = [&](PartyIndex p) {
    auto client = OperatorClient::Connect(c.socket);
    if (!client) return;
    Status st = (*client)->Follow(p, 1, [&](const std::string& env) {
      std::lock_guard lock(mu);
      auto d = DecodeEntry(env, *s->charter, &schedule);
      if (!d && refresh().ok()) d = DecodeEntry(env, *s->charter, &schedule);
      if (!d) {
        std::cout << "unverifiable entry: " << Printable(d.error().message()) << "\n";
      } else if (c.json) {
        std::cout << DumpJson(nlohmann::json{{"party", s->charter->party_code(p)}, {"seq", d->seq()}, {"id", ToHex(d->id)},
                                    {"kind", KindName(d->kind())}, {"time_ms", d->time_ms()},
                                    {"text", DescribeEntry(*s->charter, d->entry)}})
                  << std::endl;
      } else {
        std::cout << s->charter->party_code(p) << "#" << d->seq() << "  " << ToHex(d->id).substr(0, 12) << "  "
                  << DescribeEntry(*s->charter, d->entry) << std::endl;
      }
      return true;
    });
    if (!st.ok()) {
      std::lock_guard lock(mu);
      std::cerr << "parley: watch ended: " << Printable(st.message()) << "\n";
    }
  };
  std::thread a(follow, 0), b(follow, 1);
  a.join();
  b.join();
  return kExitFailed;  // only when the node goes away
}

int CmdExport(const Common& c, const std::string& out) {
  auto s = Connect(c, false);
  if (!s) return Fail(s.error());
  auto st = s->client->GetStatus();
  if (!st) return Fail(st.error());
  auto w = BundleWriter::Create(out, *s->charter, s->charter->party_code(st->self()), NowMs());
  if (!w) return Fail(w.error());
  Status ws = WriteFeedsInCausalOrder(**w, s->client->FeedSource(0), s->client->FeedSource(1));
  if (!ws.ok()) return Fail(ws);
  auto forks = s->client->GetForkProofs();
  if (!forks) return Fail(forks.error());
  for (const auto& f : forks->proofs()) {
    if (Status fs = (*w)->AddForkProof(f); !fs.ok()) return Fail(fs);
  }
  if (Status fs = (*w)->Finish(); !fs.ok()) return Fail(fs);
  if (c.json) {
    std::cout << DumpJson(nlohmann::json{{"bundle", out}}) << "\n";
  } else {
    std::cout << "exported to " << out << "\n";
  }
  return kExitOk;
}

// Reads both feeds and the fork proofs from a node's peer service into a
// bundle at `out`, up to the heads the node reported first.
struct PeerTlsFlags {
  std::string cert, key, fingerprint;
  bool plaintext = false;
};

Status FetchBundleFromPeer(const std::string& address, const Charter& charter, const SecretKey& key,
                           const PeerTlsFlags& tls, const std::string& out) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (tls.plaintext) {
    if (!IsLoopbackAddress(address)) {
      return Status(Code::kInvalidArgument, "--peer " + address + " is not on loopback; plaintext is refused off loopback");
    }
    creds = grpc::InsecureChannelCredentials();
  } else {
    if (tls.cert.empty() || tls.key.empty() || tls.fingerprint.size() != 64) {
      return Status(Code::kInvalidArgument,
                    "--peer needs --tls-cert, --tls-key and --peer-fingerprint (or --plaintext on loopback)");
    }
    auto files = ReadTlsFiles(tls.cert, tls.key);
    if (!files) return files.error();
    creds = PinnedChannelCredentials(*files, tls.fingerprint);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxPeerMessageBytes);
  auto stub = v1::Peer::NewStub(grpc::CreateCustomChannel(address, creds, args));
  auto deadline = [] { return std::chrono::system_clock::now() + std::chrono::seconds(30); };
  v1::Heads heads;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline());
    AddPeerAuth(ctx, key, charter.ledger_id(), "/parley.v1.Peer/GetHeads");
    v1::GetHeadsRequest req;
    req.set_ledger_id(charter.ledger_id().str());
    grpc::Status s = stub->GetHeads(&ctx, req, &heads);
    if (!s.ok()) return Status(Code::kUnavailable, "node at " + address + ": " + s.error_message());
  }
  uint64_t head[2] = {0, 0};
  for (const auto& f : heads.feeds()) {
    if (f.party() <= 1) head[f.party()] = f.seq();
  }
  auto w = BundleWriter::Create(out, charter, "peer " + address, NowMs());
  if (!w) return w.error();
  auto source = [&](PartyIndex party) {
    auto buffer = std::make_shared<std::deque<std::string>>();
    auto next = std::make_shared<uint64_t>(1);
    return [&, party, buffer, next]() -> Result<std::optional<std::string>> {
      if (buffer->empty() && *next <= head[party]) {
        grpc::ClientContext ctx;
        ctx.set_deadline(deadline());
        AddPeerAuth(ctx, key, charter.ledger_id(), "/parley.v1.Peer/ReadFeed");
        v1::ReadFeedRequest req;
        req.set_ledger_id(charter.ledger_id().str());
        req.set_party(party);
        req.set_from_seq(*next);
        req.set_max_count(static_cast<uint32_t>(std::min<uint64_t>(kMaxReadCount, head[party] - *next + 1)));
        auto reader = stub->ReadFeed(&ctx, req);
        v1::FeedItem item;
        while (reader->Read(&item)) buffer->push_back(std::move(*item.mutable_envelope()));
        grpc::Status s = reader->Finish();
        if (!s.ok()) return Status(Code::kUnavailable, "reading from " + address + ": " + s.error_message());
        if (buffer->empty()) return Status(Code::kDataLoss, "node at " + address + " stopped serving feed " + charter.party_code(party) + " before its head");
        *next += buffer->size();
      }
      if (buffer->empty()) return std::optional<std::string>();
      std::string e = std::move(buffer->front());
      buffer->pop_front();
      return std::optional<std::string>(std::move(e));
    };
  };
  if (Status s = WriteFeedsInCausalOrder(**w, source(0), source(1)); !s.ok()) return s;
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline());
  AddPeerAuth(ctx, key, charter.ledger_id(), "/parley.v1.Peer/GetForkProofs");
  v1::GetForkProofsRequest req;
  req.set_ledger_id(charter.ledger_id().str());
  v1::ForkProofs forks;
  grpc::Status s = stub->GetForkProofs(&ctx, req, &forks);
  if (!s.ok()) return Status(Code::kUnavailable, "node at " + address + ": " + s.error_message());
  for (const auto& f : forks.proofs()) {
    if (Status fs = (*w)->AddForkProof(f); !fs.ok()) return fs;
  }
  return (*w)->Finish();
}

struct PassFlags {
  std::string env, file;
};

Result<std::string> GetPassphrase(const PassFlags& p) {
  NodeConfig cfg;
  cfg.passphrase_env = p.env;
  cfg.passphrase_file = p.file;
  return ReadPassphrase(cfg, "passphrase: ");
}

int CmdAudit(std::string bundle, bool json, const std::string& now, const std::string& peer,
             const std::string& charter_file, const std::string& key_file, const PassFlags& pf,
             const PeerTlsFlags& tls, const std::string& html) {
  int64_t now_ms = NowMs();
  if (!now.empty()) {
    auto t = ParseTime(now, "--now");
    if (!t) return Fail(t.error());
    now_ms = *t;
  }
  std::optional<TempFile> fetched;
  if (!peer.empty()) {
    if (charter_file.empty()) return Fail(Status(Code::kInvalidArgument, "--peer needs --charter: the charter you hold for this ledger"));
    auto bytes = ReadFileBytes(charter_file, "charter");
    if (!bytes) return Fail(bytes.error());
    auto charter = Charter::Parse(*bytes);
    if (!charter) return Fail(charter.error());
    if (key_file.empty()) {
      return Fail(Status(Code::kInvalidArgument, "--peer needs --key: your key as an observer (or party) of the ledger"));
    }
    auto pass = GetPassphrase(pf);
    if (!pass) return Fail(pass.error());
    auto key = ReadKeyFile(key_file, *pass);
    if (!key) return Fail(key.error());
    fetched.emplace();
    if (Status s = FetchBundleFromPeer(peer, *charter, *key, tls, fetched->path); !s.ok()) {
      std::cerr << "parley audit: cannot read the ledger from " << Printable(peer) << ": " << Printable(s.message())
                << "\n";
      return kExitUsage;
    }
    bundle = fetched->path;
  } else if (bundle.empty()) {
    return Fail(Status(Code::kInvalidArgument, "name a BUNDLE file, or --peer HOST:PORT with --charter"));
  }
  AuditOptions options;
  options.now_ms = now_ms;
  auto report = AuditBundle(bundle, options);
  if (!report) {
    std::cerr << "parley audit: unusable input: " << Printable(report.error().message()) << "\n";
    return kExitUsage;
  }
  if (!html.empty()) {
    if (Status s = WriteFileAtomically(html, RenderAuditHtml(*report)); !s.ok()) {
      std::cerr << "parley audit: " << s.message() << "\n";
      return kExitUsage;  // 1 would read as "violations found"
    }
  }
  if (json) std::cout << DumpJson(AuditJson(*report), 2) << "\n";
  else std::cout << RenderAudit(*report);
  return report->exit_code();
}

// ---------------------------------------------------------------------------
// Offline tools.

void AddPassOptions(CLI::App* cmd, PassFlags& p) {
  cmd->add_option("--passphrase-env", p.env, "environment variable holding the passphrase");
  cmd->add_option("--passphrase-file", p.file, "file holding the passphrase (mode 0600)");
}

int CmdKeygen(const std::string& out, const PassFlags& pf, const std::string& kdf) {
  auto pass = GetPassphrase(pf);
  if (!pass) return Fail(pass.error());
  KdfParams params;
  if (kdf == "interactive") params = InteractiveKdfParams();
  else if (kdf != "moderate") return Fail(Status(Code::kInvalidArgument, "--kdf is interactive or moderate"));
  SecretKey key = SecretKey::Generate();
  if (Status s = WriteKeyFile(out, key, *pass, params); !s.ok()) return Fail(s);
  std::cout << ToHex(key.public_key()) << "\n";
  return kExitOk;
}

// `parley key show FILE`: the public key of a key file, without the
// passphrase (it is stored in clear in the file).
int CmdKeyShow(const std::string& file, bool json) {
  auto bytes = ReadFileBytes(file, "key file");
  if (!bytes) return Fail(bytes.error());
  auto pk = KeyFilePublicKey(*bytes);
  if (!pk) return Fail(Status(Code::kInvalidArgument, file + " is not a Parley key file"));
  if (json) {
    std::cout << DumpJson(nlohmann::json{{"public_key", ToHex(*pk)}, {"short", ToHex(*pk).substr(0, 16)}}) << "\n";
  } else {
    std::cout << "public key  " << ToHex(*pk) << "\nshort form  " << ToHex(*pk).substr(0, 16)
              << "…  (as status, logs and charters show it)\n";
  }
  return kExitOk;
}

// `parley key passwd FILE`: the same key under a new passphrase. The new
// file is written beside the old one, opened again with the new passphrase,
// and only then renamed over it: an interruption leaves the old file whole.
int CmdKeyPasswd(const std::string& file, const PassFlags& old_pf, const PassFlags& new_pf, const std::string& kdf) {
  auto old_pass = GetPassphrase(old_pf);
  if (!old_pass) return Fail(old_pass.error());
  auto key = ReadKeyFile(file, *old_pass);
  if (!key) return Fail(key.error());
  NodeConfig cfg;
  cfg.passphrase_env = new_pf.env;
  cfg.passphrase_file = new_pf.file;
  auto new_pass = ReadPassphrase(cfg, "new passphrase: ");
  if (!new_pass) return Fail(new_pass.error());
  if (new_pf.env.empty() && new_pf.file.empty()) {  // typed at a terminal: twice
    auto again = ReadPassphrase(cfg, "new passphrase again: ");
    if (!again) return Fail(again.error());
    if (*again != *new_pass) return Fail(Status(Code::kInvalidArgument, "the two new passphrases differ; nothing changed"));
  }
  if (new_pass->empty()) return Fail(Status(Code::kInvalidArgument, "the new passphrase is empty; nothing changed"));
  KdfParams params;
  if (kdf == "interactive") params = InteractiveKdfParams();
  else if (kdf != "moderate") return Fail(Status(Code::kInvalidArgument, "--kdf is interactive or moderate"));
  const std::string tmp = file + ".new";
  if (Status s = WriteKeyFile(tmp, *key, *new_pass, params); !s.ok()) return Fail(s);
  auto check = ReadKeyFile(tmp, *new_pass);
  if (!check || check->public_key() != key->public_key()) {
    std::filesystem::remove(tmp);
    return Fail(Status(Code::kIoError, "the new key file did not open again; " + file + " is unchanged"));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) return Fail(Status(Code::kIoError, "cannot replace " + file + ": " + ec.message()));
  std::cout << "passphrase changed for " << file << " (key " << ToHex(key->public_key()).substr(0, 16) << "…)\n";
  return kExitOk;
}

Result<PublicKey> ParseKeyArg(const std::string& v) {
  if (auto hex = FromHex(v); hex && hex->size() == 32) return *PublicKey::FromBytes(*hex);
  auto bytes = ReadFileBytes(v, "key file");
  if (!bytes) return Status(Code::kInvalidArgument, "'" + v + "' is neither a 64-digit hex public key nor a key file");
  auto pk = KeyFilePublicKey(*bytes);
  if (!pk) return Status(Code::kInvalidArgument, v + " is not a Parley key file");
  return *pk;
}

// Rotates this party's key to the key in `new_key_file` (docs/PROTOCOL.md
// §5.1): the node takes it as its next key and signs a RotateKey to it.
int CmdRotateKey(const Common& c, const std::string& new_key_file, const PassFlags& pf, uint64_t compromised_from) {
  auto pass = GetPassphrase(pf);
  if (!pass) return Fail(pass.error());
  auto key = ReadKeyFile(new_key_file, *pass);
  if (!key) return Fail(key.error());
  auto s = Connect(c, false);
  if (!s) return Fail(s.error());
  if (c.dry_run || (!c.yes && ::isatty(STDIN_FILENO))) {
    std::cout << (c.dry_run ? "would sign" : "about to sign") << " rotate_key: this party's key becomes "
              << ToHex(key->public_key()) << " once the other party acknowledges it";
    if (compromised_from != 0) {
      std::cout << "; declares this party's entries from #" << compromised_from << " on signed with a compromised key";
    }
    std::cout << "\n";
    if (c.dry_run) {
      std::cout << "dry run: nothing was signed (the node checks a rotation when it signs it)\n";
      return kExitOk;
    }
    if (!Confirm("Sign it? A signature cannot be taken back.")) {
      std::cout << "not signed\n";
      return kExitFailed;
    }
  }
  const std::string rid = c.request_id.empty() ? NewRequestId() : c.request_id;
  auto r = s->client->RotateKey(key->seed(), compromised_from, rid);
  if (!r) return Fail(r.error());
  auto st = s->client->GetStatus();
  const std::string code = st ? s->charter->party_code(st->self()) : "?";
  const std::string other = st ? s->charter->party_code(1 - st->self()) : "the other party";
  if (c.json) {
    std::cout << DumpJson(nlohmann::json{{"id", ToHex(r->id())}, {"seq", r->seq()}, {"kind", "rotate_key"}, {"party", code},
                                {"new_key", ToHex(key->public_key())}, {"compromised_from_seq", compromised_from},
                                {"request_id", rid}})
              << "\n";
    return kExitOk;
  }
  std::cout << "signed rotate_key " << code << "#" << r->seq() << "  id " << ToHex(r->id()) << "\n"
            << "new key " << ToHex(key->public_key()) << ": in effect once " << other
            << "'s node acknowledges it (it does so on receipt; see `parley status`).\n"
            << "Keep it across a restart: add `next_key_file = " << new_key_file
            << "` to this node's config now; once the rotation is in effect, move the new key file over key_file "
               "and drop next_key_file.\n";
  return kExitOk;
}

int CmdCharterCreate(const std::string& title, const std::vector<std::string>& parties,
                     const std::vector<std::string>& names, const std::vector<std::string>& observers,
                     const std::string& out) {
  if (parties.size() != 2) return Fail(Status(Code::kInvalidArgument, "exactly two --party CODE=KEY are needed"));
  // The charter's text is shown to every operator and auditor: the same rule
  // as statements (§5.2).
  if (Status st = CheckFlagText("--title", title); !st.ok()) return Fail(st);
  for (const auto& list : {&names, &observers}) {
    for (const std::string& v : *list) {
      if (Status st = CheckFlagText(list == &names ? "--name" : "--observer", v); !st.ok()) return Fail(st);
    }
  }
  CharterDraft d;
  d.title = title;
  d.created_ms = NowMs();
  for (size_t i = 0; i < 2; ++i) {
    auto eq = parties[i].find('=');
    if (eq == std::string::npos) return Fail(Status(Code::kInvalidArgument, "bad --party '" + parties[i] + "': use CODE=KEY"));
    d.parties[i].code = parties[i].substr(0, eq);
    auto key = ParseKeyArg(parties[i].substr(eq + 1));
    if (!key) return Fail(key.error());
    d.parties[i].key = *key;
    d.parties[i].name = d.parties[i].code;
  }
  for (const std::string& n : names) {
    auto eq = n.find('=');
    bool used = false;
    for (auto& p : d.parties) {
      if (eq != std::string::npos && p.code == n.substr(0, eq)) {
        p.name = n.substr(eq + 1);
        used = true;
      }
    }
    if (!used) return Fail(Status(Code::kInvalidArgument, "bad --name '" + n + "': use CODE=NAME for a --party CODE"));
  }
  for (const std::string& o : observers) {
    auto eq = o.find('=');
    if (eq == std::string::npos) return Fail(Status(Code::kInvalidArgument, "bad --observer '" + o + "': use NAME=KEY"));
    auto key = ParseKeyArg(o.substr(eq + 1));
    if (!key) return Fail(key.error());
    d.observers.push_back({o.substr(0, eq), *key});
  }
  auto bytes = NewUnsignedCharter(d);
  if (!bytes) return Fail(bytes.error());
  if (Status s = WriteFileAtomically(out, *bytes); !s.ok()) return Fail(s);
  std::cout << "charter written to " << out << "; ledger id " << ToHex(Charter::Parse(*bytes)->ledger_id())
            << "\nnext: each party runs `parley charter sign --charter " << out << " --key KEYFILE`\n";
  return kExitOk;
}

int CmdCharterSign(const std::string& path, const std::string& key_file, const PassFlags& pf) {
  auto bytes = ReadFileBytes(path, "charter");
  if (!bytes) return Fail(bytes.error());
  auto charter = Charter::Parse(*bytes);
  if (!charter) return Fail(charter.error());
  auto pass = GetPassphrase(pf);
  if (!pass) return Fail(pass.error());
  auto key = ReadKeyFile(key_file, *pass);
  if (!key) return Fail(key.error());
  auto signed_bytes = charter->Sign(*key);
  if (!signed_bytes) return Fail(signed_bytes.error());
  if (Status s = WriteFileAtomically(path, *signed_bytes); !s.ok()) return Fail(s);
  auto again = Charter::Parse(*signed_bytes);
  std::cout << "signed as " << again->party_code(*again->PartyOf(key->public_key())) << "; "
            << (again->fully_signed() ? "the charter is now signed by both parties" : "waiting for the other party")
            << "\n";
  return kExitOk;
}

int CmdCharterShow(const std::string& path, bool json) {
  auto bytes = ReadFileBytes(path, "charter");
  if (!bytes) return Fail(bytes.error());
  auto c = Charter::Parse(*bytes);
  if (!c) return Fail(c.error());
  if (json) {
    nlohmann::json j;
    j["ledger_id"] = ToHex(c->ledger_id());
    j["title"] = c->proto().title();
    j["fully_signed"] = c->fully_signed();
    for (PartyIndex p = 0; p < 2; ++p) {
      j["parties"].push_back({{"code", c->party_code(p)}, {"name", c->party_name(p)},
                              {"public_key", ToHex(c->party_key(p))}, {"signed", c->signed_by(p)}});
    }
    j["observers"] = nlohmann::json::array();
    for (const auto& o : c->observers()) j["observers"].push_back({{"name", o.name}, {"public_key", ToHex(o.key)}});
    std::cout << DumpJson(j, 2) << "\n";
    return kExitOk;
  }
  std::cout << "title:     " << Printable(c->proto().title()) << "\nledger id: " << ToHex(c->ledger_id()) << "\n";
  for (PartyIndex p = 0; p < 2; ++p) {
    std::cout << "party " << c->party_code(p) << ": " << Printable(c->party_name(p)) << "\n  key " << ToHex(c->party_key(p))
              << "  " << (c->signed_by(p) ? "signed" : "NOT signed") << "\n";
  }
  for (const auto& o : c->observers()) std::cout << "observer " << Printable(o.name) << ": " << ToHex(o.key) << "\n";
  return kExitOk;
}

// ---------------------------------------------------------------------------
// The node.

int CmdNode(const std::string& config_file, const std::vector<std::pair<std::string, std::string>>& overrides) {
  NodeConfig cfg;
  if (!config_file.empty()) {
    if (Status s = LoadConfigFile(config_file, cfg); !s.ok()) return Fail(s);
  }
  for (const auto& [k, v] : overrides) {
    if (v.empty()) continue;
    if (Status s = cfg.Set(k, v, {}); !s.ok()) return Fail(s);
  }
  if (Status s = cfg.Validate(); !s.ok()) return Fail(s);
  SetLogLevel(*ParseLogLevel(cfg.log_level));  // checked by Set
  if (!cfg.log_file.empty()) {
    if (Status s = SetLogFile(cfg.log_file); !s.ok()) return Fail(s);
  }
  auto pass = ReadPassphrase(cfg, "passphrase for " + cfg.key_file.string() + ": ");
  if (!pass) return Fail(pass.error());
  auto key = ReadKeyFile(cfg.key_file, *pass);
  if (!key) return Fail(key.error());
  std::optional<SecretKey> next_key;
  if (!cfg.next_key_file.empty()) {  // same passphrase as key_file
    auto next = ReadKeyFile(cfg.next_key_file, *pass);
    if (!next) return Fail(next.error());
    next_key = std::move(*next);
  }

  // Signals are taken synchronously by this thread only: SIGINT and SIGTERM
  // stop the node cleanly (the socket file is removed); SIGHUP reopens the
  // log file (log rotation) and the node runs on.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto node = Node::Start(cfg, std::move(*key), std::move(next_key));
  if (!node) {
    Log(LogLevel::kError, "node failed to start", {{"reason", node.error().message()}});
    return Fail(node.error());
  }
  int sig = 0;
  while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
    const Status reopened = ReopenLogFile();
    Log(reopened.ok() ? LogLevel::kInfo : LogLevel::kError, "SIGHUP: log file reopened",
        {{"log_file", cfg.log_file.empty() ? "(stderr)" : cfg.log_file.string()},
         {"error", reopened.ok() ? "" : reopened.message()}});
  }
  Log(LogLevel::kInfo, "stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*node)->Shutdown();
  return kExitOk;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// `parley WORD ...` where WORD is no command: says so (escaped), suggests
// the nearest command if it is close (WORD of 3 or more letters begins it, or
// it is at most max(2, |WORD|/3) edits away), lists the commands; exit 2.
// nullopt if `word` is a command or an option: CLI11's message is the better
// one then.
std::optional<int> UnknownCommand(const CLI::App& app, std::string_view word) {
  if (word.empty() || word[0] == '-') return std::nullopt;
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names.push_back(sub->get_name());
  }
  if (std::find(names.begin(), names.end(), word) != names.end()) return std::nullopt;
  std::string nearest;
  size_t best = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& name : names) {
    const size_t d = word.size() >= 3 && name.rfind(word, 0) == 0 ? 0 : EditDistance(word, name);
    if (d < best) best = d, nearest = name;
  }
  std::cerr << "parley: unknown command \"" << Printable(word) << "\"";
  if (!nearest.empty()) std::cerr << "; did you mean \"" << nearest << "\"?";
  std::cerr << "\ncommands:";
  for (const std::string& name : names) std::cerr << " " << name;
  std::cerr << "\n(parley --help says what each does)\n";
  return kExitUsage;
}

}  // namespace

int RunCli(int argc, char** argv) {
  InitCrypto();
  CLI::App app{"parley: a signed two-party ledger for exchange agreements"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  app.set_version_flag("--version", VersionText(), "print the version, the protocol version and the source commit");

  // node
  std::string config_file;
  std::vector<std::pair<std::string, std::string>> ov = {
      {"data_dir", ""}, {"key_file", ""}, {"passphrase_env", ""}, {"passphrase_file", ""}, {"charter", ""},
      {"listen", ""},   {"peer", ""},     {"socket", ""},         {"high_water_mark", ""},
      {"tls_cert", ""}, {"tls_key", ""},  {"peer_fingerprint", ""}, {"observer_fingerprints", ""},
      {"plaintext", ""}, {"next_key_file", ""}, {"party", ""}, {"manifest_dir", ""},
      {"log_level", ""}, {"log_file", ""}};
  auto* node = app.add_subcommand("node", "run this party's node");
  node->add_option("--config", config_file, "config file (key = value lines)");
  for (auto& [k, v] : ov) {
    std::string flag = "--" + k;
    for (auto& ch : flag) if (ch == '_') ch = '-';
    node->add_option(flag, v, "overrides `" + k + "` of the config file");
  }

  Common c;
  TermsFlags terms;
  std::string id, reason, state, out, what, where, when, text, ref, place, at;
  // Numbers are taken as text and parsed strictly (ParseCount): "-1", "12abc"
  // and "1e3" are refused, not read as 18446744073709551615, 12 and 1.
  std::string transfer = "0", count, matched = "0", missing = "0", not_on_manifest = "0", unidentified = "0",
              other_side = "0";
  bool json = false;

  auto* propose = app.add_subcommand("propose", "propose an exchange (signed by this party alone until accepted)");
  AddNodeOptions(propose, c, true);
  AddTermsOptions(propose, terms, true);

  auto* counter = app.add_subcommand("counter", "answer the other side's open proposal with other terms");
  AddNodeOptions(counter, c, true);
  counter->add_option("proposal", id, "ID (or unique prefix) of the proposal countered")->required();
  AddTermsOptions(counter, terms, false);

  auto* amend = app.add_subcommand("amend", "propose new terms (e.g. a new date) for an agreement");
  AddNodeOptions(amend, c, true);
  amend->add_option("agreement", id, "ID (or unique prefix) of the agreement")->required();
  AddTermsOptions(amend, terms, false);

  auto* accept = app.add_subcommand("accept", "accept the other side's proposal: it becomes an agreement");
  AddNodeOptions(accept, c, true);
  accept->add_option("proposal", id, "proposal ID or unique prefix")->required();

  auto* reject = app.add_subcommand("reject", "reject the other side's proposal");
  AddNodeOptions(reject, c, true);
  reject->add_option("proposal", id, "proposal ID or unique prefix")->required();
  reject->add_option("--reason", reason, "why");

  auto* withdraw = app.add_subcommand("withdraw", "withdraw one of this party's open proposals");
  AddNodeOptions(withdraw, c, true);
  withdraw->add_option("proposal", id, "proposal ID or unique prefix")->required();
  withdraw->add_option("--reason", reason, "why");

  auto* cancel = app.add_subcommand("cancel", "ask to cancel an agreement (cancelled once both have)");
  AddNodeOptions(cancel, c, true);
  cancel->add_option("agreement", id, "agreement ID or unique prefix")->required();
  cancel->add_option("--reason", reason, "why");

  auto* handover = app.add_subcommand("handover", "report a handover (by the sending party)");
  AddNodeOptions(handover, c, true);
  handover->add_option("agreement", id, "agreement ID or unique prefix")->required();
  handover->add_option("--transfer", transfer, "index of the transfer in the agreed terms")->default_val(0);
  handover->add_option("--count", count, "persons / remains handed over")->required();
  handover->add_option("--place", place, "where");
  handover->add_option("--at", at, "when, UTC");
  std::string manifest, arrivals;
  handover->add_option("--manifest", manifest, "ROOT:COUNT of the manifest handed over (parley manifest commit)");

  auto* receipt = app.add_subcommand("receipt", "report a receipt and its reconciliation (by the receiving party)");
  AddNodeOptions(receipt, c, true);
  receipt->add_option("agreement", id, "agreement ID or unique prefix")->required();
  receipt->add_option("--transfer", transfer, "index of the transfer in the agreed terms")->default_val(0);
  auto* receipt_count = receipt->add_option("--count", count, "persons / remains received");
  receipt->add_option("--manifest", manifest,
                      "ROOT:COUNT of the manifest received against (default with --arrivals: the agreed transfer's)");
  receipt->add_option("--arrivals", arrivals,
                      "CSV of what arrived (arrival_id,record_id,status): the node reconciles it with the manifest "
                      "and the receipt carries the figures")
      ->excludes(receipt_count);
  for (auto* o : {receipt->add_option("--matched", matched, "records that matched"),
                  receipt->add_option("--missing", missing, "on the manifest but not received"),
                  receipt->add_option("--not-on-manifest", not_on_manifest, "received but not on the manifest"),
                  receipt->add_option("--unidentified", unidentified, "identity not established"),
                  receipt->add_option("--other-side", other_side, "belong to the other side")}) {
    o->excludes("--arrivals");
  }
  receipt->add_option("--place", place, "where");
  receipt->add_option("--at", at, "when, UTC");

  auto* attest = app.add_subcommand("attest", "put a one-sided claim of fact on record (never an agreement)");
  AddNodeOptions(attest, c, true);
  attest->add_option("--what", what, "what is claimed")->required();
  attest->add_option("--where", where, "where");
  attest->add_option("--when", when, "when, UTC");
  attest->add_option("--ref", ref, "ID (prefix) of an entry it refers to");

  auto* statement = app.add_subcommand("statement", "put an objection or notice on record");
  AddNodeOptions(statement, c, true);
  statement->add_option("text", text, "the statement")->required();
  statement->add_option("--ref", ref, "ID (prefix) of an entry it refers to");

  std::string new_key_file;
  std::string compromised_from = "0";
  PassFlags rotate_pass;
  auto* rotate = app.add_subcommand("rotate-key", "replace this party's signing key (in effect once the other side acknowledges)");
  AddNodeOptions(rotate, c, true);
  rotate->add_option("--new-key", new_key_file, "key file of the new key (parley keygen)")->required();
  rotate->add_option("--compromised-from", compromised_from,
                     "declare this party's own entries from this seq up to the rotation compromised (void)");
  AddPassOptions(rotate, rotate_pass);

  auto* list = app.add_subcommand("list", "proposals and agreements, and what is one-sided");
  AddNodeOptions(list, c, false);
  list->add_option("--state", state, "only this state (open, agreed, completed, ...)");

  auto* show = app.add_subcommand("show", "one proposal's or agreement's whole history");
  AddNodeOptions(show, c, false);
  show->add_option("id", id, "ID or unique prefix")->required();

  HealthLimits health_limits;
  auto* status = app.add_subcommand(
      "status", "heads, peer connectivity, lag, forks, alarms; exit 0 healthy, 1 degraded, 2 alarm, 3 no answer");
  AddNodeOptions(status, c, false);
  status->add_flag("--check", health_limits.check, "print nothing; only the exit code (for scripts and monitors)");
  status->add_option("--max-disconnected", health_limits.max_disconnected,
                     "seconds without the peer before the node counts as degraded (default 60)");
  status->add_option("--max-lag", health_limits.max_lag,
                     "entries behind the peer's feed before the node counts as degraded (default 1000)");

  auto* watch = app.add_subcommand("watch", "print every entry of both feeds, live");
  AddNodeOptions(watch, c, false);

  auto* exp = app.add_subcommand("export", "write an audit bundle");
  AddNodeOptions(exp, c, false);
  exp->add_option("bundle", out, "output file")->required();

  std::string now, peer, html, charter_file, audit_key;
  PassFlags audit_pass;
  auto* audit = app.add_subcommand("audit", "verify a bundle offline, or a node live (exit 0 clean, 1 violations, 2 unusable)");
  audit->add_option("bundle", out, "bundle file");
  audit->add_option("--peer", peer, "audit a running node read-only through its peer port instead (HOST:PORT)");
  audit->add_option("--charter", charter_file, "with --peer: the charter you hold for the ledger");
  audit->add_option("--key", audit_key, "with --peer: your key file (an observer's or a party's)");
  AddPassOptions(audit, audit_pass);
  PeerTlsFlags audit_tls;
  audit->add_option("--tls-cert", audit_tls.cert, "with --peer: your TLS certificate (parley tls init)");
  audit->add_option("--tls-key", audit_tls.key, "with --peer: your TLS key");
  audit->add_option("--peer-fingerprint", audit_tls.fingerprint, "with --peer: the node's certificate fingerprint");
  audit->add_flag("--plaintext", audit_tls.plaintext, "with --peer: no TLS (loopback only)");
  audit->add_option("--html", html, "also write a self-contained HTML report to this file");
  audit->add_flag("--json", json, "machine-readable report");
  audit->add_option("--now", now, "evaluate expiry at this UTC time (default: now)");

  PassFlags pf;
  std::string kdf = "moderate", key_file;
  auto* keygen = app.add_subcommand("keygen", "make a new key pair in a passphrase-protected file (0600)");
  keygen->add_option("--out", out, "key file to create")->required();
  keygen->add_option("--kdf", kdf, "Argon2id cost: moderate (default) or interactive");
  AddPassOptions(keygen, pf);

  auto* key_cmd = app.add_subcommand("key", "show a key file's public key; change its passphrase");
  key_cmd->require_subcommand(1);
  std::string key_path;
  auto* key_show = key_cmd->add_subcommand("show", "the public key of a key file (no passphrase needed)");
  key_show->add_option("file", key_path, "key file")->required();
  key_show->add_flag("--json", json, "machine-readable output");
  PassFlags new_pf;
  auto* key_passwd = key_cmd->add_subcommand("passwd", "the same key under a new passphrase (file replaced atomically)");
  key_passwd->add_option("file", key_path, "key file")->required();
  AddPassOptions(key_passwd, pf);
  key_passwd->add_option("--new-passphrase-env", new_pf.env, "environment variable holding the new passphrase");
  key_passwd->add_option("--new-passphrase-file", new_pf.file, "file holding the new passphrase (mode 0600)");
  key_passwd->add_option("--kdf", kdf, "Argon2id cost of the new file: moderate (default) or interactive");

  auto* charter = app.add_subcommand("charter", "create, sign and show a ledger's charter");
  charter->require_subcommand(1);
  std::string title;
  std::vector<std::string> parties, names, observers;
  auto* ccreate = charter->add_subcommand("create", "write a new, unsigned charter");
  ccreate->add_option("--title", title, "title of the ledger")->required();
  ccreate->add_option("--party", parties, "CODE=KEY (hex public key or key file), twice")->required();
  ccreate->add_option("--name", names, "CODE=display name");
  ccreate->add_option("--observer", observers, "NAME=KEY of an auditor or witness");
  ccreate->add_option("--out", out, "charter file")->required();
  auto* csign = charter->add_subcommand("sign", "sign the charter as the party whose key this is");
  csign->add_option("--charter", charter_file, "charter file (updated in place)")->required();
  csign->add_option("--key", key_file, "key file")->required();
  AddPassOptions(csign, pf);
  auto* cshow = charter->add_subcommand("show", "print a charter and who has signed it");
  cshow->add_option("--charter", charter_file, "charter file")->required();
  cshow->add_flag("--json", json, "machine-readable output");

  auto* tls = app.add_subcommand("tls", "TLS certificates for the peer port");
  tls->require_subcommand(1);
  std::string tls_dir, tls_name = "parley-node";
  auto* tls_init = tls->add_subcommand("init", "make a key and self-signed certificate; prints its fingerprint to pin");
  tls_init->add_option("--out", tls_dir, "folder for tls.key (0600) and tls.crt")->required();
  tls_init->add_option("--name", tls_name, "certificate common name");

  std::string demo_dir = "demo-data";
  auto* demo = app.add_subcommand("demo", "two nodes on 127.0.0.1 play the June 2025 exchange, then the audit");
  demo->add_option("--dir", demo_dir, "folder for the demo's keys, data and logs: new, empty, or made by an earlier demo (then emptied)");

  ManifestFlags manifest_flags;
  AddManifestCommands(app, manifest_flags, DefaultSocket());
  WitnessFlags witness_flags;
  AddWitnessCommand(app, witness_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (argc > 1) {
      if (auto code = UnknownCommand(app, argv[1])) return *code;
    }
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (*node) return CmdNode(config_file, ov);
  if (*tls_init) {
    auto fp = CreateSelfSignedCertificate(tls_dir, tls_name);
    if (!fp) return Fail(fp.error());
    std::cout << *fp << "\n";
    return kExitOk;
  }
  if (*keygen) return CmdKeygen(out, pf, kdf);
  if (*key_show) return CmdKeyShow(key_path, json);
  if (*key_passwd) return CmdKeyPasswd(key_path, pf, new_pf, kdf);
  if (*ccreate) return CmdCharterCreate(title, parties, names, observers, out);
  if (*csign) return CmdCharterSign(charter_file, key_file, pf);
  if (*cshow) return CmdCharterShow(charter_file, json);
  if (*audit) return CmdAudit(out, json, now, peer, charter_file, audit_key, audit_pass, audit_tls, html);
  if (*demo) return RunDemo(argv[0], demo_dir.c_str());
  if (*list) return CmdList(c, state);
  if (*show) return CmdShow(c, id);
  if (*status) return CmdStatus(c, health_limits);
  if (*watch) return CmdWatch(c);
  if (*exp) return CmdExport(c, out);
  if (*rotate) {
    auto from = ParseCount(compromised_from, "--compromised-from");
    if (!from) return Fail(from.error());
    return CmdRotateKey(c, new_key_file, rotate_pass, *from);
  }
  if (auto code = RunManifestCommand(manifest_flags)) return *code;
  if (auto code = RunWitnessCommand(witness_flags)) return *code;
  if (*receipt && arrivals.empty() && receipt_count->count() == 0) {
    return Fail(Status(Code::kInvalidArgument, "receipt needs --count or --arrivals"));
  }

  // Statements. Free text and numbers are checked before anything is asked of
  // the node.
  for (const auto& [flag, value] : {std::pair{"--reason", &reason}, std::pair{"--what", &what},
                                     std::pair{"--where", &where}, std::pair{"text", &text},
                                     std::pair{"--place", &place}}) {
    if (Status st = CheckFlagText(flag, *value); !st.ok()) return Fail(st);
  }
  struct Number {
    const char* flag;
    const std::string* text;
    uint64_t max;
    uint64_t value = 0;
  };
  Number numbers[] = {{"--transfer", &transfer, kMaxTransferIndex}, {"--count", &count, kMaxCount},
                      {"--matched", &matched, kMaxCount},           {"--missing", &missing, kMaxCount},
                      {"--not-on-manifest", &not_on_manifest, kMaxCount},
                      {"--unidentified", &unidentified, kMaxCount}, {"--other-side", &other_side, kMaxCount}};
  for (Number& n : numbers) {
    if (n.text->empty() && n.text == &count) continue;  // receipt --arrivals: the count comes from the list
    auto v = ParseCount(*n.text, n.flag, n.max);
    if (!v) return Fail(v.error());
    n.value = *v;
  }
  const uint32_t transfer_index = static_cast<uint32_t>(numbers[0].value);
  const uint64_t count_value = numbers[1].value;
  if (*handover && count_value == 0) return Fail(Status(Code::kInvalidArgument, "--count must be at least 1"));

  const bool needs_feeds = !(*propose);
  auto s = Connect(c, needs_feeds || !ref.empty());
  if (!s) return Fail(s.error());
  v1::Entry body;
  std::string arrivals_csv;  // receipt --arrivals: sent with the receipt, kept by the node once signed
  if (*propose) {
    auto b = BuildPropose(*s->charter, terms, nullptr, NowMs());
    if (!b) return Fail(b.error());
    body = *b;
  } else if (*counter || *amend) {
    auto target = ResolveProposal(*s, id);
    if (!target) return Fail(target.error());
    auto b = BuildPropose(*s->charter, terms, &target->entry.propose(), NowMs());
    if (!b) return Fail(b.error());
    body = *b;
    if (*counter) body.mutable_propose()->set_counters(target->id.str());
    else body.mutable_propose()->set_amends(target->id.str());
  } else if (*accept) {
    auto p = ResolveProposal(*s, id);
    if (!p) return Fail(p.error());
    body.mutable_accept()->set_proposal(p->id.str());
    body.mutable_accept()->set_terms_digest(TermsDigest(p->entry.propose().terms()).str());
  } else if (*reject || *withdraw || *cancel) {
    auto p = ResolveProposal(*s, id);
    if (!p) return Fail(p.error());
    if (*reject) {
      body.mutable_reject()->set_proposal(p->id.str());
      body.mutable_reject()->set_reason(reason);
    } else if (*withdraw) {
      body.mutable_withdraw()->set_proposal(p->id.str());
      body.mutable_withdraw()->set_reason(reason);
    } else {
      body.mutable_cancel()->set_agreement(p->id.str());
      body.mutable_cancel()->set_reason(reason);
    }
  } else if (*handover || *receipt) {
    auto p = ResolveProposal(*s, id);
    if (!p) return Fail(p.error());
    int64_t at_ms = 0;
    if (!at.empty()) {
      auto t = ParseTime(at, "--at");
      if (!t) return Fail(t.error());
      at_ms = *t;
    }
    std::optional<v1::ManifestCommitment> commitment;
    if (!manifest.empty()) {
      auto m = ParseCommitment(manifest);
      if (!m) return Fail(m.error());
      commitment = *m;
    }
    if (*handover) {
      auto* h = body.mutable_handover();
      h->set_agreement(p->id.str());
      h->set_transfer_index(transfer_index);
      h->set_count(count_value);
      h->set_place(place);
      h->set_handed_over_ms(at_ms);
      if (commitment) *h->mutable_manifest() = *commitment;
    } else {
      auto* r = body.mutable_receipt();
      r->set_agreement(p->id.str());
      r->set_transfer_index(transfer_index);
      r->set_count(count_value);
      r->set_place(place);
      r->set_received_ms(at_ms);
      auto* rec = r->mutable_reconciliation();
      rec->set_matched(numbers[2].value);
      rec->set_missing(numbers[3].value);
      rec->set_not_on_manifest(numbers[4].value);
      rec->set_unidentified(numbers[5].value);
      rec->set_other_side(numbers[6].value);
      if (!arrivals.empty()) {
        // The manifest: given, or the one the agreed transfer names.
        if (!commitment) {
          v1::Terms terms;
          terms.ParseFromString(p->entry.propose().terms());
          if (static_cast<int>(transfer_index) < terms.transfers_size() &&
              terms.transfers(static_cast<int>(transfer_index)).has_manifest()) {
            commitment = terms.transfers(static_cast<int>(transfer_index)).manifest();
          } else {
            return Fail(Status(Code::kInvalidArgument,
                               "the agreed transfer names no manifest: give --manifest ROOT:COUNT"));
          }
        }
        auto csv = ReadFileBytes(arrivals, "arrival list");
        if (!csv) return Fail(csv.error());
        arrivals_csv = std::move(*csv);
        auto result = s->client->ReconcileArrivals(*Digest::FromBytes(commitment->root()), arrivals_csv);
        if (!result) {
          std::cerr << "parley: " << arrivals << ": " << result.error().message() << "\nnothing was signed\n";
          return result.error().code() == Code::kInvalidArgument ? kExitUsage : kExitFailed;
        }
        if (result->manifest().count() != commitment->count()) {
          return Fail(Status(Code::kInvalidArgument, "the manifest holds " + std::to_string(result->manifest().count()) +
                                                         " records, not " + std::to_string(commitment->count())));
        }
        *rec = result->figures();
        r->set_count(result->received());
        if (!c.json) {
          std::cout << "reconciled " << result->received() << " arrivals with manifest "
                    << ToHex(commitment->root()).substr(0, 16) << "…: " << rec->matched() << " matched, "
                    << rec->missing() << " missing, " << rec->not_on_manifest() << " not on the manifest, "
                    << rec->unidentified() << " unidentified, " << rec->other_side() << " the other side's\n";
        }
      }
      if (commitment) *r->mutable_manifest() = *commitment;
    }
  } else if (*attest || *statement) {
    std::string ref_id;
    if (!ref.empty()) {
      auto r = ResolveEntry(*s, ref);
      if (!r) return Fail(r.error());
      ref_id = r->id.str();
    }
    if (*attest) {
      auto* a = body.mutable_attestation();
      a->set_what(what);
      a->set_where(where);
      if (!when.empty()) {
        auto t = ParseTime(when, "--when");
        if (!t) return Fail(t.error());
        a->set_when_ms(*t);
      }
      a->set_reference(ref_id);
    } else {
      body.mutable_statement()->set_text(text);
      body.mutable_statement()->set_reference(ref_id);
    }
  }
  return Submit(*s, c, body, arrivals_csv);
}

}  // namespace parley
