#include "node/cli/version.h"

#include "node/protocol/charter.h"

// PARLEY_VERSION and PARLEY_COMMIT come from CMake (node/cli/CMakeLists.txt):
// the project version, and the source commit at configure time.
#ifndef PARLEY_VERSION
#define PARLEY_VERSION "unknown"
#endif
#ifndef PARLEY_COMMIT
#define PARLEY_COMMIT "unknown"
#endif

namespace parley {

std::string VersionText() {
  return std::string("parley ") + PARLEY_VERSION + " (protocol v" + std::to_string(kProtocolVersion) + ", commit " +
         PARLEY_COMMIT + ")";
}

}  // namespace parley
