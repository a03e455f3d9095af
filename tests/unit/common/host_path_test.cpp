#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/host_path.hpp"

namespace dockgate {
namespace {

namespace fs = std::filesystem;

class host_path : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "dockgate-hostpath.XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = fs::canonical(pattern).string();
        fs::create_directories(root_ + "/data/sub");
    }
    void TearDown() override { fs::remove_all(root_); }
    std::string resolved(std::string const& p) {
        auto r = resolve_host_path(p);
        EXPECT_TRUE(r.error.empty()) << p << ": " << r.error;
        return r.path;
    }
    std::string root_;
};

TEST_F(host_path, plain_paths_stay_as_they_are) {
    EXPECT_EQ(resolved(root_ + "/data/sub"), root_ + "/data/sub");
    EXPECT_EQ(resolved("/"), "/");
    // What does not exist is appended, cleaned.
    EXPECT_EQ(resolved(root_ + "/data/new/./deeper"), root_ + "/data/new/deeper");
}

TEST_F(host_path, links_are_followed_wherever_they_point) {
    fs::create_symlink("/", root_ + "/data/escape");
    EXPECT_EQ(resolved(root_ + "/data/escape"), "/");
    EXPECT_EQ(resolved(root_ + "/data/escape/etc"), "/etc");
    fs::create_symlink("../..", root_ + "/data/sub/up");
    EXPECT_EQ(resolved(root_ + "/data/sub/up"), root_);
    // A link inside the folder that stays inside it: the allowed twin.
    fs::create_symlink("sub", root_ + "/data/inside");
    EXPECT_EQ(resolved(root_ + "/data/inside/file"), root_ + "/data/sub/file");
    // A dangling link leads where the daemon would create or mount.
    fs::create_symlink("/nonexistent-dockgate/x", root_ + "/data/dangling");
    EXPECT_EQ(resolved(root_ + "/data/dangling/y"), "/nonexistent-dockgate/x/y");
    // Chains of links.
    fs::create_symlink(root_ + "/data/escape", root_ + "/data/chain");
    EXPECT_EQ(resolved(root_ + "/data/chain/tmp"), "/tmp");
}

TEST_F(host_path, loops_and_relative_paths_are_errors) {
    fs::create_symlink("loop-b", root_ + "/data/loop-a");
    fs::create_symlink("loop-a", root_ + "/data/loop-b");
    EXPECT_FALSE(resolve_host_path(root_ + "/data/loop-a/x").error.empty());
    EXPECT_FALSE(resolve_host_path("relative/path").error.empty());
    EXPECT_FALSE(resolve_host_path("").error.empty());
}

} // namespace
} // namespace dockgate
