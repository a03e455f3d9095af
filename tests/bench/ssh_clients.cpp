#include "tests/bench/ssh_clients.hpp"

#include <mutex>
#include <stdexcept>
#include <thread>

#include <libssh/libssh.h>

#include "tests/bench/response_parser.hpp"

namespace dockgate::bench {

struct ssh_clients::state {
    std::string host, user, request;
    unsigned port = 0;
    long timeout_s = 10;
    ssh_key key = nullptr;
    ssh_key host_key = nullptr;
    struct open_one {
        ssh_session session;
        ssh_channel channel;
    };
    std::mutex mutex; // guards open, and the callers' `done`
    std::vector<open_one> open;

    bool open_one_more(std::string& why);

    ~state() {
        for (auto& o : open) {
            ssh_channel_free(o.channel);
            ssh_disconnect(o.session);
            ssh_free(o.session);
        }
        ssh_key_free(key);
        ssh_key_free(host_key);
    }
};

ssh_clients::ssh_clients(std::string host, unsigned port, std::string user, std::string const& key,
                         std::string const& host_key, std::string request, double timeout_s)
    : state_(std::make_unique<state>()) {
    ssh_init();
    auto& s = *state_;
    s.host = std::move(host);
    s.port = port;
    s.user = std::move(user);
    s.request = std::move(request);
    s.timeout_s = std::max(1L, static_cast<long>(timeout_s));
    if (ssh_pki_import_privkey_file(key.c_str(), nullptr, nullptr, nullptr, &s.key) != SSH_OK)
        throw std::runtime_error("--ssh-key: cannot read the private key " + key);
    if (ssh_pki_import_pubkey_file(host_key.c_str(), &s.host_key) != SSH_OK)
        throw std::runtime_error("--ssh-host-key: cannot read the public key " + host_key);
}

ssh_clients::~ssh_clients() = default;

void ssh_clients::open(unsigned n, unsigned threads,
                       std::function<bool(bool, std::string const&)> done) {
    auto& s = *state_;
    unsigned started = 0;
    bool stop = false;
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < std::max(1u, threads); ++t) {
        pool.emplace_back([&] {
            for (;;) {
                {
                    std::lock_guard lock(s.mutex);
                    if (stop || started == n)
                        return;
                    ++started;
                }
                std::string why;
                bool const ok = s.open_one_more(why);
                std::lock_guard lock(s.mutex);
                if (!done(ok, why))
                    stop = true;
            }
        });
    }
    for (auto& t : pool)
        t.join();
}

bool ssh_clients::state::open_one_more(std::string& why) {
    auto& s = *this;
    ssh_session session = ssh_new();
    ssh_channel channel = nullptr;
    auto fail = [&](std::string reason) {
        why = std::move(reason);
        if (channel != nullptr)
            ssh_channel_free(channel);
        ssh_disconnect(session);
        ssh_free(session);
        return false;
    };
    int const no = 0;
    ssh_options_set(session, SSH_OPTIONS_HOST, s.host.c_str());
    ssh_options_set(session, SSH_OPTIONS_PORT, &s.port);
    ssh_options_set(session, SSH_OPTIONS_USER, s.user.c_str());
    ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &s.timeout_s);
    ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
    ssh_options_set(session, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
    int const yes = 1;
    ssh_options_set(session, SSH_OPTIONS_NODELAY, &yes);
    if (ssh_connect(session) != SSH_OK)
        return fail(std::string("connect: ") + ssh_get_error(session));
    ssh_key server_key = nullptr;
    if (ssh_get_server_publickey(session, &server_key) != SSH_OK)
        return fail("no host key");
    bool const pinned = ssh_key_cmp(server_key, s.host_key, SSH_KEY_CMP_PUBLIC) == 0;
    ssh_key_free(server_key);
    if (!pinned)
        return fail("the server's host key is not the pinned one");
    if (ssh_userauth_publickey(session, nullptr, s.key) != SSH_AUTH_SUCCESS)
        return fail(std::string("publickey authentication: ") + ssh_get_error(session));
    channel = ssh_channel_new(session);
    if (channel == nullptr || ssh_channel_open_session(channel) != SSH_OK ||
        ssh_channel_request_exec(channel, "docker system dial-stdio") != SSH_OK)
        return fail(std::string("dial-stdio channel: ") + ssh_get_error(session));
    if (ssh_channel_write(channel, s.request.data(), static_cast<uint32_t>(s.request.size())) !=
        static_cast<int>(s.request.size()))
        return fail("cannot send the request");
    response_parser parser;
    parser.reset();
    char buf[4096];
    while (!parser.done() && !parser.failed()) {
        int const n = ssh_channel_read_timeout(channel, buf, sizeof buf, 0,
                                               static_cast<int>(s.timeout_s * 1000));
        if (n <= 0)
            return fail(n == 0 ? "no response" : "channel read failed");
        parser.feed(buf, static_cast<std::size_t>(n));
    }
    if (parser.failed())
        return fail("bad response: " + parser.error());
    if (parser.status() != 200 || !parser.keep_alive())
        return fail("HTTP status " + std::to_string(parser.status()) +
                    (parser.keep_alive() ? "" : ", closed after the response"));
    std::lock_guard lock(s.mutex);
    s.open.push_back({session, channel});
    return true;
}

unsigned ssh_clients::closed_by_server() {
    unsigned n = 0;
    for (auto& o : state_->open) {
        // Handles what arrived without waiting: SSH_EOF or SSH_ERROR once the server closed.
        if (ssh_channel_poll(o.channel, 0) < 0 || !ssh_is_connected(o.session))
            ++n;
    }
    return n;
}

} // namespace dockgate::bench
