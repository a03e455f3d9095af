#pragma once
// File handling for the CA state folder and the bundles dockgate-certs writes: bounded reads,
// directory checks, and a write plan that makes every file appear atomically (temp file,
// fsync, rename) and only after every check of the command has passed.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace dockgate::certs {

namespace fs = std::filesystem;

/// State files are small; anything bigger than this is not ours.
inline constexpr std::size_t max_state_file_size = 16 * 1024 * 1024;

/// The whole file, or nullopt if it does not exist. Any other failure (unreadable, a
/// directory, too large) is a user error naming the file.
std::optional<std::string> read_file_if_exists(fs::path const& file);

/// The whole file; a missing file is a user error whose message ends with `fix`.
std::string read_file(fs::path const& file, std::string_view fix);

/// The permission bits of an existing file (no symlink following), or nullopt if absent.
std::optional<mode_t> file_mode(fs::path const& file);

/// Creates `dir` (and its parents) if missing, giving the last component `mode`; refuses an
/// existing path that is not a directory or that every user may write to.
void ensure_private_dir(fs::path const& dir, mode_t mode);

/// Refuses a directory that every user may write to (another user could swap our files).
void check_not_world_writable(fs::path const& dir);

/// The files one command writes, collected while it runs and written by commit() at the end,
/// in the order they were added. Each file is written to a fresh temp file in its target
/// folder (O_CREAT|O_EXCL, mode 0600 from the start), fsynced, given its final mode and
/// renamed over the target, so readers see the old or the new content, never a mix, and a key
/// is never readable by others, not even for a moment. Secret contents are wiped from memory
/// when the plan is destroyed.
class write_plan {
public:
    write_plan() = default;
    write_plan(write_plan const&) = delete;
    write_plan& operator=(write_plan const&) = delete;
    write_plan(write_plan&&) = default;
    write_plan& operator=(write_plan&&) = delete;
    ~write_plan();

    /// A directory to create (with `mode`) before any file is written.
    void add_dir(fs::path dir, mode_t mode);
    /// A public file (certificates, CRLs, the ledger): mode 0644.
    void add_file(fs::path file, std::string data);
    /// A private key: mode 0600.
    void add_secret(fs::path file, std::string data);

    /// The paths of the files added so far, in order.
    std::vector<fs::path> files() const;
    bool empty() const { return files_.empty(); }

    /// Writes everything. Throws a user error naming the file that failed (and which files were
    /// already written) if the system refuses.
    void commit();

private:
    struct entry {
        fs::path path;
        std::string data;
        mode_t mode;
        bool secret;
    };
    std::vector<std::pair<fs::path, mode_t>> dirs_;
    std::vector<entry> files_;
};

} // namespace dockgate::certs
