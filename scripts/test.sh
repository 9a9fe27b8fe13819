#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs every test. Privileged suites
# (BPF, namespaces) run as root and skip with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
