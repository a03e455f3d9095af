# shellcheck shell=bash
# SSH clients for the integration tests, sourced after lib.sh. The client runs as a throwaway
# local user whose home holds the SSH config, keys and a known_hosts pinned to the gateway's
# host key (OpenSSH reads ~/.ssh from the passwd entry, not $HOME, so a user of its own is the
# honest set-up).

# ssh_user_setup KEYNAME...: creates $TUSER with home $THOME and an ed25519 key per name
# ($THOME/.ssh/NAME, comment NAME@it); id_ed25519 is always made.
ssh_user_setup() {
  command -v ssh >/dev/null || fail "the OpenSSH client is missing: apt-get install openssh-client"
  command -v ssh-keygen >/dev/null || fail "ssh-keygen is missing: apt-get install openssh-client"
  TUSER="dgit$$"
  THOME="$(mktemp -d /tmp/dockgate-it-home.XXXXXX)"
  useradd --home-dir "$THOME" --no-create-home --shell /bin/sh "$TUSER" || fail "useradd $TUSER failed"
  on_exit "userdel $TUSER; rm -rf $THOME"
  mkdir -p "$THOME/.ssh"
  ssh-keygen -q -t ed25519 -N '' -C alice@it -f "$THOME/.ssh/id_ed25519"
  local name
  for name in "$@"; do
    ssh-keygen -q -t ed25519 -N '' -C "$name@it" -f "$THOME/.ssh/$name"
  done
  ssh_user_own
  export DOCKER_CONFIG="$THOME/.docker"
}

ssh_user_own() {
  chown -R "$TUSER" "$THOME"
  chmod 700 "$THOME" "$THOME/.ssh"
}

as_user() { runuser -u "$TUSER" -- env HOME="$THOME" "$@"; }

# ssh_pin_host_key GATEWAY_DIR PORT: known_hosts pinned to the key the gateway created.
ssh_pin_host_key() {
  echo "[127.0.0.1]:$2 $(ssh-keygen -y -f "$1/ssh_host_ed25519_key")" >"$THOME/.ssh/known_hosts"
  ssh_user_own
}

# ssh_docker USER PORT ARGS...: the docker CLI over ssh:// as the test user.
ssh_docker() {
  local u="$1" port="$2"
  shift 2
  as_user env DOCKER_HOST="ssh://$u@127.0.0.1:$port" DOCKER_CONFIG="$THOME/.docker" timeout 120 docker "$@"
}

# ssh_write_config [HOST_BLOCKS] [MORE_DEFAULTS]: ~/.ssh/config pinning the host key, with
# BatchMode, the test user's own key only, and MORE_DEFAULTS lines for every host.
ssh_write_config() {
  {
    [[ -z "${1:-}" ]] || printf '%s\n' "$1"
    cat <<EOF
Host *
  StrictHostKeyChecking yes
  UserKnownHostsFile $THOME/.ssh/known_hosts
  BatchMode yes
  IdentitiesOnly yes
  IdentityFile $THOME/.ssh/id_ed25519
EOF
    [[ -z "${2:-}" ]] || printf '%s\n' "$2"
  } >"$THOME/.ssh/config"
  ssh_user_own
}
