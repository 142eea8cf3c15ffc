#include "node/protocol/charter.h"

#include "crypto/hash.h"
#include "node/base/text.h"

namespace parley {
namespace {

bool ValidCode(std::string_view code) {
  if (code.empty() || code.size() > 16) return false;
  for (char c : code) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status CheckCharter(const v1::Charter& c) {
  if (c.protocol_version() != kProtocolVersion) {
    return Status(Code::kInvalidArgument,
                  "charter: unsupported protocol_version " +
                      std::to_string(c.protocol_version()) + " (this build speaks 1)");
  }
  if (c.title().empty()) return Status(Code::kInvalidArgument, "charter: title is empty");
  if (c.parties_size() != 2) {
    return Status(Code::kInvalidArgument, "charter: needs exactly 2 parties, has " +
                                              std::to_string(c.parties_size()));
  }
  for (int i = 0; i < 2; ++i) {
    const auto& p = c.parties(i);
    if (!ValidCode(p.code())) {
      return Status(Code::kInvalidArgument,
                    "charter: party " + std::to_string(i) + " code '" + Printable(p.code()) +
                        "' must be 1-16 characters of A-Z 0-9 _ -");
    }
    if (p.public_key().size() != PublicKey::kSize) {
      return Status(Code::kInvalidArgument,
                    "charter: party " + p.code() + " public key must be 32 bytes");
    }
  }
  if (c.parties(0).code() == c.parties(1).code()) {
    return Status(Code::kInvalidArgument, "charter: both parties have code " + c.parties(0).code());
  }
  if (c.parties(0).public_key() == c.parties(1).public_key()) {
    return Status(Code::kInvalidArgument, "charter: both parties have the same public key");
  }
  for (const auto& o : c.observers()) {
    if (o.public_key().size() != PublicKey::kSize) {
      return Status(Code::kInvalidArgument,
                    "charter: observer '" + o.name() + "' public key must be 32 bytes");
    }
    if (o.public_key() == c.parties(0).public_key() ||
        o.public_key() == c.parties(1).public_key()) {
      return Status(Code::kInvalidArgument,
                    "charter: observer '" + o.name() + "' uses a party's key");
    }
  }
  for (int i = 0; i < c.witnesses_size(); ++i) {
    const auto& w = c.witnesses(i);
    const std::string which = "charter: witness " + std::to_string(i + 1);
    if (w.name().size() > kMaxWitnessNameBytes || !ValidKeyName(w.name())) {
      return Status(Code::kInvalidArgument,
                    which + " name '" + Printable(w.name()) +
                        "' must be a signed-note key name: 1-255 bytes of UTF-8, no space, no '+'");
    }
    if (w.public_key().size() != PublicKey::kSize) {
      return Status(Code::kInvalidArgument, which + " '" + w.name() + "' public key must be 32 bytes");
    }
    if (w.public_key() == c.parties(0).public_key() || w.public_key() == c.parties(1).public_key()) {
      return Status(Code::kInvalidArgument, which + " '" + w.name() + "' uses a party's key");
    }
    if (Status s = CheckWitnessUrl(w.url()); !s.ok()) {
      return Status(Code::kInvalidArgument, which + " '" + w.name() + "': " + s.message());
    }
    for (int j = 0; j < i; ++j) {
      if (c.witnesses(j).name() == w.name()) {
        return Status(Code::kInvalidArgument, which + ": the name '" + w.name() + "' is listed twice");
      }
      if (c.witnesses(j).public_key() == w.public_key()) {
        return Status(Code::kInvalidArgument, which + " '" + w.name() + "' has the key of witness '" +
                                                  c.witnesses(j).name() + "'");
      }
    }
  }
  if (c.required_cosignatures() > static_cast<uint32_t>(c.witnesses_size())) {
    return Status(Code::kInvalidArgument, "charter: required_cosignatures " +
                                              std::to_string(c.required_cosignatures()) + " exceeds the " +
                                              std::to_string(c.witnesses_size()) + " witnesses listed");
  }
  return Status::Ok();
}

}  // namespace

Status CheckWitnessUrl(std::string_view url) {
  const bool http = url.starts_with("http://"), https = url.starts_with("https://");
  const size_t host_at = https ? 8 : 7;
  if (!http && !https) return Status(Code::kInvalidArgument, "url must start with http:// or https://");
  if (url.size() > kMaxWitnessUrlBytes) {
    return Status(Code::kInvalidArgument, "url longer than " + std::to_string(kMaxWitnessUrlBytes) + " bytes");
  }
  for (char ch : url) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f) return Status(Code::kInvalidArgument, "url must be printable ASCII without spaces");
  }
  if (url.size() == host_at || url[host_at] == '/') return Status(Code::kInvalidArgument, "url has no host");
  if (url.find_first_of("?#", host_at) != std::string_view::npos) {
    return Status(Code::kInvalidArgument, "url must not have a query or fragment");
  }
  if (url.ends_with("/")) return Status(Code::kInvalidArgument, "url must not end in '/'");
  return Status::Ok();
}

Result<std::string> NewUnsignedCharter(const CharterDraft& draft) {
  v1::Charter c;
  c.set_protocol_version(kProtocolVersion);
  c.set_title(draft.title);
  for (const auto& p : draft.parties) {
    auto* party = c.add_parties();
    party->set_code(p.code);
    party->set_name(p.name);
    party->set_public_key(p.key.str());
  }
  for (const auto& o : draft.observers) {
    auto* obs = c.add_observers();
    obs->set_name(o.name);
    obs->set_public_key(o.key.str());
  }
  c.set_created_ms(draft.created_ms);
  for (const auto& w : draft.witnesses) {
    auto* cw = c.add_witnesses();
    cw->set_name(w.name);
    cw->set_public_key(w.key.str());
    cw->set_url(w.url);
  }
  c.set_required_cosignatures(draft.required_cosignatures);
  if (Status s = CheckCharter(c); !s.ok()) return s;
  v1::SignedCharter sc;
  sc.set_charter(c.SerializeAsString());
  sc.add_signatures();
  sc.add_signatures();
  return sc.SerializeAsString();
}

Result<Charter> Charter::Parse(std::string_view bytes) {
  if (bytes.size() > kMaxCharterBytes) {
    return Status(Code::kInvalidArgument, "charter: " + std::to_string(bytes.size()) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(kMaxCharterBytes));
  }
  Charter out;
  out.signed_bytes_ = std::string(bytes);
  if (!out.signed_.ParseFromString(out.signed_bytes_)) {
    return Status(Code::kDataLoss, "charter: not a SignedCharter (protobuf parse failed)");
  }
  if (!out.charter_.ParseFromString(out.signed_.charter())) {
    return Status(Code::kDataLoss, "charter: charter bytes are not a Charter (protobuf parse failed)");
  }
  if (Status s = CheckCharter(out.charter_); !s.ok()) return s;
  if (out.signed_.signatures_size() > 2) {
    return Status(Code::kInvalidArgument, "charter: more than 2 signatures");
  }
  out.ledger_id_ = Hash(kCharterDomain, out.signed_.charter());
  for (const auto& w : out.charter_.witnesses()) {
    out.witnesses_.push_back({w.name(), *PublicKey::FromBytes(w.public_key()), w.url()});
  }
  for (PartyIndex i = 0; i < 2; ++i) {
    out.keys_[i] = *PublicKey::FromBytes(out.charter_.parties(i).public_key());
    if (static_cast<int>(i) >= out.signed_.signatures_size()) continue;
    const std::string& sig = out.signed_.signatures(i);
    if (sig.empty()) continue;
    auto parsed = Signature::FromBytes(sig);
    if (!parsed || !Verify(out.keys_[i], kCharterDomain, out.signed_.charter(), *parsed)) {
      return Status(Code::kDataLoss, "charter: signature of party " +
                                         out.charter_.parties(i).code() + " does not verify");
    }
    out.signed_by_[i] = true;
  }
  return out;
}

Result<std::string> Charter::Sign(const SecretKey& key) const {
  auto party = PartyOf(key.public_key());
  if (!party) {
    return Status(Code::kPermissionDenied,
                  "charter: key " + ToHex(key.public_key()) + " belongs to no party of this charter");
  }
  v1::SignedCharter sc = signed_;
  while (sc.signatures_size() < 2) sc.add_signatures();
  sc.set_signatures(static_cast<int>(*party),
                    parley::Sign(key, kCharterDomain, sc.charter()).str());
  return sc.SerializeAsString();
}

std::optional<PartyIndex> Charter::PartyOf(const PublicKey& key) const {
  for (PartyIndex i = 0; i < 2; ++i) {
    if (keys_[i] == key) return i;
  }
  return std::nullopt;
}

std::optional<PartyIndex> Charter::PartyByCode(std::string_view code) const {
  for (PartyIndex i = 0; i < 2; ++i) {
    if (charter_.parties(i).code() == code) return i;
  }
  return std::nullopt;
}

std::vector<CharterObserver> Charter::observers() const {
  std::vector<CharterObserver> out;
  for (const auto& o : charter_.observers()) {
    out.push_back({o.name(), *PublicKey::FromBytes(o.public_key())});
  }
  return out;
}

}  // namespace parley
