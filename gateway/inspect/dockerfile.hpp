#pragma once
// What a build pulls, read from its context: the Dockerfile inside the tar the client sends,
// and the images it names (FROM, COPY --from, RUN --mount from=, and the `# syntax=` frontend).
// Pure; bounded by the context's size.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockgate::inspect {

/// The content of file `name` in an uncompressed tar archive (ustar, with PAX and GNU long
/// names), as the daemon would see it after extracting the archive: the last entry of that
/// name wins. nullopt with `error` set when the archive cannot be read, is compressed, or the
/// file is missing or too large.
std::optional<std::string> file_from_tar(std::string_view tar, std::string_view name,
                                         std::string& error);

/// The images a Dockerfile makes the builder pull. Build arguments (`buildargs`, then the ARG
/// defaults before the first FROM) are substituted where the builder would; a reference that
/// still holds a variable is refused in `error`, since the gateway cannot say what it names.
struct dockerfile_images {
    std::vector<std::string> images; // "busybox:1", "registry.example.com/app@sha256:..."
    std::string syntax;              // the `# syntax=` frontend image, "" when none
    std::string error;               // set when the Dockerfile cannot be judged
};
dockerfile_images
images_of_dockerfile(std::string_view dockerfile,
                     std::vector<std::pair<std::string, std::string>> const& build_args);

} // namespace dockgate::inspect
