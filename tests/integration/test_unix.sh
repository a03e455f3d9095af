#!/usr/bin/env bash
# The local unix-socket listener: a filtered socket for local services instead of the daemon's
# own. The peer's uid names the user (passwd name, else uid:N); roles and policy as for TLS.
source "$(dirname "$0")/lib.sh"
it_init "$@"

TUSER="dgu$$"
TGROUP="dgsock$$"
groupadd "$TGROUP" || fail "groupadd $TGROUP failed"
useradd --no-create-home --home-dir /nonexistent --shell /bin/sh -G "$TGROUP" "$TUSER" || fail "useradd $TUSER failed"
on_exit "userdel $TUSER; groupdel $TGROUP"
TUID="$(id -u "$TUSER")"
NOBODY_UID=54321 # no passwd entry
getent passwd "$NOBODY_UID" >/dev/null && fail "uid $NOBODY_UID unexpectedly has a passwd entry"

SOCKDIR="$(mktemp -d /tmp/dockgate-it-sock.XXXXXX)"
chmod 755 "$SOCKDIR"
on_exit "rm -rf $SOCKDIR"
SOCK="$SOCKDIR/docker.sock"

# A stale socket file (nobody listening) must be replaced.
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SOCK"
[[ -S "$SOCK" ]] || fail "could not make a stale socket file"

GW="$WORK/gw"
write_gateway_config "$GW" "$(free_port)" "
[listen.unix]
path = \"$SOCK\"
mode = \"0660\"
group = \"$TGROUP\"

[users.root]
groups = [\"auditors\"]

[users.$TUSER]
groups = [\"developers\"]

[users.\"uid:$NOBODY_UID\"]
groups = [\"auditors\"]
"
start_gateway "$GW/dockgate.toml"
assert_eq "660 $TGROUP" "$(stat -c '%a %G' "$SOCK")" "the socket has the configured mode and group"
grep -q "listening on unix socket $SOCK" "$GW_STDERR" || fail "the stale socket was not replaced"
ok "a stale socket file is replaced"

# A second gateway on the same path must not steal it from the live one.
write_gateway_config "$WORK/gw2" "$(free_port)" "
[listen.unix]
path = \"$SOCK\"
"
rc=0
timeout 10 "$DOCKGATE" --config "$WORK/gw2/dockgate.toml" >"$WORK/gw2.out" 2>&1 || rc=$?
assert_ne 0 "$rc" "a second gateway refuses a path a live listener holds"
assert_contains "$(cat "$WORK/gw2.out")" "in use by a live listener" "it says why"
[[ -S "$SOCK" ]] || fail "the live socket was removed by the second gateway"
ok "the live listener's socket is untouched"

ux() { DOCKER_HOST="unix://$SOCK" timeout 60 docker "$@"; }

# root: readonly (auditors)
assert_success "root (readonly) can docker ps" -- ux ps
assert_contains "$LAST_OUT" "CONTAINER ID" "the listing comes back"
before="$(daemon ps -aq | wc -l)"
assert_failure "root (readonly) may not docker run" -- ux run --rm local/busybox:1 true
assert_contains "$LAST_OUT" "dockgate: root may not ContainerCreate: not in roles.readonly.allow (role readonly)" \
  "the denial names the user, operation, role and rule"
assert_eq "$before" "$(daemon ps -aq | wc -l)" "the daemon created no container"

# a second local user, by passwd name: developers -> operator
as_tuser() { runuser -u "$TUSER" -- env DOCKER_CONFIG="$SOCKDIR/cfg-$TUSER" DOCKER_HOST="unix://$SOCK" timeout 60 docker "$@"; }
assert_success "$TUSER (operator by passwd name) can docker run" -- as_tuser run --rm local/busybox:1 echo from-uid
assert_eq "from-uid" "$LAST_OUT" "the container ran for $TUSER"
wait_for_audit "any(r['transport'] == 'unix' and r['user'] == '$TUSER' and r['credential'] == 'uid:$TUID' and r['operation'] == 'ContainerCreate' and r['decision'] == 'allow' for r in recs)" 5 ||
  fail "no audit line for $TUSER's create: $(tail -3 "$GW_AUDIT")"
ok "audit: the unix peer's passwd name and uid are recorded"

# a uid without a passwd entry: uid:N, not in the socket's group -> cannot even connect
rc=0
out="$(setpriv --reuid "$NOBODY_UID" --regid "$NOBODY_UID" --clear-groups env DOCKER_CONFIG=/tmp DOCKER_HOST="unix://$SOCK" timeout 30 docker ps 2>&1)" || rc=$?
assert_ne 0 "$rc" "a uid outside the socket's group cannot connect (mode 0660)"
assert_contains "$out" "permission denied" "the kernel refuses the connection"
# ... and with the group, it is named uid:N and gets the [users.\"uid:N\"] groups
assert_success "uid:$NOBODY_UID (no passwd entry) is readonly via [users.\"uid:$NOBODY_UID\"]" -- \
  setpriv --reuid "$NOBODY_UID" --regid "$NOBODY_UID" --groups "$(getent group "$TGROUP" | cut -d: -f3)" \
  env DOCKER_CONFIG=/tmp DOCKER_HOST="unix://$SOCK" timeout 30 docker ps
assert_failure "uid:$NOBODY_UID may not run" -- \
  setpriv --reuid "$NOBODY_UID" --regid "$NOBODY_UID" --groups "$(getent group "$TGROUP" | cut -d: -f3)" \
  env DOCKER_CONFIG=/tmp DOCKER_HOST="unix://$SOCK" timeout 30 docker run --rm local/busybox:1 true
assert_contains "$LAST_OUT" "dockgate: uid:$NOBODY_UID may not ContainerCreate" "the uid form names the user"

stop_gateway || fail "dockgate did not stop cleanly"
[[ -e "$SOCK" ]] && fail "the socket file is left behind after shutdown"
ok "the socket is removed on shutdown"
