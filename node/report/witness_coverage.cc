#include "node/report/witness_coverage.h"

#include <algorithm>
#include <bit>
#include <tuple>

#include "crypto/merkle.h"
#include "node/base/text.h"
#include "node/protocol/feed_log.h"
#include "node/tlog/checkpoint.h"
#include "node/tlog/note.h"

namespace parley {

std::vector<CheckpointKey> CheckpointKeys(const KeySchedule& schedule, PartyIndex party,
                                          const std::vector<uint64_t>& last_signed) {
  const std::vector<KeyRotation>& rotations = schedule.rotations(party);
  const size_t n = rotations.size() + 1;
  auto last = [&](size_t i) { return i < last_signed.size() ? last_signed[i] : 0; };
  std::vector<CheckpointKey> keys(n);
  for (size_t i = 0; i < n; ++i) {
    keys[i].key = i == 0 ? schedule.charter_key(party) : rotations[i - 1].new_key;
    keys[i].from_size = i == 0 ? 0 : rotations[i - 1].seq;
    bool later_signed = false;
    for (size_t j = i + 1; j < n; ++j) later_signed = later_signed || last(j) > 0;
    keys[i].until_size = later_signed ? std::max(last(i), keys[i].from_size) : UINT64_MAX;
  }
  return keys;
}

TimeVerdict JudgeTime(int64_t time_ms, const EntryEvidence& ev) {
  // Cosignature times are whole seconds: an entry declared within the
  // cosignature's second is not after it.
  const int64_t seen_ms = static_cast<int64_t>(std::min<uint64_t>(ev.time_s, INT64_MAX / 1000 - 1)) * 1000;
  if (time_ms > seen_ms + 999) return TimeVerdict::kAfterWitness;
  if (ev.previous_s) {
    const int64_t prev_ms = static_cast<int64_t>(std::min<uint64_t>(*ev.previous_s, INT64_MAX / 1000 - 1)) * 1000;
    if (time_ms < prev_ms - kWitnessClockSkewMs) return TimeVerdict::kBackdated;
  }
  return TimeVerdict::kConsistent;
}

WitnessCoverage::WitnessCoverage(const Charter& charter) : charter_(charter) {
  for (PartyIndex p = 0; p < 2; ++p) {
    origins_[p] = FeedOrigin(charter_, p);
    keys_[p] = {CheckpointKey{charter_.party_key(p), 0, UINT64_MAX}};
    by_witness_[p].resize(charter_.witnesses().size());
  }
}

Digest WitnessCoverage::Perfect(PartyIndex p, uint64_t lo, unsigned k) {
  if (k == 0) return leaves_[p][lo];
  if (k >= kCacheLevel && k - kCacheLevel < cache_[p].size()) {
    const auto& level = cache_[p][k - kCacheLevel];
    if ((lo >> k) < level.size()) return level[lo >> k];
  }
  const uint64_t half = uint64_t{1} << (k - 1);
  return Rfc6962NodeHash(Perfect(p, lo, k - 1), Perfect(p, lo + half, k - 1));
}

Digest WitnessCoverage::RootOf(PartyIndex p, uint64_t n) {
  if (n == 0) return Rfc6962EmptyRoot();
  // Aligned subtrees of 2^kCacheLevel leaves and up are hashed once for
  // every leaf held (leaves are only appended, so a cached subtree stays right).
  if (cached_leaves_[p] != leaves_[p].size() && leaves_[p].size() >= (uint64_t{1} << kCacheLevel)) {
    auto& cache = cache_[p];
    const uint64_t total = leaves_[p].size();
    for (unsigned k = kCacheLevel; (total >> k) > 0; ++k) {
      if (cache.size() <= k - kCacheLevel) cache.emplace_back();
      auto& level = cache[k - kCacheLevel];
      for (uint64_t i = level.size(); i < (total >> k); ++i) {
        level.push_back(k == kCacheLevel ? Perfect(p, i << k, k)
                                         : Rfc6962NodeHash(cache[k - kCacheLevel - 1][2 * i],
                                                           cache[k - kCacheLevel - 1][2 * i + 1]));
      }
    }
    cached_leaves_[p] = total;
  }
  // RFC 6962: the tree of n leaves is the perfect subtrees of n's binary
  // digits, left to right, folded from the right.
  std::vector<Digest> parts;
  uint64_t lo = 0;
  for (int k = 63; k >= 0; --k) {
    if (n & (uint64_t{1} << k)) {
      parts.push_back(Perfect(p, lo, static_cast<unsigned>(k)));
      lo += uint64_t{1} << k;
    }
  }
  Digest root = parts.back();
  for (size_t i = parts.size() - 1; i-- > 0;) root = Rfc6962NodeHash(parts[i], root);
  return root;
}

std::vector<CheckpointProblem> WitnessCoverage::Add(uint64_t record, std::string_view bytes) {
  std::vector<CheckpointProblem> problems;
  const std::string at = "record " + std::to_string(record);
  auto note = ParseNote(bytes);
  if (!note) {
    problems.push_back({false, at, "the checkpoint note does not parse: " + Printable(note.error().message())});
    return problems;
  }
  auto cp = ParseCheckpoint(note->text);
  if (!cp) {
    problems.push_back({false, at, "the note is not a checkpoint: " + Printable(cp.error().message())});
    return problems;
  }
  std::optional<PartyIndex> party;
  for (PartyIndex p = 0; p < 2; ++p) {
    if (cp->origin == origins_[p]) party = p;
  }
  if (!party) {
    problems.push_back({false, at, "the checkpoint's origin \"" + Printable(cp->origin) +
                                       "\" is no party's feed of this ledger"});
    return problems;
  }
  const PartyIndex p = *party;
  const std::string& code = charter_.party_code(p);
  const std::string where = at + " (checkpoint " + code + " size " + std::to_string(cp->size) + ")";

  // The party's signature, by a key it had in effect for this size.
  bool signed_in_effect = false;
  std::string wrong_key;
  for (size_t line = 0; line < note->signatures.size(); ++line) {
    const NoteSignature& sig = note->signatures[line];
    if (sig.name != origins_[p]) continue;
    for (size_t i = 0; i < keys_[p].size(); ++i) {
      const CheckpointKey& k = keys_[p][i];
      const NoteVerifier v = FeedNoteVerifier(charter_, p, k.key);
      if (sig.key_id != v.key_id()) continue;
      if (!VerifyNote(Note{note->text, {sig}}, {&v, 1})) {
        problems.push_back({false, where, code + "'s signature (line " + std::to_string(line + 1) +
                                              " of the signatures) does not verify: forged or altered"});
        return problems;
      }
      if (cp->size >= k.from_size && cp->size <= k.until_size) {
        signed_in_effect = true;
      } else {
        wrong_key = " (signed with " + code + "'s key " + ToHex(k.key).substr(0, 16) +
                    "…, which was not in effect for size " + std::to_string(cp->size) + ")";
      }
    }
  }
  if (!signed_in_effect) {
    problems.push_back({false, where, "signed by no key " + code + " had in effect for it" + wrong_key});
    return problems;
  }

  // The witnesses' cosignatures: each of a charter witness must verify.
  std::vector<Point> cosigned;
  const auto& witnesses = charter_.witnesses();
  for (size_t line = 0; line < note->signatures.size(); ++line) {
    const NoteSignature& sig = note->signatures[line];
    for (uint32_t w = 0; w < witnesses.size(); ++w) {
      const NoteVerifier v = witnesses[w].verifier();
      if (sig.name != v.name || sig.key_id != v.key_id()) continue;
      auto ok = VerifyNote(Note{note->text, {sig}}, {&v, 1});
      if (!ok || ok->empty()) {
        problems.push_back({false, where, "the cosignature of witness \"" + Printable(witnesses[w].name) +
                                              "\" (line " + std::to_string(line + 1) +
                                              " of the signatures) does not verify: forged or altered"});
        continue;
      }
      cosigned.push_back(Point{cp->size, ok->front().timestamp, record, w});
    }
  }

  // The tree: the bundle must hold the entries checkpointed, and be them.
  if (cp->size > leaves_[p].size()) {
    problems.push_back({false, where,
                        "the bundle holds " + std::to_string(leaves_[p].size()) + " verified entries of " + code +
                            "'s feed: it lacks entries " + code + " published in its log (" + code + "#" +
                            std::to_string(leaves_[p].size() + 1) + "..#" + std::to_string(cp->size) + ")"});
    return problems;
  }
  if (RootOf(p, cp->size) != cp->root) {
    problems.push_back({true, where,
                        "split view: " + code + " signed a checkpoint of " + std::to_string(cp->size) +
                            " entries whose root is not that of " + code + "'s feed in this bundle (" + code +
                            "#1..#" + std::to_string(cp->size) + ")"});
    return problems;
  }
  ++valid_;
  points_[p].insert(points_[p].end(), cosigned.begin(), cosigned.end());
  return problems;
}

void WitnessCoverage::Finish() {
  for (PartyIndex p = 0; p < 2; ++p) {
    std::vector<Digest>().swap(leaves_[p]);
    cache_[p].clear();
    auto& pts = points_[p];
    std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) {
      return std::tie(a.size, a.time_s, a.witness, a.record) < std::tie(b.size, b.time_s, b.witness, b.record);
    });
    auto& sm = suffix_min_[p];
    sm.assign(pts.size(), 0);
    for (size_t i = pts.size(); i-- > 0;) {
      sm[i] = static_cast<uint32_t>(i);
      if (i + 1 < pts.size() && pts[sm[i + 1]].time_s < pts[i].time_s) sm[i] = sm[i + 1];
    }
    for (auto& list : by_witness_[p]) list.clear();
    for (const Point& pt : pts) {
      auto& list = by_witness_[p][pt.witness];
      const uint64_t running = list.empty() ? pt.time_s : std::max(list.back().second, pt.time_s);
      list.emplace_back(pt.size, running);
    }
  }
}

EntryEvidence WitnessCoverage::EvidenceAt(PartyIndex p, size_t i, uint64_t seq) const {
  const Point& pt = points_[p][suffix_min_[p][i]];
  EntryEvidence ev{pt.time_s, pt.witness, pt.size, pt.record, std::nullopt};
  const auto& list = by_witness_[p][pt.witness];
  // The witness's cosignatures of sizes < seq: their latest time.
  auto it = std::lower_bound(list.begin(), list.end(), std::make_pair(seq, uint64_t{0}));
  if (it != list.begin()) ev.previous_s = std::prev(it)->second;
  return ev;
}

std::optional<EntryEvidence> WitnessCoverage::Earliest(PartyIndex p, uint64_t seq) const {
  const auto& pts = points_[p];
  auto it = std::lower_bound(pts.begin(), pts.end(), seq, [](const Point& a, uint64_t s) { return a.size < s; });
  if (it == pts.end()) return std::nullopt;
  return EvidenceAt(p, static_cast<size_t>(it - pts.begin()), seq);
}

uint64_t WitnessCoverage::CoveredBy(PartyIndex p, uint32_t witness) const {
  uint64_t best = 0;
  for (const Point& pt : points_[p]) {
    if (pt.witness == witness) best = std::max(best, pt.size);
  }
  return best;
}

uint64_t WitnessCoverage::CoveredSize(PartyIndex p, size_t k) const {
  if (k == 0) return UINT64_MAX;
  std::vector<uint64_t> best;
  for (uint32_t w = 0; w < charter_.witnesses().size(); ++w) best.push_back(CoveredBy(p, w));
  if (best.size() < k) return 0;
  std::sort(best.rbegin(), best.rend());
  return best[k - 1];
}

std::vector<EvidenceRun> WitnessCoverage::Runs(PartyIndex p, uint64_t covered, size_t max_runs,
                                               uint64_t* more) const {
  std::vector<EvidenceRun> runs;
  uint64_t extra = 0;
  const auto& pts = points_[p];
  uint64_t next = 1;  // the first seq not yet in a run
  for (size_t i = 0; i < pts.size() && next <= covered; ++i) {
    if (pts[i].size < next) continue;
    const uint64_t to = std::min(pts[i].size, covered);
    const EntryEvidence ev = EvidenceAt(p, i, next);
    const Point& best = pts[suffix_min_[p][i]];
    if (!runs.empty() && extra == 0 && runs.back().evidence.record == best.record &&
        runs.back().evidence.witness == best.witness && runs.back().evidence.time_s == best.time_s) {
      runs.back().to = to;  // the same cosignature covers this range too
    } else if (runs.size() < max_runs) {
      runs.push_back(EvidenceRun{next, to, ev});
    } else {
      ++extra;
    }
    next = to + 1;
  }
  if (more) *more = extra;
  return runs;
}

WitnessCoverage CoverFeeds(const Charter& charter, const std::vector<DecodedEntry>& feed0,
                           const std::vector<DecodedEntry>& feed1, const std::vector<std::string>& notes,
                           std::vector<CheckpointProblem>* problems) {
  WitnessCoverage coverage(charter);
  KeySchedule schedule(charter);
  const std::vector<DecodedEntry>* feeds[2] = {&feed0, &feed1};
  for (const auto* feed : feeds) {
    for (const DecodedEntry& e : *feed) schedule.Observe(e.entry);
  }
  for (PartyIndex p = 0; p < 2; ++p) {
    std::vector<uint64_t> last_signed;
    for (const DecodedEntry& e : *feeds[p]) {
      coverage.AddLeaf(p, Rfc6962LeafHash(e.envelope));
      const size_t key = schedule.RotationsInEffect(p, e.seq(), e.entry.has_seen() ? e.entry.seen().seq() : 0);
      if (last_signed.size() <= key) last_signed.resize(key + 1, 0);
      last_signed[key] = e.seq();
    }
    coverage.SetKeys(p, CheckpointKeys(schedule, p, last_signed));
  }
  for (size_t i = 0; i < notes.size(); ++i) {
    for (CheckpointProblem& problem : coverage.Add(i, notes[i])) {
      if (problems) problems->push_back(std::move(problem));
    }
  }
  coverage.Finish();
  return coverage;
}

}  // namespace parley
