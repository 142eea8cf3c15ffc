// The audit report as one self-contained HTML page, for people who read it
// in a browser or print it: a humanitarian intermediary, a lawyer, a
// journalist. `parley audit BUNDLE --html report.html` writes it.
//
// The page needs nothing but itself: no fonts, style sheets, scripts or
// images from elsewhere (the style is inline, the timeline is inline SVG) and
// no JavaScript, so it reads the same offline, from a mail attachment or on
// paper. It shows
//   - a header: ledger title and ID, the two parties, whether both signed the
//     charter, entries verified per party, and the verdict (CLEAN /
//     VIOLATIONS FOUND) with the number of findings of each kind;
//   - a timeline (inline SVG, id="timeline"): one lane per party
//     (class="lane"), every statement as a labelled marker "CODE#seq kind"
//     (class="entry", data-party, data-seq) placed by its position in the
//     canonical causal order, with a tooltip holding its full text; a line
//     from each acceptance to the proposal it accepts (class="accept-link");
//     proposals and agreements coloured by state (legend above); one-sided
//     claims dashed and labelled (class="one-sided"); void statements struck
//     through and labelled "void" (class="void");
//   - the proposals and agreements (table id="agreements"): who proposed
//     what, where it stands, whether it is bilateral (signed by both) or one
//     side's alone, the terms and the progress of each transfer;
//   - the findings (table id="findings"): kind, where, what.
//
// Everything that comes from the ledger — titles, names, statement texts —
// is attacker-controlled and HTML-escaped; control and bidirectional
// formatting characters are shown as visible placeholders so that a text
// cannot disguise itself, and invalid UTF-8 as U+FFFD.
//
// The timeline draws at most kMaxHtmlTimeline statements (a note says when
// there are more); the tables are always complete.
//
// Thread safety: a pure function of its input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "node/report/audit.h"

namespace parley {

inline constexpr size_t kMaxHtmlTimeline = 5000;

// REQUIRES: `report` came from AuditBundle (its charter bytes parse); if they
// do not, the page says so and shows the findings alone.
std::string RenderAuditHtml(const AuditReport& report);

// `text` made safe as HTML element content or a quoted attribute value:
// & < > " ' escaped, invalid UTF-8 as U+FFFD, C0/C1 controls (other than
// tab and newline) and bidi overrides/isolates as visible "[U+XXXX]".
std::string HtmlEscape(std::string_view text);

}  // namespace parley
