# shellcheck shell=bash
# Helpers for dockgate's integration tests. Sourced by every script in this
# folder; each script is one ctest test (see CMakeLists.txt here).
#
# The fixture (setup_env.sh) starts ONE private dockerd, imports the test
# images and makes the PKI into the env folder; every test then starts its own
# dockgate on a fresh port with its own config, drives the stock docker CLI
# (or raw bytes over `openssl s_client`) through it, and stops everything it
# started through the exit trap, whether it passed or not.
#
# A test script is called as: SCRIPT BUILD_DIR SOURCE_DIR ENV_DIR
# (or with IT_BUILD_DIR / IT_SOURCE_DIR / IT_ENV_DIR set).

set -euo pipefail

# shellcheck disable=SC2034 # used by the scripts that source this
IT_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IT_NAME="$(basename "${0%.sh}")"

# ---------------------------------------------------------------------------
# Reporting and assertions
# ---------------------------------------------------------------------------

IT_PASSED=0

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "$IT_NAME" "$*" >&2; }

# fail MESSAGE: print the message and stop the test (the exit trap cleans up).
fail() {
  printf '\nFAIL [%s]: %s\n' "$IT_NAME" "$*" >&2
  exit 1
}

# ok MESSAGE: record one passed check.
ok() {
  IT_PASSED=$((IT_PASSED + 1))
  printf 'ok %d - %s\n' "$IT_PASSED" "$*"
}

# assert_eq EXPECTED ACTUAL MESSAGE
assert_eq() {
  if [[ "$1" != "$2" ]]; then
    fail "$3: expected [$1], got [$2]"
  fi
  ok "$3"
}

# assert_ne UNEXPECTED ACTUAL MESSAGE
assert_ne() {
  if [[ "$1" == "$2" ]]; then
    fail "$3: did not expect [$2]"
  fi
  ok "$3"
}

# assert_contains HAYSTACK NEEDLE MESSAGE
assert_contains() {
  if [[ "$1" != *"$2"* ]]; then
    fail "$3: expected to find [$2] in:
$(printf '%s' "$1" | head -c 4000)"
  fi
  ok "$3"
}

# assert_not_contains HAYSTACK NEEDLE MESSAGE
assert_not_contains() {
  if [[ "$1" == *"$2"* ]]; then
    fail "$3: did not expect [$2] in:
$(printf '%s' "$1" | head -c 4000)"
  fi
  ok "$3"
}

# assert_match HAYSTACK EXTENDED_REGEX MESSAGE
assert_match() {
  if ! [[ "$1" =~ $2 ]]; then
    fail "$3: expected to match /$2/, got:
$(printf '%s' "$1" | head -c 4000)"
  fi
  ok "$3"
}

# assert_success MESSAGE -- CMD...: run CMD, fail (with its output) unless it exits 0.
# Its stdout+stderr is left in $LAST_OUT.
assert_success() {
  local msg="$1"; shift; [[ "$1" == "--" ]] && shift
  local rc=0
  LAST_OUT="$("$@" 2>&1)" || rc=$?
  if ((rc != 0)); then
    fail "$msg: command exited $rc: $*
$(printf '%s' "$LAST_OUT" | tail -c 4000)"
  fi
  ok "$msg"
}

# assert_failure MESSAGE -- CMD...: run CMD, fail unless it exits non-zero.
# Its stdout+stderr is left in $LAST_OUT and its exit code in $LAST_RC.
assert_failure() {
  local msg="$1"; shift; [[ "$1" == "--" ]] && shift
  LAST_RC=0
  LAST_OUT="$("$@" 2>&1)" || LAST_RC=$?
  if ((LAST_RC == 0)); then
    fail "$msg: command unexpectedly succeeded: $*
$(printf '%s' "$LAST_OUT" | tail -c 4000)"
  fi
  ok "$msg (exit $LAST_RC)"
}

# ---------------------------------------------------------------------------
# Cleanup: everything a test starts is registered here and undone on exit,
# in reverse order, pass or fail.
# ---------------------------------------------------------------------------

IT_CLEANUPS=()

# on_exit CMD...: run CMD (as one string, eval'd) when the script exits.
on_exit() { IT_CLEANUPS+=("$*"); }

it_run_cleanups() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  # A test that opted into the replay check (replay_start) passes only if the check does too.
  # It runs before the cleanups: the check needs the test's files (bind sources, the config).
  if [[ -n "${REPLAY_DIR:-}" ]]; then
    if ((rc == 0)); then
      replay_finish || rc=$?
    else
      log "replay check skipped: the test itself failed"
    fi
  fi
  # On failure, the gateway's own log says what it saw.
  ((rc == 0)) || dump_gateway_log
  local i
  for ((i = ${#IT_CLEANUPS[@]} - 1; i >= 0; i--)); do
    # Stopping the gateway is a check too: a crash, a sanitizer report or an exit status
    # other than 0 after SIGTERM fails the test. Other cleanups are best effort.
    if [[ "${IT_CLEANUPS[$i]}" == stop_gateway* ]]; then
      eval "${IT_CLEANUPS[$i]}" || { ((rc != 0)) || rc=1; }
    else
      eval "${IT_CLEANUPS[$i]}" >/dev/null 2>&1 || true
    fi
  done
  if ((rc == 0)); then
    printf '%s: %d checks passed\n' "$IT_NAME" "$IT_PASSED"
  else
    printf '%s: FAILED after %d passed checks (exit %d)\n' "$IT_NAME" "$IT_PASSED" "$rc" >&2
  fi
  exit "$rc"
}

# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------

# require_root_and_tools: the suite needs root (dockerd) and real tools; a
# missing piece is a failure, never a skip.
require_root_and_tools() {
  if [[ "$(id -u)" != 0 ]]; then
    fail "integration tests must run as root (they start a private dockerd); running as uid $(id -u)"
  fi
  local t
  for t in dockerd docker containerd runc openssl python3 timeout setsid tar sha256sum; do
    command -v "$t" >/dev/null 2>&1 ||
      fail "required tool '$t' not found in PATH (install docker.io, openssl, python3, coreutils, util-linux)"
  done
}

# it_init [BUILD_DIR SOURCE_DIR ENV_DIR]: parse the arguments, load the env the
# fixture made, make a fresh work folder for this test and install the trap.
it_init() {
  IT_BUILD_DIR="${1:-${IT_BUILD_DIR:-}}"
  IT_SOURCE_DIR="${2:-${IT_SOURCE_DIR:-}}"
  IT_ENV_DIR="${3:-${IT_ENV_DIR:-}}"
  [[ -n "$IT_BUILD_DIR" && -n "$IT_SOURCE_DIR" && -n "$IT_ENV_DIR" ]] ||
    fail "usage: $0 BUILD_DIR SOURCE_DIR ENV_DIR"
  trap it_run_cleanups EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  require_root_and_tools
  DOCKGATE="$IT_BUILD_DIR/bin/dockgate"
  [[ -x "$DOCKGATE" ]] || fail "gateway binary $DOCKGATE not found: build the project first"
  [[ -f "$IT_ENV_DIR/env.sh" ]] ||
    fail "$IT_ENV_DIR/env.sh missing: the integration_setup fixture did not run or failed"
  # shellcheck disable=SC1091
  source "$IT_ENV_DIR/env.sh" # DOCKERD_DIR DOCKER_SOCK PKI_DIR
  export DOCKER_CONFIG="$IT_ENV_DIR/docker-config"
  daemon version >/dev/null 2>&1 ||
    fail "the private dockerd at $DOCKER_SOCK does not answer (see $DOCKERD_DIR/dockerd.log)"
  WORK="$IT_ENV_DIR/work/$IT_NAME"
  rm -rf "$WORK"
  mkdir -p "$WORK"
  # Containers named with this prefix are removed on exit.
  CPREFIX="it-${IT_NAME//_/-}-$$"
  on_exit remove_test_containers
  log "work dir $WORK, daemon $DOCKER_SOCK"
}

# daemon ARGS...: the docker CLI straight to the private daemon's socket (the
# ground truth the tests compare the gateway's effects against).
daemon() {
  DOCKER_HOST="unix://$DOCKER_SOCK" timeout "${DAEMON_TIMEOUT:-120}" docker "$@"
}

# daemon_has KIND NAME: 0 if the daemon has that object (KIND: container, image, volume,
# network, or any), 1 if it answers that there is no such object. Any other answer (the
# daemon down, a timeout, a CLI error) fails the test: an error is never taken for absence.
daemon_has() {
  local kind="$1" name="$2" out rc=0
  if [[ "$kind" == any ]]; then
    out="$(daemon inspect "$name" 2>&1 >/dev/null)" || rc=$?
  else
    out="$(daemon "$kind" inspect "$name" 2>&1 >/dev/null)" || rc=$?
  fi
  ((rc != 0)) || return 0
  [[ "$out" =~ [Nn]o\ such\ (container|image|volume|network|object)|not\ found ]] && return 1
  fail "cannot tell whether the daemon has $kind $name (exit $rc): $out"
}

remove_test_containers() {
  local ids
  ids="$(daemon ps -aq --filter "name=^$CPREFIX" 2>/dev/null || true)"
  if [[ -n "$ids" ]]; then
    # shellcheck disable=SC2086
    daemon rm -f $ids >/dev/null 2>&1 || true
  fi
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# wait_for_port PORT SECONDS: true once something accepts on 127.0.0.1:PORT. Probes at least
# once, so `wait_for_port PORT 0` is "does anything accept right now".
wait_for_port() {
  local port="$1" deadline=$((SECONDS + $2))
  while :; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# server_conns PORT: how many TCP connections to 127.0.0.1:PORT are open on the
# server side (ESTABLISHED or CLOSE-WAIT), read from /proc/net/tcp.
server_conns() {
  python3 - "$1" <<'EOF'
import sys
port = "%04X" % int(sys.argv[1])
n = 0
for path in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(path).read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        f = line.split()
        if f[1].endswith(":" + port) and f[3] in ("01", "08"):  # ESTABLISHED, CLOSE_WAIT
            n += 1
print(n)
EOF
}

# ---------------------------------------------------------------------------
# Private dockerd
# ---------------------------------------------------------------------------

# start_dockerd DIR [EXTRA DOCKERD ARGS...]: start a private dockerd whose
# data-root, exec-root, pid file and socket live in DIR, detached from the
# caller's stdio (ctest waits for those pipes), and wait until it answers.
start_dockerd() {
  local d="$1"; shift
  mkdir -p "$d/data" "$d/exec"
  echo '{}' >"$d/daemon.json"
  # A socket path must fit in sockaddr_un (108 bytes, containerd's included).
  if ((${#d} > 60)); then fail "dockerd dir path too long for unix sockets: $d"; fi
  setsid dockerd \
    --config-file "$d/daemon.json" \
    --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/pid" \
    -H "unix://$d/docker.sock" \
    --storage-driver=vfs --iptables=false --ip-forward=false --bridge=none \
    "$@" </dev/null >>"$d/dockerd.log" 2>&1 &
  echo $! >"$d/dockerd.launcher.pid"
  local deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if DOCKER_HOST="unix://$d/docker.sock" timeout 5 docker version >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$(cat "$d/dockerd.launcher.pid")" 2>/dev/null; then
      tail -n 40 "$d/dockerd.log" >&2 || true
      fail "dockerd exited during start-up (log: $d/dockerd.log)"
    fi
    sleep 0.5
  done
  tail -n 40 "$d/dockerd.log" >&2 || true
  fail "dockerd did not answer on unix://$d/docker.sock within 60 s"
}

# stop_dockerd DIR: stop it (SIGTERM, then SIGKILL after 45 s), its
# containerd, any mounts left under DIR.
stop_dockerd() {
  local d="$1" pid="" i
  [[ -f "$d/pid" ]] && pid="$(cat "$d/pid" 2>/dev/null || true)"
  [[ -z "$pid" && -f "$d/dockerd.launcher.pid" ]] && pid="$(cat "$d/dockerd.launcher.pid")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 450; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # dockerd stops the containerd it started; if it was killed, do it here.
  local cpid="" f="$d/exec/containerd/containerd.pid"
  [[ -f "$f" ]] && cpid="$(cat "$f" 2>/dev/null || true)"
  if [[ -n "$cpid" ]] && kill -0 "$cpid" 2>/dev/null; then
    kill -TERM "$cpid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$cpid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$cpid" 2>/dev/null || true
  fi
  # Unmount anything still mounted below DIR, deepest first.
  local m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v p="$d/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r)
}

# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------

# make_rootfs DIR: a tiny root filesystem from Debian's busybox-static.
make_rootfs() {
  local r="$1" bb
  bb="$(command -v busybox || true)"
  [[ -n "$bb" ]] || fail "busybox not found: install Debian's busybox-static"
  if ldd "$bb" >/dev/null 2>&1; then
    fail "$bb is dynamically linked: install Debian's busybox-static"
  fi
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/proc" "$r/sys" "$r/dev"
  chmod 1777 "$r/tmp"
  cp "$bb" "$r/bin/busybox"
  local a
  for a in $("$bb" --list); do
    [[ "$a" == busybox ]] || ln -sf busybox "$r/bin/$a"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  echo 'root:x:0:' >"$r/etc/group"
}

# make_busybox_image: import local/busybox:1 into the private daemon.
make_busybox_image() {
  local tmp="$1/rootfs-busybox"
  rm -rf "$tmp"
  make_rootfs "$tmp"
  tar -C "$tmp" --numeric-owner -cf - . |
    daemon import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' - local/busybox:1 >/dev/null
  rm -rf "$tmp"
  daemon run --rm local/busybox:1 echo ok | grep -qx ok || fail "local/busybox:1 does not run"
}

# make_big_image DIR: import local/big:1 (busybox + 200 MiB of random data).
make_big_image() {
  local tmp="$1/rootfs-big"
  rm -rf "$tmp"
  make_rootfs "$tmp"
  head -c $((200 * 1024 * 1024)) /dev/urandom >"$tmp/big.bin"
  tar -C "$tmp" --numeric-owner -cf - . |
    daemon import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' - local/big:1 >/dev/null
  rm -rf "$tmp"
}

# ---------------------------------------------------------------------------
# PKI (openssl only)
# ---------------------------------------------------------------------------

it_openssl_cnf() {
  cat <<'EOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# gen_key TYPE OUT: TYPE is ec, rsa3072 or ed25519.
gen_key() {
  case "$1" in
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" 2>/dev/null ;;
    rsa3072) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$2" 2>/dev/null ;;
    ed25519) openssl genpkey -algorithm ED25519 -out "$2" 2>/dev/null ;;
    *) fail "gen_key: unknown key type $1" ;;
  esac
  chmod 600 "$2"
}

# make_ca DIR CN: DIR/ca.pem + DIR/ca-key.pem (EC P-256).
make_ca() {
  local d="$1"
  mkdir -p "$d"
  it_openssl_cnf >"$d/openssl.cnf"
  gen_key ec "$d/ca-key.pem"
  openssl req -new -x509 -config "$d/openssl.cnf" -extensions v3_ca -key "$d/ca-key.pem" \
    -subj "/CN=$2" -days 30 -sha256 -out "$d/ca.pem"
}

# sign_cert CADIR CSR OUT EXTENSIONS
sign_cert() {
  openssl x509 -req -in "$2" -CA "$1/ca.pem" -CAkey "$1/ca-key.pem" \
    -set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 \
    -extfile "$1/openssl.cnf" -extensions "$4" -out "$3" 2>/dev/null
}

# make_client CADIR OUTDIR KEYTYPE SUBJECT [TRUSTED_CA]: a docker CLI cert dir
# (ca.pem cert.pem key.pem). ca.pem is TRUSTED_CA (default CADIR/ca.pem): the
# CA the client uses to verify the server.
make_client() {
  local ca="$1" out="$2" kt="$3" subj="$4" trust="${5:-$1/ca.pem}"
  mkdir -p "$out"
  gen_key "$kt" "$out/key.pem"
  openssl req -new -config "$ca/openssl.cnf" -key "$out/key.pem" -subj "$subj" -out "$out/csr.pem"
  sign_cert "$ca" "$out/csr.pem" "$out/cert.pem" v3_client
  cp "$trust" "$out/ca.pem"
  rm -f "$out/csr.pem"
}

# make_expired_client CADIR OUTDIR SUBJECT: a cert valid only in January 2020.
make_expired_client() { make_dated_client "$1" "$2" "$3" 20200101000000Z 20200201000000Z; }

# make_dated_client CADIR OUTDIR SUBJECT NOT_BEFORE NOT_AFTER: a client cert valid between the
# two times (YYYYMMDDHHMMSSZ, UTC).
make_dated_client() {
  local ca="$1" out="$2" subj="$3" from="$4" to="$5"
  mkdir -p "$out"
  gen_key ec "$out/key.pem"
  openssl req -new -config "$ca/openssl.cnf" -key "$out/key.pem" -subj "$subj" -out "$out/csr.pem"
  if openssl x509 -help 2>&1 | grep -q -- '-not_before'; then
    openssl x509 -req -in "$out/csr.pem" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" \
      -set_serial "0x$(openssl rand -hex 16)" -sha256 \
      -not_before "$from" -not_after "$to" \
      -extfile "$ca/openssl.cnf" -extensions v3_client -out "$out/cert.pem" 2>/dev/null
  else
    # OpenSSL < 3.4: `openssl ca` takes explicit start and end dates.
    local db="$ca/ca-db"
    mkdir -p "$db/new"
    : >"$db/index.txt"
    openssl rand -hex 16 >"$db/serial"
    cat >"$db/ca.cnf" <<EOF
[ ca ]
default_ca = it_ca
[ it_ca ]
database = $db/index.txt
new_certs_dir = $db/new
serial = $db/serial
certificate = $ca/ca.pem
private_key = $ca/ca-key.pem
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
preserve = yes
[ policy_any ]
commonName = supplied
organizationName = optional
EOF
    openssl ca -batch -config "$db/ca.cnf" -in "$out/csr.pem" -out "$out/cert.pem" -notext \
      -startdate "$from" -enddate "$to" \
      -extfile "$ca/openssl.cnf" -extensions v3_client 2>/dev/null
  fi
  cp "$ca/ca.pem" "$out/ca.pem"
  rm -f "$out/csr.pem"
}

# make_pki DIR: the whole test PKI.
#   DIR/ca/{ca.pem,ca-key.pem}                     the gateway's client CA
#   DIR/server/{ca.pem,server-cert.pem,server-key.pem}   127.0.0.1 / localhost
#   DIR/clients/NAME/{ca.pem,cert.pem,key.pem}     docker CLI cert dirs:
#     alice   O=developers  ECDSA P-256
#     bob     O=developers  RSA-3072
#     erin    O=developers  Ed25519
#     carol   (no O)        role readonly via user:carol
#     dave    (no O)        no role at all
#     expired O=developers  CN=alice, valid only in January 2020
#     otherca O=developers  CN=alice, issued by an unrelated CA
make_pki() {
  local d="$1"
  rm -rf "$d"
  mkdir -p "$d/server" "$d/clients"
  make_ca "$d/ca" "dockgate-it CA"
  make_ca "$d/other-ca" "unrelated CA"
  gen_key ec "$d/server/server-key.pem"
  openssl req -new -config "$d/ca/openssl.cnf" -key "$d/server/server-key.pem" \
    -subj "/CN=localhost" -out "$d/server/server.csr"
  sign_cert "$d/ca" "$d/server/server.csr" "$d/server/server-cert.pem" v3_server
  cp "$d/ca/ca.pem" "$d/server/ca.pem"
  rm -f "$d/server/server.csr"
  make_client "$d/ca" "$d/clients/alice" ec "/O=developers/CN=alice"
  make_client "$d/ca" "$d/clients/bob" rsa3072 "/O=developers/CN=bob"
  make_client "$d/ca" "$d/clients/erin" ed25519 "/O=developers/CN=erin"
  make_client "$d/ca" "$d/clients/carol" ec "/CN=carol"
  make_client "$d/ca" "$d/clients/dave" ec "/CN=dave"
  make_expired_client "$d/ca" "$d/clients/expired" "/O=developers/CN=alice"
  make_client "$d/other-ca" "$d/clients/otherca" ec "/O=developers/CN=alice" "$d/ca/ca.pem"
  # Sanity: the PKI is what the tests believe it is.
  local n
  for n in alice bob erin carol dave; do
    openssl verify -CAfile "$d/ca/ca.pem" "$d/clients/$n/cert.pem" >/dev/null ||
      fail "make_pki: $n's certificate does not verify"
  done
  if openssl verify -CAfile "$d/ca/ca.pem" "$d/clients/expired/cert.pem" >/dev/null 2>&1; then
    fail "make_pki: the expired certificate verifies"
  fi
  if openssl verify -CAfile "$d/ca/ca.pem" "$d/clients/otherca/cert.pem" >/dev/null 2>&1; then
    fail "make_pki: the other CA's certificate verifies against the test CA"
  fi
}

# client_dir NAME|DIR: the cert dir for a client name (or the dir itself).
client_dir() {
  if [[ -d "$1" ]]; then echo "$1"; else echo "$PKI_DIR/clients/$1"; fi
}

# ---------------------------------------------------------------------------
# Gateway
# ---------------------------------------------------------------------------

# write_gateway_head DIR PORT [CA_DIR]: DIR/dockgate.toml with only [gateway] (the test
# daemon, audit.jsonl) and [listen.tls] on PORT; append the roles to it. The TLS files are the
# test PKI's server files copied next to it or, with CA_DIR, a dockgate-certs folder's ca.pem,
# crl.pem and server files used in place.
write_gateway_head() {
  local dir="$1" port="$2" ca_dir="${3:-}" tls
  mkdir -p "$dir"
  if [[ -n "$ca_dir" ]]; then
    tls="ca = \"$ca_dir/ca.pem\"
cert = \"$ca_dir/server-cert.pem\"
key = \"$ca_dir/server-key.pem\"
crl = \"$ca_dir/crl.pem\""
  else
    cp "$PKI_DIR/server/ca.pem" "$PKI_DIR/server/server-cert.pem" "$PKI_DIR/server/server-key.pem" "$dir/"
    tls='ca = "ca.pem"
cert = "server-cert.pem"
key = "server-key.pem"'
  fi
  cat >"$dir/dockgate.toml" <<EOF
[gateway]
upstream = "unix://$DOCKER_SOCK"
audit_log = "audit.jsonl"
workers = 2

[listen.tls]
address = "127.0.0.1:$port"
$tls
EOF
}

# use_certs_tool: CERTS (the dockgate-certs binary), CA (its state folder, WORK/pki) and PASS
# (a passphrase file for the CA key). Then `certs ARGS` runs the tool on CA and
# `signed COMMAND ARGS` runs a command that needs the CA key.
use_certs_tool() {
  CERTS="$IT_BUILD_DIR/bin/dockgate-certs"
  [[ -x "$CERTS" ]] || fail "$CERTS not found: build the dockgate-certs target first"
  CA="$WORK/pki"
  PASS="$WORK/ca.pass"
  (umask 077 && echo "integration test passphrase" >"$PASS")
}
certs() { "$CERTS" --dir "$CA" "$@"; }
signed() { local c="$1"; shift; "$CERTS" "$c" --dir "$CA" --passphrase-file "$PASS" "$@"; }

# write_gateway_config DIR PORT [EXTRA_TOML]: DIR/dockgate.toml for the issue's
# example policy, with the server cert files copied next to it and referred to
# by relative paths (as are the audit log).
write_gateway_config() {
  local dir="$1" port="$2" extra="${3:-}"
  write_gateway_head "$dir" "$port"
  cat >>"$dir/dockgate.toml" <<EOF

[limits]
max_connections = 10000
header_bytes = 65536
handshake_timeout = "10s"
idle_timeout = "120s"

[users.alice]
groups = ["developers"]

[roles.readonly]
subjects = ["group:auditors", "user:carol"]
allow = ["SystemPing*", "SystemVersion", "SystemInfo", "ContainerList", "ContainerInspect", "ImageList"]

[roles.operator]
subjects = ["group:developers"]
allow = ["*"]
deny = ["Plugin*", "Swarm*"]
$extra
EOF
}

# start_gateway CONFIG: start dockgate in the background on the port in
# CONFIG's [listen.tls].address, wait until it is ready, register its stop.
# Sets GW_PID, GW_PORT, GW_STDERR, GW_AUDIT (the audit file next to CONFIG).
start_gateway() {
  local cfg="$1"
  GW_PORT="$(sed -n 's/^address = "127\.0\.0\.1:\([0-9]*\)"$/\1/p' "$cfg" | head -n1)"
  [[ -n "$GW_PORT" ]] || fail "start_gateway: no 127.0.0.1:PORT address in $cfg"
  GW_STDERR="$(dirname "$cfg")/dockgate.stderr"
  GW_AUDIT="$(dirname "$cfg")/audit.jsonl"
  [[ -z "${REPLAY_DIR:-}" ]] || replay_attach "$cfg"
  "$DOCKGATE" --config "$cfg" </dev/null >"$(dirname "$cfg")/dockgate.stdout" 2>"$GW_STDERR" &
  GW_PID=$!
  # Recorded so that the cleanup fixture can stop a gateway left behind by a
  # test that ctest killed on timeout (the exit trap does not run on SIGKILL).
  mkdir -p "$IT_ENV_DIR/pids"
  echo "$GW_PID" >"$IT_ENV_DIR/pids/dockgate.$GW_PID"
  on_exit stop_gateway
  local deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$GW_PID" 2>/dev/null; then
      local rc=0
      wait "$GW_PID" || rc=$?
      GW_PID=""
      dump_gateway_log
      fail "dockgate exited (status $rc) during start-up with config $cfg"
    fi
    if grep -q listening "$GW_STDERR" 2>/dev/null && wait_for_port "$GW_PORT" 1; then
      log "dockgate pid $GW_PID listening on 127.0.0.1:$GW_PORT"
      return 0
    fi
    sleep 0.1
  done
  dump_gateway_log
  fail "dockgate did not log 'listening' / accept on port $GW_PORT within 20 s"
}

dump_gateway_log() {
  if [[ -n "${GW_STDERR:-}" && -f "$GW_STDERR" ]]; then
    echo "----- dockgate stderr ($GW_STDERR, last 60 lines) -----" >&2
    tail -n 60 "$GW_STDERR" >&2 || true
    echo "-----" >&2
  fi
}

# stop_gateway: SIGTERM, wait up to 25 s (dockgate gives in-flight requests
# up to 15 s), then SIGKILL. Returns 1 (and says so) if SIGTERM did not stop
# it in time.
# A gateway that had already exited (a crash), exits with a status other than 0, or whose
# stderr holds a sanitizer report makes it return 1 with the reason on stderr.
stop_gateway() {
  [[ -n "${GW_PID:-}" ]] || return 0
  local pid="$GW_PID" i rc=0
  GW_PID=""
  if ! kill -TERM "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || rc=$?
    rm -f "$IT_ENV_DIR/pids/dockgate.$pid"
    echo "dockgate (pid $pid) had already exited (status $rc) before it was asked to stop" >&2
    dump_gateway_log
    return 1
  fi
  for ((i = 0; i < 250; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$IT_ENV_DIR/pids/dockgate.$pid"
    echo "dockgate (pid $pid) ignored SIGTERM for 25 s; killed" >&2
    return 1
  fi
  wait "$pid" 2>/dev/null || rc=$?
  rm -f "$IT_ENV_DIR/pids/dockgate.$pid"
  [[ -z "${REPLAY_DIR:-}" ]] || replay_note_stop
  if ((rc != 0)); then
    echo "dockgate (pid $pid) exited with status $rc after SIGTERM" >&2
    dump_gateway_log
    return 1
  fi
  check_sanitizer_log "$GW_STDERR" || return 1
  return 0
}

# wait_gateway_exit SECONDS WHAT: after a signal sent to it, wait for dockgate (GW_PID) to exit;
# fails if it is still running after SECONDS. Sets GW_RC to its exit status and forgets GW_PID.
wait_gateway_exit() {
  local pid="$GW_PID" deadline=$((SECONDS + $1))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "the gateway was still running $1 s after $2"
    sleep 0.1
  done
  GW_RC=0
  wait "$pid" || GW_RC=$?
  GW_PID=""
  rm -f "$IT_ENV_DIR/pids/dockgate.$pid"
}

# mark_log: later wait_log calls look only at what the gateway logs from here on.
LOG_FROM=1
# --- connections of a running gateway (TLS client folders) ---------------------------------
# metric NAME: the value of one series of the gateway's /metrics (ADMIN is the admin port).
metric() { curl -s "http://127.0.0.1:$ADMIN/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# works CERTDIR WHAT / refused CERTDIR WHAT: docker ps through the gateway lists / is refused.
works() { assert_success "$2" -- gw_docker "$1" ps; }
refused() {
  assert_failure "$2" -- gw_docker "$1" ps
  assert_not_contains "$LAST_OUT" "CONTAINER ID" "$2: no listing"
}
# open_stream NAME CERTDIR: a `docker events` stream in the background (NAME_PID); whether it
# is live is checked with probe + wait_for_line (its audit line only comes when it ends).
open_stream() {
  local name="$1" dir="$2"
  GW_TIMEOUT=600 gw_docker_bg "$WORK/$name.out" "$WORK/$name.err" "$dir" events --format '{{.Action}}'
  eval "${name}_PID=$BG_PID"
}
stream_alive() { kill -0 "$1" 2>/dev/null; }
# probe: create and remove a container directly on the daemon; every open stream must show it.
probe() {
  local c
  c="$(daemon create local/busybox:1 true)"
  daemon rm "$c" >/dev/null
}
wait_stream_gone() { # PID SECONDS
  local deadline=$((SECONDS + $2))
  while stream_alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
wait_for_line() { # FILE TEXT SECONDS
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# seccomp_says TEXT WHAT: the running gateway's log says its seccomp filter allows TEXT. A
# sanitizer build runs without the filter (the sanitizers' reports need ptrace and processes):
# there the log must say that instead; the Release run checks the filter itself.
seccomp_says() {
  if grep -q __asan_init "$DOCKGATE"; then
    assert_contains "$(cat "$GW_STDERR")" "seccomp is off in a sanitizer build" "$2 (sanitizer build: no filter, and the log says so)"
  else
    assert_contains "$(grep 'seccomp: ' "$GW_STDERR")" "$1" "$2"
  fi
}

mark_log() { LOG_FROM=$(($(wc -l <"$GW_STDERR") + 1)); }
# wait_log REGEX WHAT: wait up to 15 s for the gateway to log a line matching REGEX (since the
# last mark_log); fails naming WHAT otherwise.
wait_log() {
  local deadline=$((SECONDS + 15))
  until tail -n "+$LOG_FROM" "$GW_STDERR" | grep -qE "$1"; do
    ((SECONDS < deadline)) || { dump_gateway_log; fail "$2: no log line /$1/"; }
    sleep 0.2
  done
}

# check_sanitizer_log FILE: fails (returns 1, printing the report) when FILE holds an
# AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report.
check_sanitizer_log() {
  [[ -n "${1:-}" && -f "$1" ]] || return 0
  if grep -qE '(ERROR|WARNING): (Address|Leak|Thread|Memory)Sanitizer|runtime error: ' "$1"; then
    echo "sanitizer report in $1:" >&2
    grep -m1 -A40 -E '(ERROR|WARNING): (Address|Leak|Thread|Memory)Sanitizer|runtime error: ' "$1" >&2
    return 1
  fi
  return 0
}

# gateway_up NAME [EXTRA_TOML]: write a config in $WORK/NAME on a fresh port
# and start dockgate with it.
gateway_up() {
  local dir="$WORK/${1:-gw}"
  write_gateway_config "$dir" "$(free_port)" "${2:-}"
  start_gateway "$dir/dockgate.toml"
}

# gw_docker CLIENT ARGS...: the stock docker CLI through the gateway with
# CLIENT's cert dir (a name under the PKI, or a dir). GW_TIMEOUT bounds it.
gw_docker() {
  local cd
  cd="$(client_dir "$1")"; shift
  if [[ -n "${REPLAY_DIR:-}" ]]; then
    local port
    port="$(replay_port "$cd")" || return 1
    DOCKER_HOST="tcp://127.0.0.1:$port" timeout "${GW_TIMEOUT:-60}" docker "$@"
    return
  fi
  DOCKER_HOST="tcp://127.0.0.1:$GW_PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$cd" \
    timeout "${GW_TIMEOUT:-60}" docker "$@"
}

# gw_docker_bg OUT ERR CLIENT ARGS...: gw_docker in the background, stdout to
# OUT, stderr to ERR. Sets BG_PID (the `timeout` process: killing it stops the
# CLI too); the exit trap kills it.
gw_docker_bg() {
  local out="$1" err="$2" cd
  cd="$(client_dir "$3")"; shift 3
  if [[ -n "${REPLAY_DIR:-}" ]]; then
    local port
    port="$(replay_port "$cd")" || fail "gw_docker_bg: no replay recorder port for $cd"
    DOCKER_HOST="tcp://127.0.0.1:$port" \
      timeout "${GW_TIMEOUT:-60}" docker "$@" >"$out" 2>"$err" </dev/null &
  else
    DOCKER_HOST="tcp://127.0.0.1:$GW_PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$cd" \
      timeout "${GW_TIMEOUT:-60}" docker "$@" >"$out" 2>"$err" </dev/null &
  fi
  BG_PID=$!
  on_exit "kill $BG_PID"
}

# ---------------------------------------------------------------------------
# Replay: the gateway and `dockgate explain` decide identically (tests/security/replay)
# ---------------------------------------------------------------------------
# A test that calls replay_start right after it_init runs its gateway between two recording
# proxies (replay/recorder.py): gw_docker, gw_docker_bg and raw_request* reach the gateway
# through the client recorder, which holds the clients' certificates and makes the TLS
# connections, and start_gateway points the config's gateway.upstream at the upstream recorder,
# which passes everything on to the daemon. Once the test has passed, its exit path
# (it_run_cleanups -> replay_finish) stops the gateway and the recorder and runs
# replay/check.py: every recorded request is replayed through `dockgate explain` with the
# daemon look-ups the gateway made for it, and any difference fails the test.

REPLAY_DIR=""

# replay_start: opt this test into the replay check (call it after it_init).
replay_start() {
  REPLAY_LIB="$IT_LIB_DIR/../security/replay"
  [[ -f "$REPLAY_LIB/recorder.py" ]] || fail "replay: $REPLAY_LIB/recorder.py not found"
  REPLAY_DIR="$WORK/replay"
  rm -rf "$REPLAY_DIR"
  mkdir -p "$REPLAY_DIR"
  # The upstream recorder's socket needs a short path (sockaddr_un holds 108 bytes).
  REPLAY_SOCK_DIR="$(mktemp -d /tmp/dockgate-replay.XXXXXX)"
  on_exit "rm -rf '$REPLAY_SOCK_DIR'"
  REPLAY_STARTED=""
  REPLAY_PID=""
  REPLAY_GEN=0
  log "replay: recording in $REPLAY_DIR; checked against dockgate explain when the test passes"
}

# replay_attach CONFIG: called by start_gateway before the gateway starts. Starts the recorder
# (once per test: it needs the gateway's port), redirects CONFIG's upstream to it, and records
# this gateway run: a copy of CONFIG for explain (next to it, so that relative paths resolve
# the same) and where its audit records begin.
replay_attach() {
  local cfg="$1" upstream sock="$REPLAY_SOCK_DIR/daemon.sock"
  upstream="$(sed -n 's|^upstream = "unix://\(.*\)"$|\1|p' "$cfg" | head -n1)"
  [[ -n "$upstream" ]] || fail "replay: $cfg has no 'upstream = \"unix://...\"' line to redirect"
  if [[ -z "$REPLAY_STARTED" ]]; then
    REPLAY_STARTED=1
    REPLAY_DAEMON="$upstream"
    REPLAY_GW_PORT="$GW_PORT"
    local clients=() d
    for d in "$PKI_DIR"/clients/*/; do
      d="${d%/}"
      clients+=(--client "$(basename "$d")=$d")
    done
    clients+=(--client "none=-")
    python3 "$REPLAY_LIB/recorder.py" --log-dir "$REPLAY_DIR" --upstream-listen "$sock" \
      --daemon "$REPLAY_DAEMON" --gateway-port "$GW_PORT" --ca "$PKI_DIR/ca/ca.pem" \
      "${clients[@]}" </dev/null >"$REPLAY_DIR/recorder.log" 2>&1 &
    REPLAY_PID=$!
    # For the cleanup fixture, should ctest kill the test before its exit trap runs.
    mkdir -p "$IT_ENV_DIR/pids"
    echo "$REPLAY_PID" >"$IT_ENV_DIR/pids/replay.$REPLAY_PID"
    on_exit replay_stop_recorder
    local deadline=$((SECONDS + 10))
    until [[ -f "$REPLAY_DIR/ports.env" && -S "$sock" ]]; do
      kill -0 "$REPLAY_PID" 2>/dev/null ||
        fail "replay: the recorder exited during start-up: $(cat "$REPLAY_DIR/recorder.log")"
      ((SECONDS < deadline)) || fail "replay: the recorder did not start within 10 s"
      sleep 0.1
    done
    log "replay: recorder pid $REPLAY_PID in front of 127.0.0.1:$GW_PORT and $REPLAY_DAEMON"
  elif [[ "$GW_PORT" != "$REPLAY_GW_PORT" ]]; then
    fail "replay: one gateway port per test (the recorder serves 127.0.0.1:$REPLAY_GW_PORT, $cfg uses $GW_PORT)"
  elif [[ "$upstream" != "$sock" && "$upstream" != "$REPLAY_DAEMON" ]]; then
    fail "replay: $cfg names another daemon ($upstream) than the recorder forwards to ($REPLAY_DAEMON)"
  fi
  sed -i "s|^upstream = \"unix://.*\"\$|upstream = \"unix://$sock\"|" "$cfg"
  grep -qxF "upstream = \"unix://$sock\"" "$cfg" || fail "replay: could not redirect the upstream in $cfg"
  REPLAY_GEN=$((REPLAY_GEN + 1))
  REPLAY_CFG="$cfg"
  local snap from=0
  snap="$(dirname "$cfg")/replay-gen$REPLAY_GEN.toml"
  sed "s|^upstream = \"unix://.*\"\$|upstream = \"unix://$REPLAY_DAEMON\"|" "$cfg" >"$snap"
  [[ -f "$GW_AUDIT" ]] && from="$(wc -l <"$GW_AUDIT")"
  printf '{"event":"start","gen":%d,"config":"%s","snapshot":"%s","audit":"%s","audit_from":%d,"config_sha256":"%s"}\n' \
    "$REPLAY_GEN" "$cfg" "$snap" "$GW_AUDIT" "$from" "$(sha256sum <"$cfg" | cut -d' ' -f1)" \
    >>"$REPLAY_DIR/gateways.jsonl"
}

# replay_note_stop: called by stop_gateway once the gateway has exited cleanly. check.py
# refuses a run whose config changed while the gateway ran (explain would judge by another).
replay_note_stop() {
  ((REPLAY_GEN > 0)) || return 0
  printf '{"event":"stop","gen":%d,"config_sha256":"%s"}\n' \
    "$REPLAY_GEN" "$(sha256sum <"$REPLAY_CFG" | cut -d' ' -f1)" >>"$REPLAY_DIR/gateways.jsonl"
}

# replay_port NAME|DIR: print the client recorder's port for a client of the test PKI (or
# "none", no client certificate); fails (status 1, a message on stderr) for anything else.
replay_port() {
  local name="$1" port
  if [[ "$name" != none ]]; then
    name="$(basename "$1")"
    if [[ ! -d "$PKI_DIR/clients/$name" || "$(cd "$1" && pwd -P)" != "$(cd "$PKI_DIR/clients/$name" && pwd -P)" ]]; then
      echo "replay: $1 is not a client of $PKI_DIR/clients: the recorder cannot present it" >&2
      return 1
    fi
  fi
  port="$(awk -v n="$name" '$1 == n { print $2 }' "$REPLAY_DIR/ports.env" 2>/dev/null)"
  if [[ -z "$port" ]]; then
    echo "replay: no recorder port for client $name (the recorder starts with the gateway)" >&2
    return 1
  fi
  echo "$port"
}

# replay_stop_recorder: SIGTERM (it logs what is still open and exits), SIGKILL after 10 s.
replay_stop_recorder() {
  [[ -n "${REPLAY_PID:-}" ]] || return 0
  local pid="$REPLAY_PID" i rc=0
  REPLAY_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    echo "replay: the recorder (pid $pid) ignored SIGTERM for 10 s; killed" >&2
    rc=1
  fi
  wait "$pid" 2>/dev/null || rc=1
  rm -f "$IT_ENV_DIR/pids/replay.$pid"
  return "$rc"
}

# replay_finish: the check, from it_run_cleanups when the test has passed. Must not exit (it
# runs inside the exit trap): returns non-zero when the check fails.
replay_finish() {
  local rc=0
  # The audit log is complete once the gateway has stopped; the recorder's logs once it has.
  stop_gateway || true
  if ! replay_stop_recorder; then
    echo "replay: the recorder did not stop cleanly (its log: $REPLAY_DIR/recorder.log)" >&2
    return 1
  fi
  python3 "$REPLAY_LIB/check.py" --dir "$REPLAY_DIR" --dockgate "$DOCKGATE" --pki "$PKI_DIR" || rc=$?
  return "$rc"
}

# raw_request_file CLIENT FILE [OUT]: send FILE's bytes through a TLS
# connection (openssl s_client, client cert of CLIENT, or no cert if CLIENT is
# "none") and read until the server closes. Sets RAW_OUT (response file),
# RAW_ERR, RAW_RC (s_client's exit code; 124 = the server did not close within
# RAW_TIMEOUT seconds), RAW_CLOSED (1 if the server closed the connection).
RAW_N=0
raw_request_file() {
  local client="$1" in="$2" cd
  if [[ -n "${3:-}" ]]; then
    RAW_OUT="$3"
  else
    RAW_N=$((RAW_N + 1))
    RAW_OUT="$WORK/raw.$RAW_N.out"
  fi
  RAW_ERR="$RAW_OUT.err"
  if [[ -n "${REPLAY_DIR:-}" ]]; then
    # Plain TCP to the client recorder, which makes the TLS connection with CLIENT's cert.
    [[ -z "${RAW_TLS:-}" ]] || fail "raw_request_file: RAW_TLS=$RAW_TLS cannot be honoured through the replay recorder"
    local port
    [[ "$client" == none ]] || client="$(client_dir "$client")"
    port="$(replay_port "$client")" || fail "raw_request_file: no replay recorder port for $client"
    RAW_RC=0
    timeout "${RAW_TIMEOUT:-10}" python3 "$REPLAY_LIB/send.py" "$port" <"$in" >"$RAW_OUT" 2>"$RAW_ERR" || RAW_RC=$?
    # shellcheck disable=SC2034 # read by the tests
    if ((RAW_RC == 124)); then RAW_CLOSED=0; else RAW_CLOSED=1; fi
    return 0
  fi
  # The client verifies the gateway (RAW_CAFILE, default the test CA) and gives up on a
  # certificate it does not trust, so a refusal seen here is never the client's own.
  local args=(-quiet -connect "127.0.0.1:$GW_PORT" -servername localhost
    -CAfile "${RAW_CAFILE:-$PKI_DIR/ca/ca.pem}" -verify_return_error)
  # RAW_TLS: an extra s_client option such as -tls1_2 or -tls1_3.
  [[ -n "${RAW_TLS:-}" ]] && args+=("$RAW_TLS")
  if [[ "$client" != none ]]; then
    cd="$(client_dir "$client")"
    args+=(-cert "$cd/cert.pem" -key "$cd/key.pem")
  fi
  RAW_RC=0
  timeout "${RAW_TIMEOUT:-10}" openssl s_client "${args[@]}" <"$in" >"$RAW_OUT" 2>"$RAW_ERR" || RAW_RC=$?
  # shellcheck disable=SC2034 # read by the tests
  if ((RAW_RC == 124)); then RAW_CLOSED=0; else RAW_CLOSED=1; fi
}

# server_refuses_tls CLIENT WHAT ALERT_REGEX: the gateway itself refuses CLIENT's certificate.
# Over TLS 1.3 and 1.2, openssl s_client as CLIENT ("none" = no certificate), trusting
# RAW_CAFILE (default the test CA) and aborting on a gateway certificate it does not trust:
#  - sending nothing: the gateway ends the handshake with a TLS alert matching ALERT_REGEX
#    and closes, and the client verified the gateway's certificate;
#  - sending GET /_ping: no HTTP answer at all, and the connection is closed.
# (With TLS 1.3 the client's handshake ends before the server has judged its certificate, so
# a client that writes at once may see a reset instead of the alert: hence the alert is
# checked on a silent connection.)
server_refuses_tls() {
  local who="$1" what="$2" alert="$3" v
  : >"$WORK/empty.in"
  for v in -tls1_3 -tls1_2; do
    RAW_TLS="$v" raw_request_file "$who" "$WORK/empty.in"
    assert_eq 1 "$RAW_CLOSED" "$what (s_client ${v#-}, silent): the gateway closed the connection"
    assert_not_contains "$(cat "$RAW_ERR")" "verify error" \
      "$what (s_client ${v#-}): the client trusted the gateway's certificate"
    assert_match "$(cat "$RAW_ERR")" "$alert" "$what (s_client ${v#-}, silent): TLS alert /$alert/ from the gateway"
    RAW_TLS="$v" raw_request "$who" 'GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n'
    assert_not_contains "$(cat "$RAW_OUT")" "HTTP/1." "$what (s_client ${v#-}, GET /_ping): no HTTP response at all"
    assert_eq 1 "$RAW_CLOSED" "$what (s_client ${v#-}, GET /_ping): the gateway closed the connection"
  done
}

# raw_request CLIENT 'BYTES': as raw_request_file; BYTES go through printf %b,
# so write \r\n for CRLF.
raw_request() {
  RAW_N=$((RAW_N + 1))
  local in="$WORK/raw.$RAW_N.in"
  printf '%b' "$2" >"$in"
  raw_request_file "$1" "$in" "$WORK/raw.$RAW_N.out"
}

# raw_status [FILE]: the status code of the first response in RAW_OUT.
raw_status() {
  head -n1 "${1:-$RAW_OUT}" | sed -n 's/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p' | tr -d '\r'
}

# raw_statuses [FILE]: the status codes of all the responses in RAW_OUT,
# space separated, parsed with HTTP/1.1 framing (Content-Length, chunked, or
# to the end); "?" marks bytes that do not parse as a response.
raw_statuses() {
  python3 - "${1:-$RAW_OUT}" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
out, pos = [], 0
while pos < len(data):
    end = data.find(b"\r\n\r\n", pos)
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data[pos:pos + 12])
    if end < 0 or not m:
        out.append("?")
        break
    status = int(m.group(1))
    out.append(str(status))
    headers = {}
    for line in data[pos:end].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower()] = v.strip().lower()
    pos = end + 4
    if status < 200 or status in (204, 304):
        continue
    if headers.get(b"transfer-encoding") == b"chunked":
        while True:
            nl = data.find(b"\r\n", pos)
            if nl < 0:
                pos = len(data)
                break
            size = int(data[pos:nl].split(b";")[0], 16)
            pos = nl + 2 + size + 2
            if size == 0:
                break
    elif b"content-length" in headers:
        pos += int(headers[b"content-length"])
    else:
        pos = len(data)
print(" ".join(out))
PY
}

# ---------------------------------------------------------------------------
# Audit
# ---------------------------------------------------------------------------

# audit_query PYTHON_EXPR: evaluate a Python expression over `recs` (the list
# of audit records in $GW_AUDIT, every line must be one JSON object) and print
# the result. Fails if a line is not JSON.
audit_query() {
  python3 - "$GW_AUDIT" "$1" <<'EOF'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
recs = []
with open(path) as f:
    for n, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            sys.exit("audit line %d is not JSON (%s): %r" % (n, e, line[:200]))
        if not isinstance(r, dict):
            sys.exit("audit line %d is not a JSON object: %r" % (n, line[:200]))
        recs.append(r)
print(eval(expr, {"recs": recs, "json": json}))
EOF
}

# wait_for_audit PYTHON_BOOL_EXPR [SECONDS]: audit lines may be written just
# after the response; poll until the expression over `recs` is True.
wait_for_audit() {
  local deadline=$((SECONDS + ${2:-5})) v
  while :; do
    v="$(audit_query "$1" 2>/dev/null || true)"
    [[ "$v" == True ]] && return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
