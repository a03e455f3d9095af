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
# Needs root (it starts a private dockerd and sshd). Installs what is missing with apt-get.
# Everything listens on 127.0.0.1 or in a private temp dir; everything it starts, it stops.
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

# Sizes and durations. The full run stays under ~7 minutes on a 2-core machine.
if ((QUICK)); then
  WARMUP=0.5 DURATION=2 ROUNDS=1 STREAM_REPEAT=1 STREAM_BUDGET=15 IDLE_N=2000
else
  WARMUP=1 DURATION=3 ROUNDS=2 STREAM_REPEAT=3 STREAM_BUDGET=15 IDLE_N=10000
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
  python3:python3-minimal curl:curl docker:docker.io; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
# The SSH rows use the system OpenSSH: the client at /usr/bin/ssh and a private sshd.
[[ -x /usr/bin/ssh && -x /usr/bin/ssh-keygen ]] || missing+=(openssh-client)
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
if ((${#missing[@]})); then
  say "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
    die "apt-get install ${missing[*]} failed"
fi
# The system interpreter: a python3 found first on PATH may be a version manager's shim that
# costs ~0.5 s per start, and the script starts it a few hundred times.
PYTHON=/usr/bin/python3
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"
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
MADE_RUN_SSHD=0
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
  ((MADE_RUN_SSHD == 0)) || rmdir /run/sshd 2>/dev/null || true
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
  p="$("$PYTHON" - "$USED_PORTS" <<'EOF'
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

# haproxy_config PORT_DOCKER PORT_NGINX MAXCONN [PORT_PLAIN]
# PORT_PLAIN: a plaintext TCP frontend (mode tcp: no TLS, no HTTP) to dockerd's socket, the
# least work any second hop can do; its row shows what the hop alone costs on this machine.
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
  if [[ -n "${4:-}" ]]; then
    cat <<EOF
frontend plain
  mode tcp
  bind 127.0.0.1:$4
  default_backend plain
backend plain
  mode tcp
  server p $DSOCK
EOF
  fi
}
P_HA_D="$(free_port)" P_HA_N="$(free_port)" P_HA_P="$(free_port)"
mkdir -p "$TMP/haproxy"
haproxy_config "$P_HA_D" "$P_HA_N" 1000 "$P_HA_P" >"$TMP/haproxy/haproxy.cfg"
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
handshakes_per_ip = 0          # the load comes from one address
per_user_connections = 1000000 # and one identity
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
# SSH and the local unix socket (issue 4). Two more dockgate processes (one per upstream, as
# for TLS) serve [listen.ssh] and [listen.unix]; a private system sshd relays to the same
# sockets the way DOCKER_HOST=ssh:// normally works. A server that does not come up takes
# its rows "down" (with the reason under the table); the rest of the run goes on.

PROBLEMS=()
declare -A DOWN=()
# mark_down REASON TARGET...: those targets' cells say "down"; REASON is listed once.
mark_down() {
  local why="$1" t
  shift
  for t in "$@"; do DOWN[$t]=1; done
  PROBLEMS+=("$why")
}

# The client's key, and an ssh_config that pins host keys (StrictHostKeyChecking yes, a
# known_hosts of our own) and never asks anything (BatchMode).
SSHC="$TMP/ssh"
mkdir "$SSHC" && chmod 700 "$SSHC"
ssh-keygen -q -t ed25519 -N '' -C bench@dgbench -f "$SSHC/id_ed25519" </dev/null >"$LOGS/ssh-keygen.log" 2>&1 ||
  { cat "$LOGS/ssh-keygen.log" >&2; die "ssh-keygen failed"; }
: >"$SSHC/known_hosts"
cat >"$SSHC/config" <<EOF
Host *
  StrictHostKeyChecking yes
  UserKnownHostsFile $SSHC/known_hosts
  GlobalKnownHostsFile /dev/null
  CheckHostIP no
  UpdateHostKeys no
  BatchMode yes
  IdentitiesOnly yes
  IdentityFile $SSHC/id_ed25519
  ForwardAgent no
  ForwardX11 no
  ControlMaster no
  ControlPath none
  LogLevel ERROR
EOF
# pin_host_key PORT PRIVATE_KEY: known_hosts learns the key's public half for 127.0.0.1:PORT.
pin_host_key() {
  local pub
  pub="$(ssh-keygen -y -f "$2" 2>>"$LOGS/ssh-keygen.log")" || return 1
  echo "[127.0.0.1]:$1 $pub" >>"$SSHC/known_hosts"
}
# ssh_dial USER PORT: the command the docker CLI (28.x) runs for DOCKER_HOST=ssh://USER@127.0.0.1:PORT,
# with our ssh_config.
ssh_dial() {
  echo "/usr/bin/ssh -F $SSHC/config -o ConnectTimeout=30 -T -l $1 -p $2 -- 127.0.0.1 docker system dial-stdio"
}
# ssh_dial_mux USER PORT: the same, as a channel on the ControlMaster connection to PORT
# (OpenSSH connection sharing: the master carries every such command's channel).
ssh_dial_mux() {
  echo "/usr/bin/ssh -F $SSHC/config -o ControlMaster=no -o ControlPath=$SSHC/cm-$2 -T -l $1 -p $2 -- 127.0.0.1 docker system dial-stdio"
}
# start_ssh_master USER PORT: a ControlMaster connection to PORT; its pid lands in LAST_PID
# (false when its control socket did not appear).
start_ssh_master() {
  start "ssh-master-$2" /usr/bin/ssh -F "$SSHC/config" -M -o ControlPath="$SSHC/cm-$2" -N -T -l "$1" -p "$2" 127.0.0.1
  local deadline=$((SECONDS + 15))
  until [[ -S "$SSHC/cm-$2" ]]; do
    kill -0 "$LAST_PID" 2>/dev/null && ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
# ssh_probe NAME USER PORT: one "GET /_ping" (Connection: close) through ssh_dial with -v.
# True when it was answered 200; SSH_ALGOS gets the negotiated kex and cipher.
ssh_probe() {
  local out="$LOGS/ssh-probe-$1.out" err="$LOGS/ssh-probe-$1.err" cmd
  cmd="$(ssh_dial "$2" "$3")"
  # shellcheck disable=SC2086 # the command is split into words on purpose
  printf 'GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n' |
    timeout -k 2 30 ${cmd/ -T / -T -v } >"$out" 2>"$err" || true
  SSH_ALGOS="$(sed -n 's/.*kex: algorithm: \([^ ]*\).*/kex \1/p; s/.*kex: server->client cipher: \([^ ]*\).*/\1/p' "$err" |
    head -n 2 | tac | paste -sd, - | sed 's/,/, /')"
  head -n 1 "$out" | grep -q '^HTTP/1.1 200' && return 0
  PROBE_ERR="$(grep -Ev '^(debug|OpenSSH_|Transferred:|Bytes per second:|Authenticated to)' "$err" | tail -n 3 |
    tr '\n' ' ')$(head -c 200 "$out" | tr '\r\n' '  ')"
  return 1
}

# dockgate with [listen.ssh] and [listen.unix] only, in front of one upstream socket.
# dockgate_local_config NAME SSH_PORT UNIX_PATH UPSTREAM_SOCKET: writes $TMP/dockgate/NAME.toml
dockgate_local_config() {
  cat >"$TMP/dockgate/$1.toml" <<EOF
[gateway]
upstream = "unix://$4"
audit_log = "$TMP/dockgate/$1-audit.jsonl"
workers = $(nproc)
[listen.ssh]
address = "127.0.0.1:$2"
host_key = "$1-ssh_host_ed25519_key"
max_channels_per_connection = 64
max_sessions = 100000
max_sessions_per_user = 100000
[listen.unix]
path = "$3"
mode = "0660"
[limits]
max_connections = 20000
handshakes_per_ip = 0          # the load comes from one address
per_user_connections = 1000000 # and one identity
# The ControlMaster connections wait without a channel between their cells (minutes apart):
# they must outlive the close of a connection with no channel left.
idle_timeout = "1h"
[users.bench]
groups = ["bench"]
ssh_keys = ["$(cat "$SSHC/id_ed25519.pub")"]
[users.root]
groups = ["bench"]
[roles.bench]
subjects = ["group:bench"]
allow = ["*"]
EOF
  "$DOCKGATE" check-config "$TMP/dockgate/$1.toml" >"$LOGS/dockgate-$1-check.log" 2>&1
}
P_DG_SSH_D="$(free_port)" P_DG_SSH_N="$(free_port)"
DG_UNIX_D="$TMP/dockgate/local-docker.sock" DG_UNIX_N="$TMP/dockgate/local-blob.sock"
DG_L_D_PID="" DG_L_N_PID=""
# start_dockgate_local NAME SSH_PORT UNIX_PATH UPSTREAM TARGETS...: the pid lands in LAST_PID
# ("" when it did not come up, and TARGETS are down).
start_dockgate_local() {
  local name="$1" port="$2" sock="$3" up="$4" pid
  shift 4
  LAST_PID=""
  if ! dockgate_local_config "$name" "$port" "$sock" "$up"; then
    mark_down "dockgate rejects its bench config $TMP/dockgate/$name.toml: $(tr '\n' ' ' <"$LOGS/dockgate-$name-check.log")" "$@"
    return
  fi
  start "dockgate-$name" "$DOCKGATE" --config "$TMP/dockgate/$name.toml"
  pid=$LAST_PID
  local deadline=$((SECONDS + 15))
  until [[ -S "$sock" && -f "$TMP/dockgate/$name-ssh_host_ed25519_key" ]] && listening "$port" 1 "$pid" &&
    curl -s -o /dev/null --max-time 2 --unix-socket "$sock" http://x/_ping; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      mark_down "dockgate-$name did not serve SSH on 127.0.0.1:$port and $sock within 15 s: $(tail -n 5 "$LOGS/dockgate-$name.log" | tr '\n' ' ')" "$@"
      return
    fi
    sleep 0.2
  done
  if ! pin_host_key "$port" "$TMP/dockgate/$name-ssh_host_ed25519_key"; then
    mark_down "cannot read dockgate-$name's host key: $(tail -n 2 "$LOGS/ssh-keygen.log" | tr '\n' ' ')" "$@"
    return
  fi
  LAST_PID=$pid
}
start_dockgate_local local-docker "$P_DG_SSH_D" "$DG_UNIX_D" "$DSOCK" dockgate-unix dockgate-ssh
DG_L_D_PID=$LAST_PID
start_dockgate_local local-blob "$P_DG_SSH_N" "$DG_UNIX_N" "$NSOCK" dockgate-unix dockgate-ssh
DG_L_N_PID=$LAST_PID

# The system sshd: its own host key, root by key only, our authorized_keys. One port per
# upstream; the session environment picks the socket the remote `docker system dial-stdio`
# talks to (what a remote user's DOCKER_HOST or docker context does). SHLVL=1 keeps bash from
# sourcing root's ~/.bashrc for sshd sessions (on some machines that runs pyenv, ~1 s per
# session); it changes nothing once a session is up.
SSHD_DIR="$TMP/sshd"
mkdir -p "$SSHD_DIR/docker-config"
P_SSHD_D="$(free_port)" P_SSHD_N="$(free_port)"
SSHD_PID="" FWD_PID=""
P_FWD_D="$(free_port)" P_FWD_N="$(free_port)"
ssh-keygen -q -t ed25519 -N '' -C sshd@dgbench -f "$SSHD_DIR/ssh_host_ed25519_key" </dev/null >>"$LOGS/ssh-keygen.log" 2>&1 ||
  { cat "$LOGS/ssh-keygen.log" >&2; die "ssh-keygen failed"; }
cp "$SSHC/id_ed25519.pub" "$SSHD_DIR/authorized_keys"
cat >"$SSHD_DIR/sshd_config" <<EOF
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/ssh_host_ed25519_key
PidFile $SSHD_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100
MaxSessions 100
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding local
AllowStreamLocalForwarding local
Match LocalPort $P_SSHD_D
  SetEnv SHLVL=1 DOCKER_CONFIG=$SSHD_DIR/docker-config DOCKER_HOST=unix://$DSOCK
Match LocalPort $P_SSHD_N
  SetEnv SHLVL=1 DOCKER_CONFIG=$SSHD_DIR/docker-config DOCKER_HOST=unix://$NSOCK
EOF
SSHD_VERSION="$(dpkg-query -W -f '${Version}' openssh-server 2>/dev/null | sed 's/^[0-9]*://; s/-.*//')"
if [[ ! -d /run/sshd ]]; then # sshd's privilege separation directory
  mkdir -m 0755 /run/sshd && MADE_RUN_SSHD=1
fi
if ! /usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" >"$LOGS/sshd-check.log" 2>&1; then
  mark_down "sshd rejects $SSHD_DIR/sshd_config: $(tr '\n' ' ' <"$LOGS/sshd-check.log")" sshd sshd-fwd
else
  start sshd /usr/sbin/sshd -D -e -f "$SSHD_DIR/sshd_config" -p "$P_SSHD_D" -p "$P_SSHD_N"
  SSHD_PID=$LAST_PID
  if ! listening "$P_SSHD_D" 10 "$SSHD_PID" || ! listening "$P_SSHD_N" 5 "$SSHD_PID"; then
    mark_down "sshd did not listen on 127.0.0.1:$P_SSHD_D/$P_SSHD_N: $(tail -n 5 "$LOGS/sshd.log" | tr '\n' ' ')" sshd sshd-fwd
  elif ! pin_host_key "$P_SSHD_D" "$SSHD_DIR/ssh_host_ed25519_key" ||
    ! pin_host_key "$P_SSHD_N" "$SSHD_DIR/ssh_host_ed25519_key"; then
    mark_down "cannot read sshd's host key: $(tail -n 2 "$LOGS/ssh-keygen.log" | tr '\n' ' ')" sshd sshd-fwd
  fi
fi

# Each path answers one /_ping before anything is timed; a refusal is a failure, not a skip.
declare -A ALGOS=()
SSHD_DOCKER=""
if [[ -z "${DOWN[sshd]:-}" ]]; then
  if ssh_probe sshd root "$P_SSHD_D"; then
    ALGOS[sshd]="$SSH_ALGOS"
    # Which docker CLI the sshd session runs (the first on sshd's default PATH).
    SSHD_DOCKER="$(timeout 20 /usr/bin/ssh -F "$SSHC/config" -T -l root -p "$P_SSHD_D" 127.0.0.1 \
      'command -v docker; docker --version' 2>>"$LOGS/ssh-probe-sshd.err" | paste -sd' ' - | sed 's/, build.*//')"
  else
    mark_down "ssh root@127.0.0.1:$P_SSHD_D docker system dial-stdio (system sshd) failed: $PROBE_ERR(log: $LOGS/ssh-probe-sshd.err)" sshd
  fi
  # ssh -L: one forwarder process (one SSH connection) with a local TCP port per socket.
  start ssh-forward /usr/bin/ssh -F "$SSHC/config" -N -T -o ExitOnForwardFailure=yes \
    -L "127.0.0.1:$P_FWD_D:$DSOCK" -L "127.0.0.1:$P_FWD_N:$NSOCK" -l root -p "$P_SSHD_D" 127.0.0.1
  FWD_PID=$LAST_PID
  if ! listening "$P_FWD_D" 15 "$FWD_PID" || ! listening "$P_FWD_N" 5 "$FWD_PID" ||
    ! curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$P_FWD_D/_ping"; then
    mark_down "ssh -L 127.0.0.1:$P_FWD_D:$DSOCK (system sshd) did not forward: $(tail -n 3 "$LOGS/ssh-forward.log" | tr '\n' ' ')" sshd-fwd
  fi
fi
if [[ -z "${DOWN[dockgate-ssh]:-}" ]]; then
  if ssh_probe dockgate bench "$P_DG_SSH_D"; then
    ALGOS[dockgate-ssh]="$SSH_ALGOS"
  else
    mark_down "ssh bench@127.0.0.1:$P_DG_SSH_D docker system dial-stdio (dockgate) failed: $PROBE_ERR(log: $LOGS/ssh-probe-dockgate.err)" dockgate-ssh dockgate-ssh-mux
  fi
fi
# Several channels on one connection: one ControlMaster per dockgate, every client connection
# of a cell a channel on it.
MUX_D_PID="" MUX_N_PID=""
if [[ -z "${DOWN[dockgate-ssh-mux]:-}" ]]; then
  if start_ssh_master bench "$P_DG_SSH_D" && MUX_D_PID=$LAST_PID && start_ssh_master bench "$P_DG_SSH_N"; then
    MUX_N_PID=$LAST_PID
  else
    mark_down "ssh -M (ControlMaster) to dockgate did not come up: $(tail -n 3 "$LOGS/ssh-master-"*.log | tr '\n' ' ')" dockgate-ssh-mux
  fi
fi

# ---------------------------------------------------------------------------------------
# Measurements. Results go to the associative arrays below, keyed "test,target".

declare -A VAL EXTRA CPU STATUS MARKS
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
declare -A DEAD_NOTED=()
alive() {
  kill -0 "$1" 2>/dev/null && return 0
  if [[ -z "${DEAD_NOTED[$1]:-}" ]]; then
    DEAD_NOTED[$1]=1
    PROBLEMS+=("$2 (pid $1) is no longer running; last log lines: $(tail -n 5 "$LOGS/$2.log" | tr '\n' ' ')")
  fi
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
  local rc=0
  timeout -k 5 "$limit" "$BENCH" "$@" >"$out" 2>&1 || rc=$?
  busy_mark
  MARK="${before:-$BUSY}"
  RESULT="$(grep '^RESULT' "$out" | tail -n 1 || true)"
  local errors killed=""
  errors="$(field "$RESULT" errors)"
  ((rc != 124 && rc != 137)) || killed="killed after $limit s; "
  if [[ -z "$RESULT" ]] || [[ -n "$errors" && "$errors" != 0 ]] || [[ "$RESULT" == *" failed="[1-9]* ]] || [[ -n "$killed" ]]; then
    # The client's own lines, and what an exec target's ssh said on stderr.
    PROBLEMS+=("$label: $killed$(grep -E '^(  error|  closed by|rps:|stream:|idle:|dockgate_bench)|ssh|kex_|Permission denied|Host key|Connection (closed|reset|refused)|Received disconnect|[Cc]hannel' "$out" |
      head -n 8 | tr '\n' ' ')(full output: $out)")
  fi
  # An exec target's processes that were slow to exit, or stuck, after the client closed them.
  if grep -q '^exec: ' "$out"; then
    PROBLEMS+=("$label: $(grep '^exec: ' "$out" | tr '\n' ' ')(full output: $out)")
  fi
}

TARGETS=(direct dockerd-tls haproxy-tcp stunnel haproxy dockgate)
# The rows of the second table (issue 4); "direct" is their baseline too.
LOCAL_TARGETS=(dockgate-unix sshd sshd-fwd dockgate-ssh dockgate-ssh-mux)
ALL_TARGETS=("${TARGETS[@]}" "${LOCAL_TARGETS[@]}")
declare -A NAME=(
  [direct]="backend's own unix socket, no TLS (dockerd / nginx)"
  [dockerd-tls]="dockerd \`--tlsverify\` TCP endpoint"
  [stunnel]="stunnel4 $(stunnel4 -version 2>&1 | sed -n 's/^stunnel \([0-9.]*\).*/\1/p' | head -n 1) (TLS → unix socket)"
  [haproxy-tcp]="HAProxy $(haproxy -v | sed -n 's/^HAProxy version \([0-9.]*\).*/\1/p') mode tcp, **no TLS** (a bare second hop)"
  [haproxy]="HAProxy $(haproxy -v | sed -n 's/^HAProxy version \([0-9.]*\).*/\1/p') (TLS, mode http)"
  [dockgate]="**dockgate** $("$DOCKGATE" --version 2>/dev/null | grep -o '[0-9][0-9.]*' | head -n 1)"
  [dockgate-unix]="**dockgate** \`[listen.unix]\` socket (peer uid → user root)"
  [sshd]="OpenSSH sshd ${SSHD_VERSION:-?} → \`docker system dial-stdio\` (the usual ssh://)"
  [sshd-fwd]="OpenSSH sshd ${SSHD_VERSION:-?}, \`ssh -L\` port → the socket"
  [dockgate-ssh]="**dockgate** \`[listen.ssh]\` (its own \`docker system dial-stdio\` exec)"
  [dockgate-ssh-mux]="**dockgate** \`[listen.ssh]\`, every connection a channel of one SSH connection (ControlMaster)"
  [dockgate-ssh-idle]="**dockgate** \`[listen.ssh]\`: idle SSH connections (one dial-stdio channel each)"
)
# What each row's ratio is taken against in the second table (none: it is a baseline).
declare -A BASE=([dockgate-unix]=direct [sshd-fwd]=sshd [dockgate-ssh]=sshd [dockgate-ssh-mux]=sshd)
declare -A BASE_LABEL=([direct]="the backend's socket" [sshd]="sshd + dial-stdio")
declare -A PING_ARGS=(
  [direct]="--unix $DSOCK"
  [dockerd-tls]="--tls 127.0.0.1:$P_DOCKERD_TLS ${CLIENT_TLS[*]}"
  [stunnel]="--tls 127.0.0.1:$P_ST_D ${CLIENT_TLS[*]}"
  [haproxy-tcp]="--tcp 127.0.0.1:$P_HA_P"
  [haproxy]="--tls 127.0.0.1:$P_HA_D ${CLIENT_TLS[*]}"
  [dockgate]="--tls 127.0.0.1:$P_DG_D ${CLIENT_TLS[*]}"
  [dockgate-unix]="--unix $DG_UNIX_D"
  [sshd]=""
  [sshd-fwd]="--tcp 127.0.0.1:$P_FWD_D"
  [dockgate-ssh]=""
  [dockgate-ssh-mux]=""
)
# Exec targets: one `ssh ... docker system dial-stdio` per connection, as the docker CLI does.
declare -A PING_EXEC=([sshd]="$(ssh_dial root "$P_SSHD_D")" [dockgate-ssh]="$(ssh_dial bench "$P_DG_SSH_D")"
  [dockgate-ssh-mux]="$(ssh_dial_mux bench "$P_DG_SSH_D")")
# --pid-tree: sshd forks per connection (and runs `docker system dial-stdio` under it).
declare -A PING_PIDS=(
  [direct]="--pid $DOCKERD_PID"
  [dockerd-tls]="--pid $DOCKERD_PID"
  [stunnel]="--pid $STUNNEL_PID --pid $DOCKERD_PID"
  [haproxy-tcp]="--pid $HAPROXY_PID --pid $DOCKERD_PID"
  [haproxy]="--pid $HAPROXY_PID --pid $DOCKERD_PID"
  [dockgate]="--pid $DG_D_PID --pid $DOCKERD_PID"
  [dockgate-unix]="--pid ${DG_L_D_PID:-0} --pid $DOCKERD_PID"
  [sshd]="--pid-tree ${SSHD_PID:-0} --pid $DOCKERD_PID"
  [sshd-fwd]="--pid-tree ${SSHD_PID:-0} --pid $DOCKERD_PID --client-pid ${FWD_PID:-0}"
  [dockgate-ssh]="--pid ${DG_L_D_PID:-0} --pid $DOCKERD_PID"
  [dockgate-ssh-mux]="--pid ${DG_L_D_PID:-0} --pid $DOCKERD_PID --client-pid ${MUX_D_PID:-0}"
)
# The processes a row needs, as "PID:LOGNAME ...": a dead one makes the row "down".
declare -A WATCH=(
  [stunnel]="$STUNNEL_PID:stunnel" [haproxy]="$HAPROXY_PID:haproxy" [haproxy-tcp]="$HAPROXY_PID:haproxy" [dockgate]="$DG_D_PID:dockgate-docker"
  [dockgate-unix]="${DG_L_D_PID:-0}:dockgate-local-docker" [dockgate-ssh]="${DG_L_D_PID:-0}:dockgate-local-docker"
  [dockgate-ssh-mux]="${DG_L_D_PID:-0}:dockgate-local-docker ${MUX_D_PID:-0}:ssh-master-$P_DG_SSH_D"
  [sshd]="${SSHD_PID:-0}:sshd" [sshd-fwd]="${SSHD_PID:-0}:sshd ${FWD_PID:-0}:ssh-forward"
)
# target_up TARGET KEY: false (and STATUS[KEY] = down) when the row cannot be measured.
target_up() {
  local w
  if [[ -n "${DOWN[$1]:-}" ]]; then
    STATUS[$2]="down"
    return 1
  fi
  for w in ${WATCH[$1]:-}; do
    if ! alive "${w%%:*}" "${w#*:}"; then
      STATUS[$2]="down"
      return 1
    fi
  done
}
# An SSH session is set up per connection (16 at once for the 16-connection cells): allow
# what the docker CLI allows (ConnectTimeout=30), and more time for the cell.
client_timeout() { if [[ -n "${PING_EXEC[$1]:-}" ]]; then echo 30; else echo 10; fi; }

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
    for t in "${ALL_TARGETS[@]}"; do
      key="ping$conns,$t"
      target_up "$t" "$key" || continue
      args=()
      read -ra args <<<"${PING_ARGS[$t]} ${PING_PIDS[$t]}"
      [[ -z "${PING_EXEC[$t]:-}" ]] || args+=(--exec "${PING_EXEC[$t]}")
      limit=$((30 + ${DURATION%.*} * 3))
      [[ -z "${PING_EXEC[$t]:-}" ]] || limit=$((limit + 30))
      bench "ping$conns-$t-r$round" "$limit" rps "${args[@]}" \
        -c "$conns" -d "$DURATION" --warmup "$WARMUP" --timeout "$(client_timeout "$t")"
      rps="$(field "$RESULT" rps)"
      if [[ -z "$rps" || "$rps" == 0 || "$rps" == 0.0 ]]; then
        [[ "${STATUS[$key]:-}" == ok ]] || STATUS[$key]=FAIL
        continue
      fi
      # Best of the rounds: the least disturbed run on a shared machine.
      if [[ "${STATUS[$key]:-}" != ok ]] || "$PYTHON" -c "import sys; sys.exit(0 if $rps > ${VAL[$key]} else 1)"; then
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
STREAM_TARGETS=(direct stunnel haproxy dockgate "${LOCAL_TARGETS[@]}")
# nginx runs its worker as a child of the master: --pid-tree counts the worker.
declare -A STREAM_ARGS=(
  [direct]="--unix $NSOCK --pid-tree $NGINX_PID"
  [stunnel]="--tls 127.0.0.1:$P_ST_N ${CLIENT_TLS[*]} --pid $STUNNEL_PID"
  [haproxy]="--tls 127.0.0.1:$P_HA_N ${CLIENT_TLS[*]} --pid $HAPROXY_PID"
  [dockgate]="--tls 127.0.0.1:$P_DG_N ${CLIENT_TLS[*]} --pid $DG_N_PID"
  [dockgate-unix]="--unix $DG_UNIX_N --pid ${DG_L_N_PID:-0}"
  [sshd]="--pid-tree ${SSHD_PID:-0}"
  [sshd-fwd]="--tcp 127.0.0.1:$P_FWD_N --pid-tree ${SSHD_PID:-0} --client-pid ${FWD_PID:-0}"
  [dockgate-ssh]="--pid ${DG_L_N_PID:-0}"
  [dockgate-ssh-mux]="--pid ${DG_L_N_PID:-0} --client-pid ${MUX_N_PID:-0}"
)
declare -A STREAM_EXEC=([sshd]="$(ssh_dial root "$P_SSHD_N")" [dockgate-ssh]="$(ssh_dial bench "$P_DG_SSH_N")"
  [dockgate-ssh-mux]="$(ssh_dial_mux bench "$P_DG_SSH_N")")
WATCH[dockgate]="$DG_N_PID:dockgate-blob"
WATCH[dockgate-unix]="${DG_L_N_PID:-0}:dockgate-local-blob"
WATCH[dockgate-ssh]="${DG_L_N_PID:-0}:dockgate-local-blob"
WATCH[dockgate-ssh-mux]="${DG_L_N_PID:-0}:dockgate-local-blob ${MUX_N_PID:-0}:ssh-master-$P_DG_SSH_N"
for t in "${STREAM_TARGETS[@]}"; do
  key="stream,$t"
  target_up "$t" "$key" || continue
  args=()
  read -ra args <<<"${STREAM_ARGS[$t]}"
  [[ -z "${STREAM_EXEC[$t]:-}" ]] || args+=(--exec "${STREAM_EXEC[$t]}")
  bench "stream-$t" 150 stream "${args[@]}" --path "$STREAM_PATH" \
    --expect-bytes "$STREAM_BYTES" --repeat "$STREAM_REPEAT" --budget "$STREAM_BUDGET" --max-time 20 --timeout 20
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
# record_idle KEY PID LOGNAME: the idle RESULT into the tables; then stops PID.
record_idle() {
  local key="$1" pid="$2" per open_now setup
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
  alive "$pid" "$3" || STATUS[$key]="crashed"
  stop "$pid"
  sleep 2 # let dockerd drop the closed connections before the next "before" reading
}
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
  record_idle "$key" "$pid" "$t-idle"
done

# Idle SSH connections, next to the TLS ones: a fresh dockgate serving [listen.ssh], IDLE_N
# libssh client connections (one per connection, not an ssh process each), each with one
# dial-stdio channel that answered one /_ping.
say "$IDLE_N idle SSH connections (a fresh dockgate process)"
key="idle,dockgate-ssh-idle"
P_DG_SSH_I="$(free_port)"
start_dockgate_local idle-ssh "$P_DG_SSH_I" "$TMP/dockgate/idle-ssh.sock" "$DSOCK" dockgate-ssh-idle
pid=$LAST_PID
if [[ -z "$pid" ]] || ! ssh-keygen -y -f "$TMP/dockgate/idle-ssh-ssh_host_ed25519_key" >"$SSHC/idle-ssh-host.pub"; then
  STATUS[$key]="down"
else
  sleep 1
  bench "idle-dockgate-ssh" 600 idle --ssh "127.0.0.1:$P_DG_SSH_I" --ssh-user bench --ssh-key "$SSHC/id_ed25519" \
    --ssh-host-key "$SSHC/idle-ssh-host.pub" --pid "$pid" --pid "$DOCKERD_PID" \
    -c "$IDLE_N" --concurrency 16 --settle 2 --timeout 20
  record_idle "$key" "$pid" "dockgate-idle-ssh"
fi

# ---------------------------------------------------------------------------------------
# The report

py() { "$PYTHON" -c "$1"; }
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
  echo "- command: \`$CMD\` ($(date -u +%Y-%m-%dT%H:%MZ), $((SECONDS / 60)) min $((SECONDS % 60)) s). /_ping: ${WARMUP} s warm-up + ${DURATION} s per cell, best of $ROUNDS round(s). Stream: median of up to $STREAM_REPEAT × 1 GiB (no new transfer after $STREAM_BUDGET s). Idle: $IDLE_N connections."
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
  echo "| ${NAME[dockgate-ssh-idle]} | — | — | — | — | — | — | — | — | $(cell idle,dockgate-ssh-idle) | $(ratio "$(okval idle,dockgate-ssh-idle)" "$(okval idle,haproxy)") |"
  echo
  echo "SSH and local unix-socket transports (issue 4). \`×base\` is the ratio to the row named in the last column: the backend's own socket for dockgate's unix socket, the system sshd's \`docker system dial-stdio\` (what \`DOCKER_HOST=ssh://\` normally does) for the SSH rows."
  echo
  echo "| target | /_ping 1 conn (req/s) | ×base | p50 / p99 (µs) | /_ping $MANY conns (req/s) | ×base | p50 / p99 (µs) | 1 GiB stream (MB/s) | ×base | base |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  for t in direct "${LOCAL_TARGETS[@]}"; do
    b="${BASE[$t]:-}"
    row="| ${NAME[$t]} "
    for key in "ping1,$t" "ping$MANY,$t" "stream,$t"; do
      if [[ -n "$b" ]]; then
        r="$(ratio "$(okval "$key")" "$(okval "${key%%,*},$b")")"
      else
        r="base"
      fi
      row+="| $(cell "$key") | $r "
      [[ $key == stream,* ]] || row+="| ${EXTRA[$key]:-—} "
    done
    if [[ -n "$b" ]]; then row+="| ${BASE_LABEL[$b]} |"; else row+="| (baseline) |"; fi
    echo "$row"
  done
  echo
  echo "- every SSH connection is one \`$(ssh_dial USER PORT | sed "s|$SSHC/config|CONFIG|")\` process of the load client (the command the docker CLI $(docker --version 2>/dev/null | sed -n 's/^Docker version \([^,]*\),.*/\1/p') runs), HTTP/1.1 over its stdin/stdout; a connection counts as up once a first \`/_ping\` came back. \`ssh -L\` is one forwarding ssh process (one SSH connection) for all connections of a cell."
  echo "- $(ssh -V 2>&1 | cut -d, -f1) client, ed25519 keys, host keys pinned (\`StrictHostKeyChecking yes\`). Negotiated: system sshd ${ALGOS[sshd]:-—}; dockgate ${ALGOS[dockgate-ssh]:-—}. The sshd session's docker CLI: ${SSHD_DOCKER:-—}."
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
  floor=()
  for conns in 1 "$MANY"; do
    g="$(okval "ping$conns,haproxy-tcp")" b="$(okval "ping$conns,dockerd-tls")" r="—"
    [[ -n "$g" && -n "$b" ]] && r="$(py "print(f'{$g / $b:.2f}')")"
    floor+=("$r")
  done
  echo "For scale: HAProxy as a bare TCP forwarder (no TLS, no HTTP, nothing checked) reached ${floor[0]}× (1 connection) and ${floor[1]}× ($MANY) of dockerd's TLS endpoint in this run. That is what the second hop alone costs here, before any TLS or policy work."
  echo
  echo "Where the CPU goes (user+system time from /proc/PID/stat over the measured window):"
  echo
  echo "| target | µs CPU per /_ping ($MANY conns): proxy | dockerd | client | stream MB/s | CPU s per GiB streamed: proxy or nginx | client | idle connections |"
  echo "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |"
  for t in "${ALL_TARGETS[@]}"; do
    echo "| ${NAME[$t]} | ${CPU[ping$MANY,$t]:-— | — | —} | ${EXTRA[stream,$t]:-—} | ${CPU[stream,$t]:-— | —} | ${EXTRA[idle,$t]:-—} |"
  done
  echo "| ${NAME[dockgate-ssh-idle]} | — | — | — | — | — | — | ${EXTRA[idle,dockgate-ssh-idle]:-—} |"
  echo
  echo "For the sshd rows \"proxy\" is sshd with every process under it (the per-connection sshd processes, and \`docker system dial-stdio\` for the dial-stdio row). For the SSH rows \"client\" includes the load client's ssh processes (and the \`ssh -L\` forwarder or the ControlMaster): the client side of SSH is part of the cost of the transport."
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
