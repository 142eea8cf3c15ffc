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


CharterDraft WitnessedDraft() {
  CharterDraft d;
  d.title = "witnessed";
  d.parties[0] = {"UA", "UA", test::PartyKey(kUA).public_key()};
  d.parties[1] = {"RU", "RU", test::PartyKey(kRU).public_key()};
  d.created_ms = 1;
  d.witnesses.push_back({"icrc.example/witness", SecretKey::FromSeed(test::SeedFrom(0x60)).public_key(),
                         "https://icrc.example:8443/tlog"});
  d.witnesses.push_back({"w2", SecretKey::FromSeed(test::SeedFrom(0x80)).public_key(), "http://127.0.0.1:7900"});
  d.required_cosignatures = 1;
  return d;
}

TEST_CASE("a charter lists witnesses and a default number of cosignatures; both survive signing") {
  auto bytes = NewUnsignedCharter(WitnessedDraft()).value();
  for (PartyIndex p = 0; p < 2; ++p) bytes = Charter::Parse(bytes).value().Sign(test::PartyKey(p)).value();
  auto c = Charter::Parse(bytes).value();
  CHECK(c.fully_signed());
  REQUIRE(c.witnesses().size() == 2);
  CHECK(c.witnesses()[0].name == "icrc.example/witness");
  CHECK(c.witnesses()[0].url == "https://icrc.example:8443/tlog");
  CHECK(c.witnesses()[1].key == SecretKey::FromSeed(test::SeedFrom(0x80)).public_key());
  CHECK(c.required_cosignatures() == 1);
  // The verifier is the cosignature/v1 key a witness prints with --print-vkey.
  CHECK(c.witnesses()[0].verifier().type == NoteKeyType::kCosignatureV1);
  // A charter without witnesses has none and requires none.
  CHECK(test::TheCharter().witnesses().empty());
  CHECK(test::TheCharter().required_cosignatures() == 0);
}

TEST_CASE("a charter with a malformed witness list is refused, naming the witness and the rule") {
  struct Case {
    const char* what;
    void (*edit)(CharterDraft&);
    const char* says;
  };
  const Case cases[] = {
      {"name with a space", [](CharterDraft& d) { d.witnesses[0].name = "icrc witness"; }, "must be a signed-note key name"},
      {"name with a plus", [](CharterDraft& d) { d.witnesses[0].name = "a+b"; }, "must be a signed-note key name"},
      {"empty name", [](CharterDraft& d) { d.witnesses[0].name = ""; }, "must be a signed-note key name"},
      {"name of 256 bytes", [](CharterDraft& d) { d.witnesses[0].name = std::string(256, 'w'); }, "1-255 bytes"},
      {"a party's key", [](CharterDraft& d) { d.witnesses[1].key = test::PartyKey(kRU).public_key(); }, "uses a party's key"},
      {"same name twice", [](CharterDraft& d) { d.witnesses[1].name = d.witnesses[0].name; }, "is listed twice"},
      {"same key twice", [](CharterDraft& d) { d.witnesses[1].key = d.witnesses[0].key; }, "has the key of witness"},
      {"ftp url", [](CharterDraft& d) { d.witnesses[0].url = "ftp://w.example"; }, "must start with http:// or https://"},
      {"url without host", [](CharterDraft& d) { d.witnesses[0].url = "https:///tlog"; }, "url has no host"},
      {"url with a space", [](CharterDraft& d) { d.witnesses[0].url = "http://w.example/a b"; }, "printable ASCII"},
      {"url with a query", [](CharterDraft& d) { d.witnesses[0].url = "http://w.example/?x=1"; }, "query or fragment"},
      {"url ending in /", [](CharterDraft& d) { d.witnesses[0].url = "http://w.example/"; }, "must not end in '/'"},
      {"url with a control byte", [](CharterDraft& d) { d.witnesses[0].url = "http://w.example/\x1b[2J"; }, "printable ASCII"},
      {"more required than listed", [](CharterDraft& d) { d.required_cosignatures = 3; }, "exceeds the 2 witnesses"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    CharterDraft d = WitnessedDraft();
    c.edit(d);
    auto r = NewUnsignedCharter(d);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == Code::kInvalidArgument);
    CHECK(r.error().message().find(c.says) != std::string::npos);
  }
  // Parse applies the same rule to bytes built without the draft's check.
  v1::SignedCharter sc;
  v1::Charter ch;
  REQUIRE(ch.ParseFromString(Charter::Parse(NewUnsignedCharter(WitnessedDraft()).value()).value().charter_bytes()));
  ch.set_required_cosignatures(5);
  sc.set_charter(ch.SerializeAsString());
  auto parsed = Charter::Parse(sc.SerializeAsString());
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().message().find("exceeds the 2 witnesses") != std::string::npos);
}

}  // namespace
}  // namespace parley
