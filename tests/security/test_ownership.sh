#!/usr/bin/env bash
# Ownership isolation: alice and bob share a role with `ownership = true`. Each sees only what
# they created, and everything of the other's is "not found", by name, full id and short id,
# through the docker CLI and raw requests. Every refusal is checked against the daemon: the
# container still runs under its name, unpaused, with no exec started by bob, the volume and
# network still exist, nothing was committed or pruned. carol's role has no ownership and
# sees everything.
source "$(dirname "$0")/../integration/lib.sh"
it_init "$@"
replay_start # every request is replayed through `dockgate explain` at the end (lib.sh)

GW="$WORK/gw"
write_gateway_head "$GW" "$(free_port)"
cat >>"$GW/dockgate.toml" <<EOF

[roles.ci]
subjects = ["group:developers"]
allow = ["Container*", "Exec*", "Image*", "System*", "Volume*", "Network*", "PutContainerArchive", "BuildPrune"]
ownership = true

[roles.admin]
subjects = ["user:carol"]
allow = ["*"]
EOF
start_gateway "$GW/dockgate.toml"

A="${CPREFIX}-a1"       # alice's running container
A2="${CPREFIX}-a2"      # alice's stopped container
B="${CPREFIX}-b1"       # bob's running container
B2="${CPREFIX}-b2"      # bob's stopped container
VA="${CPREFIX}-va"      # alice's volume
NA="${CPREFIX}-na"      # alice's network
NB="${CPREFIX}-nb"      # bob's network
IMG="local/${CPREFIX}-commit"
on_exit "daemon volume rm -f $VA"
on_exit "daemon network rm $NA $NB"
on_exit "daemon rmi -f $IMG:alice $IMG:bob $IMG:built $IMG:forged"
SINCE="$(date +%s)"

assert_success "alice runs a container" -- gw_docker alice run -d --name "$A" local/busybox:1 sleep 600
AID="$(daemon inspect -f '{{.Id}}' "$A")"
assert_eq "alice" "$(daemon inspect -f '{{index .Config.Labels "dockgate.owner"}}' "$A")" \
  "the container is labelled dockgate.owner=alice"
assert_success "alice creates a stopped container" -- gw_docker alice create --name "$A2" local/busybox:1 true
assert_success "bob runs a container" -- gw_docker bob run -d --name "$B" local/busybox:1 sleep 600
assert_success "bob creates a stopped container" -- gw_docker bob create --name "$B2" local/busybox:1 true
assert_success "alice creates a volume" -- gw_docker alice volume create "$VA"
assert_success "alice creates a network" -- gw_docker alice network create --internal "$NA"
assert_success "bob creates a network" -- gw_docker bob network create --internal "$NB"

# --- lists
assert_success "bob lists containers" -- gw_docker bob ps -a --format '{{.Names}}'
assert_contains "$LAST_OUT" "$B2" "bob's list shows his own stopped container"
assert_not_contains "$LAST_OUT" "$A" "bob's list does not show alice's containers"
assert_success "bob lists with a filter of his own" -- gw_docker bob ps -a --filter "label=dockgate.owner=alice" -q
assert_eq "" "$LAST_OUT" "a filter naming alice's label does not widen bob's list"
assert_success "alice lists containers" -- gw_docker alice ps -a --format '{{.Names}}'
assert_contains "$LAST_OUT" "$A2" "alice sees her own containers"
assert_not_contains "$LAST_OUT" "$B" "alice does not see bob's"
assert_success "carol (no ownership) lists containers" -- gw_docker carol ps -a --format '{{.Names}}'
assert_contains "$LAST_OUT" "$A" "a role without ownership sees alice's containers"
assert_contains "$LAST_OUT" "$B" "and bob's"
assert_success "bob lists volumes" -- gw_docker bob volume ls -q
assert_not_contains "$LAST_OUT" "$VA" "bob's volume list does not show alice's volume"
assert_success "alice lists volumes" -- gw_docker alice volume ls -q
assert_contains "$LAST_OUT" "$VA" "alice's volume list shows hers"
assert_success "bob lists networks" -- gw_docker bob network ls --format '{{.Name}}'
assert_contains "$LAST_OUT" "$NB" "bob's network list shows his network"
assert_not_contains "$LAST_OUT" "$NA" "bob's network list does not show alice's"

# --- by name, full id and short id: not found, and the daemon did not act
short="${AID:0:6}"
for ref in "$A" "$AID" "$short"; do
  assert_failure "bob inspects alice's container as $ref" -- gw_docker bob inspect --type container "$ref"
  assert_contains "$LAST_OUT" "No such container" "inspect of $ref: answered as if it did not exist"
done
bob_refused() { # DESCRIPTION ARGS...
  local what="$1"; shift
  assert_failure "bob: docker $what" -- gw_docker bob "$@"
  assert_contains "$LAST_OUT" "No such container" "bob: docker $what is 'No such container'"
}
bob_refused "logs" logs "$A"
bob_refused "exec" exec "$A" touch /bob-was-here
bob_refused "stop" stop -t 1 "$short"
bob_refused "kill" kill "$A"
bob_refused "pause" pause "$A"
bob_refused "rename" rename "$A" "${CPREFIX}-renamed"
bob_refused "rm" rm "$AID"
# `rm -f` of a missing container exits 0 in newer CLIs: only the message tells.
LAST_OUT="$(gw_docker bob rm -f "$AID" 2>&1)" || true
assert_contains "$LAST_OUT" "No such container" "bob: docker rm -f is 'No such container'"
bob_refused "cp out" cp "$A:/etc/passwd" "$WORK/passwd"
bob_refused "cp in" cp "$WORK" "$A:/tmp/"
bob_refused "top" top "$A"
bob_refused "update" update --memory 64m "$A"
bob_refused "commit" commit "$A" "$IMG:bob"
bob_refused "restart" restart -t 1 "$A"
bob_refused "export" export -o "$WORK/a.tar" "$A"
bob_refused "start" start "$A2"
bob_refused "wait" wait "$A2"
bob_refused "attach" attach --no-stdin "$A"
assert_eq "true false" "$(daemon inspect -f '{{.State.Running}} {{.State.Paused}}' "$A")" \
  "alice's container still runs, unpaused"
assert_eq "/$A $AID" "$(daemon inspect -f '{{.Name}} {{.Id}}' "$A")" "it kept its name and id"
assert_eq "[]" "$(daemon inspect -f '{{json .ExecIDs}}' "$A" | sed 's/null/[]/')" "no exec was created in it"
assert_eq "0" "$(daemon inspect -f '{{.HostConfig.Memory}}' "$A")" "its memory limit is unchanged"
daemon_has image "$IMG:bob" && fail "bob's commit of alice's container made an image"
ok "no image was committed from alice's container"
assert_eq "created" "$(daemon inspect -f '{{.State.Status}}' "$A2")" "alice's stopped container was not started"

# the nearest allowed twins: alice can do all of it to her own container
assert_success "alice inspects by short id" -- gw_docker alice inspect -f '{{.Name}}' "$short"
assert_eq "/$A" "$LAST_OUT" "alice's short id resolves to her container"
assert_success "alice execs" -- gw_docker alice exec "$A" echo hi
assert_eq "hi" "$LAST_OUT" "alice's exec ran"
assert_success "alice commits" -- gw_docker alice commit "$A" "$IMG:alice"
assert_success "bob stops his own container" -- gw_docker bob stop -t 1 "$B"

# --- exec instances: reachable only through their container's owner
raw() { # CLIENT METHOD PATH [BODY]
  local body="${4:-}"
  raw_request "$1" "$2 $3 HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
}
raw alice POST "/v1.41/containers/$A/exec" '{"Cmd":["touch","/tmp/exec-ran"]}'
assert_eq 201 "$(raw_status)" "alice creates an exec instance"
EXEC="$(sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p' "$RAW_OUT")"
[[ -n "$EXEC" ]] || fail "no exec id in $(cat "$RAW_OUT")"
raw bob GET "/v1.41/exec/$EXEC/json"
assert_eq 404 "$(raw_status)" "bob inspecting alice's exec instance: 404"
assert_contains "$(cat "$RAW_OUT")" "No such exec instance" "in the daemon's words"
raw bob POST "/v1.41/exec/$EXEC/start" '{"Detach":true}'
assert_eq 404 "$(raw_status)" "bob starting alice's exec instance: 404"
sleep 1
assert_failure "the exec did not run" -- daemon exec "$A" test -e /tmp/exec-ran
raw alice GET "/v1.41/exec/$EXEC/json"
assert_eq 200 "$(raw_status)" "alice inspects her exec instance"

# raw: prefixes and filters
raw bob GET "/v1.41/containers/${AID:0:3}/json"
assert_eq 404 "$(raw_status)" "raw: a 3-character id prefix of alice's container is 404 for bob"
raw bob GET "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22dockgate.owner%3Dalice%22%5D%7D"
assert_eq 200 "$(raw_status)" "raw: a legacy list-form filter is accepted"
assert_not_contains "$(cat "$RAW_OUT")" "$AID" "raw: and does not reveal alice's container"
raw bob GET "/v1.41/containers/json?filters=%7B%22label%22%3A5%7D"
assert_eq 400 "$(raw_status)" "raw: filters the daemon could not read are a 400"
raw bob GET "/v1.41/containers/json?filters=%7B%7D&filters=%7B%22label%22%3A%5B%22x%22%5D%7D"
assert_eq 200 "$(raw_status)" "raw: a second filters parameter is replaced, not passed on"

# --- volumes
assert_failure "bob inspects alice's volume" -- gw_docker bob volume inspect "$VA"
assert_contains "$LAST_OUT" "no such volume" "bob: alice's volume does not exist"
assert_failure "bob removes alice's volume" -- gw_docker bob volume rm "$VA"
assert_failure "bob mounts alice's volume" -- gw_docker bob run --rm -v "$VA:/v" local/busybox:1 true
daemon volume inspect "$VA" >/dev/null || fail "alice's volume is gone"
ok "alice's volume still exists"

# --- networks
assert_failure "bob inspects alice's network" -- gw_docker bob network inspect "$NA"
assert_contains "$LAST_OUT" "not found" "bob: alice's network does not exist"
assert_failure "bob removes alice's network" -- gw_docker bob network rm "$NA"
assert_failure "bob connects his container to alice's network" -- gw_docker bob network connect "$NA" "$B"
assert_failure "bob connects alice's container to his network" -- gw_docker bob network connect "$NB" "$A"
assert_contains "$LAST_OUT" "No such container" "bob: alice's container does not exist for a connect"
daemon network inspect "$NA" >/dev/null || fail "alice's network is gone"
ok "alice's network still exists"
assert_eq "" "$(daemon inspect -f "{{with index .NetworkSettings.Networks \"$NB\"}}connected{{end}}" "$A")" \
  "alice's container was not connected to bob's network"
assert_success "bob connects his own container to his network" -- gw_docker bob network connect "$NB" "$B"
assert_eq "connected" "$(daemon inspect -f "{{with index .NetworkSettings.Networks \"$NB\"}}connected{{end}}" "$B")" \
  "the allowed twin: bob's container is on bob's network"
assert_success "the predefined bridge network is visible" -- gw_docker bob network inspect -f '{{.Name}}' none
assert_eq "none" "$LAST_OUT" "bob inspects the predefined 'none' network"

# --- images built by an ownership role are labelled; a forged owner label is refused
ctx="$WORK/ctx"
mkdir -p "$ctx"
printf 'FROM local/busybox:1\nLABEL app=demo\n' >"$ctx/Dockerfile"
DOCKER_BUILDKIT=0 GW_TIMEOUT=180 assert_success "bob builds an image" -- \
  gw_docker bob build -q --label tier=test -t "$IMG:built" "$ctx"
assert_eq "bob demo test" \
  "$(daemon image inspect -f '{{index .Config.Labels "dockgate.owner"}} {{.Config.Labels.app}} {{.Config.Labels.tier}}' "$IMG:built")" \
  "the built image carries bob's owner label next to its own labels"
DOCKER_BUILDKIT=0 GW_TIMEOUT=180 assert_failure "bob builds an image labelled as alice's" -- \
  gw_docker bob build -q --label dockgate.owner=alice -t "$IMG:forged" "$ctx"
assert_contains "$LAST_OUT" "the dockgate.owner label is set by the gateway" "the refusal says why"
daemon_has image "$IMG:forged" && fail "the forged build made an image"
ok "no image was built with a forged owner label"

# --- events and disk usage
assert_success "bob's events" -- gw_docker bob events --since "$SINCE" --until "$(date +%s)" --format '{{.Actor.Attributes.name}} {{.Action}}'
assert_contains "$LAST_OUT" "$B" "bob's events show his container"
assert_not_contains "$LAST_OUT" "$A" "bob's events do not show alice's"
assert_success "alice's events" -- gw_docker alice events --since "$SINCE" --until "$(date +%s)" --format '{{.Actor.Attributes.name}} {{.Action}}'
assert_contains "$LAST_OUT" "$A start" "alice's events show her container starting"
assert_success "bob's system df" -- gw_docker bob system df -v
assert_contains "$LAST_OUT" "$B2" "bob's df lists his containers"
assert_not_contains "$LAST_OUT" "$A" "bob's df does not list alice's containers"
assert_not_contains "$LAST_OUT" "$VA" "or her volume"

# --- prunes act on the caller's objects only; the build cache cannot be confined
assert_success "bob prunes stopped containers" -- gw_docker bob container prune -f
daemon_has any "$A2" || fail "bob's prune removed alice's stopped container"
ok "alice's stopped container survived bob's prune"
daemon_has any "$B2" && fail "bob's prune left his own stopped container"
ok "bob's own stopped container was pruned"
assert_failure "bob prunes the build cache" -- gw_docker bob builder prune -f
assert_contains "$LAST_OUT" "(roles.ci.ownership)" "the refusal names the rule"

# --- six ways one tenant reached another's objects, each closed
# 1. A form-encoded body: net/http reads its values before the query's, so a body "filters={}"
#    would replace the owner filter the gateway puts in the query.
daemon stop -t 1 "$A" >/dev/null
form='filters=%7B%7D'
raw_request bob "POST /v1.41/containers/prune HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${#form}\r\nConnection: close\r\n\r\n$form"
assert_eq 400 "$(raw_status)" "a form-encoded prune is refused"
daemon_has any "$A" || fail "the form-encoded prune removed alice's stopped container"
ok "alice's stopped container survived the form-encoded prune"
daemon start "$A" >/dev/null
# 2. since/before name a container the daemon resolves: someone else's looks missing.
assert_failure "bob lists containers since alice's" -- gw_docker bob ps -a --filter "since=$A"
assert_contains "$LAST_OUT" "No such container: $A" "a since filter naming alice's container is 'No such container'"
assert_success "alice lists containers since her own" -- gw_docker alice ps -a --filter "since=$A" -q
# 3. A name someone else holds: refused without naming the object or its owner.
assert_failure "bob creates a container named like alice's" -- gw_docker bob create --name "$A" local/busybox:1 true
assert_contains "$LAST_OUT" "is in use" "the conflict says the name is in use"
assert_not_contains "$LAST_OUT" "${AID:0:12}" "the conflict does not reveal alice's container id"
assert_eq "alice" "$(daemon inspect -f '{{index .Config.Labels "dockgate.owner"}}' "$A")" "the name still belongs to alice's container"
daemon volume create "$CPREFIX-vol-taken" --label dockgate.owner=alice >/dev/null
on_exit "daemon volume rm -f $CPREFIX-vol-taken"
raw bob POST /v1.41/volumes/create "{\"Name\":\"$CPREFIX-vol-taken\"}"
assert_eq 409 "$(raw_status)" "bob's volume create of alice's volume name: 409"
assert_not_contains "$(cat "$RAW_OUT")" "Mountpoint" "and alice's volume is not handed out"
# 4. Joins are forwarded by the id that was checked, and re-judged at start.
assert_success "alice joins her own container's network namespace by name" -- \
  gw_docker alice create --name "$CPREFIX-join" --network "container:$A" local/busybox:1 true
assert_eq "container:$AID" "$(daemon inspect -f '{{.HostConfig.NetworkMode}}' "$CPREFIX-join")" \
  "the daemon stores the full id that was checked"
assert_success "bob runs another container" -- gw_docker bob run -d --name "$CPREFIX-b4" local/busybox:1 sleep 600
daemon create --name "$CPREFIX-planted" --label dockgate.owner=alice --network "container:$CPREFIX-b4" local/busybox:1 sleep 60 >/dev/null
assert_failure "alice starts a container of hers that joins bob's" -- gw_docker alice start "$CPREFIX-planted"
assert_contains "$LAST_OUT" "the container is not yours" "the start is refused because of what it joins"
assert_eq false "$(daemon inspect -f '{{.State.Running}}' "$CPREFIX-planted")" "the planted container did not start"
# 5. Every label map: a volume made by a mount cannot be labelled as someone else's, and is
#    labelled as its creator's.
raw bob POST "/v1.41/containers/create?name=$CPREFIX-b-forge" "{\"Image\":\"local/busybox:1\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"$CPREFIX-vol-forged\",\"Target\":\"/v\",\"VolumeOptions\":{\"Labels\":{\"dockgate.owner\":\"alice\"}}}]}}"
assert_eq 403 "$(raw_status)" "a mount's volume labelled as alice's is refused"
daemon_has volume "$CPREFIX-vol-forged" && fail "the forged volume exists"
ok "no forged volume"
raw bob POST "/v1.41/containers/create?name=$CPREFIX-b-mount" "{\"Image\":\"local/busybox:1\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"$CPREFIX-vol-bobs\",\"Target\":\"/v\"}]}}"
assert_eq 201 "$(raw_status)" "bob mounts a new named volume"
on_exit "daemon rm -f $CPREFIX-b-mount; daemon volume rm -f $CPREFIX-vol-bobs"
assert_eq bob "$(daemon volume inspect -f '{{index .Labels "dockgate.owner"}}' "$CPREFIX-vol-bobs")" \
  "the volume the mount created is bob's"
# 6. NetworkID in an endpoint would attach to another network than the one checked.
NA_ID="$(daemon network inspect -f '{{.Id}}' "$NA")"
assert_success "bob creates another container" -- gw_docker bob create --name "$CPREFIX-b3" local/busybox:1 true
raw bob POST "/v1.41/networks/$NB/connect" "{\"Container\":\"$CPREFIX-b3\",\"EndpointConfig\":{\"NetworkID\":\"$NA_ID\"}}"
assert_eq 403 "$(raw_status)" "bob's connect to his network with alice's NetworkID is refused"
assert_eq "" "$(daemon network inspect -f '{{range .Containers}}{{.Name}} {{end}}' "$NA")" "alice's network has no container of bob's"

wait_for_audit 'any(r["decision"] == "deny" and r["rule"] == "roles.ci.ownership" and r["status"] == 404 for r in recs)' 10 ||
  fail "no audit line records an ownership 404"
ok "the audit log records the ownership refusals"
