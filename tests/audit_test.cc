// The auditor against a bundle exported by two real nodes, and against every
// class of tampering with it.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "node/report/audit.h"
#include "node/report/bundle.h"
#include "node_harness.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;
namespace fs = std::filesystem;

struct RawBundle {
  std::vector<v1::BundleRecord> records;  // header, charter, entries..., trailer
};

RawBundle ReadRaw(const fs::path& p) {
  std::string bytes = test::ReadText(p);
  RawBundle b;
  size_t pos = 8;
  while (pos < bytes.size()) {
    uint64_t len = 0;
    int shift = 0;
    while (true) {
      uint8_t c = static_cast<uint8_t>(bytes[pos++]);
      len |= static_cast<uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) break;
      shift += 7;
    }
    v1::BundleRecord r;
    PARLEY_CHECK(r.ParseFromString(bytes.substr(pos, len)));
    b.records.push_back(std::move(r));
    pos += len;
  }
  return b;
}

// Writes `b`, by default with the trailer recounted, as a careful forger would.
void WriteRaw(const RawBundle& b, const fs::path& p, bool recount = true) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << kBundleMagic;
  uint64_t entries = 0, forks = 0;
  for (v1::BundleRecord r : b.records) {
    if (r.has_entry()) ++entries;
    if (r.has_fork_proof()) ++forks;
    if (r.has_trailer() && recount) {
      r.mutable_trailer()->set_entry_count(entries);
      r.mutable_trailer()->set_fork_proof_count(forks);
    }
    std::string bytes = r.SerializeAsString();
    uint64_t v = bytes.size();
    while (v >= 0x80) {
      out.put(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.put(static_cast<char>(v));
    out << bytes;
  }
}

v1::Entry EntryOf(const v1::BundleRecord& r) {
  v1::SignedEntry s;
  v1::Entry e;
  PARLEY_CHECK(s.ParseFromString(r.entry()) && e.ParseFromString(s.entry()));
  return e;
}

// A bundle exported by two real nodes after a short exchange, made once.
struct CleanLedger {
  test::TempDir dir;
  fs::path bundle = dir.path() / "clean.parley";
  std::string ua_list, ru_list;

  CleanLedger() {
    test::NodePair n;
    REQUIRE(n.ua.Start());
    REQUIRE(n.ru.Start());
    auto ua = n.ua.Client(), ru = n.ru.Client();
    auto submit = [](OperatorClient& c, const v1::Entry& body) {
      static int rid = 0;
      auto r = c.Submit(body, "audit-" + std::to_string(++rid));
      REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
      return DecodeEntry(r->envelope(), test::TheCharter()).value();
    };
    auto synced = [&] { REQUIRE(test::Eventually([&] { return n.Converged(); })); };
    auto p1 = submit(*ru, test::Propose(test::RemainsTerms(kRU, 1212, test::kT0)));
    synced();
    submit(*ua, test::Say("The timing was set unilaterally."));
    v1::Entry counter = test::Propose(test::RemainsTerms(kRU, 1212, test::kT0 + 4 * 86400000));
    counter.mutable_propose()->set_counters(p1.id.str());
    auto p2 = submit(*ua, counter);
    submit(*ua, test::Say("We propose the later window."));
    synced();
    submit(*ru, test::Accept(p2));
    submit(*ru, test::Handover(p2, 0, 1212));
    synced();
    submit(*ua, test::Receipt(p2, 0, 1212));
    submit(*ua, test::Say("Received and reconciled."));
    synced();
    submit(*ru, test::Attest("refrigerated trucks staged"));
    synced();
    auto e = n.ua.Cli({"export", bundle.string()});
    REQUIRE_MESSAGE(e.code == 0, e.err);
    ua_list = n.ua.Cli({"list", "--json"}).out;
    ru_list = n.ru.Cli({"list", "--json"}).out;
  }
};

CleanLedger& Clean() {
  static CleanLedger ledger;
  return ledger;
}

AuditReport Audit(const fs::path& p) {
  AuditOptions o;
  o.now_ms = test::kT0;
  auto r = AuditBundle(p.string(), o);
  REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
  return *r;
}

// The first finding that is a violation or fork, as "where: what".
std::string FirstProblem(const AuditReport& r) {
  for (const auto& f : r.findings) {
    if (f.kind == "violation" || f.kind == "fork") return f.where + ": " + f.what;
  }
  return "";
}

// Index of a record holding an entry of `party` directly followed by another of the same party.
size_t SameAuthorPair(const RawBundle& b) {
  for (size_t i = 2; i + 1 < b.records.size(); ++i) {
    if (b.records[i].has_entry() && b.records[i + 1].has_entry() &&
        EntryOf(b.records[i]).author() == EntryOf(b.records[i + 1]).author()) {
      return i;
    }
  }
  FAIL("no two consecutive entries of one author");
  return 0;
}

TEST_SUITE("e2e") {

TEST_CASE("the bundle exported by two real nodes audits clean, with zero findings") {
  AuditReport r = Audit(Clean().bundle);
  CHECK(r.clean());
  CHECK(r.findings.empty());
  CHECK(r.entries[kUA] == 5);
  CHECK(r.entries[kRU] == 4);
  CHECK(r.unilateral.size() == 4);  // three statements and one attestation
  auto cli = test::RunParley({"audit", Clean().bundle.string()});
  CHECK(cli.code == 0);
  CHECK(cli.out.find("Verdict: CLEAN") != std::string::npos);
}

TEST_CASE("the auditor's recomputed state equals what both nodes report") {
  auto audit = test::RunParley({"audit", Clean().bundle.string(), "--json"});
  REQUIRE(audit.code == 0);
  auto state = nlohmann::json::parse(audit.out)["state"];
  CHECK(state == nlohmann::json::parse(Clean().ua_list));
  CHECK(state == nlohmann::json::parse(Clean().ru_list));
}

TEST_CASE("every class of tampering is detected with its position and reason") {
  RawBundle clean = ReadRaw(Clean().bundle);
  const fs::path out = Clean().dir.path() / "tampered.parley";
  RawBundle b = clean;
  std::string expect_where, expect_what;

  SUBCASE("one signature bit") {
    v1::SignedEntry s;
    s.ParseFromString(b.records[4].entry());
    std::string sig = s.signature();
    sig[7] ^= 0x20;
    s.set_signature(sig);
    b.records[4].set_entry(s.SerializeAsString());
    expect_where = "record 4";
    expect_what = "bad-signature";
  }
  SUBCASE("one body field") {
    for (size_t i = 2; i < b.records.size(); ++i) {
      if (!b.records[i].has_entry() || !EntryOf(b.records[i]).has_statement()) continue;
      v1::SignedEntry s;
      s.ParseFromString(b.records[i].entry());
      v1::Entry e = EntryOf(b.records[i]);
      e.mutable_statement()->set_text("We agree to the date.");
      s.set_entry(e.SerializeAsString());
      b.records[i].set_entry(s.SerializeAsString());
      expect_where = "record " + std::to_string(i);
      break;
    }
    expect_what = "bad-signature";
  }
  SUBCASE("one count") {
    for (size_t i = 2; i < b.records.size(); ++i) {
      if (!b.records[i].has_entry() || !EntryOf(b.records[i]).has_handover()) continue;
      v1::SignedEntry s;
      s.ParseFromString(b.records[i].entry());
      v1::Entry e = EntryOf(b.records[i]);
      e.mutable_handover()->set_count(1200);
      s.set_entry(e.SerializeAsString());
      b.records[i].set_entry(s.SerializeAsString());
      expect_where = "record " + std::to_string(i);
      break;
    }
    expect_what = "bad-signature";
  }
  SUBCASE("a dropped entry") {
    size_t k = SameAuthorPair(b);
    b.records.erase(b.records.begin() + static_cast<long>(k));
    expect_where = "record " + std::to_string(k);
    expect_what = "seq-gap";
  }
  SUBCASE("two entries swapped") {
    size_t k = SameAuthorPair(b);
    std::swap(b.records[k], b.records[k + 1]);
    expect_where = "record " + std::to_string(k);
    expect_what = "seq-gap";
  }
  SUBCASE("an entry spliced in from another ledger") {
    v1::Entry e = EntryOf(b.records[2]);
    std::string other = e.ledger_id();
    other[0] ^= 1;
    e.set_ledger_id(other);
    v1::BundleRecord r;
    r.set_entry(SignEntry(test::PartyKey(e.author()), e).envelope);
    b.records.insert(b.records.begin() + 5, r);
    expect_where = "record 5";
    expect_what = "wrong-ledger";
  }
  SUBCASE("a forged fork proof") {
    v1::ForkProof f;
    f.mutable_first()->ParseFromString(b.records[2].entry());
    v1::Entry e = EntryOf(b.records[2]);
    e.set_time_ms(e.time_ms() + 1);
    f.mutable_second()->set_entry(e.SerializeAsString());  // keeps the old signature
    f.mutable_second()->set_signature(f.first().signature());
    v1::BundleRecord r;
    *r.mutable_fork_proof() = f;
    b.records.insert(b.records.end() - 1, r);
    expect_where = "record " + std::to_string(b.records.size() - 2);
    expect_what = "fork proof does not verify";
  }
  SUBCASE("a real fork: a second entry at a seq, validly signed") {
    v1::Entry e = EntryOf(b.records[2]);
    e.set_time_ms(e.time_ms() + 1);
    v1::BundleRecord r;
    r.set_entry(SignEntry(test::PartyKey(e.author()), e).envelope);
    b.records.insert(b.records.begin() + 3, r);
    expect_where = "record 3";
    expect_what = "signed two different entries at seq 1";
  }

  WriteRaw(b, out);
  AuditReport r = Audit(out);
  CHECK_FALSE(r.clean());
  const std::string first = FirstProblem(r);
  INFO("first problem: " << first);
  CHECK(first.rfind(expect_where, 0) == 0);
  CHECK(first.find(expect_what) != std::string::npos);
  auto cli = test::RunParley({"audit", out.string()});
  CHECK(cli.code == 1);
  CHECK(cli.out.find("VIOLATIONS FOUND") != std::string::npos);
}

TEST_CASE("a live audit through a node's peer port, as an observer, equals the offline audit of its export") {
  test::NodePair n;
  REQUIRE(n.ua.Start());
  REQUIRE(n.ru.Start());
  auto ru = n.ru.Client();
  auto p = ru->Submit(test::Propose(test::RemainsTerms(kRU, 1212, test::kT0)), "live-1");
  REQUIRE(p.has_value());
  REQUIRE(test::Eventually([&] { return n.Converged(); }));
  auto proposal = DecodeEntry(p->envelope(), test::TheCharter()).value();
  REQUIRE(n.ua.Client()->Submit(test::Accept(proposal), "live-2").has_value());
  REQUIRE(test::Eventually([&] { return n.Converged(); }));

  const std::string charter = (n.ua.dir() / "charter").string();
  const auto observer_key = n.root.path() / "icrc.key";
  REQUIRE(WriteKeyFile(observer_key, test::ObserverKey(), "test passphrase", InteractiveKdfParams()).ok());
  auto live = test::RunParley({"audit", "--peer", n.ru.address(), "--charter", charter, "--key", observer_key.string(),
                               "--passphrase-env", "PARLEY_TEST_PASSPHRASE", "--plaintext", "--json", "--now", "2025-06-08"});
  REQUIRE_MESSAGE(live.code == 0, live.err);
  const auto bundle = n.root.path() / "export.parley";
  REQUIRE(n.ru.Cli({"export", bundle.string()}).code == 0);
  auto offline = test::RunParley({"audit", bundle.string(), "--json", "--now", "2025-06-08"});
  REQUIRE(offline.code == 0);
  auto a = nlohmann::json::parse(live.out), b = nlohmann::json::parse(offline.out);
  CHECK(a["state"] == b["state"]);
  CHECK(a["entries"] == b["entries"]);
  CHECK(a["state"]["proposals"][0]["state"] == "agreed");

  auto nobody = test::RunParley({"audit", "--peer", "127.0.0.1:1", "--charter", charter, "--key",
                                 observer_key.string(), "--passphrase-env", "PARLEY_TEST_PASSPHRASE", "--plaintext"});
  CHECK(nobody.code == 2);
  CHECK(nobody.err.find("cannot read the ledger from 127.0.0.1:1") != std::string::npos);
  CHECK_MESSAGE(nobody.err.find("node at 127.0.0.1:1, GetHeads: unreachable") != std::string::npos, nobody.err);

  // A key the charter does not name: the node refuses the call (PeerClient
  // says which call and why), nothing is audited.
  const auto stranger_key = n.root.path() / "stranger.key";
  REQUIRE(WriteKeyFile(stranger_key, SecretKey::Generate(), "test passphrase", InteractiveKdfParams()).ok());
  auto stranger = test::RunParley({"audit", "--peer", n.ru.address(), "--charter", charter, "--key",
                                   stranger_key.string(), "--passphrase-env", "PARLEY_TEST_PASSPHRASE", "--plaintext"});
  CHECK(stranger.code == 2);
  CHECK(stranger.out.empty());
  CHECK_MESSAGE(stranger.err.find("node at " + n.ru.address() + " refused GetHeads (permission denied)") !=
                    std::string::npos,
                stranger.err);
}

TEST_CASE("unusable input is refused with exit code 2 and says what is wrong") {
  const fs::path dir = Clean().dir.path();
  std::string bytes = test::ReadText(Clean().bundle);
  SUBCASE("truncated") {
    std::ofstream(dir / "cut.parley", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    auto cli = test::RunParley({"audit", (dir / "cut.parley").string()});
    CHECK(cli.code == 2);
    CHECK(cli.err.find("truncated") != std::string::npos);
  }
  SUBCASE("not a bundle") {
    std::ofstream(dir / "not.parley") << "hello";
    auto cli = test::RunParley({"audit", (dir / "not.parley").string()});
    CHECK(cli.code == 2);
    CHECK(cli.err.find("not a Parley bundle") != std::string::npos);
  }
  SUBCASE("unknown version") {
    RawBundle b = ReadRaw(Clean().bundle);
    b.records[0].mutable_header()->set_format_version(7);
    WriteRaw(b, dir / "v7.parley");
    auto cli = test::RunParley({"audit", (dir / "v7.parley").string()});
    CHECK(cli.code == 2);
    CHECK(cli.err.find("unknown format version 7") != std::string::npos);
  }
  SUBCASE("a dropped record with the trailer left as it was") {
    RawBundle b = ReadRaw(Clean().bundle);
    b.records.erase(b.records.begin() + 3);
    WriteRaw(b, dir / "short.parley", /*recount=*/false);  // the forger forgot the trailer
    auto cli = test::RunParley({"audit", (dir / "short.parley").string()});
    CHECK(cli.code == 2);
    CHECK(cli.err.find("trailer counts") != std::string::npos);
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
