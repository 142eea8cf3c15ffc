#include "node/high_water_mark.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/hash.h"

namespace parley {
namespace {

constexpr std::string_view kMagic = "PARLEYH1";
constexpr std::string_view kHwmDomain = "parley/hwm/v1";
constexpr size_t kFileSize = 80;

std::string Encode(const Digest& ledger_id, uint64_t seq) {
  std::string out(kMagic);
  out += ledger_id.view();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((seq >> (8 * i)) & 0xff));
  out += Hash(kHwmDomain, out).view();
  return out;
}

}  // namespace

Result<std::unique_ptr<HighWaterMark>> HighWaterMark::Open(const std::filesystem::path& path,
                                                           const Digest& ledger_id) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(Code::kIoError, "cannot open high-water mark " + path.string() + ": " + std::strerror(errno));
  }
  std::string buf(kFileSize + 1, '\0');
  ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  if (n < 0) {
    ::close(fd);
    return Status(Code::kIoError, "cannot read high-water mark " + path.string() + ": " + std::strerror(errno));
  }
  auto mark = std::unique_ptr<HighWaterMark>(new HighWaterMark(fd, ledger_id, 0, path));
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
  uint64_t seq = 0;
  for (int i = 7; i >= 0; --i) seq = (seq << 8) | static_cast<uint8_t>(buf[40 + i]);
  mark->seq_ = seq;
  return mark;
}

HighWaterMark::~HighWaterMark() { ::close(fd_); }

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
