// The one parser for times and for counts (node/base/parse.h): what an operator
// types is accepted whole or refused with a message, never read in part.
#include <doctest/doctest.h>

#include "node/base/parse.h"

namespace parley {
namespace {

int64_t Ms(std::string_view text) {
  auto t = ParseTime(text);
  REQUIRE_MESSAGE(t.has_value(), (std::string(text) + ": " + t.error().message()));
  return *t;
}

std::string TimeError(std::string_view text) {
  auto t = ParseTime(text, "--from");
  if (t) return "accepted as " + std::to_string(*t);
  CHECK(t.error().code() == Code::kInvalidArgument);
  return t.error().message();
}

TEST_CASE("times: the accepted forms, normalised to UTC milliseconds") {
  constexpr int64_t kDay = 1749600000000;  // 2025-06-11T00:00:00Z
  CHECK(Ms("2025-06-11") == kDay);
  CHECK(Ms("2025-06-11T10:00Z") == kDay + 10 * 3600000);
  CHECK(Ms("2025-06-11T10:00:30Z") == kDay + 10 * 3600000 + 30000);
  CHECK(Ms("2025-06-11T10:00:30.250Z") == kDay + 10 * 3600000 + 30250);
  CHECK(Ms("2025-06-11T10:00:30.2Z") == kDay + 10 * 3600000 + 30200);
  CHECK(Ms("2025-06-11T10:00:30.123456789Z") == kDay + 10 * 3600000 + 30123);
  CHECK(Ms("2025-06-11T12:00+02:00") == Ms("2025-06-11T10:00Z"));
  CHECK(Ms("2025-06-11T00:30-01:30") == Ms("2025-06-11T02:00Z"));
  CHECK(Ms("1970-01-01") == 0);
  CHECK(Ms("2024-02-29") == Ms("2024-03-01") - 86400000);  // a leap day
  CHECK(Ms("2000-02-29T23:59:59Z") + 1000 == Ms("2000-03-01"));
  CHECK(Ms("2199-12-31T23:59:59Z") > Ms("2199-12-31"));
}

TEST_CASE("times: every malformed or impossible time the CLI used to sign is refused, saying why") {
  // Each of these was once signed as something else (issue "Safe at every edge").
  CHECK(TimeError("2025-02-30").find("no day 30") != std::string::npos);
  CHECK(TimeError("2025-06-31").find("no day 31") != std::string::npos);
  CHECK(TimeError("2025-02-29").find("no day 29") != std::string::npos);
  CHECK(TimeError("0000-01-01").find("year must be between 1970 and 2199") != std::string::npos);
  CHECK(TimeError("-001-01-01").find("not a date") != std::string::npos);
  CHECK(TimeError("2025-06-11T-1:00Z").find("THH:MM") != std::string::npos);
  CHECK(TimeError("2025-06-11T10:-5Z").find("THH:MM") != std::string::npos);
  CHECK(TimeError("2025-06-11T10:00:00Z junk").find("unexpected text") != std::string::npos);
  for (const char* bad : {"", "2025", "2025-6-11", "2025-06-11 ", " 2025-06-11", "2025-06-11T10:00",
                          "2025-06-11T24:00Z", "2025-06-11T10:60Z", "2025-06-11T10:00:60Z", "2025-13-01",
                          "2025-00-10", "2025-06-00", "2025-06-11T10:00:00.Z", "2025-06-11T10:00+2:00",
                          "2025-06-11T10:00+24:00", "2025-06-11T10:00ZZ", "2025-06-11t10:00Z", "1969-12-31",
                          "2200-01-01", "+2025-06-11", "2025-06-11T10:00:00.1234567890Z", "２０２５-06-11"}) {
    CAPTURE(bad);
    CHECK(TimeError(bad).rfind("--from '", 0) == 0);
  }
}

TEST_CASE("times: a refused time is echoed in printable form") {
  const std::string msg = TimeError("2025-06-11\x1b[2J");
  CHECK(msg.find('\x1b') == std::string::npos);
  CHECK(msg.find("\\u{1b}[2J") != std::string::npos);
}

TEST_CASE("counts: digits only, within range") {
  CHECK(ParseCount("0", "--count").value() == 0);
  CHECK(ParseCount("1212", "--count").value() == 1212);
  CHECK(ParseCount("18446744073709551615", "n").value() == UINT64_MAX);
  CHECK(ParseCount("1000000", "--count", 1000000).value() == 1000000);
  CHECK(ParseCount("007", "n").value() == 7);
  for (const char* bad : {"-1", "12abc", "1e3", " 7", "7 ", "+7", "", "0x10", "1,212", "1.0", "١٢"}) {
    CAPTURE(bad);
    auto r = ParseCount(bad, "--count");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kInvalidArgument);
    CHECK(r.error().message().rfind("--count '", 0) == 0);
  }
  auto over = ParseCount("18446744073709551616", "n");
  REQUIRE_FALSE(over.has_value());
  CHECK(over.error().message().find("more than 18446744073709551615") != std::string::npos);
  auto above = ParseCount("1000001", "--count", 1000000);
  REQUIRE_FALSE(above.has_value());
  CHECK(above.error().message().find("more than 1000000 is not accepted") != std::string::npos);
  CHECK_FALSE(ParseCount("9", "n", 5).has_value());  // a single digit above a small max
}

}  // namespace
}  // namespace parley
