#pragma once
// Shared by the inspect tests: the "developer" role of issue 5 and a one-call inspect helper.

#include <cstdio>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "gateway/inspect/inspect.hpp"

namespace dockgate::inspect::test {

inline config::role developer_role() {
    config::role r;
    r.name = "developer";
    r.allow = {"*"};
    config::container_constraints c;
    c.cap_add = {"CAP_NET_BIND_SERVICE", "CAP_CHOWN"};
    c.bind_sources = {"/srv/data"};
    c.run_as_non_root = true;
    c.runtimes = {"runc"};
    c.inject_security_opt = {"no-new-privileges"};
    r.constraints.containers = c;
    config::image_constraints images;
    std::string why;
    images.registries.emplace();
    for (auto const* text : {"registry.example.com", "docker.io/library"})
        images.registries->push_back(*config::parse_registry_scope(text, why));
    r.constraints.images = images;
    r.constraints.volumes = config::volume_constraints{};
    r.constraints.build = config::build_constraints{};
    return r;
}

// One ustar entry (header with checksum, data padded to 512 bytes); end an archive with
// tar_end().
inline std::string tar_entry(std::string const& name, std::string const& data, char type = '0') {
    std::string h(512, '\0');
    h.replace(0, std::min<std::size_t>(name.size(), 100), name.substr(0, 100));
    (void)std::snprintf(h.data() + 100, 8, "%07o", 0644);
    (void)std::snprintf(h.data() + 108, 8, "%07o", 0);
    (void)std::snprintf(h.data() + 116, 8, "%07o", 0);
    (void)std::snprintf(h.data() + 124, 12, "%011o", static_cast<unsigned>(data.size()));
    (void)std::snprintf(h.data() + 136, 12, "%011o", 0);
    h[156] = type;
    h.replace(257, 6, std::string("ustar\0", 6));
    h.replace(263, 2, "00");
    h.replace(148, 8, "        ");
    unsigned sum = 0;
    for (unsigned char c : h)
        sum += c;
    (void)std::snprintf(h.data() + 148, 8, "%06o", sum);
    h[155] = ' ';
    std::string padded = data;
    padded.resize((data.size() + 511) / 512 * 512, '\0');
    return h + padded;
}

inline std::string tar_end() {
    return std::string(1024, '\0');
}

inline config::role unconstrained_role() {
    config::role r;
    r.name = "operator";
    r.allow = {"*"};
    return r;
}

struct call {
    std::string operation = "ContainerCreate";
    std::string body;
    std::vector<query_param> query;
    std::string target;
    bool owner_label = false;
    std::string content_type = "application/json";
};

// A call of `operation` (designated initialisers would leave -Wmissing-field-initializers).
inline call make(std::string operation, std::string body = "", std::vector<query_param> query = {},
                 std::string target = "") {
    call c;
    c.operation = std::move(operation);
    c.body = std::move(body);
    c.query = std::move(query);
    c.target = std::move(target);
    return c;
}

inline call create(std::string body) {
    return make("ContainerCreate", std::move(body));
}

inline call with_owner_label(call c) {
    c.owner_label = true;
    return c;
}

inline inspect_result run(call const& c, config::role const& role) {
    request req;
    req.operation = c.operation;
    req.query = c.query;
    req.body = c.body;
    req.content_type = c.content_type;
    req.target = c.target;
    req.user = "alice";
    req.add_owner_label = c.owner_label;
    return inspect_request(req, role);
}

// A create body that passes the developer role, with `host_config` (JSON object text) as
// HostConfig and `extra` (",\"Key\":value" pairs) added at the top level.
inline std::string create_body(std::string const& host_config = "{}", std::string const& extra = "",
                               std::string const& user = "1000:1000",
                               std::string const& image = "ubuntu") {
    return R"({"Image":")" + image + R"(","User":")" + user + R"(","HostConfig":)" + host_config +
           extra + "}";
}

} // namespace dockgate::inspect::test
