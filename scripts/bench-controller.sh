#!/usr/bin/env bash
# The controller benchmark against the test API server (Tests/kubernetes/apiserver, Python): starts
# it, installs the CRD from deploy/kubernetes, runs `switchyard bench controller`, stops it.
#
#   scripts/bench-controller.sh [--services N] [--in-flight N] [--json]
#
# Uses dist/switchyard (scripts/release.sh) or $SWITCHYARD. The server is Python: its request rate
# bounds the write figures, which is why the benchmark prints a baseline of bare PATCHes beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${SWITCHYARD:-dist/switchyard}
[ -x "$binary" ] || { echo "bench-controller: no $binary; run scripts/release.sh first" >&2; exit 1; }
venv=$(scripts/py-env.sh)
state=$(mktemp -d /tmp/sy-bench-kube.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$state"
}
trap cleanup EXIT
(cd Tests/kubernetes && exec "$venv/bin/python" -m apiserver --state-dir "$state" >"$state/out" 2>"$state/err") &
server_pid=$!
for _ in $(seq 100); do grep -q '^READY ' "$state/out" 2>/dev/null && break; sleep 0.1; done
grep -q '^READY ' "$state/out" || { cat "$state/err" >&2; echo "bench-controller: the test API server did not start" >&2; exit 1; }
"$venv/bin/kubectl" --kubeconfig "$state/kubeconfig" apply -f deploy/kubernetes/10-crd-addresspools.yaml >/dev/null
"$binary" bench controller --kubeconfig "$state/kubeconfig" "$@"
