#pragma once
// A TLS stream that drives OpenSSL directly on the non-blocking socket and waits for readiness
// with Asio, instead of asio::ssl::stream's memory-BIO engine. Why: the engine keeps four
// ~17 KiB buffers per connection (its own two plus a BIO pair) and copies every byte through
// them; here OpenSSL reads the socket itself and, with SSL_MODE_RELEASE_BUFFERS, an idle
// connection holds only OpenSSL's session state. 10,000 idle keep-alive clients is a normal
// load for a gateway.
//
// Writes go the other way round: OpenSSL's records collect in an outbox that is sent with one
// send(2) per step. A 64 KiB write is four records; sent one by one they cost four trips
// through the TCP stack and can wake the peer four times, which is most of what a stream
// costs on loopback and virtual machines. Handshakes and writes complete only once the outbox
// is sent, so nothing they made is held back; a read sends what the socket takes and leaves
// the rest (rare: OpenSSL's answer to a KeyUpdate) to the next step. The outbox's memory is
// given back after a large batch and while the connection is idle.
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
#include <sys/socket.h>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/bio.h>
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

// What the connection's BIO works on: the socket for reading, the outbox for writing.
struct wire {
    int fd = -1;
    bool eof = false;      // recv(2) returned 0: BIO_eof() tells OpenSSL the peer closed TCP
    std::vector<char> out; // encrypted records not yet sent
    std::size_t sent = 0;  // how much of `out` is already on the socket
    std::size_t pending() const noexcept { return out.size() - sent; }
};

inline int wire_read(BIO* bio, char* data, std::size_t size, std::size_t* got) {
    auto* w = static_cast<wire*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    for (;;) {
        ssize_t const n = ::recv(w->fd, data, size, 0);
        if (n > 0) {
            *got = static_cast<std::size_t>(n);
            return 1;
        }
        if (n == 0) {
            w->eof = true;
            *got = 0;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(bio);
        return 0; // errno stays for SSL_ERROR_SYSCALL
    }
}

inline int wire_write(BIO* bio, char const* data, std::size_t size, std::size_t* put) {
    auto* w = static_cast<wire*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    w->out.insert(w->out.end(), data, data + size);
    *put = size;
    return 1;
}

inline long wire_ctrl(BIO* bio, int cmd, long num, void*) {
    auto* w = static_cast<wire*>(BIO_get_data(bio));
    switch (cmd) {
    case BIO_CTRL_EOF:
        return w->eof ? 1 : 0;
    case BIO_CTRL_FLUSH: // records are sent by the operation that made them
        return 1;
    case BIO_CTRL_WPENDING:
        return static_cast<long>(w->pending());
    case BIO_CTRL_GET_CLOSE:
        return BIO_get_shutdown(bio);
    case BIO_CTRL_SET_CLOSE:
        BIO_set_shutdown(bio, static_cast<int>(num));
        return 1;
    default:
        return 0;
    }
}

inline BIO_METHOD const* wire_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dockgate wire");
        if (!m || BIO_meth_set_read_ex(m, wire_read) != 1 ||
            BIO_meth_set_write_ex(m, wire_write) != 1 || BIO_meth_set_ctrl(m, wire_ctrl) != 1 ||
            BIO_meth_set_create(m, [](BIO* b) {
                BIO_set_init(b, 1);
                return 1;
            }) != 1)
            throw std::bad_alloc();
        return m;
    }();
    return method;
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
        wire_.fd = static_cast<int>(socket_.native_handle());
        BIO* bio = BIO_new(detail::wire_method());
        if (!bio)
            throw std::bad_alloc();
        BIO_set_data(bio, &wire_);
        SSL_set_bio(ssl_.get(), bio, bio); // one BIO both ways, owned by the SSL object
        SSL_set_accept_state(ssl_.get());
    }

    // The BIO points at wire_, so a move points it at the new home. No operation may be
    // outstanding across a move (they hold `this`).
    tls_socket(tls_socket&& other) noexcept
        : socket_(std::move(other.socket_))
        , ssl_(std::move(other.ssl_))
        , wire_(std::move(other.wire_))
        , failed_(other.failed_) {
        rebind();
    }
    tls_socket& operator=(tls_socket&& other) noexcept {
        socket_ = std::move(other.socket_);
        ssl_ = std::move(other.ssl_);
        wire_ = std::move(other.wire_);
        failed_ = other.failed_;
        rebind();
        return *this;
    }
    tls_socket(tls_socket const&) = delete;
    tls_socket& operator=(tls_socket const&) = delete;

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    boost::asio::ip::tcp::socket& next_layer() noexcept { return socket_; }
    boost::asio::ip::tcp::socket& lowest_layer() noexcept { return socket_; }
    SSL* native_handle() const noexcept { return ssl_.get(); }

    /// Server-side handshake.
    template <class Token>
    auto async_handshake(Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code)>(
            handshake_op{this, {}}, token, socket_);
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
            read_op{this, first, {}}, token, socket_);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(ConstBuffers const& buffers, Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            write_op<ConstBuffers>{this, buffers, {}}, token, socket_);
    }

    /// Without consuming anything: 1 when application data is waiting, 0 when the peer closed
    /// (or the connection failed), -1 when nothing complete has arrived yet.
    int peek_state() noexcept {
        ERR_clear_error();
        char c;
        std::size_t n = 0;
        int const ret = SSL_peek_ex(ssl_.get(), &c, 1, &n);
        boost::system::error_code ec;
        (void)send_out(ec); // anything the read made OpenSSL answer
        if (ret == 1)
            return 1;
        switch (detail::classify(ssl_.get(), ret, ec)) {
        case detail::step::want_read:
        case detail::step::want_write:
            return -1;
        default:
            return 0;
        }
    }

    /// Sends close_notify if the connection is still healthy and the socket takes it now;
    /// never waits, neither for the socket nor for the peer's close_notify.
    void send_close_notify() noexcept {
        if (!failed_ && SSL_is_init_finished(ssl_.get()) == 1) {
            ERR_clear_error();
            (void)SSL_shutdown(ssl_.get());
            boost::system::error_code ec;
            (void)send_out(ec);
        }
    }

    /// While the connection is idle: gives back OpenSSL's record buffers and the outbox (each
    /// kept if data is pending in it).
    void release_buffers() noexcept {
        SSL_free_buffers(ssl_.get());
        if (wire_.pending() == 0)
            std::vector<char>().swap(wire_.out);
    }

private:
    void rebind() noexcept {
        if (ssl_)
            BIO_set_data(SSL_get_rbio(ssl_.get()), &wire_);
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

    // Sends the outbox. done: it is empty; want_write: the socket is full; failed: `ec` says
    // why. Uses the socket's current descriptor, so nothing is sent after a close.
    detail::step send_out(boost::system::error_code& ec) noexcept {
        auto& w = wire_;
        while (w.pending() > 0) {
            if (!socket_.is_open()) {
                ec = boost::asio::error::bad_descriptor;
                return detail::step::failed;
            }
            ssize_t const n =
                ::send(socket_.native_handle(), w.out.data() + w.sent, w.pending(), MSG_NOSIGNAL);
            if (n >= 0) {
                w.sent += static_cast<std::size_t>(n);
                continue;
            }
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return detail::step::want_write;
            ec = boost::system::error_code(errno, boost::system::system_category());
            return detail::step::failed;
        }
        // A record's worth of room stays for the next answer; a 64 KiB batch's is given back,
        // so a thousand quiet `logs -f` streams do not each keep one.
        if (w.out.capacity() > keep_capacity)
            std::vector<char>().swap(w.out);
        else
            w.out.clear();
        w.sent = 0;
        return detail::step::done;
    }

    static constexpr std::size_t keep_capacity = 17 * 1024;

    // Where an operation stands between its passes.
    struct progress {
        bool waited = false;  // it has waited once: completing is no longer inside the initiation
        bool settled = false; // the SSL call has its result; what may be left is sending
        std::size_t n = 0;
        boost::system::error_code ec;
    };

    // One pass of an operation. Unless the result is in, `attempt(n)` makes the SSL call and
    // returns its result. Then what OpenSSL queued is sent, and the operation completes or waits:
    // for writability while its records are queued, for readability while OpenSSL needs input.
    // `flush`: whether the operation waits until the outbox is sent. Handshakes and writes do.
    // Reads send what they can and never wait to send: a read may run beside a write whose
    // records the peer is not taking, and a peer that does not read must not stop this side
    // from reading. What a read leaves queued (OpenSSL's answer to a KeyUpdate, say) goes out
    // with the next operation's send.
    template <bool WithSize, class Self, class Attempt>
    void pass(Self& self, progress& p, boost::system::error_code ec, bool flush,
              Attempt&& attempt) {
        if (!ec && !socket_.is_open())
            ec = boost::asio::error::bad_descriptor;
        if (ec) {
            p.settled = true;
            p.ec = ec;
            p.n = 0;
            return complete<WithSize>(self, p);
        }
        bool need_write = false;
        if (!p.settled) {
            ERR_clear_error();
            std::size_t n = 0;
            int const ret = attempt(n);
            switch (ret == 1 ? detail::step::done : detail::classify(ssl_.get(), ret, p.ec)) {
            case detail::step::done:
                p.settled = true;
                p.n = n;
                break;
            case detail::step::want_read:
                break;
            case detail::step::want_write: // not from this BIO, which never refuses a write
                need_write = true;
                break;
            case detail::step::failed:
                p.settled = true;
                p.n = 0;
                break;
            }
        }
        boost::system::error_code send_ec;
        switch (send_out(send_ec)) {
        case detail::step::want_write:
            need_write = need_write || (flush && !p.ec);
            break;
        case detail::step::failed:
            if (flush && !p.ec) {
                p.settled = true;
                p.ec = send_ec;
                p.n = 0;
            }
            break;
        default:
            break;
        }
        if (need_write || !p.settled) {
            p.waited = true;
            return socket_.async_wait(need_write ? boost::asio::socket_base::wait_write
                                                 : boost::asio::socket_base::wait_read,
                                      std::move(self));
        }
        complete<WithSize>(self, p);
    }

    template <bool WithSize, class Self>
    void complete(Self& self, progress const& p) {
        if constexpr (WithSize)
            finish(self, p.waited, p.ec, p.n);
        else
            finish(self, p.waited, p.ec);
    }

    struct handshake_op {
        tls_socket* s;
        progress p;
        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}) {
            s->pass<false>(self, p, ec, true,
                           [this](std::size_t&) { return SSL_do_handshake(s->ssl_.get()); });
        }
    };

    struct read_op {
        tls_socket* s;
        boost::asio::mutable_buffer buffer;
        progress p;
        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}) {
            if (buffer.size() == 0 && !ec)
                return s->finish(self, p.waited, ec, std::size_t{0});
            s->pass<true>(self, p, ec, false, [this](std::size_t& n) {
                return SSL_read_ex(s->ssl_.get(), buffer.data(), buffer.size(), &n);
            });
        }
    };

    // Up to this much plaintext becomes records in one write_some, sent with one send(2): a
    // relay buffer, or a chunk of a chunked body with its size line and CRLF.
    static constexpr std::size_t write_batch = 64 * 1024;

    template <class ConstBuffers>
    struct write_op {
        tls_socket* s;
        ConstBuffers buffers; // the caller keeps the memory valid until completion
        progress p;
        template <class Self>
        void operator()(Self& self, boost::system::error_code ec = {}) {
            if (boost::asio::buffer_size(buffers) == 0 && !ec)
                return s->finish(self, p.waited, ec, std::size_t{0});
            s->pass<true>(self, p, ec, true,
                          [this](std::size_t& n) { return s->encrypt(buffers, n); });
        }
    };

    // Pieces smaller than this are gathered (an HTTP head is dozens of them) so that they
    // become one record instead of one each; larger ones are encrypted where they are.
    static constexpr std::size_t gather_below = 1024;
    static constexpr std::size_t max_record = 16 * 1024;

    // Turns up to write_batch bytes from the front of `buffers` into records in the outbox
    // (OpenSSL writes one record per call in partial-write mode). `taken` is how much of the
    // sequence went into records; what was taken counts even if a later call fails, and the
    // failure then shows on the next write.
    template <class ConstBuffers>
    int encrypt(ConstBuffers const& buffers, std::size_t& taken) {
        std::size_t const want = std::min(boost::asio::buffer_size(buffers), write_batch);
        wire_.out.reserve(wire_.out.size() + want + (want / max_record + 2) * record_overhead);
        std::array<char, max_record> stage;
        std::size_t staged = 0;
        int ret = 1;
        taken = 0;
        auto seal = [&](char const* data, std::size_t size) {
            for (std::size_t done = 0; done < size;) {
                std::size_t n = 0;
                ret = SSL_write_ex(ssl_.get(), data + done, size - done, &n);
                if (ret != 1)
                    return false;
                done += n;
                taken += n;
            }
            return true;
        };
        auto seal_stage = [&] {
            bool const ok = seal(stage.data(), staged);
            staged = 0;
            return ok;
        };
        bool ok = true;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             ok && it != boost::asio::buffer_sequence_end(buffers) && taken + staged < want; ++it) {
            boost::asio::const_buffer const b(*it);
            std::size_t const size = std::min(b.size(), want - taken - staged);
            auto const* data = static_cast<char const*>(b.data());
            if (size == 0)
                continue;
            if (size < gather_below) {
                if (staged + size > stage.size())
                    ok = seal_stage();
                if (ok) {
                    std::memcpy(stage.data() + staged, data, size);
                    staged += size;
                }
            } else {
                ok = seal_stage() && seal(data, size);
            }
        }
        if (ok && staged > 0)
            seal_stage();
        return taken > 0 ? 1 : ret;
    }

    // Header, content type and tag of a TLS 1.3 record, or header, explicit nonce and tag of a
    // TLS 1.2 AEAD record, rounded up.
    static constexpr std::size_t record_overhead = 64;

    boost::asio::ip::tcp::socket socket_;
    std::unique_ptr<SSL, detail::ssl_deleter> ssl_;
    detail::wire wire_; // the BIO's state (the BIO's data pointer: see the move operations)
    bool failed_ = false;
};

} // namespace dockgate::tls
