#pragma once
// Counters for /metrics. Written from every worker thread with relaxed atomic increments (no
// locks on the data path); read by the admin listener when scraped.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/policy/outcome.hpp"

namespace dockgate::server {

struct snapshot;

enum class transport : std::size_t { tls, ssh, unix_socket, count_ };
enum class handshake_failure : std::size_t {
    no_certificate,
    untrusted,
    expired,
    revoked,
    timeout,
    protocol,
    limit,        // refused before the handshake: too many from one address
    rate_limited, // limits.handshakes_per_ip: closed before any TLS or SSH work
    crl_stale,    // the CRL of the client's CA is past nextUpdate (listen.tls.crl_stale)
    count_
};

class metrics {
public:
    metrics();

    /// `operation` is an operationId or "" (request refused before routing).
    void count_request(std::string_view operation, policy::outcome decision) noexcept;
    void count_handshake_failure(handshake_failure why) noexcept {
        handshake_failures_[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
    }
    void opened(transport t) noexcept {
        open_[static_cast<std::size_t>(t)].fetch_add(1, std::memory_order_relaxed);
    }
    void closed(transport t) noexcept {
        open_[static_cast<std::size_t>(t)].fetch_sub(1, std::memory_order_relaxed);
    }
    /// A request or connection refused by a per-user limit (limits::limit_key names it). Rare:
    /// takes a lock. One row per user that was ever limited.
    void count_limited(std::string_view user, std::string_view limit);
    void count_reload(bool ok) noexcept {
        (ok ? reloads_ : reload_failures_).fetch_add(1, std::memory_order_relaxed);
    }

    /// One fetch of a listen.tls.crl_urls entry: a good, verified CRL (at `when`) or a failure.
    /// Rare: takes a lock.
    void crl_fetched(std::string const& url, std::chrono::system_clock::time_point when);
    void crl_fetch_failed(std::string const& url);
    /// Whether the CRL in hand for `url` is past its nextUpdate.
    void crl_stale(std::string const& url, bool stale);

    /// Prometheus text exposition format; expiry gauges come from the snapshot in force.
    std::string render(snapshot const& current) const;

private:
    static constexpr std::size_t decision_count = policy::outcome_count;
    // One row per operationId of the route table, plus a last row for "" (unrouted).
    std::unique_ptr<std::array<std::atomic<std::uint64_t>, decision_count>[]> requests_;
    std::size_t operations_;
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(handshake_failure::count_)>
        handshake_failures_{};
    std::array<std::atomic<std::int64_t>, static_cast<std::size_t>(transport::count_)> open_{};
    mutable std::mutex limited_mu_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> limited_;
    void render_crl_sources(std::string& out) const;
    struct crl_source_state {
        std::uint64_t failures = 0;
        std::optional<std::chrono::system_clock::time_point> last_success;
        bool stale = false;
    };
    mutable std::mutex crl_mu_;
    std::map<std::string, crl_source_state> crl_sources_;
    std::atomic<std::uint64_t> reloads_{0};
    std::atomic<std::uint64_t> reload_failures_{0};
};

} // namespace dockgate::server
