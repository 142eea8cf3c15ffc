#include "node/audit.h"

#include <sstream>

#include "node/bundle.h"
#include "node/ledger.h"
#include "node/views.h"

namespace parley {
namespace {

std::string Label(const Charter& c, const StatementRef& r) {
  return c.party_code(r.party) + "#" + std::to_string(r.seq);
}

void AddStateFindings(const Charter& c, AuditReport& report) {
  const LedgerState& s = report.state;
  for (const VoidStatement& v : s.void_statements) {
    report.findings.push_back({"void", Label(c, v.at) + " " + KindName(v.kind), v.reason});
  }
  for (const Proposal& p : s.proposals) {
    const std::string where = "proposal " + Label(c, p.proposed);
    if (p.contested) {
      report.findings.push_back({"contested", where, "an acceptance and a withdrawal crossed; the acceptance stands"});
    }
    if (p.state == ProposalState::kOpen) {
      report.findings.push_back({"unilateral", where, "proposed by " + c.party_code(p.proposer()) + " alone; not accepted"});
    }
    if (!p.agreement) continue;
    const Agreement& a = *p.agreement;
    for (PartyIndex q = 0; q < 2; ++q) {
      if (a.cancel_requests[q] && a.state == AgreementState::kCancelRequested) {
        report.findings.push_back({"unilateral", where, "cancellation requested by " + c.party_code(q) + " alone"});
      }
    }
    for (size_t i = 0; i < a.transfers.size(); ++i) {
      const TransferProgress& t = a.transfers[i];
      const auto& agreed = p.terms.transfers(static_cast<int>(i));
      const std::string tw = where + " transfer " + std::to_string(i);
      if (!t.handovers.empty() && !t.receipts.empty() && t.handed_over != t.received) {
        report.findings.push_back({"discrepancy", tw, "handed over " + std::to_string(t.handed_over) + ", received " +
                                                          std::to_string(t.received)});
      }
      if (!t.handovers.empty() && t.handed_over != agreed.count()) {
        report.findings.push_back({"discrepancy", tw, "handed over " + std::to_string(t.handed_over) + " of " +
                                                          std::to_string(agreed.count()) + " agreed"});
      }
      if (t.handover_manifest && t.receipt_manifest && *t.handover_manifest != *t.receipt_manifest) {
        report.findings.push_back({"discrepancy", tw, "the manifests of handover and receipt differ"});
      }
      const auto& r = t.reconciliation;
      if (r.missing() || r.not_on_manifest() || r.unidentified() || r.other_side()) {
        report.findings.push_back(
            {"discrepancy", tw,
             "reconciliation: " + std::to_string(r.matched()) + " matched, " + std::to_string(r.missing()) +
                 " missing, " + std::to_string(r.not_on_manifest()) + " not on manifest, " +
                 std::to_string(r.unidentified()) + " unidentified, " + std::to_string(r.other_side()) +
                 " of the other side"});
      }
    }
  }
  for (const Claim& cl : s.claims) {
    report.findings.push_back({"unilateral", Label(c, cl.at) + " " + KindName(cl.kind),
                               "claimed by " + c.party_code(cl.at.party) + " alone: " + cl.text});
  }
}

}  // namespace

bool AuditReport::clean() const {
  for (const AuditFinding& f : findings) {
    if (f.kind == "violation" || f.kind == "fork") return false;
  }
  return true;
}

Result<AuditReport> AuditBundle(const std::string& path, int64_t now_ms) {
  auto reader = BundleReader::Open(path);
  if (!reader) return reader.error();
  auto charter = Charter::Parse((*reader)->charter_bytes());
  if (!charter) return Status(Code::kDataLoss, "bundle: " + charter.error().message());
  AuditReport report;
  report.charter_bytes = (*reader)->charter_bytes();
  if ((*reader)->header().ledger_id() != charter->ledger_id().view()) {
    report.findings.push_back({"violation", "header", "the header names another ledger than the charter"});
  }
  if (!charter->fully_signed()) {
    report.findings.push_back({"violation", "charter", "the charter is not signed by both parties"});
  }
  // The charter's signatures were checked by Parse; the ledger needs both.
  std::string signed_charter = (*reader)->charter_bytes();
  LedgerOptions options;
  auto opened = Ledger::Open(NewMemoryStore(), signed_charter, std::move(options));
  if (!opened) return Status(Code::kDataLoss, "bundle: " + opened.error().message());
  Ledger& ledger = **opened;
  bool feed_broken[2] = {false, false};
  while (true) {
    auto rec = (*reader)->Next();
    if (!rec) return rec.error();
    if (!rec->has_value()) break;
    const auto& r = **rec;
    ++report.records;
    const std::string where = "record " + std::to_string(r.index);
    if (r.entry) {
      auto decoded = DecodeEntry(*r.entry, *charter);
      std::string label = where;
      if (decoded) label += " (" + charter->party_code(decoded->author()) + "#" + std::to_string(decoded->seq()) + ")";
      if (decoded && feed_broken[decoded->author()]) continue;  // reported at its first break
      auto res = ledger.Ingest(*r.entry);
      if (!res) {
        report.findings.push_back({"violation", label, res.error().message()});
        if (decoded) feed_broken[decoded->author()] = true;
        continue;
      }
      if (*res == IngestOutcome::kFork) {
        report.findings.push_back({"fork", label, "a second, different entry at the same seq: the author forked its feed"});
      } else if (*res == IngestOutcome::kDuplicate) {
        report.findings.push_back({"violation", label, "the same entry appears twice"});
      } else {
        ++report.entries[decoded->author()];
      }
    } else if (r.fork) {
      auto a = DecodeEntry(r.fork->first().SerializeAsString(), *charter);
      auto b = DecodeEntry(r.fork->second().SerializeAsString(), *charter);
      if (!a || !b) {
        report.findings.push_back({"violation", where, "fork proof does not verify: " +
                                                           (!a ? a.error().message() : b.error().message())});
      } else if (a->author() != b->author() || a->seq() != b->seq() || a->id == b->id) {
        report.findings.push_back({"violation", where, "fork proof is not two different entries at one seq of one feed"});
      } else {
        report.findings.push_back({"fork", where, charter->party_code(a->author()) + " signed two different entries at seq " +
                                                      std::to_string(a->seq())});
      }
    }
  }
  std::vector<DecodedEntry> feeds[2];
  for (PartyIndex p = 0; p < 2; ++p) {
    auto f = ledger.Read(p, 1, SIZE_MAX);
    if (!f) return f.error();
    feeds[p] = std::move(*f);
  }
  report.state = ComputeState(feeds[0], feeds[1], now_ms);
  AddStateFindings(*charter, report);
  return report;
}

std::string RenderAudit(const AuditReport& report) {
  const Charter c = Charter::Parse(report.charter_bytes).value();
  std::ostringstream out;
  out << "Audit of ledger " << ToHex(c.ledger_id()) << "\n";
  out << "  \"" << c.proto().title() << "\"\n";
  out << "  parties: " << c.party_code(0) << " (" << c.party_name(0) << "), " << c.party_code(1) << " ("
      << c.party_name(1) << ")\n";
  out << "  charter signed by both: " << (c.fully_signed() ? "yes" : "NO") << "\n";
  out << "  entries verified: " << c.party_code(0) << " " << report.entries[0] << ", " << c.party_code(1) << " "
      << report.entries[1] << " (every signature, chain and seen link checked)\n\n";
  auto list = RenderList(c, report.state);
  out << (list ? *list : list.error().message()) << "\n";
  size_t counts[6] = {0, 0, 0, 0, 0, 0};
  const char* kinds[6] = {"violation", "fork", "void", "contested", "unilateral", "discrepancy"};
  out << "Findings:\n";
  for (const AuditFinding& f : report.findings) {
    for (int i = 0; i < 6; ++i) {
      if (f.kind == kinds[i]) ++counts[i];
    }
    out << "  " << f.kind << "  " << f.where << ": " << f.what << "\n";
  }
  if (report.findings.empty()) out << "  none\n";
  out << "\nVerdict: " << (report.clean() ? "CLEAN" : "VIOLATIONS FOUND") << " — " << counts[0] << " violations, "
      << counts[1] << " forks, " << counts[2] << " void, " << counts[3] << " contested, " << counts[4]
      << " one-sided claims, " << counts[5] << " discrepancies\n";
  return out.str();
}

nlohmann::json AuditJson(const AuditReport& report) {
  const Charter c = Charter::Parse(report.charter_bytes).value();
  nlohmann::json j;
  j["ledger_id"] = ToHex(c.ledger_id());
  j["clean"] = report.clean();
  j["entries"] = {{c.party_code(0), report.entries[0]}, {c.party_code(1), report.entries[1]}};
  j["findings"] = nlohmann::json::array();
  for (const AuditFinding& f : report.findings) {
    j["findings"].push_back({{"kind", f.kind}, {"where", f.where}, {"what", f.what}});
  }
  j["state"] = StateJson(c, report.state);
  return j;
}

}  // namespace parley
