#pragma once
// A strict JSON reader for request bodies the policy judges, and the writer that produces the
// body that is forwarded instead of the original.
//
// The daemon decodes bodies with Go's encoding/json, which keeps the last of duplicate keys,
// matches keys to struct fields case-insensitively (Unicode folding, see go_fold.hpp), replaces
// invalid UTF-8 and lone surrogate escapes with U+FFFD and, through json.Decoder, ignores what
// follows the first value. Each of those lets one body be read two ways, so parse_json refuses
// them all: any two keys of one object that fold equal (exact duplicates included), invalid
// UTF-8 (raw or as escaped surrogates), control characters in strings, trailing data, a BOM.
// It is bounded in nesting depth, total values and the size of each string and number.
//
// Numbers keep their literal text, strings their decoded value, objects the order received;
// write_json re-encodes that tree canonically (no insignificant space, minimal escapes), so the
// daemon decodes exactly the tree that was judged.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dockgate::inspect {

enum class json_kind : unsigned char { null, boolean, number, string, array, object };

struct json_member;

struct json_value {
    json_kind kind = json_kind::null;
    bool boolean = false;
    std::string text;                 // string: decoded UTF-8; number: the literal as received
    std::vector<json_value> items;    // array elements
    std::vector<json_member> members; // object members, in received order

    bool is_null() const noexcept { return kind == json_kind::null; }
    bool is_object() const noexcept { return kind == json_kind::object; }
    bool is_array() const noexcept { return kind == json_kind::array; }
    bool is_string() const noexcept { return kind == json_kind::string; }
    bool is_bool() const noexcept { return kind == json_kind::boolean; }

    static json_value make_string(std::string s);
    static json_value make_object();
    static json_value make_array();
};

struct json_member {
    std::string key;
    json_value value;
};

struct json_limits {
    std::size_t max_depth = 64;            // nested arrays/objects
    std::size_t max_values = 20000;        // every value, keys not counted
    std::size_t max_string_bytes = 262144; // one decoded string or key
    std::size_t max_number_chars = 64;
};

struct json_error {
    std::size_t offset = 0; // byte offset into the input
    std::string reason;     // e.g. "duplicate key \"privileged\" (folds like \"Privileged\")"
};

/// Parses exactly one JSON value surrounded by optional whitespace. Pure; throws only
/// std::bad_alloc.
std::variant<json_value, json_error> parse_json(std::string_view text,
                                                json_limits const& limits = {});

/// The canonical encoding of `v`.
std::string write_json(json_value const& v);

/// The member of object `obj` whose key the daemon would match to struct field `name` (Go's
/// case folding), or nullptr. The key is renamed to `name`, so the forwarded body spells every
/// field the policy looked at the way the daemon's struct does. `obj` must be an object.
json_value* find_field(json_value& obj, std::string_view name);

/// The member with exactly this key (Go map semantics), or nullptr.
json_value* find_key(json_value& obj, std::string_view key);

/// Sets obj[key] = value, replacing a member whose key folds equal to `key`.
void set_field(json_value& obj, std::string_view key, json_value value);

} // namespace dockgate::inspect
