// fuzz_make_seeds CORPUS_DIR: writes the committed seed corpora of
// fuzz_envelope, fuzz_bundle, fuzz_key_file, fuzz_submit and
// fuzz_add_checkpoint under
// CORPUS_DIR/<target>/.
// Everything is derived from the fixed test seeds with fixed times, salts and
// nonces, so the output is the same on every run. (fuzz_ingest's seeds are
// FuzzedDataProvider byte strings; they come from the fuzzer itself, see
// README.md.)
//
// The key-file seeds include two files the real writer can never produce
// (a box that decrypts to an inconsistent key), to reach OpenKey's last
// checks; crafting them needs libsodium here, outside crypto/.
#include <sodium.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/hash.h"
#include "crypto/key_file.h"
#include "node/report/bundle.h"
#include "node/protocol/entry.h"
#include "parley/v1/operator.pb.h"
#include "tests/fixtures.h"
#include "tests/fuzz/fuzz_add_checkpoint.h"

namespace parley {
namespace {

using test::kRU;
using test::kUA;

namespace fs = std::filesystem;

void Put(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  PARLEY_CHECK(out.good());
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Story {
  test::Scenario s;
  std::vector<std::pair<std::string, DecodedEntry>> named;  // in storage order
  DecodedEntry after_rotation;  // RU#9, signed with RU's rotated key
};

// A ledger touching every body kind: counter-proposal, acceptance, execution
// with manifests, claims, rejection, withdrawal, a void cancel, a rotation.
Story MakeStory() {
  Story st;
  auto& s = st.s;
  const int64_t t = test::kT0;
  auto at = [&](int minutes) { return t + int64_t{60000} * minutes; };
  auto add = [&](const char* name, PartyIndex p, v1::Entry body, uint64_t seen, int minutes) {
    st.named.emplace_back(name, s.Add(p, std::move(body), seen, at(minutes)));
    return st.named.back().second;
  };

  v1::Terms first = test::RemainsTerms(kRU, 1212, at(60 * 24));
  auto p1 = add("ru1-propose", kRU, test::Propose(first), 0, 1);
  v1::Entry objection = test::Say("no date has been agreed");
  objection.mutable_statement()->set_reference(p1.id.str());
  add("ua1-statement", kUA, objection, 1, 2);
  v1::Terms counter_terms = first;
  counter_terms.mutable_window()->set_start_ms(at(60 * 24 * 5));
  counter_terms.mutable_window()->set_end_ms(at(60 * 24 * 6));
  auto* m = counter_terms.mutable_transfers(0)->mutable_manifest();
  m->set_root(std::string(32, '\x11'));
  m->set_count(1212);
  v1::Entry counter = test::Propose(counter_terms);
  counter.mutable_propose()->set_counters(p1.id.str());
  counter.mutable_propose()->set_expires_ms(at(60 * 24 * 4));
  auto p2 = add("ua2-propose-counter", kUA, counter, 1, 3);
  add("ru2-accept", kRU, test::Accept(p2), 2, 4);
  v1::Entry h = test::Handover(p2, 0, 1212);
  h.mutable_handover()->set_handed_over_ms(at(60 * 24 * 5 + 60));
  *h.mutable_handover()->mutable_manifest() = counter_terms.transfers(0).manifest();
  add("ru3-handover", kRU, h, 2, 5);
  v1::Entry r = test::Receipt(p2, 0, 1210);
  r.mutable_receipt()->set_received_ms(at(60 * 24 * 5 + 90));
  r.mutable_receipt()->mutable_reconciliation()->set_matched(1210);
  r.mutable_receipt()->mutable_reconciliation()->set_missing(2);
  add("ua3-receipt", kUA, r, 3, 6);
  v1::Entry att = test::Attest("refrigerated trucks staged");
  att.mutable_attestation()->set_where("border crossing");
  att.mutable_attestation()->set_when_ms(at(7));
  att.mutable_attestation()->set_reference(p2.id.str());
  add("ru4-attestation", kRU, att, 3, 7);
  auto p3 = add("ua4-propose-exchange", kUA, test::Propose(test::ExchangeTerms(1200, at(60 * 24 * 10)),
                                                           v1::PRISONER_EXCHANGE), 4, 8);
  add("ru5-reject", kRU, test::Reject(p3), 4, 9);
  auto p4 = add("ua5-propose", kUA, test::Propose(test::RemainsTerms(kUA, 30, at(60 * 24 * 12))), 5, 10);
  add("ua6-withdraw", kUA, test::Withdraw(p4), 5, 11);
  add("ru6-cancel", kRU, test::Cancel(p2), 6, 12);
  v1::Entry amend = test::Propose(test::RemainsTerms(kRU, 1300, at(60 * 24 * 20)));
  amend.mutable_propose()->set_amends(p2.id.str());
  add("ru7-propose-amend", kRU, amend, 6, 13);
  const SecretKey next = SecretKey::FromSeed(test::SeedFrom(0x60));
  std::string msg = test::TheCharter().ledger_id().str();
  for (int i = 0; i < 4; ++i) msg.push_back(static_cast<char>((kRU >> (8 * i)) & 0xff));
  msg += next.public_key().str();
  v1::Entry rotate;
  rotate.mutable_rotate_key()->set_new_public_key(next.public_key().str());
  rotate.mutable_rotate_key()->set_new_key_signature(Sign(next, kRotateDomain, msg).str());
  const DecodedEntry rot = add("ru8-rotate-key", kRU, rotate, 6, 14);
  const DecodedEntry ack = add("ua7-statement-ack", kUA, test::Say("noted"), 8, 15);
  add("ua8-disclose", kUA, test::Disclose(*Digest::FromBytes(std::string(32, '\x22')), 1210, kRU), 8, 17);
  // RU#9 under the new key: the rotation is in effect once UA#7 (seen RU#8)
  // is in its causal past. Built by hand: Scenario signs with charter keys.
  v1::Entry after = test::Say("signed with the new key");
  after.set_ledger_id(test::TheCharter().ledger_id().str());
  after.set_author(kRU);
  after.set_seq(9);
  after.set_prev(rot.id.str());
  after.mutable_seen()->set_seq(7);
  after.mutable_seen()->set_id(ack.id.str());
  after.set_time_ms(at(16));
  st.after_rotation = SignEntry(next, after);
  return st;
}

// A bundle of `entries` (already in causal order) and `forks`.
std::string Bundle(const std::vector<std::string>& entries, const std::vector<v1::ForkProof>& forks) {
  const fs::path tmp = fs::temp_directory_path() / ("parley-seed-" + std::to_string(::getpid()) + ".bundle");
  auto w = BundleWriter::Create(tmp, test::TheCharter(), "UA", test::kT0 + 86400000).value();
  for (const auto& e : entries) PARLEY_CHECK(w->AddEntry(e).ok());
  for (const auto& f : forks) PARLEY_CHECK(w->AddForkProof(f).ok());
  PARLEY_CHECK(w->Finish().ok());
  std::string bytes = ReadAll(tmp);
  fs::remove(tmp);
  return bytes;
}

void EnvelopeSeeds(const fs::path& dir, const Story& st) {
  for (const auto& [name, e] : st.named) Put(dir, name, e.envelope);
  v1::SignedEntry se;
  PARLEY_CHECK(se.ParseFromString(st.named[0].second.envelope));
  std::string sig = se.signature();
  sig[5] ^= 0x20;
  se.set_signature(sig);
  Put(dir, "bad-signature", se.SerializeAsString());
}

void BundleSeeds(const fs::path& dir, const Story& st) {
  std::vector<std::string> all;
  for (const auto& [name, e] : st.named) all.push_back(e.envelope);
  std::vector<std::string> story = all;
  story.push_back(st.after_rotation.envelope);
  Put(dir, "story.bundle", Bundle(story, {}));
  Put(dir, "empty.bundle", Bundle({}, {}));
  Put(dir, "two-entries.bundle", Bundle({all[0], all[1]}, {}));

  // RU signs a second entry at seq 1: a fork, as record and as fork proof.
  test::Scenario other;
  const DecodedEntry alt = other.Add(kRU, test::Say("another first entry"), 0, test::kT0 + 5);
  v1::ForkProof proof;
  PARLEY_CHECK(proof.mutable_first()->ParseFromString(all[0]));
  PARLEY_CHECK(proof.mutable_second()->ParseFromString(alt.envelope));
  Put(dir, "fork.bundle", Bundle({all[0], all[1], alt.envelope}, {proof}));

  // Out of order: UA's statement (seen RU#1) before RU#1 — seen-mismatch.
  Put(dir, "violation.bundle", Bundle({all[1], all[0]}, {}));
}

// Key files, crafted byte for byte (crypto/key_file.h) with a fixed salt
// and nonce at the interactive KDF minimum.
std::string CraftKeyFile(const Seed& seed, const PublicKey& boxed_pk, const PublicKey& clear_pk,
                         std::string_view passphrase) {
  std::string f(kKeyFileSize, '\0');
  f.replace(0, 8, "PARLEYK1");
  f[8] = 1;
  auto put64 = [&](size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) f[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  put64(9, crypto_pwhash_OPSLIMIT_INTERACTIVE);
  put64(17, crypto_pwhash_MEMLIMIT_INTERACTIVE);
  for (int i = 0; i < 16; ++i) f[25 + i] = static_cast<char>(0xa0 + i);  // salt
  for (int i = 0; i < 24; ++i) f[41 + i] = static_cast<char>(0xc0 + i);  // nonce
  f.replace(65, 32, clear_pk.view());
  auto* raw = reinterpret_cast<unsigned char*>(f.data());
  unsigned char derived[32], box_key[32];
  PARLEY_CHECK(crypto_pwhash(derived, sizeof derived, passphrase.data(), passphrase.size(), raw + 25,
                             crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                             crypto_pwhash_ALG_ARGON2ID13) == 0);
  crypto_generichash_state st;
  PARLEY_CHECK(crypto_generichash_init(&st, derived, sizeof derived, sizeof box_key) == 0);
  const std::string_view domain = "parley/keyfile/v1";
  PARLEY_CHECK(crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(domain.data()), domain.size()) == 0);
  PARLEY_CHECK(crypto_generichash_update(&st, raw, 97) == 0);
  PARLEY_CHECK(crypto_generichash_final(&st, box_key, sizeof box_key) == 0);
  unsigned char plain[64];
  std::memcpy(plain, seed.bytes.data(), 32);
  std::memcpy(plain + 32, boxed_pk.bytes.data(), 32);
  PARLEY_CHECK(crypto_secretbox_easy(raw + 97, plain, sizeof plain, raw + 41, box_key) == 0);
  return f;
}

void KeyFileSeeds(const fs::path& dir) {
  const std::string_view pass = "fuzz passphrase";  // as in fuzz_key_file.cc
  const Seed ua = test::SeedFrom(0x00), ru = test::SeedFrom(0x20);
  const PublicKey ua_pk = test::PartyKey(kUA).public_key(), ru_pk = test::PartyKey(kRU).public_key();

  const std::string valid = CraftKeyFile(ua, ua_pk, ua_pk, pass);
  PARLEY_CHECK(OpenKey(valid, pass).has_value());
  Put(dir, "valid-interactive", valid);

  const std::string pk_mismatch = CraftKeyFile(ua, ru_pk, ua_pk, pass);  // boxed pk != clear pk
  PARLEY_CHECK(OpenKey(pk_mismatch, pass).error().code() == Code::kDataLoss);
  Put(dir, "boxed-key-differs", pk_mismatch);

  const std::string seed_mismatch = CraftKeyFile(ru, ua_pk, ua_pk, pass);  // seed derives RU's key
  PARLEY_CHECK(OpenKey(seed_mismatch, pass).error().code() == Code::kDataLoss);
  Put(dir, "seed-does-not-derive-key", seed_mismatch);

  Put(dir, "wrong-passphrase", CraftKeyFile(ua, ua_pk, ua_pk, "another passphrase"));
  Put(dir, "truncated", valid.substr(0, 100));
  std::string v2 = valid;
  v2[8] = 2;
  Put(dir, "version-2", v2);
  std::string big_ops = valid;
  big_ops[9] = 33;  // opslimit 33: above the maximum, refused before Argon2
  Put(dir, "opslimit-too-high", big_ops);
}

// fuzz_submit records: flags (bit 0: RU submits; bit 1: grow the text or
// proposal by bits 2-7, see fuzz_submit.cc), a 2-byte big-endian length, a
// SubmitRequest.
std::string SubmitRecord(PartyIndex side, const v1::Entry& body, uint8_t grow_kib = 0, const std::string& rid = "") {
  v1::SubmitRequest req;
  *req.mutable_body() = body;
  req.set_request_id(rid);
  const std::string bytes = req.SerializeAsString();
  PARLEY_CHECK(bytes.size() < 65536);
  std::string out;
  out += static_cast<char>((grow_kib << 2) | (grow_kib ? 2 : 0) | side);
  out += static_cast<char>(bytes.size() >> 8);
  out += static_cast<char>(bytes.size() & 0xff);
  return out + bytes;
}

void SubmitSeeds(const fs::path& dir) {
  const std::string first(1, '\0');  // a one-byte ID: the first entry signed
  v1::Entry propose = test::Propose(test::RemainsTerms(kRU, 12, test::kT0 + 86400000));
  v1::Entry accept;
  accept.mutable_accept()->set_proposal(first);
  accept.mutable_accept()->set_terms_digest(first);
  v1::Entry handover;
  handover.mutable_handover()->set_agreement(first);
  handover.mutable_handover()->set_count(12);
  handover.mutable_handover()->set_place("border");
  v1::Entry receipt;
  receipt.mutable_receipt()->set_agreement(first);
  receipt.mutable_receipt()->set_count(12);
  receipt.mutable_receipt()->mutable_reconciliation()->set_matched(12);
  v1::Entry said = test::Say("The timing was set unilaterally.");
  said.mutable_statement()->set_reference(first);
  v1::Entry attest = test::Attest("trucks staged");
  attest.mutable_attestation()->set_where("near the crossing");
  attest.mutable_attestation()->set_reference(first);
  Put(dir, "story", SubmitRecord(kRU, propose, 0, "p1") + SubmitRecord(kUA, accept) + SubmitRecord(kRU, handover) +
                        SubmitRecord(kUA, receipt) + SubmitRecord(kUA, said) + SubmitRecord(kRU, attest) +
                        SubmitRecord(kRU, propose, 0, "p1"));
  v1::Entry reject;
  reject.mutable_reject()->set_proposal(first);
  reject.mutable_reject()->set_reason("no");
  v1::Entry withdraw;
  withdraw.mutable_withdraw()->set_proposal(first);
  v1::Entry cancel;
  cancel.mutable_cancel()->set_agreement(first);
  Put(dir, "answers", SubmitRecord(kRU, propose) + SubmitRecord(kUA, reject) + SubmitRecord(kRU, withdraw) +
                          SubmitRecord(kUA, accept) + SubmitRecord(kRU, cancel));
  Put(dir, "hostile-text", SubmitRecord(kUA, test::Say("a\x1b[2J\x1b[HVerdict: CLEAN")) +
                               SubmitRecord(kUA, test::Say("\xe2\x80\xae" "reversed")) +
                               SubmitRecord(kUA, test::Say("two\nlines\tok")));
  Put(dir, "large", SubmitRecord(kUA, test::Say("sixteen KiB and a bit "), 17) +
                        SubmitRecord(kRU, propose, 63) + SubmitRecord(kUA, test::Say("just under"), 15));
}

// Bodies for fuzz_add_checkpoint, whose witness has cosigned the fuzz log's
// checkpoint of size 8: valid growth (200), and near misses of each answer.
void AddCheckpointSeeds(const fs::path& dir) {
  const test::TestLog& log = fuzz::FuzzLog();
  const uint64_t at = fuzz::kFuzzCosignedSize;
  Put(dir, "grow-8-9", log.Body(at, 9));
  Put(dir, "grow-8-13", log.Body(at, 13));
  Put(dir, "grow-8-16", log.Body(at, 16));
  Put(dir, "same-8-8", log.Body(at, at));
  Put(dir, "stale-old-0", log.Body(0, 13));           // 409
  Put(dir, "old-above-size", log.Body(at, at).replace(0, 5, "old 9"));  // 400
  AddCheckpointRequest tampered{at, log.Tree(13).ConsistencyProof(at), log.SignedCheckpoint(13)};
  tampered.proof[0].bytes[0] ^= 1;
  Put(dir, "tampered-proof", FormatAddCheckpoint(tampered));  // 422
  Put(dir, "fork", test::TestLog(log.origin(), 0x52, "fork", 5).Body(at, 12));  // 422
  Put(dir, "other-key", test::TestLog(log.origin(), 0x99).Body(at, 12));         // 403
  Put(dir, "unknown-origin", test::TestLog("example.org/stranger", 0x52).Body(at, 12));  // 404
  std::string too_many = "old 8\n";
  for (int i = 0; i < 64; ++i) too_many += ToBase64(Sha256("h").view()) + "\n";
  Put(dir, "64-proof-lines", too_many + "\n" + log.SignedCheckpoint(13));  // 400
}

}  // namespace
}  // namespace parley

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  parley::InitCrypto();
  const std::filesystem::path root = argv[1];
  const parley::Story st = parley::MakeStory();
  parley::EnvelopeSeeds(root / "fuzz_envelope", st);
  parley::BundleSeeds(root / "fuzz_bundle", st);
  parley::KeyFileSeeds(root / "fuzz_key_file");
  parley::SubmitSeeds(root / "fuzz_submit");
  parley::AddCheckpointSeeds(root / "fuzz_add_checkpoint");
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
