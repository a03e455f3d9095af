#include <gtest/gtest.h>

#include "gateway/policy/policy_engine.hpp"

namespace dockgate::policy {
namespace {

config::config make_config() {
    config::config cfg;
    cfg.users["alice"].groups = {"developers"};
    cfg.users["carol"].groups = {"auditors", "developers"};
    config::role readonly;
    readonly.name = "readonly";
    readonly.subjects = {{config::subject::kind::group, "auditors"},
                         {config::subject::kind::user, "carol"}};
    readonly.allow = {"SystemPing*",   "SystemVersion",    "SystemInfo",
                      "ContainerList", "ContainerInspect", "ImageList"};
    config::role operator_role;
    operator_role.name = "operator";
    operator_role.subjects = {{config::subject::kind::group, "developers"}};
    operator_role.allow = {"*"};
    operator_role.deny = {"Plugin*", "Swarm*"};
    config::role trial;
    trial.name = "trial";
    trial.subjects = {{config::subject::kind::group, "trial"}};
    trial.allow = {"ContainerList"};
    trial.mode = config::role_mode::audit;
    cfg.roles = {readonly, operator_role, trial};
    return cfg;
}

identity who(std::string const& user, std::vector<std::string> cert_groups,
             config::config const& cfg) {
    identity id;
    id.user = user;
    id.groups = resolve_groups(cfg, user, std::move(cert_groups));
    id.transport = "tls";
    return id;
}

TEST(resolve_groups, adds_configured_groups_without_duplicates) {
    auto cfg = make_config();
    EXPECT_EQ(resolve_groups(cfg, "alice", {"ops"}),
              (std::vector<std::string>{"ops", "developers"}));
    EXPECT_EQ(resolve_groups(cfg, "alice", {"developers"}),
              (std::vector<std::string>{"developers"}));
    EXPECT_EQ(resolve_groups(cfg, "nobody", {"x"}), (std::vector<std::string>{"x"}));
}

TEST(roles_of, matches_users_and_groups_in_config_order) {
    auto cfg = make_config();
    policy_engine engine(cfg);
    EXPECT_EQ(engine.roles_of(who("alice", {}, cfg)), (std::vector<std::string>{"operator"}));
    EXPECT_EQ(engine.roles_of(who("carol", {}, cfg)),
              (std::vector<std::string>{"readonly", "operator"}));
    EXPECT_EQ(engine.roles_of(who("erin", {"auditors"}, cfg)),
              (std::vector<std::string>{"readonly"}));
    EXPECT_TRUE(engine.roles_of(who("dave", {}, cfg)).empty());
    // Names are exact: a user called "developers" is not the group.
    EXPECT_TRUE(engine.roles_of(who("developers", {}, cfg)).empty());
}

struct policy_case {
    char const* name;
    char const* user;
    std::vector<std::string> cert_groups;
    char const* operation;
    outcome expect;
    char const* rule;   // expected rule key ("" = don't care)
    char const* reason; // substring of the reason when denied
};

class evaluate : public ::testing::TestWithParam<policy_case> {};

TEST_P(evaluate, decides_as_the_table_says) {
    auto const& c = GetParam();
    auto cfg = make_config();
    policy_engine engine(cfg);
    auto const id = who(c.user, c.cert_groups, cfg);
    auto const d = engine.evaluate(id, engine.roles_of(id), c.operation);
    EXPECT_EQ(static_cast<int>(d.result), static_cast<int>(c.expect)) << d.reason;
    if (*c.rule != '\0') {
        EXPECT_EQ(d.rule, c.rule);
    }
    if (*c.reason != '\0') {
        EXPECT_NE(d.reason.find(c.reason), std::string::npos) << d.reason;
    }
}

using v = outcome;
INSTANTIATE_TEST_SUITE_P(
    table, evaluate,
    ::testing::Values(
        policy_case{"readonly_lists",
                    "erin",
                    {"auditors"},
                    "ContainerList",
                    v::allow,
                    "roles.readonly.allow[3]",
                    ""},
        policy_case{"readonly_glob",
                    "erin",
                    {"auditors"},
                    "SystemPingHead",
                    v::allow,
                    "roles.readonly.allow[0]",
                    ""},
        policy_case{"readonly_may_not_create",
                    "erin",
                    {"auditors"},
                    "ContainerCreate",
                    v::deny,
                    "roles.readonly.allow",
                    "not in roles.readonly.allow"},
        policy_case{"operator_star",
                    "alice",
                    {},
                    "ContainerCreate",
                    v::allow,
                    "roles.operator.allow[0]",
                    ""},
        policy_case{"deny_wins_over_allow",
                    "alice",
                    {},
                    "PluginPull",
                    v::deny,
                    "roles.operator.deny[0]",
                    "denied by roles.operator.deny[0] (\"Plugin*\")"},
        policy_case{
            "deny_second_glob", "alice", {}, "SwarmInit", v::deny, "roles.operator.deny[1]", ""},
        policy_case{"any_role_allowing_suffices",
                    "carol",
                    {},
                    "ContainerCreate",
                    v::allow,
                    "roles.operator.allow[0]",
                    ""},
        policy_case{"deny_in_one_role_does_not_block_another",
                    "carol",
                    {},
                    "ContainerList",
                    v::allow,
                    "roles.readonly.allow[3]",
                    ""},
        policy_case{
            "no_role_no_access", "dave", {}, "SystemPing", v::deny, "", "no role is granted"},
        policy_case{"cert_group_counts", "frank", {"developers"}, "ExecStart", v::allow, "", ""},
        policy_case{"audit_mode_lets_through",
                    "gina",
                    {"trial"},
                    "ContainerCreate",
                    v::would_deny,
                    "roles.trial.allow",
                    ""},
        policy_case{
            "audit_mode_allow_is_allow", "gina", {"trial"}, "ContainerList", v::allow, "", ""}),
    [](auto const& info) { return std::string(info.param.name); });

TEST(denial_message, is_what_the_docker_cli_shows) {
    auto cfg = make_config();
    policy_engine engine(cfg);
    auto const id = who("erin", {"auditors"}, cfg);
    auto const d = engine.evaluate(id, engine.roles_of(id), "ContainerCreate");
    EXPECT_EQ(
        policy_engine::denial_message(id, "ContainerCreate", d),
        "dockgate: erin may not ContainerCreate: not in roles.readonly.allow (role readonly)");
}

} // namespace
} // namespace dockgate::policy
