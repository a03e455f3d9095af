#include "certs-tool/dir_lock.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>

#include "certs-tool/error.hpp"

namespace dockgate::certs {

dir_lock::dir_lock(std::filesystem::path const& dir, mode m, std::ostream& notices,
                   std::chrono::milliseconds patience) {
    auto const file = dir / ".lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0 && m == mode::shared && (errno == EACCES || errno == EROFS))
        fd_ = ::open(file.c_str(),
                     O_RDONLY | O_NOFOLLOW | O_CLOEXEC); // a reader without write access
    if (fd_ < 0)
        fail_user(file.string() +
                  ": cannot open the lock file: " + std::generic_category().message(errno));
    int const op = (m == mode::exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
    auto const deadline = std::chrono::steady_clock::now() + patience;
    bool told = false;
    while (::flock(fd_, op) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int const err = errno;
            ::close(std::exchange(fd_, -1));
            fail_user(file.string() + ": cannot lock: " + std::generic_category().message(err));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            ::close(std::exchange(fd_, -1));
            fail_user(file.string() + ": another dockgate-certs has held this lock for too long; " +
                      "look for a stuck one (fuser -v " + file.string() + ") and try again");
        }
        if (!told) {
            notices << "waiting for another dockgate-certs working on " << dir.string() << "...\n";
            told = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

dir_lock::dir_lock(dir_lock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

dir_lock::~dir_lock() {
    if (fd_ >= 0)
        ::close(fd_); // releases the flock
}

} // namespace dockgate::certs
