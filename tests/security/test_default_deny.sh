#!/usr/bin/env bash
# Default deny inside a constraint, one class at a time, each built the way someone who reads
# moby, runc and the kernel would build it, and each with its nearest allowed twin. alice's
# role has every constraint section. A refusal must be the gateway's own and name the rule; the
# daemon must not have acted (no container, volume, network or image by that name exists, a
# container refused a start is not running).
#   fields      a field the tables do not know, a full capability set, real-time CPU, OOM
#   options     security options in every form, SELinux levels, tmpfs, bind modes, sysctls,
#               log drivers and options, storage options, rlimits
#   parameters  a parameter the gateway does not judge (start's checkpoint)
#   versions    an empty CgroupnsMode at API 1.40 is forwarded as "private"
#   drivers     volume, log and network drivers named as paths out of the plugin folders
#   networks    an existing macvlan network joined by name
#   builds      FROM, # syntax, a pushing output, rlimits and the platform of a build
#   provenance  tag, import, load, commit and build -t into a trusted name
#   gaps        negative OOM score, privileged host ports, cluster mounts, Grpc
source "$(dirname "$0")/../integration/lib.sh"
it_init "$@"
replay_start # every request is replayed through `dockgate explain` at the end (lib.sh)

DATA="$(mktemp -d /tmp/dockgate-it-dd.XXXXXX)"
on_exit "rm -rf $DATA"
mkdir -p "$DATA/x"
printf '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"}]}' >"$DATA/strict.json"

GW="$WORK/gw"
write_gateway_head "$GW" "$(free_port)"
cat >>"$GW/dockgate.toml" <<EOF

[roles.developer]
subjects = ["group:developers"]
allow = ["Container*", "Exec*", "Image*", "System*", "Volume*", "Network*", "Grpc"]
deny = ["ImagePush"]

[roles.developer.containers]
cap_add = ["CHOWN"]
bind_sources = ["$DATA"]
run_as_non_root = true
sysctls = true
log_drivers = ["json-file", "local", "syslog"]
apparmor_profiles = ["docker-default"]
seccomp_profiles = ["default", "$DATA/strict.json"]

[roles.developer.volumes]
drivers = ["local"]

[roles.developer.images]
registries = ["docker.io/library", "docker.io/local"]

[roles.developer.build]
EOF
assert_success "check-config accepts every new key" -- "$DOCKGATE" check-config "$GW/dockgate.toml"
assert_contains "$LAST_OUT" 'warning: roles.developer.allow: "Grpc"' "check-config warns that Grpc is refused here"
start_gateway "$GW/dockgate.toml"
source "$(dirname "$0")/security_lib.sh"
on_exit cleanup_objects
HOST_NS="$(readlink /proc/self/ns/cgroup)"

# =========================================================================================
# Fields: unknown or unjudged ones with a value are refused; zero values pass
# =========================================================================================
ctr_hc 403 containers                unknown-field     '"FutureField":true'
ctr_hc 201 -                         unknown-zero      '"FutureField":false,"OtherFuture":null,"Third":{}'
ctr    403 containers                unknown-top       '"Image":"local/busybox:1","User":"1000:1000","Future":{"a":1}'
ctr_hc 403 containers.cap_add        capability-set    '"Capabilities":["CAP_SYS_ADMIN"]'
ctr_hc 403 containers                rt-runtime        '"CpuRealtimeRuntime":950000'
ctr_hc 201 -                         rt-runtime-zero   '"CpuRealtimeRuntime":0'
ctr_hc 403 containers                oom-kill-disable  '"OomKillDisable":true'
ctr_hc 403 containers                mount-unknown     '"Mounts":[{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Future":1}}]'
ctr    403 containers.host_namespaces endpoint-netid   '"Image":"local/busybox:1","User":"1000:1000","NetworkingConfig":{"EndpointsConfig":{"bridge":{"NetworkID":"host"}}}'

# =========================================================================================
# Option strings, judged as the daemon, runc and the kernel read them
# =========================================================================================
ctr_hc 403 containers.unconfined     aa-newline        '"SecurityOpt":["apparmor=unconfined\n"]'
ctr_hc 403 containers.unconfined     aa-space          '"SecurityOpt":["apparmor= unconfined"]'
ctr_hc 403 containers.unconfined     aa-prefix         '"SecurityOpt":["apparmor=unconf"]'
ctr_hc 403 containers.unconfined     aa-colon          '"SecurityOpt":["apparmor:unconfined"]'
ctr_hc 403 containers.apparmor_profiles aa-other       '"SecurityOpt":["apparmor=Unconfined"]'
ctr_hc 201 -                         aa-default        '"SecurityOpt":["apparmor=docker-default"]'
ctr_hc 403 containers.unconfined     nnp-false         '"SecurityOpt":["no-new-privileges=false"]'
ctr_hc 403 containers.unconfined     nnp-colon-false   '"SecurityOpt":["no-new-privileges:0"]'
ctr_hc 201 -                         nnp-true          '"SecurityOpt":["no-new-privileges:true"]'
ctr_hc 403 containers.unconfined     cgroups-rw        '"SecurityOpt":["writable-cgroups"]'
ctr_hc 403 containers.unconfined     label-range       '"SecurityOpt":["label=level:s0-s0:c0.c1023"]'
ctr_hc 403 containers.unconfined     label-user        '"SecurityOpt":["label=user:system_u"]'
ctr_hc 403 containers.unconfined     label-disable-bare '"SecurityOpt":["disable"]'
ctr_hc 201 -                         label-level       '"SecurityOpt":["label=level:s0:c100,c200"]'
ctr_hc 403 containers.seccomp_profiles seccomp-empty   '"SecurityOpt":["seccomp={}"]'
ctr_hc 403 containers.seccomp_profiles seccomp-builtin '"SecurityOpt":["seccomp=builtin"]'
strict="$(sed 's/"/\\"/g' "$DATA/strict.json")"
ctr_hc 201 -                         seccomp-listed    "\"SecurityOpt\":[\"seccomp=$strict\"]"
ctr_hc 403 containers.unconfined     tmpfs-suid        '"Tmpfs":{"/t":"size=1m,suid"}'
ctr_hc 403 containers.bind_sources   tmpfs-rbind       '"Tmpfs":{"/t":"rbind"}'
ctr_hc 201 -                         tmpfs-ok          '"Tmpfs":{"/t":"size=1m,noexec,nosuid"}'
ctr_hc 403 containers.bind_sources   bind-relabel      "\"Binds\":[\"$DATA/x:/x:z\"]"
ctr_hc 403 containers.bind_sources   bind-rshared      "\"Binds\":[\"$DATA/x:/x:rshared\"]"
ctr_hc 201 -                         bind-ro           "\"Binds\":[\"$DATA/x:/x:ro,rslave\"]"
ctr_hc 403 containers.sysctls        sysctl-host       '"Sysctls":{"kernel.core_pattern":"|/tmp/x"}'
ctr_hc 403 containers.sysctls        sysctl-slash      '"Sysctls":{"kernel/core_pattern":"|/tmp/x"}'
ctr_hc 201 -                         sysctl-ns         '"Sysctls":{"net.core.somaxconn":"1024","kernel.shm_rmid_forced":"1"}'
ctr_hc 403 containers.log_drivers    log-address       '"LogConfig":{"Type":"json-file","Config":{"syslog-address":"tcp://127.0.0.1:1"}}'
ctr_hc 403 containers.log_drivers    log-default-opts  '"LogConfig":{"Type":"","Config":{"syslog-address":"udp://127.0.0.1:1"}}'
ctr_hc 403 containers.unconfined     log-network       '"LogConfig":{"Type":"syslog","Config":{}}'
ctr_hc 403 containers.log_drivers    log-unlisted      '"LogConfig":{"Type":"gelf","Config":{"gelf-address":"udp://127.0.0.1:1"}}'
ctr_hc 201 -                         log-file          '"LogConfig":{"Type":"json-file","Config":{"max-size":"1m","max-file":"2"}}'
ctr_hc 403 containers                storage-opt       '"StorageOpt":{"dm.basesize":"1G"}'
ctr_hc 403 containers                ulimit-rtprio     '"Ulimits":[{"Name":"rtprio","Soft":99,"Hard":99}]'
ctr_hc 201 -                         ulimit-nofile     '"Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048}]'

# =========================================================================================
# Parameters: each governed operation has its list
# =========================================================================================
send POST "/containers/create?name=$CPREFIX-param&future=1" '{"Image":"local/busybox:1","User":"1000:1000"}'
refused 403 containers "ContainerCreate with an unknown parameter"
exists "$CPREFIX-param" && fail "ContainerCreate with an unknown parameter: the daemon created it"
ok "ContainerCreate with an unknown parameter: not created"
STARTEE="$CPREFIX-nnp-true"
send POST "/containers/$STARTEE/start?checkpoint=../../../../etc" ''
refused 403 containers "ContainerStart with checkpoint (restores from a host folder)"
assert_eq false "$(daemon inspect -f '{{.State.Running}}' "$STARTEE")" "ContainerStart with checkpoint: the container did not start"
send POST "/containers/$STARTEE/start" ''
assert_eq 204 "$(raw_status)" "ContainerStart without it: started ($(reply))"
assert_eq true "$(daemon inspect -f '{{.State.Running}}' "$STARTEE")" "the allowed start ran the container"

# =========================================================================================
# Version-dependent defaults: an empty CgroupnsMode is the host's for API < 1.41 on cgroup v1
# hosts, and the daemon's default (also the host's there) otherwise: forwarded as "private".
# =========================================================================================
API=1.40 send POST "/containers/create?name=$CPREFIX-cgroupns" '{"Image":"local/busybox:1","User":"1000:1000","Cmd":["sleep","60"]}'
assert_eq 201 "$(raw_status)" "ContainerCreate at API 1.40 without CgroupnsMode: created ($(reply))"
assert_eq private "$(daemon inspect -f '{{.HostConfig.CgroupnsMode}}' "$CPREFIX-cgroupns")" \
  "the daemon got CgroupnsMode private"
daemon start "$CPREFIX-cgroupns" >/dev/null
pid="$(daemon inspect -f '{{.State.Pid}}' "$CPREFIX-cgroupns")"
assert_ne "$HOST_NS" "$(readlink "/proc/$pid/ns/cgroup")" "the container is not in the host's cgroup namespace"

# =========================================================================================
# Driver names: a name is a path to dockerd's legacy plugin discovery
# =========================================================================================
# A plugin spec file where a container could have written one: dockerd would use it as a
# volume plugin if the name reached it.
mkdir -p "$DATA/plugins" && echo "unix://$DATA/plugins/evil.sock" >"$DATA/plugins/evil.spec"
escape="../../../..$DATA/plugins/evil"
ctr_hc 403 volumes.drivers           voldriver-path    "\"VolumeDriver\":\"$escape\",\"Binds\":[\"$CPREFIX-pv:/v\"]"
ctr_hc 403 volumes.drivers           mount-driver-path "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"$CPREFIX-pm\",\"Target\":\"/v\",\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"$escape\"}}}]"
ctr_hc 403 volumes.drivers           voldriver-plugin  '"VolumeDriver":"rexray/ebs","Binds":["x:/v"]'
ctr_hc 403 containers.log_drivers    logdriver-path    "\"LogConfig\":{\"Type\":\"$escape\"}"
daemon_has volume "$CPREFIX-pv" && fail "a volume of the refused create exists"
ok "no volume of a refused driver exists"
send POST /volumes/create "{\"Name\":\"$CPREFIX-vpath\",\"Driver\":\"$escape\"}"
refused 403 volumes.drivers "VolumeCreate with a driver path"
daemon_has volume "$CPREFIX-vpath" && fail "VolumeCreate with a driver path: the volume exists"
ok "VolumeCreate with a driver path: no volume"
send POST /volumes/create "{\"Name\":\"$CPREFIX-vlocal\",\"Driver\":\"local\"}"
assert_eq 201 "$(raw_status)" "VolumeCreate with the local driver: created ($(reply))"
send POST /networks/create "{\"Name\":\"$CPREFIX-npath\",\"Driver\":\"$escape\"}"
refused 403 containers.host_namespaces "NetworkCreate with a driver path"
daemon_has network "$CPREFIX-npath" && fail "NetworkCreate with a driver path: it exists"
ok "NetworkCreate with a driver path: no network"
send POST /networks/create "{\"Name\":\"$CPREFIX-nipam\",\"IPAM\":{\"Driver\":\"$escape\"}}"
refused 403 containers.host_namespaces "NetworkCreate with an IPAM driver path"
send POST /networks/create "{\"Name\":\"$CPREFIX-nopt\",\"Options\":{\"com.docker.network.bridge.host_binding_ipv4\":\"0.0.0.0\"}}"
refused 403 containers.host_namespaces "NetworkCreate with a network option the gateway does not judge"
send POST /networks/create "{\"Name\":\"$CPREFIX-nok\",\"Options\":{\"com.docker.network.driver.mtu\":\"1400\"}}"
assert_eq 201 "$(raw_status)" "NetworkCreate with a judged option: created ($(reply))"

# =========================================================================================
# Existing networks: joined by name, judged by their driver
# =========================================================================================
VETH="dg$$"
ip link add "$VETH" type veth peer name "${VETH}p" || fail "cannot make a veth pair for a macvlan parent (iproute2, root)"
on_exit "ip link del $VETH"
daemon network create -d macvlan -o parent="$VETH" "$CPREFIX-lan" >/dev/null
ctr_hc 403 containers.host_namespaces join-macvlan     "\"NetworkMode\":\"$CPREFIX-lan\""
ctr    403 containers.host_namespaces ep-macvlan       "\"Image\":\"local/busybox:1\",\"User\":\"1000:1000\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"$CPREFIX-lan\":{}}}"
ctr_hc 201 -                         join-bridge       "\"NetworkMode\":\"$CPREFIX-nok\""
# The join is pinned: the daemon stores the network's id, not a name another network could take.
assert_eq "$(daemon network inspect -f '{{.Id}}' "$CPREFIX-nok")" \
  "$(daemon inspect -f '{{.HostConfig.NetworkMode}}' "$CPREFIX-join-bridge")" "the forwarded NetworkMode is the network's full id"

# =========================================================================================
# Builds: the images the Dockerfile names, outputs that push
# =========================================================================================
build_ctx() { # NAME DOCKERFILE: a context tar with that Dockerfile
  mkdir -p "$WORK/ctx-$1"
  printf '%b' "$2" >"$WORK/ctx-$1/Dockerfile"
  tar -C "$WORK/ctx-$1" -cf "$WORK/ctx-$1.tar" Dockerfile
}
BUILD_N=0
build_case() { # EXPECT RULE SLUG QUERY
  BUILD_N=$((BUILD_N + 1))
  local hex='\x'
  local tag="it-local/$CPREFIX-b-$3-$BUILD_N" what="ImageBuild $3${4:+ ?$(printf '%b' "${4//%/$hex}")}"
  send_file "/build?t=$tag&rm=1&$4" "$WORK/ctx-$3.tar"
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
build_ctx from-evil   'FROM evil.example.com/x:1\nRUN true\n'
build_ctx from-arg    'ARG BASE=evil.example.com/x:1\nFROM ${BASE}\n'
build_ctx from-copy   'FROM local/busybox:1\nCOPY --from=evil.example.com/tools:1 /x /x\n'
build_ctx syntax      '# syntax=evil.example.com/frontend:1\nFROM local/busybox:1\n'
build_ctx from-ok     'FROM local/busybox:1\nRUN true\n'
build_case 403 images.registries from-evil ''
build_case 403 images.registries from-arg  ''
build_case 403 images.registries from-copy ''
build_case 403 images.registries syntax    ''
build_ctx from-arg-override 'ARG BASE=local/busybox:1\nFROM ${BASE}\n'
build_case 403 images.registries from-arg-override 'buildargs=%7B%22BASE%22%3A%22evil.example.com%2Fx%3A1%22%7D'
build_case 403 images.registries from-ok   'remote=client-session'
build_case 403 build             from-ok   'outputs=%5B%7B%22Type%22%3A%22registry%22%2C%22Attrs%22%3A%7B%22name%22%3A%22evil.example.com%2Fx%22%7D%7D%5D'
build_case 403 containers        from-ok   'ulimits=%5B%7B%22Name%22%3A%22rtprio%22%2C%22Soft%22%3A99%2C%22Hard%22%3A99%7D%5D'
build_case 400 -                 from-ok   'platform=linux%2F%2Famd64'
build_case 200 -                 from-ok   'platform=linux&ulimits=%5B%7B%22Name%22%3A%22nofile%22%2C%22Soft%22%3A1024%2C%22Hard%22%3A1024%7D%5D'
build_case 200 -                 from-ok   ''

# =========================================================================================
# Provenance: a local image may not take a trusted registry's name
# =========================================================================================
send POST "/images/local/busybox:1/tag?repo=local/$CPREFIX-fake&tag=1" ''
refused 403 images.local_names "ImageTag into docker.io/local (trusted)"
daemon_has image "local/$CPREFIX-fake:1" && fail "ImageTag into a trusted name: the tag exists"
ok "ImageTag into a trusted name: no such tag"
send POST "/images/local/busybox:1/tag?repo=it-local/$CPREFIX-mine&tag=1" ''
assert_eq 201 "$(raw_status)" "ImageTag into a name outside the registries: allowed ($(reply))"
send POST "/commit?container=$STARTEE&repo=local/$CPREFIX-commit&tag=1" ''
refused 403 images.local_names "ImageCommit into a trusted name"
daemon_has image "local/$CPREFIX-commit:1" && fail "ImageCommit into a trusted name: the image exists"
ok "ImageCommit into a trusted name: no image"
# (a small archive: the refusal does not depend on what it holds)
send_file "/images/load" "$WORK/ctx-from-ok.tar"
refused 403 images.local_names "ImageLoad (an archive names its own images)"
send_file "/build?t=local/$CPREFIX-built:1&rm=1" "$WORK/ctx-from-ok.tar"
refused 403 images.local_names "ImageBuild -t into a trusted name"
daemon_has image "local/$CPREFIX-built:1" && fail "ImageBuild -t into a trusted name: the image exists"
ok "ImageBuild -t into a trusted name: no image"

# =========================================================================================
# Gaps closed
# =========================================================================================
ctr_hc 403 containers                oom-negative      '"OomScoreAdj":-500'
ctr_hc 201 -                         oom-positive      '"OomScoreAdj":500'
ctr    403 containers.privileged_ports port-80         '"Image":"local/busybox:1","User":"1000:1000","ExposedPorts":{"80/tcp":{}},"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"80"}]}}'
ctr    403 containers.privileged_ports port-range      '"Image":"local/busybox:1","User":"1000:1000","ExposedPorts":{"80/tcp":{}},"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"1000-1100"}]}}'
ctr    201 -                         port-8080         '"Image":"local/busybox:1","User":"1000:1000","ExposedPorts":{"80/tcp":{}},"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"18080"}]}}'
ctr_hc 403 containers.unconfined     mount-cluster     '"Mounts":[{"Type":"cluster","Source":"csi-vol","Target":"/c"}]'
send POST /grpc ''
refused 403 build "Grpc (BuildKit's own API) under build constraints"
