#!/usr/bin/env bash
# gateway.audit_syslog: every audit record also reaches a real syslog collector (a private
# rsyslogd) as an RFC 5424 message, over a unix datagram socket, TCP and TLS, with the gateway
# confined (Landlock and seccomp on). A collector that goes away costs no request any time and
# at most what overflows the queue, counted; the audit file keeps every line; the sender
# reconnects when the collector is back. A TLS collector the configured CA does not vouch for
# gets nothing.
source "$(dirname "$0")/lib.sh"
it_init "$@"

command -v rsyslogd >/dev/null || fail "rsyslogd not found (install rsyslog and rsyslog-gnutls)"
[[ -f /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so || -n "$(find /usr/lib -name lmnsd_gtls.so 2>/dev/null)" ]] ||
  fail "rsyslog's TLS driver (lmnsd_gtls.so) not found (install rsyslog-gnutls)"

# start_collector NAME INPUT [GLOBAL]: a private rsyslogd in WORK/NAME that writes each message
# it receives, raw, as one line of WORK/NAME/received.log. INPUT loads and configures its input.
start_collector() {
  local d="$WORK/$1"
  mkdir -p "$d"
  cat >"$d/rsyslog.conf" <<EOF
global(workDirectory="$d" maxMessageSize="64k" ${3:-})
$2
template(name="raw" type="string" string="%rawmsg%\n")
action(type="omfile" file="$d/received.log" template="raw")
EOF
  rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" >>"$d/rsyslogd.out" 2>&1 &
  COLLECTOR_PID=$!
  on_exit "kill $COLLECTOR_PID 2>/dev/null"
}

# stop_collector: SIGTERM and wait for the collector to be gone.
stop_collector() {
  kill -TERM "$COLLECTOR_PID"
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$COLLECTOR_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$COLLECTOR_PID" 2>/dev/null && fail "rsyslogd (pid $COLLECTOR_PID) did not stop"
  wait "$COLLECTOR_PID" 2>/dev/null || true
}

# syslog_gateway NAME TARGET [EXTRA_GATEWAY_KEYS]: a gateway in WORK/NAME whose audit copy goes
# to TARGET, with an admin endpoint on ADMIN.
syslog_gateway() {
  local dir="$WORK/$1"
  ADMIN="$(free_port)"
  write_gateway_config "$dir" "$(free_port)" "
[admin]
address = \"127.0.0.1:$ADMIN\""
  sed -i "s|^audit_log = \"audit.jsonl\"\$|&\naudit_syslog = \"$2\"\n${3:-}|" "$dir/dockgate.toml"
  grep -qF "audit_syslog = \"$2\"" "$dir/dockgate.toml" || fail "test bug: audit_syslog not set"
  out="$("$DOCKGATE" check-config "$dir/dockgate.toml" 2>&1)" || fail "check-config failed: $out"
  assert_contains "$out" "audit syslog: $2" "check-config prints the syslog target"
  start_gateway "$dir/dockgate.toml"
}

metric() { curl -s "http://127.0.0.1:$ADMIN/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# syslog_check RECEIVED: compares the audit file with the messages of this gateway (PROCID =
# GW_PID) in RECEIVED. Prints "ok ARRIVED MISSING" when every message that arrived is
# well-formed RFC 5424 (PRI from facility authpriv and the decision, version 1, app-name
# dockgate, structured data matching the record) and its MSG is, byte for byte, a line of the
# audit file; MISSING lists (1-based) audit lines that have not arrived. Else an error.
syslog_check() {
  python3 - "$GW_AUDIT" "$1" "$GW_PID" <<'PY'
import json, re, sys
audit_path, received_path, pid = sys.argv[1], sys.argv[2], sys.argv[3]
lines = [l.rstrip("\n") for l in open(audit_path, encoding="utf-8") if l.strip()]
try:
    received = [l.rstrip("\n") for l in open(received_path, encoding="utf-8")]
except FileNotFoundError:
    received = []
sd_value = r'"((?:[^"\\\]]|\\["\\\]])*)"'
pattern = re.compile(r'^<(\d+)>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) \[dockgate@32473 user=' + sd_value +
                     r' operation=' + sd_value + r' decision=' + sd_value + r'\] (.*)$')
unescape = lambda v: re.sub(r'\\(["\\\]])', r'\1', v)
arrived = []
for m in map(pattern.match, received):
    if m is None or m.group(6) != pid:
        continue
    pri, version, ts, host, app, procid, msgid = m.groups()[:7]
    user, operation, decision, msg = unescape(m.group(8)), unescape(m.group(9)), unescape(m.group(10)), m.group(11)
    rec = json.loads(msg)
    want_pri = 10 * 8 + (6 if rec["decision"] == "allow" else 5)
    problems = []
    if int(pri) != want_pri: problems.append("PRI %s, expected %d" % (pri, want_pri))
    if version != "1": problems.append("version " + version)
    if app != "dockgate": problems.append("app-name " + app)
    if msgid != "-": problems.append("MSGID " + msgid)
    if ts != rec["time"]: problems.append("timestamp %s, record time %s" % (ts, rec["time"]))
    if (user, operation, decision) != (rec.get("user", ""), rec["operation"], rec["decision"]):
        problems.append("structured data %r" % ((user, operation, decision),))
    if msg not in lines: problems.append("MSG is not a line of the audit file")
    if problems:
        sys.exit("bad message %r: %s" % (m.group(0)[:300], "; ".join(problems)))
    arrived.append(msg)
if len(arrived) != len(set(arrived)):
    sys.exit("a record arrived twice")
missing = [i + 1 for i, l in enumerate(lines) if l not in arrived]
print("ok", len(arrived), ",".join(map(str, missing)) or "none")
PY
}

# wait_syslog RECEIVED EXPECTED_MISSING WHAT: waits up to 20 s for syslog_check to report
# exactly EXPECTED_MISSING ("none" = every audit line arrived).
wait_syslog() {
  local deadline=$((SECONDS + 20)) v
  while :; do
    v="$(syslog_check "$1" 2>&1)" || fail "$3: $v"
    [[ "$(cut -d' ' -f3 <<<"$v")" == "$2" ]] && { ok "$3 ($v)"; return 0; }
    ((SECONDS < deadline)) || fail "$3: after 20 s: $v (expected missing: $2)"
    sleep 0.2
  done
}

ping_as() {
  raw_request "$1" 'GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
}
deny_as_carol() {
  local body='{"Image":"local/busybox:1","Cmd":["true"]}'
  raw_request carol "POST /v1.41/containers/create?name=$CPREFIX HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\nConnection: close\r\n\r\n$body"
}

# --- unix datagram socket (as syslog(3) uses), in a folder Landlock does not open -----------
sock="$WORK/c-unix/log.sock"
start_collector c-unix "module(load=\"imuxsock\" SysSock.Use=\"off\")
input(type=\"imuxsock\" Socket=\"$sock\" RateLimit.Interval=\"0\")"
for ((i = 0; i < 50; i++)); do [[ -S $sock ]] && break; sleep 0.1; done
[[ -S $sock ]] || fail "rsyslogd did not create $sock: $(cat "$WORK/c-unix/rsyslogd.out")"
syslog_gateway gw-unix "unix://$sock"
landlock_line="$(grep -m1 'Landlock (ABI' "$GW_STDERR")" || fail "the gateway does not run under Landlock"
assert_not_contains "$landlock_line" "c-unix" "Landlock grants nothing in the collector socket's folder (connecting by path needs no right)"
seccomp_says "socket for AF_UNIX only" "a unix collector adds no IP socket to the seccomp filter"
ping_as alice
assert_eq 200 "$(raw_status)" "alice's ping answered"
deny_as_carol
assert_eq 403 "$(raw_status)" "carol's create denied"
gw_docker alice ps >/dev/null || fail "docker ps through the gateway failed"
wait_for_audit "len(recs) >= 4" || fail "expected at least 4 audit lines"
wait_syslog "$WORK/c-unix/received.log" none "unix: every audit line arrived, as RFC 5424 with user/operation/decision"
assert_eq "True" "$(python3 -c "import sys; t=open(sys.argv[1]).read(); print('user=\"carol\" operation=\"ContainerCreate\" decision=\"deny\"]' in t and t.count('<85>1 ') >= 1)" "$WORK/c-unix/received.log")" \
  "unix: carol's denial carries PRI 85 (authpriv.notice) and her structured data"
stop_gateway || fail "dockgate did not stop"

# --- UDP: one datagram per record -----------------------------------------------------------
udp_port="$(free_port)"
start_collector c-udp "module(load=\"imudp\")
input(type=\"imudp\" address=\"127.0.0.1\" port=\"$udp_port\" RateLimit.Interval=\"0\")"
for ((i = 0; i < 50; i++)); do grep -q "127.0.0.1:$udp_port " <(ss -Hlnu) && break; sleep 0.1; done
syslog_gateway gw-udp "udp://127.0.0.1:$udp_port" 'audit_syslog_facility = "authpriv"'
seccomp_says "socket for AF_UNIX and IPv4/IPv6 datagram sockets)" "a UDP collector adds IP datagram sockets, and no stream socket, to the seccomp filter"
assert_contains "$(cat "$GW_STDERR")" "no TCP connect or bind" "a UDP collector opens no TCP port in Landlock"
ping_as alice
deny_as_carol
wait_for_audit "len(recs) >= 2" || fail "expected 2 audit lines"
wait_syslog "$WORK/c-udp/received.log" none "udp: every audit line arrived"
# A reload keeps the collector it started with (gateway.audit_syslog* change on restart only).
mark_log
sed -i "s|^audit_syslog = .*|audit_syslog = \"udp://127.0.0.1:9\"|" "$WORK/gw-udp/dockgate.toml"
kill -HUP "$GW_PID"
wait_log "gateway.audit_syslog\* change on restart only" "reload: a changed audit_syslog is named as restart-only"
ping_as alice
wait_for_audit "len(recs) >= 3" || fail "expected 3 audit lines"
wait_syslog "$WORK/c-udp/received.log" none "udp: after the reload the records still go to the collector the gateway started with"
stop_gateway || fail "dockgate did not stop"
stop_collector

# --- TCP: octet counting; the collector goes away and comes back -----------------------------
tcp_port="$(free_port)"
tcp_input="module(load=\"imtcp\")
input(type=\"imtcp\" port=\"$tcp_port\")"
start_collector c-tcp "$tcp_input"
wait_for_port "$tcp_port" 10 || fail "rsyslogd does not listen on $tcp_port"
syslog_gateway gw-tcp "tcp://127.0.0.1:$tcp_port" "audit_syslog_queue = 4"
assert_contains "$(cat "$GW_STDERR")" "TCP connect to port(s) $tcp_port only" "Landlock allows TCP connect to the collector's port only"
ping_as alice
gw_docker alice ps >/dev/null || fail "docker ps through the gateway failed"
wait_for_audit "len(recs) >= 3" || fail "expected at least 3 audit lines"
wait_syslog "$WORK/c-tcp/received.log" none "tcp: every audit line arrived"
before="$(audit_query 'len(recs)')"
assert_eq 1 "$(metric dockgate_audit_syslog_connected)" "tcp: the sender is connected"
assert_eq "$before" "$(metric dockgate_audit_syslog_sent_total)" "tcp: sent_total counts every record"

stop_collector
slowest=0
for ((n = 1; n <= 6; n++)); do
  t0=$(date +%s%N)
  ping_as alice
  ms=$((($(date +%s%N) - t0) / 1000000))
  assert_eq 200 "$(raw_status)" "collector down: request $n answered"
  ((ms < 5000)) || fail "collector down: request $n took $ms ms"
  if ((ms > slowest)); then slowest=$ms; fi
done
ok "collector down: 6 requests answered, each in under 5 s (slowest $slowest ms)"
wait_for_audit "len(recs) == $((before + 6))" || fail "the audit file lacks the requests made while the collector was down"
ok "collector down: the audit file has all $((before + 6)) lines"
# The queue holds 4 records: the first 4 made while the collector was down wait, 2 are dropped.
for ((i = 0; i < 50; i++)); do
  [[ "$(metric dockgate_audit_syslog_dropped_total)" == 2 ]] && break
  sleep 0.1
done
assert_eq 2 "$(metric dockgate_audit_syslog_dropped_total)" "collector down: 2 records overflowed the queue of 4, counted"
assert_eq 4 "$(metric dockgate_audit_syslog_queued)" "collector down: 4 records wait"
assert_eq 0 "$(metric dockgate_audit_syslog_connected)" "collector down: not connected"

start_collector c-tcp "$tcp_input"
wait_for_port "$tcp_port" 10 || fail "rsyslogd does not listen on $tcp_port again"
# The sender retries on its back-off (at most 10 s apart), then empties the queue; a record
# made before that would find the queue still full.
for ((i = 0; i < 150; i++)); do
  [[ "$(metric dockgate_audit_syslog_queued)" == 0 ]] && break
  sleep 0.1
done
assert_eq 0 "$(metric dockgate_audit_syslog_queued)" "collector back: the sender reconnected and sent what waited"
ping_as alice
deny_as_carol
wait_for_audit "len(recs) == $((before + 8))" || fail "the audit file lacks the requests made after the restart"
# Lines before+5 and before+6 (1-based) are the two dropped ones; everything else arrived.
wait_syslog "$WORK/c-tcp/received.log" "$((before + 5)),$((before + 6))" \
  "collector back: the sender reconnected; the queued records and the later ones arrived, only the 2 dropped did not"
assert_eq "$((before + 6))" "$(metric dockgate_audit_syslog_sent_total)" "collector back: sent_total + dropped_total = audit lines"
assert_eq 2 "$(metric dockgate_audit_syslog_dropped_total)" "collector back: nothing more dropped"
assert_eq 1 "$(metric dockgate_audit_syslog_connected)" "collector back: connected"
assert_match "$(cat "$GW_STDERR")" "audit_syslog: cannot reach tcp://127.0.0.1:$tcp_port" "the outage is logged"
assert_match "$(cat "$GW_STDERR")" "audit_syslog: reconnected to" "the reconnection is logged"
stop_gateway || fail "dockgate did not stop"
stop_collector

# --- TLS: the collector's certificate is checked against audit_syslog_ca ---------------------
tls_port="$(free_port)"
start_collector c-tls "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\")
input(type=\"imtcp\" port=\"$tls_port\")" \
  "DefaultNetstreamDriverCAFile=\"$PKI_DIR/ca/ca.pem\" DefaultNetstreamDriverCertFile=\"$PKI_DIR/server/server-cert.pem\" DefaultNetstreamDriverKeyFile=\"$PKI_DIR/server/server-key.pem\""
wait_for_port "$tls_port" 10 || fail "rsyslogd does not listen on $tls_port"
syslog_gateway gw-tls "tls://localhost:$tls_port" "audit_syslog_ca = \"$PKI_DIR/ca/ca.pem\""
ping_as alice
deny_as_carol
wait_for_audit "len(recs) >= 2" || fail "expected 2 audit lines"
wait_syslog "$WORK/c-tls/received.log" none "tls: every audit line arrived over a verified TLS connection"
stop_gateway || fail "dockgate did not stop"

# A CA that did not sign the collector's certificate: the handshake fails, nothing is sent.
make_ca "$WORK/wrong-ca" "not the collector's CA" 2>/dev/null
syslog_gateway gw-tls-wrong "tls://localhost:$tls_port" "audit_syslog_ca = \"$WORK/wrong-ca/ca.pem\""
ping_as alice
assert_eq 200 "$(raw_status)" "untrusted collector: the request is still answered"
LOG_FROM=1
wait_log "audit_syslog: cannot reach tls://localhost:$tls_port: TLS handshake: certificate not trusted" \
  "untrusted collector: the handshake failure is logged"
sleep 1
v="$(syslog_check "$WORK/c-tls/received.log")" || fail "untrusted collector: $v"
assert_eq "ok 0 1" "$v" "untrusted collector: nothing of this gateway's reached it"
assert_eq 1 "$(metric dockgate_audit_syslog_queued)" "untrusted collector: the record waits in the queue"
stop_gateway || fail "dockgate did not stop"
