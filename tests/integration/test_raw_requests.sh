#!/usr/bin/env bash
# Raw HTTP over TLS (openssl s_client) at dockgate: requests the daemon could
# read differently from the gateway are refused with 400 (501 for a transfer
# coding other than chunked, 431 for oversized headers) and the connection is closed; non-canonical targets are refused;
# smuggling attempts create nothing at the daemon; HEAD and keep-alive work.
source "$(dirname "$0")/lib.sh"
it_init "$@"

gateway_up gw
N="$CPREFIX"
create_body='{"Image":"local/busybox:1","Cmd":["true"]}'
CB_LEN=${#create_body}
ping_then='GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'

# expect_refused NAME STATUS 'BYTES': the request gets STATUS, the connection
# is closed right after it, and nothing that followed on the connection (a
# valid GET /_ping is appended) was answered.
expect_refused() {
  local name="$1" want="$2"
  raw_request alice "$3$ping_then"
  assert_eq "$want" "$(raw_status)" "$name: status $want"
  assert_eq 1 "$RAW_CLOSED" "$name: the gateway closed the connection"
  assert_eq "$want" "$(raw_statuses)" "$name: nothing after it on the connection was answered"
}

# --- framing the daemon could read differently
expect_refused "Content-Length + Transfer-Encoding" 400 \
  'POST /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
expect_refused "duplicate identical Content-Length" 400 \
  'POST /v1.41/containers/prune HTTP/1.1\r\nHost: docker\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}'
expect_refused "conflicting Content-Length" 400 \
  'POST /v1.41/containers/prune HTTP/1.1\r\nHost: docker\r\nContent-Length: 2\r\nContent-Length: 7\r\n\r\n{}'
expect_refused "Content-Length list '2, 2'" 400 \
  'POST /v1.41/containers/prune HTTP/1.1\r\nHost: docker\r\nContent-Length: 2, 2\r\n\r\n{}'
expect_refused "Content-Length: abc" 400 \
  'POST /v1.41/containers/prune HTTP/1.1\r\nHost: docker\r\nContent-Length: abc\r\n\r\n{}'
expect_refused "Content-Length: -1" 400 \
  'POST /v1.41/containers/prune HTTP/1.1\r\nHost: docker\r\nContent-Length: -1\r\n\r\n{}'
expect_refused "obs-fold header continuation" 400 \
  'GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nX-Folded: a\r\n b\r\n\r\n'
expect_refused "bare LF line endings" 400 \
  'GET /v1.41/containers/json HTTP/1.1\nHost: docker\n\n'
expect_refused "one bare LF among CRLFs" 400 \
  'GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\nX-A: b\r\n\r\n'
expect_refused "duplicate Host" 400 \
  'GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nHost: other\r\n\r\n'
# A transfer coding the gateway does not implement is 501 (RFC 9112, 6.1), closed like the rest.
expect_refused "Transfer-Encoding: gzip, chunked" 501 \
  'POST /v1.41/containers/prune HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'
expect_refused "Transfer-Encoding: identity" 501 \
  'POST /v1.41/containers/prune HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}'
expect_refused "space before the colon of Transfer-Encoding" 400 \
  'POST /v1.41/containers/prune HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding : chunked\r\nContent-Length: 2\r\n\r\n{}'

# --- oversized head: > 64 KiB of headers -> 431, closed
python3 - "$WORK/big-head.in" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n")
    for i in range(40):
        f.write(b"X-Pad-%02d: " % i + b"a" * 2000 + b"\r\n")   # ~80 KB
    f.write(b"\r\n")
    f.write(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
PY
raw_request_file alice "$WORK/big-head.in"
assert_eq 431 "$(raw_status)" "headers over 64 KiB: 431"
assert_eq 1 "$RAW_CLOSED" "headers over 64 KiB: connection closed"
assert_eq 431 "$(raw_statuses)" "headers over 64 KiB: nothing after it answered"
python3 - "$WORK/one-huge-header.in" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nX-Huge: " + b"b" * 70000 + b"\r\n\r\n")
PY
raw_request_file alice "$WORK/one-huge-header.in"
assert_eq 431 "$(raw_status)" "one 70 KB header: 431"
assert_eq 1 "$RAW_CLOSED" "one 70 KB header: connection closed"

# A client still writing a 200 KB head when the 431 comes reads the 431, every time: the gateway
# half-closes and drains instead of closing with unread data (which resets the connection and
# can throw away the reply the client has not read yet: 1 to 3 tries in 100 here, before).
# curl, sending at a bounded rate, on 200 separate connections.
python3 -c 'for i in range(200): print("X-Pad-%03d: %s" % (i, "p" * 1000))' >"$WORK/pad-headers.txt"
cd_alice="$(client_dir alice)"
codes="$(for _ in $(seq 1 200); do
  curl -s --http1.1 -o /dev/null -w '%{http_code}\n' --max-time 10 --limit-rate 100k \
    --cacert "$PKI_DIR/ca/ca.pem" --cert "$cd_alice/cert.pem" --key "$cd_alice/key.pem" \
    -H @"$WORK/pad-headers.txt" "https://localhost:$GW_PORT/v1.41/containers/json" || true
done | sort | uniq -c | tr -s ' \n' ' ')"
assert_eq " 200 431 " "$codes" "a 200 KB head still being written gets its 431 on each of 200 connections"

# --- non-canonical targets -> 400
expect_refused "percent-encoded dot-segment /containers/%2e%2e/json" 400 \
  'GET /v1.41/containers/%2e%2e/json HTTP/1.1\r\nHost: docker\r\n\r\n'
expect_refused "literal dot-segment /containers/../containers/json" 400 \
  'GET /v1.41/containers/../containers/json HTTP/1.1\r\nHost: docker\r\n\r\n'
expect_refused "empty segment /v1.41//containers/json" 400 \
  'GET /v1.41//containers/json HTTP/1.1\r\nHost: docker\r\n\r\n'
expect_refused "encoded slash /containers/a%2fb/json" 400 \
  'GET /v1.41/containers/a%2fb/json HTTP/1.1\r\nHost: docker\r\n\r\n'
expect_refused "encoded slash (upper case) /containers%2Fjson" 400 \
  'GET /v1.41/containers%2Fjson HTTP/1.1\r\nHost: docker\r\n\r\n'

# --- unknown routes are refused (non-2xx) and the daemon does nothing
raw_request alice "GET /v1.41/no/such/route HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
st="$(raw_status)"
assert_match "$st" '^4[0-9][0-9]$' "unknown route GET /v1.41/no/such/route is refused (got $st)"
raw_request alice "POST /v1.41/containers/create/now?name=$N-unknown HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: $CB_LEN\r\nConnection: close\r\n\r\n$create_body"
st="$(raw_status)"
assert_match "$st" '^4[0-9][0-9]$' "unknown route POST /containers/create/now is refused (got $st)"
raw_request alice "PUT /v1.41/containers/create?name=$N-put HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: $CB_LEN\r\nConnection: close\r\n\r\n$create_body"
st="$(raw_status)"
assert_match "$st" '^4[0-9][0-9]$' "known path with an unknown method (PUT /containers/create) is refused (got $st)"
for c in "$N-unknown" "$N-put"; do
  if daemon_has any "$c"; then fail "container $c exists at the daemon"; fi
done
ok "unknown routes created nothing at the daemon"

# --- smuggling: CL + TE with a second request inside the body
inner="POST /v1.41/containers/create?name=$N-smuggled-inner HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: $CB_LEN\r\n\r\n$create_body"
expect_refused "CL.TE smuggling (alice, outer ContainerCreate)" 400 \
  "POST /v1.41/containers/create?name=$N-smuggled HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: $CB_LEN\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$inner"
expect_refused "TE.CL smuggling (alice)" 400 \
  "POST /v1.41/containers/create?name=$N-smuggled HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n$(printf '%x' "$CB_LEN")\r\n$create_body\r\n0\r\n\r\n$inner"
# carol may only read: a create hidden in a GET's body must stay a body. The
# GET is answered once, and no second request is ever seen.
raw_request carol "GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\nContent-Length: $(printf '%b' "${inner//name=$N-smuggled-inner/name=$N-smuggled-carol}" | wc -c)\r\n\r\n${inner//name=$N-smuggled-inner/name=$N-smuggled-carol}"
assert_eq 1 "$RAW_CLOSED" "carol: GET with a request-shaped body: connection closed after the answer"
sts="$(raw_statuses)"
if [[ "$sts" != 200 && ! "$sts" =~ ^4[0-9][0-9]$ ]]; then
  fail "carol: GET with a request-shaped body: expected one response (200 or a 4xx refusal), got [$sts]"
fi
ok "carol: GET with a request-shaped body: exactly one response ($sts)"
raw_request carol "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n${inner//name=$N-smuggled-inner/name=$N-smuggled-carol2}"
sts="$(raw_statuses)"
assert_not_contains " $sts " " 201 " "carol: a create after a chunked GET's last chunk was not answered with 201 ($sts)"
for c in "$N-smuggled" "$N-smuggled-inner" "$N-smuggled-carol" "$N-smuggled-carol2"; do
  if daemon_has any "$c"; then fail "smuggling: container $c exists at the daemon"; fi
done
assert_eq "" "$(daemon ps -aq --filter "name=$N-smuggled")" "smuggling: no container named *smuggled* exists at the daemon"

# --- HEAD /_ping: 200, no body
raw_request alice 'HEAD /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
assert_eq 200 "$(raw_status)" "HEAD /_ping: 200"
assert_eq "" "$(sed -e '1,/^\r$/d' "$RAW_OUT")" "HEAD /_ping: no body"
assert_contains "$(cat "$RAW_OUT")" "Api-Version:" "HEAD /_ping: the daemon's Api-Version header is passed on"

# --- keep-alive: two requests on one connection, pipelined and one by one
raw_request alice 'GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\nGET /v1.41/version HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
assert_eq "200 200" "$(raw_statuses)" "keep-alive (pipelined): both requests answered"
assert_contains "$(cat "$RAW_OUT")" '"ApiVersion"' "keep-alive (pipelined): the second answer is the version JSON"
RAW_N=$((RAW_N + 1))
rc=0
( printf 'GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n'; sleep 1
  printf 'GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'; sleep 3 ) |
  timeout 15 openssl s_client -quiet -connect "127.0.0.1:$GW_PORT" -servername localhost -CAfile "$PKI_DIR/ca/ca.pem" \
    -cert "$PKI_DIR/clients/alice/cert.pem" -key "$PKI_DIR/clients/alice/key.pem" >"$WORK/ka.out" 2>"$WORK/ka.err" || rc=$?
assert_eq "200 200" "$(raw_statuses "$WORK/ka.out")" "keep-alive (one after another, 1 s apart): both answered"
assert_ne 124 "$rc" "keep-alive: the connection closed after Connection: close"

# --- an idle keep-alive client gives its daemon connection back and gets a new one
daemon_conns() { ss -xpH state established 2>/dev/null | grep -c "pid=$GW_PID," || true; }
before="$(daemon_conns)"
( printf 'GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n'; sleep 12
  printf 'GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'; sleep 3 ) |
  timeout 25 openssl s_client -quiet -connect "127.0.0.1:$GW_PORT" -servername localhost -CAfile "$PKI_DIR/ca/ca.pem" \
    -cert "$PKI_DIR/clients/alice/cert.pem" -key "$PKI_DIR/clients/alice/key.pem" >"$WORK/idle.out" 2>"$WORK/idle.err" &
idle_pid=$!
on_exit "kill $idle_pid"
sleep 2
assert_eq "$((before + 1))" "$(daemon_conns)" "keep-alive: the first request opened one daemon connection"
sleep 9 # idle through two sweeps (5 s apart)
assert_eq "$before" "$(daemon_conns)" "keep-alive: after ~10 s idle the daemon connection is closed"
wait "$idle_pid" || true
assert_eq "200 200" "$(raw_statuses "$WORK/idle.out")" "keep-alive: the client connection stayed open and its next request was answered"

# --- audit: the refusals are recorded
wait_for_audit "any(int(r.get('status', 0)) == 400 and r.get('decision') != 'allow' for r in recs)" ||
  fail "no audit record with status 400 for the malformed requests"
ok "audit: malformed requests recorded with status 400 and not allowed"
wait_for_audit "any(int(r.get('status', 0)) == 431 for r in recs)" || fail "no audit record with status 431"
ok "audit: oversized head recorded with 431"
