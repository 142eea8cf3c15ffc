// Shared fixtures for the tests: fixed-seed keys, a charter, statement body
// builders and a Scenario that writes two feeds with explicit `seen` links.
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "crypto/sign.h"
#include "node/protocol/charter.h"
#include "node/protocol/entry.h"

namespace parley::test {

inline constexpr PartyIndex kUA = 0;
inline constexpr PartyIndex kRU = 1;
// 2025-06-08T00:00:00Z, the day of the story in shared/seeds.
inline constexpr int64_t kT0 = 1749340800000;

// The fixed test seeds published in docs/PROTOCOL.md:
// UA: bytes 0x00..0x1f, RU: bytes 0x20..0x3f, observer: 0x40..0x5f.
inline Seed SeedFrom(uint8_t first) {
  Seed s;
  for (size_t i = 0; i < Seed::kSize; ++i) s.bytes[i] = static_cast<uint8_t>(first + i);
  return s;
}
inline SecretKey PartyKey(PartyIndex p) { return SecretKey::FromSeed(SeedFrom(p == kUA ? 0x00 : 0x20)); }
inline SecretKey ObserverKey() { return SecretKey::FromSeed(SeedFrom(0x40)); }

inline std::string UnsignedTestCharter() {
  CharterDraft d;
  d.title = "Return of remains and exchange of prisoners, June 2025";
  d.parties[0] = {"UA", "Ukraine Coordination HQ for the Treatment of POWs", PartyKey(kUA).public_key()};
  d.parties[1] = {"RU", "Russian Federation Ministry of Defence", PartyKey(kRU).public_key()};
  d.observers.push_back({"ICRC", ObserverKey().public_key()});
  d.created_ms = kT0;
  return NewUnsignedCharter(d).value();
}

inline std::string TestCharter() {
  std::string bytes = UnsignedTestCharter();
  for (PartyIndex p = 0; p < 2; ++p) bytes = Charter::Parse(bytes).value().Sign(PartyKey(p)).value();
  return bytes;
}

inline const Charter& TheCharter() {
  static const Charter c = Charter::Parse(TestCharter()).value();
  return c;
}

// --- statement bodies -------------------------------------------------------

inline v1::Terms RemainsTerms(PartyIndex from, uint64_t count, int64_t start_ms) {
  v1::Terms t;
  auto* tr = t.add_transfers();
  tr->set_from_party(from);
  tr->set_to_party(1 - from);
  tr->set_category(v1::REMAINS);
  tr->set_count(count);
  t.set_crossing_point("Belarus-Ukraine border crossing");
  t.set_transport(v1::ROAD);
  t.mutable_window()->set_start_ms(start_ms);
  t.mutable_window()->set_end_ms(start_ms + 86400000);
  t.set_intermediary("ICRC");
  return t;
}

inline v1::Terms ExchangeTerms(uint64_t each_way, int64_t start_ms) {
  v1::Terms t = RemainsTerms(kUA, each_way, start_ms);
  t.mutable_transfers(0)->set_category(v1::PRISONERS_OF_WAR);
  auto* back = t.add_transfers();
  *back = t.transfers(0);
  back->set_from_party(kRU);
  back->set_to_party(kUA);
  return t;
}

inline v1::Entry Propose(const v1::Terms& terms, v1::ExchangeKind kind = v1::REMAINS_TRANSFER) {
  v1::Entry e;
  e.mutable_propose()->set_kind(kind);
  e.mutable_propose()->set_terms(terms.SerializeAsString());
  return e;
}

inline v1::Entry Accept(const DecodedEntry& proposal) {
  v1::Entry e;
  e.mutable_accept()->set_proposal(proposal.id.str());
  e.mutable_accept()->set_terms_digest(TermsDigest(proposal.entry.propose().terms()).str());
  return e;
}

inline v1::Entry Reject(const DecodedEntry& proposal, std::string reason = "no") {
  v1::Entry e;
  e.mutable_reject()->set_proposal(proposal.id.str());
  e.mutable_reject()->set_reason(std::move(reason));
  return e;
}

inline v1::Entry Withdraw(const DecodedEntry& proposal) {
  v1::Entry e;
  e.mutable_withdraw()->set_proposal(proposal.id.str());
  e.mutable_withdraw()->set_reason("withdrawn");
  return e;
}

inline v1::Entry Cancel(const DecodedEntry& agreement) {
  v1::Entry e;
  e.mutable_cancel()->set_agreement(agreement.id.str());
  e.mutable_cancel()->set_reason("cancel");
  return e;
}

inline v1::Entry Handover(const DecodedEntry& agreement, uint32_t index, uint64_t count) {
  v1::Entry e;
  e.mutable_handover()->set_agreement(agreement.id.str());
  e.mutable_handover()->set_transfer_index(index);
  e.mutable_handover()->set_count(count);
  e.mutable_handover()->set_place("crossing");
  return e;
}

inline v1::Entry Receipt(const DecodedEntry& agreement, uint32_t index, uint64_t count) {
  v1::Entry e;
  e.mutable_receipt()->set_agreement(agreement.id.str());
  e.mutable_receipt()->set_transfer_index(index);
  e.mutable_receipt()->set_count(count);
  e.mutable_receipt()->mutable_reconciliation()->set_matched(count);
  return e;
}

inline v1::Entry Attest(std::string what) {
  v1::Entry e;
  e.mutable_attestation()->set_what(std::move(what));
  return e;
}

inline v1::Entry Say(std::string text) {
  v1::Entry e;
  e.mutable_statement()->set_text(std::move(text));
  return e;
}

// A node's record that it disclosed manifest `root` (`count` records) to `to`.
inline v1::Entry Disclose(const Digest& root, uint64_t count, PartyIndex to) {
  v1::Entry e;
  e.mutable_disclose()->mutable_manifest()->set_root(root.str());
  e.mutable_disclose()->mutable_manifest()->set_count(count);
  e.mutable_disclose()->set_to_party(to);
  return e;
}

// Writes two feeds by hand. By default each new entry has seen everything of
// the other feed; `seen` holds that back to model statements that cross.
class Scenario {
 public:
  static constexpr uint64_t kAll = ~0ull;

  const DecodedEntry& Add(PartyIndex p, v1::Entry body, uint64_t seen = kAll, int64_t time_ms = 0) {
    auto& feed = feeds_[p];
    const auto& other = feeds_[1 - p];
    body.set_ledger_id(TheCharter().ledger_id().str());
    body.set_author(p);
    body.set_seq(feed.size() + 1);
    body.set_prev(feed.empty() ? TheCharter().ledger_id().str() : feed.back().id.str());
    uint64_t s = seen == kAll ? other.size() : seen;
    PARLEY_CHECK(s <= other.size());
    if (s > 0) {
      body.mutable_seen()->set_seq(s);
      body.mutable_seen()->set_id(other[s - 1].id.str());
    }
    body.set_time_ms(time_ms != 0 ? time_ms : kT0 + 1000 * static_cast<int64_t>(++clock_));
    feed.push_back(SignEntry(keys_[p], body));
    return feed.back();
  }

  const std::vector<DecodedEntry>& feed(PartyIndex p) const { return feeds_[p]; }

  // Signs `p`'s entries from now on with `key` (a rotation in effect).
  void UseKey(PartyIndex p, const SecretKey& key) { keys_[p] = SecretKey::FromSeed(key.seed()); }

 private:
  SecretKey keys_[2] = {PartyKey(kUA), PartyKey(kRU)};
  std::vector<DecodedEntry> feeds_[2];
  int clock_ = 0;
};

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("parley-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace parley::test
