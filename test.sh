#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs with ctest
#  1. the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#  2. each libFuzzer target for a bounded time (DOCKGATE_FUZZ_SECONDS, default 60),
#     and meanwhile, on the core the fuzzer leaves free, clang-tidy (scripts/clang-tidy.sh),
#  3. the unit, integration and security tests against the Release build (a private dockerd,
#     the stock docker CLI, openssl and OpenSSH as independent peers),
#  4. the integration and security tests again against the ASan + UBSan build of the gateway
#     and its tools: a sanitizer report from any of them fails the test that started it.
# Every build treats warnings as errors (DOCKGATE_WERROR). Exits non-zero on any failure.
# Run as root (the integration tests start dockerd). tests/README.md has the details.
set -euo pipefail
cd "$(dirname "$0")"
jobs=${DOCKGATE_JOBS:-2}
fuzz_seconds=${DOCKGATE_FUZZ_SECONDS:-60}

scripts/install-deps.sh test

echo "== sanitizer build (ASan + UBSan): unit tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDOCKGATE_SANITIZE=ON -DDOCKGATE_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs" --target dockgate_unit_tests dockgate_certs_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L unit --no-tests=error --output-on-failure -j"$jobs" | tail -n 3

# --- fuzz targets: each for fuzz_seconds; a finding fails with its input and the log kept ---
fuzz_targets=(canonical_target head_check body_inspector image_reference config x509_identity ssh_keys request_facts)
echo "== fuzz targets (${fuzz_seconds}s each)"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCKGATE_FUZZ=ON \
    -DDOCKGATE_WERROR=ON -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j"$jobs" --target "${fuzz_targets[@]/%/_fuzz}"
# A fuzz target runs on one core: clang-tidy takes the other (its findings are read below).
DOCKGATE_JOBS=1 scripts/clang-tidy.sh >build-fuzz/clang-tidy.out 2>&1 &
tidy_pid=$!
for target in "${fuzz_targets[@]}"; do
    corpus=build-fuzz/corpus/$target
    mkdir -p "$corpus" build-fuzz/artifacts
    cp -n tests/fuzz/corpus/$target/* "$corpus"/ 2>/dev/null || true
    dict=()
    [[ -f tests/fuzz/$target.dict ]] && dict=(-dict=tests/fuzz/$target.dict)
    log=build-fuzz/$target.log
    if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        build-fuzz/bin/${target}_fuzz -max_total_time="$fuzz_seconds" \
        -artifact_prefix=build-fuzz/artifacts/$target- "${dict[@]}" "$corpus" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz target $target failed: log $log, input saved as build-fuzz/artifacts/$target-*" >&2
        exit 1
    fi
    grep -E "^Done" "$log"
done
# --- end of fuzz targets ---

# --- clang-tidy: the checks in .clang-tidy; any finding fails ---
echo "== clang-tidy"
tidy_status=0
wait "$tidy_pid" || tidy_status=$?
cat build-fuzz/clang-tidy.out
((tidy_status == 0)) || exit 1
# --- end of clang-tidy ---

echo "== Release build: unit and integration tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDOCKGATE_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --no-tests=error --output-on-failure

echo "== sanitizer build (ASan + UBSan): integration and security tests"
cmake --build build-asan -j"$jobs"
# A small quarantine: freed memory held back for use-after-free detection would otherwise read
# as growth in the tests that bound the gateway's memory.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L 'integration|security' --no-tests=error --output-on-failure
