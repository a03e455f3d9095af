// The admin endpoint over loopback: /healthz, /metrics with the typed request counters, and
// what it refuses.

#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "gateway/server/admin.hpp"

namespace dockgate::server {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

class admin_test : public ::testing::Test {
protected:
    void SetUp() override {
        auto cfg = std::make_shared<config::config const>(config::parse_config(
            "[gateway]\nupstream = \"unix:///run/docker-test.sock\"\n[listen.unix]\n"
            "path = \"/run/dockgate-test.sock\"\n[roles.r]\nsubjects = [\"user:a\"]\n"
            "allow = [\"*\"]\n",
            "/tmp", "test.toml"));
        snap_ = std::make_shared<snapshot const>(cfg);
        acceptor_.open(asio::ip::tcp::v4());
        acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        asio::co_spawn(io_, serve_admin(acceptor_, counters_, [this] { return snap_; }),
                       asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }

    void TearDown() override {
        asio::post(io_, [this] { acceptor_.close(); });
        io_.stop();
        thread_.join();
    }

    bhttp::response<bhttp::string_body> get(std::string const& method, std::string const& target) {
        asio::io_context client;
        asio::ip::tcp::socket s(client);
        s.connect(acceptor_.local_endpoint());
        bhttp::request<bhttp::empty_body> req{bhttp::string_to_verb(method), target, 11};
        req.set(bhttp::field::host, "admin");
        bhttp::write(s, req);
        boost::beast::flat_buffer buffer;
        bhttp::response<bhttp::string_body> res;
        bhttp::read(s, buffer, res);
        return res;
    }

    std::shared_ptr<snapshot const> snap_;
    metrics counters_;
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_{io_};
    std::thread thread_;
};

TEST_F(admin_test, healthz_and_metrics_answer) {
    auto res = get("GET", "/healthz");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "ok\n");
    counters_.count_request("ContainerCreate", policy::outcome::would_deny);
    counters_.count_request("ContainerCreate", policy::outcome::would_deny);
    counters_.count_request("", policy::outcome::invalid);
    res = get("GET", "/metrics");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_NE(
        res.body().find(
            R"(dockgate_requests_total{operation="ContainerCreate",decision="would-deny"} 2)"),
        std::string::npos)
        << res.body();
    EXPECT_NE(res.body().find(R"(decision="invalid"} 1)"), std::string::npos) << res.body();
}

TEST_F(admin_test, anything_else_is_refused) {
    EXPECT_EQ(get("POST", "/metrics").result_int(), 405);
    EXPECT_EQ(get("GET", "/containers/json").result_int(), 404);
}

} // namespace
} // namespace dockgate::server
