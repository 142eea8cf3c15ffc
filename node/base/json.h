// JSON output that is always valid JSON.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace parley {

// `j` as JSON text (indented by `indent` spaces; -1: one line) that is always
// valid JSON: any string that is not valid UTF-8 (a path, a message) has its
// bad bytes replaced by U+FFFD instead of making the output invalid or
// throwing. Every --json output of parley is written with it.
std::string DumpJson(const nlohmann::json& j, int indent = -1);

}  // namespace parley
