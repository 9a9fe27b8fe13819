#!/usr/bin/env bash
# The whole test suite: installs what it needs, checks style, builds with zero warnings in our own
# code, runs the Python tests of the Kubernetes side, a bounded fuzzing run over every parser of
# outside input, then every test.
# Privileged suites (BPF, namespaces) run as root and skip with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/lint.sh
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
swift build --build-tests 2>&1 | tee "$build_log"
# Warnings in the project's own sources fail the run (dependencies' warnings are theirs).
if grep -E "^$PWD/(Sources|Tests|Plugins)/.*: warning:" "$build_log" | sort -u | grep .; then
  echo "test.sh: compiler warnings in our own code (above)" >&2
  exit 1
fi
# The release binary (static Swift runtime) the deploy section installs; a test checks its ldd.
scripts/release.sh
# The Kubernetes side in Python: the test API server checked against kubectl and the Python client,
# the manifests against the published schemas (1.29–1.37), the OCI image of the release binary.
venv=$(scripts/py-env.sh)
"$venv/bin/pytest" -q Tests/kubernetes
# Bounded fuzzing first, so the test runner's summary is the run's last word.
scripts/fuzz.sh --smoke
# Serially: the lab's timing-sensitive suites must not share two cores with the kernel
# differential runs.
swift test --skip-build --no-parallel
