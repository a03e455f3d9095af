// The admission engine end to end, with canned daemon replies: the head, the allow/deny lists,
// the body plan, each requirement the constraints depend on, existing objects, ownership, the
// look-up budget and the pinned snapshot. Each refusal has an allowed twin that differs only in
// the daemon's reply or the request, so a refusal is known to come from what the test varies.

#include <gtest/gtest.h>

#include "tests/unit/gateway/admission/admission_test_support.hpp"

namespace dockgate::admission {
namespace {

using test::daemon;
using test::request;

std::string const developer = R"(
[roles.developer]
subjects = ["group:developers"]
allow = ["Container*", "Exec*", "Image*", "Network*", "Volume*", "System*"]
deny = ["ContainerExport"]
[roles.developer.containers]
cap_add = ["CHOWN"]
bind_sources = ["/srv/data"]
run_as_non_root = true
inject_security_opt = ["no-new-privileges"]
[roles.developer.images]
registries = ["docker.io/library", "registry.example.com"]
)";

std::string const ci = R"(
[roles.ci]
subjects = ["group:developers"]
allow = ["Container*", "Exec*", "Network*", "Volume*", "System*", "BuildPrune", "ImageCommit"]
ownership = true
)";

// A container's inspect reply.
std::string container(std::string const& id, std::string const& owner,
                      std::string const& host_config = "{}", std::string const& user = "") {
    std::string labels = owner.empty() ? "{}" : R"({"dockgate.owner":")" + owner + R"("})";
    return R"({"Id":")" + id + R"(","Image":"sha256:)" + std::string(64, 'b') +
           R"(","Config":{"User":")" + user + R"(","Labels":)" + labels + R"(},"HostConfig":)" +
           host_config + "}";
}

request create(std::string body, std::string target = "/v1.41/containers/create?name=web") {
    request r;
    r.target = std::move(target);
    r.body = std::move(body);
    return r;
}

std::string const ok_user = R"("User":"1000:1000")";

// --- the head ---------------------------------------------------------------------------------

TEST(admission_head, an_invalid_target_is_invalid_and_closes) {
    auto const snap = test::snapshot_of(developer);
    request r;
    r.method = "GET";
    r.target = "/v1.41/containers/%2e%2e/json";
    auto const out = test::run(snap, daemon(), r);
    EXPECT_EQ(out.result.result, outcome::invalid);
    EXPECT_EQ(out.result.status, 400u);
    EXPECT_TRUE(out.result.close_connection);
    EXPECT_FALSE(out.result.forwards());
    EXPECT_TRUE(out.asked.empty());
}

TEST(admission_head, an_unknown_route_is_denied) {
    auto const snap = test::snapshot_of(developer);
    request r;
    r.method = "GET";
    r.target = "/v1.41/containers/x/secrets";
    auto const out = test::run(snap, daemon(), r);
    EXPECT_EQ(out.result.result, outcome::deny);
    EXPECT_EQ(out.result.message,
              "dockgate: alice may not GET /v1.41/containers/x/secrets: not an Engine API route");
    EXPECT_FALSE(out.result.close_connection);
}

TEST(admission_head, the_lists_decide_first) {
    auto const snap = test::snapshot_of(developer);
    request r;
    r.method = "GET";
    r.target = "/v1.41/containers/web/export";
    auto const denied = test::run(snap, daemon(), r);
    EXPECT_EQ(denied.result.result, outcome::deny);
    EXPECT_EQ(denied.result.rule, "roles.developer.deny[0]");
    EXPECT_EQ(denied.result.role, "developer");
    r.target = "/v1.41/containers/web/json";
    auto const allowed = test::run(snap, daemon(), r);
    EXPECT_EQ(allowed.result.result, outcome::allow);
    EXPECT_EQ(allowed.result.rule, "roles.developer.allow[0]");
    EXPECT_EQ(allowed.result.target, "/v1.41/containers/web/json");
    EXPECT_FALSE(allowed.result.forward_body);
    request nobody = r;
    nobody.user = "mallory";
    EXPECT_EQ(test::run(snap, daemon(), nobody).result.result, outcome::deny);
}

TEST(admission_head, an_audit_mode_role_lets_through_and_says_so) {
    auto const snap = test::snapshot_of(R"(
[roles.trial]
subjects = ["user:alice"]
allow = ["ContainerList"]
mode = "audit"
)");
    request r;
    r.method = "DELETE";
    r.target = "/v1.41/containers/web";
    auto const out = test::run(snap, daemon(), r);
    EXPECT_EQ(out.result.result, outcome::would_deny);
    EXPECT_TRUE(out.result.forwards());
    EXPECT_EQ(out.result.rule, "roles.trial.allow");
    EXPECT_FALSE(out.result.reason.empty());
}

TEST(admission_head, an_audit_mode_role_reads_judged_bodies_for_the_audit_line) {
    // An allow-all role in audit mode: the onboarding set-up that `dockgate learn` reads.
    auto const snap = test::snapshot_of(R"(
[roles.trial]
subjects = ["user:alice"]
allow = ["*"]
mode = "audit"
)");
    request r;
    r.target = "/v1.41/containers/create";
    r.body = R"({"Image":"alpine","HostConfig":{"CapAdd":["NET_ADMIN"],"Binds":["/srv/x:/x"]}})";
    auto const out = test::run(snap, daemon(), r);
    ASSERT_TRUE(out.body_limit);
    EXPECT_EQ(out.result.result, outcome::allow);
    EXPECT_EQ(out.result.forward_body, r.body);
    EXPECT_NE(out.result.request_facts.find(R"("cap_add":["CAP_NET_ADMIN"])"), std::string::npos)
        << out.result.request_facts;
    EXPECT_NE(out.result.request_facts.find(R"("bind_sources":["/srv/x"])"), std::string::npos);

    // Enforce mode without constraints streams the body and records nothing.
    auto const plain = test::snapshot_of(R"(
[roles.open]
subjects = ["user:alice"]
allow = ["*"]
)");
    auto const streamed = test::run(plain, daemon(), r);
    EXPECT_FALSE(streamed.body_limit);
    EXPECT_TRUE(streamed.result.request_facts.empty());
}

TEST(admission_head, a_form_body_is_refused_on_every_operation) {
    auto const snap = test::snapshot_of(developer);
    request r;
    r.target = "/v1.41/containers/web/kill";
    r.body = "signal=KILL";
    r.content_type = "application/x-www-form-urlencoded";
    auto const out = test::run(snap, daemon(), r);
    EXPECT_EQ(out.result.result, outcome::invalid);
    EXPECT_TRUE(out.result.close_connection);
    r.body.clear(); // no body: nothing to read values from
    EXPECT_EQ(test::run(snap, daemon(), r).result.result, outcome::allow);
}

// --- the body plan ----------------------------------------------------------------------------

TEST(admission_body, read_only_where_a_constraint_reads_it) {
    auto const snap = test::snapshot_of(developer + R"(
[roles.operator]
subjects = ["user:carol"]
allow = ["*"]
)");
    auto const constrained = test::run(snap, daemon(), create("{}"));
    ASSERT_TRUE(constrained.body_limit);
    EXPECT_EQ(*constrained.body_limit, snap->cfg->limits.body_bytes);
    auto r = create("{}");
    r.user = "carol";
    // carol's role allows it without constraints.
    auto const operator_call = test::run(snap, daemon(), r);
    EXPECT_FALSE(operator_call.body_limit);
    EXPECT_EQ(operator_call.result.result, outcome::allow);
    EXPECT_FALSE(operator_call.result.forward_body);
}

TEST(admission_body, too_large_is_refused_and_closes) {
    auto const snap = test::snapshot_of(developer);
    auto const out =
        test::run(snap, daemon(), create(std::string(snap->cfg->limits.body_bytes + 1, ' ')));
    EXPECT_EQ(out.result.status, 413u);
    EXPECT_TRUE(out.result.close_connection);
    EXPECT_FALSE(out.result.forwards());
}

TEST(admission_body, the_judged_body_is_what_is_forwarded) {
    auto const snap = test::snapshot_of(developer);
    auto const out = test::run(snap, daemon(),
                               create(R"({"image":"busybox",)" + ok_user + R"(,"Cmd":["true"]})"));
    ASSERT_EQ(out.result.result, outcome::allow) << out.result.message;
    ASSERT_TRUE(out.result.forward_body);
    EXPECT_EQ(*out.result.forward_body,
              R"({"Image":"busybox","User":"1000:1000","Cmd":["true"],)"
              R"("HostConfig":{"CgroupnsMode":"private","SecurityOpt":["no-new-privileges"]}})");
    EXPECT_TRUE(out.asked.empty());
}

TEST(admission_body, a_constraint_refusal_names_role_rule_and_field) {
    auto const snap = test::snapshot_of(developer);
    auto const out = test::run(
        snap, daemon(),
        create(R"({"Image":"busybox",)" + ok_user + R"(,"HostConfig":{"Privileged":true}})"));
    EXPECT_EQ(out.result.result, outcome::deny);
    EXPECT_EQ(out.result.status, 403u);
    EXPECT_EQ(out.result.rule, "roles.developer.containers.privileged");
    EXPECT_EQ(out.result.message,
              "dockgate: alice (role developer) may not create a container with "
              "HostConfig.Privileged=true (roles.developer.containers.privileged)");
    EXPECT_EQ(out.result.reason, "HostConfig.Privileged=true");
}

TEST(admission_body, malformed_json_is_invalid_and_closes) {
    auto const snap = test::snapshot_of(developer);
    auto const out = test::run(snap, daemon(), create(R"({"Image":"a","Image":"b"})"));
    EXPECT_EQ(out.result.result, outcome::invalid);
    EXPECT_EQ(out.result.status, 400u);
    EXPECT_TRUE(out.result.close_connection);
}

// --- requirements: the daemon facts a constraint depends on -----------------------------------

TEST(admission_requirements, the_images_user_decides_when_none_is_given) {
    auto const snap = test::snapshot_of(developer);
    auto const path = "/v1.41/images/busybox/json";
    auto const body = create(R"({"Image":"busybox"})");
    auto const root =
        test::run(snap, daemon().answer(path, 200, R"({"Config":{"User":""}})"), body);
    EXPECT_EQ(root.result.result, outcome::deny);
    EXPECT_EQ(root.result.rule, "roles.developer.containers.run_as_non_root");
    EXPECT_NE(root.result.message.find("the image runs as root"), std::string::npos)
        << root.result.message;
    EXPECT_EQ(root.asked, std::vector<std::string>{path});
    auto const named =
        test::run(snap, daemon().answer(path, 200, R"({"Config":{"User":"app"}})"), body);
    EXPECT_EQ(named.result.result, outcome::deny);
    auto const numeric =
        test::run(snap, daemon().answer(path, 200, R"({"Config":{"User":"1000:1000"}})"), body);
    EXPECT_EQ(numeric.result.result, outcome::allow) << numeric.result.message;
    // A missing image: the daemon refuses the create itself.
    EXPECT_EQ(test::run(snap, daemon(), body).result.result, outcome::allow);
    // A failed look-up refuses.
    EXPECT_EQ(test::run(snap, daemon().unreachable(), body).result.result, outcome::deny);
    EXPECT_EQ(test::run(snap, daemon().answer(path, 500, "{}"), body).result.result, outcome::deny);
}

TEST(admission_requirements, an_image_named_by_id_must_carry_a_trusted_name) {
    auto const snap = test::snapshot_of(developer);
    std::string const id = "sha256:" + std::string(64, 'a');
    auto const path = "/v1.41/images/" + id + "/json";
    auto const body = create(R"({"Image":")" + id + R"(",)" + ok_user + "}");
    auto const foreign = test::run(
        snap, daemon().answer(path, 200, R"({"RepoTags":["evil.example.com/x:1"]})"), body);
    EXPECT_EQ(foreign.result.result, outcome::deny);
    EXPECT_EQ(foreign.result.rule, "roles.developer.images.registries");
    auto const trusted =
        test::run(snap,
                  daemon().answer(path, 200,
                                  R"({"RepoDigests":["registry.example.com/app@sha256:)" +
                                      std::string(64, 'c') + R"("]})"),
                  body);
    EXPECT_EQ(trusted.result.result, outcome::allow) << trusted.result.message;
}

TEST(admission_requirements, a_joined_container_is_judged_as_if_created_now) {
    auto const snap = test::snapshot_of(developer);
    auto const path = "/v1.41/containers/db/json";
    auto const body =
        create(R"({"Image":"busybox",)" + ok_user + R"(,"HostConfig":{"PidMode":"container:db"}})");
    auto const privileged = test::run(
        snap, daemon().answer(path, 200, container("d1", "", R"({"Privileged":true})")), body);
    EXPECT_EQ(privileged.result.result, outcome::deny);
    EXPECT_EQ(privileged.result.rule, "roles.developer.containers.host_namespaces");
    auto const host_root = test::run(
        snap, daemon().answer(path, 200, container("d1", "alice", R"({"Binds":["/:/host"]})")),
        body);
    EXPECT_EQ(host_root.result.result, outcome::deny);
    EXPECT_NE(host_root.result.message.find("the container has HostConfig.Binds=/:/host"),
              std::string::npos)
        << host_root.result.message;
    auto const confined = test::run(
        snap,
        daemon().answer(path, 200, container("d1", "alice", R"({"Binds":["/srv/data/x:/x"]})")),
        body);
    EXPECT_EQ(confined.result.result, outcome::allow) << confined.result.message;
    EXPECT_EQ(test::run(snap, daemon(), body).result.result, outcome::deny); // no such container
}

TEST(admission_requirements, joins_nest_only_so_deep) {
    auto const snap = test::snapshot_of(developer);
    daemon d;
    for (int i = 0; i < 8; ++i) {
        // (appended, not prepended: GCC 12 warns falsely about `"literal" + std::string`)
        std::string name = "c", next = R"({"IpcMode":"container:c)";
        name += std::to_string(i);
        next += std::to_string(i + 1);
        next += R"("})";
        std::string path = "/v1.41/containers/";
        path += name;
        path += "/json";
        d.answer(path, 200, container(name, "alice", next));
    }
    auto const out = test::run(snap, d,
                               create(R"({"Image":"busybox",)" + ok_user +
                                      R"(,"HostConfig":{"IpcMode":"container:c0"}})"));
    EXPECT_EQ(out.result.result, outcome::deny);
    EXPECT_NE(out.result.message.find("nested too deeply"), std::string::npos)
        << out.result.message;
}

TEST(admission_requirements, one_request_may_not_need_more_than_the_budget) {
    auto const snap = test::snapshot_of(developer);
    daemon d;
    d.answer("/v1.41/containers/own/json", 200, container("own", "alice"));
    std::string from;
    for (int i = 0; i < max_lookups + 5; ++i)
        from += std::string(i ? "," : "") + R"("own:ro")";
    auto const out = test::run(snap, d,
                               create(R"({"Image":"busybox",)" + ok_user +
                                      R"(,"HostConfig":{"VolumesFrom":[)" + from + "]}}"));
    EXPECT_EQ(out.result.result, outcome::deny);
    EXPECT_NE(out.result.message.find("more than 64 containers, volumes, networks and images"),
              std::string::npos)
        << out.result.message;
    EXPECT_EQ(out.asked.size(), static_cast<std::size_t>(max_lookups));
}

TEST(admission_requirements, an_exec_runs_as_the_containers_user) {
    auto const snap = test::snapshot_of(developer);
    request r;
    r.target = "/v1.41/containers/web/exec";
    r.body = R"({"Cmd":["id"]})";
    auto const path = "/v1.41/containers/web/json";
    auto const root = test::run(snap, daemon().answer(path, 200, container("w", "", "{}", "0")), r);
    EXPECT_EQ(root.result.result, outcome::deny);
    EXPECT_EQ(root.result.rule, "roles.developer.containers.run_as_non_root");
    auto const image_user =
        test::run(snap,
                  daemon()
                      .answer(path, 200, container("w", "", "{}", ""))
                      .answer("/v1.41/images/sha256:" + std::string(64, 'b') + "/json", 200,
                              R"({"Config":{"User":"1000:1000"}})"),
                  r);
    EXPECT_EQ(image_user.result.result, outcome::allow) << image_user.result.message;
    // The container itself is judged too: an exec in a privileged container is privileged.
    auto const privileged = test::run(
        snap, daemon().answer(path, 200, container("w", "", R"({"Privileged":true})", "1:1")), r);
    EXPECT_EQ(privileged.result.result, outcome::deny);
    EXPECT_EQ(privileged.result.rule, "roles.developer.containers");
    EXPECT_NE(privileged.result.message.find("the container has HostConfig.Privileged=true"),
              std::string::npos)
        << privileged.result.message;
}

TEST(admission_requirements, a_network_must_not_be_the_hosts) {
    auto const snap = test::snapshot_of(developer);
    auto const body =
        create(R"({"Image":"busybox",)" + ok_user + R"(,"HostConfig":{"NetworkMode":"3f2a"}})");
    auto const host = test::run(
        snap, daemon().answer("/v1.41/networks/3f2a", 200, R"({"Name":"host","Driver":"host"})"),
        body);
    EXPECT_EQ(host.result.result, outcome::deny);
    EXPECT_EQ(host.result.rule, "roles.developer.containers.host_namespaces");
    auto const bridge = test::run(
        snap, daemon().answer("/v1.41/networks/3f2a", 200, R"({"Name":"n","Driver":"bridge"})"),
        body);
    EXPECT_EQ(bridge.result.result, outcome::allow) << bridge.result.message;
}

TEST(admission_requirements, a_bind_through_a_link_is_judged_where_it_leads) {
    auto const snap = test::snapshot_of(developer);
    auto const body = create(R"({"Image":"busybox",)" + ok_user +
                             R"(,"HostConfig":{"Binds":["/srv/data/x:/x"]}})");
    auto const escaping = test::run(snap, daemon(), body, [](std::string_view p) {
        return resolved_path{p == "/srv/data/x" ? "/etc" : std::string(p), {}};
    });
    EXPECT_EQ(escaping.result.result, outcome::deny);
    EXPECT_NE(escaping.result.message.find("leads to /etc through a symbolic link"),
              std::string::npos)
        << escaping.result.message;
    EXPECT_EQ(test::run(snap, daemon(), body).result.result, outcome::allow);
}

TEST(admission_requirements, a_named_volume_that_binds_the_host_is_refused) {
    auto const snap = test::snapshot_of(developer);
    auto const body =
        create(R"({"Image":"busybox",)" + ok_user + R"(,"HostConfig":{"Binds":["data:/d"]}})");
    auto const bind = test::run(
        snap,
        daemon().answer("/v1.41/volumes/data", 200,
                        R"({"Name":"data","Driver":"local","Options":{"type":"none","o":"bind",)"
                        R"("device":"/"}})"),
        body);
    EXPECT_EQ(bind.result.result, outcome::deny);
    EXPECT_EQ(bind.result.rule, "roles.developer.containers.bind_sources");
    auto const plain = test::run(
        snap, daemon().answer("/v1.41/volumes/data", 200, R"({"Name":"data","Driver":"local"})"),
        body);
    EXPECT_EQ(plain.result.result, outcome::allow) << plain.result.message;
    EXPECT_EQ(test::run(snap, daemon(), body).result.result, outcome::allow); // created now
}

// --- ownership --------------------------------------------------------------------------------

TEST(admission_ownership, someone_elses_object_is_not_found_and_an_owned_one_is_pinned) {
    auto const snap = test::snapshot_of(ci);
    std::string const full = std::string(64, 'a');
    daemon d;
    d.answer("/v1.41/containers/web/json", 200, container(full, "bob"));
    request r;
    r.target = "/v1.41/containers/web/stop?t=1";
    auto const foreign = test::run(snap, d, r);
    EXPECT_EQ(foreign.result.result, outcome::deny);
    EXPECT_EQ(foreign.result.status, 404u);
    EXPECT_EQ(foreign.result.message, "No such container: web");
    EXPECT_EQ(foreign.result.rule, "roles.ci.ownership");
    r.user = "bob";
    auto const owned = test::run(snap, d, r);
    EXPECT_EQ(owned.result.result, outcome::allow);
    EXPECT_EQ(owned.result.target, "/v1.41/containers/" + full + "/stop?t=1");
    auto const unreachable = test::run(snap, daemon().unreachable(), r);
    EXPECT_EQ(unreachable.result.result, outcome::error);
    EXPECT_EQ(unreachable.result.status, 502u);
}

TEST(admission_ownership, an_exec_instance_belongs_to_its_containers_owner) {
    auto const snap = test::snapshot_of(ci);
    daemon d;
    d.answer("/v1.41/exec/e1/json", 200, R"({"ID":"e1full","ContainerID":"c1"})");
    d.answer("/v1.41/containers/c1/json", 200, container("c1", "bob"));
    request r;
    r.target = "/v1.41/exec/e1/start";
    r.body = R"({"Detach":true})";
    EXPECT_EQ(test::run(snap, d, r).result.status, 404u);
    r.user = "bob";
    auto const owned = test::run(snap, d, r);
    EXPECT_EQ(owned.result.result, outcome::allow);
    EXPECT_EQ(owned.result.target, "/v1.41/exec/e1full/start");
}

TEST(admission_ownership, a_connect_needs_both_network_and_container) {
    auto const snap = test::snapshot_of(ci);
    daemon d;
    d.answer("/v1.41/networks/net", 200,
             R"({"Id":"n1","Name":"net","Labels":{"dockgate.owner":"alice"}})");
    d.answer("/v1.41/containers/mine/json", 200, container("c-mine", "alice"));
    d.answer("/v1.41/containers/theirs/json", 200, container("c-theirs", "bob"));
    request r;
    r.target = "/v1.41/networks/net/connect";
    r.body = R"({"container":"mine"})";
    auto const owned = test::run(snap, d, r);
    ASSERT_EQ(owned.result.result, outcome::allow) << owned.result.message;
    EXPECT_EQ(owned.result.target, "/v1.41/networks/n1/connect");
    ASSERT_TRUE(owned.result.forward_body);
    EXPECT_EQ(*owned.result.forward_body, R"({"Container":"c-mine"})");
    r.body = R"({"Container":"theirs"})";
    auto const foreign = test::run(snap, d, r);
    EXPECT_EQ(foreign.result.status, 404u);
    EXPECT_EQ(foreign.result.message, "No such container: theirs");
}

TEST(admission_ownership, lists_are_confined_and_disk_usage_answered_here) {
    auto const snap = test::snapshot_of(ci);
    request r;
    r.method = "GET";
    r.target = "/v1.41/containers/json?all=1";
    auto const list = test::run(snap, daemon(), r);
    EXPECT_EQ(list.result.result, outcome::allow);
    EXPECT_EQ(list.result.target,
              "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%7B%22dockgate.owner%3Dalice%"
              "22%3Atrue%7D%7D");
    r.target = "/v1.41/system/df";
    auto const df = test::run(
        snap,
        daemon().answer("/v1.41/system/df", 200,
                        R"({"Containers":[{"Id":"a","Labels":{"dockgate.owner":"alice"}},)"
                        R"({"Id":"b","Labels":{"dockgate.owner":"bob"}}],"Volumes":[],)"
                        R"("BuildCache":[{"ID":"x"}]})"),
        r);
    EXPECT_EQ(df.result.result, outcome::allow);
    EXPECT_FALSE(df.result.forwards());
    ASSERT_TRUE(df.result.reply_body);
    EXPECT_EQ(*df.result.reply_body,
              R"({"Containers":[{"Id":"a","Labels":{"dockgate.owner":"alice"}}],"Volumes":[],)"
              R"("BuildCache":[]})");
}

TEST(admission_ownership, what_cannot_be_confined_is_refused) {
    auto const snap = test::snapshot_of(ci);
    request r;
    r.target = "/v1.41/build/prune";
    auto const out = test::run(snap, daemon(), r);
    EXPECT_EQ(out.result.result, outcome::deny);
    EXPECT_EQ(out.result.status, 403u);
    EXPECT_EQ(out.result.rule, "roles.ci.ownership");
}

TEST(admission_ownership, a_commit_names_its_container_by_full_id) {
    auto const snap = test::snapshot_of(ci);
    daemon d;
    d.answer("/v1.41/containers/web/json", 200, container("c-web", "alice"));
    request r;
    r.target = "/v1.41/commit?container=web&repo=x";
    auto const out = test::run(snap, d, r);
    EXPECT_EQ(out.result.result, outcome::allow);
    EXPECT_EQ(out.result.target, "/v1.41/commit?repo=x&container=c-web");
    r.user = "bob";
    EXPECT_EQ(test::run(snap, d, r).result.status, 404u);
}

TEST(admission_ownership, audit_mode_forwards_what_it_would_refuse) {
    auto const snap = test::snapshot_of(ci + "mode = \"audit\"\n");
    daemon d;
    d.answer("/v1.41/containers/web/json", 200, container("c-web", "bob"));
    request r;
    r.target = "/v1.41/containers/web/stop";
    auto const out = test::run(snap, d, r);
    EXPECT_EQ(out.result.result, outcome::would_deny);
    EXPECT_TRUE(out.result.forwards());
    EXPECT_EQ(out.result.rule, "roles.ci.ownership");
    EXPECT_EQ(out.result.target, "/v1.41/containers/web/stop");
}

// --- pinning ----------------------------------------------------------------------------------

TEST(admission_pinning, a_request_keeps_the_snapshot_it_started_with) {
    auto before = test::snapshot_of(developer);
    policy::identity who;
    who.user = "alice";
    who.groups = {"developers"};
    request_head head;
    head.method = "POST";
    head.target = "/v1.41/containers/create";
    head.content_type = "application/json";
    head.has_body = true;
    admission a(before, who, before->policy.roles_of(who), head, &test::no_links);
    auto const path_step = a.start(R"({"Image":"busybox"})");
    ASSERT_TRUE(path_step.needs_lookup());
    // A reload now: the caller's only reference is gone, and the new config would deny.
    before.reset();
    auto const after = test::snapshot_of(R"(
[roles.developer]
subjects = ["group:developers"]
allow = ["ContainerList"]
)");
    auto const done = a.resume({200, R"({"Config":{"User":"1000:1000"}})"});
    ASSERT_FALSE(done.needs_lookup());
    EXPECT_EQ(done.result().result, outcome::allow) << done.result().message;
    EXPECT_EQ(a.lookups().size(), 1u);
    EXPECT_EQ(a.lookups()[0].status, 200u);
}

} // namespace
} // namespace dockgate::admission
