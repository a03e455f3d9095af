#!/usr/bin/env bash
# DOCKER_HOST=ssh://user@gw:PORT through dockgate's SSH listener, driven by the stock docker
# CLI and the system OpenSSH client (see ssh_lib.sh for the client's user and home).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ssh_lib.sh"
it_init "$@"
ssh_user_setup stranger
ssh-keygen -q -t ecdsa -N '' -C carol@it -f "$THOME/.ssh/carol_ecdsa"
ssh-keygen -q -t rsa -b 3072 -N '' -C bob@it -f "$THOME/.ssh/bob_rsa"
ssh_user_own

SSH_PORT="$(free_port)"
TLS_PORT="$(free_port)"
GW="$WORK/gw"
printf '%s\n' "$(cat "$THOME/.ssh/bob_rsa.pub")" >"$WORK/bob.keys"
write_gateway_config "$GW" "$TLS_PORT" "
[listen.ssh]
address = \"127.0.0.1:$SSH_PORT\"
host_key = \"ssh_host_ed25519_key\"
max_auth_tries = 3

[users.alice_ssh]
groups = [\"developers\"]
ssh_keys = [\"$(cat "$THOME/.ssh/id_ed25519.pub")\"]

[users.bob_ssh]
groups = [\"developers\"]
ssh_keys_file = \"$WORK/bob.keys\"

[users.carol]
ssh_keys = [\"$(cat "$THOME/.ssh/carol_ecdsa.pub")\"]
"
# write_gateway_config already wrote [listen.tls]; [listen.ssh] joins it under [listen].
start_gateway "$GW/dockgate.toml"
[[ -f "$GW/ssh_host_ed25519_key" ]] || fail "no host key was created"
assert_eq 600 "$(stat -c %a "$GW/ssh_host_ed25519_key")" "the generated host key is 0600"
fp="$(ssh-keygen -lf "$GW/ssh_host_ed25519_key" | awk '{print $2}')"
grep -q "$fp" "$GW_STDERR" || fail "the host key fingerprint $fp is not logged"
ok "the host key's fingerprint is logged"

ssh_pin_host_key "$GW" "$SSH_PORT"
ssh_write_config "Host carolhost
  HostName 127.0.0.1
  IdentityFile $THOME/.ssh/carol_ecdsa
Host bobhost
  HostName 127.0.0.1
  IdentityFile $THOME/.ssh/bob_rsa"

sshd_docker() { ssh_docker "$1" "$SSH_PORT" "${@:2}"; }

# --- the docker CLI over SSH
assert_success "ssh: docker ps" -- sshd_docker alice_ssh ps
assert_contains "$LAST_OUT" "CONTAINER ID" "ssh: docker ps lists containers"
assert_success "ssh: docker run --rm ... echo ok" -- sshd_docker alice_ssh run --rm local/busybox:1 echo ok
assert_eq "ok" "$LAST_OUT" "ssh: the container's output comes back"
name="${CPREFIX}-exec"
assert_success "ssh: docker run -d" -- sshd_docker alice_ssh run -d --name "$name" local/busybox:1 sleep 300
out="$(printf 'hi over ssh\n' | as_user env DOCKER_HOST="ssh://alice_ssh@127.0.0.1:$SSH_PORT" DOCKER_CONFIG="$THOME/.docker" timeout 60 docker exec -i "$name" cat)" ||
  fail "ssh: exec -i failed: $out"
assert_eq "hi over ssh" "$out" "ssh: exec -i with piped stdin prints its input and exits"
lname="${CPREFIX}-logs"
daemon run -d --name "$lname" local/busybox:1 sh -c 'for i in 1 2 3; do echo line$i; sleep 0.3; done' >/dev/null
assert_success "ssh: logs -f" -- sshd_docker alice_ssh logs -f "$lname"
assert_eq "$(printf 'line1\nline2\nline3')" "$LAST_OUT" "ssh: logs -f streams every line and ends with the container"
ctx="$THOME/ctx"
mkdir -p "$ctx"
echo "built over ssh" >"$ctx/file"
printf 'FROM local/busybox:1\nCOPY file /file\nRUN cat /file\n' >"$ctx/Dockerfile"
chown -R "$TUSER" "$ctx"
assert_success "ssh: docker build" -- as_user env DOCKER_BUILDKIT=0 DOCKER_HOST="ssh://alice_ssh@127.0.0.1:$SSH_PORT" \
  DOCKER_CONFIG="$THOME/.docker" timeout 180 docker build -t "local/ssh-built-$$:1" "$ctx"
on_exit "daemon rmi -f local/ssh-built-$$:1"
assert_eq "built over ssh" "$(daemon run --rm "local/ssh-built-$$:1" cat /file)" "ssh: the built image holds the context's file"
assert_success "ssh: an RSA (SHA-2) key from ssh_keys_file" -- \
  as_user env DOCKER_HOST="ssh://bob_ssh@bobhost:$SSH_PORT" DOCKER_CONFIG="$THOME/.docker" timeout 60 docker ps

# --- the same policy and message as TLS
before="$(daemon ps -aq | wc -l)"
assert_failure "ssh: readonly carol may not run" -- \
  as_user env DOCKER_HOST="ssh://carol@carolhost:$SSH_PORT" DOCKER_CONFIG="$THOME/.docker" timeout 60 docker run --rm local/busybox:1 true
assert_contains "$LAST_OUT" "dockgate: carol may not ContainerCreate: not in roles.readonly.allow (role readonly)" \
  "ssh: the denial names the user, operation, role and rule, as over TLS"
assert_eq "$before" "$(daemon ps -aq | wc -l)" "ssh: the daemon created no container for the refused run"
assert_success "ssh: carol may list" -- \
  as_user env DOCKER_HOST="ssh://carol@carolhost:$SSH_PORT" DOCKER_CONFIG="$THOME/.docker" timeout 60 docker ps

# --- refusals
SSHC=(as_user ssh -F "$THOME/.ssh/config" -p "$SSH_PORT")
# Only the stranger's key is offered (no config file, so no other identity is tried).
assert_failure "ssh: a key that is not configured is refused" -- as_user ssh -F /dev/null -p "$SSH_PORT" \
  -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$THOME/.ssh/known_hosts" \
  -o IdentitiesOnly=yes -i "$THOME/.ssh/stranger" -l alice_ssh 127.0.0.1 docker system dial-stdio
assert_contains "$LAST_OUT" "Permission denied" "ssh: wrong key: permission denied"
assert_failure "ssh: an unknown user is refused" -- "${SSHC[@]}" -l mallory 127.0.0.1 docker system dial-stdio
assert_contains "$LAST_OUT" "Permission denied" "ssh: unknown user: permission denied"
assert_failure "ssh: a password attempt is refused" -- "${SSHC[@]}" -o PreferredAuthentications=password,keyboard-interactive -l alice_ssh 127.0.0.1 docker system dial-stdio
assert_contains "$LAST_OUT" "Permission denied (publickey)" "ssh: only publickey is offered"
assert_failure "ssh: a shell command is refused" -- "${SSHC[@]}" -l alice_ssh 127.0.0.1 sh -c id
assert_contains "$LAST_OUT" "dockgate: this endpoint serves the docker CLI only" "ssh: the refusal says why on the channel"
assert_not_contains "$LAST_OUT" "uid=" "ssh: nothing ran"
assert_failure "ssh: an interactive shell is refused" -- "${SSHC[@]}" -l alice_ssh 127.0.0.1
assert_contains "$LAST_OUT" "interactive shells are not available" "ssh: the shell refusal says why"
FWD_PORT="$(free_port)"
as_user ssh -F "$THOME/.ssh/config" -p "$SSH_PORT" -l alice_ssh -o ExitOnForwardFailure=no -N \
  -L "127.0.0.1:$FWD_PORT:127.0.0.1:$TLS_PORT" 127.0.0.1 >"$WORK/fwd.err" 2>&1 &
fwd=$!
on_exit "kill $fwd"
wait_for_port "$FWD_PORT" 10 || fail "ssh -L did not open its local port"
rc=0
curl -s -m 5 -o /dev/null "http://127.0.0.1:$FWD_PORT/" || rc=$?
assert_ne 0 "$rc" "ssh -L: nothing is forwarded"
sleep 0.5
grep -q "administratively prohibited\|open failed" "$WORK/fwd.err" || fail "ssh -L: the channel was not refused: $(cat "$WORK/fwd.err")"
ok "ssh -L: the forwarding channel is refused"
kill "$fwd" 2>/dev/null || true

# --- reload removes a key: open sessions close, new logins fail
as_user env DOCKER_HOST="ssh://alice_ssh@127.0.0.1:$SSH_PORT" \
  DOCKER_CONFIG="$THOME/.docker" timeout 300 docker events --format '{{.Action}}' >"$WORK/ev.out" 2>"$WORK/ev.err" &
ev=$!
on_exit "kill $ev"
sleep 2
c="$(daemon create local/busybox:1 true)"
daemon rm "$c" >/dev/null
for _ in $(seq 1 50); do grep -q destroy "$WORK/ev.out" && break; sleep 0.2; done
grep -q destroy "$WORK/ev.out" || fail "the ssh events stream is not live: $(cat "$WORK/ev.err")"
ok "ssh: a docker events stream is live"
sed -i "/^ssh_keys = \[\"ssh-ed25519/d" "$GW/dockgate.toml"
deadline=$((SECONDS + 4))
while kill -0 "$ev" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
kill -0 "$ev" 2>/dev/null && fail "the events stream of the removed key is still open 4 s after the config changed"
ok "ssh: removing the key closes its open session"
assert_failure "ssh: the removed key can no longer log in" -- sshd_docker alice_ssh ps
assert_success "ssh: other users are unaffected" -- \
  as_user env DOCKER_HOST="ssh://carol@carolhost:$SSH_PORT" DOCKER_CONFIG="$THOME/.docker" timeout 60 docker ps
# The audit file is appended in buffered writes: poll until the line is whole.
wait_for_audit 'any(r["transport"] == "ssh" and r["user"] == "alice_ssh" and r["credential"].startswith("SHA256:") for r in recs)' 10 ||
  fail "audit: ssh requests carry the transport, user and key fingerprint: not found in $GW_AUDIT"
ok "audit: ssh requests carry the transport, user and key fingerprint"
