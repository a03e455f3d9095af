// Objects that already exist on the daemon, judged as if the role were creating them now: a
// container that a request joins (namespaces, VolumesFrom) or execs in, and a named volume that
// a container mounts. Whoever created them (an administrator, another role, the daemon's own
// CLI) may have given them what this role may not ask for; reaching them must not be a way
// around the role's constraints.

#include <boost/json/serialize.hpp>

#include "gateway/inspect/judge.hpp"

namespace dockgate::inspect {

namespace {

// The HostConfig fields of an inspect reply that can reach the host, in the shape a create body
// gives them (inspect shows them as they were given). Defaults the daemon fills in (masked
// paths, the default runtime's settings) are left out: they are not the container's choices.
// So is CgroupnsMode, which inspect shows as "host" for every container of a daemon whose
// default it is (cgroup v1 hosts).
constexpr std::string_view reaching_fields[] = {"Privileged",     "CapAdd",
                                                "Binds",          "Mounts",
                                                "VolumesFrom",    "NetworkMode",
                                                "PidMode",        "IpcMode",
                                                "UTSMode",        "UsernsMode",
                                                "Cgroup",         "Devices",
                                                "DeviceRequests", "DeviceCgroupRules",
                                                "SecurityOpt",    "CgroupParent",
                                                "Sysctls",        "Runtime",
                                                "GroupAdd"};

} // namespace

inspect_result judge_existing_container(boost::json::value const& inspected,
                                        config::role const& role, std::string_view user) {
    inspect_result out;
    request req;
    req.operation = "ContainerCreate";
    req.user = user;
    detail::judge j(req, role, out);
    auto const* hc =
        inspected.is_object() ? inspected.as_object().if_contains("HostConfig") : nullptr;
    if (hc == nullptr || !hc->is_object()) {
        j.deny("containers", "HostConfig", "the daemon did not describe the container");
        return out;
    }
    boost::json::object picked;
    for (auto const name : reaching_fields) {
        if (auto const* v = hc->as_object().if_contains(name); v != nullptr && !v->is_null())
            picked[name] = *v;
    }
    auto parsed = parse_json(boost::json::serialize(picked));
    auto* judged = std::get_if<json_value>(&parsed);
    if (judged == nullptr) {
        j.deny("containers", "HostConfig", "the daemon's description could not be read");
        return out;
    }
    detail::judge_host_config(j, *judged, "HostConfig");
    if (j.done())
        out.requirements.clear();
    return out;
}

inspect_result judge_existing_volume(boost::json::value const& inspected, config::role const& role,
                                     std::string_view user) {
    inspect_result out;
    // Using a volume is not creating one: volumes.driver_opts does not apply, what the options
    // reach on the host does.
    config::role using_role = role;
    using_role.constraints.volumes.reset();
    request req;
    req.operation = "VolumeCreate";
    req.user = user;
    detail::judge j(req, using_role, out);
    std::string driver;
    std::vector<std::pair<std::string, std::string>> options;
    if (inspected.is_object()) {
        auto const& o = inspected.as_object();
        if (auto const* d = o.if_contains("Driver"); d != nullptr && d->is_string())
            driver = d->as_string();
        if (auto const* opts = o.if_contains("Options"); opts != nullptr && opts->is_object()) {
            for (auto const& [k, v] : opts->as_object())
                options.emplace_back(std::string(k),
                                     v.is_string() ? std::string(v.as_string()) : "");
        }
    }
    detail::judge_driver_options(j, driver, options, "Options");
    if (j.done())
        out.requirements.clear();
    return out;
}

} // namespace dockgate::inspect
