#!/usr/bin/env bash
# CRLs fetched over HTTP (listen.tls.crl_urls), with the CA run by dockgate-certs and a real
# web server (python3 -m http.server) serving the folder `dockgate-certs crl --publish` writes.
# The gateway runs confined (Landlock and seccomp on, the defaults). No restart between steps:
#  - a client revoked and published is cut off within the refresh interval: their open
#    `docker events` stream ends and a new handshake is refused; another user carries on;
#  - a 404, a body that is not a CRL, a CRL signed by another CA and the CRL from before the
#    revocation (a replay) are each refused: the last good CRL stays in force (the revoked user
#    stays revoked) and the failure metric moves;
#  - a URL with no CRL at start: the gateway does not start;
#  - a CRL past its nextUpdate with no fresh one: crl_stale = "refuse" refuses every client of
#    that CA, crl_stale = "allow" lets them in with a warning.
source "$(dirname "$0")/lib.sh"
it_init "$@"

use_certs_tool

assert_success "init a CA" -- signed init --name "CRL URL IT CA"
assert_success "server certificate" -- signed server --dns localhost --ip 127.0.0.1
assert_success "client alice" -- signed client alice --group developers
assert_success "client bob" -- signed client bob --group developers
ALICE="$CA/clients/alice"
BOB="$CA/clients/bob"

# --- dockgate-certs crl --publish: one DER file per CA and the PEM bundle, for a web server
PUB="$WORK/pub"
assert_success "crl --publish" -- signed crl --publish "$PUB"
assert_contains "$LAST_OUT" "published $PUB/ca-1.crl" "crl --publish names the DER file"
assert_success "the published ca-1.crl is a DER CRL" -- \
  openssl crl -inform DER -in "$PUB/ca-1.crl" -noout -issuer
assert_contains "$LAST_OUT" "CRL URL IT CA" "ca-1.crl is issued by the CA"
assert_success "the published CRL verifies against ca.pem" -- \
  openssl crl -inform DER -in "$PUB/ca-1.crl" -noout -CAfile "$CA/ca.pem"
assert_eq "$(cat "$CA/crl.pem")" "$(cat "$PUB/crl.pem")" "the published crl.pem is the CA folder's crl.pem"

# --- a web server on the published folder
HTTP_PORT="$(free_port)"
python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$PUB" \
  >"$WORK/http.log" 2>&1 </dev/null &
HTTP_PID=$!
on_exit "kill $HTTP_PID"
wait_for_port "$HTTP_PORT" 10 || fail "python3 -m http.server did not listen on $HTTP_PORT"
URL="http://127.0.0.1:$HTTP_PORT/ca-1.crl"
ADMIN="$(free_port)"

# gateway_config DIR STALE [URL]: a config on the CA folder's files with crl_urls, 1 s refresh.
gateway_config() {
  local dir="$1" stale="$2" url="${3:-$URL}"
  mkdir -p "$dir"
  cat >"$dir/dockgate.toml" <<EOF
[gateway]
upstream = "unix://$DOCKER_SOCK"
audit_log = "audit.jsonl"
workers = 2

[listen.tls]
address = "127.0.0.1:$(free_port)"
ca = "$CA/ca.pem"
cert = "$CA/server-cert.pem"
key = "$CA/server-key.pem"
crl_urls = ["$url"]
crl_refresh = "1s"
crl_timeout = "3s"
crl_stale = "$stale"

[admin]
address = "127.0.0.1:$ADMIN"

[roles.dev]
subjects = ["group:developers"]
allow = ["SystemPing*", "SystemVersion", "SystemInfo", "SystemEvents", "ContainerList"]
EOF
}

GW_DIR="$WORK/gw"
gateway_config "$GW_DIR" refuse

# --- check-config names the URLs and the refresh
assert_success "check-config" -- timeout 20 "$DOCKGATE" check-config "$GW_DIR/dockgate.toml"
assert_contains "$LAST_OUT" "crl_urls: refresh 1s, timeout 3s, stale refuse" "check-config prints the CRL settings"
assert_contains "$LAST_OUT" "  $URL" "check-config prints the URL"

start_gateway "$GW_DIR/dockgate.toml"
# The listeners are bound (and logged) before the start-up fetch; nothing is accepted before it.
LOG_FROM=1
wait_log "CRL of .*CRL URL IT CA.* fetched from $URL" "the start-up fetch is logged"
ok "the CRL was fetched at start"
grep -qE "Landlock \(ABI [4-9]\).*TCP connect to port\(s\) $HTTP_PORT only" "$GW_STDERR" ||
  grep -qE "Landlock \(ABI [1-3]\)" "$GW_STDERR" ||
  fail "Landlock does not say it allows TCP connect to port $HTTP_PORT only: $(grep Landlock "$GW_STDERR")"
seccomp_says "socket for AF_UNIX and IPv4/IPv6 stream sockets)" "seccomp allows the fetches' IP sockets"
ok "the confinement allows the fetches and says so"

FAILURES="dockgate_crl_fetch_failures_total{url=\"$URL\"}"
SUCCESS="dockgate_crl_last_success_timestamp_seconds{url=\"$URL\"}"
# wait_metric_above NAME VALUE SECONDS
wait_metric_above() {
  local deadline=$((SECONDS + $3)) v
  while :; do
    v="$(metric "$1")"
    [[ -n "$v" ]] && ((${v%.*} > $2)) && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
t_first="$(metric "$SUCCESS")"
assert_match "$t_first" '^[0-9]+$' "the last-success metric is set after the start-up fetch"
wait_metric_above "$SUCCESS" "$t_first" 5 || fail "the CRL is not fetched again within 5 s (crl_refresh = 1s)"
ok "the CRL is fetched again every crl_refresh"

works "$ALICE" "alice works"
works "$BOB" "bob works"
open_stream alice_ev "$ALICE"
open_stream bob_ev "$BOB"
sleep 1
probe
wait_for_line "$WORK/alice_ev.out" destroy 10 || fail "alice's events stream is not live: $(cat "$WORK/alice_ev.err")"
wait_for_line "$WORK/bob_ev.out" destroy 10 || fail "bob's events stream is not live: $(cat "$WORK/bob_ev.err")"
ok "both users hold a live docker events stream"

# --- revoke alice and publish: cut off within the refresh interval
revoked0="$(metric 'dockgate_handshake_failures_total{reason="revoked"}')"
cp "$PUB/ca-1.crl" "$WORK/ca-1.crl.before-revocation"
sleep 1 # the next CRL's thisUpdate is a later second
assert_success "revoke alice" -- signed revoke alice --reason keyCompromise
mark_log
assert_success "publish the new CRL" -- signed crl --publish "$PUB"
t0=$SECONDS
wait_stream_gone "$alice_ev_PID" 5 || fail "alice's events stream is still open $((SECONDS - t0)) s after the publication"
ok "alice's events stream was cut $((SECONDS - t0)) s after the new CRL was published (crl_refresh = 1s)"
wait_log "new CRL of .* from $URL" "the new CRL"
refused "$ALICE" "revoked alice is refused at the handshake"
RAW_CAFILE="$CA/ca.pem" server_refuses_tls "$ALICE" "revoked alice" "alert certificate revoked"
revoked1="$(metric 'dockgate_handshake_failures_total{reason="revoked"}')"
((revoked1 > revoked0)) || fail "metrics did not count the revoked handshakes ($revoked0 -> $revoked1)"
stream_alive "$bob_ev_PID" || fail "bob's stream was dropped by alice's revocation: $(cat "$WORK/bob_ev.err")"
ok "bob's events stream is still open"
works "$BOB" "bob still works"

# --- bad answers: each keeps the last good CRL and counts as a failure
cp "$PUB/ca-1.crl" "$WORK/ca-1.crl.good"
# serve FILE: the web server answers ca-1.crl with FILE's bytes from now on (atomically).
serve() { cp "$1" "$PUB/ca-1.crl.tmp" && mv "$PUB/ca-1.crl.tmp" "$PUB/ca-1.crl"; }
# bad_answer WHAT LOG_REGEX: after the served file was changed, the fetch fails, is logged and
# counted, and alice stays revoked while bob works.
bad_answer() {
  local what="$1" f0
  f0="$(metric "$FAILURES")"
  assert_match "$f0" '^[0-9]+$' "$what: the failure metric is there"
  wait_metric_above "$FAILURES" "$f0" 5 || fail "$what: no failed fetch counted within 5 s"
  wait_log "CRL fetch from $URL failed, the last good CRL stays in use: .*$2" "$what"
  ok "$what: the fetch failed, was logged and counted"
  refused "$ALICE" "$what: alice stays revoked"
  works "$BOB" "$what: bob still works"
  stream_alive "$bob_ev_PID" || fail "$what: bob's stream was dropped"
}

mark_log
mv "$PUB/ca-1.crl" "$WORK/ca-1.crl.away"
bad_answer "404" "HTTP 404"

mark_log
printf '<html>not a CRL</html>\n' >"$WORK/garbage"
serve "$WORK/garbage"
bad_answer "garbage" "not a CRL"

OTHER="$WORK/other-pki"
assert_success "another CA of the same name" -- \
  "$CERTS" init --dir "$OTHER" --name "CRL URL IT CA" --passphrase-file "$PASS"
assert_success "the other CA publishes" -- \
  "$CERTS" crl --dir "$OTHER" --passphrase-file "$PASS" --publish "$WORK/other-pub"
mark_log
serve "$WORK/other-pub/ca-1.crl"
bad_answer "a CRL of another CA with the same name" "signature does not verify"

mark_log
serve "$WORK/ca-1.crl.before-revocation"
bad_answer "the CRL from before the revocation, replayed" "older than the CRL of CN=CRL URL IT CA in hand"

serve "$WORK/ca-1.crl.good"
sleep 2
f0="$(metric "$FAILURES")"
sleep 3
assert_eq "$f0" "$(metric "$FAILURES")" "the good CRL served again: no more failures"
refused "$ALICE" "alice stays revoked with the good CRL back"
stop_gateway || fail "dockgate did not stop cleanly"
kill "$alice_ev_PID" "$bob_ev_PID" 2>/dev/null || true

# --- a URL with no CRL at start: no start
NOSTART="$WORK/gw-nostart"
gateway_config "$NOSTART" refuse "http://127.0.0.1:$HTTP_PORT/missing.crl"
rc=0
timeout 30 "$DOCKGATE" --config "$NOSTART/dockgate.toml" >"$NOSTART/out" 2>&1 </dev/null || rc=$?
assert_ne 0 "$rc" "the gateway does not start when a CRL URL has no CRL"
assert_contains "$(cat "$NOSTART/out")" \
  "listen.tls.crl_urls[0]: http://127.0.0.1:$HTTP_PORT/missing.crl: no CRL at start: HTTP 404" \
  "the refusal names the URL and the reason"

# --- a stale CRL: nextUpdate 10 s ahead, made with openssl ca from the same CA key
# Its index revokes alice, so the stale CRL still says something about her.
STALE_DIR="$WORK/stale-ca"
mkdir -p "$STALE_DIR"
alice_serial="$(openssl x509 -in "$ALICE/cert.pem" -noout -serial | cut -d= -f2)"
printf 'R\t491231000000Z\t250101000000Z\t%s\tunknown\t/CN=alice\n' "$alice_serial" >"$STALE_DIR/index.txt"
echo 1000 >"$STALE_DIR/crlnumber"
cat >"$STALE_DIR/openssl.cnf" <<EOF
[ca]
default_ca = crl_only
[crl_only]
database = $STALE_DIR/index.txt
crlnumber = $STALE_DIR/crlnumber
default_md = sha256
certificate = $CA/cas/ca-1.pem
private_key = $CA/private/ca-1-key.pem
EOF
STALE_URL="http://127.0.0.1:$HTTP_PORT/short.crl"
STALE="dockgate_crl_stale{url=\"$STALE_URL\"}"
# stale_gateway POLICY: a gateway on a CRL that turns stale 10 s after it was made; the web
# server keeps serving that one CRL (no fresh one comes).
stale_gateway() {
  assert_success "a CRL with a 10 s nextUpdate" -- openssl ca -config "$STALE_DIR/openssl.cnf" \
    -gencrl -crlsec 10 -passin "file:$PASS" -out "$STALE_DIR/short.pem"
  openssl crl -in "$STALE_DIR/short.pem" -outform DER -out "$PUB/short.crl.tmp"
  mv "$PUB/short.crl.tmp" "$PUB/short.crl"
  local made=$SECONDS
  gateway_config "$WORK/gw-$1" "$1" "$STALE_URL"
  start_gateway "$WORK/gw-$1/dockgate.toml"
  assert_eq 0 "$(metric "$STALE")" "$1: the CRL is not stale yet"
  works "$BOB" "$1: bob works while the CRL is current"
  local deadline=$((made + 25))
  until [[ "$(metric "$STALE")" == 1 ]]; do
    ((SECONDS < deadline)) || fail "$1: the CRL is not reported stale 25 s after it was made"
    sleep 0.2
  done
  ok "$1: the CRL is reported stale past its nextUpdate"
}

stale_gateway refuse
LOG_FROM=1
wait_log "the CRL from $STALE_URL .* is past its nextUpdate and no fresh one came: client certificates of that CA are refused" \
  "refuse: the stale CRL"
stale0="$(metric 'dockgate_handshake_failures_total{reason="crl_stale"}')"
refused "$BOB" "refuse: bob (not revoked) is refused while his CA's CRL is stale"
grep -q "client certificate rejected: CRL has expired (the CRL of its CA is past its nextUpdate" "$GW_STDERR" ||
  fail "refuse: the handshake refusal does not say why: $(tail -5 "$GW_STDERR")"
stale1="$(metric 'dockgate_handshake_failures_total{reason="crl_stale"}')"
((stale1 > stale0)) || fail "refuse: metrics did not count the stale-CRL handshakes ($stale0 -> $stale1)"
ok "refuse: the refusal is logged and counted ($stale0 -> $stale1)"
stop_gateway || fail "dockgate did not stop cleanly"

stale_gateway allow
LOG_FROM=1
wait_log "the CRL from $STALE_URL .* is past its nextUpdate and no fresh one came: still in use" "allow: the stale CRL"
works "$BOB" "allow: bob works on the stale CRL"
refused "$ALICE" "allow: alice stays revoked by the stale CRL"
stop_gateway || fail "dockgate did not stop cleanly"

ok "CRLs from URLs: published, fetched, refused when bad, stale as configured"
