// Connecting to the daemon's socket: a full accept queue is waited out (up to the limit), not
// mistaken for a connection; a missing or dead socket fails at once.

#include <cstdio>
#include <filesystem>
#include <optional>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include "gateway/server/unix_connect.hpp"

namespace dockgate::server {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;

// A listening unix socket with a backlog of 0 whose queue is already full (one connection
// made and never accepted), so the next connect gets EAGAIN.
class unix_connect_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("dockgate-uc-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        path_ = (dir_ / "d.sock").string();
    }
    void TearDown() override {
        for (int fd : fds_)
            ::close(fd);
        std::filesystem::remove_all(dir_);
    }

    int unix_socket() {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        fds_.push_back(fd);
        return fd;
    }
    sockaddr_un address() const {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
        return a;
    }
    int full_listener() {
        int l = unix_socket();
        auto a = address();
        EXPECT_EQ(0, ::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a));
        EXPECT_EQ(0, ::listen(l, 0));
        int filler = unix_socket();
        EXPECT_EQ(0, ::connect(filler, reinterpret_cast<sockaddr*>(&a), sizeof a));
        return l;
    }

    error_code connect(asio::local::stream_protocol::socket& s,
                       std::chrono::steady_clock::duration within) {
        std::optional<error_code> result;
        asio::co_spawn(
            io_,
            [&]() -> asio::awaitable<void> { result = co_await connect_unix(s, path_, within); },
            asio::detached);
        io_.run();
        io_.restart();
        EXPECT_TRUE(result.has_value());
        return result.value_or(asio::error::fault);
    }

    asio::io_context io_;
    std::filesystem::path dir_;
    std::string path_;
    std::vector<int> fds_;
};

TEST_F(unix_connect_test, a_full_accept_queue_times_out_instead_of_connecting) {
    full_listener();
    asio::local::stream_protocol::socket s(io_);
    auto const started = std::chrono::steady_clock::now();
    EXPECT_EQ(asio::error::timed_out, connect(s, 200ms));
    EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
    EXPECT_FALSE(s.is_open());
}

TEST_F(unix_connect_test, a_queue_that_frees_up_within_the_limit_connects) {
    int l = full_listener();
    asio::local::stream_protocol::socket s(io_);
    std::thread acceptor([l] {
        std::this_thread::sleep_for(100ms);
        ::close(::accept(l, nullptr, nullptr)); // the filler: its place in the queue frees
    });
    error_code ec = connect(s, 10s);
    acceptor.join();
    ASSERT_FALSE(ec) << ec.message();
    // A real connection: what is written arrives at the listener.
    int peer = ::accept(l, nullptr, nullptr);
    fds_.push_back(peer);
    ASSERT_GE(peer, 0);
    asio::write(s, asio::buffer("x", 1));
    char c = 0;
    EXPECT_EQ(1, ::read(peer, &c, 1));
    EXPECT_EQ('x', c);
}

TEST_F(unix_connect_test, no_socket_file_fails_at_once) {
    asio::local::stream_protocol::socket s(io_);
    EXPECT_EQ(error_code(ENOENT, boost::system::system_category()), connect(s, 10s));
}

TEST_F(unix_connect_test, a_socket_nobody_listens_on_fails_at_once) {
    int l = unix_socket();
    auto a = address();
    ASSERT_EQ(0, ::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a));
    asio::local::stream_protocol::socket s(io_);
    EXPECT_EQ(error_code(ECONNREFUSED, boost::system::system_category()), connect(s, 10s));
}

} // namespace
} // namespace dockgate::server
