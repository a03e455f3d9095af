#!/usr/bin/env bash
# The stock docker CLI and docker-py (Debian's python3-docker) through a role with every
# constraint section present and ownership on: default deny must refuse only what cannot be
# judged, never what ordinary clients send. Each command's effect is checked at the daemon.
source "$(dirname "$0")/lib.sh"
it_init "$@"

DATA="$(mktemp -d /tmp/dockgate-it-cc.XXXXXX)"
on_exit "rm -rf $DATA"
mkdir -p "$DATA/x"
chmod 0777 "$DATA/x"
echo "from the host" >"$DATA/x/file"

GW="$WORK/gw"
write_gateway_head "$GW" "$(free_port)"
cat >>"$GW/dockgate.toml" <<EOF

[roles.developer]
subjects = ["group:developers"]
allow = ["*"]
deny = ["Plugin*", "Swarm*", "Service*", "Secret*", "Config*", "Node*", "Task*"]
ownership = true

[roles.developer.containers]
cap_add = ["CHOWN", "NET_BIND_SERVICE"]
bind_sources = ["$DATA"]
run_as_non_root = true
inject_security_opt = ["no-new-privileges"]

[roles.developer.volumes]
drivers = ["local"]

[roles.developer.images]
registries = ["docker.io/local"]
local_names = true

[roles.developer.build]
EOF
start_gateway "$GW/dockgate.toml"
on_exit 'daemon rmi -f "local/$CPREFIX-built:1" "local/$CPREFIX-tagged:1" "local/$CPREFIX-commit:1" >/dev/null 2>&1'
on_exit 'daemon volume rm -f "$CPREFIX-vol" >/dev/null 2>&1; daemon network rm "$CPREFIX-net" >/dev/null 2>&1'

U=(--user 1000:1000)

# --- the CLI ------------------------------------------------------------------------------
assert_success "docker version" -- gw_docker alice version
assert_success "docker info" -- gw_docker alice info
out="$(GW_TIMEOUT=60 gw_docker alice run --rm "${U[@]}" --name "$CPREFIX-rm" local/busybox:1 echo hi 2>&1)" ||
  fail "docker run --rm failed: $out"
assert_eq "hi" "$out" "docker run --rm ... echo hi"
assert_success "docker run -d with a bind, a tmpfs, a capability, a label, a restart policy" -- \
  gw_docker alice run -d "${U[@]}" --name "$CPREFIX-app" -v "$DATA/x:/x:ro" --tmpfs /scratch:size=1m \
  --cap-add CHOWN --label tier=test --restart unless-stopped --memory 64m --pids-limit 64 \
  --health-cmd true --health-interval 30s -e A=1 -w /x local/busybox:1 sleep 600
assert_eq "[no-new-privileges]" "$(daemon inspect -f '{{.HostConfig.SecurityOpt}}' "$CPREFIX-app")" \
  "the injected security option reached the daemon"
assert_eq private "$(daemon inspect -f '{{.HostConfig.CgroupnsMode}}' "$CPREFIX-app")" \
  "the container has its own cgroup namespace"
assert_eq alice "$(daemon inspect -f '{{index .Config.Labels "dockgate.owner"}}' "$CPREFIX-app")" \
  "the container is alice's"
out="$(echo hi | GW_TIMEOUT=30 gw_docker alice exec -i "$CPREFIX-app" cat 2>&1)" || fail "exec -i: $out"
assert_eq "hi" "$out" "echo hi | docker exec -i C cat"
assert_eq "from the host" "$(gw_docker alice exec "$CPREFIX-app" cat /x/file)" "the bind is readable"
assert_success "docker logs" -- gw_docker alice logs "$CPREFIX-app"
assert_success "docker top" -- gw_docker alice top "$CPREFIX-app"
GW_TIMEOUT=60 assert_success "docker stats --no-stream" -- gw_docker alice stats --no-stream "$CPREFIX-app"
echo payload >"$WORK/in.txt"
assert_success "docker cp in" -- gw_docker alice cp "$WORK/in.txt" "$CPREFIX-app:/tmp/in.txt"
assert_success "docker cp out" -- gw_docker alice cp "$CPREFIX-app:/tmp/in.txt" "$WORK/out.txt"
assert_eq payload "$(cat "$WORK/out.txt")" "docker cp round trip"
assert_success "docker pause" -- gw_docker alice pause "$CPREFIX-app"
assert_success "docker unpause" -- gw_docker alice unpause "$CPREFIX-app"
assert_success "docker update" -- gw_docker alice update --cpu-shares 512 "$CPREFIX-app"
assert_success "docker rename" -- gw_docker alice rename "$CPREFIX-app" "$CPREFIX-app2"
assert_success "docker restart" -- gw_docker alice restart -t 1 "$CPREFIX-app2"
assert_eq true "$(daemon inspect -f '{{.State.Running}}' "$CPREFIX-app2")" "the container runs again after restart"
gw_docker alice create -i "${U[@]}" --name "$CPREFIX-att" local/busybox:1 sh -c 'read l; echo "got:$l"; exit 5' >/dev/null ||
  fail "docker create -i failed"
gw_docker alice start "$CPREFIX-att" >/dev/null || fail "docker start failed"
rc=0
out="$(echo hello | GW_TIMEOUT=30 gw_docker alice attach "$CPREFIX-att" 2>&1)" || rc=$?
assert_eq "got:hello" "$out" "docker attach"
assert_eq 5 "$rc" "docker attach returns the exit code"
assert_success "docker volume create" -- gw_docker alice volume create "$CPREFIX-vol"
assert_success "docker network create" -- gw_docker alice network create "$CPREFIX-net"
assert_success "docker run on the network with the volume" -- \
  gw_docker alice run --rm "${U[@]}" --network "$CPREFIX-net" -v "$CPREFIX-vol:/v" local/busybox:1 true
assert_success "docker commit" -- gw_docker alice commit "$CPREFIX-app2" "local/$CPREFIX-commit:1"
assert_success "docker tag" -- gw_docker alice tag local/busybox:1 "local/$CPREFIX-tagged:1"
mkdir -p "$WORK/ctx"
printf 'FROM local/busybox:1\nRUN echo built > /built\n' >"$WORK/ctx/Dockerfile"
DOCKER_BUILDKIT=0 GW_TIMEOUT=180 assert_success "docker build (the classic builder, the context sent to the gateway)" -- \
  gw_docker alice build -q -t "local/$CPREFIX-built:1" "$WORK/ctx"
assert_eq built "$(daemon run --rm "local/$CPREFIX-built:1" cat /built)" "the built image holds the file"
rc=0
out="$( (GW_TIMEOUT=120 gw_docker alice save "local/$CPREFIX-tagged:1" | GW_TIMEOUT=120 gw_docker alice load) 2>&1)" || rc=$?
assert_eq 0 "$rc" "docker save | docker load ($out)"
assert_contains "$out" "Loaded image: local/$CPREFIX-tagged:1" "the image was loaded back"
since="$(date +%s)"
gw_docker alice run --rm "${U[@]}" local/busybox:1 true >/dev/null || fail "docker run for events"
assert_success "docker events --since --until" -- gw_docker alice events --since "$since" --until "$(date +%s)"
assert_success "docker ps -a" -- gw_docker alice ps -a
assert_success "docker images" -- gw_docker alice images
assert_success "docker system df" -- gw_docker alice system df
assert_success "docker rm -f" -- gw_docker alice rm -f "$CPREFIX-app2" "$CPREFIX-att"
assert_success "docker volume rm" -- gw_docker alice volume rm "$CPREFIX-vol"
assert_success "docker network rm" -- gw_docker alice network rm "$CPREFIX-net"

# What the role refuses is still refused, with its rule.
assert_failure "docker run --privileged" -- gw_docker alice run --rm "${U[@]}" --privileged local/busybox:1 true
assert_contains "$LAST_OUT" "(roles.developer.containers.privileged)" "the refusal names the rule"

# --- docker-py ----------------------------------------------------------------------------
PY=/usr/bin/python3 # Debian's, with python3-docker
"$PY" -c 'import docker' 2>/dev/null || fail "python3-docker is not installed for $PY (apt-get install python3-docker)"
CD="$PKI_DIR/clients/alice"
# (requests prefers REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE, when set, to the CA docker-py gives it)
GW_TIMEOUT=180 assert_success "docker-py through the gateway over mutual TLS" -- \
  env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE timeout 180 "$PY" - "$GW_PORT" "$CD" "$CPREFIX" "$DATA" <<'PY'
import io, sys, tarfile, time
import docker

port, certs, prefix, data = sys.argv[1:5]
tls = docker.tls.TLSConfig(client_cert=(certs + "/cert.pem", certs + "/key.pem"),
                           ca_cert=certs + "/ca.pem", verify=True)
client = docker.DockerClient(base_url="tcp://127.0.0.1:" + port, tls=tls, version="1.41")
assert client.ping()
assert client.version()["ApiVersion"]
# run, logs, exec, archives, stats, events
c = client.containers.run("local/busybox:1", "sleep 600", user="1000:1000", detach=True,
                          name=prefix + "-py", volumes={data + "/x": {"bind": "/x", "mode": "ro"}},
                          labels={"via": "docker-py"}, mem_limit="64m")
since = int(time.time()) - 1
assert c.exec_run("cat /x/file", user="1000:1000").output == b"from the host\n"
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    info = tarfile.TarInfo("hello.txt")
    info.size = 5
    t.addfile(info, io.BytesIO(b"hello"))
assert c.put_archive("/tmp", buf.getvalue())
stream, _ = c.get_archive("/tmp/hello.txt")
raw = b"".join(stream)
with tarfile.open(fileobj=io.BytesIO(raw)) as t:
    assert t.extractfile("hello.txt").read() == b"hello"
assert "cpu_stats" in c.stats(stream=False)
out = client.containers.run("local/busybox:1", "echo from-py", user="1000:1000", remove=True)
assert out == b"from-py\n", out
c.stop(timeout=1)
events = list(client.events(since=since, until=int(time.time()) + 1, decode=True))
assert any(e.get("Actor", {}).get("Attributes", {}).get("name") == prefix + "-py" for e in events)
# volumes, networks, images, a build from a context
v = client.volumes.create(prefix + "-pyvol")
n = client.networks.create(prefix + "-pynet")
ctx = io.BytesIO()
with tarfile.open(fileobj=ctx, mode="w") as t:
    df = b"FROM local/busybox:1\nRUN true\n"
    info = tarfile.TarInfo("Dockerfile")
    info.size = len(df)
    t.addfile(info, io.BytesIO(df))
ctx.seek(0)
image, _ = client.images.build(fileobj=ctx, custom_context=True, tag="local/" + prefix + "-pybuilt:1", rm=True)
assert client.images.list()
c.remove(force=True)
v.remove()
n.remove()
client.images.remove("local/" + prefix + "-pybuilt:1", force=True)
# a refusal comes back as an APIError with the gateway's message
try:
    client.containers.run("local/busybox:1", "true", user="1000:1000", privileged=True, remove=True)
    raise SystemExit("a privileged run was not refused")
except docker.errors.APIError as e:
    assert "roles.developer.containers.privileged" in str(e), e
print("docker-py: ok")
PY
assert_contains "$LAST_OUT" "docker-py: ok" "docker-py ran every call"
daemon_has any "$CPREFIX-py" && fail "docker-py's container was not removed"
ok "docker-py's objects are gone"
