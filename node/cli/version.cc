#include "node/cli/version.h"

#include "node/base/version.h"
#include "node/protocol/charter.h"

namespace parley {

std::string VersionText() { return VersionText(kProtocolVersion); }

}  // namespace parley
