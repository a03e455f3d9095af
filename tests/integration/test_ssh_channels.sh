#!/usr/bin/env bash
# Clients that keep one SSH connection and open several session channels on it: docker-py's
# own SSH transport (paramiko, a connection pool of channels) and OpenSSH's ControlMaster
# sharing under the docker CLI. Each channel is its own HTTP stream with its own audit lines;
# the gateway's audit log shows that one TCP connection (one peer address) carried them all.
# Then `docker rm --link` (a link name spans two path segments), and 5,000 idle connections
# that never finish their handshake while `docker version` still answers, on a fixed set of
# threads.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ssh_lib.sh"
it_init "$@"
PY=/usr/bin/python3 # Debian's, with python3-docker and python3-paramiko
"$PY" -c 'import docker, paramiko' 2>/dev/null ||
  fail "docker-py or paramiko is missing for $PY (apt-get install python3-docker python3-paramiko)"
ssh_user_setup

SSH_PORT="$(free_port)"
GW="$WORK/gw"
write_gateway_config "$GW" "$(free_port)" "
[listen.ssh]
address = \"127.0.0.1:$SSH_PORT\"
host_key = \"ssh_host_ed25519_key\"
# docker-py keeps an idle channel for each of the last 25 URLs it called (a connection pool
# per URL), plus one per stream: the default of 10 (OpenSSH's MaxSessions) is too few for it.
max_channels_per_connection = 64
max_sessions_per_user = 128
max_handshakes_per_address = 100

[users.alice_ssh]
groups = [\"developers\"]
ssh_keys = [\"$(cat "$THOME/.ssh/id_ed25519.pub")\"]
"
# The idle connections below must outlive the test's steps. The cap measured here is
# listen.ssh.max_handshakes_per_address (connections not yet authenticated); the rate of new
# connections per address (limits.handshakes_per_ip, test_user_limits) is off.
sed -i 's/^handshake_timeout = "10s"$/handshake_timeout = "120s"\nhandshakes_per_ip = 0/' "$GW/dockgate.toml"
grep -q '^handshakes_per_ip = 0$' "$GW/dockgate.toml" || fail "test bug: edit did not apply"
ulimit -n 20000 || fail "cannot raise the open file limit to 20000"
start_gateway "$GW/dockgate.toml"
ssh_pin_host_key "$GW" "$SSH_PORT"
ssh_write_config "" "  ControlMaster auto
  ControlPath $THOME/.ssh/cm-%C"

# audit_peers SINCE_LINE: "PEERS CONNECTIONS" — distinct peer addresses (TCP connections) and
# distinct connection ids (channels) of alice_ssh's audit records after line SINCE_LINE.
audit_peers() {
  "$PY" - "$GW_AUDIT" "$1" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):] if l.strip()]
mine = [r for r in recs if r.get("user") == "alice_ssh" and r.get("transport") == "ssh"]
print(len({r["peer"] for r in mine}), len({r["conn"] for r in mine}))
PY
}
audit_lines() { wc -l <"$GW_AUDIT" 2>/dev/null || echo 0; }

# --- docker-py over ssh:// (paramiko): one connection, a channel per pooled HTTP connection
name="${CPREFIX}-py"
since_line="$(audit_lines)"
GW_TIMEOUT=240 assert_success "docker-py over ssh://" -- as_user timeout 240 "$PY" - "$SSH_PORT" "$name" <<'PY'
import io, sys, tarfile, threading, time
import docker

port, name = sys.argv[1:3]
client = docker.DockerClient(base_url="ssh://alice_ssh@127.0.0.1:" + port, version="1.41",
                             timeout=60)
assert client.ping()
assert client.version()["ApiVersion"]
since = int(time.time()) - 1
# A live events stream holds one channel while the other calls use others.
seen = []
events = client.events(decode=True, filters={"container": name})
reader = threading.Thread(target=lambda: [seen.append(e) for e in events], daemon=True)
reader.start()
c = client.containers.run("local/busybox:1", "sh -c 'echo started; sleep 600'", detach=True,
                          name=name)
logs = c.logs(stream=True, follow=True)
assert next(logs).strip() == b"started"
assert client.containers.run("local/busybox:1", "echo from-py", remove=True) == b"from-py\n"
# exec with stdin: the attach socket is a channel of its own, half-closed after the input.
exec_id = client.api.exec_create(c.id, "cat", stdin=True)["Id"]
sock = client.api.exec_start(exec_id, socket=True)  # the paramiko channel itself
sock.sendall(b"hi over ssh channels\n")
sock.shutdown_write()
got = b""
while True:
    chunk = sock.recv(4096)
    if not chunk:
        break
    got += chunk
assert b"hi over ssh channels" in got, got
def one_file_tar(name, data):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as t:
        entry = tarfile.TarInfo(name)
        entry.size = len(data)
        t.addfile(entry, io.BytesIO(data))
    return out.getvalue()
assert c.put_archive("/tmp", one_file_tar("over-ssh.txt", b"put over a channel"))
stream, stat = c.get_archive("/tmp/over-ssh.txt")
assert stat["size"] == 18, stat
with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
    assert t.extractfile("over-ssh.txt").read() == b"put over a channel"
stats = c.stats(stream=False)
assert "cpu_stats" in stats and "memory_stats" in stats, stats
c.stop(timeout=1)
c.remove()
for _ in range(100):
    if any(e.get("Action") == "destroy" for e in seen):
        break
    time.sleep(0.1)
assert any(e.get("Action") == "start" for e in seen), seen
assert any(e.get("Action") == "destroy" for e in seen), seen
client.close()  # (docker-py cannot cancel a stream over SSH: the connection ends them all)
print("docker-py over ssh: ok")
PY
assert_contains "$LAST_OUT" "docker-py over ssh: ok" "docker-py: ping, run, logs, exec with stdin, archives, stats and events over ssh://"
read -r peers conns <<<"$(audit_peers "$since_line")"
assert_eq 1 "$peers" "docker-py: one SSH connection (one peer address) carried every request"
((conns >= 3)) || fail "docker-py: expected several channels (sessions) on that connection, the audit shows $conns"
ok "docker-py: $conns channels on that one connection, each with its own session and audit lines"

# --- OpenSSH ControlMaster: a long `docker events` is the master; other commands share it
since_line="$(audit_lines)"
as_user env DOCKER_HOST="ssh://alice_ssh@127.0.0.1:$SSH_PORT" DOCKER_CONFIG="$THOME/.docker" \
  timeout 300 docker events --format '{{.Action}} {{.Actor.Attributes.name}}' >"$WORK/ev.out" 2>"$WORK/ev.err" &
ev=$!
on_exit "kill $ev"
for _ in $(seq 1 100); do [[ -S "$(ls "$THOME"/.ssh/cm-* 2>/dev/null | head -n1)" ]] && break; sleep 0.1; done
ls "$THOME"/.ssh/cm-* >/dev/null 2>&1 || fail "ControlMaster: the master's control socket did not appear: $(cat "$WORK/ev.err")"
cm="${CPREFIX}-cm"
assert_success "ControlMaster: docker run over the shared connection" -- ssh_docker alice_ssh "$SSH_PORT" run --rm --name "$cm" local/busybox:1 echo shared
assert_eq "shared" "$LAST_OUT" "ControlMaster: the container's output comes back"
assert_success "ControlMaster: docker ps" -- ssh_docker alice_ssh "$SSH_PORT" ps
assert_success "ControlMaster: docker version" -- ssh_docker alice_ssh "$SSH_PORT" version --format '{{.Server.Version}}'
for _ in $(seq 1 50); do grep -q "destroy $cm" "$WORK/ev.out" && break; sleep 0.1; done
grep -q "destroy $cm" "$WORK/ev.out" || fail "ControlMaster: the events stream did not see the shared run: $(cat "$WORK/ev.out" "$WORK/ev.err")"
ok "ControlMaster: the events stream stays live while other commands share the master"
assert_eq 1 "$(server_conns "$SSH_PORT")" "ControlMaster: one TCP connection to the gateway (ss/proc)"
read -r peers conns <<<"$(audit_peers "$since_line")"
assert_eq 1 "$peers" "ControlMaster: one SSH connection carried every command's requests"
((conns >= 4)) || fail "ControlMaster: expected a channel per command, the audit shows $conns"
ok "ControlMaster: $conns channels on the master's connection"
kill "$ev" 2>/dev/null || true
wait "$ev" 2>/dev/null || true
as_user ssh -F "$THOME/.ssh/config" -p "$SSH_PORT" -O exit alice_ssh@127.0.0.1 >/dev/null 2>&1 || true

# --- docker rm --link: DELETE /containers/{parent}/{alias}?link=1 reaches the daemon
since_line="$(audit_lines)"
assert_failure "docker rm --link of a link that does not exist" -- \
  ssh_docker alice_ssh "$SSH_PORT" rm --link "/${CPREFIX}-nolink/alias"
assert_not_contains "$LAST_OUT" "dockgate" "docker rm --link is the daemon's to answer, not the gateway's"
assert_contains "$LAST_OUT" "No such container" "docker rm --link: the daemon's own answer comes back"
"$PY" - "$GW_AUDIT" "$since_line" "${CPREFIX}-nolink/alias" <<'PY' || fail "docker rm --link: no ContainerDelete audit record with the link's path"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):] if l.strip()]
want = "/containers/" + sys.argv[3]
assert any(r["operation"] == "ContainerDelete" and r["decision"] == "allow" and want in r["path"]
           and "link=1" in r["path"] for r in recs), recs
PY
ok "docker rm --link: judged as ContainerDelete and forwarded with the link's name"
assert_failure "a dot segment in a link name is refused" -- \
  ssh_docker alice_ssh "$SSH_PORT" rm --link "/${CPREFIX}-nolink/.."
assert_contains "$LAST_OUT" "dockgate" "the path trick is the gateway's refusal"

# --- 5,000 idle connections that never finish their handshake
before_threads="$(awk '/^Threads:/ {print $2}' "/proc/$GW_PID/status")"
before_rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$GW_PID/status")"
"$PY" - "$SSH_PORT" "$WORK/idle.ready" "$WORK/idle.release" >"$WORK/idle.out" 2>&1 <<'PY' &
# 50 source addresses (127.0.1.1 ...) x 100 connections each: within the per-address cap.
import os, resource, socket, sys, time
port, ready, release = int(sys.argv[1]), sys.argv[2], sys.argv[3]
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
held = []
for a in range(50):
    for _ in range(100):
        s = socket.socket()
        s.bind(("127.0.1.%d" % (a + 1), 0))
        s.connect(("127.0.0.1", port))
        held.append(s)
# One more from a full address is closed at once; a fresh address still gets the banner.
extra = socket.socket(); extra.bind(("127.0.1.1", 0)); extra.connect(("127.0.0.1", port))
extra.settimeout(10)
banner_then_close = extra.recv(100)
print("over the cap:", repr(banner_then_close))
fresh = socket.socket(); fresh.bind(("127.0.2.1", 0)); fresh.connect(("127.0.0.1", port))
fresh.settimeout(10)
print("fresh:", fresh.recv(100)[:8])
open(ready, "w").close()
deadline = time.time() + 200
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.1)
for s in held:
    s.close()
PY
idle=$!
on_exit "touch $WORK/idle.release; kill $idle"
for _ in $(seq 1 600); do [[ -f "$WORK/idle.ready" ]] && break; kill -0 "$idle" 2>/dev/null || break; sleep 0.1; done
[[ -f "$WORK/idle.ready" ]] || fail "could not open 5,000 idle connections: $(cat "$WORK/idle.out")"
grep -q "over the cap: b''" "$WORK/idle.out" || fail "a 101st connection from one address was not closed at once: $(cat "$WORK/idle.out")"
ok "listen.ssh.max_handshakes_per_address: the 101st connection from one address is closed"
grep -q "fresh: b'SSH-2.0-'" "$WORK/idle.out" || fail "a connection from another address got no banner: $(cat "$WORK/idle.out")"
ok "another address is still greeted while 5,000 are held"
held="$(server_conns "$SSH_PORT")"
((held >= 5000)) || fail "expected 5,000 connections held by the gateway, /proc/net/tcp shows $held"
assert_success "docker version over SSH while 5,000 idle connections are held" -- \
  ssh_docker alice_ssh "$SSH_PORT" version --format '{{.Server.Version}}'
during_threads="$(awk '/^Threads:/ {print $2}' "/proc/$GW_PID/status")"
during_rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$GW_PID/status")"
assert_eq "$before_threads" "$during_threads" "the gateway's thread count stays fixed with 5,000 connections"
log "gateway: $during_threads threads and $during_rss KiB RSS with 5,000 idle pre-auth" \
  "connections, $before_rss KiB before ($(( (during_rss - before_rss) * 1024 / 5000 )) bytes each)"
touch "$WORK/idle.release"
wait "$idle" 2>/dev/null || true
for _ in $(seq 1 100); do (($(server_conns "$SSH_PORT") == 0)) && break; sleep 0.1; done
assert_eq 0 "$(server_conns "$SSH_PORT")" "the idle connections are gone once their clients close"
assert_success "the gateway still serves after they left" -- ssh_docker alice_ssh "$SSH_PORT" ps
