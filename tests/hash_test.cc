#include <doctest/doctest.h>

#include <string>

#include "crypto/hash.h"
#include "crypto/types.h"

namespace parley {
namespace {

TEST_CASE("Hash of an empty domain and message is BLAKE2b-256 of the empty string") {
  CHECK(ToHex(Hash("", "")) ==
        "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST_CASE("Hash is BLAKE2b-256 of domain || message") {
  // BLAKE2b-256("abc"), however the bytes are split between domain and message.
  const std::string abc =
      "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319";
  CHECK(ToHex(Hash("", "abc")) == abc);
  CHECK(ToHex(Hash("a", "bc")) == abc);
  CHECK(ToHex(Hash("abc", "")) == abc);
  CHECK(Hash("parley/entry/v1", "x") == Hash("", "parley/entry/v1x"));
}

TEST_CASE("Hash under different domains differs") {
  CHECK(Hash("parley/leaf/v1", "m") != Hash("parley/node/v1", "m"));
  CHECK(Hash("parley/entry/v1", "m") != Hash("", "m"));
}

TEST_CASE("Hash of a large message is stable and depends on every byte") {
  std::string big(1 << 20, 'x');
  const Digest d = Hash("d", big);
  CHECK(Hash("d", big) == d);
  big.back() = 'y';
  CHECK(Hash("d", big) != d);
}

TEST_CASE("ToHex is lower case and FromHex round-trips both cases") {
  const std::string bytes("\x00\x01\x7f\x80\xab\xff", 6);
  CHECK(ToHex(bytes) == "00017f80abff");
  CHECK(FromHex("00017f80abff") == bytes);
  CHECK(FromHex("00017F80ABFF") == bytes);
  CHECK(ToHex("") == "");
  CHECK(FromHex("") == std::string());

  const Digest d = Hash("d", "m");
  CHECK(Digest::FromBytes(*FromHex(ToHex(d))) == d);
}

TEST_CASE("FromHex rejects odd length, non-hex characters and separators") {
  CHECK_FALSE(FromHex("a").has_value());
  CHECK_FALSE(FromHex("abc").has_value());
  CHECK_FALSE(FromHex("zz").has_value());
  CHECK_FALSE(FromHex("0g").has_value());
  CHECK_FALSE(FromHex("0x00").has_value());
  CHECK_FALSE(FromHex(" 00 ").has_value());
  CHECK_FALSE(FromHex("00:11").has_value());
  CHECK_FALSE(FromHex(std::string("0\0", 2)).has_value());
  CHECK_FALSE(FromHex("00\n").has_value());
}

TEST_CASE("FixedBytes::FromBytes accepts exactly N bytes") {
  CHECK(Digest::FromBytes(std::string(32, 'a')).has_value());
  CHECK_FALSE(Digest::FromBytes(std::string(31, 'a')).has_value());
  CHECK_FALSE(Digest::FromBytes(std::string(33, 'a')).has_value());
  CHECK_FALSE(Signature::FromBytes(std::string(32, 'a')).has_value());
}

TEST_CASE("RandomBytes fills the buffer with fresh bytes each call") {
  Digest a, b;
  RandomBytes(a.bytes);
  RandomBytes(b.bytes);
  CHECK(a != b);
  CHECK(a != Digest());
}

TEST_CASE("StreamHash over parts is Hash over their concatenation, with the domain first") {
  StreamHash h("parley/bundle/v1");
  h.Update("PARLEY");
  h.Update("");
  h.Update("B1 and the rest");
  CHECK(h.Final() == Hash("parley/bundle/v1", "PARLEYB1 and the rest"));
  StreamHash other("parley/bundle/v2");
  other.Update("PARLEYB1 and the rest");
  CHECK(other.Final() != Hash("parley/bundle/v1", "PARLEYB1 and the rest"));
}

}  // namespace
}  // namespace parley
