// Times as people and machines read them. Every time Parley prints goes
// through here, so the same instant always reads the same way.
#pragma once

#include <cstdint>
#include <string>

namespace parley {

// `ms` (since the Unix epoch) as UTC through strftime's `format`
// ("%Y-%m-%d %H:%M"); the milliseconds as a number if the time cannot be
// represented.
std::string FormatUtc(int64_t ms, const char* format);

// RFC 3339 UTC: "2025-06-08T12:00:00Z", or "2025-06-08T12:00:00.250Z" when
// the milliseconds are not zero.
std::string IsoTime(int64_t ms);

}  // namespace parley
