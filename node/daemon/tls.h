// TLS on the peer port: self-signed certificates pinned by fingerprint.
//
// `parley tls init` makes an EC P-256 key and a self-signed certificate for a
// node; its fingerprint is SHA-256 over the certificate's DER bytes, in hex.
// Each side pins the other's fingerprint in its config. Both directions are
// mutual TLS: the server requires a client certificate, and each end accepts
// the other only if the certificate's fingerprint is one it pinned (chains
// and host names play no part). Plaintext is used only when a node's config
// says `plaintext = true`, and only on loopback addresses.
//
// Thread safety: the credentials are immutable once built.
#pragma once

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "crypto/status.h"

namespace parley {

struct TlsFiles {
  std::string cert_pem;
  std::string key_pem;
};

// Writes `dir`/tls.key (0600) and `dir`/tls.crt; returns the fingerprint.
Result<std::string> CreateSelfSignedCertificate(const std::filesystem::path& dir, const std::string& common_name);

// Reads a certificate and key (PEM files). A key file readable or writable
// by group or others is refused (kPermissionDenied, with its mode: the same
// rule as for the signing key file, CheckPrivateFileMode in crypto/key_file.h).
Result<TlsFiles> ReadTlsFiles(const std::filesystem::path& cert, const std::filesystem::path& key);

// SHA-256 of the certificate's DER encoding, lower-case hex.
Result<std::string> CertificateFingerprint(const std::string& cert_pem);

// Server credentials presenting `own` and accepting client certificates whose
// fingerprint is in `allowed`. A refused client is logged ("TLS handshake
// refused", with its certificate's fingerprint and CN; gRPC does not give the
// verifier the client's address), at most once a minute per certificate with
// a count of the refusals in between. The channel credentials log a refused
// server likewise.
std::shared_ptr<grpc::ServerCredentials> PinnedServerCredentials(const TlsFiles& own,
                                                                 std::set<std::string> allowed);

// Channel credentials presenting `own` and accepting only a server whose
// certificate has `pinned` fingerprint.
std::shared_ptr<grpc::ChannelCredentials> PinnedChannelCredentials(const TlsFiles& own, const std::string& pinned);

}  // namespace parley
