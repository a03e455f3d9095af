#pragma once
// Query strings and form values as the daemon (Go net/http, moby's httputils) reads them.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dockgate::inspect {

struct query_param {
    std::string key;
    std::string value;
    friend bool operator==(query_param const&, query_param const&) = default;
};

/// Go's url.ParseQuery: pairs split on '&', key and value on the first '=', each unescaped
/// with '+' as space. Errors where Go errors (so the daemon would refuse the request): a ';'
/// in a pair (Go >= 1.17) and a malformed %-escape. Returns the pairs in order, or the reason.
std::variant<std::vector<query_param>, std::string> parse_go_query(std::string_view raw_query);

/// The pairs encoded as a query string that parse_go_query (and Go) reads back unchanged, in
/// order: url.QueryEscape of each key and value.
std::string encode_go_query(std::span<query_param const> query);

/// The first value of `key` (url.Values.Get), or nullopt when absent.
std::optional<std::string_view> query_get(std::span<query_param const> query,
                                          std::string_view key) noexcept;

/// How many pairs have exactly this key (url.Values keys are case-sensitive).
std::size_t query_count(std::span<query_param const> query, std::string_view key) noexcept;

/// moby httputils.BoolValue: after Unicode TrimSpace and ToLower, "", "0", "no", "false" and
/// "none" are false and everything else is true ("yes", "2", "off" are all true).
bool go_form_bool(std::string_view value);

/// True when net/http would read the request body as form values that shadow the query
/// (r.FormValue consults the body first): application/x-www-form-urlencoded and
/// multipart/form-data. The daemon never expects either, so such requests are refused.
bool is_form_content_type(std::string_view content_type);

} // namespace dockgate::inspect
