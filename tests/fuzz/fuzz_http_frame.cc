// fuzz_http_frame: where the witness's HTTP front (node/witness/http_loop.h)
// decides a request ends, on arbitrary bytes from strangers.
//
// Per input (limits: 256 bytes of headers, 64 of body):
//   1. FrameHttpRequest does not crash; a refusal is 400, 411, 413 or 431
//      with a reason.
//   2. A complete request ends after its headers' blank line and within the
//      input, and framing just that request gives the same length: what
//      follows it (a pipelined request) never changes where it ends.
//   3. Every shorter prefix of a complete request needs more bytes: a
//      request is never answered before all of it has arrived.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/witness/http_loop.h"
#include "tests/fuzz/fuzz_common.h"

namespace parley::fuzz {
namespace {

constexpr size_t kHeaders = 256, kBody = 64;

void Check(std::string_view in) {
  const HttpFrame f = FrameHttpRequest(in, kHeaders, kBody);
  if (f.state == HttpFrame::kRefuse) {
    FUZZ_CHECK(f.status == 400 || f.status == 411 || f.status == 413 || f.status == 431, std::to_string(f.status));
    FUZZ_CHECK(!f.reason.empty(), "a refusal without a reason");
    return;
  }
  if (f.state == HttpFrame::kNeedMore) return;
  FUZZ_CHECK(f.length <= in.size(), "ends past the input");
  const std::string_view request = in.substr(0, f.length);
  const size_t blank = request.find("\r\n\r\n");
  FUZZ_CHECK(blank != std::string_view::npos && blank + 4 <= f.length, "ends before its headers do");
  FUZZ_CHECK(f.length - (blank + 4) <= kBody, "a body over the limit");
  const HttpFrame alone = FrameHttpRequest(request, kHeaders, kBody);
  FUZZ_CHECK(alone.state == HttpFrame::kComplete && alone.length == f.length, "what follows moved its end");
  for (size_t cut : {f.length - 1, f.length / 2, blank + 3}) {
    if (cut >= f.length) continue;
    const HttpFrame part = FrameHttpRequest(in.substr(0, cut), kHeaders, kBody);
    FUZZ_CHECK(part.state == HttpFrame::kNeedMore, "a prefix of " + std::to_string(cut) + " bytes was framed");
  }
}

}  // namespace
}  // namespace parley::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  parley::fuzz::Check(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
