// The audit line's "request" object: the host-facing facts of a judged request, read from the
// body the daemon receives with the same parsers the rules use (bind specs, capability names,
// namespace modes, image references).

#include "gateway/inspect/request_facts.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "config/constraints.hpp"
#include "gateway/inspect/daemon_rules.hpp"
#include "gateway/inspect/go_fold.hpp"
#include "gateway/inspect/image_reference.hpp"
#include "gateway/inspect/json.hpp"
#include "gateway/inspect/option_rules.hpp"

namespace dockgate::inspect {

namespace {

class facts {
public:
    // With `always`, an empty value is recorded too (a volume's default driver).
    void text(char const* name, std::string_view value, bool always = false) {
        if (always || !value.empty())
            out_[name] = cut(value);
    }
    void flag(char const* name, bool value) {
        if (value)
            out_[name] = true;
    }
    // Appends to the list `name`, once per distinct value, up to max_fact_items.
    void add(char const* name, std::string_view value) {
        auto& v = out_[name];
        if (!v.is_array())
            v = boost::json::array();
        auto& list = v.as_array();
        auto const item = cut(value);
        if (std::find(list.begin(), list.end(), boost::json::value(item)) != list.end())
            return;
        if (list.size() >= max_fact_items) {
            out_["truncated"] = true;
            return;
        }
        list.emplace_back(item);
    }
    std::string str() const { return out_.empty() ? std::string() : boost::json::serialize(out_); }

private:
    // Valid UTF-8 without control characters (a query's percent-decoded bytes may be neither),
    // at most max_fact_bytes, never cut inside a character.
    std::string cut(std::string_view value) {
        std::string out;
        for (std::size_t pos = 0; pos < value.size();) {
            auto const start = pos;
            auto const cp = decode_utf8(value, pos);
            std::string_view piece = "?";
            if (!cp)
                ++pos; // one byte that starts no character
            else if (*cp >= 0x20 && *cp != 0x7f)
                piece = value.substr(start, pos - start);
            if (out.size() + piece.size() > max_fact_bytes) {
                out_["truncated"] = true;
                break;
            }
            out += piece;
        }
        return out;
    }
    boost::json::object out_;
};

// obj[name] by Go's case-insensitive field match; nullptr when absent or null.
json_value* member(json_value* obj, std::string_view name) {
    if (obj == nullptr || !obj->is_object())
        return nullptr;
    auto* v = find_field(*obj, name);
    return v == nullptr || v->is_null() ? nullptr : v;
}

std::string text_of(json_value const* v) {
    return v != nullptr && v->is_string() ? v->text : std::string();
}

bool true_of(json_value const* v) {
    return v != nullptr && v->is_bool() && v->boolean;
}

bool non_empty(json_value const* v) {
    if (v == nullptr)
        return false;
    if (v->is_array())
        return !v->items.empty();
    if (v->is_object())
        return !v->members.empty();
    return v->is_string() ? !v->text.empty() : !v->is_null();
}

// []string, or a lone string (moby's StrSlice).
std::vector<std::string> strings_of(json_value const* v) {
    std::vector<std::string> out;
    if (v == nullptr)
        return out;
    if (v->is_string())
        out.push_back(v->text);
    for (auto const& item : v->items) {
        if (item.is_string())
            out.push_back(item.text);
    }
    return out;
}

// The reference as the image rules read it: "docker.io/library/alpine:3.19", an image ID, or
// the text itself when it does not parse (the judge refuses those under images.registries).
std::string normal_image(std::string_view reference) {
    auto parsed = parse_image_reference(reference);
    if (auto const* ref = std::get_if<image_reference>(&parsed))
        return ref->str();
    if (auto const* id = std::get_if<image_id>(&parsed))
        return id->id;
    return std::string(reference);
}

void user_facts(facts& f, json_value* body) {
    auto const user = text_of(member(body, "User"));
    f.text("user", user);
    f.flag("user_non_root", judge_user(user).verdict == user_class::non_root);
}

void host_config_facts(facts& f, json_value* hc) {
    f.flag("privileged", true_of(member(hc, "Privileged")));
    for (auto const& cap : strings_of(member(hc, "CapAdd")))
        f.add("cap_add", normalize_capability(cap).value_or(cap));
    for (auto const& raw : strings_of(member(hc, "Binds"))) {
        auto const spec = parse_bind(raw);
        if (spec && spec->host_path)
            f.add("bind_sources", config::clean_path(spec->source));
    }
    if (auto* mounts = member(hc, "Mounts"); mounts != nullptr && mounts->is_array()) {
        for (auto& m : mounts->items) {
            auto const type = text_of(member(&m, "Type"));
            if (type == "bind" || type == "npipe")
                f.add("bind_sources", config::clean_path(text_of(member(&m, "Source"))));
            else if (type == "volume") {
                auto* driver = member(member(&m, "VolumeOptions"), "DriverConfig");
                auto const name = text_of(member(driver, "Name"));
                if (!name.empty())
                    f.add("volume_drivers", name);
                f.flag("volume_driver_opts", non_empty(member(driver, "Options")));
            } else if (type != "tmpfs" && !type.empty())
                f.add("mount_types", type);
        }
    }
    f.text("volume_driver", text_of(member(hc, "VolumeDriver")));
    struct mode_field {
        char const* field;
        char const* name;
        namespace_field kind;
    };
    static constexpr mode_field modes[] = {
        {"NetworkMode", "network", namespace_field::network},
        {"PidMode", "pid", namespace_field::pid},
        {"IpcMode", "ipc", namespace_field::ipc},
        {"UTSMode", "uts", namespace_field::uts},
        {"UsernsMode", "userns", namespace_field::userns},
        {"CgroupnsMode", "cgroupns", namespace_field::cgroupns},
    };
    for (auto const& m : modes) {
        if (classify_mode(m.kind, text_of(member(hc, m.field))).verdict == mode_class::host)
            f.add("host_namespaces", m.name);
    }
    f.flag("devices", non_empty(member(hc, "Devices")) || non_empty(member(hc, "DeviceRequests")) ||
                          non_empty(member(hc, "DeviceCgroupRules")));
    f.flag("sysctls", non_empty(member(hc, "Sysctls")));
    f.text("runtime", text_of(member(hc, "Runtime")));
    auto* log_config = member(hc, "LogConfig");
    auto const log_driver = text_of(member(log_config, "Type"));
    f.text("log_driver", log_driver);
    // Whether containers.unconfined is needed besides the names, as the option rules judge it
    // for a role that lists this driver and the default profiles.
    config::container_constraints names_only;
    names_only.log_drivers = {log_driver};
    std::vector<std::pair<std::string, std::string>> log_options;
    if (auto* options = member(log_config, "Config"); options != nullptr && options->is_object()) {
        for (auto const& m : options->members)
            log_options.emplace_back(m.key, text_of(&m.value));
    }
    auto const log_refusal = judge_log_config(log_driver, log_options, names_only);
    f.flag("unconfined", log_refusal && log_refusal->rule == "containers.unconfined");
    f.flag("cgroup_parent", non_empty(member(hc, "CgroupParent")));
    for (auto const& opt : strings_of(member(hc, "SecurityOpt"))) {
        auto const refusal = judge_security_opt(opt, names_only);
        f.flag("unconfined", refusal && refusal->rule == "containers.unconfined");
        // A seccomp profile is a whole JSON document: only whether one was given.
        bool const seccomp = opt.starts_with("seccomp=") || opt.starts_with("seccomp:");
        auto const value = seccomp ? std::string_view(opt).substr(8) : std::string_view();
        f.add("security_opt", !seccomp || value == "unconfined" || value == "default"
                                  ? opt
                                  : std::string("seccomp=<profile>"));
    }
    f.flag("unconfined_paths",
           non_empty(member(hc, "MaskedPaths")) || non_empty(member(hc, "ReadonlyPaths")));
    if (auto* ports = member(hc, "PortBindings"); ports != nullptr && ports->is_object()) {
        for (auto& p : ports->members) {
            if (!p.value.is_array())
                continue;
            for (auto& binding : p.value.items) {
                auto const low = lowest_host_port(text_of(member(&binding, "HostPort")));
                f.flag("privileged_ports", low && *low < 1024);
            }
        }
    }
    for (auto const& g : strings_of(member(hc, "GroupAdd")))
        f.add("group_add", g);
}

void container_create(facts& f, json_value* body) {
    f.text("image", normal_image(text_of(member(body, "Image"))));
    user_facts(f, body);
    host_config_facts(f, member(body, "HostConfig"));
}

void container_exec(facts& f, json_value* body) {
    user_facts(f, body);
    f.flag("privileged", true_of(member(body, "Privileged")));
}

void volume_create(facts& f, json_value* body) {
    f.text("driver", text_of(member(body, "Driver")), true);
    f.flag("driver_opts", non_empty(member(body, "DriverOpts")));
}

// A name the request gives a local image (tag, commit, import): repo[:tag].
void local_name(facts& f, std::span<query_param const> query) {
    auto const repo = std::string(query_get(query, "repo").value_or(""));
    auto const tag = query_get(query, "tag").value_or("");
    if (!repo.empty())
        f.text("name", normal_image(tag.empty() ? repo : repo + ":" + std::string(tag)));
}

void image_create(facts& f, std::span<query_param const> query) {
    std::string image(query_get(query, "fromImage").value_or(""));
    auto const tag = std::string(query_get(query, "tag").value_or(""));
    if (image.empty()) {
        auto const from_src = query_get(query, "fromSrc").value_or("");
        f.flag("import", !from_src.empty());
        f.flag("import_url", !from_src.empty() && from_src != "-");
        local_name(f, query);
        return;
    }
    if (image.back() == ':')
        image.pop_back();
    auto parsed = parse_image_reference(image);
    auto const* ref = std::get_if<image_reference>(&parsed);
    if (ref != nullptr && !tag.empty()) {
        std::string const base = ref->domain + "/" + ref->path;
        image = is_digest(tag) ? base + "@" + tag
                               : base + ":" + tag + (ref->digest.empty() ? "" : "@" + ref->digest);
    }
    f.text("image", normal_image(image));
}

} // namespace

std::string request_facts(std::string_view operation, std::span<query_param const> query,
                          std::string_view body) {
    facts f;
    if (operation == "ImageCreate") {
        image_create(f, query);
        return f.str();
    }
    if (operation == "ImageTag" || operation == "ImageCommit") {
        local_name(f, query);
        return f.str();
    }
    bool const has_body = operation == "ContainerCreate" || operation == "ContainerExec" ||
                          operation == "VolumeCreate";
    if (!has_body)
        return {};
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return "{}"; // no body: the daemon's defaults
    auto parsed = parse_json(body);
    auto* root = std::get_if<json_value>(&parsed);
    if (root == nullptr || !(root->is_object() || root->is_null())) {
        f.flag("unreadable", true);
        return f.str();
    }
    if (operation == "ContainerCreate")
        container_create(f, root);
    else if (operation == "ContainerExec")
        container_exec(f, root);
    else
        volume_create(f, root);
    return f.str().empty() ? std::string("{}") : f.str();
}

} // namespace dockgate::inspect
