#pragma once
// Internal to gateway/inspect: the per-request state shared by the rule files. It records the
// first denial (later checks stop), the requirements, and reads JSON fields with Go's typing:
// null is the zero value, a wrong type is what the daemon refuses (so the body is invalid).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/inspect/field_tables.hpp"
#include "gateway/inspect/inspect.hpp"

namespace dockgate::inspect::detail {

class judge {
public:
    judge(request const& req, config::role const& role, inspect_result& out);

    request const& req() const noexcept { return req_; }
    config::role const& role() const noexcept { return role_; }
    config::role_constraints const& rules() const noexcept { return role_.constraints; }
    config::container_constraints const* containers() const noexcept {
        return role_.constraints.containers ? &*role_.constraints.containers : nullptr;
    }
    bool ownership() const noexcept { return role_.constraints.ownership; }

    /// True once a denial or an invalid input was recorded: the remaining checks are skipped.
    bool done() const noexcept { return out_.decision != inspect_result::verdict::allow; }

    /// `rule` is relative to the role ("containers.privileged"); `field` is "Path=value";
    /// `why` (optional) is appended to the message.
    void deny(std::string_view rule, std::string field, std::string_view why = {});
    void invalid(std::string const& reason);
    void require(requirement_kind kind, std::string subject, std::string field,
                 std::string_view rule, std::optional<pin> pinned = std::nullopt);

    // Typed reads. `path` names the field in messages ("HostConfig.Binds").
    json_value* field(json_value& obj, std::string_view name);
    std::optional<bool> boolean(json_value* v, std::string const& path);
    std::optional<std::string> string(json_value* v, std::string const& path);
    json_value* object(json_value* v, std::string const& path); // nullptr when absent or null
    json_value* array(json_value* v, std::string const& path);
    // []string; with `single` also a lone string (moby's StrSlice). Null elements read as "".
    std::vector<std::string> strings(json_value* v, std::string const& path, bool single = false);
    // map[string]string, in received order. Null values read as "".
    std::vector<std::pair<std::string, std::string>> string_map(json_value* v,
                                                                std::string const& path);

private:
    request const& req_;
    config::role const& role_;
    inspect_result& out_;
};

/// The role's section that governs `operation` ("containers", ...), for refusals that name no
/// narrower rule.
std::string_view governing_section(config::role_constraints const& c, std::string_view operation);

/// Refuses (default deny) the first field of `body` that table `t` does not know and that
/// carries a value, and every field `t` refuses that carries one. Applies to roles with
/// constraints; the rule named is the role's section that governs the operation.
void check_fields(judge& j, json_value const& body, fields::table const& t);

/// parent[name], created as an empty object or array when absent or null.
json_value& ensure_member(json_value& parent, std::string_view name, json_kind kind);

/// "Path=value" with the value made printable and cut to a readable length.
std::string field_text(std::string_view path, std::string_view value);

/// Caller-supplied text made safe for a message: control characters become '?', long text is cut.
std::string printable(std::string_view text);

// rules_container.cpp
void judge_host_config(judge& j, json_value& hc, std::string const& path);
void judge_resources(judge& j, json_value& obj, std::string const& path);
void judge_mount(judge& j, json_value& mount, std::string const& path);
void judge_bind_source(judge& j, std::string_view source, std::string const& field);
void judge_driver_options(judge& j, std::string_view driver,
                          std::vector<std::pair<std::string, std::string>> const& options,
                          std::string const& path);
void judge_capabilities(judge& j, std::vector<std::string> const& caps, std::string const& path);
void judge_run_as(judge& j, std::string_view user, std::string const& field,
                  requirement_kind if_empty, std::string_view subject);
void judge_groups(judge& j, std::vector<std::string> const& groups, std::string const& path);
void judge_image(judge& j, std::string_view reference, std::string const& field);
void judge_volume_driver(judge& j, std::string_view name, std::string const& field);
void judge_log_config(judge& j, json_value& log_config, std::string const& path);
void judge_endpoints(judge& j, json_value& endpoints, std::string const& path);
void judge_healthcheck(judge& j, json_value& config, std::string const& path);
void judge_ulimits(judge& j, json_value& obj, std::string const& path);
void judge_port_bindings(judge& j, json_value& hc, std::string const& path);
void judge_network_name(judge& j, std::string_view network, std::string const& field,
                        std::string_view rule, std::optional<pin> pinned = std::nullopt);

// rules_service.cpp
void judge_service_spec(judge& j, json_value& spec);
void judge_plugin_privileges(judge& j, json_value& privileges);
void judge_plugin_settings(judge& j, json_value& settings);

// mutations.cpp
// Refuses a dockgate.owner label naming someone else; sets it to the caller when asked.
void apply_owner_label(judge& j, json_value& parent, std::string const& labels_path);
void apply_container_mutations(judge& j, json_value& create_body);
void apply_service_mutations(judge& j, json_value& spec);

} // namespace dockgate::inspect::detail
