// Key rotation between two real nodes (docs/PROTOCOL.md §5.1, §10): `parley
// rotate-key` on UA, RU's node acknowledges on receipt, UA signs with the new
// key from then on, the peer port refuses UA's retired key, UA restarts with
// either key file arrangement the operator may have, and the exported bundle
// audits across the rotation with the declared-compromised entry void.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "crypto/key_file.h"
#include "node/protocol/entry.h"
#include "node_harness.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

// The key that signed an envelope, among the candidates.
int SignedBy(const std::string& envelope, const std::vector<PublicKey>& keys) {
  v1::SignedEntry se;
  if (!se.ParseFromString(envelope)) return -1;
  auto sig = Signature::FromBytes(se.signature());
  if (!sig) return -1;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (Verify(keys[i], kEntryDomain, se.entry(), *sig)) return static_cast<int>(i);
  }
  return -1;
}

std::string Why(const Result<v1::SubmitResponse>& r) { return r ? "" : r.error().ToString(); }

TEST_SUITE("e2e") {

TEST_CASE("keys over time: rotate-key, acknowledgement by the other node, new key signs, retired key refused, audit across the rotation") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  auto ua = n.ua.Client();
  auto ru = n.ru.Client();

  // UA#1 a proposal, UA#2 a statement UA will declare compromised (as if a
  // thief had signed it), RU#1 a statement.
  auto proposal = ua->Submit(test::Propose(test::RemainsTerms(kUA, 40, test::kT0 + 86400000)), "p1");
  REQUIRE_MESSAGE(proposal.has_value(), Why(proposal));
  auto stolen = ua->Submit(test::Say("UA withdraws from all talks"), "s1");
  REQUIRE_MESSAGE(stolen.has_value(), Why(stolen));
  REQUIRE(ru->Submit(test::Say("RU is ready"), "r1").has_value());
  REQUIRE(test::Eventually([&] { return n.Converged(); }));

  // A manifest committed under the old key (its store's master key is
  // wrapped for each key the node holds: checked at the end).
  const auto csv = n.root.path() / "ua-prisoners.csv";
  std::ofstream(csv) << "service_number,surname,first_names,date_of_birth,rank,category,consent\n"
                     << "RU-1,Petrov,Ivan,1990-01-02,private,other,yes\n";
  auto committed = n.ua.Cli({"manifest", "commit", csv.string(), "--kind", "prisoners", "--json"});
  REQUIRE_MESSAGE(committed.code == 0, committed.err);
  const std::string manifest_root = nlohmann::json::parse(committed.out)["root"];

  const SecretKey new_key = SecretKey::FromSeed(test::SeedFrom(0x60));
  const PublicKey old_pub = test::PartyKey(kUA).public_key();
  const PublicKey new_pub = new_key.public_key();
  const auto new_key_file = n.ua.dir() / "next.key";
  REQUIRE(WriteKeyFile(new_key_file, new_key, "test passphrase", InteractiveKdfParams()).ok());
  const uint64_t ua_head = n.ua.HeadOf(kUA).seq;

  // Bad input first: a compromise range reaching past the rotation itself is
  // refused with the reason, and nothing is signed.
  {
    auto bad = n.ua.Cli({"rotate-key", "--new-key", new_key_file.string(), "--compromised-from", "99",
                         "--passphrase-env", "PARLEY_TEST_PASSPHRASE"});
    CHECK(bad.code != 0);
    CHECK_MESSAGE(bad.err.find("compromised") != std::string::npos, bad.err);
    CHECK(n.ua.HeadOf(kUA).seq == ua_head);
    auto other = n.ua.Cli({"rotate-key", "--new-key", (n.ru.dir() / "key").string(), "--passphrase-env",
                           "PARLEY_TEST_PASSPHRASE"});
    CHECK(other.code != 0);
    CHECK_MESSAGE(other.err.find("RU") != std::string::npos, other.err);
    CHECK(n.ua.HeadOf(kUA).seq == ua_head);
  }

  // The rotation, declaring UA#2 compromised.
  auto rot = n.ua.Cli({"rotate-key", "--new-key", new_key_file.string(), "--compromised-from", "2",
                       "--passphrase-env", "PARLEY_TEST_PASSPHRASE", "--request-id", "rotate-1"});
  REQUIRE_MESSAGE(rot.code == 0, rot.err);
  CHECK_MESSAGE(rot.out.find("signed rotate_key UA#3") != std::string::npos, rot.out);
  // A retried request gives the same entry, not a second rotation.
  auto again = n.ua.Cli({"rotate-key", "--new-key", new_key_file.string(), "--compromised-from", "2",
                         "--passphrase-env", "PARLEY_TEST_PASSPHRASE", "--request-id", "rotate-1"});
  CHECK_MESSAGE(again.code == 0, again.err);
  CHECK(n.ua.HeadOf(kUA).seq == 3);

  // RU's node acknowledges on receipt; both nodes then see it in effect.
  const auto t0 = std::chrono::steady_clock::now();
  auto in_effect = [&](test::NodeProcess& node) {
    auto st = node.Client()->GetStatus();
    return st && st->rotations_size() == 1 && st->rotations(0).acknowledged_by() != 0;
  };
  REQUIRE(test::Eventually([&] { return in_effect(n.ru) && in_effect(n.ua); }, std::chrono::seconds(10)));
  const double ack_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto ru_feed = ru->ReadFeed(test::TheCharter(), kRU);
  REQUIRE(ru_feed.has_value());
  REQUIRE(ru_feed->size() == 2);
  CHECK(ru_feed->back().entry.has_statement());
  CHECK(ru_feed->back().entry.statement().text().find("acknowledges UA's key rotation at UA#3") != std::string::npos);
  CHECK(ru_feed->back().entry.seen().seq() >= 3);

  // UA signs with the new key from now on; RU verifies it.
  auto after = ua->Submit(test::Say("signed with the new key"), "s2");
  REQUIRE_MESSAGE(after.has_value(), Why(after));
  CHECK(SignedBy(after->envelope(), {old_pub, new_pub}) == 1);
  CHECK(SignedBy(stolen->envelope(), {old_pub, new_pub}) == 0);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  auto ua_list = n.ua.Cli({"list", "--json"});
  auto ru_list = n.ru.Cli({"list", "--json"});
  REQUIRE_MESSAGE(ua_list.code == 0, ua_list.err);
  CHECK(ua_list.out == ru_list.out);
  auto status = n.ru.Cli({"status"});
  CHECK_MESSAGE(status.out.find("key rotation UA#3") != std::string::npos, status.out);
  CHECK_MESSAGE(status.out.find("in effect (acknowledged by RU#2)") != std::string::npos, status.out);
  CHECK_MESSAGE(status.out.find("declares UA#2–UA#2 compromised") != std::string::npos, status.out);

  // The peer port: UA's retired key is refused, its new key admitted.
  const std::string charter = (n.ua.dir() / "charter").string();
  auto with_old = test::RunParley({"audit", "--peer", n.ru.address(), "--charter", charter, "--key",
                                   (n.ua.dir() / "key").string(), "--passphrase-env", "PARLEY_TEST_PASSPHRASE",
                                   "--plaintext", "--json"});
  CHECK(with_old.code == 2);
  CHECK_MESSAGE(with_old.err.find("neither a party's key in effect") != std::string::npos, with_old.err);
  auto with_new = test::RunParley({"audit", "--peer", n.ru.address(), "--charter", charter, "--key",
                                   new_key_file.string(), "--passphrase-env", "PARLEY_TEST_PASSPHRASE",
                                   "--plaintext", "--json"});
  CHECK_MESSAGE(with_new.code == 0, with_new.err);

  // Restarts. (a) old key_file plus next_key_file: signs with the new key.
  REQUIRE(n.ua.Stop() == 0);
  {
    std::ofstream(n.ua.dir() / "node.conf", std::ios::app) << "next_key_file = next.key\n";
  }
  REQUIRE(n.ua.Start());
  auto r1 = n.ua.Client()->Submit(test::Say("restarted with next_key_file"), "s3");
  REQUIRE_MESSAGE(r1.has_value(), Why(r1));
  CHECK(SignedBy(r1->envelope(), {old_pub, new_pub}) == 1);
  REQUIRE(n.ua.Stop() == 0);
  // (b) only the old key: refused, with the reason, and nothing changes.
  {
    std::string conf = test::ReadText(n.ua.dir() / "node.conf");
    conf.erase(conf.find("next_key_file = next.key\n"));
    std::ofstream(n.ua.dir() / "node.conf", std::ios::trunc) << conf;
  }
  CHECK_FALSE(n.ua.Start());
  CHECK_MESSAGE(test::ReadText(n.ua.log()).find("the key is retired") != std::string::npos,
                test::ReadText(n.ua.log()));
  // (c) the new key moved over key_file, as the operator is told to.
  std::filesystem::rename(new_key_file, n.ua.dir() / "key");
  REQUIRE(n.ua.Start());
  auto r2 = n.ua.Client()->Submit(test::Say("the new key is the key"), "s4");
  REQUIRE_MESSAGE(r2.has_value(), Why(r2));
  CHECK(SignedBy(r2->envelope(), {old_pub, new_pub}) == 1);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));

  // The audit verifies across the rotation; UA#2 is void as compromised.
  const auto bundle = n.root.path() / "rotation.parley";
  REQUIRE(n.ru.Cli({"export", bundle.string()}).code == 0);
  auto audit = test::RunParley({"audit", bundle.string(), "--json"});
  REQUIRE_MESSAGE(audit.code == 0, audit.err);
  auto j = nlohmann::json::parse(audit.out);
  CHECK(j["clean"] == true);
  CHECK(j["entries"]["UA"] == 6);
  REQUIRE(j["key_rotations"].size() == 1);
  CHECK(j["key_rotations"][0]["party"] == "UA");
  CHECK(j["key_rotations"][0]["in_effect"] == true);
  CHECK(j["key_rotations"][0]["compromised_from"] == 2);
  bool compromised_found = false;
  for (const auto& f : j["findings"]) {
    if (f["kind"] == "compromised" && f["where"].get<std::string>().find("UA#2") != std::string::npos) {
      compromised_found = true;
    }
  }
  CHECK_MESSAGE(compromised_found, audit.out);
  const auto html = n.root.path() / "rotation.html";
  auto text = test::RunParley({"audit", bundle.string(), "--html", html.string()});
  CHECK_MESSAGE(text.out.find("Verdict: CLEAN") != std::string::npos, text.out);
  CHECK_MESSAGE(text.out.find("UA#3 rotates UA's key to " + ToHex(new_pub).substr(0, 16)) != std::string::npos, text.out);
  const std::string page = test::ReadText(html);
  CHECK(page.find("id=\"key-rotations\"") != std::string::npos);
  CHECK(page.find("UA#3 rotates UA&#39;s key") != std::string::npos);
  CHECK(page.find("declares UA#2–UA#2 signed with a compromised key") != std::string::npos);
  MESSAGE("rotation acknowledged by RU's node and in effect on both within ", ack_s, " s");

  // UA, now running on the new key alone, still opens its manifest store: RU
  // fetches the manifest committed before the rotation (sealed to RU's key).
  auto fetched = n.ru.Cli({"manifest", "fetch", manifest_root});
  CHECK_MESSAGE(fetched.code == 0, fetched.err);
  CHECK_MESSAGE(fetched.out.find("holding manifest " + manifest_root + ":1") != std::string::npos, fetched.out);
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
