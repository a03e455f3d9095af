#include "gateway/ssh/ssh_server.hpp"

#include <filesystem>
#include <sys/stat.h>

#include <libssh/libssh.h>
#include <libssh/server.h>
#include <spdlog/spdlog.h>

namespace dockgate::ssh {

namespace {

ssh_key load_or_create_host_key(std::filesystem::path const& path) {
    namespace fs = std::filesystem;
    ssh_key key = nullptr;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
            throw std::runtime_error("listen.ssh.host_key: cannot generate an ed25519 key");
        auto const old = ::umask(077);
        int const rc = ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, path.c_str());
        ::umask(old);
        if (rc != SSH_OK) {
            ssh_key_free(key);
            throw std::runtime_error("listen.ssh.host_key: cannot write " + path.string() +
                                     " (check the folder exists and is writable)");
        }
        ::chmod(path.c_str(), 0600);
        spdlog::info("created SSH host key {}", path.string());
        return key;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
        throw std::runtime_error(
            "listen.ssh.host_key: " + path.string() +
            " is readable by others (chmod 600 it; a host key must stay private)");
    if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK)
        throw std::runtime_error("listen.ssh.host_key: cannot read the private key " +
                                 path.string());
    return key;
}

} // namespace

ssh_server::ssh_server(config::ssh_listener const& cfg,
                       std::function<std::shared_ptr<server::snapshot const>()> current,
                       server::services& services, channel_handoff handoff)
    : context_(
          std::make_shared<ssh_context>(cfg, std::move(current), services, std::move(handoff))) {
    ssh_init();
    ssh_key key = load_or_create_host_key(cfg.host_key);
    spdlog::info("SSH host key fingerprint: {} ({})", key_fingerprint(key), cfg.host_key.string());
    auto& bind = context_->bind;
    bind = ssh_bind_new();
    // RSA only with SHA-2 signatures; no ssh-rsa (SHA-1).
    char const* accepted =
        "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
        "rsa-sha2-512,rsa-sha2-256";
    // The SSH server's settings are dockgate.toml's alone: libssh would otherwise read
    // /etc/ssh/libssh_server_config on every accepted connection (outside the gateway's folders
    // once it is confined, and another place for its policy to hide).
    bool const process_config = false;
    if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, key) != SSH_OK ||
        ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES, accepted) !=
            SSH_OK ||
        ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &process_config) != SSH_OK) {
        ssh_key_free(key);
        throw std::runtime_error(std::string("listen.ssh: cannot configure the SSH server: ") +
                                 ssh_get_error(bind));
    }
    // The bind now owns the key.
}

void ssh_server::serve(boost::asio::ip::tcp::socket socket, server::session_registry& registry) {
    ssh_connection::start(context_, std::move(socket), registry);
}

} // namespace dockgate::ssh
