#include <sstream>

#include <gtest/gtest.h>

#include "common/engine_api/route_table.hpp"
#include "config/config.hpp"
#include "gateway/learn/learner.hpp"

namespace dockgate::learn {
namespace {

std::string line(std::string const& user, std::string const& op, std::string const& decision,
                 std::string const& request = "",
                 std::string const& time = "2026-01-01T00:00:00.000Z") {
    std::string out = R"({"time":")" + time +
                      R"(","conn":1,"transport":"tls","peer":"p","user":")" + user +
                      R"(","groups":["developers"],"credential":"c","roles":["r"],)" +
                      R"("operation":")" + op + R"(","method":"POST","path":"/x","decision":")" +
                      decision + R"(","role":"r","rule":"x","status":200)";
    if (!request.empty())
        out += R"(,"request":)" + request;
    return out + "}\n";
}

result run(std::string const& text, options opt = {}) {
    if (opt.user.empty() && opt.group.empty())
        opt.user = "alice";
    std::istringstream in(text);
    return learn(in, opt);
}

// The proposed role loads, next to a listener, as check-config would load it.
config::config load(std::string const& toml) {
    return config::parse_config(
        "[gateway]\nupstream = \"unix:///run/docker-test.sock\"\n[listen.unix]\npath = "
        "\"/run/dockgate-test.sock\"\n" +
            toml,
        "/tmp", "learned.toml");
}

TEST(collapse_operations, a_glob_only_when_every_member_was_used) {
    std::string_view const all[] = {"ContainerCreate", "ContainerList", "ContainerStart",
                                    "ImageList", "SystemPing"};
    EXPECT_EQ(collapse_operations({"ContainerCreate", "ContainerList"}, all),
              (std::vector<std::string>{"ContainerCreate", "ContainerList"}));
    EXPECT_EQ(collapse_operations(
                  {"ContainerCreate", "ContainerList", "ContainerStart", "ImageList"}, all),
              (std::vector<std::string>{"Container*", "Image*"}));
    EXPECT_EQ(
        collapse_operations(
            {"ContainerCreate", "ContainerList", "ContainerStart", "ImageList", "SystemPing"}, all),
        (std::vector<std::string>{"*"}));
    EXPECT_TRUE(collapse_operations({}, all).empty());
}

TEST(collapse_operations, uses_the_engine_api_operations) {
    auto const& all = engine_api::route_table::engine_api().operations();
    // "Volume*" covers VolumeList, VolumeCreate, VolumeInspect, VolumeDelete, VolumePrune and
    // VolumeUpdate: with one missing, no glob.
    std::set<std::string> used;
    for (auto op : all) {
        if (op.starts_with("Volume"))
            used.emplace(op);
    }
    EXPECT_EQ(collapse_operations(used, all), std::vector<std::string>{"Volume*"});
    used.erase("VolumePrune");
    auto const listed = collapse_operations(used, all);
    EXPECT_EQ(listed.size(), used.size());
    EXPECT_EQ(std::count(listed.begin(), listed.end(), "Volume*"), 0);
}

TEST(learn, derives_the_tightest_constraints_of_what_was_observed) {
    std::string audit;
    audit += line("alice", "ContainerCreate", "would-deny",
                  R"({"image":"docker.io/library/alpine:3.19","user":"1000","user_non_root":true,)"
                  R"("cap_add":["CAP_NET_ADMIN"],"bind_sources":["/srv/data"]})",
                  "2026-01-01T10:00:00.000Z");
    audit += line("alice", "ContainerExec", "allow", R"({"user":"1000:1000","user_non_root":true})",
                  "2026-01-01T09:00:00.000Z");
    audit += line("alice", "VolumeCreate", "allow", R"({"driver":""})");
    audit += line("alice", "ImageCreate", "allow",
                  R"({"image":"registry.example.com:5000/team/app:1"})");
    audit += line("alice", "ContainerList", "allow");
    auto const res = run(audit);
    EXPECT_EQ(res.read, 5u);
    EXPECT_EQ(res.used, 5u);
    auto const& t = res.toml;
    EXPECT_NE(t.find("subjects = [\"user:alice\"]"), std::string::npos) << t;
    EXPECT_NE(t.find("allow = [\"ContainerCreate\", \"ContainerExec\", \"ContainerList\", "
                     "\"ImageCreate\", \"VolumeCreate\"]"),
              std::string::npos)
        << t;
    EXPECT_NE(t.find("cap_add = [\"NET_ADMIN\"]"), std::string::npos) << t;
    EXPECT_NE(t.find("bind_sources = [\"/srv/data\"]"), std::string::npos) << t;
    EXPECT_NE(t.find("privileged = false"), std::string::npos) << t;
    EXPECT_NE(t.find("run_as_non_root = true"), std::string::npos) << t;
    EXPECT_NE(t.find("registries = [\"docker.io/library/alpine\", "
                     "\"registry.example.com:5000/team/app\"]"),
              std::string::npos)
        << t;
    EXPECT_NE(t.find("drivers = [\"local\"]"), std::string::npos) << t;
    EXPECT_NE(t.find("2026-01-01T00:00:00.000Z to 2026-01-01T10:00:00.000Z"), std::string::npos)
        << t;

    auto const cfg = load(t);
    ASSERT_EQ(cfg.roles.size(), 1u);
    auto const& c = cfg.roles[0].constraints;
    ASSERT_TRUE(c.containers && c.images && c.volumes);
    EXPECT_EQ(c.containers->cap_add, std::vector<std::string>{"CAP_NET_ADMIN"});
    EXPECT_TRUE(c.containers->run_as_non_root);
    EXPECT_FALSE(c.containers->privileged);
    EXPECT_FALSE(c.containers->host_namespaces);
    EXPECT_FALSE(c.volumes->driver_opts);
    EXPECT_EQ(cfg.roles[0].mode, config::role_mode::enforce);
}

TEST(learn, sets_a_loosening_only_when_it_was_used) {
    std::string audit;
    audit += line("alice", "ContainerCreate", "allow",
                  R"({"image":"alpine","privileged":true,"host_namespaces":["pid"],)"
                  R"("devices":true,"security_opt":["apparmor=unconfined"]})");
    audit += line("alice", "ContainerExec", "allow", "{}"); // no user: the image's
    auto const t = run(audit).toml;
    auto const cfg = load(t);
    auto const& c = *cfg.roles.at(0).constraints.containers;
    EXPECT_TRUE(c.privileged);
    EXPECT_TRUE(c.host_namespaces);
    EXPECT_TRUE(c.devices);
    EXPECT_TRUE(c.unconfined);
    EXPECT_FALSE(c.sysctls);
    EXPECT_FALSE(c.run_as_non_root);
    EXPECT_TRUE(c.cap_add.empty());
    EXPECT_TRUE(c.bind_sources.empty());
}

TEST(learn, keeps_the_callers_forwarded_requests_only) {
    std::string audit;
    audit += line("alice", "ContainerList", "allow");
    audit += line("alice", "ContainerDelete", "deny");
    audit += line("alice", "ContainerKill", "invalid");
    audit += line("bob", "ImageList", "allow");
    audit += line("alice", "ContainerStop", "would-deny");
    auto const res = run(audit);
    EXPECT_EQ(res.used, 2u);
    EXPECT_EQ(res.refused, 2u);
    EXPECT_EQ(res.others, 1u);
    EXPECT_NE(res.toml.find("allow = [\"ContainerList\", \"ContainerStop\"]"), std::string::npos)
        << res.toml;
    EXPECT_NE(res.toml.find("2 that the gateway refused are left out"), std::string::npos);
    EXPECT_EQ(res.toml.find("[roles.learned.containers]"), std::string::npos);

    options by_group;
    by_group.group = "developers";
    by_group.role = "devs";
    auto const grouped = run(audit, by_group);
    EXPECT_EQ(grouped.used, 3u);
    EXPECT_NE(grouped.toml.find("[roles.devs]\nsubjects = [\"group:developers\"]"),
              std::string::npos)
        << grouped.toml;
}

TEST(learn, skips_and_counts_malformed_lines) {
    std::string audit = "not json\n{\"user\":\"alice\"}\n[1,2]\n\n";
    audit += line("alice", "ContainerList", "allow");
    audit += "{\"user\":\"alice\",\"operation\":\"ContainerList\",\"decision\":\"maybe\"}\n";
    audit += std::string(max_line_bytes + 1, 'x') + "\n";
    auto const res = run(audit);
    EXPECT_EQ(res.read, 6u);
    EXPECT_EQ(res.malformed, 5u);
    EXPECT_EQ(res.used, 1u);
    ASSERT_FALSE(res.warnings.empty());
    EXPECT_NE(res.warnings[0].find("5 line(s) skipped"), std::string::npos);
    EXPECT_NO_THROW(load(res.toml));
}

TEST(learn, warns_about_judged_requests_without_facts) {
    auto const res = run(line("alice", "ContainerCreate", "allow"));
    ASSERT_EQ(res.warnings.size(), 1u);
    EXPECT_NE(res.warnings[0].find("ContainerCreate"), std::string::npos);
}

TEST(learn, refuses_unusable_options) {
    std::istringstream in("");
    EXPECT_THROW(learn(in, options{}), std::invalid_argument);
    options both;
    both.user = "a";
    both.group = "b";
    EXPECT_THROW(learn(in, both), std::invalid_argument);
    options bad_name;
    bad_name.user = "a";
    bad_name.role = "a b";
    EXPECT_THROW(learn(in, bad_name), std::invalid_argument);
}

TEST(learn, a_tag_into_a_learned_repository_needs_local_names) {
    std::string audit;
    audit += line("alice", "ContainerCreate", "allow", R"({"image":"docker.io/team/app:1"})");
    audit += line("alice", "ImageTag", "allow", R"({"name":"docker.io/team/app:2"})");
    auto const cfg = load(run(audit).toml);
    EXPECT_TRUE(cfg.roles.at(0).constraints.images->local_names);
    auto const other =
        load(run(line("alice", "ContainerCreate", "allow", R"({"image":"docker.io/team/app:1"})") +
                 line("alice", "ImageTag", "allow", R"({"name":"other:2"})"))
                 .toml);
    EXPECT_FALSE(other.roles.at(0).constraints.images->local_names);
}

} // namespace
} // namespace dockgate::learn
