#pragma once

// Canonicalises an HTTP request-target once, before routing and policy.
//
// The daemon (Go net/http + gorilla/mux) percent-decodes the path exactly once and
// routes on the decoded form. Anything that two parsers could read differently --
// encoded '/', dot segments, empty segments, backslashes, double encoding, malformed
// escapes -- is rejected here, and what is forwarded is `target()`: a re-encoding that
// the daemon decodes to exactly `segments`, so policy and daemon see the same path.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dockgate::http {

// Longest request-target accepted; longer ones are rejected before any parsing.
inline constexpr std::size_t max_target_length = 8192;

struct canonical_target {
    std::string api_version;           // "1.41" when the target had a /v1.41 prefix, else empty
    std::vector<std::string> segments; // decoded segments after the version prefix
    std::string path;                  // canonical, re-encoded, with the /vX.Y prefix if present
    std::string query;                 // without '?', validated, forwarded as received ("" if none)

    std::string target() const; // path + ("?" + query if non-empty)

    // Replaces segment `index` (after the version prefix) and re-encodes `path`.
    void replace_segment(std::size_t index, std::string value);
    void rebuild_path(); // `path` from api_version and segments
};

/// One path segment encoded so that the daemon's single decoding yields exactly `segment`.
std::string encode_path_segment(std::string_view segment);

struct target_error {
    // Human-readable, e.g. "encoded '/' in path segment 3". Offending bytes are shown
    // as hex, never echoed raw, so the reason is safe to log and to send back.
    std::string reason;
};

// Accepts origin-form only ("/path?query"). Pure, no I/O; reports every rejection as
// a target_error and throws nothing but std::bad_alloc.
std::variant<canonical_target, target_error> canonicalize_target(std::string_view raw);

} // namespace dockgate::http
