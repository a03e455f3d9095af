#pragma once
// The gateway confines itself once it has bound its listeners and opened its files: it drops
// root for gateway.user, forbids gaining privileges again (no_new_privs) and core dumps, limits
// the file system to its own folders (Landlock) and the kernel to the system calls it makes
// (seccomp). A parser bug exploited after that reaches the daemon socket, which the gateway
// needs, and little else.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "config/config.hpp"

namespace dockgate::server {

/// What Landlock and the seccomp filter let the gateway touch, from the config it starts with.
struct file_access_plan {
    std::vector<std::filesystem::path> read_dirs;   // config, certificates, CRLs, keys
    std::vector<std::filesystem::path> read_files;  // the user and group databases
    std::vector<std::filesystem::path> write_dirs;  // the audit file's folder
    std::vector<std::filesystem::path> remove_dirs; // the unix listener's folder (unlinked at exit)
    // Outbound network peers (a syslog collector, CRL URLs): host names are resolved before
    // confinement, so no DNS traffic or resolver file is planned. With none, socket() is AF_UNIX
    // only and Landlock (ABI 4+) denies every TCP connect.
    // socket(AF_INET/AF_INET6): stream sockets when tcp_connect_ports is not empty, datagram
    // sockets when inet_datagrams is set (a UDP collector).
    bool inet_sockets = false;
    bool inet_datagrams = false;
    std::vector<std::uint16_t> tcp_connect_ports; // Landlock allows TCP connect to these only
};

/// The folders (and files) a gateway running with `cfg` reads and writes after start-up: each
/// watched file's folder, as written and with symbolic links resolved.
file_access_plan plan_file_access(config::config const& cfg);

/// The first file `next` reads on reload that lies outside the folders `started` allows
/// ("listen.tls.ca: /srv/other/ca.pem"), or "" when there is none.
std::string outside_plan(file_access_plan const& started, config::config const& next);

/// A warning when the process runs as root and gateway.user is not set, else "".
std::string root_warning(config::config const& cfg);

/// Confines the process as described above, as far as cfg and the kernel allow, and logs what
/// it did. Must run before any other thread exists (Landlock applies to the calling thread and
/// the threads it starts later). Throws std::runtime_error naming the key when a step that was
/// asked for fails (an unknown gateway.user, a failed privilege drop, a rejected filter).
void confine(config::config const& cfg);

/// The id of the group `name` in the group database, nullopt when there is none.
std::optional<gid_t> group_id(std::string const& name);

/// Whether confine() limited the file system (reload uses it to explain a refusal).
bool landlock_active() noexcept;

} // namespace dockgate::server
