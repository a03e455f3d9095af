#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "gateway/ssh/ssh_material.hpp"

namespace dockgate::ssh {
namespace {

constexpr char const* ed25519_blob =
    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

// What load_ssh_material says about alice's one key `line` ("" when it loads).
std::string refusal(std::string const& line) {
    config::config cfg;
    cfg.users["alice"].ssh_keys = {line};
    try {
        load_ssh_material(cfg);
        return "";
    } catch (std::runtime_error const& e) {
        return e.what();
    }
}

TEST(load_ssh_material, admits_a_key_by_its_openssh_fingerprint) {
    config::config cfg;
    cfg.users["alice"].ssh_keys = {std::string("ssh-ed25519 ") + ed25519_blob};
    auto const material = load_ssh_material(cfg);
    // ssh-keygen -lf of that key
    EXPECT_TRUE(material->allows("alice", "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"));
    EXPECT_FALSE(material->allows("bob", "SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"));
}

// Regression (found by ssh_keys_fuzz): libssh ignored bytes after the key, so a line with extra
// bytes was admitted as the key in front of them.
TEST(load_ssh_material, refuses_a_line_that_is_more_or_other_than_one_key) {
    auto const extra = refusal(std::string("ssh-ed25519 ") + ed25519_blob + "AAAAAA==");
    EXPECT_NE(extra.find("users.alice: SSH key 1 (ssh-ed25519) holds more or other bytes"),
              std::string::npos)
        << extra;
    auto const renamed = refusal(std::string("ssh-rsa ") + ed25519_blob);
    EXPECT_NE(renamed.find("users.alice: SSH key 1 (ssh-rsa)"), std::string::npos) << renamed;
    EXPECT_EQ(refusal(std::string("ssh-ed25519 ") + ed25519_blob), "");
}

} // namespace
} // namespace dockgate::ssh
