#include "node/tlog/checkpoint.h"

#include "crypto/status.h"

namespace parley {
namespace {

Status Bad(const std::string& what) { return Status(Code::kInvalidArgument, "checkpoint: " + what); }

}  // namespace

std::optional<uint64_t> ParseTlogDecimal(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  if (text.empty() || text.back() != '\n') return Bad("the text does not end in a newline");
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    const size_t nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() < 3) return Bad("fewer than three lines (origin, size, root)");
  Checkpoint c;
  if (lines[0].empty()) return Bad("the origin line is empty");
  c.origin = std::string(lines[0]);
  auto size = ParseTlogDecimal(lines[1]);
  if (!size) return Bad("the size line is not a decimal without leading zeros");
  c.size = *size;
  auto root = FromBase64(lines[2]);
  if (!root || root->size() != Digest::kSize) return Bad("the root line is not base64 of 32 bytes");
  c.root = *Digest::FromBytes(*root);
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return Bad("extension line " + std::to_string(i - 2) + " is empty");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

std::string FormatCheckpoint(const Checkpoint& c) {
  PARLEY_CHECK(!c.origin.empty() && c.origin.find('\n') == std::string::npos);
  std::string out = c.origin + "\n" + std::to_string(c.size) + "\n" + ToBase64(c.root.view()) + "\n";
  for (const auto& e : c.extensions) {
    PARLEY_CHECK(!e.empty() && e.find('\n') == std::string::npos);
    out += e + "\n";
  }
  return out;
}

}  // namespace parley
