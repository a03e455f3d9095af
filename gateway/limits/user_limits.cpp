#include "gateway/limits/user_limits.hpp"

#include <algorithm>
#include <cmath>

namespace dockgate::limits {

namespace {

double burst_of(double rate, double burst) {
    return burst > 0 ? burst : std::max(1.0, rate);
}

std::chrono::seconds whole_seconds(clock::duration d) {
    auto const s = std::chrono::ceil<std::chrono::seconds>(d);
    return std::max(s, std::chrono::seconds(1));
}

} // namespace

config::per_user_limits limits_for(config::config const& cfg,
                                   std::vector<std::string> const& roles) {
    auto const& base = cfg.limits.per_user;
    config::per_user_limits out;
    bool any = false;
    for (auto const& r : cfg.roles) {
        if (std::find(roles.begin(), roles.end(), r.name) == roles.end())
            continue;
        auto const connections = r.limit_connections.value_or(base.connections);
        auto const inflight = r.limit_inflight.value_or(base.inflight);
        auto const rate = r.limit_rate.value_or(base.rate);
        auto const burst = r.limit_burst.value_or(base.burst);
        if (!any) {
            out = {connections, inflight, rate, burst};
            any = true;
            continue;
        }
        out.connections = std::max(out.connections, connections);
        out.inflight = std::max(out.inflight, inflight);
        // 0 is "no rate limit": the most generous.
        out.rate = (out.rate == 0 || rate == 0) ? 0 : std::max(out.rate, rate);
        out.burst = std::max(burst_of(out.rate, out.burst), burst_of(rate, burst));
    }
    return any ? out : base;
}

std::string_view limit_key(limit_kind k) noexcept {
    switch (k) {
    case limit_kind::connections:
        return "per_user_connections";
    case limit_kind::inflight:
        return "per_user_inflight";
    case limit_kind::rate:
        return "per_user_rate";
    }
    return "";
}

std::optional<clock::duration> token_bucket::take(double rate, double burst,
                                                  clock::time_point now) {
    double const size = burst_of(rate, burst);
    if (tokens_ < 0) {
        tokens_ = size;
    } else {
        double const elapsed = std::chrono::duration<double>(now - at_).count();
        tokens_ = std::min(size, tokens_ + std::max(0.0, elapsed) * rate);
    }
    at_ = now;
    if (tokens_ >= 1) {
        tokens_ -= 1;
        return std::nullopt;
    }
    return std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>((1 - tokens_) / rate));
}

bool token_bucket::full_at(double rate, double burst, clock::time_point now) const {
    if (tokens_ < 0)
        return true;
    double const elapsed = std::chrono::duration<double>(now - at_).count();
    return tokens_ + std::max(0.0, elapsed) * rate >= burst_of(rate, burst);
}

std::optional<refusal> user_limiter::open_connection(std::string const& user,
                                                     config::per_user_limits const& l) {
    std::lock_guard lock(mu_);
    auto& e = users_[user];
    if (e.connections >= l.connections)
        return refusal{limit_kind::connections, static_cast<double>(l.connections),
                       std::chrono::seconds(1)};
    ++e.connections;
    if (users_.size() >= prune_at_)
        forget_idle(clock::now());
    return std::nullopt;
}

void user_limiter::close_connection(std::string const& user) {
    std::lock_guard lock(mu_);
    auto it = users_.find(user);
    if (it == users_.end())
        return;
    if (it->second.connections > 0)
        --it->second.connections;
    if (it->second.connections == 0 && it->second.inflight == 0 &&
        it->second.bucket.full_at(it->second.rate, it->second.burst, clock::now()))
        users_.erase(it);
}

std::optional<refusal> user_limiter::begin_request(std::string const& user,
                                                   config::per_user_limits const& l,
                                                   clock::time_point now) {
    std::lock_guard lock(mu_);
    auto& e = users_[user];
    if (e.inflight >= l.inflight)
        return refusal{limit_kind::inflight, static_cast<double>(l.inflight),
                       std::chrono::seconds(1)};
    if (l.rate > 0) {
        e.rate = l.rate;
        e.burst = l.burst;
        if (auto wait = e.bucket.take(l.rate, l.burst, now))
            return refusal{limit_kind::rate, l.rate, whole_seconds(*wait)};
    }
    ++e.inflight;
    return std::nullopt;
}

void user_limiter::end_request(std::string const& user) {
    std::lock_guard lock(mu_);
    auto it = users_.find(user);
    if (it != users_.end() && it->second.inflight > 0)
        --it->second.inflight;
}

std::size_t user_limiter::tracked_users() const {
    std::lock_guard lock(mu_);
    return users_.size();
}

void user_limiter::forget_idle(clock::time_point now) {
    std::erase_if(users_, [now](auto const& kv) {
        auto const& e = kv.second;
        return e.connections == 0 && e.inflight == 0 && e.bucket.full_at(e.rate, e.burst, now);
    });
    prune_at_ = std::max<std::size_t>(1024, users_.size() * 2);
}

bool address_limiter::admit(std::string const& address, std::uint64_t per_second,
                            clock::time_point now) {
    if (per_second == 0)
        return true;
    double const rate = static_cast<double>(per_second);
    std::lock_guard lock(mu_);
    if (addresses_.size() >= prune_at_) {
        std::erase_if(addresses_,
                      [&](auto const& kv) { return kv.second.full_at(rate, 2 * rate, now); });
        prune_at_ = std::max<std::size_t>(4096, addresses_.size() * 2);
    }
    return !addresses_[address].take(rate, 2 * rate, now).has_value();
}

std::size_t address_limiter::tracked_addresses() const {
    std::lock_guard lock(mu_);
    return addresses_.size();
}

} // namespace dockgate::limits
