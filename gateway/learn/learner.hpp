#pragma once
// `dockgate learn`: a least-privilege role proposed from audit lines. It reads the JSON lines
// of the audit log, keeps those of one user or group that were forwarded (decision "allow" or
// "would-deny"; requests the gateway refused are not learned), and writes a TOML role whose
// `allow` lists the operations used and whose constraint sections admit exactly the observed
// requests' facts (the audit line's "request" object, see gateway/inspect/request_facts.hpp).
//
// Pure apart from the streams it is given; bounded: a line longer than max_line_bytes is
// counted as malformed (and never held whole), and the learned sets hold at most what the audit
// lines carry (each line's lists are capped by the gateway).

#include <cstddef>
#include <istream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dockgate::learn {

inline constexpr std::size_t max_line_bytes = 1024 * 1024;

struct options {
    std::string user;  // learn from this user's lines, or
    std::string group; // from lines whose identity holds this group
    std::string role = "learned";
    std::string source = "-"; // the file name, for the header comment
};

struct result {
    std::string toml;                  // the proposed role, with its header comment
    std::vector<std::string> warnings; // for stderr: what the role may not cover
    std::size_t read = 0, used = 0, malformed = 0, refused = 0, others = 0;
};

/// Reads audit lines from `in` and proposes the role. Throws std::invalid_argument when the
/// options are unusable (neither or both of user and group, a role name the config refuses).
result learn(std::istream& in, options const& opt);

/// The operations in `used` as allow-list entries: each run of operations sharing a leading
/// CamelCase word ("Container") becomes "Container*" when every operation of `all` that glob
/// matches was used, "*" when all were; otherwise the operationIds themselves. Sorted.
std::vector<std::string> collapse_operations(std::set<std::string> const& used,
                                             std::span<std::string_view const> all);

} // namespace dockgate::learn
