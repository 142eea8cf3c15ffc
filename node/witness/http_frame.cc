#include <cctype>
#include <string>

#include "node/witness/http_loop.h"

namespace parley {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

HttpFrame FrameHttpRequest(std::string_view in, size_t max_header_bytes, size_t max_body_bytes) {
  HttpFrame f;
  const auto refuse = [&](int status, std::string reason) {
    f.state = HttpFrame::kRefuse;
    f.status = status;
    f.reason = std::move(reason);
    return f;
  };
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (in.size() > max_header_bytes) return refuse(431, "the request line and headers are too long");
    return f;
  }
  const size_t header_bytes = end + 4;
  if (header_bytes > max_header_bytes) return refuse(431, "the request line and headers are too long");
  const size_t first = in.find("\r\n");
  std::string_view headers = in.substr(first + 2, end + 2 - (first + 2));
  bool have_length = false;
  uint64_t length = 0;
  while (!headers.empty()) {
    const size_t eol = headers.find("\r\n");
    const std::string_view line = headers.substr(0, eol);
    headers.remove_prefix(eol + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return refuse(400, "a header line has no name");
    const std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return refuse(400, "a header name has white space");
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      return refuse(411, "send the body with Content-Length, not Transfer-Encoding");
    }
    if (EqualsIgnoreCase(name, "Content-Length")) {
      if (value.empty() || value.size() > 18 || value.find_first_not_of("0123456789") != std::string_view::npos) {
        return refuse(400, "Content-Length is not a decimal number");
      }
      const uint64_t n = std::stoull(std::string(value));
      if (have_length && n != length) return refuse(400, "two Content-Length headers disagree");
      have_length = true;
      length = n;
    } else if (EqualsIgnoreCase(name, "Expect") && EqualsIgnoreCase(value, "100-continue")) {
      f.expects_100 = true;
    }
  }
  if (length > max_body_bytes) return refuse(413, "the request body is too large");
  if (in.size() - header_bytes >= length) {
    f.state = HttpFrame::kComplete;
    f.length = header_bytes + length;
    f.expects_100 = false;
  }
  return f;
}

}  // namespace parley
