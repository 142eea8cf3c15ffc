#include "node/cli/views_cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "node/base/clock.h"
#include "node/base/json.h"
#include "node/base/parse.h"
#include "node/base/text.h"
#include "node/base/time.h"
#include "node/cli/cli_common.h"
#include "node/protocol/agreements.h"
#include "node/report/audit.h"
#include "node/report/bundle.h"
#include "node/report/views.h"
#include "node/report/witness_coverage.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"

namespace parley::cli {
namespace {

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
  // With witnesses: when a witness first covered each entry, from the
  // cosigned checkpoints the node holds (checked as the audit checks them).
  std::optional<WitnessCoverage> coverage;
  if (!s->charter->witnesses().empty()) {
    std::vector<std::string> notes;
    for (PartyIndex p = 0; p < 2; ++p) {
      auto got = s->client->GetCheckpoints(p);
      if (!got) return Fail(got.error());
      notes.insert(notes.end(), got->begin(), got->end());
    }
    coverage.emplace(CoverFeeds(*s->charter, s->feeds[0], s->feeds[1], notes));
  }
  const WitnessCoverage* cov = coverage ? &*coverage : nullptr;
  if (c.json) {
    auto j = ShowJson(*s->charter, ls, s->feeds[0], s->feeds[1], e->id, cov);
    if (!j) return Fail(j.error());
    std::cout << DumpJson(*j, 2) << "\n";
    return kExitOk;
  }
  auto text = RenderShow(*s->charter, ls, s->feeds[0], s->feeds[1], e->id, cov);
  if (!text) return Fail(text.error());
  std::cout << *text;
  return kExitOk;
}

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
    j["missing_manifests"] = nlohmann::json::array();
    for (const auto& m : st->missing_manifests()) {
      j["missing_manifests"].push_back({{"root", ToHex(m.root())}, {"count", m.count()}, {"seq", m.seq()}});
    }
    j["alarms"] = nlohmann::json::array();
    for (const auto& a : st->alarms()) j["alarms"].push_back(a);
    j["witnesses"] = nlohmann::json::array();
    for (const auto& w : st->witnesses()) {
      j["witnesses"].push_back({{"witness", w.witness()},
                                {"feed", charter->party_code(w.party())},
                                {"cosigned_size", w.cosigned_size()},
                                {"cosigned_time", w.cosigned_time() ? IsoTime(static_cast<int64_t>(w.cosigned_time()) * 1000) : ""},
                                {"head", w.head()},
                                {"unwitnessed", w.unwitnessed()},
                                {"last_error", w.last_error()}});
    }
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
  for (const auto& m : st->missing_manifests()) {
    std::cout << "  MISSING manifest " << ToHex(m.root()) << " (" << m.count() << " records, named by own entry #"
              << m.seq() << "): not in this node's store (committed after the backup it was restored from?); the "
              << "peer cannot give it back\n";
  }
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
  for (const auto& w : st->witnesses()) {
    std::cout << "  witness " << Printable(w.witness()) << ", feed " << charter->party_code(w.party()) << ": cosigned "
              << w.cosigned_size() << " of " << w.head()
              << (w.cosigned_time() ? " at " + IsoTime(static_cast<int64_t>(w.cosigned_time()) * 1000) : "")
              << ", unwitnessed tail " << w.unwitnessed()
              << (w.last_error().empty() ? "" : "  last error: " + Printable(w.last_error())) << "\n";
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
  // How many entries of each feed go into the bundle: a checkpoint the node
  // stores while the export runs may be larger, and is left out below.
  uint64_t written[2] = {0, 0};
  const auto counted = [&](PartyIndex p) -> EnvelopeSource {
    return [src = s->client->FeedSource(p), &written, p]() mutable -> Result<std::optional<std::string>> {
      auto r = src();
      if (r && r->has_value()) ++written[p];
      return r;
    };
  };
  Status ws = WriteFeedsInCausalOrder(**w, counted(0), counted(1));
  if (!ws.ok()) return Fail(ws);
  auto forks = s->client->GetForkProofs();
  if (!forks) return Fail(forks.error());
  for (const auto& f : forks->proofs()) {
    if (Status fs = (*w)->AddForkProof(f); !fs.ok()) return Fail(fs);
  }
  // Every stored cosigned checkpoint of both feeds, one note a record, up
  // to the feeds' sizes in the bundle.
  for (PartyIndex p = 0; p < 2; ++p) {
    auto notes = s->client->GetCheckpoints(p);
    if (!notes) return Fail(notes.error());
    for (const std::string& n : *notes) {
      auto note = ParseNote(n);
      auto cp = note ? ParseCheckpoint(note->text) : Result<Checkpoint>(note.error());
      if (cp && cp->size > written[p]) continue;
      if (Status cs = (*w)->AddCheckpoint(n); !cs.ok()) return Fail(cs);
    }
  }
  if (Status fs = (*w)->Finish(); !fs.ok()) return Fail(fs);
  if (c.json) {
    std::cout << DumpJson(nlohmann::json{{"bundle", out}}) << "\n";
  } else {
    std::cout << "exported to " << out << "\n";
  }
  return kExitOk;
}

}  // namespace

CommandRunner AddViewCommands(CLI::App& app) {
  struct Flags {
    Common c;
    std::string state, id, out;
    HealthLimits health_limits;
    CLI::App *list, *show, *status, *watch, *exp;
  };
  auto f = std::make_shared<Flags>();
  Common& c = f->c;
  HealthLimits& health_limits = f->health_limits;

  auto* list = f->list = app.add_subcommand("list", "proposals and agreements, and what is one-sided");
  AddNodeOptions(list, c, false);
  list->add_option("--state", f->state, "only this state (open, agreed, completed, ...)");

  auto* show = f->show = app.add_subcommand("show", "one proposal's or agreement's whole history");
  AddNodeOptions(show, c, false);
  show->add_option("id", f->id, "ID or unique prefix")->required();

  auto* status = f->status = app.add_subcommand(
      "status", "heads, peer connectivity, lag, forks, alarms; exit 0 healthy, 1 degraded, 2 alarm, 3 no answer");
  AddNodeOptions(status, c, false);
  status->add_flag("--check", health_limits.check, "print nothing; only the exit code (for scripts and monitors)");
  status->add_option("--max-disconnected", health_limits.max_disconnected,
                     "seconds without the peer before the node counts as degraded (default 60)");
  status->add_option("--max-lag", health_limits.max_lag,
                     "entries behind the peer's feed before the node counts as degraded (default 1000)");

  auto* watch = f->watch = app.add_subcommand("watch", "print every entry of both feeds, live");
  AddNodeOptions(watch, c, false);

  auto* exp = f->exp = app.add_subcommand("export", "write an audit bundle");
  AddNodeOptions(exp, c, false);
  exp->add_option("bundle", f->out, "output file")->required();

  return [f]() -> std::optional<int> {
    if (*f->list) return CmdList(f->c, f->state);
    if (*f->show) return CmdShow(f->c, f->id);
    if (*f->status) return CmdStatus(f->c, f->health_limits);
    if (*f->watch) return CmdWatch(f->c);
    if (*f->exp) return CmdExport(f->c, f->out);
    return std::nullopt;
  };
}

}  // namespace parley::cli
