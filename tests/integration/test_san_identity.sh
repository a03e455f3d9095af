#!/usr/bin/env bash
# Identities from certificate SANs (listen.tls.identity) and groups from OU (listen.tls.groups),
# with openssl-made certificates: a SPIFFE URI, a DNS name and an email address each name the
# user; none, or two, is a refused handshake whose log line says why; and dockgate-certs
# client --uri writes a certificate the gateway maps.
source "$(dirname "$0")/lib.sh"
it_init "$@"

CAD="$PKI_DIR/ca"
# san_client NAME SUBJECT SAN...: a client cert dir signed by the test CA, with the given
# subjectAltName entries ("URI:spiffe://...", "DNS:...", "email:...").
san_client() {
  local name="$1" subj="$2" d="$WORK/clients/$1" sans
  shift 2
  sans="$(IFS=,; echo "$*")"
  mkdir -p "$d"
  gen_key ec "$d/key.pem"
  openssl req -new -config "$CAD/openssl.cnf" -key "$d/key.pem" -subj "$subj" -out "$d/csr.pem"
  {
    cat "$CAD/openssl.cnf"
    printf '[ v3_san ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n'
    printf 'extendedKeyUsage = clientAuth\n'
    [[ -n "$sans" ]] && printf 'subjectAltName = %s\n' "$sans"
  } >"$d/ext.cnf"
  openssl x509 -req -in "$d/csr.pem" -CA "$CAD/ca.pem" -CAkey "$CAD/ca-key.pem" \
    -set_serial "0x$(openssl rand -hex 16)" -days 2 -sha256 -extfile "$d/ext.cnf" -extensions v3_san \
    -out "$d/cert.pem" 2>/dev/null || fail "test bug: cannot sign $name"
  cp "$CAD/ca.pem" "$d/ca.pem"
}
RUNNER="spiffe://example.org/ci/runner-7"
san_client runner "/O=developers/CN=alice" "URI:$RUNNER"
san_client twouris "/CN=alice" "URI:spiffe://example.org/ci/a" "URI:spiffe://example.org/ci/b"
san_client nouri "/O=developers/CN=alice" "DNS:build-01.ci.example.org"
san_client builder "/CN=ignored" "DNS:build-01.ci.example.org" "email:dev@example.org"
san_client blue "/OU=blue/OU=green/O=developers/CN=carla"
san_client twodns "/CN=x" "DNS:a.ci.example.org" "DNS:b.ci.example.org" "email:x@example.org"

GW="$WORK/gw"
write_gateway_head "$GW" "$(free_port)"
ADMIN="$(free_port)"
# set_tls KEY VALUE: listen.tls.KEY in the config (added or replaced); the gateway reloads.
set_tls() {
  python3 - "$GW/dockgate.toml" "$1" "$2" <<'PY'
import re, sys
path, key, value = sys.argv[1:4]
text = open(path).read()
head, _, rest = text.partition("[listen.tls]\n")
section, sep, tail = rest.partition("\n[")
line = '%s = "%s"' % (key, value)
if re.search(r"^%s = .*$" % key, section, re.M):
    section = re.sub(r"^%s = .*$" % key, line, section, flags=re.M)
else:
    section = line + "\n" + section
open(path, "w").write(head + "[listen.tls]\n" + section + sep + tail)
PY
}
set_tls identity uri_san
cat >>"$GW/dockgate.toml" <<EOF

[admin]
address = "127.0.0.1:$ADMIN"

[users."$RUNNER"]
groups = ["ci"]

[roles.ci]
subjects = ["group:ci"]
allow = ["SystemPing*", "ContainerList"]

[roles.builder]
subjects = ["user:build-01.ci.example.org", "user:dev@example.org"]
allow = ["SystemPing*", "ImageList"]

[roles.blue]
subjects = ["group:blue"]
allow = ["SystemPing*", "VolumeList"]
EOF
start_gateway "$GW/dockgate.toml"
reloads() { curl -s "http://127.0.0.1:$ADMIN/metrics" | sed -n 's/^dockgate_reloads_total \([0-9]*\)$/\1/p'; }
reload_to() { # reload_to KEY VALUE: set listen.tls.KEY and wait for the reload
  local r0
  sleep 1 # a reload of an earlier change (debounced) has happened by now
  r0="$(reloads)"
  set_tls "$1" "$2"
  local deadline=$((SECONDS + 15))
  until [[ "$(reloads)" -gt "$r0" ]]; do
    ((SECONDS < deadline)) || fail "listen.tls.$1 = \"$2\" was not reloaded: $(tail -n 3 "$GW_STDERR")"
    sleep 0.2
  done
}
get() { # get CLIENT PATH: the status of GET PATH as CLIENT
  raw_request "$WORK/clients/$1" "GET $2 HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
  raw_status
}

# --- identity = "uri_san": the whole URI is the user; users."spiffe://..." adds its groups.
assert_eq 200 "$(get runner /v1.41/containers/json)" "uri_san: the SPIFFE ID's role ci lists containers"
assert_eq 403 "$(get runner /v1.41/images/json)" "uri_san: and nothing else (the CN alice counts for nothing)"
wait_for_audit "any(r['user'] == '$RUNNER' and sorted(r['groups']) == ['ci', 'developers'] and r['roles'] == ['ci'] for r in recs)" ||
  fail "audit: the runner's line is not user $RUNNER, groups [ci, developers] (O, users.), roles [ci]"
ok "audit: the user is the whole URI; the groups its O values and users.\"$RUNNER\".groups"
server_refuses_tls "$WORK/clients/twouris" "two URI SANs" "alert handshake failure"
assert_contains "$(cat "$GW_STDERR")" 'listen.tls.identity = "uri_san": several URI SAN values' "two URIs: the log says why"
server_refuses_tls "$WORK/clients/nouri" "no URI SAN" "alert handshake failure"
assert_contains "$(cat "$GW_STDERR")" 'listen.tls.identity = "uri_san": no URI SAN' "no URI: the log says why"

# --- dockgate-certs client --uri writes such a certificate.
use_certs_tool
assert_success "dockgate-certs init" -- signed init --name "SAN IT CA"
assert_success "dockgate-certs client --uri" -- signed client runner8 --uri spiffe://example.org/ci/runner-8 --out "$WORK/clients/runner8"
assert_contains "$(openssl x509 -in "$WORK/clients/runner8/cert.pem" -noout -ext subjectAltName)" \
  "URI:spiffe://example.org/ci/runner-8" "the certificate carries the URI SAN"
assert_failure "dockgate-certs client --uri with a relative URI" -- signed client bad --uri example.org/x
assert_contains "$LAST_OUT" "not an absolute URI" "a URI without a scheme is refused with the reason"
cat "$CA/ca.pem" >>"$GW/ca.pem"
printf '\n[users."spiffe://example.org/ci/runner-8"]\ngroups = ["ci"]\n' >>"$GW/dockgate.toml"
reload_to identity uri_san
cp "$GW/ca.pem" "$WORK/clients/runner8/ca.pem"
assert_eq 200 "$(get runner8 /v1.41/containers/json)" "dockgate-certs' URI certificate maps to its user"

# --- identity = "dns_san" and "email_san".
reload_to identity dns_san
assert_eq 200 "$(get builder /v1.41/images/json)" "dns_san: build-01.ci.example.org holds role builder"
server_refuses_tls "$WORK/clients/runner" "no DNS SAN" "alert handshake failure"
server_refuses_tls "$WORK/clients/twodns" "two DNS SANs" "alert handshake failure"
assert_contains "$(cat "$GW_STDERR")" 'listen.tls.identity = "dns_san": several DNS SAN values' "two DNS names: the log says why"
reload_to identity email_san
assert_eq 200 "$(get builder /v1.41/images/json)" "email_san: dev@example.org holds role builder"
server_refuses_tls "$WORK/clients/runner" "no email SAN" "alert handshake failure"
assert_contains "$(cat "$GW_STDERR")" 'listen.tls.identity = "email_san": no email SAN' "no email: the log says why"
wait_for_audit "any(r['user'] == 'dev@example.org' for r in recs)" || fail "audit: no line for dev@example.org"
ok "audit: the email address is the user"

# --- groups = "ou": every OU value is a group, the O values no longer are.
reload_to identity cn
assert_eq 403 "$(get blue /v1.41/volumes)" "groups = o (default): carla's O developers holds no role here"
reload_to groups ou
assert_eq 200 "$(get blue /v1.41/volumes)" "groups = ou: OU blue holds role blue"
wait_for_audit "any(r['user'] == 'carla' and sorted(r['groups']) == ['blue', 'green'] for r in recs)" ||
  fail "audit: carla's groups are not her two OU values"
ok "audit: carla's groups are her OU values"

# --- a bad value is a config error naming the key and the choices.
cp "$GW/dockgate.toml" "$WORK/bad.toml"
sed -i 's/^groups = "ou"$/groups = "cn"/' "$WORK/bad.toml"
assert_failure "check-config with listen.tls.groups = \"cn\"" -- "$DOCKGATE" check-config "$WORK/bad.toml"
assert_contains "$LAST_OUT" 'listen.tls.groups: "cn" is not a subject attribute for groups (use "o" or "ou")' \
  "the error names the key and the fix"
stop_gateway || fail "dockgate did not stop cleanly"
