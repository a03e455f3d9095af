// The field tables against the Engine API definitions (v1.41, what Debian's 20.10 daemon
// serves, and v1.56): every property of every body the constraints govern must be in the
// gateway's tables, so a field of the API is never refused as unknown nor, worse, missing
// from a table that would otherwise refuse it. And the walk itself: unknown fields with a
// value are found at any depth, zero values pass, refused fields are named with their rule.

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/inspect/field_tables.hpp"

namespace dockgate::inspect::fields {
namespace {

// Just enough YAML for the swagger files: mapping keys by indentation, list items ("- key:")
// as keys of their parent, block scalars ("key: |") skipped.
struct yaml_node {
    std::map<std::string, std::unique_ptr<yaml_node>> children;
    yaml_node const* child(std::string const& key) const {
        auto it = children.find(key);
        return it == children.end() ? nullptr : it->second.get();
    }
};

std::unique_ptr<yaml_node> parse_yaml(std::string const& file) {
    std::ifstream in(file);
    EXPECT_TRUE(in) << file;
    auto root = std::make_unique<yaml_node>();
    std::vector<std::pair<int, yaml_node*>> stack{{-1, root.get()}};
    int block_indent = -1; // inside a block scalar deeper than this
    std::string line;
    while (std::getline(in, line)) {
        auto const first = line.find_first_not_of(' ');
        if (first == std::string::npos || line[first] == '#')
            continue;
        int indent = static_cast<int>(first);
        if (block_indent >= 0) {
            if (indent > block_indent)
                continue;
            block_indent = -1;
        }
        std::string rest = line.substr(first);
        if (rest.rfind("- ", 0) == 0) {
            rest = rest.substr(2);
            indent += 2;
        }
        auto const colon = rest.find(':');
        if (colon == std::string::npos || colon == 0)
            continue; // a list value or text
        std::string key = rest.substr(0, colon);
        if (key.size() >= 2 && key.front() == '"' && key.back() == '"')
            key = key.substr(1, key.size() - 2);
        if (key.find(' ') != std::string::npos)
            continue;
        std::string value = rest.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        while (stack.back().first >= indent)
            stack.pop_back();
        auto& slot = stack.back().second->children[key];
        if (!slot)
            slot = std::make_unique<yaml_node>();
        if (!value.empty() && (value[0] == '|' || value[0] == '>'))
            block_indent = indent;
        stack.emplace_back(indent, slot.get());
    }
    return root;
}

// A schema object's property names: its own "properties" and those of its allOf members.
std::vector<std::string> properties_of(yaml_node const& schema) {
    std::vector<std::string> out;
    auto add = [&](yaml_node const* props) {
        if (props != nullptr)
            for (auto const& [name, node] : props->children)
                out.push_back(name);
    };
    add(schema.child("properties"));
    if (auto const* all = schema.child("allOf"))
        add(all->child("properties"));
    return out;
}

table const& child_of(table const& t, std::string_view name) {
    auto const* f = find(t, name);
    EXPECT_TRUE(f != nullptr && f->child != nullptr) << t.name << "." << name;
    return *f->child;
}

struct definition_check {
    std::string definition;          // swagger definition name
    std::vector<std::string> nested; // property path inside it ("ContainerSpec", ...)
    table const* gateway;
};

std::vector<definition_check> checks() {
    auto const& create = container_create();
    auto const& hc = host_config();
    auto const& service = service_spec();
    auto const& task = child_of(service, "TaskTemplate");
    auto const& spec = child_of(task, "ContainerSpec");
    auto const& endpoints = child_of(child_of(create, "NetworkingConfig"), "EndpointsConfig");
    auto const& network = network_create();
    return {
        {"ContainerConfig", {}, &create},
        {"HostConfig", {}, &hc},
        {"Resources", {}, &hc},
        {"Resources", {}, &container_update()},
        {"Mount", {}, &child_of(hc, "Mounts")},
        {"Mount", {"BindOptions"}, &child_of(child_of(hc, "Mounts"), "BindOptions")},
        {"Mount", {"VolumeOptions"}, &child_of(child_of(hc, "Mounts"), "VolumeOptions")},
        {"Mount", {"TmpfsOptions"}, &child_of(child_of(hc, "Mounts"), "TmpfsOptions")},
        {"HealthConfig", {}, &child_of(create, "Healthcheck")},
        {"RestartPolicy", {}, &child_of(hc, "RestartPolicy")},
        {"DeviceMapping", {}, &child_of(hc, "Devices")},
        {"DeviceRequest", {}, &child_of(hc, "DeviceRequests")},
        {"ThrottleDevice", {}, &child_of(hc, "BlkioDeviceReadBps")},
        {"PortBinding", {}, &child_of(hc, "PortBindings")},
        {"HostConfig", {"LogConfig"}, &child_of(hc, "LogConfig")},
        {"NetworkingConfig", {}, &child_of(create, "NetworkingConfig")},
        {"EndpointSettings", {}, &endpoints},
        {"EndpointIPAMConfig", {}, &child_of(endpoints, "IPAMConfig")},
        {"VolumeCreateOptions", {}, &volume_create()},
        {"VolumeCreateRequest", {}, &volume_create()},
        {"IPAM", {}, &child_of(network, "IPAM")},
        {"IPAMConfig", {}, &child_of(child_of(network, "IPAM"), "Config")},
        {"NetworkConnectRequest", {}, &network_connect()},
        {"ServiceSpec", {}, &service},
        {"TaskSpec", {}, &task},
        {"TaskSpec", {"ContainerSpec"}, &spec},
        {"TaskSpec", {"ContainerSpec", "Privileges"}, &child_of(spec, "Privileges")},
        {"TaskSpec", {"ContainerSpec", "DNSConfig"}, &child_of(spec, "DNSConfig")},
        {"TaskSpec", {"Placement"}, &child_of(task, "Placement")},
        {"TaskSpec", {"RestartPolicy"}, &child_of(task, "RestartPolicy")},
        {"TaskSpec", {"LogDriver"}, &child_of(task, "LogDriver")},
        {"TaskSpec", {"Resources"}, &child_of(task, "Resources")},
        {"Limit", {}, &child_of(child_of(task, "Resources"), "Limits")},
        {"EndpointSpec", {}, &child_of(service, "EndpointSpec")},
        {"EndpointPortConfig", {}, &child_of(child_of(service, "EndpointSpec"), "Ports")},
        {"NetworkAttachmentConfig", {}, &child_of(task, "Networks")},
        {"PluginPrivilege", {}, &plugin_privilege()},
        {"SecretSpec", {}, &secret_create()},
    };
}

void check_file(std::string const& file, std::size_t at_least) {
    auto const root = parse_yaml(std::string(DOCKGATE_API_DIR) + "/" + file);
    auto const* definitions = root->child("definitions");
    ASSERT_NE(definitions, nullptr) << file;
    std::size_t checked = 0;
    for (auto const& c : checks()) {
        auto const* schema = definitions->child(c.definition);
        if (schema == nullptr)
            continue; // named differently in this version
        for (auto const& name : c.nested) {
            yaml_node const* next = nullptr;
            for (auto const* owner : {schema, schema->child("allOf")}) {
                auto const* props = owner != nullptr ? owner->child("properties") : nullptr;
                if (props != nullptr && props->child(name) != nullptr)
                    next = props->child(name);
            }
            schema = next;
            ASSERT_NE(schema, nullptr) << file << ": " << c.definition << "." << name;
        }
        auto const props = properties_of(*schema);
        EXPECT_FALSE(props.empty()) << file << ": " << c.definition;
        for (auto const& p : props)
            EXPECT_NE(find(*c.gateway, p), nullptr)
                << file << ": " << c.definition << " property " << p
                << " is not in the gateway's table " << c.gateway->name;
        ++checked;
    }
    EXPECT_GE(checked, at_least) << file << ": the definitions were not found";
}

TEST(field_tables, hold_every_property_of_v1_41) {
    check_file("engine-api-v1.41.yaml", 30);
}

TEST(field_tables, hold_every_property_of_v1_56) {
    check_file("engine-api-v1.56.yaml", 30);
}

json_value parse(std::string const& text) {
    auto parsed = parse_json(text);
    EXPECT_TRUE(std::holds_alternative<json_value>(parsed)) << text;
    return std::get<json_value>(std::move(parsed));
}

bool any_rule(std::string_view) {
    return true;
}

TEST(field_tables, an_unknown_field_with_a_value_is_found_at_any_depth) {
    struct row {
        char const* body;
        char const* path; // nullptr: nothing found
    };
    for (auto const& r : std::vector<row>{
             {R"({"Image":"x","HostConfig":{"Privileged":false}})", nullptr},
             {R"({"Image":"x","Bogus":1})", "Bogus"},
             {R"({"Image":"x","Bogus":0,"Other":null,"S":"","A":[],"O":{},"F":false})", nullptr},
             {R"({"Image":"x","Bogus":-0.0e5})", nullptr},
             {R"({"Image":"x","Bogus":[null]})", "Bogus"},
             {R"({"Image":"x","Bogus":{"a":""}})", "Bogus"},
             {R"({"HostConfig":{"Mounts":[{"Type":"bind","BindOptions":{"NewThing":true}}]}})",
              "HostConfig.Mounts[0].BindOptions.NewThing"},
             {R"({"NetworkingConfig":{"EndpointsConfig":{"n":{"Future":"x"}}}})",
              "NetworkingConfig.EndpointsConfig.n.Future"},
             {R"({"HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"","Extra":"1"}]}}})",
              "HostConfig.PortBindings.80/tcp[0].Extra"},
             {R"({"hostconfig":{"privileged":true,"newfield":1}})", "hostconfig.newfield"},
             {R"({"HostConfig":{"CpuRealtimeRuntime":1000}})", "HostConfig.CpuRealtimeRuntime"},
             {R"({"HostConfig":{"CpuRealtimeRuntime":0,"OomKillDisable":false}})", nullptr},
             {R"({"HostConfig":{"Capabilities":["CAP_SYS_ADMIN"]}})", "HostConfig.Capabilities"},
         }) {
        auto const found = first_unjudged(parse(r.body), container_create(), "", &any_rule);
        if (r.path == nullptr) {
            EXPECT_FALSE(found) << r.body << ": " << found->path;
        } else {
            ASSERT_TRUE(found) << r.body;
            EXPECT_EQ(found->path, r.path) << r.body;
        }
    }
}

TEST(field_tables, refused_fields_name_their_rule_and_unknown_ones_none) {
    auto const unknown = first_unjudged(parse(R"({"X":1})"), exec_create(), "", &any_rule);
    ASSERT_TRUE(unknown);
    EXPECT_TRUE(unknown->rule.empty());
    auto const refused = first_unjudged(parse(R"({"HostConfig":{"Capabilities":["ALL"]}})"),
                                        container_create(), "", &any_rule);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->rule, "containers.cap_add");
    EXPECT_FALSE(refused->why.empty());
    // A refused field whose rule does not apply to the role passes.
    EXPECT_FALSE(first_unjudged(parse(R"({"HostConfig":{"Capabilities":["ALL"]}})"),
                                container_create(), "", [](std::string_view) { return false; }));
}

TEST(field_tables, go_folding_finds_a_field_by_any_spelling_the_daemon_accepts) {
    EXPECT_NE(find(host_config(), "privileged"), nullptr);
    EXPECT_NE(find(host_config(), "\xC5\xBF"
                                  "ecurityOpt"),
              nullptr);                                            // long s
    EXPECT_NE(find(host_config(), "cpurealtimeruntime"), nullptr); // the embedded Resources
    EXPECT_EQ(find(host_config(), "Privileged2"), nullptr);
}

} // namespace
} // namespace dockgate::inspect::fields
