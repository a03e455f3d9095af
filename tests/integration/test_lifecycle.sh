#!/usr/bin/env bash
# The gateway's own life cycle: the daemon unreachable gives 502 with a
# message (and no crash); SIGTERM stops accepting at once, lets in-flight
# requests (here a running `docker run` and a `logs -f`) finish, then exits 0.
source "$(dirname "$0")/lib.sh"
it_init "$@"

# --- upstream down: 502 with a JSON message, the gateway keeps running.
dir="$WORK/gw-down"
write_gateway_config "$dir" "$(free_port)"
sed -i "s|^upstream = .*|upstream = \"unix://$WORK/no-daemon.sock\"|" "$dir/dockgate.toml"
grep -q "no-daemon.sock" "$dir/dockgate.toml" || fail "test bug: edit did not apply"
start_gateway "$dir/dockgate.toml"
raw_request alice 'GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
assert_eq 502 "$(raw_status)" "daemon unreachable: 502"
body="$(sed -e '1,/^\r$/d' "$RAW_OUT")"
msg="$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])' 2>&1)" ||
  fail "the 502 body is not JSON with a message: $body"
assert_ne "" "$msg" "daemon unreachable: the 502 body carries a message ($msg)"
assert_failure "daemon unreachable: docker ps fails" -- gw_docker alice ps
assert_contains "$LAST_OUT" "$msg" "daemon unreachable: the docker CLI prints the gateway's message"
kill -0 "$GW_PID" 2>/dev/null || fail "the gateway died after the upstream failures"
ok "the gateway is still running"
wait_for_audit "any(int(r.get('status', 0)) == 502 and r['decision'] == 'error' and 'unreachable' in r.get('reason', '') for r in recs)" ||
  fail "no audit record with status 502, decision error and the reason: $(tail -n 1 "$GW_AUDIT")"
ok "audit: the 502 is recorded as an error with its reason"
stop_gateway || fail "dockgate did not stop on SIGTERM"

# --- graceful SIGTERM
gateway_up gw
gpid="$GW_PID"
daemon run -d --name "$CPREFIX-logs" local/busybox:1 sh -c 'echo start; sleep 4; echo end' >/dev/null
GW_TIMEOUT=60 gw_docker_bg "$WORK/logs.out" "$WORK/logs.err" alice logs -f "$CPREFIX-logs"
logs_pid=$BG_PID
GW_TIMEOUT=60 gw_docker_bg "$WORK/run.out" "$WORK/run.err" alice run --name "$CPREFIX-run" local/busybox:1 sh -c 'sleep 4; echo run-done'
run_pid=$BG_PID
# Both are in flight: logs has printed its first line, the run's container is up.
deadline=$((SECONDS + 20))
until grep -qx start "$WORK/logs.out" 2>/dev/null &&
  [[ "$(daemon inspect -f '{{.State.Running}}' "$CPREFIX-run" 2>/dev/null)" == true ]]; do
  ((SECONDS < deadline)) || fail "the in-flight requests did not get going: $(cat "$WORK/logs.err" "$WORK/run.err")"
  sleep 0.1
done
t0=$SECONDS
kill -TERM "$gpid"
# New connections are refused at once.
deadline=$((SECONDS + 3))
while wait_for_port "$GW_PORT" 0; do
  ((SECONDS < deadline)) || fail "the gateway still accepts connections 3 s after SIGTERM"
  sleep 0.1
done
ok "after SIGTERM the gateway stops accepting new connections"
rc=0
wait "$logs_pid" || rc=$?
assert_eq 0 "$rc" "in-flight logs -f finished normally after SIGTERM"
assert_eq "$(printf 'start\nend')" "$(cat "$WORK/logs.out")" "in-flight logs -f got every line"
rc=0
wait "$run_pid" || rc=$?
assert_eq 0 "$rc" "in-flight docker run finished normally after SIGTERM"
assert_eq "run-done" "$(cat "$WORK/run.out")" "in-flight docker run printed its output"
wait_gateway_exit 20 "its in-flight requests ended"
assert_eq 0 "$GW_RC" "the gateway exits 0 after SIGTERM ($((SECONDS - t0)) s)"
