// The `parley` command line at its edges: an unknown command, a demo folder
// it did not make, a proof that cannot be read. Real processes, no nodes.
#include <doctest/doctest.h>

#include <fstream>

#include "node/base/text.h"
#include "node_harness.h"

namespace parley {
namespace {

namespace fs = std::filesystem;

bool Has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST_SUITE("e2e") {

TEST_CASE("an unknown command is named, the nearest command suggested and the commands listed; exit 2") {
  SUBCASE("a typo") {
    auto r = test::RunParley({"audti", "bundle.parley"});
    CHECK(r.code == 2);
    CHECK_MESSAGE(Has(r.err, "parley: unknown command \"audti\"; did you mean \"audit\"?"), r.err);
    CHECK(Has(r.err, "commands:"));
    CHECK(Has(r.err, " propose "));
    CHECK(Has(r.err, " manifest"));
    CHECK_FALSE(Has(r.err, "A subcommand is required"));
  }
  SUBCASE("the beginning of a command") {
    auto r = test::RunParley({"mani"});
    CHECK(r.code == 2);
    CHECK_MESSAGE(Has(r.err, "did you mean \"manifest\"?"), r.err);
  }
  SUBCASE("nothing close") {
    auto r = test::RunParley({"xylophone"});
    CHECK(r.code == 2);
    CHECK_MESSAGE(Has(r.err, "parley: unknown command \"xylophone\"\n"), r.err);
    CHECK_FALSE(Has(r.err, "did you mean"));
    CHECK(Has(r.err, "commands:"));
  }
  SUBCASE("control characters and non-ASCII bytes in it do not reach the terminal") {
    auto r = test::RunParley({"\x1b]0;pwned\x07\x7f\xd0\x96"});
    CHECK(r.code == 2);
    CHECK_MESSAGE(Has(r.err, "unknown command \"\\u{1b}]0;pwned\\u{7}\\u{7f}\xd0\x96\""), r.err);
    // Printable text (any script) and line breaks only.
    CHECK_FALSE(TextRuleViolation(r.err).has_value());
    CHECK(r.err.find('\t') == std::string::npos);
  }
  SUBCASE("a known command with a bad flag keeps CLI11's message") {
    auto r = test::RunParley({"audit", "--no-such-flag"});
    CHECK(r.code == 2);
    CHECK_FALSE(Has(r.err, "unknown command"));
  }
}

TEST_CASE("the demo refuses a folder it did not make and deletes nothing in it") {
  test::TempDir dir;
  const fs::path precious = dir.path() / "precious.txt";
  std::ofstream(precious) << "years of work\n";

  auto r = test::RunParley({"demo", "--dir", dir.path().string()});
  CHECK(r.code == 2);
  CHECK_MESSAGE(Has(r.err, "is not empty and was not made by `parley demo`"), r.err);
  CHECK(Has(r.err, "nothing was deleted"));
  CHECK(test::ReadText(precious) == "years of work\n");
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);

  auto file = test::RunParley({"demo", "--dir", precious.string()});
  CHECK(file.code == 2);
  CHECK_MESSAGE(Has(file.err, "is not a folder"), file.err);
  CHECK(test::ReadText(precious) == "years of work\n");
}

TEST_CASE("manifest verify: an input it cannot read is unusable (exit 2), not an invalid proof (exit 1)") {
  test::TempDir dir;
  const fs::path missing = dir.path() / "no-such-proof.json";
  auto r = test::RunParley({"manifest", "verify", missing.string()});
  CHECK(r.code == 2);
  CHECK_MESSAGE(Has(r.err, "cannot read proof file"), r.err);
  CHECK_FALSE(Has(r.out, "INVALID"));

  const fs::path proof = dir.path() / "proof.json";
  std::ofstream(proof) << "{}";
  auto no_charter = test::RunParley({"manifest", "verify", proof.string(), "--charter", (dir.path() / "nope").string()});
  CHECK(no_charter.code == 2);
  CHECK_MESSAGE(Has(no_charter.err, "cannot read charter"), no_charter.err);

  auto folder = test::RunParley({"manifest", "verify", dir.path().string()});
  CHECK(folder.code == 2);

  auto not_a_proof = test::RunParley({"manifest", "verify", proof.string()});
  CHECK(not_a_proof.code == 2);
  CHECK_MESSAGE(Has(not_a_proof.err, "proof file:"), not_a_proof.err);
  // An invalid proof (a verdict, exit 1) is in manifest_e2e_test.cc.
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
