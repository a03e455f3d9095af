#pragma once
// Fetches the CRLs of listen.tls.crl_urls over HTTP: once at start (before the gateway confines
// itself; the host names are resolved then and kept), then every listen.tls.crl_refresh, or
// just after a CRL's nextUpdate when that comes sooner. Each CRL is checked against the CA
// bundle in force before use; a failed fetch or a CRL that fails the check keeps the last good
// one, logs why and counts in the metrics. Runs on the server's main io_context.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "gateway/server/runtime.hpp"

namespace dockgate::server {

/// The most a CRL response may hold: a CA with a million revocations stays below this.
inline constexpr std::size_t crl_body_limit = 16 * 1024 * 1024;

class crl_fetcher {
public:
    using current_fn = std::function<std::shared_ptr<snapshot const>()>;
    /// `changed` is called on `io`'s thread when a fetch brought a CRL that differs from the one
    /// in hand (the caller builds and installs a snapshot with crls()).
    crl_fetcher(boost::asio::io_context& io, metrics& m, current_fn current,
                std::function<void()> changed);

    /// Resolves every URL's host and fetches each once, blocking. Throws std::runtime_error
    /// naming the URL when one has no good CRL: the gateway does not start without the CRLs it
    /// was told to use (the fail-closed choice).
    void fetch_at_start(config::tls_listener const& tls, snapshot const& start);

    /// Schedules the refreshes on `io`.
    void start();
    void stop();

    /// The last good CRL of every URL.
    std::vector<tls::fetched_crl> crls() const;

private:
    struct source {
        config::crl_url url;
        std::vector<boost::asio::ip::tcp::endpoint> endpoints;
        std::vector<tls::crl_ptr> crls;
        std::string der; // of the CRLs in hand, to tell a new CRL from the same one again
        std::unique_ptr<boost::asio::steady_timer> timer;
        bool stale_reported = false;
    };
    void schedule(source& s);
    void fetch(source& s);
    // Checks and keeps `body` as `s`'s CRL. Returns why it was not kept, or "" when it was.
    std::string accept(source& s, std::string const& body, snapshot const& current, bool& changed);
    void report_staleness(source& s);

    boost::asio::io_context& io_;
    metrics& metrics_;
    current_fn current_;
    std::function<void()> changed_;
    std::vector<std::unique_ptr<source>> sources_;
    duration refresh_{};
    duration timeout_{};
    bool stopped_ = false;
};

} // namespace dockgate::server
