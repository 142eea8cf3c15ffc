#include "node/daemon/tls.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <sstream>

#include "crypto/key_file.h"
#include "crypto/types.h"
#include "node/daemon/log.h"

namespace parley {
namespace {

// OpenSSL objects owned for a scope: freed on every path out of it.
template <typename T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Freer<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Freer<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION, X509_EXTENSION_free>>;
void FreeBytes(unsigned char* p) { OPENSSL_free(p); }
using BytesPtr = std::unique_ptr<unsigned char, Freer<unsigned char, FreeBytes>>;

using grpc::experimental::ExternalCertificateVerifier;
using grpc::experimental::TlsCustomVerificationCheckRequest;

// Accepts a peer whose certificate's fingerprint is pinned, and logs every
// refusal (gRPC itself says nothing to the application about a handshake it
// refused). `side` names the end this verifier runs at ("server": refusing
// a client; "client": refusing the server it dialled).
//
// gRPC's verifier request carries the certificate but not the peer's
// address on the server side, so a refused client is named by its
// certificate (fingerprint, subject CN), not by address. A client that
// presents no certificate at all is refused by the TLS layer before any
// verifier runs, and is not logged here.
class PinnedVerifier final : public ExternalCertificateVerifier {
 public:
  PinnedVerifier(std::set<std::string> allowed, std::string side) : allowed_(std::move(allowed)), side_(std::move(side)) {}

  bool Verify(TlsCustomVerificationCheckRequest* request, std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    auto fp = CertificateFingerprint(std::string(request->peer_cert().data(), request->peer_cert().size()));
    if (fp && allowed_.count(*fp)) {
      *sync_status = grpc::Status::OK;
      return true;  // synchronous
    }
    const std::string why = !fp ? "its certificate is unreadable"
                                : "its certificate " + fp->substr(0, 16) + "… is not a pinned one";
    *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "peer refused at the TLS handshake: " + why);
    const std::string key = fp ? *fp : std::string("-");
    uint64_t repeated = 0;
    if (!ShouldLog(key, &repeated)) return true;
    const std::string cn(request->common_name().data(), request->common_name().size());
    const std::string target(request->target_name().data(), request->target_name().size());
    Log(LogLevel::kWarn, side_ == "server" ? "TLS handshake refused: a client's certificate is not pinned"
                                           : "TLS handshake refused: the peer server's certificate is not pinned",
        {{"side", side_},
         {"reason", why},
         {"fingerprint", key},
         {"subject_cn", cn.empty() ? std::string("-") : cn},
         {"target", target.empty() ? std::string("-") : target},
         {"refused_since_last_line", std::to_string(repeated)}});
    return true;  // synchronous
  }
  void Cancel(TlsCustomVerificationCheckRequest*) override {}

 private:
  // At most one line a minute per certificate, so that a client retrying
  // (or flooding) does not flood the log; `repeated` counts the refusals not
  // logged since the last line.
  bool ShouldLog(const std::string& fingerprint, uint64_t* repeated) {
    constexpr auto kEvery = std::chrono::minutes(1);
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (last_.size() > 1024) last_.clear();  // bounded, whoever connects
    auto [it, fresh] = last_.try_emplace(fingerprint, Seen{now, 0});
    if (!fresh && now - it->second.logged < kEvery) {
      ++it->second.suppressed;
      return false;
    }
    *repeated = it->second.suppressed;
    it->second = Seen{now, 0};
    return true;
  }

  struct Seen {
    std::chrono::steady_clock::time_point logged;
    uint64_t suppressed = 0;
  };
  const std::set<std::string> allowed_;
  const std::string side_;
  std::mutex mu_;
  std::map<std::string, Seen> last_;  // by fingerprint; guarded by mu_
};

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::string> CertificateFingerprint(const std::string& cert_pem) {
  X509Ptr cert;
  {
    BioPtr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    if (bio) cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  }
  if (!cert) return Status(Code::kInvalidArgument, "not a PEM certificate");
  unsigned char* der_raw = nullptr;
  const int len = i2d_X509(cert.get(), &der_raw);
  const BytesPtr der(der_raw);
  if (len <= 0) return Status(Code::kInvalidArgument, "certificate cannot be encoded");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der.get(), static_cast<size_t>(len), digest);
  return ToHex(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

Result<std::string> CreateSelfSignedCertificate(const std::filesystem::path& dir, const std::string& common_name) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto key_path = dir / "tls.key", cert_path = dir / "tls.crt";
  if (std::filesystem::exists(key_path) || std::filesystem::exists(cert_path)) {
    return Status(Code::kAlreadyExists, dir.string() + " already holds tls.key or tls.crt; not overwriting");
  }
  const PkeyPtr pkey(EVP_EC_gen("P-256"));
  if (!pkey) return Status(Code::kInternal, "cannot generate an EC key");
  const X509Ptr x(X509_new());
  if (!x) return Status(Code::kInternal, "cannot allocate a certificate");
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(x.get(), pkey.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  if (const ExtPtr san{X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1")}) {
    X509_add_ext(x.get(), san.get(), -1);
  }
  if (X509_sign(x.get(), pkey.get(), EVP_sha256()) <= 0) return Status(Code::kInternal, "cannot sign the certificate");
  const BioPtr kb(BIO_new(BIO_s_mem())), cb(BIO_new(BIO_s_mem()));
  if (!kb || !cb || PEM_write_bio_PrivateKey(kb.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cb.get(), x.get()) != 1) {
    return Status(Code::kInternal, "cannot encode the key or certificate as PEM");
  }
  char* kdata = nullptr;
  char* cdata = nullptr;
  const long klen = BIO_get_mem_data(kb.get(), &kdata);
  const long clen = BIO_get_mem_data(cb.get(), &cdata);
  std::string key_pem(kdata, static_cast<size_t>(klen));
  std::string cert_pem(cdata, static_cast<size_t>(clen));

  int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Status(Code::kIoError, "cannot create " + key_path.string());
  bool ok = ::write(fd, key_pem.data(), key_pem.size()) == static_cast<ssize_t>(key_pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  std::ofstream(cert_path) << cert_pem;
  if (!ok) return Status(Code::kIoError, "cannot write " + key_path.string());
  return CertificateFingerprint(cert_pem);
}

Result<TlsFiles> ReadTlsFiles(const std::filesystem::path& cert, const std::filesystem::path& key) {
  struct stat st {};
  if (::stat(key.c_str(), &st) == 0) {
    if (Status s = CheckPrivateFileMode(st.st_mode, key, "TLS key file"); !s.ok()) return s;
  }
  TlsFiles f{Slurp(cert), Slurp(key)};
  if (f.cert_pem.empty()) return Status(Code::kNotFound, "cannot read TLS certificate " + cert.string());
  if (f.key_pem.empty()) return Status(Code::kNotFound, "cannot read TLS key " + key.string());
  if (auto fp = CertificateFingerprint(f.cert_pem); !fp) {
    return Status(Code::kInvalidArgument, cert.string() + ": " + fp.error().message());
  }
  return f;
}

std::shared_ptr<grpc::ServerCredentials> PinnedServerCredentials(const TlsFiles& own, std::set<std::string> allowed) {
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      std::vector<grpc::experimental::IdentityKeyCertPair>{{own.key_pem, own.cert_pem}});
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.set_certificate_verifier(ExternalCertificateVerifier::Create<PinnedVerifier>(std::move(allowed), "server"));
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> PinnedChannelCredentials(const TlsFiles& own, const std::string& pinned) {
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      std::vector<grpc::experimental::IdentityKeyCertPair>{{own.key_pem, own.cert_pem}});
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(
      ExternalCertificateVerifier::Create<PinnedVerifier>(std::set<std::string>{pinned}, "client"));
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace parley
