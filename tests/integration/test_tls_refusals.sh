#!/usr/bin/env bash
# The TLS front door: no client certificate, a certificate from another CA and
# an expired certificate are refused at the handshake, and nothing reaches the
# daemon (the audit shows no allowed request). TLS 1.2 and 1.3 both work with
# ECDSA, RSA and Ed25519 client keys.
source "$(dirname "$0")/lib.sh"
it_init "$@"

gateway_up gw

allowed_count() { audit_query "len([r for r in recs if r.get('decision') == 'allow'])"; }
ping_req='GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'

# The docker CLI's error for a refused handshake: the TLS alert, or (TLS 1.3,
# the request already written) a reset.
cli_tls_refusal='remote error: tls: [a-z ]+|connection reset by peer|broken pipe'

# --- no client certificate
# (TLS 1.3 has a certificate_required alert; TLS 1.2 says handshake_failure.)
server_refuses_tls none "no client cert" "alert (certificate required|handshake failure)"
command -v curl >/dev/null || fail "curl is not installed (needed for the no-client-certificate check)"
for v in 1.2 1.3; do
  rc=0
  out="$(timeout 20 curl -sS --tlsv$v --tls-max $v --cacert "$PKI_DIR/ca/ca.pem" "https://127.0.0.1:$GW_PORT/v1.41/containers/json" 2>&1)" || rc=$?
  assert_ne 0 "$rc" "no client cert (curl, TLS $v): curl fails (exit $rc: $out)"
  assert_not_contains "$out" "[" "no client cert (curl, TLS $v): no container list"
done
# The docker CLI with TLS but no client cert (only the CA to verify the server).
mkdir -p "$WORK/nocert"
cp "$PKI_DIR/ca/ca.pem" "$WORK/nocert/ca.pem"
assert_failure "no client cert (docker CLI, CA only): docker ps fails" -- \
  env DOCKER_HOST="tcp://127.0.0.1:$GW_PORT" DOCKER_CERT_PATH="$WORK/nocert" timeout 30 docker --tls --tlscacert "$WORK/nocert/ca.pem" ps
assert_match "$LAST_OUT" "$cli_tls_refusal" "no client cert (docker CLI): refused in the TLS handshake"

# --- a certificate for "alice" from an unrelated CA. Go's TLS client (the
# docker CLI) does not even send it, since the gateway's certificate request
# names only the test CA; openssl s_client sends it regardless.
server_refuses_tls otherca "other CA" "alert unknown ca"
assert_failure "other CA: docker ps as 'alice' from an unrelated CA fails" -- gw_docker otherca ps
assert_match "$LAST_OUT" "$cli_tls_refusal" "other CA (docker CLI): refused in the TLS handshake"
assert_not_contains "$LAST_OUT" "CONTAINER ID" "other CA (docker CLI): no listing"

# --- an expired certificate (CN=alice, O=developers, valid only in January 2020)
server_refuses_tls expired "expired cert" "alert certificate expired"
assert_failure "expired cert: docker ps fails" -- gw_docker expired ps
assert_match "$LAST_OUT" "$cli_tls_refusal" "expired cert (docker CLI): refused in the TLS handshake"
assert_not_contains "$LAST_OUT" "CONTAINER ID" "expired cert (docker CLI): no listing"

# Nothing of the above reached the daemon.
sleep 1.5 # the audit log flushes at least once a second
assert_eq 0 "$(allowed_count)" "audit: no request was allowed for any refused client"

# --- and the gateway does work for good certificates (so the refusals above
# are not an artefact of a broken listener): TLS 1.2 and 1.3, all key types.
declare -A keytype=([alice]="ECDSA P-256" [bob]="RSA-3072" [erin]="Ed25519")
for who in alice bob erin; do
  for v in -tls1_2 -tls1_3; do
    RAW_TLS="$v" raw_request "$who" "$ping_req"
    assert_eq 200 "$(raw_status)" "$who (${keytype[$who]}) over ${v#-}: GET /_ping is 200"
    assert_contains "$(cat "$RAW_OUT")" "OK" "$who over ${v#-}: body OK"
    assert_eq 1 "$RAW_CLOSED" "$who over ${v#-}: Connection: close honoured"
  done
done
out="$(gw_docker erin version --format '{{.Server.Version}}' 2>&1)" || fail "erin (Ed25519) with the docker CLI failed: $out"
assert_eq "$(daemon version --format '{{.Server.Version}}')" "$out" "erin (Ed25519 key) with the docker CLI (Go TLS) works"
wait_for_audit "any(r.get('user') == 'erin' and r.get('decision') == 'allow' for r in recs)" || fail "no allow record for erin"
ok "audit: erin allowed"
