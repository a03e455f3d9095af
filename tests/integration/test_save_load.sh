#!/usr/bin/env bash
# docker save | docker load of a >= 200 MB image through dockgate: a long
# streamed response and a long streamed request body, byte for byte (the
# image id is a hash of the content, so an identical id proves it).
source "$(dirname "$0")/lib.sh"
it_init "$@"

gateway_up gw
IMG=local/big:1
# Whatever happens, the fixture's image is back at the end.
on_exit "daemon image inspect $IMG >/dev/null 2>&1 || daemon load -i '$WORK/big.tar'"

id0="$(daemon image inspect -f '{{.Id}}' "$IMG")" || fail "fixture image $IMG missing"
size="$(daemon image inspect -f '{{.Size}}' "$IMG")"
((size >= 200 * 1024 * 1024)) || fail "$IMG is only $size bytes"

# 1. save through the gateway to a file (streamed response).
t0=$SECONDS
GW_TIMEOUT=300 assert_success "docker save $IMG through the gateway" -- gw_docker alice save -o "$WORK/big.tar" "$IMG"
tarsize="$(stat -c %s "$WORK/big.tar")"
((tarsize >= 200 * 1024 * 1024)) || fail "saved tar is only $tarsize bytes"
ok "saved tar is $tarsize bytes ($((SECONDS - t0)) s)"
daemon save "$IMG" | cmp -s - "$WORK/big.tar" || fail "the tar saved through the gateway differs from the daemon's own save"
ok "the tar saved through the gateway is byte-identical to the daemon's own"

# 2. delete the image (through the gateway), then load the tar (streamed
# request body) and compare the id.
GW_TIMEOUT=120 assert_success "docker rmi $IMG through the gateway" -- gw_docker alice rmi "$IMG"
if daemon_has image "$IMG"; then fail "$IMG still exists at the daemon after rmi"; fi
ok "the daemon no longer has $IMG"
t0=$SECONDS
GW_TIMEOUT=300 assert_success "docker load < big.tar through the gateway" -- gw_docker alice load -i "$WORK/big.tar"
assert_contains "$LAST_OUT" "Loaded image: $IMG" "load reports the loaded image"
id1="$(daemon image inspect -f '{{.Id}}' "$IMG")" || fail "$IMG missing after load"
assert_eq "$id0" "$id1" "the reloaded image has the original id ($((SECONDS - t0)) s)"

# 3. the pipe itself: docker save | docker load, both through the gateway at once. The bytes
# in the pipe are kept (tee) and compared with the daemon's own save, and the load's request
# must have carried all of them: the image still exists under the kept tag, so its id alone
# would prove nothing.
daemon tag "$IMG" local/big:keep >/dev/null
on_exit "daemon rmi local/big:keep"
GW_TIMEOUT=120 assert_success "docker rmi $IMG (tag) through the gateway" -- gw_docker alice rmi "$IMG"
loads_before="$(audit_query "len([r for r in recs if r.get('operation') == 'ImageLoad'])")"
t0=$SECONDS
rc=0
out="$( (GW_TIMEOUT=300 gw_docker alice save local/big:keep | tee "$WORK/piped.tar" |
  GW_TIMEOUT=300 gw_docker alice load) 2>&1)" || rc=$?
((rc == 0)) || fail "docker save | docker load through the gateway failed (exit $rc): $out"
ok "docker save | docker load through the gateway ($((SECONDS - t0)) s)"
assert_contains "$out" "Loaded image: local/big:keep" "load of the piped stream reports the image"
daemon save local/big:keep | cmp -s - "$WORK/piped.tar" ||
  fail "the stream saved through the gateway in the pipe differs from the daemon's own save"
ok "the piped stream is byte-identical to the daemon's own save"
piped_size="$(stat -c %s "$WORK/piped.tar")"
wait_for_audit "len([r for r in recs if r.get('operation') == 'ImageLoad']) > $loads_before" ||
  fail "no audit record for the piped load"
load_in="$(audit_query "[r for r in recs if r.get('operation') == 'ImageLoad'][-1].get('bytes_in')")"
# bytes_in counts the request as it came (head, chunk framing and body).
((load_in >= piped_size)) ||
  fail "the piped load's request was $load_in bytes, less than the $piped_size bytes saved"
ok "the piped load carried the whole stream ($load_in request bytes for $piped_size tar bytes)"
assert_eq "$id0" "$(daemon image inspect -f '{{.Id}}' local/big:keep)" "the piped round trip keeps the image id"
daemon tag local/big:keep "$IMG"
assert_eq "$id0" "$(daemon image inspect -f '{{.Id}}' "$IMG")" "fixture image restored"

wait_for_audit "any(r.get('operation') == 'ImageLoad' and r.get('decision') == 'allow' and int(r.get('bytes_in', 0)) >= 200*1024*1024 for r in recs)" ||
  fail "no ImageLoad audit record with bytes_in >= 200 MiB"
ok "audit: ImageLoad recorded with bytes_in >= 200 MiB"
wait_for_audit "any(str(r.get('operation')).startswith('ImageGet') and r.get('decision') == 'allow' and int(r.get('bytes_out', 0)) >= 200*1024*1024 for r in recs)" ||
  fail "no ImageGet/ImageGetAll audit record with bytes_out >= 200 MiB"
ok "audit: ImageGet(All) recorded with bytes_out >= 200 MiB"
