// Plain structured logging to stderr, one line per event:
//   ts=2026-11-27T03:20:00.123Z level=info msg="entry stored" party=RU seq=7
// Values are quoted when they contain spaces or quotes. Callers never pass
// secrets or personal data (passphrases, keys, manifest records).
//
// Thread safety: Log may be called from any thread; lines never interleave.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace parley {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

using LogField = std::pair<std::string_view, std::string>;

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

// Events below `level` are dropped. Default kInfo.
void SetLogLevel(LogLevel level);

}  // namespace parley
