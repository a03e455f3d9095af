#include "gateway/inspect/daemon_rules.hpp"

#include <algorithm>
#include <cstdint>

#include "config/constraints.hpp"
#include "gateway/inspect/go_fold.hpp"

namespace dockgate::inspect {

namespace {

// strconv.Atoi: an optional sign and decimal digits; nullopt when Go would fail (then runc
// treats the text as a name). Values are clamped to int64's range check only.
std::optional<std::int64_t> go_atoi(std::string_view s) {
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
        if (v > (INT64_MAX - (c - '0')) / 10)
            return std::nullopt; // out of range: Atoi fails
        v = v * 10 + (c - '0');
    }
    return negative ? -v : v;
}

constexpr std::int64_t max_id = 2147483647; // runc's maxID: larger ids fail at start

} // namespace

std::optional<bind_spec> parse_bind(std::string_view raw) {
    std::string_view parts[4];
    std::size_t n = 0;
    std::string_view rest = raw;
    while (n < 3) {
        auto const colon = rest.find(':');
        if (colon == std::string_view::npos)
            break;
        parts[n++] = rest.substr(0, colon);
        rest = rest.substr(colon + 1);
    }
    parts[n++] = rest;
    if (parts[0].empty() || n == 4)
        return std::nullopt;
    bind_spec spec;
    if (n >= 2) {
        spec.source = std::string(parts[0]);
        spec.host_path = spec.source.front() == '/';
    }
    if (n == 3)
        spec.mode = std::string(parts[2]);
    return spec;
}

std::optional<std::string> normalize_capability(std::string_view name) {
    // Go's strings.ToUpper maps "ſ" to 'S' and "ı" to 'I'; folding does that and more (never
    // less), and anything still outside ASCII is a name the daemon would refuse.
    std::string upper;
    for (std::size_t pos = 0; pos < name.size();) {
        auto cp = decode_utf8(name, pos);
        if (!cp)
            return std::nullopt;
        char32_t const f = fold_rune(*cp);
        if (f >= 0x80)
            return std::nullopt;
        upper += static_cast<char>(f);
    }
    if (upper == "ALL")
        return upper;
    std::string_view bare = upper;
    if (bare.substr(0, 4) == "CAP_")
        bare.remove_prefix(4);
    auto const known = config::linux_capabilities();
    if (std::find(known.begin(), known.end(), bare) == known.end())
        return std::nullopt;
    return "CAP_" + std::string(bare);
}

user_judgement judge_user(std::string_view user) {
    if (user.empty())
        return {user_class::empty, ""};
    // runc's parseLine: the first two ':' fields are user and group, the rest is ignored.
    auto const colon = user.find(':');
    std::string_view const name = user.substr(0, colon);
    std::string_view group;
    if (colon != std::string_view::npos) {
        group = user.substr(colon + 1);
        group = group.substr(0, group.find(':'));
    }
    if (name.empty())
        return {user_class::root, "no user before ':' means uid 0"};
    auto const uid = go_atoi(name);
    if (!uid) {
        if (name == "root")
            return {user_class::root, "\"root\" is uid 0"};
        return {user_class::unverifiable,
                "a user name is resolved in the image; use a numeric uid:gid"};
    }
    if (*uid == 0)
        return {user_class::root, "uid 0 is root"};
    if (*uid < 0 || *uid > max_id)
        return {user_class::unverifiable, "uid out of range"};
    if (colon == std::string_view::npos || group.empty())
        return {
            user_class::unverifiable,
            "without a group the image decides it (root when the uid has no entry); use uid:gid"};
    auto const g = judge_group(group);
    return g.verdict == user_class::non_root ? user_judgement{user_class::non_root, ""} : g;
}

user_judgement judge_group(std::string_view group) {
    auto const gid = go_atoi(group);
    if (!gid) {
        if (group == "root")
            return {user_class::root, "group \"root\" is gid 0"};
        return {user_class::unverifiable,
                "a group name is resolved in the image; use a numeric gid"};
    }
    if (*gid == 0)
        return {user_class::root, "gid 0 is the root group"};
    if (*gid < 0 || *gid > max_id)
        return {user_class::unverifiable, "gid out of range"};
    return {user_class::non_root, ""};
}

mode_judgement classify_mode(namespace_field field, std::string_view value) {
    if (value.empty())
        return {};
    if (value == "host")
        return {field == namespace_field::cgroup ? mode_class::invalid : mode_class::host, ""};
    // IsContainer(): SplitN(mode, ":", 2) with parts[0] == "container".
    if (value.substr(0, 10) == "container:") {
        bool const shares = field == namespace_field::network || field == namespace_field::pid ||
                            field == namespace_field::ipc || field == namespace_field::cgroup;
        if (!shares || value.size() == 10)
            return {mode_class::invalid, ""};
        return {mode_class::container, std::string(value.substr(10))};
    }
    switch (field) {
    case namespace_field::network:
        if (value == "default" || value == "bridge" || value == "none")
            return {};
        return {mode_class::network, std::string(value)};
    case namespace_field::ipc:
        if (value == "none" || value == "private" || value == "shareable")
            return {};
        break;
    case namespace_field::cgroupns:
        if (value == "private")
            return {};
        break;
    default:
        break;
    }
    return {mode_class::invalid, ""};
}

} // namespace dockgate::inspect
