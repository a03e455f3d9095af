#!/usr/bin/env bash
# Live reload in the running gateway, with the CA run by dockgate-certs and the gateway's ca
# and crl pointed straight at its folder. No restart anywhere in this test:
#  - revoke: the revoked user's next handshake fails and their open `docker events` stream is
#    cut within 2 s, while another user's stream and requests carry on;
#  - a corrupt CRL written in place is refused by the reload and the old CRL stays in force;
#  - rotate-ca -> renew -> retire-ca: a stream opened before the rotation survives the
#    overlap and the renewal, a stream on the renewed certificate survives retire-ca, and the
#    stream still on the retired CA's certificate is cut;
#  - /metrics counts reloads, reload failures and revoked handshakes.
source "$(dirname "$0")/lib.sh"
it_init "$@"

use_certs_tool

assert_success "init a CA" -- signed init --name "Reload IT CA"
assert_success "server certificate" -- signed server --dns localhost --ip 127.0.0.1
assert_success "client alice" -- signed client alice --group developers
assert_success "client bob" -- signed client bob --group developers
ALICE="$CA/clients/alice"
BOB="$CA/clients/bob"
cp -r "$BOB" "$WORK/bob-old" # bob's first bundle: renew later writes over the folder

PORT="$(free_port)"
ADMIN="$(free_port)"
GW_DIR="$WORK/gw"
write_gateway_head "$GW_DIR" "$PORT" "$CA"
cat >>"$GW_DIR/dockgate.toml" <<EOF

[admin]
address = "127.0.0.1:$ADMIN"

[roles.dev]
subjects = ["group:developers"]
allow = ["SystemPing*", "SystemVersion", "SystemInfo", "SystemEvents", "ContainerList"]
EOF
start_gateway "$GW_DIR/dockgate.toml"

# wait_metric NAME MIN: until the metric reaches MIN (reloads are debounced).
wait_metric() {
  local deadline=$((SECONDS + 10)) v
  while :; do
    v="$(metric "$1")"
    [[ -n "$v" ]] && (( ${v%.*} >= $2 )) && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
assert_eq "ok" "$(curl -s "http://127.0.0.1:$ADMIN/healthz")" "/healthz answers ok"

works "$ALICE" "alice works"
works "$BOB" "bob works"
open_stream alice_ev "$ALICE"
open_stream bob_ev "$BOB"
sleep 1
probe
wait_for_line "$WORK/alice_ev.out" destroy 10 || fail "alice's events stream is not live: $(cat "$WORK/alice_ev.err")"
wait_for_line "$WORK/bob_ev.out" destroy 10 || fail "bob's events stream is not live: $(cat "$WORK/bob_ev.err")"
ok "both users hold a live docker events stream"

# --- revoke alice: handshake refused, stream cut within 2 s, bob untouched
reloads0="$(metric dockgate_reloads_total)"
revoked0="$(metric 'dockgate_handshake_failures_total{reason="revoked"}')"
assert_match "$revoked0" '^[0-9]+$' "metrics show revoked handshakes (none yet)"
assert_success "revoke alice" -- signed revoke alice --reason keyCompromise
wait_metric dockgate_reloads_total $((reloads0 + 1)) || fail "the gateway did not reload after crl.pem changed"
ok "crl.pem changed: the gateway reloaded by itself"
t0=$SECONDS
wait_stream_gone "$alice_ev_PID" 3 || fail "alice's events stream is still open $((SECONDS - t0)) s after the reload"
ok "alice's events stream was cut after her revocation"
refused "$ALICE" "revoked alice is refused at the handshake"
RAW_CAFILE="$CA/ca.pem" server_refuses_tls "$ALICE" "revoked alice" "alert certificate revoked"
revoked1="$(metric 'dockgate_handshake_failures_total{reason="revoked"}')"
assert_match "$revoked1" '^[0-9]+$' "the revoked-handshake metric is still there"
((revoked1 > revoked0)) || fail "metrics did not count the revoked handshakes ($revoked0 -> $revoked1)"
ok "metrics count the revoked handshakes ($revoked0 -> $revoked1)"
stream_alive "$bob_ev_PID" || fail "bob's stream was dropped by alice's revocation: $(cat "$WORK/bob_ev.err")"
ok "bob's events stream is still open"
works "$BOB" "bob still works"

# --- a corrupt CRL written in place: refused, the old one stays in force
failures0="$(metric dockgate_reload_failures_total)"
cp "$CA/crl.pem" "$WORK/crl.good"
printf -- '-----BEGIN X509 CRL-----\nbm90IGEgY3Js\n-----END X509 CRL-----\n' >"$CA/crl.pem"
wait_metric dockgate_reload_failures_total $((failures0 + 1)) || fail "the corrupt CRL was not refused by a reload"
ok "a corrupt crl.pem is refused by the reload"
grep -q "reload (a watched file changed) refused" "$GW_STDERR" || fail "the refusal is not logged: $(tail -5 "$GW_STDERR")"
ok "the refusal is logged with its reason"
refused "$ALICE" "alice stays refused: the old CRL is still in force"
works "$BOB" "bob still works with the old snapshot"
stream_alive "$bob_ev_PID" || fail "bob's stream was dropped by the refused reload"
ok "bob's stream survives the refused reload"
reloads_before_restore="$(metric dockgate_reloads_total)"
cp "$WORK/crl.good" "$CA/crl.pem"
# The restored CRL is a reload of its own: wait for it, so that it cannot stand in for the
# rotation's below.
wait_metric dockgate_reloads_total $((reloads_before_restore + 1)) || fail "the restored CRL was not reloaded"
ok "the restored crl.pem is reloaded"

# --- rotation with live streams
reloads1="$(metric dockgate_reloads_total)"
assert_success "rotate-ca" -- signed rotate-ca
wait_metric dockgate_reloads_total $((reloads1 + 1)) || fail "no reload after rotate-ca"
stream_alive "$bob_ev_PID" || fail "bob's stream (old CA) was dropped by rotate-ca"
ok "bob's old-CA stream survives rotate-ca (both CAs trusted)"
works "$WORK/bob-old" "bob's old-CA bundle works during the overlap"
assert_success "renew bob from the new CA" -- signed renew bob
assert_success "renew the server certificate" -- signed renew localhost
sleep 1 # debounce
works "$BOB" "bob's renewed bundle works"
stream_alive "$bob_ev_PID" || fail "bob's old-CA stream was dropped by the renewals"
ok "bob's old-CA stream survives the renewals"
open_stream bob_new "$BOB"
sleep 1
probe
wait_for_line "$WORK/bob_new.out" destroy 10 || fail "bob's new stream is not live: $(cat "$WORK/bob_new.err")"
wait_for_line "$WORK/bob_ev.out" destroy 10 || fail "bob's old stream stopped delivering"
ok "bob has a stream on each certificate"

reloads2="$(metric dockgate_reloads_total)"
assert_success "retire-ca" -- certs retire-ca --force
wait_metric dockgate_reloads_total $((reloads2 + 1)) || fail "no reload after retire-ca"
wait_stream_gone "$bob_ev_PID" 3 || fail "the stream on the retired CA's certificate is still open"
ok "the stream on the retired CA's certificate is cut"
stream_alive "$bob_new_PID" || fail "bob's stream on the renewed certificate was dropped: $(cat "$WORK/bob_new.err")"
ok "bob's stream on the renewed certificate never dropped"
works "$BOB" "bob's renewed bundle works after retire-ca"
refused "$WORK/bob-old" "bob's old-CA bundle is refused after retire-ca"
RAW_CAFILE="$CA/ca.pem" server_refuses_tls "$WORK/bob-old" "bob's old-CA bundle after retire-ca" "alert unknown ca"

# --- SIGHUP reloads too; a config that would remove every role for bob closes his stream
reloads3="$(metric dockgate_reloads_total)"
kill -HUP "$GW_PID"
wait_metric dockgate_reloads_total $((reloads3 + 1)) || fail "SIGHUP did not reload"
ok "SIGHUP reloads"
sed -i 's/subjects = \["group:developers"\]/subjects = ["group:nobody"]/' "$GW_DIR/dockgate.toml"
wait_stream_gone "$bob_new_PID" 3 || fail "bob's stream is still open after his role was removed"
ok "a user left without a role is disconnected on reload"
assert_failure "bob is refused without a role" -- gw_docker "$BOB" ps
assert_contains "$LAST_OUT" "may not ContainerList" "the refusal names the operation"
