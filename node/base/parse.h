// Parse: the one parser for each kind of value an operator types — times and
// counts — used by the CLI, the config file and `parley audit --now`. Each is
// strict: a value is accepted whole or refused with a message that says what
// is wrong, never read in part ("12abc" is not 12, "2025-02-30" is not
// March 2nd, "-1" is not 18446744073709551615). The messages quote the input
// only through Printable (node/base/text.h).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "crypto/status.h"

namespace parley {

// Years a time may name. Earlier or later is refused as a typo.
inline constexpr int kMinYear = 1970;
inline constexpr int kMaxYear = 2199;

// An RFC 3339 time, or a date alone, as milliseconds since the Unix epoch
// (UTC). Accepted:
//   2025-06-11                      midnight UTC that day
//   2025-06-11T10:00Z               minutes (seconds 0)
//   2025-06-11T10:00:30Z            seconds
//   2025-06-11T10:00:30.250Z        a fraction of 1 to 9 digits (kept to the ms)
//   2025-06-11T12:00+02:00          an offset instead of Z, normalised to UTC
// Every field has exactly its digits (no sign, no spaces), the date must exist
// in the calendar, hours 00-23, minutes and seconds 00-59 (no leap second),
// offsets up to ±23:59, the year within [kMinYear, kMaxYear], and nothing may
// follow. kInvalidArgument otherwise, naming `what` (e.g. "--from").
Result<int64_t> ParseTime(std::string_view text, std::string_view what = "time");

// A count typed by an operator: decimal digits only (no sign, space, '+',
// exponent or trailing text), at most `max`. kInvalidArgument otherwise,
// naming `what` (e.g. "--count").
Result<uint64_t> ParseCount(std::string_view text, std::string_view what, uint64_t max = UINT64_MAX);

}  // namespace parley
