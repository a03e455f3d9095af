#pragma once
// The configuration model. A `config` is immutable once loaded: the gateway shares it between
// threads as `std::shared_ptr<const config>` and swaps whole snapshots on reload.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.hpp"
#include "config/constraints.hpp"

namespace dockgate::config {

/// gateway.audit_syslog: a syslog collector that receives a copy of every audit record.
struct audit_syslog_target {
    enum class kind { unix_socket, udp, tcp, tls };
    std::string url; // as written, for messages
    kind transport = kind::unix_socket;
    std::filesystem::path path; // unix: the collector's socket (datagram, as syslog(3) uses)
    std::string host;           // udp, tcp, tls
    std::uint16_t port = 0;
    std::filesystem::path ca;  // tls: the collector's CA (PEM); empty = the system trust store
    unsigned facility = 10;    // authpriv
    std::size_t queue = 10000; // records held while the collector is slow or away
};

/// The name of a syslog facility code ("authpriv" for 10), for messages.
std::string_view syslog_facility_name(unsigned facility);

struct gateway_section {
    std::filesystem::path upstream_socket; // from upstream = "unix:///var/run/docker.sock"
    std::string audit_log = "-";           // a path, or "-" for stdout
    std::optional<audit_syslog_target> audit_syslog; // a copy of the audit trail; absent = off
    unsigned workers = 0;                            // resolved: never 0 after loading
    std::string log_level = "info";
    duration shutdown_timeout{std::chrono::seconds(15)};
    // Confinement (see gateway/server/confinement.hpp). Started as root, the gateway binds and
    // opens what it needs, then becomes `user` (and `group`, default the user's own group).
    std::string user;
    std::string group;
    bool seccomp = true;  // a system-call allowlist after start-up
    bool landlock = true; // file system access limited to the gateway's own folders
};

/// The client certificate field that names the user: the subject CN, or one subject
/// alternative name of a type (the whole value: "spiffe://example.org/ci/runner-7").
enum class tls_identity_field { cn, uri_san, dns_san, email_san };
/// The subject attribute whose values are the user's groups.
enum class tls_group_field { o, ou };

/// A CRL distribution point the gateway fetches: "http://HOST[:PORT]/PATH".
struct crl_url {
    std::string url; // as written, for messages and metric labels
    std::string host;
    std::uint16_t port = 80;
    std::string target; // "/PATH[?QUERY]"
};

/// Parses one listen.tls.crl_urls entry. Returns the reason it is not usable (empty on
/// success): only http:// is fetched; a CRL is signed, so its transport need not be trusted.
std::string parse_crl_url(std::string_view text, crl_url& out);

/// What a handshake meets when a CRL is past its nextUpdate and no fresh one came.
enum class crl_stale_policy { refuse, allow };

struct tls_listener {
    std::string address; // as written, for messages
    std::string host;
    std::uint16_t port = 0;
    std::filesystem::path ca, cert, key;      // absolute (resolved against the config's folder)
    std::optional<std::filesystem::path> crl; // PEM, one CRL per CA in force
    std::vector<crl_url> crl_urls;            // fetched at start and every crl_refresh
    duration crl_refresh{std::chrono::minutes(10)};
    duration crl_timeout{std::chrono::seconds(10)}; // one whole fetch: connect, send, receive
    crl_stale_policy crl_stale = crl_stale_policy::refuse;
    tls_identity_field identity = tls_identity_field::cn;
    tls_group_field groups = tls_group_field::o;
};

struct unix_listener {
    std::filesystem::path path;
    unsigned mode = 0660;
    std::string group; // "" = the gateway's own group
};

struct ssh_listener {
    std::string address;
    std::string host;
    std::uint16_t port = 0;
    std::filesystem::path host_key; // created (ed25519, 0600) on first start if absent
    unsigned max_auth_tries = 3;
    unsigned max_sessions = 1000;        // session channels, over all connections
    unsigned max_sessions_per_user = 32; // session channels of one user
    unsigned max_channels_per_connection = 10;
    unsigned max_handshakes_per_address = 100; // connections not yet authenticated, per address
};

struct admin_listener {
    std::string address;
    std::string host;
    std::uint16_t port = 0;
};

/// Limits per identity (the user after mapping), from [limits] and each role's [limits].
struct per_user_limits {
    std::uint64_t connections = 256; // open connections (SSH: channels)
    std::uint64_t inflight = 64;     // requests in progress, long streams included
    double rate = 0;                 // requests per second, token bucket; 0: no rate limit
    double burst = 0;                // the bucket's size; 0: max(1, rate)
};

struct limits_section {
    std::uint64_t max_connections = 10000;
    per_user_limits per_user;
    // New TLS and SSH connections per second from one source address (twice that in a burst);
    // more are closed before any TLS or SSH work. 0: no limit.
    std::uint64_t handshakes_per_ip = 50;
    std::uint64_t header_bytes = 65536;
    std::uint64_t body_bytes = 1024 * 1024; // bodies policy must read (413 beyond)
    // A build context read for its Dockerfile (a role with images.registries): 413 beyond.
    std::uint64_t build_context_bytes = 64 * 1024 * 1024;
    duration handshake_timeout{std::chrono::seconds(10)};
    duration header_timeout{std::chrono::seconds(30)};
    duration idle_timeout{std::chrono::seconds(120)};
    duration upstream_connect_timeout{std::chrono::seconds(5)};
    // A peer that accepts no byte of a response for this long is dropped (also applies to
    // long streams, which are otherwise exempt from idle_timeout).
    duration write_timeout{std::chrono::seconds(120)};
};

struct user_entry {
    std::vector<std::string> groups;
    std::vector<std::string> ssh_keys;   // "TYPE BASE64", from ssh_keys and ssh_keys_file
    std::filesystem::path ssh_keys_file; // watched for changes when set
};

struct subject {
    enum class kind { user, group } type;
    std::string name;
    friend bool operator==(subject const&, subject const&) = default;
};

enum class role_mode { enforce, audit };

struct role {
    std::string name;
    std::vector<subject> subjects;
    std::vector<std::string> allow; // operationId globs
    std::vector<std::string> deny;
    role_mode mode = role_mode::enforce;
    role_constraints constraints; // [roles.NAME.containers|volumes|images|build], ownership
    // [roles.NAME.limits]: overrides of [limits].per_user_*; a user holding several roles gets
    // the most generous value of each.
    std::optional<std::uint64_t> limit_connections, limit_inflight;
    std::optional<double> limit_rate, limit_burst;
};

struct config {
    std::filesystem::path source; // the file it was read from
    gateway_section gateway;
    std::optional<tls_listener> tls;
    std::optional<unix_listener> unix_socket;
    std::optional<ssh_listener> ssh;
    std::optional<admin_listener> admin;
    limits_section limits;
    std::map<std::string, user_entry> users;
    std::vector<role> roles; // in file order
    // Valid but probably not what was meant: printed by check-config, logged at (re)load.
    std::vector<std::string> warnings;
};

/// Thrown by load_config()/parse_config() with every problem found, each already formatted as
/// "<file>:<line>: <key.path>: <what is wrong> (<how to fix it>)".
class config_error : public std::runtime_error {
public:
    explicit config_error(std::vector<std::string> problems);
    std::vector<std::string> const& problems() const noexcept { return problems_; }

private:
    std::vector<std::string> problems_;
};

/// Every file the config depends on (itself, TLS material, CRL), for change watching.
std::vector<std::filesystem::path> watched_files(config const& cfg);

/// Reads and validates a config file. Relative paths inside are resolved against the file's
/// folder; referenced files must exist. Throws config_error.
config load_config(std::filesystem::path const& file);

/// The same from text, for tests: `base_dir` resolves relative paths, `name` prefixes messages.
config parse_config(std::string_view text, std::filesystem::path const& base_dir,
                    std::string const& name);

} // namespace dockgate::config
