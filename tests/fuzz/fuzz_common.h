// Shared by the fuzz targets: the fixed test charter of tests/fixtures.h and
// a check macro that reports what failed before aborting (libFuzzer then
// saves the input as a crash).
//
// Thread safety: call FuzzInit once, from LLVMFuzzerInitialize.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "crypto/sign.h"
#include "tests/fixtures.h"

namespace parley::fuzz {

// Fails the current input with a message: an invariant of the code under
// test (not of the harness) does not hold.
#define FUZZ_CHECK(cond, msg)                                                      \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n  %s\n", __FILE__,       \
                   __LINE__, #cond, std::string(msg).c_str());                     \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

inline void FuzzInit() {
  // Protobuf logs every string field with invalid UTF-8 it meets; mutated
  // inputs are full of them.
  google::protobuf::SetLogHandler(nullptr);
  InitCrypto();
  (void)test::TheCharter();  // build the charter (two signatures) once
}

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// One in-memory file per process (memfd), reachable by path as
// /proc/self/fd/N, for code under test that opens files by name. Rewritten
// for each input; never touches the disk.
class MemFile {
 public:
  MemFile() : fd_(::memfd_create("parley-fuzz", 0)) {
    FUZZ_CHECK(fd_ >= 0, "memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  const std::string& path() const { return path_; }

  void Write(std::string_view a, std::string_view b = {}) {
    FUZZ_CHECK(::ftruncate(fd_, 0) == 0, "ftruncate");
    FUZZ_CHECK(PWriteAll(a, 0) && PWriteAll(b, a.size()), "pwrite");
  }

 private:
  bool PWriteAll(std::string_view s, size_t at) {
    size_t done = 0;
    while (done < s.size()) {
      ssize_t n = ::pwrite(fd_, s.data() + done, s.size() - done, static_cast<off_t>(at + done));
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  int fd_;
  std::string path_;
};

}  // namespace parley::fuzz
