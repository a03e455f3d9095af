#include "gateway/server/server.hpp"

#include <cerrno>
#include <csignal>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "gateway/audit/syslog_sender.hpp"
#include "gateway/server/admin.hpp"
#include "gateway/server/confinement.hpp"
#include "gateway/server/crl_fetcher.hpp"
#include "gateway/server/file_watcher.hpp"
#include "gateway/server/runtime.hpp"
#include "gateway/session/ssh_session.hpp"
#include "gateway/session/tls_session.hpp"
#include "gateway/session/unix_session.hpp"
#include "gateway/ssh/ssh_server.hpp"

namespace dockgate::server {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

// Certificates expire without any file changing: live connections are re-checked this often.
constexpr auto revalidation_period = std::chrono::seconds(60);
// Editors and deploy tools write in bursts; one reload per burst.
constexpr auto reload_debounce = std::chrono::milliseconds(300);
// At shutdown, records still queued for gateway.audit_syslog get this long to go out.
constexpr auto syslog_shutdown_grace = std::chrono::milliseconds(2000);

struct worker {
    asio::io_context io{1};
    session_registry sessions; // only touched on this worker's thread
    std::thread thread;
};

class gateway_server {
public:
    explicit gateway_server(std::shared_ptr<snapshot const> const& initial)
        : current_(initial)
        , audit_(initial->cfg->gateway.audit_log)
        , signals_(main_io_, SIGINT, SIGTERM, SIGHUP)
        , drain_timer_(main_io_)
        , revalidate_timer_(main_io_)
        , sweep_timer_(main_io_)
        , watcher_(main_io_, reload_debounce, [this] { reload("a watched file changed"); })
        , crls_(
              main_io_, services_.metrics, [this] { return current_.load(); },
              [this] { apply_fetched_crls(); }) {
        services_.audit = &audit_;
        auto const& cfg = *initial->cfg;
        if (auto const& target = cfg.gateway.audit_syslog) {
            syslog_ = std::make_unique<audit::syslog_sender>(*target, services_.metrics.syslog);
            audit_.copy_to([s = syslog_.get()](audit::audit_record const& r,
                                               std::string const& json) { s->submit(r, json); });
            spdlog::info("audit records also go to syslog at {} (facility {}, queue {})",
                         target->url, config::syslog_facility_name(target->facility),
                         target->queue);
        }
        if (cfg.tls)
            bind(tls_acceptor_, cfg.tls->host, cfg.tls->port, "listen.tls.address",
                 cfg.tls->address);
        if (cfg.unix_socket)
            bind_unix(*cfg.unix_socket);
        if (cfg.ssh) {
            bind(ssh_acceptor_, cfg.ssh->host, cfg.ssh->port, "listen.ssh.address",
                 cfg.ssh->address);
            ssh_ = std::make_unique<ssh::ssh_server>(
                *cfg.ssh, [this] { return current_.load(); }, services_,
                [this](ssh::channel_stream stream, policy::identity who, ssh::key_check check,
                       session_registry& registry) {
                    session::start_ssh_session(std::move(stream), std::move(who), std::move(check),
                                               current_.load(), services_, registry);
                });
            spdlog::info("listening for SSH on {}", cfg.ssh->address);
        }
        if (cfg.admin) {
            bind(admin_acceptor_, cfg.admin->host, cfg.admin->port, "admin.address",
                 cfg.admin->address);
            spdlog::info("admin endpoint (/healthz, /metrics) on http://{}", cfg.admin->address);
        }
        if (cfg.tls)
            spdlog::info("listening for mutual TLS on {}", cfg.tls->address);
        for (unsigned i = 0; i < cfg.gateway.workers; ++i)
            workers_.push_back(std::make_unique<worker>());
        watcher_.watch(config::watched_files(cfg));
    }

    int run() {
        // Everything that needs root or a file outside the gateway's folders is done: the
        // listeners are bound, the audit file and the SSH host key are open.
        auto started = current_.load();
        if (started->cfg->tls && !started->cfg->tls->crl_urls.empty()) {
            // Fetched before confinement (names resolve now) and before the first handshake.
            crls_.fetch_at_start(*started->cfg->tls, *started);
            started = std::make_shared<snapshot const>(started->cfg, crls_.crls());
            current_.store(started);
            crls_.start();
        }
        file_plan_ = plan_file_access(*started->cfg);
        confine(*started->cfg);
        if (syslog_)
            syslog_->start();
        for (auto& w : workers_) {
            w->thread = std::thread([&io = w->io] {
                auto guard = asio::make_work_guard(io);
                io.run();
            });
        }
        if (tls_acceptor_.is_open())
            asio::co_spawn(main_io_,
                           accept_loop(tls_acceptor_,
                                       [](auto socket, auto snap, services& s, worker& w) {
                                           session::start_tls_connection(
                                               std::move(socket), std::move(snap), s, w.sessions);
                                       }),
                           asio::detached);
        if (ssh_acceptor_.is_open())
            asio::co_spawn(main_io_,
                           accept_loop(ssh_acceptor_,
                                       [this](auto socket, auto, services&, worker& w) {
                                           ssh_->serve(std::move(socket), w.sessions);
                                       }),
                           asio::detached);
        if (unix_acceptor_.is_open())
            asio::co_spawn(main_io_,
                           accept_loop(unix_acceptor_,
                                       [](auto socket, auto snap, services& s, worker& w) {
                                           session::start_unix_connection(
                                               std::move(socket), std::move(snap), s, w.sessions);
                                       }),
                           asio::detached);
        if (admin_acceptor_.is_open())
            asio::co_spawn(
                main_io_,
                serve_admin(admin_acceptor_, services_.metrics, [this] { return current_.load(); }),
                asio::detached);
        wait_signal();
        schedule_revalidation();
        schedule_upstream_sweep();
        main_io_.run();
        // An accept pending on a closed acceptor completes with a socket bound to a worker's
        // io_context: let those completions run now, while the workers' contexts still exist
        // (main_io_ outlives them and would otherwise destroy the sockets after them).
        error_code ignored;
        for (auto* a : {&tls_acceptor_, &ssh_acceptor_, &admin_acceptor_})
            a->close(ignored);
        unix_acceptor_.close(ignored);
        signals_.cancel(ignored);
        main_io_.restart();
        main_io_.poll();
        for (auto& w : workers_) {
            w->io.stop();
            if (w->thread.joinable())
                w->thread.join();
        }
        audit_.flush();
        if (syslog_)
            syslog_->stop(syslog_shutdown_grace);
        if (!unix_path_.empty())
            ::unlink(unix_path_.c_str());
        spdlog::info("stopped");
        return 0;
    }

private:
    static void bind(tcp::acceptor& acceptor, std::string const& host, std::uint16_t port,
                     char const* key, std::string const& written) {
        error_code ec;
        auto const address = asio::ip::make_address(host, ec);
        if (ec)
            throw std::runtime_error(std::string(key) + ": \"" + host +
                                     "\" is not an IP address (use e.g. 0.0.0.0 or 127.0.0.1)");
        tcp::endpoint const ep(address, port);
        acceptor.open(ep.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(ep, ec);
        if (ec)
            throw std::runtime_error(std::string(key) + ": cannot listen on " + written + ": " +
                                     ec.message());
        acceptor.listen(asio::socket_base::max_listen_connections);
    }

    // Creates the socket with the configured mode and group. A stale socket file (nobody
    // listening) is replaced; a path a live listener holds, or that is not a socket, is not.
    void bind_unix(config::unix_listener const& u) {
        namespace fs = std::filesystem;
        std::error_code fec;
        auto const status = fs::symlink_status(u.path, fec);
        if (fs::exists(status)) {
            if (!fs::is_socket(status))
                throw std::runtime_error(
                    "listen.unix.path: " + u.path.string() +
                    " exists and is not a socket (remove it or pick another path)");
            asio::local::stream_protocol::socket probe(main_io_);
            error_code ec;
            probe.connect(asio::local::stream_protocol::endpoint(u.path.string()), ec);
            if (!ec)
                throw std::runtime_error("listen.unix.path: " + u.path.string() +
                                         " is in use by a live listener (another dockgate?)");
            fs::remove(u.path, fec);
        }
        gid_t gid = static_cast<gid_t>(-1);
        if (!u.group.empty()) {
            auto const found = group_id(u.group);
            if (!found)
                throw std::runtime_error("listen.unix.group: no such group \"" + u.group +
                                         "\" (create it or fix the name)");
            gid = *found;
        }
        // Nobody may connect before mode and group are set.
        auto const old_mask = ::umask(0177);
        error_code ec;
        unix_acceptor_.open(asio::local::stream_protocol(), ec);
        if (!ec)
            unix_acceptor_.bind(asio::local::stream_protocol::endpoint(u.path.string()), ec);
        ::umask(old_mask);
        if (ec)
            throw std::runtime_error("listen.unix.path: cannot listen on " + u.path.string() +
                                     ": " + ec.message());
        unix_path_ = u.path;
        if (gid != static_cast<gid_t>(-1) &&
            ::chown(u.path.c_str(), static_cast<uid_t>(-1), gid) != 0)
            throw std::runtime_error("listen.unix.group: cannot give " + u.path.string() +
                                     " to group " + u.group + ": " +
                                     std::generic_category().message(errno));
        if (::chmod(u.path.c_str(), u.mode) != 0)
            throw std::runtime_error("listen.unix.mode: cannot set the mode of " + u.path.string() +
                                     ": " + std::generic_category().message(errno));
        unix_acceptor_.listen(asio::socket_base::max_listen_connections);
        spdlog::info("listening on unix socket {} (mode {:o}{})", u.path.string(), u.mode,
                     u.group.empty() ? std::string() : ", group " + u.group);
    }

    template <class Acceptor, class Start>
    asio::awaitable<void> accept_loop(Acceptor& acceptor, Start start) {
        std::size_t next = 0;
        while (acceptor.is_open()) {
            auto& w = *workers_[next++ % workers_.size()];
            auto [ec, socket] =
                co_await acceptor.async_accept(w.io, asio::as_tuple(asio::use_awaitable));
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor.is_open())
                    co_return;
                // Out of file descriptors and the like: back off instead of spinning.
                spdlog::warn("accept failed: {}", ec.message());
                asio::steady_timer pause(main_io_, std::chrono::milliseconds(100));
                co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
                continue;
            }
            auto snap = current_.load();
            auto const max = snap->cfg->limits.max_connections;
            if (services_.open_connections.fetch_add(1, std::memory_order_relaxed) >= max) {
                services_.open_connections.fetch_sub(1, std::memory_order_relaxed);
                if (refusals_++ % 1000 == 0)
                    spdlog::warn("limits.max_connections ({}) reached: refusing connections", max);
                error_code ignored;
                socket.close(ignored);
                continue;
            }
            if constexpr (std::is_same_v<typename Acceptor::protocol_type, asio::ip::tcp>) {
                // New TLS and SSH connections per source address, before any crypto work.
                error_code ec2;
                auto const from = socket.remote_endpoint(ec2);
                if (!ec2 && !services_.addresses.admit(from.address().to_string(),
                                                       snap->cfg->limits.handshakes_per_ip)) {
                    services_.open_connections.fetch_sub(1, std::memory_order_relaxed);
                    services_.metrics.count_handshake_failure(handshake_failure::rate_limited);
                    if (rate_refusals_++ % 1000 == 0)
                        spdlog::warn("limits.handshakes_per_ip ({}/s) reached for {}: closing new "
                                     "connections from it",
                                     snap->cfg->limits.handshakes_per_ip,
                                     from.address().to_string());
                    error_code ignored;
                    socket.close(ignored);
                    continue;
                }
            }
            asio::post(w.io,
                       [this, &w, start, s = std::move(socket), snap = std::move(snap)]() mutable {
                           start(std::move(s), std::move(snap), services_, w);
                       });
        }
    }

    void wait_signal() {
        signals_.async_wait([this](error_code ec, int signo) {
            if (ec)
                return;
            if (signo == SIGHUP) {
                reload("SIGHUP");
                wait_signal();
                return;
            }
            begin_shutdown(signo);
        });
    }

    // Builds and validates a new snapshot; swaps it in only if everything in it is good.
    void reload(char const* why) {
        if (services_.draining)
            return;
        auto const old = current_.load();
        std::shared_ptr<snapshot const> next;
        try {
            next = load_snapshot(old->cfg->source, crls_.crls());
        } catch (config::config_error const& e) {
            services_.metrics.count_reload(false);
            spdlog::error("reload ({}) refused, the previous configuration stays in force:", why);
            for (auto const& p : e.problems())
                spdlog::error("  {}", p);
            explain_landlock(*old->cfg);
            return;
        } catch (std::exception const& e) {
            services_.metrics.count_reload(false);
            spdlog::error("reload ({}) refused, the previous configuration stays in force: {}", why,
                          e.what());
            explain_landlock(*old->cfg);
            return;
        }
        if (bool(old->cfg->tls) != bool(next->cfg->tls) ||
            bool(old->cfg->unix_socket) != bool(next->cfg->unix_socket) ||
            bool(old->cfg->ssh) != bool(next->cfg->ssh)) {
            services_.metrics.count_reload(false);
            spdlog::error("reload ({}) refused, the previous configuration stays in force: "
                          "listeners are added or "
                          "removed on restart only",
                          why);
            return;
        }
        warn_about_restart_only_changes(*old->cfg, *next->cfg);
        for (auto const& w : next->cfg->warnings)
            spdlog::warn("config: {}", w);
        current_.store(next);
        services_.metrics.count_reload(true);
        watcher_.watch(config::watched_files(*next->cfg));
        spdlog::info("reload ({}): new configuration in force; re-checking open connections", why);
        revalidate_all(next);
    }

    // A fetch brought a CRL that differs from the one in hand: a new snapshot with the same
    // configuration, and every open connection re-checked against it (a newly revoked user's
    // connections close, as on a changed listen.tls.crl file).
    void apply_fetched_crls() {
        if (services_.draining)
            return;
        auto const old = current_.load();
        std::shared_ptr<snapshot const> next;
        try {
            next = std::make_shared<snapshot const>(old->cfg, crls_.crls());
        } catch (std::exception const& e) {
            services_.metrics.count_reload(false);
            spdlog::error("the fetched CRLs are not used, the previous ones stay in force: {}",
                          e.what());
            return;
        }
        current_.store(next);
        services_.metrics.count_reload(true);
        spdlog::info("CRLs from listen.tls.crl_urls changed: re-checking open connections");
        revalidate_all(next);
    }

    // A refused reload that names a file outside the folders Landlock opened at start: say so,
    // since the file's own permissions would allow it.
    void explain_landlock(config::config const& old) const {
        if (!landlock_active())
            return;
        try {
            auto const next = config::load_config(old.source);
            if (auto const outside = outside_plan(file_plan_, next); !outside.empty())
                spdlog::error("  {} is outside the folders the gateway may read (Landlock, set at "
                              "start): folders added by a reload need a restart",
                              outside);
        } catch (std::exception const&) {
            // The config itself did not load: its own problems are already logged.
        }
    }

    static std::string crl_settings(config::tls_listener const& t) {
        std::string out = format_duration(t.crl_refresh) + " " + format_duration(t.crl_timeout);
        for (auto const& u : t.crl_urls)
            out += " " + u.url;
        return out;
    }

    static void warn_about_restart_only_changes(config::config const& a, config::config const& b) {
        auto addr = [](auto const& opt) {
            return opt ? opt->address : std::string("(none)");
        };
        auto path = [](auto const& opt) {
            return opt ? opt->path.string() + std::to_string(opt->mode) + opt->group
                       : std::string();
        };
        auto syslog = [](config::gateway_section const& g) {
            auto const& s = g.audit_syslog;
            return s ? s->url + '\n' + s->ca.string() + '\n' + std::to_string(s->facility) + '\n' +
                           std::to_string(s->queue)
                     : std::string();
        };
        if (addr(a.tls) != addr(b.tls) || addr(a.admin) != addr(b.admin) ||
            addr(a.ssh) != addr(b.ssh) || path(a.unix_socket) != path(b.unix_socket) ||
            a.gateway.workers != b.gateway.workers || a.gateway.audit_log != b.gateway.audit_log ||
            syslog(a.gateway) != syslog(b.gateway))
            spdlog::warn("reload: listeners, gateway.workers, gateway.audit_log and "
                         "gateway.audit_syslog* change on restart only");
        if (a.tls && b.tls && crl_settings(*a.tls) != crl_settings(*b.tls))
            spdlog::warn("reload: listen.tls.crl_urls, crl_refresh and crl_timeout change on "
                         "restart only (the fetches keep the settings they started with)");
    }

    void revalidate_all(std::shared_ptr<snapshot const> const& next) {
        for (auto& wp : workers_) {
            auto& w = *wp;
            asio::post(w.io, [&w, next] {
                // revalidate() may close and so unregister sessions: iterate over a copy.
                auto const sessions =
                    std::vector<session_handle*>(w.sessions.begin(), w.sessions.end());
                for (auto* s : sessions) {
                    if (w.sessions.count(s) != 0)
                        s->revalidate(next);
                }
            });
        }
    }

    void schedule_revalidation() {
        revalidate_timer_.expires_after(revalidation_period);
        revalidate_timer_.async_wait([this](error_code ec) {
            if (ec || services_.draining)
                return;
            revalidate_all(current_.load());
            schedule_revalidation();
        });
    }

    void schedule_upstream_sweep() {
        sweep_timer_.expires_after(upstream_sweep_period);
        sweep_timer_.async_wait([this](error_code ec) {
            if (ec || services_.draining)
                return;
            for_each_session([](session_handle& s) { s.sweep_upstream(); });
            schedule_upstream_sweep();
        });
    }

    template <class F>
    void for_each_session(F f) {
        for (auto& wp : workers_) {
            auto& w = *wp;
            asio::post(w.io, [&w, f] {
                auto const sessions =
                    std::vector<session_handle*>(w.sessions.begin(), w.sessions.end());
                for (auto* s : sessions) {
                    if (w.sessions.count(s) != 0)
                        f(*s);
                }
            });
        }
    }

    void begin_shutdown(int signo) {
        auto const snap = current_.load();
        spdlog::info("signal {}: no new connections; finishing requests in flight (up to {})",
                     signo, format_duration(snap->cfg->gateway.shutdown_timeout));
        services_.draining = true;
        error_code ec;
        tls_acceptor_.close(ec);
        ssh_acceptor_.close(ec);
        unix_acceptor_.close(ec);
        admin_acceptor_.close(ec);
        revalidate_timer_.cancel();
        sweep_timer_.cancel();
        crls_.stop();
        for_each_session([](session_handle& s) { s.drain(); });
        deadline_ = std::chrono::steady_clock::now() + snap->cfg->gateway.shutdown_timeout;
        poll_drained();
    }

    void poll_drained() {
        auto const open = services_.open_connections.load();
        if (open == 0) {
            main_io_.stop();
            return;
        }
        if (std::chrono::steady_clock::now() >= deadline_) {
            spdlog::warn("gateway.shutdown_timeout reached: closing {} connection(s)", open);
            for_each_session([](session_handle& s) { s.abort(); });
            // Give the aborts a moment to run before the loops stop.
            drain_timer_.expires_after(std::chrono::milliseconds(200));
            drain_timer_.async_wait([this](error_code) { main_io_.stop(); });
            return;
        }
        drain_timer_.expires_after(std::chrono::milliseconds(50));
        drain_timer_.async_wait([this](error_code ec) {
            if (!ec)
                poll_drained();
        });
    }

    asio::io_context main_io_{1};
    std::atomic<std::shared_ptr<snapshot const>> current_;
    audit::audit_log audit_;
    services services_;
    std::unique_ptr<audit::syslog_sender> syslog_; // gateway.audit_syslog, when set
    tcp::acceptor tls_acceptor_{main_io_};
    tcp::acceptor admin_acceptor_{main_io_};
    tcp::acceptor ssh_acceptor_{main_io_};
    std::unique_ptr<ssh::ssh_server> ssh_;
    asio::local::stream_protocol::acceptor unix_acceptor_{main_io_};
    std::filesystem::path unix_path_;
    asio::signal_set signals_;
    asio::steady_timer drain_timer_;
    asio::steady_timer revalidate_timer_;
    asio::steady_timer sweep_timer_;
    file_watcher watcher_;
    crl_fetcher crls_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::chrono::steady_clock::time_point deadline_;
    std::uint64_t refusals_ = 0;
    std::uint64_t rate_refusals_ = 0;
    file_access_plan file_plan_;
};

} // namespace

int run(std::shared_ptr<snapshot const> const& initial) {
    (void)std::signal(SIGPIPE, SIG_IGN);
    gateway_server server(initial);
    return server.run();
}

} // namespace dockgate::server
