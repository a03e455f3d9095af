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
             {"Registry.Example.com/app", "registry.example.com/app:latest"},
             {"localhost/app", "localhost/app:latest"},
             {"localhost:5000/app", "localhost:5000/app:latest"},
             {"[::1]:5000/app", "[::1]:5000/app:latest"},
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

TEST(image_reference, hex_names_may_be_image_ids) {
    auto r = std::get<image_reference>(parse_image_reference("3f57d9401f8d"));
    EXPECT_TRUE(r.may_be_image_id);
    EXPECT_FALSE(
        std::get<image_reference>(parse_image_reference("3f57d9401f8d:1")).may_be_image_id);
    EXPECT_FALSE(std::get<image_reference>(parse_image_reference("ubuntu")).may_be_image_id);
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
