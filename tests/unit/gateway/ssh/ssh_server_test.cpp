// The SSH transport over loopback with libssh as the client: public-key authentication against
// the configured keys, the one exec request it serves, several channels on one connection
// each handed over as its own stream (both directions, EOF, independent close), the limits on
// channels and on handshakes per address, the re-check that closes a revoked key's channels,
// and connections served without a thread each.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
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
using namespace std::chrono_literals;

int thread_count() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Threads:", 0) == 0)
            return std::stoi(line.substr(8));
    }
    return -1;
}

// A libssh client connection (blocking) as alice.
struct client {
    ssh_session session = nullptr;
    std::vector<ssh_channel> channels;
    ~client() {
        for (auto* c : channels) {
            ssh_channel_close(c);
            ssh_channel_free(c);
        }
        if (session != nullptr) {
            ssh_disconnect(session);
            ssh_free(session);
        }
    }
    bool login(int port, ssh_key key) {
        session = ssh_new();
        ssh_options_set(session, SSH_OPTIONS_HOST, "127.0.0.1");
        ssh_options_set(session, SSH_OPTIONS_PORT, &port);
        ssh_options_set(session, SSH_OPTIONS_USER, "alice");
        int const no = 0;
        ssh_options_set(session, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
        ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
        long const timeout_s = 5;
        ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout_s);
        if (ssh_connect(session) != SSH_OK)
            return false;
        return ssh_userauth_publickey(session, nullptr, key) == SSH_AUTH_SUCCESS;
    }
    // Opens a channel and sends `command`: the channel, or null when refused.
    ssh_channel exec(char const* command) {
        auto* c = ssh_channel_new(session);
        if (ssh_channel_open_session(c) != SSH_OK ||
            ssh_channel_request_exec(c, command) != SSH_OK) {
            ssh_channel_free(c);
            return nullptr;
        }
        channels.push_back(c);
        return c;
    }
};

// Reads from a client channel until `want` bytes, EOF or 5 s.
std::string read_channel(ssh_channel c, std::size_t want, int is_stderr = 0) {
    std::string out;
    char buf[512];
    auto const until = std::chrono::steady_clock::now() + 5s;
    while (out.size() < want && std::chrono::steady_clock::now() < until) {
        int const n = ssh_channel_read_timeout(c, buf, sizeof buf, is_stderr, 100);
        if (n < 0 || (n == 0 && ssh_channel_is_eof(c)))
            break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

class ssh_server_test : public ::testing::Test {
protected:
    void SetUp() override { start(""); }

    void start(std::string const& listener_extra) {
        dir_ = std::filesystem::temp_directory_path() /
               ("dg-ssh-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        if (key_ == nullptr) {
            ASSERT_EQ(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key_), SSH_OK);
            ASSERT_EQ(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &other_key_), SSH_OK);
        }
        char* b64 = nullptr;
        ASSERT_EQ(ssh_pki_export_pubkey_base64(key_, &b64), SSH_OK);
        pub_ = b64;
        ssh_string_free_char(b64);
        snap_ = make_snapshot(listener_extra, true);
        server_.emplace(
            *snap_->cfg->ssh, [this] { return current(); }, services_,
            [this](channel_stream s, policy::identity who, key_check check,
                   server::session_registry&) {
                std::lock_guard lock(mutex_);
                streams_.push_back(std::make_unique<channel_stream>(std::move(s)));
                identities_.push_back(std::move(who));
                checks_.push_back(std::move(check));
                handed_.notify_all();
            });
        acceptor_.open(asio::ip::tcp::v4());
        acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        accept_next();
        work_.emplace(io_.get_executor());
        thread_ = std::thread([this] { io_.run(); });
    }

    std::shared_ptr<server::snapshot const> make_snapshot(std::string const& listener_extra,
                                                          bool with_key) {
        auto cfg = std::make_shared<config::config const>(config::parse_config(
            "[gateway]\nupstream = \"unix:///run/docker-test.sock\"\n[listen.ssh]\n"
            "address = \"127.0.0.1:2222\"\nhost_key = \"" +
                (dir_ / "host_key").string() + "\"\n" + listener_extra +
                "[users.alice]\nssh_keys = [" +
                (with_key ? "\"ssh-ed25519 " + pub_ + " test\"" : std::string()) +
                "]\n[roles.r]\nsubjects = [\"user:alice\"]\nallow = [\"*\"]\n",
            dir_, "test.toml"));
        return std::make_shared<server::snapshot const>(cfg);
    }

    std::shared_ptr<server::snapshot const> current() {
        std::lock_guard lock(mutex_);
        return snap_;
    }

    // Every connection, served on the io thread as the gateway's workers do.
    void accept_next() {
        acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket s) {
            if (ec)
                return;
            services_.open_connections.fetch_add(1);
            server_->serve(std::move(s), registry_);
            accept_next();
        });
    }

    void TearDown() override {
        // Streams belong to the io thread: let them go there, then stop it.
        std::promise<void> done;
        asio::post(io_, [&] {
            streams_.clear();
            boost::system::error_code ignored;
            acceptor_.close(ignored);
            for (auto* h : std::vector<server::session_handle*>(registry_.begin(), registry_.end()))
                h->abort();
            done.set_value();
        });
        done.get_future().wait_for(5s);
        clients_.clear();
        work_.reset();
        io_.stop();
        if (thread_.joinable())
            thread_.join();
        server_.reset();
        ssh_key_free(key_);
        ssh_key_free(other_key_);
        std::filesystem::remove_all(dir_);
    }

    int port() const { return acceptor_.local_endpoint().port(); }

    client& new_client() { return *clients_.emplace_back(std::make_unique<client>()); }

    // A new client, logged in with dial-stdio on one channel, its stream handed over.
    ssh_channel dial_stdio() {
        auto& c = new_client();
        if (!c.login(port(), key_))
            return nullptr;
        std::size_t before;
        {
            std::lock_guard lock(mutex_);
            before = streams_.size();
        }
        auto* ch = c.exec("docker system dial-stdio");
        return ch != nullptr && handed(before + 1) ? ch : nullptr;
    }

    // A dial-stdio channel on `c`, retried for up to a second: the server gives a closed
    // channel's place back once the client's close has arrived. Null when it never did.
    static ssh_channel exec_once_there_is_room(client& c) {
        for (int i = 0; i < 50; ++i) {
            if (auto* ch = c.exec("docker system dial-stdio"))
                return ch;
            std::this_thread::sleep_for(20ms);
        }
        return nullptr;
    }

    // `n` TCP connections to the listener that never say a word.
    std::vector<asio::ip::tcp::socket> hold_idle(asio::io_context& io, int n) {
        std::vector<asio::ip::tcp::socket> idle;
        for (int i = 0; i < n; ++i) {
            idle.emplace_back(io);
            idle.back().connect(
                {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port())});
        }
        return idle;
    }

    // Waits until `count` streams were handed over.
    bool handed(std::size_t count) {
        std::unique_lock lock(mutex_);
        return handed_.wait_for(lock, 5s, [&] { return streams_.size() >= count; });
    }

    // Runs `f` on the io thread and waits for its result.
    template <class F>
    auto on_io(F f) {
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto result = task.get_future();
        asio::post(io_, [&task] { task(); });
        EXPECT_EQ(result.wait_for(5s), std::future_status::ready);
        return result.get();
    }

    // Reads from handed stream `i` until `want` bytes or the end.
    std::string read_stream(std::size_t i, std::size_t want) {
        auto* s = streams_.at(i).get();
        auto result = asio::co_spawn(
            io_,
            [s, want]() -> asio::awaitable<std::string> {
                std::string out;
                char buf[256];
                while (out.size() < want) {
                    auto [ec, n] = co_await s->async_read_some(asio::buffer(buf),
                                                               asio::as_tuple(asio::use_awaitable));
                    if (ec)
                        break;
                    out.append(buf, n);
                }
                co_return out;
            },
            asio::use_future);
        if (result.wait_for(5s) != std::future_status::ready)
            return "(timed out)";
        return result.get();
    }

    void write_stream(std::size_t i, std::string data) {
        auto* s = streams_.at(i).get();
        auto result = asio::co_spawn(
            io_,
            [s, data]() -> asio::awaitable<std::size_t> {
                auto [ec, n] = co_await asio::async_write(*s, asio::buffer(data),
                                                          asio::as_tuple(asio::use_awaitable));
                co_return ec ? 0 : n;
            },
            asio::use_future);
        ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
        EXPECT_EQ(result.get(), data.size());
    }

    std::filesystem::path dir_;
    ssh_key key_ = nullptr;
    ssh_key other_key_ = nullptr;
    std::string pub_;
    std::mutex mutex_;
    std::condition_variable handed_;
    std::shared_ptr<server::snapshot const> snap_;
    server::services services_;
    server::session_registry registry_;
    std::vector<std::unique_ptr<channel_stream>> streams_;
    std::vector<policy::identity> identities_;
    std::vector<key_check> checks_;
    std::optional<ssh_server> server_;
    asio::io_context io_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    asio::ip::tcp::acceptor acceptor_{io_};
    std::thread thread_;
    std::vector<std::unique_ptr<client>> clients_;
};

TEST_F(ssh_server_test, dial_stdio_with_a_configured_key_reaches_its_stream_both_ways) {
    auto* ch = dial_stdio();
    ASSERT_NE(ch, nullptr);
    EXPECT_EQ(identities_[0].user, "alice");
    EXPECT_EQ(identities_[0].transport, "ssh");
    EXPECT_EQ(identities_[0].credential.rfind("SHA256:", 0), 0u) << identities_[0].credential;
    ASSERT_EQ(ssh_channel_write(ch, "GET /_ping", 10), 10);
    EXPECT_EQ(read_stream(0, 10), "GET /_ping");
    write_stream(0, "HTTP/1.1 200");
    EXPECT_EQ(read_channel(ch, 12), "HTTP/1.1 200");
    // The client's EOF reaches the stream as its end.
    ASSERT_EQ(ssh_channel_send_eof(ch), SSH_OK);
    EXPECT_EQ(read_stream(0, 1), "");
}

TEST_F(ssh_server_test, a_large_response_arrives_whole_through_the_window) {
    auto* ch = dial_stdio();
    ASSERT_NE(ch, nullptr);
    // More than libssh's 1.28 MB window: the writer must wait for the client's adjustments.
    std::string big(3 * 1024 * 1024, 'x');
    for (std::size_t i = 0; i < big.size(); i += 997)
        big[i] = static_cast<char>('a' + i % 26);
    auto writing = std::async(std::launch::async, [&] { write_stream(0, big); });
    EXPECT_EQ(read_channel(ch, big.size()), big);
    writing.get();
}

TEST_F(ssh_server_test, several_channels_on_one_connection_are_separate_streams) {
    auto& c = new_client();
    ASSERT_TRUE(c.login(port(), key_));
    auto* a = c.exec("docker system dial-stdio");
    auto* b = c.exec("docker system dial-stdio");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_TRUE(handed(2));
    ASSERT_EQ(ssh_channel_write(a, "first", 5), 5);
    ASSERT_EQ(ssh_channel_write(b, "second", 6), 6);
    EXPECT_EQ(read_stream(0, 5), "first");
    EXPECT_EQ(read_stream(1, 6), "second");
    EXPECT_EQ(server_->slots().sessions(), 2u) << "max_sessions counts channels";
    // One channel ends; the other goes on.
    on_io([&] {
        streams_[0]->close();
        return 0;
    });
    EXPECT_EQ(read_channel(a, 100), "");
    EXPECT_TRUE(ssh_channel_is_eof(a));
    write_stream(1, "still here");
    EXPECT_EQ(read_channel(b, 10), "still here");
}

TEST_F(ssh_server_test, a_key_that_is_not_configured_is_refused) {
    auto& c = new_client();
    EXPECT_FALSE(c.login(port(), other_key_));
    EXPECT_TRUE(streams_.empty());
}

TEST_F(ssh_server_test, any_other_command_is_refused_with_a_message_and_runs_nothing) {
    auto& c = new_client();
    ASSERT_TRUE(c.login(port(), key_));
    auto* ch = c.exec("sh -c id"); // accepted only to say why nothing will run
    ASSERT_NE(ch, nullptr);
    auto const said = read_channel(ch, 200, 1);
    EXPECT_NE(said.find("the command \"sh -c id\" is not available"), std::string::npos) << said;
    EXPECT_EQ(ssh_channel_get_exit_status(ch), 1);
    // The connection itself stays usable for the command it serves.
    EXPECT_NE(c.exec("docker system dial-stdio"), nullptr);
    ASSERT_TRUE(handed(1));
    EXPECT_EQ(streams_.size(), 1u);
}

TEST_F(ssh_server_test, a_reload_that_removes_the_key_closes_every_channel_of_the_connection) {
    auto& c = new_client();
    ASSERT_TRUE(c.login(port(), key_));
    auto* a = c.exec("docker system dial-stdio");
    auto* b = c.exec("docker system dial-stdio");
    ASSERT_TRUE(handed(2));
    auto const without = make_snapshot("", false);
    EXPECT_TRUE(checks_[0](*without).has_value());
    {
        std::lock_guard lock(mutex_);
        snap_ = without;
    }
    on_io([&] {
        for (auto* h : std::vector<server::session_handle*>(registry_.begin(), registry_.end()))
            h->revalidate(without);
        return 0;
    });
    EXPECT_EQ(read_stream(0, 1), "");
    EXPECT_EQ(read_stream(1, 1), "");
    EXPECT_EQ(read_channel(a, 1), "");
    EXPECT_EQ(read_channel(b, 1), "");
    EXPECT_FALSE(ssh_is_connected(c.session)) << "the connection is closed too";
    EXPECT_EQ(server_->slots().sessions(), 0u);
}

class ssh_limits_test : public ssh_server_test {
protected:
    void SetUp() override {
        start("max_channels_per_connection = 2\nmax_handshakes_per_address = 3\n");
    }
};

TEST_F(ssh_limits_test, channels_beyond_max_channels_per_connection_are_refused_until_one_ends) {
    auto& c = new_client();
    ASSERT_TRUE(c.login(port(), key_));
    ASSERT_NE(c.exec("docker system dial-stdio"), nullptr);
    ASSERT_NE(c.exec("docker system dial-stdio"), nullptr);
    EXPECT_EQ(c.exec("docker system dial-stdio"), nullptr);
    ASSERT_TRUE(handed(2));
    on_io([&] {
        streams_[0]->close();
        streams_[0].reset();
        return 0;
    });
    // The client's close of the ended channel gives its place back.
    ssh_channel_close(c.channels[0]);
    EXPECT_NE(exec_once_there_is_room(c), nullptr);
}

TEST_F(ssh_limits_test, connections_in_their_handshake_are_capped_per_address) {
    // Three TCP connections that never say a word hold their address's places.
    asio::io_context client_io;
    auto idle = hold_idle(client_io, 3);
    for (int i = 0; i < 100 && server_->slots().handshakes("127.0.0.1") < 3; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(server_->slots().handshakes("127.0.0.1"), 3u);
    auto& c = new_client();
    EXPECT_FALSE(c.login(port(), key_)) << "a fourth from the same address is refused";
    // Another address still gets in.
    client other;
    other.session = ssh_new();
    int const p = port();
    ssh_options_set(other.session, SSH_OPTIONS_HOST, "127.0.0.1");
    ssh_options_set(other.session, SSH_OPTIONS_BINDADDR, "127.0.0.2");
    ssh_options_set(other.session, SSH_OPTIONS_PORT, &p);
    ssh_options_set(other.session, SSH_OPTIONS_USER, "alice");
    int const no = 0;
    ssh_options_set(other.session, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
    ssh_options_set(other.session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
    ASSERT_EQ(ssh_connect(other.session), SSH_OK);
    EXPECT_EQ(ssh_userauth_publickey(other.session, nullptr, key_), SSH_AUTH_SUCCESS);
    // The idle ones leave: their places come back.
    idle.clear();
    for (int i = 0; i < 100 && server_->slots().handshakes("127.0.0.1") > 0; ++i)
        std::this_thread::sleep_for(10ms);
    auto& again = new_client();
    EXPECT_TRUE(again.login(port(), key_));
}

class ssh_user_limit_test : public ssh_server_test {
protected:
    void SetUp() override { start("max_sessions_per_user = 3\n"); }
};

TEST_F(ssh_user_limit_test, max_sessions_per_user_counts_channels_over_all_connections) {
    auto& first = new_client();
    auto& second = new_client();
    ASSERT_TRUE(first.login(port(), key_));
    ASSERT_TRUE(second.login(port(), key_));
    ASSERT_NE(first.exec("docker system dial-stdio"), nullptr);
    ASSERT_TRUE(handed(1)); // streams_[0] is first.channels[0]
    ASSERT_NE(first.exec("docker system dial-stdio"), nullptr);
    ASSERT_NE(second.exec("docker system dial-stdio"), nullptr);
    EXPECT_EQ(second.exec("docker system dial-stdio"), nullptr)
        << "a fourth channel of alice's, on another connection than two of the three";
    ASSERT_TRUE(handed(3));
    EXPECT_EQ(server_->slots().sessions(), 3u);
    // A channel of the first connection ends: the second connection may open one again.
    on_io([&] {
        streams_[0]->close();
        streams_[0].reset();
        return 0;
    });
    ssh_channel_close(first.channels[0]);
    EXPECT_NE(exec_once_there_is_room(second), nullptr);
    EXPECT_EQ(server_->slots().sessions(), 3u);
}

TEST_F(ssh_server_test, connections_are_served_without_a_thread_each) {
    int const before = thread_count();
    asio::io_context client_io;
    auto const idle = hold_idle(client_io, 50);
    auto& c = new_client();
    ASSERT_TRUE(c.login(port(), key_)) << "served while 50 idle connections are held";
    EXPECT_NE(c.exec("docker system dial-stdio"), nullptr);
    ASSERT_TRUE(handed(1));
    EXPECT_EQ(thread_count(), before);
}

} // namespace
} // namespace dockgate::ssh
