#include "node/base/version.h"

// PARLEY_VERSION and PARLEY_COMMIT come from CMake (node/base/CMakeLists.txt):
// the project version, and the source commit at configure time.
#ifndef PARLEY_VERSION
#define PARLEY_VERSION "unknown"
#endif
#ifndef PARLEY_COMMIT
#define PARLEY_COMMIT "unknown"
#endif

namespace parley {

std::string_view ParleyRelease() { return PARLEY_VERSION; }
std::string_view ParleyCommit() { return PARLEY_COMMIT; }

std::string VersionText(uint32_t protocol_version) {
  return "parley " + std::string(ParleyRelease()) + " (protocol v" + std::to_string(protocol_version) + ", commit " +
         std::string(ParleyCommit()) + ")";
}

}  // namespace parley
