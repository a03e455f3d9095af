#!/usr/bin/env bash
# docker build through dockgate: the context (a tar request body) streams to
# the daemon, the progress stream streams back, RUN steps run, and the built
# image holds the context's file.
source "$(dirname "$0")/lib.sh"
it_init "$@"

gateway_up gw
IMG="local/it-build-$$:1"
on_exit "daemon rmi -f '$IMG'"

ctx="$WORK/context"
mkdir -p "$ctx"
head -c 2000000 /dev/urandom | base64 >"$ctx/file"     # ~2.7 MB context
echo "marker-$$" >>"$ctx/file"
cat >"$ctx/Dockerfile" <<DF
FROM local/busybox:1
COPY file /file
RUN tail -n 1 /file && sha256sum /file > /file.sum
CMD ["cat", "/file"]
DF
want="$(sha256sum <"$ctx/file" | cut -d' ' -f1)"

# The classic builder first (forced, so that it is the same with or without
# buildx); BuildKit below.
DOCKER_BUILDKIT=0 GW_TIMEOUT=180 assert_success "docker build (classic builder) with a context dir" -- \
  gw_docker alice build -t "$IMG" "$ctx"
out="$LAST_OUT"
assert_contains "$out" "marker-$$" "the build's RUN step output streamed back"
assert_contains "$out" "Successfully tagged $IMG" "the build tagged the image"

id_gw="$(gw_docker alice image inspect -f '{{.Id}}' "$IMG")" || fail "image inspect through the gateway failed"
assert_eq "$(daemon image inspect -f '{{.Id}}' "$IMG")" "$id_gw" "the daemon has the built image"

got="$(GW_TIMEOUT=60 gw_docker alice run --rm "$IMG" | sha256sum | cut -d' ' -f1)"
assert_eq "$want" "$got" "running the built image prints the context file intact"
got="$(GW_TIMEOUT=60 gw_docker alice run --rm "$IMG" cat /file.sum | cut -d' ' -f1)"
assert_eq "$want" "$got" "the RUN step saw the same file"

# Build from a tar on stdin (context as a chunked request body of unknown length).
on_exit "daemon rmi -f '$IMG-stdin'"
tar -C "$ctx" -cf "$WORK/context.tar" .
DOCKER_BUILDKIT=0 GW_TIMEOUT=180 assert_success "docker build - (context tar on stdin)" -- \
  gw_docker alice build -q -t "$IMG-stdin" - <"$WORK/context.tar"
assert_eq "$(daemon image inspect -f '{{.Id}}' "$IMG-stdin")" "$(printf '%s' "$LAST_OUT" | tail -n1)" \
  "build -q printed the id of the image the daemon has"

# --- BuildKit: the build session is a 101 upgrade (POST /session, h2c) that
# runs alongside POST /build. The docker 23+ CLI needs the buildx plugin for
# it; Debian's docker.io CLI (20.10) has BuildKit built in.
bk_cli=()
if docker buildx version >/dev/null 2>&1; then
  bk_cli=(docker buildx build --load)
elif [[ -x /usr/bin/docker ]] && /usr/bin/docker --version 2>/dev/null | grep -q '^Docker version 20\.'; then
  bk_cli=(/usr/bin/docker build)
else
  fail "no BuildKit-capable docker CLI: install the buildx plugin or Debian's docker.io CLI (/usr/bin/docker 20.10)"
fi
echo "buildkit-$$" >"$ctx/file"
cat >"$ctx/Dockerfile" <<DF
FROM local/busybox:1
COPY file /file
RUN cat /file > /copy
DF
on_exit "daemon rmi -f '$IMG-bk'"
cd="$(client_dir alice)"
DOCKER_BUILDKIT=1 assert_success "BuildKit build through the gateway (${bk_cli[*]})" -- \
  env DOCKER_HOST="tcp://127.0.0.1:$GW_PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$cd" \
  timeout 180 "${bk_cli[@]}" --network=none --progress=plain -t "$IMG-bk" "$ctx"
out="$(daemon run --rm "$IMG-bk" cat /copy)" || fail "the BuildKit-built image does not run"
assert_eq "buildkit-$$" "$out" "the BuildKit-built image holds the context's file"
wait_for_audit "any(r.get('operation') == 'Session' and r.get('decision') == 'allow' and int(r.get('status', 0)) == 101 for r in recs)" ||
  fail "no allowed Session (101) audit record for the BuildKit session"
ok "audit: BuildKit's /session upgrade recorded as 101"

wait_for_audit "any(r.get('operation') == 'ImageBuild' and r.get('decision') == 'allow' and r.get('user') == 'alice' for r in recs)" ||
  fail "no allowed ImageBuild audit record for alice"
ok "audit: ImageBuild recorded"
