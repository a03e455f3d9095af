#pragma once
// Counters for /metrics. Written from every worker thread with relaxed atomic increments (no
// locks on the data path); read by the admin listener when scraped.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
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
    count_
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

    syslog_counters syslog;

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
    std::atomic<std::uint64_t> reloads_{0};
    std::atomic<std::uint64_t> reload_failures_{0};
};

} // namespace dockgate::server
