#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "gateway/inspect/request_facts.hpp"

namespace dockgate::inspect {
namespace {

boost::json::object facts_of(std::string_view op, std::string_view body,
                             std::vector<query_param> const& query = {}) {
    auto const text = request_facts(op, query, body);
    if (text.empty())
        return {};
    return boost::json::parse(text).as_object();
}

TEST(request_facts, a_container_create_as_the_rules_read_it) {
    auto const f = facts_of("ContainerCreate", R"({
      "image": "alpine:3.19", "user": "1000:1000", "Env": ["TOKEN=secret"],
      "HostConfig": {"capadd": ["net_admin", "CAP_SYS_TIME"], "Binds": ["/srv//data/../data:/x:ro", "named:/y"],
        "Mounts": [{"Type": "bind", "Source": "/opt/app/"}, {"Type": "volume", "Source": "v",
                    "VolumeOptions": {"DriverConfig": {"Name": "nfsplugin", "Options": {"o": "x"}}}}],
        "PidMode": "host", "NetworkMode": "bridge", "Privileged": true,
        "PortBindings": {"80/tcp": [{"HostPort": "80"}]}, "LogConfig": {"Type": "syslog"},
        "SecurityOpt": ["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}", "no-new-privileges"],
        "Devices": [{"PathOnHost": "/dev/fuse"}], "CgroupParent": "", "Runtime": "runc"}})");
    EXPECT_EQ(f.at("image"), "docker.io/library/alpine:3.19");
    EXPECT_EQ(f.at("user"), "1000:1000");
    EXPECT_EQ(f.at("user_non_root"), true);
    EXPECT_EQ(f.at("privileged"), true);
    EXPECT_EQ(f.at("cap_add"), (boost::json::array{"CAP_NET_ADMIN", "CAP_SYS_TIME"}));
    EXPECT_EQ(f.at("bind_sources"), (boost::json::array{"/srv/data", "/opt/app"}));
    EXPECT_EQ(f.at("host_namespaces"), boost::json::array{"pid"});
    EXPECT_EQ(f.at("volume_drivers"), boost::json::array{"nfsplugin"});
    EXPECT_EQ(f.at("volume_driver_opts"), true);
    EXPECT_EQ(f.at("privileged_ports"), true);
    EXPECT_EQ(f.at("log_driver"), "syslog");
    EXPECT_EQ(f.at("runtime"), "runc");
    EXPECT_EQ(f.at("devices"), true);
    EXPECT_EQ(f.at("security_opt"), (boost::json::array{"seccomp=<profile>", "no-new-privileges"}));
    EXPECT_EQ(f.at("unconfined"), true); // syslog may send the output over the network
    EXPECT_FALSE(f.contains("cgroup_parent"));
    EXPECT_FALSE(f.contains("sysctls"));
    // Never a secret: environment values are not part of the facts.
    EXPECT_EQ(boost::json::serialize(f).find("secret"), std::string::npos);
}

TEST(request_facts, lists_and_strings_are_bounded) {
    std::string binds;
    for (std::size_t i = 0; i < max_fact_items + 10; ++i)
        binds += (i ? "," : "") + std::string("\"/d") + std::to_string(i) + ":/x\"";
    auto const f = facts_of("ContainerCreate", R"({"Image":")" + std::string(1000, 'a') +
                                                   R"(","HostConfig":{"Binds":[)" + binds + "]}}");
    EXPECT_EQ(f.at("bind_sources").as_array().size(), max_fact_items);
    EXPECT_EQ(f.at("truncated"), true);
    EXPECT_LE(f.at("image").as_string().size(), max_fact_bytes);
}

TEST(request_facts, query_bytes_become_valid_utf8_without_control_characters) {
    // A percent-decoded query may hold any bytes; the audit line must stay one JSON line.
    auto const text =
        request_facts("ImageTag", std::vector<query_param>{{"repo", "a\xff\nb\xc3\xa9"}}, "");
    auto const f = boost::json::parse(text).as_object();
    EXPECT_EQ(f.at("name"), "a??b\xc3\xa9");
}

TEST(request_facts, what_needs_containers_unconfined_is_flagged) {
    auto const log = facts_of("ContainerCreate", R"({"HostConfig":{"LogConfig":{"Type":"gelf",
        "Config":{"gelf-address":"udp://10.0.0.1:12201"}}}})");
    EXPECT_EQ(log.at("log_driver"), "gelf");
    EXPECT_EQ(log.at("unconfined"), true);
    auto const opt =
        facts_of("ContainerCreate", R"({"HostConfig":{"SecurityOpt":["seccomp=unconfined"]}})");
    EXPECT_EQ(opt.at("unconfined"), true);
}

TEST(request_facts, exec_volume_and_image_operations) {
    auto const exec =
        facts_of("ContainerExec", R"({"User":"root","Privileged":true,"Cmd":["sh"]})");
    EXPECT_EQ(exec.at("user"), "root");
    EXPECT_FALSE(exec.contains("user_non_root"));
    EXPECT_EQ(exec.at("privileged"), true);

    auto const vol = facts_of("VolumeCreate", R"({"Name":"v","DriverOpts":{"device":"/"}})");
    EXPECT_EQ(vol.at("driver"), "");
    EXPECT_EQ(vol.at("driver_opts"), true);
    EXPECT_EQ(boost::json::serialize(vol).find("device"), std::string::npos);

    auto const pull = facts_of("ImageCreate", "", {{"fromImage", "ubuntu"}, {"tag", "22.04"}});
    EXPECT_EQ(pull.at("image"), "docker.io/library/ubuntu:22.04");
    auto const import = facts_of("ImageCreate", "", {{"fromSrc", "-"}, {"repo", "me/base"}});
    EXPECT_EQ(import.at("import"), true);
    EXPECT_EQ(import.at("name"), "docker.io/me/base:latest"); // the tag the daemon gives it
    auto const tag = facts_of("ImageTag", "", {{"repo", "localhost:5000/x"}, {"tag", "1"}});
    EXPECT_EQ(tag.at("name"), "localhost:5000/x:1");

    EXPECT_EQ(request_facts("ContainerList", {}, ""), "");
    EXPECT_EQ(request_facts("ContainerCreate", {}, "  "), "{}");
    EXPECT_EQ(request_facts("ContainerCreate", {}, "{\"a\":"), R"({"unreadable":true})");
}

} // namespace
} // namespace dockgate::inspect
