// tls_socket on a loopback TCP connection, against a blocking OpenSSL client in its own thread.
// The server side runs on an io_context thread; each test drives it with co_spawn + use_future.

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <netinet/in.h>
#include <ostream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gateway/tls/tls_context.hpp"
#include "gateway/tls/tls_socket.hpp"

namespace {

namespace asio = boost::asio;
using dockgate::tls::tls_socket;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A P-256 key and a self-signed certificate: the client here does not verify the server.
void add_self_signed(SSL_CTX* ctx) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    ASSERT_NE(key, nullptr);
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<unsigned char const*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
    ASSERT_EQ(SSL_CTX_use_certificate(ctx, cert), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(cert);
    EVP_PKEY_free(key);
}

std::vector<char> pattern(std::size_t n) {
    std::vector<char> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<char>((i * 7 + i / 4093) & 0xff);
    return v;
}

// The result of a server-side operation, or an exception (a test failure) when it has not
// completed within 10 s: a regression fails a test instead of hanging it.
template <class T>
T within_limit(std::future<T> f) {
    if (f.wait_for(10s) != std::future_status::ready)
        throw std::runtime_error("the server-side operation did not complete within 10 s");
    return f.get();
}

// The client: a blocking socket and SSL object, used from one thread at a time.
struct client {
    int fd = -1;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;

    client(std::uint16_t port, int max_version, int rcvbuf) {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (rcvbuf > 0)
            ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        // A read that waits longer fails, so a regression fails a test instead of hanging it.
        timeval const patience{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("connect failed");
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_max_proto_version(ctx, max_version);
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
    }
    ~client() {
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        ::close(fd);
    }
    bool handshake() { return SSL_connect(ssl) == 1; }
    std::vector<char> read_exactly(std::size_t n) {
        std::vector<char> got(n);
        std::size_t have = 0;
        while (have < n) {
            std::size_t k = 0;
            if (SSL_read_ex(ssl, got.data() + have, n - have, &k) != 1)
                break;
            have += k;
        }
        got.resize(have);
        return got;
    }
};

// What a write completed with; compared with the expected byte count, an error shows in the
// failure message.
struct written {
    std::size_t bytes = 0;
    error_code ec;
    bool operator==(std::size_t expected) const { return !ec && bytes == expected; }
    friend std::ostream& operator<<(std::ostream& os, written const& w) {
        return os << w.bytes << " bytes" << (w.ec ? ", " + w.ec.message() : std::string());
    }
};

class TlsSocket : public ::testing::Test {
protected:
    void SetUp() override {
        ctx_ = dockgate::tls::new_server_context();
        add_self_signed(ctx_.get());
        acceptor_.open(asio::ip::tcp::v4());
        acceptor_.bind({asio::ip::address_v4::loopback(), 0});
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        runner_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        work_.reset();
        io_.stop();
        runner_.join();
    }

    // Accepts one connection and completes the server handshake; `sndbuf` > 0 shrinks the
    // server's send buffer.
    std::future<std::shared_ptr<tls_socket>> accept(int sndbuf = 0) {
        return asio::co_spawn(
            io_,
            [this, sndbuf]() -> asio::awaitable<std::shared_ptr<tls_socket>> {
                auto raw = co_await acceptor_.async_accept(asio::use_awaitable);
                if (sndbuf > 0)
                    raw.set_option(asio::socket_base::send_buffer_size(sndbuf));
                auto s = std::make_shared<tls_socket>(std::move(raw), ctx_.get());
                auto [ec] = co_await s->async_handshake(use_tuple);
                if (ec)
                    throw boost::system::system_error(ec);
                co_return s;
            },
            asio::use_future);
    }

    template <class F>
    auto on_io(F f) {
        return asio::co_spawn(io_, std::move(f), asio::use_future);
    }

    // One write_some, or a whole async_write, of `buffers` on the io thread: the bytes taken,
    // or the error.
    template <class Buffers>
    std::future<written> write_some(tls_socket& s, Buffers buffers) {
        return on_io([&s, buffers]() -> asio::awaitable<written> {
            auto [ec, n] = co_await s.async_write_some(buffers, use_tuple);
            co_return written{n, ec};
        });
    }
    template <class Buffers>
    std::future<written> write_all(tls_socket& s, Buffers buffers) {
        return on_io([&s, buffers]() -> asio::awaitable<written> {
            auto [ec, n] = co_await asio::async_write(s, buffers, use_tuple);
            co_return written{n, ec};
        });
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    asio::ip::tcp::acceptor acceptor_{io_};
    std::unique_ptr<SSL_CTX, dockgate::tls::ssl_ctx_deleter> ctx_;
    std::uint16_t port_ = 0;
    std::thread runner_;
};

// One write_some turns a whole 64 KiB batch into records (four of them), so the batch goes
// out in one send instead of one send per record; what arrives is exactly what was written,
// over TLS 1.3 and TLS 1.2 alike.
TEST_F(TlsSocket, WriteSomeTakesAWholeBatchAndBytesArriveIntact) {
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        SCOPED_TRACE(version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2");
        auto server = accept();
        client c(port_, version, 0);
        ASSERT_TRUE(c.handshake());
        auto s = within_limit(std::move(server));
        auto const data = pattern(4 * 1024 * 1024 + 123);
        // 64 KiB fit in the socket buffers: the write completes before the client reads.
        auto const first = within_limit(write_some(*s, asio::buffer(data)));
        EXPECT_EQ(first, 64u * 1024);
        auto const taken = first.bytes;
        auto const got_first = c.read_exactly(taken);
        auto rest = write_all(*s, asio::buffer(data.data() + taken, data.size() - taken));
        auto got = c.read_exactly(data.size() - taken);
        EXPECT_EQ(within_limit(std::move(rest)), data.size() - taken);
        got.insert(got.begin(), got_first.begin(), got_first.end());
        EXPECT_TRUE(got == data);
    }
}

// A head is dozens of small pieces: they share one record (the peer's first read returns all
// of them). A chunk of a chunked body (size line, data, CRLF) goes out in one write_some.
TEST_F(TlsSocket, SmallPiecesShareARecordAndAWholeChunkIsOneWrite) {
    auto server = accept();
    client c(port_, TLS1_3_VERSION, 0);
    ASSERT_TRUE(c.handshake());
    auto s = within_limit(std::move(server));

    std::vector<std::string> head;
    std::string joined;
    head.reserve(40);
    for (int i = 0; i < 40; ++i) {
        head.push_back("X-Field-" + std::to_string(i) + ": value\r\n");
        joined += head.back();
    }
    std::vector<asio::const_buffer> pieces;
    for (auto const& h : head)
        pieces.push_back(asio::buffer(h));
    EXPECT_EQ(within_limit(write_some(*s, pieces)), joined.size());
    std::vector<char> record(64 * 1024);
    std::size_t n = 0;
    ASSERT_EQ(SSL_read_ex(c.ssl, record.data(), record.size(), &n), 1);
    EXPECT_EQ(std::string(record.data(), n), joined) << "the pieces arrived in separate records";

    auto const body = pattern(60000);
    std::string const size_line = "ea60\r\n", crlf = "\r\n";
    std::vector<asio::const_buffer> chunk{asio::buffer(size_line), asio::buffer(body),
                                          asio::buffer(crlf)};
    std::size_t const total = size_line.size() + body.size() + crlf.size();
    EXPECT_EQ(within_limit(write_some(*s, chunk)), total);
    auto const got = c.read_exactly(total);
    std::vector<char> expected(size_line.begin(), size_line.end());
    expected.insert(expected.end(), body.begin(), body.end());
    expected.insert(expected.end(), crlf.begin(), crlf.end());
    EXPECT_TRUE(got == expected);
}

// The docker CLI ends hijacked streams with a TCP half-close and no close_notify: the data
// before it is delivered, then the read reports EOF, not a TLS error.
TEST_F(TlsSocket, BareFinAfterDataReadsAsEof) {
    auto server = accept();
    client c(port_, TLS1_3_VERSION, 0);
    ASSERT_TRUE(c.handshake());
    auto s = within_limit(std::move(server));
    std::size_t n = 0;
    ASSERT_EQ(SSL_write_ex(c.ssl, "hello", 5, &n), 1);
    ASSERT_EQ(::shutdown(c.fd, SHUT_WR), 0);
    auto result = on_io([&]() -> asio::awaitable<std::pair<std::string, error_code>> {
        std::string text;
        char buf[64];
        for (;;) {
            auto [ec, k] = co_await s->async_read_some(asio::buffer(buf), use_tuple);
            text.append(buf, k);
            if (ec)
                co_return std::pair{text, ec};
        }
    });
    auto const [text, ec] = within_limit(std::move(result));
    EXPECT_EQ(text, "hello");
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
}

// close_notify leaves at once, even with no operation running to send it.
TEST_F(TlsSocket, CloseNotifyReachesThePeer) {
    auto server = accept();
    client c(port_, TLS1_3_VERSION, 0);
    ASSERT_TRUE(c.handshake());
    auto s = within_limit(std::move(server));
    within_limit(on_io([&]() -> asio::awaitable<void> {
        s->send_close_notify();
        co_return;
    }));
    char buf[8];
    std::size_t n = 0;
    int const ret = SSL_read_ex(c.ssl, buf, sizeof buf, &n);
    EXPECT_EQ(ret, 0);
    EXPECT_EQ(SSL_get_error(c.ssl, ret), SSL_ERROR_ZERO_RETURN);
}

// A peer that sends but does not read: the write stays outstanding (its records cannot leave),
// and still the read beside it completes. Then the peer reads, and the write finishes intact.
TEST_F(TlsSocket, ReadCompletesWhileAWriteWaitsForThePeer) {
    auto server = accept(16 * 1024);
    client c(port_, TLS1_3_VERSION, 16 * 1024);
    ASSERT_TRUE(c.handshake());
    auto s = within_limit(std::move(server));
    auto const data = pattern(16 * 1024 * 1024);
    auto write = write_all(*s, asio::buffer(data));
    std::size_t n = 0;
    ASSERT_EQ(SSL_write_ex(c.ssl, "ping", 4, &n), 1);
    auto read = on_io([&]() -> asio::awaitable<std::string> {
        char buf[16];
        auto [ec, k] = co_await s->async_read_some(asio::buffer(buf), use_tuple);
        co_return ec ? "error: " + ec.message() : std::string(buf, k);
    });
    ASSERT_EQ(read.wait_for(10s), std::future_status::ready) << "the read waited for the write";
    EXPECT_EQ(read.get(), "ping");
    EXPECT_NE(write.wait_for(0s), std::future_status::ready);
    auto const got = c.read_exactly(data.size());
    EXPECT_EQ(within_limit(std::move(write)), data.size());
    EXPECT_TRUE(got == data);
}

} // namespace
