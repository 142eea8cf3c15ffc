#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "crypto/key_file.h"
#include "node/protocol/agreements.h"
#include "node/report/audit.h"
#include "node/report/audit_html.h"
#include "node/report/bundle.h"
#include "node/cli/client.h"
#include "node/cli/manifest_cli.h"
#include "node/cli/version.h"
#include "node/cli/cli_common.h"
#include "node/base/clock.h"
#include "node/daemon/config.h"
#include "node/daemon/log.h"
#include "node/daemon/node.h"
#include "node/daemon/peer_auth.h"
#include "node/daemon/tls.h"
#include "node/daemon/peer_service.h"
#include "node/daemon/replicator.h"
#include "node/base/parse.h"
#include "node/base/text.h"
#include "node/report/views.h"

namespace parley::cli {

// Reads both feeds and the fork proofs from a node's peer service into a
// bundle at `out`, up to the heads the node reported first.
struct PeerTlsFlags {
  std::string cert, key, fingerprint;
  bool plaintext = false;
};

Status FetchBundleFromPeer(const std::string& address, const Charter& charter, const SecretKey& key,
                           const PeerTlsFlags& tls, const std::string& out);
int CmdAudit(std::string bundle, bool json, const std::string& now, const std::string& peer,
             const std::string& charter_file, const std::string& key_file, const PassFlags& pf,
             const PeerTlsFlags& tls, const std::string& html);

}  // namespace parley::cli
