#!/usr/bin/env bash
# The demo: builds Switchyard, then a whole deployment in network namespaces on this machine
# (client, router with ECMP, three LB nodes running the agent and the XDP datapath, four
# backends), sends real traffic, reports what happened, and removes everything. Root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product switchyard 2>&1 | tail -1
exec .build/release/switchyard lab demo "$@"
