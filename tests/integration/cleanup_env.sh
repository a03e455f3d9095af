#!/usr/bin/env bash
# ctest fixture "dockerd" (cleanup): stop any gateway a killed test left
# behind, stop the private dockerd and delete its data.
source "$(dirname "$0")/lib.sh"

IT_ENV_DIR="${3:-${IT_ENV_DIR:-}}"
[[ -n "$IT_ENV_DIR" ]] || fail "usage: $0 BUILD_DIR SOURCE_DIR ENV_DIR"
trap it_run_cleanups EXIT

# Gateways whose test was killed before its exit trap ran.
for f in "$IT_ENV_DIR"/pids/*; do
  [[ -f "$f" ]] || continue
  pid="$(cat "$f")"
  if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q dockgate; then
    log "stopping leftover process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline"))"
    kill -TERM "$pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
done

if [[ -f "$IT_ENV_DIR/env.sh" ]]; then
  # shellcheck disable=SC1091
  source "$IT_ENV_DIR/env.sh"
  if [[ -n "${DOCKERD_DIR:-}" && -d "$DOCKERD_DIR" ]]; then
    stop_dockerd "$DOCKERD_DIR"
    if [[ -f "$DOCKERD_DIR/pid" ]] && kill -0 "$(cat "$DOCKERD_DIR/pid")" 2>/dev/null; then
      fail "dockerd $(cat "$DOCKERD_DIR/pid") did not stop"
    fi
    # Keep the daemon's log for a post-mortem; the data goes.
    cp "$DOCKERD_DIR/dockerd.log" "$IT_ENV_DIR/dockerd.log" 2>/dev/null || true
    rm -rf "$DOCKERD_DIR"
    ok "private dockerd stopped and $DOCKERD_DIR removed"
  fi
  rm -f "$IT_ENV_DIR/env.sh" "$IT_ENV_DIR/setup.ok"
fi
if [[ -f "$IT_ENV_DIR/ip_forward.saved" ]]; then
  cat "$IT_ENV_DIR/ip_forward.saved" >/proc/sys/net/ipv4/ip_forward
  rm -f "$IT_ENV_DIR/ip_forward.saved"
fi
