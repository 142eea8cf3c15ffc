// Nodes get witnessed (docs/PROTOCOL.md §15.7), with real processes: two
// party nodes whose charter names one `parley witness` process.
#include <doctest/doctest.h>

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include "crypto/hash.h"
#include "node/daemon/peer_auth.h"
#include "node/protocol/feed_log.h"
#include "node/report/bundle.h"
#include "node/witness/witness.h"
#include "node_harness.h"
#include "parley/v1/peer.grpc.pb.h"

namespace parley {
namespace {

namespace fs = std::filesystem;
using test::kUA;
using test::kRU;
constexpr const char* kWitnessName = "witness.example/nodes";

SecretKey WitnessKey() { return SecretKey::FromSeed(test::SeedFrom(0x78)); }

std::string WitnessedCharter(int witness_port) {
  CharterDraft d;
  d.title = "Return of remains and exchange of prisoners, June 2025";
  d.parties[0] = {"UA", "Ukraine Coordination HQ for the Treatment of POWs", test::PartyKey(kUA).public_key()};
  d.parties[1] = {"RU", "Russian Federation Ministry of Defence", test::PartyKey(kRU).public_key()};
  d.observers.push_back({"ICRC", test::ObserverKey().public_key()});
  d.created_ms = test::kT0;
  d.witnesses.push_back({kWitnessName, WitnessKey().public_key(), "http://127.0.0.1:" + std::to_string(witness_port)});
  d.required_cosignatures = 1;
  std::string bytes = NewUnsignedCharter(d).value();
  for (PartyIndex p = 0; p < 2; ++p) bytes = Charter::Parse(bytes).value().Sign(test::PartyKey(p)).value();
  return bytes;
}

// Two nodes and a witness named in their charter.
struct Witnessed {
  int witness_port = test::FreePort();
  test::NodePair n;
  Charter charter = Charter::Parse(WitnessedCharter(witness_port)).value();
  test::WitnessProcess witness{n.root.path() / "witness", kWitnessName, WitnessKey(),
                              {FeedNoteVerifier(charter, kUA, test::PartyKey(kUA).public_key()),
                               FeedNoteVerifier(charter, kRU, test::PartyKey(kRU).public_key())},
                              witness_port};
  Witnessed() {
    std::ofstream(n.ua.dir() / "charter") << charter.signed_bytes();
    std::ofstream(n.ru.dir() / "charter") << charter.signed_bytes();
  }
};

nlohmann::json Status(const test::NodeProcess& node) {
  auto r = node.Cli({"status", "--json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

// The cosigned size witness `kWitnessName` has of feed `code`, per `node`.
uint64_t Cosigned(const test::NodeProcess& node, const std::string& code) {
  auto j = Status(node);
  if (!j.contains("witnesses")) return 0;
  for (const auto& w : j["witnesses"]) {
    if (w["feed"] == code) return w["cosigned_size"].get<uint64_t>();
  }
  return 0;
}

bool HasAlarm(const test::NodeProcess& node, const std::string& text) {
  auto j = Status(node);
  if (!j.contains("alarms")) return false;
  for (const auto& a : j["alarms"]) {
    if (a.get<std::string>().find(text) != std::string::npos) return true;
  }
  return false;
}

void Say(const test::NodeProcess& node, const std::string& what) {
  REQUIRE(node.Client()->Submit(test::Say(what), what));
}

grpc::Status CheckpointsAs(const Charter& charter, const std::string& address, const SecretKey& key, PartyIndex party,
                           v1::Checkpoints* out) {
  auto stub = v1::Peer::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  AddPeerAuth(ctx, key, charter.ledger_id(), "/parley.v1.Peer/GetCheckpoints");
  v1::GetCheckpointsRequest req;
  req.set_ledger_id(charter.ledger_id().str());
  req.set_party(party);
  return stub->GetCheckpoints(&ctx, req, out);
}

TEST_SUITE("e2e") {
  TEST_CASE("witnessed nodes: both feeds cosigned, shown by status, served to observers only, exported") {
    Witnessed w;
    REQUIRE(w.witness.Start());
    REQUIRE(w.n.ua.Start());
    REQUIRE(w.n.ru.Start());
    for (int i = 0; i < 3; ++i) Say(w.n.ua, "UA " + std::to_string(i));
    for (int i = 0; i < 2; ++i) Say(w.n.ru, "RU " + std::to_string(i));
    // Each node sees its own feed and the other's cosigned up to the heads.
    CHECK(test::Eventually([&] { return Cosigned(w.n.ua, "UA") == 3 && Cosigned(w.n.ua, "RU") == 2; }));
    CHECK(test::Eventually([&] { return Cosigned(w.n.ru, "RU") == 2 && Cosigned(w.n.ru, "UA") == 3; }));
    auto j = Status(w.n.ua);
    for (const auto& s : j["witnesses"]) {
      CHECK(s["witness"] == kWitnessName);
      CHECK(s["unwitnessed"] == 0);
      CHECK(s["cosigned_time"].get<std::string>().size() > 10);
    }
    CHECK(j["alarms"].empty());
    CHECK(w.n.ua.Cli({"status", "--check"}).code == 0);
    auto text = w.n.ua.Cli({"status"});
    CHECK(text.out.find(std::string("witness ") + kWitnessName + ", feed UA: cosigned 3 of 3") != std::string::npos);

    // GetCheckpoints: the observer may read them, a stranger may not.
    v1::Checkpoints got;
    REQUIRE(CheckpointsAs(w.charter, w.n.ua.address(), test::ObserverKey(), kUA, &got).ok());
    CHECK(got.notes_size() >= 1);
    v1::Checkpoints none;
    CHECK_FALSE(CheckpointsAs(w.charter, w.n.ua.address(), SecretKey::FromSeed(test::SeedFrom(0x77)), kUA, &none).ok());
    CHECK(none.notes_size() == 0);

    // The bundle carries them; each verifies under the party's key and the
    // witness's, and the largest of each feed covers its head.
    const fs::path bundle = w.n.root.path() / "b.parley";
    REQUIRE(w.n.ua.Cli({"export", bundle.string()}).code == 0);
    auto reader = BundleReader::Open(bundle);
    REQUIRE(reader);
    uint64_t largest[2] = {0, 0};
    size_t count = 0;
    for (;;) {
      auto rec = (*reader)->Next();
      REQUIRE(rec);
      if (!*rec) break;
      if (!(*rec)->checkpoint) continue;
      ++count;
      auto note = ParseNote(*(*rec)->checkpoint);
      REQUIRE(note);
      auto cp = ParseCheckpoint(note->text);
      REQUIRE(cp);
      const PartyIndex p = cp->origin == FeedOrigin(w.charter, kUA) ? kUA : kRU;
      CHECK(cp->origin == FeedOrigin(w.charter, p));
      std::vector<NoteVerifier> vs{FeedNoteVerifier(w.charter, p, test::PartyKey(p).public_key()),
                                   w.charter.witnesses()[0].verifier()};
      auto ok = VerifyNote(*note, vs);
      REQUIRE(ok);
      CHECK(ok->size() == 2);
      largest[p] = std::max(largest[p], cp->size);
    }
    CHECK(count >= 2);
    CHECK(largest[kUA] == 3);
    CHECK(largest[kRU] == 2);
    // The audit reads such a bundle as before.
    auto audit = test::RunParley({"audit", bundle.string()});
    const std::string audit_text = audit.out + audit.err;
    CHECK_MESSAGE(audit.code == 0, audit_text);
  }

  TEST_CASE("witnessed nodes: show says when a witness first covered a proposal and its acceptance; the export passes "
            "--require-witnesses") {
    Witnessed w;
    REQUIRE(w.witness.Start());
    REQUIRE(w.n.ua.Start());
    REQUIRE(w.n.ru.Start());
    auto p = w.n.ru.Client()->Submit(test::Propose(test::RemainsTerms(kRU, 1212, test::kT0)), "w-propose");
    REQUIRE(p.has_value());
    const DecodedEntry proposal = DecodeEntry(p->envelope(), w.charter).value();
    REQUIRE(test::Eventually([&] { return w.n.ua.HeadOf(kRU).seq == 1; }));
    REQUIRE(w.n.ua.Client()->Submit(test::Accept(proposal), "w-accept").has_value());
    // Both feeds cosigned to their heads, as UA holds them.
    REQUIRE(test::Eventually([&] { return Cosigned(w.n.ua, "UA") == 1 && Cosigned(w.n.ua, "RU") == 1; }));
    auto shown = w.n.ua.Cli({"show", ToHex(proposal.id)});
    REQUIRE_MESSAGE(shown.code == 0, shown.err);
    // One witness line under each history line: the proposal's and the acceptance's.
    size_t lines = 0;
    for (size_t at = 0; (at = shown.out.find(std::string("per witness \"") + kWitnessName + "\"", at)) != std::string::npos;
         ++at) {
      ++lines;
    }
    CHECK_MESSAGE(lines == 2, shown.out);
    auto js = w.n.ua.Cli({"show", ToHex(proposal.id), "--json"});
    auto j = nlohmann::json::parse(js.out);
    REQUIRE(j["history"].size() == 2);
    for (const auto& h : j["history"]) {
      CHECK(h["witnessed"]["witness"] == kWitnessName);
      CHECK(h["witnessed"]["size"] == 1);
    }
    const fs::path bundle = w.n.root.path() / "b.parley";
    REQUIRE(w.n.ua.Cli({"export", bundle.string()}).code == 0);
    auto audit = test::RunParley({"audit", "--require-witnesses", bundle.string()});
    const std::string audit_text = audit.out + audit.err;
    CHECK_MESSAGE(audit.code == 0, audit_text);
  }

  TEST_CASE("witnessed nodes: with the witness down both keep signing, and are cosigned to their heads when it returns") {
    Witnessed w;
    REQUIRE(w.n.ua.Start());
    REQUIRE(w.n.ru.Start());
    for (int i = 0; i < 4; ++i) Say(w.n.ua, "UA " + std::to_string(i));
    for (int i = 0; i < 3; ++i) Say(w.n.ru, "RU " + std::to_string(i));
    CHECK(test::Eventually([&] { return !Status(w.n.ua)["witnesses"][0]["last_error"].get<std::string>().empty(); }));
    CHECK(Cosigned(w.n.ua, "UA") == 0);
    CHECK(w.n.ua.Cli({"status", "--check"}).code == 0);  // a witness down is no alarm
    REQUIRE(w.witness.Start());
    // Backoff: the first retries come within seconds.
    CHECK(test::Eventually([&] { return Cosigned(w.n.ua, "UA") == 4 && Cosigned(w.n.ru, "RU") == 3; },
                           std::chrono::seconds(15)));
    CHECK(test::Eventually([&] { return Cosigned(w.n.ua, "RU") == 3 && Cosigned(w.n.ru, "UA") == 4; },
                           std::chrono::seconds(15)));
    CHECK(Status(w.n.ua)["witnesses"][0]["last_error"] == "");
  }

  TEST_CASE("witnessed nodes: a witness that cosigned more of our feed than we hold raises the alarm") {
    Witnessed w;
    REQUIRE(w.witness.Start());
    // A checkpoint of a 10-entry UA feed, signed with UA's key, that this
    // node never held (as after a rollback of its store).
    std::vector<Digest> leaves;
    for (int i = 0; i < 10; ++i) leaves.push_back(Rfc6962LeafHash("not UA's entry " + std::to_string(i)));
    MerkleTree tree(leaves, MerkleScheme::kRfc6962);
    Checkpoint cp{FeedOrigin(w.charter, kUA), 10, tree.root(), {}};
    const std::string note = SignFeedCheckpoint(test::PartyKey(kUA), w.charter, kUA, cp);
    auto r = w.witness.Post(FormatAddCheckpoint(AddCheckpointRequest{0, {}, note}));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    REQUIRE(w.n.ua.Start());
    Say(w.n.ua, "UA 1");
    CHECK(test::Eventually([&] { return HasAlarm(w.n.ua, "witness ahead"); }));
    CHECK(w.n.ua.Cli({"status", "--check"}).code == 2);
    CHECK(Cosigned(w.n.ua, "UA") == 0);
    CHECK(test::ReadText(w.n.ua.log()).find("witness alarm") != std::string::npos);
    // Signing goes on: an alarm is evidence, never an automatic fix.
    Say(w.n.ua, "UA 2");
    // The alarm is kept across a restart.
    w.n.ua.Stop();
    REQUIRE(w.n.ua.Start());
    CHECK(HasAlarm(w.n.ua, "witness ahead"));
  }

  TEST_CASE("witnessed nodes: a cosigned checkpoint of the peer's feed whose root differs from our copy is a split "
            "view: alarm, nothing stored") {
    Witnessed w;
    REQUIRE(w.witness.Start());
    // RU's key signs a checkpoint of size 1 over another entry than the one
    // its node signs; the witness cosigns it.
    MerkleTree tree({Rfc6962LeafHash("another RU entry 1")}, MerkleScheme::kRfc6962);
    Checkpoint cp{FeedOrigin(w.charter, kRU), 1, tree.root(), {}};
    const std::string note = SignFeedCheckpoint(test::PartyKey(kRU), w.charter, kRU, cp);
    auto r = w.witness.Post(FormatAddCheckpoint(AddCheckpointRequest{0, {}, note}));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    REQUIRE(w.n.ru.Start());
    Say(w.n.ru, "RU 1");
    // RU's own submission is refused by the witness: its alarm.
    CHECK(test::Eventually([&] { return HasAlarm(w.n.ru, "checkpoint refused"); }));
    REQUIRE(w.n.ua.Start());
    CHECK(test::Eventually([&] { return w.n.ua.HeadOf(kRU).seq == 1; }));
    // UA polls the witness, finds RU's cosigned checkpoint differs from its copy.
    CHECK(test::Eventually([&] { return HasAlarm(w.n.ua, "split view"); }, std::chrono::seconds(15)));
    CHECK(Cosigned(w.n.ua, "RU") == 0);
    v1::Checkpoints got;
    REQUIRE(CheckpointsAs(w.charter, w.n.ua.address(), test::ObserverKey(), kRU, &got).ok());
    CHECK(got.notes_size() == 0);
    CHECK(w.n.ua.Cli({"status", "--check"}).code == 2);
  }
}

}  // namespace
}  // namespace parley
