#include "gateway/ssh/slot_table.hpp"

namespace dockgate::ssh {

namespace {

void give_back(std::map<std::string, unsigned>& counts, std::string const& key) {
    auto const it = counts.find(key);
    if (it != counts.end() && --it->second == 0)
        counts.erase(it);
}

} // namespace

bool slot_table::take_handshake(std::string const& address) {
    std::lock_guard lock(mutex_);
    auto& mine = handshakes_[address];
    if (mine >= max_handshakes_per_address_) {
        if (mine == 0)
            handshakes_.erase(address);
        return false;
    }
    ++mine;
    return true;
}

void slot_table::release_handshake(std::string const& address) {
    std::lock_guard lock(mutex_);
    give_back(handshakes_, address);
}

std::optional<std::string> slot_table::take_session(std::string const& user) {
    std::lock_guard lock(mutex_);
    if (sessions_ >= max_sessions_)
        return "listen.ssh.max_sessions";
    auto const it = per_user_.find(user);
    if (it != per_user_.end() && it->second >= max_sessions_per_user_)
        return "listen.ssh.max_sessions_per_user";
    ++sessions_;
    ++per_user_[user];
    return std::nullopt;
}

void slot_table::release_session(std::string const& user) {
    std::lock_guard lock(mutex_);
    --sessions_;
    give_back(per_user_, user);
}

unsigned slot_table::sessions() const {
    std::lock_guard lock(mutex_);
    return sessions_;
}

unsigned slot_table::handshakes(std::string const& address) const {
    std::lock_guard lock(mutex_);
    auto const it = handshakes_.find(address);
    return it == handshakes_.end() ? 0 : it->second;
}

} // namespace dockgate::ssh
