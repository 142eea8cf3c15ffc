// C2SP transparency-log checkpoints (c2sp.org/tlog-checkpoint): the text of
// a signed note naming a log's tree head.
//
//   origin "\n"                (non-empty; the log's unique name)
//   tree size "\n"             (ASCII decimal, no leading zero but "0")
//   base64(RFC 6962 root) "\n" (32 bytes)
//   *(extension line "\n")     (non-empty, opaque)
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/status.h"
#include "crypto/types.h"

namespace parley {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Digest root;
  std::vector<std::string> extensions;

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// Parses a note text (ending in "\n") as a checkpoint. kInvalidArgument,
// naming the line, on any deviation.
Result<Checkpoint> ParseCheckpoint(std::string_view text);
// The note text of `c`. REQUIRES: origin and extensions non-empty and free
// of "\n".
std::string FormatCheckpoint(const Checkpoint& c);

// Strict decimal as tlog specs write sizes: digits only, no sign, no leading
// zero unless the value is 0, at most UINT64_MAX. nullopt otherwise.
std::optional<uint64_t> ParseTlogDecimal(std::string_view text);

}  // namespace parley
