#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace dockgate::config {
namespace {

struct url_case {
    std::string text;
    std::string host;
    std::uint16_t port;
    std::string target;
};

TEST(crl_url, http_urls_split_into_host_port_and_target) {
    url_case const cases[] = {
        {"http://pki.example.com/ca.crl", "pki.example.com", 80, "/ca.crl"},
        {"http://pki.example.com:8080/crl/ca-1.crl", "pki.example.com", 8080, "/crl/ca-1.crl"},
        {"http://127.0.0.1:9/x.crl?v=2", "127.0.0.1", 9, "/x.crl?v=2"},
        {"http://[::1]:8000/ca.crl", "::1", 8000, "/ca.crl"},
        {"http://[2001:db8::1]/ca.crl#frag", "2001:db8::1", 80, "/ca.crl"},
        {"http://pki.example.com", "pki.example.com", 80, "/"},
    };
    for (auto const& c : cases) {
        crl_url u;
        EXPECT_EQ(parse_crl_url(c.text, u), "") << c.text;
        EXPECT_EQ(u.host, c.host) << c.text;
        EXPECT_EQ(u.port, c.port) << c.text;
        EXPECT_EQ(u.target, c.target) << c.text;
        EXPECT_EQ(u.url, c.text);
    }
}

TEST(crl_url, other_forms_are_refused_with_the_reason) {
    std::pair<std::string, std::string> const cases[] = {
        {"https://pki.example.com/ca.crl", "https:// is not supported"},
        {"ftp://pki.example.com/ca.crl", "is not an http:// URL"},
        {"pki.example.com/ca.crl", "is not an http:// URL"},
        {"http:///ca.crl", "names no host"},
        {"http://user@pki.example.com/ca.crl", "names no host"},
        {"http://pki.example.com:/ca.crl", "empty port"},
        {"http://pki.example.com:0/ca.crl", "is not a port"},
        {"http://pki.example.com:65536/ca.crl", "is not a port"},
        {"http://pki.example.com:80a/ca.crl", "is not a port"},
        {"http://[::1/ca.crl", "unclosed ["},
        {"http://[::1]x/ca.crl", "expected :PORT"},
        {"http://pki.example.com/a b.crl", "spaces"},
        {"http://:80/ca.crl", "names no host"},
    };
    for (auto const& [text, why] : cases) {
        crl_url u;
        auto const got = parse_crl_url(text, u);
        EXPECT_NE(got.find(why), std::string::npos) << text << " -> " << got;
    }
}

class crl_config_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("dockgate-crl-config-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        for (auto const* f : {"ca.pem", "server-cert.pem", "server-key.pem"})
            std::ofstream(dir_ / f) << "x";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string problems(std::string const& tls_keys) {
        try {
            parse(tls_keys);
            return "";
        } catch (config_error const& e) {
            std::string all;
            for (auto const& p : e.problems())
                all += p + "\n";
            return all;
        }
    }
    config parse(std::string const& tls_keys) {
        return parse_config(R"(
[gateway]
upstream = "unix:///var/run/docker.sock"
[listen.tls]
address = "127.0.0.1:2376"
ca = "ca.pem"
cert = "server-cert.pem"
key = "server-key.pem"
)" + tls_keys + R"(
[roles.readonly]
subjects = ["group:developers"]
allow = ["SystemInfo"]
)",
                            dir_, "test.toml");
    }

    std::filesystem::path dir_;
};

TEST_F(crl_config_test, defaults_are_ten_minutes_ten_seconds_and_refuse) {
    auto const cfg = parse("crl_urls = [\"http://127.0.0.1:8080/ca-1.crl\"]\n");
    ASSERT_TRUE(cfg.tls);
    ASSERT_EQ(cfg.tls->crl_urls.size(), 1U);
    EXPECT_EQ(cfg.tls->crl_urls[0].port, 8080);
    EXPECT_EQ(cfg.tls->crl_refresh, std::chrono::minutes(10));
    EXPECT_EQ(cfg.tls->crl_timeout, std::chrono::seconds(10));
    EXPECT_EQ(cfg.tls->crl_stale, crl_stale_policy::refuse);
}

TEST_F(crl_config_test, refresh_timeout_and_stale_can_be_set) {
    auto const cfg = parse("crl_urls = [\"http://a/1.crl\", \"http://b:81/2.crl\"]\n"
                           "crl_refresh = \"30s\"\ncrl_timeout = \"2s\"\ncrl_stale = \"allow\"\n");
    ASSERT_EQ(cfg.tls->crl_urls.size(), 2U);
    EXPECT_EQ(cfg.tls->crl_refresh, std::chrono::seconds(30));
    EXPECT_EQ(cfg.tls->crl_timeout, std::chrono::seconds(2));
    EXPECT_EQ(cfg.tls->crl_stale, crl_stale_policy::allow);
}

TEST_F(crl_config_test, bad_values_name_the_key_and_the_fix) {
    std::pair<std::string, std::string> const cases[] = {
        {"crl_urls = [\"https://a/1.crl\"]\n",
         "listen.tls.crl_urls[0]: \"https://a/1.crl\": https:// is not supported"},
        {"crl_urls = [\"http://a/1.crl\", \"http://a/1.crl\"]\n",
         "listen.tls.crl_urls[1]: \"http://a/1.crl\" is listed twice"},
        {"crl_urls = \"http://a/1.crl\"\n", "listen.tls.crl_urls"},
        {"crl_urls = [\"http://a/1.crl\"]\ncrl_refresh = \"500ms\"\n",
         "listen.tls.crl_refresh: shorter than 1s"},
        {"crl_urls = [\"http://a/1.crl\"]\ncrl_refresh = \"soon\"\n",
         "listen.tls.crl_refresh: invalid duration"},
        {"crl_urls = [\"http://a/1.crl\"]\ncrl_stale = \"ignore\"\n",
         "listen.tls.crl_stale: \"ignore\" is not a policy (use \"refuse\" or \"allow\")"},
        {"crl_refresh = \"1m\"\n", "listen.tls.crl_refresh: set without listen.tls.crl_urls"},
        {"crl_urls = [\"http://a/1.crl\"]\ncrl_refesh = \"1m\"\n", "crl_refesh"},
    };
    for (auto const& [keys, want] : cases) {
        auto const got = problems(keys);
        EXPECT_NE(got.find(want), std::string::npos) << keys << " -> " << got;
    }
}

} // namespace
} // namespace dockgate::config
