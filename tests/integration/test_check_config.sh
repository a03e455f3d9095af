#!/usr/bin/env bash
# `dockgate check-config FILE`: a valid config exits 0; an unknown key, a
# wrong type, an unknown operation name and a missing file each exit 1 with a
# message naming the key path. `dockgate --config` refuses to start on them.
source "$(dirname "$0")/lib.sh"
it_init "$@"

port="$(free_port)"
good="$WORK/good"
write_gateway_config "$good" "$port"

# traced ARGS...: strace of a command's bind/listen calls. (A sanitizer build's leak check cannot
# run under ptrace, so it is off for traced runs.)
traced() { env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -e trace=bind,listen "$@"; }
# listens_in TRACE: the bind/listen calls an strace of a dockgate run recorded for a socket.
listens_in() { grep -E '^[0-9]+ +(bind|listen)\(' "$1" | grep -Ev 'AF_NETLINK' || true; }

rc=0
out="$(traced -o "$WORK/check.trace" \
  timeout 20 "$DOCKGATE" check-config "$good/dockgate.toml" 2>&1)" || rc=$?
if ((rc != 0)); then fail "check-config of the valid config exited $rc: $out"; fi
ok "check-config: the valid config exits 0"
assert_contains "$out" "readonly" "check-config summary names the role readonly"
assert_contains "$out" "operator" "check-config summary names the role operator"
assert_eq "" "$(listens_in "$WORK/check.trace")" "check-config binds and listens on nothing"

# bad_config NAME SED_EXPR_OR_APPEND...: a copy of the valid config, edited.
bad_config() {
  local d="$WORK/$1"
  rm -rf "$d"
  cp -r "$good" "$d"
  rm -f "$d/audit.jsonl"
  echo "$d/dockgate.toml"
}

# expect_invalid NAME CONFIG KEYPATH [MORE_TEXT]
expect_invalid() {
  local name="$1" cfg="$2" key="$3" more="${4:-}" rc=0 out
  out="$(timeout 20 "$DOCKGATE" check-config "$cfg" 2>&1)" || rc=$?
  assert_eq 1 "$rc" "check-config, $name: exit 1"
  assert_contains "$out" "$key" "check-config, $name: the message names $key"
  [[ -z "$more" ]] || assert_contains "$out" "$more" "check-config, $name: the message shows $more"
}

cfg="$(bad_config unknown-key)"
sed -i 's/^workers = 2$/workers = 2\nupstreem = "unix:\/\/\/tmp\/x.sock"/' "$cfg"
grep -q '^upstreem' "$cfg" || fail "test bug: edit did not apply"
expect_invalid "unknown key gateway.upstreem" "$cfg" "gateway.upstreem"

cfg="$(bad_config unknown-role-key)"
sed -i 's/^deny = \["Plugin\*", "Swarm\*"\]$/&\nalow = ["ContainerList"]/' "$cfg"
grep -q '^alow' "$cfg" || fail "test bug: edit did not apply"
expect_invalid "unknown key roles.operator.alow" "$cfg" "roles.operator.alow"

cfg="$(bad_config wrong-type)"
sed -i 's/^workers = 2$/workers = "two"/' "$cfg"
grep -q '^workers = "two"' "$cfg" || fail "test bug: edit did not apply"
expect_invalid "wrong type gateway.workers = \"two\"" "$cfg" "gateway.workers"

cfg="$(bad_config wrong-type-duration)"
sed -i 's/^handshake_timeout = "10s"$/handshake_timeout = 10/' "$cfg"
grep -q '^handshake_timeout = 10$' "$cfg" || fail "test bug: edit did not apply"
expect_invalid "wrong type limits.handshake_timeout = 10" "$cfg" "limits.handshake_timeout"

cfg="$(bad_config wrong-type-list)"
sed -i 's/^groups = \["developers"\]$/groups = "developers"/' "$cfg"
grep -q '^groups = "developers"' "$cfg" || fail "test bug: edit did not apply"
expect_invalid "wrong type users.alice.groups (string, not array)" "$cfg" "users.alice.groups"

cfg="$(bad_config unknown-op)"
printf '\n[roles.x]\nsubjects = ["user:x"]\nallow = ["ContainerRun"]\n' >>"$cfg"
expect_invalid "unknown operation ContainerRun" "$cfg" "roles.x.allow[0]" "ContainerRun"

cfg="$(bad_config unknown-op-deny)"
sed -i 's/^deny = \["Plugin\*", "Swarm\*"\]$/deny = ["Plugin*", "SwarmFly"]/' "$cfg"
grep -q 'SwarmFly' "$cfg" || fail "test bug: edit did not apply"
expect_invalid "unknown operation in deny[1]" "$cfg" "roles.operator.deny[1]" "SwarmFly"

cfg="$(bad_config missing-file)"
rm -f "$(dirname "$cfg")/server-cert.pem"
expect_invalid "missing certificate file" "$cfg" "listen.tls.cert"

rc=0
out="$(timeout 20 "$DOCKGATE" check-config "$WORK/does-not-exist.toml" 2>&1)" || rc=$?
assert_eq 1 "$rc" "check-config of a missing config file: exit 1"

# An invalid config never opens access: dockgate --config exits non-zero.
cfg="$(bad_config unknown-op-start)"
printf '\n[roles.x]\nsubjects = ["user:x"]\nallow = ["ContainerRun"]\n' >>"$cfg"
rc=0
traced -o "$WORK/start-invalid.trace" \
  timeout 20 "$DOCKGATE" --config "$cfg" >"$WORK/start-invalid.out" 2>&1 || rc=$?
if ((rc == 0 || rc == 124)); then
  fail "dockgate --config with an invalid config: expected a non-zero exit, got $rc: $(tail -n 5 "$WORK/start-invalid.out")"
fi
ok "dockgate --config with an unknown operation exits $rc without serving"
assert_contains "$(cat "$WORK/start-invalid.out")" "roles.x.allow[0]" "dockgate --config names the bad key on start-up"
assert_eq "" "$(listens_in "$WORK/start-invalid.trace")" "the refused config binds and listens on nothing"
# The same trace sees a listener when there is one: the valid config, started and stopped.
traced -o "$WORK/start-valid.trace" \
  timeout 3 "$DOCKGATE" --config "$good/dockgate.toml" >"$WORK/start-valid.out" 2>&1 || true
assert_contains "$(listens_in "$WORK/start-valid.trace")" "htons($port)" "the trace sees the valid config's listener"
