#include "node/witness/submit.h"

#include <httplib.h>

#include "node/tlog/checkpoint.h"
#include "node/witness/witness.h"

namespace parley {
namespace {

struct Answer {
  int status = 0;
  std::string body;
  std::string content_type;
};

Result<Answer> Post(const WitnessEndpoint& e, const std::string& body) {
  // Split "scheme://host:port" from a path prefix.
  const size_t scheme_end = e.url.find("://");
  if (scheme_end == std::string::npos) return Status(Code::kInvalidArgument, "witness URL has no scheme: " + e.url);
  const size_t path_start = e.url.find('/', scheme_end + 3);
  const std::string base = e.url.substr(0, path_start);
  std::string prefix = path_start == std::string::npos ? "" : e.url.substr(path_start);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  httplib::Client client(base);
  if (!client.is_valid()) return Status(Code::kInvalidArgument, "witness URL is not usable: " + e.url);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(e.timeout);
  const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(e.timeout - secs);
  client.set_connection_timeout(secs.count(), usecs.count());
  client.set_read_timeout(secs.count(), usecs.count());
  client.set_write_timeout(secs.count(), usecs.count());
  client.enable_server_certificate_verification(e.verify_tls);
  auto r = client.Post(prefix + "/add-checkpoint", body, "text/plain");
  if (!r) return Status(Code::kUnavailable, "witness " + e.url + " unreachable: " + httplib::to_string(r.error()));
  return Answer{r->status, r->body, r->get_header_value("Content-Type")};
}

}  // namespace

Result<SubmitOutcome> SubmitCheckpoint(const WitnessEndpoint& endpoint, const MerkleTree& tree,
                                       const std::string& signed_note, uint64_t known_size) {
  PARLEY_CHECK(known_size <= tree.size());
  auto note = ParseNote(signed_note);
  if (!note) return note.error();
  uint64_t old = known_size;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto a = Post(endpoint, FormatAddCheckpoint(AddCheckpointRequest{old, tree.ConsistencyProof(old), signed_note}));
    if (!a) return a.error();
    const std::string what = "witness " + endpoint.key.name + ": ";
    switch (a->status) {
      case 200: {
        auto lines = ParseSignatureLines(a->body);
        if (!lines) return Status(Code::kDataLoss, what + "answer is not signature lines");
        auto verified = VerifyNote(Note{note->text, *lines}, std::vector{endpoint.key});
        if (!verified) return Status(Code::kDataLoss, what + "no valid cosignature: " + verified.error().message());
        for (const auto& l : *lines) {
          if (l.name == endpoint.key.name && l.key_id == endpoint.key.key_id()) {
            return SubmitOutcome{tree.size(), l, (*verified)[0].timestamp};
          }
        }
        return Status(Code::kDataLoss, what + "no cosignature line");
      }
      case 409: {
        std::string size_text = a->body;
        if (!size_text.empty() && size_text.back() == '\n') size_text.pop_back();
        auto size = ParseTlogDecimal(size_text);
        if (!size) return Status(Code::kDataLoss, what + "409 without a size");
        if (*size > tree.size()) {
          return Status(Code::kFailedPrecondition, what + "has cosigned size " + std::to_string(*size) +
                                                       " of this log, more than the " + std::to_string(tree.size()) +
                                                       " held here");
        }
        if (attempt == 1 || *size == old) return Status(Code::kUnavailable, what + "kept answering 409");
        old = *size;
        continue;
      }
      case 422:
        return Status(Code::kRejected, what + "refused the checkpoint as inconsistent with what it cosigned (422)");
      case 403:
        return Status(Code::kPermissionDenied, what + "does not accept this log's signature (403)");
      case 404:
        return Status(Code::kNotFound, what + "does not know this log's origin (404)");
      case 400:
        return Status(Code::kInvalidArgument, what + "found the request malformed (400)");
      default:
        return Status(Code::kUnavailable, what + "answered HTTP " + std::to_string(a->status));
    }
  }
  return Status(Code::kUnavailable, "witness " + endpoint.key.name + ": kept answering 409");
}

}  // namespace parley
