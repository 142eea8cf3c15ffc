// One contract, run against every Store implementation.
#include <doctest/doctest.h>

#include "fixtures.h"
#include "node/store/store.h"

namespace parley {
namespace {

void StoreContract(Store& s) {
  CHECK_FALSE(s.Get("a").value().has_value());
  WriteBatch b;
  b.Put("a", "1");
  b.Put("b\0x", "binary");
  b.Put(std::string("c\0", 2), std::string("\0\xff", 2));
  b.Put("d", "4");
  REQUIRE(s.Write(b, true).ok());
  CHECK(s.Get("a").value() == std::optional<std::string>("1"));
  CHECK(s.Get(std::string("c\0", 2)).value() == std::optional<std::string>(std::string("\0\xff", 2)));

  WriteBatch overwrite;
  overwrite.Put("a", "one");
  REQUIRE(s.Write(overwrite, false).ok());
  CHECK(s.Get("a").value() == std::optional<std::string>("one"));

  std::string seen;
  REQUIRE(s.Scan("b", "d", [&](std::string_view k, std::string_view) {
             seen += std::string(k.substr(0, 1)) + ",";
             return true;
           }).ok());
  CHECK(seen == "b,c,");
  int calls = 0;
  REQUIRE(s.Scan("", "z", [&](std::string_view, std::string_view) { return ++calls < 2; }).ok());
  CHECK(calls == 2);
}

TEST_CASE("the memory store keeps the store contract") {
  auto s = NewMemoryStore();
  StoreContract(*s);
}

TEST_CASE("the LevelDB store keeps the store contract and its data across reopen") {
  test::TempDir dir;
  {
    auto s = OpenLevelDbStore(dir.path()).value();
    StoreContract(*s);
  }
  auto s = OpenLevelDbStore(dir.path()).value();
  CHECK(s->Get("a").value() == std::optional<std::string>("one"));
  CHECK(s->Get("d").value() == std::optional<std::string>("4"));
}

}  // namespace
}  // namespace parley
