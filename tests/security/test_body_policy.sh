#!/usr/bin/env bash
# Body policy that cannot be talked around. A developer role may run containers but not become
# root on the host. Every refused request is checked twice: the status the gateway answered,
# and that the daemon did not act (no container, exec or volume by that name exists).
#  - the docker CLI cases of issue 5 (privileged, host mounts, capabilities, host namespaces,
#    unconfined, root user) and the allowed twin with the injected no-new-privileges;
#  - raw requests over mTLS: key case and Unicode folding, duplicate keys, chunked and
#    Content-Length tricks, trailing data, invalid UTF-8, oversized bodies, path prefix
#    tricks, Mounts, exec and volume routes.
source "$(dirname "$0")/../integration/lib.sh"
it_init "$@"
replay_start # every request is replayed through `dockgate explain` at the end (lib.sh)

DATA="$(mktemp -d /tmp/dockgate-it-data.XXXXXX)"
on_exit "rm -rf $DATA"
mkdir -p "$DATA/x"
echo "hello from the host" >"$DATA/x/file"

GW="$WORK/gw"
write_gateway_head "$GW" "$(free_port)"
cat >>"$GW/dockgate.toml" <<EOF

[limits]
body_bytes = 65536

[roles.developer]
subjects = ["group:developers"]
allow = ["Container*", "Exec*", "Image*", "System*", "Volume*", "Network*"]

[roles.developer.containers]
privileged = false
cap_add = ["NET_BIND_SERVICE", "CHOWN"]
bind_sources = ["$DATA"]
host_namespaces = false
unconfined = false
run_as_non_root = true
inject_security_opt = ["no-new-privileges"]

[roles.developer.volumes]
driver_opts = false
EOF
start_gateway "$GW/dockgate.toml"

exists() { daemon_has any "$1"; }

# --- the docker CLI
refused_run() { # MESSAGE-PART ARGS...
  local expect="$1"; shift
  local name="${CPREFIX}-cli-$RANDOM"
  assert_failure "docker run $*" -- gw_docker alice run --rm --name "$name" "$@" local/busybox:1 id
  assert_contains "$LAST_OUT" "$expect" "docker run $*: the message names the field and the rule"
  exists "$name" && fail "docker run $*: the daemon created container $name"
  ok "docker run $*: no container was created"
}
refused_run "dockgate: alice (role developer) may not create a container with HostConfig.Privileged=true (roles.developer.containers.privileged)" --privileged
refused_run "(roles.developer.containers.bind_sources)" -v /:/host
refused_run "HostConfig.CapAdd=CAP_SYS_ADMIN (roles.developer.containers.cap_add)" --cap-add SYS_ADMIN
refused_run "HostConfig.PidMode=host (roles.developer.containers.host_namespaces)" --pid host
refused_run "(roles.developer.containers.unconfined)" --security-opt apparmor=unconfined
refused_run "Config.User=root (roles.developer.containers.run_as_non_root)" --user root
refused_run "(roles.developer.containers.run_as_non_root)" --user 0:0
refused_run "(roles.developer.containers.run_as_non_root)" --user 1000:0
refused_run "(roles.developer.containers.bind_sources)" -v "$DATA/../../etc:/x"
refused_run "(roles.developer.containers.bind_sources)" -v "${DATA}base:/x"
refused_run "(roles.developer.containers.run_as_non_root)" # no --user: the image's user (root) applies

name="${CPREFIX}-allowed"
assert_success "docker run --user 1000:1000 -v $DATA/x:/x is allowed" -- \
  gw_docker alice run --name "$name" --user 1000:1000 -v "$DATA/x:/x" local/busybox:1 cat /x/file
assert_eq "hello from the host" "$LAST_OUT" "the allowed container reads the allowed bind"
assert_eq "[no-new-privileges]" "$(daemon inspect -f '{{.HostConfig.SecurityOpt}}' "$name")" \
  "the injected no-new-privileges is visible in docker inspect"
# A container may write a symbolic link into an allowed folder; binding through it must not
# reach what it points at.
chmod 0777 "$DATA/x"
assert_success "a container writes links into the allowed folder" -- \
  gw_docker alice run --rm --user 1000:1000 -v "$DATA/x:/x" local/busybox:1 \
  sh -c 'ln -s / /x/escape && ln -s . /x/here'
[[ -L "$DATA/x/escape" ]] || fail "the link was not written on the host"
refused_run "(roles.developer.containers.bind_sources): the host path leads to / through a symbolic link" --user 1000:1000 -v "$DATA/x/escape:/host"
refused_run "(roles.developer.containers.bind_sources)" --user 1000:1000 -v "$DATA/x/escape/etc:/etc-host"
refused_run "(roles.developer.containers.bind_sources)" --user 1000:1000 --mount "type=bind,source=$DATA/x/escape,target=/host"
assert_success "a link that stays inside the allowed folder is allowed" -- \
  gw_docker alice run --rm --user 1000:1000 -v "$DATA/x/here:/x" local/busybox:1 cat /x/file
assert_eq "hello from the host" "$LAST_OUT" "the bind through the inside link reads the allowed file"
assert_success "docker run --cap-add NET_BIND_SERVICE is allowed" -- \
  gw_docker alice run --rm --user 1000:1000 --cap-add NET_BIND_SERVICE local/busybox:1 true

# --- raw requests over mTLS
# post PATH BODY [EXTRA_HEADERS]: a POST with Content-Length; sets RAW_OUT.
post() {
  local body="$2" extra="${3:-}"
  local length # in bytes: ${#body} counts characters in a UTF-8 locale
  length="$(printf '%s' "$body" | wc -c)"
  raw_request alice "POST $1 HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n${extra}Content-Length: $length\r\nConnection: close\r\n\r\n$body"
}
# expect_refused STATUS NAME MESSAGE: the last response had STATUS and container NAME does not exist.
expect_refused() {
  if [[ "$1" == 4xx ]]; then
    assert_match "$(raw_status)" "^4[0-9][0-9]$" "$3: refused with a 4xx"
  else
    assert_eq "$1" "$(raw_status)" "$3: status $1"
  fi
  exists "$2" && fail "$3: the daemon created $2"
  ok "$3: the daemon did not act"
}
c() { echo "${CPREFIX}-raw-$1"; }

post "/v1.41/containers/create?name=$(c case)" '{"Image":"local/busybox:1","User":"1000:1000","HostConfig":{"privileged":true}}'
expect_refused 403 "$(c case)" "lower-case key (Go matches fields case-insensitively)"
post "/v1.41/containers/create?name=$(c mixed)" '{"Image":"local/busybox:1","User":"1000:1000","hostconfig":{"PrIvIlEgEd":true}}'
expect_refused 403 "$(c mixed)" "mixed-case keys"
post "/v1.41/containers/create?name=$(c fold)" "{\"Image\":\"local/busybox:1\",\"User\":\"1000:1000\",\"HostConfig\":{\"Bind$(printf '\xc5\xbf')\":[\"/:/host\"]}}"
expect_refused 4xx "$(c fold)" "Unicode folding: Bind\\u017f is Binds to Go"
post "/v1.41/containers/create?name=$(c dup)" '{"Image":"local/busybox:1","User":"1000:1000","HostConfig":{"Privileged":false,"Privileged":true}}'
expect_refused 400 "$(c dup)" "duplicate key (Go keeps the last)"
post "/v1.41/containers/create?name=$(c collide)" '{"Image":"local/busybox:1","User":"1000:1000","HostConfig":{"Privileged":false,"privileged":true}}'
expect_refused 400 "$(c collide)" "keys that collide under case folding"
post "/v1.41/containers/create?name=$(c trailing)" '{"Image":"local/busybox:1","User":"1000:1000"}{"HostConfig":{"Privileged":true}}'
expect_refused 400 "$(c trailing)" "trailing data after the object"
post "/v1.41/containers/create?name=$(c utf8)" "{\"Image\":\"local/busybox:1\",\"User\":\"1000:1000\",\"Labels\":{\"x\":\"$(printf '\xff\xfe')\"}}"
expect_refused 400 "$(c utf8)" "invalid UTF-8"
post "/v1.41/containers/create?name=$(c deep)" "{\"Image\":\"local/busybox:1\",\"Labels\":$(printf '[%.0s' $(seq 1 200))$(printf ']%.0s' $(seq 1 200))}"
expect_refused 400 "$(c deep)" "nesting past the limit"
post "/v1.41/containers/create?name=$(c mounts)" '{"Image":"local/busybox:1","User":"1000:1000","HostConfig":{"Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]}}'
expect_refused 403 "$(c mounts)" "a bind in Mounts"
post "/v1.41/containers/create?name=$(c top)" '{"Image":"local/busybox:1","User":"1000:1000","Privileged":true}'
expect_refused 400 "$(c top)" "a HostConfig field at the top level"

# chunked: the same body in chunks is judged the same
body='{"Image":"local/busybox:1","User":"1000:1000","HostConfig":{"Privileged":true}}'
raw_request alice "POST /v1.41/containers/create?name=$(c chunked) HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n10\r\n${body:0:16}\r\n$(printf '%x' $((${#body} - 16)))\r\n${body:16}\r\n0\r\n\r\n"
expect_refused 403 "$(c chunked)" "a chunked body"
# Content-Length: 0 followed by a body: the extra bytes are not a body, they are a second
# (malformed) request, and nothing is created.
raw_request alice "POST /v1.41/containers/create?name=$(c cl0) HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n$body"
assert_ne 201 "$(raw_status)" "Content-Length: 0 with data behind it is not a create"
exists "$(c cl0)" && fail "Content-Length: 0 + data created a container"
ok "Content-Length: 0 + data: the daemon did not act"
big="{\"Image\":\"local/busybox:1\",\"Labels\":{\"pad\":\"$(head -c 70000 /dev/zero | tr '\0' a)\"},\"HostConfig\":{\"Privileged\":true}}"
post "/v1.41/containers/create?name=$(c big)" "$big"
expect_refused 413 "$(c big)" "a body over limits.body_bytes"

# path and query tricks
post "/v1.41/containers/create/../create?name=$(c dots)" '{"Image":"local/busybox:1","User":"1000:1000","HostConfig":{"Privileged":true}}'
expect_refused 400 "$(c dots)" "dot segments in the path"
post "/v1.41/containers/create?name=$(c semi);x=1" '{"Image":"local/busybox:1","User":"1000:1000","HostConfig":{"Privileged":true}}'
expect_refused 400 "$(c semi)" "a ';' in the query (Go refuses the whole query)"

# exec: Privileged and root through the exec route
target="${CPREFIX}-exec-target"
assert_success "a container to exec in" -- gw_docker alice run -d --name "$target" --user 1000:1000 local/busybox:1 sleep 300
post "/v1.41/containers/$target/exec" '{"Cmd":["id"],"Privileged":true,"User":"1000:1000"}'
assert_eq 403 "$(raw_status)" "exec with Privileged=true is refused"
post "/v1.41/containers/$target/exec" '{"Cmd":["id"],"User":"0"}'
assert_eq 403 "$(raw_status)" "exec as uid 0 is refused"
assert_eq "[]" "$(daemon inspect -f '{{json .ExecIDs}}' "$target" | sed 's/null/[]/')" "the daemon created no exec instance"
assert_success "exec as the container's non-root user is allowed" -- gw_docker alice exec "$target" id -u
assert_eq "1000" "$LAST_OUT" "the exec ran as uid 1000"

# volumes: a local volume with bind options is a host bind
vol="${CPREFIX}-vol"
post "/v1.41/volumes/create" "{\"Name\":\"$vol\",\"Driver\":\"local\",\"DriverOpts\":{\"type\":\"none\",\"o\":\"bind\",\"device\":\"/\"}}"
assert_eq 403 "$(raw_status)" "a volume with bind driver options is refused"
daemon_has volume "$vol" && fail "the daemon created volume $vol"
ok "the daemon created no volume"

# The audit file is appended in buffered writes: poll until the line is whole.
wait_for_audit 'any(r["decision"] == "deny" and r["rule"] == "roles.developer.containers.privileged" for r in recs)' 10 ||
  fail "the audit log names the rule that refused: not found in $GW_AUDIT"
ok "the audit log names the rule that refused"

# dockgate explain: the same decision offline, with the rule and the body that would go out
printf '{"Image":"local/busybox:1","HostConfig":{"Privileged":true}}' >"$WORK/priv.json"
rc=0
out="$("$DOCKGATE" explain --config "$GW/dockgate.toml" --user alice --group developers \
  --request 'POST /v1.41/containers/create' --body "$WORK/priv.json")" || rc=$?
assert_eq 3 "$rc" "explain: a refused request exits 3"
assert_contains "$out" "rule: roles.developer.containers.privileged" "explain names the rule"
printf '{"Image":"local/busybox:1","User":"1000:1000"}' >"$WORK/ok.json"
assert_success "explain: an allowed request exits 0" -- "$DOCKGATE" explain --config "$GW/dockgate.toml" \
  --user alice --group developers --request 'POST /v1.41/containers/create' --body "$WORK/ok.json"
assert_contains "$LAST_OUT" '"SecurityOpt":["no-new-privileges"]' "explain shows the forwarded body with the injected option"

# mode = "audit": the same constraints let the request through and log would-deny
stop_gateway || fail "dockgate did not stop cleanly"
sed -i 's/^allow = \["Container\*"/mode = "audit"\nallow = ["Container*"/' "$GW/dockgate.toml"
start_gateway "$GW/dockgate.toml"
name="${CPREFIX}-audit-mode"
assert_success "audit mode: a privileged run goes through" -- gw_docker alice run --name "$name" --privileged --user 1000:1000 local/busybox:1 true
assert_eq "true" "$(daemon inspect -f '{{.HostConfig.Privileged}}' "$name")" "audit mode: the daemon got the request as sent"
wait_for_audit "any(r['decision'] == 'would-deny' and r['rule'] == 'roles.developer.containers.privileged' for r in recs)" 5 ||
  fail "audit mode: no would-deny line naming the rule: $(tail -2 "$GW_AUDIT")"
ok "audit mode: the audit line says would-deny and names the rule"
