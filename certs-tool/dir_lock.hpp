#pragma once
// Serialises dockgate-certs invocations on one CA folder: flock(2) on DIR/.lock, held for the
// whole command. Readers (list) share it; everything that writes takes it exclusively.

#include <chrono>
#include <filesystem>
#include <ostream>

namespace dockgate::certs {

class dir_lock {
public:
    enum class mode { shared, exclusive };

    /// Blocks until the lock is ours, telling `notices` once that it waits. Gives up with a
    /// user error after `patience` (a stuck or stopped invocation holds it).
    dir_lock(std::filesystem::path const& dir, mode m, std::ostream& notices,
             std::chrono::milliseconds patience = std::chrono::minutes(2));
    dir_lock(dir_lock const&) = delete;
    dir_lock& operator=(dir_lock const&) = delete;
    dir_lock(dir_lock&& other) noexcept;
    dir_lock& operator=(dir_lock&&) = delete;
    ~dir_lock();

private:
    int fd_ = -1;
};

} // namespace dockgate::certs
