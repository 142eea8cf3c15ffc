#include "node/ledger/ledger.h"

#include <algorithm>
#include <future>
#include <map>

#include "crypto/hash.h"
#include "crypto/endian.h"

// Storage key layout (all integers big-endian so that byte order is numeric
// order; p is the party index as one byte):
//   "c"                      -> SignedCharter bytes
//   "e" p seq(8)             -> SignedEntry bytes exactly as received/signed
//   "i" id(32)               -> p seq(8) body_case(1)   (index by entry ID)
//   "h" p                    -> seq(8) id(32) time_ms(8) seen_seq(8)  (head)
//   "f" p seq(8) id(32)      -> ForkProof bytes (id = the second entry's ID)
//   "r" request_id           -> entry id(32) body_digest(32)  (idempotency)
//   "k" p seq(8)             -> new_key(32) compromised_from(8) acknowledged_by(8)
//                               (one per RotateKey of party p at seq; the key schedule)
//   "k"                      -> "1": the "k" rows are complete (absent in
//                               stores written before key rotation existed)
//   "w", "x", "y" ...        -> side rows the node keeps beside the feeds
//                               (cosigned checkpoints, witness state, alarms:
//                               node/daemon/witnessing.h, PROTOCOL.md §15.7)
// An entry, its index row, its feed's head and the "k" rows it changes are
// written in one batch.

namespace parley {
namespace {

std::string EntryKey(PartyIndex p, uint64_t seq) {
  std::string k = "e";
  k.push_back(static_cast<char>(p));
  AppendBigEndian64(k, seq);
  return k;
}

std::string IndexKey(const Digest& id) { return "i" + id.str(); }

// The entry row and the index row of a stored entry (PROTOCOL.md §9).
void PutEntryRows(const DecodedEntry& e, WriteBatch& batch) {
  batch.Put(EntryKey(e.author(), e.seq()), e.envelope);
  std::string index_row;
  index_row.push_back(static_cast<char>(e.author()));
  AppendBigEndian64(index_row, e.seq());
  index_row.push_back(static_cast<char>(e.kind()));
  batch.Put(IndexKey(e.id), index_row);
}
std::string HeadKey(PartyIndex p) { return std::string("h") + static_cast<char>(p); }
std::string RequestKey(const std::string& request_id) { return "r" + request_id; }

std::string RotationKey(PartyIndex p, uint64_t seq) {
  std::string k = "k";
  k.push_back(static_cast<char>(p));
  AppendBigEndian64(k, seq);
  return k;
}
constexpr std::string_view kScheduleMarker = "k";

std::string EncodeRotation(const KeyRotation& r) {
  std::string v = r.new_key.str();
  AppendBigEndian64(v, r.compromised_from);
  AppendBigEndian64(v, r.acknowledged_by);
  return v;
}

std::string KeyLabel(const PublicKey& k) { return ToHex(k).substr(0, 16) + "…"; }

std::string ForkKey(PartyIndex p, uint64_t seq, const Digest& id) {
  std::string k = "f";
  k.push_back(static_cast<char>(p));
  AppendBigEndian64(k, seq);
  return k + id.str();
}

std::string EncodeHead(const FeedHead& h) {
  std::string v;
  AppendBigEndian64(v, h.seq);
  v += h.id.view();
  AppendBigEndian64(v, static_cast<uint64_t>(h.time_ms));
  AppendBigEndian64(v, h.seen_seq);
  return v;
}

FeedHead HeadOf(const DecodedEntry& e) {
  return FeedHead{e.seq(), e.id, e.time_ms(), e.entry.has_seen() ? e.entry.seen().seq() : 0};
}

Digest BodyDigest(const v1::Entry& body) {
  v1::Entry only_body;
  only_body.CopyFrom(body);
  only_body.clear_ledger_id();
  only_body.clear_author();
  only_body.clear_seq();
  only_body.clear_prev();
  only_body.clear_seen();
  only_body.clear_time_ms();
  return Hash("parley/request/v1", only_body.SerializeAsString());
}

// Where a failed write went, for the operator.
constexpr std::string_view kDataDisk = "the data folder's disk";
constexpr std::string_view kMarkDisk = "the disk of the high-water mark";

// What an Append (and `parley status`) says about a failed write to `disk`
// or a failed recovery from one; `s` is the store's or the mark's error.
Status WriteFailure(const Status& s, std::string_view disk) {
  if (s.code() == Code::kResourceExhausted) {
    return Status(Code::kResourceExhausted, "disk full: no space left on " + std::string(disk) + " (" + s.message() +
                                                "); free space and retry: appends resume by themselves, without a "
                                                "restart");
  }
  return Status(s.code(), "a write failed (" + s.message() +
                              "); signing resumes once the store has been reopened (tried again on each append)");
}

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::Open(std::unique_ptr<Store> store,
                                             std::string_view signed_charter,
                                             LedgerOptions options) {
  auto charter = Charter::Parse(signed_charter);
  if (!charter) return charter.error();
  if (!charter->fully_signed()) {
    return Status(Code::kFailedPrecondition,
                  "charter is not signed by both parties (" + charter->party_code(0) + ": " +
                      (charter->signed_by(0) ? "signed" : "missing") + ", " +
                      charter->party_code(1) + ": " + (charter->signed_by(1) ? "signed" : "missing") + ")");
  }
  if (options.self && !options.key) {
    return Status(Code::kInvalidArgument, "ledger: a local party needs its key");
  }
  if (options.next_key && !options.key) {
    return Status(Code::kInvalidArgument, "ledger: a next key needs a local party and its key");
  }
  if (options.self && *options.self > 1) {
    return Status(Code::kInvalidArgument, "ledger: party index must be 0 or 1");
  }
  auto ledger = std::unique_ptr<Ledger>(new Ledger(std::move(store), std::move(*charter), std::move(options)));
  if (Status s = ledger->Load(); !s.ok()) return s;
  return ledger;
}

Status Ledger::Load() {
  auto stored = store_->Get("c");
  if (!stored) return stored.error();
  if (!stored->has_value()) {
    WriteBatch batch;
    batch.Put("c", charter_.signed_bytes());
    if (Status s = store_->Write(batch, true); !s.ok()) return s;
  } else {
    auto existing = Charter::Parse(**stored);
    if (!existing) return Status(Code::kDataLoss, "stored charter: " + existing.error().message());
    if (existing->ledger_id() != charter_.ledger_id()) {
      return Status(Code::kFailedPrecondition,
                    "the data folder holds ledger " + ToHex(existing->ledger_id()) +
                        ", not the charter's ledger " + ToHex(charter_.ledger_id()));
    }
  }
  if (Status s = ReadFeeds(heads_, frozen_); !s.ok()) return s;
  auto schedule = LoadKeySchedule(heads_);
  if (!schedule) return schedule.error();
  schedule_ = std::move(*schedule);
  if (Status s = CheckStoredData(); !s.ok()) return s;
  if (options_.key && !options_.self) {
    auto p = schedule_->PartyOf(options_.key->public_key());
    if (!p) {
      return Status(Code::kPermissionDenied,
                    "ledger: the key belongs to no party (neither a charter key nor a key rotated to in this ledger)");
    }
    options_.self = *p;
  }
  if (options_.self) {
    key_misused_ = frozen_[*options_.self];
    if (!options_.high_water_mark.empty()) {
      auto hwm = HighWaterMark::Open(options_.high_water_mark, charter_.ledger_id());
      if (!hwm) return hwm.error();
      hwm_ = std::move(*hwm);
    }
    // Checked before the mark advances: a mark above the stored head means
    // the own feed (and so perhaps a rotation) is still to be recovered.
    if (Status s = CheckKeys(); !s.ok()) return s;
    const uint64_t own = heads_[*options_.self].seq;
    if (hwm_ && hwm_->seq() < own) {
      if (Status s = hwm_->Advance(own); !s.ok()) return s;
    }
  }
  RefreshSigningBlock();
  return Status::Ok();
}

Status Ledger::CheckStoredData() {
  // Cost on a long ledger: the scans read every row once with block
  // checksums, the chains cost one parse and one BLAKE2b per entry, and only
  // the newest kSignaturesCheckedAtOpen signatures per feed are verified.
  // Measured on 100,000 own entries: 0.2-0.4 s for all of this; verifying
  // every signature too would add some 4 s (25,000 a second) to each start.
  // Older entries are covered all the same: each entry's prev is the hash of
  // the one before, so a verified newer signature commits to every older
  // entry's bytes; only an older entry's signature bytes are left to the
  // block checksums.
  for (PartyIndex p = 0; p < 2; ++p) {
    const std::string& code = charter_.party_code(p);
    uint64_t next = 1;  // the seq the next row must hold
    Digest prev = charter_.ledger_id();
    std::string problem;
    Status s = store_->Scan(EntryKey(p, 1), EntryKey(p + 1, 0), [&](std::string_view key, std::string_view value) {
      v1::SignedEntry se;
      v1::Entry e;
      if (key.size() != 10 || ReadBigEndian64(key.substr(2)) != next) {
        problem = "seq " + std::to_string(next) + " is missing";
        return false;
      }
      if (!se.ParseFromArray(value.data(), static_cast<int>(value.size())) || !e.ParseFromString(se.entry()) ||
          e.author() != p || e.seq() != next || e.prev() != prev.view()) {
        problem = "the entry at seq " + std::to_string(next) + " is damaged (it does not follow on seq " +
                  std::to_string(next - 1) + ")";
        return false;
      }
      prev = Hash(kEntryDomain, se.entry());
      ++next;
      return true;
    });
    if (!s.ok() && s.code() != Code::kDataLoss) return s;
    if (!s.ok()) {
      (void)NoteDamage(Status(Code::kDataLoss, "the feed of " + code + " from seq " + std::to_string(next) +
                                                   " on cannot be read: " + s.message()),
                       p, next);
      continue;
    }
    if (!problem.empty()) {
      (void)NoteDamage(Status(Code::kDataLoss, "the feed of " + code + ": " + problem), p, next);
      continue;
    }
    const uint64_t last = next - 1;
    if (last != heads_[p].seq || (last > 0 && prev != heads_[p].id)) {
      (void)NoteDamage(Status(Code::kDataLoss, "the feed of " + code + " holds entries up to seq " +
                                                   std::to_string(last) + " but its head row says seq " +
                                                   std::to_string(heads_[p].seq) +
                                                   (last == heads_[p].seq ? " with another entry ID" : "")),
                       p, std::min(last, heads_[p].seq) + 1);
      continue;
    }
    const uint64_t first = last > kSignaturesCheckedAtOpen ? last - kSignaturesCheckedAtOpen + 1 : 1;
    for (uint64_t seq = first; seq <= last; ++seq) {
      if (!Get(p, seq)) break;  // Get notes the damage
    }
  }
  // Every other row (charter, heads, index, fork proofs, request ids, key
  // schedule), for its block checksums.
  const std::string after_feeds = EntryKey(2, 0);
  for (auto [lo, hi] : {std::pair<std::string, std::string>{"", EntryKey(0, 0)}, {after_feeds, std::string(9, '\xff')}}) {
    Status s = store_->Scan(lo, hi, [](std::string_view, std::string_view) { return true; });
    if (!s.ok() && s.code() != Code::kDataLoss) return s;
    if (!s.ok()) (void)NoteDamage(s);
  }
  return Status::Ok();
}

Status Ledger::NoteDamage(Status s, std::optional<PartyIndex> party, uint64_t seq) const {
  if (s.code() != Code::kDataLoss) return s;
  std::lock_guard lock(mu_);
  if (!damaged_) damaged_ = s.message();
  if (party) damaged_from_[*party] = std::min(damaged_from_[*party], seq);
  return s;
}

std::optional<std::string> Ledger::damaged() const {
  std::lock_guard lock(mu_);
  return damaged_;
}

std::optional<std::string> Ledger::BlockedLocked() const {
  if (damaged_) {
    return "the data folder is damaged (" + *damaged_ +
           "); nothing more is signed and the damaged part is not served: restore the data folder from a backup, or "
           "move it aside and let the node recover its own feed from the peer";
  }
  return blocked_;
}

Status Ledger::ReadFeeds(FeedHead heads[2], bool frozen[2]) {
  for (PartyIndex p = 0; p < 2; ++p) {
    heads[p] = FeedHead{};
    frozen[p] = false;
    auto head = store_->Get(HeadKey(p));
    if (!head) return head.error();
    if (head->has_value()) {
      const std::string& v = **head;
      if (v.size() != 56) return Status(Code::kDataLoss, "stored head of party " + std::to_string(p) + " is corrupt");
      heads[p].seq = ReadBigEndian64(v);
      heads[p].id = *Digest::FromBytes(std::string_view(v).substr(8, 32));
      heads[p].time_ms = static_cast<int64_t>(ReadBigEndian64(std::string_view(v).substr(40)));
      heads[p].seen_seq = ReadBigEndian64(std::string_view(v).substr(48));
    }
    std::string lo = std::string("f") + static_cast<char>(p);
    std::string hi = std::string("f") + static_cast<char>(p + 1);
    Status s = store_->Scan(lo, hi, [&](std::string_view, std::string_view) {
      frozen[p] = true;
      return false;
    });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::shared_ptr<const KeySchedule>> Ledger::LoadKeySchedule(const FeedHead heads[2]) {
  auto schedule = std::make_shared<KeySchedule>(charter_);
  auto marker = store_->Get(kScheduleMarker);
  if (!marker) return marker.error();
  if (marker->has_value()) {
    Status failure;
    Status s = store_->Scan(RotationKey(0, 0), RotationKey(2, 0), [&](std::string_view key, std::string_view v) {
      if (key.size() != 10 || v.size() != 48) {
        failure = Status(Code::kDataLoss, "stored key rotation row is corrupt");
        return false;
      }
      KeyRotation r;
      r.seq = ReadBigEndian64(key.substr(2));
      r.new_key = *PublicKey::FromBytes(v.substr(0, 32));
      r.compromised_from = ReadBigEndian64(v.substr(32));
      r.acknowledged_by = ReadBigEndian64(v.substr(40));
      schedule->Restore(static_cast<PartyIndex>(key[1]), r);
      return true;
    });
    if (!s.ok()) return s;
    if (!failure.ok()) return failure;
    return std::shared_ptr<const KeySchedule>(std::move(schedule));
  }
  // A store from before the "k" rows: find the RotateKey entries through the
  // index (once; the marker records that the rows are complete).
  WriteBatch batch;
  if (heads[0].seq > 0 || heads[1].seq > 0) {
    std::vector<uint64_t> rotations[2];
    Status failure;
    Status s = store_->Scan("i", "j", [&](std::string_view, std::string_view v) {
      if (v.size() != 10) {
        failure = Status(Code::kDataLoss, "index row is corrupt");
        return false;
      }
      if (static_cast<uint8_t>(v[9]) == v1::Entry::kRotateKey) {
        rotations[static_cast<uint8_t>(v[0]) & 1].push_back(ReadBigEndian64(v.substr(1)));
      }
      return true;
    });
    if (!s.ok()) return s;
    if (!failure.ok()) return failure;
    // Entries as stored (verified when they were stored), header fields only.
    auto read = [&](PartyIndex p, uint64_t seq) -> Result<v1::Entry> {
      auto v = store_->Get(EntryKey(p, seq));
      if (!v) return v.error();
      v1::SignedEntry se;
      v1::Entry e;
      if (!v->has_value() || !se.ParseFromString(**v) || !e.ParseFromString(se.entry())) {
        return Status(Code::kDataLoss, "stored entry " + std::to_string(seq) + " of party " + std::to_string(p) +
                                           " is missing or corrupt");
      }
      return e;
    };
    for (PartyIndex p = 0; p < 2; ++p) {
      std::sort(rotations[p].begin(), rotations[p].end());
      for (uint64_t seq : rotations[p]) {
        auto e = read(p, seq);
        if (!e) return e.error();
        KeyRotation r;
        r.seq = seq;
        r.new_key = *PublicKey::FromBytes(e->rotate_key().new_public_key());
        r.compromised_from = e->rotate_key().compromised_from_seq();
        // The other feed's seen.seq never decreases: binary search for the
        // first entry whose seen reaches r.
        uint64_t lo = 1, hi = heads[1 - p].seq + 1;
        while (lo < hi) {
          const uint64_t mid = lo + (hi - lo) / 2;
          auto o = read(1 - p, mid);
          if (!o) return o.error();
          if (o->has_seen() && o->seen().seq() >= seq) hi = mid;
          else lo = mid + 1;
        }
        r.acknowledged_by = lo <= heads[1 - p].seq ? lo : 0;
        schedule->Restore(p, r);
        batch.Put(RotationKey(p, seq), EncodeRotation(r));
      }
    }
  }
  batch.Put(std::string(kScheduleMarker), "1");
  if (Status s = store_->Write(batch, true); !s.ok()) return s;
  return std::shared_ptr<const KeySchedule>(std::move(schedule));
}

void Ledger::NoteWriteFailure(Status failure) {
  std::lock_guard lock(mu_);
  write_failure_ = std::move(failure);
  RefreshSigningBlock();
}

Status Ledger::RecoverStore() {
  {
    std::lock_guard lock(mu_);
    if (!write_failure_) return Status::Ok();
  }
  // Reopening gives a store that holds the failed batch wholly or not at all,
  // with a fresh write-ahead log (nothing more is written behind a torn
  // record), and recovery syncs what it keeps. This is also the way back
  // from errors other than lack of space (EIO, a failed sync): what the
  // store holds after a successful reopen is on disk, and it is re-read
  // below; a device that keeps failing makes the reopen fail, and signing
  // stays blocked.
  Status s = store_->Reopen();
  std::string_view disk = kDataDisk;
  if (s.ok()) s = Reload(disk);
  if (!s.ok()) {
    Status failure = WriteFailure(s, disk);
    NoteWriteFailure(failure);
    return failure;
  }
  std::lock_guard lock(mu_);
  write_failure_.reset();
  RefreshSigningBlock();
  return Status::Ok();
}

Status Ledger::Reload(std::string_view& disk) {
  FeedHead heads[2];
  bool frozen[2];
  if (Status s = ReadFeeds(heads, frozen); !s.ok()) return s;
  auto schedule = LoadKeySchedule(heads);
  if (!schedule) return schedule.error();
  {
    std::lock_guard lock(mu_);
    for (PartyIndex p = 0; p < 2; ++p) {
      // Everything acknowledged was stored by a write that succeeded: a
      // reopened store that lacks it has lost data. Not papered over (for
      // the own feed the high-water mark would block signing anyway).
      if (heads[p].seq < heads_[p].seq) {
        return Status(Code::kDataLoss, "the reopened store holds the feed of " + charter_.party_code(p) +
                                           " up to seq " + std::to_string(heads[p].seq) + ", but seq " +
                                           std::to_string(heads_[p].seq) + " was stored before: restart the node");
      }
    }
    // The head may now include a failed batch that was stored after all.
    heads_[0] = heads[0];
    heads_[1] = heads[1];
    frozen_[0] = frozen_[0] || frozen[0];
    frozen_[1] = frozen_[1] || frozen[1];
    if (options_.self && frozen_[*options_.self]) key_misused_ = true;
    schedule_ = std::move(*schedule);
    head_changed_.notify_all();
  }
  // As at Open: the mark must reach the stored own head before signing.
  if (options_.self && hwm_ && hwm_->seq() < heads[*options_.self].seq) {
    disk = kMarkDisk;
    if (Status s = hwm_->Advance(heads[*options_.self].seq); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Ledger::CheckKeys() {
  const KeySchedule& ks = *schedule_;
  const PublicKey key = options_.key->public_key();
  const PartyIndex self = *options_.self;
  const std::string& code = charter_.party_code(self);
  auto index = ks.HistoryIndex(self, key);
  if (!index && hwm_ && hwm_->seq() > heads_[self].seq && !ks.PartyOf(key)) {
    // The data folder lacks own entries this node signed (lost or rolled
    // back), so the schedule may lack a rotation to this key. Signing stays
    // blocked until the feed is recovered; then the recovered schedule
    // decides whether this key may sign.
    return Status::Ok();
  }
  if (!index) {
    return Status(Code::kPermissionDenied, ks.rotations(self).empty()
                                               ? "ledger: the key is not " + code + "'s key in the charter"
                                               : "ledger: the key is neither " + code +
                                                     "'s key in the charter nor a key it rotated to");
  }
  const size_t current = ks.RotationsInEffect(self, heads_[self].seq + 1, heads_[1 - self].seq);
  std::optional<size_t> next_index;
  if (options_.next_key) {
    const PublicKey next = options_.next_key->public_key();
    next_index = ks.HistoryIndex(self, next);
    if (next == key) return Status(Code::kInvalidArgument, "ledger: the next key is the key itself");
    if (!next_index && ks.PartyOf(next)) {
      return Status(Code::kInvalidArgument, "ledger: the next key is the other party's key");
    }
    if (next_index && *next_index < current) {
      return Status(Code::kPermissionDenied, "ledger: the next key is a retired key of " + code);
    }
  }
  if (*index < current && next_index != current) {
    const KeyRotation& r = ks.rotations(self)[current - 1];
    return Status(Code::kPermissionDenied,
                  "ledger: the key is retired: " + code + " rotated to key " + KeyLabel(r.new_key) + " (RotateKey " +
                      code + "#" + std::to_string(r.seq) + ", in effect since " + charter_.party_code(1 - self) +
                      "#" + std::to_string(r.acknowledged_by) + " acknowledged it); start with the new key");
  }
  return Status::Ok();
}

const SecretKey* Ledger::SignerFor(const KeySchedule& schedule, uint64_t seq, uint64_t seen_seq) const {
  if (!options_.key) return nullptr;
  const PublicKey& want = schedule.KeyFor(*options_.self, seq, seen_seq);
  if (options_.key->public_key() == want) return &*options_.key;
  if (options_.next_key && options_.next_key->public_key() == want) return &*options_.next_key;
  return nullptr;
}

std::shared_ptr<const KeySchedule> Ledger::key_schedule() const {
  std::lock_guard lock(mu_);
  return schedule_;
}

PublicKey Ledger::current_key(PartyIndex party) const {
  std::lock_guard lock(mu_);
  return schedule_->KeyFor(party, heads_[party].seq + 1, heads_[1 - party].seq);
}

Status Ledger::SetNextKey(SecretKey key) {
  if (!options_.self) return Status(Code::kFailedPrecondition, "ledger: read-only (no local party)");
  std::lock_guard write_lock(write_mu_);
  std::lock_guard lock(mu_);
  const PartyIndex self = *options_.self;
  const KeySchedule& ks = *schedule_;
  const PublicKey next = key.public_key();
  const KeyRotation* pending = ks.pending(self);
  if (options_.next_key && pending && pending->new_key == options_.next_key->public_key() &&
      next != pending->new_key) {
    return Status(Code::kInvalidArgument,
                  "ledger: a rotation to the next key held is pending; it cannot be replaced until it takes effect");
  }
  const bool is_pending = pending && pending->new_key == next;
  if (!is_pending && ks.PartyOf(next)) {
    return Status(Code::kInvalidArgument, "ledger: the next key is already a key of " +
                                              charter_.party_code(*ks.PartyOf(next)) + " (keys are never reused)");
  }
  for (const CharterObserver& o : charter_.observers()) {
    if (o.key == next) return Status(Code::kInvalidArgument, "ledger: the next key is an observer's key");
  }
  if (options_.next_key) {
    // A next key already in effect becomes the key (the retired one is
    // dropped), so that the node keeps the key it signs with.
    const size_t current = ks.RotationsInEffect(self, heads_[self].seq + 1, heads_[1 - self].seq);
    if (ks.HistoryIndex(self, options_.next_key->public_key()) == current) options_.key = std::move(options_.next_key);
  }
  options_.next_key = std::move(key);
  RefreshSigningBlock();
  return Status::Ok();
}

std::shared_ptr<const KeySchedule> Ledger::ObserveInto(const KeySchedule& schedule, const v1::Entry& e,
                                                       WriteBatch& batch) {
  const bool rotation = e.body_case() == v1::Entry::kRotateKey;
  const KeyRotation* other_pending = schedule.pending(1 - e.author());
  const uint64_t seen = e.has_seen() ? e.seen().seq() : 0;
  if (!rotation && !(other_pending && seen >= other_pending->seq)) return nullptr;  // the usual case
  auto next = std::make_shared<KeySchedule>(schedule);
  const unsigned changed = next->Observe(e);
  for (PartyIndex p = 0; p < 2; ++p) {
    if (changed & (1u << p)) {
      const KeyRotation& r = next->rotations(p).back();
      batch.Put(RotationKey(p, r.seq), EncodeRotation(r));
    }
  }
  return next;
}

void Ledger::RefreshSigningBlock() {
  blocked_.reset();
  awaiting_peer_ = false;
  if (!options_.self) {
    blocked_ = "this ledger has no local party (read-only)";
  } else if (write_failure_) {
    blocked_ = write_failure_->message();
  } else if (key_misused_) {
    blocked_ = "another version of this node's own feed was seen: its key is being misused; rotate the key";
  } else if (hwm_ && hwm_->seq() > heads_[*options_.self].seq) {
    blocked_ = "the data folder holds own feed up to seq " + std::to_string(heads_[*options_.self].seq) +
               " but this key has signed up to seq " + std::to_string(hwm_->seq()) +
               " (high-water mark): the folder is stale, was rolled back or lost its newest writes (a damaged write-ahead "
               "log); recover the own feed from the peer first";
  } else if (options_.require_peer_confirmation && !own_head_confirmed_) {
    blocked_ = "waiting for the peer to confirm this node's own head (seq " +
               std::to_string(heads_[*options_.self].seq) +
               "): a data folder and high-water mark restored together from an older copy look current, so after a "
               "start nothing is signed until the peer has said how much of this feed it holds (and any newer entries "
               "are recovered from it); to sign while cut off, restart with sign_without_peer_confirmation = true, at "
               "the risk of signing a seq twice if the folder is stale (the peer then proves a fork and freezes this feed)";
    awaiting_peer_ = true;
  } else {
    const PartyIndex self = *options_.self;
    const uint64_t seq = heads_[self].seq + 1, seen = heads_[1 - self].seq;
    if (!SignerFor(*schedule_, seq, seen)) {
      const std::string& code = charter_.party_code(self);
      const size_t n = schedule_->RotationsInEffect(self, seq, seen);
      const KeyRotation* pending = schedule_->pending(self);
      if (pending && options_.key->public_key() == pending->new_key) {
        blocked_ = "this node holds only the new key of " + code + "'s RotateKey " + code + "#" +
                   std::to_string(pending->seq) + ", which takes effect once " + charter_.party_code(1 - self) +
                   " acknowledges it; until then entries are signed with the previous key, which this node was not given";
      } else {
        blocked_ = "the key in effect for " + code + " is " + KeyLabel(schedule_->KeyFor(self, seq, seen)) +
                   (n > 0 ? " (RotateKey " + code + "#" + std::to_string(schedule_->rotations(self)[n - 1].seq) + ")"
                          : std::string(" (the charter key)")) +
                   " and this node does not hold it; restart with that key";
      }
    }
  }
}

std::optional<std::string> Ledger::signing_blocked() const {
  std::lock_guard lock(mu_);
  return BlockedLocked();
}

Status Ledger::ConfirmOwnHead(uint64_t peer_seq) {
  std::lock_guard lock(mu_);
  if (!options_.self) return Status(Code::kFailedPrecondition, "this ledger has no local party (read-only)");
  const uint64_t own = heads_[*options_.self].seq;
  if (peer_seq > own) {
    return Status(Code::kFailedPrecondition, "the peer holds this node's own feed up to seq " +
                                                 std::to_string(peer_seq) + ", this node only up to seq " +
                                                 std::to_string(own) + ": recover it first");
  }
  own_head_confirmed_ = true;
  may_adopt_own_ = false;
  RefreshSigningBlock();
  head_changed_.notify_all();
  return Status::Ok();
}

bool Ledger::own_head_confirmed() const {
  std::lock_guard lock(mu_);
  return own_head_confirmed_;
}

void Ledger::AwaitPeerConfirmation() {
  std::unique_lock lock(mu_);
  if (!awaiting_peer_ || damaged_) return;
  head_changed_.wait_for(lock, kPeerConfirmationWait, [&] { return !awaiting_peer_; });
}

bool Ledger::frozen(PartyIndex party) const {
  std::lock_guard lock(mu_);
  return frozen_[party];
}

FeedHead Ledger::Head(PartyIndex party) const {
  std::lock_guard lock(mu_);
  return heads_[party];
}

// A FeedIndex over the ledger for use while mu_ is held.
namespace {
class HeldIndex final : public FeedView {
 public:
  HeldIndex(const FeedHead* heads, const FeedView& base) : heads_(heads), base_(base) {}
  FeedHead Head(PartyIndex party) const override { return heads_[party]; }
  bool Frozen(PartyIndex party) const override { return base_.Frozen(party); }
  Result<std::optional<EntryRef>> Find(const Digest& id) const override { return base_.Find(id); }
  Result<std::optional<Digest>> IdAt(PartyIndex party, uint64_t seq) const override {
    return base_.IdAt(party, seq);
  }

 private:
  const FeedHead* heads_;
  const FeedView& base_;
};
}  // namespace

Result<std::optional<EntryRef>> Ledger::Find(const Digest& id) const {
  auto v = store_->Get(IndexKey(id));
  if (!v) return NoteDamage(v.error());
  if (!v->has_value()) return std::optional<EntryRef>();
  const std::string& s = **v;
  if (s.size() != 10) return Status(Code::kDataLoss, "index row for " + ToHex(id) + " is corrupt");
  return std::optional<EntryRef>(EntryRef{static_cast<PartyIndex>(s[0]), ReadBigEndian64(std::string_view(s).substr(1)),
                                          static_cast<v1::Entry::BodyCase>(static_cast<uint8_t>(s[9]))});
}

Result<std::optional<Digest>> Ledger::IdAt(PartyIndex party, uint64_t seq) const {
  // The ID only: the stored entry was verified when it was stored, so it is
  // hashed here, not verified again (stage 2 asks this for every seen).
  auto v = store_->Get(EntryKey(party, seq));
  if (!v) return NoteDamage(v.error(), party, seq);
  if (!v->has_value()) return std::optional<Digest>();
  v1::SignedEntry se;
  if (!se.ParseFromString(**v)) {
    return Status(Code::kDataLoss, "stored entry " + std::to_string(seq) + " of party " + std::to_string(party) +
                                       " is corrupt");
  }
  return std::optional<Digest>(Hash(kEntryDomain, se.entry()));
}

Result<std::optional<DecodedEntry>> Ledger::Get(PartyIndex party, uint64_t seq) const {
  auto v = store_->Get(EntryKey(party, seq));
  if (!v) return NoteDamage(v.error(), party, seq);
  if (!v->has_value()) return std::optional<DecodedEntry>();
  auto d = DecodeEntry(**v, charter_, key_schedule().get());
  if (!d) {
    return NoteDamage(Status(Code::kDataLoss, "stored entry " + std::to_string(seq) + " of " +
                                                  charter_.party_code(party) + " fails verification: " +
                                                  d.error().message()),
                      party, seq);
  }
  return std::optional<DecodedEntry>(std::move(*d));
}

Result<std::optional<DecodedEntry>> Ledger::GetById(const Digest& id) const {
  auto ref = Find(id);
  if (!ref) return ref.error();
  if (!ref->has_value()) return std::optional<DecodedEntry>();
  return Get((*ref)->party, (*ref)->seq);
}

Result<std::vector<DecodedEntry>> Ledger::Read(PartyIndex party, uint64_t from, size_t max) const {
  std::vector<DecodedEntry> out;
  if (max == 0) return out;
  Status failure;
  const std::shared_ptr<const KeySchedule> schedule = key_schedule();
  // Each scan stops as soon as it has `max` (not at the row after): a damaged
  // block just past the range must not fail a read that does not need it.
  Status s = store_->Scan(EntryKey(party, std::max<uint64_t>(from, 1)), EntryKey(party + 1, 0),
                          [&](std::string_view, std::string_view value) {
                            auto d = DecodeEntry(value, charter_, schedule.get());
                            if (!d) {
                              failure = Status(Code::kDataLoss, "stored entry " +
                                                                    std::to_string(std::max<uint64_t>(from, 1) + out.size()) +
                                                                    " of " + charter_.party_code(party) +
                                                                    " fails verification: " + d.error().message());
                              return false;
                            }
                            out.push_back(std::move(*d));
                            return out.size() < max;
                          });
  const uint64_t at = std::max<uint64_t>(from, 1) + out.size();
  if (!s.ok()) return NoteDamage(s, party, at);
  if (!failure.ok()) return NoteDamage(failure, party, at);
  return out;
}

Result<std::vector<std::string>> Ledger::ReadEnvelopes(PartyIndex party, uint64_t from, size_t max) const {
  from = std::max<uint64_t>(from, 1);
  if (max == 0) return std::vector<std::string>();
  uint64_t damaged_from = UINT64_MAX;
  {
    std::lock_guard lock(mu_);
    if (party < 2) damaged_from = damaged_from_[party];
    if (from >= damaged_from && damaged_) {
      return Status(Code::kDataLoss, "the feed of " + charter_.party_code(party) + " is damaged in this node's store from seq " +
                                         std::to_string(damaged_from) + " on (" + *damaged_ + "); it is not served");
    }
  }
  // Served up to the damage; the next read from there gets the error above.
  max = static_cast<size_t>(std::min<uint64_t>(max, damaged_from - from));
  std::vector<std::string> out;
  Status s = store_->Scan(EntryKey(party, from), EntryKey(party + 1, 0),
                          [&](std::string_view, std::string_view value) {
                            out.emplace_back(value);
                            return out.size() < max;
                          });
  if (!s.ok()) return NoteDamage(s, party, from + out.size());
  return out;
}

Result<std::vector<StoredFork>> Ledger::Forks() const {
  std::vector<StoredFork> out;
  Status failure;
  Status s = store_->Scan("f", "g", [&](std::string_view key, std::string_view value) {
    StoredFork f;
    f.party = static_cast<PartyIndex>(key[1]);
    f.seq = ReadBigEndian64(key.substr(2));
    if (!f.proof.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      failure = Status(Code::kDataLoss, "stored fork proof is corrupt");
      return false;
    }
    out.push_back(std::move(f));
    return true;
  });
  if (!s.ok()) return NoteDamage(s);
  if (!failure.ok()) return NoteDamage(failure);
  return out;
}

namespace {
Status CheckSideKey(std::string_view key) {
  if (key.empty() || (key[0] != 'w' && key[0] != 'x' && key[0] != 'y')) {
    return Status(Code::kInvalidArgument, "not a side row key");
  }
  return Status::Ok();
}
}  // namespace

Status Ledger::WriteSideRows(const WriteBatch& batch) {
  for (const auto& [k, v] : batch.puts()) {
    if (Status s = CheckSideKey(k); !s.ok()) return s;
  }
  for (const auto& k : batch.deletes()) {
    if (Status s = CheckSideKey(k); !s.ok()) return s;
  }
  return store_->Write(batch, true);
}

Result<std::optional<std::string>> Ledger::GetSideRow(std::string_view key) const {
  if (Status s = CheckSideKey(key); !s.ok()) return s;
  auto v = store_->Get(key);
  if (!v) return NoteDamage(v.error());
  return v;
}

Status Ledger::ScanSideRows(std::string_view lo, std::string_view hi, const Store::ScanFn& fn) const {
  if (Status s = CheckSideKey(lo); !s.ok()) return s;
  if (hi.empty() || hi[0] < 'w' || hi[0] > 'z') return Status(Code::kInvalidArgument, "not a side row range");
  Status s = store_->Scan(lo, hi, fn);
  if (!s.ok()) return NoteDamage(s);
  return s;
}

Result<std::unique_ptr<LedgerSnapshot>> Ledger::Snapshot() const {
  if (auto damage = damaged()) {
    return Status(Code::kFailedPrecondition, "the data folder is damaged (" + *damage +
                                                 "); a backup would copy the damage");
  }
  auto snapshot = store_->Snapshot();
  if (!snapshot) return snapshot.error();
  auto out = std::make_unique<LedgerSnapshot>(std::move(*snapshot));
  if (Status s = out->Load(); !s.ok()) return NoteDamage(s);
  return out;
}

Status LedgerSnapshot::Load() {
  auto charter = snapshot_->Get("c");
  if (!charter) return charter.error();
  if (!charter->has_value()) return Status(Code::kDataLoss, "the store holds no charter");
  charter_ = **charter;
  for (PartyIndex p = 0; p < 2; ++p) {
    auto head = snapshot_->Get(HeadKey(p));
    if (!head) return head.error();
    if (!head->has_value()) continue;
    if ((*head)->size() != 56) return Status(Code::kDataLoss, "stored head of party " + std::to_string(p) + " is corrupt");
    heads_[p] = ReadBigEndian64(**head);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> LedgerSnapshot::ReadEnvelopes(PartyIndex party, uint64_t from, size_t max) const {
  from = std::max<uint64_t>(from, 1);
  std::vector<std::string> out;
  if (from > heads_[party]) return out;
  max = static_cast<size_t>(std::min<uint64_t>(max, heads_[party] - from + 1));
  uint64_t want = from;
  bool gap = false;
  Status s = snapshot_->Scan(EntryKey(party, from), EntryKey(party, heads_[party] + 1),
                             [&](std::string_view key, std::string_view value) {
                               if (ReadBigEndian64(key.substr(2)) != want) {
                                 gap = true;
                                 return false;
                               }
                               out.emplace_back(value);
                               ++want;
                               return out.size() < max;
                             });
  if (!s.ok()) return s;
  if (gap || out.size() < max) {
    return Status(Code::kDataLoss, "entry " + std::to_string(want) + " of party " + std::to_string(party) +
                                       " is missing from the store below its head " + std::to_string(heads_[party]));
  }
  return out;
}

Result<std::vector<v1::ForkProof>> LedgerSnapshot::ForkProofs() const {
  std::vector<v1::ForkProof> out;
  bool corrupt = false;
  Status s = snapshot_->Scan("f", "g", [&](std::string_view, std::string_view value) {
    out.emplace_back();
    corrupt = !out.back().ParseFromArray(value.data(), static_cast<int>(value.size()));
    return !corrupt;
  });
  if (!s.ok()) return s;
  if (corrupt) return Status(Code::kDataLoss, "stored fork proof is corrupt");
  return out;
}

Status Ledger::StoreEntry(const DecodedEntry& e, WriteBatch batch, bool sync) {
  const PartyIndex p = e.author();
  PutEntryRows(e, batch);
  FeedHead head = HeadOf(e);
  batch.Put(HeadKey(p), EncodeHead(head));
  std::shared_ptr<const KeySchedule> schedule = ObserveInto(*schedule_, e.entry, batch);
  if (Status s = store_->Write(batch, sync); !s.ok()) {
    NoteWriteFailure(WriteFailure(s, kDataDisk));
    (void)RecoverStore();  // an entry stored after all is then a duplicate
    return WriteFailure(s, kDataDisk);
  }
  std::lock_guard lock(mu_);
  heads_[p] = head;
  if (schedule) schedule_ = std::move(schedule);
  head_changed_.notify_all();
  return Status::Ok();
}

struct Ledger::Writer {
  const v1::Entry* body = nullptr;
  int64_t now_ms = 0;
  const std::string* request_id = nullptr;
  std::optional<Result<DecodedEntry>> result;
  bool done = false;
  std::condition_variable cv;
};

Result<DecodedEntry> Ledger::Append(const v1::Entry& body, int64_t now_ms, const std::string& request_id) {
  AwaitPeerConfirmation();
  Writer w;
  w.body = &body;
  w.now_ms = now_ms;
  w.request_id = &request_id;
  std::unique_lock lock(mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(lock);
  if (w.done) return std::move(*w.result);

  // This writer leads a group of everything queued so far.
  constexpr size_t kMaxGroup = 256;
  std::vector<Writer*> group(writers_.begin(), writers_.begin() + std::min(writers_.size(), kMaxGroup));
  lock.unlock();
  {
    std::lock_guard write_lock(write_mu_);
    CommitGroup(group);
  }
  lock.lock();
  for (Writer* g : group) {
    writers_.pop_front();
    g->done = true;
    if (g != &w) g->cv.notify_one();
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return std::move(*w.result);
}

Result<std::pair<v1::Entry, const SecretKey*>> Ledger::NextEntry(const v1::Entry& body, int64_t now_ms,
                                                                 const KeySchedule& schedule,
                                                                 const FeedView& index,
                                                                 const std::optional<std::string>& blocked) const {
  if (blocked) return Status(Code::kFailedPrecondition, "refusing to sign: " + *blocked);
  const PartyIndex self = options_.self.value_or(0);
  v1::Entry entry = verifier_.NextEntry(self, body, index, now_ms);
  // Everything a receiving node checks but the signature: never sign what
  // the peer would refuse.
  if (Status s = verifier_.CheckSignable(entry, index, schedule); !s.ok()) return s;
  if (entry.body_case() == v1::Entry::kRotateKey &&
      (!options_.next_key || options_.next_key->public_key().view() != entry.rotate_key().new_public_key())) {
    return Status(Code::kFailedPrecondition,
                  "refusing to rotate to a key this node does not hold: give the node the new secret key as "
                  "its next key first, so that it can sign once the rotation takes effect");
  }
  const uint64_t seen = entry.has_seen() ? entry.seen().seq() : 0;
  const SecretKey* signer = SignerFor(schedule, entry.seq(), seen);
  if (!signer) return Status(Code::kFailedPrecondition, "refusing to sign: this node does not hold the key in effect");
  return std::make_pair(std::move(entry), signer);
}

Status Ledger::ReadyToSign() {
  // After a failed write, first reopen and re-read the store. While that
  // fails (no space yet) nothing is signed, and nothing is read from a store
  // that may be closed.
  if (Status s = RecoverStore(); !s.ok()) return s;
  // Behind the mark's lock, the mark itself: advanced by another signer, it
  // is now above the own head and the rollback check stops signing.
  if (hwm_ && options_.self) {
    if (Status s = hwm_->Reread(); !s.ok()) {
      std::lock_guard lock(mu_);
      RefreshSigningBlock();
      if (s.code() != Code::kFailedPrecondition) return Status(s.code(), "refusing to sign: " + s.message());
    }
  }
  return Status::Ok();
}

Ledger::SigningState Ledger::SigningSnapshot() const {
  std::lock_guard lock(mu_);
  SigningState st;
  st.heads[0] = heads_[0];
  st.heads[1] = heads_[1];
  st.blocked = BlockedLocked();
  st.schedule = schedule_;
  return st;
}

Result<v1::Entry> Ledger::Preview(const v1::Entry& body, int64_t now_ms) {
  AwaitPeerConfirmation();
  std::lock_guard write_lock(write_mu_);
  if (Status s = ReadyToSign(); !s.ok()) return s;
  const SigningState st = SigningSnapshot();
  HeldIndex index(st.heads, *this);
  auto next = NextEntry(body, now_ms, *st.schedule, index, st.blocked);
  if (!next) return next.error();
  return std::move(next->first);
}

void Ledger::CommitGroup(const std::vector<Writer*>& group) {
  // Until a failed write is recovered, or while the mark cannot be read,
  // every writer gets the reason.
  if (Status s = ReadyToSign(); !s.ok()) {
    for (Writer* w : group) w->result = s;
    return;
  }
  SigningState st = SigningSnapshot();
  FeedHead (&heads)[2] = st.heads;
  const std::optional<std::string>& blocked = st.blocked;
  std::shared_ptr<const KeySchedule>& schedule = st.schedule;
  const PartyIndex self = options_.self.value_or(0);
  HeldIndex index(heads, *this);
  WriteBatch batch;
  std::vector<std::pair<Writer*, DecodedEntry>> signed_entries;
  std::vector<Writer*> repeats;  // writers given an entry of this batch (same request id)
  std::map<std::string, std::pair<Digest, Digest>> group_requests;  // request id -> (entry id, body digest)

  for (Writer* w : group) {
    const std::string& rid = *w->request_id;
    std::optional<Digest> body_digest;
    if (!rid.empty()) {
      body_digest = BodyDigest(*w->body);
      std::optional<std::pair<Digest, Digest>> prior;
      if (auto it = group_requests.find(rid); it != group_requests.end()) {
        prior = it->second;
      } else {
        auto row = store_->Get(RequestKey(rid));
        if (!row) { w->result = row.error(); continue; }
        if (row->has_value() && (*row)->size() == 64) {
          prior = std::make_pair(*Digest::FromBytes((*row)->substr(0, 32)), *Digest::FromBytes((*row)->substr(32)));
        }
      }
      if (prior) {
        if (prior->second != *body_digest) {
          w->result = Status(Code::kAlreadyExists, "request id '" + rid + "' was already used for a different statement");
          continue;
        }
        auto it = std::find_if(signed_entries.begin(), signed_entries.end(),
                               [&](const auto& se) { return se.second.id == prior->first; });
        if (it != signed_entries.end()) {  // stands or falls with the write
          w->result = it->second;
          repeats.push_back(w);
          continue;
        }
        auto entry = GetById(prior->first);
        if (!entry) { w->result = entry.error(); continue; }
        if (!entry->has_value()) { w->result = Status(Code::kDataLoss, "request id row names a missing entry"); continue; }
        w->result = std::move(**entry);
        continue;
      }
    }
    auto next = NextEntry(*w->body, w->now_ms, *schedule, index, blocked);
    if (!next) { w->result = next.error(); continue; }
    const auto& [entry, signer] = *next;

    DecodedEntry e = SignEntry(*signer, entry);
    if (auto changed = ObserveInto(*schedule, e.entry, batch)) schedule = std::move(changed);
    PutEntryRows(e, batch);
    if (body_digest) {
      batch.Put(RequestKey(rid), e.id.str() + body_digest->str());
      group_requests[rid] = {e.id, *body_digest};
    }
    heads[self] = HeadOf(e);
    signed_entries.emplace_back(w, std::move(e));
  }
  if (signed_entries.empty()) return;

  batch.Put(HeadKey(self), EncodeHead(heads[self]));
  Status s = store_->Write(batch, options_.sync);
  std::string_view disk = kDataDisk;
  if (s.ok() && hwm_) {
    s = hwm_->Advance(heads[self].seq);
    disk = kMarkDisk;
  }
  if (!s.ok()) {
    // The signatures never left this process, but whether the batch reached
    // the disk is unknown, and LevelDB may have left a torn record in its
    // log (or refuse all later writes after a failed sync): write nothing
    // more into this store. Reopening it settles the question; until that
    // succeeds signing is blocked (retried on each append and ingest).
    const Status failure = WriteFailure(s, disk);
    NoteWriteFailure(failure);
    bool stored = false;
    if (RecoverStore().ok()) {
      // Reopened and re-read, the mark advanced: the batch is either the
      // head now (stored after all, e.g. a sync that failed after a
      // complete write) or absent, and then what was signed for it was
      // never stored or shown to anyone, so its seqs are signed afresh.
      std::lock_guard lock(mu_);
      stored = heads_[self].seq == heads[self].seq && heads_[self].id == heads[self].id;
    }
    if (!stored) {
      for (auto& [w, e] : signed_entries) w->result = failure;
      for (Writer* w : repeats) w->result = failure;
      return;
    }
  } else {
    std::lock_guard lock(mu_);
    heads_[self] = heads[self];
    schedule_ = std::move(schedule);
    may_adopt_own_ = false;  // from now on an own entry above the mark was signed elsewhere
    RefreshSigningBlock();
    head_changed_.notify_all();
  }
  for (auto& [w, e] : signed_entries) w->result = std::move(e);
}

FeedHead Ledger::WaitForHead(PartyIndex party, uint64_t seq,
                             std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  head_changed_.wait_until(lock, deadline, [&] { return heads_[party].seq > seq; });
  return heads_[party];
}

Result<IngestOutcome> Ledger::RecordFork(const DecodedEntry& e) {
  auto stored = store_->Get(EntryKey(e.author(), e.seq()));
  if (!stored) return NoteDamage(stored.error(), e.author(), e.seq());
  if (!stored->has_value()) return Status(Code::kDataLoss, "entry below head is missing from the store");
  const std::string& stored_envelope = **stored;
  // The proof must hold two valid entries: the stored one is verified again.
  if (auto first = verifier_.Decode(stored_envelope, schedule_.get()); !first) {
    return Status(Code::kDataLoss, "stored entry fails verification: " + first.error().message());
  }
  v1::ForkProof proof;
  if (!proof.mutable_first()->ParseFromString(stored_envelope) ||
      !proof.mutable_second()->ParseFromString(e.envelope)) {
    return Status(Code::kDataLoss, "cannot re-read the stored entry for a fork proof");
  }
  WriteBatch batch;
  batch.Put(ForkKey(e.author(), e.seq(), e.id), proof.SerializeAsString());
  if (Status s = store_->Write(batch, true); !s.ok()) {
    NoteWriteFailure(WriteFailure(s, kDataDisk));
    (void)RecoverStore();
    return WriteFailure(s, kDataDisk);
  }
  std::lock_guard lock(mu_);
  frozen_[e.author()] = true;
  if (options_.self && e.author() == *options_.self) {
    key_misused_ = true;
    RefreshSigningBlock();
  }
  return IngestOutcome::kFork;
}

Result<IngestOutcome> Ledger::Ingest(std::string_view envelope, std::optional<PartyIndex> only_author) {
  // Verified outside the write lock under the schedule of the moment; again
  // under the lock if the schedule changed in between (rare: a rotation or
  // its acknowledgement was stored meanwhile).
  const std::shared_ptr<const KeySchedule> seen_schedule = key_schedule();
  auto decoded = verifier_.Decode(envelope, seen_schedule.get());
  std::lock_guard write_lock(write_mu_);
  // After a failed write nothing more is written until the store has been
  // reopened and re-read.
  if (Status s = RecoverStore(); !s.ok()) return s;
  verifier_.Recheck(decoded, envelope, *seen_schedule, *schedule_);
  if (!decoded) return decoded.error();
  const DecodedEntry& e = *decoded;
  const PartyIndex p = e.author();
  if (only_author && p != *only_author) {
    return Status(Code::kPermissionDenied, "entry " + std::to_string(e.seq()) + " is of " + charter_.party_code(p) +
                                               "'s feed, not " + charter_.party_code(*only_author) +
                                               "'s: a party publishes only its own feed");
  }
  auto placed = verifier_.Place(e, *this);
  if (!placed) return placed.error();
  if (*placed == FeedVerifier::Placement::kDuplicate) return IngestOutcome::kDuplicate;
  if (*placed == FeedVerifier::Placement::kFork) return RecordFork(e);
  const bool own = options_.self && p == *options_.self;
  bool adopt = false;  // an own entry above a mark that may be stale
  if (own && (!hwm_ || e.seq() > hwm_->seq())) {
    std::lock_guard lock(mu_);
    // Before the peer has confirmed the own head (and before this node has
    // signed since Open), a mark above which the peer holds own entries may
    // have been restored from an older copy together with the data folder:
    // the entries are taken as this node's own and the mark advances to
    // them (docs/PROTOCOL.md §9). After that: an entry of this node's own
    // feed that this node never signed.
    adopt = hwm_ && may_adopt_own_;
  }
  if (own && !adopt && (!hwm_ || e.seq() > hwm_->seq())) {
    std::lock_guard lock(mu_);
    key_misused_ = true;
    RefreshSigningBlock();
    return Status(Code::kFailedPrecondition,
                  "entry " + std::to_string(e.seq()) + " of this node's own feed (" + charter_.party_code(p) +
                      ") was never signed here: the key is being misused; signing stopped");
  }
  if (Status s = verifier_.CheckNext(e.entry, *this, *schedule_); !s.ok()) return s;
  if (Status s = StoreEntry(e, WriteBatch(), true); !s.ok()) return s;
  if (adopt) {
    if (Status s = hwm_->Advance(e.seq()); !s.ok()) {
      // Stored; the mark catches up when the store is reopened (Reload).
      NoteWriteFailure(WriteFailure(s, kMarkDisk));
      return WriteFailure(s, kMarkDisk);
    }
  }
  if (options_.self) {
    // Recovered part of the own feed, or an entry of the other party that
    // may acknowledge the local party's rotation (the key in effect changes).
    std::lock_guard lock(mu_);
    RefreshSigningBlock();
  }
  return IngestOutcome::kStored;
}

namespace {

// The stored feeds plus a run of entries about to be stored with them, for
// stage 2 of each entry of the run (it may name earlier ones of the run).
class BatchIndex final : public FeedView {
 public:
  BatchIndex(const FeedHead* heads, const FeedView& base) : base_(base) {
    heads_[0] = heads[0];
    heads_[1] = heads[1];
  }
  void Add(const DecodedEntry& e) {
    heads_[e.author()] = HeadOf(e);
    by_id_[e.id] = EntryRef{e.author(), e.seq(), e.kind()};
    ids_[{e.author(), e.seq()}] = e.id;
  }
  FeedHead Head(PartyIndex party) const override { return heads_[party]; }
  bool Frozen(PartyIndex party) const override { return base_.Frozen(party); }
  Result<std::optional<EntryRef>> Find(const Digest& id) const override {
    if (auto it = by_id_.find(id); it != by_id_.end()) return std::optional<EntryRef>(it->second);
    return base_.Find(id);
  }
  Result<std::optional<Digest>> IdAt(PartyIndex party, uint64_t seq) const override {
    if (auto it = ids_.find({party, seq}); it != ids_.end()) return std::optional<Digest>(it->second);
    return base_.IdAt(party, seq);
  }

 private:
  FeedHead heads_[2];
  const FeedView& base_;
  std::map<Digest, EntryRef> by_id_;
  std::map<std::pair<PartyIndex, uint64_t>, Digest> ids_;
};

}  // namespace

Result<Ledger::BatchOutcome> Ledger::IngestBatch(const std::vector<std::string>& envelopes,
                                                 std::optional<PartyIndex> only_author) {
  BatchOutcome out;
  // Stage 1 for all, outside the lock, on two threads, under the schedule of
  // the moment. Entries of one feed cannot change the keys of that feed (an
  // acknowledgement comes from the other feed), so the schedule holds for a
  // run of one feed unless the other feed changed meanwhile (checked below);
  // a run holding both feeds re-checks each entry's key (below).
  const std::shared_ptr<const KeySchedule> seen_schedule = key_schedule();
  std::vector<std::optional<Result<DecodedEntry>>> decoded(envelopes.size());
  auto decode = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) decoded[i] = DecodeEntry(envelopes[i], charter_, seen_schedule.get());
  };
  const size_t half = envelopes.size() / 2;
  if (half >= 16) {
    auto second = std::async(std::launch::async, decode, half, envelopes.size());
    decode(0, half);
    second.get();
  } else {
    decode(0, envelopes.size());
  }

  size_t run = 0;  // entries [0, run) are stored in one write
  {
    std::lock_guard write_lock(write_mu_);
    if (Status s = RecoverStore(); !s.ok()) return s;
    if (schedule_ == seen_schedule) {
      BatchIndex index(heads_, *this);
      std::shared_ptr<const KeySchedule> schedule = schedule_;
      WriteBatch batch;
      for (; run < envelopes.size(); ++run) {
        const Result<DecodedEntry>& d = *decoded[run];
        if (!d) break;
        // The own feed goes through Ingest (recovery, key misuse).
        if (options_.self && d->author() == *options_.self) break;
        // Another feed than the one allowed: Ingest refuses it.
        if (only_author && d->author() != *only_author) break;
        // Stage 1 ran under seen_schedule. If an entry earlier in this run
        // changed the key this one must be signed with (a rotation and its
        // acknowledgement both in the batch: possible when both feeds come
        // through here), Ingest decodes it again under the current schedule.
        if (FeedVerifier::KeyChanged(*seen_schedule, *schedule, d->entry)) break;
        // Anything but the author's next, acceptable entry (a duplicate, a
        // fork, a violation) goes through Ingest, which says what it is.
        auto verdict = verifier_.Verify(*d, index, *schedule);
        if (!verdict || *verdict != FeedVerifier::Placement::kNext) break;
        PutEntryRows(*d, batch);
        if (auto changed = ObserveInto(*schedule, d->entry, batch)) schedule = std::move(changed);
        index.Add(*d);
      }
      if (run > 0) {
        for (PartyIndex p = 0; p < 2; ++p) {
          if (index.Head(p).seq != heads_[p].seq) batch.Put(HeadKey(p), EncodeHead(index.Head(p)));
        }
        if (Status s = store_->Write(batch, true); !s.ok()) {
          NoteWriteFailure(WriteFailure(s, kDataDisk));
          (void)RecoverStore();  // entries stored after all are then duplicates
          return WriteFailure(s, kDataDisk);
        }
        std::lock_guard lock(mu_);
        heads_[0] = index.Head(0);
        heads_[1] = index.Head(1);
        schedule_ = std::move(schedule);
        if (options_.self) RefreshSigningBlock();  // an acknowledgement may change the key in effect
        head_changed_.notify_all();
      }
    }
  }
  out.stored = run;
  // The rest, one by one, with Ingest's full handling and error messages.
  for (size_t i = run; i < envelopes.size(); ++i) {
    auto r = Ingest(envelopes[i], only_author);
    if (!r) return r.error();
    if (*r == IngestOutcome::kStored) ++out.stored;
    if (*r == IngestOutcome::kDuplicate) ++out.duplicates;
    if (*r == IngestOutcome::kFork) ++out.forks;
  }
  return out;
}

}  // namespace parley
