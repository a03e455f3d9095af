#pragma once
// Resolving a host path the way the kernel walks it, for bind sources: a path that is lexically
// inside an allowed folder can still lead elsewhere through a symbolic link that a container
// wrote into that folder (/srv/data/x -> /).

#include <optional>
#include <string>
#include <string_view>

namespace dockgate {

struct resolved_path {
    std::string path;  // absolute, no symlink in the part that exists, no "." or ".."
    std::string error; // set instead when the walk failed (permission, loop, bad link)
};

/// Follows every symbolic link in the existing part of absolute path `path` (dangling links
/// included: what they name is where the daemon would create or mount) and appends the
/// components that do not exist, cleaned. At most 40 links are followed, like the kernel.
resolved_path resolve_host_path(std::string_view path);

} // namespace dockgate
