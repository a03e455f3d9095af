#!/usr/bin/env bash
# docker/Dockerfile for real: a Debian 12 base made here (debootstrap, then docker import, as no
# registry is reachable) stands in for debian:12 and debian:12-slim; the image builds from this
# source tree, runs as its unprivileged user with a read-only root file system, no capabilities
# and no-new-privileges, and the stock CLI works through it.
# ctest label "image" (not "integration": it builds for minutes, once per ./test.sh run).
source "$(dirname "$0")/lib.sh"
it_init "$@"

for t in debootstrap; do
  command -v "$t" >/dev/null || fail "$t not found (apt-get install $t)"
done

# --- the base: debootstrap of Debian 12 from the archive apt uses, kept between runs -------------
mirror="$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)"
[[ -n "$mirror" ]] || mirror="$(awk '$1 == "deb" && $2 ~ /debian$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)"
[[ -n "$mirror" ]] || mirror=http://deb.debian.org/debian
cache="$IT_BUILD_DIR/cache"
base_tar="$cache/debian12-minbase.tar"
if [[ ! -s "$base_tar" ]]; then
  mkdir -p "$cache"
  root="$(mktemp -d /tmp/dockgate-debootstrap.XXXXXX)"
  on_exit rm -rf "$root"
  t0=$SECONDS
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 20 "$WORK/debootstrap.log" >&2
    fail "debootstrap of Debian 12 from $mirror failed"
  }
  # mktemp made the folder 0700: as the image's / it would lock out every user but root.
  chmod 755 "$root"
  tar -C "$root" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
  log "Debian 12 base made with debootstrap from $mirror ($((SECONDS - t0)) s)"
fi
DAEMON_TIMEOUT=600 daemon import "$base_tar" debian:12 >/dev/null || fail "docker import of the Debian 12 base failed"
daemon tag debian:12 debian:12-slim
on_exit daemon rmi debian:12 debian:12-slim

# --- the image -------------------------------------------------------------------------------------
IMAGE=dockgate-it:image
t0=$SECONDS
if ! DAEMON_TIMEOUT=2000 daemon build --network host -f "$IT_SOURCE_DIR/docker/Dockerfile" -t "$IMAGE" \
  "$IT_SOURCE_DIR" >"$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log" >&2
  fail "docker build -f docker/Dockerfile failed"
fi
on_exit daemon image prune -f
on_exit daemon rmi "$IMAGE"
ok "docker/Dockerfile builds on the local Debian 12 base ($((SECONDS - t0)) s)"
assert_eq "10001:10001" "$(daemon image inspect -f '{{.Config.User}}' "$IMAGE")" "the image runs as dockgate (10001)"

# --- run it as the README says: read-only, no capabilities, no new privileges ------------------------
ETC="$WORK/etc"
PORT="$(free_port)"
mkdir -p "$ETC"
cp "$PKI_DIR/server/ca.pem" "$PKI_DIR/server/server-cert.pem" "$PKI_DIR/server/server-key.pem" "$ETC/"
cat >"$ETC/dockgate.toml" <<EOF
[gateway]
upstream = "unix:///var/run/docker.sock"
audit_log = "/var/log/dockgate/audit.jsonl"
workers = 2

[listen.tls]
address = "127.0.0.1:$PORT"
ca = "ca.pem"
cert = "server-cert.pem"
key = "server-key.pem"

[users.alice]
groups = ["developers"]

[roles.operator]
subjects = ["group:developers"]
allow = ["*"]
deny = ["Plugin*", "Swarm*"]
EOF
chown -R 10001:10001 "$ETC"
chmod 755 "$WORK" "$ETC"
sock_dir_mode="$(stat -c %a "$(dirname "$DOCKER_SOCK")")"
chmod o+x "$(dirname "$DOCKER_SOCK")"
on_exit chmod "$sock_dir_mode" "$(dirname "$DOCKER_SOCK")"
SOCK_GID="$(stat -c %g "$DOCKER_SOCK")"
NAME="dockgate-it-image-$$"
daemon run -d --name "$NAME" --read-only --cap-drop ALL --security-opt no-new-privileges \
  --network host --group-add "$SOCK_GID" \
  -v "$DOCKER_SOCK:/var/run/docker.sock" -v "$ETC:/etc/dockgate:ro" \
  --tmpfs /var/log/dockgate:uid=10001,gid=10001,mode=0750 "$IMAGE" >/dev/null ||
  fail "docker run of the image failed"
on_exit daemon rm -f "$NAME"
if ! wait_for_port "$PORT" 20; then
  daemon logs "$NAME" >&2 || true
  fail "the gateway in the image does not listen on $PORT"
fi
GW_PORT="$PORT"
PID="$(daemon inspect -f '{{.State.Pid}}' "$NAME")"
field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$PID/status"; }
assert_eq "10001 10001 10001 10001" "$(field Uid)" "the gateway in the image runs as uid 10001"
assert_match " $(field Groups) " " $SOCK_GID " "with the daemon socket's group added"
[[ "$(field CapEff)" =~ ^0+$ ]] || fail "effective capabilities: $(field CapEff)"
assert_eq 1 "$(field NoNewPrivs)" "no_new_privs"
assert_eq 2 "$(field Seccomp)" "seccomp in force"

out="$(gw_docker alice version --format '{{.Server.Version}}' 2>&1)" ||
  fail "docker version through the image failed: $out"
ok "docker version through the gateway in the image: $out"
out="$(gw_docker alice run --rm local/busybox:1 echo image-ok 2>&1)" ||
  fail "docker run through the image failed: $out"
assert_contains "$out" "image-ok" "docker run --rm through the gateway in the image"
out="$(daemon exec "$NAME" sh -c 'touch /usr/local/bin/x' 2>&1)" &&
  fail "the image's root file system is writable"
assert_contains "$out" "Read-only file system" "the root file system is read-only"
audit="$(daemon exec "$NAME" sh -c 'cat /var/log/dockgate/audit.jsonl')" ||
  fail "cannot read the audit file in the container"
assert_contains "$audit" '"operation":"ContainerCreate"' "the audit log in the container records the run"
logs="$(daemon logs "$NAME" 2>&1)"
assert_not_contains "$logs" "running as root" "no root warning in the image"
