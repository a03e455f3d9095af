#pragma once
// The SSH side of a config snapshot: which public keys may log in as which user. Keys are
// compared by their SHA-256 fingerprint (the same string OpenSSH prints).

#include <map>
#include <memory>
#include <set>
#include <string>

#include "config/config.hpp"

struct ssh_key_struct;

namespace dockgate::ssh {

struct ssh_material {
    std::map<std::string, std::set<std::string>> user_keys; // user -> "SHA256:..." fingerprints

    bool allows(std::string const& user, std::string const& fingerprint) const {
        auto it = user_keys.find(user);
        return it != user_keys.end() && it->second.count(fingerprint) != 0;
    }
};

/// Imports every users.NAME.ssh_keys / ssh_keys_file key. Throws std::runtime_error naming the
/// user and the key that cannot be read.
std::shared_ptr<ssh_material const> load_ssh_material(config::config const& cfg);

/// "SHA256:<base64>" of a public key, as `ssh-keygen -lf` shows it; "" on failure.
std::string key_fingerprint(ssh_key_struct* key);

} // namespace dockgate::ssh
