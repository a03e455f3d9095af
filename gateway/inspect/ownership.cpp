#include "gateway/inspect/ownership.hpp"

#include <array>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "gateway/http/canonical_target.hpp"
#include "gateway/inspect/json.hpp"

namespace dockgate::inspect {

namespace {

struct prefixed_kind {
    std::string_view prefix; // path template prefix, "/containers/{id}"
    owned_kind kind;
};

// Every route under these prefixes acts on one object named by the path.
constexpr std::array<prefixed_kind, 7> object_routes{{
    {"/containers/{id}", owned_kind::container},
    {"/exec/{id}", owned_kind::exec},
    {"/volumes/{name}", owned_kind::volume},
    {"/networks/{id}", owned_kind::network},
    {"/services/{id}", owned_kind::service},
    {"/secrets/{id}", owned_kind::secret},
    {"/configs/{id}", owned_kind::config},
}};

struct listed_operation {
    std::string_view operation;
    ownership_action action;
    std::string_view why;
};

constexpr std::array<listed_operation, 17> listed{{
    {"ContainerList", ownership_action::filter_query, {}},
    {"ContainerPrune", ownership_action::filter_query, {}},
    {"VolumeList", ownership_action::filter_query, {}},
    {"VolumePrune", ownership_action::filter_query, {}},
    {"NetworkList", ownership_action::filter_query, {}},
    {"NetworkPrune", ownership_action::filter_query, {}},
    {"ImagePrune", ownership_action::filter_query, {}},
    {"SystemEvents", ownership_action::filter_query, {}},
    {"ServiceList", ownership_action::filter_query, {}},
    {"SecretList", ownership_action::filter_query, {}},
    {"ConfigList", ownership_action::filter_query, {}},
    {"SystemDataUsage", ownership_action::data_usage, {}},
    {"ImageCommit", ownership_action::commit_container, {}},
    {"BuildPrune", ownership_action::refuse,
     "the build cache is shared and its records name no owner"},
    {"TaskList", ownership_action::refuse, "swarm tasks carry no owner label"},
    {"TaskInspect", ownership_action::refuse, "swarm tasks carry no owner label"},
    {"TaskLogs", ownership_action::refuse, "swarm tasks carry no owner label"},
}};

boost::json::value const* member(boost::json::value const& v, std::string_view key) {
    return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}

std::string string_at(boost::json::value const* v) {
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool labelled_for(boost::json::value const* labels, std::string_view user) {
    auto const* owner = labels == nullptr ? nullptr : member(*labels, owner_label_key);
    return owner != nullptr && owner->is_string() && owner->as_string() == user;
}

bool has_owner_label(boost::json::value const* labels) {
    return labels != nullptr && member(*labels, owner_label_key) != nullptr;
}

// moby's filters.Args.UnmarshalJSON target (map[string]map[string]bool) or, failing that, the
// legacy map[string][]string. Values of the map form are presence flags: false counts too.
bool read_map_form(json_value const& root,
                   std::vector<std::pair<std::string, std::vector<std::string>>>& out) {
    for (auto const& m : root.members) {
        auto& values = out.emplace_back(m.key, std::vector<std::string>{}).second;
        if (m.value.is_null())
            continue;
        if (!m.value.is_object())
            return false;
        for (auto const& v : m.value.members) {
            if (!v.value.is_bool() && !v.value.is_null())
                return false;
            values.push_back(v.key);
        }
    }
    return true;
}

bool read_list_form(json_value const& root,
                    std::vector<std::pair<std::string, std::vector<std::string>>>& out) {
    for (auto const& m : root.members) {
        auto& values = out.emplace_back(m.key, std::vector<std::string>{}).second;
        if (m.value.is_null())
            continue;
        if (!m.value.is_array())
            return false;
        for (auto const& v : m.value.items) {
            if (v.is_null())
                values.emplace_back(); // Go leaves the element "", which becomes a filter value
            else if (v.is_string())
                values.push_back(v.text);
            else
                return false;
        }
    }
    return true;
}

} // namespace

ownership_step ownership_step_for(std::string_view operation,
                                  std::string_view path_template) noexcept {
    if (operation == "NetworkConnect" || operation == "NetworkDisconnect")
        return {ownership_action::connect_body, owned_kind::network, {}};
    if (operation == "ContainerCreate")
        return {ownership_action::create_named, owned_kind::container, {}};
    if (operation == "VolumeCreate")
        return {ownership_action::create_named, owned_kind::volume, {}};
    if (operation == "NetworkCreate")
        return {ownership_action::create_named, owned_kind::network, {}};
    for (auto const& r : object_routes) {
        if (path_template.starts_with(r.prefix) &&
            (path_template.size() == r.prefix.size() || path_template[r.prefix.size()] == '/'))
            return {ownership_action::target, r.kind, {}};
    }
    for (auto const& l : listed) {
        if (l.operation == operation)
            return {l.action, owned_kind::container, l.why};
    }
    return {};
}

std::string inspect_path(owned_kind kind, std::string_view ref) {
    auto const seg = http::encode_path_segment(ref);
    switch (kind) {
    case owned_kind::container:
        return "/containers/" + seg + "/json";
    case owned_kind::exec:
        return "/exec/" + seg + "/json";
    case owned_kind::volume:
        return "/volumes/" + seg;
    case owned_kind::network:
        return "/networks/" + seg;
    case owned_kind::service:
        return "/services/" + seg;
    case owned_kind::secret:
        return "/secrets/" + seg;
    case owned_kind::config:
        return "/configs/" + seg;
    }
    return {};
}

std::string not_found_message(owned_kind kind, std::string_view ref) {
    std::string const r(ref);
    switch (kind) {
    case owned_kind::container:
        return "No such container: " + r;
    case owned_kind::exec:
        return "No such exec instance: " + r;
    case owned_kind::volume:
        return "get " + r + ": no such volume";
    case owned_kind::network:
        return "network " + r + " not found";
    case owned_kind::service:
        return "service " + r + " not found";
    case owned_kind::secret:
        return "secret " + r + " not found";
    case owned_kind::config:
        return "config " + r + " not found";
    }
    return {};
}

owned_object read_owned_object(owned_kind kind, boost::json::value const& inspected,
                               std::string_view user) {
    owned_object out;
    switch (kind) {
    case owned_kind::container: {
        out.id = string_at(member(inspected, "Id"));
        auto const* config = member(inspected, "Config");
        out.owned = config != nullptr && labelled_for(member(*config, "Labels"), user);
        break;
    }
    case owned_kind::exec:
        // Owned through its container, which the caller resolves next.
        out.id = string_at(member(inspected, "ID"));
        out.container_id = string_at(member(inspected, "ContainerID"));
        break;
    case owned_kind::volume:
        out.id = string_at(member(inspected, "Name"));
        out.owned = labelled_for(member(inspected, "Labels"), user);
        break;
    case owned_kind::network: {
        out.id = string_at(member(inspected, "Id"));
        auto const* labels = member(inspected, "Labels");
        out.owned = labelled_for(labels, user);
        // The daemon refuses to create networks with these names: they are its own.
        auto const name = string_at(member(inspected, "Name"));
        out.shared =
            !has_owner_label(labels) && (name == "bridge" || name == "host" || name == "none");
        break;
    }
    case owned_kind::service:
    case owned_kind::secret:
    case owned_kind::config: {
        out.id = string_at(member(inspected, "ID"));
        auto const* spec = member(inspected, "Spec");
        out.owned = spec != nullptr && labelled_for(member(*spec, "Labels"), user);
        break;
    }
    }
    return out;
}

confined_filters confine_filters(std::optional<std::string_view> filters, std::string_view user) {
    std::vector<std::pair<std::string, std::vector<std::string>>> fields;
    if (filters && !filters->empty()) {
        auto parsed = parse_json(*filters);
        if (auto const* err = std::get_if<json_error>(&parsed))
            return {{},
                    "invalid filters at byte " + std::to_string(err->offset) + ": " + err->reason};
        auto const& root = std::get<json_value>(parsed);
        if (!root.is_null()) {
            if (!root.is_object())
                return {{}, "invalid filters: expected a JSON object"};
            if (!read_map_form(root, fields)) {
                fields.clear();
                if (!read_list_form(root, fields))
                    return {{},
                            "invalid filters: each filter must be an object of flags or "
                            "a list of strings"};
            }
        }
    }
    std::string const owner = std::string(owner_label_key) + "=" + std::string(user);
    auto label = std::find_if(fields.begin(), fields.end(),
                              [](auto const& f) { return f.first == "label"; });
    if (label == fields.end())
        fields.emplace_back("label", std::vector<std::string>{owner});
    else
        label->second.push_back(owner);

    auto out = json_value::make_object();
    for (auto& [key, values] : fields) {
        auto flags = json_value::make_object();
        for (auto& v : values) {
            json_value yes;
            yes.kind = json_kind::boolean;
            yes.boolean = true;
            // A value given twice is one map entry to the daemon.
            if (find_key(flags, v) == nullptr)
                flags.members.push_back({std::move(v), std::move(yes)});
        }
        out.members.push_back({std::move(key), std::move(flags)});
    }
    return {write_json(out), {}};
}

std::vector<std::string> filter_values(std::optional<std::string_view> filters,
                                       std::string_view key) {
    if (!filters || filters->empty())
        return {};
    auto parsed = parse_json(*filters);
    auto const* root = std::get_if<json_value>(&parsed);
    if (root == nullptr || !root->is_object())
        return {};
    std::vector<std::pair<std::string, std::vector<std::string>>> fields;
    if (!read_map_form(*root, fields)) {
        fields.clear();
        if (!read_list_form(*root, fields))
            return {};
    }
    for (auto& [k, values] : fields) {
        if (k == key)
            return std::move(values);
    }
    return {};
}

std::string object_name(owned_kind kind, boost::json::value const& inspected) {
    auto name = string_at(member(inspected, "Name"));
    if (kind == owned_kind::container && !name.empty() && name.front() == '/')
        name.erase(0, 1);
    return name;
}

void confine_data_usage(boost::json::value& usage, std::string_view user) {
    if (!usage.is_object())
        return;
    auto& root = usage.as_object();
    auto const keep_owned = [&](std::string_view key) {
        auto* list = root.if_contains(key);
        if (list == nullptr || !list->is_array())
            return;
        boost::json::array kept;
        for (auto& item : list->as_array()) {
            if (labelled_for(member(item, "Labels"), user))
                kept.push_back(std::move(item));
        }
        *list = std::move(kept);
    };
    keep_owned("Containers");
    keep_owned("Volumes");
    if (auto* cache = root.if_contains("BuildCache"); cache != nullptr && cache->is_array())
        cache->as_array().clear();
}

} // namespace dockgate::inspect
