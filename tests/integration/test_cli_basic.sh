#!/usr/bin/env bash
# The stock docker CLI through dockgate, read-only commands: version, info, ps,
# for clients with ECDSA (alice), RSA-3072 (bob) and Ed25519 (erin) keys.
source "$(dirname "$0")/lib.sh"
it_init "$@"

gateway_up gw

out="$(gw_docker alice version --format '{{.Server.Version}} {{.Server.APIVersion}}' 2>&1)" ||
  fail "docker version through the gateway failed: $out"
want="$(daemon version --format '{{.Server.Version}} {{.Server.APIVersion}}')"
assert_eq "$want" "$out" "alice: docker version reports the private daemon's version and API"

out="$(gw_docker alice info --format '{{.Name}}|{{.Driver}}|{{.Images}}' 2>&1)" ||
  fail "docker info through the gateway failed: $out"
want="$(daemon info --format '{{.Name}}|{{.Driver}}|{{.Images}}')"
assert_eq "$want" "$out" "alice: docker info shows the daemon's name, vfs driver and image count"

# A running container must show up in `docker ps` through the gateway.
cid="$(daemon run -d --name "$CPREFIX-ps" local/busybox:1 sleep 300)"
out="$(gw_docker alice ps --no-trunc --format '{{.ID}} {{.Names}}' 2>&1)" ||
  fail "docker ps through the gateway failed: $out"
assert_contains "$out" "$cid $CPREFIX-ps" "alice: docker ps lists a running container"
out="$(gw_docker alice ps -a -q --no-trunc --filter "name=$CPREFIX-ps" 2>&1)" ||
  fail "docker ps -a --filter failed: $out"
assert_eq "$cid" "$out" "alice: docker ps -a --filter name=... (query string passed through)"

out="$(gw_docker alice images --format '{{.Repository}}:{{.Tag}}' 2>&1)" || fail "docker images failed: $out"
assert_contains "$out" "local/busybox:1" "alice: docker images lists local/busybox:1"

# RSA-3072 and Ed25519 client keys work with the docker CLI too.
out="$(gw_docker bob ps -q --no-trunc --filter "name=$CPREFIX-ps" 2>&1)" || fail "bob (RSA-3072): docker ps failed: $out"
assert_eq "$cid" "$out" "bob (RSA-3072 key): docker ps"
out="$(gw_docker erin ps -q --no-trunc --filter "name=$CPREFIX-ps" 2>&1)" || fail "erin (Ed25519): docker ps failed: $out"
assert_eq "$cid" "$out" "erin (Ed25519 key): docker ps"

# carol (readonly role via user:carol) may list.
out="$(gw_docker carol ps -q --no-trunc --filter "name=$CPREFIX-ps" 2>&1)" || fail "carol: docker ps failed: $out"
assert_eq "$cid" "$out" "carol (readonly): docker ps"
out="$(gw_docker carol version --format '{{.Server.Version}}' 2>&1)" || fail "carol: docker version failed: $out"
assert_eq "$(daemon version --format '{{.Server.Version}}')" "$out" "carol (readonly): docker version"

# The audit trail names each of them.
wait_for_audit "any(r.get('user') == 'erin' and r.get('operation') == 'ContainerList' and r.get('decision') == 'allow' for r in recs)" ||
  fail "no allowed ContainerList audit record for erin in $GW_AUDIT"
ok "audit: erin's ContainerList recorded as allowed"

stop_gateway || fail "dockgate did not stop on SIGTERM within 15 s"
ok "dockgate stops on SIGTERM"
