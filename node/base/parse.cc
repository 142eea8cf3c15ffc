#include "node/base/parse.h"

#include <string>

#include "node/base/text.h"

namespace parley {
namespace {

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Reads exactly `n` digits at text[pos], advancing pos.
bool Digits(std::string_view text, size_t& pos, size_t n, int64_t& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

Status BadTime(std::string_view text, std::string_view what, const std::string& why) {
  return Status(Code::kInvalidArgument,
                std::string(what) + " '" + Printable(text) + "': " + why +
                    " (use UTC like 2025-06-11, 2025-06-11T10:00Z or 2025-06-11T10:00:00Z, or an offset like "
                    "2025-06-11T12:00+02:00)");
}

}  // namespace

Result<int64_t> ParseTime(std::string_view text, std::string_view what) {
  size_t pos = 0;
  int64_t y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
  if (!Digits(text, pos, 4, y) || !Expect(text, pos, '-') || !Digits(text, pos, 2, mo) || !Expect(text, pos, '-') ||
      !Digits(text, pos, 2, d)) {
    return BadTime(text, what, "not a date YYYY-MM-DD");
  }
  if (y < kMinYear || y > kMaxYear) {
    return BadTime(text, what, "the year must be between " + std::to_string(kMinYear) + " and " +
                                   std::to_string(kMaxYear));
  }
  if (mo < 1 || mo > 12) return BadTime(text, what, "there is no month " + std::to_string(mo));
  if (d < 1 || d > DaysInMonth(y, static_cast<int>(mo))) {
    return BadTime(text, what, "there is no day " + std::to_string(d) + " in that month");
  }
  int64_t offset_minutes = 0;
  if (pos < text.size()) {
    if (!Expect(text, pos, 'T') || !Digits(text, pos, 2, h) || !Expect(text, pos, ':') || !Digits(text, pos, 2, mi)) {
      return BadTime(text, what, "after the date comes THH:MM");
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!Digits(text, pos, 2, s)) return BadTime(text, what, "seconds need two digits");
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 9) {
          if (pos - start < 3) ms = ms * 10 + (text[pos] - '0');
          ++pos;
        }
        const size_t n = pos - start;
        if (n == 0) return BadTime(text, what, "a fraction needs digits after the '.'");
        for (size_t k = n; k < 3; ++k) ms *= 10;
      }
    }
    if (h > 23) return BadTime(text, what, "the hour must be 00 to 23");
    if (mi > 59) return BadTime(text, what, "the minutes must be 00 to 59");
    if (s > 59) return BadTime(text, what, "the seconds must be 00 to 59");
    if (pos < text.size() && text[pos] == 'Z') {
      ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      const int sign = text[pos] == '-' ? -1 : 1;
      ++pos;
      int64_t oh, om;
      if (!Digits(text, pos, 2, oh) || !Expect(text, pos, ':') || !Digits(text, pos, 2, om) || oh > 23 || om > 59) {
        return BadTime(text, what, "an offset is +HH:MM or -HH:MM");
      }
      offset_minutes = sign * (oh * 60 + om);
    } else {
      return BadTime(text, what, "a time needs Z (UTC) or an offset like +02:00");
    }
    if (pos != text.size()) return BadTime(text, what, "unexpected text after the time");
  }
  const int64_t days = DaysFromCivil(y, static_cast<int>(mo), static_cast<int>(d));
  const int64_t seconds = days * 86400 + h * 3600 + mi * 60 + s - offset_minutes * 60;
  return seconds * 1000 + ms;
}

Result<uint64_t> ParseCount(std::string_view text, std::string_view what, uint64_t max) {
  auto bad = [&](const std::string& why) {
    return Status(Code::kInvalidArgument, std::string(what) + " '" + Printable(text) + "': " + why);
  };
  if (text.empty()) return bad("a number is needed");
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad("only the digits 0-9 are allowed");
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (digit > max || value > (max - digit) / 10) return bad("more than " + std::to_string(max) + " is not accepted");
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace parley
