#include "common/host_path.hpp"

#include <cerrno>
#include <deque>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace dockgate {

namespace {

constexpr int max_links = 40;

void push_components(std::deque<std::string>& todo, std::string_view path, bool front) {
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i < path.size()) {
        auto const slash = path.find('/', i);
        auto const end = slash == std::string_view::npos ? path.size() : slash;
        if (end > i)
            parts.emplace_back(path.substr(i, end - i));
        i = end + 1;
    }
    if (front)
        todo.insert(todo.begin(), parts.begin(), parts.end());
    else
        todo.insert(todo.end(), parts.begin(), parts.end());
}

std::string join(std::vector<std::string> const& parts) {
    std::string out;
    for (auto const& p : parts)
        out += "/" + p;
    return out.empty() ? "/" : out;
}

} // namespace

resolved_path resolve_host_path(std::string_view path) {
    if (path.empty() || path.front() != '/')
        return {{}, "not an absolute path"};
    std::deque<std::string> todo;
    push_components(todo, path, false);
    std::vector<std::string> done; // resolved components, each an existing non-link
    bool missing = false;          // a component did not exist: the rest is taken as written
    int links = 0;
    while (!todo.empty()) {
        auto part = std::move(todo.front());
        todo.pop_front();
        if (part == ".")
            continue;
        if (part == "..") {
            if (!done.empty())
                done.pop_back();
            continue;
        }
        done.push_back(std::move(part));
        if (missing)
            continue;
        auto const current = join(done);
        struct stat st {};
        if (::lstat(current.c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                missing = true;
                continue;
            }
            return {{}, current + ": " + std::generic_category().message(errno)};
        }
        if (!S_ISLNK(st.st_mode))
            continue;
        if (++links > max_links)
            return {{}, current + ": too many levels of symbolic links"};
        std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
        auto const n = ::readlink(current.c_str(), target.data(), target.size());
        if (n < 0 || static_cast<std::size_t>(n) >= target.size())
            return {{}, current + ": the link cannot be read"};
        target.resize(static_cast<std::size_t>(n));
        done.pop_back();
        if (!target.empty() && target.front() == '/')
            done.clear();
        push_components(todo, target, true);
    }
    return {join(done), {}};
}

} // namespace dockgate
