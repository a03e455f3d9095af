#include <gtest/gtest.h>

#include "gateway/inspect/image_reference.hpp"

namespace dockgate::inspect {
namespace {

std::string normal(std::string_view text) {
    auto r = parse_image_reference(text);
    if (auto const* ref = std::get_if<image_reference>(&r))
        return ref->str();
    if (auto const* id = std::get_if<image_id>(&r))
        return "id " + id->id;
    return "error";
}

TEST(image_reference, normalises_like_the_daemon) {
    std::string const digest = "sha256:" + std::string(64, 'a');
    struct row {
        std::string in, out;
    };
    for (auto const& [in, out] : std::vector<row>{
             {"ubuntu", "docker.io/library/ubuntu:latest"},
             {"ubuntu:22.04", "docker.io/library/ubuntu:22.04"},
             {"library/ubuntu", "docker.io/library/ubuntu:latest"},
             {"docker.io/ubuntu", "docker.io/library/ubuntu:latest"},
             {"index.docker.io/library/ubuntu", "docker.io/library/ubuntu:latest"},
             {"index.docker.io/ubuntu", "docker.io/library/ubuntu:latest"},
             {"someone/app", "docker.io/someone/app:latest"},
             {"registry.example.com:5000/team/app:1.2", "registry.example.com:5000/team/app:1.2"},
             {"Registry.Example.com/app", "error"}, // not read as registry.example.com
             {"localhost/app", "localhost/app:latest"},
             {"localhost:5000/app", "localhost:5000/app:latest"},
             {"[::1]:5000/app", "error"}, // v20.10 refuses IPv6 hosts, newer daemons accept
             {"ubuntu@" + digest, "docker.io/library/ubuntu@" + digest},
             {"ubuntu:22.04@" + digest, "docker.io/library/ubuntu:22.04@" + digest},
             {digest, "id " + digest},
             {std::string(64, 'f'), "id sha256:" + std::string(64, 'f')},
             {"Ubuntu", "error"},
             {"docker.io/libraryX/ubuntu", "error"}, // upper case: the daemon refuses the name
             {"ubuntu:", "error"},
             {"ubuntu@sha256:abc", "error"},
             {"a//b", "error"},
             {"-a", "error"},
             {"evil.example.com:99999/x", "error"},
             {"", "error"},
             {"ubuntu latest", "error"},
         }) {
        EXPECT_EQ(normal(in), out) << in;
    }
}

// One row per example of the research notes (options_names.md section 5.2), run there through
// the parsers of both daemon versions. "refuse" is the gateway's answer where the daemon refuses,
// where the two versions disagree, or where the gateway is stricter (an upper-case host, a name
// with no registry host, a port outside 1-65535).
struct expected {
    std::string in;
    std::string domain; // "refuse", "id" (then `path` is the ID) or the host
    std::string path = {};
    std::string tag = {};
    std::string digest = {};
};

std::string describe(std::string_view text) {
    auto r = parse_image_reference(text);
    if (auto const* ref = std::get_if<image_reference>(&r))
        return ref->domain + " | " + ref->path + " | " + ref->tag + " | " + ref->digest;
    if (auto const* id = std::get_if<image_id>(&r))
        return "id | " + id->id + " |  | ";
    return "refuse |  |  | ";
}

TEST(image_reference, reads_tricky_names_as_both_daemon_versions_do) {
    std::string const hex64(64, 'a');
    std::string const sha256 = "sha256:" + hex64;
    std::string const sha512 = "sha512:" + std::string(128, 'b');
    std::string const tag128 = "t" + std::string(127, '9');
    std::vector<expected> const rows{
        {"ubuntu", "docker.io", "library/ubuntu"}, // name-only: a pull takes every tag
        // Domain detection: '.' or ':' or exactly "localhost"; matched case-sensitively.
        {"Localhost:5000/x", "refuse"}, // both read the host "Localhost:5000" literally
        {"LOCALHOST/x", "refuse"},      // v20.10: not lower case; newer: host "LOCALHOST"
        {"UPPER/x", "refuse"},
        {"Upper/x", "refuse"},
        {"x/UPPER", "refuse"},
        {"localhost:5000/UPPER", "refuse"},
        {"localhost/x", "localhost", "x"},
        {"localhost", "docker.io", "library/localhost"},
        {"localhost:5000", "docker.io", "library/localhost", "5000"},
        {"foo.bar/x", "foo.bar", "x"},
        {"foo.bar", "docker.io", "library/foo.bar"},
        {"foo:5000", "docker.io", "library/foo", "5000"},
        {"foo:5000/x", "foo:5000", "x"},
        {"127.0.0.1:5000", "docker.io", "library/127.0.0.1", "5000"},
        {"127.0.0.1:5000/x", "127.0.0.1:5000", "x"},
        // Docker Hub spellings.
        {"docker.io/x", "docker.io", "library/x"},
        {"index.docker.io/x", "docker.io", "library/x"},
        {"library/x", "docker.io", "library/x"},
        {"index.docker.io/library/x", "docker.io", "library/x"},
        {"DOCKER.IO/x", "refuse"}, // the daemon's host "DOCKER.IO", not Docker Hub
        {"Docker.io/library/x", "refuse"},
        {"INDEX.DOCKER.IO/x", "refuse"},
        {"registry-1.docker.io/library/x", "registry-1.docker.io", "library/x"},
        {"docker.io:443/x", "docker.io:443", "x"}, // another host: no "library/"
        {"docker.io/library/x/y", "docker.io", "library/x/y"},
        // Hosts the grammar refuses or that the versions read differently.
        {"foo_bar.com/x", "refuse"}, // the daemon's name "foo_bar.com/x" has no registry host
        {"a.b__c/x", "refuse"},
        {"my_registry:5000/x", "refuse"},
        {"host:port/x", "refuse"},
        {"localhost:/x", "refuse"},
        {"[::1]:5000/x", "refuse"}, // v20.10 refuses IPv6 hosts, newer daemons accept them
        {"[::1]/x", "refuse"},
        {"[fe80::1%eth0]:5000/x", "refuse"},
        {"localhost:65535/x", "localhost:65535", "x"},
        {"localhost:99999/x", "refuse"}, // the gateway's rule: a TCP port
        {"localhost:0/x", "refuse"},
        // Digests.
        {"x@" + sha256, "docker.io", "library/x", "", sha256},
        {"x@sha256:" + std::string(64, 'A'), "refuse"},
        {"x@sha256:abc", "refuse"},
        {"x@" + sha512, "docker.io", "library/x", "", sha512},
        {"x@md5:" + std::string(32, 'a'), "refuse"},
        {"x@SHA256:" + hex64, "refuse"},
        {"x:tag@" + sha256, "docker.io", "library/x", "tag", sha256},
        {"a/b/c:tag@" + sha256, "docker.io", "a/b/c", "tag", sha256},
        {"x@" + sha256 + ":tag", "refuse"},
        // Tags and path components.
        {"x:_tag", "docker.io", "library/x", "_tag"},
        {"x:Tag.1-B", "docker.io", "library/x", "Tag.1-B"}, // tags may be mixed case
        {"x:.tag", "refuse"},
        {"x:-tag", "refuse"},
        {":tag", "refuse"},
        {"x:", "refuse"},
        {"x::", "refuse"},
        {"x/", "refuse"},
        {"/x", "refuse"},
        {"a//b", "refuse"},
        {"x..y", "refuse"},
        {"x.-y", "refuse"},
        {"x-", "refuse"},
        {"-x", "refuse"},
        {"x___y", "refuse"},
        {"x__y", "docker.io", "library/x__y"},
        {"x--y", "docker.io", "library/x--y"},
        {"x-_y", "refuse"},
        {"x:" + tag128, "docker.io", "library/x", tag128},
        {"x:" + tag128 + "9", "refuse"},
        // IDs and hex.
        {hex64, "id", sha256},
        {sha256, "id", sha256}, // ParseAnyReference; a pull would read docker.io/library/sha256
        {"docker.io/" + hex64, "docker.io", "library/" + hex64},
        // Whitespace and control characters.
        {"x y", "refuse"},
        {" x", "refuse"},
        {"x\n", "refuse"},
        {"x:tag\n", "refuse"},
        {std::string("x\0", 2), "refuse"},
        // Length: v20.10 counts "docker.io/library/" (18 characters) in its 255.
        {std::string(237, 'a'), "docker.io", "library/" + std::string(237, 'a')},
        {std::string(238, 'a'), "refuse"}, // newer daemons accept it
        {std::string(240, 'a'), "refuse"},
        {std::string(256, 'a'), "refuse"},
        {"localhost/" + std::string(245, 'a'), "localhost", std::string(245, 'a')},
        {"localhost/" + std::string(246, 'a'), "refuse"},
    };
    for (auto const& row : rows) {
        std::string const want =
            row.domain + " | " + row.path + " | " + row.tag + " | " + row.digest;
        EXPECT_EQ(describe(row.in), want) << row.in;
    }
}

TEST(image_reference, upper_case_hosts_are_never_docker_hub) {
    std::string why;
    std::vector<config::registry_scope> scopes{*config::parse_registry_scope("docker.io", why)};
    for (auto const* text : {"DOCKER.IO/x", "Docker.io/library/x", "INDEX.DOCKER.IO/library/x"}) {
        auto r = parse_image_reference(text);
        auto const* ref = std::get_if<image_reference>(&r);
        EXPECT_TRUE(ref == nullptr || !reference_in_scopes(*ref, scopes)) << text;
    }
}

TEST(image_reference, hex_names_may_be_image_ids) {
    auto r = std::get<image_reference>(parse_image_reference("3f57d9401f8d"));
    EXPECT_TRUE(r.may_be_image_id);
    EXPECT_FALSE(
        std::get<image_reference>(parse_image_reference("3f57d9401f8d:1")).may_be_image_id);
    EXPECT_FALSE(std::get<image_reference>(parse_image_reference("ubuntu")).may_be_image_id);
    // "sha256:3f57" is the name docker.io/library/sha256 with tag "3f57", and else an ID prefix.
    auto sha = std::get<image_reference>(parse_image_reference("sha256:3f57d9401f8d"));
    EXPECT_EQ(sha.str(), "docker.io/library/sha256:3f57d9401f8d");
    EXPECT_TRUE(sha.may_be_image_id);
    EXPECT_FALSE(
        std::get<image_reference>(parse_image_reference("docker.io/3f57d9401f8d")).may_be_image_id);
}

TEST(image_reference, scopes_match_by_host_and_whole_path_components) {
    std::string why;
    std::vector<config::registry_scope> scopes;
    for (auto const* s : {"docker.io/library", "registry.example.com", "ghcr.io/org/team"})
        scopes.push_back(*config::parse_registry_scope(s, why));
    auto in = [&](std::string_view text) {
        return reference_in_scopes(std::get<image_reference>(parse_image_reference(text)), scopes);
    };
    EXPECT_TRUE(in("ubuntu"));
    EXPECT_TRUE(in("docker.io/library/ubuntu:22.04"));
    EXPECT_FALSE(in("docker.io/libraryx/ubuntu"));
    EXPECT_FALSE(in("someone/ubuntu"));
    EXPECT_TRUE(in("registry.example.com/anything/below:1"));
    EXPECT_FALSE(in("registry.example.com:5000/app"));
    EXPECT_FALSE(in("registry.example.com.evil.io/app"));
    EXPECT_FALSE(in("evil.example.com/ubuntu"));
    EXPECT_TRUE(in("ghcr.io/org/team/app"));
    EXPECT_TRUE(in("ghcr.io/org/team"));
    EXPECT_FALSE(in("ghcr.io/org/teamx/app"));
    EXPECT_FALSE(in("ghcr.io/org/app"));
}

TEST(image_reference, is_digest) {
    EXPECT_TRUE(is_digest("sha256:" + std::string(64, '0')));
    EXPECT_TRUE(is_digest("sha512:" + std::string(128, 'f')));
    EXPECT_FALSE(is_digest("sha256:" + std::string(63, '0')));
    EXPECT_FALSE(is_digest("sha256:" + std::string(64, 'A')));
    EXPECT_FALSE(is_digest("md5:" + std::string(32, '0')));
    EXPECT_FALSE(is_digest("latest"));
}

} // namespace
} // namespace dockgate::inspect
