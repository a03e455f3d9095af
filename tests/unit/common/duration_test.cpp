#include <gtest/gtest.h>

#include "common/duration.hpp"

namespace dockgate {
namespace {

TEST(parse_duration, accepts_integer_and_unit) {
    EXPECT_EQ(parse_duration("10s"), std::chrono::seconds(10));
    EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
    EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
    EXPECT_EQ(parse_duration("1h"), std::chrono::hours(1));
    EXPECT_EQ(parse_duration("14d"), std::chrono::hours(14 * 24));
}

TEST(parse_duration, refuses_everything_else) {
    for (auto const* bad :
         {"", "10", "s", "1.5s", "-1s", "10 s", "10sec", "1y", "99999999999999999999d"})
        EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(format_duration, picks_the_largest_exact_unit) {
    EXPECT_EQ(format_duration(std::chrono::seconds(120)), "2m");
    EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1500ms");
    EXPECT_EQ(format_duration(std::chrono::hours(48)), "2d");
}

} // namespace
} // namespace dockgate
