#!/usr/bin/env bash
# The audit trail: one JSON line per request, allowed or denied, with the
# identity, operation, decision and sizes; to a file and to stdout ("-").
source "$(dirname "$0")/lib.sh"
it_init "$@"

gateway_up gw
KEYS='["time","conn","transport","peer","user","groups","roles","operation","method","path","decision","role","rule","status","bytes_in","bytes_out","duration_ms"]'

# Exactly three requests, over two connections:
#   alice: GET /_ping, then GET /v1.41/containers/json (keep-alive)
#   carol: POST /v1.41/containers/create (denied)
raw_request alice 'GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\nGET /v1.41/containers/json?all=1 HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
assert_eq "200 200" "$(raw_statuses)" "alice's two requests answered"
body='{"Image":"local/busybox:1","Cmd":["true"]}'
raw_request carol "POST /v1.41/containers/create?name=$CPREFIX-audit HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
assert_eq 403 "$(raw_status)" "carol's create denied"

wait_for_audit "len(recs) >= 3" || fail "expected 3 audit lines, got: $(cat "$GW_AUDIT" 2>/dev/null)"
sleep 1.2 # one more flush period: nothing else may appear
assert_eq 3 "$(audit_query 'len(recs)')" "one audit line per request (3 requests, 3 lines)"
assert_eq 3 "$(wc -l <"$GW_AUDIT")" "the audit file has exactly 3 lines"
missing="$(audit_query "[(i, k) for i, r in enumerate(recs) for k in $KEYS if k not in r]")"
assert_eq "[]" "$missing" "every audit line has all the keys"

q() { audit_query "$1"; }
ping='[r for r in recs if r["user"] == "alice" and r["method"] == "GET" and r["path"].split("?")[0].endswith("/_ping")][0]'
list='[r for r in recs if r["user"] == "alice" and r["path"].split("?")[0].endswith("/containers/json")][0]'
deny='[r for r in recs if r["user"] == "carol"][0]'
assert_eq "SystemPing allow 200" "$(q "' '.join(str(x) for x in (${ping}['operation'], ${ping}['decision'], ${ping}['status']))")" "alice GET /_ping: SystemPing allow 200"
assert_eq "ContainerList GET allow operator 200" \
  "$(q "' '.join(str(x) for x in (${list}['operation'], ${list}['method'], ${list}['decision'], ${list}['role'], ${list}['status']))")" \
  "alice GET /containers/json: ContainerList, allowed by role operator, 200"
assert_eq "True" "$(q "'developers' in ${list}['groups'] and 'operator' in ${list}['roles']")" "alice's line lists group developers and role operator"
assert_eq "True" "$(q "${list}['conn'] == ${ping}['conn'] and ${list}['conn'] != ${deny}['conn']")" "keep-alive requests share a connection id; another connection has another"
assert_eq "True" "$(q "str(${list}['peer']).startswith('127.0.0.1') and str(${list}['transport']).lower() == 'tls'")" "peer is 127.0.0.1:..., transport tls"
assert_eq "True" "$(q "int(${list}['bytes_out']) > 0 and int(${list}['bytes_in']) > 0 and float(${list}['duration_ms']) >= 0")" "sizes and duration recorded"
assert_eq "ContainerCreate POST deny 403" \
  "$(q "' '.join(str(x) for x in (${deny}['operation'], ${deny}['method'], ${deny}['decision'], ${deny}['status']))")" \
  "carol POST /containers/create: ContainerCreate deny 403"
assert_eq "True" "$(q "${deny}['roles'] == ['readonly'] and int(${deny}['bytes_in']) >= ${#body}")" "carol's line: roles [readonly], bytes_in counts the body"
assert_eq "True" "$(q "'time' in $deny and len(str(${deny}['time'])) >= 19")" "records carry a timestamp"

# credential: the certificate's serial (as openssl prints it); reason: why carol was refused.
serial="$(openssl x509 -in "$PKI_DIR/clients/alice/cert.pem" -noout -serial | cut -d= -f2)"
[[ -n "$serial" ]] || fail "test bug: no serial for alice's certificate"
assert_eq "SERIAL:${serial^^}" "$(q "${list}['credential'].upper()")" "alice's credential is her certificate's serial"
assert_eq "not in roles.readonly.allow (role readonly)" "$(q "${deny}.get('reason')")" "carol's line gives the reason"
assert_eq "None" "$(q "${list}.get('reason')")" "an allowed request carries no reason"
# invalid: a head the daemon could read differently (two Content-Length values) is a 400, audited
# as invalid with what was wrong.
raw_request alice 'POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'
assert_eq 400 "$(raw_status)" "two Content-Length values: 400"
wait_for_audit "any(r['decision'] == 'invalid' and r['status'] == 400 and r['user'] == 'alice' for r in recs)" ||
  fail "no invalid audit line for the malformed request: $(tail -n 2 "$GW_AUDIT")"
assert_match "$(q "[r for r in recs if r['decision'] == 'invalid'][0].get('reason', '')")" "Content-Length" \
  "the invalid line's reason names the header"

# The docker CLI's own requests are audited too.
gw_docker alice ps >/dev/null || fail "docker ps through the gateway failed"
wait_for_audit "any(r['operation'] == 'ContainerList' and r['decision'] == 'allow' and r['conn'] != ${list}['conn'] for r in recs)" ||
  fail "docker ps left no ContainerList audit line"
ok "docker ps: ContainerList audited"
stop_gateway || fail "dockgate did not stop on SIGTERM"
n="$(audit_query 'len(recs)')"
((n >= 5)) || fail "after docker ps the audit file has only $n lines"
ok "audit lines are flushed on shutdown ($n lines)"

# audit_log = "-": the lines go to stdout.
dir="$WORK/gw-stdout"
write_gateway_config "$dir" "$(free_port)"
sed -i 's/^audit_log = "audit.jsonl"$/audit_log = "-"/' "$dir/dockgate.toml"
grep -q '^audit_log = "-"$' "$dir/dockgate.toml" || fail "test bug: edit did not apply"
start_gateway "$dir/dockgate.toml"
raw_request dave 'GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
assert_eq 403 "$(raw_status)" "dave (no role): 403"
stop_gateway || fail "dockgate did not stop on SIGTERM"
GW_AUDIT="$dir/dockgate.stdout"
assert_eq "dave ContainerList deny 403" \
  "$(audit_query "' '.join(str(x) for x in [(r['user'], r['operation'], r['decision'], r['status']) for r in recs if r['user'] == 'dave'][0])")" \
  "audit_log = \"-\": the deny line is on stdout as JSON"
if [[ -e "$dir/audit.jsonl" ]]; then fail "audit_log = \"-\" still wrote audit.jsonl"; fi
ok "audit_log = \"-\" writes no file"
