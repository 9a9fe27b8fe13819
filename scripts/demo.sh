#!/usr/bin/env bash
# The demo: builds Switchyard, then a whole deployment in network namespaces on this machine
# (client, router with ECMP, three LB nodes running the agent and the XDP datapath, four
# backends), sends real traffic, reports what happened, and removes everything. Root.
# scripts/demo.sh --kubernetes: the same with a Kubernetes API server, the controller, agents in
# Kubernetes mode and pods as DSR backends; a Service from kubectl, then a rolling update.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The Kubernetes demo (--kubernetes) needs kubectl and the test API server's Python packages.
if [[ " $* " == *" --kubernetes "* ]]; then scripts/py-env.sh >/dev/null; fi
swift build -c release --product switchyard 2>&1 | tail -1
exec .build/release/switchyard lab demo "$@"
