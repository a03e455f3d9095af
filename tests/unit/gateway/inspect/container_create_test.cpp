// ContainerCreate against the developer role of issue 5: every constraint has a denied case and
// its nearest allowed twin, so that over-blocking shows up as clearly as a hole.

#include <gtest/gtest.h>

#include "tests/unit/gateway/inspect/inspect_test_support.hpp"

namespace dockgate::inspect {
namespace {

using test::create_body;
using verdict = inspect_result::verdict;

struct twin {
    char const* name;
    std::string denied_body;
    char const* rule; // "containers.privileged": the rule the denial must name
    std::string allowed_body;
};

class create_twins : public ::testing::TestWithParam<twin> {};

TEST_P(create_twins, denied_case_is_denied_and_its_twin_allowed) {
    auto const role = test::developer_role();
    auto const& t = GetParam();
    auto const denied = test::run(test::create(t.denied_body), role);
    EXPECT_EQ(denied.decision, verdict::deny) << t.denied_body << "\n" << denied.detail.message;
    EXPECT_EQ(denied.detail.rule, std::string("roles.developer.") + t.rule)
        << denied.detail.message;
    EXPECT_EQ(denied.http_status(), 403);
    EXPECT_TRUE(denied.forward_body.empty());
    auto const allowed = test::run(test::create(t.allowed_body), role);
    EXPECT_EQ(allowed.decision, verdict::allow) << t.allowed_body << "\n" << allowed.detail.message;
    EXPECT_TRUE(allowed.body_replaced);
}

std::string hc(std::string const& members) {
    return "{" + members + "}";
}

INSTANTIATE_TEST_SUITE_P(
    developer, create_twins,
    ::testing::Values(
        twin{"privileged", create_body(hc(R"("Privileged":true)")), "containers.privileged",
             create_body(hc(R"("Privileged":false)"))},
        twin{"privileged_lower_case_key", create_body(hc(R"("privileged":true)")),
             "containers.privileged", create_body(hc(R"("privileged":false)"))},
        twin{"privileged_mixed_case_key", create_body(hc(R"("PrIvIlEgEd":true)")),
             "containers.privileged", create_body(hc(R"("PrIvIlEgEd":null)"))},
        twin{"long_s_key", create_body(hc("\"\u017fecurityOpt\":[\"apparmor=unconfined\"]")),
             "containers.unconfined",
             create_body(hc("\"\u017fecurityOpt\":[\"no-new-privileges\"]"))},
        twin{"cap_sys_admin", create_body(hc(R"("CapAdd":["SYS_ADMIN"])")), "containers.cap_add",
             create_body(hc(R"("CapAdd":["NET_BIND_SERVICE"])"))},
        twin{"cap_lower_case", create_body(hc(R"("CapAdd":["cap_sys_admin"])")),
             "containers.cap_add", create_body(hc(R"("CapAdd":["cap_net_bind_service"])"))},
        twin{"cap_prefixed", create_body(hc(R"("CapAdd":["CAP_SYS_ADMIN"])")), "containers.cap_add",
             create_body(hc(R"("CapAdd":["CAP_CHOWN"])"))},
        twin{"cap_all", create_body(hc(R"("CapAdd":["ALL"])")), "containers.cap_add",
             create_body(hc(R"("CapAdd":["chown","NET_BIND_SERVICE"])"))},
        twin{"cap_as_single_string", create_body(hc(R"("CapAdd":"SYS_ADMIN")")),
             "containers.cap_add", create_body(hc(R"("CapAdd":"CHOWN")"))},
        twin{"cap_long_s", create_body(hc("\"CapAdd\":[\"\u017fys_admin\"]")), "containers.cap_add",
             create_body(hc(R"("CapDrop":["SYS_ADMIN"])"))},
        twin{"cap_unknown", create_body(hc(R"("CapAdd":["SYS_ADMN"])")), "containers.cap_add",
             create_body(hc(R"("CapAdd":[])"))},
        twin{"bind_root", create_body(hc(R"("Binds":["/:/host"])")), "containers.bind_sources",
             create_body(hc(R"("Binds":["/srv/data/x:/x"])"))},
        twin{"bind_dotdot", create_body(hc(R"("Binds":["/srv/data/../../etc:/x"])")),
             "containers.bind_sources", create_body(hc(R"("Binds":["/srv/data/x/../y:/x:ro"])"))},
        twin{"bind_prefix_trick", create_body(hc(R"("Binds":["/srv/database:/x"])")),
             "containers.bind_sources", create_body(hc(R"("Binds":["/srv/data:/x"])"))},
        twin{"bind_double_slash", create_body(hc(R"("Binds":["//etc:/x"])")),
             "containers.bind_sources", create_body(hc(R"("Binds":["//srv//data/:/x"])"))},
        twin{"bind_vs_named_volume", create_body(hc(R"("Binds":["/var/run/docker.sock:/s"])")),
             "containers.bind_sources", create_body(hc(R"("Binds":["myvolume:/data","/anon"])"))},
        twin{"mount_bind",
             create_body(hc(R"("Mounts":[{"Type":"bind","Source":"/etc","Target":"/x"}])")),
             "containers.bind_sources",
             create_body(hc(R"("Mounts":[{"Type":"bind","Source":"/srv/data/a","Target":"/x"}])"))},
        twin{"mount_bind_key_case",
             create_body(hc(R"("mounts":[{"type":"bind","source":"/","target":"/x"}])")),
             "containers.bind_sources",
             create_body(hc(R"("mounts":[{"type":"tmpfs","target":"/x"}])"))},
        twin{
            "mount_volume_driver_opts",
            create_body(hc(
                R"("Mounts":[{"Type":"volume","Source":"v","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}])")),
            "volumes.driver_opts",
            create_body(hc(
                R"("Mounts":[{"Type":"volume","Source":"v","Target":"/x","VolumeOptions":{"NoCopy":true}}])"))},
        twin{
            "mount_image_untrusted",
            create_body(
                hc(R"("Mounts":[{"Type":"image","Source":"evil.example.com/x","Target":"/x"}])")),
            "images.registries",
            create_body(hc(
                R"("Mounts":[{"Type":"image","Source":"registry.example.com/x","Target":"/x"}])"))},
        twin{"mount_unknown_type",
             create_body(hc(R"("Mounts":[{"Type":"BIND","Source":"/","Target":"/x"}])")),
             "containers.bind_sources",
             create_body(hc(R"("Mounts":[{"Type":"tmpfs","Target":"/x"}])"))},
        twin{"pid_host", create_body(hc(R"("PidMode":"host")")), "containers.host_namespaces",
             create_body(hc(R"("PidMode":"")"))},
        twin{"network_host", create_body(hc(R"("NetworkMode":"host")")),
             "containers.host_namespaces", create_body(hc(R"("NetworkMode":"bridge")"))},
        twin{"ipc_host", create_body(hc(R"("IpcMode":"host")")), "containers.host_namespaces",
             create_body(hc(R"("IpcMode":"shareable")"))},
        twin{"uts_host", create_body(hc(R"("UTSMode":"host")")), "containers.host_namespaces",
             create_body(hc(R"("UTSMode":null)"))},
        twin{"userns_host", create_body(hc(R"("UsernsMode":"host")")), "containers.host_namespaces",
             create_body(hc(R"("UsernsMode":"")"))},
        twin{"cgroupns_host", create_body(hc(R"("CgroupnsMode":"host")")),
             "containers.host_namespaces", create_body(hc(R"("CgroupnsMode":"private")"))},
        twin{"pid_mode_unknown", create_body(hc(R"("PidMode":"HOST")")),
             "containers.host_namespaces", create_body(hc(R"("PidMode":"container:mine")"))},
        twin{"endpoint_host",
             create_body("{}", R"(,"NetworkingConfig":{"EndpointsConfig":{"host":{}}})"),
             "containers.host_namespaces",
             create_body("{}", R"(,"NetworkingConfig":{"EndpointsConfig":{"bridge":{}}})")},
        twin{"cgroup_parent", create_body(hc(R"("CgroupParent":"/")")), "containers.cgroup_parent",
             create_body(hc(R"("CgroupParent":"")"))},
        twin{"devices",
             create_body(
                 hc(R"("Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda"}])")),
             "containers.devices", create_body(hc(R"("Devices":[])"))},
        twin{"device_requests",
             create_body(hc(R"("DeviceRequests":[{"Driver":"nvidia","Count":-1}])")),
             "containers.devices", create_body(hc(R"("DeviceRequests":null)"))},
        twin{"device_cgroup_rules", create_body(hc(R"("DeviceCgroupRules":["b 8:* rmw"])")),
             "containers.devices", create_body(hc(R"("DeviceCgroupRules":[])"))},
        twin{"apparmor_unconfined", create_body(hc(R"("SecurityOpt":["apparmor=unconfined"])")),
             "containers.unconfined", create_body(hc(R"("SecurityOpt":["no-new-privileges"])"))},
        twin{"seccomp_unconfined_legacy",
             create_body(hc(R"("SecurityOpt":["seccomp:unconfined"])")), "containers.unconfined",
             create_body(hc(R"("SecurityOpt":["apparmor=docker-default"])"))},
        twin{"seccomp_custom",
             create_body(hc(R"("SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"])")),
             "containers.seccomp_profiles", create_body(hc(R"("SecurityOpt":["seccomp="])"))},
        twin{"label_disable", create_body(hc(R"("SecurityOpt":["label=disable"])")),
             "containers.unconfined",
             create_body(hc(R"("SecurityOpt":["label=level:s0:c100,c200"])"))},
        twin{"label_disable_colon", create_body(hc(R"("SecurityOpt":["label:disable"])")),
             "containers.unconfined",
             create_body(hc(R"("SecurityOpt":["label:type:container_t"])"))},
        twin{"label_spc_t", create_body(hc(R"("SecurityOpt":["label=type:spc_t"])")),
             "containers.unconfined",
             create_body(hc(R"("SecurityOpt":["label=type:container_t"])"))},
        twin{"systempaths", create_body(hc(R"("SecurityOpt":["systempaths=unconfined"])")),
             "containers.unconfined", create_body(hc(R"("SecurityOpt":null)"))},
        twin{"masked_paths", create_body(hc(R"("MaskedPaths":[])")), "containers.unconfined",
             create_body(hc(R"("MaskedPaths":null)"))},
        twin{"readonly_paths", create_body(hc(R"("ReadonlyPaths":[])")), "containers.unconfined",
             create_body(hc(R"("ReadonlyRootfs":true)"))},
        twin{"annotations",
             create_body(hc(R"("Annotations":{"io.katacontainers.config.hypervisor.path":"/x"})")),
             "containers.unconfined", create_body(hc(R"("Annotations":{})"))},
        twin{"sysctls", create_body(hc(R"("Sysctls":{"kernel.core_pattern":"|/x"})")),
             "containers.sysctls", create_body(hc(R"("Sysctls":{})"))},
        twin{"runtime", create_body(hc(R"("Runtime":"kata")")), "containers.runtimes",
             create_body(hc(R"("Runtime":"runc")"))},
        twin{"user_root", create_body("{}", "", "root"), "containers.run_as_non_root",
             create_body("{}", "", "1000:1000")},
        twin{"user_0_0", create_body("{}", "", "0:0"), "containers.run_as_non_root",
             create_body("{}", "", "1:1")},
        twin{"user_00", create_body("{}", "", "00:1000"), "containers.run_as_non_root",
             create_body("{}", "", "01000:01000")},
        twin{"user_group_0", create_body("{}", "", "1000:0"), "containers.run_as_non_root",
             create_body("{}", "", "1000:1000")},
        twin{"user_group_root", create_body("{}", "", "1000:root"), "containers.run_as_non_root",
             create_body("{}", "", "+1000:+1000")},
        twin{"user_root_root", create_body("{}", "", "root:root"), "containers.run_as_non_root",
             create_body("{}", "", "65534:65534")},
        twin{"user_without_group", create_body("{}", "", "1000"), "containers.run_as_non_root",
             create_body("{}", "", "1000:1000")},
        twin{"user_name", create_body("{}", "", "nobody:nogroup"), "containers.run_as_non_root",
             create_body("{}", "", "65534:65534")},
        twin{"user_empty_name", create_body("{}", "", ":1000"), "containers.run_as_non_root",
             create_body("{}", "", "1000:1000")},
        twin{"user_overflow", create_body("{}", "", "4294967296:1000"),
             "containers.run_as_non_root", create_body("{}", "", "2147483647:1000")},
        twin{"group_add_root", create_body(hc(R"("GroupAdd":["0"])")), "containers.run_as_non_root",
             create_body(hc(R"("GroupAdd":["1001"])"))},
        twin{"image_untrusted", create_body("{}", "", "1000:1000", "evil.example.com/ubuntu"),
             "images.registries", create_body("{}", "", "1000:1000", "ubuntu")},
        twin{"image_library_prefix_trick",
             create_body("{}", "", "1000:1000", "docker.io/libraryx/ubuntu"), "images.registries",
             create_body("{}", "", "1000:1000", "docker.io/library/ubuntu:22.04")},
        twin{"image_hub_user_repo", create_body("{}", "", "1000:1000", "someone/ubuntu"),
             "images.registries",
             create_body("{}", "", "1000:1000", "index.docker.io/library/ubuntu")},
        twin{"image_registry_port",
             create_body("{}", "", "1000:1000", "registry.example.com:5000/app"),
             "images.registries",
             create_body("{}", "", "1000:1000", "registry.example.com/team/app:1")},
        twin{"owner_label_spoofed", create_body("{}", R"(,"Labels":{"dockgate.owner":"bob"})"),
             "ownership", create_body("{}", R"(,"Labels":{"dockgate.owner":"alice"})")}),
    [](auto const& info) { return std::string(info.param.name); });

TEST(container_create, message_names_user_role_field_and_rule) {
    auto const r =
        test::run(test::create(create_body(R"({"Privileged":true})")), test::developer_role());
    EXPECT_EQ(r.detail.message, "dockgate: alice (role developer) may not create a container with "
                                "HostConfig.Privileged=true "
                                "(roles.developer.containers.privileged)");
    EXPECT_EQ(r.detail.field, "HostConfig.Privileged=true");
    EXPECT_EQ(r.detail.role, "developer");
}

TEST(container_create, top_level_host_config_fields_are_refused) {
    // Daemons up to 24.x read a top-level "Privileged" when the body has no HostConfig.
    for (auto const* body :
         {R"({"Image":"ubuntu","Privileged":true})", R"({"Image":"ubuntu","binds":["/:/h"]})",
          R"({"Image":"ubuntu","HostConfig":{},"CapAdd":["ALL"]})"}) {
        auto const r = test::run(test::create(body), test::unconstrained_role());
        EXPECT_EQ(r.decision, inspect_result::verdict::invalid) << body;
        EXPECT_EQ(r.http_status(), 400);
    }
}

TEST(container_create, injected_options_are_in_the_forwarded_body) {
    auto role = test::developer_role();
    role.constraints.containers->cap_drop_all = true;
    auto const r =
        test::run(test::create(create_body(
                      R"({"SecurityOpt":["no-new-privileges=true"],"CapDrop":"NET_RAW"})")),
                  role);
    ASSERT_TRUE(r.allowed()) << r.detail.message;
    EXPECT_NE(
        r.forward_body.find(R"("SecurityOpt":["no-new-privileges=true","no-new-privileges"])"),
        std::string::npos)
        << r.forward_body;
    EXPECT_NE(r.forward_body.find(R"("CapDrop":["ALL"])"), std::string::npos) << r.forward_body;
}

TEST(container_create, host_config_is_created_for_injections) {
    auto const r =
        test::run(test::create(R"({"Image":"ubuntu","User":"1000:1000"})"), test::developer_role());
    ASSERT_TRUE(r.allowed()) << r.detail.message;
    EXPECT_EQ(r.forward_body,
              R"({"Image":"ubuntu","User":"1000:1000","HostConfig":{"CgroupnsMode":"private",)"
              R"("SecurityOpt":["no-new-privileges"]}})");
}

TEST(container_create, owner_label_is_added_and_keys_canonicalised) {
    auto const r = test::run(
        test::with_owner_label(test::create(
            R"({"image":"ubuntu","user":"1000:1000","labels":{"a":"b"},"hostconfig":{"privileged":false}})")),
        test::developer_role());
    ASSERT_TRUE(r.allowed()) << r.detail.message;
    EXPECT_EQ(r.forward_body,
              R"({"Image":"ubuntu","User":"1000:1000","Labels":{"a":"b","dockgate.owner":"alice"},)"
              R"("HostConfig":{"Privileged":false,"CgroupnsMode":"private",)"
              R"("SecurityOpt":["no-new-privileges"]}})");
}

TEST(container_create, unconstrained_role_still_gets_the_canonical_body) {
    auto const r = test::run(
        test::create(" {\"Image\" : \"ubuntu\", \"HostConfig\": {\"Privileged\": true}}\n"),
        test::unconstrained_role());
    ASSERT_TRUE(r.allowed());
    EXPECT_EQ(r.forward_body, R"({"Image":"ubuntu","HostConfig":{"Privileged":true}})");
    EXPECT_TRUE(r.requirements.empty());
}

TEST(container_create, ambiguous_bodies_are_invalid_for_every_role) {
    // A long literal is wrapped in two; no comma is missing.
    // NOLINTBEGIN(bugprone-suspicious-missing-comma)
    for (auto const* body : {
             R"({"HostConfig":{"Privileged":false,"privileged":true}})",
             R"({"HostConfig":{"Privileged":false,"Privileged":true}})",
             "{\"HostConfig\":{\"Privileged\":false,\"Privileged\xE2\x80\x8B\":1,\"\x50rivileged\":"
             "true}}",
             R"({"HostConfig":{}} {"HostConfig":{"Privileged":true}})",
             "{\"Image\":\"ubuntu\xFF\"}",
             R"({"Image":"\ud800"})",
         }) {
        // NOLINTEND(bugprone-suspicious-missing-comma)
        for (auto const& role : {test::developer_role(), test::unconstrained_role()}) {
            auto const r = test::run(test::create(body), role);
            EXPECT_EQ(r.decision, inspect_result::verdict::invalid) << body << " " << role.name;
            EXPECT_TRUE(r.forward_body.empty());
        }
    }
}

TEST(container_create, kelvin_sign_key_matches_like_go) {
    // "\u212A" (Kelvin) folds to 'K': "\u212Aernel..." is no HostConfig field, but in a map it
    // collides with "kernel..." and in a struct "Lin\u212As" would match "Links".
    auto const r =
        test::run(test::create("{\"HostConfig\":{\"Sysctls\":{\"kernel.x\":\"1\",\"\xE2\x84\xAA"
                               "ernel.x\":\"2\"}}}"),
                  test::unconstrained_role());
    EXPECT_EQ(r.decision, inspect_result::verdict::invalid);
    auto const p =
        test::run(test::create(create_body("{\"Privıleged\":true}")), test::developer_role());
    EXPECT_EQ(p.decision, inspect_result::verdict::deny)
        << "dotless i matches under Go 1.21 folding";
}

TEST(container_create, wrong_types_are_invalid_not_allowed) {
    for (auto const* hc :
         {R"({"Privileged":"true"})", R"({"Privileged":1})", R"({"Binds":"/:/h"})",
          R"({"CapAdd":[1]})", R"({"Mounts":{}})", R"({"SecurityOpt":"apparmor=unconfined"})"}) {
        auto const r = test::run(test::create(create_body(hc)), test::developer_role());
        EXPECT_EQ(r.decision, inspect_result::verdict::invalid) << hc;
    }
}

TEST(container_create, requirements_for_what_needs_the_daemon) {
    auto const r = test::run(
        test::create(create_body(
            R"({"PidMode":"container:db","VolumesFrom":["data:ro"],"NetworkMode":"mynet"})", "",
            "")),
        test::developer_role());
    ASSERT_TRUE(r.allowed()) << r.detail.message;
    ASSERT_EQ(r.requirements.size(), 4u);
    EXPECT_EQ(r.requirements[0].kind, requirement_kind::container_owned);
    EXPECT_EQ(r.requirements[0].subject, "data");
    EXPECT_EQ(r.requirements[1].kind, requirement_kind::network_not_host);
    EXPECT_EQ(r.requirements[1].subject, "mynet");
    EXPECT_EQ(r.requirements[2].kind, requirement_kind::container_owned);
    EXPECT_EQ(r.requirements[2].subject, "db");
    EXPECT_EQ(r.requirements[2].rule, "roles.developer.containers.host_namespaces");
    EXPECT_EQ(r.requirements[3].kind, requirement_kind::image_user_non_root);
    EXPECT_EQ(r.requirements[3].subject, "ubuntu");
}

TEST(container_create, image_id_needs_a_registry_lookup) {
    auto const r = test::run(test::create(create_body("{}", "", "1000:1000", "3f57d9401f8d")),
                             test::developer_role());
    ASSERT_TRUE(r.allowed());
    ASSERT_EQ(r.requirements.size(), 1u);
    EXPECT_EQ(r.requirements[0].kind, requirement_kind::image_registry);
}

TEST(container_create, require_digest) {
    auto role = test::developer_role();
    role.constraints.images->require_digest = true;
    auto const denied =
        test::run(test::create(create_body("{}", "", "1000:1000", "ubuntu:22.04")), role);
    EXPECT_EQ(denied.detail.rule, "roles.developer.images.require_digest");
    std::string const pinned = "ubuntu@sha256:" + std::string(64, 'a');
    EXPECT_TRUE(
        test::run(test::create(create_body("{}", "", "1000:1000", pinned)), role).allowed());
}

TEST(container_create, ownership_role_reports_named_volumes_and_links) {
    auto role = test::unconstrained_role();
    role.constraints.ownership = true;
    auto const r =
        test::run(test::with_owner_label(test::create(
                      R"({"Image":"x","HostConfig":{"Binds":["vol:/d"],"Links":["db:db"]}})")),
                  role);
    ASSERT_TRUE(r.allowed());
    ASSERT_EQ(r.requirements.size(), 2u);
    EXPECT_EQ(r.requirements[0].kind, requirement_kind::volume_owned);
    EXPECT_EQ(r.requirements[1].kind, requirement_kind::container_owned);
    EXPECT_NE(r.forward_body.find(R"("Labels":{"dockgate.owner":"alice"})"), std::string::npos);
}

} // namespace
} // namespace dockgate::inspect

namespace dockgate::inspect {
namespace {

TEST(container_create, large_bodies_stay_within_the_value_limit) {
    auto body_with = [](int keys) {
        std::string hc = "{";
        for (int i = 0; i < keys; ++i)
            hc +=
                (i ? ",\"" : "\"") + std::string("DeviceCgroupRulesX") + std::to_string(i) + "\":0";
        return test::create_body(hc + "}");
    };
    auto const many = test::run(test::create(body_with(19000)), test::developer_role());
    EXPECT_TRUE(many.allowed()) << many.detail.message;
    auto const too_many = test::run(test::create(body_with(21000)), test::developer_role());
    EXPECT_EQ(too_many.decision, inspect_result::verdict::invalid);
}

} // namespace
} // namespace dockgate::inspect
