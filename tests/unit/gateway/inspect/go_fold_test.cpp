#include <gtest/gtest.h>

#include "gateway/inspect/go_fold.hpp"

namespace dockgate::inspect {
namespace {

TEST(go_fold, ascii_folds_to_upper_case) {
    EXPECT_EQ(fold_key("Privileged"), "PRIVILEGED");
    EXPECT_EQ(fold_key("cap_sys_admin"), "CAP_SYS_ADMIN");
    EXPECT_TRUE(fold_equal("HostConfig", "hOSTcONFIG"));
    EXPECT_FALSE(fold_equal("HostConfig", "HostConfigs"));
    EXPECT_FALSE(fold_equal("a_b", "a-b"));
}

TEST(go_fold, unicode_runes_that_go_matches_to_ascii) {
    EXPECT_EQ(fold_rune(0x017F), U'S'); // long s (EqualFold and foldName)
    EXPECT_EQ(fold_rune(0x212A), U'K'); // Kelvin sign
    EXPECT_EQ(fold_rune(0x0131), U'I'); // dotless i (foldName, Go >= 1.21)
    EXPECT_EQ(fold_rune(0x0130), U'I'); // dotted capital I (foldName)
    EXPECT_TRUE(fold_equal("\xC5\xBF"
                           "ecurityopt",
                           "SecurityOpt"));
    EXPECT_TRUE(fold_equal("\xE2\x84\xAA"
                           "ernelMemory",
                           "KernelMemory"));
}

TEST(go_fold, other_scripts_fold_within_themselves) {
    EXPECT_EQ(fold_rune(0x00E9), fold_rune(0x00C9)); // e-acute
    EXPECT_EQ(fold_rune(0x03C3), fold_rune(0x03A3)); // sigma
    EXPECT_EQ(fold_rune(0x03C2), fold_rune(0x03A3)); // final sigma
    EXPECT_NE(fold_rune(0x00E9), U'E');
    EXPECT_EQ(fold_rune(0x4E2D), 0x4E2Du); // no case
    EXPECT_EQ(fold_rune(U'_'), U'_');
}

TEST(go_fold, invalid_bytes_only_equal_themselves) {
    EXPECT_TRUE(fold_equal("a\xFF", "A\xFF"));
    EXPECT_FALSE(fold_equal("a\xFF", "a\xFE"));
    EXPECT_FALSE(fold_equal("\xC3", "\xC3\xA9"));
}

TEST(utf8, decoding_rejects_what_go_replaces) {
    EXPECT_TRUE(valid_utf8("plain \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    for (auto const* bad :
         {"\x80", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xED\xA0\x80", "\xF0\x80\x80\x80",
          "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80", "\xC3", "\xE2\x82"}) {
        EXPECT_FALSE(valid_utf8(bad)) << bad;
    }
    std::string out;
    append_utf8(out, 0x10FFFF);
    EXPECT_EQ(out, "\xF4\x8F\xBF\xBF");
}

} // namespace
} // namespace dockgate::inspect
