#include <gtest/gtest.h>

#include "gateway/audit/syslog_format.hpp"

namespace dockgate::audit {
namespace {

TEST(syslog_format, escapes_quote_backslash_and_bracket_in_sd_values) {
    EXPECT_EQ(escape_sd_value("plain"), "plain");
    EXPECT_EQ(escape_sd_value(R"(a"b\c]d)"), R"(a\"b\\c\]d)");
    EXPECT_EQ(escape_sd_value("[x="), "[x="); // only the three RFC 5424 §6.3.3 names
    EXPECT_EQ(escape_sd_value(""), "");
}

TEST(syslog_format, hostname_is_printable_and_never_empty) {
    EXPECT_EQ(sanitize_hostname("gw-1.example.com"), "gw-1.example.com");
    EXPECT_EQ(sanitize_hostname("a b\tc\x7f"), "a_b_c_");
    EXPECT_EQ(sanitize_hostname(""), "-");
    EXPECT_EQ(sanitize_hostname(std::string(300, 'h')).size(), 255u);
}

TEST(syslog_format, header_structured_data_and_message_follow_rfc_5424) {
    policy::identity who{R"(ev"il]\x)", {"developers"}, "tls", "127.0.0.1:5000", "serial:01", ""};
    audit_record r;
    r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
    r.who = &who;
    r.operation = "ContainerCreate";
    r.decision = policy::outcome::deny;
    syslog_origin const origin{10, "gw", 4242};
    std::string const json = R"({"user":"x"})";
    EXPECT_EQ(format_syslog(origin, r, json),
              R"(<85>1 2023-11-14T22:13:20.123Z gw dockgate 4242 - [dockgate@32473 )"
              R"(user="ev\"il\]\\x" operation="ContainerCreate" decision="deny"] {"user":"x"})");
    // Allowed: severity informational (6); local0 is facility 16.
    r.decision = policy::outcome::allow;
    auto const allowed = format_syslog({16, "gw", 1}, r, json);
    EXPECT_EQ(allowed.rfind("<134>1 ", 0), 0u) << allowed;
    EXPECT_NE(allowed.find(R"(decision="allow"] )"), std::string::npos) << allowed;
    // A request refused before anyone was identified: empty values, still well formed.
    audit_record anonymous;
    anonymous.time = r.time;
    auto const bare = format_syslog(origin, anonymous, "{}");
    EXPECT_NE(bare.find(R"([dockgate@32473 user="" operation="" decision="deny"] {})"),
              std::string::npos)
        << bare;
    EXPECT_EQ(format_syslog({10, "", 1}, anonymous, "{}").find(" - dockgate 1 - ["), 30u);
}

TEST(syslog_format, octet_counting_frames_the_message_length_in_bytes) {
    EXPECT_EQ(octet_frame("<86>1 x"), "7 <86>1 x");
    EXPECT_EQ(octet_frame(""), "0 ");
    std::string const utf8 = "\xc3\xa9"; // two octets, one character
    EXPECT_EQ(octet_frame(utf8), "2 " + utf8);
    EXPECT_EQ(octet_frame(std::string(1000, 'm')).substr(0, 5), "1000 ");
}

} // namespace
} // namespace dockgate::audit
