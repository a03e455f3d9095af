#include "gateway/server/metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/engine_api/route_table.hpp"
#include "gateway/server/runtime.hpp"
#include "gateway/tls/tls_context.hpp"

namespace dockgate::server {

namespace {

constexpr std::array<std::string_view, 3> transports{"tls", "ssh", "unix"};
constexpr std::array<std::string_view, 9> failure_names{
    "no_certificate", "untrusted", "expired",      "revoked",  "timeout",
    "protocol",       "limit",     "rate_limited", "crl_stale"};

void append_label_value(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
}

double seconds_until(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t - std::chrono::system_clock::now()).count();
}

} // namespace

void latency_histogram::observe(std::chrono::steady_clock::duration d) noexcept {
    auto const seconds = std::chrono::duration<double>(d).count();
    auto const bucket = static_cast<std::size_t>(
        std::lower_bound(latency_buckets.begin(), latency_buckets.end(), seconds) -
        latency_buckets.begin());
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    sum_ns_.fetch_add(ns > 0 ? static_cast<std::uint64_t>(ns) : 0, std::memory_order_relaxed);
}

std::uint64_t latency_histogram::count() const noexcept {
    std::uint64_t n = 0;
    for (auto const& b : buckets_)
        n += b.load(std::memory_order_relaxed);
    return n;
}

void latency_histogram::render(std::string& out, std::string_view name,
                               std::string_view labels) const {
    // Read once: a scrape racing with observations still gets cumulative, monotonic buckets
    // whose +Inf equals _count.
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        out += name;
        out += "_bucket{";
        out += labels;
        out += ",le=\"";
        if (i < latency_buckets.size()) {
            char bound[32];
            auto const len = std::snprintf(bound, sizeof bound, "%g", latency_buckets[i]);
            out.append(bound, static_cast<std::size_t>(len));
        } else {
            out += "+Inf";
        }
        out += "\"} " + std::to_string(cumulative) + "\n";
    }
    char sum[48];
    auto const len =
        std::snprintf(sum, sizeof sum, "%.9f",
                      static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9);
    out += name;
    out += "_sum{";
    out += labels;
    out += "} ";
    out.append(sum, static_cast<std::size_t>(len));
    out += "\n";
    out += name;
    out += "_count{";
    out += labels;
    out += "} " + std::to_string(cumulative) + "\n";
}

metrics::metrics()
    : requests_(
          new std::array<std::atomic<std::uint64_t>,
                         decision_count>[engine_api::route_table::engine_api().operations().size() +
                                         1]())
    , request_latency_(
          new std::array<latency_histogram,
                         decision_count>[engine_api::route_table::engine_api().operations().size() +
                                         1]())
    , upstream_latency_(
          new latency_histogram[engine_api::route_table::engine_api().operations().size() + 1]())
    , operations_(engine_api::route_table::engine_api().operations().size()) {}

std::size_t metrics::row_of(std::string_view operation) const noexcept {
    auto const& ops = engine_api::route_table::engine_api().operations();
    if (!operation.empty()) {
        auto it = std::lower_bound(ops.begin(), ops.end(), operation);
        if (it != ops.end() && *it == operation)
            return static_cast<std::size_t>(it - ops.begin());
    }
    return operations_;
}

void metrics::count_request(std::string_view operation, policy::outcome decision,
                            std::chrono::steady_clock::duration elapsed) noexcept {
    auto const row = row_of(operation);
    auto const col = static_cast<std::size_t>(decision);
    requests_[row][col].fetch_add(1, std::memory_order_relaxed);
    request_latency_[row][col].observe(elapsed);
}

void metrics::observe_upstream(std::string_view operation,
                               std::chrono::steady_clock::duration elapsed) noexcept {
    upstream_latency_[row_of(operation)].observe(elapsed);
}

void metrics::count_limited(std::string_view user, std::string_view limit) {
    std::lock_guard lock(limited_mu_);
    ++limited_[{std::string(user), std::string(limit)}];
}

void metrics::crl_fetched(std::string const& url, std::chrono::system_clock::time_point when) {
    std::lock_guard lock(crl_mu_);
    crl_sources_[url].last_success = when;
}

void metrics::crl_fetch_failed(std::string const& url) {
    std::lock_guard lock(crl_mu_);
    ++crl_sources_[url].failures;
}

void metrics::crl_stale(std::string const& url, bool stale) {
    std::lock_guard lock(crl_mu_);
    crl_sources_[url].stale = stale;
}

void metrics::render_crl_sources(std::string& out) const {
    std::lock_guard lock(crl_mu_);
    if (crl_sources_.empty())
        return;
    auto rows = [&](char const* name, char const* type, char const* help, auto value) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
        for (auto const& [url, s] : crl_sources_) {
            auto const v = value(s);
            if (!v)
                continue;
            out += std::string(name) + "{url=\"";
            append_label_value(out, url);
            out += "\"} " + std::to_string(*v) + "\n";
        }
    };
    using row = std::optional<long long>;
    rows("dockgate_crl_fetch_failures_total", "counter",
         "Failed fetches of each listen.tls.crl_urls entry (unreachable, HTTP error, not a CRL, "
         "or not signed by a CA in listen.tls.ca).",
         [](crl_source_state const& s) { return row(static_cast<long long>(s.failures)); });
    rows("dockgate_crl_last_success_timestamp_seconds", "gauge",
         "Unix time of the last good CRL fetched from each URL.", [](crl_source_state const& s) {
             return s.last_success ? row(std::chrono::duration_cast<std::chrono::seconds>(
                                             s.last_success->time_since_epoch())
                                             .count())
                                   : row();
         });
    rows("dockgate_crl_stale", "gauge",
         "1 when the CRL in hand from a URL is past its nextUpdate (see listen.tls.crl_stale).",
         [](crl_source_state const& s) { return row(s.stale ? 1 : 0); });
}

std::string metrics::render(snapshot const& current) const {
    std::string out;
    out.reserve(8192);
    auto const& ops = engine_api::route_table::engine_api().operations();
    out += "# HELP dockgate_requests_total Requests by Engine API operation and policy decision.\n"
           "# TYPE dockgate_requests_total counter\n";
    for (std::size_t row = 0; row <= operations_; ++row) {
        for (std::size_t col = 0; col < decision_count; ++col) {
            auto const n = requests_[row][col].load(std::memory_order_relaxed);
            if (n == 0)
                continue;
            out += "dockgate_requests_total{operation=\"";
            append_label_value(out, row < operations_ ? ops[row] : std::string_view("none"));
            out += "\",decision=\"";
            out += policy::outcome_name(static_cast<policy::outcome>(col));
            out += "\"} " + std::to_string(n) + "\n";
        }
    }
    out += "# HELP dockgate_request_duration_seconds Time from a request's arrival to its audit "
           "line, by Engine API operation and policy decision (streams count until they end).\n"
           "# TYPE dockgate_request_duration_seconds histogram\n";
    for (std::size_t row = 0; row <= operations_; ++row) {
        for (std::size_t col = 0; col < decision_count; ++col) {
            auto const& h = request_latency_[row][col];
            if (h.count() == 0)
                continue;
            std::string labels = "operation=\"";
            append_label_value(labels, row < operations_ ? ops[row] : std::string_view("none"));
            labels += "\",decision=\"";
            labels += policy::outcome_name(static_cast<policy::outcome>(col));
            labels += '"';
            h.render(out, "dockgate_request_duration_seconds", labels);
        }
    }
    out += "# HELP dockgate_upstream_response_seconds Time the Docker daemon took to send the "
           "response head of a forwarded request, by Engine API operation.\n"
           "# TYPE dockgate_upstream_response_seconds histogram\n";
    for (std::size_t row = 0; row <= operations_; ++row) {
        auto const& h = upstream_latency_[row];
        if (h.count() == 0)
            continue;
        std::string labels = "operation=\"";
        append_label_value(labels, row < operations_ ? ops[row] : std::string_view("none"));
        labels += '"';
        h.render(out, "dockgate_upstream_response_seconds", labels);
    }
    out += "# HELP dockgate_open_connections Client connections open now, by transport.\n"
           "# TYPE dockgate_open_connections gauge\n";
    for (std::size_t t = 0; t < transports.size(); ++t)
        out += "dockgate_open_connections{transport=\"" + std::string(transports[t]) + "\"} " +
               std::to_string(open_[t].load(std::memory_order_relaxed)) + "\n";
    out += "# HELP dockgate_handshake_failures_total Failed handshakes by reason.\n"
           "# TYPE dockgate_handshake_failures_total counter\n";
    for (std::size_t f = 0; f < failure_names.size(); ++f)
        out += "dockgate_handshake_failures_total{reason=\"" + std::string(failure_names[f]) +
               "\"} " + std::to_string(handshake_failures_[f].load(std::memory_order_relaxed)) +
               "\n";
    {
        std::lock_guard lock(limited_mu_);
        out += "# HELP dockgate_limited_total Requests and connections refused by a per-user "
               "limit, by user and limit.\n"
               "# TYPE dockgate_limited_total counter\n";
        for (auto const& [key, n] : limited_) {
            out += "dockgate_limited_total{user=\"";
            append_label_value(out, key.first);
            out += "\",limit=\"" + key.second + "\"} " + std::to_string(n) + "\n";
        }
    }
    out += "# HELP dockgate_reloads_total Configuration and certificate reloads applied.\n"
           "# TYPE dockgate_reloads_total counter\n"
           "dockgate_reloads_total " +
           std::to_string(reloads_.load()) + "\n";
    out += "# HELP dockgate_reload_failures_total Reloads refused (the previous snapshot stayed in "
           "force).\n"
           "# TYPE dockgate_reload_failures_total counter\n"
           "dockgate_reload_failures_total " +
           std::to_string(reload_failures_.load()) + "\n";
    if (current.cfg->gateway.audit_syslog) {
        auto const value = [](auto const& a) {
            return std::to_string(a.load()) + "\n";
        };
        out += "# HELP dockgate_audit_syslog_dropped_total Audit records not sent to "
               "gateway.audit_syslog because its queue was full (the audit file has them).\n"
               "# TYPE dockgate_audit_syslog_dropped_total counter\n"
               "dockgate_audit_syslog_dropped_total " +
               value(syslog.dropped);
        out += "# HELP dockgate_audit_syslog_sent_total Audit records handed to the syslog "
               "collector's socket.\n"
               "# TYPE dockgate_audit_syslog_sent_total counter\n"
               "dockgate_audit_syslog_sent_total " +
               value(syslog.sent);
        out += "# HELP dockgate_audit_syslog_truncated_total Datagrams cut to 8192 octets.\n"
               "# TYPE dockgate_audit_syslog_truncated_total counter\n"
               "dockgate_audit_syslog_truncated_total " +
               value(syslog.truncated);
        out += "# HELP dockgate_audit_syslog_queued Audit records waiting for the collector.\n"
               "# TYPE dockgate_audit_syslog_queued gauge\n"
               "dockgate_audit_syslog_queued " +
               value(syslog.queued);
        out += "# HELP dockgate_audit_syslog_connected 1 while the collector is connected.\n"
               "# TYPE dockgate_audit_syslog_connected gauge\n"
               "dockgate_audit_syslog_connected " +
               value(syslog.connected);
    }
    render_crl_sources(out);
    if (current.tls) {
        auto const& m = *current.tls;
        out += "# HELP dockgate_server_certificate_expiry_seconds Seconds until the server "
               "certificate expires.\n"
               "# TYPE dockgate_server_certificate_expiry_seconds gauge\n"
               "dockgate_server_certificate_expiry_seconds " +
               std::to_string(seconds_until(m.server_not_after)) + "\n";
        out += "# HELP dockgate_ca_certificate_expiry_seconds Seconds until each trusted CA "
               "certificate expires.\n"
               "# TYPE dockgate_ca_certificate_expiry_seconds gauge\n";
        for (auto const& ca : m.cas) {
            out += "dockgate_ca_certificate_expiry_seconds{subject=\"";
            append_label_value(out, ca.subject);
            out += "\"} " + std::to_string(seconds_until(ca.not_after)) + "\n";
        }
        if (m.crl_next_update)
            out += "# HELP dockgate_crl_next_update_seconds Seconds until the earliest CRL "
                   "nextUpdate.\n"
                   "# TYPE dockgate_crl_next_update_seconds gauge\n"
                   "dockgate_crl_next_update_seconds " +
                   std::to_string(seconds_until(*m.crl_next_update)) + "\n";
    }
    return out;
}

} // namespace dockgate::server
