#pragma once
// What every session shares: the immutable snapshot of config and policy, and the services
// that outlive sessions (audit log, connection ids, per-worker session registry).

#include "config/config.hpp"
#include "gateway/audit/audit_log.hpp"
#include "gateway/policy/policy_engine.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_set>

namespace dockgate::server {

struct snapshot {
    explicit snapshot(std::shared_ptr<config::config const> c) : cfg(std::move(c)), policy(*cfg) {}
    std::shared_ptr<config::config const> cfg;
    policy::policy_engine policy;
};

/// A live connection, as the server sees it for draining. Called on the session's own thread.
class session_handle {
public:
    virtual ~session_handle() = default;
    /// Stop after the request in flight (or now, when idle between requests).
    virtual void drain() = 0;
    /// Close at once.
    virtual void abort() = 0;
};

/// Sessions of one worker thread; touched only from that thread.
using session_registry = std::unordered_set<session_handle*>;

struct services {
    audit::audit_log* audit = nullptr;
    std::atomic<std::uint64_t> next_connection_id{1};
    std::atomic<std::uint64_t> open_connections{0};
    std::atomic<bool> draining{false};
};

} // namespace dockgate::server
