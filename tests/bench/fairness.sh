#!/usr/bin/env bash
# tests/bench/fairness.sh: does one identity's flood starve another? A developer runs
# keep-alive GET /_ping on one connection (the victim) while a CI identity floods with 64
# connections and no think time. Reported: the victim's p99 latency alone, under the flood with
# the CI role's per-user rate limit on, and under the flood without it.
#
#   tests/bench/fairness.sh [--build-dir DIR] [--duration S] [--rate R]
#
# --rate: the CI role's roles.ci.limits.per_user_rate (100). Needs root (a private dockerd).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="$REPO/build"
DURATION=5
RATE=100
while (($#)); do
  case "$1" in
    --build-dir) BUILD="$(cd "$2" && pwd)"; shift ;;
    --duration) DURATION="$2"; shift ;;
    --rate) RATE="$2"; shift ;;
    *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
  shift
done
DOCKGATE="$BUILD/bin/dockgate"
BENCH="$BUILD/bin/dockgate_bench"
[[ -x "$DOCKGATE" && -x "$BENCH" ]] || { echo "build dockgate and dockgate_bench into $BUILD first" >&2; exit 2; }
(($(id -u) == 0)) || { echo "run as root: it starts a private dockerd" >&2; exit 2; }

TMP="$(mktemp -d /tmp/dockgate-fairness.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# --- PKI (openssl): a CA, the server, and two client identities.
P="$TMP/pki"
mkdir -p "$P"
cat >"$P/ext.cnf" <<'EOF'
[server]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[client]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = clientAuth
EOF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/ca-key.pem" -out "$P/ca.pem" \
  -subj "/CN=fairness CA" -days 2 2>/dev/null
leaf() { # leaf NAME SUBJECT EXT
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$1-key.pem" -out "$P/$1.csr" \
    -subj "$2" 2>/dev/null
  openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca-key.pem" -CAcreateserial -days 2 \
    -extfile "$P/ext.cnf" -extensions "$3" -out "$P/$1-cert.pem" 2>/dev/null
}
leaf server "/CN=127.0.0.1" server
leaf victim "/O=developers/CN=dana" client
leaf flood "/O=ci/CN=runner-1" client

# --- a private dockerd
D="$TMP/d"
mkdir -p "$D"
dockerd --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/pid" -H "unix://$D/docker.sock" \
  --storage-driver=vfs --iptables=false --ip-forward=false --bridge=none >"$D/log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do [[ -S "$D/docker.sock" ]] && curl -s --unix-socket "$D/docker.sock" http://d/_ping >/dev/null && break; sleep 0.2; done
[[ -S "$D/docker.sock" ]] || { echo "dockerd did not start: $(tail -n 5 "$D/log")" >&2; exit 1; }

# gateway LIMITED(0|1): start dockgate; GW_PORT, GW_PID.
gateway() {
  GW_PORT="$(free_port)"
  local cfg="$TMP/gw-$1.toml" limits=""
  ((${1})) && limits="[roles.ci.limits]
per_user_rate = $RATE
per_user_burst = $RATE"
  cat >"$cfg" <<EOF
[gateway]
upstream = "unix://$D/docker.sock"
audit_log = "$TMP/audit-$1.jsonl"
[listen.tls]
address = "127.0.0.1:$GW_PORT"
ca = "$P/ca.pem"
cert = "$P/server-cert.pem"
key = "$P/server-key.pem"
[limits]
handshakes_per_ip = 0 # both identities connect from 127.0.0.1
[roles.developers]
subjects = ["group:developers"]
allow = ["*"]
[roles.ci]
subjects = ["group:ci"]
allow = ["*"]
$limits
EOF
  "$DOCKGATE" --config "$cfg" >"$TMP/gw-$1.log" 2>&1 &
  GW_PID=$!
  PIDS+=("$GW_PID")
  for _ in $(seq 1 100); do grep -q listening "$TMP/gw-$1.log" && return 0; sleep 0.1; done
  echo "dockgate did not start: $(tail -n 5 "$TMP/gw-$1.log")" >&2
  exit 1
}
as() { # as IDENTITY ARGS...: the load client with IDENTITY's certificate
  local who="$1"
  shift
  "$BENCH" rps --tls "127.0.0.1:$GW_PORT" --ca "$P/ca.pem" --cert "$P/$who-cert.pem" --key "$P/$who-key.pem" "$@"
}
victim() { as victim -c 1 -d "$DURATION" --warmup 1 | grep '^RESULT'; }
under_flood() { # VICTIM and FLOOD: the RESULT lines of a victim run during a flood
  as flood -c 64 -d $((DURATION + 3)) --warmup 0.5 >"$TMP/flood.out" 2>&1 &
  local f=$!
  sleep 1.5
  VICTIM="$(victim)"
  wait "$f" || true
  FLOOD="$(grep '^RESULT' "$TMP/flood.out" || true)"
}
stop() { kill "$GW_PID"; wait "$GW_PID" || true; }

gateway 1
ALONE="$(victim)"
under_flood
ON="$VICTIM" FLOOD_ON="$FLOOD"
limited="$(grep -c '"decision":"limited"' "$TMP/audit-1.jsonl" || true)"
stop
gateway 0
under_flood
OFF="$VICTIM" FLOOD_OFF="$FLOOD"
stop

p_alone="$(field "$ALONE" p99_us)"
p_on="$(field "$ON" p99_us)"
p_off="$(field "$OFF" p99_us)"
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
cat <<EOF
fairness: victim keep-alive GET /_ping (1 connection) vs flood (64 connections, no think time)
  $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), dockgate $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')
  victim alone:                       p99 ${p_alone} us, $(field "$ALONE" rps) req/s
  under flood, roles.ci rate $RATE/s:  p99 ${p_on} us ($(ratio "$p_on" "$p_alone")x alone), $(field "$ON" rps) req/s; flood admitted $(field "$FLOOD_ON" rps) req/s, $limited refused with 429
  under flood, no rate limit:         p99 ${p_off} us ($(ratio "$p_off" "$p_alone")x alone), $(field "$OFF" rps) req/s; flood $(field "$FLOOD_OFF" rps) req/s
EOF
