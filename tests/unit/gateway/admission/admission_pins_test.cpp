// What the engine forwards after its look-ups: joins pinned to the full id that was checked,
// starts re-judged, existing networks judged by their driver, names and since/before filters
// that must not reveal someone else's object, and the query parameters a constraint governs.

#include <gtest/gtest.h>

#include "tests/unit/gateway/admission/admission_test_support.hpp"
#include "tests/unit/gateway/inspect/inspect_test_support.hpp"

namespace dockgate::admission {
namespace {

using test::daemon;
using test::request;

std::string const developer = R"(
[roles.developer]
subjects = ["group:developers"]
allow = ["Container*", "Exec*", "Image*", "Network*", "Volume*", "System*", "Grpc"]
[roles.developer.containers]
run_as_non_root = true
[roles.developer.images]
registries = ["docker.io/library", "registry.example.com"]
)";

std::string const ci = R"(
[roles.ci]
subjects = ["group:developers"]
allow = ["Container*", "Exec*", "Network*", "Volume*", "System*"]
ownership = true
)";

std::string container(std::string const& id, std::string const& owner,
                      std::string const& host_config = "{}", std::string const& name = "") {
    return R"({"Id":")" + id + R"(","Name":"/)" + (name.empty() ? id : name) +
           R"(","Config":{"User":"1:1","Labels":{"dockgate.owner":")" + owner +
           R"("}},"HostConfig":)" + host_config + "}";
}

request post(std::string target, std::string body) {
    request r;
    r.target = std::move(target);
    r.body = std::move(body);
    return r;
}

std::string const full_a = std::string(64, 'a');
std::string const full_n = std::string(64, 'e');

TEST(admission_pins, joins_are_forwarded_by_the_id_that_was_checked) {
    auto const snap = test::snapshot_of(developer);
    daemon d;
    d.answer("/v1.41/containers/db/json", 200, container(full_a, "alice", "{}", "db"));
    d.answer("/v1.41/networks/backend", 200,
             R"({"Id":")" + full_n + R"(","Name":"backend","Driver":"bridge"})");
    auto const out =
        test::run(snap, d,
                  post("/v1.41/containers/create",
                       R"({"Image":"busybox","User":"1:1","HostConfig":{"PidMode":"container:db",)"
                       R"("VolumesFrom":["db:ro"],"NetworkMode":"backend"},)"
                       R"("NetworkingConfig":{"EndpointsConfig":{"backend":{"Aliases":["x"]}}}})"));
    ASSERT_EQ(out.result.result, outcome::allow) << out.result.message;
    ASSERT_TRUE(out.result.forward_body);
    auto const& body = *out.result.forward_body;
    EXPECT_NE(body.find(R"("PidMode":"container:)" + full_a + "\""), std::string::npos) << body;
    EXPECT_NE(body.find(R"("VolumesFrom":[")" + full_a + ":ro\"]"), std::string::npos) << body;
    EXPECT_NE(body.find(R"("NetworkMode":")" + full_n + "\""), std::string::npos) << body;
    EXPECT_NE(body.find(R"("EndpointsConfig":{")" + full_n + R"(":{"Aliases":["x"]}})"),
              std::string::npos)
        << body;
    EXPECT_EQ(body.find("\"db"), std::string::npos) << body;
}

TEST(admission_pins, an_exec_goes_to_the_container_that_was_judged) {
    auto const snap = test::snapshot_of(developer);
    daemon d;
    d.answer("/v1.41/containers/web/json", 200, container(full_a, "alice"));
    auto const out =
        test::run(snap, d, post("/v1.41/containers/web/exec", R"({"Cmd":["id"],"User":"1:1"})"));
    ASSERT_EQ(out.result.result, outcome::allow) << out.result.message;
    EXPECT_EQ(out.result.target, "/v1.41/containers/" + full_a + "/exec");
}

TEST(admission_pins, a_start_rejudges_what_the_container_joins) {
    auto const snap = test::snapshot_of(developer);
    daemon d;
    // The container's IpcMode names "db" by name: at start the daemon resolves it again.
    d.answer("/v1.41/containers/web/json", 200,
             container(full_a, "alice", R"({"IpcMode":"container:db"})", "web"));
    d.answer("/v1.41/containers/db/json", 200, container(std::string(64, 'b'), "bob", "{}", "db"));
    request r;
    r.target = "/v1.41/containers/web/start";
    auto const foreign = test::run(snap, d, r);
    EXPECT_EQ(foreign.result.result, outcome::deny);
    EXPECT_NE(foreign.result.message.find("the container is not yours"), std::string::npos)
        << foreign.result.message;
    d.answer("/v1.41/containers/db/json", 200,
             container(std::string(64, 'b'), "alice", "{}", "db"));
    auto const own = test::run(snap, d, r);
    EXPECT_EQ(own.result.result, outcome::allow) << own.result.message;
    EXPECT_EQ(own.result.target, "/v1.41/containers/" + full_a + "/start");
}

TEST(admission_pins, an_existing_network_is_judged_by_its_driver) {
    auto const snap = test::snapshot_of(developer);
    auto const body = R"({"Image":"busybox","User":"1:1","HostConfig":{"NetworkMode":"lan"}})";
    auto const macvlan =
        test::run(snap,
                  daemon().answer("/v1.41/networks/lan", 200,
                                  R"({"Id":"n1","Name":"lan","Driver":"macvlan"})"),
                  post("/v1.41/containers/create", body));
    EXPECT_EQ(macvlan.result.result, outcome::deny);
    EXPECT_NE(macvlan.result.message.find("macvlan puts containers on the host's own links"),
              std::string::npos)
        << macvlan.result.message;
    auto const bridge = test::run(snap,
                                  daemon().answer("/v1.41/networks/lan", 200,
                                                  R"({"Id":"n1","Name":"lan","Driver":"bridge"})"),
                                  post("/v1.41/containers/create", body));
    EXPECT_EQ(bridge.result.result, outcome::allow) << bridge.result.message;
}

TEST(admission_pins, a_name_someone_else_holds_is_refused_without_saying_whose) {
    auto const snap = test::snapshot_of(ci);
    daemon d;
    d.answer("/v1.41/containers/web/json", 200, container(full_a, "alice", "{}", "web"));
    request r = post("/v1.41/containers/create?name=web", R"({"Image":"busybox"})");
    r.user = "bob";
    auto const out = test::run(snap, d, r);
    EXPECT_EQ(out.result.status, 409u);
    EXPECT_EQ(out.result.message.find(full_a), std::string::npos) << out.result.message;
    EXPECT_EQ(out.result.message.find("alice"), std::string::npos) << out.result.message;
    // An id prefix that the daemon's lookup matched is not a name in use.
    daemon prefix;
    prefix.answer("/v1.41/containers/aaa/json", 200, container(full_a, "alice", "{}", "web"));
    request p = post("/v1.41/containers/create?name=aaa", R"({"Image":"busybox"})");
    p.user = "bob";
    EXPECT_EQ(test::run(snap, prefix, p).result.result, outcome::allow);
    // The caller's own: the daemon answers.
    r.user = "alice";
    EXPECT_EQ(test::run(snap, d, r).result.result, outcome::allow);
    // A volume of someone else's is not handed out by a create of the same name.
    daemon v;
    v.answer("/v1.41/volumes/data", 200, R"({"Name":"data","Labels":{"dockgate.owner":"alice"}})");
    request vr = post("/v1.41/volumes/create", R"({"Name":"data"})");
    vr.user = "bob";
    EXPECT_EQ(test::run(snap, v, vr).result.status, 409u);
}

TEST(admission_pins, since_and_before_do_not_reveal_someone_elses_container) {
    auto const snap = test::snapshot_of(ci);
    daemon d;
    d.answer("/v1.41/containers/secret-db/json", 200,
             container(full_a, "alice", "{}", "secret-db"));
    request r;
    r.user = "bob";
    r.method = "GET";
    r.target = "/v1.41/containers/json?filters=%7B%22since%22%3A%5B%22secret-db%22%5D%7D";
    auto const filtered = test::run(snap, d, r);
    EXPECT_EQ(filtered.result.status, 404u);
    EXPECT_EQ(filtered.result.message, "No such container: secret-db");
    r.target = "/v1.41/containers/json?before=secret-db";
    EXPECT_EQ(test::run(snap, d, r).result.status, 404u);
    r.user = "alice";
    EXPECT_EQ(test::run(snap, d, r).result.result, outcome::allow);
}

TEST(admission_pins, a_parameter_the_gateway_does_not_judge_is_refused) {
    auto const snap = test::snapshot_of(developer);
    request r;
    r.target = "/v1.41/containers/web/start?checkpoint=../../../../etc";
    auto const out = test::run(snap, daemon(), r);
    EXPECT_EQ(out.result.result, outcome::deny);
    EXPECT_EQ(out.result.rule, "roles.developer.containers");
    EXPECT_TRUE(out.asked.empty());
}

TEST(admission_pins, grpc_is_refused_where_images_or_builds_are_constrained) {
    auto const snap = test::snapshot_of(developer);
    EXPECT_FALSE(snap->cfg->warnings.empty()); // allow = [..., "Grpc"] with constraints
    request r;
    r.target = "/grpc";
    auto const out = test::run(snap, daemon(), r);
    EXPECT_EQ(out.result.result, outcome::deny);
    EXPECT_EQ(out.result.rule, "roles.developer.images.registries");
}

TEST(admission_pins, a_local_image_may_not_take_a_trusted_name) {
    auto const snap = test::snapshot_of(developer);
    request r;
    r.target = "/v1.41/images/abc/tag?repo=registry.example.com/app&tag=1";
    auto const tag = test::run(snap, daemon(), r);
    EXPECT_EQ(tag.result.result, outcome::deny);
    EXPECT_EQ(tag.result.rule, "roles.developer.images.local_names");
    r.target = "/v1.41/images/abc/tag?repo=mine/app&tag=1";
    EXPECT_EQ(test::run(snap, daemon(), r).result.result, outcome::allow);
    r.target = "/v1.41/images/load";
    EXPECT_EQ(test::run(snap, daemon(), r).result.rule, "roles.developer.images.local_names");
    r.target = "/v1.41/build?t=ubuntu:latest";
    EXPECT_EQ(test::run(snap, daemon(), r).result.rule, "roles.developer.images.local_names");
}

TEST(admission_pins, a_build_context_is_read_for_the_images_its_dockerfile_names) {
    auto const snap = test::snapshot_of(developer);
    auto context = [](std::string const& dockerfile) {
        return inspect::test::tar_entry("src/a.txt", "a") +
               inspect::test::tar_entry("Dockerfile", dockerfile) + inspect::test::tar_end();
    };
    request r = post("/v1.41/build?t=local/app:1", context("FROM evil.example.com/x:1\n"));
    r.content_type = "application/x-tar";
    auto const evil = test::run(snap, daemon(), r);
    ASSERT_TRUE(evil.body_limit);
    EXPECT_EQ(*evil.body_limit, snap->cfg->limits.build_context_bytes);
    EXPECT_EQ(evil.result.result, outcome::deny);
    EXPECT_EQ(evil.result.rule, "roles.developer.images.registries");
    r.body = context("FROM busybox:1\nCOPY src /src\n");
    auto const good = test::run(snap, daemon(), r);
    ASSERT_EQ(good.result.result, outcome::allow) << good.result.message;
    ASSERT_TRUE(good.result.forward_body);
    EXPECT_EQ(*good.result.forward_body, r.body); // the context goes on as received
    // A BuildKit session context never passes the gateway: refused.
    r.target = "/v1.41/build?t=local/app:1&remote=client-session";
    EXPECT_EQ(test::run(snap, daemon(), r).result.result, outcome::deny);
}

} // namespace
} // namespace dockgate::admission
