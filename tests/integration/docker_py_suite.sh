#!/usr/bin/env bash
# docker-py's own integration suite, run twice against one private dockerd: directly on its
# socket, then through dockgate (mutual TLS, one role allowing every operation). Prints every
# test whose outcome differs between the two runs and exits 1 when any does.
#
# A script a person runs, not a ctest test: Debian ships docker-py (python3-docker) without
# its tests, so the suite's source must be given, e.g. a checkout of the 5.0.3 tag (the
# version Debian 12 ships) of https://github.com/docker/docker-py:
#   sudo tests/integration/docker_py_suite.sh build /path/to/docker-py [PYTEST_ARGS...]
# No image is pulled: the suite's alpine:3.10 and alpine:latest are local/busybox:1 re-tagged,
# so tests that need alpine's own tools or the network fail the same way in both runs.
# Needs: what the integration tests need, python3-pytest, python3-pytest-timeout (the suite
# marks slow tests with a timeout) and python3-docker.
set -euo pipefail
BUILD="$(realpath "${1:?usage: $0 BUILD_DIR DOCKER_PY_SOURCE [PYTEST_ARGS...]}")"
SUITE="$(realpath "${2:?usage: $0 BUILD_DIR DOCKER_PY_SOURCE [PYTEST_ARGS...]}")"
shift 2
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
ENV_DIR="$BUILD/docker-py-env"
[[ -d "$SUITE/tests/integration" ]] || { echo "$SUITE has no tests/integration" >&2; exit 2; }
/usr/bin/python3 -c 'import docker, pytest, pytest_timeout' ||
  { echo "apt-get install python3-docker python3-pytest python3-pytest-timeout" >&2; exit 2; }

bash "$SRC/tests/integration/setup_env.sh" "$BUILD" "$SRC" "$ENV_DIR" >/dev/null
IT_NAME=docker_py_suite
source "$SRC/tests/integration/lib.sh"
it_init "$BUILD" "$SRC" "$ENV_DIR"
on_exit "bash $SRC/tests/integration/cleanup_env.sh $BUILD $SRC $ENV_DIR >/dev/null 2>&1"
for img in alpine:3.10 alpine:latest busybox:latest; do daemon tag local/busybox:1 "$img"; done

GW="$WORK/gw"
write_gateway_head "$GW" "$(free_port)"
cat >>"$GW/dockgate.toml" <<EOF

[users.alice]
groups = ["everything"]

[roles.all]
subjects = ["group:everything"]
allow = ["*"]
EOF
start_gateway "$GW/dockgate.toml"

# The suite's conftest turns every warning into an error (warnings.simplefilter("error")), and
# under Python 3.11 docker-py's own use of distutils' StrictVersion warns that it is
# deprecated: every test would end in that error before it ran. This plugin lets deprecation
# warnings pass after that call, in both runs alike; every other warning still fails a test.
mkdir -p "$WORK/plugin"
cat >"$WORK/plugin/deprecations_pass.py" <<'PY'
import warnings

_simplefilter = warnings.simplefilter


def simplefilter(action, *args, **kwargs):
    _simplefilter(action, *args, **kwargs)
    if action == "error":
        warnings.filterwarnings("ignore", category=DeprecationWarning)


warnings.simplefilter = simplefilter
PY

# run_suite NAME ENV...: the suite with the given client environment; outcomes in NAME.tsv.
# python3 -P and --import-mode=append: the tests import Debian's python3-docker, not the copy
# of the library beside them. (requests prefers REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE, when
# set, to the CA that docker-py gives it.)
# Each run has a docker config folder of its own: the suite's context tests leave a context
# "test" behind, which would make the same tests fail in the next run.
run_suite() {
  local name="$1"
  shift
  log "docker-py suite: $name"
  rm -rf "$WORK/docker-config-$name"
  mkdir -p "$WORK/docker-config-$name"
  echo '{}' >"$WORK/docker-config-$name/config.json"
  (cd "$SUITE" && env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH \
    -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE PYTHONPATH="$WORK/plugin" \
    DOCKER_CONFIG="$WORK/docker-config-$name" "$@" \
    timeout 3600 /usr/bin/python3 -P -m pytest -p no:cacheprovider -p deprecations_pass \
    --import-mode=append -q -rA --junitxml="$WORK/$name.xml" tests/integration "${PYTEST_ARGS[@]}" \
    >"$WORK/$name.log" 2>&1) || true
  # One "TEST<tab>OUTCOME" line per test, from the JUnit report (pytest's summary names a
  # skipped test by its skip's source line, not by the test).
  /usr/bin/python3 - "$WORK/$name.xml" >"$WORK/$name.tsv" <<'PY'
import sys
import xml.etree.ElementTree as ET

rows = set()
for case in ET.parse(sys.argv[1]).iter("testcase"):
    test = case.get("classname", "") + "::" + case.get("name", "")
    kinds = set()
    for child in case:
        if child.tag == "skipped":
            kinds.add("xfail" if child.get("type") == "pytest.xfail" else "skipped")
        elif child.tag in ("failure", "error"):
            kinds.add(child.tag)
    rows.add(test + "\t" + ("+".join(sorted(kinds)) or "passed"))
print("\n".join(sorted(rows)))
PY
  log "$name: $(cut -f2 "$WORK/$name.tsv" | sort | uniq -c | tr '\n' ' ')"
}
PYTEST_ARGS=("$@")
run_suite direct DOCKER_HOST="unix://$DOCKER_SOCK"
run_suite gateway DOCKER_HOST="tcp://127.0.0.1:$GW_PORT" DOCKER_TLS_VERIFY=1 \
  DOCKER_CERT_PATH="$(client_dir alice)"

LC_ALL=C join -t $'\t' -a1 -a2 -e missing -o 0,1.2,2.2 "$WORK/direct.tsv" "$WORK/gateway.tsv" >"$WORK/both.tsv"
awk -F'\t' '$2 != $3' "$WORK/both.tsv" >"$WORK/differences.tsv"
echo "tests: $(wc -l <"$WORK/direct.tsv") run directly, $(wc -l <"$WORK/gateway.tsv") through the gateway;" \
  "$(awk -F'\t' '$2 == $3' "$WORK/both.tsv" | wc -l) ended the same, $(wc -l <"$WORK/differences.tsv") differ"
if [[ -s "$WORK/differences.tsv" ]]; then
  echo "outcomes that differ (test, direct, through dockgate):"
  cat "$WORK/differences.tsv"
  fail "$(wc -l <"$WORK/differences.tsv") test(s) ended differently through dockgate; logs:" \
    "$WORK/direct.log $WORK/gateway.log; the gateway's audit: $GW_AUDIT"
fi
ok "every test ended the same way directly and through dockgate"
