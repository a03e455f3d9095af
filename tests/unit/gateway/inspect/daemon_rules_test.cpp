#include <gtest/gtest.h>

#include "gateway/inspect/daemon_rules.hpp"

namespace dockgate::inspect {
namespace {

TEST(parse_bind, splits_like_the_linux_mount_parser) {
    auto b = parse_bind("/srv/data:/data:ro");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->source, "/srv/data");
    EXPECT_TRUE(b->host_path);
    b = parse_bind("myvolume:/data");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->source, "myvolume");
    EXPECT_FALSE(b->host_path);
    b = parse_bind("/anonymous");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->source.empty());
    EXPECT_FALSE(parse_bind(":/x"));
    EXPECT_FALSE(parse_bind("/a:/b:ro:extra"));
    EXPECT_FALSE(parse_bind(""));
}

TEST(normalize_capability, like_normalize_legacy_capabilities) {
    EXPECT_EQ(normalize_capability("SYS_ADMIN"), "CAP_SYS_ADMIN");
    EXPECT_EQ(normalize_capability("cap_sys_admin"), "CAP_SYS_ADMIN");
    EXPECT_EQ(normalize_capability("Cap_Net_Bind_Service"), "CAP_NET_BIND_SERVICE");
    EXPECT_EQ(normalize_capability("\xC5\xBF"
                                   "ys_admin"),
              "CAP_SYS_ADMIN"); // Go's ToUpper("ſ") is "S"
    EXPECT_EQ(normalize_capability("all"), "ALL");
    EXPECT_EQ(normalize_capability("CAP_ALL"), std::nullopt);
    EXPECT_EQ(normalize_capability("SYS_ADMN"), std::nullopt);
    EXPECT_EQ(normalize_capability(""), std::nullopt);
    EXPECT_EQ(normalize_capability("SYS_ADMIN "), std::nullopt);
}

TEST(judge_user, run_as_non_root) {
    struct row {
        char const* user;
        user_class want;
    };
    for (auto const& r : std::vector<row>{
             {"", user_class::empty},
             {"1000:1000", user_class::non_root},
             {"+1000:0001000", user_class::non_root},
             {"1000:1000:0", user_class::non_root}, // runc ignores fields after the group
             {"root", user_class::root},
             {"0", user_class::root},
             {"00", user_class::root},
             {"-0", user_class::root},
             {"0:0", user_class::root},
             {"1000:0", user_class::root},
             {"1000:00", user_class::root},
             {"root:root", user_class::root},
             {"1000:root", user_class::root},
             {":1000", user_class::root},
             {"1000", user_class::unverifiable},
             {"1000:", user_class::unverifiable},
             {"nobody", user_class::unverifiable},
             {"nobody:1000", user_class::unverifiable},
             {"1000:staff", user_class::unverifiable},
             {"-1:1000", user_class::unverifiable},
             {"2147483648:1", user_class::unverifiable},
             {"99999999999999999999:1", user_class::unverifiable},
             {"ROOT:1", user_class::unverifiable},
             {"0x3e8:1", user_class::unverifiable},
         }) {
        EXPECT_EQ(judge_user(r.user).verdict, r.want) << r.user;
    }
}

TEST(classify_mode, namespace_modes) {
    EXPECT_EQ(classify_mode(namespace_field::pid, "host").verdict, mode_class::host);
    EXPECT_EQ(classify_mode(namespace_field::pid, "").verdict, mode_class::isolated);
    auto const c = classify_mode(namespace_field::pid, "container:db");
    EXPECT_EQ(c.verdict, mode_class::container);
    EXPECT_EQ(c.subject, "db");
    EXPECT_EQ(classify_mode(namespace_field::pid, "container:").verdict, mode_class::invalid);
    EXPECT_EQ(classify_mode(namespace_field::pid, "Host").verdict, mode_class::invalid);
    EXPECT_EQ(classify_mode(namespace_field::uts, "container:db").verdict, mode_class::invalid);
    EXPECT_EQ(classify_mode(namespace_field::ipc, "shareable").verdict, mode_class::isolated);
    EXPECT_EQ(classify_mode(namespace_field::ipc, "container:db").verdict, mode_class::container);
    EXPECT_EQ(classify_mode(namespace_field::network, "bridge").verdict, mode_class::isolated);
    EXPECT_EQ(classify_mode(namespace_field::network, "HOST").verdict, mode_class::network);
    EXPECT_EQ(classify_mode(namespace_field::cgroupns, "private").verdict, mode_class::isolated);
    EXPECT_EQ(classify_mode(namespace_field::userns, "host").verdict, mode_class::host);
    EXPECT_EQ(classify_mode(namespace_field::userns, "private").verdict, mode_class::invalid);
    EXPECT_EQ(classify_mode(namespace_field::cgroup, "host").verdict, mode_class::invalid);
    EXPECT_EQ(classify_mode(namespace_field::cgroup, "container:x").verdict, mode_class::container);
}

} // namespace
} // namespace dockgate::inspect
