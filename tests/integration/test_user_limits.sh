#!/usr/bin/env bash
# Abuse limits per identity: a request rate (token bucket), requests in flight, open
# connections, each answered 429 with Retry-After and a message the docker CLI prints, audited
# as "limited" and counted per user; a role's [limits] override, the most generous of a user's
# roles winning; and new handshakes per source address refused before any TLS work.
source "$(dirname "$0")/lib.sh"
it_init "$@"
PROBE=(python3 "$IT_SOURCE_DIR/tests/integration/conn_probe.py")

GW="$WORK/gw"
write_gateway_head "$GW" "$(free_port)"
ADMIN="$(free_port)"
cat >>"$GW/dockgate.toml" <<EOF

[admin]
address = "127.0.0.1:$ADMIN"

[limits]
per_user_connections = 3
per_user_inflight = 2
handshakes_per_ip = 0

[roles.operator]
subjects = ["group:developers"]
allow = ["*"]
[roles.operator.limits]
per_user_rate = 0.1
per_user_burst = 3

[roles.streams]
subjects = ["user:erin"]
allow = ["System*", "ContainerList"]

[roles.batch]
subjects = ["user:bob"]
allow = ["*"]
[roles.batch.limits]
per_user_rate = 0
per_user_connections = 50
per_user_inflight = 50
EOF
start_gateway "$GW/dockgate.toml"
metric() { curl -s "http://127.0.0.1:$ADMIN/metrics" | grep -F "$1" | awk '{print $2}'; }
PING='GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n'

# --- the rate: role operator allows 3 at once, then one every 10 s. Five pipelined requests on
# one connection: three answered, the rest 429 on the same (still open) connection, each
# after a pause: a connection answered 429 is not read again for min(Retry-After, 1 s).
t0=$SECONDS
RAW_TIMEOUT=20 raw_request alice "$PING$PING$PING$PING${PING/\\r\\n\\r\\n/\\r\\nConnection: close\\r\\n\\r\\n}"
assert_eq "200 200 200 429 429" "$(raw_statuses)" "per_user_rate 0.1/s, burst 3: three of five answered"
assert_contains "$(cat "$RAW_OUT")" "Retry-After: 10" "the 429 says when to come back"
assert_contains "$(cat "$RAW_OUT")" "dockgate: alice is over limits.per_user_rate (0.1 requests per second); retry in 10 s" \
  "the 429 names the user, the limit and its value"
((SECONDS - t0 >= 2)) || fail "the two 429s on one connection came back within $((SECONDS - t0)) s: the connection was read on at once"
ok "after each 429 the connection waited before reading the next request"
# A create over the limit is refused before the daemon sees it.
body='{"Image":"local/busybox:1","Cmd":["true"]}'
raw_request alice "POST /v1.41/containers/create?name=$CPREFIX-limited HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
assert_eq 429 "$(raw_status)" "a create over the rate: 429"
rc=0
daemon_has container "$CPREFIX-limited" || rc=$?
assert_eq 1 "$rc" "the daemon created no container for it"
assert_failure "docker ps over the rate fails" -- gw_docker alice ps
assert_contains "$LAST_OUT" "Error response from daemon: dockgate: alice is over limits.per_user_rate" \
  "the docker CLI prints the limit"
wait_for_audit "any(r['user'] == 'alice' and r['decision'] == 'limited' and r['status'] == 429 and r['rule'] == 'limits.per_user_rate' for r in recs)" ||
  fail "no audit line with decision limited for alice"
ok "audit: the refusals are 'limited' with the rule limits.per_user_rate"
n="$(metric 'dockgate_limited_total{user="alice",limit="per_user_rate"}')"
assert_match "$n" '^[0-9]+$' "the per-user limited metric is there ($n)"
((n >= 4)) || fail "dockgate_limited_total for alice is $n, expected at least 4"
ok "metrics count alice's limited requests ($n)"
((t0 + 11 > SECONDS)) && sleep $((t0 + 11 - SECONDS))
raw_request alice "${PING/\\r\\n\\r\\n/\\r\\nConnection: close\\r\\n\\r\\n}"
assert_eq 200 "$(raw_status)" "ten seconds later a token is back"

# --- a role's override, most generous wins: bob holds operator (0.5/s) and batch (no rate).
raw_request bob "$PING$PING$PING$PING$PING$PING$PING${PING/\\r\\n\\r\\n/\\r\\nConnection: close\\r\\n\\r\\n}"
assert_eq "200 200 200 200 200 200 200 200" "$(raw_statuses)" "bob (roles operator and batch): batch's 'no rate limit' wins"

# --- requests in flight (per_user_inflight 2): two docker events streams hold both places; a
# third request is refused and the streams carry on.
GW_TIMEOUT=120 gw_docker_bg "$WORK/ev1.out" "$WORK/ev1.err" erin events --format '{{.Type}} {{.Action}} {{.Actor.ID}}' --filter type=volume
ev1=$BG_PID
GW_TIMEOUT=120 gw_docker_bg "$WORK/ev2.out" "$WORK/ev2.err" erin events --format '{{.Type}} {{.Action}} {{.Actor.ID}}' --filter type=volume
ev2=$BG_PID
deadline=$((SECONDS + 20))
until [[ "$(server_conns "$GW_PORT")" -ge 2 ]]; do
  ((SECONDS < deadline)) || fail "erin's streams did not start: $(cat "$WORK/ev1.err" "$WORK/ev2.err")"
  sleep 0.2
done
sleep 1
assert_failure "a third request of erin's while two streams run" -- gw_docker erin ps
assert_contains "$LAST_OUT" "over limits.per_user_inflight (2 requests in progress)" "the refusal names per_user_inflight"
daemon volume create "$CPREFIX-inflight" >/dev/null
on_exit "daemon volume rm -f $CPREFIX-inflight >/dev/null 2>&1"
for f in ev1 ev2; do
  deadline=$((SECONDS + 15))
  until grep -q "volume create $CPREFIX-inflight" "$WORK/$f.out" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "stream $f no longer delivers events: $(cat "$WORK/$f.err")"
    sleep 0.2
  done
done
ok "both long streams carry on past the refusal"
kill "$ev1" 2>/dev/null || true
wait "$ev1" 2>/dev/null || true
sleep 0.5
assert_success "a stream ended frees its place: docker ps" -- gw_docker erin ps
kill "$ev2" 2>/dev/null || true
wait "$ev2" 2>/dev/null || true

# --- connections (per_user_connections 3): a fourth connection's first request is 429 and the
# connection closes; once one of the three closes, a new one is served.
sleep 0.5
PROBED="$("${PROBE[@]}" user-connections "$GW_PORT" "$PKI_DIR/clients/erin" 3)" || fail "probe failed: $PROBED"
jf() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$PROBED" "$1"; }
assert_eq 429 "$(jf over_status)" "per_user_connections 3: a fourth connection is answered 429"
assert_eq 1 "$(jf retry_after)" "it carries Retry-After: 1"
assert_contains "$(jf message)" "over limits.per_user_connections (3 open connections)" "the message names the limit"
assert_eq True "$(jf over_closed)" "the fourth connection is closed"
assert_eq 200 "$(jf after_one_closed)" "after one of the three closed, a new connection is served"

# --- handshakes per source address: 3 a second (6 in a burst), set by a reload. The rest are
# closed before the TLS handshake.
r0="$(curl -s "http://127.0.0.1:$ADMIN/metrics" | sed -n 's/^dockgate_reloads_total \([0-9]*\)$/\1/p')"
sed -i 's/^handshakes_per_ip = 0$/handshakes_per_ip = 3/' "$GW/dockgate.toml"
grep -q '^handshakes_per_ip = 3$' "$GW/dockgate.toml" || fail "test bug: edit did not apply"
deadline=$((SECONDS + 15))
until [[ "$(curl -s "http://127.0.0.1:$ADMIN/metrics" | sed -n 's/^dockgate_reloads_total \([0-9]*\)$/\1/p')" -gt "$r0" ]]; do
  ((SECONDS < deadline)) || fail "the handshakes_per_ip change was not reloaded"
  sleep 0.2
done
sleep 2.5 # the bucket refills to its burst
before="$(metric 'dockgate_handshake_failures_total{reason="rate_limited"}')"
PROBED="$("${PROBE[@]}" handshakes "$GW_PORT" "$PKI_DIR/clients/bob" 20)" || fail "probe failed: $PROBED"
done_n="$(jf completed)"
((done_n >= 6 && done_n <= 9)) || fail "handshakes_per_ip 3: $done_n of 20 back-to-back handshakes completed, expected 6-9"
ok "handshakes_per_ip 3: $done_n of 20 back-to-back handshakes completed"
after="$(metric 'dockgate_handshake_failures_total{reason="rate_limited"}')"
(((after - before) == 20 - done_n)) || fail "rate_limited handshake failures went $before -> $after, expected +$((20 - done_n))"
ok "each refused connection is counted as rate_limited"
assert_contains "$(cat "$GW_STDERR")" "limits.handshakes_per_ip (3/s) reached for 127.0.0.1" "the refusal is logged with its key"
stop_gateway || fail "dockgate did not stop cleanly"
