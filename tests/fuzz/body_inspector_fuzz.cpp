// Any bytes as a request body: the JSON reader and the inspector must not crash, stay within
// their bounds, and what they accept must be stable: the forwarded body parses again to the same
// canonical form, and judging the forwarded body gives the same decision (so the daemon gets
// exactly what was judged). The first byte picks the operation.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/inspect/inspect.hpp"

namespace {

using namespace dockgate;

config::role const& fuzz_role() {
    static config::role const role = [] {
        config::role r;
        r.name = "developer";
        config::container_constraints c;
        c.cap_add = {"CAP_CHOWN"};
        c.bind_sources = {"/srv/data"};
        c.run_as_non_root = true;
        c.inject_security_opt = {"no-new-privileges"};
        c.cap_drop_all = true;
        r.constraints.containers = c;
        config::image_constraints images;
        std::string why;
        images.registries.emplace();
        images.registries->push_back(*config::parse_registry_scope("docker.io/library", why));
        r.constraints.images = images;
        r.constraints.volumes = config::volume_constraints{true};
        r.constraints.ownership = true;
        return r;
    }();
    return role;
}

constexpr std::string_view operations[] = {"ContainerCreate", "ContainerUpdate", "ContainerExec",
                                           "VolumeCreate",    "ServiceCreate",   "PluginPull",
                                           "PluginSet",       "NetworkCreate",   "ContainerStart"};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size == 0)
        return 0;
    std::string_view const body(reinterpret_cast<char const*>(data) + 1, size - 1);

    auto parsed = inspect::parse_json(body);
    if (auto const* v = std::get_if<inspect::json_value>(&parsed)) {
        std::string const once = inspect::write_json(*v);
        auto again = inspect::parse_json(once);
        auto const* v2 = std::get_if<inspect::json_value>(&again);
        if (v2 == nullptr || inspect::write_json(*v2) != once)
            std::abort(); // the canonical form must read back as itself
    }

    inspect::request req;
    req.operation = operations[data[0] % std::size(operations)];
    req.body = body;
    req.user = "alice";
    req.target = "c1";
    req.add_owner_label = (data[0] & 0x80) != 0;
    auto const first = inspect::inspect_request(req, fuzz_role());
    if (first.allowed() && first.body_replaced && !first.forward_body.empty()) {
        // The forwarded body, judged again, must pass the same way (mutations are idempotent in
        // their effect: the injected options and label are allowed values).
        req.body = first.forward_body;
        auto const second = inspect::inspect_request(req, fuzz_role());
        if (!second.allowed())
            std::abort();
    }
    return 0;
}
