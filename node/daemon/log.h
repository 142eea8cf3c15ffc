// Plain structured logging (logfmt) to stderr or a log file, one line per
// event:
//   ts=2026-11-27T03:20:00.123Z level=info msg="entry stored" party=RU seq=7
// Values are quoted when they contain spaces, quotes or '='; any control
// character, bidi control or invalid byte in a value is shown as an escape
// (Printable, node/base/text.h), so text from the other side cannot forge a line.
// Callers never pass secrets or personal data (passphrases, keys, manifest
// records).
//
// Thread safety: Log may be called from any thread; lines never interleave.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "crypto/status.h"

namespace parley {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

using LogField = std::pair<std::string_view, std::string>;

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

// Events below `level` are dropped. Default kInfo.
void SetLogLevel(LogLevel level);
// "debug", "info", "warn" or "error"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);

// Writes the lines to `path` from now on (appended; created with mode 0600)
// instead of stderr. Errors name the path; the old destination stays.
Status SetLogFile(const std::filesystem::path& path);
// Opens the log file's path again, for log rotation (the node does this on
// SIGHUP): lines go to the file now at the path. OK and nothing done when
// logging to stderr.
Status ReopenLogFile();

}  // namespace parley
