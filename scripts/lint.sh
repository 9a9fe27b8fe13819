#!/usr/bin/env bash
# Style gate (CI runs it): swift-format's lint on the Swift tree, clang-format on the BPF C and
# the ABI header, and no line over 120 characters anywhere in our sources. `--fix` rewrites.
set -euo pipefail
cd "$(dirname "$0")/.."
c_files=(Sources/SwitchyardDatapath/bpf/*.c Sources/SwitchyardDatapath/bpf/*.h Sources/SwitchyardABI/include/*.h)
if [ "${1:-}" = "--fix" ]; then
  swift format format -i -r --parallel Package.swift Sources Tests Plugins Fuzz/Package.swift Fuzz/Sources
  clang-format -i "${c_files[@]}"
fi
status=0
swift format lint --strict -r --parallel Package.swift Sources Tests Plugins Fuzz/Package.swift Fuzz/Sources || status=1
clang-format --dry-run --Werror "${c_files[@]}" || status=1
long=$(grep -rnE '^.{121,}$' --include='*.swift' --include='*.c' --include='*.h' Sources Tests Plugins Package.swift Fuzz \
  | grep -v '/Fixtures/' || true)
if [ -n "$long" ]; then
  echo "lines over 120 characters:"
  echo "$long" | cut -c1-160
  status=1
fi
[ $status -eq 0 ] && echo "lint: clean (swift-format, clang-format, 120 columns)"
exit $status
