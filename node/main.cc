// parley: one binary for the node daemon, the operator CLI and the offline
// tools. See node/cli/cli.h.
#include "node/cli/cli.h"

int main(int argc, char** argv) { return parley::RunCli(argc, argv); }
