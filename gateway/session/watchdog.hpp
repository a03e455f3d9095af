#pragma once
// Deadlines for one connection. Each concurrent operation owns a slot; setting a deadline is a
// store (no timer churn on the data path); the single timer re-arms itself to the earliest
// deadline when it fires, and calls `on_expire` once when any deadline has passed.
// Single-threaded: used only from the connection's own io_context thread.

#include <array>
#include <chrono>
#include <functional>

#include <boost/asio/steady_timer.hpp>

namespace dockgate::session {

enum class slot : std::size_t { client_read, client_write, daemon_io, control, count_ };

class watchdog {
public:
    using clock = std::chrono::steady_clock;

    template <class Executor>
    watchdog(Executor ex, std::function<void(slot)> on_expire)
        : timer_(ex)
        , on_expire_(std::move(on_expire)) {
        deadlines_.fill(clock::time_point::max());
    }

    void set(slot s, clock::duration within) { set_at(s, clock::now() + within); }

    void set_at(slot s, clock::time_point at) {
        deadlines_[static_cast<std::size_t>(s)] = at;
        if (at < armed_ && !stopped_)
            arm();
    }

    void clear(slot s) { deadlines_[static_cast<std::size_t>(s)] = clock::time_point::max(); }

    void stop() {
        stopped_ = true;
        timer_.cancel();
    }

private:
    void arm() {
        auto next = clock::time_point::max();
        for (auto d : deadlines_)
            next = std::min(next, d);
        armed_ = next;
        timer_.expires_at(next);
        timer_.async_wait([this](boost::system::error_code ec) {
            // Aborted: re-armed meanwhile, stopped, or destroyed; `this` may be gone.
            if (ec == boost::asio::error::operation_aborted || stopped_)
                return;
            auto const now = clock::now();
            for (std::size_t i = 0; i < deadlines_.size(); ++i) {
                if (deadlines_[i] <= now) {
                    stopped_ = true;
                    on_expire_(static_cast<slot>(i));
                    return;
                }
            }
            arm();
        });
    }

    boost::asio::steady_timer timer_;
    std::function<void(slot)> on_expire_;
    std::array<clock::time_point, static_cast<std::size_t>(slot::count_)> deadlines_;
    clock::time_point armed_ = clock::time_point::max();
    bool stopped_ = false;
};

} // namespace dockgate::session
