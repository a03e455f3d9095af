#pragma once
// Image references normalised the way the daemon does (distribution/reference
// ParseNormalizedNamed), so that "ubuntu", "library/ubuntu", "docker.io/ubuntu" and
// "index.docker.io/library/ubuntu:latest" are judged as the same image.

#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config/constraints.hpp"

namespace dockgate::inspect {

struct image_reference {
    std::string
        domain;       // as the daemon would contact it, lower-cased: "docker.io", "localhost:5000"
    std::string path; // "library/ubuntu"
    std::string tag;  // "" when none was given (the daemon then means "latest")
    std::string digest; // "sha256:<hex>" or ""
    // True for a bare all-hex name ("3f57d94"): when no image has that name, the daemon resolves
    // it as a prefix of a local image ID, whose registry the name does not tell.
    bool may_be_image_id = false;

    /// "docker.io/library/ubuntu:latest", "registry.example.com/app@sha256:..."
    std::string str() const;
};

/// A content-addressed local image ("sha256:<hex>" or 64 hex digits): no registry in the name.
struct image_id {
    std::string id;
};

/// Parses `text` like the daemon's image lookups. Returns the reason (a sentence) when the daemon
/// would refuse the name.
std::variant<image_reference, image_id, std::string> parse_image_reference(std::string_view text);

/// digest.Parse: "sha256:" + 64 lower-case hex (sha384: 96, sha512: 128).
bool is_digest(std::string_view text) noexcept;

/// True when the reference lies in one of the scopes: same registry host (and port), and the
/// repository path equal to the scope's path or below it by whole components.
bool reference_in_scopes(image_reference const& ref,
                         std::span<config::registry_scope const> scopes);

} // namespace dockgate::inspect
