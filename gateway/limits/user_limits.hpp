#pragma once
// Abuse limits per identity (the user after mapping) and per source address: open connections,
// requests in progress, a token bucket of requests per second, and new handshakes per address.
// Shared by every worker thread; each call takes one short lock.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"

namespace dockgate::limits {

using clock = std::chrono::steady_clock;

/// The limits for a user holding `roles` (names, as policy_engine::roles_of gives them): for each
/// limit the most generous value among the roles, a role without its own value counting as
/// [limits]. A rate of 0 (no limit) is the most generous rate.
config::per_user_limits limits_for(config::config const& cfg,
                                   std::vector<std::string> const& roles);

enum class limit_kind : unsigned char { connections, inflight, rate };

/// "per_user_connections", "per_user_inflight" or "per_user_rate": the config key.
std::string_view limit_key(limit_kind k) noexcept;

/// A refusal: which limit, its value, and when to try again.
struct refusal {
    limit_kind which;
    double limit;
    std::chrono::seconds retry_after;
};

/// A token bucket: `rate` tokens per second up to `burst`, starting full.
class token_bucket {
public:
    /// Takes one token; when there is none, the time until there will be one.
    std::optional<clock::duration> take(double rate, double burst, clock::time_point now);
    /// True when the bucket would be full at `now` (its state can be forgotten).
    bool full_at(double rate, double burst, clock::time_point now) const;

private:
    double tokens_ = -1; // < 0: not used yet (full)
    clock::time_point at_{};
};

/// Connection, in-flight and rate accounting per user.
class user_limiter {
public:
    /// A new connection (or SSH channel) of `user`; counted unless refused.
    std::optional<refusal> open_connection(std::string const& user,
                                           config::per_user_limits const& l);
    void close_connection(std::string const& user);

    /// A request of `user` starts; counted in flight unless refused. `now` for tests.
    std::optional<refusal> begin_request(std::string const& user, config::per_user_limits const& l,
                                         clock::time_point now = clock::now());
    void end_request(std::string const& user);

    /// Users with state held (for tests and bounds).
    std::size_t tracked_users() const;

private:
    struct entry {
        std::uint64_t connections = 0;
        std::uint64_t inflight = 0;
        token_bucket bucket;
        double rate = 0, burst = 0; // as last used, to know when the bucket is full again
    };
    void forget_idle(clock::time_point now);

    mutable std::mutex mu_;
    std::unordered_map<std::string, entry> users_;
    std::size_t prune_at_ = 1024;
};

/// New connections per source address: `per_second` a second, twice that in a burst. Bounded:
/// addresses whose bucket is full again are forgotten.
class address_limiter {
public:
    /// True when a new connection from `address` may proceed.
    bool admit(std::string const& address, std::uint64_t per_second,
               clock::time_point now = clock::now());
    std::size_t tracked_addresses() const;

private:
    mutable std::mutex mu_;
    std::unordered_map<std::string, token_bucket> addresses_;
    std::size_t prune_at_ = 4096;
};

} // namespace dockgate::limits
