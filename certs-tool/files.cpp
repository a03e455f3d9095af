#include "certs-tool/files.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "certs-tool/error.hpp"

namespace dockgate::certs {

namespace {

std::string errno_text(int err) {
    return std::generic_category().message(err);
}

// Closes the descriptor on every path out.
class fd_guard {
public:
    explicit fd_guard(int fd) noexcept
        : fd_(fd) {}
    fd_guard(fd_guard const&) = delete;
    fd_guard& operator=(fd_guard const&) = delete;
    ~fd_guard() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_;
};

void fsync_dir(fs::path const& dir) {
    int const fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return; // best effort: the rename itself already happened
    ::fsync(fd);
    ::close(fd);
}

std::string temp_suffix() {
    unsigned char bytes[6];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        fail_internal("cannot get random bytes for a temp file name");
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = ".tmp-";
    for (unsigned char const b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

// Writes `data` to a new temp file next to `target` and renames it over `target`.
void write_atomically(fs::path const& target, std::string const& data, mode_t mode) {
    fs::path const dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string temp_name(1, '.');
    temp_name.append(target.filename().string()).append(temp_suffix());
    fs::path const temp = dir / temp_name;
    fd_guard fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0)
        fail_user(temp.string() + ": cannot create: " + errno_text(errno));
    auto remove_temp = [&](std::string const& what, int err) {
        ::close(fd.release());
        ::unlink(temp.c_str());
        fail_user(temp.string() + ": cannot " + what + ": " + errno_text(err));
    };
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t const n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            remove_temp("write", errno);
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd.get(), mode) != 0)
        remove_temp("set its mode", errno);
    if (::fsync(fd.get()) != 0)
        remove_temp("fsync", errno);
    if (::close(fd.release()) != 0) {
        int const err = errno;
        ::unlink(temp.c_str());
        fail_user(temp.string() + ": cannot close: " + errno_text(err));
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        int const err = errno;
        ::unlink(temp.c_str());
        fail_user(target.string() + ": cannot replace: " + errno_text(err));
    }
    fsync_dir(dir);
}

} // namespace

std::optional<std::string> read_file_if_exists(fs::path const& file) {
    fd_guard fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT)
            return std::nullopt;
        fail_user(file.string() + ": cannot open: " + errno_text(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        fail_user(file.string() + ": cannot stat: " + errno_text(errno));
    if (!S_ISREG(st.st_mode))
        fail_user(file.string() + ": not a regular file");
    if (static_cast<std::size_t>(st.st_size) > max_state_file_size)
        fail_user(file.string() + ": larger than " + std::to_string(max_state_file_size >> 20) +
                  " MiB, so not a file dockgate-certs wrote");
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t const n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail_user(file.string() + ": cannot read: " + errno_text(errno));
        if (n == 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_state_file_size)
            fail_user(file.string() + ": grew past the size limit while being read");
    }
    return out;
}

std::string read_file(fs::path const& file, std::string_view fix) {
    auto content = read_file_if_exists(file);
    if (!content)
        fail_user(file.string() + ": missing; " + std::string(fix));
    return std::move(*content);
}

std::optional<mode_t> file_mode(fs::path const& file) {
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0)
        return std::nullopt;
    return st.st_mode & 07777;
}

void check_not_world_writable(fs::path const& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        fail_user(dir.string() + ": cannot stat: " + errno_text(errno));
    if (!S_ISDIR(st.st_mode))
        fail_user(dir.string() + ": not a directory");
    if ((st.st_mode & S_IWOTH) != 0)
        fail_user(
            dir.string() + ": every user may write to this folder, so another user could " +
            "swap the files written here; use a private folder (chmod o-w, or choose another)");
}

void ensure_private_dir(fs::path const& dir, mode_t mode) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        if (dir.has_parent_path() && !fs::exists(dir.parent_path(), ec)) {
            fs::create_directories(dir.parent_path(), ec);
            if (ec)
                fail_user(dir.parent_path().string() + ": cannot create: " + ec.message());
        }
        if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
            fail_user(dir.string() + ": cannot create: " + errno_text(errno));
        if (::chmod(dir.c_str(), mode) != 0) // mkdir's mode went through the umask
            fail_user(dir.string() + ": cannot set its mode: " + errno_text(errno));
    }
    check_not_world_writable(dir);
}

write_plan::~write_plan() {
    for (auto& f : files_)
        if (f.secret && !f.data.empty())
            OPENSSL_cleanse(f.data.data(), f.data.size());
}

void write_plan::add_dir(fs::path dir, mode_t mode) {
    dirs_.emplace_back(std::move(dir), mode);
}

void write_plan::add_file(fs::path file, std::string data) {
    files_.push_back({std::move(file), std::move(data), 0644, false});
}

void write_plan::add_secret(fs::path file, std::string data) {
    files_.push_back({std::move(file), std::move(data), 0600, true});
}

std::vector<fs::path> write_plan::files() const {
    std::vector<fs::path> out;
    for (auto const& f : files_)
        out.push_back(f.path);
    return out;
}

void write_plan::commit() {
    for (auto const& [dir, mode] : dirs_)
        ensure_private_dir(dir, mode);
    // Every target checked before the first one is written.
    for (auto const& f : files_) {
        fs::path const dir = f.path.has_parent_path() ? f.path.parent_path() : fs::path(".");
        check_not_world_writable(dir);
        std::error_code ec;
        if (fs::is_directory(fs::symlink_status(f.path, ec)))
            fail_user(f.path.string() + ": is a directory; move it away or choose another --out");
    }
    std::vector<std::string> written;
    for (auto const& f : files_) {
        try {
            write_atomically(f.path, f.data, f.mode);
        } catch (certs_error const& e) {
            std::string message = e.what();
            if (!written.empty()) {
                message += " (already written by this command:";
                for (auto const& w : written)
                    message += " " + w;
                message += ")";
            }
            throw certs_error(e.code(), message);
        }
        written.push_back(f.path.string());
    }
}

} // namespace dockgate::certs
