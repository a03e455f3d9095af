// The HTTP session over a socketpair, in front of a fake daemon on a unix socket: what the
// client sends, what reaches the daemon (only what the admission allowed, byte for byte), what
// comes back, and when the connection closes. The gateway's real session code and admission
// run; only the daemon is a stand-in that records every request.

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "gateway/session/unix_session.hpp"

namespace dockgate::session {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using local = asio::local::stream_protocol;

struct seen_request {
    std::string method, target, body, user_agent;
};

// A daemon stand-in: answers every request with `answer`, records what it got.
class fake_daemon {
public:
    using handler = std::function<bhttp::response<bhttp::string_body>(seen_request const&)>;

    fake_daemon(asio::io_context& io, std::filesystem::path const& path, handler answer)
        : acceptor_(io, local::endpoint(path.string()))
        , answer_(std::move(answer)) {
        asio::co_spawn(io, accept(), asio::detached);
    }

    std::vector<seen_request> requests() {
        std::lock_guard lock(mutex_);
        return seen_;
    }

    void close() { acceptor_.close(); }

private:
    asio::awaitable<void> accept() {
        for (;;) {
            auto [ec, socket] =
                co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec)
                co_return;
            asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(local::socket socket) {
        boost::beast::flat_buffer buffer;
        for (;;) {
            bhttp::request<bhttp::string_body> req;
            auto [ec, n] = co_await bhttp::async_read(socket, buffer, req,
                                                      asio::as_tuple(asio::use_awaitable));
            if (ec)
                co_return;
            seen_request s{std::string(req.method_string()), std::string(req.target()), req.body(),
                           std::string(req[bhttp::field::user_agent])};
            {
                std::lock_guard lock(mutex_);
                seen_.push_back(s);
            }
            auto res = answer_(s);
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            auto [wec, wn] =
                co_await bhttp::async_write(socket, res, asio::as_tuple(asio::use_awaitable));
            if (wec || !req.keep_alive())
                co_return;
        }
    }

    local::acceptor acceptor_;
    handler answer_;
    std::mutex mutex_;
    std::vector<seen_request> seen_;
};

bhttp::response<bhttp::string_body> json(unsigned status, std::string body) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = std::move(body);
    return res;
}

class http_session_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("dg-session-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
    }

    void TearDown() override {
        asio::post(io_, [this] {
            if (daemon_)
                daemon_->close();
            for (auto* s : registry_)
                s->abort();
        });
        work_.reset();
        io_.stop();
        if (thread_.joinable())
            thread_.join();
        std::filesystem::remove_all(dir_);
    }

    // Starts the gateway's side: a session serving one end of a socketpair as user alice.
    void start(std::string const& roles, fake_daemon::handler answer) {
        auto const socket_path = dir_ / "daemon.sock";
        auto cfg = std::make_shared<config::config const>(config::parse_config(
            "[gateway]\nupstream = \"unix://" + socket_path.string() +
                "\"\n[listen.unix]\npath = \"" + (dir_ / "gw.sock").string() + "\"\n" + roles,
            dir_, "test.toml"));
        snap_ = std::make_shared<server::snapshot const>(std::move(cfg));
        daemon_.emplace(io_, socket_path, std::move(answer));
        local::socket server_end(io_);
        asio::local::connect_pair(client_, server_end);
        policy::identity who;
        who.user = "alice";
        who.transport = "ssh";
        asio::post(io_, [this, s = std::move(server_end), who]() mutable {
            start_stream_session(std::move(s), who, {}, server::transport::ssh, snap_, services_,
                                 registry_);
        });
        work_.emplace(io_.get_executor());
        thread_ = std::thread([this] { io_.run(); });
    }

    // One request and its response on the client's end.
    bhttp::response<bhttp::string_body> exchange(std::string const& raw) {
        asio::write(client_, asio::buffer(raw));
        bhttp::response<bhttp::string_body> res;
        boost::system::error_code ec;
        bhttp::read(client_, buffer_, res, ec);
        EXPECT_FALSE(ec) << ec.message() << " after sending " << raw.substr(0, 200);
        return res;
    }

    bool closed_by_gateway() {
        char byte;
        boost::system::error_code ec;
        client_.read_some(asio::buffer(&byte, 1), ec);
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }

    static std::string post(std::string const& target, std::string const& body,
                            std::string const& extra = {}) {
        return "POST " + target +
               " HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n" + extra +
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }

    // Declared so that they are destroyed in a safe order: the daemon's acceptor before its
    // io_context, the io_context (and with it the sessions it still holds) before the registry,
    // the services and the snapshot those sessions use.
    std::filesystem::path dir_;
    std::shared_ptr<server::snapshot const> snap_;
    server::services services_;
    server::session_registry registry_;
    asio::io_context io_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::thread thread_;
    std::optional<fake_daemon> daemon_;
    asio::io_context client_io_;
    local::socket client_{client_io_};
    boost::beast::flat_buffer buffer_;
};

std::string const developer = R"(
[roles.developer]
subjects = ["user:alice"]
allow = ["Container*", "System*"]
[roles.developer.containers]
run_as_non_root = true
inject_security_opt = ["no-new-privileges"]
)";

fake_daemon::handler standard() {
    return [](seen_request const& r) {
        if (r.target.find("/images/") != std::string::npos)
            return json(200, R"({"Config":{"User":""}})");
        if (r.target.find("/containers/create") != std::string::npos)
            return json(201, R"({"Id":"c1","Warnings":[]})");
        return json(200, R"({"ok":true})");
    };
}

TEST_F(http_session_test, the_daemon_gets_exactly_the_judged_body_and_the_answer_comes_back) {
    start(developer, standard());
    auto res = exchange(
        post("/v1.41/containers/create?name=web", R"({"image":"busybox","user":"1000:1000"})"));
    EXPECT_EQ(res.result_int(), 201);
    EXPECT_EQ(res.body(), R"({"Id":"c1","Warnings":[]})");
    auto const seen = daemon_->requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].target, "/v1.41/containers/create?name=web");
    EXPECT_EQ(seen[0].body, R"({"Image":"busybox","User":"1000:1000","HostConfig":)"
                            R"({"CgroupnsMode":"private","SecurityOpt":["no-new-privileges"]}})");
    // The connection carries a second request.
    res = exchange("GET /v1.41/_ping HTTP/1.1\r\nHost: docker\r\n\r\n");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(daemon_->requests().size(), 2u);
}

TEST_F(http_session_test, a_refusal_never_reaches_the_daemon) {
    start(developer, standard());
    auto res = exchange(
        post("/v1.41/containers/create",
             R"({"Image":"busybox","User":"1000:1000","HostConfig":{"Privileged":true}})"));
    EXPECT_EQ(res.result_int(), 403);
    EXPECT_NE(res.body().find("roles.developer.containers.privileged"), std::string::npos)
        << res.body();
    EXPECT_TRUE(daemon_->requests().empty());
    // The image's user is a look-up: asked with the gateway's agent, and the create not sent.
    res = exchange(post("/v1.41/containers/create", R"({"Image":"busybox"})"));
    EXPECT_EQ(res.result_int(), 403);
    EXPECT_NE(res.body().find("the image runs as root"), std::string::npos) << res.body();
    auto const seen = daemon_->requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "GET");
    EXPECT_EQ(seen[0].target, "/v1.41/images/busybox/json");
    EXPECT_EQ(seen[0].user_agent, "dockgate");
}

TEST_F(http_session_test, a_malformed_request_gets_its_4xx_and_a_closed_connection) {
    start(developer, standard());
    auto res = exchange("POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
                        "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(res.result_int(), 400);
    EXPECT_TRUE(closed_by_gateway());
    EXPECT_TRUE(daemon_->requests().empty());
}

TEST_F(http_session_test, a_body_over_the_limit_is_413_and_closes) {
    start("[limits]\nbody_bytes = 1024\n" + developer, standard());
    auto res = exchange(post("/v1.41/containers/create", std::string(4096, ' ')));
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_TRUE(closed_by_gateway());
    EXPECT_TRUE(daemon_->requests().empty());
}

TEST_F(http_session_test, an_unreachable_daemon_is_a_502_and_counted_as_an_error) {
    start(developer, standard());
    asio::post(io_, [this] { daemon_->close(); });
    std::filesystem::remove(dir_ / "daemon.sock");
    auto res = exchange("GET /v1.41/_ping HTTP/1.1\r\nHost: docker\r\n\r\n");
    EXPECT_EQ(res.result_int(), 502);
    // The session counts a request once its answer is written: wait for the count, not for luck.
    auto const counted = [this] {
        return services_.metrics.render(*snap_).find("decision=\"error\"} 1") != std::string::npos;
    };
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!counted() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_TRUE(counted()) << services_.metrics.render(*snap_);
}

} // namespace
} // namespace dockgate::session
