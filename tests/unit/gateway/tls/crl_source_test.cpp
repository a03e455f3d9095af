#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "gateway/tls/crl_source.hpp"

namespace dockgate::tls {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::system_clock;

TEST(next_fetch_delay, is_the_refresh_interval_without_a_sooner_next_update) {
    auto const now = clock::now();
    EXPECT_EQ(next_fetch_delay(10min, now, std::nullopt), 10min);
    EXPECT_EQ(next_fetch_delay(10min, now, now + 1h), 10min);
    EXPECT_EQ(next_fetch_delay(10min, now, now + 10min), 10min);
}

TEST(next_fetch_delay, comes_just_after_a_sooner_next_update) {
    auto const now = clock::now();
    EXPECT_EQ(next_fetch_delay(10min, now, now + 2min), 2min + 1s);
    EXPECT_EQ(next_fetch_delay(1h, now, now + 59s), 60s);
}

TEST(next_fetch_delay, a_stale_crl_is_retried_soon_but_not_in_a_loop) {
    auto const now = clock::now();
    EXPECT_EQ(next_fetch_delay(10min, now, now - 1h), 30s);
    EXPECT_EQ(next_fetch_delay(5s, now, now - 1h), 5s);
    EXPECT_EQ(next_fetch_delay(10min, now, now), 30s);
    // Never below the floor, whatever the clock says.
    EXPECT_EQ(next_fetch_delay(10min, now, now + 1ms), 1s);
    EXPECT_EQ(next_fetch_delay(10min, now, now + 200ms, 2s), 2s);
}

TEST(parse_crls, refuses_what_is_not_a_crl) {
    for (std::string const body : {std::string(), std::string("<html>404</html>"),
                                   std::string("\x30\x03\x02\x01\x01", 5),
                                   std::string("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 "
                                               "CRL-----\n")}) {
        auto const got = parse_crls(body);
        ASSERT_TRUE(std::holds_alternative<std::string>(got)) << body;
        EXPECT_FALSE(std::get<std::string>(got).empty());
    }
}

} // namespace
} // namespace dockgate::tls
