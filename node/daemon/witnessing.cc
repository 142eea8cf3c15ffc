#include "node/daemon/witnessing.h"

#include <httplib.h>

#include <algorithm>
#include <random>

#include "crypto/endian.h"
#include "crypto/hash.h"
#include "node/base/clock.h"
#include "node/base/text.h"
#include "node/daemon/log.h"
#include "node/daemon/metrics.h"
#include "node/protocol/feed_log.h"

// Side rows (Ledger::WriteSideRows; docs/PROTOCOL.md §15.7), integers
// big-endian, p the party index as one byte:
//   "w" p size(8)        -> the cosigned checkpoint note of p's feed at size
//                           (text, the party's signature line, every verified
//                           charter witness's cosignature line)
//   "y" p witness name   -> size(8) timestamp(8): the largest size of p's
//                           feed that witness is known to have cosigned
//   "x" SHA-256(record)  -> an alarm: kind "\n" time_ms "\n" detail "\n\n"
//                           evidence (the bytes that show it)

namespace parley {
namespace {

std::string CheckpointKey(PartyIndex p, uint64_t size) {
  std::string k = "w";
  k.push_back(static_cast<char>(p));
  AppendBigEndian64(k, size);
  return k;
}

std::string WitnessKey(PartyIndex p, const std::string& name) {
  std::string k = "y";
  k.push_back(static_cast<char>(p));
  return k + name;
}

// Splits "scheme://host[:port][/path]" into the base and the path.
std::pair<std::string, std::string> SplitUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  const size_t path_start = scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  if (path_start == std::string::npos) return {url, ""};
  return {url.substr(0, path_start), url.substr(path_start)};
}

Result<std::string> HttpGet(const std::string& url) {
  auto [base, path] = SplitUrl(url);
  httplib::Client client(base);
  if (!client.is_valid()) return Status(Code::kInvalidArgument, "witness URL is not usable: " + url);
  client.set_connection_timeout(3, 0);
  client.set_read_timeout(3, 0);
  client.enable_server_certificate_verification(true);
  auto r = client.Get(path);
  if (!r) return Status(Code::kUnavailable, "unreachable: " + httplib::to_string(r.error()));
  if (r->status == 404) return Status(Code::kNotFound, "no checkpoint there (404)");
  if (r->status != 200) return Status(Code::kUnavailable, "answered HTTP " + std::to_string(r->status));
  if (r->body.size() > kMaxNoteBytes) return Status(Code::kInvalidArgument, "answer too large");
  return r->body;
}

double RandomJitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

// --- FeedTreeKeeper ---------------------------------------------------------

Result<uint64_t> FeedTreeKeeper::Sync(const Ledger& ledger, PartyIndex party,
                                      const std::function<void(const MerkleTree&)>& on_grown) {
  const uint64_t have = size();
  std::vector<Digest> leaves;
  for (;;) {
    auto envelopes = ledger.ReadEnvelopes(party, have + leaves.size() + 1, 1000);
    if (!envelopes) return envelopes.error();
    for (const std::string& e : *envelopes) leaves.push_back(Rfc6962LeafHash(e));
    if (envelopes->size() < 1000) break;
  }
  std::unique_lock lock(mu_);
  if (leaves.empty()) return tree_.size();
  for (const Digest& l : leaves) tree_.Append(l);
  if (on_grown) on_grown(tree_);
  return tree_.size();
}

uint64_t FeedTreeKeeper::size() const {
  std::shared_lock lock(mu_);
  return tree_.size();
}

std::optional<bool> FeedTreeKeeper::Matches(uint64_t size, const Digest& root) const {
  std::shared_lock lock(mu_);
  if (size > tree_.size()) return std::nullopt;
  if (size == tree_.size()) return root == tree_.root();
  if (size == 0) return root == Rfc6962EmptyRoot();
  return Rfc6962VerifyConsistency(size, tree_.size(), root, tree_.root(), tree_.ConsistencyProof(size));
}

// --- SubmitSchedule ---------------------------------------------------------

SubmitSchedule::SubmitSchedule(uint64_t cosigned, std::function<double()> jitter)
    : cosigned_(cosigned), jitter_(jitter ? std::move(jitter) : RandomJitter) {}

std::optional<SubmitSchedule::Clock::time_point> SubmitSchedule::Next(uint64_t head) const {
  if (head <= cosigned_) return std::nullopt;
  Clock::time_point t{};
  if (last_start_) t = *last_start_ + kMinSubmitInterval;
  if (failures_ > 0) t = std::max(t, retry_at_);
  return t;
}

void SubmitSchedule::Succeeded(uint64_t size) {
  cosigned_ = std::max(cosigned_, size);
  failures_ = 0;
  retry_delay_ = {};
}

void SubmitSchedule::Failed(Clock::time_point now) {
  ++failures_;
  Clock::duration base = kFirstRetryDelay;
  for (int i = 1; i < failures_ && base < kMaxRetryDelay; ++i) base *= 2;
  base = std::min<Clock::duration>(base, kMaxRetryDelay);
  const double j = std::clamp(jitter_(), 0.0, 1.0);
  retry_delay_ = std::chrono::duration_cast<Clock::duration>(base * (0.5 + j / 2));
  retry_at_ = now + retry_delay_;
}

// --- CheckpointBook ---------------------------------------------------------

CheckpointBook::CheckpointBook(Ledger& ledger, Metrics* metrics)
    : ledger_(ledger), metrics_(metrics), witnesses_(ledger.charter().witnesses().size()) {}

Status CheckpointBook::Load() {
  const auto& ws = ledger_.charter().witnesses();
  std::lock_guard lock(mu_);
  Status s = ledger_.ScanSideRows("y", "z", [&](std::string_view key, std::string_view value) {
    if (key.size() < 2 || value.size() != 16 || static_cast<uint8_t>(key[1]) > 1) return true;
    const PartyIndex p = static_cast<PartyIndex>(key[1]);
    const std::string_view name = key.substr(2);
    for (size_t w = 0; w < ws.size(); ++w) {
      if (ws[w].name != name) continue;
      witnesses_[w][p].size = ReadBigEndian64(value.substr(0, 8));
      witnesses_[w][p].time = ReadBigEndian64(value.substr(8));
      largest_[p] = std::max(largest_[p], witnesses_[w][p].size);
    }
    return true;
  });
  if (!s.ok()) return s;
  std::lock_guard alock(alarm_mu_);
  return ledger_.ScanSideRows("x", "y", [&](std::string_view, std::string_view value) {
    const size_t a = value.find('\n');
    const size_t b = a == std::string_view::npos ? a : value.find('\n', a + 1);
    const size_t c = b == std::string_view::npos ? b : value.find("\n\n", b + 1);
    if (c == std::string_view::npos) return true;
    alarms_.push_back(std::string(value.substr(0, a)) + ": " + std::string(value.substr(b + 1, c - b - 1)));
    return true;
  });
}

Result<VerifiedCheckpoint> CheckpointBook::Verify(PartyIndex party, std::string_view bytes) const {
  auto note = ParseNote(bytes);
  if (!note) return Status(Code::kInvalidArgument, "not a signed note: " + note.error().message());
  auto cp = ParseCheckpoint(note->text);
  if (!cp) return Status(Code::kInvalidArgument, "not a checkpoint: " + cp.error().message());
  const Charter& c = ledger_.charter();
  if (cp->origin != FeedOrigin(c, party)) {
    return Status(Code::kInvalidArgument, "the origin '" + Printable(cp->origin) + "' is not that of " +
                                              c.party_code(party) + "'s feed");
  }
  std::vector<NoteVerifier> vs;
  auto schedule = ledger_.key_schedule();
  vs.push_back(FeedNoteVerifier(c, party, schedule->charter_key(party)));
  for (const KeyRotation& r : schedule->rotations(party)) vs.push_back(FeedNoteVerifier(c, party, r.new_key));
  const size_t party_keys = vs.size();
  for (const CharterWitness& w : c.witnesses()) vs.push_back(w.verifier());
  auto verified = VerifyNote(*note, vs);
  if (!verified) return Status(Code::kPermissionDenied, verified.error().message());
  VerifiedCheckpoint out;
  out.party = party;
  bool party_signed = false;
  for (const VerifiedSignature& v : *verified) {
    if (v.verifier < party_keys) {
      party_signed = true;
    } else {
      out.cosignatures.push_back({v.verifier - party_keys, v.timestamp});
    }
  }
  if (!party_signed) {
    return Status(Code::kPermissionDenied, "the checkpoint is not signed by a key of " + c.party_code(party));
  }
  std::vector<std::pair<std::string, uint32_t>> known;
  for (const NoteVerifier& v : vs) known.emplace_back(v.name, v.key_id());
  Note clean{note->text, {}};
  for (const NoteSignature& line : note->signatures) {
    if (std::find(known.begin(), known.end(), std::pair{line.name, line.key_id}) != known.end()) {
      clean.signatures.push_back(line);
    }
  }
  out.checkpoint = std::move(*cp);
  out.note = FormatNote(clean);
  return out;
}

Status CheckpointBook::Store(const VerifiedCheckpoint& v) {
  if (v.cosignatures.empty()) return Status(Code::kInvalidArgument, "no charter witness cosigned the checkpoint");
  const Charter& c = ledger_.charter();
  const PartyIndex p = v.party;
  const uint64_t size = v.checkpoint.size;
  std::unique_lock lock(mu_);
  auto stored = ledger_.GetSideRow(CheckpointKey(p, size));
  if (!stored) return stored.error();
  auto incoming = ParseNote(v.note);
  if (!incoming) return incoming.error();
  Note merged = *incoming;
  bool changed = true;
  if (*stored) {
    auto old = ParseNote(**stored);
    if (!old) return Status(Code::kDataLoss, "stored checkpoint note is corrupt: " + old.error().message());
    if (old->text != merged.text) {
      lock.unlock();
      RaiseAlarm("split view", "two checkpoints of " + c.party_code(p) + "'s feed at size " + std::to_string(size) +
                                   " with different roots, both validly signed",
                 **stored + "\n" + v.note);
      return Status(Code::kRejected, "a different checkpoint of this size is stored");
    }
    merged = *old;
    changed = false;
    for (const NoteSignature& line : incoming->signatures) {
      if (std::none_of(merged.signatures.begin(), merged.signatures.end(), [&](const NoteSignature& s) {
            return s.name == line.name && s.key_id == line.key_id;
          })) {
        merged.signatures.push_back(line);
        changed = true;
      }
    }
  }
  WriteBatch batch;
  if (changed) batch.Put(CheckpointKey(p, size), FormatNote(merged));
  std::vector<std::pair<size_t, uint64_t>> advanced;
  for (const auto& cs : v.cosignatures) {
    if (size <= witnesses_[cs.witness][p].size) continue;
    std::string row;
    AppendBigEndian64(row, size);
    AppendBigEndian64(row, cs.timestamp);
    batch.Put(WitnessKey(p, c.witnesses()[cs.witness].name), row);
    advanced.emplace_back(cs.witness, cs.timestamp);
  }
  if (batch.empty()) return Status::Ok();
  if (Status s = ledger_.WriteSideRows(batch); !s.ok()) return s;
  for (auto [w, t] : advanced) {
    witnesses_[w][p].size = size;
    witnesses_[w][p].time = t;
  }
  largest_[p] = std::max(largest_[p], size);
  return Status::Ok();
}

Result<std::vector<std::string>> CheckpointBook::Read(PartyIndex party, uint64_t from_size, size_t max) const {
  std::vector<std::string> out;
  if (party > 1) return Status(Code::kInvalidArgument, "party must be 0 or 1");
  std::string hi = "w";
  hi.push_back(static_cast<char>(party + 1));
  Status s = ledger_.ScanSideRows(CheckpointKey(party, from_size), hi, [&](std::string_view, std::string_view v) {
    out.emplace_back(v);
    return out.size() < max;
  });
  if (!s.ok()) return s;
  return out;
}

uint64_t CheckpointBook::largest(PartyIndex party) const {
  std::lock_guard lock(mu_);
  return largest_[party];
}

void CheckpointBook::RaiseAlarm(const std::string& kind, const std::string& detail, const std::string& evidence) {
  const int64_t now = NowMs();
  const std::string record = kind + "\n" + std::to_string(now) + "\n" + detail + "\n\n" + evidence;
  const std::string key = "x" + Sha256(kind + "\n" + detail + "\n\n" + evidence).str();
  std::lock_guard lock(alarm_mu_);
  auto have = ledger_.GetSideRow(key);
  if (have && *have) return;  // the same evidence is kept, logged and counted once
  Log(LogLevel::kError, "witness alarm", {{"kind", kind}, {"detail", Printable(detail)}});
  if (metrics_) metrics_->WitnessAlarm();
  WriteBatch batch;
  batch.Put(key, record);
  if (Status s = ledger_.WriteSideRows(batch); !s.ok()) {
    Log(LogLevel::kError, "cannot store the alarm's evidence", {{"reason", s.ToString()}});
  }
  alarms_.push_back(kind + ": " + detail);
}

std::vector<std::string> CheckpointBook::alarms() const {
  std::lock_guard lock(alarm_mu_);
  return alarms_;
}

void CheckpointBook::SetError(size_t w, PartyIndex party, const std::string& error) {
  std::lock_guard lock(mu_);
  witnesses_[w][party].error = error;
}

std::pair<uint64_t, uint64_t> CheckpointBook::cosigned(size_t w, PartyIndex party) const {
  std::lock_guard lock(mu_);
  return {witnesses_[w][party].size, witnesses_[w][party].time};
}

void CheckpointBook::FillStatus(google::protobuf::RepeatedPtrField<v1::WitnessFeedStatus>* out) const {
  const auto& ws = ledger_.charter().witnesses();
  std::lock_guard lock(mu_);
  for (size_t w = 0; w < ws.size(); ++w) {
    for (PartyIndex p = 0; p < 2; ++p) {
      v1::WitnessFeedStatus* s = out->Add();
      s->set_witness(ws[w].name);
      s->set_party(p);
      s->set_cosigned_size(witnesses_[w][p].size);
      s->set_cosigned_time(witnesses_[w][p].time);
      const uint64_t head = ledger_.Head(p).seq;
      s->set_head(head);
      s->set_unwitnessed(head > witnesses_[w][p].size ? head - witnesses_[w][p].size : 0);
      s->set_last_error(witnesses_[w][p].error);
    }
  }
}

// --- Witnessing -------------------------------------------------------------

Witnessing::Witnessing(Ledger& ledger, const KeyRing& keys, CheckpointBook& book, Metrics* metrics, SubmitFn submit,
                       GetFn get, PeerFetchFn peer_fetch)
    : ledger_(ledger),
      keys_(keys),
      book_(book),
      metrics_(metrics),
      submit_(submit ? std::move(submit) : SubmitFn(SubmitCheckpoint)),
      get_(get ? std::move(get) : GetFn(HttpGet)),
      peer_fetch_(std::move(peer_fetch)),
      self_(*ledger.self()),
      other_(1 - *ledger.self()) {
  const auto& ws = ledger.charter().witnesses();
  for (size_t i = 0; i < ws.size(); ++i) {
    auto s = std::make_unique<Submitter>();
    s->index = i;
    s->endpoint.url = ws[i].url;
    s->endpoint.key = ws[i].verifier();
    s->endpoint.timeout = std::chrono::seconds(3);
    s->schedule = SubmitSchedule(book.cosigned(i, self_).first);
    submitters_.push_back(std::move(s));
  }
}

Witnessing::~Witnessing() { Stop(); }

void Witnessing::Start() {
  if (submitters_.empty()) return;  // a charter without witnesses: nothing to do
  keeper_ = std::thread([this] { RunKeeper(); });
  fetcher_ = std::thread([this] { RunFetcher(); });
  for (auto& s : submitters_) {
    Submitter* sp = s.get();
    s->thread = std::thread([this, sp] { RunSubmitter(*sp); });
  }
}

void Witnessing::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (keeper_.joinable()) keeper_.join();
  if (fetcher_.joinable()) fetcher_.join();
  for (auto& s : submitters_) {
    if (s->thread.joinable()) s->thread.join();
  }
}

void Witnessing::Poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  wake_.notify_all();
}

void Witnessing::Offer(PartyIndex party, const std::vector<std::string>& notes, const std::string& source) {
  {
    std::lock_guard lock(mu_);
    for (const std::string& n : notes) offered_.push_back({party, n, source});
  }
  wake_.notify_all();
}

void Witnessing::SignHead(const MerkleTree& tree) {
  const Charter& c = ledger_.charter();
  auto key = keys_.Holding(ledger_.current_key(self_));
  if (!key) {
    Log(LogLevel::kWarn, "cannot sign our checkpoint: the key in effect is not held");
    return;
  }
  Checkpoint cp{FeedOrigin(c, self_), tree.size(), tree.root(), {}};
  head_note_ = SignFeedCheckpoint(*key, c, self_, cp);
  {
    std::lock_guard lock(mu_);
    head_size_ = tree.size();
  }
  wake_.notify_all();
}

bool Witnessing::Check(PartyIndex party, const std::string& note, const std::string& source) {
  const Charter& c = ledger_.charter();
  auto v = book_.Verify(party, note);
  if (!v) {
    // Logged once per distinct note: a peer serving junk again on each
    // fetch does not fill the log.
    if (refused_.size() < kMaxPendingCheckpoints && refused_.insert(Sha256(note)).second) {
      Log(LogLevel::kWarn, "a checkpoint was refused",
          {{"from", Printable(source)}, {"feed", c.party_code(party)}, {"reason", Printable(v.error().message())}});
    }
    return true;
  }
  if (v->cosignatures.empty()) return true;  // no charter witness's word: nothing to keep
  auto m = trees_[party].Matches(v->checkpoint.size, v->checkpoint.root);
  if (!m) return false;  // our copy is shorter: wait for it
  if (!*m) {
    book_.RaiseAlarm("split view", source + " holds a checkpoint of " + c.party_code(party) + "'s feed at size " +
                                       std::to_string(v->checkpoint.size) +
                                       ", validly signed, whose root differs from our copy of that feed",
                     v->note);
    return true;
  }
  if (Status s = book_.Store(*v); !s.ok() && s.code() != Code::kRejected) {
    Log(LogLevel::kWarn, "cannot store a cosigned checkpoint", {{"reason", s.ToString()}});
  }
  return true;
}

void Witnessing::RunKeeper() {
  uint64_t peer_size_checked = UINT64_MAX;
  bool warned = false;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    auto own = trees_[self_].Sync(ledger_, self_, [this](const MerkleTree& t) { SignHead(t); });
    auto peer = trees_[other_].Sync(ledger_, other_);
    if ((!own || !peer) && !warned) {
      Log(LogLevel::kWarn, "cannot read a feed to build its checkpoint",
          {{"reason", (!own ? own.error() : peer.error()).ToString()}});
      warned = true;
    }
    std::deque<Offered> offered;
    {
      std::lock_guard lock(mu_);
      offered.swap(offered_);
    }
    for (Offered& o : offered) {
      if (!Check(o.party, o.note, o.source) && pending_.size() < kMaxPendingCheckpoints) {
        pending_.emplace(std::pair{o.party, std::move(o.note)}, o.source);
      }
    }
    if (peer && *peer != peer_size_checked) {
      peer_size_checked = *peer;
      for (auto it = pending_.begin(); it != pending_.end();) {
        it = Check(it->first.first, it->first.second, it->second) ? pending_.erase(it) : std::next(it);
      }
    }
    ledger_.WaitForHead(self_, trees_[self_].size(), std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
  }
}

void Witnessing::RunFetcher() {
  if (!peer_fetch_) return;
  const Charter& c = ledger_.charter();
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, kCheckpointPollInterval, [this] { return stopping_ || poked_; });
      if (stopping_) return;
      poked_ = false;
    }
    uint64_t from = book_.largest(other_) + 1;
    for (int round = 0; round < 100; ++round) {
      auto notes = peer_fetch_(other_, from);
      if (!notes) break;  // the replicator reports the peer's state
      if (notes->empty()) break;
      Offer(other_, *notes, "the node of " + c.party_code(other_));
      if (notes->size() < kMaxCheckpointsPerAnswer) break;
      auto last = ParseNote(notes->back());
      auto cp = last ? ParseCheckpoint(last->text) : Result<Checkpoint>(last.error());
      if (!cp || cp->size < from) break;
      from = cp->size + 1;
    }
  }
}

void Witnessing::PollWitness(Submitter& s) {
  const Charter& c = ledger_.charter();
  for (PartyIndex p : {other_, self_}) {
    const std::string url = s.endpoint.url + "/" + ToHex(Sha256(FeedOrigin(c, p))) + "/checkpoint";
    auto body = get_(url);
    if (!body) {
      if (body.error().code() != Code::kNotFound && p == other_) {
        book_.SetError(s.index, p, "polling: " + body.error().message());
      }
      continue;
    }
    if (p == other_) book_.SetError(s.index, p, "");
    Offer(p, {*body}, "witness " + s.endpoint.key.name);
  }
}

void Witnessing::RunSubmitter(Submitter& s) {
  using Clock = std::chrono::steady_clock;
  const Charter& c = ledger_.charter();
  const std::string name = c.witnesses()[s.index].name;
  s.next_poll = Clock::now() + std::chrono::milliseconds(500);
  for (;;) {
    bool poll = false;
    {
      std::unique_lock lock(mu_);
      for (;;) {
        if (stopping_) return;
        const auto now = Clock::now();
        if (now >= s.next_poll) {
          poll = true;
          break;
        }
        auto next = s.schedule.Next(head_size_);
        if (next && now >= *next) break;
        if (poked_) s.next_poll = std::min(s.next_poll, now);  // a catch-up: poll the witness soon too
        wake_.wait_until(lock, next ? std::min(*next, s.next_poll) : s.next_poll);
      }
      if (!poll) s.schedule.Started(Clock::now());
    }
    if (poll) {
      s.next_poll = Clock::now() + kWitnessPollInterval;
      PollWitness(s);
      continue;
    }
    std::string note;
    Result<SubmitOutcome> r = Status(Code::kUnavailable, "not submitted");
    {
      std::shared_lock tree_lock(trees_[self_].mutex());
      note = head_note_;
      r = submit_(s.endpoint, trees_[self_].tree(), note, s.schedule.cosigned());
    }
    if (r) {
      auto parsed = ParseNote(note);
      if (parsed) {
        parsed->signatures.push_back(r->cosignature);
        auto v = book_.Verify(self_, FormatNote(*parsed));
        Status st = v ? book_.Store(*v) : v.error();
        if (!st.ok()) Log(LogLevel::kWarn, "cannot store our cosigned checkpoint", {{"reason", st.ToString()}});
      }
      if (metrics_) metrics_->CheckpointCosigned();
      if (s.schedule.failures() > 0) {
        Log(LogLevel::kInfo, "witness reachable again", {{"witness", Printable(name)}, {"size", std::to_string(r->size)}});
      }
      std::lock_guard lock(mu_);
      s.schedule.Succeeded(r->size);
      book_.SetError(s.index, self_, "");
      continue;
    }
    const Status& e = r.error();
    if (e.code() == Code::kFailedPrecondition) {
      book_.RaiseAlarm("witness ahead", "witness " + name + " " + e.message() +
                                            " (our store was rolled back, or another copy of our feed was submitted)",
                       note);
    } else if (e.code() == Code::kRejected) {
      book_.RaiseAlarm("checkpoint refused", "witness " + name + " " + e.message() +
                                                 " (another copy of our feed was cosigned: our key is misused)",
                       note);
    }
    book_.SetError(s.index, self_, e.message());
    std::lock_guard lock(mu_);
    s.schedule.Failed(Clock::now());
    if (s.schedule.failures() == 1) {
      Log(LogLevel::kWarn, "witness submission failed; retrying with backoff",
          {{"witness", Printable(name)}, {"reason", Printable(e.message())}});
    }
  }
}

}  // namespace parley
