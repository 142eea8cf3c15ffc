// What `parley --version` prints: "parley 0.1.0 (protocol v1, commit
// 1a2b3c4d5e6f)" — the release, the protocol version it speaks
// (kProtocolVersion, docs/PROTOCOL.md) and the source commit it was built
// from ("unknown" outside a git checkout).
#pragma once

#include <string>

namespace parley {

std::string VersionText();

}  // namespace parley
