#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "gateway/inspect/inspect.hpp"
#include "inspect_test_support.hpp"

namespace dockgate::inspect {
namespace {

// An inspect reply with `host_config` as HostConfig, next to the daemon's own defaults.
boost::json::value container(std::string const& host_config) {
    return boost::json::parse(R"({"Id":"c0ffee","Config":{"User":"1000:1000"},"HostConfig":)" +
                              host_config + "}");
}

inspect_result judge_ctr(std::string const& host_config) {
    return judge_existing_container(container(host_config), test::developer_role(), "alice");
}

TEST(existing_container, the_daemons_defaults_are_not_the_containers_choices) {
    // What a plain `docker run` looks like in inspect: defaults everywhere, masked paths set.
    auto const r = judge_ctr(R"({"NetworkMode":"default","PidMode":"","IpcMode":"private",
        "Privileged":false,"CapAdd":null,"Binds":null,"Runtime":"runc","UsernsMode":"",
        "MaskedPaths":["/proc/kcore"],"ReadonlyPaths":["/proc/sys"],"Devices":[],
        "SecurityOpt":null,"CgroupnsMode":"private"})");
    EXPECT_TRUE(r.allowed()) << r.detail.message;
    EXPECT_TRUE(r.requirements.empty());
}

TEST(existing_container, what_the_role_may_not_create_it_may_not_join) {
    struct twin {
        char const* denied;
        char const* allowed;
        char const* rule;
    };
    twin const cases[] = {
        {R"({"Privileged":true})", R"({"Privileged":false})", "containers.privileged"},
        {R"({"PidMode":"host"})", R"({"PidMode":""})", "containers.host_namespaces"},
        {R"({"IpcMode":"host"})", R"({"IpcMode":"shareable"})", "containers.host_namespaces"},
        {R"({"NetworkMode":"host"})", R"({"NetworkMode":"none"})", "containers.host_namespaces"},
        {R"({"UTSMode":"host"})", R"({"UTSMode":""})", "containers.host_namespaces"},
        {R"({"UsernsMode":"host"})", R"({"UsernsMode":""})", "containers.host_namespaces"},
        {R"({"Binds":["/:/host"]})", R"({"Binds":["/srv/data/x:/x"]})", "containers.bind_sources"},
        {R"({"Mounts":[{"Type":"bind","Source":"/etc","Target":"/e"}]})",
         R"({"Mounts":[{"Type":"tmpfs","Target":"/t"}]})", "containers.bind_sources"},
        {R"({"CapAdd":["SYS_ADMIN"]})", R"({"CapAdd":["CHOWN"]})", "containers.cap_add"},
        {R"({"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda"}]})",
         R"({"Devices":[]})", "containers.devices"},
        {R"({"SecurityOpt":["apparmor=unconfined"]})", R"({"SecurityOpt":["no-new-privileges"]})",
         "containers.unconfined"},
        {R"({"Runtime":"runsc"})", R"({"Runtime":"runc"})", "containers.runtimes"},
    };
    for (auto const& c : cases) {
        auto const denied = judge_ctr(c.denied);
        EXPECT_EQ(denied.decision, inspect_result::verdict::deny) << c.denied;
        EXPECT_EQ(denied.detail.rule, std::string("roles.developer.") + c.rule) << c.denied;
        auto const allowed = judge_ctr(c.allowed);
        EXPECT_TRUE(allowed.allowed()) << c.allowed << ": " << allowed.detail.message;
    }
}

TEST(existing_container, what_it_joins_in_turn_is_a_requirement) {
    auto const r = judge_ctr(R"({"PidMode":"container:other","VolumesFrom":["data:ro"],
                                 "Binds":["named:/v","/srv/data/x:/x"]})");
    ASSERT_TRUE(r.allowed()) << r.detail.message;
    std::vector<std::pair<requirement_kind, std::string>> got;
    for (auto const& need : r.requirements)
        got.emplace_back(need.kind, need.subject);
    auto const has = [&](requirement_kind k, char const* s) {
        return std::find(got.begin(), got.end(), std::pair{k, std::string(s)}) != got.end();
    };
    EXPECT_TRUE(has(requirement_kind::container_owned, "other"));
    EXPECT_TRUE(has(requirement_kind::container_owned, "data"));
    EXPECT_TRUE(has(requirement_kind::volume_confined, "named"));
    EXPECT_TRUE(has(requirement_kind::host_path_within, "/srv/data/x"));
}

TEST(existing_container, an_undescribed_container_is_refused) {
    auto const r = judge_existing_container(boost::json::parse(R"({"Id":"x"})"),
                                            test::developer_role(), "alice");
    EXPECT_FALSE(r.allowed());
}

TEST(existing_volume, a_local_bind_of_a_host_path_is_judged_like_a_bind) {
    auto const vol = [](char const* options) {
        return boost::json::parse(std::string(R"({"Name":"v","Driver":"local","Options":)") +
                                  options + "}");
    };
    auto const role = test::developer_role(); // volumes.driver_opts = false: creating, not using
    auto const root =
        judge_existing_volume(vol(R"({"type":"none","o":"bind","device":"/"})"), role, "alice");
    EXPECT_EQ(root.decision, inspect_result::verdict::deny);
    EXPECT_EQ(root.detail.rule, "roles.developer.containers.bind_sources");
    auto const disk =
        judge_existing_volume(vol(R"({"type":"ext4","device":"/dev/sda1"})"), role, "alice");
    EXPECT_EQ(disk.decision, inspect_result::verdict::deny);
    auto const inside = judge_existing_volume(
        vol(R"({"type":"none","o":"bind","device":"/srv/data/v"})"), role, "alice");
    ASSERT_TRUE(inside.allowed()) << inside.detail.message;
    ASSERT_EQ(inside.requirements.size(), 1u);
    EXPECT_EQ(inside.requirements[0].kind, requirement_kind::host_path_within);
    EXPECT_TRUE(judge_existing_volume(vol("null"), role, "alice").allowed());
    EXPECT_TRUE(judge_existing_volume(vol(R"({"type":"tmpfs","device":"tmpfs","o":"size=1m"})"),
                                      role, "alice")
                    .allowed());
}

TEST(container_create, named_volumes_are_looked_up_for_confined_roles) {
    auto const r =
        test::run(test::create(test::create_body(R"({"Binds":["data:/d"],"Mounts":[{"Type":"volume",
            "Source":"cache","Target":"/c"}]})")),
                  test::developer_role());
    ASSERT_TRUE(r.allowed()) << r.detail.message;
    int confined = 0;
    for (auto const& need : r.requirements)
        confined += need.kind == requirement_kind::volume_confined ? 1 : 0;
    EXPECT_EQ(confined, 2);
    // A role without container constraints does not look volumes up.
    for (auto const& need : test::run(test::create(test::create_body(R"({"Binds":["data:/d"]})")),
                                      test::unconstrained_role())
                                .requirements)
        EXPECT_NE(need.kind, requirement_kind::volume_confined);
}

TEST(network_create, drivers_on_host_interfaces_are_host_networking) {
    auto const net = [](std::string body) {
        return test::run(test::make("NetworkCreate", std::move(body)), test::developer_role());
    };
    for (auto const* denied :
         {R"({"Name":"n","Driver":"macvlan","Options":{"parent":"eth0"}})",
          R"({"Name":"n","Driver":"ipvlan","Options":{"parent":"eth0"}})",
          R"({"Name":"n","Driver":"host"})", R"({"Name":"n","driver":"some-plugin"})",
          R"({"Name":"n","Options":{"com.docker.network.bridge.name":"br0"}})"}) {
        auto const r = net(denied);
        EXPECT_EQ(r.decision, inspect_result::verdict::deny) << denied;
        EXPECT_EQ(r.detail.rule, "roles.developer.containers.host_namespaces") << denied;
    }
    for (auto const* allowed :
         {R"({"Name":"n"})", R"({"Name":"n","Driver":"bridge","Internal":true})",
          R"({"Name":"n","Driver":"overlay","Attachable":true})",
          R"({"Name":"n","Options":{"com.docker.network.bridge.enable_icc":"false"}})"})
        EXPECT_TRUE(net(allowed).allowed()) << allowed;
    EXPECT_TRUE(test::run(test::make("NetworkCreate", R"({"Name":"n","Driver":"macvlan"})"),
                          test::unconstrained_role())
                    .allowed());
}

} // namespace
} // namespace dockgate::inspect
