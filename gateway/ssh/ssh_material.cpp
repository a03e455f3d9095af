#include "gateway/ssh/ssh_material.hpp"

#include <stdexcept>

#include <libssh/libssh.h>

namespace dockgate::ssh {

std::string key_fingerprint(ssh_key key) {
    unsigned char* hash = nullptr;
    size_t len = 0;
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != SSH_OK)
        return {};
    char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
    ssh_clean_pubkey_hash(&hash);
    if (text == nullptr)
        return {};
    std::string out(text);
    ssh_string_free_char(text);
    return out;
}

std::shared_ptr<ssh_material const> load_ssh_material(config::config const& cfg) {
    auto material = std::make_shared<ssh_material>();
    for (auto const& [user, entry] : cfg.users) {
        for (std::size_t i = 0; i < entry.ssh_keys.size(); ++i) {
            auto const& line = entry.ssh_keys[i];
            auto const space = line.find(' ');
            std::string const type = line.substr(0, space);
            std::string const blob = line.substr(space + 1);
            ssh_key key = nullptr;
            if (ssh_pki_import_pubkey_base64(blob.c_str(), ssh_key_type_from_name(type.c_str()),
                                             &key) != SSH_OK ||
                key == nullptr)
                throw std::runtime_error(
                    "users." + user + ": SSH key " + std::to_string(i + 1) + " (" + type +
                    ") cannot be read (check it was pasted whole, as in ~/.ssh/id_*.pub)");
            auto fp = key_fingerprint(key);
            ssh_key_free(key);
            if (fp.empty())
                throw std::runtime_error("users." + user + ": cannot fingerprint SSH key " +
                                         std::to_string(i + 1));
            material->user_keys[user].insert(std::move(fp));
        }
    }
    return material;
}

} // namespace dockgate::ssh
