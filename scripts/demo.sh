#!/usr/bin/env bash
# The demo: validates the example config, shows a bad one's errors, traces packets through the
# datapath model and prints Maglev's figures. (The network-namespace lab replaces this once it
# lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product switchyard >/dev/null
sy=.build/release/switchyard
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say "validate examples/switchyard.yaml"
$sy validate examples/switchyard.yaml
say "validate examples/bad.yaml (every error, with line and field)"
$sy validate examples/bad.yaml || true
say "trace: a new IPv4 connection (SYN) → Maglev → IPIP"
$sy trace --config examples/switchyard.yaml --packet 'tcp 10.0.1.2:40000 > 10.200.0.10:80 S'
say "trace: UDP to a sourceIP GUE service"
$sy trace --config examples/switchyard.yaml --packet 'udp 10.0.1.2:5353 > 10.200.0.53:53 len=20'
say "trace: an IPv6 packet too big for the tunnel → ICMPv6 packet too big"
$sy trace --config examples/switchyard.yaml --packet 'tcp [2001:db8::2]:40000 > [2001:db8:200::10]:80 A len=1440'
say "trace: a fragment to a VIP → counted drop"
$sy trace --config examples/switchyard.yaml --packet 'tcp 10.0.1.2:40000 > 10.200.0.10:80 A mf'
say "maglev: 100 backends"
$sy maglev --backends 100
say "maglev: 1000 backends"
$sy maglev --backends 1000 --json
