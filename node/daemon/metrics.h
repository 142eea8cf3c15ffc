// Metrics: the node's Prometheus figures, in one place (docs/OPERATIONS.md,
// "Metrics", lists each one). The daemon's parts report what they see —
// appends, ingests, refusals, peer calls — through the small interface
// below; the rest (heads, the peer link, lag, fork proofs, catch-up) is read
// from the Ledger, the Replicator and the PeerService at each scrape. The
// ledger and protocol layers know nothing of this.
//
// Every label value is from a fixed list: party = own | peer, a violation
// name of docs/PROTOCOL.md §4 (or "unnamed"), a gRPC code name. Nothing the
// other side sends ever becomes a label or a help text.
//
// The HTTP endpoint (GET /metrics, text format) is off unless Serve is
// called (config metrics_listen). Counting goes on either way; it is cheap.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "crypto/status.h"
#include "node/ledger/ledger.h"

namespace parley {

class Replicator;
class PeerService;

// Where a refused entry came from: the peer's node (Ingest) or this node's
// own operator (Submit, before or while signing).
enum class RefusalSource { kPeer, kLocal };

class Metrics {
 public:
  explicit Metrics(const Ledger& ledger);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The parts read at each scrape; they must outlive Serve's endpoint (Stop
  // it first). Either may be left unset.
  void Watch(const Replicator* replicator, const PeerService* peer_service);

  // Opens the HTTP endpoint on `address` (IP:port). kUnavailable with the
  // reason if it cannot bind.
  Status Serve(const std::string& address);
  // Closes the endpoint (waits for a scrape in progress). Idempotent.
  void Stop();
  // The port the endpoint listens on (0 if not serving).
  int port() const;

  // An own entry signed and durably stored, `latency` after the request.
  void EntryAppended(std::chrono::steady_clock::duration latency);
  // `n` new entries of `party`'s feed stored through Ingest.
  void EntriesIngested(PartyIndex party, uint64_t n);
  // A fork proof stored through Ingest.
  void ForkProofStored();
  // A witness alarm raised (node/daemon/witnessing.h).
  void WitnessAlarm();
  // A cosignature of our own checkpoint received from a witness.
  void CheckpointCosigned();
  // An entry refused; counted only for kRejected (a violation), by name.
  void EntryRefused(RefusalSource source, const Status& why);
  // A call to the peer service that ended with `code` (not OK, not CANCELLED).
  void PeerCallRefused(grpc::StatusCode code);

  // The text the endpoint serves, now (for tests and `Serve`).
  std::string Scrape() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The one way the daemon appends, ingests and counts: each does what the
// Ledger call does and tells `metrics` (may be null) what came of it.
//
// An Append whose request id repeats an earlier one returns the entry first
// signed: it is not counted again (its seq is not above the head before the
// call).
Result<DecodedEntry> MeteredAppend(Ledger& ledger, Metrics* metrics, const v1::Entry& body, int64_t now_ms,
                                   const std::string& request_id = "");
Result<IngestOutcome> MeteredIngest(Ledger& ledger, Metrics* metrics, std::string_view envelope);
// `party`: whose entries the batch carries (the stored count of a batch that
// failed part-way is its head's advance).
Result<Ledger::BatchOutcome> MeteredIngestBatch(Ledger& ledger, Metrics* metrics, PartyIndex party,
                                                const std::vector<std::string>& envelopes);

// A server interceptor that counts the peer service's refused calls by code.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> PeerCallMetrics(Metrics& metrics);

}  // namespace parley
