#pragma once
// A session channel of an ssh_connection as the connection's two source files see it.

#include <chrono>
#include <memory>
#include <string>

#include "gateway/ssh/ssh_connection.hpp"

namespace dockgate::ssh {

/// A session channel, from its opening to the moment both its stream and libssh are done.
struct ssh_connection::channel_entry {
    ssh_connection* connection;
    std::shared_ptr<channel_state> state;
    ssh_channel_callbacks_struct callbacks{};
    std::chrono::steady_clock::time_point exec_by;
    std::string refusal; // set: the command is refused with this message, then the channel ends
    bool exec_seen = false;
    bool exec_accepted = false;
    bool started = false;  // a stream was handed to a session
    bool released = false; // ...and the session let it go (or never got one)
};

} // namespace dockgate::ssh
