#include "gateway/server/metrics.hpp"

#include <algorithm>
#include <chrono>

#include "common/engine_api/route_table.hpp"
#include "gateway/server/runtime.hpp"
#include "gateway/tls/tls_context.hpp"

namespace dockgate::server {

namespace {

constexpr std::array<std::string_view, 3> transports{"tls", "ssh", "unix"};
constexpr std::array<std::string_view, 8> failure_names{"no_certificate", "untrusted",   "expired",
                                                        "revoked",        "timeout",     "protocol",
                                                        "limit",          "rate_limited"};

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

metrics::metrics()
    : requests_(
          new std::array<std::atomic<std::uint64_t>,
                         decision_count>[engine_api::route_table::engine_api().operations().size() +
                                         1]())
    , operations_(engine_api::route_table::engine_api().operations().size()) {}

void metrics::count_request(std::string_view operation, policy::outcome decision) noexcept {
    auto const& ops = engine_api::route_table::engine_api().operations();
    std::size_t row = operations_;
    if (!operation.empty()) {
        auto it = std::lower_bound(ops.begin(), ops.end(), operation);
        if (it != ops.end() && *it == operation)
            row = static_cast<std::size_t>(it - ops.begin());
    }
    auto const col = static_cast<std::size_t>(decision);
    requests_[row][col].fetch_add(1, std::memory_order_relaxed);
}

void metrics::count_limited(std::string_view user, std::string_view limit) {
    std::lock_guard lock(limited_mu_);
    ++limited_[{std::string(user), std::string(limit)}];
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
