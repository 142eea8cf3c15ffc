// docs/OPERATIONS.md's configuration reference and the config parser agree:
// every key the parser accepts is documented, in the same order, and every
// documented example is accepted.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "node/daemon/config.h"

namespace parley {
namespace {

struct DocumentedKey {
  std::string key, example;
};

std::vector<DocumentedKey> ReadReference() {
  std::ifstream in(std::string(PARLEY_SOURCE_DIR) + "/docs/OPERATIONS.md");
  REQUIRE(in.good());
  std::vector<DocumentedKey> keys;
  bool in_section = false;
  // | `key` | default | `example` or text | what |
  const std::regex row(R"(^\| `([a-z_]+)` \| [^|]* \| ([^|]*) \|)");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Configuration reference";
    std::smatch m;
    if (in_section && std::regex_search(line, m, row)) {
      std::string example = m[2].str();
      example.erase(0, example.find_first_not_of(' '));
      example.erase(example.find_last_not_of(' ') + 1);
      if (example.size() >= 2 && example.front() == '`') example = example.substr(1, example.find('`', 1) - 1);
      keys.push_back({m[1].str(), example});
    }
  }
  return keys;
}

TEST_CASE("the configuration reference in docs/OPERATIONS.md lists exactly the keys the parser accepts") {
  const auto documented = ReadReference();
  std::vector<std::string> names;
  for (const auto& d : documented) names.push_back(d.key);
  std::vector<std::string> parsed(NodeConfig::Keys().begin(), NodeConfig::Keys().end());
  CHECK(names == parsed);
  for (const auto& d : documented) {
    CAPTURE(d.key);
    CAPTURE(d.example);
    NodeConfig c;
    const Status s = c.Set(d.key, d.example, "/etc/parley");
    CHECK_MESSAGE(s.ok(), s.message());
  }
  NodeConfig c;
  const Status unknown = c.Set("data_folder", "x", "");
  CHECK(unknown.code() == Code::kInvalidArgument);
  CHECK(unknown.message().find("unknown config key 'data_folder'") != std::string::npos);
  CHECK(c.Set("log_level", "loud", "").code() == Code::kInvalidArgument);
}

}  // namespace
}  // namespace parley
