#include "common/engine_api/route_table.hpp"

#include <algorithm>
#include <array>

namespace dockgate::engine_api {
namespace {

constexpr route_spec engine_routes[] = {
#include "common/engine_api/routes.inc"
};

// moby registers these parameters as {name:.*} because image and plugin references
// contain '/' ("registry.example.com:5000/team/app:1.0"). moby uses {name:.*} for
// containers, exec and volumes too; their names cannot contain '/', with one exception:
// a link's name is "/parent/alias", and `docker rm --link` deletes it as
// DELETE /containers/parent/alias?link=1. That route has no suffix, so a greedy name cannot
// be mistaken for another operation; every other container route keeps its id one segment,
// and a multi-segment id there is an unknown route (denied).
constexpr bool spans_segments(std::string_view path_template, std::string_view first_segment,
                              std::string_view param) {
    return (param == "name" && (first_segment == "images" || first_segment == "distribution" ||
                                first_segment == "plugins")) ||
           path_template == "/containers/{id}";
}

constexpr bool is_param(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Calls f(segment) for each '/'-separated segment of a template ("/a/{b}" -> a, {b}).
template <class F>
constexpr void for_each_segment(std::string_view path_template, F&& f) {
    std::string_view rest = path_template.substr(1);
    for (;;) {
        const auto slash = rest.find('/');
        f(rest.substr(0, slash));
        if (slash == std::string_view::npos) {
            return;
        }
        rest.remove_prefix(slash + 1);
    }
}

// The matcher relies on these; checking them at compile time keeps a bad routes.inc
// from ever reaching the data path.
constexpr bool valid_template(std::string_view path_template) {
    if (path_template.size() < 2 || path_template.front() != '/') {
        return false;
    }
    bool ok = true;
    bool first = true;
    std::string_view first_segment;
    int multi = 0;
    for_each_segment(path_template, [&](std::string_view segment) {
        const bool param = is_param(segment);
        const auto inner = param ? segment.substr(1, segment.size() - 2) : segment;
        ok = ok && !segment.empty() && !(first && param) &&
             inner.find_first_of("{}") == std::string_view::npos;
        if (first) {
            first_segment = segment;
        }
        multi += param && spans_segments(path_template, first_segment, inner) ? 1 : 0;
        first = false;
    });
    return ok && multi <= 1;
}

constexpr bool valid_routes() {
    for (const auto& route : engine_routes) {
        if (route.method.empty() || route.operation.empty() ||
            !valid_template(route.path_template)) {
            return false;
        }
    }
    return true;
}
static_assert(valid_routes(), "routes.inc: every template is /literal[/segment...] with "
                              "whole-segment {params} and at most one multi-segment param");

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) { return lower(x) == lower(y); });
}

// Case-insensitive Levenshtein distance; both inputs are at most max_name bytes.
constexpr std::size_t max_name = 64;
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::array<std::size_t, max_name + 1> previous{};
    std::array<std::size_t, max_name + 1> current{};
    for (std::size_t j = 0; j <= b.size(); ++j) {
        previous[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitute = previous[j - 1] + (lower(a[i - 1]) != lower(b[j - 1]));
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
        }
        previous = current;
    }
    return previous[b.size()];
}

// docker CLI verbs people write in policies that are not operationIds. Edit distance
// alone would answer "ImagePull" with ImagePush, the opposite of what was meant.
struct alias {
    std::string_view name;
    std::string_view operation;
};
constexpr alias cli_aliases[] = {
    {"ContainerRun", "ContainerCreate"},
    {"ContainerRm", "ContainerDelete"},
    {"ContainerRemove", "ContainerDelete"},
    {"ContainerPs", "ContainerList"},
    {"ContainerLs", "ContainerList"},
    {"ContainerCp", "ContainerArchive"},
    {"ExecCreate", "ContainerExec"},
    {"ImagePull", "ImageCreate"},
    {"ImageImport", "ImageCreate"},
    {"ImageRm", "ImageDelete"},
    {"ImageRemove", "ImageDelete"},
    {"ImageSave", "ImageGet"},
    {"ImageLs", "ImageList"},
    {"VolumeRm", "VolumeDelete"},
    {"NetworkRm", "NetworkDelete"},
    {"SystemDf", "SystemDataUsage"},
};

} // namespace

std::span<const route_spec> route_table::routes() const {
    return specs_;
}

const route_table& route_table::engine_api() {
    static const route_table table{engine_routes};
    return table;
}

route_table::route_table(std::span<const route_spec> specs)
    : specs_(specs) {
    for (const auto& spec : specs) {
        compiled_route route{spec, {}, 0, no_multi};
        for_each_segment(spec.path_template, [&](std::string_view segment) {
            if (!is_param(segment)) {
                route.pattern.push_back({segment_kind::literal, segment});
                ++route.literal_count;
                return;
            }
            const auto name = segment.substr(1, segment.size() - 2);
            if (spans_segments(spec.path_template, route.pattern.front().text, name)) {
                route.multi_index = route.pattern.size();
                route.pattern.push_back({segment_kind::multi_param, name});
            } else {
                route.pattern.push_back({segment_kind::param, name});
            }
        });
        const auto first = route.pattern.front().text;
        auto it = std::ranges::lower_bound(buckets_, first, {}, &bucket::first_segment);
        if (it == buckets_.end() || it->first_segment != first) {
            it = buckets_.insert(it, bucket{first, {}});
        }
        it->routes.push_back(std::move(route));
        operations_.push_back(spec.operation);
    }
    // Literal routes win over templated ones (/images/json is ImageList, never an
    // image named "json"), as in moby, which registers literal routes first. Today no
    // two routes of one method can match the same path, so this order only matters if a
    // later API version adds an overlap.
    for (auto& b : buckets_) {
        std::ranges::stable_sort(b.routes, [](const compiled_route& a, const compiled_route& c) {
            if (a.literal_count != c.literal_count) {
                return a.literal_count > c.literal_count;
            }
            return a.multi_index == no_multi && c.multi_index != no_multi;
        });
    }
    std::ranges::sort(operations_);
    operations_.erase(std::unique(operations_.begin(), operations_.end()), operations_.end());
}

bool route_table::matches(const compiled_route& route, std::span<const std::string> segments) {
    const auto& pattern = route.pattern;
    if (segments.size() < pattern.size() ||
        (route.multi_index == no_multi && segments.size() != pattern.size())) {
        return false;
    }
    // A multi-segment parameter absorbs the surplus; the literal suffix is matched from
    // the right, like moby's greedy {name:.*} regexp.
    const std::size_t surplus = segments.size() - pattern.size();
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const std::size_t at =
            route.multi_index != no_multi && i > route.multi_index ? i + surplus : i;
        switch (pattern[i].kind) {
        case segment_kind::literal:
            if (segments[at] != pattern[i].text) {
                return false;
            }
            break;
        case segment_kind::param:
            if (segments[at].empty()) {
                return false;
            }
            break;
        case segment_kind::multi_param:
            for (std::size_t j = at; j <= at + surplus; ++j) {
                if (segments[j].empty()) {
                    return false;
                }
            }
            break;
        }
    }
    return true;
}

route_match route_table::bind(const compiled_route& route, std::span<const std::string> segments) {
    route_match result{route.spec.operation, route.spec.path_template, {}};
    const std::size_t surplus = segments.size() - route.pattern.size();
    for (std::size_t i = 0; i < route.pattern.size(); ++i) {
        const auto& p = route.pattern[i];
        const std::size_t at =
            route.multi_index != no_multi && i > route.multi_index ? i + surplus : i;
        if (p.kind == segment_kind::param) {
            result.params.emplace_back(p.text, segments[at]);
        } else if (p.kind == segment_kind::multi_param) {
            std::string value = segments[at];
            for (std::size_t j = at + 1; j <= at + surplus; ++j) {
                value += '/';
                value += segments[j];
            }
            result.params.emplace_back(p.text, std::move(value));
        }
    }
    return result;
}

std::optional<route_match> route_table::match(std::string_view method,
                                              std::span<const std::string> segments) const {
    if (segments.empty()) {
        return std::nullopt;
    }
    const std::string_view first = segments.front();
    const auto it = std::ranges::lower_bound(buckets_, first, {}, &bucket::first_segment);
    if (it == buckets_.end() || it->first_segment != first) {
        return std::nullopt;
    }
    for (const auto& route : it->routes) {
        if (route.spec.method == method && matches(route, segments)) {
            return bind(route, segments);
        }
    }
    return std::nullopt;
}

bool route_table::is_operation(std::string_view id) const {
    return std::ranges::binary_search(operations_, id);
}

const std::vector<std::string_view>& route_table::operations() const {
    return operations_;
}

bool route_table::glob_matches_any(std::string_view glob) const {
    return std::ranges::any_of(operations_,
                               [glob](std::string_view op) { return glob_match(glob, op); });
}

std::string_view route_table::suggest(std::string_view unknown) const {
    if (unknown.empty() || unknown.size() > max_name) {
        return {};
    }
    for (const auto& a : cli_aliases) {
        if (iequals(a.name, unknown) && is_operation(a.operation)) {
            return a.operation;
        }
    }
    // Close enough to be a typo: about one edit per four characters, at least two.
    std::size_t best_distance = std::max<std::size_t>(2, unknown.size() / 4) + 1;
    std::string_view best;
    for (const auto op : operations_) {
        if (op.size() > max_name) {
            continue;
        }
        const std::size_t distance = edit_distance(unknown, op);
        if (distance < best_distance) {
            best_distance = distance;
            best = op;
        }
    }
    return best;
}

bool glob_match(std::string_view glob, std::string_view text) {
    // Linear backtracking over the last '*': enough because '*' is the only wildcard.
    std::size_t g = 0;
    std::size_t t = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (t < text.size()) {
        if (g < glob.size() && glob[g] == '*') {
            star = g++;
            resume = t;
        } else if (g < glob.size() && glob[g] == text[t]) {
            ++g;
            ++t;
        } else if (star != std::string_view::npos) {
            g = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g] == '*') {
        ++g;
    }
    return g == glob.size();
}

} // namespace dockgate::engine_api
