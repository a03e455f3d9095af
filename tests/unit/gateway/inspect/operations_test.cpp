// The other inspected operations (exec, update, start, volumes, pulls, builds, services,
// plugins) and the checks common to all: query duplicates, form Content-Types, handling_for.

#include <gtest/gtest.h>

#include "gateway/inspect/option_rules.hpp"
#include "tests/unit/gateway/inspect/inspect_test_support.hpp"

namespace dockgate::inspect {
namespace {

using verdict = inspect_result::verdict;

struct op_twin {
    char const* name;
    test::call denied;
    char const* rule;
    test::call allowed;
};

class operation_twins : public ::testing::TestWithParam<op_twin> {};

TEST_P(operation_twins, denied_case_is_denied_and_its_twin_allowed) {
    auto const role = test::developer_role();
    auto const& t = GetParam();
    auto const denied = test::run(t.denied, role);
    EXPECT_EQ(denied.decision, verdict::deny) << t.name << ": " << denied.detail.message;
    EXPECT_EQ(denied.detail.rule, std::string("roles.developer.") + t.rule)
        << denied.detail.message;
    auto const allowed = test::run(t.allowed, role);
    EXPECT_EQ(allowed.decision, verdict::allow) << t.name << ": " << allowed.detail.message;
}

std::vector<query_param> q(std::initializer_list<std::pair<std::string, std::string>> pairs) {
    std::vector<query_param> out;
    for (auto const& [k, v] : pairs)
        out.push_back({k, v});
    return out;
}

test::call exec(std::string body) {
    return test::make("ContainerExec", std::move(body), {}, "c1");
}
test::call volume(std::string body) {
    return test::make("VolumeCreate", std::move(body));
}
test::call pull(std::vector<query_param> query) {
    return test::make("ImageCreate", "", std::move(query));
}
// A build with its context: a Dockerfile the developer role's registries allow.
test::call build(std::vector<query_param> query) {
    return test::make("ImageBuild",
                      test::tar_entry("Dockerfile", "FROM ubuntu:22.04\n") + test::tar_end(),
                      std::move(query));
}
test::call service(std::string const& container_spec, std::string const& task_extra = "") {
    return test::make("ServiceCreate", R"({"Name":"s","TaskTemplate":{"ContainerSpec":)" +
                                           container_spec + task_extra + "}}");
}

std::string const ok_spec = R"({"Image":"ubuntu","User":"1000:1000")";

INSTANTIATE_TEST_SUITE_P(
    developer, operation_twins,
    ::testing::Values(
        op_twin{"exec_privileged", exec(R"({"Cmd":["sh"],"Privileged":true,"User":"1000:1000"})"),
                "containers.privileged",
                exec(R"({"Cmd":["sh"],"Privileged":false,"User":"1000:1000"})")},
        op_twin{"exec_root", exec(R"({"Cmd":["sh"],"User":"root"})"), "containers.run_as_non_root",
                exec(R"({"Cmd":["sh"],"User":"1000:1000"})")},
        op_twin{"update_devices",
                test::make("ContainerUpdate", R"({"Devices":[{"PathOnHost":"/dev/mem"}]})"),
                "containers.devices", test::make("ContainerUpdate", R"({"Memory":1048576})")},
        op_twin{"update_cgroup_parent", test::make("ContainerUpdate", R"({"CgroupParent":"/"})"),
                "containers.cgroup_parent", test::make("ContainerUpdate", R"({"CpuShares":512})")},
        op_twin{"volume_bind_root",
                volume(R"({"Name":"v","DriverOpts":{"type":"none","o":"bind","device":"/"}})"),
                "volumes.driver_opts", volume(R"({"Name":"v","Driver":"local"})")},
        op_twin{"pull_untrusted",
                pull(q({{"fromImage", "evil.example.com/ubuntu"}, {"tag", "latest"}})),
                "images.registries", pull(q({{"fromImage", "ubuntu"}, {"tag", "latest"}}))},
        op_twin{"pull_library_prefix", pull(q({{"fromImage", "docker.io/libraryx/ubuntu"}})),
                "images.registries", pull(q({{"fromImage", "docker.io/library/ubuntu"}}))},
        op_twin{
            "pull_hub_namespace", pull(q({{"fromImage", "evil/ubuntu"}})), "images.registries",
            pull(q({{"fromImage", "library/ubuntu"}, {"tag", "sha256:" + std::string(64, 'b')}}))},
        op_twin{"pull_import_url",
                pull(q({{"fromSrc", "http://evil.example.com/rootfs.tar"}, {"repo", "x"}})),
                "images.registries", pull(q({{"fromSrc", "-"}, {"repo", "local/x"}}))},
        op_twin{"build_network_host", build(q({{"networkmode", "host"}})), "build.network_host",
                build(q({{"networkmode", "default"}}))},
        op_twin{"build_remote", build(q({{"remote", "https://github.com/x/y.git"}})),
                "build.remote_context", build(q({{"t", "local/app:1"}}))},
        op_twin{"build_cgroup_parent", build(q({{"cgroupparent", "/"}})),
                "containers.cgroup_parent", build(q({{"t", "local/app:1"}}))},
        op_twin{"build_ulimits",
                build(q({{"ulimits", R"([{"Name":"rtprio","Soft":99,"Hard":99}])"}})), "containers",
                build(q({{"ulimits", R"([{"Name":"nofile","Soft":1024,"Hard":2048}])"}}))},
        op_twin{"build_ulimits_folded",
                build(q({{"ulimits", R"([{"name":"MemLock","hard":-1}])"}})), "containers",
                build(q({{"ulimits", "[]"}}))},
        op_twin{"service_bind",
                service(ok_spec + R"(,"Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]})"),
                "containers.bind_sources",
                service(ok_spec +
                        R"(,"Mounts":[{"Type":"bind","Source":"/srv/data","Target":"/h"}]})")},
        op_twin{"service_caps", service(ok_spec + R"(,"CapabilityAdd":["CAP_SYS_ADMIN"]})"),
                "containers.cap_add", service(ok_spec + R"(,"CapabilityAdd":["CAP_CHOWN"]})")},
        op_twin{"service_seccomp",
                service(ok_spec + R"(,"Privileges":{"Seccomp":{"Mode":"unconfined"}}})"),
                "containers.unconfined",
                service(ok_spec + R"(,"Privileges":{"Seccomp":{"Mode":"default"}}})")},
        op_twin{"service_user", service(R"({"Image":"ubuntu","User":"0"})"),
                "containers.run_as_non_root", service(ok_spec + "}")},
        op_twin{"service_host_network",
                service(ok_spec + "}", R"(,"Networks":[{"Target":"host"}])"),
                "containers.host_namespaces",
                service(ok_spec + "}", R"(,"Networks":[{"Target":"bridge"}])")},
        op_twin{"service_image", service(R"({"Image":"evil.example.com/x","User":"1:1"})"),
                "images.registries", service(R"({"Image":"registry.example.com/x","User":"1:1"})")},
        op_twin{"service_plugin",
                test::make("ServiceCreate", R"({"TaskTemplate":{"PluginSpec":{"Name":"p"}}})"),
                "containers.privileged",
                test::make("ServiceCreate", R"({"TaskTemplate":{"Runtime":"container"}})")},
        op_twin{"plugin_privileges",
                test::make("PluginPull", R"([{"Name":"network","Value":["host"]}])",
                           q({{"remote", "registry.example.com/plugin:1"}})),
                "containers.host_namespaces",
                test::make("PluginPull", "[]", q({{"remote", "registry.example.com/plugin:1"}}))},
        op_twin{"plugin_caps",
                test::make("PluginPull", R"([{"Name":"capabilities","Value":["CAP_SYS_ADMIN"]}])",
                           q({{"remote", "registry.example.com/p"}})),
                "containers.cap_add",
                test::make("PluginPull",
                           R"([{"Name":"capabilities","Value":["CAP_NET_BIND_SERVICE"]}])",
                           q({{"remote", "registry.example.com/p"}}))},
        op_twin{"plugin_remote",
                test::make("PluginPull", "[]", q({{"remote", "evil.example.com/p"}})),
                "images.registries",
                test::make("PluginPull", "[]", q({{"remote", "registry.example.com/p"}}))},
        op_twin{"plugin_set_mount", test::make("PluginSet", R"(["data.source=/etc"])"),
                "containers.bind_sources",
                test::make("PluginSet", R"(["data.source=/srv/data/p","DEBUG=1"])")}),
    [](auto const& info) { return std::string(info.param.name); });

TEST(plugin_create, a_plugin_archive_needs_privileged) {
    auto role = test::developer_role();
    auto const create = test::make("PluginCreate", "", q({{"name", "p"}}));
    EXPECT_EQ(test::run(create, role).detail.rule, "roles.developer.containers.privileged");
    role.constraints.containers->privileged = true;
    EXPECT_TRUE(test::run(create, role).allowed());
}

TEST(exec, empty_user_is_judged_by_the_container) {
    auto const r = test::run(exec(R"({"Cmd":["sh"]})"), test::developer_role());
    ASSERT_TRUE(r.allowed());
    ASSERT_EQ(r.requirements.size(), 2u);
    EXPECT_EQ(r.requirements[0].kind, requirement_kind::container_user_non_root);
    EXPECT_EQ(r.requirements[0].subject, "c1");
    // The exec gets the container's privileges and mounts: the container is judged too.
    EXPECT_EQ(r.requirements[1].kind, requirement_kind::container_confined);
    EXPECT_EQ(r.requirements[1].subject, "c1");
    EXPECT_TRUE(
        test::run(exec(R"({"Cmd":["sh"]})"), test::unconstrained_role()).requirements.empty());
    auto const msg =
        test::run(exec(R"({"Privileged":true})"), test::developer_role()).detail.message;
    EXPECT_EQ(msg,
              "dockgate: alice (role developer) may not exec in a container with Privileged=true "
              "(roles.developer.containers.privileged)");
}

TEST(volume_create, bind_options_are_judged_against_bind_sources_when_driver_opts_are_allowed) {
    auto role = test::developer_role();
    role.constraints.volumes->driver_opts = true;
    auto const root =
        test::run(volume(R"({"DriverOpts":{"type":"none","o":"bind","device":"/"}})"), role);
    EXPECT_EQ(root.detail.rule, "roles.developer.containers.bind_sources");
    auto const disk =
        test::run(volume(R"({"DriverOpts":{"type":"ext4","device":"/dev/sda1"}})"), role);
    EXPECT_EQ(disk.detail.rule, "roles.developer.containers.bind_sources");
    auto const nfs_bind =
        test::run(volume(R"({"DriverOpts":{"type":"nfs","o":"bind","device":"/etc"}})"), role);
    EXPECT_EQ(nfs_bind.decision, verdict::deny);
    EXPECT_TRUE(
        test::run(volume(R"({"DriverOpts":{"type":"none","o":"bind","device":"/srv/data/v"}})"),
                  role)
            .allowed());
    EXPECT_TRUE(
        test::run(
            volume(R"({"DriverOpts":{"type":"nfs","o":"addr=10.0.0.1","device":":/export"}})"),
            role)
            .allowed());
    // A driver outside volumes.drivers is a plugin the gateway cannot judge.
    auto const plugin =
        test::run(volume(R"({"Driver":"rexray","DriverOpts":{"size":"10"}})"), role);
    EXPECT_EQ(plugin.decision, verdict::deny);
    EXPECT_EQ(plugin.detail.rule, "roles.developer.volumes.drivers");
    role.constraints.volumes->drivers.push_back("rexray");
    EXPECT_TRUE(
        test::run(volume(R"({"Driver":"rexray","DriverOpts":{"size":"10"}})"), role).allowed());
}

TEST(volume_create, owner_label) {
    auto const r = test::run(test::with_owner_label(test::make("VolumeCreate", R"({"Name":"v"})")),
                             test::developer_role());
    ASSERT_TRUE(r.allowed());
    EXPECT_EQ(r.forward_body, R"({"Name":"v","Labels":{"dockgate.owner":"alice"}})");
}

TEST(container_start, a_body_is_never_forwarded) {
    auto const role = test::unconstrained_role();
    auto const hostconfig = test::run(test::make("ContainerStart", R"({"Privileged":true})"), role);
    EXPECT_EQ(hostconfig.decision, verdict::invalid);
    auto const empty = test::run(test::make("ContainerStart", "{}"), role);
    EXPECT_TRUE(empty.allowed());
    EXPECT_TRUE(empty.body_replaced);
    EXPECT_EQ(empty.forward_body, "");
}

TEST(service, mutations_reach_the_container_spec) {
    auto role = test::developer_role();
    role.constraints.containers->cap_drop_all = true;
    auto const r = test::run(service(ok_spec + "}"), role);
    ASSERT_TRUE(r.allowed()) << r.detail.message;
    EXPECT_NE(r.forward_body.find(R"("CapabilityDrop":["ALL"])"), std::string::npos)
        << r.forward_body;
    EXPECT_NE(r.forward_body.find(R"("Privileges":{"NoNewPrivileges":true})"), std::string::npos)
        << r.forward_body;
}

TEST(query, duplicated_security_parameters_are_invalid) {
    auto const r = test::run(build(q({{"networkmode", "default"}, {"networkmode", "host"}})),
                             test::unconstrained_role());
    EXPECT_EQ(r.decision, verdict::invalid);
    auto const p =
        test::run(pull(q({{"fromImage", "ubuntu"}, {"fromImage", "evil.example.com/x"}})),
                  test::unconstrained_role());
    EXPECT_EQ(p.decision, verdict::invalid);
    EXPECT_TRUE(
        test::run(build(q({{"t", "a"}, {"t", "b"}})), test::unconstrained_role()).allowed());
}

TEST(query, a_platform_is_judged_alike_everywhere_under_constraints) {
    auto const role = test::developer_role();
    for (auto const* p :
         {"linux", "linux/amd64", "linux/arm/v7", "windows(10.0.17763)/amd64", "arm64", ""}) {
        EXPECT_TRUE(test::run(build(q({{"platform", p}})), role).allowed()) << p;
        EXPECT_TRUE(test::run(pull(q({{"fromImage", "ubuntu"}, {"platform", p}})), role).allowed())
            << p;
    }
    for (auto const* p : {"linux/amd64/v1/x", "linux//amd64", "/amd64", "linux/amd64 ",
                          "linux/../amd64", "linux(1/amd64", "linux\namd64"}) {
        auto const b = test::run(build(q({{"platform", p}})), role);
        EXPECT_EQ(b.decision, verdict::invalid) << p;
        EXPECT_NE(b.detail.message.find("platform"), std::string::npos) << b.detail.message;
        EXPECT_EQ(test::run(pull(q({{"fromImage", "ubuntu"}, {"platform", p}})), role).decision,
                  verdict::invalid)
            << p;
        EXPECT_EQ(test::run(test::make("ContainerCreate", R"({"Image":"ubuntu","User":"1:1"})",
                                       q({{"platform", p}})),
                            role)
                      .decision,
                  verdict::invalid)
            << p;
    }
    // A second platform is judged too, not only the first the daemon reads.
    EXPECT_EQ(test::run(build(q({{"platform", "linux"}, {"platform", "linux//x"}})), role).decision,
              verdict::invalid);
    // Load takes the OCI JSON form.
    EXPECT_EQ(platform_error(R"({"os":"linux","architecture":"amd64","variant":"v8"})", true),
              std::nullopt);
    EXPECT_TRUE(platform_error("linux/amd64", true));
    EXPECT_TRUE(platform_error(R"({"os":"linux","rootfs":"/"})", true));
    // Without constraints the gateway stays out of the way.
    EXPECT_TRUE(
        test::run(build(q({{"platform", "linux//x"}})), test::unconstrained_role()).allowed());
}

TEST(query, form_content_types_are_invalid) {
    for (auto const* ct :
         {"application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded; charset=utf-8",
          "multipart/form-data; boundary=x",
          "\xC2\xA0"
          "application/x-www-form-urlencoded"}) {
        auto c = build(q({{"networkmode", "default"}}));
        c.content_type = ct;
        EXPECT_EQ(test::run(c, test::unconstrained_role()).decision, verdict::invalid) << ct;
        c.body.clear(); // nothing the daemon could read values from (the engine says the same)
        EXPECT_TRUE(test::run(c, test::unconstrained_role()).allowed()) << ct;
    }
    auto c = build({});
    c.content_type = "application/x-tar";
    EXPECT_TRUE(test::run(c, test::unconstrained_role()).allowed());
}

TEST(handling, operations_are_classified) {
    EXPECT_EQ(handling_for("ContainerCreate"), body_handling::buffer_json);
    EXPECT_EQ(handling_for("ContainerExec"), body_handling::buffer_json);
    EXPECT_EQ(handling_for("ServiceUpdate"), body_handling::buffer_json);
    EXPECT_EQ(handling_for("ImageBuild"), body_handling::query_only);
    EXPECT_EQ(handling_for("ImageCreate"), body_handling::query_only);
    EXPECT_EQ(handling_for("ContainerList"), body_handling::none);
    EXPECT_EQ(handling_for("ExecStart"), body_handling::none);
}

TEST(image_allowed, resolves_image_registry_requirements) {
    auto const role = test::developer_role();
    EXPECT_TRUE(image_allowed("ubuntu:22.04", role));
    EXPECT_TRUE(image_allowed("registry.example.com/app@sha256:" + std::string(64, 'c'), role));
    EXPECT_FALSE(image_allowed("evil.example.com/app", role));
    EXPECT_FALSE(image_allowed("not a reference", role));
    EXPECT_TRUE(image_allowed("anything", test::unconstrained_role()));
}

TEST(build, ownership_labels_the_image_through_the_query) {
    auto role = test::unconstrained_role();
    role.constraints.ownership = true;
    auto const labelled = [&](std::vector<query_param> q) {
        auto r = test::run(test::with_owner_label(build(std::move(q))), role);
        EXPECT_TRUE(r.allowed()) << r.detail.message;
        EXPECT_TRUE(r.forward_query.has_value());
        auto parsed = parse_go_query(r.forward_query.value_or(""));
        auto const& pairs = std::get<std::vector<query_param>>(parsed);
        EXPECT_EQ(query_count(pairs, "labels"), 1u);
        return std::string(query_get(pairs, "labels").value_or(""));
    };
    EXPECT_EQ(labelled({{"t", "app:1"}}), R"({"dockgate.owner":"alice"})");
    EXPECT_EQ(labelled({{"labels", R"({"a":"b"})"}, {"t", "x"}}),
              R"({"a":"b","dockgate.owner":"alice"})");
    EXPECT_EQ(labelled({{"labels", ""}}), R"({"dockgate.owner":"alice"})");
    // Someone else's owner label is refused, for every role that judges build bodies.
    auto const foreign = build({{"labels", R"({"dockgate.owner":"bob"})"}});
    EXPECT_EQ(test::run(test::with_owner_label(foreign), role).decision,
              inspect_result::verdict::deny);
    EXPECT_EQ(test::run(foreign, test::developer_role()).decision, inspect_result::verdict::deny);
    // The caller's own label is its nearest allowed twin.
    EXPECT_TRUE(
        test::run(build({{"labels", R"({"dockgate.owner":"alice"})"}}), test::developer_role())
            .allowed());
    // Labels the daemon could not read are refused before anything is built.
    for (auto const* bad : {R"({"a":1})", R"([1])", R"({"a":"b"} x)", R"({"a":"b","a":"c"})"})
        EXPECT_EQ(test::run(test::with_owner_label(build({{"labels", bad}})), role).decision,
                  inspect_result::verdict::invalid)
            << bad;
    EXPECT_EQ(test::run(build({{"labels", "{}"}, {"labels", "{}"}}), role).decision,
              inspect_result::verdict::invalid);
    // A role without ownership forwards the query as received.
    EXPECT_FALSE(test::run(build({{"t", "x"}}), test::developer_role()).forward_query);
}

TEST(secret_and_config, ownership_labels_what_is_created) {
    auto role = test::unconstrained_role();
    role.constraints.ownership = true;
    for (auto const* op : {"SecretCreate", "ConfigCreate"}) {
        auto const labelled =
            test::run(test::with_owner_label(
                          test::make(op, R"({"Name":"s","Data":"aGk=","Labels":{"a":"b"}})")),
                      role);
        ASSERT_TRUE(labelled.allowed()) << op << ": " << labelled.detail.message;
        EXPECT_EQ(labelled.forward_body,
                  R"({"Name":"s","Data":"aGk=","Labels":{"a":"b","dockgate.owner":"alice"}})")
            << op;
        auto const forged = test::run(test::with_owner_label(test::make(
                                          op, R"({"Name":"s","Labels":{"dockgate.owner":"bob"}})")),
                                      role);
        EXPECT_EQ(forged.decision, inspect_result::verdict::deny) << op;
        EXPECT_EQ(forged.detail.rule, "roles.operator.ownership") << op;
    }
}

} // namespace
} // namespace dockgate::inspect
