#pragma once

// The Docker Engine API route table: maps a method and a canonical path to the
// operationId that policy rules name ("ContainerCreate", "ExecStart", ...).
//
// The routes come from routes.inc, generated from the Swagger definitions by
// tools/generate_routes.py. Matching mirrors the daemon's gorilla/mux router closely
// enough that the operation the policy judges is the handler the daemon runs: a
// request the table cannot place is unknown and must be denied.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockgate::engine_api {

// One line of routes.inc.
struct route_spec {
    std::string_view method;        // "GET", "HEAD", ...
    std::string_view path_template; // "/containers/{id}/json"
    std::string_view operation;     // "ContainerInspect"
};

struct route_match {
    std::string_view operation;     // e.g. "ContainerCreate"
    std::string_view path_template; // e.g. "/containers/{id}/json"
    // {"id", "abc"}; a multi-segment parameter's segments are joined with '/'.
    std::vector<std::pair<std::string_view, std::string>> params;
};

// Immutable after construction; safe to share between threads.
class route_table {
public:
    // The table built from routes.inc, once (function-local static).
    static const route_table& engine_api();

    // `segments` are the decoded path segments after the optional /vX.Y prefix was
    // removed, e.g. {"containers", "abc", "json"}. Returns nullopt when no route
    // matches (also for a known path with another method). Does not throw other
    // than std::bad_alloc for the parameter copies.
    std::optional<route_match> match(std::string_view method,
                                     std::span<const std::string> segments) const;

    bool is_operation(std::string_view id) const;            // exact operationId exists
    std::span<const route_spec> routes() const;              // every route, as listed
    const std::vector<std::string_view>& operations() const; // sorted, unique
    bool glob_matches_any(std::string_view glob) const;      // for config validation
    // The closest operation for a "did you mean" hint, or empty if nothing is close.
    // Knows the docker CLI verbs that are not operationIds ("ImagePull" is ImageCreate).
    std::string_view suggest(std::string_view unknown) const;

private:
    static constexpr std::size_t no_multi = static_cast<std::size_t>(-1);
    enum class segment_kind : unsigned char { literal, param, multi_param };
    struct segment_pattern {
        segment_kind kind;
        std::string_view text; // the literal, or the parameter name without braces
    };
    struct compiled_route {
        route_spec spec;
        std::vector<segment_pattern> pattern; // pattern[0] is always a literal
        std::size_t literal_count = 0;
        std::size_t multi_index = no_multi; // the one multi-segment parameter, if any
    };
    struct bucket {
        std::string_view first_segment;
        std::vector<compiled_route> routes; // most specific first
    };

    explicit route_table(std::span<const route_spec> specs);
    static bool matches(const compiled_route& route, std::span<const std::string> segments);
    static route_match bind(const compiled_route& route, std::span<const std::string> segments);

    std::span<const route_spec> specs_;
    std::vector<bucket> buckets_; // sorted by first_segment
    std::vector<std::string_view> operations_;
};

// '*' matches any run of characters (also none); every other character is literal.
bool glob_match(std::string_view glob, std::string_view text);

} // namespace dockgate::engine_api
