#pragma once
// The fields the gateway knows, per request body: every JSON field that any daemon from 20.10
// to the current API decodes for the bodies constraints govern, each with its judgement. Where
// a role has constraints, a field that is not in these tables is refused when it carries a
// value (default deny): a field the gateway cannot judge could be one a daemon acts on.
//
// The tables are data, meant to be read and reviewed: field_tables.cpp lists them, and
// tests/unit/gateway/inspect/field_tables_test.cpp checks them against the Engine API
// definitions of v1.41 and v1.56.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "gateway/inspect/json.hpp"

namespace dockgate::inspect::fields {

enum class verdict : unsigned char {
    harmless, // metadata, or confined to the container
    judged,   // a rule in rules_*.cpp reads it and decides
    refused,  // reaches the host and no key of a role allows it: refused unless the zero value
};

enum class shape : unsigned char {
    value,         // anything; not looked into
    object,        // an object described by `child`
    array,         // an array of objects described by `child`
    map,           // an object whose values are objects described by `child`
    map_of_arrays, // an object whose values are arrays of objects described by `child`
};

struct table;

struct field {
    std::string_view name;
    verdict judgement = verdict::harmless;
    shape form = shape::value;
    table const* child = nullptr;
    std::string_view rule = {}; // refused: the rule named, relative to the role ("containers")
    std::string_view why = {};  // refused: what it reaches
};

struct table {
    std::string_view name;            // "HostConfig", for tests
    std::span<field const> fields;    // in the daemon's struct order
    std::span<field const> more = {}; // an embedded struct's fields (HostConfig's Resources)
};

/// The body tables, by the operation whose body they describe.
table const& container_create() noexcept; // container.Config + HostConfig + NetworkingConfig
table const& host_config() noexcept;
table const& container_update() noexcept; // Resources + RestartPolicy
table const& exec_create() noexcept;
table const& volume_create() noexcept;
table const& network_create() noexcept;
table const& network_connect() noexcept;
table const& service_spec() noexcept;
table const& plugin_privilege() noexcept; // one element of the PluginPull/Upgrade body
table const& secret_create() noexcept;    // SecretCreate and ConfigCreate

/// The field of `t` the daemon would match to `key` (Go's case folding), or nullptr.
field const* find(table const& t, std::string_view key) noexcept;

/// Go's zero value for an unknown type: null, false, a number equal to 0, "", [] or {}.
bool is_zero(json_value const& v) noexcept;

/// A field found in a body that the tables refuse: unknown (with a value) or `refused`.
struct unjudged {
    std::string path;      // "HostConfig.Foo"
    std::string value;     // the value as JSON, cut for messages
    std::string_view rule; // "" for an unknown field (the caller names the section)
    std::string_view why;
};

/// Whether a `refused` field's rule applies to the role (its section is present).
using rule_applies = std::function<bool(std::string_view rule)>;

/// Walks `body` against `t`, depth first in received order, and returns the first member
/// that is unknown with a value, or refused (by a rule that applies) with a value; nullopt when
/// there is none. `path` prefixes the names ("" at the top level).
std::optional<unjudged> first_unjudged(json_value const& body, table const& t,
                                       std::string const& path, rule_applies const& applies);

} // namespace dockgate::inspect::fields
