#!/usr/bin/env bash
# Builds the libFuzzer targets (the Fuzz/ package, -sanitize=fuzzer on every module, scratch
# .build-fuzz) and runs each one after the other for a bounded time.
#
#   scripts/fuzz.sh                   60 s per target
#   scripts/fuzz.sh --smoke           CI: 15 s or 200k runs per target, whichever comes first
#   scripts/fuzz.sh --long SECONDS    SECONDS per target
#   scripts/fuzz.sh ... TARGET...     only these (frame-describer packet-spec config resp resp-cluster sentinel
#                                     pipeline bgp bfd kube)
#   FUZZ_FLAGS="-only_ascii=1 ..."     more libFuzzer flags for every target
#
# Each target reads its seeds (Fuzz/corpus/<target>) and past crashes (Fuzz/regressions/<target>);
# what it learns goes to .build-fuzz/corpus/<target>, kept between runs. A crash, timeout or
# out-of-memory input is copied into Fuzz/regressions/<target>/ (commit it with the fix: the test
# suite replays that directory) and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60 runs=-1
case "${1:-}" in
    --smoke) seconds=15 runs=200000; shift ;;
    --long)
        [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "usage: $0 --long SECONDS [TARGET...]" >&2; exit 2; }
        seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
esac

declare -A executables=(
    [frame-describer]=FuzzFrameDescriber [packet-spec]=FuzzPacketSpec [config]=FuzzConfig
    [resp]=FuzzRESP [resp-cluster]=FuzzRESPCluster [sentinel]=FuzzSentinel [pcap]=FuzzPcap [pipeline]=FuzzPipeline
    [bgp]=FuzzBGP [bfd]=FuzzBFD [kube]=FuzzKube
)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame-describer packet-spec config resp resp-cluster sentinel pcap pipeline bgp bfd kube)
for target in "${targets[@]}"; do
    [ -n "${executables[$target]:-}" ] || { echo "unknown target '$target'; expected: ${!executables[*]}" >&2; exit 2; }
done

scratch=.build-fuzz
build_start=$(date +%s)
# The fuzzers need release speed; the C parts (libyaml in Yams) get coverage counters too.
mkdir -p "$scratch"
if ! swift build -c release --package-path Fuzz --scratch-path "$scratch" \
        -Xswiftc -sanitize=fuzzer -Xcc -fsanitize=fuzzer-no-link >"$scratch/build.log" 2>&1; then
    grep -E 'error|warning: unre' "$scratch/build.log" | head -20 >&2 || tail -20 "$scratch/build.log" >&2
    echo "fuzz: build failed; full log in $scratch/build.log" >&2
    exit 1
fi
echo "fuzz: built in $(( $(date +%s) - build_start )) s"
bin="$scratch/release"

# Swift's backtracer would catch a trap before libFuzzer could save the input.
export SWIFT_BACKTRACE=enable=no
failed=()
printf '%-16s %10s %7s %8s\n' target runs time crashes
for target in "${targets[@]}"; do
    work="$scratch/corpus/$target" artifacts="$scratch/artifacts/$target/"
    mkdir -p "$work" "$artifacts" "Fuzz/regressions/$target"
    rm -f "$artifacts"*
    log="$scratch/$target.log"
    start=$(date +%s)
    status=0
    "$bin/${executables[$target]}" -max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts" ${FUZZ_FLAGS:-} \
        "$work" "Fuzz/corpus/$target" "Fuzz/regressions/$target" >"$log" 2>&1 || status=$?
    elapsed=$(( $(date +%s) - start ))
    executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$executed" ] || executed=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    found=0
    for artifact in "$artifacts"*; do
        [ -e "$artifact" ] || continue
        found=$((found + 1))
        cp "$artifact" "Fuzz/regressions/$target/"
        echo "fuzz: $target: saved Fuzz/regressions/$target/$(basename "$artifact")" >&2
    done
    printf '%-16s %10s %6ss %8s\n' "$target" "${executed:-?}" "$elapsed" "$found"
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        failed+=("$target")
        grep -E 'ERROR: libFuzzer|Fatal error|SUMMARY' "$log" | head -5 | sed "s/^/fuzz: $target: /" >&2
        echo "fuzz: $target: full log in $log" >&2
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: no crashes"
