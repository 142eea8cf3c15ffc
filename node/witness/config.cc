#include "node/witness/config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace parley {
namespace {

std::string Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

Result<WitnessConfig> ParseWitnessConfig(std::string_view text, const std::filesystem::path& base_dir) {
  WitnessConfig c;
  std::set<std::string> seen;
  std::istringstream in{std::string(text)};
  std::string raw;
  int n = 0;
  const auto path = [&](const std::string& v) {
    std::filesystem::path p(v);
    return p.is_absolute() ? p : base_dir / p;
  };
  while (std::getline(in, raw)) {
    ++n;
    const std::string where = "witness config line " + std::to_string(n) + ": ";
    const std::string line = Trim(raw.substr(0, raw.find('#')));
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) return Status(Code::kInvalidArgument, where + "expected key = value");
    const std::string key = Trim(line.substr(0, eq));
    const std::string value = Trim(line.substr(eq + 1));
    if (key != "log" && !seen.insert(key).second) return Status(Code::kInvalidArgument, where + key + " given twice");
    if (key == "name") {
      c.name = value;
    } else if (key == "key_file") {
      c.key_file = path(value);
    } else if (key == "passphrase_env") {
      c.passphrase_env = value;
    } else if (key == "passphrase_file") {
      c.passphrase_file = path(value);
    } else if (key == "listen") {
      c.listen = value;
    } else if (key == "tls_cert") {
      c.tls_cert = path(value);
    } else if (key == "tls_key") {
      c.tls_key = path(value);
    } else if (key == "state_file") {
      c.state_file = path(value);
    } else if (key == "evidence_dir") {
      c.evidence_dir = path(value);
    } else if (key == "high_water_mark") {
      c.high_water_mark = path(value);
    } else if (key == "log") {
      const size_t sp = value.find_first_of(" \t");
      auto v = ParseVerifierKey(value.substr(0, sp));
      if (!v) return Status(Code::kInvalidArgument, where + v.error().message());
      if (v->type != NoteKeyType::kEd25519) {
        return Status(Code::kInvalidArgument, where + "a log key must be an Ed25519 (type 1) verifier key");
      }
      const std::string origin = sp == std::string::npos ? v->name : Trim(value.substr(sp));
      auto it = std::find_if(c.logs.begin(), c.logs.end(), [&](const WitnessLog& l) { return l.origin == origin; });
      if (it == c.logs.end()) it = c.logs.insert(c.logs.end(), WitnessLog{origin, {}});
      it->keys.push_back(*v);
    } else {
      return Status(Code::kInvalidArgument, where + "unknown key " + key);
    }
  }
  for (const auto& [ok, what] : {std::pair{!c.name.empty(), "name"}, std::pair{!c.key_file.empty(), "key_file"},
                                 std::pair{!c.state_file.empty(), "state_file"}, std::pair{!c.logs.empty(), "log"}}) {
    if (!ok) return Status(Code::kInvalidArgument, std::string("witness config: ") + what + " is required");
  }
  if (c.high_water_mark.empty()) c.high_water_mark = c.key_file.string() + ".hwm";
  if (c.evidence_dir.empty()) c.evidence_dir = c.state_file.string() + ".evidence";
  return c;
}

Result<WitnessConfig> ReadWitnessConfig(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status(Code::kNotFound, "cannot read witness config " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseWitnessConfig(ss.str(), path.has_parent_path() ? path.parent_path() : ".");
}

}  // namespace parley
