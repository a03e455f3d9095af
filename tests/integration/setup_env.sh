#!/usr/bin/env bash
# ctest fixture "dockerd" (setup): start ONE private dockerd for the whole
# integration suite, import local/busybox:1 and local/big:1 into it, and make
# the test PKI. Everything goes to ENV_DIR (the dockerd's own folder is a short
# path under /tmp, for unix socket path limits, recorded in ENV_DIR/env.sh).
# cleanup_env.sh undoes it all.
source "$(dirname "$0")/lib.sh"

IT_BUILD_DIR="${1:-${IT_BUILD_DIR:-}}"
IT_SOURCE_DIR="${2:-${IT_SOURCE_DIR:-}}"
IT_ENV_DIR="${3:-${IT_ENV_DIR:-}}"
[[ -n "$IT_ENV_DIR" ]] || fail "usage: $0 BUILD_DIR SOURCE_DIR ENV_DIR"
trap it_run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
require_root_and_tools

# A previous run that was killed may have left its dockerd or gateways behind.
bash "$IT_LIB_DIR/cleanup_env.sh" "$IT_BUILD_DIR" "$IT_SOURCE_DIR" "$IT_ENV_DIR" >/dev/null 2>&1 || true

mkdir -p "$IT_ENV_DIR"
rm -rf "$IT_ENV_DIR/work" "$IT_ENV_DIR/pids" "$IT_ENV_DIR/docker-config"
mkdir -p "$IT_ENV_DIR/work" "$IT_ENV_DIR/pids" "$IT_ENV_DIR/docker-config"
echo '{}' >"$IT_ENV_DIR/docker-config/config.json"
export DOCKER_CONFIG="$IT_ENV_DIR/docker-config"

t0=$SECONDS
PKI_DIR="$IT_ENV_DIR/pki"
make_pki "$PKI_DIR"
ok "test PKI made in $PKI_DIR ($((SECONDS - t0)) s)"

DOCKERD_DIR="$(mktemp -d /tmp/dockgate-it.XXXXXX)"
DOCKER_SOCK="$DOCKERD_DIR/docker.sock"
cat >"$IT_ENV_DIR/env.sh" <<ENV
DOCKERD_DIR='$DOCKERD_DIR'
DOCKER_SOCK='$DOCKER_SOCK'
PKI_DIR='$PKI_DIR'
ENV
# Until everything below succeeded, a failure stops the daemon again.
on_exit '[[ -f "$IT_ENV_DIR/setup.ok" ]] || { stop_dockerd "$DOCKERD_DIR"; rm -rf "$DOCKERD_DIR"; }'
rm -f "$IT_ENV_DIR/setup.ok"

# With IPv4 forwarding off, the daemon answers every container create with a warning that the
# CLI prints among the output the tests compare. The daemon runs without networking here
# (--bridge=none, no iptables), so turning it on for the run changes nothing else; cleanup
# restores the host's value.
forward="$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || echo 1)"
if [[ "$forward" == 0 ]]; then
  echo 0 >"$IT_ENV_DIR/ip_forward.saved"
  echo 1 >/proc/sys/net/ipv4/ip_forward || fail "cannot set net.ipv4.ip_forward=1"
fi

t0=$SECONDS
start_dockerd "$DOCKERD_DIR"
ok "private dockerd $(daemon version --format '{{.Server.Version}}') answers on $DOCKER_SOCK ($((SECONDS - t0)) s)"

t0=$SECONDS
make_busybox_image "$DOCKERD_DIR"
ok "local/busybox:1 imported and runs ($((SECONDS - t0)) s)"

t0=$SECONDS
make_big_image "$DOCKERD_DIR"
size="$(daemon image inspect local/big:1 --format '{{.Size}}')"
((size >= 200 * 1024 * 1024)) || fail "local/big:1 is only $size bytes"
ok "local/big:1 imported, $size bytes ($((SECONDS - t0)) s)"

touch "$IT_ENV_DIR/setup.ok"
