#include <string>

#include <gtest/gtest.h>

#include "config/ssh_keys.hpp"

namespace dockgate::config {
namespace {

constexpr char const* ed25519_blob =
    "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

struct line_case {
    char const* name;
    std::string line;
    std::string key; // "" = refused
    std::string why; // substring of the reason when refused
};

class ssh_key_lines : public ::testing::TestWithParam<line_case> {};

TEST_P(ssh_key_lines, keep_type_and_data_or_say_why) {
    auto const& c = GetParam();
    std::string why;
    auto const key = parse_ssh_key_line(c.line, why);
    if (c.key.empty()) {
        EXPECT_FALSE(key) << *key;
        EXPECT_NE(why.find(c.why), std::string::npos) << why;
    } else {
        ASSERT_TRUE(key) << why;
        EXPECT_EQ(*key, c.key);
    }
}

std::string const blob = ed25519_blob;

INSTANTIATE_TEST_SUITE_P(
    table, ssh_key_lines,
    ::testing::Values(
        line_case{"with_comment", "ssh-ed25519 " + blob + " alice@laptop", "ssh-ed25519 " + blob,
                  ""},
        line_case{"blanks_around", " \tssh-ed25519\t" + blob + " \r", "ssh-ed25519 " + blob, ""},
        line_case{"vertical_tab_separates", "ssh-ed25519\v" + blob, "ssh-ed25519 " + blob, ""},
        line_case{"options_prefix", "no-pty ssh-ed25519 " + blob, "",
                  "\"no-pty\" is not a supported key type"},
        line_case{"dsa", "ssh-dss " + blob, "", "\"ssh-dss\" is not a supported key type"},
        line_case{"certificate", "ssh-ed25519-cert-v01@openssh.com " + blob, "",
                  "is not a supported key type"},
        line_case{"long_type_is_cut", std::string(100, 'x') + " " + blob, "",
                  "\"" + std::string(40, 'x') + "\" is not"},
        line_case{"no_data", "ssh-ed25519", "", "the key data after \"ssh-ed25519\" is not base64"},
        line_case{"not_base64", "ssh-ed25519 AAAA*AAA", "", "is not base64"},
        line_case{"non_ascii_data", "ssh-ed25519 AAAA\xc3\xa9", "", "is not base64"},
        line_case{"empty", "", "", "\"\" is not a supported key type"}),
    [](auto const& info) { return std::string(info.param.name); });

TEST(ssh_keys_text, skips_blanks_and_comments_and_numbers_lines_from_one) {
    std::string const text = "# team\n"
                             "\n"
                             "  \t\r\n"
                             "ssh-ed25519 " +
                             blob + " alice\r\n" +
                             "   # indented comment\n"
                             "ssh-dss AAAA\n"
                             "ecdsa-sha2-nistp256 " +
                             blob; // no final newline
    auto const parsed = parse_ssh_keys_text(text);
    ASSERT_EQ(parsed.keys.size(), 2u);
    EXPECT_EQ(parsed.keys[0], "ssh-ed25519 " + blob);
    EXPECT_EQ(parsed.keys[1], "ecdsa-sha2-nistp256 " + blob);
    ASSERT_EQ(parsed.problems.size(), 1u);
    EXPECT_EQ(parsed.problems[0].line, 6u);
    EXPECT_NE(parsed.problems[0].why.find("ssh-dss"), std::string::npos);
}

TEST(ssh_keys_text, empty_text_has_no_keys_and_no_problems) {
    auto const parsed = parse_ssh_keys_text("");
    EXPECT_TRUE(parsed.keys.empty());
    EXPECT_TRUE(parsed.problems.empty());
}

TEST(ssh_keys_text, a_nul_byte_is_part_of_its_line) {
    using namespace std::string_literals;
    auto const parsed = parse_ssh_keys_text("ssh-ed25519 AAAA\0AAAA\nssh-rsa AAAA\n"s);
    ASSERT_EQ(parsed.problems.size(), 1u);
    EXPECT_EQ(parsed.problems[0].line, 1u);
    EXPECT_EQ(parsed.keys, std::vector<std::string>{"ssh-rsa AAAA"});
}

} // namespace
} // namespace dockgate::config
