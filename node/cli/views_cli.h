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

int CmdList(const Common& c, const std::string& state);
int CmdShow(const Common& c, const std::string& id);
// `parley status` exit codes (for monitors, like a Nagios check).
constexpr int kHealthy = 0;
constexpr int kDegraded = 1;
constexpr int kAlarm = 2;
constexpr int kUnknown = 3;  // the node did not answer

struct HealthLimits {
  std::string max_disconnected = "60";  // seconds without the peer before "degraded"
  std::string max_lag = "1000";         // entries behind the peer before "degraded"
  bool check = false;                   // exit code only, no output
};

struct Health {
  int code = kHealthy;
  std::vector<std::string> reasons;
};

Health AssessHealth(const v1::StatusResponse& st, int64_t now_ms, int64_t max_disconnected_ms, uint64_t max_lag);
const char* HealthName(int code);

int CmdStatus(const Common& c, const HealthLimits& limits);
int CmdWatch(const Common& c);
int CmdExport(const Common& c, const std::string& out);

}  // namespace parley::cli
