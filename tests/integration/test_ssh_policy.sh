#!/usr/bin/env bash
# The SSH listener's limits and refusals (test_ssh covers the docker CLI working over it):
# max_auth_tries, max_sessions and max_sessions_per_user, an ssh_keys_file that changes, and
# every request the docker CLI never makes (pty, env, subsystem, X11, agent, shell, other
# commands, -R and -L forwarding) refused, seen from OpenSSH and from paramiko asking for
# replies.
source "$(dirname "$0")/lib.sh"
it_init "$@"
command -v ssh >/dev/null || fail "the OpenSSH client is missing: apt-get install openssh-client"
/usr/bin/python3 -c 'import paramiko' || fail "paramiko is missing: apt-get install python3-paramiko"

TUSER="dgsp$$"
THOME="$(mktemp -d /tmp/dockgate-it-home.XXXXXX)"
useradd --home-dir "$THOME" --no-create-home --shell /bin/sh "$TUSER" || fail "useradd $TUSER failed"
on_exit "userdel $TUSER; rm -rf $THOME"
mkdir -p "$THOME/.ssh"
as_user() { runuser -u "$TUSER" -- env HOME="$THOME" "$@"; }
for k in alice bob bob2 carol s1 s2 s3; do
  ssh-keygen -q -t ed25519 -N '' -C "$k@it" -f "$THOME/.ssh/$k"
done
chown -R "$TUSER" "$THOME"
chmod 700 "$THOME" "$THOME/.ssh"

SSH_PORT="$(free_port)"
GW="$WORK/gw"
cp "$THOME/.ssh/bob.pub" "$WORK/bob.keys"
write_gateway_config "$GW" "$(free_port)" "
[listen.ssh]
address = \"127.0.0.1:$SSH_PORT\"
host_key = \"ssh_host_ed25519_key\"
max_auth_tries = 3
max_sessions = 3
max_sessions_per_user = 2

[users.alice_ssh]
groups = [\"developers\"]
ssh_keys = [\"$(cat "$THOME/.ssh/alice.pub")\"]

[users.bob_ssh]
groups = [\"developers\"]
ssh_keys_file = \"$WORK/bob.keys\"

[users.carol_ssh]
groups = [\"developers\"]
ssh_keys = [\"$(cat "$THOME/.ssh/carol.pub")\"]
"
start_gateway "$GW/dockgate.toml"
echo "[127.0.0.1]:$SSH_PORT $(ssh-keygen -y -f "$GW/ssh_host_ed25519_key")" >"$THOME/.ssh/known_hosts"
chown -R "$TUSER" "$THOME"
SSHO=(-F /dev/null -p "$SSH_PORT" -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$THOME/.ssh/known_hosts"
  -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=20)
# sshd_docker KEY USER ARGS...: the docker CLI over ssh:// with one key.
sshd_docker() {
  local key="$1" u="$2"
  shift 2
  cat >"$THOME/.ssh/config" <<EOF
Host *
  StrictHostKeyChecking yes
  UserKnownHostsFile $THOME/.ssh/known_hosts
  BatchMode yes
  IdentitiesOnly yes
  IdentityFile $THOME/.ssh/$key
EOF
  chown "$TUSER" "$THOME/.ssh/config"
  as_user env DOCKER_HOST="ssh://$u@127.0.0.1:$SSH_PORT" DOCKER_CONFIG="$THOME/.docker" timeout 120 docker "$@"
}
# --- max_auth_tries 3: three wrong keys end the connection before a fourth, good one is tried;
# two wrong keys leave room for it.
wrong3=(-i "$THOME/.ssh/s1" -i "$THOME/.ssh/s2" -i "$THOME/.ssh/s3" -i "$THOME/.ssh/alice")
assert_failure "max_auth_tries 3: three wrong keys, then the right one" -- \
  as_user ssh "${SSHO[@]}" "${wrong3[@]}" -l alice_ssh 127.0.0.1 docker system dial-stdio
assert_match "$LAST_OUT" "Too many authentication failures|Received disconnect|Connection closed|Connection reset|Permission denied" \
  "max_auth_tries: the connection ends"
assert_contains "$(cat "$GW_STDERR")" '3 failed key attempts for "alice_ssh"' "the gateway logs the attempts it counted"
assert_not_contains "$LAST_OUT" "Authenticated to" "max_auth_tries: the fourth key was never accepted"
rc=0
out="$(printf 'GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | as_user ssh "${SSHO[@]}" \
  -i "$THOME/.ssh/s1" -i "$THOME/.ssh/s2" -i "$THOME/.ssh/alice" -l alice_ssh 127.0.0.1 docker system dial-stdio 2>&1)" || rc=$?
assert_contains "$out" "HTTP/1.1 200" "max_auth_tries 3: two wrong keys, then the right one, is served"

# --- session limits: max_sessions_per_user 2, max_sessions 3.
# hold USER KEY NAME: a GET /events stream over `ssh ... docker system dial-stdio`, kept open in
# the background in a process group of its own (HELD[NAME]); waits until the daemon answered.
declare -A HELD
hold() {
  setsid bash -c "(printf 'GET /v1.41/events HTTP/1.1\\r\\nHost: d\\r\\n\\r\\n'; sleep 300) |
    runuser -u $TUSER -- env HOME=$THOME ssh ${SSHO[*]} -i $THOME/.ssh/$2 -l $1 127.0.0.1 docker system dial-stdio" \
    >"$WORK/hold-$3.out" 2>"$WORK/hold-$3.err" &
  HELD[$3]=$!
  local deadline=$((SECONDS + 20))
  until grep -q "HTTP/1.1 200" "$WORK/hold-$3.out" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "the events stream $3 did not start: $(cat "$WORK/hold-$3.err")"
    sleep 0.1
  done
}
# held NAME: the stream's ssh client is still running.
held() { pgrep -g "${HELD[$1]}" -x ssh >/dev/null; }
release() {
  [[ -n "${HELD[$1]:-}" ]] || return 0
  kill -- -"${HELD[$1]}" 2>/dev/null
  wait "${HELD[$1]}" 2>/dev/null || true
  unset "HELD[$1]"
  return 0
}
on_exit 'for k in "${!HELD[@]}"; do release "$k"; done'
hold alice_ssh alice a1
hold alice_ssh alice a2
ok "alice holds two SSH sessions (max_sessions_per_user 2)"
before="$(daemon ps -aq | wc -l)"
assert_failure "a third session of alice's is refused" -- sshd_docker alice alice_ssh run -d local/busybox:1 true
assert_eq "$before" "$(daemon ps -aq | wc -l)" "the refused session created no container"
assert_contains "$(cat "$GW_STDERR")" "listen.ssh.max_sessions_per_user" "the refusal names max_sessions_per_user"
hold bob_ssh bob b1
ok "bob's session is the third in all (max_sessions 3)"
assert_failure "a fourth session in all (carol's first) is refused" -- sshd_docker carol carol_ssh ps
grep -qE "listen\.ssh\.max_sessions([^_]|$)" "$GW_STDERR" || fail "the refusal does not name listen.ssh.max_sessions"
ok "the refusal names max_sessions"
release a1
sleep 0.5
assert_success "a session freed is a session available: carol is served" -- sshd_docker carol carol_ssh ps
assert_success "and alice again" -- sshd_docker alice alice_ssh ps

# --- ssh_keys_file changes: bob's key replaced by bob2's in an atomic rename. His open session
# closes, the old key is refused, the new one logs in.
cp "$THOME/.ssh/bob2.pub" "$WORK/.bob.keys.tmp" && mv "$WORK/.bob.keys.tmp" "$WORK/bob.keys"
deadline=$((SECONDS + 10))
while held b1; do
  ((SECONDS < deadline)) || fail "bob's session is still open 10 s after his key was replaced in ssh_keys_file"
  sleep 0.2
done
release b1
ok "ssh_keys_file changed: bob's open session was closed"
assert_failure "bob's old key is refused" -- sshd_docker bob bob_ssh ps
assert_contains "$LAST_OUT" "Permission denied" "the old key: permission denied"
assert_success "bob's new key from the file logs in" -- sshd_docker bob2 bob_ssh ps
release a2

# --- requests the docker CLI never makes.
rc=0
out="$(printf 'GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | as_user ssh "${SSHO[@]}" -tt \
  -i "$THOME/.ssh/alice" -l alice_ssh 127.0.0.1 docker system dial-stdio 2>&1)" || rc=$?
assert_contains "$out" "PTY allocation request failed" "ssh -tt: the pty is refused"
rc=0
out="$(as_user timeout 20 ssh "${SSHO[@]}" -o ExitOnForwardFailure=yes -N -R "127.0.0.1:0:127.0.0.1:$SSH_PORT" \
  -i "$THOME/.ssh/alice" -l alice_ssh 127.0.0.1 2>&1)" || rc=$?
assert_ne 0 "$rc" "ssh -R: the client gives up"
assert_match "$out" "remote port forwarding failed" "ssh -R: the remote forwarding is refused"
/usr/bin/python3 "$IT_SOURCE_DIR/tests/integration/ssh_requests.py" "$SSH_PORT" alice_ssh "$THOME/.ssh/alice" \
  "$GW/ssh_host_ed25519_key" >"$WORK/requests.out" 2>&1 || fail "ssh_requests.py failed: $(cat "$WORK/requests.out")"
for req in pty env "subsystem sftp" x11 agent shell "exec id" tcpip-forward direct-tcpip; do
  line="$(grep -m1 "^$req " "$WORK/requests.out" || true)"
  assert_match "$line" "^$req refused" "paramiko, with want_reply: $req is refused ($line)"
done
assert_match "$(grep '^exec id ' "$WORK/requests.out")" "serves the docker CLI only" "the refused command is told why"
stop_gateway || fail "dockgate did not stop cleanly"
