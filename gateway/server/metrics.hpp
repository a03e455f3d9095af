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

/// Upper bounds, in seconds, of the latency histograms' buckets (Prometheus `le`), besides +Inf:
/// from a cached `/_ping` to a slow image pull.
inline constexpr std::array<double, 16> latency_buckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

/// One latency histogram: lock-free, one relaxed increment per bucket hit and one for the sum.
class latency_histogram {
public:
    void observe(std::chrono::steady_clock::duration d) noexcept;
    std::uint64_t count() const noexcept;
    /// Appends the `_bucket`, `_sum` and `_count` lines of `name` with `labels` ("a=\"x\"").
    void render(std::string& out, std::string_view name, std::string_view labels) const;

private:
    // Per bucket, not cumulative (the last is +Inf); cumulated when rendered.
    std::array<std::atomic<std::uint64_t>, latency_buckets.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

/// gateway.audit_syslog's sender: written by its thread (queued also by request threads).
struct syslog_counters {
    std::atomic<std::uint64_t> sent{0};      // messages the collector's socket accepted
    std::atomic<std::uint64_t> dropped{0};   // records that found the queue full
    std::atomic<std::uint64_t> truncated{0}; // datagrams cut to audit::max_datagram
    std::atomic<std::int64_t> queued{0};     // records waiting now
    std::atomic<int> connected{0};           // 1 while the sender holds a connection
};

class metrics {
public:
    metrics();

    /// `operation` is an operationId or "" (request refused before routing); `elapsed` runs from
    /// the request's arrival to its audit line (the response sent, or the connection closed).
    void count_request(std::string_view operation, policy::outcome decision,
                       std::chrono::steady_clock::duration elapsed) noexcept;
    /// How long the daemon took to send the response head of a forwarded request, from the
    /// moment the request head was written to it.
    void observe_upstream(std::string_view operation,
                          std::chrono::steady_clock::duration elapsed) noexcept;
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

    syslog_counters syslog;
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
    std::size_t row_of(std::string_view operation) const noexcept;
    // One row per operationId of the route table, plus a last row for "" (unrouted).
    std::unique_ptr<std::array<std::atomic<std::uint64_t>, decision_count>[]> requests_;
    std::unique_ptr<std::array<latency_histogram, decision_count>[]> request_latency_;
    std::unique_ptr<latency_histogram[]> upstream_latency_;
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
