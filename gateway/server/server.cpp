#include "gateway/server/server.hpp"

#include "gateway/server/runtime.hpp"
#include "gateway/session/tls_session.hpp"
#include "gateway/tls/tls_context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>

#include <spdlog/spdlog.h>

#include <csignal>
#include <vector>
#include <thread>

namespace dockgate::server {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

struct worker {
    asio::io_context io{1};
    session_registry sessions; // only touched on this worker's thread
    std::thread thread;
};

class gateway_server {
public:
    explicit gateway_server(std::shared_ptr<config::config const> cfg)
        : snap_(std::make_shared<snapshot>(cfg))
        , audit_(cfg->gateway.audit_log)
        , signals_(main_io_, SIGINT, SIGTERM, SIGHUP)
        , drain_timer_(main_io_) {
        services_.audit = &audit_;
        if (cfg->tls) {
            tls_ctx_ = tls::make_server_context(*cfg->tls);
            bind_tls(*cfg->tls);
        }
        for (unsigned i = 0; i < cfg->gateway.workers; ++i)
            workers_.push_back(std::make_unique<worker>());
    }

    int run() {
        for (auto& w : workers_) {
            w->thread = std::thread([&io = w->io] {
                auto guard = asio::make_work_guard(io);
                io.run();
            });
        }
        asio::co_spawn(main_io_, accept_loop(), asio::detached);
        wait_signal();
        main_io_.run();
        for (auto& w : workers_) {
            w->io.stop();
            if (w->thread.joinable())
                w->thread.join();
        }
        audit_.flush();
        spdlog::info("stopped");
        return 0;
    }

private:
    void bind_tls(config::tls_listener const& tls) {
        error_code ec;
        auto const address = asio::ip::make_address(tls.host, ec);
        if (ec)
            throw std::runtime_error("listen.tls.address: \"" + tls.host + "\" is not an IP address (use e.g. 0.0.0.0 or 127.0.0.1)");
        tcp::endpoint const ep(address, tls.port);
        acceptor_.open(ep.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(ep, ec);
        if (ec)
            throw std::runtime_error("listen.tls.address: cannot listen on " + tls.address + ": " + ec.message());
        acceptor_.listen(asio::socket_base::max_listen_connections);
        spdlog::info("listening for mutual TLS on {}", tls.address);
    }

    asio::awaitable<void> accept_loop() {
        std::size_t next = 0;
        auto const max = snap_->cfg->limits.max_connections;
        while (acceptor_.is_open()) {
            auto& w = *workers_[next++ % workers_.size()];
            auto [ec, socket] = co_await acceptor_.async_accept(w.io, asio::as_tuple(asio::use_awaitable));
            if (ec) {
                if (ec == asio::error::operation_aborted)
                    co_return;
                // Out of file descriptors and the like: back off instead of spinning.
                spdlog::warn("accept failed: {}", ec.message());
                asio::steady_timer pause(main_io_, std::chrono::milliseconds(100));
                co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
                continue;
            }
            if (services_.open_connections.fetch_add(1, std::memory_order_relaxed) >= max) {
                services_.open_connections.fetch_sub(1, std::memory_order_relaxed);
                if (refusals_++ % 1000 == 0)
                    spdlog::warn("limits.max_connections ({}) reached: refusing connections", max);
                error_code ignored;
                socket.close(ignored);
                continue;
            }
            asio::post(w.io, [this, &w, s = std::move(socket)]() mutable {
                session::start_tls_connection(std::move(s), tls_ctx_, snap_, services_, w.sessions);
            });
        }
    }

    void wait_signal() {
        signals_.async_wait([this](error_code ec, int signo) {
            if (ec)
                return;
            if (signo == SIGHUP) {
                spdlog::warn("SIGHUP: this version applies configuration changes on restart only");
                wait_signal();
                return;
            }
            begin_shutdown(signo);
        });
    }

    void begin_shutdown(int signo) {
        spdlog::info("signal {}: no new connections; finishing requests in flight (up to {})", signo,
                     format_duration(snap_->cfg->gateway.shutdown_timeout));
        services_.draining = true;
        error_code ec;
        acceptor_.close(ec);
        for (auto& wp : workers_) {
            auto& w = *wp;
            asio::post(w.io, [&w] {
                // drain() may close and so unregister sessions: iterate over a copy.
                auto const sessions = std::vector<session_handle*>(w.sessions.begin(), w.sessions.end());
                for (auto* s : sessions) {
                    if (w.sessions.count(s) != 0)
                        s->drain();
                }
            });
        }
        deadline_ = std::chrono::steady_clock::now() + snap_->cfg->gateway.shutdown_timeout;
        poll_drained();
    }

    void poll_drained() {
        if (services_.open_connections.load() == 0 || std::chrono::steady_clock::now() >= deadline_) {
            if (services_.open_connections.load() != 0) {
                spdlog::warn("shutdown_timeout reached: closing {} connection(s)", services_.open_connections.load());
                for (auto& wp : workers_) {
                    auto& w = *wp;
                    asio::post(w.io, [&w] {
                        auto const sessions = std::vector<session_handle*>(w.sessions.begin(), w.sessions.end());
                        for (auto* s : sessions) {
                            if (w.sessions.count(s) != 0)
                                s->abort();
                        }
                    });
                }
                // Give the aborts a moment to run before the loops stop.
                drain_timer_.expires_after(std::chrono::milliseconds(200));
                drain_timer_.async_wait([this](error_code) { main_io_.stop(); });
                return;
            }
            main_io_.stop();
            return;
        }
        drain_timer_.expires_after(std::chrono::milliseconds(50));
        drain_timer_.async_wait([this](error_code ec) {
            if (!ec)
                poll_drained();
        });
    }

    asio::io_context main_io_{1};
    std::shared_ptr<snapshot const> snap_;
    audit::audit_log audit_;
    services services_;
    std::shared_ptr<asio::ssl::context> tls_ctx_;
    tcp::acceptor acceptor_{main_io_};
    asio::signal_set signals_;
    asio::steady_timer drain_timer_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::chrono::steady_clock::time_point deadline_;
    std::uint64_t refusals_ = 0;
};

} // namespace

int run(std::shared_ptr<config::config const> cfg) {
    std::signal(SIGPIPE, SIG_IGN);
    gateway_server server(std::move(cfg));
    return server.run();
}

} // namespace dockgate::server
