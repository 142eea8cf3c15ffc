// Witness coverage and time evidence in the audit (docs/PROTOCOL.md §13):
// bundles with cosigned checkpoints, built here with the party test keys
// (SignFeedCheckpoint) and test witness keys (Cosign), audited through the
// library and through `parley audit --require-witnesses`.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "fixtures.h"
#include "node/protocol/feed_log.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"
#include "node/report/witness_coverage.h"
#include "node/tlog/note.h"
#include "node_harness.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using test::kRU;
using test::kT0;
using test::kUA;

const int64_t kS0 = kT0 / 1000;  // kT0 in POSIX seconds

SecretKey WitnessKey(int i) { return SecretKey::FromSeed(test::SeedFrom(i == 0 ? 0x60 : i == 1 ? 0x80 : 0xa0)); }

std::string WitnessedCharter(const std::string& w1_name, uint32_t required) {
  CharterDraft d;
  d.title = "witnessed";
  d.parties[0] = {"UA", "UA", test::PartyKey(kUA).public_key()};
  d.parties[1] = {"RU", "RU", test::PartyKey(kRU).public_key()};
  d.created_ms = 1;
  d.witnesses.push_back({w1_name, WitnessKey(0).public_key(), "https://w1.example:8443/tlog"});
  d.witnesses.push_back({"w2", WitnessKey(1).public_key(), "http://127.0.0.1:7900"});
  d.required_cosignatures = required;
  auto bytes = NewUnsignedCharter(d).value();
  for (PartyIndex p = 0; p < 2; ++p) bytes = Charter::Parse(bytes).value().Sign(test::PartyKey(p)).value();
  return bytes;
}

// Two feeds of statements under a witnessed charter, their checkpoints, and
// the bundle holding them.
struct World {
  explicit World(std::string w1_name = "w1", uint32_t required = 1)
      : w1(std::move(w1_name)), charter(Charter::Parse(WitnessedCharter(w1, required)).value()) {}

  std::string w1;
  Charter charter;
  std::vector<DecodedEntry> feeds[2];
  std::vector<PartyIndex> order;  // creation order: causal
  std::vector<std::string> notes;  // checkpoint records, in order

  const DecodedEntry& Add(PartyIndex p, int64_t time_ms) {
    v1::Entry body = test::Say("noted " + std::to_string(order.size()));
    auto& feed = feeds[p];
    const auto& other = feeds[1 - p];
    body.set_ledger_id(charter.ledger_id().str());
    body.set_author(p);
    body.set_seq(feed.size() + 1);
    body.set_prev(feed.empty() ? charter.ledger_id().str() : feed.back().id.str());
    if (!other.empty()) {
      body.mutable_seen()->set_seq(other.size());
      body.mutable_seen()->set_id(other.back().id.str());
    }
    body.set_time_ms(time_ms);
    feed.push_back(SignEntry(test::PartyKey(p), body));
    order.push_back(p);
    return feed.back();
  }

  Checkpoint Of(PartyIndex p, uint64_t n) const {
    std::vector<std::string> envelopes;
    for (uint64_t i = 0; i < n; ++i) envelopes.push_back(feeds[p][i].envelope);
    return FeedCheckpoint(charter, p, envelopes);
  }
  // The checkpoint of p's first n entries signed by `key` (default: p's), cosigned by `witnesses` at `time_s`.
  std::string Note(const Checkpoint& cp, PartyIndex p, std::vector<std::pair<int, int64_t>> cosigners,
                   const SecretKey* key = nullptr) const {
    const SecretKey party = test::PartyKey(p);
    std::string note = SignFeedCheckpoint(key ? *key : party, charter, p, cp);
    const std::string text = FormatCheckpoint(cp);
    for (const auto& [w, t] : cosigners) {
      const std::string name = w == 0 ? w1 : w == 1 ? "w2" : "stranger";
      note += FormatSignatureLine(Cosign(WitnessKey(w), name, text, static_cast<uint64_t>(t)));
    }
    return note;
  }
  void Checkpointed(PartyIndex p, uint64_t n, std::vector<std::pair<int, int64_t>> cosigners) {
    notes.push_back(Note(Of(p, n), p, std::move(cosigners)));
  }

  // Writes the bundle, leaving out the last `drop[p]` entries of each feed.
  fs::path Write(const test::TempDir& dir, std::array<uint64_t, 2> drop = {0, 0}) const {
    const fs::path path = dir.path() / "ledger.bundle";
    auto w = BundleWriter::Create(path, charter, "test", kT0).value();
    size_t next[2] = {0, 0};
    for (PartyIndex p : order) {
      const size_t i = next[p]++;
      if (i + drop[p] >= feeds[p].size()) continue;
      REQUIRE(w->AddEntry(feeds[p][i].envelope).ok());
    }
    for (const std::string& n : notes) REQUIRE(w->AddCheckpoint(n).ok());
    REQUIRE(w->Finish().ok());
    return path;
  }

  AuditReport Audit(const fs::path& path, bool require = false, std::optional<uint32_t> k = std::nullopt) const {
    AuditOptions o;
    o.now_ms = kT0 + 86400000;
    o.require_witnesses = require;
    o.required_cosignatures = k;
    auto r = AuditBundle(path.string(), o);
    REQUIRE(r.has_value());
    return std::move(*r);
  }
};

// Five UA and three RU entries a minute apart from kT0, UA first.
void Populate(World& w) {
  for (int i = 0; i < 8; ++i) w.Add(i < 5 ? kUA : kRU, kT0 + 60000 * i);
}

std::vector<const AuditFinding*> Findings(const AuditReport& r, FindingKind kind) {
  std::vector<const AuditFinding*> out;
  for (const AuditFinding& f : r.findings) {
    if (f.kind == kind) out.push_back(&f);
  }
  return out;
}

Charter CharterOf(const AuditReport& r) { return Charter::Parse(r.charter_bytes).value(); }

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST_CASE("the RFC 6962 root of a prefix of the leaves is that of the tree of those leaves, at every size") {
  World w;
  WitnessCoverage cov(w.charter);
  std::mt19937_64 rng(7);
  std::vector<Digest> leaves;
  for (int i = 0; i < 3000; ++i) {
    const std::string bytes = std::to_string(rng());
    leaves.push_back(Rfc6962LeafHash(bytes));
    cov.AddLeaf(kUA, leaves.back());
  }
  for (uint64_t n : {0, 1, 2, 3, 7, 8, 1023, 1024, 1025, 2048, 2049, 2999, 3000}) {
    CAPTURE(n);
    const MerkleTree tree(std::vector<Digest>(leaves.begin(), leaves.begin() + n), MerkleScheme::kRfc6962);
    CHECK(cov.RootOf(kUA, n) == tree.root());
  }
  // Leaves appended after the cache was built: still right.
  for (int i = 0; i < 1100; ++i) {
    leaves.push_back(Rfc6962LeafHash("more" + std::to_string(i)));
    cov.AddLeaf(kUA, leaves.back());
  }
  for (uint64_t n : {3000, 4096, 4100}) {
    const MerkleTree tree(std::vector<Digest>(leaves.begin(), leaves.begin() + n), MerkleScheme::kRfc6962);
    CHECK(cov.RootOf(kUA, n) == tree.root());
  }
}

TEST_CASE("per-entry evidence and K-coverage agree with a brute force over many checkpoints, in bounded time") {
  World w;
  WitnessCoverage cov(w.charter);
  constexpr uint64_t kLeaves = 200000;
  for (uint64_t i = 0; i < kLeaves; ++i) cov.AddLeaf(kUA, Rfc6962LeafHash(std::to_string(i)));
  std::mt19937_64 rng(11);
  struct Cosig {
    uint64_t size, time;
    int witness;
  };
  std::vector<Cosig> all;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 500; ++i) {
    const uint64_t size = rng() % (kLeaves + 1);
    Checkpoint cp{FeedOrigin(w.charter, kUA), size, cov.RootOf(kUA, size), {}};
    std::vector<std::pair<int, int64_t>> cosigners;
    for (int wi = 0; wi < 2; ++wi) {
      if (rng() % 3 == 0) continue;
      const uint64_t t = kS0 + rng() % 100000;
      cosigners.emplace_back(wi, static_cast<int64_t>(t));
      all.push_back({size, t, wi});
    }
    REQUIRE(cov.Add(static_cast<uint64_t>(i), w.Note(cp, kUA, cosigners)).empty());
  }
  cov.Finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("500 checkpoints of a 200,000-entry feed verified in " << seconds << " s");
  for (int probe = 0; probe < 300; ++probe) {
    const uint64_t seq = 1 + rng() % kLeaves;
    std::optional<uint64_t> best;
    for (const Cosig& c : all) {
      if (c.size >= seq && (!best || c.time < *best)) best = c.time;
    }
    const auto ev = cov.Earliest(kUA, seq);
    REQUIRE(ev.has_value() == best.has_value());
    if (best) CHECK(ev->time_s == *best);
  }
  for (size_t k = 1; k <= 2; ++k) {
    std::vector<uint64_t> per(2, 0);
    for (const Cosig& c : all) per[c.witness] = std::max(per[c.witness], c.size);
    std::sort(per.rbegin(), per.rend());
    CHECK(cov.CoveredSize(kUA, k) == per[k - 1]);
  }
  CHECK(cov.CoveredSize(kUA, 3) == 0);  // the charter lists two witnesses
}

TEST_CASE("the backdating and after-the-witness rules, at their edges") {
  EntryEvidence ev{1000, 0, 5, 9, std::optional<uint64_t>(400)};
  CHECK(JudgeTime(1000999, ev) == TimeVerdict::kConsistent);  // within the cosignature's second
  CHECK(JudgeTime(1001000, ev) == TimeVerdict::kAfterWitness);
  CHECK(JudgeTime(400000 - kWitnessClockSkewMs, ev) == TimeVerdict::kConsistent);  // exactly the skew
  CHECK(JudgeTime(400000 - kWitnessClockSkewMs - 1, ev) == TimeVerdict::kBackdated);
  ev.previous_s.reset();  // the witness never cosigned the feed without it: nothing to compare
  CHECK(JudgeTime(0, ev) == TimeVerdict::kConsistent);
}

TEST_CASE("a fully witnessed bundle: every entry's evidence in text, JSON and HTML; --require-witnesses passes") {
  test::TempDir dir;
  World w;
  Populate(w);
  w.Checkpointed(kUA, 3, {{0, kS0 + 200}});
  w.Checkpointed(kUA, 5, {{0, kS0 + 400}, {1, kS0 + 450}});
  w.Checkpointed(kRU, 3, {{0, kS0 + 500}});
  const fs::path path = w.Write(dir);
  const AuditReport r = w.Audit(path, true);
  CHECK(r.clean());
  CHECK(r.Count(FindingKind::kTime) == 0);
  CHECK(r.witnesses.checkpoint_records == 3);
  CHECK(r.witnesses.valid_checkpoints == 3);
  CHECK(r.witnesses.met());
  CHECK(r.exit_code() == 0);
  CHECK(r.witnesses.feeds[kUA].covered == 5);
  CHECK(r.witnesses.feeds[kUA].by_witness == std::vector<uint64_t>{5, 5});
  CHECK(r.witnesses.feeds[kRU].by_witness == std::vector<uint64_t>{3, 0});
  // Per entry: the earliest cosignature of a checkpoint holding it.
  REQUIRE(r.timeline.size() == 8);
  for (const TimelineItem& it : r.timeline) {
    CAPTURE(it.at.seq);
    REQUIRE(it.evidence.has_value());
    CHECK(it.evidence->witness == 0);
    const int64_t expected = it.at.party == kRU ? kS0 + 500 : it.at.seq <= 3 ? kS0 + 200 : kS0 + 400;
    CHECK(it.evidence->time_s == static_cast<uint64_t>(expected));
  }
  const std::string text = RenderAudit(r);
  CHECK(Has(text, "UA#1..#3 existed by 2025-06-08T00:03:20Z, per witness \"w1\""));
  CHECK(Has(text, "UA#4..#5 existed by 2025-06-08T00:06:40Z, per witness \"w1\""));
  CHECK(Has(text, "Witnesses required (1): MET"));
  const nlohmann::json j = AuditJson(r);
  CHECK(j["witnesses"]["met"] == true);
  CHECK(j["witnesses"]["feeds"]["UA"]["covered"] == 5);
  CHECK(j["witnesses"]["feeds"]["UA"]["evidence"][1]["existed_by"] == "2025-06-08T00:06:40Z");
  CHECK(j["findings_omitted"]["time"] == 0);
  const std::string html = RenderAuditHtml(r);
  CHECK(Has(html, "class=\"witness-mark\" data-party=\"UA\" data-seq=\"4\" data-witness=\"w1\""));
  CHECK(Has(html, "id=\"witnesses\""));

  const test::CliResult cli = test::RunParley({"audit", "--require-witnesses", path.string()});
  CHECK(cli.code == 0);
  const test::CliResult json = test::RunParley({"audit", "--json", "--require-witnesses=2", path.string()});
  CHECK(json.code == 1);  // RU's feed has one witness only
  CHECK(Has(json.out, "RU#1..#3 not covered by 2 witnesses"));
}

TEST_CASE("a partly witnessed bundle names the unwitnessed tail, and fails only when witnesses are required") {
  test::TempDir dir;
  World w;
  Populate(w);
  w.Checkpointed(kUA, 3, {{0, kS0 + 200}});
  w.Checkpointed(kRU, 3, {{0, kS0 + 500}});
  const fs::path path = w.Write(dir);
  const AuditReport reported = w.Audit(path);
  CHECK(reported.clean());
  CHECK(reported.exit_code() == 0);  // reported, not required
  CHECK(Has(RenderAudit(reported), "UA#4..#5 not covered by 1 witness"));
  CHECK(Has(RenderAudit(reported), "UA#4..#5 no witness evidence"));
  const AuditReport required = w.Audit(path, true);
  CHECK(required.exit_code() == 1);
  CHECK(Has(RenderAudit(required), "NOT MET — UA#4..#5 not covered by 1 witness"));
  CHECK(UnwitnessedTails(CharterOf(required), required.witnesses) == std::vector<std::string>{"UA#4..#5 not covered by 1 witness"});

  const test::CliResult cli = test::RunParley({"audit", "--require-witnesses", path.string()});
  CHECK(cli.code == 1);
  CHECK(Has(cli.out, "UA#4..#5 not covered by 1 witness"));
  const test::CliResult plain = test::RunParley({"audit", path.string()});
  CHECK(plain.code == 0);
  const test::CliResult json = test::RunParley({"audit", "--json", "--require-witnesses", "1", path.string()});
  CHECK(json.code == 1);
  CHECK(Has(json.out, "\"met\": false"));
  const test::CliResult bad = test::RunParley({"audit", "--require-witnesses=x", path.string()});
  CHECK(bad.code == 2);
  CHECK(Has(bad.err, "K must be a number"));
}

TEST_CASE("K = 2 with one witness missing fails --require-witnesses, naming both feeds") {
  test::TempDir dir;
  World w;
  Populate(w);
  w.Checkpointed(kUA, 5, {{0, kS0 + 400}});
  w.Checkpointed(kRU, 3, {{0, kS0 + 500}});
  const AuditReport r = w.Audit(w.Write(dir), true, 2);
  CHECK(r.clean());
  CHECK(r.exit_code() == 1);
  CHECK(r.witnesses.required == 2);
  CHECK(UnwitnessedTails(CharterOf(r), r.witnesses) ==
        std::vector<std::string>{"UA#1..#5 not covered by 2 witnesses", "RU#1..#3 not covered by 2 witnesses"});
  // A K above the witnesses the charter lists can never be met, and says so.
  const AuditReport r3 = w.Audit(w.Write(dir), true, 3);
  CHECK(UnwitnessedTails(CharterOf(r3), r3.witnesses).front() ==
        "UA#1..#5 not covered by 3 witnesses (the charter lists 2)");
}

TEST_CASE("a forged cosignature is a violation naming its record and line; the checkpoint's other evidence stands") {
  test::TempDir dir;
  World w;
  Populate(w);
  const Checkpoint cp = w.Of(kUA, 5);
  const std::string text = FormatCheckpoint(cp);
  NoteSignature forged = Cosign(WitnessKey(1), "w2", text, kS0 + 100);
  forged.signature[7] ^= 1;  // the timestamp altered: the signature no longer covers it
  w.notes.push_back(w.Note(cp, kUA, {{0, kS0 + 400}}) + FormatSignatureLine(forged));
  const AuditReport r = w.Audit(w.Write(dir));
  CHECK_FALSE(r.clean());
  CHECK(r.exit_code() == 1);
  const auto v = Findings(r, FindingKind::kViolation);
  REQUIRE(v.size() == 1);
  CHECK(v[0]->where == "record 10 (checkpoint UA size 5)");  // header, charter, 8 entries, then it
  CHECK(Has(v[0]->what, "the cosignature of witness \"w2\" (line 3 of the signatures) does not verify"));
  CHECK(r.witnesses.feeds[kUA].by_witness == std::vector<uint64_t>{5, 0});  // w1's stands, w2's does not count
}

TEST_CASE("a checkpoint whose root is not the bundle's feed is a split view (fork)") {
  test::TempDir dir;
  World w;
  Populate(w);
  Checkpoint cp = w.Of(kUA, 4);
  cp.root = w.Of(kUA, 3).root;  // UA signs a tree head of another history
  w.notes.push_back(w.Note(cp, kUA, {{0, kS0 + 400}}));
  const AuditReport r = w.Audit(w.Write(dir));
  CHECK_FALSE(r.clean());
  const auto forks = Findings(r, FindingKind::kFork);
  REQUIRE(forks.size() == 1);
  CHECK(forks[0]->where == "record 10 (checkpoint UA size 4)");
  CHECK(Has(forks[0]->what, "split view: UA signed a checkpoint of 4 entries whose root is not that of UA's feed"));
  CHECK(r.witnesses.valid_checkpoints == 0);
  CHECK_FALSE(r.timeline.front().evidence.has_value());  // no evidence from it
}

TEST_CASE("a checkpoint larger than the bundle's feed: the bundle lacks entries the party published") {
  test::TempDir dir;
  World w;
  for (int i = 0; i < 3; ++i) w.Add(kRU, kT0 + 1000 * i);
  for (int i = 0; i < 5; ++i) w.Add(kUA, kT0 + 10000 + 1000 * i);  // UA#4, #5 seen by no RU entry
  w.Checkpointed(kUA, 5, {{0, kS0 + 400}});
  const AuditReport r = w.Audit(w.Write(dir, {2, 0}));
  const auto v = Findings(r, FindingKind::kViolation);
  REQUIRE(v.size() == 1);
  CHECK(v[0]->where == "record 8 (checkpoint UA size 5)");
  CHECK(Has(v[0]->what, "the bundle holds 3 verified entries of UA's feed: it lacks entries UA published in its log (UA#4..#5)"));
  CHECK(r.exit_code() == 1);
}

TEST_CASE("checkpoint records that are not valid checkpoints of a party are violations with their record") {
  test::TempDir dir;
  World w;
  Populate(w);
  const SecretKey observer = test::ObserverKey();
  w.notes.push_back("not a note");
  w.notes.push_back(w.Note(w.Of(kUA, 5), kUA, {{0, kS0 + 400}}, &observer));  // signed by no UA key
  w.notes.push_back(w.Note(w.Of(kUA, 5), kRU, {{0, kS0 + 400}}));            // UA's origin, signed by RU
  const AuditReport r = w.Audit(w.Write(dir));
  const auto v = Findings(r, FindingKind::kViolation);
  REQUIRE(v.size() == 3);
  CHECK(v[0]->where == "record 10");
  CHECK(Has(v[0]->what, "the checkpoint note does not parse"));
  CHECK(v[1]->where == "record 11 (checkpoint UA size 5)");
  CHECK(Has(v[1]->what, "signed by no key UA had in effect for it"));
  CHECK(v[2]->where == "record 12 (checkpoint UA size 5)");
  CHECK(r.witnesses.valid_checkpoints == 0);
  CHECK(r.exit_code() == 1);
}

TEST_CASE("an entry after a checkpoint record is a violation; the checkpoint is checked against the entries before it") {
  test::TempDir dir;
  World w;
  Populate(w);  // UA#1..#5, then RU#1..#3
  const fs::path path = dir.path() / "late.bundle";
  auto b = BundleWriter::Create(path, w.charter, "test", kT0).value();
  for (int i = 0; i < 5; ++i) REQUIRE(b->AddEntry(w.feeds[kUA][i].envelope).ok());
  REQUIRE(b->AddCheckpoint(w.Note(w.Of(kUA, 5), kUA, {{0, kS0 + 400}})).ok());
  for (int i = 0; i < 3; ++i) REQUIRE(b->AddEntry(w.feeds[kRU][i].envelope).ok());
  REQUIRE(b->Finish().ok());
  const AuditReport r = w.Audit(path);
  const auto v = Findings(r, FindingKind::kViolation);
  REQUIRE(v.size() == 3);
  CHECK(v[0]->where == "record 8");
  CHECK(Has(v[0]->what, "an entry after a checkpoint record"));
  CHECK(r.entries[kRU] == 3);  // still verified
  CHECK(r.witnesses.valid_checkpoints == 1);
  CHECK(r.witnesses.feeds[kUA].by_witness.front() == 5);
}

TEST_CASE("a cosignature of a key the charter does not list is ignored") {
  test::TempDir dir;
  World w;
  Populate(w);
  w.Checkpointed(kUA, 5, {{2, kS0 + 400}});
  w.Checkpointed(kRU, 3, {{2, kS0 + 500}, {0, kS0 + 600}});
  const AuditReport r = w.Audit(w.Write(dir), true);
  CHECK(r.clean());
  CHECK(r.witnesses.valid_checkpoints == 2);
  CHECK(r.witnesses.feeds[kUA].by_witness == std::vector<uint64_t>{0, 0});
  CHECK(r.witnesses.feeds[kRU].by_witness == std::vector<uint64_t>{3, 0});
  CHECK(r.exit_code() == 1);  // UA's feed is not covered
  CHECK(UnwitnessedTails(CharterOf(r), r.witnesses) == std::vector<std::string>{"UA#1..#5 not covered by 1 witness"});
}

TEST_CASE("declared times against the witnesses: after the witness saw it, backdated, and signed while it was down") {
  test::TempDir dir;
  World w;
  const int64_t P = kS0 + 3600;  // w1 cosigns UA's first two entries at P
  w.Add(kUA, kT0);
  w.Add(kUA, kT0 + 1000);
  SUBCASE("an entry declared after its covering cosignature") {
    w.Add(kUA, (P + 7200) * 1000);  // declared two hours after w1 cosigned it
    w.Checkpointed(kUA, 2, {{0, P}});
    w.Checkpointed(kUA, 3, {{0, P + 60}});
    const AuditReport r = w.Audit(w.Write(dir));
    CHECK(r.clean());  // a time finding does not make the ledger unclean
    const auto t = Findings(r, FindingKind::kTime);
    REQUIRE(t.size() == 1);
    CHECK(t[0]->where == "UA#3");
    CHECK(Has(t[0]->what, "declared at 2025-06-08T03:00:00Z, after witness \"w1\" had cosigned UA's checkpoint of 3 "
                          "entries holding it at 2025-06-08T01:01:00Z"));
    CHECK(Has(RenderAudit(r), "time  UA#3: declared at"));
    CHECK(AuditJson(r)["findings"][0]["kind"] == "time");
  }
  SUBCASE("an entry declared well before the witness's previous checkpoint without it") {
    w.Add(kUA, (P - 1200) * 1000);  // 20 minutes before w1 cosigned UA at size 2
    w.Checkpointed(kUA, 2, {{0, P}});
    w.Checkpointed(kUA, 3, {{0, P + 60}});
    const AuditReport r = w.Audit(w.Write(dir));
    const auto t = Findings(r, FindingKind::kTime);
    REQUIRE(t.size() == 1);
    CHECK(t[0]->where == "UA#3");
    CHECK(Has(t[0]->what, "possibly backdated"));
  }
  SUBCASE("within the skew, or signed while the witness was down: not flagged") {
    w.Add(kUA, (P - 300) * 1000);    // 5 minutes before the previous checkpoint: within the skew
    w.Add(kUA, (P + 600) * 1000);    // after the previous checkpoint; the witness is down for hours
    w.Checkpointed(kUA, 2, {{0, P}});
    w.Checkpointed(kUA, 4, {{0, P + 5 * 3600}});
    const AuditReport r = w.Audit(w.Write(dir));
    CHECK(r.Count(FindingKind::kTime) == 0);
    REQUIRE(r.timeline.size() == 4);
    CHECK(r.timeline[3].evidence->time_s == static_cast<uint64_t>(P + 5 * 3600));
    CHECK(r.timeline[3].evidence->previous_s == std::optional<uint64_t>(P));
  }
}

TEST_CASE("checkpoint keys follow rotations: the old key until the new one signs, the new one from its RotateKey") {
  World w;
  for (int i = 0; i < 6; ++i) w.Add(kUA, kT0 + 1000 * i);
  KeySchedule schedule(w.charter);
  const SecretKey k1 = SecretKey::FromSeed(test::SeedFrom(0xc0));
  schedule.Restore(kUA, KeyRotation{3, k1.public_key(), 0, 2});  // UA#3 rotates, RU#2 acknowledges
  const std::vector<CheckpointKey> keys = CheckpointKeys(schedule, kUA, {4, 6});  // #1..#4 old key, #5..#6 new
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].key == test::PartyKey(kUA).public_key());
  CHECK(keys[0].from_size == 0);
  CHECK(keys[0].until_size == 4);
  CHECK(keys[1].key == k1.public_key());
  CHECK(keys[1].from_size == 3);
  CHECK(keys[1].until_size == UINT64_MAX);
  // Before the new key has signed an entry, the old one may sign any size.
  CHECK(CheckpointKeys(schedule, kUA, {4}).front().until_size == UINT64_MAX);

  WitnessCoverage cov(w.charter);
  for (const DecodedEntry& e : w.feeds[kUA]) cov.AddLeaf(kUA, Rfc6962LeafHash(e.envelope));
  cov.SetKeys(kUA, keys);
  const SecretKey old_key = test::PartyKey(kUA);
  CHECK(cov.Add(10, w.Note(w.Of(kUA, 6), kUA, {{0, kS0}}, &k1)).empty());
  CHECK(cov.Add(11, w.Note(w.Of(kUA, 4), kUA, {{0, kS0}}, &old_key)).empty());
  CHECK(cov.Add(12, w.Note(w.Of(kUA, 3), kUA, {{0, kS0}}, &k1)).empty());
  const auto stale = cov.Add(13, w.Note(w.Of(kUA, 6), kUA, {{0, kS0}}, &old_key));
  REQUIRE(stale.size() == 1);
  CHECK(Has(stale[0].what, "signed by no key UA had in effect for it (signed with UA's key"));
  CHECK(Has(stale[0].what, "which was not in effect for size 6"));
  const auto early = cov.Add(14, w.Note(w.Of(kUA, 2), kUA, {{0, kS0}}, &k1));
  REQUIRE(early.size() == 1);
  CHECK(early[0].where == "record 14 (checkpoint UA size 2)");
  cov.Finish();
  CHECK(cov.valid_checkpoints() == 3);
  CHECK(cov.CoveredBy(kUA, 0) == 6);
}

TEST_CASE("a hostile witness name is escaped in HTML and shown through Printable in text") {
  test::TempDir dir;
  World w("<img/src=x>&\"w1\"");
  Populate(w);
  w.Checkpointed(kUA, 5, {{0, kS0 + 400}});
  const AuditReport r = w.Audit(w.Write(dir));
  REQUIRE(r.witnesses.feeds[kUA].by_witness.front() == 5);
  const std::string html = RenderAuditHtml(r);
  CHECK_FALSE(Has(html, "<img/src=x>"));
  CHECK(Has(html, "&lt;img/src=x&gt;&amp;&quot;w1&quot;"));
  CHECK(Has(RenderAudit(r), "per witness \"<img/src=x>&\"w1\"\""));
}

}  // namespace
}  // namespace parley
