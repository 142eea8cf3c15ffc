#include "node/base/time.h"

#include <cstdio>
#include <ctime>

namespace parley {

std::string FormatUtc(int64_t ms, const char* format) {
  int64_t seconds = ms / 1000;
  if (ms % 1000 < 0) --seconds;  // floor, for times before 1970
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(ms) + " ms";
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::string IsoTime(int64_t ms) {
  std::string out = FormatUtc(ms, "%Y-%m-%dT%H:%M:%S");
  const int millis = static_cast<int>(((ms % 1000) + 1000) % 1000);
  if (millis != 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", millis);
    out += frac;
  }
  return out + "Z";
}

}  // namespace parley
