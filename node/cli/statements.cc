#include "node/cli/statements.h"

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

namespace parley::cli {

// ---------------------------------------------------------------------------
// Terms flags: propose, counter, amend.

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

}  // namespace parley::cli
