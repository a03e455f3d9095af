#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "common/engine_api/route_table.hpp"
#include "gateway/http/canonical_target.hpp"
#include "gateway/inspect/ownership.hpp"

namespace dockgate::inspect {
namespace {

using action = ownership_action;

ownership_step step_of(std::string_view method, std::string_view target) {
    auto t = std::get<http::canonical_target>(http::canonicalize_target(target));
    auto const m = engine_api::route_table::engine_api().match(method, t.segments);
    EXPECT_TRUE(m.has_value()) << target;
    return m ? ownership_step_for(m->operation, m->path_template) : ownership_step{};
}

TEST(ownership, every_route_on_one_object_is_checked) {
    // Every route of the definitions under a per-object prefix, with the kind it resolves.
    struct prefix {
        std::string_view path;
        owned_kind kind;
    };
    prefix const prefixes[] = {
        {"/containers/{id}", owned_kind::container}, {"/exec/{id}", owned_kind::exec},
        {"/volumes/{name}", owned_kind::volume},     {"/networks/{id}", owned_kind::network},
        {"/services/{id}", owned_kind::service},     {"/secrets/{id}", owned_kind::secret},
        {"/configs/{id}", owned_kind::config}};
    int checked = 0;
    for (auto const& r : engine_api::route_table::engine_api().routes()) {
        for (auto const& p : prefixes) {
            if (!r.path_template.starts_with(p.path))
                continue;
            auto const s = ownership_step_for(r.operation, r.path_template);
            if (r.operation == "NetworkConnect" || r.operation == "NetworkDisconnect")
                EXPECT_EQ(s.action, action::connect_body) << r.operation;
            else
                EXPECT_EQ(s.action, action::target) << r.operation;
            EXPECT_EQ(s.kind, p.kind) << r.operation;
            ++checked;
        }
    }
    EXPECT_GE(checked, 40); // containers alone have 23 routes
}

TEST(ownership, steps_of_collections) {
    EXPECT_EQ(step_of("GET", "/v1.41/containers/json").action, action::filter_query);
    EXPECT_EQ(step_of("GET", "/volumes").action, action::filter_query);
    EXPECT_EQ(step_of("GET", "/networks").action, action::filter_query);
    EXPECT_EQ(step_of("GET", "/events").action, action::filter_query);
    EXPECT_EQ(step_of("POST", "/containers/prune").action, action::filter_query);
    EXPECT_EQ(step_of("POST", "/volumes/prune").action, action::filter_query);
    EXPECT_EQ(step_of("GET", "/system/df").action, action::data_usage);
    EXPECT_EQ(step_of("POST", "/commit").action, action::commit_container);
    EXPECT_EQ(step_of("POST", "/build/prune").action, action::refuse);
    EXPECT_FALSE(step_of("POST", "/build/prune").why.empty());
    // Creates are labelled by the body policy, and their names checked against others'; images
    // and the daemon itself are shared.
    EXPECT_EQ(step_of("POST", "/containers/create").action, action::create_named);
    EXPECT_EQ(step_of("POST", "/volumes/create").action, action::create_named);
    EXPECT_EQ(step_of("POST", "/networks/create").action, action::create_named);
    EXPECT_EQ(step_of("GET", "/images/json").action, action::none);
    EXPECT_EQ(step_of("GET", "/_ping").action, action::none);
    EXPECT_EQ(step_of("GET", "/v1.41/version").action, action::none);
    // /containers/json is the list, not the container named "json".
    EXPECT_NE(step_of("GET", "/containers/json").action, action::target);
}

TEST(ownership, inspect_paths_and_messages) {
    EXPECT_EQ(inspect_path(owned_kind::container, "web"), "/containers/web/json");
    EXPECT_EQ(inspect_path(owned_kind::container, "a b/c"), "/containers/a%20b%2Fc/json");
    EXPECT_EQ(inspect_path(owned_kind::exec, "abc"), "/exec/abc/json");
    EXPECT_EQ(inspect_path(owned_kind::volume, "v"), "/volumes/v");
    EXPECT_EQ(inspect_path(owned_kind::network, "n"), "/networks/n");
    EXPECT_EQ(not_found_message(owned_kind::container, "web"), "No such container: web");
    EXPECT_EQ(not_found_message(owned_kind::exec, "e"), "No such exec instance: e");
    EXPECT_EQ(not_found_message(owned_kind::volume, "v"), "get v: no such volume");
    EXPECT_EQ(not_found_message(owned_kind::network, "n"), "network n not found");
}

TEST(ownership, reads_owner_and_id_from_inspect_replies) {
    auto const ctr =
        boost::json::parse(R"({"Id":"abc123","Config":{"Labels":{"dockgate.owner":"alice"}}})");
    auto const mine = read_owned_object(owned_kind::container, ctr, "alice");
    EXPECT_TRUE(mine.owned);
    EXPECT_EQ(mine.id, "abc123");
    EXPECT_FALSE(read_owned_object(owned_kind::container, ctr, "bob").owned);
    EXPECT_FALSE(read_owned_object(owned_kind::container, ctr, "Alice").owned);
    // The label must sit in Config.Labels; elsewhere it is not the container's.
    auto const elsewhere =
        boost::json::parse(R"({"Id":"x","Labels":{"dockgate.owner":"alice"},"Config":{}})");
    EXPECT_FALSE(read_owned_object(owned_kind::container, elsewhere, "alice").owned);
    auto const unlabelled = boost::json::parse(R"({"Id":"x","Config":{"Labels":null}})");
    EXPECT_FALSE(read_owned_object(owned_kind::container, unlabelled, "alice").owned);
    auto const not_string =
        boost::json::parse(R"({"Id":"x","Config":{"Labels":{"dockgate.owner":1}}})");
    EXPECT_FALSE(read_owned_object(owned_kind::container, not_string, "1").owned);

    auto const exec = boost::json::parse(R"({"ID":"e1","ContainerID":"c1"})");
    auto const e = read_owned_object(owned_kind::exec, exec, "alice");
    EXPECT_EQ(e.id, "e1");
    EXPECT_EQ(e.container_id, "c1");
    EXPECT_FALSE(e.owned); // decided by the container

    auto const vol = boost::json::parse(R"({"Name":"v","Labels":{"dockgate.owner":"bob"}})");
    EXPECT_TRUE(read_owned_object(owned_kind::volume, vol, "bob").owned);
    EXPECT_EQ(read_owned_object(owned_kind::volume, vol, "bob").id, "v");

    auto const none = boost::json::parse(R"({"Id":"n0","Name":"none","Labels":{}})");
    EXPECT_TRUE(read_owned_object(owned_kind::network, none, "bob").shared);
    auto const fake =
        boost::json::parse(R"({"Id":"n1","Name":"bridge","Labels":{"dockgate.owner":"mallory"}})");
    EXPECT_FALSE(read_owned_object(owned_kind::network, fake, "bob").shared);
    auto const other = boost::json::parse(R"({"Id":"n2","Name":"mynet","Labels":{}})");
    EXPECT_FALSE(read_owned_object(owned_kind::network, other, "bob").shared);
    EXPECT_FALSE(read_owned_object(owned_kind::network, other, "bob").owned);

    auto const svc =
        boost::json::parse(R"({"ID":"s1","Spec":{"Labels":{"dockgate.owner":"carol"}}})");
    EXPECT_TRUE(read_owned_object(owned_kind::service, svc, "carol").owned);
}

boost::json::value filters_of(std::optional<std::string_view> in) {
    auto const r = confine_filters(in, "alice");
    EXPECT_TRUE(r.error.empty()) << (in ? *in : "<none>") << ": " << r.error;
    return boost::json::parse(r.value);
}

TEST(ownership, filter_values_in_both_forms) {
    EXPECT_EQ(filter_values(R"({"since":{"web":true},"label":{"a":true}})", "since"),
              std::vector<std::string>{"web"});
    EXPECT_EQ(filter_values(R"({"before":["db","web"]})", "before"),
              (std::vector<std::string>{"db", "web"}));
    EXPECT_TRUE(filter_values(R"({"label":["a"]})", "since").empty());
    EXPECT_TRUE(filter_values(std::nullopt, "since").empty());
    EXPECT_TRUE(filter_values("not json", "since").empty());
}

TEST(ownership, filters_gain_the_owner_label) {
    auto const expected = boost::json::parse(R"({"label":{"dockgate.owner=alice":true}})");
    EXPECT_EQ(filters_of(std::nullopt), expected);
    EXPECT_EQ(filters_of(""), expected);
    EXPECT_EQ(filters_of("{}"), expected);
    EXPECT_EQ(filters_of("null"), expected);
    EXPECT_EQ(filters_of(R"({"status":{"exited":true},"label":{"app=web":true}})"),
              boost::json::parse(R"({"status":{"exited":true},
                                     "label":{"app=web":true,"dockgate.owner=alice":true}})"));
    // A flag set to false still filters (moby reads the keys only).
    EXPECT_EQ(filters_of(R"({"name":{"x":false}})"),
              boost::json::parse(R"({"name":{"x":true},"label":{"dockgate.owner=alice":true}})"));
    // The legacy list form.
    EXPECT_EQ(filters_of(R"({"label":["dockgate.owner=bob"],"name":["x","x"]})"),
              boost::json::parse(R"({"label":{"dockgate.owner=bob":true,
                                     "dockgate.owner=alice":true},"name":{"x":true}})"));
    // A filter with no values keeps its presence.
    EXPECT_EQ(filters_of(R"({"dangling":null})"),
              boost::json::parse(R"({"dangling":{},"label":{"dockgate.owner=alice":true}})"));
}

TEST(ownership, filters_the_daemon_would_refuse_are_refused) {
    for (auto const* bad :
         {R"({"label":5})", R"({"label":"x"})", R"({"label":{"a":"yes"}})",
          R"({"label":["a"],"name":{"b":true}})", R"([])", R"("x")", R"({"label":[1]})",
          R"({"label":{"a":true},"label":{"b":true}})", R"({)", R"({"label":{}} x)"}) {
        auto const r = confine_filters(bad, "alice");
        EXPECT_FALSE(r.error.empty()) << bad << " -> " << r.value;
        EXPECT_TRUE(r.value.empty()) << bad;
    }
}

TEST(ownership, data_usage_keeps_only_the_callers) {
    auto usage = boost::json::parse(R"({
        "LayersSize": 10,
        "Images": [{"Id":"i1"}],
        "Containers": [{"Id":"c1","Labels":{"dockgate.owner":"alice"}},
                       {"Id":"c2","Labels":{"dockgate.owner":"bob"}},
                       {"Id":"c3","Labels":{}}],
        "Volumes": [{"Name":"v1","Labels":null},{"Name":"v2","Labels":{"dockgate.owner":"alice"}}],
        "BuildCache": [{"ID":"b1"}]})");
    confine_data_usage(usage, "alice");
    EXPECT_EQ(usage, boost::json::parse(R"({
        "LayersSize": 10,
        "Images": [{"Id":"i1"}],
        "Containers": [{"Id":"c1","Labels":{"dockgate.owner":"alice"}}],
        "Volumes": [{"Name":"v2","Labels":{"dockgate.owner":"alice"}}],
        "BuildCache": []})"));
    auto odd = boost::json::parse(R"({"Containers":null})");
    confine_data_usage(odd, "alice");
    EXPECT_EQ(odd, boost::json::parse(R"({"Containers":null})"));
}

TEST(ownership, a_replaced_segment_is_re_encoded) {
    auto t = std::get<http::canonical_target>(
        http::canonicalize_target("/v1.41/containers/ab/json?x=1"));
    t.replace_segment(1, "a b/c");
    EXPECT_EQ(t.target(), "/v1.41/containers/a%20b%2Fc/json?x=1");
    EXPECT_EQ(t.segments[1], "a b/c");
    auto u = std::get<http::canonical_target>(http::canonicalize_target("/exec/e/start"));
    u.replace_segment(1, "0123abcd");
    EXPECT_EQ(u.target(), "/exec/0123abcd/start");
}

} // namespace
} // namespace dockgate::inspect
