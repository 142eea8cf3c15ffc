#include "node/daemon/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "node/base/text.h"

namespace parley {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::mutex g_mu;
std::FILE* g_file = nullptr;          // the log file, or nullptr: stderr; guarded by g_mu
std::filesystem::path g_path;         // guarded by g_mu

Result<std::FILE*> OpenAppend(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kIoError, "cannot open log file " + path.string() + ": " + std::strerror(errno));
  std::FILE* f = ::fdopen(fd, "a");
  if (f == nullptr) {
    ::close(fd);
    return Status(Code::kIoError, "cannot open log file " + path.string() + ": " + std::strerror(errno));
  }
  return f;
}

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// A value as logfmt: bare if it is plain, else quoted, with every control
// character, bidi control and invalid byte shown as an escape (Printable), so
// a value from the other side cannot forge a log line or drive a terminal
// that tails the log.
void AppendValue(std::string& out, std::string_view v) {
  const std::string printable = Printable(v);
  const bool quote = printable.empty() || printable != v || v.find_first_of(" \"=") != std::string_view::npos;
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (char c : printable) {
    if (c == '"') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return std::nullopt;
}

Status SetLogFile(const std::filesystem::path& path) {
  auto f = OpenAppend(path);
  if (!f) return f.error();
  std::lock_guard lock(g_mu);
  if (g_file) std::fclose(g_file);
  g_file = *f;
  g_path = path;
  return Status::Ok();
}

Status ReopenLogFile() {
  std::filesystem::path path;
  {
    std::lock_guard lock(g_mu);
    if (!g_file) return Status::Ok();
    path = g_path;
  }
  return SetLogFile(path);
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (level < g_level.load()) return;
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  std::string line = "ts=";
  line += ts;
  line += " level=";
  line += LevelName(level);
  line += " msg=";
  AppendValue(line, msg);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    AppendValue(line, v);
  }
  line += '\n';
  std::lock_guard lock(g_mu);
  std::FILE* out = g_file ? g_file : stderr;
  std::fputs(line.c_str(), out);
  std::fflush(out);
}

}  // namespace parley
