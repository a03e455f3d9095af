#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, and runs with ctest
#  1. the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer,
#  2. each libFuzzer target for a bounded time (DOCKGATE_FUZZ_SECONDS, default 60),
#  3. the unit, integration and security tests against the Release build (a private dockerd,
#     the stock docker CLI, openssl and OpenSSH as independent peers),
#  4. the integration and security tests again against the ASan + UBSan build of the gateway
#     and its tools: a sanitizer report from any of them fails the test that started it.
# Exits non-zero on any failure. Run as root (the integration tests start dockerd).
set -euo pipefail
cd "$(dirname "$0")"
jobs=${DOCKGATE_JOBS:-2}
fuzz_seconds=${DOCKGATE_FUZZ_SECONDS:-60}

scripts/install-deps.sh test

echo "== sanitizer build (ASan + UBSan): unit tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDOCKGATE_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" --target dockgate_unit_tests dockgate_certs_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs" | tail -n 3

echo "== fuzz targets (${fuzz_seconds}s each)"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCKGATE_FUZZ=ON \
    -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j"$jobs" --target canonical_target_fuzz head_check_fuzz body_inspector_fuzz \
    image_reference_fuzz
for target in canonical_target head_check body_inspector image_reference; do
    corpus=build-fuzz/corpus/$target
    mkdir -p "$corpus"
    cp -n tests/fuzz/corpus/$target/* "$corpus"/ 2>/dev/null || true
    log=build-fuzz/$target.log
    if ! build-fuzz/bin/${target}_fuzz -max_total_time="$fuzz_seconds" -artifact_prefix=build-fuzz/ \
        "$corpus" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz target $target found a failure (input saved under build-fuzz/)" >&2
        exit 1
    fi
    grep -E "^Done" "$log"
done

echo "== Release build: unit and integration tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure

echo "== sanitizer build (ASan + UBSan): integration and security tests"
cmake --build build-asan -j"$jobs"
# A small quarantine: freed memory held back for use-after-free detection would otherwise read
# as growth in the tests that bound the gateway's memory.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=16 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L 'integration|security' --output-on-failure
