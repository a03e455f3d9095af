// Option strings judged the way the daemon, runc and the kernel read them: every form of a
// security option, SELinux levels, tmpfs and bind options, sysctls, log drivers and their
// options, rlimits, host ports and network options. Each refusal has an accepted twin.

#include <gtest/gtest.h>

#include "gateway/inspect/option_rules.hpp"

namespace dockgate::inspect {
namespace {

config::container_constraints confined() {
    config::container_constraints c;
    c.seccomp_profiles.push_back(
        {"strict.json", R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []})"});
    return c;
}

struct opt_row {
    std::string_view opt;
    char const* rule; // nullptr: accepted
};

TEST(security_opt, every_form_the_daemon_accepts_is_judged) {
    auto const c = confined();
    for (auto const& r : std::vector<opt_row>{
             {"no-new-privileges", nullptr},
             {"no-new-privileges=true", nullptr},
             {"no-new-privileges:1", nullptr},
             {"no-new-privileges=false", "containers.unconfined"}, // overrides the daemon's default
             {"no-new-privileges:0", "containers.unconfined"},
             {"no-new-privileges=yes", "containers.unconfined"},
             {"apparmor=docker-default", nullptr},
             {"apparmor=", nullptr}, // the default
             {"apparmor=unconfined", "containers.unconfined"},
             {"apparmor:unconfined", "containers.unconfined"},
             {"apparmor=unconf", "containers.unconfined"}, // the kernel's prefix rule
             {"apparmor=u", "containers.unconfined"},
             {"apparmor= unconfined", "containers.unconfined"}, // the kernel trims it
             {"apparmor=unconfined\n", "containers.unconfined"},
             {std::string_view("apparmor=unconfined\0x", 21), "containers.unconfined"},
             {"apparmor=Unconfined", "containers.apparmor_profiles"},
             {"apparmor=&docker-default", "containers.apparmor_profiles"},
             {"apparmor=:ns:", "containers.apparmor_profiles"},
             {"apparmor=docker-default//&unconfined", "containers.apparmor_profiles"},
             {"seccomp=unconfined", "containers.unconfined"},
             {"seccomp:unconfined", "containers.unconfined"},
             {"seccomp=builtin", "containers.seccomp_profiles"},
             {"seccomp={}", "containers.seccomp_profiles"},
             {"seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}", "containers.seccomp_profiles"},
             {"seccomp={\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[]}", nullptr},
             {"seccomp=/etc/profile.json", "containers.seccomp_profiles"},
             {"label=disable", "containers.unconfined"},
             {"label:disable", "containers.unconfined"},
             {"disable", "containers.unconfined"},
             {"label=type:spc_t", "containers.unconfined"},
             {"label=type:container_t", nullptr},
             {"label=type:container_t:s0", "containers.unconfined"}, // shifts the level
             {"label=level:s0:c100,c200", nullptr},
             {"label=level:s0-s0:c0.c1023", "containers.unconfined"},
             {"label=level:s0:c0.c1023", "containers.unconfined"},
             {"label=user:system_u", "containers.unconfined"},
             {"label=role:system_r", "containers.unconfined"},
             {"label=filetype:container_file_t", nullptr},
             {"label=filetype:shadow_t", "containers.unconfined"},
             {"label=bogus:x", "containers.unconfined"},
             {"writable-cgroups", "containers.unconfined"},
             {"writable-cgroups=true", "containers.unconfined"},
             {"writable-cgroups=false", nullptr},
             {"systempaths=unconfined", "containers.unconfined"},
             {"SECCOMP=unconfined", "containers.unconfined"},
             {"apparmor:x=unconfined", "containers.unconfined"},
             {"foo", "containers.unconfined"},
         }) {
        auto const refused = judge_security_opt(r.opt, c);
        if (r.rule == nullptr) {
            EXPECT_FALSE(refused) << r.opt << ": " << refused->why;
        } else {
            ASSERT_TRUE(refused) << r.opt;
            EXPECT_EQ(refused->rule, r.rule) << r.opt << ": " << refused->why;
        }
    }
    auto open = c;
    open.unconfined = true;
    EXPECT_FALSE(judge_security_opt("apparmor=unconfined", open));
    auto listed = c;
    listed.apparmor_profiles.push_back("my-profile");
    EXPECT_FALSE(judge_security_opt("apparmor=my-profile", listed));
}

TEST(security_opt, a_nul_byte_is_refused) {
    std::string const opt("apparmor=docker-default\0junk", 28);
    EXPECT_TRUE(judge_security_opt(opt, confined()));
}

TEST(tmpfs_options, the_defaults_confinement_stays) {
    for (auto const* ok : {"", "size=64m", "size=64m,mode=1777,noexec,nosuid,nodev", "ro",
                           "uid=1000,gid=1000,nr_inodes=1k", "rprivate", "exec"})
        EXPECT_FALSE(judge_tmpfs_options(ok)) << ok;
    for (auto const* bad : {"suid", "dev", "size=1m,suid", "bind", "rbind", "rshared", "shared",
                            "slave", "remount", "mand", "mpol=bind:0", "size=1m,,x", "unbindable"})
        EXPECT_TRUE(judge_tmpfs_options(bad)) << bad;
}

TEST(bind_mode, relabelling_and_propagation_are_refused) {
    for (auto const* ok : {"ro", "rw", "ro,nocopy", "rslave", "rprivate", "delegated"})
        EXPECT_FALSE(judge_bind_mode(ok)) << ok;
    for (auto const* bad : {"z", "Z", "ro,z", "rshared", "shared", "bogus"})
        EXPECT_TRUE(judge_bind_mode(bad)) << bad;
}

TEST(sysctl, only_what_the_containers_namespaces_hold) {
    for (auto const* ok :
         {"net.ipv4.ip_unprivileged_port_start", "net.core.somaxconn", "kernel.shm_rmid_forced",
          "kernel.msgmax", "fs.mqueue.msg_max", "net/ipv4/ip_forward", "kernel.domainname"})
        EXPECT_FALSE(judge_sysctl(ok)) << ok;
    for (auto const* bad : {"kernel.core_pattern", "vm.overcommit_memory", "kernel.hostname",
                            "fs.file-max", "net..x", "kernel/core_pattern", "net.ipv4 .x"})
        EXPECT_TRUE(judge_sysctl(bad)) << bad;
}

TEST(log_config, drivers_and_their_options) {
    auto c = confined();
    using opts = std::vector<std::pair<std::string, std::string>>;
    EXPECT_FALSE(judge_log_config("", {}, c));
    EXPECT_FALSE(judge_log_config("json-file", opts{{"max-size", "10m"}, {"max-file", "3"}}, c));
    EXPECT_FALSE(judge_log_config("local", opts{{"mode", "non-blocking"}, {"tag", "x"}}, c));
    EXPECT_FALSE(judge_log_config("", opts{{"max-size", "10m"}}, c));
    auto r = judge_log_config("", opts{{"syslog-address", "tcp://10.0.0.1:514"}}, c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->rule, "containers.log_drivers");
    r = judge_log_config("json-file", opts{{"syslog-address", "tcp://1.2.3.4:1"}}, c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->rule, "containers.log_drivers");
    r = judge_log_config("syslog", {}, c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->rule, "containers.log_drivers"); // not listed
    c.log_drivers.push_back("syslog");
    r = judge_log_config("syslog", {}, c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->rule, "containers.unconfined"); // listed, but it sends logs over the network
    c.unconfined = true;
    EXPECT_FALSE(judge_log_config("syslog", opts{{"syslog-address", "udp://logs:514"}}, c));
    r = judge_log_config("syslog", opts{{"gelf-address", "udp://x:1"}}, c);
    ASSERT_TRUE(r);
    r = judge_log_config("../../../../tmp/evil", {}, c);
    ASSERT_TRUE(r);
    EXPECT_NE(r->why.find("not a plugin name"), std::string::npos);
    c.log_drivers.push_back("none");
    EXPECT_FALSE(judge_log_config("none", {}, c));
    EXPECT_TRUE(judge_log_config("none", opts{{"anything", "x"}}, c));
}

TEST(ulimit, scheduling_and_pinned_memory_are_refused) {
    for (auto const* ok : {"nofile", "NPROC", "core", "stack"})
        EXPECT_FALSE(judge_ulimit(ok)) << ok;
    for (auto const* bad : {"rtprio", "RTTIME", "nice", "memlock", "bogus", ""})
        EXPECT_TRUE(judge_ulimit(bad)) << bad;
}

TEST(host_port, the_lowest_port_of_a_binding) {
    EXPECT_EQ(lowest_host_port(""), std::nullopt);
    EXPECT_EQ(lowest_host_port("8080"), 8080u);
    EXPECT_EQ(lowest_host_port("80"), 80u);
    EXPECT_EQ(lowest_host_port("8000-8010"), 8000u);
    EXPECT_EQ(lowest_host_port("80-9000"), 80u);
    EXPECT_EQ(lowest_host_port("80/udp"), 80u);
    EXPECT_EQ(lowest_host_port("x"), 0u);
    EXPECT_EQ(lowest_host_port("9000-80"), 0u);
    EXPECT_EQ(lowest_host_port("70000"), 0u);
}

TEST(network_options, only_the_known_bridge_options) {
    EXPECT_FALSE(judge_network_option("com.docker.network.driver.mtu"));
    EXPECT_FALSE(judge_network_option("com.docker.network.bridge.enable_icc"));
    EXPECT_TRUE(judge_network_option("com.docker.network.bridge.host_binding_ipv4"));
    EXPECT_TRUE(judge_network_option("com.docker.network.bridge.gateway_mode_ipv4"));
    EXPECT_TRUE(judge_network_option("parent"));
    auto c = confined();
    EXPECT_TRUE(judge_endpoint_option("com.docker.network.endpoint.sysctls",
                                      "net.ipv4.conf.IFNAME.forwarding=1", c));
    c.sysctls = true;
    EXPECT_FALSE(judge_endpoint_option("com.docker.network.endpoint.sysctls",
                                       "net.ipv4.conf.IFNAME.forwarding=1", c));
    EXPECT_TRUE(
        judge_endpoint_option("com.docker.network.endpoint.sysctls", "kernel.x.y.IFNAME.z=1", c));
    EXPECT_FALSE(judge_endpoint_option("com.docker.network.endpoint.ifname", "eth7", c));
    EXPECT_TRUE(judge_endpoint_option("com.example.vendor", "x", c));
}

TEST(health_interval, more_often_than_a_second_is_refused) {
    EXPECT_FALSE(judge_health_interval("30000000000"));
    EXPECT_FALSE(judge_health_interval("0"));
    EXPECT_TRUE(judge_health_interval("1000000"));
}

} // namespace
} // namespace dockgate::inspect
