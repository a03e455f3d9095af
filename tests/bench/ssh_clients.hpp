#pragma once
// Many idle SSH connections for the idle benchmark of dockgate's [listen.ssh]: each one a
// libssh client session that authenticated with a key, opened one session channel running
// `docker system dial-stdio`, got one request answered 200 with keep-alive, and stays open.
// Exec targets (one `ssh` process per connection) cost the client megabytes each; these cost
// it tens of kilobytes, so thousands fit beside the server. Blocking libssh calls, from a few
// threads at once (a set-up is mostly waiting for the other side).

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dockgate::bench {

class ssh_clients {
public:
    /// `host_key`: the server's public key file (pinned); `key`: the client's private key.
    ssh_clients(std::string host, unsigned port, std::string user, std::string const& key,
                std::string const& host_key, std::string request, double timeout_s);
    ~ssh_clients();
    ssh_clients(ssh_clients const&) = delete;
    ssh_clients& operator=(ssh_clients const&) = delete;

    /// Opens `n` more connections from `threads` threads; `done(ok, why)` is called for each,
    /// one call at a time, and may return false to stop (no further connection is started).
    void open(unsigned n, unsigned threads,
              std::function<bool(bool ok, std::string const& why)> done);
    /// How many the server closed since they were opened (EOF or an error on the channel).
    unsigned closed_by_server();

private:
    struct state;
    std::unique_ptr<state> state_;
};

} // namespace dockgate::bench
