// Changes made to a judged body before it is serialised: the owner label, the role's injected
// security options and CapDrop ["ALL"]. They run after every check passed, on the very tree
// that is forwarded.

#include <initializer_list>

#include "gateway/inspect/go_fold.hpp"
#include "gateway/inspect/judge.hpp"
#include "gateway/inspect/ownership.hpp"

namespace dockgate::inspect::detail {

namespace {

constexpr std::string_view owner_label = owner_label_key;

json_value string_array(std::initializer_list<std::string_view> items) {
    auto out = json_value::make_array();
    for (auto item : items)
        out.items.push_back(json_value::make_string(std::string(item)));
    return out;
}

} // namespace

json_value& ensure_member(json_value& parent, std::string_view name, json_kind kind) {
    json_value* v = find_field(parent, name);
    if (v == nullptr || v->is_null()) {
        set_field(parent, name,
                  kind == json_kind::object ? json_value::make_object() : json_value::make_array());
        v = find_field(parent, name);
    }
    return *v;
}

void apply_owner_label(judge& j, json_value& parent, std::string const& labels_path) {
    if (j.done() || !parent.is_object())
        return;
    auto const last_dot = labels_path.rfind('.');
    std::string_view const field_name = last_dot == std::string::npos
                                            ? std::string_view(labels_path)
                                            : std::string_view(labels_path).substr(last_dot + 1);
    auto* labels = j.object(j.field(parent, field_name), labels_path);
    if (j.done())
        return;
    if (labels != nullptr) {
        for (auto const& m : labels->members) {
            if (!fold_equal(m.key, owner_label))
                continue;
            // The session trusts this label to decide who owns what: only the gateway sets it.
            if (!(m.key == owner_label && m.value.is_string() && m.value.text == j.req().user)) {
                j.deny(
                    "ownership",
                    field_text(labels_path + "." + m.key, m.value.is_string() ? m.value.text : "?"),
                    "the dockgate.owner label is set by the gateway");
                return;
            }
        }
    }
    if (!j.req().add_owner_label)
        return;
    auto& target = ensure_member(parent, field_name, json_kind::object);
    set_field(target, owner_label, json_value::make_string(std::string(j.req().user)));
}

void apply_container_mutations(judge& j, json_value& body) {
    auto const* c = j.containers();
    if (j.done() || c == nullptr || !body.is_object())
        return;
    auto& hc = ensure_member(body, "HostConfig", json_kind::object);
    // An empty cgroup namespace mode is the host's on cgroup v1 hosts (the daemon's default
    // there, and forced for API < 1.41): say "private" where the role keeps containers out of
    // the host's namespaces.
    if (!c->host_namespaces) {
        auto const* mode = find_field(hc, "CgroupnsMode");
        if (mode == nullptr || mode->is_null() || (mode->is_string() && mode->text.empty()))
            set_field(hc, "CgroupnsMode", json_value::make_string("private"));
    }
    if (!c->inject_security_opt.empty()) {
        // Appended last: the daemon applies SecurityOpt in order, so these win over the caller's.
        auto& opts = ensure_member(hc, "SecurityOpt", json_kind::array);
        for (auto const& opt : c->inject_security_opt)
            opts.items.push_back(json_value::make_string(opt));
    }
    if (c->cap_drop_all)
        set_field(hc, "CapDrop", string_array({"ALL"}));
}

void apply_service_mutations(judge& j, json_value& spec) {
    auto const* c = j.containers();
    if (j.done() || c == nullptr || !spec.is_object())
        return;
    auto* task = find_field(spec, "TaskTemplate");
    if (task == nullptr || !task->is_object())
        return;
    auto* cs = find_field(*task, "ContainerSpec");
    if (cs == nullptr || !cs->is_object())
        return;
    if (c->cap_drop_all)
        set_field(*cs, "CapabilityDrop", string_array({"ALL"}));
    // Swarm has no SecurityOpt; no-new-privileges is the one option it can carry.
    for (auto const& opt : c->inject_security_opt) {
        if (opt == "no-new-privileges" || opt == "no-new-privileges=true") {
            auto& privileges = ensure_member(*cs, "Privileges", json_kind::object);
            json_value yes;
            yes.kind = json_kind::boolean;
            yes.boolean = true;
            set_field(privileges, "NoNewPrivileges", yes);
        }
    }
}

} // namespace dockgate::inspect::detail
