#pragma once
// One SSH session channel as an Asio stream, so the HTTP session serves it like a TLS or unix
// connection. The channel's bytes stay in libssh's buffers until the session reads them; a
// read that finds none, and a write that finds the peer's window shut or the connection's
// output not yet sent, waits for its connection to say that something changed (a signal
// timer per direction). Nothing is copied on the way but into the caller's buffer.
//
// Contract: models Asio's AsyncReadStream and AsyncWriteStream for one reader and one writer
// at a time; every operation runs on the connection's executor (one worker's io_context,
// single-threaded). Completion is never inline: immediate results are posted. The peer's EOF
// reads as asio::error::eof; a closed channel or a lost connection fails with broken_pipe.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <memory>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace dockgate::ssh {

class ssh_connection;

/// What a channel's stream and its connection share; touched only on the connection's thread.
struct channel_state {
    explicit channel_state(boost::asio::any_io_executor const& ex)
        : read_ready(ex, boost::asio::steady_timer::time_point::max())
        , write_ready(ex, boost::asio::steady_timer::time_point::max()) {}

    ssh_connection* connection = nullptr; // kept alive by every stream of it
    void* channel = nullptr;              // the libssh channel; null once given back
    std::size_t available = 0;            // bytes libssh holds for the reader
    bool peer_eof = false;                // the client sent EOF: reads end after `available`
    bool ended = false;                   // closed, by either side, or the connection is gone
    bool sent_eof = false;
    std::uint64_t read_cancels = 0;        // cancel_waits() bumps this; waiting reads then abort
    boost::asio::steady_timer read_ready;  // cancelled when there is something to read
    boost::asio::steady_timer write_ready; // cancelled when the channel may take more
};

namespace detail {

enum class attempt { done, wait };

// Implemented by ssh_connection.cpp; `done` sets `ec` (eof, broken_pipe) or `n`.
attempt read_some(channel_state& ch, void* data, std::size_t size, boost::system::error_code& ec,
                  std::size_t& n);
// How much the channel takes now: `wait`, or `done` with `ec` set or `room` > 0.
attempt write_room(channel_state& ch, boost::system::error_code& ec, std::size_t& room);
// Writes what write_room() allowed.
void write(channel_state& ch, void const* data, std::size_t size, boost::system::error_code& ec,
           std::size_t& n);
// 1: data waiting, 0: EOF or ended, -1: nothing yet.
int peek(channel_state const& ch);
void send_eof(channel_state& ch);
void close(channel_state& ch);
void release(std::shared_ptr<channel_state> const& ch);
std::shared_ptr<void> keep_alive(channel_state& ch);

} // namespace detail

class channel_stream {
public:
    using executor_type = boost::asio::any_io_executor;

    channel_stream(std::shared_ptr<channel_state> ch, executor_type ex)
        : ch_(std::move(ch))
        , keep_(detail::keep_alive(*ch_))
        , ex_(std::move(ex)) {}
    channel_stream(channel_stream&&) noexcept = default;
    // NOLINTNEXTLINE(bugprone-exception-escape): see give_back()
    channel_stream& operator=(channel_stream&& other) noexcept {
        if (this != &other) {
            give_back();
            ch_ = std::move(other.ch_);
            keep_ = std::move(other.keep_);
            ex_ = std::move(other.ex_);
        }
        return *this;
    }
    channel_stream(channel_stream const&) = delete;
    channel_stream& operator=(channel_stream const&) = delete;
    /// Closes the channel (exit status 0, EOF, close) if the session did not.
    ~channel_stream() { give_back(); } // NOLINT(bugprone-exception-escape): see give_back()

    executor_type get_executor() const noexcept { return ex_; }

    template <class MutableBuffers, class Token>
    auto async_read_some(MutableBuffers const& buffers, Token&& token) {
        // Reads fill the first non-empty buffer, as Asio's own sockets do.
        auto const first =
            boost::asio::detail::buffer_sequence_adapter<boost::asio::mutable_buffer,
                                                         MutableBuffers>::first(buffers);
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            read_op{ch_.get(), first, ch_->read_cancels, false}, token, ex_);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(ConstBuffers const& buffers, Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
            write_op<ConstBuffers>{ch_.get(), buffers, false}, token, ex_);
    }

    /// Completes when something can be read (data, EOF or the end); holds no buffer.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return boost::asio::async_compose<Token, void(boost::system::error_code)>(
            [ch = ch_.get(), cancels = ch_->read_cancels,
             waited = false](auto& self, boost::system::error_code = {}) mutable {
                if (ch->read_cancels != cancels)
                    return finish(self, waited, boost::asio::error::operation_aborted);
                if (detail::peek(*ch) >= 0)
                    return finish(self, waited, boost::system::error_code{});
                waited = true;
                ch->read_ready.async_wait(std::move(self));
            },
            token, ex_);
    }

    int peek_state() const noexcept { return detail::peek(*ch_); }
    void shutdown_send() { detail::send_eof(*ch_); }
    /// Ends the channel; pending operations complete with an error.
    void close() { detail::close(*ch_); }
    /// Pending reads and waits complete with operation_aborted.
    void cancel_reads() {
        ++ch_->read_cancels;
        ch_->read_ready.cancel();
    }

private:
    // Only std::bad_alloc can escape (from posting the connection's next step); terminating is
    // then the safe outcome, as a channel half given back would stay counted and reachable.
    // NOLINTNEXTLINE(bugprone-exception-escape)
    void give_back() noexcept {
        if (ch_)
            detail::release(ch_);
    }

    template <class Self, class... Args>
    static void finish(Self& self, bool waited, boost::system::error_code ec, Args... args) {
        if (waited)
            return self.complete(ec, args...);
        auto ex = self.get_executor();
        boost::asio::post(
            ex, [self = std::move(self), ec, args...]() mutable { self.complete(ec, args...); });
    }

    struct read_op {
        channel_state* ch;
        boost::asio::mutable_buffer buffer;
        std::uint64_t cancels;
        bool waited;
        template <class Self>
        void operator()(Self& self, boost::system::error_code = {}) {
            // The signal timer's wake-up is a cancellation: its code means nothing here.
            if (ch->read_cancels != cancels)
                return finish(self, waited, boost::asio::error::operation_aborted, std::size_t{0});
            boost::system::error_code ec;
            std::size_t n = 0;
            if (buffer.size() != 0 && detail::read_some(*ch, buffer.data(), buffer.size(), ec, n) ==
                                          detail::attempt::wait) {
                waited = true;
                return ch->read_ready.async_wait(std::move(self));
            }
            finish(self, waited, ec, n);
        }
    };

    // Up to this much is gathered from a buffer sequence into one channel write: an HTTP head
    // is dozens of small pieces, and each write of its own would be an SSH packet of its own.
    static constexpr std::size_t write_batch = 32 * 1024;

    template <class ConstBuffers>
    struct write_op {
        channel_state* ch;
        ConstBuffers buffers; // the caller keeps the memory valid until completion
        bool waited;
        template <class Self>
        void operator()(Self& self, boost::system::error_code = {}) {
            boost::system::error_code ec;
            std::size_t n = 0;
            std::size_t room = 0;
            std::size_t const total = boost::asio::buffer_size(buffers);
            if (total != 0) {
                if (detail::write_room(*ch, ec, room) == detail::attempt::wait) {
                    waited = true;
                    return ch->write_ready.async_wait(std::move(self));
                }
                if (!ec) {
                    // One worker thread runs one operation at a time: one staging area each.
                    thread_local std::array<char, write_batch> stage;
                    std::size_t const size = boost::asio::buffer_copy(
                        boost::asio::buffer(stage), buffers, std::min({total, room, write_batch}));
                    detail::write(*ch, stage.data(), size, ec, n);
                }
            }
            finish(self, waited, ec, n);
        }
    };

    std::shared_ptr<channel_state> ch_;
    std::shared_ptr<void> keep_; // the connection, alive as long as any of its streams
    executor_type ex_;
};

} // namespace dockgate::ssh
