#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/engine_api/route_table.hpp"

namespace dockgate::engine_api {
namespace {

// ---------------------------------------------------------------------------
// An independent reader of the Swagger definitions, so that a bug in
// tools/generate_routes.py cannot hide behind a test that reads its output.

struct defined_route {
    std::string method;
    std::string path_template;
    std::string operation;
};

std::string trim(std::string_view s) {
    const auto begin = s.find_first_not_of(" \t\r");
    const auto end = s.find_last_not_of(" \t\r");
    return begin == s.npos ? std::string{} : std::string{s.substr(begin, end - begin + 1)};
}

std::vector<defined_route> read_definition(const std::string& file) {
    std::ifstream in{std::string{DOCKGATE_API_DIR} + "/" + file};
    EXPECT_TRUE(in) << "cannot open " << file;
    const std::set<std::string> methods{"get", "put", "post", "delete", "head", "patch", "options"};
    std::vector<defined_route> routes;
    std::string line;
    bool in_paths = false;
    std::string path;
    std::string method;
    while (std::getline(in, line)) {
        if (!in_paths) {
            in_paths = trim(line) == "paths:" && line.front() == 'p';
            continue;
        }
        if (!line.empty() && line.front() != ' ' && line.front() != '#') {
            break;
        }
        const auto indent = line.find_first_not_of(' ');
        const std::string text = trim(line);
        if (indent == 2 && text.starts_with("/") && text.ends_with(":")) {
            path = text.substr(0, text.size() - 1);
            method.clear();
        } else if (indent == 4 && text.ends_with(":") &&
                   methods.contains(text.substr(0, text.size() - 1))) {
            method = text.substr(0, text.size() - 1);
            std::ranges::transform(method, method.begin(),
                                   [](char c) { return static_cast<char>(c - 'a' + 'A'); });
        } else if (indent == 6 && text.starts_with("operationId:") && !method.empty()) {
            std::string id = trim(std::string_view{text}.substr(12));
            std::erase(id, '"');
            routes.push_back({method, path, id});
            method.clear();
        }
    }
    return routes;
}

const std::vector<defined_route>& definitions() {
    static const auto all = [] {
        auto routes = read_definition("engine-api-v1.41.yaml");
        const auto newer = read_definition("engine-api-v1.56.yaml");
        routes.insert(routes.end(), newer.begin(), newer.end());
        return routes;
    }();
    return all;
}

std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> out;
    for (std::size_t start = 1; start <= path.size();) {
        const auto slash = std::min(path.find('/', start), path.size());
        out.emplace_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return out;
}

bool spans_segments(std::string_view path_template, std::string_view param) {
    return (param == "{name}" &&
            (path_template.starts_with("/images/") || path_template.starts_with("/distribution/") ||
             path_template.starts_with("/plugins/"))) ||
           path_template == "/containers/{id}";
}

// The template with every {param} replaced by `single`, or by `multi` where moby's
// {name:.*} lets it span segments.
std::string instantiate(std::string_view path_template, std::string_view single,
                        std::string_view multi) {
    std::string out;
    for (const auto& segment : split(path_template)) {
        out += '/';
        out += segment.starts_with("{") ? (spans_segments(path_template, segment) ? multi : single)
                                        : std::string_view{segment};
    }
    return out;
}

std::optional<route_match> match(std::string_view method, std::string_view path) {
    const auto segments = split(path);
    return route_table::engine_api().match(method, segments);
}

// ---------------------------------------------------------------------------

TEST(RouteTable, EveryDefinedRouteMatchesItsOperation) {
    ASSERT_GT(definitions().size(), 200u); // both files, ~100 routes each
    const std::vector<std::pair<std::string_view, std::string_view>> samples{
        {"abc123", "busybox"},
        {"abc123", "registry.example.com:5000/team/app:1.0"},
        {"json", "library/json"}, // parameter values that look like literals
    };
    for (const auto& route : definitions()) {
        for (const auto& [single, multi] : samples) {
            const auto path = instantiate(route.path_template, single, multi);
            const auto m = match(route.method, path);
            ASSERT_TRUE(m) << route.method << " " << path;
            EXPECT_EQ(m->operation, route.operation) << route.method << " " << path;
            EXPECT_EQ(m->path_template, route.path_template);
            for (const auto& [name, value] : m->params) {
                std::string placeholder = "{";
                placeholder.append(name).append("}");
                const bool spans = spans_segments(route.path_template, placeholder);
                EXPECT_EQ(value, spans ? multi : single) << route.method << " " << path;
            }
        }
    }
}

// A parameter whose value equals some literal ("json", "create", "prune", ...) is
// still that parameter, unless the whole path is a literal route of the same method.
TEST(RouteTable, ParameterValuesThatLookLikeLiteralsStayParameters) {
    std::set<std::string> literals;
    std::map<std::pair<std::string, std::string>, std::string> literal_routes;
    for (const auto& route : definitions()) {
        bool all_literal = true;
        for (const auto& segment : split(route.path_template)) {
            if (segment.starts_with("{")) {
                all_literal = false;
            } else {
                literals.insert(segment);
            }
        }
        if (all_literal) {
            literal_routes[{route.method, route.path_template}] = route.operation;
        }
    }
    std::size_t checked = 0;
    for (const auto& route : definitions()) {
        if (route.path_template.find('{') == std::string::npos) {
            continue;
        }
        for (const auto& literal : literals) {
            const auto path = instantiate(route.path_template, literal, "a/" + literal);
            const auto it = literal_routes.find({route.method, path});
            const auto& expected = it == literal_routes.end() ? route.operation : it->second;
            const auto m = match(route.method, path);
            ASSERT_TRUE(m) << route.method << " " << path;
            EXPECT_EQ(m->operation, expected) << route.method << " " << path;
            ++checked;
        }
    }
    EXPECT_GT(checked, 5000u);
}

TEST(RouteTable, OperationsAreExactlyTheDefinitionsPlusGrpc) {
    std::set<std::string> expected{"Grpc"};
    for (const auto& route : definitions()) {
        expected.insert(route.operation);
    }
    const auto& operations = route_table::engine_api().operations();
    EXPECT_TRUE(std::ranges::is_sorted(operations));
    EXPECT_TRUE(std::ranges::adjacent_find(operations) == operations.end());
    EXPECT_EQ(std::vector<std::string>(operations.begin(), operations.end()),
              std::vector<std::string>(expected.begin(), expected.end()));
}

struct match_case {
    std::string_view method;
    std::string_view path;
    std::string_view operation; // "" = no route
    std::vector<std::pair<std::string_view, std::string>> params = {};
};

TEST(RouteTable, ExplicitCases) {
    const std::vector<match_case> cases{
        // Literal routes win over {name:.*}.
        {"GET", "/images/json", "ImageList"},
        {"GET", "/images/search", "ImageSearch"},
        {"GET", "/images/get", "ImageGetAll"},
        {"POST", "/images/load", "ImageLoad"},
        {"POST", "/images/create", "ImageCreate"},
        {"POST", "/images/prune", "ImagePrune"},
        {"GET", "/containers/json", "ContainerList"},
        {"GET", "/plugins/privileges", "GetPluginPrivileges"},
        {"POST", "/plugins/pull", "PluginPull"},
        // A multi-segment name matches from the right.
        {"GET", "/images/foo/bar/json", "ImageInspect", {{"name", "foo/bar"}}},
        {"GET", "/images/json/json", "ImageInspect", {{"name", "json"}}},
        {"GET", "/images/a/json/history", "ImageHistory", {{"name", "a/json"}}},
        {"GET", "/images/get/get", "ImageGet", {{"name", "get"}}},
        {"POST", "/images/r.io:5000/a/b:1/tag", "ImageTag", {{"name", "r.io:5000/a/b:1"}}},
        {"DELETE",
         "/images/r.io:5000/team/app:1.0",
         "ImageDelete",
         {{"name", "r.io:5000/team/app:1.0"}}},
        {"DELETE", "/images/json", "ImageDelete", {{"name", "json"}}},
        {"GET",
         "/plugins/vieux/sshfs:latest/json",
         "PluginInspect",
         {{"name", "vieux/sshfs:latest"}}},
        {"GET",
         "/distribution/docker.io/library/busybox/json",
         "DistributionInspect",
         {{"name", "docker.io/library/busybox"}}},
        // Ordinary parameters are one segment.
        {"GET", "/containers/abc/json", "ContainerInspect", {{"id", "abc"}}},
        {"GET", "/containers/a/b/json", ""},
        {"POST", "/containers/a/b/start", ""},
        {"GET", "/containers/a/b/archive", ""},
        // ...but a link's name "/parent/alias" is deleted as moby's DELETE
        // /containers/{name:.*} (`docker rm --link`); that route has no suffix to confuse.
        {"DELETE", "/containers/web/db", "ContainerDelete", {{"id", "web/db"}}},
        {"DELETE", "/containers/web/json", "ContainerDelete", {{"id", "web/json"}}},
        {"DELETE", "/containers/abc", "ContainerDelete", {{"id", "abc"}}},
        {"GET", "/containers/abc/json/extra", ""},
        {"GET", "/containers/abc/attach/ws", "ContainerAttachWebsocket", {{"id", "abc"}}},
        {"POST", "/exec/e1/start", "ExecStart", {{"id", "e1"}}},
        {"GET", "/volumes/data", "VolumeInspect", {{"name", "data"}}},
        // Methods are exact; HEAD is its own.
        {"GET", "/_ping", "SystemPing"},
        {"HEAD", "/_ping", "SystemPingHead"},
        {"DELETE", "/_ping", ""},
        {"get", "/_ping", ""},
        {"HEAD", "/containers/abc/archive", "ContainerArchiveInfo", {{"id", "abc"}}},
        {"HEAD", "/containers/abc/json", ""},
        // Upgrades used by BuildKit.
        {"POST", "/grpc", "Grpc"},
        {"GET", "/grpc", ""},
        {"POST", "/session", "Session"},
        // Unknown.
        {"GET", "/foo", ""},
        {"GET", "/images", ""},
        {"GET", "/Containers/json", ""},
        {"GET", "/images//json", ""},
        {"GET", "/v1.41/_ping", ""}, // the version prefix is the canonicaliser's job
    };
    for (const auto& c : cases) {
        const auto m = match(c.method, c.path);
        if (c.operation.empty()) {
            EXPECT_FALSE(m) << c.method << " " << c.path << " matched " << m->operation;
            continue;
        }
        ASSERT_TRUE(m) << c.method << " " << c.path;
        EXPECT_EQ(m->operation, c.operation) << c.method << " " << c.path;
        if (!c.params.empty()) {
            EXPECT_EQ(m->params, c.params) << c.method << " " << c.path;
        }
    }
    EXPECT_FALSE(route_table::engine_api().match("GET", std::span<const std::string>{}));
}

TEST(RouteTable, IsOperation) {
    const auto& table = route_table::engine_api();
    EXPECT_TRUE(table.is_operation("ContainerCreate"));
    EXPECT_TRUE(table.is_operation("Grpc"));
    EXPECT_TRUE(table.is_operation("Session"));
    EXPECT_FALSE(table.is_operation("Container*"));
    EXPECT_FALSE(table.is_operation("containercreate"));
    EXPECT_FALSE(table.is_operation(""));
}

TEST(RouteTable, GlobMatchesAny) {
    const auto& table = route_table::engine_api();
    for (const auto glob : {"*", "Container*", "SystemPing*", "*Ping", "Image*Get*", "ExecStart"}) {
        EXPECT_TRUE(table.glob_matches_any(glob)) << glob;
    }
    for (const auto glob : {"", "Foo*", "ContainerRun", "container*", "*Pong*"}) {
        EXPECT_FALSE(table.glob_matches_any(glob)) << glob;
    }
}

TEST(RouteTable, Suggest) {
    const auto& table = route_table::engine_api();
    const std::vector<std::pair<std::string_view, std::string_view>> cases{
        {"ContainerRun", "ContainerCreate"}, // CLI verb, not the edit-distance ContainerPrune
        {"ImagePull", "ImageCreate"},        // not ImagePush
        {"imagepull", "ImageCreate"},
        {"ContainerStrat", "ContainerStart"},
        {"containerlist", "ContainerList"},
        {"SystemPnig", "SystemPing"},
        {"ExecInspekt", "ExecInspect"},
        {"Frobnicate", ""},
        {"", ""},
        {std::string_view{"ContainerCreateContainerCreateContainerCreateContainerCreateContainer"},
         ""},
    };
    for (const auto& [unknown, expected] : cases) {
        EXPECT_EQ(table.suggest(unknown), expected) << unknown;
    }
}

TEST(GlobMatch, Table) {
    const std::vector<std::tuple<std::string_view, std::string_view, bool>> cases{
        {"*", "", true},
        {"*", "ContainerList", true},
        {"", "", true},
        {"", "a", false},
        {"ContainerList", "ContainerList", true},
        {"ContainerList", "ContainerLis", false},
        {"Container*", "ContainerList", true},
        {"Container*", "Container", true},
        {"Container*", "ImageList", false},
        {"*List", "ContainerList", true},
        {"*List", "ContainerListing", false},
        {"C*r*t", "ContainerStart", true},
        {"C*r*t", "ContainerStop", false},
        {"**", "x", true},
        {"a*b*c", "abbbc", true},
        {"a*b*c", "acb", false},
        {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
        {"?", "?", true}, // no metacharacters but '*'
        {"?", "a", false},
        {"container*", "ContainerList", false}, // case-sensitive
    };
    for (const auto& [glob, text, expected] : cases) {
        EXPECT_EQ(glob_match(glob, text), expected) << glob << " vs " << text;
    }
}

} // namespace
} // namespace dockgate::engine_api
