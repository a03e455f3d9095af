#!/usr/bin/env bash
# What the README promises of the TLS front door beyond the basic refusals (test_tls_refusals):
# only TLS 1.2/1.3 with ECDHE + AEAD suites; a certificate must be usable for clientAuth; an
# intermediate CA revoked by its root takes its leaves with it; the user is the one CN and the
# groups every O; the server certificate and key reload by themselves, a broken key or config
# keeps what is in force; and a connection whose certificate expires is cut by the periodic
# re-check. The PKI here is its own: a root, an intermediate, and leaves of both.
source "$(dirname "$0")/lib.sh"
it_init "$@"
PROBE=(python3 "$IT_SOURCE_DIR/tests/integration/conn_probe.py")

# --- the PKI: root R, intermediate I (signed by R), server S (by R); leaves rose (R), ivy (I),
# sam (R, serverAuth only), two (two CNs), nocn (no CN), multi (O=red and O=blue).
P="$WORK/pki"
make_ca "$P/root" "policy root"
cat >>"$P/root/openssl.cnf" <<'EOF'
[ v3_intermediate ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_server_only ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
mkdir -p "$P/int"
it_openssl_cnf >"$P/int/openssl.cnf"
gen_key ec "$P/int/ca-key.pem"
openssl req -new -config "$P/int/openssl.cnf" -key "$P/int/ca-key.pem" -subj "/CN=policy intermediate" -out "$P/int/ca.csr"
sign_cert "$P/root" "$P/int/ca.csr" "$P/int/ca.pem" v3_intermediate
openssl verify -CAfile "$P/root/ca.pem" "$P/int/ca.pem" >/dev/null || fail "test bug: the intermediate does not verify"
# Clients trust the root for the server; ivy presents her chain (leaf + intermediate).
make_client "$P/root" "$P/rose" ec "/O=developers/CN=rose"
make_client "$P/int" "$P/ivy" ec "/O=developers/CN=ivy" "$P/root/ca.pem"
cat "$P/int/ca.pem" >>"$P/ivy/cert.pem"
leaf() { # leaf NAME SUBJECT EXTENSIONS: a client cert dir signed by the root
  mkdir -p "$P/$1"
  gen_key ec "$P/$1/key.pem"
  openssl req -new -config "$P/root/openssl.cnf" -key "$P/$1/key.pem" -subj "$2" -out "$P/$1/csr.pem" 2>/dev/null ||
    fail "test bug: cannot make a request for $2"
  sign_cert "$P/root" "$P/$1/csr.pem" "$P/$1/cert.pem" "$3"
  cp "$P/root/ca.pem" "$P/$1/ca.pem"
}
leaf sam "/O=developers/CN=sam" v3_server_only
leaf two "/O=developers/CN=two/CN=three" v3_client
leaf nocn "/O=developers" v3_client
leaf multi "/O=red/O=blue/CN=multi" v3_client
assert_eq "2" "$(openssl x509 -in "$P/two/cert.pem" -noout -subject -nameopt multiline | grep -c commonName)" \
  "test PKI: 'two' carries two CNs"

# crl CA_DIR [CERT_TO_REVOKE]: CA_DIR/crl.pem, revoking CERT_TO_REVOKE if given.
crl() {
  local ca="$1" db="$1/crl-db"
  mkdir -p "$db"
  [[ -f "$db/index.txt" ]] || : >"$db/index.txt"
  echo 01 >"$db/crlnumber"
  cat >"$db/ca.cnf" <<EOF
[ ca ]
default_ca = it_ca
[ it_ca ]
database = $db/index.txt
crlnumber = $db/crlnumber
certificate = $ca/ca.pem
private_key = $ca/ca-key.pem
default_md = sha256
default_crl_days = 7
EOF
  if [[ -n "${2:-}" ]]; then
    openssl ca -config "$db/ca.cnf" -revoke "$2" >/dev/null 2>&1 || fail "test bug: cannot revoke $2"
  fi
  openssl ca -gencrl -config "$db/ca.cnf" -out "$ca/crl.pem" 2>/dev/null || fail "test bug: no CRL for $ca"
}
crl "$P/root"
crl "$P/int"

GW="$WORK/gw"
mkdir -p "$GW"
cat "$P/root/ca.pem" "$P/int/ca.pem" >"$GW/ca.pem"
cat "$P/root/crl.pem" "$P/int/crl.pem" >"$GW/crl.pem"
# server_cert NAME: a server certificate + key signed by the root, in $P/NAME.
server_cert() {
  mkdir -p "$P/$1"
  gen_key ec "$P/$1/server-key.pem"
  openssl req -new -config "$P/root/openssl.cnf" -key "$P/$1/server-key.pem" -subj "/CN=localhost" -out "$P/$1/server.csr"
  sign_cert "$P/root" "$P/$1/server.csr" "$P/$1/server-cert.pem" v3_server
}
server_cert server1
server_cert server2
cp "$P/server1/server-cert.pem" "$P/server1/server-key.pem" "$GW/"
port="$(free_port)"
write_gateway_head "$GW" "$port" "$GW"
cat >>"$GW/dockgate.toml" <<EOF

[roles.developer]
subjects = ["group:developers"]
allow = ["*"]

[roles.blue]
subjects = ["group:blue"]
allow = ["SystemPing*", "ContainerList"]
EOF
ADMIN="$(free_port)"
printf '\n[admin]\naddress = "127.0.0.1:%s"\n' "$ADMIN" >>"$GW/dockgate.toml"
start_gateway "$GW/dockgate.toml"
export RAW_CAFILE="$P/root/ca.pem"
PING='GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
pings() { # pings WHO WHAT: GET /_ping as WHO is 200
  raw_request "$P/$1" "$PING"
  assert_eq 200 "$(raw_status)" "$2"
}
reloads() { curl -s "http://127.0.0.1:$ADMIN/metrics" | sed -n 's/^dockgate_reloads_total \([0-9]*\)$/\1/p'; }
wait_reloads() { # wait_reloads N WHAT: the reload counter reaches N
  local deadline=$((SECONDS + 15))
  until [[ "$(reloads)" -ge "$1" ]]; do
    ((SECONDS < deadline)) || fail "$2: no reload (reloads_total $(reloads), waiting for $1)"
    sleep 0.2
  done
}

pings rose "rose (leaf of the root) is served"
pings ivy "ivy (leaf of the intermediate, sending her chain) is served"

# --- protocol versions: TLS 1.0 and 1.1 are refused by the server (the client is told to allow
# them), 1.2 and 1.3 are served.
for v in tls1 tls1_1; do
  rc=0
  out="$(printf "$PING" | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" -servername localhost \
    -CAfile "$P/root/ca.pem" -cert "$P/rose/cert.pem" -key "$P/rose/key.pem" -"$v" -cipher 'DEFAULT:@SECLEVEL=0' 2>&1)" || rc=$?
  assert_ne 0 "$rc" "$v: the handshake fails"
  assert_match "$out" "alert protocol version" "$v: the gateway answers with a protocol_version alert"
  assert_not_contains "$out" "HTTP/1.1" "$v: no HTTP response"
done

# --- cipher suites: TLS 1.2 CBC (non-AEAD) suites are refused; an ECDHE AEAD suite is served
# with the same client and key, so the refusal is the suite's.
for suite in ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA384 ECDHE-ECDSA-AES128-SHA256; do
  rc=0
  out="$(printf "$PING" | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" -servername localhost \
    -CAfile "$P/root/ca.pem" -cert "$P/rose/cert.pem" -key "$P/rose/key.pem" -tls1_2 -cipher "$suite:@SECLEVEL=0" 2>&1)" || rc=$?
  assert_ne 0 "$rc" "TLS 1.2 $suite (non-AEAD): the handshake fails"
  assert_match "$out" "alert handshake failure" "TLS 1.2 $suite: the gateway finds no shared suite"
done
for suite in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-CHACHA20-POLY1305; do
  out="$(printf "$PING" | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" -servername localhost \
    -CAfile "$P/root/ca.pem" -cert "$P/rose/cert.pem" -key "$P/rose/key.pem" -tls1_2 -cipher "$suite" 2>/dev/null)" || true
  assert_match "$out" "^HTTP/1.1 200" "TLS 1.2 $suite (AEAD): served"
done

# --- a certificate not usable for clientAuth (extendedKeyUsage serverAuth only).
server_refuses_tls "$P/sam" "serverAuth-only certificate" "alert (unsupported certificate|bad certificate)"

# --- identity: exactly one CN; the groups are every O.
server_refuses_tls "$P/two" "two CNs" "alert (handshake failure|bad certificate|access denied)"
server_refuses_tls "$P/nocn" "no CN" "alert (handshake failure|bad certificate|access denied)"
wait_log "names no single user under listen.tls.identity = \"cn\": several subject CN values" "the two-CN refusal is logged with its reason"
raw_request "$P/multi" 'GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
assert_eq 200 "$(raw_status)" "multi (O=red, O=blue): role blue (group:blue) lets her list containers"
raw_request "$P/multi" 'GET /v1.41/images/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
assert_eq 403 "$(raw_status)" "multi: but nothing role blue does not allow"
wait_for_audit "any(r['user'] == 'multi' and sorted(r['groups']) == ['blue', 'red'] and r['roles'] == ['blue'] for r in recs)" ||
  fail "audit: multi's groups are not [red, blue] with role blue: $(grep multi "$GW_AUDIT" | head -1)"
ok "audit: multi's groups are both O values, her role is blue"

# --- latency histograms: every audited request is observed under its operation and decision;
# only forwarded requests have a daemon response time.
scrape="$(curl -sf "http://127.0.0.1:$ADMIN/metrics")" || fail "metrics: the admin listener does not answer"
metric_value() { printf '%s\n' "$scrape" | awk -v k="$1" '$1 == k {print $2}'; }
list='operation="ContainerList",decision="allow"'
n="$(metric_value "dockgate_requests_total{$list}")"
[[ -n "$n" && "$n" -ge 1 ]] || fail "metrics: no allowed ContainerList counted"
assert_eq "$n" "$(metric_value "dockgate_request_duration_seconds_count{$list}")" "the ContainerList histogram counts every allowed list"
assert_eq "$n" "$(metric_value "dockgate_request_duration_seconds_bucket{$list,le=\"+Inf\"}")" "its +Inf bucket holds every observation"
denied="$(metric_value 'dockgate_request_duration_seconds_count{operation="ImageList",decision="deny"}')"
[[ -n "$denied" && "$denied" -ge 1 ]] || fail "metrics: multi's refused image list has no latency observation"
up="$(metric_value 'dockgate_upstream_response_seconds_count{operation="ContainerList"}')"
[[ -n "$up" && "$up" -ge 1 && "$up" -le "$n" ]] || fail "metrics: daemon response time of ContainerList: '$up' (allowed: $n)"
assert_eq "" "$(metric_value 'dockgate_upstream_response_seconds_count{operation="ImageList"}')" "a refused request has no daemon response time"
ok "metrics: latency histograms per operation and decision, and the daemon's response time"

# --- the server certificate and key reload by themselves; a connection made before carries on.
serial() { # serial: the serial of the certificate the gateway presents now
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$P/root/ca.pem" \
    -cert "$P/rose/cert.pem" -key "$P/rose/key.pem" </dev/null 2>/dev/null | openssl x509 -noout -serial
}
s1="$(openssl x509 -in "$P/server1/server-cert.pem" -noout -serial)"
s2="$(openssl x509 -in "$P/server2/server-cert.pem" -noout -serial)"
assert_eq "$s1" "$(serial)" "the gateway presents server1"
"${PROBE[@]}" ping-twice "$port" "$P/rose" "$WORK/pt.ready" "$WORK/pt.go" 60 >"$WORK/pt.json" &
pt_pid=$!
deadline=$((SECONDS + 10))
until [[ -s "$WORK/pt.ready" ]]; do ((SECONDS < deadline)) || fail "the keep-alive probe did not start"; sleep 0.1; done
r0="$(reloads)"
# Key first, then the certificate, each an atomic rename (as dockgate-certs and cert-manager do):
# the reload between them sees a mismatched pair and must keep server1.
cp "$P/server2/server-key.pem" "$GW/.key.tmp" && mv "$GW/.key.tmp" "$GW/server-key.pem"
cp "$P/server2/server-cert.pem" "$GW/.cert.tmp" && mv "$GW/.cert.tmp" "$GW/server-cert.pem"
deadline=$((SECONDS + 15))
until [[ "$(serial)" == "$s2" ]]; do
  ((SECONDS < deadline)) || fail "the gateway still presents $(serial) 15 s after the new certificate and key"
  sleep 0.3
done
ok "the new server certificate is presented to new connections without a restart"
pings rose "rose is served with the new server certificate"
touch "$WORK/pt.go"
wait "$pt_pid" || fail "the keep-alive probe failed: $(cat "$WORK/pt.json")"
assert_eq '{"first": 200, "second": 200}' "$(cat "$WORK/pt.json")" "a connection made before the swap carries on"

# --- a key that does not match the certificate: refused, the old pair stays.
r0="$(reloads)"
mark_log
gen_key ec "$WORK/stray-key.pem"
cp "$WORK/stray-key.pem" "$GW/.key.tmp" && mv "$GW/.key.tmp" "$GW/server-key.pem"
wait_log "refused.*listen\.tls\.key: .*mismatch" "the mismatched key is refused, naming the key"
sleep 1
assert_eq "$r0" "$(reloads)" "no reload took effect with a mismatched key"
assert_eq "$s2" "$(serial)" "the gateway still presents the last good certificate"
pings rose "rose is still served after the broken key"
cp "$P/server2/server-key.pem" "$GW/.key.tmp" && mv "$GW/.key.tmp" "$GW/server-key.pem"
wait_reloads $((r0 + 1)) "the restored key"

# --- a broken config (an unknown key) is refused with the key named; its policy is not applied.
r0="$(reloads)"
mark_log
cp "$GW/dockgate.toml" "$WORK/good.toml"
sed -i 's/^allow = \["SystemPing\*", "ContainerList"\]$/allow = ["SystemPing*", "ContainerList", "ImageList"]\nallow_everything = true/' "$GW/dockgate.toml"
grep -q '^allow_everything = true$' "$GW/dockgate.toml" || fail "test bug: edit did not apply"
wait_log "roles\.blue\.allow_everything" "the broken config's refusal names the key"
sleep 1
assert_eq "$r0" "$(reloads)" "no reload took effect with the broken config"
raw_request "$P/multi" 'GET /v1.41/images/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
assert_eq 403 "$(raw_status)" "the broken file's widened role is not in force"
cp "$WORK/good.toml" "$GW/dockgate.toml"
wait_reloads $((r0 + 1)) "the repaired config"

# --- an intermediate revoked by the root: its leaves are refused, the root's own are not.
r0="$(reloads)"
crl "$P/root" "$P/int/ca.pem"
cat "$P/root/crl.pem" "$P/int/crl.pem" >"$GW/.crl.tmp" && mv "$GW/.crl.tmp" "$GW/crl.pem"
wait_reloads $((r0 + 1)) "the CRL revoking the intermediate"
server_refuses_tls "$P/ivy" "ivy under a revoked intermediate" "alert certificate revoked"
pings rose "rose (the root's own leaf) is still served"

# --- expiry while connected: a certificate valid for 25 more seconds holds a docker events
# stream; the once-a-minute re-check cuts it after the expiry (at most ~60 s later).
now="$(date -u +%s)"
make_dated_client "$P/root" "$P/brief" "/O=developers/CN=brief" \
  "$(date -u -d "@$((now - 60))" +%Y%m%d%H%M%SZ)" "$(date -u -d "@$((now + 25))" +%Y%m%d%H%M%SZ)"
cp "$P/root/ca.pem" "$P/brief/ca.pem"
mark_log
GW_TIMEOUT=150 gw_docker_bg "$WORK/brief.out" "$WORK/brief.err" "$P/brief" events
brief_pid=$BG_PID
sleep 3
kill -0 "$brief_pid" 2>/dev/null || fail "brief's docker events did not start: $(cat "$WORK/brief.err")"
deadline=$((now + 25 + 75))
while kill -0 "$brief_pid" 2>/dev/null; do
  (($(date -u +%s) < deadline)) || fail "brief's stream is still open 75 s after her certificate expired"
  sleep 0.5
done
ended="$(date -u +%s)"
((ended >= now + 25)) || fail "brief's stream ended $((now + 25 - ended)) s before her certificate expired: $(cat "$WORK/brief.err")"
ok "the stream of an expired certificate was cut $((ended - now - 25)) s after the expiry"
wait_log "tls brief.*closing.*expired" "the disconnection names the expiry"
stop_gateway || fail "dockgate did not stop cleanly"
