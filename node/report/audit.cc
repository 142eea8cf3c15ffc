#include "node/report/audit.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "crypto/hash.h"
#include "crypto/merkle.h"

#include "node/report/bundle.h"
#include "node/ledger/ledger.h"
#include "node/base/text.h"
#include "node/base/version.h"
#include "node/protocol/verifier.h"
#include "node/report/views.h"

namespace parley {
namespace {

std::string Label(const Charter& c, const StatementRef& r) {
  return c.party_code(r.party) + "#" + std::to_string(r.seq);
}

void AddStateFindings(const Charter& c, AuditReport& report) {
  const LedgerState& s = report.state;
  for (const VoidStatement& v : s.void_statements) {
    report.AddFinding({v.compromised ? FindingKind::kCompromised : FindingKind::kVoid,
                       Label(c, v.at) + " " + KindName(v.kind), v.reason});
  }
  for (const VoidLink& v : s.void_links) {  // the statement stands; this link of it has no effect
    report.AddFinding({FindingKind::kVoidLink, Label(c, v.at) + " " + KindName(v.kind) + " " + v.field, v.reason});
  }
  for (const Proposal& p : s.proposals) {
    const std::string where = "proposal " + Label(c, p.proposed);
    if (p.contested) {
      report.AddFinding({FindingKind::kContested, where, "an acceptance and a withdrawal crossed; the acceptance stands"});
    }
    if (p.state == ProposalState::kOpen) {
      report.unilateral.push_back({where, "proposed by " + c.party_code(p.proposer()) + " alone; not accepted"});
    }
    if (!p.agreement) continue;
    const Agreement& a = *p.agreement;
    for (PartyIndex q = 0; q < 2; ++q) {
      if (a.cancel_requests[q] && a.state == AgreementState::kCancelRequested) {
        report.unilateral.push_back({where, "cancellation requested by " + c.party_code(q) + " alone"});
      }
    }
    for (size_t i = 0; i < a.transfers.size(); ++i) {
      const TransferProgress& t = a.transfers[i];
      const auto& agreed = p.terms.transfers(static_cast<int>(i));
      const std::string tw = where + " transfer " + std::to_string(i);
      if (!t.handovers.empty() && !t.receipts.empty() && t.handed_over != t.received) {
        report.AddFinding({FindingKind::kDiscrepancy, tw, "handed over " + std::to_string(t.handed_over) + ", received " +
                                                          std::to_string(t.received)});
      }
      if (!t.handovers.empty() && t.handed_over != agreed.count()) {
        report.AddFinding({FindingKind::kDiscrepancy, tw, "handed over " + std::to_string(t.handed_over) + " of " +
                                                          std::to_string(agreed.count()) + " agreed"});
      }
      if (t.handover_manifest && t.receipt_manifest && *t.handover_manifest != *t.receipt_manifest) {
        report.AddFinding({FindingKind::kDiscrepancy, tw, "the manifests of handover and receipt differ"});
      }
      const auto& r = t.reconciliation;
      if (r.missing() || r.not_on_manifest() || r.unidentified() || r.other_side()) {
        report.AddFinding(
            {FindingKind::kDiscrepancy, tw,
             "reconciliation: " + std::to_string(r.matched()) + " matched, " + std::to_string(r.missing()) +
                 " missing, " + std::to_string(r.not_on_manifest()) + " not on manifest, " +
                 std::to_string(r.unidentified()) + " unidentified, " + std::to_string(r.other_side()) +
                 " of the other side"});
      }
    }
  }
  for (const Claim& cl : s.claims) {  // last: see AuditReport::unilateral
    report.unilateral.push_back({Label(c, cl.at) + " " + KindName(cl.kind),
                               "claimed by " + c.party_code(cl.at.party) + " alone: " + cl.text});
  }
}

}  // namespace

namespace {

constexpr FindingKindInfo kFindingKindInfo[] = {
#define PARLEY_FINDING_INFO(id, name, unclean, one, many, html_class, meaning) \
  {name, unclean, one, many, html_class, meaning},
    PARLEY_FINDING_KINDS(PARLEY_FINDING_INFO)
#undef PARLEY_FINDING_INFO
};
static_assert(std::size(kFindingKindInfo) == kFindingKindCount);

}  // namespace

const FindingKindInfo& InfoOf(FindingKind kind) { return kFindingKindInfo[static_cast<size_t>(kind)]; }

std::optional<FindingKind> FindingKindNamed(std::string_view name) {
  for (FindingKind k : kFindingKinds) {
    if (FindingName(k) == name) return k;
  }
  return std::nullopt;
}

void AuditReport::AddFinding(AuditFinding f) {
  uint64_t& omitted_of_kind = omitted[static_cast<size_t>(f.kind)];
  if (omitted_of_kind > 0) {
    ++omitted_of_kind;  // this kind is full already
    return;
  }
  size_t kept = 0;
  for (const AuditFinding& g : findings) kept += g.kind == f.kind;
  if (kept < kMaxFindingsPerKind) findings.push_back(std::move(f));
  else omitted_of_kind = 1;
}

uint64_t AuditReport::Count(FindingKind kind) const {
  uint64_t n = Omitted(kind);
  for (const AuditFinding& f : findings) n += f.kind == kind;
  return n;
}

uint64_t AuditReport::Count(std::string_view name) const {
  const std::optional<FindingKind> kind = FindingKindNamed(name);
  return kind ? Count(*kind) : 0;
}

uint64_t AuditReport::Omitted(std::string_view name) const {
  const std::optional<FindingKind> kind = FindingKindNamed(name);
  return kind ? Omitted(*kind) : 0;
}

bool AuditReport::clean() const {
  for (FindingKind k : kFindingKinds) {
    if (InfoOf(k).unclean && Count(k) > 0) return false;
  }
  return true;
}

std::string DescribeEntry(const Charter& c, const v1::Entry& en) {
  auto short_id = [](const std::string& b) { return ToHex(b).substr(0, 12); };
  switch (en.body_case()) {
    case v1::Entry::kPropose: {
      v1::Terms t;
      t.ParseFromString(en.propose().terms());
      std::string s = en.propose().counters().empty() ? (en.propose().amends().empty() ? "proposes" : "proposes an amendment:")
                                                      : "counter-proposes";
      for (int i = 0; i < t.transfers_size(); ++i) {
        const auto& tr = t.transfers(i);
        s += (i ? " +" : "") + std::string(" ") + c.party_code(tr.from_party()) + "→" + c.party_code(tr.to_party()) +
             " " + std::to_string(tr.count()) +
             (tr.category() == v1::REMAINS ? " remains" : tr.category() == v1::PRISONERS_OF_WAR ? " POWs" : " civilians");
      }
      return s;
    }
    case v1::Entry::kAccept: return "accepts " + short_id(en.accept().proposal());
    case v1::Entry::kReject: return "rejects " + short_id(en.reject().proposal());
    case v1::Entry::kWithdraw: return "withdraws " + short_id(en.withdraw().proposal());
    case v1::Entry::kCancel: return "asks to cancel " + short_id(en.cancel().agreement());
    case v1::Entry::kHandover:
      return "reports handing over " + std::to_string(en.handover().count()) + " (transfer " +
             std::to_string(en.handover().transfer_index()) + ")";
    case v1::Entry::kReceipt:
      return "reports receiving " + std::to_string(en.receipt().count()) + " (transfer " +
             std::to_string(en.receipt().transfer_index()) + ")";
    case v1::Entry::kAttestation: return "attests: " + Printable(en.attestation().what());
    case v1::Entry::kStatement: return "states: " + Printable(en.statement().text());
    case v1::Entry::kRotateKey: {
      std::string s = "rotates its key to " + short_id(en.rotate_key().new_public_key());
      if (en.rotate_key().compromised_from_seq() != 0) {
        s += ", declaring its entries from #" + std::to_string(en.rotate_key().compromised_from_seq()) +
             " signed with a compromised key";
      }
      return s;
    }
    case v1::Entry::kDisclose: return DescribeDisclose(c, en.disclose());
    default: return "?";
  }
}

namespace {

// What stage 2 needs to know about the entries verified so far, kept
// compactly: per feed the IDs, kinds, Lamport numbers and file offsets, and
// an index from the first 8 bytes of an ID to its position.
class AuditIndex final : public FeedView {
 public:
  struct Feed {
    FeedHead head;
    std::vector<Digest> ids;
    std::vector<uint8_t> kinds;
    std::vector<uint64_t> lamport;
    std::vector<uint64_t> offsets;
    std::vector<int64_t> times;  // declared times, kept only when the charter lists witnesses
    std::vector<uint64_t> last_signed;  // per key of the party's history: the last seq it signed
    bool frozen = false;  // by a fork
    bool broken = false;  // by a violation: later entries are not checked
  };

  FeedHead Head(PartyIndex party) const override { return feeds[party].head; }
  // A feed after its first violation is not checked further, as after a
  // fork: the verifier refuses its entries (feed-frozen), counted unchecked.
  bool Frozen(PartyIndex party) const override { return feeds[party].frozen || feeds[party].broken; }

  Result<std::optional<EntryRef>> Find(const Digest& id) const override {
    auto [lo, hi] = by_prefix_.equal_range(Prefix(id));
    for (auto it = lo; it != hi; ++it) {
      const PartyIndex p = static_cast<PartyIndex>(it->second >> 63);
      const uint64_t seq = it->second & ~(1ull << 63);
      if (feeds[p].ids[seq - 1] == id) {
        return std::optional<EntryRef>(
            EntryRef{p, seq, static_cast<v1::Entry::BodyCase>(feeds[p].kinds[seq - 1])});
      }
    }
    return std::optional<EntryRef>();
  }

  Result<std::optional<Digest>> IdAt(PartyIndex party, uint64_t seq) const override {
    if (seq == 0 || seq > feeds[party].ids.size()) return std::optional<Digest>();
    return std::optional<Digest>(feeds[party].ids[seq - 1]);
  }

  void Add(const DecodedEntry& e, uint64_t offset) {
    Feed& f = feeds[e.author()];
    const uint64_t seen = e.entry.has_seen() ? e.entry.seen().seq() : 0;
    uint64_t l = f.lamport.empty() ? 0 : f.lamport.back();
    if (seen > 0) l = std::max(l, feeds[1 - e.author()].lamport[seen - 1]);
    f.ids.push_back(e.id);
    f.kinds.push_back(static_cast<uint8_t>(e.kind()));
    f.lamport.push_back(l + 1);
    f.offsets.push_back(offset);
    f.head = FeedHead{e.seq(), e.id, e.time_ms(), seen};
    by_prefix_.emplace(Prefix(e.id), (static_cast<uint64_t>(e.author()) << 63) | e.seq());
  }

  void DropLookupIndex() { std::unordered_multimap<uint64_t, uint64_t>().swap(by_prefix_); }

  Feed feeds[2];

  static uint64_t Prefix(const Digest& id) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | id.bytes[i];
    return v;
  }

 private:
  std::unordered_multimap<uint64_t, uint64_t> by_prefix_;
};

// Verifies chunks of envelopes (stage 1: parse + signature) on worker
// threads while the caller reads the next chunk and checks the previous one.
class ParallelDecoder {
 public:
  struct Chunk {
    std::vector<BundleReader::Record> records;
    std::vector<std::optional<Result<DecodedEntry>>> decoded;
    // The key schedule as the sequential check knew it when the chunk was
    // queued: the workers verify under it; entries whose key it got wrong
    // (a rotation or acknowledgement in flight) are verified again.
    std::shared_ptr<const KeySchedule> schedule;
    // Per entry record: its RFC 6962 leaf hash, SHA-256(0x00 || envelope)
    // (docs/PROTOCOL.md §15.1), for the witness coverage.
    std::vector<Digest> leaves;
    int pending = 0;
  };

  ParallelDecoder(const FeedVerifier& verifier, int threads) : verifier_(verifier) {
    for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this] { Work(); });
  }
  ~ParallelDecoder() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  // Queues `chunk`; its entries are decoded in slices by the workers.
  void Submit(Chunk* chunk) {
    chunk->decoded.resize(chunk->records.size());
    chunk->leaves.resize(chunk->records.size());
    std::lock_guard lock(mu_);
    constexpr size_t kSlice = 64;
    for (size_t i = 0; i < chunk->records.size(); i += kSlice) {
      tasks_.push_back({chunk, i, std::min(i + kSlice, chunk->records.size())});
      ++chunk->pending;
    }
    cv_.notify_all();
  }

  void Wait(Chunk* chunk) {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return chunk->pending == 0; });
  }

 private:
  struct Task {
    Chunk* chunk;
    size_t begin, end;
  };

  void Work() {
    while (true) {
      Task t;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
        if (stop_ && tasks_.empty()) return;
        t = tasks_.front();
        tasks_.pop_front();
      }
      for (size_t i = t.begin; i < t.end; ++i) {
        const auto& r = t.chunk->records[i];
        if (r.entry) {
          t.chunk->decoded[i] = verifier_.Decode(*r.entry, t.chunk->schedule.get());
          t.chunk->leaves[i] = Rfc6962LeafHash(*r.entry);
        }
      }
      {
        std::lock_guard lock(mu_);
        --t.chunk->pending;
      }
      done_.notify_all();
    }
  }

  const FeedVerifier& verifier_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_;
  std::deque<Task> tasks_;
  bool stop_ = false;
};

std::string EntryLabel(const Charter& c, PartyIndex p, uint64_t seq) {
  return c.party_code(p) + "#" + std::to_string(seq);
}

std::optional<Digest> TargetOf(const v1::Entry& e) {
  auto refs = ReferencesOf(e);
  if (refs.empty()) return std::nullopt;
  return refs.front().id;
}

// What the report names as audited (AuditSubject), once the reader has read
// the whole bundle and pass 1 has verified every entry it will.
AuditSubject Audited(const BundleReader& reader, const FeedHead& head0, const FeedHead& head1,
                     const AuditOptions& options) {
  AuditSubject a;
  a.bundle_digest = reader.digest();
  a.bundle_bytes = reader.size();
  a.heads[0] = head0;
  a.heads[1] = head1;
  a.exported_by = reader.header().exported_by();
  a.exported_ms = reader.header().exported_ms();
  a.parley_release = ParleyRelease();
  a.parley_commit = ParleyCommit();
  a.protocol_version = kProtocolVersion;
  a.audited_ms = options.now_ms;
  return a;
}

// What the coverage proves, per feed, for the report (docs/PROTOCOL.md §13).
void SummarizeWitnesses(const Charter& charter, const WitnessCoverage& coverage, const AuditOptions& options,
                        AuditReport& report) {
  WitnessSummary& w = report.witnesses;
  w.valid_checkpoints = coverage.valid_checkpoints();
  w.required = options.required_cosignatures ? *options.required_cosignatures : charter.required_cosignatures();
  w.enforced = options.require_witnesses;
  for (PartyIndex p = 0; p < 2; ++p) {
    WitnessSummary::Feed& f = w.feeds[p];
    f.head = report.audited.heads[p].seq;
    for (uint32_t i = 0; i < charter.witnesses().size(); ++i) f.by_witness.push_back(coverage.CoveredBy(p, i));
    f.covered = std::min(coverage.CoveredSize(p, w.required), f.head);
    f.runs = coverage.Runs(p, f.head, kMaxEvidenceRuns, &f.runs_omitted);
  }
}

// The "time" finding of entry (p, seq) declared at time_ms, if JudgeTime finds one.
std::optional<AuditFinding> TimeFinding(const Charter& c, PartyIndex p, uint64_t seq, int64_t time_ms,
                                        const EntryEvidence& ev) {
  const std::string witness = "witness \"" + Printable(c.witnesses()[ev.witness].name) + "\"";
  const std::string code = c.party_code(p);
  const int64_t seen_ms = static_cast<int64_t>(std::min<uint64_t>(ev.time_s, INT64_MAX / 1000 - 1)) * 1000;
  switch (JudgeTime(time_ms, ev)) {
    case TimeVerdict::kConsistent: return std::nullopt;
    case TimeVerdict::kAfterWitness:
      return AuditFinding{FindingKind::kTime, EntryLabel(c, p, seq),
                          "declared at " + IsoTime(time_ms) + ", after " + witness + " had cosigned " + code +
                              "'s checkpoint of " + std::to_string(ev.size) + " entries holding it at " +
                              IsoTime(seen_ms) + " (record " + std::to_string(ev.record) +
                              "): impossible; the author's clock or its declared time is wrong"};
    case TimeVerdict::kBackdated: {
      const int64_t prev_ms = static_cast<int64_t>(std::min<uint64_t>(*ev.previous_s, INT64_MAX / 1000 - 1)) * 1000;
      return AuditFinding{FindingKind::kTime, EntryLabel(c, p, seq),
                          "declared at " + IsoTime(time_ms) + ", more than 10 minutes before " + witness +
                              " cosigned a checkpoint of " + code + " without it at " + IsoTime(prev_ms) +
                              "; the witness first cosigned it at " + IsoTime(seen_ms) + ": possibly backdated"};
    }
  }
  return std::nullopt;
}

}  // namespace

std::string DescribeEvidence(const Charter& c, const EntryEvidence& ev) {
  const int64_t seen_ms = static_cast<int64_t>(std::min<uint64_t>(ev.time_s, INT64_MAX / 1000 - 1)) * 1000;
  return "existed by " + IsoTime(seen_ms) + ", per witness \"" + Printable(c.witnesses()[ev.witness].name) + "\"";
}

std::vector<std::string> UnwitnessedTails(const Charter& c, const WitnessSummary& w) {
  std::vector<std::string> out;
  for (PartyIndex p = 0; p < 2; ++p) {
    const WitnessSummary::Feed& f = w.feeds[p];
    if (f.covered >= f.head) continue;
    std::string s = c.party_code(p) + "#" + std::to_string(f.covered + 1);
    if (f.head > f.covered + 1) s += "..#" + std::to_string(f.head);
    s += " not covered by " + std::to_string(w.required) + (w.required == 1 ? " witness" : " witnesses");
    if (w.required > c.witnesses().size()) {
      s += " (the charter lists " + std::to_string(c.witnesses().size()) + ")";
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<AuditReport> AuditBundle(const std::string& path, const AuditOptions& options) {
  auto opened = BundleReader::Open(path);
  if (!opened) return opened.error();
  BundleReader& reader = **opened;
  auto parsed = Charter::Parse(reader.charter_bytes());
  if (!parsed) return Status(Code::kDataLoss, "bundle: " + parsed.error().message());
  const Charter& charter = *parsed;
  AuditReport report;
  report.charter_bytes = reader.charter_bytes();
  if (reader.header().ledger_id() != charter.ledger_id().view()) {
    report.AddFinding({FindingKind::kViolation, "header", "the header names another ledger than the charter"});
  }
  if (!charter.fully_signed()) {
    report.AddFinding({FindingKind::kViolation, "charter", "the charter is not signed by both parties"});
  }

  // Pass 1: verify every entry in file order; fork proofs as they come.
  AuditIndex index;
  KeySchedule schedule(charter);  // as of the entries checked so far
  auto published = std::make_shared<const KeySchedule>(schedule);  // what the workers use
  const FeedVerifier verifier(charter);  // the acceptance of every entry, as a node decides it
  ParallelDecoder decoder(verifier, options.threads);
  // A chunk is 1024 records, or fewer once they hold 1 MiB: records in
  // flight hold at most kInFlight × (1 MiB + one record of up to 1 MiB),
  // however large the records of a bundle (real entries are at most 64 KiB).
  constexpr size_t kChunk = 1024;
  constexpr size_t kChunkBytes = 1 << 20;
  constexpr size_t kInFlight = 4;
  std::deque<std::unique_ptr<ParallelDecoder::Chunk>> in_flight;
  bool at_end = false;

  WitnessCoverage coverage(charter);
  const bool witnessed = !charter.witnesses().empty();
  bool after_checkpoint = false;  // a checkpoint record has been read
  auto check = [&](const BundleReader::Record& r, Result<DecodedEntry>& decoded, const Digest& leaf) {
    const std::string where = "record " + std::to_string(r.index);
    if (!decoded) {
      // Which feed it claims to belong to, if it parses that far.
      v1::SignedEntry se;
      v1::Entry en;
      if (se.ParseFromString(*r.entry) && en.ParseFromString(se.entry()) && en.author() <= 1 &&
          en.ledger_id() == charter.ledger_id().view()) {
        AuditIndex::Feed& f = index.feeds[en.author()];
        if (f.broken) {
          ++report.unchecked;
          return;
        }
        f.broken = true;
        report.AddFinding({FindingKind::kViolation, where + " (" + EntryLabel(charter, en.author(), en.seq()) + ")",
                                   decoded.error().message()});
        return;
      }
      report.AddFinding({FindingKind::kViolation, where, decoded.error().message()});
      return;
    }
    const DecodedEntry& e = *decoded;
    const std::string label = where + " (" + EntryLabel(charter, e.author(), e.seq()) + ")";
    AuditIndex::Feed& f = index.feeds[e.author()];
    auto verdict = verifier.Verify(e, index, schedule);
    if (!verdict) {
      if (ViolationOf(verdict.error()) == Violation::kFeedFrozen) {
        ++report.unchecked;  // after the feed's first violation or fork
        return;
      }
      f.broken = true;
      report.AddFinding({FindingKind::kViolation, label, verdict.error().message()});
      return;
    }
    if (*verdict == FeedVerifier::Placement::kDuplicate) {
      report.AddFinding({FindingKind::kViolation, label, "the same entry appears twice"});
      return;
    }
    if (*verdict == FeedVerifier::Placement::kFork) {
      f.frozen = true;
      report.AddFinding({FindingKind::kFork, label, charter.party_code(e.author()) +
                                                    " signed two different entries at seq " + std::to_string(e.seq())});
      return;
    }
    index.Add(e, r.offset);
    coverage.AddLeaf(e.author(), leaf);
    if (witnessed) f.times.push_back(e.time_ms());
    const size_t key = schedule.RotationsInEffect(e.author(), e.seq(), e.entry.has_seen() ? e.entry.seen().seq() : 0);
    if (f.last_signed.size() <= key) f.last_signed.resize(key + 1, 0);
    f.last_signed[key] = e.seq();
    schedule.Observe(e.entry);
    ++report.entries[e.author()];
  };

  while (!at_end || !in_flight.empty()) {
    while (!at_end && in_flight.size() < kInFlight) {
      auto chunk = std::make_unique<ParallelDecoder::Chunk>();
      size_t chunk_bytes = 0;
      while (chunk->records.size() < kChunk && chunk_bytes < kChunkBytes) {
        auto rec = reader.Next();
        if (!rec) return rec.error();
        if (!rec->has_value()) {
          at_end = true;
          break;
        }
        chunk_bytes += (*rec)->entry ? (*rec)->entry->size()
                       : (*rec)->fork ? (*rec)->fork->ByteSizeLong()
                                      : (*rec)->checkpoint->size();
        chunk->records.push_back(std::move(**rec));
      }
      if (published->version() != schedule.version()) published = std::make_shared<const KeySchedule>(schedule);
      chunk->schedule = published;
      decoder.Submit(chunk.get());
      in_flight.push_back(std::move(chunk));
    }
    auto chunk = std::move(in_flight.front());
    in_flight.pop_front();
    decoder.Wait(chunk.get());
    for (size_t i = 0; i < chunk->records.size(); ++i) {
      const auto& r = chunk->records[i];
      ++report.records;
      if (r.entry) {
        Result<DecodedEntry>& decoded = *chunk->decoded[i];
        // Verified under an older schedule: again if its key may differ.
        verifier.Recheck(decoded, *r.entry, *chunk->schedule, schedule);
        if (after_checkpoint) {
          report.AddFinding({FindingKind::kViolation, "record " + std::to_string(r.index),
                             "an entry after a checkpoint record: a bundle holds its checkpoints after every entry "
                             "(§12), and checkpoints are checked against the entries before them"});
        }
        check(r, decoded, chunk->leaves[i]);
      } else if (r.fork) {
        const std::string where = "record " + std::to_string(r.index);
        auto proof = verifier.CheckForkProof(*r.fork, schedule);
        if (!proof) {
          report.AddFinding({FindingKind::kViolation, where, proof.error().message()});
        } else {
          report.AddFinding({FindingKind::kFork, where, charter.party_code(proof->party) + " signed two different entries at seq " +
                                                        std::to_string(proof->seq) + " (fork proof)"});
        }
      } else if (r.checkpoint) {
        after_checkpoint = true;
        ++report.witnesses.checkpoint_records;
        for (PartyIndex p = 0; p < 2; ++p) coverage.SetKeys(p, CheckpointKeys(schedule, p, index.feeds[p].last_signed));
        for (CheckpointProblem& problem : coverage.Add(r.index, *r.checkpoint)) {
          report.AddFinding({problem.fork ? FindingKind::kFork : FindingKind::kViolation, std::move(problem.where),
                             std::move(problem.what)});
        }
      }
    }
  }
  if (report.unchecked > 0) {
    report.AddFinding({FindingKind::kViolation, "feeds", std::to_string(report.unchecked) +
                                                         " entries after a feed's first violation or fork were not checked"});
  }
  report.audited = Audited(reader, index.feeds[0].head, index.feeds[1].head, options);
  coverage.Finish();
  SummarizeWitnesses(charter, coverage, options, report);
  for (PartyIndex p = 0; p < 2; ++p) {  // each entry's declared time against its evidence
    std::vector<int64_t> times = std::move(index.feeds[p].times);
    for (uint64_t seq = 1; seq <= times.size(); ++seq) {
      const std::optional<EntryEvidence> ev = coverage.Earliest(p, seq);
      if (!ev) break;  // no later entry is covered either
      if (std::optional<AuditFinding> f = TimeFinding(charter, p, seq, times[seq - 1], *ev)) {
        report.AddFinding(std::move(*f));
      }
    }
  }

  // Pass 2: replay the verified entries in canonical order (L, party, seq).
  // Only the first 8 bytes of each ID are kept to notice a file that changes
  // under us; IDs are recomputed from the bytes.
  index.DropLookupIndex();
  std::vector<uint64_t> id_check[2];
  std::vector<std::pair<uint64_t, uint64_t>> order;  // (lamport, party << 63 | seq)
  order.reserve(index.feeds[0].ids.size() + index.feeds[1].ids.size());
  for (PartyIndex p = 0; p < 2; ++p) {
    auto& f = index.feeds[p];
    for (size_t i = 0; i < f.ids.size(); ++i) {
      order.emplace_back(f.lamport[i], (static_cast<uint64_t>(p) << 63) | (i + 1));
      id_check[p].push_back(AuditIndex::Prefix(f.ids[i]));
    }
    std::vector<Digest>().swap(f.ids);
    std::vector<uint64_t>().swap(f.lamport);
  }
  std::sort(order.begin(), order.end());
  StateBuilder builder(kMaxClaimsListed);
  for (PartyIndex p = 0; p < 2; ++p) {
    for (const KeyRotation& rot : schedule.rotations(p)) {
      builder.DeclareCompromised(p, rot.compromised_from, rot.seq);
      report.key_rotations.push_back(AuditKeyRotation{p, rot});
    }
  }
  for (const auto& [l, key] : order) {
    const PartyIndex p = static_cast<PartyIndex>(key >> 63);
    const uint64_t seq = key & ~(1ull << 63);
    const auto& f = index.feeds[p];
    const auto kind = static_cast<v1::Entry::BodyCase>(f.kinds[seq - 1]);
    const bool want_timeline = report.timeline.size() < options.max_timeline;
    if (kind == v1::Entry::kRotateKey && !want_timeline) continue;
    // A claim past the listed ones changes nothing but a count: its bytes
    // are not read again (unless a compromised key voids it: then it is
    // listed as void, with its ID).
    if (!want_timeline && builder.OmitsClaim(p, seq, kind)) continue;
    auto envelope = reader.EntryAt(f.offsets[seq - 1]);
    if (!envelope) return envelope.error();
    DecodedEntry e;
    v1::SignedEntry se;
    if (!se.ParseFromString(*envelope) || !e.entry.ParseFromString(se.entry())) {
      return Status(Code::kDataLoss, "bundle changed while being audited");
    }
    e.id = Hash(kEntryDomain, se.entry());
    if (AuditIndex::Prefix(e.id) != id_check[p][seq - 1]) {
      return Status(Code::kDataLoss, "bundle changed while being audited");
    }
    builder.Apply(e);
    if (kind == v1::Entry::kDisclose) {
      const v1::Disclose& d = e.entry.disclose();
      report.disclosures.push_back(ManifestDisclosure{StatementRef{p, seq, e.id, e.time_ms(), 0},
                                                      *Digest::FromBytes(d.manifest().root()),  // 32 bytes: stage 1
                                                      d.manifest().count(), d.to_party()});
    }
    if (want_timeline) {
      report.timeline.push_back(
          TimelineItem{StatementRef{p, seq, e.id, e.time_ms(), e.entry.has_seen() ? e.entry.seen().seq() : 0},
                       kind, TargetOf(e.entry), DescribeEntry(charter, e.entry), coverage.Earliest(p, seq)});
    } else if (options.max_timeline > 0) {
      report.timeline_truncated = true;
    }
  }
  report.state = std::move(builder).Finish(options.now_ms);
  std::erase_if(report.disclosures,
                [&](const ManifestDisclosure& d) { return report.state.compromised.count(d.at.id) > 0; });
  AddStateFindings(charter, report);
  return report;
}

std::string DescribeRotation(const Charter& c, const AuditKeyRotation& k) {
  const KeyRotation& r = k.rotation;
  const std::string& code = c.party_code(k.party);
  std::string s = code + "#" + std::to_string(r.seq) + " rotates " + code + "'s key to " +
                  ToHex(r.new_key).substr(0, 16) + "…: ";
  s += r.pending() ? "pending — " + c.party_code(1 - k.party) + " has not acknowledged it; " + code +
                         "'s entries are still signed with the previous key"
                   : "in effect since " + c.party_code(1 - k.party) + "#" + std::to_string(r.acknowledged_by) +
                         " acknowledged it (for " + code + "'s entries after #" + std::to_string(r.seq) +
                         " that have seen it)";
  if (r.compromised_from != 0 && r.compromised_from < r.seq) {
    s += "; declares " + code + "#" + std::to_string(r.compromised_from) + "–" + code + "#" +
         std::to_string(r.seq - 1) + " signed with a compromised key (kept, without effect)";
  }
  return s;
}


std::vector<nlohmann::json> ManifestDisclosures(const Charter& c, const AuditReport& report) {
  std::vector<nlohmann::json> out;
  for (const ManifestDisclosure& d : report.disclosures) {
    out.push_back({{"party", c.party_code(d.at.party)},
                   {"seq", d.at.seq},
                   {"time", IsoTime(d.at.time_ms)},
                   {"manifest", ToHex(d.manifest)},
                   {"count", d.count},
                   {"to", c.party_code(d.to)}});
  }
  return out;
}

std::string DescribeHead(const Charter& c, PartyIndex party, const FeedHead& head) {
  if (head.seq == 0) return c.party_code(party) + ": no entry";
  return c.party_code(party) + "#" + std::to_string(head.seq) + " " + ToHex(head.id);
}

std::string AuditedBy(const AuditSubject& a) {
  return "parley " + Printable(a.parley_release) + " (protocol v" + std::to_string(a.protocol_version) +
         ", commit " + Printable(a.parley_commit) + ") at " + IsoTime(a.audited_ms);
}

static nlohmann::json AuditedJson(const Charter& c, const AuditSubject& a) {
  nlohmann::json heads = nlohmann::json::object();
  for (PartyIndex p = 0; p < 2; ++p) {
    const FeedHead& h = a.heads[p];
    heads[c.party_code(p)] = {{"seq", h.seq}, {"id", h.seq == 0 ? nlohmann::json(nullptr) : nlohmann::json(ToHex(h.id))}};
  }
  return {{"bundle_digest", ToHex(a.bundle_digest)},
          {"bundle_bytes", a.bundle_bytes},
          {"heads", std::move(heads)},
          {"exported_by", a.exported_by},
          {"exported_ms", a.exported_ms},
          {"parley_version", a.parley_release},
          {"parley_commit", a.parley_commit},
          {"protocol_version", a.protocol_version},
          {"audited_at", IsoTime(a.audited_ms)}};
}

// The text report's section on witnesses: coverage per feed and, per run of
// entries, the earliest cosignature covering them (docs/PROTOCOL.md §13).
static std::string RenderWitnesses(const Charter& c, const AuditReport& report) {
  const WitnessSummary& w = report.witnesses;
  std::ostringstream out;
  out << "\nWitnesses (cosigned checkpoints of each feed):\n";
  if (c.witnesses().empty()) {
    out << "  the charter lists no witness";
  } else {
    out << "  charter witnesses:";
    for (size_t i = 0; i < c.witnesses().size(); ++i) {
      out << (i ? "," : "") << " \"" << Printable(c.witnesses()[i].name) << "\"";
    }
    out << "; audits require " << w.required << (w.enforced ? " (required by this audit)" : " (reported, not required)");
  }
  out << "\n  checkpoint records: " << w.checkpoint_records << ", " << w.valid_checkpoints << " valid\n";
  for (PartyIndex p = 0; p < 2; ++p) {
    const WitnessSummary::Feed& f = w.feeds[p];
    const std::string& code = c.party_code(p);
    out << "  " << code << ": head #" << f.head;
    for (size_t i = 0; i < f.by_witness.size(); ++i) {
      out << "; \"" << Printable(c.witnesses()[i].name) << "\" cosigned "
          << (f.by_witness[i] ? "up to #" + std::to_string(f.by_witness[i]) : std::string("nothing"));
    }
    out << "\n";
    for (const EvidenceRun& r : f.runs) {
      out << "    " << code << "#" << r.from;
      if (r.to > r.from) out << "..#" << r.to;
      out << " " << DescribeEvidence(c, r.evidence) << " (checkpoint of " << r.evidence.size << ", record "
          << r.evidence.record << ")\n";
    }
    if (f.runs_omitted) out << "    … and " << f.runs_omitted << " more ranges, not listed\n";
    if (f.runs.empty() || f.runs.back().to < f.head) {
      const uint64_t from = f.runs.empty() ? 1 : f.runs.back().to + 1;
      if (f.head >= from && f.runs_omitted == 0) {
        out << "    " << code << "#" << from;
        if (f.head > from) out << "..#" << f.head;
        out << " no witness evidence\n";
      }
    }
  }
  for (const std::string& tail : UnwitnessedTails(c, w)) out << "  " << tail << "\n";
  return out.str();
}

static nlohmann::json WitnessesJson(const Charter& c, const AuditReport& report) {
  const WitnessSummary& w = report.witnesses;
  nlohmann::json j;
  j["charter"] = nlohmann::json::array();
  for (const CharterWitness& cw : c.witnesses()) j["charter"].push_back({{"name", cw.name}, {"key", ToHex(cw.key)}});
  j["required"] = w.required;
  j["enforced"] = w.enforced;
  j["met"] = w.met();
  j["unwitnessed"] = UnwitnessedTails(c, w);
  j["checkpoint_records"] = w.checkpoint_records;
  j["valid_checkpoints"] = w.valid_checkpoints;
  j["feeds"] = nlohmann::json::object();
  for (PartyIndex p = 0; p < 2; ++p) {
    const WitnessSummary::Feed& f = w.feeds[p];
    nlohmann::json by = nlohmann::json::array();
    for (size_t i = 0; i < f.by_witness.size(); ++i) {
      by.push_back({{"witness", c.witnesses()[i].name}, {"size", f.by_witness[i]}});
    }
    nlohmann::json runs = nlohmann::json::array();
    for (const EvidenceRun& r : f.runs) {
      runs.push_back({{"from", r.from},
                      {"to", r.to},
                      {"existed_by", IsoTime(static_cast<int64_t>(std::min<uint64_t>(r.evidence.time_s,
                                                                                      INT64_MAX / 1000 - 1)) * 1000)},
                      {"witness", c.witnesses()[r.evidence.witness].name},
                      {"checkpoint_size", r.evidence.size},
                      {"record", r.evidence.record}});
    }
    j["feeds"][c.party_code(p)] = {{"head", f.head},
                                   {"covered", f.covered},
                                   {"by_witness", std::move(by)},
                                   {"evidence", std::move(runs)},
                                   {"evidence_omitted", f.runs_omitted}};
  }
  return j;
}

std::string RenderAudit(const AuditReport& report) {
  const Charter c = Charter::Parse(report.charter_bytes).value();
  std::ostringstream out;
  out << "Audit of ledger " << ToHex(c.ledger_id()) << "\n";
  // Every string from the charter or the feeds is shown through Printable:
  // the other side (or whoever made the bundle) wrote it.
  out << "  \"" << Printable(c.proto().title()) << "\"\n";
  out << "  parties: " << c.party_code(0) << " (" << Printable(c.party_name(0)) << "), " << c.party_code(1) << " ("
      << Printable(c.party_name(1)) << ")\n";
  out << "  charter signed by both: " << (c.fully_signed() ? "yes" : "NO") << "\n";
  out << "  entries verified: " << c.party_code(0) << " " << report.entries[0] << ", " << c.party_code(1) << " "
      << report.entries[1] << " (every signature, chain and seen link checked)\n";
  // What was audited, by what and when (docs/PROTOCOL.md §13).
  const AuditSubject& a = report.audited;
  out << "  bundle: " << ToHex(a.bundle_digest) << " (H(\"" << kBundleDigestDomain << "\", file), " << a.bundle_bytes
      << " bytes)\n";
  out << "  feed heads: " << DescribeHead(c, 0, a.heads[0]) << ", " << DescribeHead(c, 1, a.heads[1]) << "\n";
  out << "  exported by \"" << Printable(a.exported_by) << "\" at " << IsoTime(a.exported_ms)
      << " (the bundle's word, not verified)\n";
  out << "  audited by " << AuditedBy(a) << "\n\n";
  auto list = RenderList(c, report.state);
  out << (list ? *list : Printable(list.error().message())) << "\n";
  out << "Findings:\n";
  for (const AuditFinding& f : report.findings) {
    out << "  " << FindingName(f.kind) << "  " << Printable(f.where) << ": " << Printable(f.what) << "\n";
  }
  for (FindingKind kind : kFindingKinds) {
    if (const uint64_t n = report.Omitted(kind)) {
      out << "  " << FindingName(kind) << "  … and " << n << " more, not listed (the report lists the first "
          << kMaxFindingsPerKind << " of each kind)\n";
    }
  }
  if (report.findings.empty()) out << "  none\n";
  out << "\nKey rotations:\n";
  for (const AuditKeyRotation& k : report.key_rotations) out << "  " << DescribeRotation(c, k) << "\n";
  if (report.key_rotations.empty()) out << "  none (every entry is signed with its party's charter key)\n";
  out << "\nManifest disclosures (each recorded by the disclosing node before it sent the list):\n";
  const std::vector<nlohmann::json> disclosures = ManifestDisclosures(c, report);
  for (const nlohmann::json& d : disclosures) {
    out << "  " << d["party"].get<std::string>() << "#" << d["seq"].get<uint64_t>() << "  "
        << d["time"].get<std::string>() << "  manifest " << d["manifest"].get<std::string>().substr(0, 16) << "… ("
        << d["count"].get<uint64_t>() << " records) to " << d["to"].get<std::string>() << "\n";
  }
  if (disclosures.empty()) out << "  none\n";
  out << RenderWitnesses(c, report);
  // The claims, the tail of `unilateral`, are listed once: by RenderList
  // above, under "One-sided claims". Here the rest of one side's word.
  const size_t others = report.unilateral.size() - std::min(report.unilateral.size(), report.state.claims.size());
  out << "\nOne side's word alone (not agreements) — open proposals and cancel requests; claims above:\n";
  for (size_t i = 0; i < others; ++i) {
    out << "  " << Printable(report.unilateral[i].where) << ": " << Printable(report.unilateral[i].what) << "\n";
  }
  if (others == 0) out << "  none\n";
  out << "\nVerdict: " << (report.clean() ? "CLEAN" : "VIOLATIONS FOUND") << " — ";
  for (FindingKind kind : kFindingKinds) {
    const uint64_t n = report.Count(kind);
    out << (kind == kFindingKinds[0] ? "" : ", ") << n << " " << (n == 1 ? InfoOf(kind).one : InfoOf(kind).many);
  }
  out << "; " << report.unilateral.size() + report.state.claims_omitted << " one-sided claims\n";
  if (report.witnesses.enforced) {
    const std::vector<std::string> tails = UnwitnessedTails(c, report.witnesses);
    out << "Witnesses required (" << report.witnesses.required << "): ";
    if (tails.empty()) out << "MET — both feeds' heads are covered\n";
    for (size_t i = 0; i < tails.size(); ++i) out << (i ? "; " : "NOT MET — ") << tails[i];
    if (!tails.empty()) out << "\n";
  }
  return out.str();
}

nlohmann::json AuditJson(const AuditReport& report) {
  const Charter c = Charter::Parse(report.charter_bytes).value();
  nlohmann::json j;
  j["ledger_id"] = ToHex(c.ledger_id());
  j["audited"] = AuditedJson(c, report.audited);
  j["clean"] = report.clean();
  j["entries"] = {{c.party_code(0), report.entries[0]}, {c.party_code(1), report.entries[1]}};
  j["findings"] = nlohmann::json::array();
  for (const AuditFinding& f : report.findings) {
    j["findings"].push_back({{"kind", FindingName(f.kind)}, {"where", f.where}, {"what", f.what}});
  }
  j["findings_omitted"] = nlohmann::json::object();
  for (FindingKind kind : kFindingKinds) j["findings_omitted"][std::string(FindingName(kind))] = report.Omitted(kind);
  j["unilateral"] = nlohmann::json::array();
  for (const UnilateralItem& u : report.unilateral) {
    j["unilateral"].push_back({{"kind", "unilateral"}, {"where", u.where}, {"what", u.what}});
  }
  j["unilateral_omitted"] = report.state.claims_omitted;
  j["key_rotations"] = nlohmann::json::array();
  for (const AuditKeyRotation& k : report.key_rotations) {
    const KeyRotation& r = k.rotation;
    nlohmann::json row = {{"party", c.party_code(k.party)},
                          {"seq", r.seq},
                          {"new_key", ToHex(r.new_key)},
                          {"in_effect", !r.pending()},
                          {"acknowledged_by", nullptr},
                          {"compromised_from", nullptr}};
    if (!r.pending()) row["acknowledged_by"] = r.acknowledged_by;
    if (r.compromised_from != 0) row["compromised_from"] = r.compromised_from;
    j["key_rotations"].push_back(std::move(row));
  }
  j["manifest_disclosures"] = ManifestDisclosures(c, report);
  j["witnesses"] = WitnessesJson(c, report);
  j["state"] = StateJson(c, report.state);
  return j;
}

}  // namespace parley
