// dockgate: a mutual-TLS gateway in front of the Docker daemon with per-role policy.

#include <fstream>
#include <iostream>
#include <malloc.h>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/logging.hpp"
#include "config/config.hpp"
#include "gateway/explain.hpp"
#include "gateway/learn/learner.hpp"
#include "gateway/server/confinement.hpp"
#include "gateway/server/daemon_lookup.hpp"
#include "gateway/server/server.hpp"

namespace {

using namespace dockgate;

std::string join(std::vector<std::string> const& items) {
    std::string out;
    for (auto const& i : items)
        out += (out.empty() ? "" : ", ") + i;
    return out;
}

// Loads the config and everything it points at (TLS material included), printing problems.
std::shared_ptr<server::snapshot const> load_checked(std::string const& file) {
    try {
        return server::load_snapshot(file);
    } catch (config::config_error const& e) {
        for (auto const& p : e.problems())
            std::cerr << "config: " << p << '\n';
        std::cerr << e.problems().size() << " problem(s) in " << file << '\n';
    } catch (std::exception const& e) {
        std::cerr << "config: " << file << ": " << e.what() << '\n';
    }
    return nullptr;
}

int check_config(std::string const& file) {
    auto snap = load_checked(file);
    if (!snap)
        return 1;
    auto const& cfg = snap->cfg;
    std::cout << file << ": OK\n";
    std::cout << "upstream: unix://" << cfg->gateway.upstream_socket.string() << '\n';
    if (cfg->tls)
        std::cout << "listener: tls " << cfg->tls->address << " (ca " << cfg->tls->ca.string()
                  << (cfg->tls->crl ? ", crl " + cfg->tls->crl->string() : std::string(", no CRL"))
                  << ")\n";
    if (auto const& s = cfg->gateway.audit_syslog)
        std::cout << "audit syslog: " << s->url << " (facility "
                  << config::syslog_facility_name(s->facility) << ", queue " << s->queue
                  << (s->transport == config::audit_syslog_target::kind::tls
                          ? ", CA " +
                                (s->ca.empty() ? std::string("system trust store") : s->ca.string())
                          : std::string())
                  << ")\n";
    if (cfg->tls && !cfg->tls->crl_urls.empty()) {
        auto const& t = *cfg->tls;
        std::cout << "crl_urls: refresh " << format_duration(t.crl_refresh) << ", timeout "
                  << format_duration(t.crl_timeout) << ", stale "
                  << (t.crl_stale == config::crl_stale_policy::allow ? "allow" : "refuse") << '\n';
        for (auto const& u : t.crl_urls)
            std::cout << "  " << u.url << '\n';
    }
    if (cfg->admin)
        std::cout << "admin: http://" << cfg->admin->address << " (/healthz, /metrics)\n";
    std::cout << "workers: " << cfg->gateway.workers
              << ", max_connections: " << cfg->limits.max_connections << '\n';
    for (auto const& r : cfg->roles) {
        std::vector<std::string> subjects;
        for (auto const& s : r.subjects)
            subjects.push_back((s.type == config::subject::kind::user ? "user:" : "group:") +
                               s.name);
        std::cout << "role " << r.name
                  << (r.mode == config::role_mode::audit ? " (audit mode)" : "") << ": subjects ["
                  << join(subjects) << "] allow [" << join(r.allow) << "]";
        if (!r.deny.empty())
            std::cout << " deny [" << join(r.deny) << "]";
        std::cout << '\n';
    }
    for (auto const& [name, u] : cfg->users)
        std::cout << "user " << name << ": groups [" << join(u.groups) << "]\n";
    if (!cfg->gateway.user.empty())
        std::cout << "runs as: " << cfg->gateway.user
                  << (cfg->gateway.group.empty() ? "" : ":" + cfg->gateway.group)
                  << " (after binding its listeners as root)\n";
    std::cout << "confinement: seccomp " << (cfg->gateway.seccomp ? "on" : "off") << ", Landlock "
              << (cfg->gateway.landlock ? "on" : "off") << '\n';
    for (auto const& w : cfg->warnings)
        std::cout << "warning: " << w << '\n';
    if (auto const w = server::root_warning(*cfg); !w.empty())
        std::cout << "warning: " << w << '\n';
    return 0;
}

// `dockgate learn`: the role on stdout, what it may not cover on stderr.
int learn_role(std::string const& file, learn::options opt) {
    opt.source = file;
    std::ifstream in;
    if (file != "-") {
        in.open(file);
        if (!in) {
            std::cerr << "learn: cannot read " << file << '\n';
            return 1;
        }
    }
    try {
        auto const res = learn::learn(file == "-" ? std::cin : in, opt);
        for (auto const& w : res.warnings)
            std::cerr << "learn: warning: " << w << '\n';
        std::cout << res.toml;
        return 0;
    } catch (std::invalid_argument const& e) {
        std::cerr << "learn: " << e.what() << '\n';
        return 2;
    }
}

int run_command(int argc, char** argv) {
    CLI::App app{"dockgate: a hardened mutual-TLS gateway in front of the Docker daemon",
                 "dockgate"};
    app.set_version_flag("--version", std::string("dockgate ") + DOCKGATE_VERSION);
    std::string config_file;
    app.add_option("-c,--config", config_file, "Run the gateway with this config file")
        ->check(CLI::ExistingFile);
    std::string log_level;
    app.add_option("--log-level", log_level,
                   "Override gateway.log_level (trace, debug, info, warn, error)");

    auto* check = app.add_subcommand("check-config",
                                     "Validate a config file; print its problems or a summary");
    std::string check_file;
    check->add_option("file", check_file, "The config file")->required();

    auto* explain_cmd = app.add_subcommand(
        "explain",
        "Show what the gateway would decide for one request, and the body it would forward");
    std::string explain_config, explain_body_file;
    explain_request ereq;
    explain_cmd->add_option("--config", explain_config, "The config file")
        ->required()
        ->check(CLI::ExistingFile);
    explain_cmd
        ->add_option("--user", ereq.user, "The caller's user name (certificate CN, SSH login)")
        ->required();
    explain_cmd->add_option("--group", ereq.groups,
                            "A group the credential carries (certificate O); repeatable");
    explain_cmd
        ->add_option("--request", ereq.request_line,
                     "\"METHOD TARGET\", e.g. \"POST /v1.41/containers/create\"")
        ->required();
    explain_cmd->add_option("--body", explain_body_file, "A file with the request body")
        ->check(CLI::ExistingFile);
    std::optional<std::string> explain_content_type;
    explain_cmd->add_option("--content-type", explain_content_type,
                            "The request's Content-Type (default: application/json with --body, "
                            "none without)");
    explain_cmd->add_flag("--chunked", ereq.chunked,
                          "The request is sent chunked (it has a body, even an empty one)");
    std::string explain_lookups;
    explain_cmd
        ->add_option("--lookups", explain_lookups,
                     "Answer the daemon look-ups from this JSON file ({\"/images/x/json\": "
                     "{\"status\": 200, \"body\": {...}}, ...}) instead of asking the daemon")
        ->check(CLI::ExistingFile);
    explain_cmd->add_flag("--json", ereq.json, "Print the decision as one JSON object");

    auto* learn_cmd = app.add_subcommand(
        "learn", "Propose a least-privilege role from audit lines (print it as TOML)");
    std::string learn_file;
    learn::options lopt;
    learn_cmd->add_option("file", learn_file, "The audit log (JSON lines); - for stdin")
        ->required();
    auto* learn_user =
        learn_cmd->add_option("--user", lopt.user, "Learn from this user's requests");
    learn_cmd->add_option("--group", lopt.group, "Learn from the requests of this group's members")
        ->excludes(learn_user);
    learn_cmd->add_option("--name", lopt.role, "The proposed role's name (default: learned)");

    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& e) {
        return app.exit(e);
    }

    if (*check)
        return check_config(check_file);
    if (*learn_cmd)
        return learn_role(learn_file, lopt);
    if (*explain_cmd) {
        auto snap = load_checked(explain_config);
        if (!snap)
            return 1;
        if (!explain_body_file.empty()) {
            std::ifstream in(explain_body_file, std::ios::binary);
            std::ostringstream text;
            text << in.rdbuf();
            ereq.body = text.str();
        }
        if (explain_content_type)
            ereq.content_type = *explain_content_type;
        else if (!ereq.body.empty())
            ereq.content_type = "application/json";
        lookup_answerer ask;
        if (!explain_lookups.empty()) {
            try {
                ask = canned_lookups(explain_lookups);
            } catch (std::exception const& e) {
                std::cerr << "explain: --lookups " << e.what() << '\n';
                return 1;
            }
        } else {
            auto const socket = snap->cfg->gateway.upstream_socket;
            auto const timeout =
                snap->cfg->limits.upstream_connect_timeout + std::chrono::seconds(10);
            ask = [socket, timeout](admission::lookup const& what) {
                return server::daemon_lookup(socket, what, timeout);
            };
        }
        return explain(snap, ereq, ask, std::cout);
    }
    if (config_file.empty()) {
        std::cerr
            << "dockgate: nothing to do: give --config FILE to run the gateway, or see --help\n";
        return 1;
    }
    auto snap = load_checked(config_file);
    if (!snap)
        return 1;
    init_logging(log_level.empty() ? snap->cfg->gateway.log_level : log_level);
    try {
        spdlog::info("dockgate {} starting: upstream unix://{}, {} worker(s)", DOCKGATE_VERSION,
                     snap->cfg->gateway.upstream_socket.string(), snap->cfg->gateway.workers);
        for (auto const& w : snap->cfg->warnings)
            spdlog::warn("config: {}", w);
        return server::run(snap);
    } catch (std::exception const& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
}

} // namespace

int main(int argc, char** argv) {
    // Relay and read buffers are taken and given back per request. With glibc's default,
    // dynamic thresholds, freeing them trims the heap (madvise, a TLB shootdown on every core)
    // and the next request grows it again; fixed thresholds keep that memory in the process.
    // No thread exists yet, so mallopt's lack of locking does not matter.
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);  // NOLINT(concurrency-mt-unsafe)
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024); // NOLINT(concurrency-mt-unsafe)
    // The commands report their own errors; what reaches here (out of memory while setting up
    // the command line, say) is reported in one line instead of std::terminate's abort.
    try {
        return run_command(argc, argv);
    } catch (std::exception const& e) {
        std::cerr << "dockgate: " << e.what() << '\n';
    } catch (...) {
        std::cerr << "dockgate: unexpected error\n";
    }
    return 1;
}
