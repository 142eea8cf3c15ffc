// The log fuzz_add_checkpoint's witness is configured for, shared with
// make_seeds.cc so that the committed seeds are bodies of this very log: its
// leaves are "leaf i" (tests/tlog_fixtures.h), and before every input the
// witness has cosigned its checkpoint of size kFuzzCosignedSize.
#pragma once

#include <cstdint>

#include "tests/tlog_fixtures.h"

namespace parley::fuzz {

inline constexpr uint64_t kFuzzCosignedSize = 8;

inline const test::TestLog& FuzzLog() {
  static const test::TestLog log{"example.org/fuzz-log", 0x52};
  return log;
}

}  // namespace parley::fuzz
