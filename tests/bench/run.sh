#!/usr/bin/env bash
# tests/bench/run.sh: dockgate's benchmark, side by side with what it replaces, on this
# machine, in one go. See tests/bench/README.md for what is measured and how to read it.
#
#   tests/bench/run.sh [--quick] [--build-dir DIR] [--bench PATH] [--out FILE] [--keep]
#
# --quick: shorter runs, 2,000 idle connections; --build-dir: where bin/dockgate is (build/);
# --bench: a prebuilt load client (default: BUILD/bin/dockgate_bench, built incrementally);
# --out: also write the report to FILE; --keep: keep the temp dir with all logs.
#
# Needs root (it starts a private dockerd). Installs what is missing with apt-get. Everything
# listens on 127.0.0.1 or in a private temp dir; everything it starts, it stops.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$REPO/build"
QUICK=0
KEEP=0
OUT=""
BENCH=""
usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-2}"
}
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    --build-dir) BUILD="$(cd "$2" && pwd)"; shift ;;
    --out) OUT="$2"; shift ;;
    --bench) BENCH="$(realpath "$2")"; shift ;;
    -h | --help) usage 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage ;;
  esac
  shift
done

# Sizes and durations. The full run stays under ~5 minutes on a 2-core machine.
if ((QUICK)); then
  WARMUP=0.5 DURATION=2 ROUNDS=1 STREAM_REPEAT=1 IDLE_N=2000
else
  WARMUP=1 DURATION=3 ROUNDS=2 STREAM_REPEAT=3 IDLE_N=10000
fi
STREAM_BYTES=$((1024 * 1024 * 1024))
STREAM_PATH=/v1.41/images/get # ImageGetAll: a route the gateway lets through
MANY=16

DOCKGATE="$BUILD/bin/dockgate"
BENCH="${BENCH:-$BUILD/bin/dockgate_bench}"

say() { printf '%s\n' "$*" >&2; }
die() { say "run.sh: $*"; exit 1; }

# ---------------------------------------------------------------------------------------
# Prerequisites

(($(id -u) == 0)) || die "run as root: it starts a private dockerd"
missing=()
for pair in stunnel4:stunnel4 haproxy:haproxy nginx:nginx-light dockerd:docker.io openssl:openssl \
  python3:python3-minimal curl:curl; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  say "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
    die "apt-get install ${missing[*]} failed"
fi
[[ -x "$DOCKGATE" ]] || die "$DOCKGATE not found: build first (cmake -S . -B build && cmake --build build)"
if [[ "$BENCH" == "$BUILD/bin/dockgate_bench" ]]; then
  # Incremental: seconds when it is up to date. An older client may lack options used below.
  say "building the load client (target dockgate_bench in $BUILD)"
  cmake --build "$BUILD" --target dockgate_bench -j1 >"/tmp/dockgate_bench-build.$$.log" 2>&1 ||
    { cat "/tmp/dockgate_bench-build.$$.log" >&2; die "cannot build dockgate_bench in $BUILD"; }
  rm -f "/tmp/dockgate_bench-build.$$.log"
fi
[[ -x "$BENCH" ]] || die "load client $BENCH not found"

# 10k connections: the proxies hold two descriptors per connection (client + daemon side).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE="$(ulimit -n)"
IDLE_NOTE=""
if [[ "$NOFILE" != unlimited ]] && ((NOFILE < 2 * IDLE_N + 200)); then
  wanted=$IDLE_N
  IDLE_N=$(((NOFILE - 200) / 2))
  IDLE_NOTE="idle: RLIMIT_NOFILE hard limit is $NOFILE here, too low for $wanted connections at two descriptors each; measured $IDLE_N"
  say "$IDLE_NOTE"
fi

# ---------------------------------------------------------------------------------------
# Bookkeeping: everything started is stopped on exit

TMP="$(mktemp -d /tmp/dgbench.XXXXXX)"
LOGS="$TMP/logs"
mkdir -p "$LOGS"
PIDS=()
cleanup() {
  local rc=$? pid i
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    # dockerd needs a few seconds to stop its containerd; the rest go at once.
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if ((KEEP)); then
    say "kept $TMP (logs in $LOGS)"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run a private copy: a rebuild of build/bin/dockgate during the run cannot mix two versions.
DOCKGATE_BUILT="$(date -u -r "$DOCKGATE" +%Y-%m-%dT%H:%MZ)"
cp "$DOCKGATE" "$TMP/dockgate-bin"
DOCKGATE="$TMP/dockgate-bin"

# start NAME CMD...: runs CMD in the background with its output in $LOGS/NAME.log and
# remembers its pid (in LAST_PID, and for cleanup).
start() {
  local name="$1"
  shift
  "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
# stop PID: stop one process started with start (and wait for it).
stop() {
  local keep=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# free_port: a TCP port on 127.0.0.1 nothing is bound to, below the ephemeral range (so the
# load client's own connections cannot take it between now and the server's bind).
USED_PORTS=" "
free_port() {
  local p
  p="$(python3 - "$USED_PORTS" <<'EOF'
import random, socket, sys
used = set(sys.argv[1].split())
for _ in range(200):
    p = random.randint(20000, 32000)
    if str(p) in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
EOF
)"
  [[ -n "$p" ]] || die "no free port found"
  USED_PORTS+="$p "
  echo "$p"
}

wait_unix() { # PATH SECONDS NAME PID
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if [[ -S "$1" ]] && curl -s -o /dev/null --max-time 2 --unix-socket "$1" http://x/_ping; then return 0; fi
    kill -0 "$4" 2>/dev/null || { tail -n 20 "$LOGS/$3.log" >&2; die "$3 exited during start-up"; }
    sleep 0.2
  done
  tail -n 20 "$LOGS/$3.log" >&2
  die "$3 did not answer on $1 within $2 s"
}
# listening PORT SECONDS PID: true once something accepts on 127.0.0.1:PORT, false when
# PID exits or the time is up.
listening() {
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
wait_port() { # PORT SECONDS NAME PID
  listening "$1" "$2" "$4" && return 0
  tail -n 20 "$LOGS/$3.log" >&2
  die "$3 did not listen on 127.0.0.1:$1 within $2 s (log: $LOGS/$3.log)"
}

# ---------------------------------------------------------------------------------------
# A throwaway PKI: EC P-256 CA, server certificate for 127.0.0.1, client CN=bench O=bench

PKI="$TMP/pki"
mkdir -p "$PKI"
(
  cd "$PKI"
  cat >pki.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = dockgate bench CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF
  for k in ca server client; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k-key.pem"
  done
  openssl req -new -x509 -config pki.cnf -extensions ca -key ca-key.pem -days 2 -sha256 -out ca.pem
  for k in server client; do
    subj="/CN=127.0.0.1"
    [[ $k == client ]] && subj="/CN=bench/O=bench"
    openssl req -new -config pki.cnf -key "$k-key.pem" -subj "$subj" -out "$k.csr"
    openssl x509 -req -in "$k.csr" -CA ca.pem -CAkey ca-key.pem -set_serial "0x$(openssl rand -hex 8)" \
      -days 2 -sha256 -extfile pki.cnf -extensions "$k" -out "$k-cert.pem" 2>/dev/null
  done
  cat server-cert.pem server-key.pem >server-combined.pem # HAProxy wants both in one file
  openssl verify -CAfile ca.pem server-cert.pem client-cert.pem >/dev/null
) >"$LOGS/pki.log" 2>&1 || { cat "$LOGS/pki.log" >&2; die "cannot make the test PKI with openssl"; }
CLIENT_TLS=(--ca "$PKI/ca.pem" --cert "$PKI/client-cert.pem" --key "$PKI/client-key.pem")

# ---------------------------------------------------------------------------------------
# Backends: a private dockerd (unix socket + its own --tlsverify TCP endpoint), and nginx
# serving a 1 GiB file on a unix socket for the stream test

D="$TMP/d"
mkdir -p "$D"
echo '{}' >"$D/daemon.json"
DSOCK="$D/docker.sock"
P_DOCKERD_TLS="$(free_port)"
start dockerd dockerd --config-file "$D/daemon.json" --data-root "$D/data" --exec-root "$D/exec" \
  --pidfile "$D/pid" -H "unix://$DSOCK" -H "tcp://127.0.0.1:$P_DOCKERD_TLS" \
  --tlsverify --tlscacert "$PKI/ca.pem" --tlscert "$PKI/server-cert.pem" --tlskey "$PKI/server-key.pem" \
  --storage-driver=vfs --iptables=false --ip-forward=false --bridge=none
DOCKERD_PID=$LAST_PID

N="$TMP/nginx"
mkdir -p "$N/www${STREAM_PATH%/*}" "$N/tmp"
truncate -s "$STREAM_BYTES" "$N/www$STREAM_PATH" # sparse: no disk I/O, served from page cache
NSOCK="$N/nginx.sock"
cat >"$N/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path $N/tmp/body;
  proxy_temp_path $N/tmp/proxy;
  fastcgi_temp_path $N/tmp/fastcgi;
  uwsgi_temp_path $N/tmp/uwsgi;
  scgi_temp_path $N/tmp/scgi;
  server {
    listen unix:$NSOCK;
    root $N/www;
    location = /_ping { return 200 "OK"; }
  }
}
EOF
start nginx nginx -p "$N/" -c "$N/nginx.conf"
NGINX_PID=$LAST_PID

wait_unix "$NSOCK" 15 nginx "$NGINX_PID"
cat "$N/www$STREAM_PATH" >/dev/null # page cache warm before anything is timed
wait_unix "$DSOCK" 60 dockerd "$DOCKERD_PID"
wait_port "$P_DOCKERD_TLS" 20 dockerd "$DOCKERD_PID"

# ---------------------------------------------------------------------------------------
# The proxies. stunnel and HAProxy each serve two ports: one in front of dockerd (/_ping,
# idle) and one in front of nginx (stream). dockgate takes one upstream per process.

P_ST_D="$(free_port)" P_ST_N="$(free_port)"
mkdir -p "$TMP/stunnel"
cat >"$TMP/stunnel/stunnel.conf" <<EOF
foreground = yes
pid = $TMP/stunnel/stunnel.pid
debug = 4
socket = l:TCP_NODELAY=1
[docker]
accept = 127.0.0.1:$P_ST_D
connect = $DSOCK
cert = $PKI/server-cert.pem
key = $PKI/server-key.pem
CAfile = $PKI/ca.pem
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.2
[blob]
accept = 127.0.0.1:$P_ST_N
connect = $NSOCK
cert = $PKI/server-cert.pem
key = $PKI/server-key.pem
CAfile = $PKI/ca.pem
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.2
EOF
start stunnel stunnel4 "$TMP/stunnel/stunnel.conf"
STUNNEL_PID=$LAST_PID

# haproxy_config PORT_DOCKER PORT_NGINX MAXCONN
haproxy_config() {
  cat <<EOF
global
  maxconn $3
  nbthread $(nproc)
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 5s
  timeout client 10m
  timeout server 10m
  timeout http-request 10s
  timeout http-keep-alive 10m
frontend docker
  bind 127.0.0.1:$1 ssl crt $PKI/server-combined.pem ca-file $PKI/ca.pem verify required
  default_backend docker
backend docker
  server d $DSOCK
EOF
  if [[ -n "$2" ]]; then
    cat <<EOF
frontend blob
  bind 127.0.0.1:$2 ssl crt $PKI/server-combined.pem ca-file $PKI/ca.pem verify required
  default_backend blob
backend blob
  server n $NSOCK
EOF
  fi
}
P_HA_D="$(free_port)" P_HA_N="$(free_port)"
mkdir -p "$TMP/haproxy"
haproxy_config "$P_HA_D" "$P_HA_N" 1000 >"$TMP/haproxy/haproxy.cfg"
start haproxy haproxy -db -f "$TMP/haproxy/haproxy.cfg"
HAPROXY_PID=$LAST_PID

# dockgate_config NAME PORT UPSTREAM_SOCKET: writes $TMP/dockgate/NAME.toml
mkdir -p "$TMP/dockgate"
dockgate_config() {
  cat >"$TMP/dockgate/$1.toml" <<EOF
[gateway]
upstream = "unix://$3"
audit_log = "$TMP/dockgate/$1-audit.jsonl"
workers = $(nproc)
[listen.tls]
address = "127.0.0.1:$2"
ca = "$PKI/ca.pem"
cert = "$PKI/server-cert.pem"
key = "$PKI/server-key.pem"
[limits]
max_connections = 20000
[roles.bench]
subjects = ["group:bench"]
allow = ["*"]
EOF
  "$DOCKGATE" check-config "$TMP/dockgate/$1.toml" >"$LOGS/dockgate-$1-check.log" 2>&1 ||
    { cat "$LOGS/dockgate-$1-check.log" >&2; die "dockgate rejects its bench config $TMP/dockgate/$1.toml"; }
}
P_DG_D="$(free_port)" P_DG_N="$(free_port)"
dockgate_config docker "$P_DG_D" "$DSOCK"
dockgate_config blob "$P_DG_N" "$NSOCK"
start dockgate-docker "$DOCKGATE" --config "$TMP/dockgate/docker.toml"
DG_D_PID=$LAST_PID
start dockgate-blob "$DOCKGATE" --config "$TMP/dockgate/blob.toml"
DG_N_PID=$LAST_PID

wait_port "$P_ST_D" 10 stunnel "$STUNNEL_PID"
wait_port "$P_HA_D" 10 haproxy "$HAPROXY_PID"
wait_port "$P_DG_D" 10 dockgate-docker "$DG_D_PID"
wait_port "$P_DG_N" 10 dockgate-blob "$DG_N_PID"

# ---------------------------------------------------------------------------------------
# Measurements. Results go to the associative arrays below, keyed "test,target".

declare -A VAL EXTRA CPU STATUS MARKS
PROBLEMS=()
BUSY_NOTE=""
CUT_NOTE=""

# busy_mark: "*" (and a note) when someone else's compiler runs now; called before and after
# each measurement, so a build that overlaps one is very likely seen.
busy_mark() {
  BUSY=""
  if pgrep -x cc1plus >/dev/null 2>&1 || pgrep -x cc1 >/dev/null 2>&1; then
    BUSY="*"
    BUSY_NOTE="A compiler (cc1plus) was running during the measurements marked *: those numbers are pessimistic."
  fi
}

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# alive PID NAME: false (and a problem noted) when a server died.
alive() {
  kill -0 "$1" 2>/dev/null && return 0
  PROBLEMS+=("$2 (pid $1) is no longer running; last log lines: $(tail -n 5 "$LOGS/$2.log" | tr '\n' ' ')")
  return 1
}

# bench LABEL TIMEOUT ARGS...: runs the load client; its RESULT line lands in RESULT (empty
# when it produced none) and MARK is "*" when a compiler ran around it.
bench() {
  local label="$1" limit="$2"
  shift 2
  local out="$LOGS/bench-$label.txt" before
  say "  $label"
  busy_mark
  before="$BUSY"
  timeout -k 5 "$limit" "$BENCH" "$@" >"$out" 2>&1 || true
  busy_mark
  MARK="${before:-$BUSY}"
  RESULT="$(grep '^RESULT' "$out" | tail -n 1 || true)"
  local errors
  errors="$(field "$RESULT" errors)"
  if [[ -z "$RESULT" ]] || [[ -n "$errors" && "$errors" != 0 ]] || [[ "$RESULT" == *" failed="[1-9]* ]]; then
    PROBLEMS+=("$label: $(grep -E '^(  error|  closed by|rps:|stream:|idle:|dockgate_bench)' "$out" | head -n 8 | tr '\n' ' ')(full output: $out)")
  fi
}

TARGETS=(direct dockerd-tls stunnel haproxy dockgate)
declare -A NAME=(
  [direct]="backend's own unix socket, no TLS (dockerd / nginx)"
  [dockerd-tls]="dockerd \`--tlsverify\` TCP endpoint"
  [stunnel]="stunnel4 $(stunnel4 -version 2>&1 | sed -n 's/^stunnel \([0-9.]*\).*/\1/p' | head -n 1) (TLS → unix socket)"
  [haproxy]="HAProxy $(haproxy -v | sed -n 's/^HAProxy version \([0-9.]*\).*/\1/p') (TLS, mode http)"
  [dockgate]="**dockgate** $("$DOCKGATE" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -n 1)"
)
declare -A PING_ARGS=(
  [direct]="--unix $DSOCK"
  [dockerd-tls]="--tls 127.0.0.1:$P_DOCKERD_TLS ${CLIENT_TLS[*]}"
  [stunnel]="--tls 127.0.0.1:$P_ST_D ${CLIENT_TLS[*]}"
  [haproxy]="--tls 127.0.0.1:$P_HA_D ${CLIENT_TLS[*]}"
  [dockgate]="--tls 127.0.0.1:$P_DG_D ${CLIENT_TLS[*]}"
)
declare -A PING_PIDS=(
  [direct]="--pid $DOCKERD_PID"
  [dockerd-tls]="--pid $DOCKERD_PID"
  [stunnel]="--pid $STUNNEL_PID --pid $DOCKERD_PID"
  [haproxy]="--pid $HAPROXY_PID --pid $DOCKERD_PID"
  [dockgate]="--pid $DG_D_PID --pid $DOCKERD_PID"
)
declare -A SERVER_PID=([stunnel]=$STUNNEL_PID [haproxy]=$HAPROXY_PID [dockgate]=$DG_D_PID)
declare -A SERVER_LOG=([stunnel]=stunnel [haproxy]=haproxy [dockgate]=dockgate-docker)

# cpu_cells RESULT KEY: "proxy / dockerd / client" CPU columns from a RESULT line, whose
# per-pid list (KEY) names the proxy first when there is one.
cpu_cells() {
  local list client
  list="$(field "$1" "$2")"
  client="$(field "$1" client_cpu)"
  if [[ "$list" == *,* ]]; then
    echo "${list%%,*} | ${list#*,} | $client"
  else
    echo "— | $list | $client"
  fi
}

say "keep-alive GET /_ping: ${ROUNDS} round(s) of ${WARMUP} s warm-up + ${DURATION} s per target"
for round in $(seq 1 "$ROUNDS"); do
  for conns in 1 "$MANY"; do
    for t in "${TARGETS[@]}"; do
      key="ping$conns,$t"
      if [[ -n "${SERVER_PID[$t]:-}" ]] && ! alive "${SERVER_PID[$t]}" "${SERVER_LOG[$t]}"; then
        STATUS[$key]="down"
        continue
      fi
      # shellcheck disable=SC2086 # word splitting of the argument strings is intended
      bench "ping$conns-$t-r$round" $((30 + ${DURATION%.*} * 3)) rps ${PING_ARGS[$t]} ${PING_PIDS[$t]} \
        -c "$conns" -d "$DURATION" --warmup "$WARMUP"
      rps="$(field "$RESULT" rps)"
      if [[ -z "$rps" || "$rps" == 0 || "$rps" == 0.0 ]]; then
        [[ "${STATUS[$key]:-}" == ok ]] || STATUS[$key]=FAIL
        continue
      fi
      # Best of the rounds: the least disturbed run on a shared machine.
      if [[ "${STATUS[$key]:-}" != ok ]] || python3 -c "import sys; sys.exit(0 if $rps > ${VAL[$key]} else 1)"; then
        VAL[$key]="$rps"
        EXTRA[$key]="$(field "$RESULT" p50_us) / $(field "$RESULT" p99_us)"
        CPU[$key]="$(cpu_cells "$RESULT" cpu_us_per_req)"
        MARKS[$key]="$MARK"
        STATUS[$key]=ok
      fi
    done
  done
done

say "1 GiB stream (GET $STREAM_PATH from nginx on a unix socket), $STREAM_REPEAT transfer(s) each"
STREAM_TARGETS=(direct stunnel haproxy dockgate)
declare -A STREAM_ARGS=(
  [direct]="--unix $NSOCK --pid $NGINX_PID"
  [stunnel]="--tls 127.0.0.1:$P_ST_N ${CLIENT_TLS[*]} --pid $STUNNEL_PID"
  [haproxy]="--tls 127.0.0.1:$P_HA_N ${CLIENT_TLS[*]} --pid $HAPROXY_PID"
  [dockgate]="--tls 127.0.0.1:$P_DG_N ${CLIENT_TLS[*]} --pid $DG_N_PID"
)
SERVER_PID[dockgate]=$DG_N_PID
SERVER_LOG[dockgate]=dockgate-blob
for t in "${STREAM_TARGETS[@]}"; do
  key="stream,$t"
  if [[ -n "${SERVER_PID[$t]:-}" ]] && ! alive "${SERVER_PID[$t]}" "${SERVER_LOG[$t]}"; then
    STATUS[$key]="down"
    continue
  fi
  # shellcheck disable=SC2086
  bench "stream-$t" 150 stream ${STREAM_ARGS[$t]} --path "$STREAM_PATH" \
    --expect-bytes "$STREAM_BYTES" --repeat "$STREAM_REPEAT" --budget 15 --max-time 20 --timeout 20
  v="$(field "$RESULT" mbps)"
  if [[ -n "$v" && "$v" != 0 ]]; then
    VAL[$key]="$v"
    if [[ "$(field "$RESULT" partial)" == 1 ]]; then
      MARK+="†"
      CUT_NOTE="† the transfer was stopped after 20 s: MB/s over the bytes that had arrived by then."
    fi
    EXTRA[$key]="best $(field "$RESULT" best_mbps) of $(field "$RESULT" transfers)"
    list="$(field "$RESULT" cpu_s_per_gb)"
    CPU[$key]="${list} | $(field "$RESULT" client_cpu)"
    MARKS[$key]="$MARK"
    STATUS[$key]=ok
  else
    STATUS[$key]=FAIL
  fi
done

# Idle connections: fresh HAProxy and dockgate processes (so nothing earlier is in their
# heaps), IDLE_N mutual-TLS connections each with one /_ping, then resident memory.
say "$IDLE_N idle mutual-TLS keep-alive connections (fresh HAProxy and dockgate processes)"
P_HA_I="$(free_port)" P_DG_I="$(free_port)"
# HAProxy refuses to start unless RLIMIT_NOFILE covers 2 × maxconn (+ a few).
haproxy_config "$P_HA_I" "" $((IDLE_N + 50)) >"$TMP/haproxy/idle.cfg"
dockgate_config idle "$P_DG_I" "$DSOCK"
IDLE_TARGETS=(haproxy dockgate)
for t in "${IDLE_TARGETS[@]}"; do
  key="idle,$t"
  if [[ $t == haproxy ]]; then
    start haproxy-idle haproxy -db -f "$TMP/haproxy/idle.cfg"
    port=$P_HA_I
  else
    start dockgate-idle "$DOCKGATE" --config "$TMP/dockgate/idle.toml"
    port=$P_DG_I
  fi
  pid=$LAST_PID
  if ! listening "$port" 10 "$pid"; then
    STATUS[$key]="FAIL"
    PROBLEMS+=("$t-idle did not start: $(tail -n 3 "$LOGS/$t-idle.log" | tr '\n' ' ')")
    stop "$pid"
    continue
  fi
  sleep 1 # let start-up allocations settle before the "before" reading
  bench "idle-$t" 240 idle --tls "127.0.0.1:$port" "${CLIENT_TLS[@]}" --pid "$pid" --pid "$DOCKERD_PID" \
    -c "$IDLE_N" --concurrency 32 --settle 2 --timeout 20
  per="$(field "$RESULT" rss_per_conn_kib)"
  open_now="$(field "$RESULT" alive)"
  if [[ -n "$per" && -n "$open_now" && "$open_now" != 0 ]]; then
    VAL[$key]="${per%%,*}"
    setup="$(field "$RESULT" setup_cpu_ms)"
    EXTRA[$key]="$open_now of $IDLE_N open; dockerd grew ${per#*,} KiB per connection; proxy CPU ${setup%%,*} ms per handshake"
    MARKS[$key]="$MARK"
    STATUS[$key]=ok
  else
    STATUS[$key]=FAIL
  fi
  alive "$pid" "$t-idle" || STATUS[$key]="crashed"
  stop "$pid"
  sleep 2 # let dockerd drop the closed connections before the next "before" reading
done

# ---------------------------------------------------------------------------------------
# The report

py() { python3 -c "$1"; }
ratio() { # VALUE BASE -> "1.23×", or — when either is missing
  [[ -n "$1" && -n "$2" && "$2" != 0 ]] || { echo "—"; return; }
  py "print(f'{$1 / $2:.2f}×')"
}
okval() { if [[ "${STATUS[$1]:-}" == ok ]]; then echo "${VAL[$1]}"; fi; }
cell() { # KEY -> the number (with * when a compiler ran), the failure word, or —
  if [[ "${STATUS[$1]:-}" == ok ]]; then
    echo "$(py "v=${VAL[$1]}; print(f'{v:,.0f}' if v >= 100 else f'{v:.1f}')")${MARKS[$1]:-}"
  elif [[ -n "${STATUS[$1]:-}" ]]; then
    echo "**${STATUS[$1]}**"
  else
    echo "—"
  fi
}
verdict() { # RATIO_OR_VALUE OP LIMIT
  [[ -n "$1" && -n "$3" ]] || { echo "no number"; return; }
  py "print('met' if $1 $2 $3 else '**missed**')"
}

CPU_MODEL="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
REV="commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ -z "$(git -C "$REPO" status --porcelain 2>/dev/null | head -n 1)" ]] || REV+=" + uncommitted changes"
REV+=", binary built $DOCKGATE_BUILT"
CMD="tests/bench/run.sh"
((QUICK)) && CMD+=" --quick"

{
  echo "## dockgate benchmark"
  echo
  echo "- machine: \`nproc\` = $(nproc), ${CPU_MODEL:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
  echo "- software: dockerd $(dockerd --version | sed -n 's/^Docker version \([^,]*\),.*/\1/p'), $(openssl version | cut -d' ' -f1-2), nginx $(nginx -v 2>&1 | sed 's|.*/||'); dockgate at $REV"
  echo "- command: \`$CMD\` ($(date -u +%Y-%m-%dT%H:%MZ)). /_ping: ${WARMUP} s warm-up + ${DURATION} s per cell, best of $ROUNDS round(s). Stream: median of up to $STREAM_REPEAT × 1 GiB (no new transfer after 15 s). Idle: $IDLE_N connections."
  echo "- everything on 127.0.0.1: the load client, the proxy and the backend share the same $(nproc) cores"
  echo
  echo "| target | /_ping 1 conn (req/s) | ×dockerd TLS | p50 / p99 (µs) | /_ping $MANY conns (req/s) | ×dockerd TLS | p50 / p99 (µs) | 1 GiB stream (MB/s) | ×stunnel | idle RSS/conn (KiB) | ×HAProxy |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for t in "${TARGETS[@]}"; do
    row="| ${NAME[$t]} "
    for conns in 1 "$MANY"; do
      key="ping$conns,$t"
      row+="| $(cell "$key") | $(ratio "$(okval "$key")" "$(okval "ping$conns,dockerd-tls")") | ${EXTRA[$key]:-—} "
    done
    row+="| $(cell "stream,$t") | $(ratio "$(okval "stream,$t")" "$(okval stream,stunnel)") "
    row+="| $(cell "idle,$t") | $(ratio "$(okval "idle,$t")" "$(okval idle,haproxy)") |"
    echo "$row"
  done
  echo
  echo "Targets from issue 2:"
  echo
  echo "| target | needed | measured | |"
  echo "| --- | --- | --- | --- |"
  for conns in 1 "$MANY"; do
    need=0.75
    ((conns > 1)) && need=0.9
    g="$(okval "ping$conns,dockgate")" b="$(okval "ping$conns,dockerd-tls")" r=""
    [[ -n "$g" && -n "$b" ]] && r="$(py "print(f'{$g / $b:.2f}')")"
    echo "| keep-alive /_ping, $conns connection(s) | ≥ $need× dockerd's TLS endpoint | ${r:-—}× | $(verdict "$r" '>=' "$need") |"
  done
  g="$(okval stream,dockgate)" b="$(okval stream,stunnel)" r=""
  [[ -n "$g" && -n "$b" ]] && r="$(py "print(f'{$g / $b:.2f}')")"
  echo "| 1 GiB stream | ≥ 1.5× stunnel | ${r:-—}× | $(verdict "$r" '>=' 1.5) |"
  g="$(okval idle,dockgate)" b="$(okval idle,haproxy)"
  echo "| $IDLE_N idle mTLS connections | RSS/conn ≤ HAProxy's | ${g:-—} vs ${b:-—} KiB | $(verdict "$g" '<=' "$b") |"
  echo
  echo "Where the CPU goes (user+system time from /proc/PID/stat over the measured window):"
  echo
  echo "| target | µs CPU per /_ping ($MANY conns): proxy | dockerd | client | stream MB/s | CPU s per GiB streamed: proxy or nginx | client | idle connections |"
  echo "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |"
  for t in "${TARGETS[@]}"; do
    echo "| ${NAME[$t]} | ${CPU[ping$MANY,$t]:-— | — | —} | ${EXTRA[stream,$t]:-—} | ${CPU[stream,$t]:-— | —} | ${EXTRA[idle,$t]:-—} |"
  done
  if [[ -n "$IDLE_NOTE$BUSY_NOTE$CUT_NOTE" ]]; then
    echo
    [[ -z "$IDLE_NOTE" ]] || echo "Note: $IDLE_NOTE."
    [[ -z "$BUSY_NOTE" ]] || echo "Note: $BUSY_NOTE"
    [[ -z "$CUT_NOTE" ]] || echo "Note: $CUT_NOTE"
  fi
  if ((${#PROBLEMS[@]})); then
    echo
    echo "Problems seen (logs are in the temp dir; run with --keep to keep it):"
    echo
    for p in "${PROBLEMS[@]}"; do echo "- $p"; done
  fi
} | tee "${OUT:-/dev/null}"
