#!/usr/bin/env bash
# Onboarding: an allow-all role in audit mode records what alice's docker CLI asks of the host,
# `dockgate learn` turns those audit lines into a role, check-config accepts it, and the same
# commands replayed through it in enforce mode all pass while anything beyond them (another
# capability, another bind source, --privileged, an operation never used) is refused and the
# daemon does not act.
source "$(dirname "$0")/lib.sh"
it_init "$@"

DATA="$(mktemp -d /tmp/dockgate-it-learn.XXXXXX)"
on_exit "rm -rf $DATA"
mkdir -p "$DATA/allowed" "$DATA/other"
chmod 0777 "$DATA/allowed" "$DATA/other"
echo "from the host" >"$DATA/allowed/file"
on_exit 'daemon rm -f "$CPREFIX-app" "$CPREFIX-sysadmin" "$CPREFIX-otherbind" "$CPREFIX-priv" >/dev/null 2>&1'
on_exit 'daemon volume rm -f "$CPREFIX-vol" >/dev/null 2>&1; daemon network rm "$CPREFIX-net" >/dev/null 2>&1'
on_exit 'daemon rmi -f "local/$CPREFIX-tagged:1" >/dev/null 2>&1'

# The commands learned from and replayed, each checked at the daemon.
traffic() {
  local round="$1"
  assert_success "$round: docker run -d --cap-add NET_ADMIN -v ALLOWED:/x --user 1000:1000" -- \
    gw_docker alice run -d --name "$CPREFIX-app" --cap-add NET_ADMIN -v "$DATA/allowed:/x" \
    --user 1000:1000 local/busybox:1 sleep 600
  assert_eq true "$(daemon inspect -f '{{.State.Running}}' "$CPREFIX-app")" "$round: the container runs"
  assert_eq "from the host" "$(gw_docker alice exec --user 1000:1000 "$CPREFIX-app" cat /x/file)" \
    "$round: docker exec reads the bind"
  assert_success "$round: docker volume create" -- gw_docker alice volume create "$CPREFIX-vol"
  daemon_has volume "$CPREFIX-vol" || fail "$round: the volume was not created"
  assert_success "$round: docker ps" -- gw_docker alice ps
  assert_contains "$LAST_OUT" "$CPREFIX-app" "$round: docker ps lists the container"
  assert_success "$round: docker images" -- gw_docker alice images
  assert_success "$round: docker logs" -- gw_docker alice logs "$CPREFIX-app"
  assert_success "$round: docker tag" -- gw_docker alice tag local/busybox:1 "local/$CPREFIX-tagged:1"
  daemon image inspect "local/$CPREFIX-tagged:1" >/dev/null || fail "$round: the tag was not made"
  assert_success "$round: docker rm -f" -- gw_docker alice rm -f "$CPREFIX-app"
  daemon_has any "$CPREFIX-app" && fail "$round: the container was not removed"
  assert_success "$round: docker volume rm" -- gw_docker alice volume rm "$CPREFIX-vol"
  assert_success "$round: docker rmi" -- gw_docker alice rmi "local/$CPREFIX-tagged:1"
  ok "$round: every command acted at the daemon"
}

# --- 1. audit mode: everything passes and is recorded ------------------------------------
GW="$WORK/audit"
write_gateway_head "$GW" "$(free_port)"
cat >>"$GW/dockgate.toml" <<EOF

[roles.onboarding]
subjects = ["user:alice"]
allow = ["*"]
mode = "audit"
EOF
start_gateway "$GW/dockgate.toml"
traffic "audit mode"
wait_for_audit "any(r['operation'] == 'ContainerCreate' and 'CAP_NET_ADMIN' in r.get('request', {}).get('cap_add', []) for r in recs)" ||
  fail "the ContainerCreate audit line carries no request facts: $(grep ContainerCreate "$GW_AUDIT")"
assert_eq "['$DATA/allowed']" "$(audit_query "[r['request'].get('bind_sources') for r in recs if r['operation'] == 'ContainerCreate'][0]")" \
  "the audit line names the bind source"
assert_eq "docker.io/local/busybox:1" "$(audit_query "[r['request']['image'] for r in recs if r['operation'] == 'ContainerCreate'][0]")" \
  "the audit line names the normalised image"
assert_eq "{'driver': 'local'}" "$(audit_query "[r['request'] for r in recs if r['operation'] == 'VolumeCreate'][0]")" \
  "the VolumeCreate line names its driver, no options"
stop_gateway || fail "the audit-mode gateway did not stop cleanly"
AUDIT_LINES="$GW_AUDIT"
# Someone else's traffic and a line that is not an audit record are not learned from.
echo '{"user":"mallory","groups":[],"operation":"SystemInfo","decision":"allow","time":"x"}' >>"$AUDIT_LINES"
echo 'garbage' >>"$AUDIT_LINES"

# --- 2. learn ------------------------------------------------------------------------------
"$DOCKGATE" learn "$AUDIT_LINES" --user alice --name alice-learned >"$WORK/role.toml" 2>"$WORK/learn.err" ||
  fail "dockgate learn failed: $(cat "$WORK/learn.err")"
log "proposed role:"; cat "$WORK/role.toml" >&2
ROLE="$(cat "$WORK/role.toml")"
assert_contains "$(cat "$WORK/learn.err")" "1 line(s) skipped" "learn counts the malformed line on stderr"
assert_contains "$ROLE" 'subjects = ["user:alice"]' "the role names alice"
assert_contains "$ROLE" '"ContainerCreate"' "ContainerCreate is allowed"
assert_not_contains "$ROLE" '"SystemInfo"' "mallory's operation is not learned"
assert_not_contains "$ROLE" '"NetworkCreate"' "an unused operation is not allowed"
assert_contains "$ROLE" 'cap_add = ["NET_ADMIN"]' "exactly the capability used"
assert_contains "$ROLE" "bind_sources = [\"$DATA/allowed\"]" "exactly the bind source used"
assert_contains "$ROLE" 'privileged = false' "privileged was not used"
assert_contains "$ROLE" 'run_as_non_root = true' "every create and exec named a non-root user"
assert_contains "$ROLE" 'registries = ["docker.io/local/busybox"]' "exactly the repository used"
assert_contains "$ROLE" 'drivers = ["local"]' "the volume driver used"

GW2="$WORK/enforce"
write_gateway_head "$GW2" "$(free_port)"
{ echo; cat "$WORK/role.toml"; } >>"$GW2/dockgate.toml"
assert_success "check-config accepts the proposed role" -- "$DOCKGATE" check-config "$GW2/dockgate.toml"

# --- 3. enforce mode: the same traffic passes, nothing else does ------------------------
start_gateway "$GW2/dockgate.toml"
traffic "enforce mode"
wait_for_audit "any(r['operation'] == 'VolumeDelete' for r in recs)" || fail "the replay left no audit lines"
assert_eq "[]" "$(audit_query "[(r['operation'], r['decision']) for r in recs if r['decision'] != 'allow']")" \
  "every replayed request was allowed (none denied or would-deny)"

count_containers() { daemon ps -aq | wc -l; }
before="$(count_containers)"
assert_failure "another capability (--cap-add SYS_ADMIN) is refused" -- \
  gw_docker alice run -d --name "$CPREFIX-sysadmin" --cap-add SYS_ADMIN --user 1000:1000 local/busybox:1 sleep 600
assert_contains "$LAST_OUT" "roles.alice-learned.containers.cap_add" "the refusal names cap_add"
assert_failure "a bind outside the learned sources is refused" -- \
  gw_docker alice run -d --name "$CPREFIX-otherbind" -v "$DATA/other:/x" --user 1000:1000 local/busybox:1 sleep 600
assert_contains "$LAST_OUT" "roles.alice-learned.containers.bind_sources" "the refusal names bind_sources"
assert_failure "--privileged is refused" -- \
  gw_docker alice run -d --name "$CPREFIX-priv" --privileged --user 1000:1000 local/busybox:1 sleep 600
assert_contains "$LAST_OUT" "roles.alice-learned.containers.privileged" "the refusal names privileged"
assert_eq "$before" "$(count_containers)" "the daemon created no container for the refused runs"
for n in sysadmin otherbind priv; do
  daemon_has any "$CPREFIX-$n" && fail "a container $CPREFIX-$n exists at the daemon"
done
ok "no refused container exists at the daemon"
assert_failure "an operation never used (docker network create) is refused" -- \
  gw_docker alice network create "$CPREFIX-net"
assert_contains "$LAST_OUT" "alice may not NetworkCreate" "the refusal names NetworkCreate"
daemon_has network "$CPREFIX-net" && fail "the network was created"
ok "the daemon created no network"
