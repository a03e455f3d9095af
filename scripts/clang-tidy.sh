#!/usr/bin/env bash
# clang-tidy with the repository's .clang-tidy over dockgate's own C++ (the sources under
# common/, config/, gateway/ and certs-tool/, and the project headers they include), using the
# compile commands of a clang build tree that is configured here and never built. Any finding
# fails. The tests are left out of the default set to keep ./test.sh short (a Beast or gtest
# translation unit takes clang-tidy half a minute); name them to check them too:
#   scripts/clang-tidy.sh $(git ls-files 'tests/unit/*.cpp')
# Usage: scripts/clang-tidy.sh [FILE...]   (default: every project source in the build tree)
# Environment: DOCKGATE_JOBS (parallel clang-tidy processes, default 2), DOCKGATE_TIDY_DIR
# (the build tree, default build-tidy). The whole report is kept in $DOCKGATE_TIDY_DIR/clang-tidy.log.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${DOCKGATE_JOBS:-2}
build=${DOCKGATE_TIDY_DIR:-build-tidy}
tidy=clang-tidy-14

# Precompiled headers stay off: clang-tidy cannot read GCC's and does not need clang's.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON >/dev/null

if (($# > 0)); then
    files=("$@")
else
    mapfile -t files < <(python3 -c '
import json, os, re, sys
root = os.getcwd() + "/"
own = re.compile(r"(common|config|gateway|certs-tool)/")
for entry in json.load(open(sys.argv[1] + "/compile_commands.json")):
    path = os.path.relpath(entry["file"], root)
    if own.match(path):
        print(path)' "$build" | sort -u)
fi

log=$build/clang-tidy.log
out=$build/clang-tidy.d
rm -rf "$out" && mkdir -p "$out"
start=$SECONDS
# One report per file, so that parallel runs do not interleave their lines.
status=0
printf '%s\0' "${files[@]}" | xargs -0 -n1 -P"$jobs" sh -c \
    '"$0" -p "$1" --quiet --warnings-as-errors="*" "$3" >"$2/$(printf %s "$3" | tr / _).log" 2>&1' \
    "$tidy" "$build" "$out" || status=$?
cat "$out"/*.log >"$log"
findings=$(grep -cE '(warning|error): .* \[[a-z0-9.,-]+\]$' "$log" || true)
echo "clang-tidy: ${#files[@]} files, $findings findings, $((SECONDS - start)) s (report: $log)"
if ((status != 0)); then
    grep -E -A3 '(warning|error): ' "$log" | head -n 200
    exit 1
fi
