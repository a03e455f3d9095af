#include "gateway/server/metrics.hpp"

#include <algorithm>
#include <chrono>

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
