// Text: the free text one side writes and the other side reads — the rule a
// signed string must satisfy (docs/PROTOCOL.md §5.2) and how any untrusted
// string is shown on a terminal.
//
// Everything the other side writes is hostile input. A statement, a crossing
// name or an id typed by an operator can hold escape sequences that clear
// the screen or draw a fake "Verdict: CLEAN", bidi overrides that reverse
// what a reader sees, or bytes that are not UTF-8 at all. Two defences, one
// function each:
//   - CheckText: stage 1 of entry validation refuses such text in every
//     free-text field, on the signing side and on the receiving side alike,
//     so no node signs it and no node stores it;
//   - Printable: every text view, the text audit, error messages and log
//     values show an untrusted string through it, so even text that never
//     passed CheckText (a charter, a hostile bundle, a typo'd argument)
//     reaches the terminal as visible escapes.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

// Why `text` breaks the text rule, or nullopt if it keeps it. The rule:
// well-formed UTF-8 (no overlong forms, no surrogates, nothing above
// U+10FFFF); no C0 control except TAB (U+0009) and LF (U+000A); no DEL
// (U+007F); no C1 control (U+0080..U+009F); no bidi control (U+061C, U+200E,
// U+200F, U+202A..U+202E, U+2066..U+2069); no line or paragraph separator
// (U+2028, U+2029). The answer names the byte offset and the character, e.g.
// "byte 12: U+001B (a control character) is not allowed", in printable form.
std::optional<std::string> TextRuleViolation(std::string_view text);

// The rule and a size limit for one field: "FIELD is N bytes; the limit is
// M" or "FIELD: byte 12: ..." — nullopt when both hold.
std::optional<std::string> CheckTextField(std::string_view field, std::string_view text, size_t max_bytes);

// `untrusted` as it may be shown on a terminal, on one line: printable
// characters (any script) as they are; backslash as "\\"; TAB, LF and CR as
// "\t", "\n", "\r"; any other character the text rule refuses as "\u{XXXX}"
// (hex code point, e.g. "\u{1b}", "\u{202e}"); each byte that is not part of
// well-formed UTF-8 as "\xNN". The result contains no control character, no
// bidi control and no invalid UTF-8, so it is also safe inside JSON strings.
std::string Printable(std::string_view untrusted);

// As Printable, but LF is kept as a line break and a backslash is left as
// it is: for messages composed by Parley, of several lines, around parts
// already shown through Printable (whose escapes it leaves intact); it
// neutralises whatever a part left raw.
std::string PrintableLines(std::string_view untrusted);

// The longest prefix of `text` of at most `max_bytes` bytes that ends on a
// character boundary (never splits a UTF-8 sequence).
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);

}  // namespace parley
