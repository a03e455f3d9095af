#!/usr/bin/env bash
# dockgate-certs with the real gateway and the stock docker CLI: a CA made by
# the tool, the gateway pointed straight at DIR/ca.pem, DIR/crl.pem and the
# server files, client bundles used as DOCKER_CERT_PATH as they are and as an
# imported docker context; revoke; a full rotate-ca -> renew -> retire-ca cycle.
#
# The gateway is restarted after each change of the CA folder, so this test
# checks what dockgate-certs writes, independently of the gateway's own reload
# (which has its own tests).
source "$(dirname "$0")/lib.sh"
it_init "$@"

use_certs_tool

# --- a CA and the gateway's certificate, straight from the tool
assert_success "init: a new CA" -- signed init --name "IT Docker CA"
assert_success "server: certificate for localhost and 127.0.0.1" -- signed server --dns localhost --ip 127.0.0.1
assert_eq 600 "$(stat -c %a "$CA/server-key.pem")" "server-key.pem is 0600"

PORT="$(free_port)"
GW_DIR="$WORK/gw"
write_gateway_head "$GW_DIR" "$PORT" "$CA"
cat >>"$GW_DIR/dockgate.toml" <<EOF

[roles.dev]
subjects = ["group:developers"]
allow = ["SystemPing*", "SystemVersion", "SystemInfo", "ContainerList"]
EOF

# restart_gateway: stop it if running, start it on the same config.
restart_gateway() {
  stop_gateway || fail "dockgate did not stop cleanly"
  start_gateway "$GW_DIR/dockgate.toml"
}

# works WHO_DIR MESSAGE / refused WHO_DIR MESSAGE: docker ps through the gateway
works() { assert_success "$2" -- gw_docker "$1" ps; }
refused() {
  assert_failure "$2" -- gw_docker "$1" ps
  assert_match "$LAST_OUT" "remote error: tls: [a-z ]+|connection reset by peer|broken pipe|certificate" \
    "$2: refused in the TLS handshake"
  assert_not_contains "$LAST_OUT" "CONTAINER ID" "$2: no listing"
}

CTX="it-certs-$$"
assert_success "client alice with a docker context" -- \
  signed client alice --group developers --docker-context "$CTX" --host "tcp://localhost:$PORT"
assert_success "client bob" -- signed client bob --group developers
ALICE="$CA/clients/alice"
BOB="$CA/clients/bob"
assert_eq 600 "$(stat -c %a "$ALICE/key.pem")" "alice's key.pem is 0600"

restart_gateway
works "$ALICE" "alice's bundle works as DOCKER_CERT_PATH unchanged"
works "$BOB" "bob's bundle works"
on_exit "docker context rm -f $CTX"
assert_success "docker context import of the written file" -- \
  docker context import "$CTX" "$ALICE/$CTX.dockercontext"
assert_success "docker --context $CTX ps through the gateway" -- timeout 60 docker --context "$CTX" ps
assert_contains "$LAST_OUT" "CONTAINER ID" "the imported context lists containers"

# --- revoke alice: refused at the handshake, bob unaffected
assert_success "revoke alice" -- signed revoke alice --reason keyCompromise
restart_gateway
refused "$ALICE" "revoked alice"
refused_ctx_rc=0
timeout 60 docker --context "$CTX" ps >/dev/null 2>&1 || refused_ctx_rc=$?
assert_ne 0 "$refused_ctx_rc" "revoked alice through the imported context is refused too"
works "$BOB" "bob still works after alice's revocation"

# --- rotation: old certificates keep working during the overlap
cp -r "$BOB" "$WORK/bob-old"
assert_success "rotate-ca" -- signed rotate-ca
assert_eq 2 "$(grep -c 'BEGIN CERTIFICATE' "$CA/ca.pem")" "ca.pem holds both CAs"
assert_eq 2 "$(grep -c 'BEGIN X509 CRL' "$CA/crl.pem")" "crl.pem holds a CRL of each CA"
restart_gateway
works "$BOB" "bob (old CA) works during the overlap"
assert_success "client carol from the new CA" -- signed client carol --group developers
CAROL="$CA/clients/carol"
works "$CAROL" "carol (new CA) works during the overlap"
refused "$ALICE" "revoked alice stays refused during the overlap"
assert_failure "retire-ca refuses while bob and the server are on the old CA" -- certs retire-ca
assert_contains "$LAST_OUT" "still valid" "retire-ca says why"

# Renew the clients, then the server, then retire.
assert_success "renew bob" -- signed renew bob
works "$BOB" "bob's renewed bundle works (old server certificate, both CAs in ca.pem)"
assert_success "renew the server last" -- signed renew localhost
restart_gateway
works "$BOB" "bob's renewed bundle works with the new server certificate"
works "$CAROL" "carol works with the new server certificate"
assert_success "retire-ca" -- certs retire-ca
assert_eq 1 "$(grep -c 'BEGIN CERTIFICATE' "$CA/ca.pem")" "ca.pem holds only the new CA"
restart_gateway
works "$BOB" "bob's renewed bundle works after retire-ca"
works "$CAROL" "carol works after retire-ca"
refused "$WORK/bob-old" "bob's old-CA certificate is refused after retire-ca"
# The refusal is the gateway's: a client that trusts the current CA (and so accepts the
# renewed server certificate) gets the gateway's alert for the retired CA's certificate.
RAW_CAFILE="$CA/ca.pem" server_refuses_tls "$WORK/bob-old" "bob's old-CA certificate after retire-ca" "alert unknown ca"

# --- the tool's own checks, end to end
assert_success "list --json" -- certs list --json
assert_contains "$LAST_OUT" '"status":"revoked"' "list shows alice revoked"
assert_contains "$LAST_OUT" '"status":"retired"' "list shows the retired CA"

# Notes and warnings go to stderr and start on their own line after the output they follow,
# with both streams in one pipe: an unencrypted CA's note after init's summary, and list's
# table whole before anything else.
plain="$WORK/plain-ca"
out="$("$CERTS" --dir "$plain" init --name "Plain CA" 2>&1 | cat)"
assert_match "$(tail -n 1 <<<"$out")" '^note: the CA key .* is not encrypted' "init: the note is the last line, on its own"
out="$("$CERTS" --dir "$plain" list 2>&1 | cat)"
assert_match "$(tail -n 1 <<<"$out")" '^[0-9A-F]+ +ca +1 +CN=Plain CA +- +[0-9T:-]+Z +valid$' "list: the table's last row is a line of its own"
