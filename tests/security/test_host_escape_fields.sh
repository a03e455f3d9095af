#!/usr/bin/env bash
# Every field of Engine API 1.41 and 1.56 through which a container, exec, service, plugin,
# volume, network or build request can reach the host, sent as raw JSON over mTLS by alice,
# whose role closes every constraint. Each field has a request that is refused and, where one
# exists, its nearest allowed twin, so a refusal is known to come from that field:
#  - a refused container create is named, and the daemon must not have that container;
#  - a refused build, pull, import or volume create leaves no image or volume behind;
#  - the private daemon is not in swarm mode and has no network, so for services and plugins
#    the status proves it: 403 with the gateway's message is the gateway, 503/500/404 with the
#    daemon's message is a twin that went through.
# A refusal must carry the gateway's own message and name the rule that refused.
source "$(dirname "$0")/../integration/lib.sh"
it_init "$@"
replay_start # every request is replayed through `dockgate explain` at the end (lib.sh)

DATA="$(mktemp -d /tmp/dockgate-it-hef.XXXXXX)"
on_exit "rm -rf $DATA"
mkdir -p "$DATA/x"

GW="$WORK/gw"
write_gateway_head "$GW" "$(free_port)"
cat >>"$GW/dockgate.toml" <<EOF

[roles.developer]
subjects = ["group:developers"]
allow = ["Container*", "Exec*", "Image*", "System*", "Volume*", "Network*", "Service*", "Plugin*"]

[roles.developer.containers]
privileged = false
cap_add = ["NET_BIND_SERVICE", "CHOWN"]
bind_sources = ["$DATA"]
host_namespaces = false
cgroup_parent = false
devices = false
unconfined = false
run_as_non_root = true
sysctls = false
runtimes = ["runc"]

[roles.developer.volumes]
driver_opts = false

[roles.developer.build]
network_host = false
remote_context = false

# local/busybox:1 is docker.io/local/busybox:1 to the daemon.
[roles.developer.images]
registries = ["docker.io/library", "docker.io/local"]
EOF
start_gateway "$GW/dockgate.toml"

source "$(dirname "$0")/security_lib.sh"
on_exit cleanup_objects
API=1.41

# --- fixtures: containers, a network and an image made straight on the daemon (an operator's
# doing) or allowed through the gateway.
ROOT="$CPREFIX-root" # someone else's container with the host's root bound in
OWNED="$CPREFIX-owned" # alice's own (labelled dockgate.owner=alice), confined, running
OWNED_PRIV="$CPREFIX-owned-priv" # labelled alice but privileged (created, not started)
daemon run -d --name "$ROOT" -v /:/host local/busybox:1 sleep 300 >/dev/null
daemon create --name "$OWNED_PRIV" --privileged --label dockgate.owner=alice local/busybox:1 sleep 300 >/dev/null
send POST "/containers/create?name=$OWNED" "{\"Image\":\"local/busybox:1\",\"User\":\"1000:1000\",\"Cmd\":[\"sleep\",\"300\"],\"Labels\":{\"dockgate.owner\":\"alice\"},\"HostConfig\":{\"Binds\":[\"$DATA/x:/x\"],\"IpcMode\":\"shareable\"}}"
[[ "$(raw_status)" == 201 ]] || fail "alice's own labelled container was not created: $(reply)"
ok "alice creates her own labelled container"
daemon start "$OWNED" >/dev/null
HOST_NET="$(daemon network inspect -f '{{.Id}}' host)"
NET="$CPREFIX-net"
send POST "/networks/create" "{\"Name\":\"$NET\",\"Driver\":\"bridge\"}"
[[ "$(raw_status)" == 201 ]] || fail "NetworkCreate of a plain bridge network: $(reply)"
daemon_has network "$NET" || fail "the daemon has no network $NET"
ok "NetworkCreate of a plain bridge network is allowed and the daemon has it"
# An image only tagged in a registry outside the role's, and its ID.
EVIL_IMG="evil.example.com/$CPREFIX/bb:1"
daemon create --name "$CPREFIX-commit" local/busybox:1 true >/dev/null
daemon commit "$CPREFIX-commit" "$EVIL_IMG" >/dev/null
EVIL_ID="$(daemon image inspect -f '{{.Id}}' "$EVIL_IMG")"
BUSYBOX_ID="$(daemon image inspect -f '{{.Id}}' local/busybox:1)"

# =========================================================================================
# ContainerCreate: HostConfig
# =========================================================================================
#      expect rule                        slug               HostConfig members
ctr_hc 403 containers.privileged          priv               '"Privileged":true'
ctr_hc 403 containers.privileged          priv-lower         '"privileged":true'
ctr_hc 201 -                              priv-false         '"Privileged":false'
# CapAdd (a lone string is a list of one to the daemon)
ctr_hc 403 containers.cap_add             cap-sysadmin       '"CapAdd":["SYS_ADMIN"]'
ctr_hc 403 containers.cap_add             cap-string         '"CapAdd":"CAP_SYS_ADMIN"'
ctr_hc 403 containers.cap_add             cap-all            '"CapAdd":["ALL"]'
ctr_hc 403 containers.cap_add             cap-lower          '"CapAdd":["cap_sys_module"]'
ctr_hc 403 containers.cap_add             cap-one-bad        '"CapAdd":["NET_BIND_SERVICE","SYS_PTRACE"]'
ctr_hc 403 containers.cap_add             cap-unknown        '"CapAdd":["CAP_ALL"]'
ctr_hc 201 -                              cap-allowed        '"CapAdd":["NET_BIND_SERVICE","cap_chown"]'
# Binds
ctr_hc 403 containers.bind_sources        bind-root          '"Binds":["/:/host"]'
ctr_hc 403 containers.bind_sources        bind-sock          "\"Binds\":[\"$DOCKER_SOCK:/var/run/docker.sock\"]"
ctr_hc 403 containers.bind_sources        bind-etc-ro        '"Binds":["/etc:/x:ro"]'
ctr_hc 403 containers.bind_sources        bind-dotdot        "\"Binds\":[\"$DATA/x/../..:/x\"]"
ctr_hc 403 containers.bind_sources        bind-sibling       "\"Binds\":[\"${DATA}-other:/x\"]"
ctr_hc 403 containers.bind_sources        bind-one-bad       "\"Binds\":[\"$DATA/x:/x\",\"/root:/r\"]"
ctr_hc 201 -                              bind-allowed       "\"Binds\":[\"$DATA/x:/x:ro\"]"
ctr_hc 201 -                              bind-named-vol     "\"Binds\":[\"$CPREFIX-vol-a:/v\"]"
# Mounts: bind, unknown types, volume driver options, image, tmpfs
ctr_hc 403 containers.bind_sources        mnt-bind-root      '"Mounts":[{"Type":"bind","Source":"/","Target":"/host"}]'
ctr_hc 403 containers.bind_sources        mnt-bind-dotdot    "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"$DATA/x/../../../etc\",\"Target\":\"/e\"}]"
ctr_hc 403 containers.bind_sources        mnt-bind-ro        '"Mounts":[{"Type":"bind","Source":"/etc","Target":"/e","ReadOnly":true,"BindOptions":{"Propagation":"rslave"}}]'
ctr_hc 403 containers.bind_sources        mnt-upper-type     '"Mounts":[{"Type":"BIND","Source":"/","Target":"/host"}]'
ctr_hc 403 containers.bind_sources        mnt-npipe          '"Mounts":[{"Type":"npipe","Source":"/","Target":"/host"}]'
ctr_hc 403 volumes.driver_opts            mnt-vol-bind       '"Mounts":[{"Type":"volume","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]'
ctr_hc 403 volumes.driver_opts            mnt-vol-dev        '"Mounts":[{"Type":"volume","Target":"/v","VolumeOptions":{"DriverConfig":{"Options":{"type":"ext4","device":"/dev/sda1"}}}}]'
ctr_hc 403 volumes.driver_opts            mnt-vol-nfs        '"Mounts":[{"Type":"volume","Target":"/v","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"nfs","o":"addr=127.0.0.1","device":":/"}}}}]'
ctr_hc 201 -                              mnt-vol-plain      "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"$CPREFIX-vol-b\",\"Target\":\"/v\",\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"local\"}}}]"
ctr_hc 201 -                              mnt-bind-allowed   "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"$DATA/x\",\"Target\":\"/x\",\"BindOptions\":{\"Propagation\":\"rprivate\"}}]"
ctr_hc 201 -                              mnt-tmpfs          '"Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":1023}}]'
# 1.56: CreateMountpoint would make the host path; image mounts name an image
API=1.56 ctr_hc 403 containers.bind_sources mnt-create-point "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/etc/$CPREFIX\",\"Target\":\"/e\",\"BindOptions\":{\"CreateMountpoint\":true}}]"
[[ -e "/etc/$CPREFIX" ]] && fail "CreateMountpoint: /etc/$CPREFIX was created on the host"
ok "CreateMountpoint: nothing was created on the host"
API=1.56 ctr_hc 403 images.registries     mnt-image-evil     '"Mounts":[{"Type":"image","Source":"evil.example.com/x:1","Target":"/i","ImageOptions":{"Subpath":"etc"}}]'
API=1.56 ctr_hc 403 containers.bind_sources mnt-bind-156     '"Mounts":[{"Type":"bind","Source":"/","Target":"/host","BindOptions":{"ReadOnlyNonRecursive":true}}]'
# The allowed image mount passes the gateway; a 1.41 daemon answers it with its own error.
send POST "/containers/create?name=$CPREFIX-mnt-image-ok" '{"Image":"local/busybox:1","User":"1000:1000","HostConfig":{"Mounts":[{"Type":"image","Source":"local/busybox:1","Target":"/i"}]}}'
check_passed "ContainerCreate mnt-image-ok"
ok "ContainerCreate mnt-image-ok: an image mount of an allowed image is not refused by the gateway ($(raw_status))"
# VolumesFrom takes another container's mounts, binds included
ctr_hc 403 containers.bind_sources        volfrom-root       "\"VolumesFrom\":[\"$ROOT\"]"
ctr_hc 403 containers.bind_sources        volfrom-root-ro    "\"VolumesFrom\":[\"$ROOT:ro\"]"
ctr_hc 403 containers.bind_sources        volfrom-priv       "\"VolumesFrom\":[\"$OWNED_PRIV\"]"
ctr_hc 201 -                              volfrom-owned      "\"VolumesFrom\":[\"$OWNED:ro\"]"
# Each container named is looked up (and what it names in turn): one request may not need more
# than 64 lookups, so a fan-out of references is refused rather than followed.
many="$(printf '"%s:ro",' $(for _ in $(seq 1 70); do echo "$OWNED"; done))"
ctr_hc 403 containers.bind_sources        volfrom-fanout     "\"VolumesFrom\":[${many%,}]"
assert_contains "$(reply)" "more than 64 containers, volumes, networks and images to look up" \
  "ContainerCreate volfrom-fanout: the refusal says why"
# Namespaces
ctr_hc 403 containers.host_namespaces     net-host           '"NetworkMode":"host"'
ctr_hc 403 containers.host_namespaces     net-host-id        "\"NetworkMode\":\"$HOST_NET\""
ctr_hc 403 containers.host_namespaces     net-host-prefix    "\"NetworkMode\":\"${HOST_NET:0:12}\""
ctr_hc 403 containers.host_namespaces     net-container      "\"NetworkMode\":\"container:$ROOT\""
ctr_hc 403 containers.host_namespaces     net-container-priv "\"NetworkMode\":\"container:$OWNED_PRIV\""
ctr_hc 201 -                              net-none           '"NetworkMode":"none"'
ctr_hc 201 -                              net-user           "\"NetworkMode\":\"$NET\""
ctr_hc 201 -                              net-owned          "\"NetworkMode\":\"container:$OWNED\""
ctr_hc 403 containers.host_namespaces     pid-host           '"PidMode":"host"'
ctr_hc 403 containers.host_namespaces     pid-container      "\"PidMode\":\"container:$ROOT\""
ctr_hc 403 containers.host_namespaces     pid-container-priv "\"PidMode\":\"container:$OWNED_PRIV\""
ctr_hc 201 -                              pid-owned          "\"PidMode\":\"container:$OWNED\""
ctr_hc 403 containers.host_namespaces     ipc-host           '"IpcMode":"host"'
ctr_hc 403 containers.host_namespaces     ipc-container      "\"IpcMode\":\"container:$ROOT\""
ctr_hc 201 -                              ipc-private        '"IpcMode":"private"'
ctr_hc 201 -                              ipc-owned          "\"IpcMode\":\"container:$OWNED\""
ctr_hc 403 containers.host_namespaces     uts-host           '"UTSMode":"host"'
ctr_hc 403 containers.host_namespaces     uts-container      "\"UTSMode\":\"container:$OWNED\""
ctr_hc 403 containers.host_namespaces     userns-host        '"UsernsMode":"host"'
ctr_hc 403 containers.host_namespaces     cgroupns-host      '"CgroupnsMode":"host"'
ctr_hc 201 -                              cgroupns-private   '"CgroupnsMode":"private"'
ctr_hc 403 containers.host_namespaces     cgroup-host        '"Cgroup":"host"'
ctr_hc 403 containers.host_namespaces     cgroup-container   "\"Cgroup\":\"container:$ROOT\""
# Devices
ctr_hc 403 containers.devices             dev-disk           '"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]'
ctr_hc 403 containers.devices             dev-mem            '"Devices":[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/m","CgroupPermissions":"r"}]'
ctr_hc 403 containers.devices             dev-cgroup-rules   '"DeviceCgroupRules":["a *:* rwm"]'
ctr_hc 403 containers.devices             dev-requests       '"DeviceRequests":[{"Driver":"","Count":-1,"Capabilities":[["gpu"]]}]'
ctr_hc 201 -                              dev-empty          '"Devices":[],"DeviceCgroupRules":[],"DeviceRequests":[]'
# CgroupParent
ctr_hc 403 containers.cgroup_parent       cgparent-root      '"CgroupParent":"/"'
ctr_hc 403 containers.cgroup_parent       cgparent-slice     '"CgroupParent":"system.slice"'
ctr_hc 201 -                              cgparent-empty     '"CgroupParent":""'
# SecurityOpt, masked and read-only paths, annotations
ctr_hc 403 containers.unconfined          sec-seccomp        '"SecurityOpt":["seccomp=unconfined"]'
ctr_hc 403 containers.unconfined          sec-seccomp-colon  '"SecurityOpt":["seccomp:unconfined"]'
ctr_hc 403 containers.seccomp_profiles   sec-seccomp-custom '"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]'
ctr_hc 403 containers.unconfined          sec-apparmor       '"SecurityOpt":["apparmor=unconfined"]'
ctr_hc 403 containers.unconfined          sec-label-disable  '"SecurityOpt":["label=disable"]'
ctr_hc 403 containers.unconfined          sec-label-colon    '"SecurityOpt":["label:disable"]'
ctr_hc 403 containers.unconfined          sec-label-type     '"SecurityOpt":["label=type:spc_t"]'
ctr_hc 403 containers.unconfined          sec-systempaths    '"SecurityOpt":["systempaths=unconfined"]'
ctr_hc 403 containers.unconfined          sec-cgroups-rw     '"SecurityOpt":["writable-cgroups=true"]'
ctr_hc 403 containers.unconfined          sec-unknown        '"SecurityOpt":["no-new-privileges","foo=bar"]'
ctr_hc 201 -                              sec-nnp            '"SecurityOpt":["no-new-privileges=true","label=level:s0:c100"]'
ctr_hc 403 containers.unconfined          masked-empty       '"MaskedPaths":[]'
ctr_hc 403 containers.unconfined          readonly-empty     '"ReadonlyPaths":[]'
ctr_hc 201 -                              masked-null        '"MaskedPaths":null,"ReadonlyPaths":null'
API=1.56 ctr_hc 403 containers.unconfined annotations        '"Annotations":{"io.kubernetes.cri.container-type":"sandbox"}'
ctr_hc 403 containers.unconfined          annotations-141    '"Annotations":{"run.oci.keep_original_groups":"1"}'
# Sysctls, runtime, supplementary groups
ctr_hc 403 containers.sysctls             sysctl-kernel      '"Sysctls":{"kernel.shm_rmid_forced":"1"}'
ctr_hc 403 containers.sysctls             sysctl-net         '"Sysctls":{"net.ipv4.ip_unprivileged_port_start":"0"}'
ctr_hc 201 -                              sysctl-empty       '"Sysctls":{}'
ctr_hc 403 containers.runtimes            runtime-v2         '"Runtime":"io.containerd.runc.v2"'
ctr_hc 403 containers.runtimes            runtime-upper      '"Runtime":"RUNC"'
ctr_hc 201 -                              runtime-runc       '"Runtime":"runc"'
ctr_hc 403 containers.run_as_non_root     group-0            '"GroupAdd":["0"]'
ctr_hc 403 containers.run_as_non_root     group-root         '"GroupAdd":["root"]'
ctr_hc 403 containers.run_as_non_root     group-disk         '"GroupAdd":["disk"]'
ctr_hc 201 -                              group-1000         '"GroupAdd":["1000"]'
# The same fields through the 1.56 prefix
API=1.56 ctr_hc 403 containers.privileged priv-156           '"Privileged":true'
API=1.56 ctr_hc 403 containers.host_namespaces pid-host-156  '"PidMode":"host"'
API=1.56 ctr_hc 403 containers.devices    dev-156            '"DeviceCgroupRules":["c 1:1 rwm"]'

# =========================================================================================
# ContainerCreate: the container's config and its networks
# =========================================================================================
# A HostConfig field at the top level is applied by older daemons
ctr 400 -                              top-binds          '"Image":"local/busybox:1","User":"1000:1000","Binds":["/:/host"]'
ctr 400 -                              top-cgparent       '"Image":"local/busybox:1","User":"1000:1000","cgroupParent":"/"'
# User: numeric non-root uid:gid only
ctr 403 containers.run_as_non_root     user-image         '"Image":"local/busybox:1"'
ctr 403 containers.run_as_non_root     user-empty         '"Image":"local/busybox:1","User":""'
ctr 403 containers.run_as_non_root     user-root          '"Image":"local/busybox:1","User":"root"'
ctr 403 containers.run_as_non_root     user-0             '"Image":"local/busybox:1","User":"0"'
ctr 403 containers.run_as_non_root     user-0-0           '"Image":"local/busybox:1","User":"0:0"'
ctr 403 containers.run_as_non_root     user-gid-0         '"Image":"local/busybox:1","User":"1000:0"'
ctr 403 containers.run_as_non_root     user-no-gid        '"Image":"local/busybox:1","User":"1000"'
ctr 403 containers.run_as_non_root     user-no-uid        '"Image":"local/busybox:1","User":":1000"'
ctr 403 containers.run_as_non_root     user-name          '"Image":"local/busybox:1","User":"nobody:nogroup"'
ctr 201 -                              user-ok            '"Image":"local/busybox:1","User":"1000:1000"'
# Image: the registry, by name or by ID
ctr 403 images.registries              img-evil           '"Image":"evil.example.com/x:1","User":"1000:1000"'
ctr 403 images.registries              img-hub-user       '"Image":"docker.io/evilcorp/busybox:1","User":"1000:1000"'
ctr 403 images.registries              img-localhost      '"Image":"localhost:5000/local/busybox:1","User":"1000:1000"'
ctr 403 images.registries              img-evil-local     "\"Image\":\"$EVIL_IMG\",\"User\":\"1000:1000\""
ctr 403 images.registries              img-evil-id        "\"Image\":\"$EVIL_ID\",\"User\":\"1000:1000\""
ctr 403 images.registries              img-evil-hex       "\"Image\":\"${EVIL_ID#sha256:}\",\"User\":\"1000:1000\""
ctr 403 images.registries              img-evil-prefix    "\"Image\":\"$(cut -c 8-19 <<<"$EVIL_ID")\",\"User\":\"1000:1000\""
ctr 201 -                              img-hub-local      '"Image":"docker.io/local/busybox:1","User":"1000:1000"'
ctr 201 -                              img-id             "\"Image\":\"$BUSYBOX_ID\",\"User\":\"1000:1000\""
ctr 201 -                              img-prefix         "\"Image\":\"$(cut -c 8-19 <<<"$BUSYBOX_ID")\",\"User\":\"1000:1000\""
# NetworkingConfig.EndpointsConfig: the host network by name or ID
ctr 403 containers.host_namespaces     ep-host            '"Image":"local/busybox:1","User":"1000:1000","NetworkingConfig":{"EndpointsConfig":{"host":{}}}'
ctr 403 containers.host_namespaces     ep-host-id         "\"Image\":\"local/busybox:1\",\"User\":\"1000:1000\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"$HOST_NET\":{}}}"
ctr 403 containers.host_namespaces     ep-host-prefix     "\"Image\":\"local/busybox:1\",\"User\":\"1000:1000\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"${HOST_NET:0:12}\":{}}}"
ctr 201 -                              ep-user            "\"Image\":\"local/busybox:1\",\"User\":\"1000:1000\",\"HostConfig\":{\"NetworkMode\":\"$NET\"},\"NetworkingConfig\":{\"EndpointsConfig\":{\"$NET\":{\"Aliases\":[\"a\"]}}}"
# An endpoint's NetworkID may name the host network: the daemon keeps the container in a
# network namespace of its own (the one HostConfig.NetworkMode selects), never the host's.
name="$CPREFIX-ep-network-id"
send POST "/containers/create?name=$name" "{\"Image\":\"local/busybox:1\",\"User\":\"1000:1000\",\"Cmd\":[\"readlink\",\"/proc/self/ns/net\"],\"HostConfig\":{\"NetworkMode\":\"$NET\"},\"NetworkingConfig\":{\"EndpointsConfig\":{\"$NET\":{\"NetworkID\":\"$HOST_NET\"}}}}"
if [[ "$(raw_status)" == 201 ]]; then
  ns="$(daemon start -a "$name" 2>&1 || true)"
  assert_match "$ns" '^net:\[[0-9]+\]$' "EndpointsConfig NetworkID=<host>: the container runs"
  assert_ne "$(readlink /proc/self/ns/net)" "$ns" "EndpointsConfig NetworkID=<host>: the container is not in the host's network namespace"
else
  check_refused 403 containers.host_namespaces "EndpointsConfig NetworkID=<host>"
  exists "$name" && fail "EndpointsConfig NetworkID=<host>: refused, yet the daemon created $name"
  ok "EndpointsConfig NetworkID=<host>: refused, not created"
fi

# =========================================================================================
# ContainerUpdate and ContainerStart
# =========================================================================================
TARGET="$CPREFIX-user-ok"
update() { # EXPECT RULE WHAT BODY
  send POST "/containers/$TARGET/update" "$4"
  if [[ "$1" == 200 ]]; then
    assert_eq 200 "$(raw_status)" "ContainerUpdate $3: allowed"
  else
    refused "$1" "$2" "ContainerUpdate $3"
  fi
}
update 403 containers.cgroup_parent cgroup-parent '{"CgroupParent":"/"}'
update 403 containers.devices       devices       '{"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]}'
update 403 containers.devices       cgroup-rules  '{"DeviceCgroupRules":["a *:* rwm"]}'
update 403 containers.devices       requests      '{"DeviceRequests":[{"Count":-1,"Capabilities":[["gpu"]]}]}'
update 200 -                        cpu-shares    '{"CpuShares":512,"RestartPolicy":{"Name":"no"}}'
assert_eq "512 [] " "$(daemon inspect -f '{{.HostConfig.CpuShares}} {{json .HostConfig.DeviceCgroupRules}} {{.HostConfig.CgroupParent}}' "$TARGET" | sed 's/null/[]/')" \
  "ContainerUpdate: the daemon has the allowed change and none of the refused"
# Below API 1.24 a start body is a HostConfig the daemon applies: no start body is forwarded.
for v in 1.23 1.41; do
  API=$v send POST "/containers/$TARGET/start" '{"Privileged":true,"Binds":["/:/host"]}'
  refused 400 - "ContainerStart v$v with a HostConfig body"
done
assert_eq "created false []" "$(daemon inspect -f '{{.State.Status}} {{.HostConfig.Privileged}} {{json .HostConfig.Binds}}' "$TARGET" | sed 's/null/[]/')" \
  "ContainerStart: the container was not started nor changed"

# =========================================================================================
# ContainerExec
# =========================================================================================
EXEC_IN="$OWNED"
exec_case() { # EXPECT RULE WHAT BODY
  send POST "/containers/$EXEC_IN/exec" "$4"
  if [[ "$1" == 201 ]]; then
    assert_eq 201 "$(raw_status)" "ContainerExec $3: allowed"
  else
    refused "$1" "$2" "ContainerExec $3"
  fi
}
exec_case 403 containers.privileged      privileged   '{"Cmd":["id"],"Privileged":true,"User":"1000:1000"}'
exec_case 403 containers.privileged      priv-lower   '{"Cmd":["id"],"privileged":true,"User":"1000:1000"}'
exec_case 403 containers.run_as_non_root user-0       '{"Cmd":["id"],"User":"0"}'
exec_case 403 containers.run_as_non_root user-root    '{"Cmd":["id"],"User":"root"}'
exec_case 403 containers.run_as_non_root user-gid-0   '{"Cmd":["id"],"User":"1000:0"}'
exec_case 403 containers.run_as_non_root user-no-gid  '{"Cmd":["id"],"User":"1000"}'
exec_case 201 -                          user-ok      '{"Cmd":["id"],"User":"1000:1000"}'
exec_case 201 -                          user-default '{"Cmd":["id"]}'
EXEC_IN="$OWNED_PRIV" # labelled alice, but it runs as root
exec_case 403 containers.run_as_non_root root-container '{"Cmd":["id"]}'
# An exec gets its container's binds, privileges and namespaces: a container the role could
# not create (here someone else's, with the host's root at /host) cannot be exec'd in.
EXEC_IN="$ROOT"
exec_case 403 containers.bind_sources other-host-bind '{"Cmd":["cat","/host/etc/hostname"],"User":"1000:1000"}'
assert_eq 0 "$(daemon inspect -f '{{len .ExecIDs}}' "$ROOT")" "ContainerExec: none in the container with the host's root"
assert_eq 2 "$(daemon inspect -f '{{len .ExecIDs}}' "$OWNED")" "ContainerExec: the daemon has only the two allowed exec instances"
assert_eq 0 "$(daemon inspect -f '{{len .ExecIDs}}' "$OWNED_PRIV")" "ContainerExec: none in the root container"

# =========================================================================================
# VolumeCreate
# =========================================================================================
volume() { # EXPECT RULE SLUG BODY-MEMBERS
  local name="$CPREFIX-vol-$3" what="VolumeCreate $3"
  send POST "/volumes/create" "{\"Name\":\"$name\",$4}"
  if [[ "$1" == 201 ]]; then
    assert_eq 201 "$(raw_status)" "$what: allowed"
    daemon_has volume "$name" || fail "$what: the daemon has no volume $name"
  else
    check_refused "$1" "$2" "$what"
    daemon_has volume "$name" && fail "$what: refused, yet the daemon created $name"
    ok "$what: $1 ($(rule_text "$2")), not created"
  fi
}
volume 403 volumes.driver_opts bind-root  '"Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/"}'
volume 403 volumes.driver_opts block-dev  '"DriverOpts":{"type":"ext4","device":"/dev/sda1"}'
volume 403 volumes.driver_opts tmpfs      '"Driver":"local","DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"size=1m"}'
volume 403 volumes.driver_opts lower-key  '"driveropts":{"type":"none","o":"bind","device":"/etc"}'
volume 403 volumes.driver_opts null-value '"DriverOpts":{"device":null}'
volume 201 -                   plain      '"Driver":"local"'
volume 201 -                   empty-opts '"DriverOpts":{}'

# =========================================================================================
# NetworkCreate and NetworkConnect
# =========================================================================================
# The host network cannot be joined after the fact: the daemon refuses, and nothing changes.
CONNECT="$CPREFIX-connect"
send POST "/containers/create?name=$CONNECT" '{"Image":"local/busybox:1","User":"1000:1000","Cmd":["readlink","/proc/self/ns/net"]}'
[[ "$(raw_status)" == 201 ]] || fail "a container to connect was not created: $(reply)"
for target in host "$HOST_NET"; do
  send POST "/networks/$target/connect" "{\"Container\":\"$CONNECT\"}"
  assert_match "$(raw_status)" '^4[0-9][0-9]$' "NetworkConnect to the host network ($target): refused"
done
assert_not_contains "$(daemon inspect -f '{{json .NetworkSettings.Networks}}' "$CONNECT")" '"host"' \
  "NetworkConnect: the container is not on the host network"
# Through a user network whose endpoint names the host network's ID: whatever is recorded, the
# container does not start in the host's network namespace.
send POST "/networks/$NET/connect" "{\"Container\":\"$CONNECT\",\"EndpointConfig\":{\"NetworkID\":\"$HOST_NET\"}}"
if [[ "$(raw_status)" == 200 ]]; then
  ns="$(daemon start -a "$CONNECT" 2>&1 || true)"
  assert_ne "$(readlink /proc/self/ns/net)" "$ns" "NetworkConnect EndpointConfig.NetworkID=<host>: the container is not in the host's network namespace"
else
  refused 403 containers.host_namespaces "NetworkConnect EndpointConfig.NetworkID=<host>"
fi
# A macvlan or ipvlan network on a host interface puts containers straight on the host's
# link, around its firewall: host networking by another name.
PARENT="$(ip -o route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}')"
[[ -n "$PARENT" ]] || PARENT="$(ip -o link show | awk -F': ' '$2 != "lo" {print $2; exit}')"
for driver in macvlan ipvlan; do
  send POST "/networks/create" "{\"Name\":\"$CPREFIX-$driver\",\"Driver\":\"$driver\",\"Options\":{\"parent\":\"$PARENT\"}}"
  refused 403 containers.host_namespaces "NetworkCreate $driver parent=$PARENT"
  daemon_has network "$CPREFIX-$driver" && fail "NetworkCreate $driver: the daemon created it"
  ok "NetworkCreate $driver: not created"
done

# =========================================================================================
# ImageBuild (query parameters; the context is a tar stream)
# =========================================================================================
mkdir -p "$WORK/ctx"
printf 'FROM local/busybox:1\nRUN true\n' >"$WORK/ctx/Dockerfile"
tar -C "$WORK/ctx" -cf "$WORK/ctx.tar" Dockerfile
build() { # EXPECT RULE SLUG QUERY
  # A name outside the role's registries: a local build may not take a trusted one.
  local tag="it-local/$CPREFIX-build-$3" what="ImageBuild $3"
  send_file "/build?t=$tag&rm=1&$4" "$WORK/ctx.tar"
  if [[ "$1" == 200 ]]; then
    assert_eq 200 "$(raw_status)" "$what: allowed"
    daemon_has image "$tag" || fail "$what: no image $tag was built: $(reply)"
    ok "$what: the image was built"
  else
    check_refused "$1" "$2" "$what"
    daemon_has image "$tag" && fail "$what: refused, yet $tag was built"
    ok "$what: $1 ($(rule_text "$2")), nothing built"
  fi
}
build 403 build.network_host         net-host          'networkmode=host'
build 403 build.network_host         net-host-id       "networkmode=$HOST_NET"
build 403 build.network_host         net-host-prefix   "networkmode=${HOST_NET:0:12}"
build 403 build.network_host         net-container     "networkmode=container:$ROOT"
build 400 -                          net-twice         'networkmode=none&networkmode=host'
build 403 containers.cgroup_parent   cgparent          'cgroupparent=/'
build 403 build.remote_context       remote-https      'remote=https://evil.example.com/ctx.tar'
build 403 build.remote_context       remote-git        'remote=git://evil.example.com/x.git'
build 403 build.remote_context       remote-github     'remote=github.com/evil/ctx'
build 400 -                          remote-twice      'remote=&remote=https://evil.example.com/ctx.tar'
build 200 -                          net-none          'networkmode=none&version=1'
build 200 -                          net-user          "networkmode=$NET&version=1"
# BuildKit's gRPC API (used by buildx) carries its own entitlements, network.host among them,
# which the gateway does not read: this role cannot reach it at all.
API=1.41 send POST "/grpc" ''
refused 403 - "Grpc (BuildKit's API) is not in the role's allow list"
# securityopt is not in the API definitions but the daemon reads it; on Linux it refuses it.
send_file "/build?t=it-local/$CPREFIX-build-secopt&securityopt=seccomp%3Dunconfined&version=1" "$WORK/ctx.tar"
assert_match "$(raw_status)" '^4[0-9][0-9]$' "ImageBuild securityopt=seccomp=unconfined: refused"
daemon_has image "it-local/$CPREFIX-build-secopt" && fail "ImageBuild securityopt: an image was built"
ok "ImageBuild securityopt: nothing built"

# =========================================================================================
# ImageCreate: pulls name a registry, imports from a URL bypass it
# =========================================================================================
pull() { # EXPECT RULE WHAT QUERY
  send POST "/images/create?$4" ''
  if [[ "$1" == pass ]]; then
    check_passed "ImageCreate $3"
    ok "ImageCreate $3: passed to the daemon ($(raw_status))"
  else
    refused "$1" "$2" "ImageCreate $3"
  fi
}
pull 403  images.registries evil-host       'fromImage=evil.example.com/x&tag=1'
pull 403  images.registries hub-user        'fromImage=evilcorp/busybox&tag=latest'
pull 403  images.registries quay            'fromImage=quay.io/evil/x:1'
pull 403  images.registries tag-is-ref      'fromImage=local/busybox&tag=evil.example.com/x'
pull 403  images.registries image-id        "fromImage=${EVIL_ID#sha256:}"
pull 403  images.registries from-url        'fromSrc=http://evil.example.com/rootfs.tar&repo=x'
pull 403  images.registries from-url-https  'fromSrc=https://evil.example.com/rootfs.tar'
pull 400  -                 from-image-twice 'fromImage=local/busybox&fromImage=evil.example.com/x'
pull pass -                 hub-library     "fromImage=library/$CPREFIX&tag=1"
pull pass -                 hub-local       "fromImage=local/$CPREFIX&tag=1"
daemon_has image "evil.example.com/x:1" && fail "ImageCreate: evil.example.com/x:1 exists"
ok "ImageCreate: no image from a refused pull exists"
# An import from the request body under a name outside the role's registries is allowed;
# under a trusted name it would stand in for that registry's image (images.local_names).
mkdir -p "$WORK/rootfs" && echo hi >"$WORK/rootfs/hi"
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" hi
send_file "/images/create?fromSrc=-&repo=local/$CPREFIX-import&tag=1" "$WORK/rootfs.tar"
refused 403 images.local_names "ImageCreate fromSrc=- into docker.io/local (a trusted name)"
daemon_has image "local/$CPREFIX-import:1" && fail "ImageCreate fromSrc=- into a trusted name: the image exists"
ok "ImageCreate fromSrc=- into a trusted name: nothing was imported"
send_file "/images/create?fromSrc=-&repo=it-local/$CPREFIX-import&tag=1" "$WORK/rootfs.tar"
assert_eq 200 "$(raw_status)" "ImageCreate fromSrc=- (the body): allowed"
daemon_has image "it-local/$CPREFIX-import:1" || fail "ImageCreate fromSrc=-: no image: $(reply)"
ok "ImageCreate fromSrc=-: the image was imported"

# =========================================================================================
# ServiceCreate / ServiceUpdate (TaskSpec.ContainerSpec)
# =========================================================================================
# service EXPECT RULE SLUG CONTAINERSPEC-MEMBERS [TASKTEMPLATE-MEMBERS [SPEC-MEMBERS]]: a create,
# and the same spec as an update. 503 is the daemon's "not a swarm manager".
service() {
  local spec="{\"Name\":\"$CPREFIX-$3\",${6:+$6,}\"TaskTemplate\":{${5:+$5,}\"ContainerSpec\":{$4}}}"
  local path
  for path in /services/create "/services/$CPREFIX-$3/update?version=1"; do
    send POST "$path" "$spec"
    if [[ "$1" == 503 ]]; then
      check_passed "Service $3 ($path)"
      ok "Service $3 ($path): passed to the daemon ($(raw_status))"
    else
      refused "$1" "$2" "Service $3 ($path, v$API)"
    fi
  done
}
S='"Image":"local/busybox:1","User":"1000:1000"'
service 403 containers.bind_sources    mnt-bind-root   "$S,\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/\",\"Target\":\"/host\"}]"
service 403 containers.bind_sources    mnt-bind-dotdot "$S,\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"$DATA/../../etc\",\"Target\":\"/e\"}]"
service 403 containers.bind_sources    mnt-bind-sock   "$S,\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/var/run/docker.sock\",\"Target\":\"/d.sock\"}]"
service 403 containers.bind_sources    mnt-upper-type  "$S,\"Mounts\":[{\"Type\":\"Bind\",\"Source\":\"/\",\"Target\":\"/host\"}]"
service 403 volumes.driver_opts        mnt-vol-bind    "$S,\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/v\",\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":\"none\",\"o\":\"bind\",\"device\":\"/\"}}}}]"
service 403 containers.cap_add         cap-sysadmin    "$S,\"CapabilityAdd\":[\"CAP_SYS_ADMIN\"]"
service 403 containers.cap_add         cap-all         "$S,\"CapabilityAdd\":[\"ALL\"]"
service 403 containers.sysctls         sysctls         "$S,\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"}"
service 403 containers.unconfined      selinux-disable "$S,\"Privileges\":{\"SELinuxContext\":{\"Disable\":true}}"
service 403 containers.unconfined      selinux-type    "$S,\"Privileges\":{\"SELinuxContext\":{\"Type\":\"spc_t\"}}"
API=1.56 service 403 containers.unconfined seccomp-off  "$S,\"Privileges\":{\"Seccomp\":{\"Mode\":\"unconfined\"}}"
API=1.56 service 403 containers.unconfined seccomp-custom "$S,\"Privileges\":{\"Seccomp\":{\"Mode\":\"custom\",\"Profile\":\"e30=\"}}"
API=1.56 service 403 containers.unconfined apparmor-off "$S,\"Privileges\":{\"AppArmor\":{\"Mode\":\"disabled\"}}"
service 403 containers.run_as_non_root user-root       '"Image":"local/busybox:1","User":"root"'
service 403 containers.run_as_non_root user-0-0        '"Image":"local/busybox:1","User":"0:0"'
service 403 containers.run_as_non_root user-image      '"Image":"local/busybox:1"'
service 403 containers.run_as_non_root groups-0        "$S,\"Groups\":[\"0\"]"
service 403 images.registries          image-evil      '"Image":"evil.example.com/x:1","User":"1000:1000"'
service 403 containers.host_namespaces task-net-host   "$S" '"Networks":[{"Target":"host"}]'
service 403 containers.host_namespaces task-net-id     "$S" "\"Networks\":[{\"Target\":\"$HOST_NET\"}]"
service 403 containers.host_namespaces spec-net-host   "$S" '' '"Networks":[{"Target":"host"}]'
service 403 containers.privileged      plugin-task     "$S" '"PluginSpec":{"Name":"evil","Remote":"evil.example.com/p:1"}'
service 403 containers.privileged      runtime-plugin  "$S" '"Runtime":"plugin"'
service 503 -                          confined        "$S,\"CapabilityAdd\":[\"CAP_CHOWN\"],\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"$DATA/x\",\"Target\":\"/x\"},{\"Type\":\"tmpfs\",\"Target\":\"/t\"}],\"Privileges\":{\"SELinuxContext\":{\"Type\":\"container_t\"}}" '"Runtime":"container","Networks":[{"Target":"'"$NET"'"}]'
# The 1.56 privileges at their defaults pass the gateway (a 1.41 daemon then refuses the version).
API=1.56 service 503 -                 privileges-156  "$S,\"Privileges\":{\"NoNewPrivileges\":true,\"Seccomp\":{\"Mode\":\"default\"},\"AppArmor\":{\"Mode\":\"default\"}}"

# =========================================================================================
# Plugins: the privileges accepted at install, settings, archives
# =========================================================================================
plugin() { # EXPECT RULE WHAT PATH BODY
  send POST "$4" "$5"
  if [[ "$1" == pass ]]; then
    check_passed "$3"
    ok "$3: passed to the daemon ($(raw_status))"
  else
    refused "$1" "$2" "$3"
  fi
}
P="/plugins/pull?remote=local/$CPREFIX-plugin:1"
plugin 403 images.registries          "PluginPull remote=evil"           '/plugins/pull?remote=evil.example.com/p:1' '[]'
plugin 403 images.registries          "PluginPull remote=hub user"       '/plugins/pull?remote=evilcorp/p:1&name=p' '[]'
plugin 400 -                          "PluginPull remote twice"          "$P&remote=evil.example.com/p:1" '[]'
plugin 403 containers.host_namespaces "PluginPull network=host"          "$P" '[{"Name":"network","Description":"","Value":["host"]}]'
plugin 403 containers.host_namespaces "PluginPull host pid namespace"    "$P" '[{"Name":"host pid namespace","Description":"","Value":["true"]}]'
plugin 403 containers.host_namespaces "PluginPull host ipc namespace"    "$P" '[{"Name":"host ipc namespace","Description":"","Value":["true"]}]'
plugin 403 containers.bind_sources    "PluginPull mount=/"               "$P" '[{"Name":"mount","Description":"","Value":["/"]}]'
plugin 403 containers.bind_sources    "PluginPull mount=/var/lib/docker" "$P" "[{\"Name\":\"mount\",\"Value\":[\"$DATA/x\",\"/var/lib/docker\"]}]"
plugin 403 containers.devices         "PluginPull device"                "$P" '[{"Name":"device","Description":"","Value":["/dev/sda"]}]'
plugin 403 containers.devices         "PluginPull allow-all-devices"     "$P" '[{"Name":"allow-all-devices","Description":"","Value":["true"]}]'
plugin 403 containers.cap_add         "PluginPull capabilities"          "$P" '[{"Name":"capabilities","Description":"","Value":["CAP_SYS_ADMIN"]}]'
plugin 403 containers.privileged      "PluginPull unknown privilege"     "$P" '[{"Name":"rootfs propagation","Description":"","Value":["rshared"]}]'
plugin pass -                         "PluginPull confined privileges"   "$P" "[{\"Name\":\"network\",\"Value\":[\"bridge\"]},{\"Name\":\"mount\",\"Value\":[\"$DATA/x\"]},{\"Name\":\"capabilities\",\"Value\":[\"CAP_CHOWN\"]}]"
U="/plugins/$CPREFIX-plugin/upgrade?remote=local/$CPREFIX-plugin:2"
plugin 403 images.registries          "PluginUpgrade remote=evil"        "/plugins/$CPREFIX-plugin/upgrade?remote=evil.example.com/p:2" '[]'
plugin 403 containers.bind_sources    "PluginUpgrade mount=/"            "$U" '[{"Name":"mount","Description":"","Value":["/"]}]'
plugin 403 containers.host_namespaces "PluginUpgrade network=host"       "$U" '[{"Name":"network","Description":"","Value":["host"]}]'
plugin pass -                         "PluginUpgrade no privileges"      "$U" '[]'
plugin 403 containers.bind_sources    "PluginSet mount source=/"         "/plugins/$CPREFIX-plugin/set" '["data.source=/"]'
plugin 403 containers.devices         "PluginSet device path"            "/plugins/$CPREFIX-plugin/set" '["disk.path=/dev/sda"]'
plugin pass -                         "PluginSet env"                    "/plugins/$CPREFIX-plugin/set" "[\"DEBUG=1\",\"data.source=$DATA/x\"]"
# A plugin archive declares its own privileges, which the gateway cannot read.
tar -C "$WORK/rootfs" -cf "$WORK/plugin.tar" hi
send_file "/plugins/create?name=$CPREFIX-plugin-archive" "$WORK/plugin.tar"
refused 403 containers.privileged "PluginCreate from an archive"
assert_eq "" "$(daemon plugin ls -q 2>/dev/null)" "Plugins: the daemon has no plugin installed"

# =========================================================================================
# Objects made by someone else that would carry a host path or a host namespace into a
# container of alice's: each is judged as if alice were creating it now.
# =========================================================================================
# A named local volume whose options bind the host's root (created by an operator, or by a
# role without volume constraints) does not reach the host through Binds or Mounts by name.
daemon volume create -d local -o type=none -o o=bind -o device=/ "$CPREFIX-hostroot" >/dev/null
ctr_hc 403 containers.bind_sources named-bind-vol "\"Binds\":[\"$CPREFIX-hostroot:/h\"]"
ctr_hc 403 containers.bind_sources named-bind-mnt "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"$CPREFIX-hostroot\",\"Target\":\"/h\"}]"
# A container labelled dockgate.owner=alice but made elsewhere, in the host's namespaces and
# with the host's root bound in, cannot be joined.
daemon run -d --name "$CPREFIX-owned-hostns" --label dockgate.owner=alice --pid host --ipc host --network host -v /:/host local/busybox:1 sleep 300 >/dev/null
ctr_hc 403 containers.host_namespaces owned-hostpid "\"PidMode\":\"container:$CPREFIX-owned-hostns\""
ctr_hc 403 containers.host_namespaces owned-hostipc "\"IpcMode\":\"container:$CPREFIX-owned-hostns\""
ctr_hc 403 containers.host_namespaces owned-hostnet "\"NetworkMode\":\"container:$CPREFIX-owned-hostns\""
ctr_hc 403 containers.bind_sources owned-hostroot "\"VolumesFrom\":[\"$CPREFIX-owned-hostns\"]"

# The allowed twins really run confined: PidMode=container:<own>, started, shares the pid
# namespace of alice's container, not the host's.
assert_success "an allowed container starts" -- daemon start "$CPREFIX-pid-owned"
ns="$(daemon exec "$CPREFIX-pid-owned" readlink /proc/self/ns/pid 2>&1)"
assert_eq "$(daemon exec "$OWNED" readlink /proc/self/ns/pid 2>&1)" "$ns" \
  "PidMode=container:<own> shares alice's container's pid namespace"
assert_ne "$(readlink /proc/self/ns/pid)" "$ns" "PidMode=container:<own> is not the host's pid namespace"
