#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/engine_api/route_table.hpp"
#include "gateway/http/canonical_target.hpp"

namespace dockgate::http {
namespace {

using namespace std::string_literals;

struct accepted_case {
    std::string raw;
    std::string version;
    std::vector<std::string> segments;
    std::string path;
    std::string query = {};
};

// What Go's url.PathUnescape does to the forwarded path: one %XX decoding, no '+'.
std::vector<std::string> go_decode_segments(std::string_view path) {
    std::vector<std::string> out;
    std::string current;
    for (std::size_t i = 1; i <= path.size(); ++i) {
        if (i == path.size() || path[i] == '/') {
            out.push_back(std::move(current));
            current.clear();
        } else if (path[i] == '%') {
            current.push_back(
                static_cast<char>(std::stoi(std::string{path.substr(i + 1, 2)}, nullptr, 16)));
            i += 2;
        } else {
            current.push_back(path[i]);
        }
    }
    return out;
}

TEST(CanonicalizeTarget, Accepted) {
    const std::vector<accepted_case> cases{
        {"/_ping", "", {"_ping"}, "/_ping"},
        {"/v1.41/_ping", "1.41", {"_ping"}, "/v1.41/_ping"},
        {"/v1.56/containers/abc/json",
         "1.56",
         {"containers", "abc", "json"},
         "/v1.56/containers/abc/json"},
        {"/", "", {}, "/"},
        {"/v1.41", "1.41", {}, "/v1.41"},
        {"/?x=1", "", {}, "/", "x=1"},
        {"/v1.41/containers/json?all=1&filters=%7B%22status%22%3A%5B%22running%22%5D%7D",
         "1.41",
         {"containers", "json"},
         "/v1.41/containers/json",
         "all=1&filters=%7B%22status%22%3A%5B%22running%22%5D%7D"},
        {"/v1.41/containers/json?", "1.41", {"containers", "json"}, "/v1.41/containers/json"},
        {"/v1.41/images/json?filters=[a]&x=a/b?c:d@e",
         "1.41",
         {"images", "json"},
         "/v1.41/images/json",
         "filters=[a]&x=a/b?c:d@e"},
        {"/v1.41/images/registry.example.com:5000/team/app:1.0/json",
         "1.41",
         {"images", "registry.example.com:5000", "team", "app:1.0", "json"},
         "/v1.41/images/registry.example.com:5000/team/app:1.0/json"},
        // Decoding happens once, and the path is re-encoded canonically.
        {"/v1.41/containers/%61bc/json",
         "1.41",
         {"containers", "abc", "json"},
         "/v1.41/containers/abc/json"},
        {"/v1.41/images/a%2541/json",
         "1.41",
         {"images", "a%41", "json"},
         "/v1.41/images/a%2541/json"},
        {"/v1.41/images/a%252F/json",
         "1.41",
         {"images", "a%2F", "json"},
         "/v1.41/images/a%252F/json"},
        {"/v1.41/images/a%252e%252e/json",
         "1.41",
         {"images", "a%2e%2e", "json"},
         "/v1.41/images/a%252e%252e/json"},
        {"/v1.41/containers/%7bx%7d/json",
         "1.41",
         {"containers", "{x}", "json"},
         "/v1.41/containers/%7Bx%7D/json"},
        {"/v1.41/images/caf%C3%A9/json",
         "1.41",
         {"images", "caf\xC3\xA9", "json"},
         "/v1.41/images/caf%C3%A9/json"},
        {"/v1.41/images/a%20b/json", "1.41", {"images", "a b", "json"}, "/v1.41/images/a%20b/json"},
        {"/v1.41/images/a%3Fb%23c/json",
         "1.41",
         {"images", "a?b#c", "json"},
         "/v1.41/images/a%3Fb%23c/json"},
        {"/v1.41/containers/a+b/json",
         "1.41",
         {"containers", "a+b", "json"},
         "/v1.41/containers/a+b/json"},
        {"/volumes/x!$&'()*,;=:@y", "", {"volumes", "x!$&'()*,;=:@y"}, "/volumes/x!$&'()*,;=:@y"},
        {"/volumes/%21%3A%40", "", {"volumes", "!:@"}, "/volumes/!:@"},
        {"/v1.41/images/...x/json", "1.41", {"images", "...x", "json"}, "/v1.41/images/...x/json"},
        {"/v1.41/images/%2E%2E.x/json",
         "1.41",
         {"images", "...x", "json"},
         "/v1.41/images/...x/json"},
        // The version prefix is recognised on the decoded segment, like the daemon does.
        {"/%761.41/_ping", "1.41", {"_ping"}, "/v1.41/_ping"},
        {"/v/_ping", "", {"v", "_ping"}, "/v/_ping"},
        {"/vx/_ping", "", {"vx", "_ping"}, "/vx/_ping"},
        {"/volumes", "", {"volumes"}, "/volumes"},
        {"/v1.41/v1.41/_ping", "1.41", {"v1.41", "_ping"}, "/v1.41/v1.41/_ping"},
        {"/v10.100/_ping", "10.100", {"_ping"}, "/v10.100/_ping"},
    };
    for (const auto& c : cases) {
        const auto result = canonicalize_target(c.raw);
        const auto* ok = std::get_if<canonical_target>(&result);
        ASSERT_TRUE(ok) << c.raw << ": " << std::get<target_error>(result).reason;
        EXPECT_EQ(ok->api_version, c.version) << c.raw;
        EXPECT_EQ(ok->segments, c.segments) << c.raw;
        EXPECT_EQ(ok->path, c.path) << c.raw;
        EXPECT_EQ(ok->query, c.query) << c.raw;
        EXPECT_EQ(ok->target(), c.query.empty() ? c.path : c.path + "?" + c.query) << c.raw;

        // The daemon decodes the forwarded path once and must see exactly `segments`.
        auto daemon_view = go_decode_segments(ok->path);
        if (!ok->api_version.empty()) {
            ASSERT_FALSE(daemon_view.empty());
            EXPECT_EQ(daemon_view.front(), "v" + ok->api_version);
            daemon_view.erase(daemon_view.begin());
        }
        if (ok->path != "/") {
            EXPECT_EQ(daemon_view, ok->segments) << c.raw;
        }
        // Canonical output is a fixed point.
        const auto again = canonicalize_target(ok->target());
        ASSERT_TRUE(std::holds_alternative<canonical_target>(again)) << ok->target();
        EXPECT_EQ(std::get<canonical_target>(again).target(), ok->target());
    }
}

struct rejected_case {
    std::string raw;
    std::string reason; // a substring of the reason
};

TEST(CanonicalizeTarget, Rejected) {
    const std::vector<rejected_case> cases{
        // Not origin-form.
        {"", "empty request target"},
        {"*", "asterisk-form"},
        {"http://x/_ping", "absolute-form"},
        {"https://gw.example.com:2376/v1.41/_ping", "absolute-form"},
        {"gw.example.com:2376", "origin-form"},
        {"_ping", "origin-form"},
        {"/" + std::string(8192, 'a'), "longer than 8192 bytes"},
        // Fragments.
        {"/v1.41/containers/json#x", "fragment"},
        {"/v1.41/containers/json?all=1#x", "fragment"},
        {"/#", "fragment"},
        // Empty segments, trailing slash.
        {"/v1.41//containers/json", "empty path segment"},
        {"//_ping", "empty path segment"},
        {"/v1.41/containers/json/", "empty path segment"},
        {"/v1.41/", "empty path segment"},
        {"/_ping/?x", "empty path segment"},
        // Dot segments, raw or encoded.
        {"/v1.41/containers/%2e%2E/json", "dot segment '..'"},
        {"/v1.41/containers/../json", "dot segment '..'"},
        {"/v1.41/./_ping", "dot segment '.'"},
        {"/v1.41/containers/%2E/json", "dot segment '.'"},
        {"/v1.41/containers/.%2e/json", "dot segment '..'"},
        {"/..", "dot segment"},
        // Encoded separators.
        {"/v1.41/containers/a%2Fb/json", "encoded '/' in path segment 3"},
        {"/v1.41/containers/a%2fb/json", "encoded '/'"},
        {"/v1.41/containers/a\\b/json", "'\\'"},
        {"/v1.41/containers/a%5Cb/json", "'\\'"},
        {"/v1.41/containers/a%5cb/json", "'\\'"},
        // Control characters, raw or encoded.
        {"/v1.41/containers/a%00b/json", "control character 0x00"},
        {"/v1.41/containers/%00", "control character"},
        {"/v1.41/containers/a%0Ab/json", "control character 0x0A"},
        {"/v1.41/containers/a%0d%0aX:%20y/json", "control character 0x0D"},
        {"/v1.41/containers/a%7Fb/json", "control character 0x7F"},
        {"/v1.41/containers/a\x01"
         "b/json",
         "control character 0x01"},
        {"/v1.41/containers/a\0b/json"s, "control character 0x00"},
        // Malformed escapes.
        {"/v1.41/containers/abc%/json", "malformed percent-escape"},
        {"/v1.41/containers/abc%4/json", "malformed percent-escape"},
        {"/v1.41/containers/abc%zz/json", "malformed percent-escape"},
        {"/v1.41/containers/abc%4", "malformed percent-escape"},
        {"/v1.41/containers/abc%", "malformed percent-escape"},
        {"/v1.41/containers/%%32%66/json", "malformed percent-escape"},
        // Bytes that must be percent-encoded in a path.
        {"/v1.41/containers/a b/json", "0x20 must be percent-encoded"},
        {"/v1.41/containers/a\"b/json", "must be percent-encoded"},
        {"/v1.41/containers/a<b>/json", "must be percent-encoded"},
        {"/v1.41/containers/{id}/json", "must be percent-encoded"},
        {"/v1.41/containers/a|b/json", "must be percent-encoded"},
        {"/v1.41/containers/a^b/json", "must be percent-encoded"},
        {"/v1.41/containers/a`b/json", "must be percent-encoded"},
        {"/v1.41/containers/a[0]/json", "must be percent-encoded"},
        {"/v1.41/images/caf\xC3\xA9/json", "0xC3 must be percent-encoded"},
        // Invalid UTF-8 after decoding.
        {"/v1.41/images/%C3%28/json", "invalid UTF-8"},
        {"/v1.41/images/%C0%AF/json", "invalid UTF-8"},       // overlong '/'
        {"/v1.41/images/%E0%80%AF/json", "invalid UTF-8"},    // overlong '/'
        {"/v1.41/images/%ED%A0%80/json", "invalid UTF-8"},    // surrogate
        {"/v1.41/images/%F4%90%80%80/json", "invalid UTF-8"}, // above U+10FFFF
        {"/v1.41/images/%E2%82/json", "invalid UTF-8"},       // truncated
        {"/v1.41/images/%FF/json", "invalid UTF-8"},
        {"/v1.41/images/%80/json", "invalid UTF-8"},
        // Version prefixes moby would accept as /v{version:[0-9.]+} but are not MAJOR.MINOR.
        {"/v1.41.2/_ping", "malformed API version 'v1.41.2'"},
        {"/v1/_ping", "malformed API version"},
        {"/v1./_ping", "malformed API version"},
        {"/v.41/_ping", "malformed API version"},
        {"/v1..41/_ping", "malformed API version"},
        {"/v./_ping", "malformed API version"},
        {"/v1234.1/_ping", "malformed API version"},
        {"/%76.1/_ping", "malformed API version"},
        // The query.
        {"/_ping?a=b c", "0x20 must be percent-encoded in query"},
        {"/_ping?a=\"x\"", "in query"},
        {"/_ping?a=<x>", "in query"},
        {"/_ping?a=\\", "in query"},
        {"/_ping?a=^", "in query"},
        {"/_ping?a=`", "in query"},
        {"/_ping?filters={}", "in query"},
        {"/_ping?a=|", "in query"},
        {"/_ping?a=\x7f", "0x7F must be percent-encoded in query"},
        {"/_ping?a=\x01", "in query"},
        {"/_ping?a=\r\nHost: evil", "in query"},
        {"/_ping?a=caf\xC3\xA9", "0xC3 must be percent-encoded in query"},
        {"/_ping?a=%", "malformed percent-escape in query"},
        {"/_ping?a=%4", "malformed percent-escape in query"},
        {"/_ping?a=%zz&b=1", "malformed percent-escape in query"},
    };
    for (const auto& c : cases) {
        const auto result = canonicalize_target(c.raw);
        const auto* error = std::get_if<target_error>(&result);
        ASSERT_TRUE(error) << "accepted: " << c.raw;
        EXPECT_NE(error->reason.find(c.reason), std::string::npos)
            << c.raw << ": got \"" << error->reason << "\", want \"" << c.reason << "\"";
    }
}

// `docker rm --link /web/db` sends DELETE /containers/web/db?link=1: the link's name spans two
// segments there (moby's /containers/{name:.*}), and only there. Every path trick the
// canonicaliser refuses stays refused for it.
TEST(CanonicalizeTarget, LinkNamesPassOnlyAsWholeCleanSegments) {
    auto const route = [](std::string_view method, std::string_view raw) -> std::string {
        auto const t = canonicalize_target(raw);
        if (auto const* e = std::get_if<target_error>(&t))
            return "refused: " + e->reason;
        auto const m = engine_api::route_table::engine_api().match(
            method, std::get<canonical_target>(t).segments);
        return m ? std::string(m->operation) + " " + m->params.at(0).second : "unknown route";
    };
    EXPECT_EQ(route("DELETE", "/v1.41/containers/web/db?link=1"), "ContainerDelete web/db");
    EXPECT_EQ(route("DELETE", "/v1.41/containers/web?link=1"), "ContainerDelete web");
    EXPECT_EQ(route("GET", "/v1.41/containers/web/db/json"), "unknown route");
    EXPECT_EQ(route("POST", "/v1.41/containers/web/db/kill"), "unknown route");
    for (auto const* trick :
         {"/v1.41/containers/web/../db?link=1", "/v1.41/containers/web/%2e%2E?link=1",
          "/v1.41/containers/web/./db", "/v1.41/containers/web%2Fdb?link=1",
          "/v1.41/containers/web%2fdb", "/v1.41/containers/web//db", "/v1.41/containers/web/db/",
          "/v1.41/containers//db", "/v1.41/containers/web%5Cdb", "/v1.41/containers/web/d%00b"}) {
        EXPECT_EQ(route("DELETE", trick).rfind("refused: ", 0), 0u) << trick;
    }
}

TEST(CanonicalizeTarget, LengthLimitIsInclusive) {
    const std::string longest = "/" + std::string(max_target_length - 1, 'a');
    EXPECT_TRUE(std::holds_alternative<canonical_target>(canonicalize_target(longest)));
    EXPECT_TRUE(std::holds_alternative<target_error>(canonicalize_target(longest + "a")));
}

// Random targets over an alphabet rich in the tricky bytes: never a crash, and whatever
// is accepted has only clean segments and canonicalises to itself.
TEST(CanonicalizeTarget, RandomTargetsKeepTheInvariants) {
    const std::string_view alphabet = "/%2eEfF5cC0.av14?#\\+ :";
    std::mt19937 rng{20240601}; // NOLINT(cert-msc32-c,cert-msc51-cpp): a failure must replay
    std::uniform_int_distribution<std::size_t> pick{0, alphabet.size() - 1};
    std::uniform_int_distribution<std::size_t> length{1, 24};
    std::size_t accepted = 0;
    for (int n = 0; n < 20000; ++n) {
        std::string raw = "/";
        for (std::size_t i = length(rng); i > 0; --i) {
            raw += alphabet[pick(rng)];
        }
        const auto result = canonicalize_target(raw);
        const auto* ok = std::get_if<canonical_target>(&result);
        if (!ok) {
            continue;
        }
        ++accepted;
        for (const auto& segment : ok->segments) {
            EXPECT_FALSE(segment.empty() || segment == "." || segment == "..") << raw;
            EXPECT_EQ(segment.find_first_of("/\\"s + '\0'), std::string::npos) << raw;
        }
        const auto again = canonicalize_target(ok->target());
        ASSERT_TRUE(std::holds_alternative<canonical_target>(again)) << raw;
        EXPECT_EQ(std::get<canonical_target>(again).segments, ok->segments) << raw;
        EXPECT_EQ(std::get<canonical_target>(again).target(), ok->target()) << raw;
    }
    EXPECT_GT(accepted, 100u); // the alphabet must not make everything invalid
}

} // namespace
} // namespace dockgate::http
