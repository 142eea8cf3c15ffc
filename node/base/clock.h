// Clock: the wall clock as Parley reads it. One function, so that every
// part of the node agrees on what "now" is (and a test could replace it in
// one place).
//
// Thread safety: safe to call concurrently.
#pragma once

#include <cstdint>

namespace parley {

// Now, in milliseconds since 1970-01-01T00:00:00Z (the system clock, UTC).
int64_t NowMs();

}  // namespace parley
