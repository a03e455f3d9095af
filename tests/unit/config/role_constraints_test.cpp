// [roles.NAME.containers|volumes|images|build] and `ownership`: they load, absent sections
// constrain nothing, present sections default to denying, and bad values name their key.

#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace dockgate::config {
namespace {

std::string const base = R"(
[gateway]
upstream = "unix:///var/run/docker.sock"
[listen.unix]
path = "/run/dockgate-test/docker.sock"
)";

config parse(std::string const& roles) {
    return parse_config(base + roles, "/tmp", "test.toml");
}

std::string problems(std::string const& roles) {
    try {
        parse(roles);
        return "";
    } catch (config_error const& e) {
        std::string all;
        for (auto const& p : e.problems())
            all += p + "\n";
        return all;
    }
}

TEST(role_constraints, the_issue_example_loads) {
    auto const cfg = parse(R"(
[roles.developer]
subjects = ["group:developers"]
allow = ["Container*", "Image*", "Volume*"]
[roles.developer.containers]
privileged = false
cap_add = ["NET_BIND_SERVICE", "cap_chown"]
bind_sources = ["/srv/data", "/srv/cache/"]
host_namespaces = false
cgroup_parent = false
devices = false
unconfined = false
run_as_non_root = true
sysctls = false
runtimes = ["runc", "runsc"]
inject_security_opt = ["no-new-privileges"]
cap_drop_all = true
[roles.developer.volumes]
driver_opts = false
[roles.developer.images]
registries = ["registry.example.com", "docker.io/library", "index.docker.io/team", "localhost:5000"]
require_digest = true
[roles.developer.build]
network_host = false
remote_context = true
[roles.ci]
subjects = ["group:ci"]
allow = ["Container*"]
ownership = true
)");
    ASSERT_EQ(cfg.roles.size(), 2u);
    auto const& dev = cfg.roles[0].constraints;
    ASSERT_TRUE(dev.containers);
    EXPECT_EQ(dev.containers->cap_add,
              (std::vector<std::string>{"CAP_NET_BIND_SERVICE", "CAP_CHOWN"}));
    EXPECT_EQ(dev.containers->bind_sources, (std::vector<std::string>{"/srv/data", "/srv/cache"}));
    EXPECT_TRUE(dev.containers->run_as_non_root);
    EXPECT_TRUE(dev.containers->cap_drop_all);
    EXPECT_EQ(dev.containers->runtimes, (std::vector<std::string>{"runc", "runsc"}));
    EXPECT_EQ(dev.containers->inject_security_opt, (std::vector<std::string>{"no-new-privileges"}));
    ASSERT_TRUE(dev.volumes);
    EXPECT_FALSE(dev.volumes->driver_opts);
    ASSERT_TRUE(dev.images && dev.images->registries);
    ASSERT_EQ(dev.images->registries->size(), 4u);
    EXPECT_EQ((*dev.images->registries)[1].domain, "docker.io");
    EXPECT_EQ((*dev.images->registries)[1].path, "library");
    EXPECT_EQ((*dev.images->registries)[2].domain, "docker.io");
    EXPECT_EQ((*dev.images->registries)[3].domain, "localhost:5000");
    EXPECT_TRUE(dev.images->require_digest);
    ASSERT_TRUE(dev.build);
    EXPECT_TRUE(dev.build->remote_context);
    EXPECT_FALSE(dev.ownership);
    EXPECT_TRUE(cfg.roles[1].constraints.ownership);
    EXPECT_FALSE(cfg.roles[1].constraints.containers);
}

TEST(role_constraints, absent_sections_constrain_nothing_present_ones_deny_by_default) {
    auto const cfg = parse(R"(
[roles.plain]
subjects = ["user:bob"]
allow = ["*"]
[roles.boxed]
subjects = ["user:carol"]
allow = ["*"]
[roles.boxed.containers]
[roles.boxed.images]
)");
    EXPECT_TRUE(cfg.roles[0].constraints.empty());
    auto const& boxed = cfg.roles[1].constraints;
    ASSERT_TRUE(boxed.containers);
    EXPECT_FALSE(boxed.containers->privileged);
    EXPECT_TRUE(boxed.containers->cap_add.empty());
    EXPECT_TRUE(boxed.containers->bind_sources.empty());
    EXPECT_FALSE(boxed.containers->host_namespaces);
    EXPECT_EQ(boxed.containers->runtimes, (std::vector<std::string>{"runc"}));
    EXPECT_FALSE(boxed.containers->run_as_non_root);
    ASSERT_TRUE(boxed.images);
    EXPECT_FALSE(boxed.images->registries); // no registries key: any registry
}

TEST(role_constraints, bad_values_name_their_key_and_fix) {
    auto const p = problems(R"(
[roles.developer]
subjects = ["group:developers"]
allow = ["*"]
ownership = "yes"
[roles.developer.containers]
privileged = "no"
cap_add = ["NET_BIND_SERVICE", "SYS_ADMN", "ALL", "FOO_BAR_BAZ_QUUX"]
bind_sources = ["srv/data", "/srv/../etc", "/ok"]
runtimes = ["run c"]
inject_security_opt = ["seccomp=unconfined", "label=disable", "apparmor=docker-default"]
devicez = false
[roles.developer.images]
registries = ["library", "https://registry.example.com", "registry.example.com/Team", "bad_host.com:70000", "docker.io/library:latest"]
[roles.developer.build]
network = true
[roles.developer.volumes]
driver_opts = 1
)");
    for (auto const* want : {
             "roles.developer.ownership: expected true or false, got a string",
             "roles.developer.containers.privileged: expected true or false, got a string",
             "roles.developer.containers.cap_add[1]: unknown capability \"SYS_ADMN\" (did you mean "
             "\"SYS_ADMIN\"?)",
             "roles.developer.containers.cap_add[2]: \"ALL\" is not allowed here",
             "roles.developer.containers.cap_add[3]: unknown capability \"FOO_BAR_BAZ_QUUX\" (use "
             "a Linux capability name",
             "roles.developer.containers.bind_sources[0]: \"srv/data\" is not an absolute path",
             "roles.developer.containers.bind_sources[1]: \"/srv/../etc\" contains \"..\" (write "
             "the path it means: \"/etc\")",
             "roles.developer.containers.runtimes[0]:",
             "roles.developer.containers.inject_security_opt[0]: cannot inject "
             "\"seccomp=unconfined\"",
             "roles.developer.containers.inject_security_opt[1]: cannot inject \"label=disable\"",
             "roles.developer.containers.devicez: unknown key (did you mean \"devices\"?)",
             "roles.developer.images.registries[0]: \"library\" does not start with a registry "
             "host",
             "roles.developer.images.registries[1]: \"https://registry.example.com\" has a URL "
             "scheme",
             "roles.developer.images.registries[2]: \"registry.example.com/Team\": \"Team\" is not "
             "a repository path component",
             "roles.developer.images.registries[3]: \"bad_host.com:70000\" is not a registry host",
             "roles.developer.images.registries[4]: \"docker.io/library:latest\" names a tag or "
             "digest",
             "roles.developer.build.network: unknown key (remove it; valid keys here: "
             "network_host, remote_context)",
             "roles.developer.volumes.driver_opts: expected true or false, got an integer",
         }) {
        EXPECT_NE(p.find(want), std::string::npos) << "missing: " << want << "\nin:\n" << p;
    }
    EXPECT_EQ(p.find("inject_security_opt[2]"), std::string::npos) << p;
    EXPECT_EQ(p.find("bind_sources[2]"), std::string::npos) << p;
}

TEST(role_constraints, sections_must_be_tables) {
    auto const p = problems(R"(
[roles.developer]
subjects = ["group:developers"]
allow = ["*"]
containers = true
)");
    EXPECT_NE(p.find("roles.developer.containers: expected a table, got a boolean"),
              std::string::npos)
        << p;
}

TEST(registry_scope, parse) {
    std::string why;
    auto s = parse_registry_scope("Registry.Example.com:5000/team/app", why);
    ASSERT_TRUE(s) << why;
    EXPECT_EQ(s->domain, "registry.example.com:5000");
    EXPECT_EQ(s->path, "team/app");
    EXPECT_FALSE(parse_registry_scope("", why));
    EXPECT_FALSE(parse_registry_scope("docker.io/", why));
    EXPECT_TRUE(parse_registry_scope("[::1]:5000", why));
}

TEST(paths, clean_and_within) {
    EXPECT_EQ(clean_path("/srv/data/../../etc"), "/etc");
    EXPECT_EQ(clean_path("//srv/./data/"), "/srv/data");
    EXPECT_EQ(clean_path("/.."), "/");
    EXPECT_EQ(clean_path("a/../../b"), "../b");
    EXPECT_EQ(clean_path(""), ".");
    EXPECT_TRUE(path_within("/srv/data", "/srv/data"));
    EXPECT_TRUE(path_within("/srv/data/x", "/srv/data"));
    EXPECT_FALSE(path_within("/srv/database", "/srv/data"));
    EXPECT_FALSE(path_within("/srv", "/srv/data"));
    EXPECT_TRUE(path_within("/etc", "/"));
}

} // namespace
} // namespace dockgate::config
