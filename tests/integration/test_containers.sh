#!/usr/bin/env bash
# Container life cycle through dockgate with the stock docker CLI: run --rm
# (attach + wait), run -d + logs -f (streaming response), exec -i and run -i
# with piped stdin (101 upgrade, half-close), stats, attach (upgrade, exit
# code), cp both ways (tar bodies in and out).
source "$(dirname "$0")/lib.sh"
it_init "$@"

gateway_up gw

# --- run --rm: the CLI attaches, starts and blocks on /wait; a gateway that
# holds response headers deadlocks here (hence the timeout).
out="$(GW_TIMEOUT=60 gw_docker alice run --rm --name "$CPREFIX-rm" local/busybox:1 echo hi 2>&1)" ||
  fail "docker run --rm ... echo hi failed: $out"
assert_eq "hi" "$out" "run --rm local/busybox:1 echo hi prints hi"
rc=0
GW_TIMEOUT=60 gw_docker alice run --rm --name "$CPREFIX-rc" local/busybox:1 sh -c 'exit 7' >/dev/null 2>&1 || rc=$?
assert_eq 7 "$rc" "run --rm returns the container's exit code"
sleep 0.5
assert_eq "" "$(daemon ps -aq --filter "name=^$CPREFIX-rm\$" --filter "name=^$CPREFIX-rc\$")" "run --rm removed its containers"

# --- run -d + logs -f: logs -f streams and ends when the container exits.
cid="$(gw_docker alice run -d --name "$CPREFIX-logs" local/busybox:1 \
  sh -c 'for i in 1 2 3 4 5; do echo line$i; sleep 0.3; done; echo err >&2')" ||
  fail "docker run -d failed: $cid"
assert_match "$cid" '^[0-9a-f]{64}$' "run -d prints the container id"
rc=0
out="$(GW_TIMEOUT=60 gw_docker alice logs -f "$CPREFIX-logs" 2>&1)" || rc=$?
assert_eq 0 "$rc" "logs -f ends by itself when the container exits"
assert_eq "$(printf 'line1\nline2\nline3\nline4\nline5\nerr')" "$out" "logs -f shows every stdout and stderr line"
state="$(daemon inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$CPREFIX-logs")"
assert_eq "exited 0" "$state" "the logged container exited 0"
out="$(gw_docker alice logs --tail 3 "$CPREFIX-logs" 2>/dev/null)" || fail "logs --tail failed"
assert_eq "$(printf 'line4\nline5')" "$out" "logs --tail 3 (last three lines, stdout part)"

# --- exec -i with piped stdin: the CLI half-closes after stdin's EOF, cat
# sees EOF, exits, and the CLI returns.
gw_docker alice run -d --name "$CPREFIX-exec" local/busybox:1 sleep 600 >/dev/null || fail "run -d sleep failed"
out="$(echo hi | GW_TIMEOUT=30 gw_docker alice exec -i "$CPREFIX-exec" cat 2>&1)" ||
  fail "echo hi | docker exec -i C cat failed or hung (exit $?): $out"
assert_eq "hi" "$out" "echo hi | docker exec -i C cat prints hi and exits"
out="$(head -c 300000 /dev/urandom | base64 -w 76 | tee "$WORK/exec-in.txt" |
  GW_TIMEOUT=60 gw_docker alice exec -i "$CPREFIX-exec" sh -c 'cat; echo done >&2' 2>"$WORK/exec-err.txt" |
  sha256sum | cut -d' ' -f1)"
assert_eq "$(sha256sum <"$WORK/exec-in.txt" | cut -d' ' -f1)" "$out" "exec -i relays 400 KB of stdin both ways intact"
assert_eq "done" "$(cat "$WORK/exec-err.txt")" "exec -i keeps stderr apart from stdout"
rc=0
gw_docker alice exec "$CPREFIX-exec" sh -c 'exit 3' || rc=$?
assert_eq 3 "$rc" "exec returns the command's exit code"

# --- run -i with piped stdin: attach with stdin, half-close, exit.
out="$(printf 'one\ntwo\n' | GW_TIMEOUT=60 gw_docker alice run --rm -i --name "$CPREFIX-runi" local/busybox:1 sh -c 'cat; echo eof' 2>&1)" ||
  fail "printf ... | docker run --rm -i ... cat failed or hung: $out"
assert_eq "$(printf 'one\ntwo\neof')" "$out" "printf | docker run --rm -i C cat: stdin reaches the container, EOF ends it"

# --- stats: a streamed JSON response, read once.
out="$(GW_TIMEOUT=60 gw_docker alice stats --no-stream --format '{{.Name}}' "$CPREFIX-exec" 2>&1)" ||
  fail "docker stats --no-stream failed: $out"
assert_eq "$CPREFIX-exec" "$out" "docker stats --no-stream shows the container"

# --- attach: a container that waits for one line on stdin, echoes it and
# exits 5. Nothing races: it cannot exit before we attach.
gw_docker alice create -i --name "$CPREFIX-att" local/busybox:1 \
  sh -c 'read line; echo "got:$line"; exit 5' >/dev/null || fail "docker create -i failed"
gw_docker alice start "$CPREFIX-att" >/dev/null || fail "docker start failed"
rc=0
out="$(echo hello | GW_TIMEOUT=30 gw_docker alice attach "$CPREFIX-att" 2>&1)" || rc=$?
assert_eq "got:hello" "$out" "echo hello | docker attach C: the container read stdin and its output came back"
assert_eq 5 "$rc" "docker attach returns the container's exit code"

# --- start -a: attach to a container started from the CLI (exit code too).
gw_docker alice create --name "$CPREFIX-sa" local/busybox:1 sh -c 'echo started; exit 4' >/dev/null ||
  fail "docker create failed"
rc=0
out="$(GW_TIMEOUT=30 gw_docker alice start -a "$CPREFIX-sa" 2>&1)" || rc=$?
assert_eq "started" "$out" "docker start -a shows the output"
assert_eq 4 "$rc" "docker start -a returns the exit code"

# --- cp both ways: checksums round-trip.
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom >"$WORK/payload.bin"
want="$(sha256sum <"$WORK/payload.bin" | cut -d' ' -f1)"
assert_success "docker cp host -> container" -- gw_docker alice cp "$WORK/payload.bin" "$CPREFIX-exec:/tmp/payload.bin"
got="$(daemon exec "$CPREFIX-exec" sha256sum /tmp/payload.bin | cut -d' ' -f1)"
assert_eq "$want" "$got" "the file copied in has the same sha256 inside the container"
daemon exec "$CPREFIX-exec" sh -c 'cp /tmp/payload.bin /tmp/back.bin; echo tail >> /tmp/back.bin'
assert_success "docker cp container -> host" -- gw_docker alice cp "$CPREFIX-exec:/tmp/back.bin" "$WORK/back.bin"
want="$( (cat "$WORK/payload.bin"; echo tail) | sha256sum | cut -d' ' -f1)"
assert_eq "$want" "$(sha256sum <"$WORK/back.bin" | cut -d' ' -f1)" "the file copied out has the expected sha256"
mkdir -p "$WORK/tree/sub"
echo a >"$WORK/tree/a.txt"; echo b >"$WORK/tree/sub/b.txt"
assert_success "docker cp of a directory into a container" -- gw_docker alice cp "$WORK/tree" "$CPREFIX-exec:/tmp/"
assert_eq "b" "$(daemon exec "$CPREFIX-exec" cat /tmp/tree/sub/b.txt)" "the directory tree arrived"
# cp to stdout (a tar stream out of the container)
out="$(gw_docker alice cp "$CPREFIX-exec:/tmp/tree/a.txt" - | tar -xOf -)" || fail "docker cp C:F - failed"
assert_eq "a" "$out" "docker cp C:F - streams a tar"

# --- stop / rm through the gateway, checked at the daemon.
assert_success "docker rm -f through the gateway" -- gw_docker alice rm -f "$CPREFIX-exec"
assert_eq "" "$(daemon ps -aq --filter "name=^$CPREFIX-exec\$")" "the container is gone at the daemon"

wait_for_audit "any(r.get('user') == 'alice' and r.get('operation') == 'ContainerAttach' and r.get('decision') == 'allow' for r in recs)" ||
  fail "no allowed ContainerAttach audit record for alice"
ok "audit: alice's ContainerAttach recorded"
wait_for_audit "any(r.get('operation') == 'ExecStart' and r.get('decision') == 'allow' for r in recs)" ||
  fail "no allowed ExecStart audit record"
ok "audit: ExecStart recorded"

# --- the legacy raw stream: an attach without Upgrade is answered 200 with the raw-stream
# content type, and the connection then relays both ways.
daemon run -d -i --name "$CPREFIX-raw" local/busybox:1 cat >/dev/null
out="$(python3 "$IT_SOURCE_DIR/tests/integration/conn_probe.py" raw-attach "$GW_PORT" "$PKI_DIR/clients/alice" "$CPREFIX-raw")" ||
  fail "raw attach failed: $out"
jr() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$out" "$1"; }
assert_eq 200 "$(jr status)" "attach without Upgrade: 200"
assert_eq "application/vnd.docker.raw-stream" "$(jr content_type)" "attach without Upgrade: the raw-stream content type"
assert_eq "through the raw stream" "$(jr echoed)" "the raw stream relays stdin to the container and its output back"
daemon rm -f "$CPREFIX-raw" >/dev/null
