#pragma once
// Who is calling: built by a transport once per connection, immutable afterwards.

#include <string>
#include <vector>

#include "config/config.hpp"

namespace dockgate::policy {

struct identity {
    std::string user;                // TLS: subject CN
    std::vector<std::string> groups; // TLS: subject O values, plus [users.NAME].groups
    std::string transport;           // "tls", "ssh", "unix"
    std::string peer;                // remote address, for the audit trail
    std::string credential;          // certificate serial / key fingerprint, for the audit trail
    std::string alias;               // unix: "uid:N" when `user` is the passwd name; else ""
};

/// Adds the groups that `[users.<user>]` (and `[users.<alias>]`, if given) grant to the ones the
/// credential carried, without duplicates, keeping the credential's order first.
std::vector<std::string> resolve_groups(config::config const& cfg, std::string const& user,
                                        std::vector<std::string> credential_groups,
                                        std::string const& alias = {});

} // namespace dockgate::policy
