#include "node/daemon/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <exception>
#include <functional>
#include <mutex>

#include "node/daemon/peer_service.h"
#include "node/daemon/replicator.h"

namespace parley {
namespace {

constexpr int kViolations = static_cast<int>(Violation::kRotationPending) + 1;

const char* SourceLabel(RefusalSource s) { return s == RefusalSource::kPeer ? "peer" : "local"; }

// grpc::StatusCode -> its canonical name (the label); codes outside the
// enum (a peer cannot send one here: these are our own server's statuses)
// count as UNKNOWN.
const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

// Append latency buckets, in seconds: one fsync is about a millisecond on
// an SSD; a group commit or a slow disk takes longer.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                                 0.05,   0.1,   0.25,  0.5,   1,    2.5, 5};

}  // namespace

struct Metrics::Impl {
  explicit Impl(const Ledger& l) : ledger(l), self(*l.self()), other(1 - *l.self()) {}

  const Ledger& ledger;
  const PartyIndex self, other;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  // Counted as it happens.
  prometheus::Counter* appended = nullptr;
  prometheus::Counter* ingested[2] = {nullptr, nullptr};  // by PartyIndex
  prometheus::Counter* forks_stored = nullptr;
  prometheus::Counter* witness_alarms = nullptr;
  prometheus::Counter* checkpoints_cosigned = nullptr;
  std::array<std::array<prometheus::Counter*, kViolations + 1>, 2> refused{};  // [source][violation or unnamed]
  prometheus::Family<prometheus::Counter>* peer_calls = nullptr;
  prometheus::Histogram* latency = nullptr;

  // Read at each scrape (Refresh).
  prometheus::Gauge* head[2] = {nullptr, nullptr};  // by PartyIndex
  prometheus::Gauge* connected = nullptr;
  prometheus::Gauge* behind_us = nullptr;
  prometheus::Family<prometheus::Gauge>* lag = nullptr;
  prometheus::Gauge* behind_peer = nullptr;  // added once known
  prometheus::Gauge* fork_proofs[2] = {nullptr, nullptr};
  prometheus::Gauge* catchup[2] = {nullptr, nullptr};
  prometheus::Gauge* signing_blocked = nullptr;

  std::mutex mu;  // guards the two below and Refresh
  const Replicator* replicator = nullptr;
  const PeerService* peer_service = nullptr;

  std::mutex serve_mu;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<prometheus::Collectable> scraped;

  const char* PartyLabel(PartyIndex p) const { return p == self ? "own" : "peer"; }

  void Refresh();
  std::vector<prometheus::MetricFamily> Collect() {
    Refresh();
    return registry->Collect();
  }
};

namespace {

// What the HTTP endpoint serves: the registry, its gauges refreshed first.
class Scraped final : public prometheus::Collectable {
 public:
  explicit Scraped(std::function<std::vector<prometheus::MetricFamily>()> collect) : collect_(std::move(collect)) {}
  std::vector<prometheus::MetricFamily> Collect() const override { return collect_(); }

 private:
  const std::function<std::vector<prometheus::MetricFamily>()> collect_;
};

}  // namespace

void Metrics::Impl::Refresh() {
  std::lock_guard lock(mu);
  const FeedHead own = ledger.Head(self), theirs = ledger.Head(other);
  head[self]->Set(static_cast<double>(own.seq));
  head[other]->Set(static_cast<double>(theirs.seq));
  signing_blocked->Set(ledger.signing_blocked() ? 1 : 0);
  if (auto forks = ledger.Forks()) {
    uint64_t n[2] = {0, 0};
    for (const StoredFork& f : *forks) {
      if (f.party < 2) ++n[f.party];
    }
    for (PartyIndex p = 0; p < 2; ++p) fork_proofs[p]->Set(static_cast<double>(n[p]));
  }
  if (replicator) {
    const v1::PeerStatus st = replicator->status();
    connected->Set(st.connected() ? 1 : 0);
    behind_us->Set(static_cast<double>(st.lag()));
    const auto targets = replicator->catching_up_to();
    const uint64_t have[2] = {ledger.Head(0).seq, ledger.Head(1).seq};
    for (PartyIndex p = 0; p < 2; ++p) {
      catchup[p]->Set(targets[p] > have[p] ? static_cast<double>(targets[p] - have[p]) : 0);
    }
  }
  if (peer_service) {
    if (auto sent = peer_service->own_sent_to_peer()) {
      if (!behind_peer) behind_peer = &lag->Add({{"behind", "peer"}});
      behind_peer->Set(own.seq > *sent ? static_cast<double>(own.seq - *sent) : 0);
    }
  }
}

Metrics::Metrics(const Ledger& ledger) : impl_(std::make_shared<Impl>(ledger)) {
  Impl& m = *impl_;
  auto& r = *m.registry;
  m.appended = &prometheus::BuildCounter()
                    .Name("parley_entries_appended_total")
                    .Help("Own entries signed and durably stored by this node since it started.")
                    .Register(r)
                    .Add({});
  auto& ingested = prometheus::BuildCounter()
                       .Name("parley_entries_ingested_total")
                       .Help("Entries received from the peer's node, verified and stored since this node started, "
                             "by feed (own: recovered entries of our own feed).")
                       .Register(r);
  auto& refused = prometheus::BuildCounter()
                      .Name("parley_entries_refused_total")
                      .Help("Entries refused for breaking a rule of docs/PROTOCOL.md section 4, by source (peer: "
                            "sent by the peer's node; local: submitted here) and violation name.")
                      .Register(r);
  for (int s = 0; s < 2; ++s) {
    for (int v = 0; v <= kViolations; ++v) {
      const char* reason = v < kViolations ? ViolationName(static_cast<Violation>(v)) : "unnamed";
      m.refused[s][v] =
          &refused.Add({{"source", SourceLabel(static_cast<RefusalSource>(s))}, {"reason", reason}});
    }
  }
  m.forks_stored = &prometheus::BuildCounter()
                        .Name("parley_fork_proofs_stored_total")
                        .Help("Fork proofs stored since this node started (two entries signed at one seq).")
                        .Register(r)
                        .Add({});
  m.witness_alarms = &prometheus::BuildCounter()
                          .Name("parley_witness_alarms_total")
                          .Help("Witness alarms raised since this node started (a witness refused our checkpoint "
                                "as inconsistent, or has cosigned more of our feed than we hold, or a checkpoint of "
                                "the peer's feed differs from our copy: a split view). Each is kept as evidence.")
                          .Register(r)
                          .Add({});
  m.checkpoints_cosigned = &prometheus::BuildCounter()
                                .Name("parley_checkpoints_cosigned_total")
                                .Help("Cosignatures of our feed's checkpoints received from charter witnesses "
                                      "since this node started.")
                                .Register(r)
                                .Add({});
  m.peer_calls = &prometheus::BuildCounter()
                      .Name("parley_peer_calls_refused_total")
                      .Help("Calls to this node's peer port that ended with an error, by gRPC status code "
                            "(UNAUTHENTICATED: no valid token; RESOURCE_EXHAUSTED: over a caller's limit).")
                      .Register(r);
  for (int c = 1; c <= static_cast<int>(grpc::StatusCode::UNAUTHENTICATED); ++c) {
    if (c != grpc::StatusCode::CANCELLED) m.peer_calls->Add({{"code", CodeName(static_cast<grpc::StatusCode>(c))}});
  }
  m.latency = &prometheus::BuildHistogram()
                   .Name("parley_append_latency_seconds")
                   .Help("Time from a request to sign an own entry to the entry being durably stored (fsync).")
                   .Register(r)
                   .Add({}, kLatencyBuckets);
  auto& head = prometheus::BuildGauge()
                   .Name("parley_feed_head_seq")
                   .Help("The seq of the last entry of each feed held here (own: this node's party; peer: the "
                         "other party's).")
                   .Register(r);
  m.connected = &prometheus::BuildGauge()
                     .Name("parley_peer_connected")
                     .Help("1 while a live subscription to the peer's node is up, else 0.")
                     .Register(r)
                     .Add({});
  m.lag = &prometheus::BuildGauge()
               .Name("parley_lag_entries")
               .Help("Entries not yet replicated. behind=us: entries of the peer's feed its node holds and this "
                     "node does not (as of its last report); behind=peer: entries of our feed not yet sent to "
                     "the peer's node (present once it has asked for our feed).")
               .Register(r);
  m.behind_us = &m.lag->Add({{"behind", "us"}});
  auto& forks = prometheus::BuildGauge()
                    .Name("parley_fork_proofs")
                    .Help("Fork proofs held in the data folder, by the feed that forked (own: our key was "
                          "misused; peer: the other party's feed is frozen).")
                    .Register(r);
  auto& catchup = prometheus::BuildGauge()
                      .Name("parley_catchup_remaining_entries")
                      .Help("Entries still to fetch in a catch-up or recovery now running, by feed; 0 when none "
                            "runs.")
                      .Register(r);
  m.signing_blocked = &prometheus::BuildGauge()
                           .Name("parley_signing_blocked")
                           .Help("1 while this node refuses to sign (see `parley status` for why), else 0.")
                           .Register(r)
                           .Add({});
  for (PartyIndex p = 0; p < 2; ++p) {
    m.ingested[p] = &ingested.Add({{"party", m.PartyLabel(p)}});
    m.head[p] = &head.Add({{"party", m.PartyLabel(p)}});
    m.fork_proofs[p] = &forks.Add({{"party", m.PartyLabel(p)}});
    m.catchup[p] = &catchup.Add({{"party", m.PartyLabel(p)}});
  }
}

Metrics::~Metrics() { Stop(); }

void Metrics::Watch(const Replicator* replicator, const PeerService* peer_service) {
  std::lock_guard lock(impl_->mu);
  impl_->replicator = replicator;
  impl_->peer_service = peer_service;
}

Status Metrics::Serve(const std::string& address) {
  std::lock_guard lock(impl_->serve_mu);
  if (impl_->exposer) return Status(Code::kFailedPrecondition, "the metrics endpoint is already serving");
  try {
    // One thread: scrapes come every few seconds from one or two scrapers.
    auto exposer = std::make_unique<prometheus::Exposer>(address, 1);
    impl_->scraped = std::make_shared<Scraped>([impl = impl_.get()] { return impl->Collect(); });
    exposer->RegisterCollectable(impl_->scraped);
    impl_->exposer = std::move(exposer);
  } catch (const std::exception& e) {
    return Status(Code::kUnavailable, "cannot serve metrics on " + address +
                                          ": address in use or not available on this machine (" + e.what() + ")");
  }
  return Status::Ok();
}

void Metrics::Stop() {
  std::lock_guard lock(impl_->serve_mu);
  impl_->exposer.reset();  // stops the HTTP server and joins its threads
  impl_->scraped.reset();
}

int Metrics::port() const {
  std::lock_guard lock(impl_->serve_mu);
  if (!impl_->exposer) return 0;
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::EntryAppended(std::chrono::steady_clock::duration latency) {
  impl_->appended->Increment();
  impl_->latency->Observe(std::chrono::duration<double>(latency).count());
}

void Metrics::EntriesIngested(PartyIndex party, uint64_t n) {
  if (party < 2 && n > 0) impl_->ingested[party]->Increment(static_cast<double>(n));
}

void Metrics::ForkProofStored() { impl_->forks_stored->Increment(); }
void Metrics::WitnessAlarm() { impl_->witness_alarms->Increment(); }
void Metrics::CheckpointCosigned() { impl_->checkpoints_cosigned->Increment(); }

void Metrics::EntryRefused(RefusalSource source, const Status& why) {
  if (why.code() != Code::kRejected) return;
  auto v = ViolationOf(why);
  impl_->refused[static_cast<int>(source)][v ? static_cast<int>(*v) : kViolations]->Increment();
}

void Metrics::PeerCallRefused(grpc::StatusCode code) {
  if (code == grpc::StatusCode::OK || code == grpc::StatusCode::CANCELLED) return;
  impl_->peer_calls->Add({{"code", CodeName(code)}}).Increment();
}

std::string Metrics::Scrape() const { return prometheus::TextSerializer().Serialize(impl_->Collect()); }

Result<DecodedEntry> MeteredAppend(Ledger& ledger, Metrics* metrics, const v1::Entry& body, int64_t now_ms,
                                   const std::string& request_id) {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t before = ledger.Head(*ledger.self()).seq;
  auto e = ledger.Append(body, now_ms, request_id);
  if (!metrics) return e;
  if (!e) {
    metrics->EntryRefused(RefusalSource::kLocal, e.error());
  } else if (e->seq() > before) {
    metrics->EntryAppended(std::chrono::steady_clock::now() - start);
  }
  return e;
}

Result<IngestOutcome> MeteredIngest(Ledger& ledger, Metrics* metrics, std::string_view envelope) {
  // Whose entry was stored: the other feed's head moves only through Ingest
  // (the replicator's one thread), so it advanced iff the entry was the
  // other party's; else it was one of our own, recovered.
  const PartyIndex other = 1 - *ledger.self();
  const uint64_t before = ledger.Head(other).seq;
  auto r = ledger.Ingest(envelope);
  if (!metrics) return r;
  if (!r) {
    metrics->EntryRefused(RefusalSource::kPeer, r.error());
  } else if (*r == IngestOutcome::kFork) {
    metrics->ForkProofStored();
  } else if (*r == IngestOutcome::kStored) {
    metrics->EntriesIngested(ledger.Head(other).seq > before ? other : *ledger.self(), 1);
  }
  return r;
}

Result<Ledger::BatchOutcome> MeteredIngestBatch(Ledger& ledger, Metrics* metrics, PartyIndex party,
                                                const std::vector<std::string>& envelopes) {
  const uint64_t before = ledger.Head(party).seq;
  auto r = ledger.IngestBatch(envelopes);
  if (!metrics) return r;
  if (!r) {
    metrics->EntryRefused(RefusalSource::kPeer, r.error());
    const uint64_t after = ledger.Head(party).seq;
    metrics->EntriesIngested(party, after > before ? after - before : 0);
    return r;
  }
  metrics->EntriesIngested(party, r->stored);
  for (size_t i = 0; i < r->forks; ++i) metrics->ForkProofStored();
  return r;
}

namespace {

class PeerCallInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit PeerCallInterceptor(Metrics& metrics) : metrics_(metrics) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_.PeerCallRefused(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  Metrics& metrics_;
};

class PeerCallInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit PeerCallInterceptorFactory(Metrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo*) override {
    return new PeerCallInterceptor(metrics_);
  }

 private:
  Metrics& metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> PeerCallMetrics(Metrics& metrics) {
  return std::make_unique<PeerCallInterceptorFactory>(metrics);
}

}  // namespace parley
