#!/usr/bin/env bash
# Seeded faults: shows that the suite fails when a security check is broken on purpose.
# Each tests/mutation/mutants/NAME.patch breaks one check (its first lines say how) and names
# the tests that should notice on a line "tests: unit ctest_name...". For each mutant this
# script patches a private copy of the source, rebuilds, runs those tests and expects at least
# one to fail (the mutant is killed); the unpatched copy must pass the same tests first.
# Prints a table and exits non-zero if a mutant survives or the baseline fails.
#
# Usage: tests/mutation/run.sh [NAME...]      (default: every mutant)
# Needs what the integration tests need (root, dockerd, the docker CLI; tests/integration/
# README.md). Environment: DOCKGATE_MUTATION_DIR (default build-mutation: the source copy,
# its build tree and the logs, kept between runs so that a rerun only rebuilds what changed),
# DOCKGATE_JOBS (default 2). Too slow for ./test.sh (a rebuild and its tests per mutant); run it
# after changing a check or the tests that guard it, and update the table in tests/README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${DOCKGATE_MUTATION_DIR:-$root/build-mutation}
jobs=${DOCKGATE_JOBS:-2}
mutants_dir=$root/tests/mutation/mutants
src=$work/src
build=$work/build
logs=$work/logs

if (($# > 0)); then
    names=("$@")
else
    names=()
    for p in "$mutants_dir"/*.patch; do
        names+=("$(basename "$p" .patch)")
    done
fi
for name in "${names[@]}"; do
    [[ -f $mutants_dir/$name.patch ]] || { echo "no mutant $name ($mutants_dir/$name.patch)" >&2; exit 2; }
done

tests_of() { sed -n 's/^tests: //p' "$mutants_dir/$1.patch"; }
describe() { sed -n '1,/^tests: /p' "$mutants_dir/$1.patch" | sed '$d' | tr '\n' ' ' | sed 's/ *$//'; }

# --- the source copy: every file git knows (tracked or not ignored), copied only when it differs
# so that the build tree stays incremental between runs.
mkdir -p "$src" "$logs"
rm -f "$logs"/*.log
(cd "$root" && git ls-files -z -co --exclude-standard) | while IFS= read -r -d '' f; do
    [[ -f $root/$f ]] || continue
    if ! cmp -s "$root/$f" "$src/$f"; then
        mkdir -p "$(dirname "$src/$f")"
        cp -p "$root/$f" "$src/$f"
    fi
done

applied=""
restore() {
    if [[ -n $applied ]]; then
        patch -s -R -p1 -d "$src" <"$mutants_dir/$applied.patch"
        applied=""
    fi
}
fixture_started=0
finish() {
    restore
    if ((fixture_started)); then
        ctest --test-dir "$build" -R '^integration_cleanup$' >"$logs/fixture-cleanup.log" 2>&1 || true
    fi
}
trap finish EXIT

echo "== configure and build the unmutated copy ($build)"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$logs/configure.log"
build_all() { nice -n 10 cmake --build "$build" -j"$jobs" --target dockgate dockgate-certs dockgate_unit_tests; }
build_all >"$logs/build-baseline.log" 2>&1 || { tail -n 30 "$logs/build-baseline.log"; exit 1; }

# Runs the tests named in $1 (a "tests:" line); prints the ones that failed, space-separated.
run_tests() {
    local label=$1 tests=$2 failed=() ctest_names=()
    for t in $tests; do
        if [[ $t == unit ]]; then
            # One process for the whole unit suite (ctest would start one per test case).
            if ! "$build/bin/dockgate_unit_tests" --gtest_brief=1 >"$logs/$label-unit.log" 2>&1; then
                # "unit(N cases: first, second, ...)", in the order they ran.
                local cases count
                cases=$(sed -n 's/^\[  FAILED  \] \([A-Za-z][A-Za-z0-9_/.]*\).*/\1/p' \
                            "$logs/$label-unit.log" | awk '!seen[$0]++')
                count=$(grep -c . <<<"$cases")
                cases=$(head -n 2 <<<"$cases" | paste -sd, - | sed 's/,/, /g')
                ((count > 2)) && cases+=", ..."
                failed+=("unit($count cases: $cases)")
            fi
        else
            ctest_names+=("$t")
        fi
    done
    if ((${#ctest_names[@]} > 0)); then
        local regex
        regex="^($(IFS='|'; echo "${ctest_names[*]}"))\$"
        # The fixture runs once for the whole script (-FA: no setup/cleanup per call).
        ctest --test-dir "$build" -R "$regex" -FA dockerd --no-tests=error --output-on-failure \
            >"$logs/$label-ctest.log" 2>&1 || true
        for t in "${ctest_names[@]}"; do
            grep -qE "Test +#[0-9]+: $t \.+ +Passed" "$logs/$label-ctest.log" || failed+=("$t")
        done
    fi
    echo "${failed[*]:-}"
}

echo "== integration fixture (a private dockerd)"
fixture_started=1
ctest --test-dir "$build" -R '^integration_setup$' --output-on-failure >"$logs/fixture-setup.log" 2>&1 || {
    tail -n 30 "$logs/fixture-setup.log"
    exit 1
}

declare -A wanted=()
for name in "${names[@]}"; do
    for t in $(tests_of "$name"); do wanted[$t]=1; done
done
echo "== baseline: the tests the mutants name, unmutated (${!wanted[*]})"
start=$SECONDS
baseline_failed=$(run_tests baseline "${!wanted[*]}")
if [[ -n $baseline_failed ]]; then
    echo "the unmutated copy fails: $baseline_failed (logs: $logs/baseline-*.log); fix that first" >&2
    exit 1
fi
echo "   passed ($((SECONDS - start)) s)"

declare -A result=()
survivors=0
for name in "${names[@]}"; do
    echo "== mutant $name: $(describe "$name")"
    start=$SECONDS
    patch -s -p1 -d "$src" <"$mutants_dir/$name.patch"
    applied=$name
    if ! build_all >"$logs/$name-build.log" 2>&1; then
        result[$name]="BUILD FAILED (the patch no longer fits: $logs/$name-build.log)"
        survivors=$((survivors + 1))
    else
        killers=$(run_tests "$name" "$(tests_of "$name")")
        if [[ -n $killers ]]; then
            result[$name]="killed by $killers"
        else
            result[$name]="SURVIVED ($(tests_of "$name") all passed)"
            survivors=$((survivors + 1))
        fi
    fi
    restore
    echo "   ${result[$name]} ($((SECONDS - start)) s)"
done
echo "== rebuild the unmutated copy"
build_all >"$logs/build-restored.log" 2>&1 || true

echo
echo "| mutant | what it breaks | result |"
echo "| --- | --- | --- |"
for name in "${names[@]}"; do
    echo "| \`$name\` | $(describe "$name") | ${result[$name]} |"
done
echo
echo "The first failed check of each killing integration test (a check that fails for another"
echo "reason than the mutant, a flaky one say, shows here):"
for name in "${names[@]}"; do
    [[ -f $logs/$name-ctest.log ]] || continue
    grep -E '^FAIL \[' "$logs/$name-ctest.log" | awk -v m="$name" '!seen[$2]++ { print "- " m ": " $0 }' |
        cut -c1-200 || true
done
echo
echo "logs: $logs"
((survivors == 0))
