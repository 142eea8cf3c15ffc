// Which parley this is: the release and the source commit it was built from.
// Every audit report names them (docs/PROTOCOL.md §13), and so does
// `parley --version` (node/cli/version.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley {

// The project version, e.g. "0.1.0" (CMake's PROJECT_VERSION).
std::string_view ParleyRelease();
// The source commit at configure time, 12 hex digits; "unknown" outside a
// git checkout.
std::string_view ParleyCommit();
// "parley 0.1.0 (protocol v1, commit 1a2b3c4d5e6f)", for a build that speaks
// protocol version `protocol_version`.
std::string VersionText(uint32_t protocol_version);

}  // namespace parley
