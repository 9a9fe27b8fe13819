#!/usr/bin/env bash
# Installs the Debian packages Switchyard builds and tests with. Idempotent: does nothing when
# they are all present. Needs root (CI is root); otherwise prints what is missing.
set -euo pipefail
packages=(libbpf-dev libelf-dev zlib1g-dev pkg-config bpftool iproute2 ethtool procps iperf3 redis-server redis-sentinel bird2 frr tcpdump clang-format umoci iptables)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1
