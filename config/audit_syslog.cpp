// Reads gateway.audit_syslog and its companion keys: where a copy of the audit trail goes
// (a unix datagram socket, UDP, TCP or TLS to a syslog collector), the facility, the CA that
// vouches for a TLS collector and the bound on records held while the collector is away.

#include <algorithm>
#include <array>

#include <toml++/toml.h>

#include "config/config.hpp"
#include "config/toml_reader.hpp"

namespace dockgate::config::detail {

namespace {

using kind = audit_syslog_target::kind;

constexpr std::array<std::pair<std::string_view, unsigned>, 14> facilities{{{"user", 1},
                                                                            {"daemon", 3},
                                                                            {"auth", 4},
                                                                            {"authpriv", 10},
                                                                            {"local0", 16},
                                                                            {"local1", 17},
                                                                            {"local2", 18},
                                                                            {"local3", 19},
                                                                            {"local4", 20},
                                                                            {"local5", 21},
                                                                            {"local6", 22},
                                                                            {"local7", 23},
                                                                            {"security", 13},
                                                                            {"audit", 13}}};

constexpr std::array<std::pair<std::string_view, kind>, 4> schemes{{{"unix://", kind::unix_socket},
                                                                    {"udp://", kind::udp},
                                                                    {"tcp://", kind::tcp},
                                                                    {"tls://", kind::tls}}};

constexpr char const* forms = "write \"unix:///dev/log\", \"udp://HOST:514\", "
                              "\"tcp://HOST:601\" or \"tls://HOST:6514\"";

std::optional<audit_syslog_target> parse_target(reader& r, toml::node const* at,
                                                std::string const& url) {
    constexpr char const* key = "gateway.audit_syslog";
    auto const scheme = std::find_if(schemes.begin(), schemes.end(),
                                     [&](auto const& s) { return url.rfind(s.first, 0) == 0; });
    if (scheme == schemes.end()) {
        r.problem(at, key, "\"" + url + "\" has no known scheme (" + forms + ")");
        return std::nullopt;
    }
    audit_syslog_target t;
    t.url = url;
    t.transport = scheme->second;
    auto const rest = url.substr(scheme->first.size());
    if (t.transport == kind::unix_socket) {
        if (rest.empty() || rest.front() != '/') {
            r.problem(at, key,
                      "\"" + url +
                          "\" does not name an absolute socket path (write "
                          "\"unix:///dev/log\")");
            return std::nullopt;
        }
        t.path = rest;
        return t;
    }
    if (rest.find('/') != std::string::npos || rest.find('@') != std::string::npos) {
        r.problem(at, key, "\"" + url + "\": only HOST:PORT may follow the scheme (" + forms + ")");
        return std::nullopt;
    }
    auto const hp = split_address(rest);
    if (!hp || hp->first.empty() || hp->second == 0) {
        auto const port = t.transport == kind::udp   ? "514"
                          : t.transport == kind::tcp ? "601"
                                                     : "6514";
        r.problem(at, key,
                  "\"" + url + "\" needs a host and a port (write e.g. \"" +
                      std::string(scheme->first) + (rest.empty() ? "HOST" : rest) + ":" + port +
                      "\")");
        return std::nullopt;
    }
    t.host = hp->first;
    t.port = hp->second;
    return t;
}

} // namespace

void read_audit_syslog(reader& r, toml::table const& gateway, gateway_section& out) {
    auto const url = r.string(gateway, "gateway", "audit_syslog");
    if (url)
        out.audit_syslog = parse_target(r, gateway.get("audit_syslog"), *url);
    auto const requires_target = [&](char const* name) {
        if (gateway.get(name) != nullptr && gateway.get("audit_syslog") == nullptr)
            r.problem(gateway.get(name), std::string("gateway.") + name,
                      "set without gateway.audit_syslog (add audit_syslog = \"tls://HOST:6514\" "
                      "or remove it)");
    };
    for (char const* name : {"audit_syslog_ca", "audit_syslog_facility", "audit_syslog_queue"})
        requires_target(name);
    if (gateway.get("audit_syslog_ca") != nullptr && out.audit_syslog &&
        out.audit_syslog->transport != kind::tls)
        r.problem(gateway.get("audit_syslog_ca"), "gateway.audit_syslog_ca",
                  "only a tls:// collector has a certificate to check (remove it, or make "
                  "gateway.audit_syslog \"tls://HOST:6514\")");
    else if (auto ca = r.file(gateway, "gateway", "audit_syslog_ca", false); ca && out.audit_syslog)
        out.audit_syslog->ca = *ca;
    if (auto f = r.string(gateway, "gateway", "audit_syslog_facility")) {
        auto const it = std::find_if(facilities.begin(), facilities.end(),
                                     [&](auto const& e) { return e.first == *f; });
        if (it == facilities.end())
            r.problem(gateway.get("audit_syslog_facility"), "gateway.audit_syslog_facility",
                      "unknown facility \"" + *f +
                          "\" (use authpriv, auth, daemon, user, security or local0..local7)");
        else if (out.audit_syslog)
            out.audit_syslog->facility = it->second;
    }
    if (auto q = r.integer(gateway, "gateway", "audit_syslog_queue", 1, 1000000);
        q && out.audit_syslog)
        out.audit_syslog->queue = static_cast<std::size_t>(*q);
}

} // namespace dockgate::config::detail

namespace dockgate::config {

std::string_view syslog_facility_name(unsigned facility) {
    for (auto const& [name, code] : detail::facilities) {
        if (code == facility)
            return name;
    }
    return "user";
}

} // namespace dockgate::config
