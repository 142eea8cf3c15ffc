#include "node/base/text.h"

#include <cstdint>
#include <cstdio>

namespace parley {
namespace {

// One step of strict UTF-8 decoding (RFC 3629): the code point starting at
// text[i] and its length, or nullopt if text[i] does not start a
// well-formed sequence (then the byte stands alone).
struct CodePoint {
  uint32_t value;
  size_t length;
};

std::optional<CodePoint> DecodeAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return CodePoint{b0, 1};
  size_t length;
  uint32_t value, min;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2, value = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, value = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, value = b0 & 0x07, min = 0x10000;
  } else {
    return std::nullopt;  // a continuation byte, or 0xF8..0xFF
  }
  if (i + length > text.size()) return std::nullopt;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return std::nullopt;
    value = (value << 6) | (byte(i + k) & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return std::nullopt;
  return CodePoint{value, length};
}

bool IsBidiControl(uint32_t c) {
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

// What the text rule says of a code point: nullptr if allowed, else what it is.
const char* Refused(uint32_t c) {
  if (c == '\t' || c == '\n') return nullptr;
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) return "a control character";
  if (IsBidiControl(c)) return "a bidi control";
  if (c == 0x2028 || c == 0x2029) return "a line or paragraph separator";
  return nullptr;
}

std::string Hex(uint32_t v, const char* format) {
  char buf[16];
  std::snprintf(buf, sizeof buf, format, static_cast<unsigned>(v));
  return buf;
}

std::string Render(std::string_view untrusted, bool keep_newlines) {
  std::string out;
  out.reserve(untrusted.size());
  for (size_t i = 0; i < untrusted.size();) {
    const auto cp = DecodeAt(untrusted, i);
    if (!cp) {
      out += Hex(static_cast<uint8_t>(untrusted[i]), "\\x%02x");
      ++i;
      continue;
    }
    const uint32_t c = cp->value;
    if (c == '\\') {
      out += keep_newlines ? "\\" : "\\\\";
    } else if (c == '\n') {
      out += keep_newlines ? "\n" : "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (Refused(c)) {
      out += Hex(c, "\\u{%x}");
    } else {
      out.append(untrusted.substr(i, cp->length));
    }
    i += cp->length;
  }
  return out;
}

}  // namespace

std::optional<std::string> TextRuleViolation(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto cp = DecodeAt(text, i);
    if (!cp) {
      return "byte " + std::to_string(i) + ": " + Hex(static_cast<uint8_t>(text[i]), "0x%02x") +
             " is not valid UTF-8";
    }
    if (const char* what = Refused(cp->value)) {
      return "byte " + std::to_string(i) + ": " + Hex(cp->value, "U+%04X") + " (" + what + ") is not allowed";
    }
    i += cp->length;
  }
  return std::nullopt;
}

std::optional<std::string> CheckTextField(std::string_view field, std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return std::string(field) + " is " + std::to_string(text.size()) + " bytes; the limit is " +
           std::to_string(max_bytes);
  }
  if (auto why = TextRuleViolation(text)) return std::string(field) + ": " + *why;
  return std::nullopt;
}

std::string Printable(std::string_view untrusted) { return Render(untrusted, false); }

std::string PrintableLines(std::string_view untrusted) { return Render(untrusted, true); }

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Step back over continuation bytes to the start of the cut character.
  while (end > 0 && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace parley
