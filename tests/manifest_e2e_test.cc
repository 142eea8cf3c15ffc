// Manifests between two real nodes (docs/PROTOCOL.md §8): RU commits a list
// of remains, proposes with its commitment, UA accepts; an observer is refused
// the manifest while UA's node fetches it sealed to UA's key; RU's feed
// records the disclosure; UA's receipt reconciles an arrival list (3 missing,
// 2 not on the manifest, 5 unidentified) and the agreement is disputed; a
// family's proof verifies offline and fails when altered; erasure keeps every
// signature and the other proofs. Privacy canaries planted in the manifest
// appear in no log, bundle, audit, CLI output, error message or data file.
#include <doctest/doctest.h>

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "crypto/seal.h"
#include "node/daemon/peer_auth.h"
#include "node_harness.h"
#include "parley/v1/manifest.pb.h"
#include "parley/v1/peer.grpc.pb.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
namespace fs = std::filesystem;
using test::RunParley;

constexpr int kRecords = 20;

// Unique per run, so a hit can only come from this test's data.
std::string CanarySeed() {
  Digest d;
  RandomBytes({d.bytes.data(), d.bytes.size()});
  return ToHex(d).substr(0, 10);
}

struct Canaries {
  std::string seed = CanarySeed();
  std::string Name(int i) const { return "Canaryname" + seed + "x" + std::to_string(i); }
  std::string Tag(int i) const { return "TAG" + seed + "-" + std::to_string(1000 + i); }
  std::string Seal(int i) const { return "SEAL" + seed + "n" + std::to_string(i); }
  std::string Place(int i) const { return "Canaryfield" + seed + " sector " + std::to_string(i); }
  std::vector<std::string> All() const {
    std::vector<std::string> out;
    for (int i = 0; i < kRecords + 4; ++i) {
      out.push_back(Name(i));
      out.push_back(Tag(i));
      out.push_back(Seal(i));
      out.push_back(Place(i));
    }
    return out;
  }
};

std::string ManifestCsv(const Canaries& c) {
  std::string csv = "tag,name,recovered_on,recovered_at,identification,seal\n";
  for (int i = 0; i < kRecords; ++i) {
    const bool unidentified = i % 7 == 6;
    csv += c.Tag(i) + "," + (unidentified ? "" : c.Name(i)) + ",2025-05-" + std::to_string(10 + i % 18) + "," +
           c.Place(i) + "," + (unidentified ? "unidentified" : "identity_disc") + "," + c.Seal(i) + "\n";
  }
  return csv;
}

// 17 of the 20 matched (3 missing), 2 identified but not on the manifest,
// 5 unidentified.
std::string ArrivalsCsv(const Canaries& c) {
  std::string csv = "arrival_id,record_id,status\n";
  for (int i = 0; i < kRecords - 3; ++i) csv += "UA-" + std::to_string(i) + "," + c.Tag(i) + ",identified\n";
  csv += "UA-x1," + c.Tag(kRecords + 1) + ",identified\n";
  csv += "UA-x2," + c.Tag(kRecords + 2) + ",identified\n";
  for (int i = 0; i < 5; ++i) csv += "UA-u" + std::to_string(i) + ",,unidentified\n";
  return csv;
}

void WriteText(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string ReadAllBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every canary found in `text`, with where.
void Scan(const std::string& where, const std::string& text, const Canaries& c, std::vector<std::string>& hits) {
  for (const std::string& canary : c.All()) {
    if (text.find(canary) != std::string::npos) hits.push_back(where + ": " + canary);
  }
}

grpc::Status FetchAs(const std::string& address, const SecretKey& key, const Digest& root,
                     std::string* sealed) {
  auto stub = v1::Peer::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  AddPeerAuth(ctx, key, test::TheCharter().ledger_id(), "/parley.v1.Peer/GetManifest");
  v1::GetManifestRequest req;
  req.set_ledger_id(test::TheCharter().ledger_id().str());
  req.set_root(root.str());
  auto reader = stub->GetManifest(&ctx, req);
  v1::ManifestChunk chunk;
  while (reader->Read(&chunk)) sealed->append(chunk.sealed());
  return reader->Finish();
}

nlohmann::json Agreement(const test::NodeProcess& node) {
  auto r = node.Cli({"list", "--json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || j["proposals"].empty()) return nullptr;
  return j["proposals"][0];
}

TEST_SUITE("e2e") {

TEST_CASE("manifests: commit, share with the other party only, disclosure on record, reconciliation disputes, proofs, erasure, no canary leaks") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  const Canaries c;
  std::vector<std::pair<std::string, std::string>> outputs;  // every CLI output, for the canary scan
  const auto run = [&](const test::NodeProcess& node, std::vector<std::string> args) {
    const std::string cmd = args.empty() ? "" : args[0];
    auto r = node.Cli(std::move(args));
    outputs.emplace_back(cmd, r.out + r.err);
    return r;
  };
  test::TempDir files;  // the operators' own files (the CSVs): not scanned
  const fs::path csv = files.path() / "ru-remains.csv";
  WriteText(csv, ManifestCsv(c));

  // Bad input: a malformed row names line and column, quotes no value and
  // commits nothing.
  {
    std::string bad = ManifestCsv(c);
    bad.replace(bad.find("2025-05-13"), 10, c.Name(kRecords + 3));  // line 5: a name where the date goes
    const fs::path bad_csv = files.path() / "bad.csv";
    WriteText(bad_csv, bad);
    auto r = run(n.ru, {"manifest", "commit", bad_csv.string(), "--kind", "remains"});
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.err.find("line 5, column 3 (recovered_on)") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("nothing was committed") != std::string::npos, r.err);
    auto list = run(n.ru, {"manifest", "list", "--json"});
    CHECK(nlohmann::json::parse(list.out).empty());
  }

  auto committed = run(n.ru, {"manifest", "commit", csv.string(), "--kind", "remains", "--json"});
  REQUIRE_MESSAGE(committed.code == 0, committed.err);
  const auto cj = nlohmann::json::parse(committed.out);
  const std::string root_hex = cj["root"];
  const std::string commitment = cj["commitment"];
  CHECK(cj["count"] == kRecords);
  const Digest root = *Digest::FromBytes(*FromHex(root_hex));

  auto proposed = run(n.ru, {"propose", "--kind", "remains_transfer", "--transfer",
                             "RU>UA:remains:" + std::to_string(kRecords) + ":" + root_hex, "--crossing",
                             "Belarus-Ukraine border", "--transport", "road", "--from", "2025-06-11T08:00Z",
                             "--until", "2025-06-16T18:00Z", "--intermediary", "ICRC", "--allow-past", "--json"});
  REQUIRE_MESSAGE(proposed.code == 0, proposed.err);
  const std::string proposal = nlohmann::json::parse(proposed.out)["id"];
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  auto accepted = run(n.ua, {"accept", proposal.substr(0, 12)});
  REQUIRE_MESSAGE(accepted.code == 0, accepted.err);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));

  // Only the other party gets the manifest: an observer and a stranger are
  // refused, RU itself too; UA's key opens what RU's node sends.
  {
    std::string sealed;
    grpc::Status s = FetchAs(n.ru.address(), test::ObserverKey(), root, &sealed);
    CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(sealed.empty());
    s = FetchAs(n.ru.address(), SecretKey::FromSeed(test::SeedFrom(0x77)), root, &sealed);
    CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    s = FetchAs(n.ru.address(), test::PartyKey(kRU), root, &sealed);
    CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK(sealed.empty());
    s = FetchAs(n.ru.address(), test::PartyKey(kUA), root, &sealed);
    REQUIRE_MESSAGE(s.ok(), s.error_message());
    CHECK_FALSE(OpenSealed(test::ObserverKey(), sealed).has_value());
    auto plain = OpenSealed(test::PartyKey(kUA), sealed);
    REQUIRE(plain.has_value());
    v1::ManifestData data;
    REQUIRE(data.ParseFromString(*plain));
    CHECK(data.leaves_size() == kRecords);
    CHECK(data.root() == root.str());
    // In transit it is sealed: no canary in the bytes on the wire.
    std::vector<std::string> hits;
    Scan("sealed manifest", sealed, c, hits);
    CHECK(hits.empty());
  }

  // Handover by RU; receipt by UA with its arrival list. UA's node fetches
  // the manifest itself (the agreed transfer names it).
  auto handed = run(n.ru, {"handover", proposal.substr(0, 12), "--count", std::to_string(kRecords + 4),
                           "--manifest", commitment, "--place", "border crossing"});
  REQUIRE_MESSAGE(handed.code == 0, handed.err);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  const fs::path arrivals = files.path() / "ua-arrivals.csv";
  // A malformed arrival list (an unknown status on line 4) is refused with
  // line and column, and nothing is signed.
  {
    std::string bad = ArrivalsCsv(c);
    const size_t line4 = bad.find("UA-2,");
    bad.replace(bad.find("identified", line4), 10, "found");
    WriteText(arrivals, bad);
    const uint64_t ua_head = n.ua.HeadOf(kUA).seq;
    auto r = run(n.ua, {"receipt", proposal.substr(0, 12), "--arrivals", arrivals.string()});
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.err.find("line 4, column 3 (status)") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("nothing was signed") != std::string::npos, r.err);
    CHECK(n.ua.HeadOf(kUA).seq == ua_head);
  }
  WriteText(arrivals, ArrivalsCsv(c));
  // A receipt the node refuses keeps nothing, and signs nothing: one naming
  // the wrong manifest count (the CLI refuses it after the node's figures),
  // one whose figures are not what the list gives (sent straight over the
  // operator socket), and an arrival list sent with a statement.
  {
    const uint64_t ua_head = n.ua.HeadOf(kUA).seq;
    auto wrong_count = run(n.ua, {"receipt", proposal.substr(0, 12), "--arrivals", arrivals.string(), "--manifest",
                                  root_hex + ":" + std::to_string(kRecords + 1)});
    CHECK(wrong_count.code == 2);
    CHECK_MESSAGE(wrong_count.err.find("the manifest holds 20 records, not 21") != std::string::npos, wrong_count.err);
    v1::Entry body;
    v1::Receipt* r = body.mutable_receipt();
    r->set_agreement(*FromHex(proposal));
    r->set_transfer_index(0);
    r->set_count(kRecords + 4);
    r->set_place("Kyiv morgue");
    r->set_received_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
    r->mutable_reconciliation()->set_matched(kRecords + 4);  // all matched: not what the list gives
    r->mutable_manifest()->set_root(root.str());
    r->mutable_manifest()->set_count(kRecords);
    auto client = n.ua.Client();
    // The figures the list gives, against a manifest count it does not have:
    // the node refuses it itself.
    {
      v1::Entry miscounted = body;
      v1::Receipt* m = miscounted.mutable_receipt();
      m->mutable_reconciliation()->set_matched(17);
      m->mutable_reconciliation()->set_missing(3);
      m->mutable_reconciliation()->set_not_on_manifest(2);
      m->mutable_reconciliation()->set_unidentified(5);
      m->mutable_manifest()->set_count(kRecords + 1);
      auto refused = client->Submit(miscounted, "miscounted", ArrivalsCsv(c));
      REQUIRE_FALSE(refused.has_value());
      CHECK(refused.error().code() == Code::kInvalidArgument);
      CHECK_MESSAGE(refused.error().message() == "the manifest holds 20 records, not the 21 the receipt names",
                    refused.error().message());
    }
    auto forged = client->Submit(body, "forged-figures", ArrivalsCsv(c));
    REQUIRE_FALSE(forged.has_value());
    CHECK(forged.error().code() == Code::kInvalidArgument);
    CHECK_MESSAGE(forged.error().message() ==
                      "the receipt says 24 received, 24 matched, 0 missing, 0 not on the manifest, 0 unidentified, 0 "
                      "the other side's; the arrival list gives 24 received, 17 matched, 3 missing, 2 not on the "
                      "manifest, 5 unidentified, 0 the other side's",
                  forged.error().message());
    v1::Entry statement;
    statement.mutable_statement()->set_text("an arrival list goes with a receipt only");
    auto stray = client->Submit(statement, "stray-arrivals", ArrivalsCsv(c));
    REQUIRE_FALSE(stray.has_value());
    CHECK(stray.error().code() == Code::kInvalidArgument);
    CHECK_MESSAGE(stray.error().message() == "an arrival list goes only with a receipt that names a manifest",
                  stray.error().message());
    CHECK(n.ua.HeadOf(kUA).seq == ua_head);
    auto saved = client->GetReconciliations(root);
    REQUIRE(saved.has_value());
    CHECK(saved->reconciliations_size() == 0);
  }
  auto received = run(n.ua, {"receipt", proposal.substr(0, 12), "--arrivals", arrivals.string(), "--place",
                             "Kyiv morgue"});
  REQUIRE_MESSAGE(received.code == 0, received.err);
  CHECK_MESSAGE(received.out.find("17 matched, 3 missing, 2 not on the manifest, 5 unidentified, 0 the other") !=
                    std::string::npos,
                received.out);
  REQUIRE(test::Eventually([&] { return n.Converged(); }));

  for (const test::NodeProcess* node : {&n.ua, &n.ru}) {
    const nlohmann::json a = Agreement(*node);
    REQUIRE(a.is_object());
    const auto& t = a["agreement"]["transfers"][0];
    CHECK(a["agreement"]["state"] == "disputed");
    CHECK(t["received"] == kRecords + 4);
    CHECK(t["reconciliation"]["matched"] == 17);
    CHECK(t["reconciliation"]["missing"] == 3);
    CHECK(t["reconciliation"]["not_on_manifest"] == 2);
    CHECK(t["reconciliation"]["unidentified"] == 5);
    CHECK(t["reconciliation"]["other_side"] == 0);
    CHECK(t["receipt_manifest"] == root_hex);
  }
  // UA's operator reads RU's list (their own node, their own file, mode
  // 0600) and the per-person outcome of the reconciliation. Not recorded for
  // the canary scan: showing the lists to their own operator is the point.
  {
    const fs::path exported = files.path() / "ru-list.csv";
    auto e = n.ua.Cli({"manifest", "export", root_hex, "--out", exported.string()});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    CHECK((fs::status(exported).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
    const std::string text = ReadAllBytes(exported);
    CHECK(std::count(text.begin(), text.end(), '\n') == kRecords + 1);
    CHECK(text.find(c.Name(4)) != std::string::npos);
    CHECK(n.ua.Cli({"manifest", "export", root_hex, "--out", exported.string()}).code != 0);  // never overwritten
    auto r = n.ua.Cli({"manifest", "reconciliation", root_hex, "--json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto rj = nlohmann::json::parse(r.out);
    REQUIRE(rj.size() == 1);
    // It names the signed receipt that carries its figures.
    const size_t id_at = received.out.rfind("id ");
    REQUIRE(id_at != std::string::npos);
    CHECK(rj[0]["receipt"] == received.out.substr(id_at + 3, 64));
    std::map<std::string, int> outcomes;
    for (const auto& l : rj[0]["lines"]) ++outcomes[l["outcome"]];
    CHECK(outcomes["matched"] == 17);
    CHECK(outcomes["missing"] == 3);
    CHECK(outcomes["not_on_manifest"] == 2);
    CHECK(outcomes["unidentified"] == 5);
  }
  // Only the node itself signs Disclose entries: its operator cannot submit one.
  {
    const uint64_t head = n.ua.HeadOf(kUA).seq;
    v1::Entry fake;
    fake.mutable_disclose()->mutable_manifest()->set_root(FromHex(root_hex).value());
    fake.mutable_disclose()->mutable_manifest()->set_count(20);
    fake.mutable_disclose()->set_to_party(kRU);
    auto refused = n.ua.Client()->Submit(fake, "fake-disclosure");
    REQUIRE_FALSE(refused.has_value());
    CHECK_MESSAGE(refused.error().message().find("made by the node itself") != std::string::npos,
                  refused.error().ToString());
    CHECK(n.ua.HeadOf(kUA).seq == head);
  }

  auto shown = run(n.ua, {"show", proposal.substr(0, 12)});
  CHECK_MESSAGE(shown.out.find("DISPUTED") != std::string::npos, shown.out);
  CHECK_MESSAGE(shown.out.find("3 missing") != std::string::npos, shown.out);

  // The disclosures (the test's fetch as UA and UA's node's) are on record in
  // RU's feed, naming manifest, recipient, and (the entry's) time.
  {
    auto feed = n.ru.Client()->ReadRaw(kRU);
    REQUIRE(feed.has_value());
    int disclosures = 0;
    for (const std::string& env : *feed) {
      v1::SignedEntry se;
      v1::Entry e;
      REQUIRE(se.ParseFromString(env));
      REQUIRE(e.ParseFromString(se.entry()));
      if (e.has_disclose() && ToHex(e.disclose().manifest().root()) == root_hex &&
          e.disclose().manifest().count() == 20 && e.disclose().to_party() == kUA) {
        ++disclosures;
      }
    }
    CHECK(disclosures == 2);
    auto held = run(n.ua, {"manifest", "list", "--json"});
    auto hj = nlohmann::json::parse(held.out);
    REQUIRE(hj.size() == 1);
    CHECK(hj[0]["author"] == "RU");
    CHECK(hj[0]["root"] == root_hex);
  }

  // A family's proof, from either node; verified offline against the charter.
  test::TempDir family;
  const fs::path proof = family.path() / "proof.json";
  const fs::path charter = family.path() / "charter";
  WriteText(charter, test::TestCharter());
  auto proved = run(n.ua, {"manifest", "prove", root_hex, "--record", c.Tag(4), "--out", proof.string()});
  REQUIRE_MESSAGE(proved.code == 0, proved.err);
  auto verified = RunParley({"manifest", "verify", proof.string(), "--charter", charter.string()});
  CHECK_MESSAGE(verified.code == 0, (verified.out + verified.err));
  CHECK_MESSAGE(verified.out.find("VALID: record 5 of 20") != std::string::npos, verified.out);
  {
    const std::string text = ReadAllBytes(proof);
    CHECK(text.find(c.Name(4)) != std::string::npos);  // the family's own record
    // No other record: only record 4's own values may appear.
    std::vector<std::string> hits;
    Scan("proof", text, c, hits);
    int others = 0;
    for (const std::string& h : hits) {
      if (h.find(c.Name(4)) == std::string::npos && h.find(c.Tag(4)) == std::string::npos &&
          h.find(c.Seal(4)) == std::string::npos && h.find(c.Place(4)) == std::string::npos) {
        ++others;
      }
    }
    CHECK(others == 0);
    std::string altered = text;
    altered.replace(altered.find(c.Name(4)), c.Name(4).size(), c.Name(5));
    const fs::path forged = family.path() / "forged.json";
    WriteText(forged, altered);
    auto bad = RunParley({"manifest", "verify", forged.string(), "--charter", charter.string()});
    CHECK_MESSAGE(bad.code == 1, (bad.out + bad.err));
    CHECK(bad.out.find("INVALID") != std::string::npos);
    // The same proof against a charter that cannot be read: no verdict.
    auto unusable = RunParley({"manifest", "verify", forged.string(), "--charter", (family.path() / "lost").string()});
    CHECK_MESSAGE(unusable.code == 2, (unusable.out + unusable.err));
  }

  // Erasure on RU's node: that record can no longer be proved there; the
  // proof already given out, and every other record's, still verify.
  auto erased = run(n.ru, {"manifest", "erase", root_hex, "--record", c.Tag(4)});
  REQUIRE_MESSAGE(erased.code == 0, erased.err);
  auto gone = run(n.ru, {"manifest", "prove", root_hex, "--record", c.Tag(4), "--out",
                         (family.path() / "gone.json").string()});
  CHECK(gone.code != 0);
  CHECK(gone.err.find(c.Tag(4)) == std::string::npos);
  {
    // Reconciled after the erasure, the erased person counts missing (and an
    // arrival naming them is not on the manifest any more).
    auto figures = n.ru.Client()->ReconcileArrivals(root, ArrivalsCsv(c));
    REQUIRE(figures.has_value());
    CHECK(figures->figures().matched() == 16);
    CHECK(figures->figures().missing() == 4);
    CHECK(figures->figures().not_on_manifest() == 3);
  }
  auto still = RunParley({"manifest", "verify", proof.string(), "--charter", charter.string()});
  CHECK(still.code == 0);
  auto other = run(n.ru, {"manifest", "prove", root_hex, "--record", c.Tag(9), "--out",
                          (family.path() / "other.json").string()});
  REQUIRE_MESSAGE(other.code == 0, other.err);
  CHECK(RunParley({"manifest", "verify", (family.path() / "other.json").string(), "--charter", charter.string()})
            .code == 0);

  // Fetching in a loop cannot fill RU's feed: 10 disclosures an hour, then
  // RESOURCE_EXHAUSTED and nothing signed.
  {
    int ok = 0;
    grpc::Status last;
    for (int i = 0; i < 10 && last.ok(); ++i) {
      std::string sealed;
      last = FetchAs(n.ru.address(), test::PartyKey(kUA), root, &sealed);
      if (last.ok()) ++ok;
    }
    CHECK(ok == 8);  // after the 2 above
    CHECK(last.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    REQUIRE(test::Eventually([&] { return n.Converged(); }));  // (the audit below counts the disclosures)
  }

  // Export and audit; the audit shows the figures and lists the disclosures.
  const fs::path bundle = n.root.path() / "bundle.parley";
  REQUIRE(run(n.ua, {"export", bundle.string()}).code == 0);
  auto audit = RunParley({"audit", bundle.string()});
  outputs.emplace_back("audit", audit.out + audit.err);
  CHECK_MESSAGE(audit.out.find("3 missing") != std::string::npos, audit.out);
  {
    auto aj = RunParley({"audit", bundle.string(), "--json"});
    auto j = nlohmann::json::parse(aj.out);
    CHECK(j["manifest_disclosures"].size() == 10);
    CHECK(j["manifest_disclosures"][0]["manifest"] == root_hex);
    CHECK(j["manifest_disclosures"][0]["to"] == "UA");
    CHECK(j["manifest_disclosures"][0]["party"] == "RU");
    const fs::path html = n.root.path() / "audit.html";
    auto page = RunParley({"audit", bundle.string(), "--html", html.string()});
    CHECK(page.code == 0);
    const std::string text = ReadAllBytes(html);
    CHECK(text.find("id=\"manifest-disclosures\"") != std::string::npos);
    CHECK(text.find("RU shared manifest " + root_hex.substr(0, 16)) != std::string::npos);
  }

  n.ua.Stop();
  n.ru.Stop();

  // The canary scan: logs, bundle, every file under both nodes' folders
  // (LevelDB tables and logs, the manifest stores), every CLI output.
  std::vector<std::string> hits;
  Scan("the manifest file itself", ManifestCsv(c), c, hits);
  REQUIRE(hits.size() >= 3 * kRecords);  // the scan does find canaries where they are
  hits.clear();
  for (const auto& entry : fs::recursive_directory_iterator(n.root.path())) {
    if (entry.is_regular_file()) Scan(entry.path().string(), ReadAllBytes(entry.path()), c, hits);
  }
  for (const auto& [cmd, text] : outputs) Scan("output of " + cmd, text, c, hits);
  CHECK_MESSAGE(hits.empty(), hits.size() << " canaries leaked, first: " << (hits.empty() ? "" : hits[0]));
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
