// The exit code of `parley audit` for every bundle fault (docs/PROTOCOL.md
// §12, §13), one row per fault: each builds the faulty bundle from a small
// valid one, audits it through the library and through the CLI, and checks
// the exit code and that the message names the fault.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "fixtures.h"
#include "node/report/audit.h"
#include "node/report/bundle.h"
#include "node_harness.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using test::kRU;
using test::kT0;
using test::kUA;

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// A bundle as its parts: magic, records (BundleRecord bytes, each written
// with its length), and bytes after the last record.
struct Parts {
  std::string magic = std::string(kBundleMagic);
  std::vector<std::string> records;
  std::string tail;

  std::string Bytes() const {
    std::string out = magic;
    for (const std::string& r : records) out += Varint(r.size()) + r;
    return out + tail;
  }
};

std::string Record(const v1::BundleRecord& r) { return r.SerializeAsString(); }
std::string EntryRecord(const std::string& envelope) {
  v1::BundleRecord r;
  r.set_entry(envelope);
  return Record(r);
}
std::string Trailer(uint64_t entries, uint64_t forks) {
  v1::BundleRecord r;
  r.mutable_trailer()->set_entry_count(entries);
  r.mutable_trailer()->set_fork_proof_count(forks);
  return Record(r);
}

// The valid bundle every row starts from: header, charter, RU#1, UA#1, RU#2,
// RU#3, trailer — and the entries, to build faults from.
struct Base {
  test::Scenario s;
  std::vector<DecodedEntry> entries;  // in file order
  Parts parts;
  Base() {
    entries.push_back(s.Add(kRU, test::Say("one")));
    entries.push_back(s.Add(kUA, test::Say("two")));
    entries.push_back(s.Add(kRU, test::Say("three")));
    entries.push_back(s.Add(kRU, test::Say("four")));
    v1::BundleRecord h;
    h.mutable_header()->set_format_version(kBundleFormatVersion);
    h.mutable_header()->set_ledger_id(test::TheCharter().ledger_id().str());
    h.mutable_header()->set_exported_ms(kT0);
    h.mutable_header()->set_exported_by("UA");
    parts.records.push_back(Record(h));
    v1::BundleRecord c;
    c.set_charter(test::TheCharter().signed_bytes());
    parts.records.push_back(Record(c));
    for (const DecodedEntry& e : entries) parts.records.push_back(EntryRecord(e.envelope));
    parts.records.push_back(Trailer(entries.size(), 0));
  }
};

// Index of the trailer in Base::parts.records, and of RU#2 (the third entry).
constexpr size_t kTrailer = 6;
constexpr size_t kRu2 = 4;

struct Fault {
  std::string name;
  int exit;             // of parley audit
  std::string message;  // what the error (exit 2) or the first violation/fork (exit 1) says
  // Returns the bundle's bytes; nullopt for "no file at all".
  std::function<std::optional<std::string>(const Base&)> make;
};

std::string Envelope(const v1::Entry& e) { return SignEntry(test::PartyKey(e.author()), e).envelope; }

std::vector<Fault> Faults() {
  std::vector<Fault> f;
  auto edit = [](std::function<void(const Base&, Parts&)> fn) {
    return [fn](const Base& b) -> std::optional<std::string> {
      Parts p = b.parts;
      fn(b, p);
      return p.Bytes();
    };
  };
  auto bytes = [](std::function<std::string(const std::string&)> fn) {
    return [fn](const Base& b) -> std::optional<std::string> { return fn(b.parts.Bytes()); };
  };
  // --- unusable input: exit 2, no report ---------------------------------------
  f.push_back({"no such file", 2, "cannot open", [](const Base&) { return std::optional<std::string>(); }});
  f.push_back({"empty file", 2, "is not a Parley bundle", bytes([](const std::string&) { return std::string(); })});
  f.push_back({"bad magic", 2, "is not a Parley bundle (it does not start with PARLEYB1)",
               edit([](const Base&, Parts& p) { p.magic = "PARLEYB2"; })});
  f.push_back({"magic only", 2, "truncated at byte 8 (record 0): no trailer",
               bytes([](const std::string& s) { return s.substr(0, 8); })});
  f.push_back({"first record not the header", 2, "the first record is not the header",
               edit([](const Base&, Parts& p) { p.records.erase(p.records.begin()); })});
  f.push_back({"unknown format version", 2, "unknown format version 7", edit([](const Base&, Parts& p) {
                 v1::BundleRecord h;
                 h.ParseFromString(p.records[0]);
                 h.mutable_header()->set_format_version(7);
                 p.records[0] = Record(h);
               })});
  f.push_back({"second record not the charter", 2, "the second record is not the charter",
               edit([](const Base&, Parts& p) { p.records.erase(p.records.begin() + 1); })});
  f.push_back({"charter not a SignedCharter", 2, "charter: not a SignedCharter", edit([](const Base&, Parts& p) {
                 v1::BundleRecord c;
                 c.set_charter("\xff\xff\xff");
                 p.records[1] = Record(c);
               })});
  f.push_back({"charter signature that does not verify", 2, "does not verify", edit([](const Base&, Parts& p) {
                 v1::SignedCharter sc;
                 sc.ParseFromString(test::TheCharter().signed_bytes());
                 std::string sig = sc.signatures(0);
                 sig[0] = static_cast<char>(sig[0] ^ 1);
                 sc.set_signatures(0, sig);
                 v1::BundleRecord c;
                 c.set_charter(sc.SerializeAsString());
                 p.records[1] = Record(c);
               })});
  f.push_back({"unparsable record", 2, "record 3 at byte", edit([](const Base&, Parts& p) { p.records[3] = "\xff\xff\xff"; })});
  f.push_back({"record over 1 MiB", 2, "more than the 1 MiB limit",
               edit([](const Base&, Parts& p) { p.records[3] = EntryRecord(std::string(kMaxBundleRecordBytes, 'x')); })});
  f.push_back({"malformed record length", 2, "malformed record length", edit([](const Base&, Parts& p) {
                 p.records.pop_back();  // the trailer's place: a length of more than 5 varint bytes
                 p.tail = std::string(6, '\x80') + "\x01";
               })});
  f.push_back({"truncated inside a record", 2, "truncated inside record",
               bytes([](const std::string& s) { return s.substr(0, s.size() - 2); })});
  f.push_back({"no trailer", 2, "no trailer", edit([](const Base&, Parts& p) { p.records.pop_back(); })});
  f.push_back({"dropped entry, trailer as it was", 2, "wrong trailer counts: the trailer counts 4 entries",
               edit([](const Base&, Parts& p) { p.records.erase(p.records.begin() + kRu2); })});
  f.push_back({"added entry, trailer as it was", 2, "wrong trailer counts: the trailer counts 4 entries",
               edit([](const Base&, Parts& p) { p.records.insert(p.records.begin() + kTrailer, p.records[kTrailer - 1]); })});
  f.push_back({"wrong fork-proof count", 2, "4 entries, 1 fork proofs and 0 checkpoints, the file holds 4, 0 and 0",
               edit([](const Base&, Parts& p) { p.records[kTrailer] = Trailer(4, 1); })});
  f.push_back({"data after the trailer", 2, "data after the trailer", edit([](const Base&, Parts& p) { p.tail = "x"; })});
  f.push_back({"a second header among the entries", 2, "record 3 is not an entry, fork proof, checkpoint or trailer",
               edit([](const Base&, Parts& p) { p.records.insert(p.records.begin() + 3, p.records[0]); })});
  f.push_back({"an empty record", 2, "record 3 is not an entry, fork proof, checkpoint or trailer",
               edit([](const Base&, Parts& p) { p.records.insert(p.records.begin() + 3, std::string()); })});
  // --- a bundle with violations: exit 1, a full report --------------------------
  f.push_back({"dropped entry, trailer recounted", 1, "record 4 (RU#3): seq-gap", edit([](const Base&, Parts& p) {
                 p.records.erase(p.records.begin() + kRu2);
                 p.records.back() = Trailer(3, 0);
               })});
  f.push_back({"duplicate entry, trailer recounted", 1, "record 5 (RU#2): the same entry appears twice",
               edit([](const Base&, Parts& p) {
                 p.records.insert(p.records.begin() + kRu2 + 1, p.records[kRu2]);
                 p.records.back() = Trailer(5, 0);
               })});
  f.push_back({"header names another ledger", 1, "header: the header names another ledger than the charter",
               edit([](const Base&, Parts& p) {
                 v1::BundleRecord h;
                 h.ParseFromString(p.records[0]);
                 h.mutable_header()->set_ledger_id(std::string(32, '\x01'));
                 p.records[0] = Record(h);
               })});
  f.push_back({"charter not signed by both", 1, "charter: the charter is not signed by both parties",
               edit([](const Base&, Parts& p) {
                 v1::SignedCharter sc;
                 sc.ParseFromString(test::TheCharter().signed_bytes());
                 sc.set_signatures(1, "");
                 v1::BundleRecord c;
                 c.set_charter(sc.SerializeAsString());
                 p.records[1] = Record(c);
               })});
  f.push_back({"an entry record that is no SignedEntry", 1, "record 3: ",
               edit([](const Base&, Parts& p) { p.records.insert(p.records.begin() + 3, EntryRecord("\xff\xff")); p.records.back() = Trailer(5, 0); })});
  f.push_back({"a bad signature", 1, "record 4 (RU#2): bad-signature", edit([](const Base& b, Parts& p) {
                 v1::SignedEntry se;
                 se.ParseFromString(b.entries[2].envelope);
                 std::string sig = se.signature();
                 sig[5] = static_cast<char>(sig[5] ^ 4);
                 se.set_signature(sig);
                 p.records[kRu2] = EntryRecord(se.SerializeAsString());
               })});
  f.push_back({"an entry of another ledger", 1, "wrong-ledger", edit([](const Base& b, Parts& p) {
                 v1::Entry e = b.entries[2].entry;
                 std::string other = e.ledger_id();
                 other[0] = static_cast<char>(other[0] ^ 1);
                 e.set_ledger_id(other);
                 p.records[kRu2] = EntryRecord(Envelope(e));
               })});
  f.push_back({"a fork: two entries at one seq", 1, "record 5 (RU#2): RU signed two different entries at seq 2",
               edit([](const Base& b, Parts& p) {
                 v1::Entry e = b.entries[2].entry;
                 e.set_time_ms(e.time_ms() + 1);
                 p.records.insert(p.records.begin() + kRu2 + 1, EntryRecord(Envelope(e)));
                 p.records.back() = Trailer(5, 0);
               })});
  f.push_back({"a fork proof that does not verify", 1, "record 6: fork proof does not verify",
               edit([](const Base& b, Parts& p) {
                 v1::BundleRecord r;
                 r.mutable_fork_proof()->mutable_first()->ParseFromString(b.entries[0].envelope);
                 v1::Entry e = b.entries[0].entry;
                 e.set_time_ms(e.time_ms() + 1);
                 r.mutable_fork_proof()->mutable_second()->set_entry(e.SerializeAsString());
                 r.mutable_fork_proof()->mutable_second()->set_signature(r.fork_proof().first().signature());
                 p.records.insert(p.records.begin() + kTrailer, Record(r));
                 p.records.back() = Trailer(4, 1);
               })});
  // --- and the intact bundle ---------------------------------------------------
  f.push_back({"none: the intact bundle", 0, "", [](const Base& b) { return std::optional<std::string>(b.parts.Bytes()); }});
  return f;
}

// Writes the fault's bundle into `dir`; returns its path.
fs::path Write(const test::TempDir& dir, const Fault& fault, const Base& base, size_t i) {
  const fs::path path = dir.path() / ("fault-" + std::to_string(i) + ".parley");
  if (const std::optional<std::string> bytes = fault.make(base)) std::ofstream(path, std::ios::binary) << *bytes;
  return path;
}

// The first violation or fork, as the text report lists it: "where: what".
std::string FirstProblem(const AuditReport& r) {
  for (const AuditFinding& f : r.findings) {
    if (InfoOf(f.kind).unclean) return f.where + ": " + f.what;
  }
  return "";
}

TEST_CASE("every bundle fault gets its documented outcome from the auditor, and the message names it") {
  const Base base;
  test::TempDir dir;
  const std::vector<Fault> faults = Faults();
  for (size_t i = 0; i < faults.size(); ++i) {
    const Fault& fault = faults[i];
    CAPTURE(fault.name);
    const fs::path path = Write(dir, fault, base, i);
    AuditOptions o;
    o.now_ms = kT0;
    auto r = AuditBundle(path.string(), o);
    if (fault.exit == 2) {
      REQUIRE_FALSE(r.has_value());
      CAPTURE(r.error().message());
      CHECK(r.error().message().find(fault.message) != std::string::npos);
      continue;
    }
    REQUIRE_MESSAGE(r.has_value(), r.error().ToString());
    CHECK(r->exit_code() == fault.exit);
    const std::string first = FirstProblem(*r);
    CAPTURE(first);
    if (fault.exit == 1) CHECK(first.find(fault.message) != std::string::npos);
    else CHECK(first.empty());
  }
}

TEST_SUITE("e2e") {

TEST_CASE("parley audit exits with the documented code for every bundle fault, naming the fault") {
  const Base base;
  test::TempDir dir;
  const std::vector<Fault> faults = Faults();
  for (size_t i = 0; i < faults.size(); ++i) {
    const Fault& fault = faults[i];
    CAPTURE(fault.name);
    const fs::path path = Write(dir, fault, base, i);
    const test::CliResult cli = test::RunParley({"audit", "--now", "2025-06-08T00:00:00Z", path.string()});
    CAPTURE(cli.err);
    CHECK(cli.code == fault.exit);
    if (fault.exit == 2) {
      CHECK(cli.err.find("parley audit: unusable input: ") == 0);
      CHECK(cli.err.find(fault.message) != std::string::npos);
      CHECK(cli.out.empty());  // no report of a file that is not a whole bundle
    } else if (fault.exit == 1) {
      CHECK(cli.out.find("Verdict: VIOLATIONS FOUND") != std::string::npos);
      CHECK(cli.out.find(fault.message) != std::string::npos);
    } else {
      CHECK(cli.out.find("Verdict: CLEAN") != std::string::npos);
    }
  }
}

}  // TEST_SUITE

}  // namespace
}  // namespace parley
