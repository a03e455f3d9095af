#include "gateway/server/file_watcher.hpp"

#include <cerrno>
#include <sys/inotify.h>
#include <system_error>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace dockgate::server {

namespace asio = boost::asio;

file_watcher::file_watcher(asio::io_context& io, std::chrono::milliseconds debounce,
                           std::function<void()> on_change)
    : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC))
    , stream_(io)
    , debounce_timer_(io)
    , debounce_(debounce)
    , on_change_(std::move(on_change)) {
    if (fd_ < 0) {
        spdlog::warn("file changes will not be noticed (inotify: {}); send SIGHUP to reload",
                     std::generic_category().message(errno));
        return;
    }
    stream_.assign(fd_);
    read_events();
}

file_watcher::~file_watcher() {
    boost::system::error_code ec;
    stream_.close(ec); // closes fd_
}

void file_watcher::watch(std::vector<std::filesystem::path> const& files) {
    if (fd_ < 0)
        return;
    for (auto const& [wd, folder] : folders_)
        ::inotify_rm_watch(fd_, wd);
    folders_.clear();
    files_.clear();
    std::set<std::filesystem::path> folders;
    for (auto const& f : files) {
        auto const abs = std::filesystem::absolute(f).lexically_normal();
        files_.insert(abs);
        folders.insert(abs.parent_path());
    }
    for (auto const& folder : folders) {
        int const wd = ::inotify_add_watch(
            fd_, folder.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB);
        if (wd < 0)
            spdlog::warn("cannot watch {} for changes: {}; send SIGHUP to reload", folder.string(),
                         std::generic_category().message(errno));
        else
            folders_[wd] = folder;
    }
}

void file_watcher::read_events() {
    stream_.async_read_some(
        asio::buffer(buffer_), [this](boost::system::error_code ec, std::size_t n) {
            if (ec)
                return; // closed
            bool relevant = false;
            for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
                auto const* ev = reinterpret_cast<inotify_event const*>(buffer_ + at);
                if (ev->len > 0) {
                    if (auto it = folders_.find(ev->wd);
                        it != folders_.end() && files_.count(it->second / ev->name) != 0)
                        relevant = true;
                }
                at += sizeof(inotify_event) + ev->len;
            }
            if (relevant && !pending_) {
                pending_ = true;
                debounce_timer_.expires_after(debounce_);
                debounce_timer_.async_wait([this](boost::system::error_code tec) {
                    pending_ = false;
                    if (!tec)
                        on_change_();
                });
            }
            read_events();
        });
}

} // namespace dockgate::server
