#pragma once
// A TLS stream that drives OpenSSL directly on the non-blocking socket and waits for readiness
// with Asio, instead of asio::ssl::stream's memory-BIO engine. Why: the engine keeps four
// ~17 KiB buffers per connection (its own two plus a BIO pair) and copies every byte through
// them; here OpenSSL reads and writes the socket itself and, with SSL_MODE_RELEASE_BUFFERS, an
// idle connection holds only OpenSSL's session state. 10,000 idle keep-alive clients is a
// normal load for a gateway.
//
// Contract: models Asio's AsyncReadStream and AsyncWriteStream for one reader and one writer
// at a time (they may be outstanding together, as in a two-way relay); all operations run on
// the socket's executor, which must be a single-threaded io_context. Completion is never
// inline: immediate results are posted. Peer EOF (close_notify or a bare TCP FIN) reads as
// asio::error::eof.

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace dockgate::tls {

namespace detail {

struct ssl_deleter {
    void operator()(SSL* p) const noexcept { SSL_free(p); }
};

enum class step { done, want_read, want_write, failed };

// Maps the outcome of an SSL_* call. `ec` is set for failures and EOF.
inline step classify(SSL* ssl, int ret, boost::system::error_code& ec) {
    int const err = SSL_get_error(ssl, ret);
    switch (err) {
    case SSL_ERROR_NONE:
        return step::done;
    case SSL_ERROR_WANT_READ:
        return step::want_read;
    case SSL_ERROR_WANT_WRITE:
        return step::want_write;
    case SSL_ERROR_ZERO_RETURN: // close_notify, or a bare FIN (SSL_OP_IGNORE_UNEXPECTED_EOF)
        ec = boost::asio::error::eof;
        return step::failed;
    case SSL_ERROR_SYSCALL:
        ec = errno != 0 ? boost::system::error_code(errno, boost::system::system_category())
                        : boost::system::error_code(boost::asio::error::eof);
        return step::failed;
    default:
        ec = boost::system::error_code(static_cast<int>(ERR_get_error()),
                                       boost::asio::error::get_ssl_category());
        if (!ec)
            ec = boost::asio::error::fault;
        return step::failed;
    }
}

} // namespace detail

class tls_socket {
public:
    using executor_type = boost::asio::ip::tcp::socket::executor_type;
    using lowest_layer_type = boost::asio::ip::tcp::socket;

    /// Takes an accepted socket; the SSL object is created from `ctx` (which it references).
    tls_socket(boost::asio::ip::tcp::socket socket, SSL_CTX* ctx)
        : socket_(std::move(socket))
        , ssl_(SSL_new(ctx)) {
        if (!ssl_)
            throw std::bad_alloc();
        boost::system::error_code ec;
        socket_.non_blocking(true, ec);
        SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle()));
        SSL_set_accept_state(ssl_.get());
    }

    tls_socket(tls_socket&&) noexcept = default;
    tls_socket& operator=(tls_socket&&) noexcept = default;

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    boost::asio::ip::tcp::socket& next_layer() noexcept { return socket_; }
    boost::asio::ip::tcp::socket& lowest_layer() noexcept { return socket_; }
    SSL* native_handle() const noexcept { return ssl_.get(); }

    /// Server-side handshake.
    template <class Token>
    auto async_handshake(Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code)>(
            handshake_op{this, false}, token, socket_);
    }

    /// Completes when decrypted data is pending or the socket is readable; holds no buffer.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code)>(
            [this, started = false](auto& self, boost::system::error_code ec = {}) mutable {
                if (started)
                    return self.complete(ec);
                started = true;
                if (SSL_has_pending(ssl_.get()) == 1) {
                    auto ex = socket_.get_executor();
                    return boost::asio::post(ex, std::move(self));
                }
                socket_.async_wait(boost::asio::socket_base::wait_read, std::move(self));
            },
            token, socket_);
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(MutableBuffers const& buffers, Token&& token) {
        boost::asio::mutable_buffer first;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            if (it->size() != 0) {
                first = *it;
                break;
            }
        }
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            read_op{this, first, false}, token, socket_);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(ConstBuffers const& buffers, Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            write_op{this, flatten(buffers), false}, token, socket_);
    }

    /// Without consuming anything: 1 when application data is waiting, 0 when the peer closed
    /// (or the connection failed), -1 when nothing complete has arrived yet.
    int peek_state() noexcept {
        ERR_clear_error();
        char c;
        std::size_t n = 0;
        int const ret = SSL_peek_ex(ssl_.get(), &c, 1, &n);
        if (ret == 1)
            return 1;
        boost::system::error_code ec;
        switch (detail::classify(ssl_.get(), ret, ec)) {
        case detail::step::want_read:
        case detail::step::want_write:
            return -1;
        default:
            return 0;
        }
    }

    /// Queues close_notify if the connection is still healthy; never waits for the peer's.
    void send_close_notify() noexcept {
        if (!failed_ && SSL_is_init_finished(ssl_.get()) == 1) {
            ERR_clear_error();
            (void)SSL_shutdown(ssl_.get());
        }
    }

private:
    // What one write_some sends: one buffer, or several small ones gathered so that an HTTP
    // head (many small pieces) becomes one TLS record, not one record per piece.
    struct write_chunk {
        boost::asio::const_buffer view;
        std::shared_ptr<std::vector<char>> gathered; // owns `view` when gathered
    };

    static constexpr std::size_t gather_limit = 16 * 1024;

    template <class ConstBuffers>
    static write_chunk flatten(ConstBuffers const& buffers) {
        auto it = boost::asio::buffer_sequence_begin(buffers);
        auto const end = boost::asio::buffer_sequence_end(buffers);
        while (it != end && boost::asio::const_buffer(*it).size() == 0)
            ++it;
        if (it == end)
            return {};
        boost::asio::const_buffer const first(*it);
        auto next = it;
        ++next;
        while (next != end && boost::asio::const_buffer(*next).size() == 0)
            ++next;
        if (next == end || first.size() >= gather_limit)
            return {first, nullptr};
        auto gathered = std::make_shared<std::vector<char>>();
        gathered->reserve(gather_limit);
        for (; it != end && gathered->size() < gather_limit; ++it) {
            boost::asio::const_buffer const b(*it);
            auto const take = std::min(b.size(), gather_limit - gathered->size());
            auto const* p = static_cast<char const*>(b.data());
            gathered->insert(gathered->end(), p, p + take);
        }
        return {boost::asio::buffer(*gathered), gathered};
    }

    template <class Self, class... Args>
    void finish(Self& self, bool posted, boost::system::error_code ec, Args... args) {
        if (ec && ec != boost::asio::error::eof)
            failed_ = true;
        if (posted) {
            self.complete(ec, args...);
            return;
        }
        // Never complete inside the initiating call.
        auto ex = socket_.get_executor();
        boost::asio::post(
            ex, [self = std::move(self), ec, args...]() mutable { self.complete(ec, args...); });
    }

    struct handshake_op {
        tls_socket* s;
        bool waited;
        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}) {
            if (ec)
                return s->finish(self, waited, ec);
            ERR_clear_error();
            int const ret = SSL_do_handshake(s->ssl_.get());
            waited = true;
            switch (detail::classify(s->ssl_.get(), ret, ec)) {
            case detail::step::done:
                return s->finish(self, true, ec);
            case detail::step::want_read:
                return s->socket_.async_wait(boost::asio::socket_base::wait_read, std::move(self));
            case detail::step::want_write:
                return s->socket_.async_wait(boost::asio::socket_base::wait_write, std::move(self));
            case detail::step::failed:
                return s->finish(self, true, ec);
            }
        }
    };

    // After one SSL_read_ex/SSL_write_ex attempt: complete the operation, or wait until the
    // socket can take the step OpenSSL needs (a TLS read may need a write, and the reverse) and
    // attempt again.
    template <class Self>
    void advance(Self& self, bool& waited, int ret, std::size_t n, boost::system::error_code ec) {
        bool const was_waited = waited;
        if (ret == 1)
            return finish(self, was_waited, ec, n);
        waited = true;
        switch (detail::classify(ssl_.get(), ret, ec)) {
        case detail::step::done:
            return finish(self, was_waited, ec, n);
        case detail::step::want_read:
            return socket_.async_wait(boost::asio::socket_base::wait_read, std::move(self));
        case detail::step::want_write:
            return socket_.async_wait(boost::asio::socket_base::wait_write, std::move(self));
        case detail::step::failed:
            return finish(self, was_waited, ec, std::size_t{0});
        }
    }

    struct read_op {
        tls_socket* s;
        boost::asio::mutable_buffer buffer;
        bool waited;
        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}) {
            if (ec || buffer.size() == 0)
                return s->finish(self, waited, ec, std::size_t{0});
            ERR_clear_error();
            std::size_t n = 0;
            int const ret = SSL_read_ex(s->ssl_.get(), buffer.data(), buffer.size(), &n);
            s->advance(self, waited, ret, n, ec);
        }
    };

    struct write_op {
        tls_socket* s;
        write_chunk chunk;
        bool waited;
        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}) {
            if (ec || chunk.view.size() == 0)
                return s->finish(self, waited, ec, std::size_t{0});
            ERR_clear_error();
            std::size_t n = 0;
            int const ret = SSL_write_ex(s->ssl_.get(), chunk.view.data(), chunk.view.size(), &n);
            s->advance(self, waited, ret, n, ec);
        }
    };

    boost::asio::ip::tcp::socket socket_;
    std::unique_ptr<SSL, detail::ssl_deleter> ssl_;
    bool failed_ = false;
};

} // namespace dockgate::tls
