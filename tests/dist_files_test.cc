// The files the Debian package installs beside the binary agree with it:
// parley.conf(5) lists exactly the keys the config parser accepts (like
// config_reference_test.cc for docs/OPERATIONS.md), parley(1) names every
// command `parley --help` lists, and the example configurations are valid
// and keep every path the node writes inside the folders the systemd unit
// lets it write (node/dist/parley@.service.in).
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "node/daemon/config.h"
#include "node_harness.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using test::RunParley;

std::string Source(const std::string& rel) {
  std::ifstream in(std::string(PARLEY_SOURCE_DIR) + "/" + rel);
  REQUIRE_MESSAGE(in.good(), rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Roff as a reader sees it: `\-` is '-', `\e` is '\'.
std::string Unroff(std::string s) {
  s = std::regex_replace(s, std::regex(R"(\\-)"), "-");
  return std::regex_replace(s, std::regex(R"(\\e)"), "\\");
}

// The lines of section `.SH NAME` of a man page, up to the next `.SH`.
std::vector<std::string> Section(const std::string& page, const std::string& name) {
  std::vector<std::string> out;
  bool in = false;
  for (const std::string& line : Lines(page)) {
    if (line.rfind(".SH ", 0) == 0) {
      in = line == ".SH " + name;
      continue;
    }
    if (in) out.push_back(line);
  }
  return out;
}

// The keys of parley.conf(5): each entry of KEYS is `.TP` then `.B key`.
std::vector<std::string> ManPageKeys(const std::string& page) {
  std::vector<std::string> keys;
  const auto lines = Section(page, "KEYS");
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    std::smatch m;
    if (lines[i] == ".TP" && std::regex_match(lines[i + 1], m, std::regex(R"(\.B ([a-z_]+))"))) {
      keys.push_back(m[1].str());
    }
  }
  return keys;
}

// The text between .EX and .EE in section `name`, unescaped.
std::string ExampleOf(const std::string& page, const std::string& name) {
  std::string text;
  bool in = false;
  for (const std::string& line : Section(page, name)) {
    if (line == ".EX") in = true;
    else if (line == ".EE") in = false;
    else if (in) text += Unroff(line) + "\n";
  }
  return text;
}

NodeConfig LoadText(const std::string& text, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("parley-dist-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / name;
  std::ofstream(file) << text;
  NodeConfig c;
  const Status loaded = LoadConfigFile(file, c);
  fs::remove_all(dir);
  CHECK_MESSAGE(loaded.ok(), name << ": " << loaded.message());
  const Status valid = c.Validate();
  CHECK_MESSAGE(valid.ok(), name << ": " << valid.message());
  return c;
}

// One setting of the unit (`Key=value`), "" if absent.
std::string UnitSetting(const std::string& unit, const std::string& key) {
  for (const std::string& line : Lines(unit)) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

bool Under(const fs::path& p, const fs::path& dir) {
  const std::string a = p.lexically_normal().string(), b = dir.lexically_normal().string();
  return a.size() > b.size() && a.rfind(b, 0) == 0 && a[b.size()] == '/';
}

// Everything the node of ledger `name` writes is in a folder the unit makes
// writable (its file system is read-only otherwise), and what it only reads
// is in /etc/parley.
void CheckAgainstUnit(const NodeConfig& c, const std::string& name) {
  const std::string unit = Source("node/dist/parley@.service.in");
  REQUIRE(UnitSetting(unit, "ExecStart") == "@PARLEY_INSTALLED_BINARY@ node --config /etc/parley/%i.conf");
  REQUIRE(UnitSetting(unit, "ProtectSystem") == "strict");
  REQUIRE(UnitSetting(unit, "ReadWritePaths").empty());  // only the three folders below
  auto instance = [&](std::string v) { return std::regex_replace(v, std::regex("%i"), name); };
  const fs::path state = "/var/lib/" + instance(UnitSetting(unit, "StateDirectory"));
  const fs::path runtime = "/run/" + instance(UnitSetting(unit, "RuntimeDirectory"));
  const fs::path logs = "/var/log/" + instance(UnitSetting(unit, "LogsDirectory"));
  CHECK(state == fs::path("/var/lib/parley/" + name));
  CHECK(Under(c.data_dir, state));
  CHECK(Under(c.high_water_mark, state));
  CHECK_FALSE(Under(c.high_water_mark, c.data_dir));  // the mark survives losing the folder
  CHECK((c.manifest_dir.empty() || Under(c.manifest_dir, state)));
  CHECK(Under(c.socket, runtime));
  CHECK((c.log_file.empty() || Under(c.log_file, logs)));
  for (const fs::path& read : {c.key_file, c.charter, c.passphrase_file, c.tls_cert, c.tls_key}) {
    CAPTURE(read);
    CHECK(Under(read, "/etc/parley"));
  }
}

TEST_CASE("parley.conf(5) lists exactly the keys the parser accepts, in order") {
  const std::string page = Source("docs/man/parley.conf.5");
  const std::vector<std::string> parsed(NodeConfig::Keys().begin(), NodeConfig::Keys().end());
  auto joined = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& k : v) s += k + " ";
    return s;
  };
  CHECK(joined(ManPageKeys(page)) == joined(parsed));

  // The check sees a key that goes missing.
  std::string without = std::regex_replace(page, std::regex("\n\\.TP\n\\.B log_level\n"), "\n");
  REQUIRE(without != page);
  CHECK(ManPageKeys(without).size() == parsed.size() - 1);
}

TEST_CASE("the example configurations are valid and write only where the unit lets the node write") {
  SUBCASE("parley.conf(5), EXAMPLE") {
    const std::string text = ExampleOf(Source("docs/man/parley.conf.5"), "EXAMPLE");
    REQUIRE(text.find("data_dir") != std::string::npos);
    CheckAgainstUnit(LoadText(text, "ua.conf"), "ua");
  }
  SUBCASE("/usr/share/doc/parley/example.conf") {
    const std::string text = Source("node/dist/example.conf");
    const NodeConfig c = LoadText(text, "ua.conf");
    CheckAgainstUnit(c, "ua");
    // Its commented-out log_file too.
    std::smatch m;
    REQUIRE(std::regex_search(text, m, std::regex("\n#log_file *= *([^\n]*)\n")));
    NodeConfig with_log = c;
    REQUIRE(with_log.Set("log_file", m[1].str(), "/etc/parley").ok());
    CheckAgainstUnit(with_log, "ua");
  }
}

// The subcommands a `--help` text lists.
std::vector<std::string> Subcommands(const std::string& help) {
  std::vector<std::string> names;
  bool in = false;
  for (const std::string& line : Lines(help)) {
    if (line == "Subcommands:") in = true;
    std::smatch m;
    if (in && std::regex_match(line, m, std::regex(R"(  ([a-z][a-z0-9-]*) .*)"))) names.push_back(m[1].str());
  }
  return names;
}

TEST_CASE("parley(1) describes every command and subcommand, and every flag of `parley node`") {
  const std::string page = Unroff(Source("docs/man/parley.1"));
  auto described = [&](const std::string& path) {
    return std::regex_search(page, std::regex("\n\\.B parley " + path + "( [^\n]*)?\n"));
  };
  const auto top = RunParley({"--help"});
  REQUIRE(top.code == 0);
  const std::vector<std::string> commands = Subcommands(top.out);
  REQUIRE(commands.size() > 20);
  for (const std::string& cmd : commands) {
    const auto help = RunParley({cmd, "--help"});
    REQUIRE(help.code == 0);
    const auto subs = Subcommands(help.out);
    if (subs.empty()) {
      CHECK_MESSAGE(described(cmd), "parley(1) does not describe `parley " << cmd << "`");
    }
    for (const std::string& sub : subs) {
      CHECK_MESSAGE(described(cmd + " " + sub), "parley(1) does not describe `parley " << cmd << " " << sub << "`");
    }
  }
  CHECK_FALSE(described("no-such-command"));
  // And no command that is gone: every `.B parley WORD` names a command.
  const std::set<std::string> known(commands.begin(), commands.end());
  std::smatch m;
  for (std::string rest = page; std::regex_search(rest, m, std::regex(R"(\n\.B parley ([a-z][a-z0-9-]*))"));
       rest = m.suffix().str()) {
    CHECK_MESSAGE(known.count(m[1].str()), "parley(1) describes `parley " << m[1].str() << "`, which is no command");
  }

  const auto node = RunParley({"node", "--help"});
  REQUIRE(node.code == 0);
  int flags = 0;
  for (const std::string& line : Lines(node.out)) {
    if (!std::regex_match(line, m, std::regex(R"(  (--[a-z][a-z0-9-]*)\b.*)")) || m[1] == "--help" ||
        m[1] == "--help-all") {
      continue;
    }
    ++flags;
    CHECK_MESSAGE(page.find(m[1].str()) != std::string::npos, "parley(1) does not name `parley node " << m[1] << "`");
  }
  CHECK(flags > 10);
}

TEST_CASE("the man pages carry the version `parley --version` prints") {
  const auto version = RunParley({"--version"});
  REQUIRE(version.code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(version.out, m, std::regex(R"(^parley ([0-9]+\.[0-9]+\.[0-9]+) )")));
  for (const char* page : {"docs/man/parley.1", "docs/man/parley.conf.5"}) {
    CAPTURE(page);
    const std::string text = Source(page);
    std::smatch th;
    REQUIRE(std::regex_search(text, th, std::regex(R"re(\n\.TH [^\n]*"parley ([0-9.]+)")re")));
    CHECK(th[1].str() == m[1].str());
  }
}

}  // namespace
}  // namespace parley
