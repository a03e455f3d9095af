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
    using std::chrono::milliseconds;
    counters_.count_request("ContainerCreate", policy::outcome::would_deny, milliseconds(3));
    counters_.count_request("ContainerCreate", policy::outcome::would_deny, milliseconds(3));
    counters_.count_request("", policy::outcome::invalid, milliseconds(0));
    res = get("GET", "/metrics");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_NE(
        res.body().find(
            R"(dockgate_requests_total{operation="ContainerCreate",decision="would-deny"} 2)"),
        std::string::npos)
        << res.body();
    EXPECT_NE(res.body().find(R"(decision="invalid"} 1)"), std::string::npos) << res.body();
}

TEST_F(admin_test, latency_histograms_are_cumulative_per_operation_and_decision) {
    using std::chrono::microseconds;
    using std::chrono::milliseconds;
    counters_.count_request("ContainerList", policy::outcome::allow, microseconds(400));
    counters_.count_request("ContainerList", policy::outcome::allow, milliseconds(1)); // le 0.001
    counters_.count_request("ContainerList", policy::outcome::allow, std::chrono::minutes(5));
    counters_.count_request("ContainerList", policy::outcome::deny, milliseconds(2));
    counters_.observe_upstream("ContainerList", milliseconds(20));
    auto const body = get("GET", "/metrics").body();
    auto has = [&](std::string const& line) {
        EXPECT_NE(body.find(line + "\n"), std::string::npos) << line << "\n" << body;
    };
    std::string const allow = R"(operation="ContainerList",decision="allow")";
    has("dockgate_request_duration_seconds_bucket{" + allow + R"(,le="0.0005"} 1)");
    has("dockgate_request_duration_seconds_bucket{" + allow + R"(,le="0.001"} 2)");
    has("dockgate_request_duration_seconds_bucket{" + allow + R"(,le="60"} 2)");
    has("dockgate_request_duration_seconds_bucket{" + allow + R"(,le="+Inf"} 3)");
    has("dockgate_request_duration_seconds_count{" + allow + "} 3");
    has("dockgate_request_duration_seconds_sum{" + allow + "} 300.001400000");
    has(R"(dockgate_request_duration_seconds_bucket{operation="ContainerList",decision="deny",le="0.001"} 0)");
    has(R"(dockgate_request_duration_seconds_bucket{operation="ContainerList",decision="deny",le="0.0025"} 1)");
    has(R"(dockgate_upstream_response_seconds_bucket{operation="ContainerList",le="0.01"} 0)");
    has(R"(dockgate_upstream_response_seconds_bucket{operation="ContainerList",le="0.025"} 1)");
    has(R"(dockgate_upstream_response_seconds_count{operation="ContainerList"} 1)");
    // Rows nothing was observed in are left out.
    EXPECT_EQ(body.find(R"(dockgate_upstream_response_seconds_count{operation="ContainerCreate")"),
              std::string::npos);
    EXPECT_NE(body.find("# TYPE dockgate_request_duration_seconds histogram\n"), std::string::npos);
}

TEST_F(admin_test, anything_else_is_refused) {
    EXPECT_EQ(get("POST", "/metrics").result_int(), 405);
    EXPECT_EQ(get("GET", "/containers/json").result_int(), 404);
}

} // namespace
} // namespace dockgate::server
