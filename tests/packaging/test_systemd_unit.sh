#!/usr/bin/env bash
# docker/dockgate.service: systemd parses every line of it, its sandboxing scores below 2.0 in
# `systemd-analyze security --offline=yes` (lower is better; 10 is an unconfined service), and
# it lets through the system calls dockgate uses to confine itself further.
# Usage: test_systemd_unit.sh SOURCE_DIR
set -euo pipefail
src="${1:?usage: $0 SOURCE_DIR}"
unit="$src/docker/dockgate.service"
fail() { printf 'FAIL [test_systemd_unit]: %s\n' "$*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found (apt-get install systemd)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$unit" "$work/dockgate.service"
out="$(cd "$work" && systemd-analyze security --offline=yes --no-pager dockgate.service 2>&1)" ||
  fail "systemd-analyze security failed: $out"
if grep -E "Unknown (key|section)|Failed to parse|Invalid|ignoring" <<<"$out"; then
  fail "systemd does not accept every line of $unit (above)"
fi
score="$(sed -n 's/.*Overall exposure level for dockgate.service: \([0-9.]*\).*/\1/p' <<<"$out")"
[[ -n "$score" ]] || fail "no exposure level in: $out"
awk -v s="$score" 'BEGIN { exit !(s < 2.0) }' ||
  fail "exposure level $score is not below 2.0: $(grep '✗' <<<"$out")"
echo "ok - systemd-analyze security: exposure level $score (below 2.0)"

# The lines the README promises, and the calls dockgate's own confinement makes.
for line in 'ProtectSystem=strict' 'PrivateTmp=yes' 'NoNewPrivileges=yes' 'CapabilityBoundingSet=' \
    'User=dockgate' 'Group=docker'; do
  grep -qx "$line" "$unit" || fail "$unit lacks $line"
done
filter="$(grep '^SystemCallFilter=@system-service' "$unit")" || fail "no SystemCallFilter=@system-service"
for call in landlock_create_ruleset landlock_add_rule landlock_restrict_self seccomp; do
  grep -qw "$call" <<<"$filter" || fail "SystemCallFilter does not allow $call (dockgate's own confinement)"
done
echo "ok - the unit runs as dockgate:docker without capabilities and lets dockgate confine itself"
