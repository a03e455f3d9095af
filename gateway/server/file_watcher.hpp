#pragma once
// Calls back when any of a set of files changes (written, replaced by rename, created or
// removed), debounced so that an editor's or a tool's burst of writes is one reload.
// Watches the files' folders with inotify, so files replaced atomically (write temp + rename,
// as dockgate-certs and most deploy tools do) are seen too.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace dockgate::server {

class file_watcher {
public:
    /// Runs on `io`'s thread; `on_change` is called there, at most once per `debounce`.
    file_watcher(boost::asio::io_context& io, std::chrono::milliseconds debounce,
                 std::function<void()> on_change);
    ~file_watcher();

    /// Replaces the watched set (e.g. after a reload named other files). Logs and carries on
    /// when a folder cannot be watched; SIGHUP still works then.
    void watch(std::vector<std::filesystem::path> const& files);

private:
    void read_events();

    int fd_ = -1;
    boost::asio::posix::stream_descriptor stream_;
    boost::asio::steady_timer debounce_timer_;
    std::chrono::milliseconds debounce_;
    std::function<void()> on_change_;
    std::map<int, std::filesystem::path> folders_; // watch descriptor -> folder
    std::set<std::filesystem::path> files_;
    alignas(8) char buffer_[8192];
    bool pending_ = false;
};

} // namespace dockgate::server
