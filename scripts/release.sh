#!/usr/bin/env bash
# The release binary: `switchyard` with the Swift runtime and Foundation linked in
# (--static-swift-stdlib), so a host needs no Swift toolchain — only libbpf, libelf and zlib
# (Debian: libbpf1 libelf1 zlib1g). Writes dist/switchyard and fails if ldd names a Swift library.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product switchyard --static-swift-stdlib --scratch-path .build-static 2>&1 | tail -1
mkdir -p dist
install -m 0755 .build-static/release/switchyard dist/switchyard
if ldd dist/switchyard | grep -Ei 'swift|Foundation|dispatch|icu'; then
  echo "release.sh: dist/switchyard still needs the Swift libraries above" >&2
  exit 1
fi
echo "dist/switchyard: $(du -h dist/switchyard | cut -f1), needs: $(ldd dist/switchyard | awk '/=>/ {print $1}' | tr '\n' ' ')"
