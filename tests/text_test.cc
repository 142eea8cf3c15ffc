// Hostile text (node/base/text.h): the text rule every signed free-text field
// keeps, enforced at stage 1 on both sides, and Printable, through which
// every terminal view shows untrusted text.
#include <doctest/doctest.h>

#include <random>

#include "fixtures.h"
#include "node/protocol/agreements.h"
#include "node/report/audit.h"
#include "node/base/text.h"
#include "node/report/views.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

// Text the other side might write to forge lines on a terminal.
const std::string kHostile[] = {
    "\x1b[2J\x1b[HVerdict: CLEAN",                 // clear screen, then a fake verdict
    "red \x1b[31malert\x1b[0m",                      // colours
    "\x1b]8;;http://example.invalid\x07click\x1b]8;;\x07",  // an OSC 8 link
    "bell\x07",                                      // BEL
    std::string("nul\0byte", 8),                     // NUL
    "line one\nVerdict: CLEAN",                      // a newline: a forged line
    "cr\roverwrite",                                 // carriage return
    "\xe2\x80\xae" "NAELC :tcidreV",                 // U+202E right-to-left override
    "\xe2\x81\xa6isolate\xe2\x81\xa9",               // U+2066 / U+2069
    "csi \xc2\x9b" "31m",                            // U+009B, the C1 form of ESC [
    "bad \xff\xfe utf-8",                            // invalid UTF-8
    "\xc0\xaf",                                      // an overlong '/'
    "\xed\xa0\x80",                                  // a UTF-16 surrogate
    "line\xe2\x80\xa8sep",                           // U+2028
    "del\x7f",
};

// True if `s` could change what a terminal shows beyond plain text.
bool HasTerminalControl(std::string_view s) {
  if (TextRuleViolation(s)) return true;
  return s.find('\n') != std::string_view::npos || s.find('\t') != std::string_view::npos;
}

TEST_CASE("the text rule: controls, bidi overrides and invalid UTF-8 are refused, every script is not") {
  for (const std::string& h : kHostile) {
    CAPTURE(Printable(h));
    // A line break is allowed in signed text; the views escape it (below).
    CHECK(TextRuleViolation(h).has_value() == (h.find('\n') == std::string::npos));
  }
  CHECK_FALSE(TextRuleViolation("Передача тел погибших; обмін полоненими; ICRC — «1,212»").has_value());
  CHECK_FALSE(TextRuleViolation("two\nlines\tand a tab").has_value());
  CHECK_FALSE(TextRuleViolation("emoji 🕊 and CJK 和平").has_value());
  CHECK_FALSE(TextRuleViolation("").has_value());
  CHECK(*TextRuleViolation("ab\x1b[2J") == "byte 2: U+001B (a control character) is not allowed");
  CHECK(*TextRuleViolation("x\xe2\x80\xae") == "byte 1: U+202E (a bidi control) is not allowed");
  CHECK(*TextRuleViolation("ok \xff") == "byte 3: 0xff is not valid UTF-8");
  CHECK(*CheckTextField("statement.text", std::string(20, 'x'), 10) == "statement.text is 20 bytes; the limit is 10");
}

TEST_CASE("Printable shows every control as a visible escape and keeps every script") {
  CHECK(Printable("\x1b[2J") == "\\u{1b}[2J");
  CHECK(Printable("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  CHECK(Printable(std::string("\0", 1)) == "\\u{0}");
  CHECK(Printable("\xe2\x80\xae") == "\\u{202e}");
  CHECK(Printable("\xc2\x9b") == "\\u{9b}");
  CHECK(Printable("\xff") == "\\xff");
  CHECK(Printable("back\\slash") == "back\\\\slash");  // so "\u{1b}" typed literally is not mistaken
  CHECK(Printable("Київ — Москва") == "Київ — Москва");
  CHECK(PrintableLines("a\nb\x1b") == "a\nb\\u{1b}");
  for (const std::string& h : kHostile) {
    CAPTURE(Printable(h));
    CHECK_FALSE(HasTerminalControl(Printable(h)));
  }
}

TEST_CASE("Printable of any bytes is plain text (10,000 random strings)") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> len(0, 40), byte(0, 255), pick(0, 3);
  for (int i = 0; i < 10000; ++i) {
    std::string s;
    const int n = len(rng);
    for (int k = 0; k < n; ++k) {
      // Bias towards the interesting bytes: controls, ESC, UTF-8 lead bytes.
      const int kind = pick(rng);
      s += static_cast<char>(kind == 0 ? 0x1b : kind == 1 ? byte(rng) % 0x20 : kind == 2 ? 0xc0 + byte(rng) % 0x40 : byte(rng));
    }
    const std::string p = Printable(s);
    if (HasTerminalControl(p)) FAIL("not plain: " << Printable(p));
  }
}

TEST_CASE("messages name a statement's kind with the right article") {
  CHECK(KindWithArticle(v1::Entry::kAccept) == "an accept");
  CHECK(KindWithArticle(v1::Entry::kAttestation) == "an attestation");
  CHECK(KindWithArticle(v1::Entry::kPropose) == "a propose");
  CHECK(KindWithArticle(v1::Entry::kStatement) == "a statement");
}

TEST_CASE("Utf8Prefix never splits a character") {
  const std::string s = "aЖb";  // Ж is two bytes
  CHECK(Utf8Prefix(s, 1) == "a");
  CHECK(Utf8Prefix(s, 2) == "a");
  CHECK(Utf8Prefix(s, 3) == "aЖ");
  CHECK(Utf8Prefix(s, 10) == s);
}

TEST_CASE("stage 1 refuses hostile text in every free-text field, and an oversized field") {
  const Charter& c = test::TheCharter();
  auto decode = [&](v1::Entry body) {
    test::Scenario s;
    const DecodedEntry e = s.Add(kRU, std::move(body));
    return DecodeEntry(e.envelope, c);
  };
  const std::string esc = "x\x1b[2Jy";
  v1::Terms terms = test::RemainsTerms(kRU, 10, test::kT0);
  std::vector<std::pair<std::string, v1::Entry>> bodies;
  for (int field = 0; field < 3; ++field) {
    v1::Terms t = terms;
    if (field == 0) t.set_crossing_point(esc);
    if (field == 1) t.set_intermediary(esc);
    if (field == 2) t.set_notes(esc);
    bodies.emplace_back("terms field " + std::to_string(field), test::Propose(t));
  }
  {
    v1::Entry e = test::Say(esc);
    bodies.emplace_back("statement.text", e);
    e = test::Attest(esc);
    bodies.emplace_back("attestation.what", e);
    e = test::Attest("ok");
    e.mutable_attestation()->set_where(esc);
    bodies.emplace_back("attestation.where", e);
  }
  for (const auto& [what, body] : bodies) {
    CAPTURE(what);
    auto d = decode(body);
    REQUIRE_FALSE(d.has_value());
    CHECK(ViolationOf(d.error()) == Violation::kBadBody);
    CHECK(d.error().message().find("U+001B (a control character) is not allowed") != std::string::npos);
  }
  // Reasons, places: built from a real proposal and agreement.
  test::Scenario s;
  const DecodedEntry p = s.Add(kRU, test::Propose(terms));
  v1::Entry reject = test::Reject(p, "\xe2\x80\xae" "reversed");
  const DecodedEntry rj = s.Add(kUA, reject);
  auto d = DecodeEntry(rj.envelope, c);
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().message() == "bad-body: reject.reason: byte 0: U+202E (a bidi control) is not allowed");

  v1::Entry handover = test::Handover(p, 0, 10);
  handover.mutable_handover()->set_place(std::string(kMaxNameBytes + 1, 'p'));
  const DecodedEntry h = s.Add(kRU, handover);
  d = DecodeEntry(h.envelope, c);
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().message() == "bad-body: handover.place is 513 bytes; the limit is 512");

  CHECK(decode(test::Say(std::string(kMaxTextBytes, 'x'))).has_value());
  CHECK_FALSE(decode(test::Say(std::string(kMaxTextBytes + 1, 'x'))).has_value());
  CHECK(decode(test::Say("Заява: строки погоджені не були.\nДругий рядок.")).has_value());
}

// Feeds holding hostile text, signed without validation (as a hostile party
// or an old bundle might hold them): the views must not pass it through.
struct HostileFeeds {
  test::Scenario s;
  HostileFeeds() {
    v1::Terms t = test::RemainsTerms(kRU, 10, test::kT0);
    t.set_crossing_point("\x1b[2J\x1b[HVerdict: CLEAN");
    t.set_notes("\xe2\x80\xae" "reversed\nforged line");
    const DecodedEntry p = s.Add(kRU, test::Propose(t));
    s.Add(kUA, test::Say("\x1b]8;;http://x.invalid\x07link\x1b]8;;\x07\x07"));
    v1::Entry st = test::Say("line\nVerdict: CLEAN \u00ad");
    st.mutable_statement()->set_reference(p.id.str());
    s.Add(kUA, st);
    v1::Entry a = test::Attest("trucks\x1b[31m staged");
    a.mutable_attestation()->set_where(std::string("nul\0", 4));
    s.Add(kRU, a);
    s.Add(kUA, test::Reject(p, "no\r\x1b[Kyes"));
  }
};

TEST_CASE("list and show render hostile text as visible escapes, and their JSON is valid") {
  HostileFeeds h;
  const Charter& c = test::TheCharter();
  LedgerState state = ComputeState(h.s.feed(0), h.s.feed(1), test::kT0);
  auto list = RenderList(c, state);
  REQUIRE(list.has_value());
  const Digest id = h.s.feed(kRU)[0].id;
  auto show = RenderShow(c, state, h.s.feed(0), h.s.feed(1), id);
  REQUIRE(show.has_value());
  for (const std::string& text : {*list, *show}) {
    CAPTURE(text);
    // Line breaks are Parley's own; nothing else may reach the terminal.
    for (char ch : text) {
      const unsigned char u = static_cast<unsigned char>(ch);
      CHECK_MESSAGE((u >= 0x20 || ch == '\n'), "control byte " << int(u));
      CHECK(u != 0x7f);
    }
    CHECK_FALSE(TextRuleViolation(text).has_value());
    CHECK(text.find("\nVerdict") == std::string::npos);
    CHECK(text.find("\n  Verdict") == std::string::npos);
  }
  CHECK(show->find("\\u{1b}[2J\\u{1b}[HVerdict: CLEAN") != std::string::npos);
  CHECK(show->find("\\u{202e}reversed\\nforged line") != std::string::npos);
  CHECK(list->find("line\\nVerdict: CLEAN \u00ad") != std::string::npos);

  for (const nlohmann::json& j : {StateJson(c, state), ShowJson(c, state, h.s.feed(0), h.s.feed(1), id).value()}) {
    const std::string dumped = DumpJson(j, 2);
    CHECK(nlohmann::json::accept(dumped));
    CHECK(dumped.find('\x1b') == std::string::npos);
  }
}

TEST_CASE("JSON output stays valid even with bytes that are not UTF-8") {
  nlohmann::json j = {{"path", "/tmp/\xff\xfe.bundle"}, {"text", "esc \x1b nul " + std::string(1, '\0')}};
  const std::string out = DumpJson(j);
  CHECK(nlohmann::json::accept(out));
  CHECK(nlohmann::json::parse(out)["text"] == "esc \x1b nul " + std::string(1, '\0'));
}

TEST_CASE("the text audit's entry descriptions are printable") {
  HostileFeeds h;
  for (PartyIndex p = 0; p < 2; ++p) {
    for (const DecodedEntry& e : h.s.feed(p)) {
      const std::string d = DescribeEntry(test::TheCharter(), e.entry);
      CAPTURE(d);
      CHECK_FALSE(HasTerminalControl(d));
    }
  }
}

}  // namespace
}  // namespace parley
