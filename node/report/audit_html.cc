#include "node/report/audit_html.h"

#include "node/base/time.h"
#include "node/report/bundle.h"

#include <array>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

namespace parley {
namespace {

// --- text -------------------------------------------------------------------

// The code point at s[i], advancing i; -1 (one byte consumed) if the bytes
// there are not well-formed UTF-8 (overlong forms and surrogates included).
int32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  size_t len = 0;
  int32_t cp = 0, min = 0;
  if ((b0 & 0xE0) == 0xC0) len = 2, cp = b0 & 0x1F, min = 0x80;
  else if ((b0 & 0xF0) == 0xE0) len = 3, cp = b0 & 0x0F, min = 0x800;
  else if ((b0 & 0xF8) == 0xF0) len = 4, cp = b0 & 0x07, min = 0x10000;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return -1;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return -1;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return -1;
  }
  i += len;
  return cp;
}

// Characters that could hide or reorder text: C0/C1 controls (but tab and
// newline), DEL, bidirectional marks, embeddings, overrides and isolates.
bool Disguising(int32_t cp) {
  if (cp < 0x20) return cp != '\t' && cp != '\n';
  if (cp >= 0x7F && cp <= 0x9F) return true;
  if (cp == 0x061C || cp == 0x200E || cp == 0x200F) return true;
  if (cp >= 0x202A && cp <= 0x202E) return true;
  return cp >= 0x2066 && cp <= 0x2069;
}

// At most `max` code points of `s`, with "…" if cut.
std::string Truncate(std::string_view s, size_t max) {
  size_t i = 0, n = 0;
  while (i < s.size() && n < max) {
    NextCodePoint(s, i);
    ++n;
  }
  if (i >= s.size()) return std::string(s);
  return std::string(s.substr(0, i)) + "…";
}

std::string E(std::string_view s) { return HtmlEscape(s); }

// --- times ------------------------------------------------------------------

std::string HumanTime(int64_t ms) { return FormatUtc(ms, "%Y-%m-%d %H:%M") + " UTC"; }
std::string ClockTime(int64_t ms) { return FormatUtc(ms, "%Y-%m-%d %H:%M:%S") + " UTC"; }

// --- names ------------------------------------------------------------------

const char* ExchangeKindWords(v1::ExchangeKind k) {
  switch (k) {
    case v1::REMAINS_TRANSFER: return "return of remains";
    case v1::PRISONER_EXCHANGE: return "exchange of prisoners";
    default: return "unspecified";
  }
}

const char* CategoryWords(v1::Category c) {
  switch (c) {
    case v1::REMAINS: return "remains";
    case v1::PRISONERS_OF_WAR: return "prisoners of war";
    case v1::CIVILIAN_DETAINEES: return "civilian detainees";
    default: return "unspecified";
  }
}

const char* TransportWords(v1::Transport t) {
  switch (t) {
    case v1::ROAD: return "by road";
    case v1::RAIL: return "by rail";
    case v1::AIR: return "by air";
    case v1::SEA: return "by sea";
    case v1::OTHER: return "other transport";
    default: return "transport unspecified";
  }
}

std::string ShortHex(const Digest& id) { return ToHex(id).substr(0, 12); }

// The two parties as the page names them, from the charter if it parses.
struct Parties {
  std::array<std::string, 2> code{"party 0", "party 1"};
  std::array<std::string, 2> name{"(charter unreadable)", "(charter unreadable)"};
  std::string Label(const StatementRef& r) const { return code[r.party & 1] + "#" + std::to_string(r.seq); }
};

// --- how a proposal or agreement looks --------------------------------------

// CSS colour class and words for where a proposal (or its agreement) stands.
struct Look {
  const char* cls;    // st-green, st-blue, st-red, st-amber, st-grey, st-plain
  std::string words;  // "completed", "open", ...
};

Look LookOf(const Proposal& p) {
  if (p.agreement) {
    switch (p.agreement->state) {
      case AgreementState::kAgreed: return {"st-green", "agreed"};
      case AgreementState::kCompleted: return {"st-green", "completed"};
      case AgreementState::kInProgress: return {"st-blue", "in progress"};
      case AgreementState::kDisputed: return {"st-red", "disputed"};
      case AgreementState::kCancelled: return {"st-red", "cancelled"};
      case AgreementState::kCancelRequested: return {"st-amber", "cancel requested"};
      case AgreementState::kAmended: return {"st-grey", "amended"};
    }
  }
  switch (p.state) {
    case ProposalState::kOpen: return {"st-amber", "open"};
    case ProposalState::kAgreed: return {"st-green", "agreed"};
    case ProposalState::kCountered: return {"st-grey", "countered"};
    case ProposalState::kWithdrawn: return {"st-grey", "withdrawn"};
    case ProposalState::kRejected: return {"st-grey", "rejected"};
    case ProposalState::kExpired: return {"st-grey", "expired"};
  }
  return {"st-grey", ProposalStateName(p.state)};
}

// --- the timeline -----------------------------------------------------------

// Geometry (SVG user units): a gutter with the order and the author's clock,
// then lane 0, a gap for the links, lane 1.
constexpr int kWidth = 1320;
constexpr int kGutter = 150;
constexpr int kBoxW = 480;
constexpr int kBoxH = 46;
constexpr int kRow = 58;
constexpr int kTop = 74;  // lane headers
constexpr int kBoxX[2] = {170, 820};
constexpr int kLaneX[2] = {kGutter, 800};
constexpr int kLaneW = 520;
constexpr int kInner[2] = {kBoxX[0] + kBoxW, kBoxX[1]};  // edges facing the gap
constexpr size_t kDescChars = 64;

int RowY(size_t i) { return kTop + static_cast<int>(i) * kRow + (kRow - kBoxH) / 2; }

struct Marker {
  const TimelineItem* item = nullptr;
  Look look{"st-plain", ""};
  bool has_look = false;    // a proposal, or the acceptance that made an agreement
  bool one_sided = false;
  bool fully_void = false;  // no effect at all
  std::string void_reason;  // also set when only a link in it is void
  std::string state_words;  // for the tooltip
  std::string description;  // with other entries named "CODE#seq"
};

void RenderTimeline(std::ostringstream& out, const AuditReport& report, const Parties& parties,
                    const Charter* charter) {
  const LedgerState& s = report.state;
  const size_t n = std::min(report.timeline.size(), kMaxHtmlTimeline);

  std::map<Digest, size_t> row_of;  // entry ID -> row
  for (size_t i = 0; i < n; ++i) row_of.emplace(report.timeline[i].at.id, i);
  std::map<std::pair<PartyIndex, uint64_t>, std::string> voids;
  for (const VoidStatement& v : s.void_statements) {
    std::string& r = voids[{v.at.party, v.at.seq}];
    r += (r.empty() ? "" : "; ") + v.reason;
  }
  for (const VoidLink& v : s.void_links) {  // the proposal stands; shown as a void link below
    std::string& r = voids[{v.at.party, v.at.seq}];
    r += (r.empty() ? "" : "; ") + v.field + ": " + v.reason;
  }
  std::map<Digest, const Proposal*> made_agreement;  // acceptance ID -> its proposal
  for (const Proposal& p : s.proposals) {
    if (p.agreement) made_agreement.emplace(p.agreement->accepted.id, &p);
  }

  std::vector<Marker> markers(n);
  for (size_t i = 0; i < n; ++i) {
    const TimelineItem& it = report.timeline[i];
    Marker& m = markers[i];
    m.item = &it;
    const Proposal* target = it.target ? s.Find(*it.target) : nullptr;
    const Proposal* self = it.kind == v1::Entry::kPropose ? s.Find(it.at.id) : nullptr;
    if (self) {
      m.look = LookOf(*self);
      m.has_look = true;
      m.one_sided = self->state == ProposalState::kOpen;
      m.state_words = self->agreement ? "proposal agreed by both; agreement " + m.look.words
                                      : "proposal " + m.look.words + " (" + parties.code[self->proposer() & 1] +
                                            "'s word alone, never signed by both)";
    }
    if (it.kind == v1::Entry::kAccept) {
      if (auto a = made_agreement.find(it.at.id); a != made_agreement.end()) {
        m.look = LookOf(*a->second);
        m.has_look = true;
        m.state_words = "this acceptance made the agreement; agreement " + m.look.words;
      }
    }
    if (it.kind == v1::Entry::kAttestation || it.kind == v1::Entry::kStatement) m.one_sided = true;
    if (it.kind == v1::Entry::kCancel && target && target->agreement &&
        target->agreement->state == AgreementState::kCancelRequested) {
      const auto& req = target->agreement->cancel_requests[it.at.party & 1];
      m.one_sided = req && req->id == it.at.id;
    }
    if (auto v = voids.find({it.at.party, it.at.seq}); v != voids.end()) {
      m.void_reason = v->second;
      m.fully_void = !self && made_agreement.count(it.at.id) == 0;
    }
    // Name the entry referred to by "CODE#seq" rather than by a hex prefix.
    m.description = it.text;
    if (it.target) {
      if (auto r = row_of.find(*it.target); r != row_of.end()) {
        const std::string label = parties.Label(report.timeline[r->second].at);
        const std::string hex = ShortHex(*it.target);
        if (size_t at = m.description.find(hex); at != std::string::npos) {
          m.description.replace(at, hex.size(), label);
        } else {
          m.description += " (re " + label + ")";
        }
      }
    }
  }

  const int height = kTop + static_cast<int>(n) * kRow + 16;
  out << "<svg id=\"timeline\" role=\"img\" aria-label=\"Timeline of both feeds in causal order\" viewBox=\"0 0 "
      << kWidth << " " << height << "\" width=\"" << kWidth << "\" height=\"" << height << "\">\n";
  out << "<defs>"
         "<marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
         "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" class=\"arrowhead\"/></marker>"
         "<marker id=\"arrow-void\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" "
         "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" class=\"arrowhead-void\"/></marker>"
         "<marker id=\"arrow-counter\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
         "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" "
         "class=\"arrowhead-counter\"/></marker>"
         "</defs>\n";

  // Gutter: order and author's clock; a faint rule per row.
  out << "<g class=\"gutter\">\n";
  out << "<text class=\"gutter-head\" x=\"10\" y=\"30\">order</text>"
         "<text class=\"gutter-sub\" x=\"10\" y=\"48\">author&#39;s clock (UTC)</text>\n";
  for (size_t i = 0; i < n; ++i) {
    const int y = kTop + static_cast<int>(i) * kRow;
    out << "<line class=\"rule\" x1=\"0\" x2=\"" << kWidth << "\" y1=\"" << y << "\" y2=\"" << y << "\"/>"
        << "<text class=\"idx\" x=\"10\" y=\"" << y + 24 << "\">" << i + 1 << "</text>"
        << "<text class=\"clock\" x=\"10\" y=\"" << y + 42 << "\">"
        << E(FormatUtc(report.timeline[i].at.time_ms, "%Y-%m-%d %H:%M:%S")) << "</text>\n";
    // The witness mark on the time axis: when a witness had seen the entry.
    if (const auto& ev = report.timeline[i].evidence; ev && charter) {
      const int64_t seen_ms = static_cast<int64_t>(std::min<uint64_t>(ev->time_s, INT64_MAX / 1000 - 1)) * 1000;
      out << "<g class=\"witness-mark\" data-party=\"" << E(parties.code[report.timeline[i].at.party & 1])
          << "\" data-seq=\"" << report.timeline[i].at.seq << "\" data-witness=\""
          << E(charter->witnesses()[ev->witness].name) << "\"><title>" << E(DescribeEvidence(*charter, *ev))
          << " (cosigned a checkpoint of " << ev->size << " entries, bundle record " << ev->record
          << ")</title><text class=\"witnessed\" x=\"10\" y=\"" << y + 55 << "\">&#10003; seen by "
          << E(FormatUtc(seen_ms, "%H:%M:%S")) << "</text></g>\n";
    }
  }
  out << "</g>\n";
  out << "<text class=\"axis\" x=\"" << (kInner[0] + kInner[1]) / 2 << "\" y=\"52\" text-anchor=\"middle\">"
      << "causal order ↓</text>\n";

  for (PartyIndex lane = 0; lane < 2; ++lane) {
    uint64_t count = 0;
    for (size_t i = 0; i < n; ++i) count += report.timeline[i].at.party == lane;
    out << "<g class=\"lane\" data-party=\"" << E(parties.code[lane]) << "\">\n";
    out << "<rect class=\"lane-bg lane" << lane << "\" x=\"" << kLaneX[lane] << "\" y=\"4\" width=\"" << kLaneW
        << "\" height=\"" << height - 8 << "\" rx=\"8\"/>\n";
    out << "<text class=\"lane-head\" x=\"" << kBoxX[lane] << "\" y=\"30\">" << E(parties.code[lane])
        << " <tspan class=\"lane-count\">— " << count << (count == 1 ? " statement" : " statements")
        << "</tspan></text>\n";
    out << "<text class=\"lane-name\" x=\"" << kBoxX[lane] << "\" y=\"50\">" << E(Truncate(parties.name[lane], 62))
        << "</text>\n";
    for (size_t i = 0; i < n; ++i) {
      const Marker& m = markers[i];
      const TimelineItem& it = *m.item;
      if (it.at.party != lane) continue;
      const int x = kBoxX[lane], y = RowY(i);
      const std::string label = parties.Label(it.at) + " " + KindName(it.kind);
      out << "<g class=\"entry\" id=\"e-" << E(parties.code[lane]) << "-" << it.at.seq << "\" data-party=\""
          << E(parties.code[lane]) << "\" data-seq=\"" << it.at.seq << "\" data-kind=\"" << KindName(it.kind) << "\"";
      if (m.one_sided) out << " data-one-sided=\"yes\"";
      if (!m.void_reason.empty()) out << " data-void=\"" << (m.fully_void ? "yes" : "link") << "\"";
      out << ">";
      // Tooltip: everything, in full.
      out << "<title>" << E(label) << " · " << E(ClockTime(it.at.time_ms)) << " (author's clock)\n"
          << E(m.description);
      if (!m.state_words.empty()) out << "\n" << E(m.state_words);
      if (m.one_sided) out << "\nONE-SIDED: " << E(parties.code[lane]) << "'s word alone, not signed by the other side";
      if (!m.void_reason.empty()) {
        out << "\n" << (m.fully_void ? "VOID (no effect): " : "Void link: ") << E(m.void_reason);
      }
      if (it.at.seen_seq > 0) {
        out << "\nHad seen " << E(parties.code[1 - lane]) << "#" << it.at.seen_seq << " of the other feed";
      } else {
        out << "\nHad seen nothing of the other feed";
      }
      if (it.evidence && charter) out << "\nWitnessed: " << E(DescribeEvidence(*charter, *it.evidence));
      out << "\nID " << ToHex(it.at.id) << "</title>";
      const char* cls = m.fully_void ? "st-void" : m.has_look ? m.look.cls : m.one_sided ? "st-claim" : "st-plain";
      out << "<rect class=\"box " << cls << "\" x=\"" << x << "\" y=\"" << y << "\" width=\"" << kBoxW
          << "\" height=\"" << kBoxH << "\" rx=\"6\"/>";
      if (m.one_sided) {
        out << "<rect class=\"one-sided\" x=\"" << x - 3 << "\" y=\"" << y - 3 << "\" width=\"" << kBoxW + 6
            << "\" height=\"" << kBoxH + 6 << "\" rx=\"8\"/>";
      }
      out << "<text class=\"lbl\" x=\"" << x + 12 << "\" y=\"" << y + 18 << "\">" << E(label) << "</text>";
      if (m.fully_void) {
        const int w = static_cast<int>(label.size()) * 8;
        out << "<line class=\"strike\" x1=\"" << x + 10 << "\" x2=\"" << x + 14 + w << "\" y1=\"" << y + 13
            << "\" y2=\"" << y + 13 << "\"/>";
      }
      // Badges at the right of the first line: state, one-sided, void.
      std::string badge;
      if (m.has_look) badge = m.look.words;
      if (m.one_sided) badge += std::string(badge.empty() ? "" : " · ") + "one-sided";
      if (m.fully_void) badge += std::string(badge.empty() ? "" : " · ") + "void";
      else if (!m.void_reason.empty()) badge += std::string(badge.empty() ? "" : " · ") + "void link";
      if (!badge.empty()) {
        out << "<text class=\"badge " << (m.fully_void ? "badge-void" : m.one_sided ? "badge-claim" : "") << "\" x=\""
            << x + kBoxW - 10 << "\" y=\"" << y + 18 << "\" text-anchor=\"end\">" << E(badge) << "</text>";
      }
      out << "<text class=\"desc\" x=\"" << x + 12 << "\" y=\"" << y + 36 << "\">"
          << E(Truncate(m.description, kDescChars)) << "</text>";
      out << "</g>\n";
    }
    out << "</g>\n";
  }

  // Links through the gap between the lanes: acceptance -> proposal,
  // counter-proposal -> the proposal it counters.
  auto link = [&](size_t from, size_t to, const char* cls, const char* arrow, bool dashed_void) {
    const PartyIndex pf = report.timeline[from].at.party & 1, pt = report.timeline[to].at.party & 1;
    const int x1 = kInner[pf], y1 = RowY(from) + kBoxH / 2;
    const int x2 = kInner[pt], y2 = RowY(to) + kBoxH / 2;
    const int d1 = pf == 0 ? 1 : -1, d2 = pt == 0 ? 1 : -1;
    const int bend = pf == pt ? 70 : 55;
    out << "<path class=\"" << cls << "\"";
    if (dashed_void) out << " data-void=\"yes\"";
    out << " data-from=\"" << E(parties.Label(report.timeline[from].at)) << "\" data-to=\""
        << E(parties.Label(report.timeline[to].at)) << "\" d=\"M" << x1 << "," << y1 << " C" << x1 + d1 * bend << ","
        << y1 << " " << x2 + d2 * bend << "," << y2 << " " << x2 + d2 * 2 << "," << y2 << "\" marker-end=\"url(#"
        << arrow << ")\"><title>" << E(parties.Label(report.timeline[from].at)) << " "
        << (std::string_view(cls) == "accept-link" ? "accepts " : "counters ")
        << E(parties.Label(report.timeline[to].at)) << (dashed_void ? " (void)" : "") << "</title></path>\n";
  };
  out << "<g class=\"links\">\n";
  for (size_t i = 0; i < n; ++i) {
    const TimelineItem& it = report.timeline[i];
    if (!it.target) continue;
    auto r = row_of.find(*it.target);
    if (r == row_of.end()) continue;
    if (it.kind == v1::Entry::kAccept) {
      link(i, r->second, "accept-link", markers[i].fully_void ? "arrow-void" : "arrow", markers[i].fully_void);
    } else if (it.kind == v1::Entry::kPropose && report.timeline[r->second].kind == v1::Entry::kPropose) {
      const Proposal* self = s.Find(it.at.id);
      if (self && self->counters) link(i, r->second, "counter-link", "arrow-counter", false);
    }
  }
  out << "</g>\n</svg>\n";
}

// --- the tables -------------------------------------------------------------

std::string TermsHtml(const Parties& parties, const Proposal& p) {
  std::string out;
  for (const v1::Transfer& tr : p.terms.transfers()) {
    out += "<div class=\"transfer\">" + E(parties.code[tr.from_party() & 1]) + " → " +
           E(parties.code[tr.to_party() & 1]) + ": <b>" + std::to_string(tr.count()) + "</b> " +
           CategoryWords(tr.category()) + (tr.has_manifest() ? " (with manifest)" : "") + "</div>";
  }
  std::string more = TransportWords(p.terms.transport());
  if (!p.terms.crossing_point().empty()) more += ", at " + E(p.terms.crossing_point());
  out += "<div>" + more + "</div>";
  if (p.terms.has_window()) {
    out += "<div>window " + E(HumanTime(p.terms.window().start_ms())) + " – " +
           E(HumanTime(p.terms.window().end_ms())) + "</div>";
  }
  if (!p.terms.intermediary().empty()) out += "<div>intermediary: " + E(p.terms.intermediary()) + "</div>";
  if (!p.terms.notes().empty()) out += "<div class=\"notes\">notes: " + E(p.terms.notes()) + "</div>";
  if (p.expires_ms != 0) out += "<div class=\"muted\">offer expires " + E(HumanTime(p.expires_ms)) + "</div>";
  return out;
}

std::string SignedByHtml(const Parties& parties, const LedgerState& s, const Proposal& p) {
  const std::string by = E(parties.code[p.proposer() & 1]);
  const std::string other = E(parties.code[(p.proposer() + 1) & 1]);
  auto label_of = [&](const Digest& id) {
    const Proposal* q = s.Find(id);
    return q ? E(parties.Label(q->proposed)) : E(ShortHex(id));
  };
  std::string out;
  if (p.bilateral()) {
    out = "<b>Bilateral</b> — signed by both: proposed by " + by + " (" + E(parties.Label(p.proposed)) +
          "), accepted by " + other + " (" + E(parties.Label(p.agreement->accepted)) + ")";
    if (p.contested) out += "<div class=\"warn\">contested: a withdrawal crossed the acceptance; the acceptance stands</div>";
  } else {
    out = "<b>Unilateral</b> — " + by + "'s word alone, never signed by " + other;
    if (p.answered && !p.countered_by) {
      out += "<div class=\"muted\">" + E(ProposalStateName(p.state)) + " at " + E(parties.Label(*p.answered)) + "</div>";
    }
  }
  if (p.counters) out += "<div class=\"muted\">counter-proposal to " + label_of(*p.counters) + "</div>";
  if (p.countered_by) out += "<div class=\"muted\">countered by " + label_of(*p.countered_by) + "</div>";
  if (p.amends) out += "<div class=\"muted\">amends " + label_of(*p.amends) + "</div>";
  return out;
}

std::string ProgressHtml(const Parties& parties, const LedgerState& s, const Proposal& p) {
  if (!p.agreement) return "<span class=\"muted\">not agreed — nothing to carry out</span>";
  const Agreement& a = *p.agreement;
  std::string out;
  for (size_t i = 0; i < a.transfers.size() && i < static_cast<size_t>(p.terms.transfers_size()); ++i) {
    const TransferProgress& t = a.transfers[i];
    const v1::Transfer& tr = p.terms.transfers(static_cast<int>(i));
    auto refs = [&](const std::vector<StatementRef>& v) {
      std::string r;
      for (const StatementRef& x : v) r += (r.empty() ? "" : ", ") + parties.Label(x);
      return r.empty() ? std::string() : " (" + E(r) + ")";
    };
    const bool mismatch = (!t.handovers.empty() && t.handed_over != tr.count()) ||
                          (!t.handovers.empty() && !t.receipts.empty() && t.handed_over != t.received);
    out += std::string("<div class=\"") + (mismatch ? "warn" : "") + "\">" + E(parties.code[tr.from_party() & 1]) +
           " → " + E(parties.code[tr.to_party() & 1]) + ": handed over <b>" + std::to_string(t.handed_over) +
           "</b> of " + std::to_string(tr.count()) + refs(t.handovers) + "; received <b>" +
           std::to_string(t.received) + "</b>" + refs(t.receipts) + "</div>";
    const v1::Reconciliation& r = t.reconciliation;
    if (r.missing() || r.not_on_manifest() || r.unidentified() || r.other_side()) {
      out += "<div class=\"warn\">reconciliation: " + std::to_string(r.matched()) + " matched, " +
             std::to_string(r.missing()) + " missing, " + std::to_string(r.not_on_manifest()) +
             " not on manifest, " + std::to_string(r.unidentified()) + " unidentified, " +
             std::to_string(r.other_side()) + " of the other side</div>";
    }
    if (t.handover_manifest && t.receipt_manifest && *t.handover_manifest != *t.receipt_manifest) {
      out += "<div class=\"warn\">the manifests of handover and receipt differ</div>";
    }
  }
  if (a.state == AgreementState::kCancelled && a.cancel_requests[0] && a.cancel_requests[1]) {
    out += "<div class=\"warn\">cancelled by both (" + E(parties.Label(*a.cancel_requests[0])) + ", " +
           E(parties.Label(*a.cancel_requests[1])) + ")</div>";
  } else {
    for (PartyIndex q = 0; q < 2; ++q) {
      if (a.cancel_requests[q]) {
        out += "<div class=\"warn\">cancellation requested by " + E(parties.code[q]) + " alone (" +
               E(parties.Label(*a.cancel_requests[q])) + "), not agreed by " + E(parties.code[1 - q]) + "</div>";
      }
    }
  }
  if (a.amended_by) {
    const Proposal* q = s.Find(*a.amended_by);
    out += "<div class=\"muted\">replaced by the amendment " +
           (q ? E(parties.Label(q->proposed)) : E(ShortHex(*a.amended_by))) + "</div>";
  }
  return out;
}

void RenderAgreements(std::ostringstream& out, const AuditReport& report, const Parties& parties) {
  const LedgerState& s = report.state;
  out << "<table class=\"grid\" id=\"agreements\">\n<thead><tr><th>Proposal</th><th>Proposed by</th><th>Kind</th><th>State</th>"
         "<th>Signed by</th><th>Terms</th><th>Progress</th></tr></thead>\n<tbody>\n";
  if (s.proposals.empty()) out << "<tr><td colspan=\"7\" class=\"muted\">No proposals in this ledger.</td></tr>\n";
  for (const Proposal& p : s.proposals) {
    const Look look = LookOf(p);
    out << "<tr class=\"" << (p.bilateral() ? "bilateral" : "unilateral") << "\" data-state=\"" << E(look.words)
        << "\">";
    out << "<td><span class=\"mono\">" << ShortHex(p.id) << "</span><div class=\"muted\">"
        << E(parties.Label(p.proposed)) << ", " << E(HumanTime(p.proposed.time_ms)) << "</div></td>";
    out << "<td>" << E(parties.code[p.proposer() & 1]) << "</td>";
    out << "<td>" << ExchangeKindWords(p.kind) << "</td>";
    out << "<td><span class=\"pill " << look.cls << "\">" << E(look.words) << "</span></td>";
    out << "<td>" << SignedByHtml(parties, s, p) << "</td>";
    out << "<td>" << TermsHtml(parties, p) << "</td>";
    out << "<td>" << ProgressHtml(parties, s, p) << "</td>";
    out << "</tr>\n";
  }
  out << "</tbody></table>\n";
}

void RenderFindingRow(std::ostringstream& out, std::string_view kind, std::string_view html_class,
                      std::string_view words, const std::string& where, const std::string& what) {
  out << "<tr data-kind=\"" << kind << "\"><td><span class=\"pill " << html_class << "\">" << E(std::string(words))
      << "</span></td><td>" << E(where) << "</td><td>" << E(what) << "</td></tr>\n";
}

// The witnesses section (table id="witnesses"): per feed, how far each
// charter witness cosigned, what the required number covers, and the
// evidence runs (docs/PROTOCOL.md §13).
void RenderWitnesses(std::ostringstream& out, const AuditReport& report, const Charter& c, const Parties& parties) {
  const WitnessSummary& w = report.witnesses;
  out << "<section>\n<h2>Witnesses</h2>\n<p class=\"muted\">Independent witnesses cosign each side&#39;s "
         "checkpoints with their own clock: a cosignature proves the entries it covers existed by that time. "
      << w.checkpoint_records << " checkpoint records, " << w.valid_checkpoints << " valid; audits require "
      << w.required << (w.required == 1 ? " witness" : " witnesses")
      << (w.enforced ? " (required by this audit)" : " (reported, not required)") << ".</p>\n";
  const std::vector<std::string> tails = UnwitnessedTails(c, w);
  if (w.enforced || !tails.empty()) {
    out << "<p id=\"witness-verdict\" class=\"" << (tails.empty() ? "muted" : "warn") << "\">"
        << (tails.empty() ? "Both feeds are covered." : "Not covered: ");
    for (size_t i = 0; i < tails.size(); ++i) out << (i ? "; " : "") << E(tails[i]);
    out << "</p>\n";
  }
  out << "<table class=\"grid\" id=\"witnesses\">\n<thead><tr><th>Feed</th><th>Head</th>";
  for (const CharterWitness& cw : c.witnesses()) out << "<th>cosigned by &quot;" << E(cw.name) << "&quot;</th>";
  out << "<th>Time evidence</th></tr></thead>\n<tbody>\n";
  for (PartyIndex p = 0; p < 2; ++p) {
    const WitnessSummary::Feed& f = w.feeds[p];
    out << "<tr data-party=\"" << E(parties.code[p]) << "\"><td>" << E(parties.code[p]) << "</td><td>#" << f.head
        << "</td>";
    for (uint64_t size : f.by_witness) out << "<td>" << (size ? "up to #" + std::to_string(size) : "nothing") << "</td>";
    out << "<td><ul>";
    for (const EvidenceRun& r : f.runs) {
      out << "<li>" << E(parties.code[p]) << "#" << r.from;
      if (r.to > r.from) out << "..#" << r.to;
      out << " " << E(DescribeEvidence(c, r.evidence)) << "</li>";
    }
    if (f.runs_omitted) out << "<li>… and " << f.runs_omitted << " more ranges</li>";
    if (f.runs.empty()) out << "<li class=\"muted\">no witness evidence</li>";
    out << "</ul></td></tr>\n";
  }
  out << "</tbody></table>\n</section>\n";
}

void RenderFindings(std::ostringstream& out, const std::vector<AuditFinding>& findings) {
  out << "<table class=\"grid\" id=\"findings\">\n<thead><tr><th>Kind</th><th>Where</th><th>What</th></tr></thead>\n<tbody>\n";
  if (findings.empty()) out << "<tr><td colspan=\"3\" class=\"muted\">No findings.</td></tr>\n";
  for (const AuditFinding& f : findings) {
    const FindingKindInfo& info = InfoOf(f.kind);
    RenderFindingRow(out, info.name, info.html_class, info.name, f.where, f.what);
  }
  out << "</tbody></table>\n";
}

void RenderUnilateral(std::ostringstream& out, const std::vector<UnilateralItem>& items, uint64_t omitted) {
  out << "<table class=\"grid\" id=\"one-sided-claims\">\n<thead><tr><th>Kind</th><th>Where</th><th>What</th></tr></thead>\n<tbody>\n";
  if (items.empty() && omitted == 0) out << "<tr><td colspan=\"3\" class=\"muted\">None.</td></tr>\n";
  for (const UnilateralItem& u : items) RenderFindingRow(out, "unilateral", "f-info", "one-sided", u.where, u.what);
  if (omitted > 0) {
    out << "<tr><td colspan=\"3\" class=\"muted\">… and " << omitted
        << " more claims, counted but not listed (the audit lists the first " << kMaxClaimsListed << ").</td></tr>\n";
  }
  out << "</tbody></table>\n";
}

constexpr const char* kStyle = R"css(
:root { --ink:#1d2733; --muted:#5f6b78; --line:#d5dbe1;
  --green:#2e7d32; --green-bg:#dcefdc; --blue:#1565c0; --blue-bg:#dbe8f8;
  --red:#c62828; --red-bg:#f9dcdc; --amber:#a15c00; --amber-bg:#fdebc8;
  --grey:#607080; --grey-bg:#e8ecef; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; color: var(--ink); background: #fff;
  font: 15px/1.45 "DejaVu Sans", "Liberation Sans", "Segoe UI", Arial, Helvetica, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h3 { font-size: 16px; margin: 24px 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
p.lead { margin: 0 0 18px; color: var(--muted); }
.mono { font-family: "DejaVu Sans Mono", "Liberation Mono", Consolas, monospace; font-size: 13px; word-break: break-all; }
.muted { color: var(--muted); font-size: 13px; }
.warn { color: var(--red); }
.top { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
table.facts { border-collapse: collapse; flex: 1 1 640px; }
table.facts th { text-align: left; vertical-align: top; padding: 5px 16px 5px 0; color: var(--muted); font-weight: normal; white-space: nowrap; }
table.facts td { padding: 5px 0; vertical-align: top; }
#verdict { flex: 0 1 420px; border-radius: 10px; padding: 16px 20px; border: 3px solid; }
#verdict.clean { border-color: var(--green); background: var(--green-bg); }
#verdict.violations { border-color: var(--red); background: var(--red-bg); }
#verdict .word { font-size: 30px; font-weight: bold; letter-spacing: 0.5px; }
#verdict.clean .word { color: var(--green); }
#verdict.violations .word { color: var(--red); }
#verdict ul { margin: 8px 0 6px; padding-left: 20px; }
#verdict .note { font-size: 13px; color: var(--ink); }
.legend { display: flex; flex-wrap: wrap; gap: 8px 22px; margin: 4px 0 14px; font-size: 14px; align-items: center; }
.legend .sw { display: inline-block; width: 26px; height: 16px; border-radius: 4px; border: 2px solid; vertical-align: -3px; margin-right: 6px; }
.legend .ln { display: inline-block; width: 36px; height: 0; border-top: 3px solid; vertical-align: 4px; margin-right: 6px; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; padding: 6px; }
#timeline { display: block; max-width: 100%; height: auto; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
#timeline .lane-bg.lane0 { fill: #f3f6fa; }
#timeline .lane-bg.lane1 { fill: #f8f5f0; }
#timeline .lane-head { font-size: 19px; font-weight: bold; fill: var(--ink); }
#timeline .lane-count { font-size: 14px; font-weight: normal; fill: var(--muted); }
#timeline .lane-name { font-size: 13px; fill: var(--muted); }
#timeline .gutter-head { font-size: 14px; font-weight: bold; fill: var(--ink); }
#timeline .gutter-sub, #timeline .axis { font-size: 12px; fill: var(--muted); }
#timeline .rule { stroke: #e6e9ed; stroke-width: 1; }
#timeline .idx { font-size: 14px; font-weight: bold; fill: var(--ink); }
#timeline .clock { font-size: 11px; fill: var(--muted); }
#timeline .witnessed { font-size: 10px; fill: var(--green); }
#timeline .box { stroke-width: 2; }
#timeline .lbl { font-size: 14px; font-weight: bold; fill: var(--ink); }
#timeline .desc { font-size: 12.5px; fill: #2c3a48; }
#timeline .badge { font-size: 12px; font-weight: bold; fill: var(--muted); text-transform: uppercase; letter-spacing: 0.3px; }
#timeline .badge-claim { fill: var(--amber); }
#timeline .badge-void { fill: var(--red); }
#timeline .one-sided { fill: none; stroke: var(--amber); stroke-width: 2; stroke-dasharray: 7 4; }
#timeline .strike { stroke: var(--red); stroke-width: 2; }
#timeline g.entry[data-void="yes"] .lbl, #timeline g.entry[data-void="yes"] .desc { fill: #8a949e; }
#timeline .accept-link { fill: none; stroke: var(--green); stroke-width: 2.5; }
#timeline .accept-link[data-void] { stroke: var(--grey); stroke-dasharray: 5 4; }
#timeline .counter-link { fill: none; stroke: var(--amber); stroke-width: 2; stroke-dasharray: 2 4; }
#timeline .arrowhead { fill: var(--green); }
#timeline .arrowhead-void { fill: var(--grey); }
#timeline .arrowhead-counter { fill: var(--amber); }
.st-green { fill: var(--green-bg); stroke: var(--green); background: var(--green-bg); border-color: var(--green); }
.st-blue { fill: var(--blue-bg); stroke: var(--blue); background: var(--blue-bg); border-color: var(--blue); }
.st-red { fill: var(--red-bg); stroke: var(--red); background: var(--red-bg); border-color: var(--red); }
.st-amber { fill: var(--amber-bg); stroke: var(--amber); background: var(--amber-bg); border-color: var(--amber); }
.st-grey { fill: var(--grey-bg); stroke: var(--grey); background: var(--grey-bg); border-color: var(--grey); }
.st-plain { fill: #fff; stroke: #8592a0; background: #fff; border-color: #8592a0; }
.st-claim { fill: #fffaf0; stroke: #fffaf0; background: #fffaf0; border-color: var(--amber); border-style: dashed; }
.st-void { fill: #f1f1f1; stroke: #b0b6bc; background: #f1f1f1; border-color: #b0b6bc; }
table.grid { border-collapse: collapse; width: 100%; font-size: 14px; }
table.grid th { text-align: left; background: #eef1f4; padding: 8px 10px; border-bottom: 2px solid var(--line); }
table.grid td { padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
#findings td:first-child, #one-sided-claims td:first-child { width: 150px; }
#findings td:nth-child(2), #one-sided-claims td:nth-child(2) { width: 260px; }
#agreements tr.unilateral td:nth-child(5) b { color: var(--amber); }
#agreements tr.bilateral td:nth-child(5) b { color: var(--green); }
.pill { display: inline-block; padding: 1px 9px; border-radius: 10px; border: 1.5px solid; font-size: 13px; font-weight: bold; white-space: nowrap; }
.f-bad { background: var(--red-bg); border-color: var(--red); color: var(--red); }
.f-warn { background: var(--amber-bg); border-color: var(--amber); color: var(--amber); }
.f-void { background: var(--grey-bg); border-color: var(--grey); color: var(--grey); }
.f-info { background: #fff; border-color: #8592a0; color: var(--ink); }
dl.glossary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 14px; }
dl.glossary dt { font-weight: bold; }
dl.glossary dd { margin: 0; }
footer { margin-top: 36px; font-size: 13px; color: var(--muted); }
@media print { body { padding: 0; } .scroll { overflow: visible; border: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
)css";

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    const int32_t cp = NextCodePoint(s, i);
    if (cp < 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      continue;
    }
    switch (cp) {
      case '&': out += "&amp;"; continue;
      case '<': out += "&lt;"; continue;
      case '>': out += "&gt;"; continue;
      case '"': out += "&quot;"; continue;
      case '\'': out += "&#39;"; continue;
      default: break;
    }
    if (Disguising(cp)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "[U+%04X]", static_cast<unsigned>(cp));
      out += buf;
      continue;
    }
    out.append(s.substr(start, i - start));
  }
  return out;
}

std::string RenderAuditHtml(const AuditReport& report) {
  auto charter = Charter::Parse(report.charter_bytes);
  Parties parties;
  std::string title = "(charter unreadable)", ledger_id = "unknown";
  std::string charter_signed = "unknown — the charter could not be read";
  if (charter) {
    for (PartyIndex p = 0; p < 2; ++p) {
      parties.code[p] = charter->party_code(p);
      parties.name[p] = charter->party_name(p);
    }
    title = charter->proto().title();
    ledger_id = ToHex(charter->ledger_id());
    charter_signed = charter->fully_signed() ? "yes" : "NO";
    if (!charter->fully_signed()) {
      for (PartyIndex p = 0; p < 2; ++p) {
        if (!charter->signed_by(p)) charter_signed += " — not signed by " + parties.code[p];
      }
    }
  }

  const bool clean = report.clean();

  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>Audit — " << E(title) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";

  // --- header ---
  out << "<header>\n<h1>Audit report: " << E(title) << "</h1>\n"
      << "<p class=\"lead\">An independent check of the signed ledger kept by both sides. Every signature, every "
         "link between the two records and every agreement has been recomputed from the exported file; neither "
         "side's computer was trusted.</p>\n";
  out << "<div class=\"top\">\n<table class=\"facts\">\n";
  out << "<tr><th>Ledger ID</th><td class=\"mono\">" << E(ledger_id) << "</td></tr>\n";
  for (PartyIndex p = 0; p < 2; ++p) {
    out << "<tr><th>Party " << p + 1 << "</th><td><b>" << E(parties.code[p]) << "</b> — " << E(parties.name[p])
        << "</td></tr>\n";
  }
  out << "<tr><th>Charter signed by both</th><td><b>" << E(charter_signed) << "</b></td></tr>\n";
  out << "<tr><th>Entries verified</th><td>" << E(parties.code[0]) << ": <b>" << report.entries[0] << "</b>, "
      << E(parties.code[1]) << ": <b>" << report.entries[1]
      << "</b> <span class=\"muted\">(signature, chain and cross-links of each checked)</span></td></tr>\n";
  {  // What was audited, by what and when (docs/PROTOCOL.md §13).
    const AuditSubject& a = report.audited;
    out << "<tr><th>Bundle audited</th><td><span class=\"mono\" id=\"bundle-digest\">" << ToHex(a.bundle_digest)
        << "</span> <span class=\"muted\">(" << a.bundle_bytes << " bytes; the file&#39;s digest H(&quot;"
        << E(std::string(kBundleDigestDomain)) << "&quot;, file))</span></td></tr>\n";
    out << "<tr><th>Feed heads</th><td class=\"mono\" id=\"feed-heads\">";
    for (PartyIndex p = 0; p < 2; ++p) {
      out << (p ? "<br>" : "")
          << (charter ? E(DescribeHead(*charter, p, a.heads[p]))
                      : E("party " + std::to_string(p) + " #" + std::to_string(a.heads[p].seq)));
    }
    out << "</td></tr>\n";
    out << "<tr><th>Exported by</th><td>" << E(a.exported_by) << " at " << E(IsoTime(a.exported_ms))
        << " <span class=\"muted\">(the bundle&#39;s word, not verified)</span></td></tr>\n";
    out << "<tr><th>Audited by</th><td id=\"audited-by\">" << E(AuditedBy(a)) << "</td></tr>\n";
  }
  if (report.unchecked > 0) {
    out << "<tr><th>Not checked</th><td class=\"warn\">" << report.unchecked
        << " entries after a record's first violation or fork</td></tr>\n";
  }
  out << "</table>\n";
  out << "<div id=\"verdict\" class=\"" << (clean ? "clean" : "violations") << "\">\n<div class=\"word\">"
      << (clean ? "CLEAN" : "VIOLATIONS FOUND") << "</div>\n<ul>\n";
  for (FindingKind kind : kFindingKinds) {  // each kind, counted as the text and JSON reports count it
    const FindingKindInfo& info = InfoOf(kind);
    const uint64_t n = report.Count(kind);
    out << "<li data-kind=\"" << info.name << "\"><b>" << n << "</b> " << E(std::string(n == 1 ? info.one : info.many))
        << "</li>\n";
  }
  const uint64_t claims = report.unilateral.size() + report.state.claims_omitted;
  out << "<li data-kind=\"unilateral\"><b>" << claims << "</b> "
      << (claims == 1 ? "one-sided claim (one side&#39;s word alone)" : "one-sided claims (one side&#39;s word alone)")
      << "</li>\n";
  out << "</ul>\n<div class=\"note\">"
      << (clean ? "CLEAN: both records are intact and consistent — no forged, altered or missing entries and no "
                  "side told two stories. It does not mean every agreement was carried out: see the "
                  "discrepancies and one-sided claims below."
                : "VIOLATIONS FOUND: at least one record is broken, altered or forked (a side signed two "
                  "different histories). See the findings below.")
      << "</div>\n</div>\n</div>\n</header>\n";

  // --- timeline ---
  out << "<section>\n<h2>Timeline</h2>\n"
      << "<p class=\"muted\">One lane per side. Statements are listed in causal order: a statement always comes after "
         "everything its author had already seen. Clock times are each author's own and may differ. Hover a box "
         "for its full text.</p>\n";
  out << "<div class=\"legend\">"
         "<span><span class=\"sw st-green\"></span>agreed / completed (signed by both)</span>"
         "<span><span class=\"sw st-blue\"></span>in progress</span>"
         "<span><span class=\"sw st-red\"></span>disputed / cancelled</span>"
         "<span><span class=\"sw st-amber\"></span>open / cancel requested (awaiting the other side)</span>"
         "<span><span class=\"sw st-grey\"></span>countered / withdrawn / rejected / expired / amended</span>"
         "<span><span class=\"sw st-plain\"></span>other statement</span>"
         "<span><span class=\"sw st-claim\"></span><b>one-sided</b>: one side&#39;s word alone</span>"
         "<span><span class=\"sw st-void\"></span><s>void</s>: signed but without effect</span>"
         "<span><span class=\"ln\" style=\"border-color:var(--green)\"></span>acceptance → proposal</span>"
         "<span><span class=\"ln\" style=\"border-color:var(--amber);border-top-style:dotted\"></span>"
         "counter-proposal → proposal countered</span>"
         "</div>\n";
  if (report.timeline.size() > kMaxHtmlTimeline || report.timeline_truncated) {
    out << "<p class=\"warn\">The timeline shows the first " << std::min(report.timeline.size(), kMaxHtmlTimeline)
        << " statements only; the tables below cover the whole ledger.</p>\n";
  }
  out << "<div class=\"scroll\">\n";
  RenderTimeline(out, report, parties, charter ? &*charter : nullptr);
  out << "</div>\n</section>\n";

  // --- agreements ---
  out << "<section>\n<h2>Proposals and agreements</h2>\n"
      << "<p class=\"muted\"><b>Bilateral</b>: signed by both sides — an agreement. <b>Unilateral</b>: one side's "
         "proposal alone, never accepted by the other. Windows are as proposed by the proposer.</p>\n";
  RenderAgreements(out, report, parties);
  out << "</section>\n";

  // --- witnesses ---
  if (charter) RenderWitnesses(out, report, *charter, parties);

  // --- findings ---
  out << "<section>\n<h2>Findings</h2>\n";
  RenderFindings(out, report.findings);
  for (FindingKind kind : kFindingKinds) {
    if (const uint64_t n = report.Omitted(kind)) {
      out << "<p class=\"warn\" data-omitted=\"" << FindingName(kind) << "\">… and " << n << " more "
          << FindingName(kind) << " findings, not listed (the report lists the first " << kMaxFindingsPerKind
          << " of each kind).</p>\n";
    }
  }
  out << "<h3>One side&#39;s word alone</h3>\n"
      << "<p class=\"muted\">Not problems in themselves, but never agreed: open proposals, cancel requests, "
         "attestations and statements, each signed by one side only.</p>\n";
  RenderUnilateral(out, report.unilateral, report.state.claims_omitted);
  out << "<h3>Key rotations</h3>\n<ul id=\"key-rotations\">\n";
  if (report.key_rotations.empty()) {
    out << "<li class=\"muted\">None: every entry is signed with its party's charter key.</li>\n";
  }
  for (const AuditKeyRotation& k : report.key_rotations) {
    out << "<li>" << E(charter ? DescribeRotation(*charter, k) : "rotation at seq " + std::to_string(k.rotation.seq)) << "</li>\n";
  }
  out << "</ul>\n";
  out << "<h3>Manifest disclosures</h3>\n<ul id=\"manifest-disclosures\">\n";
  const std::vector<nlohmann::json> disclosures =
      charter ? ManifestDisclosures(*charter, report) : std::vector<nlohmann::json>();
  if (disclosures.empty()) out << "<li class=\"muted\">None: no list of people was shared.</li>\n";
  for (const nlohmann::json& d : disclosures) {
    out << "<li>" << E(d["party"].get<std::string>() + "#" + std::to_string(d["seq"].get<uint64_t>()) + " " +
                       d["time"].get<std::string>() + ": " + d["party"].get<std::string>() + " shared manifest " +
                       d["manifest"].get<std::string>().substr(0, 16) + "… (" +
                       std::to_string(d["count"].get<uint64_t>()) + " records) with " + d["to"].get<std::string>())
        << "</li>\n";
  }
  out << "</ul>\n";
  out << "<dl class=\"glossary\">";
  for (FindingKind kind : kFindingKinds) {
    out << "<dt>" << FindingName(kind) << "</dt><dd>" << E(std::string(InfoOf(kind).meaning)) << "</dd>";
  }
  out << "<dt>one-sided</dt><dd>one side&#39;s word alone: open proposals, cancel requests, attestations, "
         "statements</dd>"
         "</dl>\n</section>\n";

  out << "<footer>Generated by <b>parley audit</b>. This page is self-contained: it loads nothing from the "
         "network and runs no scripts. Text written by the parties is shown as written, escaped; hidden control "
         "characters are shown as [U+XXXX].</footer>\n";
  out << "</body>\n</html>\n";
  return out.str();
}

}  // namespace parley
