#include "node/witness/witness.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>

#include "crypto/endian.h"
#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "node/store/high_water_mark.h"

namespace parley {
namespace {

constexpr std::string_view kStateMagic = "PARLEYW1";
// The state file holds two regions, written in turn (§15.5).
constexpr std::string_view kRegionsMagic = "PARLEYWS";
constexpr size_t kRegionsHeader = 16;  // magic | region size u32le | 4 zero bytes
constexpr size_t kMinRegionBytes = 64 * 1024;
constexpr std::string_view kStateDomain = "parley/witness-state/v1";
constexpr std::string_view kMarkDomain = "parley/witness/v1";

WitnessResponse Answer(int status, std::string body) {
  WitnessResponse r;
  r.status = status;
  r.body = std::move(body);
  if (!r.body.empty() && r.body.back() != '\n') r.body += "\n";
  return r;
}

Status IoError(const std::string& what, const std::filesystem::path& path) {
  const int e = errno;
  return Status(e == ENOSPC || e == EDQUOT ? Code::kResourceExhausted : Code::kIoError,
                what + " " + path.string() + ": " + std::strerror(e));
}

// Writes `bytes` to `path` atomically and durably: a temporary beside it,
// fsync, rename over `path`, fsync of the folder.
Status WriteFileDurably(const std::filesystem::path& path, std::string_view bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create", tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = IoError("cannot write", tmp);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = IoError("cannot fsync", tmp);
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IoError("cannot rename onto", path);
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return IoError("cannot open folder", dir);
  const int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return IoError("cannot fsync folder", dir);
  return Status::Ok();
}

uint64_t SystemSeconds() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

Digest WitnessMarkId(const PublicKey& key) { return Hash(kMarkDomain, key.view()); }

// "PARLEYW1" | witness key (32) | generation u64le | count u32le |
// count × (length u32le | note) | H("parley/witness-state/v1", all preceding)
std::string EncodeWitnessState(const WitnessStateFile& state) {
  std::string out(kStateMagic);
  out += state.witness_key.view();
  AppendLittleEndian64(out, state.generation);
  AppendLittleEndian32(out, static_cast<uint32_t>(state.notes.size()));
  for (const auto& n : state.notes) {
    AppendLittleEndian32(out, static_cast<uint32_t>(n.size()));
    out += n;
  }
  out += Hash(kStateDomain, out).view();
  return out;
}

Result<WitnessStateFile> DecodeWitnessState(std::string_view bytes) {
  const Status corrupt(Code::kDataLoss, "the witness state file is corrupt (bad magic, length or checksum)");
  constexpr size_t kHeader = 8 + 32 + 8 + 4;
  if (bytes.size() < kHeader + Digest::kSize || bytes.substr(0, 8) != kStateMagic) return corrupt;
  const std::string_view body = bytes.substr(0, bytes.size() - Digest::kSize);
  if (Hash(kStateDomain, body).view() != bytes.substr(body.size())) return corrupt;
  WitnessStateFile s;
  s.witness_key = *PublicKey::FromBytes(body.substr(8, 32));
  s.generation = ReadLittleEndian64(body.substr(40, 8));
  const uint32_t count = ReadLittleEndian32(body.substr(48, 4));
  size_t pos = kHeader;
  for (uint32_t i = 0; i < count; ++i) {
    if (pos + 4 > body.size()) return corrupt;
    const uint32_t len = ReadLittleEndian32(body.substr(pos, 4));
    pos += 4;
    if (len > body.size() - pos) return corrupt;
    s.notes.emplace_back(body.substr(pos, len));
    pos += len;
  }
  if (pos != body.size()) return corrupt;
  return s;
}

namespace {

// The state a region holds (§15.5: length u32le | state | anything), if valid.
std::optional<WitnessStateFile> RegionState(std::string_view region) {
  if (region.size() < 4) return std::nullopt;
  const size_t length = ReadLittleEndian32(region.substr(0, 4));
  if (length == 0 || length > region.size() - 4) return std::nullopt;
  auto state = DecodeWitnessState(region.substr(4, length));
  if (!state) return std::nullopt;
  return *std::move(state);
}

}  // namespace

Result<WitnessStateFile> ReadWitnessState(std::string_view file) {
  if (file.substr(0, kStateMagic.size()) == kStateMagic) return DecodeWitnessState(file);  // one state, written whole
  const Status corrupt(Code::kDataLoss, "the witness state file is corrupt (neither of its regions holds a valid state)");
  if (file.size() < kRegionsHeader || file.substr(0, 8) != kRegionsMagic) return corrupt;
  const size_t region = ReadLittleEndian32(file.substr(8, 4));
  if (region < 4 || file.size() != kRegionsHeader + 2 * region) return corrupt;
  std::optional<WitnessStateFile> newest;
  for (size_t i = 0; i < 2; ++i) {
    auto state = RegionState(file.substr(kRegionsHeader + i * region, region));
    if (state && (!newest || state->generation > newest->generation)) newest = std::move(state);
  }
  if (!newest) return corrupt;
  return *std::move(newest);
}

Result<AddCheckpointRequest> ParseAddCheckpoint(std::string_view body) {
  const auto bad = [](const std::string& what) { return Status(Code::kInvalidArgument, what); };
  if (body.size() > kMaxAddCheckpointBytes) return bad("the request body is too large");
  AddCheckpointRequest r;
  size_t nl = body.find('\n');
  if (nl == std::string_view::npos) return bad("no old size line");
  const std::string_view first = body.substr(0, nl);
  if (first.substr(0, 4) != "old ") return bad("the first line is not \"old <size>\"");
  auto old = ParseTlogDecimal(first.substr(4));
  if (!old) return bad("the old size is not a decimal without leading zeros");
  r.old_size = *old;
  size_t pos = nl + 1;
  while (true) {
    nl = body.find('\n', pos);
    if (nl == std::string_view::npos) return bad("no empty line before the checkpoint");
    const std::string_view line = body.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) break;
    if (r.proof.size() == kMaxProofLines) return bad("more than 63 consistency proof lines");
    auto h = FromBase64(line);
    if (!h || h->size() != Digest::kSize) return bad("a proof line is not base64 of 32 bytes");
    r.proof.push_back(*Digest::FromBytes(*h));
  }
  r.note = std::string(body.substr(pos));
  return r;
}

std::string FormatAddCheckpoint(const AddCheckpointRequest& request) {
  std::string out = "old " + std::to_string(request.old_size) + "\n";
  for (const auto& h : request.proof) out += ToBase64(h.view()) + "\n";
  return out + "\n" + request.note;
}

Witness::Witness(SecretKey key, WitnessOptions options, std::unique_ptr<HighWaterMark> mark)
    : key_(std::move(key)), options_(std::move(options)), mark_(std::move(mark)) {
  for (const auto& log : options_.logs) logs_[log.origin] = &log;
}

Witness::~Witness() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_.notify_all();
  if (committer_.joinable()) committer_.join();
  if (state_fd_ >= 0) ::close(state_fd_);
}

Result<std::unique_ptr<Witness>> Witness::Open(SecretKey key, WitnessOptions options) {
  if (!ValidKeyName(options.name)) {
    return Status(Code::kInvalidArgument, "the witness name must be a key name (no spaces, no '+'), e.g. witness.example/w1");
  }
  std::set<std::string> seen;
  for (const auto& log : options.logs) {
    if (log.origin.empty() || log.origin.find('\n') != std::string::npos) {
      return Status(Code::kInvalidArgument, "a log has an empty or multi-line origin");
    }
    if (!seen.insert(log.origin).second) {
      return Status(Code::kInvalidArgument, "log " + log.origin + " is listed twice; list all its keys on one entry");
    }
    if (log.keys.empty()) return Status(Code::kInvalidArgument, "log " + log.origin + " has no key");
  }
  if (!options.now_seconds) options.now_seconds = SystemSeconds;
  auto mark = HighWaterMark::Open(options.high_water_mark, WitnessMarkId(key.public_key()));
  if (!mark) return mark.error();

  std::map<std::string, Stored> state;
  uint64_t generation = 0;
  std::error_code ec;
  const bool exists = std::filesystem::exists(options.state_file, ec);
  if (ec) return Status(Code::kIoError, "cannot check " + options.state_file.string() + ": " + ec.message());
  if (exists) {
    std::ifstream in(options.state_file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return Status(Code::kIoError, "cannot read " + options.state_file.string());
    auto file = ReadWitnessState(bytes);
    if (!file) {
      return Status(Code::kDataLoss, file.error().message() + ": " + options.state_file.string() +
                                         ". Restore it from a copy no older than the last cosignature; never delete it");
    }
    if (file->witness_key != key.public_key()) {
      return Status(Code::kDataLoss, options.state_file.string() + " belongs to another witness key");
    }
    for (const auto& n : file->notes) {
      auto note = ParseNote(n);
      if (!note) return Status(Code::kDataLoss, "a stored note does not parse: " + note.error().message());
      auto c = ParseCheckpoint(note->text);
      if (!c) return Status(Code::kDataLoss, "a stored checkpoint does not parse: " + c.error().message());
      state[c->origin] = Stored{*c, n};
    }
    generation = file->generation;
  }
  const uint64_t marked = (*mark)->seq();
  if (!exists && marked > 0) {
    return Status(Code::kFailedPrecondition,
                  "the witness state " + options.state_file.string() + " is missing, but the high-water mark " +
                      options.high_water_mark.string() + " says this witness has cosigned " + std::to_string(marked) +
                      " times: starting empty could cosign a checkpoint inconsistent with one already cosigned. "
                      "Restore the state file from its latest copy; if it is lost for good, retire this witness key "
                      "and start a new witness with a new key (and tell the logs)");
  }
  if (generation < marked) {
    return Status(Code::kFailedPrecondition,
                  "the witness state " + options.state_file.string() + " is at generation " +
                      std::to_string(generation) + " but the high-water mark " + options.high_water_mark.string() +
                      " is at " + std::to_string(marked) +
                      ": the state was rolled back to an older copy, and cosigning from it could cosign a checkpoint "
                      "inconsistent with one already cosigned. Restore the newest state file; if none reaches "
                      "generation " + std::to_string(marked) + ", retire this witness key and start a new witness");
  }
  if (generation > marked) {
    // A crash between the state write and the mark's: the state is newer.
    Status s = (*mark)->Advance(generation);
    if (!s.ok()) return s;
  }
  std::unique_ptr<Witness> w(new Witness(std::move(key), std::move(options), std::move(mark).value()));
  if (exists) {
    Status s = w->OpenRegions();
    if (!s.ok()) return s;
  }
  for (const auto& [origin, s] : state) w->durable_.emplace(origin, s.note);
  w->state_ = std::move(state);
  w->generation_ = generation;
  w->durable_generation_ = generation;
  w->published_.store(generation);
  w->committer_ = std::thread([p = w.get()] { p->CommitLoop(); });
  return w;
}

Status Witness::OpenRegions() {
  const std::filesystem::path& path = options_.state_file;
  std::ifstream in(path, std::ios::binary);
  std::string header(kRegionsHeader, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  if (!in || header.substr(0, 8) != kRegionsMagic) return Status::Ok();  // one whole state: laid out anew on the first write
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path);
  const size_t region = ReadLittleEndian32(std::string_view(header).substr(8, 4));
  // The next write goes to the region not holding the newest state.
  uint64_t generation[2] = {0, 0};
  for (size_t i = 0; i < 2; ++i) {
    std::string r(region, '\0');
    if (::pread(fd, r.data(), region, static_cast<off_t>(kRegionsHeader + i * region)) != static_cast<ssize_t>(region)) {
      continue;
    }
    if (auto state = RegionState(r)) generation[i] = state->generation;
  }
  state_fd_ = fd;
  region_bytes_ = region;
  next_region_ = generation[0] > generation[1] ? 1 : 0;
  return Status::Ok();
}

Status Witness::Persist(const Notes& notes, uint64_t generation) {
  WitnessStateFile file;
  file.witness_key = key_.public_key();
  file.generation = generation;
  file.notes.reserve(notes.size());
  for (const auto& [origin, note] : notes) file.notes.push_back(note);
  if (options_.before_write) {
    Status hooked = options_.before_write(generation);
    if (!hooked.ok()) return hooked;
  }
  // The whole state is encoded and written for every write: fine for the
  // handful to hundreds of logs a witness serves (a few hundred bytes each).
  const std::string state = EncodeWitnessState(file);
  std::string region;
  AppendLittleEndian32(region, static_cast<uint32_t>(state.size()));
  region += state;
  if (state_fd_ >= 0 && region.size() <= region_bytes_) {
    // Into the region not holding the newest state; a torn write leaves
    // that one standing. The file's size and blocks do not change, so
    // fdatasync writes the data alone.
    const off_t at = static_cast<off_t>(kRegionsHeader + next_region_ * region_bytes_);
    size_t done = 0;
    while (done < region.size()) {
      const ssize_t n = ::pwrite(state_fd_, region.data() + done, region.size() - done, at + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError("cannot write", options_.state_file);
      done += static_cast<size_t>(n);
    }
    if (::fdatasync(state_fd_) != 0) return IoError("cannot fdatasync", options_.state_file);
    next_region_ ^= 1;
  } else {
    // First write, a state in the one-state format, or one outgrowing its
    // region: a new file, twice the room the state needs, replacing the old
    // one atomically; the state in region 0, region 1 empty.
    const size_t room = std::max(kMinRegionBytes, 2 * region.size());
    std::string bytes(kRegionsMagic);
    AppendLittleEndian32(bytes, static_cast<uint32_t>(room));
    AppendLittleEndian32(bytes, 0);
    bytes += region;
    bytes.resize(kRegionsHeader + 2 * room, '\0');
    Status st = WriteFileDurably(options_.state_file, bytes);
    if (!st.ok()) return st;
    const int fd = ::open(options_.state_file.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return IoError("cannot open", options_.state_file);
    if (state_fd_ >= 0) ::close(state_fd_);
    state_fd_ = fd;
    region_bytes_ = room;
    next_region_ = 1;
  }
  return mark_->Advance(generation);
}

void Witness::CommitLoop() {
  std::unique_lock lock(mu_);
  uint64_t last_batch = 0;  // requests recorded by the last write
  while (true) {
    committer_waiting_ = true;
    work_.wait(lock, [&] { return stop_ || generation_ > durable_generation_; });
    committer_waiting_ = false;
    if (generation_ == durable_generation_) return;  // stopping, nothing pending
    if (last_batch > 1) {  // not woken by each request while lingering
      lingering_ = true;
      work_.wait_for(lock, options_.commit_linger,
                     [&] { return stop_ || flush_ || generation_ - durable_generation_ >= kMaxCommitBatch; });
      lingering_ = false;
      flush_ = false;
    }
    // Everything accepted so far, for every request waiting.
    const uint64_t generation = generation_;
    Notes notes;
    for (const auto& [origin, s] : state_) notes.emplace(origin, s.note);
    lock.unlock();
    const Status s = Persist(notes, generation);
    lock.lock();
    if (!s.ok()) {
      failed_ = s.message();
      published_.store(kWriteFailed);
      published_.notify_all();
      if (write_listener_) write_listener_();
      return;  // memory is ahead of the disk: nothing more is written or cosigned
    }
    durable_ = std::move(notes);
    last_batch = generation - durable_generation_;
    durable_generation_ = generation;
    published_.store(generation);
    published_.notify_all();
    if (write_listener_) write_listener_();
  }
}

WitnessResponse Witness::AddCheckpoint(std::string_view body) {
  AcceptedCheckpoint accepted = Accept(body);
  if (accepted.generation == 0) return std::move(accepted.response);
  uint64_t seen = published_.load();
  while (seen < accepted.generation) {
    published_.wait(seen);
    seen = published_.load();
  }
  if (Settle(accepted.generation) == Durability::kFailed) return WriteFailed();
  return std::move(accepted.response);
}

Durability Witness::Settle(uint64_t generation) const {
  const uint64_t published = published_.load();
  if (published < generation) return Durability::kPending;
  if (published != kWriteFailed) return Durability::kDurable;
  std::lock_guard lock(mu_);
  return durable_generation_ >= generation ? Durability::kDurable : Durability::kFailed;
}

WitnessResponse Witness::WriteFailed() const {
  std::lock_guard lock(mu_);
  return Answer(500, "the witness could not store its state; nothing was cosigned: " + failed_);
}

void Witness::Flush() {
  {
    std::lock_guard lock(mu_);
    if (!lingering_ || flush_) return;
    flush_ = true;
  }
  work_.notify_one();
}

void Witness::SetWriteListener(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  write_listener_ = std::move(listener);
}

AcceptedCheckpoint Witness::Accept(std::string_view body) {
  auto request = ParseAddCheckpoint(body);
  if (!request) return Answer(400, request.error().message());
  auto note = ParseNote(request->note);
  if (!note) return Answer(400, note.error().message());
  auto checkpoint = ParseCheckpoint(note->text);
  if (!checkpoint) return Answer(400, checkpoint.error().message());
  auto log = logs_.find(checkpoint->origin);
  if (log == logs_.end()) return Answer(404, "unknown log origin");
  auto verified = VerifyNote(*note, log->second->keys);
  if (!verified) return Answer(403, verified.error().message());
  if (request->old_size > checkpoint->size) return Answer(400, "the old size is above the checkpoint size");

  // Signed before taking the lock, which is then held only for the checks
  // and the update: the cosignature does not depend on the state, and if the
  // request is refused below it is dropped, never sent.
  const NoteSignature cosignature = Cosign(key_, options_.name, note->text, options_.now_seconds());
  // Kept: the text, the signature lines of the log's trusted keys (all of
  // which verified), and the cosignature.
  Note kept{note->text, {}};
  for (const auto& sig : note->signatures) {
    for (const auto& k : log->second->keys) {
      if (sig.name == k.name && sig.key_id == k.key_id()) {
        kept.signatures.push_back(sig);
        break;
      }
    }
  }
  kept.signatures.push_back(cosignature);
  std::string kept_note = FormatNote(kept);

  const char* refused = nullptr;  // the 422 reason
  uint64_t generation = 0;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (!failed_.empty()) return NotDurable();
    auto latest = state_.find(checkpoint->origin);
    const uint64_t latest_size = latest == state_.end() ? 0 : latest->second.checkpoint.size;
    if (request->old_size != latest_size) {
      WitnessResponse r = Answer(409, std::to_string(latest_size));
      r.content_type = std::string(kTlogSizeContentType);
      return r;
    }
    const Digest old_root = latest == state_.end() ? Rfc6962EmptyRoot() : latest->second.checkpoint.root;
    if (checkpoint->size == 0 && checkpoint->root != Rfc6962EmptyRoot()) {
      refused = "a checkpoint of size 0 must have the empty tree's root";
    } else if (request->old_size == 0 && !request->proof.empty()) {
      refused = "a consistency proof from size 0 must be empty";
    } else if (!Rfc6962VerifyConsistency(request->old_size, checkpoint->size, old_root, checkpoint->root,
                                         request->proof)) {
      refused = request->old_size == checkpoint->size ? "the checkpoint has the cosigned size but another root"
                                                      : "the consistency proof does not verify";
    } else {
      state_[checkpoint->origin] = Stored{*checkpoint, std::move(kept_note)};
      generation = ++generation_;
      // The committer needs waking only when it waits for work, or lingers
      // and the batch is now full; while it writes it looks again after.
      wake = committer_waiting_ || generation_ - durable_generation_ == kMaxCommitBatch;
    }
  }
  if (refused != nullptr) {
    KeepEvidence(body);  // outside the lock: file I/O
    return Answer(422, refused);
  }
  if (wake) work_.notify_one();
  return AcceptedCheckpoint(Answer(200, FormatSignatureLine(cosignature)), generation);
}

WitnessResponse Witness::NotDurable() const {
  return Answer(500, "state not durable, restart: an earlier write of the witness state failed (" + failed_ +
                         "), so this witness cosigns nothing more until it is restarted");
}

void Witness::KeepEvidence(std::string_view body) {
  if (options_.evidence_dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(options_.evidence_dir, ec);
  const std::filesystem::path file = options_.evidence_dir / (ToHex(Sha256(body)) + ".txt");
  if (std::filesystem::exists(file, ec)) return;
  size_t count = 0;
  for (auto it = std::filesystem::directory_iterator(options_.evidence_dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (++count >= kMaxEvidenceFiles) return;
  }
  // Called outside the lock: two requests may keep the same body at once,
  // each through a temporary of its own (the count above is then best effort).
  const std::filesystem::path tmp =
      file.string() + "." + std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id())) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << body;
    if (!out.good()) return;
  }
  std::filesystem::rename(tmp, file, ec);
}

std::optional<std::string> Witness::Latest(std::string_view origin) const {
  std::lock_guard lock(mu_);
  auto it = durable_.find(origin);
  if (it == durable_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Witness::Origins() const {
  std::vector<std::string> out;
  for (const auto& log : options_.logs) out.push_back(log.origin);
  return out;
}

NoteVerifier Witness::verifier() const {
  return NoteVerifier{options_.name, NoteKeyType::kCosignatureV1, key_.public_key()};
}

uint64_t Witness::generation() const {
  std::lock_guard lock(mu_);
  return durable_generation_;
}

}  // namespace parley
