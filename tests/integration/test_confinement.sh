#!/usr/bin/env bash
# The gateway confines itself after start-up, checked from outside: /proc/PID/status (the user
# it became, its groups, no_new_privs, the seccomp filter, core dumps off), a reload that points
# at a world-readable file in another folder (Landlock refuses it and the log says so), the
# stock CLI running a container through the confined gateway, and clear start-up errors.
# Exits 77 (ctest: skipped) after every other check when the kernel has no Landlock.
source "$(dirname "$0")/lib.sh"
it_init "$@"

# field NAME: a line of /proc/GW_PID/status without its name ("Uid:\t0\t0\t0\t0" -> "0 0 0 0").
field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$GW_PID/status"; }
landlock_abi() {
  python3 -c 'import ctypes; print(ctypes.CDLL(None).syscall(444, None, 0, 1))'
}
ABI="$(landlock_abi)"
# A sanitizer build runs without its seccomp filter (the sanitizers' reports need ptrace and new
# processes): there the check is that it says so.
SANITIZED=0
grep -q __asan_init "$DOCKGATE" && SANITIZED=1
expect_seccomp() {
  if ((SANITIZED)); then
    assert_eq 0 "$(field Seccomp)" "sanitizer build: no seccomp filter"
    assert_contains "$(cat "$GW_STDERR")" "seccomp is off in a sanitizer build" "and the log says why"
  else
    assert_eq 2 "$(field Seccomp)" "a seccomp filter is in force (Seccomp: 2)"
  fi
}

# --- as root without gateway.user: it runs, warns, and is confined all the same --------------
gateway_up plain
assert_contains "$(cat "$GW_STDERR")" "running as root without gateway.user" \
  "root without gateway.user: the start-up log warns"
assert_eq 1 "$(field NoNewPrivs)" "no_new_privs is set"
expect_seccomp
assert_eq "0 0 0 0" "$(field Uid)" "without gateway.user it keeps its user"
out="$(gw_docker alice version --format '{{.Server.Version}}' 2>&1)" ||
  fail "docker version through the confined gateway failed: $out"
ok "docker version through the confined gateway: $out"
check_out="$("$DOCKGATE" check-config "$WORK/plain/dockgate.toml" 2>&1)"
assert_contains "$check_out" "warning: running as root without gateway.user" \
  "check-config says so too"
assert_contains "$check_out" "confinement: seccomp on, Landlock on" "check-config shows the confinement"
stop_gateway || fail "the confined gateway did not stop cleanly"

# --- gateway.seccomp = false --------------------------------------------------------------------
write_gateway_config "$WORK/noseccomp" "$(free_port)"
sed -i 's/^workers = 2$/workers = 2\nseccomp = false/' "$WORK/noseccomp/dockgate.toml"
start_gateway "$WORK/noseccomp/dockgate.toml"
assert_eq 0 "$(field Seccomp)" "gateway.seccomp = false: no filter"
assert_contains "$(cat "$GW_STDERR")" "gateway.seccomp = false" "and the log says it is off"
stop_gateway || fail "the gateway without seccomp did not stop cleanly"

# --- gateway.user: an unknown user is a clear start-up error -------------------------------------
write_gateway_config "$WORK/nouser" "$(free_port)"
sed -i 's/^workers = 2$/workers = 2\nuser = "no-such-user-dg"/' "$WORK/nouser/dockgate.toml"
rc=0
timeout 20 "$DOCKGATE" --config "$WORK/nouser/dockgate.toml" >/dev/null 2>"$WORK/nouser.err" || rc=$?
assert_eq 1 "$rc" "an unknown gateway.user stops the start"
assert_contains "$(cat "$WORK/nouser.err")" 'gateway.user: no such user "no-such-user-dg"' \
  "the error names the key and the user"

# --- gateway.user: root is dropped ---------------------------------------------------------------
USER_NAME=dockgate-it
if ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME" ||
    fail "cannot create the user $USER_NAME"
  on_exit userdel "$USER_NAME"
fi
UID_NUM="$(id -u "$USER_NAME")"
GID_NUM="$(id -g "$USER_NAME")"
SOCK_GID="$(stat -c %g "$DOCKER_SOCK")"
# The daemon's folder is private to root: let the user through to the socket (its mode and
# group still decide who may connect).
sock_dir_mode="$(stat -c %a "$(dirname "$DOCKER_SOCK")")"
chmod o+x "$(dirname "$DOCKER_SOCK")"
on_exit chmod "$sock_dir_mode" "$(dirname "$DOCKER_SOCK")"
sock_mode="$(stat -c %a "$DOCKER_SOCK")"
chmod g+rw "$DOCKER_SOCK"
on_exit chmod "$sock_mode" "$DOCKER_SOCK"

# The gateway's files in a folder of their own, readable by the user; another folder next to it
# with a world-readable copy of the CA.
BASE="$(mktemp -d /tmp/dockgate-confine.XXXXXX)"
on_exit rm -rf "$BASE"
chmod 755 "$BASE"
GW="$BASE/gw"
write_gateway_config "$GW" "$(free_port)"
sed -i "s/^workers = 2\$/workers = 2\nuser = \"$USER_NAME\"/" "$GW/dockgate.toml"
chown -R "$USER_NAME" "$GW"
mkdir -m 755 "$BASE/elsewhere"
install -m 644 "$GW/ca.pem" "$BASE/elsewhere/ca.pem"
runuser -u "$USER_NAME" -- cat "$BASE/elsewhere/ca.pem" >/dev/null ||
  fail "test bug: $USER_NAME cannot read the copy itself"

start_gateway "$GW/dockgate.toml"
assert_eq "$UID_NUM $UID_NUM $UID_NUM $UID_NUM" "$(field Uid)" "it runs as $USER_NAME (real, effective, saved, fs)"
assert_eq "$GID_NUM $GID_NUM $GID_NUM $GID_NUM" "$(field Gid)" "with $USER_NAME's group"
groups_line="$(field Groups)"
assert_match " $groups_line " " $SOCK_GID " "the daemon socket's group ($SOCK_GID) is a supplementary group: [$groups_line]"
assert_match " $groups_line " " $GID_NUM " "and its own group: [$groups_line]"
[[ "$(field CapEff)" =~ ^0+$ ]] || fail "effective capabilities left: $(field CapEff)"
[[ "$(field CapPrm)" =~ ^0+$ ]] || fail "permitted capabilities left: $(field CapPrm)"
ok "no effective or permitted capability left"
assert_eq 1 "$(field NoNewPrivs)" "no_new_privs is set"
expect_seccomp
# Not dumpable: the kernel gives its /proc files to root although the process is not root.
assert_eq root "$(stat -c %U "/proc/$GW_PID/status")" "core dumps and ptrace are off (not dumpable)"
assert_contains "$(cat "$GW_STDERR")" "running as $USER_NAME (uid $UID_NUM" "the log names the user"

name="dg-confined-$$"
out="$(gw_docker alice run --rm --name "$name" local/busybox:1 echo confined-ok 2>&1)" ||
  fail "docker run through the gateway running as $USER_NAME failed: $out"
assert_contains "$out" "confined-ok" "docker run through the gateway running as $USER_NAME"
daemon_has container "$name" && fail "the container was not removed"

# --- Landlock: a reload may read only the folders of start-up -------------------------------------
if ((ABI < 1)); then
  assert_contains "$(cat "$GW_STDERR")" "Landlock is not available" "no Landlock: the log says so"
  stop_gateway || fail "the gateway did not stop cleanly"
  log "this kernel has no Landlock: its checks cannot run here"
  exit 77
fi
assert_contains "$(cat "$GW_STDERR")" "Landlock (ABI $ABI): read $GW" "the log lists the folders Landlock opened"
cp "$GW/dockgate.toml" "$WORK/toml.orig"
sed -i "s|^ca = \"ca.pem\"\$|ca = \"$BASE/elsewhere/ca.pem\"|" "$GW/dockgate.toml"
grep -q "elsewhere/ca.pem" "$GW/dockgate.toml" || fail "test bug: the CA path was not replaced"
mark_log
kill -HUP "$GW_PID"
wait_log "outside the folders the gateway may read" "the Landlock refusal of the reload"
assert_contains "$(cat "$GW_STDERR")" "listen.tls.ca: $BASE/elsewhere/ca.pem is outside the folders" \
  "the refusal names the key and the file"
assert_contains "$(cat "$GW_STDERR")" "folders added by a reload need a restart" "and says what to do"
assert_contains "$(cat "$GW_STDERR")" "refused, the previous configuration stays in force" \
  "the reload is refused"
out="$(gw_docker alice version --format '{{.Server.Version}}' 2>&1)" ||
  fail "the gateway stopped serving after the refused reload: $out"
ok "the previous configuration still serves"
# The same file inside the gateway's folder reloads (the refusal was Landlock's, not the file's).
install -m 644 -o "$USER_NAME" "$BASE/elsewhere/ca.pem" "$GW/ca-copy.pem"
sed -i "s|^ca = \".*\"\$|ca = \"ca-copy.pem\"|" "$GW/dockgate.toml"
mark_log
kill -HUP "$GW_PID"
wait_log "new configuration in force" "a reload inside the folder"
ok "the same CA inside the gateway's folder reloads"
stop_gateway || fail "the gateway running as $USER_NAME did not stop cleanly"
