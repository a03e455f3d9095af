#!/usr/bin/env bash
# Policy denials through dockgate with the stock docker CLI: the CLI prints
# dockgate's message, and the daemon shows that nothing happened.
source "$(dirname "$0")/lib.sh"
it_init "$@"

gateway_up gw

count_containers() { daemon ps -aq | wc -l; }

# A running container owned by the test, for carol and dave to poke at.
target="$CPREFIX-target"
daemon run -d --name "$target" local/busybox:1 sleep 600 >/dev/null
target_id="$(daemon inspect -f '{{.Id}}' "$target")"

# --- carol: role readonly (via user:carol) lists but may not create.
before="$(count_containers)"
assert_failure "carol: docker run is refused" -- \
  gw_docker carol run --name "$CPREFIX-carol" local/busybox:1 echo should-not-run
assert_contains "$LAST_OUT" "Error response from daemon: dockgate: carol may not ContainerCreate" \
  "carol: the CLI prints dockgate's denial naming the user and operation"
assert_not_contains "$LAST_OUT" "should-not-run" "carol: the container did not run"
assert_eq "$before" "$(count_containers)" "carol: the daemon has as many containers as before"
if daemon_has any "$CPREFIX-carol"; then
  fail "carol: a container named $CPREFIX-carol exists at the daemon"
fi
ok "carol: no container named $CPREFIX-carol exists at the daemon"
assert_eq "" "$(daemon events --since 60s --until 0s --filter event=create --format '{{.Actor.Attributes.name}}' | grep -x "$CPREFIX-carol" || true)" \
  "carol: the daemon emitted no create event for that name"

assert_failure "carol: docker exec is refused" -- gw_docker carol exec "$target" touch /tmp/carol-was-here
assert_contains "$LAST_OUT" "dockgate: carol may not ContainerExec" "carol: exec denial names ContainerExec"
if daemon exec "$target" test -e /tmp/carol-was-here; then fail "carol's exec ran in the container"; fi
ok "carol: the exec did not run"

assert_failure "carol: docker rm -f is refused" -- gw_docker carol rm -f "$target"
assert_contains "$LAST_OUT" "dockgate: carol may not ContainerDelete" "carol: rm denial names ContainerDelete"
assert_eq "running" "$(daemon inspect -f '{{.State.Status}}' "$target")" "carol: the container is still running"

assert_failure "carol: docker stop is refused" -- gw_docker carol stop -t 0 "$target"
assert_contains "$LAST_OUT" "dockgate: carol may not ContainerStop" "carol: stop denial names ContainerStop"
assert_eq "running" "$(daemon inspect -f '{{.State.Status}}' "$target")" "carol: the container is still running after stop"

assert_failure "carol: docker rmi is refused" -- gw_docker carol rmi local/busybox:1
assert_contains "$LAST_OUT" "dockgate: carol may not ImageDelete" "carol: rmi denial names ImageDelete"
daemon image inspect local/busybox:1 >/dev/null || fail "local/busybox:1 was deleted"
ok "carol: the image is still there"

assert_failure "carol: docker volume create is refused" -- gw_docker carol volume create "$CPREFIX-vol"
assert_contains "$LAST_OUT" "dockgate: carol may not VolumeCreate" "carol: volume create denial names VolumeCreate"
if daemon_has volume "$CPREFIX-vol"; then fail "carol's volume was created"; fi
ok "carol: no volume was created"

# What carol's role allows still works on the same connection settings.
out="$(gw_docker carol inspect -f '{{.Id}}' "$target" 2>&1)" || fail "carol: docker inspect failed: $out"
assert_eq "$target_id" "$out" "carol: docker inspect (ContainerInspect) is allowed"

# --- alice: operator allows "*" but denies Plugin* and Swarm*: deny wins.
assert_failure "alice: docker plugin ls is refused (deny Plugin*)" -- gw_docker alice plugin ls
assert_contains "$LAST_OUT" "dockgate: alice may not PluginList" "alice: plugin ls denial names PluginList"
assert_failure "alice: docker swarm init is refused (deny Swarm*)" -- gw_docker alice swarm init
assert_contains "$LAST_OUT" "dockgate: alice may not SwarmInit" "alice: swarm init denial names SwarmInit"
assert_eq "inactive" "$(daemon info -f '{{.Swarm.LocalNodeState}}')" "alice: the daemon is not in a swarm"

# --- dave: a valid certificate but no role at all: nothing is allowed.
assert_failure "dave: docker ps is refused" -- gw_docker dave ps
assert_contains "$LAST_OUT" "dockgate: dave may not" "dave: the CLI prints dockgate's denial naming dave"
assert_not_contains "$LAST_OUT" "$target" "dave: no container listing leaked"
before="$(count_containers)"
assert_failure "dave: docker run is refused" -- gw_docker dave run --name "$CPREFIX-dave" local/busybox:1 true
assert_contains "$LAST_OUT" "dockgate: dave may not" "dave: run denial names dave"
assert_eq "$before" "$(count_containers)" "dave: the daemon has as many containers as before"

# --- the raw 403 itself: status and JSON body.
body='{"Image":"local/busybox:1","Cmd":["true"]}'
raw_request carol "POST /v1.41/containers/create?name=$CPREFIX-raw HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
assert_eq 403 "$(raw_status)" "carol: raw ContainerCreate gets 403"
body="$(sed -e '1,/^\r$/d' "$RAW_OUT")"
msg="$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])' 2>&1)" ||
  fail "403 body is not JSON with a message: $body"
assert_match "$msg" '^dockgate: carol may not ContainerCreate: .+' "the 403 body is {\"message\":\"dockgate: carol may not ContainerCreate: <reason>\"}"
if daemon_has any "$CPREFIX-raw"; then fail "the raw create made a container"; fi
ok "carol: the raw create made no container"

# --- audit: deny records for each, with the user and operation.
wait_for_audit "any(r.get('user') == 'carol' and r.get('operation') == 'ContainerCreate' and r.get('decision') == 'deny' and int(r.get('status', 0)) == 403 for r in recs)" ||
  fail "no deny audit record (status 403) for carol's ContainerCreate"
ok "audit: carol ContainerCreate deny 403"
wait_for_audit "any(r.get('user') == 'dave' and r.get('decision') == 'deny' for r in recs) and not any(r.get('user') == 'dave' and r.get('decision') == 'allow' for r in recs)" ||
  fail "dave's audit records are not all denies"
ok "audit: dave only denied"
wait_for_audit "any(r.get('user') == 'alice' and r.get('operation') == 'SwarmInit' and r.get('decision') == 'deny' for r in recs)" ||
  fail "no deny audit record for alice's SwarmInit"
ok "audit: alice SwarmInit deny"
wait_for_audit "any(r.get('user') == 'carol' and r.get('operation') == 'ContainerInspect' and r.get('decision') == 'allow' and r.get('role') == 'readonly' for r in recs)" ||
  fail "no allow audit record with role readonly for carol's ContainerInspect"
ok "audit: carol ContainerInspect allow by role readonly"
