#pragma once
// What every session shares: the immutable snapshot of config, policy and TLS material, and
// the services that outlive sessions (audit log, metrics, connection ids, session registry).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_set>

#include "config/config.hpp"
#include "gateway/audit/audit_log.hpp"
#include "gateway/limits/user_limits.hpp"
#include "gateway/policy/policy_engine.hpp"
#include "gateway/server/metrics.hpp"
#include "gateway/ssh/ssh_material.hpp"
#include "gateway/tls/tls_context.hpp"

namespace dockgate::server {

/// One consistent view of the configuration. Built whole on startup and on every reload,
/// validated before use, then swapped in atomically; never modified.
struct snapshot {
    /// `crls`: the CRLs last fetched from listen.tls.crl_urls.
    explicit snapshot(std::shared_ptr<config::config const> c,
                      std::vector<tls::fetched_crl> const& crls = {});
    std::shared_ptr<config::config const> cfg;
    policy::policy_engine policy;
    std::shared_ptr<tls::tls_material const> tls; // null when there is no TLS listener
    std::shared_ptr<ssh::ssh_material const> ssh; // null when there is no SSH listener
};

/// Loads a config file and everything it names into a new snapshot. Throws config_error or
/// std::runtime_error naming the key and the problem.
std::shared_ptr<snapshot const> load_snapshot(std::filesystem::path const& file,
                                              std::vector<tls::fetched_crl> const& crls = {});

/// A live connection, as the server sees it. Called on the session's own thread.
class session_handle {
public:
    virtual ~session_handle() = default;
    /// Stop after the request in flight (or now, when idle between requests).
    virtual void drain() = 0;
    /// Close at once.
    virtual void abort() = 0;
    /// A new snapshot is in force: close if the caller's credential or roles no longer hold
    /// under it, else use it for the next requests.
    virtual void revalidate(std::shared_ptr<snapshot const> next) = 0;
    /// Called every upstream_sweep_period: a connection that was idle between requests at the
    /// previous call and still is closes its daemon connection (the next request opens one).
    virtual void sweep_upstream() = 0;
};

/// How often idle sessions are asked to give their daemon connections back: each idle client
/// would otherwise hold a connection, two descriptors and ~19 KiB in dockerd.
inline constexpr auto upstream_sweep_period = std::chrono::seconds(5);

/// Sessions of one worker thread; touched only from that thread.
using session_registry = std::unordered_set<session_handle*>;

struct services {
    audit::audit_log* audit = nullptr;
    server::metrics metrics;
    std::atomic<std::uint64_t> next_connection_id{1};
    std::atomic<std::uint64_t> open_connections{0};
    std::atomic<bool> draining{false};
    limits::user_limiter users;        // per-user connections, requests in flight and rate
    limits::address_limiter addresses; // new TLS/SSH connections per source address
};

} // namespace dockgate::server
