#include "gateway/inspect/judge.hpp"

namespace dockgate::inspect::detail {

namespace {

// Messages end up in a JSON reply and the audit log: no control characters, whatever the input.
std::string without_controls(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = '?';
    }
    return out;
}

} // namespace

std::string printable(std::string_view text) {
    constexpr std::size_t max_text = 120;
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < max_text; ++i) {
        auto const c = static_cast<unsigned char>(text[i]);
        out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    }
    if (text.size() > max_text)
        out += "...";
    return out;
}

std::string_view governing_section(config::role_constraints const& c, std::string_view operation) {
    if (operation == "VolumeCreate" && c.volumes)
        return "volumes";
    if (operation == "ImageBuild" && c.build)
        return "build";
    if (operation.starts_with("Image") && c.images)
        return "images";
    if (c.containers)
        return "containers";
    if (c.volumes)
        return "volumes";
    if (c.images)
        return "images";
    if (c.build)
        return "build";
    return "ownership";
}

namespace {

// Whether the role has the section a rule ("containers.cap_add", "ownership") belongs to.
bool has_section(config::role_constraints const& c, std::string_view rule) {
    auto const section = rule.substr(0, rule.find('.'));
    if (section == "containers")
        return c.containers.has_value();
    if (section == "volumes")
        return c.volumes.has_value() || c.containers.has_value();
    if (section == "images")
        return c.images.has_value();
    if (section == "build")
        return c.build.has_value();
    return c.ownership;
}

} // namespace

void check_fields(judge& j, json_value const& body, fields::table const& t) {
    auto const& rules = j.rules();
    if (j.done() || rules.empty())
        return;
    auto found = fields::first_unjudged(
        body, t, "", [&](std::string_view rule) { return has_section(rules, rule); });
    if (!found)
        return;
    j.deny(found->rule.empty() ? governing_section(rules, j.req().operation) : found->rule,
           field_text(found->path, found->value), found->why);
}

std::string field_text(std::string_view path, std::string_view value) {
    return std::string(path) + "=" + printable(value);
}

judge::judge(request const& req, config::role const& role, inspect_result& out)
    : req_(req)
    , role_(role)
    , out_(out) {
    out_.decision = inspect_result::verdict::allow;
}

void judge::deny(std::string_view rule, std::string field, std::string_view why) {
    if (done())
        return;
    out_.decision = inspect_result::verdict::deny;
    out_.detail.role = role_.name;
    out_.detail.rule = "roles." + role_.name + "." + std::string(rule);
    out_.detail.field = std::move(field);
    out_.detail.message = "dockgate: " + std::string(req_.user) + " (role " + role_.name +
                          ") may not " + std::string(operation_action(req_.operation)) + " with " +
                          out_.detail.field + " (" + out_.detail.rule + ")";
    if (!why.empty())
        out_.detail.message += ": " + without_controls(why);
}

void judge::invalid(std::string const& reason) {
    if (done())
        return;
    out_.decision = inspect_result::verdict::invalid;
    out_.detail.role = role_.name;
    out_.detail.rule = "body";
    out_.detail.field.clear();
    out_.detail.message = "dockgate: request refused: " + without_controls(reason);
}

void judge::require(requirement_kind kind, std::string subject, std::string field,
                    std::string_view rule, std::optional<pin> pinned) {
    out_.requirements.push_back({kind, std::move(subject), std::move(field),
                                 "roles." + role_.name + "." + std::string(rule),
                                 std::move(pinned)});
}

json_value* judge::field(json_value& obj, std::string_view name) {
    if (!obj.is_object())
        return nullptr;
    json_value* v = find_field(obj, name);
    return (v == nullptr || v->is_null()) ? nullptr : v;
}

std::optional<bool> judge::boolean(json_value* v, std::string const& path) {
    if (v == nullptr || v->is_null())
        return std::nullopt;
    if (!v->is_bool()) {
        invalid(path + " must be true or false");
        return std::nullopt;
    }
    return v->boolean;
}

std::optional<std::string> judge::string(json_value* v, std::string const& path) {
    if (v == nullptr || v->is_null())
        return std::nullopt;
    if (!v->is_string()) {
        invalid(path + " must be a string");
        return std::nullopt;
    }
    return v->text;
}

json_value* judge::object(json_value* v, std::string const& path) {
    if (v == nullptr || v->is_null())
        return nullptr;
    if (!v->is_object()) {
        invalid(path + " must be an object");
        return nullptr;
    }
    return v;
}

json_value* judge::array(json_value* v, std::string const& path) {
    if (v == nullptr || v->is_null())
        return nullptr;
    if (!v->is_array()) {
        invalid(path + " must be an array");
        return nullptr;
    }
    return v;
}

std::vector<std::string> judge::strings(json_value* v, std::string const& path, bool single) {
    std::vector<std::string> out;
    if (v == nullptr || v->is_null())
        return out;
    if (single && v->is_string()) {
        out.push_back(v->text);
        return out;
    }
    if (!v->is_array()) {
        invalid(path + " must be an array of strings");
        return {};
    }
    for (auto const& item : v->items) {
        if (item.is_null()) {
            out.emplace_back();
        } else if (item.is_string()) {
            out.push_back(item.text);
        } else {
            invalid(path + " must be an array of strings");
            return {};
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> judge::string_map(json_value* v,
                                                                   std::string const& path) {
    std::vector<std::pair<std::string, std::string>> out;
    if (v == nullptr || v->is_null())
        return out;
    if (!v->is_object()) {
        invalid(path + " must be an object of strings");
        return {};
    }
    for (auto const& m : v->members) {
        if (m.value.is_null()) {
            out.emplace_back(m.key, "");
        } else if (m.value.is_string()) {
            out.emplace_back(m.key, m.value.text);
        } else {
            invalid(path + "." + printable(m.key) + " must be a string");
            return {};
        }
    }
    return out;
}

} // namespace dockgate::inspect::detail

namespace dockgate::inspect {

std::string_view operation_action(std::string_view operation) noexcept {
    struct entry {
        std::string_view operation, action;
    };
    static constexpr entry actions[] = {
        {"ContainerCreate", "create a container"},
        {"ContainerUpdate", "update a container"},
        {"ContainerExec", "exec in a container"},
        {"ContainerStart", "start a container"},
        {"VolumeCreate", "create a volume"},
        {"NetworkCreate", "create a network"},
        {"ImageCreate", "pull an image"},
        {"ImageBuild", "build an image"},
        {"ServiceCreate", "create a service"},
        {"ServiceUpdate", "update a service"},
        {"PluginPull", "install a plugin"},
        {"PluginUpgrade", "upgrade a plugin"},
        {"PluginSet", "configure a plugin"},
        {"SecretCreate", "create a secret"},
        {"ConfigCreate", "create a config"},
        {"PluginCreate", "create a plugin"},
        {"NetworkConnect", "connect to a network"},
        {"ImageCommit", "commit a container"},
        {"ImageTag", "tag an image"},
        {"ImageLoad", "load images"},
        {"Grpc", "use BuildKit's API"},
    };
    for (auto const& e : actions) {
        if (e.operation == operation)
            return e.action;
    }
    return "call this operation";
}

} // namespace dockgate::inspect
