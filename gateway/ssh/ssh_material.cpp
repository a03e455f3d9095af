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

namespace {

// Whether `key`, written back out, is `type` and `blob` byte for byte.
bool same_as_written(ssh_key key, std::string const& type, std::string const& blob) {
    char const* name = ssh_key_type_to_char(ssh_key_type(key));
    if (name == nullptr || type != name)
        return false;
    char* written = nullptr;
    if (ssh_pki_export_pubkey_base64(key, &written) != SSH_OK || written == nullptr)
        return false;
    bool const same = blob == written;
    ssh_string_free_char(written);
    return same;
}

} // namespace

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
            // libssh reads the key it recognises at the front of the data and ignores the rest,
            // and the fingerprint is of what it read: a line whose bytes are not exactly that key
            // (extra or altered bytes, another type than its name) would stand for a key it does
            // not spell. Refused, so that a line means one key and the key is the line.
            bool const exact = same_as_written(key, type, blob);
            auto fp = exact ? key_fingerprint(key) : std::string();
            ssh_key_free(key);
            if (!exact)
                throw std::runtime_error("users." + user + ": SSH key " + std::to_string(i + 1) +
                                         " (" + type +
                                         ") holds more or other bytes than one key of its type "
                                         "(paste it again from ~/.ssh/id_*.pub)");
            if (fp.empty())
                throw std::runtime_error("users." + user + ": cannot fingerprint SSH key " +
                                         std::to_string(i + 1));
            material->user_keys[user].insert(std::move(fp));
        }
    }
    return material;
}

} // namespace dockgate::ssh
