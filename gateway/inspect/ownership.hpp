#pragma once
// Ownership isolation for roles with `ownership = true`: what the gateway does to each
// operation so that such a caller sees and touches only the objects labelled
// dockgate.owner=<caller> (containers, exec instances through their container, volumes,
// networks, and swarm services, secrets and configs).
//
//   - An operation on one object by id or name (`/containers/{id}/...`, `/exec/{id}/...`,
//     `/volumes/{name}`, `/networks/{id}/...`, `POST /commit?container=`, the container of a
//     network connect) is resolved by the daemon's own inspect first, so names, full ids and id
//     prefixes mean what the daemon makes of them. Someone else's object, a missing one and a
//     failed lookup are all answered with the daemon's own "not found" reply; an owned one is
//     forwarded with the reference replaced by its full id, so the daemon acts on exactly the
//     object that was checked.
//   - Lists, events and prunes get `label=dockgate.owner=<caller>` added to their `filters`
//     (the daemon ANDs label filters, so a caller's own filters can only narrow it further).
//   - `GET /system/df` is answered from the daemon's reply with only the caller's containers
//     and volumes; operations that cannot be confined (the build cache, swarm tasks) are
//     refused.
//
// Pure: no I/O. The session does the lookups (see gateway/session/ownership_impl.hpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace dockgate::inspect {

inline constexpr std::string_view owner_label_key = "dockgate.owner";

enum class owned_kind { container, exec, volume, network, service, secret, config };

enum class ownership_action : unsigned char {
    none,             // nothing of anyone else's can be reached
    target,           // the route's {id}/{name} must be the caller's
    commit_container, // ImageCommit: the `container` query parameter must be the caller's
    connect_body,     // NetworkConnect/Disconnect: the target and the body's Container
    filter_query,     // add the owner label to `filters`
    data_usage,       // SystemDataUsage: the reply is confined
    refuse,           // cannot be confined: refused for ownership roles
    create_named      // a create naming its object: the name must not be someone else's
};

struct ownership_step {
    ownership_action action = ownership_action::none;
    owned_kind kind = owned_kind::container;
    std::string_view why; // for `refuse`: what the caller is told
};

/// The step for an operation matched by route `path_template` ("/containers/{id}/json").
ownership_step ownership_step_for(std::string_view operation,
                                  std::string_view path_template) noexcept;

/// The daemon path (no version prefix) whose GET inspects object `ref` of `kind`.
std::string inspect_path(owned_kind kind, std::string_view ref);

/// The daemon's own reply text for a missing object ("No such container: abc").
std::string not_found_message(owned_kind kind, std::string_view ref);

/// What an inspect reply says about its object.
struct owned_object {
    std::string id;           // the full id (a volume's name), "" if the reply has none
    std::string container_id; // an exec's container
    bool owned = false;       // labelled dockgate.owner=<user>
    bool shared = false;      // predefined (bridge/host/none): visible to everyone
};
owned_object read_owned_object(owned_kind kind, boost::json::value const& inspected,
                               std::string_view user);

/// The `filters` query value (as url.Values.Get returns it, nullopt when absent) with
/// label=dockgate.owner=<user> added, read like moby's filters.FromJSON (the map form and
/// the legacy list form). Returns the new value or, in `error`, why the daemon would refuse it.
struct confined_filters {
    std::string value;
    std::string error;
};
confined_filters confine_filters(std::optional<std::string_view> filters, std::string_view user);

/// The values of filter `key` ("since") in a `filters` query value, in either of the forms
/// moby's filters.FromJSON reads; empty when absent or unreadable (confine_filters says why).
std::vector<std::string> filter_values(std::optional<std::string_view> filters,
                                       std::string_view key);

/// The name an inspect reply gives its object ("web" for a container whose Name is "/web"), to
/// tell a name from an id prefix the daemon matched.
std::string object_name(owned_kind kind, boost::json::value const& inspected);

/// Keeps only the caller's containers and volumes of a /system/df reply and empties the build
/// cache, whose records name no owner.
void confine_data_usage(boost::json::value& usage, std::string_view user);

} // namespace dockgate::inspect
