#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, runs every test. Privileged suites
# (BPF, namespaces) run as root and skip with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
# Serially: the lab's timing-sensitive suites must not share two cores with the kernel
# differential runs.
swift test --skip-build --no-parallel
