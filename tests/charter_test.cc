// Charter creation, signing by both parties, and ledger_id.
#include <doctest/doctest.h>

#include "crypto/hash.h"
#include "fixtures.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

TEST_CASE("a charter is signed by each party in turn and its ledger id never changes") {
  std::string bytes = test::UnsignedTestCharter();
  auto unsigned_charter = Charter::Parse(bytes).value();
  CHECK_FALSE(unsigned_charter.fully_signed());
  std::string one = unsigned_charter.Sign(test::PartyKey(kRU)).value();
  auto half = Charter::Parse(one).value();
  CHECK(half.signed_by(kRU));
  CHECK_FALSE(half.signed_by(kUA));
  auto full = Charter::Parse(half.Sign(test::PartyKey(kUA)).value()).value();
  CHECK(full.fully_signed());
  CHECK(full.ledger_id() == unsigned_charter.ledger_id());
  CHECK(full.ledger_id() == Hash(kCharterDomain, full.charter_bytes()));
  CHECK(full.PartyByCode("RU") == std::optional<PartyIndex>(kRU));
  CHECK(full.observers().size() == 1);
}

TEST_CASE("a key that is no party's cannot sign the charter") {
  auto c = Charter::Parse(test::UnsignedTestCharter()).value();
  auto r = c.Sign(test::ObserverKey());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == Code::kPermissionDenied);
}

TEST_CASE("a charter with a tampered signature or malformed content is refused with the reason") {
  SUBCASE("tampered signature") {
    v1::SignedCharter sc;
    REQUIRE(sc.ParseFromString(test::TestCharter()));
    std::string sig = sc.signatures(1);
    sig[0] ^= 1;
    sc.set_signatures(1, sig);
    auto r = Charter::Parse(sc.SerializeAsString());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message().find("signature of party RU does not verify") != std::string::npos);
  }
  SUBCASE("not a charter") {
    auto r = Charter::Parse("\xff\xff garbage");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kDataLoss);
  }
  SUBCASE("same code twice, bad code, one party") {
    CharterDraft d;
    d.title = "t";
    d.parties[0] = {"UA", "a", test::PartyKey(kUA).public_key()};
    d.parties[1] = {"UA", "b", test::PartyKey(kRU).public_key()};
    CHECK(NewUnsignedCharter(d).error().message().find("both parties have code UA") != std::string::npos);
    d.parties[1].code = "ru lower";
    CHECK(NewUnsignedCharter(d).error().message().find("code 'ru lower'") != std::string::npos);
    d.parties[1] = {"RU", "b", test::PartyKey(kUA).public_key()};
    CHECK(NewUnsignedCharter(d).error().message().find("same public key") != std::string::npos);
  }
}

}  // namespace
}  // namespace parley
