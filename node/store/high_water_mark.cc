#include "node/store/high_water_mark.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/hash.h"
#include "crypto/endian.h"

namespace parley {
namespace {

constexpr std::string_view kMagic = "PARLEYH1";
constexpr std::string_view kHwmDomain = "parley/hwm/v1";
constexpr size_t kFileSize = 80;

std::string Encode(const Digest& ledger_id, uint64_t seq) {
  std::string out(kMagic);
  out += ledger_id.view();
  AppendLittleEndian64(out, seq);
  out += Hash(kHwmDomain, out).view();
  return out;
}

// Takes the exclusive lock on `lock_path` (creating it) and writes this
// process's pid into it; returns the locked fd.
Result<int> Lock(const std::filesystem::path& mark, const std::filesystem::path& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(Code::kIoError, "cannot open the lock file of high-water mark " + mark.string() + " (" +
                                      lock_path.string() + "): " + std::strerror(errno));
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;  // l_start = l_len = 0: the whole file
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    const int err = errno;
    if (err != EAGAIN && err != EACCES) {
      ::close(fd);
      return Status(Code::kIoError, "cannot lock " + lock_path.string() + ": " + std::strerror(err));
    }
    std::string pid(32, '\0');
    const ssize_t n = ::pread(fd, pid.data(), pid.size() - 1, 0);
    ::close(fd);
    pid.resize(n > 0 ? static_cast<size_t>(n) : 0);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == '\0')) pid.pop_back();
    return Status(Code::kAlreadyExists,
                  "high-water mark " + mark.string() + " is in use by another process (pid " +
                      (pid.empty() ? std::string("unknown") : pid) + ", lock " + lock_path.string() +
                      "): one key must have one signer, or two nodes would sign the same seq twice; stop that "
                      "node first");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock is held all the same; only the message a second opener gets
    // lacks the pid.
  }
  return fd;
}

uint64_t DecodeSeq(std::string_view file) {
  return ReadLittleEndian64(file.substr(40));
}

}  // namespace

Result<std::unique_ptr<HighWaterMark>> HighWaterMark::Open(const std::filesystem::path& path,
                                                           const Digest& ledger_id) {
  auto lock_fd = Lock(path, std::filesystem::path(path.string() + ".lock"));
  if (!lock_fd) return lock_fd.error();
  // Read under the lock: no other signer can advance the mark from here on.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    ::close(*lock_fd);
    return Status(Code::kIoError, "cannot open high-water mark " + path.string() + ": " + std::strerror(err));
  }
  std::string buf(kFileSize + 1, '\0');
  ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  if (n < 0) {
    ::close(fd);
    ::close(*lock_fd);
    return Status(Code::kIoError, "cannot read high-water mark " + path.string() + ": " + std::strerror(errno));
  }
  auto mark = std::unique_ptr<HighWaterMark>(new HighWaterMark(*lock_fd, fd, ledger_id, 0, path));
  if (n == 0) {
    if (Status s = mark->Advance(0); !s.ok()) return s;
    return mark;
  }
  buf.resize(static_cast<size_t>(n));
  if (buf.size() != kFileSize || buf.compare(0, kMagic.size(), kMagic) != 0 ||
      Hash(kHwmDomain, std::string_view(buf).substr(0, 48)).view() != std::string_view(buf).substr(48)) {
    return Status(Code::kDataLoss, "high-water mark " + path.string() + " is corrupt");
  }
  if (std::string_view(buf).substr(8, 32) != ledger_id.view()) {
    return Status(Code::kFailedPrecondition,
                  "high-water mark " + path.string() + " belongs to another ledger");
  }
  mark->seq_ = DecodeSeq(buf);
  return mark;
}

Status HighWaterMark::Reread() {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(Code::kIoError, "cannot re-read high-water mark " + path_.string() + ": " + std::strerror(errno));
  }
  std::string buf(kFileSize + 1, '\0');
  const ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  const int err = errno;
  ::close(fd);
  if (n < 0) return Status(Code::kIoError, "cannot re-read high-water mark " + path_.string() + ": " + std::strerror(err));
  buf.resize(static_cast<size_t>(n));
  if (buf.size() != kFileSize || buf != Encode(ledger_id_, DecodeSeq(buf))) {
    return Status(Code::kDataLoss, "high-water mark " + path_.string() + " changed under this node: it is corrupt now");
  }
  const uint64_t seq = DecodeSeq(buf);
  if (seq <= seq_) return Status::Ok();
  const uint64_t mine = seq_;
  seq_ = seq;
  return Status(Code::kFailedPrecondition, "high-water mark " + path_.string() + " was advanced to seq " +
                                               std::to_string(seq) + " by another signer (this node signed up to " +
                                               std::to_string(mine) + ")");
}

HighWaterMark::~HighWaterMark() {
  ::close(fd_);
  ::close(lock_fd_);  // releases the lock
}

Status HighWaterMark::Advance(uint64_t seq) {
  PARLEY_CHECK(seq >= seq_);
  std::string bytes = Encode(ledger_id_, seq);
  const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), 0);
  if (n >= 0 && n != static_cast<ssize_t>(bytes.size())) errno = ENOSPC;  // a short write: out of room
  if (n != static_cast<ssize_t>(bytes.size()) || ::fdatasync(fd_) != 0) {
    const int err = errno;
    return Status(err == ENOSPC || err == EDQUOT ? Code::kResourceExhausted : Code::kIoError,
                  "cannot write high-water mark " + path_.string() + ": " + std::strerror(err));
  }
  seq_ = seq;
  return Status::Ok();
}

}  // namespace parley
