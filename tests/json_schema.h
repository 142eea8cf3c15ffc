// Validating JSON outputs against docs/audit.schema.json (tests/validate_json.py).
#pragma once

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "fixtures.h"
#include "node/base/json.h"

namespace parley::test {

// Debian's python3 and python3-jsonschema (setup.sh installs both), not
// whatever python3 comes first on PATH.
inline constexpr const char* kPython = "/usr/bin/python3";

inline bool HaveJsonSchema() {
  return std::system((std::string(kPython) + " -c 'import jsonschema' >/dev/null 2>&1").c_str()) == 0;
}

// Writes `j` to a file in `dir` and validates it against $defs/`def` of the
// schema with tests/validate_json.py; returns the script's exit status.
inline int Validate(const TempDir& dir, const std::string& name, const nlohmann::json& j, const std::string& def,
                    bool quiet = false) {
  const auto path = dir.path() / (name + ".json");
  std::ofstream(path) << DumpJson(j, 2);
  const std::string src = PARLEY_SOURCE_DIR;
  const std::string cmd = std::string(kPython) + " '" + src + "/tests/validate_json.py' '" + src +
                          "/docs/audit.schema.json' " + def + " '" + path.string() + "'" +
                          (quiet ? " 2>/dev/null" : "");
  return std::system(cmd.c_str());
}

}  // namespace parley::test
