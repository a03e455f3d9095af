#pragma once
// The SSH listener's counters, shared by every worker: connections still in their handshake,
// per source address (listen.ssh.max_handshakes_per_address), and open session channels, in
// all and per user (listen.ssh.max_sessions, max_sessions_per_user). Taken and given back
// when connections and channels come and go, never on the data path; one mutex guards them.
// An entry exists only while its count is above zero, so the maps hold no more than what is
// open now.

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace dockgate::ssh {

class slot_table {
public:
    slot_table(unsigned max_handshakes_per_address, unsigned max_sessions,
               unsigned max_sessions_per_user)
        : max_handshakes_per_address_(max_handshakes_per_address)
        , max_sessions_(max_sessions)
        , max_sessions_per_user_(max_sessions_per_user) {}

    /// A connection from `address` starts its handshake: false when that address already has
    /// max_handshakes_per_address of them.
    bool take_handshake(std::string const& address);
    void release_handshake(std::string const& address);

    /// A channel for `user`: nullopt when taken, else the name of the limit that refused it.
    std::optional<std::string> take_session(std::string const& user);
    void release_session(std::string const& user);

    unsigned sessions() const;
    unsigned handshakes(std::string const& address) const;

private:
    mutable std::mutex mutex_;
    unsigned const max_handshakes_per_address_;
    unsigned const max_sessions_;
    unsigned const max_sessions_per_user_;
    std::map<std::string, unsigned> handshakes_;
    std::map<std::string, unsigned> per_user_;
    unsigned sessions_ = 0;
};

} // namespace dockgate::ssh
