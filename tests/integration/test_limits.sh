#!/usr/bin/env bash
# The [limits] and shutdown claims of the README, each against the real binary with short
# settings: the five timeouts, max_connections, header_bytes, backpressure with a slow reader,
# SIGTERM's shutdown_timeout and idle-connection close, and SIGINT.
# Every bound below is several times the configured limit and far below the default it
# replaces, so a limit that is not applied fails the check.
source "$(dirname "$0")/lib.sh"
it_init "$@"
PROBE=(python3 "$IT_SOURCE_DIR/tests/integration/conn_probe.py")
ALICE="$PKI_DIR/clients/alice"

# probe MODE ARGS...: conn_probe.py against the current gateway as alice; PROBED holds its
# JSON line. jf FIELD: a field of it.
probe() { PROBED="$("${PROBE[@]}" "$1" "$GW_PORT" "$ALICE" "${@:2}")" || fail "conn_probe $1 failed: $PROBED"; }
jf() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$PROBED" "$1"; }
# within LOW HIGH VALUE WHAT: LOW <= VALUE <= HIGH (seconds, VALUE may be "None").
within() {
  [[ "$3" != None ]] || fail "$4: still open (expected a close after $1-$2 s)"
  python3 -c 'import sys; l, h, v = map(float, sys.argv[1:4]); sys.exit(0 if l <= v <= h else 1)' "$1" "$2" "$3" ||
    fail "$4: after $3 s, expected $1-$2 s"
  ok "$4 ($(printf '%.1f' "$3") s)"
}

# limits_gateway NAME [UPSTREAM_SOCKET]: a gateway with the short limits below.
limits_gateway() {
  local dir="$WORK/$1"
  write_gateway_head "$dir" "$(free_port)"
  [[ -z "${2:-}" ]] || sed -i "s|^upstream = .*|upstream = \"unix://$2\"|" "$dir/dockgate.toml"
  cat >>"$dir/dockgate.toml" <<EOF
shutdown_timeout = "3s"

[limits]
max_connections = 4
header_bytes = 4096
handshake_timeout = "2s"
header_timeout = "2s"
idle_timeout = "2s"
write_timeout = "3s"
upstream_connect_timeout = "2s"

[users.alice]
groups = ["developers"]

[roles.operator]
subjects = ["group:developers"]
allow = ["*"]
EOF
  # shutdown_timeout belongs to [gateway]: move it there.
  python3 - "$dir/dockgate.toml" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines()
lines.remove('shutdown_timeout = "3s"')
lines.insert(lines.index("[gateway]") + 1, 'shutdown_timeout = "3s"')
open(p, "w").write("\n".join(lines) + "\n")
PY
  start_gateway "$dir/dockgate.toml"
}
limits_gateway gw

# --- handshake_timeout: a TCP peer that never starts TLS is closed.
probe silent-tcp 15
within 1.5 8 "$(jf closed_after)" "handshake_timeout 2s: a silent TCP peer is closed"

# --- header_timeout: a head that keeps coming, a byte every 0.25 s (so idle_timeout never
# fires), is cut off by the deadline on the whole head.
probe head-trickle 15
within 1.5 8 "$(jf closed_after)" "header_timeout 2s: a trickled request head is cut off"
assert_eq None "$(jf status)" "header_timeout: no response was produced for the incomplete head"

# --- idle_timeout: a keep-alive connection that sends nothing after a response.
probe idle-after-request 15
assert_eq 200 "$(jf ping)" "idle_timeout: the first request is answered"
within 1.5 8 "$(jf closed_after)" "idle_timeout 2s: an idle keep-alive connection is closed"
# ... and a pause inside a request body counts as idle, and the daemon never saw the request.
before="$(daemon ps -aq | wc -l)"
probe body-pause 15
within 1.5 8 "$(jf closed_after)" "idle_timeout 2s: a request body that stops is cut off"
assert_eq "$before" "$(daemon ps -aq | wc -l)" "the stalled create reached no container"

# --- a long stream is exempt from idle_timeout: docker events stays open past it and still
# delivers an event.
GW_TIMEOUT=60 gw_docker_bg "$WORK/ev.out" "$WORK/ev.err" alice events --format '{{.Type}} {{.Action}} {{.Actor.ID}}' \
  --filter "type=volume"
ev_pid=$BG_PID
sleep 5
kill -0 "$ev_pid" 2>/dev/null || fail "docker events ended during its idle period: $(cat "$WORK/ev.err")"
daemon volume create "$CPREFIX-limits-ev" >/dev/null
on_exit "daemon volume rm -f $CPREFIX-limits-ev >/dev/null 2>&1"
deadline=$((SECONDS + 15))
until grep -q "volume create $CPREFIX-limits-ev" "$WORK/ev.out" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "docker events got no event after 5 s of quiet: $(cat "$WORK/ev.out" "$WORK/ev.err")"
  sleep 0.2
done
ok "idle_timeout 2s: docker events quiet for 5 s still delivers the next event"
kill "$ev_pid" 2>/dev/null || true
wait "$ev_pid" 2>/dev/null || true

# --- header_bytes: a head past 4096 bytes is 431 (and closed); one under it is answered.
pad="$(head -c 3000 /dev/zero | tr '\0' a)"
raw_request alice "GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Pad: $pad\r\nConnection: close\r\n\r\n"
assert_eq 200 "$(raw_status)" "header_bytes 4096: a 3 KB head is answered"
pad="$(head -c 5000 /dev/zero | tr '\0' a)"
raw_request alice "GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Pad: $pad\r\n\r\n"
assert_eq 431 "$(raw_status)" "header_bytes 4096: a 5 KB head is 431"
assert_eq 1 "$RAW_CLOSED" "header_bytes: the connection is closed after the 431"

# --- max_connections: four connections are served, the fifth is closed on accept, and a
# place freed is a place available.
probe connections 4
assert_eq answered "$(jf after_one_closed)" "max_connections 4: a new connection is served once one closes"
assert_match "$(jf over_limit)" '^refused' "max_connections 4: a fifth connection is refused"
assert_contains "$(cat "$GW_STDERR")" "limits.max_connections (4) reached" "the refusal is logged with its key"

# --- backpressure: a reader that stops for 2 s after the response head (inside write_timeout),
# then takes 64 KiB at a time, gets every byte of a 200 MiB image save, and the gateway's memory
# does not grow with what the daemon could have sent meanwhile.
rss() { awk '/^VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
rss0="$(rss)"
"${PROBE[@]}" slow-reader "$GW_PORT" "$ALICE" /v1.41/images/local/big:1/get 2 65536 0.0005 >"$WORK/slow.json" &
slow_pid=$!
peak="$rss0"
while kill -0 "$slow_pid" 2>/dev/null; do
  r="$(rss)"
  ((r > peak)) && peak=$r
  sleep 0.2
done
wait "$slow_pid" || fail "the slow reader failed: $(cat "$WORK/slow.json")"
PROBED="$(cat "$WORK/slow.json")"
assert_eq 200 "$(jf status)" "slow reader: image save answered"
daemon save local/big:1 | sha256sum | cut -d' ' -f1 >"$WORK/save.sha"
assert_eq "$(cat "$WORK/save.sha")" "$(jf sha256)" "slow reader: every byte arrived, identical to the daemon's own save"
big="$(jf bytes)"
((big > 200 * 1024 * 1024)) || fail "slow reader: only $big bytes"
grow=$(((peak - rss0) / 1024))
# An ASan build keeps up to quarantine_size_mb of freed memory plus its shadow; an unbounded
# buffer would still grow by most of the 200 MiB.
bound=32
[[ -n "${ASAN_OPTIONS:-}" ]] && bound=64
((grow < bound)) || fail "slow reader: the gateway grew by $grow MiB while relaying $((big / 1048576)) MiB"
ok "backpressure: the gateway grew by $grow MiB (under $bound) relaying $((big / 1048576)) MiB to a slow reader"

# --- write_timeout: a client that stops reading is dropped once nothing moves for 3 s; the
# daemon's side is closed with it.
probe no-reader /v1.41/images/local/big:1/get 4096 40
within 2.5 25 "$(jf dropped_after)" "write_timeout 3s: a client that reads nothing is dropped"
kill -0 "$GW_PID" || fail "the gateway died"
stop_gateway || fail "dockgate did not stop cleanly"

# --- SIGTERM: idle keep-alive connections close at once, a long stream gets shutdown_timeout
# (3 s), then the gateway closes it and exits 0.
limits_gateway gw-term
gpid="$GW_PID"
"${PROBE[@]}" hold-idle "$GW_PORT" "$ALICE" "$WORK/idle.ready" 30 >"$WORK/idle.json" 2>&1 &
idle_pid=$!
PROBE=(python3 "$IT_SOURCE_DIR/tests/integration/conn_probe.py")
GW_TIMEOUT=60 gw_docker_bg "$WORK/ev2.out" "$WORK/ev2.err" alice events
ev_pid=$BG_PID
deadline=$((SECONDS + 15))
until [[ -s "$WORK/idle.ready" ]] && [[ "$(server_conns "$GW_PORT")" -ge 2 ]]; do
  ((SECONDS < deadline)) || fail "the idle connection and the events stream did not get going"
  sleep 0.1
done
sleep 0.5
t0="$(date +%s.%N)"
kill -TERM "$gpid"
rc=0
wait "$idle_pid" || rc=$?
PROBED="$(cat "$WORK/idle.json")"
assert_eq 0 "$rc" "the idle probe ran ($PROBED)"
closed_at="$(jf closed_at)"
[[ "$closed_at" != None ]] || fail "SIGTERM: the idle keep-alive connection was never closed"
idle_s="$(python3 -c 'import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 2))' "$closed_at" "$t0")"
within 0 1.5 "$idle_s" "SIGTERM: an idle keep-alive connection is closed at once"
wait_gateway_exit 20 "SIGTERM with shutdown_timeout 3s"
t1="$(date +%s.%N)"
assert_eq 0 "$GW_RC" "SIGTERM: the gateway exits 0"
term_s="$(python3 -c 'import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 2))' "$t1" "$t0")"
within 2.5 8 "$term_s" "SIGTERM: the events stream was given shutdown_timeout 3s, then closed"
assert_contains "$(cat "$GW_STDERR")" "gateway.shutdown_timeout reached" "the forced close is logged"
check_sanitizer_log "$GW_STDERR" || fail "sanitizer report"
deadline=$((SECONDS + 10))
while kill -0 "$ev_pid" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "docker events did not end after the gateway closed its stream"
  sleep 0.1
done
wait "$ev_pid" 2>/dev/null || true
ok "SIGTERM: the client's docker events ended with the gateway"

# --- SIGINT: the same orderly stop.
limits_gateway gw-int
gpid="$GW_PID"
assert_success "docker version before SIGINT" -- gw_docker alice version
kill -INT "$gpid"
wait_gateway_exit 10 SIGINT
assert_eq 0 "$GW_RC" "SIGINT: the gateway exits 0"
wait_for_port "$GW_PORT" 0 && fail "SIGINT: something still accepts on $GW_PORT"
assert_contains "$(cat "$GW_STDERR")" "signal 2" "SIGINT: the shutdown names the signal"
check_sanitizer_log "$GW_STDERR" || fail "sanitizer report"
ok "SIGINT stops the gateway"

# --- upstream_connect_timeout: a daemon whose accept queue is full (listen backlog 0, one
# connection waiting) is waited for, up to the limit, then a 502 names the key; one that makes
# room within the limit gets the request.
slow="$WORK/slow-daemon.sock"
python3 - "$slow" "$WORK/accept.now" >"$WORK/slow-daemon.log" 2>&1 <<'PY' &
import os, socket, sys, time
path, trigger = sys.argv[1:3]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(0)
filler = socket.socket(socket.AF_UNIX)
filler.connect(path)  # the queue is full from here on
while not os.path.exists(trigger):
    time.sleep(0.05)
while True:
    c, _ = srv.accept()
    c.settimeout(5)
    try:
        if c.recv(65536):
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK")
    except OSError:
        pass
    c.close()
PY
slow_daemon=$!
on_exit "kill $slow_daemon 2>/dev/null"
deadline=$((SECONDS + 10))
until [[ -S "$slow" ]]; do
  ((SECONDS < deadline)) || fail "the stand-in daemon did not start: $(cat "$WORK/slow-daemon.log")"
  sleep 0.1
done
limits_gateway gw-upstream "$slow"
t0=$SECONDS
RAW_TIMEOUT=20 raw_request alice 'GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
assert_eq 502 "$(raw_status)" "upstream_connect_timeout: a daemon that accepts nothing is a 502"
assert_contains "$(cat "$RAW_OUT")" "limits.upstream_connect_timeout (2s)" "the 502 names the limit"
within 1.5 10 "$((SECONDS - t0))" "upstream_connect_timeout 2s: the gateway waited for the daemon, then gave up"
RAW_TIMEOUT=20 raw_request alice 'GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n' &
req_pid=$!
sleep 0.7
touch "$WORK/accept.now"
wait "$req_pid" || true
assert_eq 200 "$(raw_status "$WORK/raw.$((RAW_N + 1)).out")" "upstream_connect_timeout: a daemon that makes room in time gets the request"
stop_gateway || fail "dockgate did not stop cleanly"
