// Per-user limits: which values apply to a user with several roles, the token bucket, the
// connection and in-flight counts, and the per-address handshake rate.

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "gateway/limits/user_limits.hpp"

namespace dockgate::limits {
namespace {

using namespace std::chrono_literals;

config::config two_roles() {
    return config::parse_config(R"(
[gateway]
upstream = "unix:///run/docker.sock"
[listen.unix]
path = "/run/dockgate.sock"
[limits]
per_user_connections = 10
per_user_inflight = 4
per_user_rate = 5
per_user_burst = 10
[roles.ci]
subjects = ["group:ci"]
allow = ["*"]
[roles.ci.limits]
per_user_connections = 2
per_user_rate = 20
[roles.batch]
subjects = ["group:batch"]
allow = ["*"]
[roles.batch.limits]
per_user_inflight = 100
per_user_rate = 0
)",
                                "/tmp", "limits.toml");
}

TEST(limits_for, a_user_without_overrides_gets_the_limits_section) {
    auto const cfg = two_roles();
    auto const l = limits_for(cfg, {});
    EXPECT_EQ(10u, l.connections);
    EXPECT_EQ(4u, l.inflight);
    EXPECT_EQ(5, l.rate);
    EXPECT_EQ(10, l.burst);
}

TEST(limits_for, one_role_overrides_only_what_it_names) {
    auto const l = limits_for(two_roles(), {"ci"});
    EXPECT_EQ(2u, l.connections); // the role's, even though lower
    EXPECT_EQ(4u, l.inflight);    // [limits]
    EXPECT_EQ(20, l.rate);
    EXPECT_EQ(10, l.burst);
}

TEST(limits_for, several_roles_give_the_most_generous_of_each) {
    auto const l = limits_for(two_roles(), {"ci", "batch"});
    EXPECT_EQ(10u, l.connections); // batch has none of its own: [limits]' 10 beats ci's 2
    EXPECT_EQ(100u, l.inflight);
    EXPECT_EQ(0, l.rate); // batch: no rate limit at all
}

TEST(token_bucket, starts_full_then_refills_at_the_rate) {
    token_bucket b;
    auto const t0 = clock::time_point{} + 1h;
    EXPECT_FALSE(b.take(2, 3, t0));
    EXPECT_FALSE(b.take(2, 3, t0));
    EXPECT_FALSE(b.take(2, 3, t0));
    auto wait = b.take(2, 3, t0);
    ASSERT_TRUE(wait);
    EXPECT_NEAR(0.5, std::chrono::duration<double>(*wait).count(), 1e-6);
    EXPECT_FALSE(b.take(2, 3, t0 + 500ms)); // one token back after 1/rate
    EXPECT_TRUE(b.take(2, 3, t0 + 500ms));
    EXPECT_FALSE(b.full_at(2, 3, t0 + 1s));
    EXPECT_TRUE(b.full_at(2, 3, t0 + 2s));
}

TEST(token_bucket, a_burst_of_zero_is_one_second_of_rate_and_at_least_one) {
    token_bucket b;
    auto const t0 = clock::time_point{} + 1h;
    EXPECT_FALSE(b.take(0.5, 0, t0));
    EXPECT_TRUE(b.take(0.5, 0, t0));
}

TEST(user_limiter, connections_are_counted_per_user_and_released) {
    user_limiter u;
    config::per_user_limits l;
    l.connections = 2;
    EXPECT_FALSE(u.open_connection("alice", l));
    EXPECT_FALSE(u.open_connection("alice", l));
    auto over = u.open_connection("alice", l);
    ASSERT_TRUE(over);
    EXPECT_EQ(limit_kind::connections, over->which);
    EXPECT_EQ("per_user_connections", limit_key(over->which));
    EXPECT_FALSE(u.open_connection("bob", l)); // another user is not affected
    u.close_connection("alice");
    EXPECT_FALSE(u.open_connection("alice", l));
}

TEST(user_limiter, requests_in_flight_hold_their_place_until_they_end) {
    user_limiter u;
    config::per_user_limits l;
    l.inflight = 1;
    EXPECT_FALSE(u.begin_request("alice", l));
    auto over = u.begin_request("alice", l);
    ASSERT_TRUE(over);
    EXPECT_EQ(limit_kind::inflight, over->which);
    EXPECT_EQ(1s, over->retry_after);
    u.end_request("alice");
    EXPECT_FALSE(u.begin_request("alice", l));
}

TEST(user_limiter, the_rate_refuses_with_the_time_to_the_next_token) {
    user_limiter u;
    config::per_user_limits l;
    l.rate = 0.25; // one request every 4 s
    l.burst = 2;
    auto const t0 = clock::now();
    EXPECT_FALSE(u.begin_request("alice", l, t0));
    u.end_request("alice");
    EXPECT_FALSE(u.begin_request("alice", l, t0));
    u.end_request("alice");
    auto over = u.begin_request("alice", l, t0 + 1s);
    ASSERT_TRUE(over);
    EXPECT_EQ(limit_kind::rate, over->which);
    EXPECT_EQ(3s, over->retry_after); // 4 s per token, 1 s already passed
    EXPECT_FALSE(u.begin_request("alice", l, t0 + 4s));
}

TEST(user_limiter, a_refused_request_is_not_counted_in_flight) {
    user_limiter u;
    config::per_user_limits l;
    l.inflight = 1;
    l.rate = 1;
    l.burst = 1;
    auto const t0 = clock::now();
    EXPECT_FALSE(u.begin_request("alice", l, t0));
    u.end_request("alice");
    EXPECT_TRUE(u.begin_request("alice", l, t0));       // rate: refused
    EXPECT_FALSE(u.begin_request("alice", l, t0 + 1s)); // the refusal held no place
}

TEST(user_limiter, state_is_dropped_when_a_user_has_nothing_left_to_remember) {
    user_limiter u;
    config::per_user_limits l; // no rate limit
    EXPECT_FALSE(u.open_connection("alice", l));
    EXPECT_EQ(1u, u.tracked_users());
    u.close_connection("alice");
    EXPECT_EQ(0u, u.tracked_users());
}

TEST(user_limiter, a_partly_empty_bucket_outlives_the_connection) {
    // A client that opens a connection per request (the docker CLI) must not get a fresh
    // bucket each time.
    user_limiter u;
    config::per_user_limits l;
    l.rate = 1;
    l.burst = 1;
    EXPECT_FALSE(u.open_connection("alice", l));
    EXPECT_FALSE(u.begin_request("alice", l));
    u.end_request("alice");
    u.close_connection("alice");
    EXPECT_FALSE(u.open_connection("alice", l));
    EXPECT_TRUE(u.begin_request("alice", l));
}

TEST(address_limiter, allows_twice_the_rate_in_a_burst_then_the_rate) {
    address_limiter a;
    auto const t0 = clock::now();
    for (int i = 0; i < 10; ++i)
        EXPECT_TRUE(a.admit("192.0.2.1", 5, t0)) << i;
    EXPECT_FALSE(a.admit("192.0.2.1", 5, t0));
    EXPECT_TRUE(a.admit("192.0.2.2", 5, t0)); // per address
    EXPECT_TRUE(a.admit("192.0.2.1", 5, t0 + 200ms));
    EXPECT_TRUE(a.admit("192.0.2.1", 0, t0)); // 0: no limit
}

TEST(address_limiter, stays_bounded_under_many_addresses) {
    // Each address's bucket is full again 200 ms after its one connection; 20,000 addresses
    // over 20 s never make the table hold more than its prune mark.
    address_limiter a;
    auto const t0 = clock::now();
    std::size_t most = 0;
    for (int i = 0; i < 20000; ++i) {
        EXPECT_TRUE(a.admit("198.51.100." + std::to_string(i), 5, t0 + i * 1ms));
        most = std::max(most, a.tracked_addresses());
    }
    EXPECT_LE(most, 8192u);
}

} // namespace
} // namespace dockgate::limits
