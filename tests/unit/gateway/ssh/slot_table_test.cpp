// The SSH listener's counters: handshakes per address, channels in all and per user, and
// entries that go away with their last count.

#include <gtest/gtest.h>

#include "gateway/ssh/dial_stdio.hpp"
#include "gateway/ssh/slot_table.hpp"

namespace dockgate::ssh {
namespace {

TEST(slot_table, handshakes_are_capped_per_address_and_come_back) {
    slot_table t(2, 10, 10);
    EXPECT_TRUE(t.take_handshake("10.0.0.1"));
    EXPECT_TRUE(t.take_handshake("10.0.0.1"));
    EXPECT_FALSE(t.take_handshake("10.0.0.1"));
    EXPECT_TRUE(t.take_handshake("10.0.0.2")) << "another address has its own places";
    EXPECT_EQ(t.handshakes("10.0.0.1"), 2u);
    t.release_handshake("10.0.0.1");
    EXPECT_TRUE(t.take_handshake("10.0.0.1"));
    t.release_handshake("10.0.0.2");
    EXPECT_EQ(t.handshakes("10.0.0.2"), 0u);
}

TEST(slot_table, sessions_are_capped_in_all_and_per_user_with_the_limit_named) {
    slot_table t(10, 3, 2);
    EXPECT_EQ(t.take_session("alice"), std::nullopt);
    EXPECT_EQ(t.take_session("alice"), std::nullopt);
    EXPECT_EQ(t.take_session("alice"), "listen.ssh.max_sessions_per_user");
    EXPECT_EQ(t.take_session("bob"), std::nullopt);
    EXPECT_EQ(t.take_session("carol"), "listen.ssh.max_sessions");
    EXPECT_EQ(t.sessions(), 3u);
    t.release_session("alice");
    EXPECT_EQ(t.take_session("carol"), std::nullopt);
    EXPECT_EQ(t.sessions(), 3u);
}

TEST(dial_stdio, the_forms_the_docker_cli_and_docker_py_send_and_nothing_else) {
    EXPECT_TRUE(is_dial_stdio("docker system dial-stdio"));
    EXPECT_TRUE(is_dial_stdio("docker --host unix:///var/run/docker.sock system dial-stdio"));
    EXPECT_TRUE(is_dial_stdio("docker -H unix:///run/user/1000/docker.sock system dial-stdio"));
    EXPECT_TRUE(is_dial_stdio("docker --host=unix:///var/run/docker.sock system dial-stdio"));
    EXPECT_FALSE(is_dial_stdio("docker system dial-stdio; id"));
    EXPECT_FALSE(is_dial_stdio("docker --host tcp://10.0.0.1:2375 system dial-stdio"));
    EXPECT_FALSE(is_dial_stdio("docker system info"));
    EXPECT_FALSE(is_dial_stdio("sh -c 'docker system dial-stdio'"));
    EXPECT_FALSE(is_dial_stdio(""));
}

} // namespace
} // namespace dockgate::ssh
