// Bundles written by hand for the audit's tests and its memory benchmark: a
// valid one of n short statements, and one of n malformed entry records.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "fixtures.h"
#include "node/report/bundle.h"

namespace parley::test {

// A well-formed bundle (header, charter, trailer all correct) whose `n` entry
// records each hold `bytes` bytes 0xff: no SignedEntry, so the audit rejects
// every one of them as a violation it cannot attribute to a feed. With the
// default 4 bytes, about 7 bytes a record: 1,000,000 records make a 7 MB file.
// REQUIRES: bytes < kMaxBundleRecordBytes - 8.
inline void WriteJunkBundle(const std::filesystem::path& path, uint64_t n, size_t bytes = 4) {
  auto w = BundleWriter::Create(path, TheCharter(), "junk", kT0);
  PARLEY_CHECK(w.has_value());
  const std::string junk(bytes, '\xff');
  for (uint64_t i = 0; i < n; ++i) PARLEY_CHECK((*w)->AddEntry(junk).ok());
  PARLEY_CHECK((*w)->Finish().ok());
}

// A valid bundle of `n` statements, the two parties taking turns, each entry
// having seen the other's latest. It audits clean.
inline void WriteStatementBundle(const std::filesystem::path& path, uint64_t n) {
  Scenario s;
  auto w = BundleWriter::Create(path, TheCharter(), "statements", kT0);
  PARLEY_CHECK(w.has_value());
  for (uint64_t i = 0; i < n; ++i) {
    const DecodedEntry& e = s.Add(static_cast<PartyIndex>(i % 2), Say("noted " + std::to_string(i)));
    PARLEY_CHECK((*w)->AddEntry(e.envelope).ok());
  }
  PARLEY_CHECK((*w)->Finish().ok());
}

}  // namespace parley::test
