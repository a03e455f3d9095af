#!/usr/bin/env bash
# docker events through dockgate: a long-lived streamed response that must
# deliver each event as it happens (not buffered until the stream ends).
source "$(dirname "$0")/lib.sh"
it_init "$@"

gateway_up gw

name="$CPREFIX-ev"
probe="$CPREFIX-probe"
ev="$WORK/events.txt"
: >"$ev"
# In the background, for at most 90 s; stopped by the exit trap.
GW_TIMEOUT=90 gw_docker_bg "$ev" "$WORK/events.err" alice events \
  --filter "container=$name" --filter "container=$probe" --format '{{.Actor.Attributes.name}} {{.Action}}'
EV_PID=$BG_PID

# Subscribed yet? Create and remove a probe container (straight at the daemon)
# until its create event comes through the stream.
seen=0
for i in $(seq 1 20); do
  kill -0 "$EV_PID" 2>/dev/null || fail "docker events exited early: $(cat "$WORK/events.err")"
  daemon create --name "$probe" local/busybox:1 true >/dev/null
  daemon rm "$probe" >/dev/null
  for _ in 1 2 3 4 5; do
    if grep -qx "$probe create" "$ev"; then seen=1; break 2; fi
    sleep 0.2
  done
done
((seen)) || fail "no event for the probe container came through the stream in 20 tries: $(cat "$ev" "$WORK/events.err")"
ok "events: the stream delivers events (probe container seen after $i tries)"

gw_docker alice create --name "$name" local/busybox:1 true >/dev/null || fail "docker create failed"
# The create event must arrive while the stream is open.
deadline=$((SECONDS + 15))
until grep -qx "$name create" "$ev"; do
  ((SECONDS < deadline)) || fail "no 'create' event within 15 s; got: $(cat "$ev")"
  sleep 0.2
done
ok "events: 'create' delivered while the stream stays open"
gw_docker alice rm "$name" >/dev/null || fail "docker rm failed"
deadline=$((SECONDS + 15))
until grep -qx "$name destroy" "$ev"; do
  ((SECONDS < deadline)) || fail "no 'destroy' event within 15 s; got: $(cat "$ev")"
  sleep 0.2
done
ok "events: 'destroy' delivered"
assert_eq "$(printf '%s create\n%s destroy' "$name" "$name")" "$(grep "^$name " "$ev")" \
  "events stream shows exactly create, destroy for the container"
kill -0 "$EV_PID" 2>/dev/null || fail "docker events ended on its own: $(cat "$WORK/events.err")"
ok "the events stream is still open"

# --since/--until: a bounded query that ends by itself (until = a second
# after the destroy, so both events are in the window).
sleep 1.5
out="$(GW_TIMEOUT=30 gw_docker alice events --since 5m --until 0s --filter "container=$name" --format '{{.Action}}' 2>&1)" ||
  fail "docker events --since/--until failed: $out"
assert_eq "$(printf 'create\ndestroy')" "$out" "events --since --until replays the same two events and ends"

wait_for_audit "any(r.get('operation') == 'SystemEvents' and r.get('decision') == 'allow' for r in recs)" ||
  fail "no allowed SystemEvents audit record"
ok "audit: SystemEvents recorded"

# The client goes away (Ctrl-C): the gateway must notice and drop the stream
# (and with it the daemon's subscription), not keep it until shutdown.
kill "$EV_PID" 2>/dev/null || true
wait "$EV_PID" 2>/dev/null || true
deadline=$((SECONDS + 10))
while :; do
  conns="$(server_conns "$GW_PORT")"
  ((conns == 0)) && break
  ((SECONDS < deadline)) ||
    fail "the gateway still holds $conns client connection(s) (established or close-wait) 10 s after docker events exited"
  sleep 0.2
done
ok "after docker events exits, the gateway closes its side of the stream"
