# shellcheck shell=bash
# Helpers of the security tests that send raw requests (sourced after lib.sh and it_init): one
# request per connection as $SEC_CLIENT (default alice) over mTLS, and checks that a refusal is
# the gateway's own, names roles.$SEC_ROLE.<rule> (default developer), and that the daemon did
# not act.
SEC_CLIENT="${SEC_CLIENT:-alice}"
SEC_ROLE="${SEC_ROLE:-developer}"

# Objects the test makes besides containers (which it_init's cleanup removes by prefix).
cleanup_objects() {
  remove_test_containers
  local ids
  ids="$(daemon network ls -q --filter "name=^$CPREFIX" 2>/dev/null || true)"
  # shellcheck disable=SC2086
  [[ -z "$ids" ]] || daemon network rm $ids
  ids="$(daemon volume ls -q --filter "name=^$CPREFIX" 2>/dev/null || true)"
  # shellcheck disable=SC2086
  [[ -z "$ids" ]] || daemon volume rm -f $ids
  ids="$(daemon images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -F -- "$CPREFIX" || true)"
  # shellcheck disable=SC2086
  [[ -z "$ids" ]] || daemon rmi -f $ids
}

exists() { daemon_has container "$1"; }

# --- requests and their checks
API="${API:-1.41}"

# send METHOD PATH BODY [CONTENT_TYPE]: one request as $SEC_CLIENT over mTLS, the body sent byte for
# byte (it is not passed through printf's escapes); sets RAW_OUT.
send() {
  RAW_N=$((RAW_N + 1))
  local in="$WORK/raw.$RAW_N.in"
  printf '%s' "$3" >"$in.body"
  {
    printf '%s /v%s%s HTTP/1.1\r\nHost: docker\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' \
      "$1" "$API" "$2" "${4:-application/json}" "$(stat -c %s "$in.body")"
    cat "$in.body"
  } >"$in"
  raw_request_file "$SEC_CLIENT" "$in" "$WORK/raw.$RAW_N.out"
}

# send_file PATH FILE [CONTENT_TYPE]: a POST whose body is FILE (a tar stream).
send_file() {
  RAW_N=$((RAW_N + 1))
  local in="$WORK/raw.$RAW_N.in"
  {
    printf 'POST /v%s%s HTTP/1.1\r\nHost: docker\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' \
      "$API" "$1" "${3:-application/x-tar}" "$(stat -c %s "$2")"
    cat "$2"
  } >"$in"
  RAW_TIMEOUT=60 raw_request_file "$SEC_CLIENT" "$in" "$WORK/raw.$RAW_N.out"
}

# reply: the last answer's status line and body, for messages.
reply() { tr -d '\r' <"$RAW_OUT" | sed -n '1p; /^$/,$p' | tr '\n' ' ' | cut -c 1-600; }

# check_refused STATUS RULE WHAT: the last answer is the gateway's refusal with STATUS, naming
# roles.$SEC_ROLE.RULE ("-": a refusal that names no constraint, such as an invalid body).
check_refused() {
  local out
  out="$(tr -d '\r' <"$RAW_OUT")"
  [[ "$(raw_status)" == "$1" ]] || fail "$3: expected $1, got $(raw_status): $(reply)"
  [[ "$out" == *'"message":"dockgate: '* ]] || fail "$3: the $1 is not the gateway's: $(reply)"
  if [[ "$2" != - && "$out" != *"(roles.$SEC_ROLE.$2)"* ]]; then
    fail "$3: the refusal does not name roles.$SEC_ROLE.$2: $(reply)"
  fi
}

# check_passed WHAT: the gateway let the last request through (whatever the daemon made of it).
# The answer must be a whole HTTP response (an empty reply or a timeout is no evidence).
check_passed() {
  ((RAW_RC != 124)) || fail "$1: no answer within ${RAW_TIMEOUT:-10} s"
  [[ "$(raw_status)" =~ ^[1-5][0-9][0-9]$ ]] || fail "$1: not an HTTP answer: $(reply)"
  if [[ "$(raw_status)" == 403 || "$(tr -d '\r' <"$RAW_OUT")" == *'"message":"dockgate: '* ]]; then
    fail "$1: refused by the gateway: $(reply)"
  fi
}

# refused STATUS RULE WHAT: check_refused and count it.
refused() {
  check_refused "$@"
  ok "$3: $1 ($(rule_text "$2"))"
}

rule_text() { if [[ "$1" == - ]]; then echo "the gateway's refusal"; else echo "roles.$SEC_ROLE.$1"; fi; }

# create EXPECT RULE SLUG BODY: container create named $CPREFIX-SLUG. 201: the daemon has it;
# a refusal: it does not.
create() {
  local name="$CPREFIX-$3" what="ContainerCreate $3 (v$API)"
  send POST "/containers/create?name=$name" "$4"
  if [[ "$1" == 201 ]]; then
    [[ "$(raw_status)" == 201 ]] || fail "$what: expected 201, got $(raw_status): $(reply)"
    exists "$name" || fail "$what: answered 201 but the daemon has no container $name"
    ok "$what: created"
  else
    check_refused "$1" "$2" "$what"
    exists "$name" && fail "$what: refused, yet the daemon created $name"
    ok "$what: $1 ($(rule_text "$2")), not created"
  fi
}

# ctr_hc: HostConfig members, with a non-root user and an allowed image around them.
# ctr: top-level members (Image and User included) after a Cmd.
ctr_hc() { create "$1" "$2" "$3" "{\"Image\":\"local/busybox:1\",\"User\":\"1000:1000\",\"Cmd\":[\"sleep\",\"60\"],\"HostConfig\":{$4}}"; }
ctr() { create "$1" "$2" "$3" "{\"Cmd\":[\"sleep\",\"60\"],$4}"; }
