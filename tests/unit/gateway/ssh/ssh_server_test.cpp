// The SSH transport over loopback with libssh as the client: public-key authentication against
// the configured keys, the one exec request it serves, and the pump between the channel and
// the socketpair end it hands to the HTTP session (both directions and the client's EOF).

#include <chrono>
#include <filesystem>
#include <future>
#include <poll.h>
#include <thread>
#include <unistd.h>

#include <boost/asio.hpp>
#include <gtest/gtest.h>
#include <libssh/libssh.h>

#include "config/config.hpp"
#include "gateway/ssh/ssh_server.hpp"

namespace dockgate::ssh {
namespace {

namespace asio = boost::asio;

struct handed_off {
    int fd = -1;
    policy::identity who;
};

class ssh_server_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("dg-ssh-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        ASSERT_EQ(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key_), SSH_OK);
        ASSERT_EQ(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &other_key_), SSH_OK);
        char* b64 = nullptr;
        ASSERT_EQ(ssh_pki_export_pubkey_base64(key_, &b64), SSH_OK);
        std::string const pub = b64;
        ssh_string_free_char(b64);
        auto cfg = std::make_shared<config::config const>(config::parse_config(
            "[gateway]\nupstream = \"unix:///run/docker-test.sock\"\n[listen.ssh]\n"
            "address = \"127.0.0.1:2222\"\nhost_key = \"" +
                (dir_ / "host_key").string() + "\"\n[users.alice]\nssh_keys = [\"ssh-ed25519 " +
                pub + " test\"]\n[roles.r]\nsubjects = [\"user:alice\"]\nallow = [\"*\"]\n",
            dir_, "test.toml"));
        snap_ = std::make_shared<server::snapshot const>(cfg);
        server_.emplace(
            *cfg->ssh, [this] { return snap_; }, services_,
            [this](int fd, policy::identity who, auto) {
                handoff_.set_value({fd, std::move(who)});
            });
        acceptor_.open(asio::ip::tcp::v4());
        acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        // One connection, served like the gateway's listener does.
        accepting_ = std::thread([this] {
            boost::system::error_code ec;
            auto socket = acceptor_.accept(ec);
            if (!ec) {
                services_.open_connections.fetch_add(1);
                server_->serve(std::move(socket));
            }
        });
    }

    void TearDown() override {
        if (channel_ != nullptr) {
            ssh_channel_close(channel_);
            ssh_channel_free(channel_);
        }
        if (session_ != nullptr) {
            ssh_disconnect(session_);
            ssh_free(session_);
        }
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        if (accepting_.joinable())
            accepting_.join();
        server_.reset(); // waits for the connection threads
        if (fd_ >= 0)
            ::close(fd_);
        ssh_key_free(key_);
        ssh_key_free(other_key_);
        std::filesystem::remove_all(dir_);
    }

    // Connects as alice and authenticates with `key`; true on success.
    bool login(ssh_key key) {
        session_ = ssh_new();
        int const port = acceptor_.local_endpoint().port();
        ssh_options_set(session_, SSH_OPTIONS_HOST, "127.0.0.1");
        ssh_options_set(session_, SSH_OPTIONS_PORT, &port);
        ssh_options_set(session_, SSH_OPTIONS_USER, "alice");
        int const no = 0;
        ssh_options_set(session_, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
        ssh_options_set(session_, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
        if (ssh_connect(session_) != SSH_OK)
            return false;
        return ssh_userauth_publickey(session_, nullptr, key) == SSH_AUTH_SUCCESS;
    }

    bool exec(char const* command) {
        channel_ = ssh_channel_new(session_);
        return ssh_channel_open_session(channel_) == SSH_OK &&
               ssh_channel_request_exec(channel_, command) == SSH_OK;
    }

    // Reads from the handed-off end until `want` bytes or EOF (within a few seconds).
    std::string read_fd(std::size_t want) {
        std::string out;
        auto const until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (out.size() < want && std::chrono::steady_clock::now() < until) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0)
                continue;
            char buf[256];
            auto const n = ::read(fd_, buf, sizeof buf);
            if (n <= 0)
                break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }

    std::filesystem::path dir_;
    ssh_key key_ = nullptr;
    ssh_key other_key_ = nullptr;
    std::shared_ptr<server::snapshot const> snap_;
    server::services services_;
    std::promise<handed_off> handoff_;
    std::optional<ssh_server> server_;
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_{io_};
    std::thread accepting_;
    ssh_session session_ = nullptr;
    ssh_channel channel_ = nullptr;
    int fd_ = -1;
};

TEST_F(ssh_server_test, dial_stdio_with_a_configured_key_reaches_the_session_both_ways) {
    ASSERT_TRUE(login(key_));
    ASSERT_TRUE(exec("docker system dial-stdio"));
    auto handed = handoff_.get_future();
    ASSERT_EQ(handed.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    auto h = handed.get();
    fd_ = h.fd;
    EXPECT_EQ(h.who.user, "alice");
    EXPECT_EQ(h.who.transport, "ssh");
    EXPECT_EQ(h.who.credential.rfind("SHA256:", 0), 0u) << h.who.credential;
    // client -> session
    ASSERT_EQ(ssh_channel_write(channel_, "GET /_ping", 10), 10);
    EXPECT_EQ(read_fd(10), "GET /_ping");
    // session -> client
    ASSERT_EQ(::write(fd_, "HTTP/1.1 200", 12), 12);
    char buf[64] = {};
    int got = 0;
    auto const until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (got < 12 && std::chrono::steady_clock::now() < until) {
        int const n = ssh_channel_read_timeout(channel_, buf + got, sizeof buf - got, 0, 100);
        if (n < 0)
            break;
        got += n;
    }
    EXPECT_EQ(std::string(buf, static_cast<std::size_t>(got)), "HTTP/1.1 200");
    // The client's EOF reaches the session as EOF.
    ASSERT_EQ(ssh_channel_send_eof(channel_), SSH_OK);
    EXPECT_EQ(read_fd(1), "");
}

TEST_F(ssh_server_test, a_key_that_is_not_configured_is_refused) {
    EXPECT_FALSE(login(other_key_));
    auto handed = handoff_.get_future();
    EXPECT_EQ(handed.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
}

TEST_F(ssh_server_test, any_other_command_is_refused_with_a_message_and_runs_nothing) {
    ASSERT_TRUE(login(key_));
    exec("sh -c id"); // accepted only to say why nothing will run
    std::string said;
    char buf[512];
    auto const until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until && !ssh_channel_is_eof(channel_)) {
        int const n = ssh_channel_read_timeout(channel_, buf, sizeof buf, 1, 100);
        if (n < 0)
            break;
        said.append(buf, static_cast<std::size_t>(n));
        if (n == 0 && !said.empty())
            break;
    }
    EXPECT_NE(said.find("the command \"sh -c id\" is not available"), std::string::npos) << said;
    auto handed = handoff_.get_future();
    EXPECT_EQ(handed.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
}

} // namespace
} // namespace dockgate::ssh
