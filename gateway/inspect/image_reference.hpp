#pragma once
// Image references normalised the way the daemon does (distribution/reference
// ParseNormalizedNamed and ParseAnyReference), so that "ubuntu", "library/ubuntu",
// "docker.io/ubuntu" and "index.docker.io/library/ubuntu" are judged as the same image. Where
// the daemons this gateway fronts (moby v20.10.24 and current moby) read a name differently, the
// name is refused; see image_reference.cpp for the grammar and its sources.

#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "config/constraints.hpp"

namespace dockgate::inspect {

struct image_reference {
    // The registry host as the daemon reads it, never upper case: "docker.io" (for Docker Hub,
    // however it was written), "localhost:5000", "registry-1.docker.io".
    std::string domain;
    std::string path;   // "library/ubuntu"; at most 255 characters with the domain and a '/'
    std::string tag;    // "" when none was given (the daemon then means "latest")
    std::string digest; // "sha256:<hex>" or ""
    // True for a name that is hex ("3f57d94") or "sha256:" and hex: when no image has that name,
    // the daemon resolves it as a prefix of a local image ID, whose registry it does not tell.
    bool may_be_image_id = false;

    /// "docker.io/library/ubuntu:latest", "registry.example.com/app@sha256:..."
    std::string str() const;
};

/// A content-addressed local image ("sha256:<hex>" or 64 hex digits): no registry in the name.
struct image_id {
    std::string id;
};

/// Parses `text` like the daemon's image lookups (ParseAnyReference). Returns the reason (a
/// sentence) when the daemon would refuse the name, and also when daemon versions would read it
/// differently (an IPv6 or upper-case registry host; a host, '/' and path longer than 255
/// characters, "docker.io/library/" included), when the daemon would read it with no registry
/// host ("foo_bar.com/x"), or when its registry port is not 1-65535. Pure; any thread.
std::variant<image_reference, image_id, std::string> parse_image_reference(std::string_view text);

/// digest.Parse: "sha256:" + 64 lower-case hex (sha384: 96, sha512: 128).
bool is_digest(std::string_view text) noexcept;

/// True when the reference lies in one of the scopes: same registry host (and port), and the
/// repository path equal to the scope's path or below it by whole components.
bool reference_in_scopes(image_reference const& ref,
                         std::span<config::registry_scope const> scopes);

} // namespace dockgate::inspect
