#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace dockgate::config {
namespace {

// A folder with the three PEM files a TLS listener names (contents are not read by the loader).
class load_config_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("dockgate-config-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
        for (auto const* f : {"ca.pem", "server-cert.pem", "server-key.pem"})
            std::ofstream(dir_ / f) << "x";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    config parse(std::string const& text) { return parse_config(text, dir_, "test.toml"); }

    // All problems reported for `text`, joined by newlines ("" when it loads).
    std::string problems(std::string const& text) {
        try {
            parse(text);
            return "";
        } catch (config_error const& e) {
            std::string all;
            for (auto const& p : e.problems())
                all += p + "\n";
            return all;
        }
    }

    std::filesystem::path dir_;
};

std::string const base = R"(
[gateway]
upstream = "unix:///var/run/docker.sock"
audit_log = "-"
workers = 0
[listen.tls]
address = "127.0.0.1:2376"
ca = "ca.pem"
cert = "server-cert.pem"
key = "server-key.pem"
[limits]
max_connections = 10000
header_bytes = 65536
handshake_timeout = "10s"
idle_timeout = "120s"
[users.alice]
groups = ["developers"]
[roles.readonly]
subjects = ["group:auditors", "user:carol"]
allow = ["SystemPing*", "SystemVersion", "SystemInfo", "ContainerList", "ContainerInspect", "ImageList"]
[roles.operator]
subjects = ["group:developers"]
allow = ["*"]
deny = ["Plugin*", "Swarm*"]
)";

TEST_F(load_config_test, the_documented_example_loads) {
    auto cfg = parse(base);
    EXPECT_EQ(cfg.gateway.upstream_socket, "/var/run/docker.sock");
    EXPECT_EQ(cfg.gateway.audit_log, "-");
    EXPECT_GE(cfg.gateway.workers, 1u); // 0 means one per core
    ASSERT_TRUE(cfg.tls);
    EXPECT_EQ(cfg.tls->host, "127.0.0.1");
    EXPECT_EQ(cfg.tls->port, 2376);
    EXPECT_EQ(cfg.tls->ca, (dir_ / "ca.pem").lexically_normal());
    EXPECT_EQ(cfg.limits.idle_timeout, std::chrono::seconds(120));
    ASSERT_EQ(cfg.roles.size(), 2u);
    EXPECT_EQ(cfg.roles[0].name, "readonly");
    EXPECT_EQ(cfg.roles[0].subjects[1], (subject{subject::kind::user, "carol"}));
    EXPECT_EQ(cfg.roles[1].deny.size(), 2u);
    EXPECT_EQ(cfg.users.at("alice").groups, std::vector<std::string>{"developers"});
}

struct bad_case {
    char const* name;
    std::string from; // text to replace in `base`
    std::string to;
    std::string expect; // substring of the problem list
};

class config_errors : public load_config_test, public ::testing::WithParamInterface<bad_case> {};

TEST_P(config_errors, names_the_key_and_the_fix) {
    auto const& c = GetParam();
    std::string text = base;
    auto const at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    auto const out = problems(text);
    EXPECT_NE(out.find(c.expect), std::string::npos) << "problems were:\n" << out;
}

INSTANTIATE_TEST_SUITE_P(
    table, config_errors,
    ::testing::Values(
        bad_case{"unknown_key", "workers = 0", "wrokers = 0",
                 "gateway.wrokers: unknown key (did you mean \"workers\"?)"},
        bad_case{"unknown_section", "[limits]", "[limit]", "limit: unknown key"},
        bad_case{"wrong_type_integer", "max_connections = 10000", "max_connections = \"many\"",
                 "limits.max_connections: expected an integer, got a string"},
        bad_case{"wrong_type_array", "allow = [\"*\"]", "allow = \"*\"",
                 "roles.operator.allow: expected an array of strings"},
        bad_case{"unknown_operation", "\"SystemInfo\"", "\"ContainerRun\"",
                 "roles.readonly.allow[2]: unknown operation \"ContainerRun\" (did you mean"},
        bad_case{"glob_matching_nothing", "\"Plugin*\"", "\"Plugins*\"",
                 "roles.operator.deny[0]: unknown operation"},
        bad_case{"missing_file", "ca = \"ca.pem\"", "ca = \"nope.pem\"",
                 "listen.tls.ca: file not found"},
        bad_case{"missing_key", "key = \"server-key.pem\"\n", "", "listen.tls.key: missing"},
        bad_case{"bad_address", "127.0.0.1:2376", "127.0.0.1",
                 "listen.tls.address: \"127.0.0.1\" is not HOST:PORT"},
        bad_case{"bad_port", "127.0.0.1:2376", "127.0.0.1:99999", "is not HOST:PORT"},
        bad_case{"bad_upstream", "unix:///var/run/docker.sock", "tcp://127.0.0.1:2375",
                 "gateway.upstream: \"tcp://127.0.0.1:2375\" is not a unix socket URL"},
        bad_case{"bad_duration", "\"120s\"", "\"2 minutes\"",
                 "limits.idle_timeout: invalid duration"},
        bad_case{"zero_duration", "\"10s\"", "\"0s\"",
                 "limits.handshake_timeout: invalid duration"},
        bad_case{"bad_subject", "\"user:carol\"", "\"carol\"",
                 "roles.readonly.subjects[1]: \"carol\" is not a subject"},
        bad_case{"missing_subjects", "subjects = [\"group:developers\"]\n", "",
                 "roles.operator.subjects: missing"},
        bad_case{"bad_mode", "deny = [\"Plugin*\", \"Swarm*\"]", "deny = []\nmode = \"permissive\"",
                 "roles.operator.mode: unknown mode \"permissive\""},
        bad_case{"workers_out_of_range", "workers = 0", "workers = -1",
                 "gateway.workers: out of range"},
        bad_case{"syntax", "[users.alice]", "[users.alice", "TOML syntax error"},
        bad_case{"no_listener", "[listen.tls]", "[listen.tcp]", "listen.tcp: unknown key"},
        bad_case{"bad_identity_field", "[listen.tls]\n", "[listen.tls]\nidentity = \"uri\"\n",
                 "listen.tls.identity: \"uri\" is not a certificate field (use \"cn\", "
                 "\"uri_san\", \"dns_san\" or \"email_san\")"},
        bad_case{"negative_rate", "max_connections = 10000",
                 "max_connections = 10000\nper_user_rate = -1",
                 "limits.per_user_rate: out of range"},
        bad_case{"role_limit_unknown_key", "deny = [\"Plugin*\", \"Swarm*\"]",
                 "deny = [\"Plugin*\", \"Swarm*\"]\n[roles.operator.limits]\nrate = 5",
                 "roles.operator.limits.rate: unknown key (remove it; valid keys here: "
                 "per_user_connections, per_user_inflight, per_user_rate, per_user_burst)"},
        bad_case{
            "role_limit_wrong_type", "deny = [\"Plugin*\", \"Swarm*\"]",
            "deny = [\"Plugin*\", \"Swarm*\"]\n[roles.operator.limits]\nper_user_inflight = 1.5",
            "roles.operator.limits.per_user_inflight: expected an integer, got a float"},
        bad_case{"ssh_channels_out_of_range", "[limits]",
                 "[listen.ssh]\naddress = \"127.0.0.1:2222\"\nhost_key = \"k\"\n"
                 "max_channels_per_connection = 0\n[limits]",
                 "listen.ssh.max_channels_per_connection: out of range"},
        bad_case{"gateway_user_with_a_slash", "workers = 0", "workers = 0\nuser = \"../root\"",
                 "gateway.user: \"../root\" is not a user name"},
        bad_case{"gateway_group_without_user", "workers = 0", "workers = 0\ngroup = \"docker\"",
                 "gateway.group: set without gateway.user"},
        bad_case{"seccomp_not_a_boolean", "workers = 0", "workers = 0\nseccomp = \"off\"",
                 "gateway.seccomp: expected true or false, got a string"},
        bad_case{"landlock_not_a_boolean", "workers = 0", "workers = 0\nlandlock = 0",
                 "gateway.landlock: expected true or false, got an integer"},
        bad_case{"syslog_unknown_scheme", "workers = 0",
                 "workers = 0\naudit_syslog = \"syslog://h:514\"",
                 "gateway.audit_syslog: \"syslog://h:514\" has no known scheme (write "
                 "\"unix:///dev/log\""},
        bad_case{"syslog_missing_port", "workers = 0",
                 "workers = 0\naudit_syslog = \"tls://logs.example.com\"",
                 "gateway.audit_syslog: \"tls://logs.example.com\" needs a host and a port "
                 "(write e.g. \"tls://logs.example.com:6514\")"},
        bad_case{"syslog_relative_socket", "workers = 0",
                 "workers = 0\naudit_syslog = \"unix://dev/log\"",
                 "gateway.audit_syslog: \"unix://dev/log\" does not name an absolute socket path"},
        bad_case{"syslog_path_after_port", "workers = 0",
                 "workers = 0\naudit_syslog = \"tcp://h:601/x\"",
                 "gateway.audit_syslog: \"tcp://h:601/x\": only HOST:PORT may follow the scheme"},
        bad_case{"syslog_ca_without_tls", "workers = 0",
                 "workers = 0\naudit_syslog = \"tcp://h:601\"\naudit_syslog_ca = \"ca.pem\"",
                 "gateway.audit_syslog_ca: only a tls:// collector has a certificate to check"},
        bad_case{"syslog_ca_missing", "workers = 0",
                 "workers = 0\naudit_syslog = \"tls://h:6514\"\naudit_syslog_ca = \"none.pem\"",
                 "gateway.audit_syslog_ca: file not found"},
        bad_case{"syslog_facility_without_target", "workers = 0",
                 "workers = 0\naudit_syslog_facility = \"local0\"",
                 "gateway.audit_syslog_facility: set without gateway.audit_syslog"},
        bad_case{"syslog_unknown_facility", "workers = 0",
                 "workers = 0\naudit_syslog = \"unix:///dev/log\"\n"
                 "audit_syslog_facility = \"kern\"",
                 "gateway.audit_syslog_facility: unknown facility \"kern\" (use authpriv"},
        bad_case{"syslog_queue_zero", "workers = 0",
                 "workers = 0\naudit_syslog = \"unix:///dev/log\"\naudit_syslog_queue = 0",
                 "gateway.audit_syslog_queue: out of range"},
        bad_case{"ssh_handshakes_out_of_range", "[limits]",
                 "[listen.ssh]\naddress = \"127.0.0.1:2222\"\nhost_key = \"k\"\n"
                 "max_handshakes_per_address = -3\n[limits]",
                 "listen.ssh.max_handshakes_per_address: out of range"}),
    [](auto const& info) { return std::string(info.param.name); });

TEST_F(load_config_test, ssh_channel_and_handshake_limits_have_defaults_and_can_be_set) {
    auto const with = [&](std::string const& keys) {
        return parse(base + "[listen.ssh]\naddress = \"127.0.0.1:2222\"\nhost_key = \"k\"\n" +
                     keys);
    };
    auto const defaults = with("");
    ASSERT_TRUE(defaults.ssh);
    EXPECT_EQ(defaults.ssh->max_channels_per_connection, 10u);
    EXPECT_EQ(defaults.ssh->max_handshakes_per_address, 100u);
    auto const set = with("max_channels_per_connection = 64\nmax_handshakes_per_address = 5\n");
    EXPECT_EQ(set.ssh->max_channels_per_connection, 64u);
    EXPECT_EQ(set.ssh->max_handshakes_per_address, 5u);
}

TEST_F(load_config_test, confinement_is_on_by_default_and_names_its_user) {
    auto cfg = parse(base);
    EXPECT_TRUE(cfg.gateway.seccomp);
    EXPECT_TRUE(cfg.gateway.landlock);
    EXPECT_EQ(cfg.gateway.user, "");
    std::string text = base;
    text.replace(text.find("workers = 0"), 11,
                 "workers = 0\nuser = \"dockgate\"\ngroup = \"docker\"\nseccomp = false\n"
                 "landlock = false");
    cfg = parse(text);
    EXPECT_EQ(cfg.gateway.user, "dockgate");
    EXPECT_EQ(cfg.gateway.group, "docker");
    EXPECT_FALSE(cfg.gateway.seccomp);
    EXPECT_FALSE(cfg.gateway.landlock);
}

TEST_F(load_config_test, reports_every_problem_at_once_with_line_numbers) {
    std::string text = base;
    text.replace(text.find("workers = 0"), 11, "wrokers = 0");
    text.replace(text.find("\"SystemInfo\""), 12, "\"ContainerRun\"");
    auto const out = problems(text);
    EXPECT_NE(out.find("test.toml:5: gateway.wrokers"), std::string::npos) << out;
    EXPECT_NE(out.find("roles.readonly.allow[2]"), std::string::npos) << out;
}

TEST_F(load_config_test, no_roles_is_an_error_not_an_open_door) {
    auto text = base.substr(0, base.find("[roles.readonly]"));
    EXPECT_NE(problems(text).find("roles: no roles defined"), std::string::npos);
}

TEST_F(load_config_test, the_annotated_example_in_the_repository_loads) {
    std::filesystem::create_directories(dir_ / "pki");
    for (auto const* f : {"pki/ca.pem", "pki/server-cert.pem", "pki/server-key.pem"})
        std::ofstream(dir_ / f) << "x";
    std::ifstream in(std::filesystem::path(DOCKGATE_SOURCE_DIR) / "config/examples/dockgate.toml");
    ASSERT_TRUE(in);
    std::stringstream text;
    text << in.rdbuf();
    auto cfg = parse(text.str());
    EXPECT_EQ(cfg.roles.size(), 2u);
    EXPECT_EQ(cfg.limits.write_timeout, std::chrono::seconds(120));
}

TEST_F(load_config_test, missing_config_file_is_a_clear_error) {
    try {
        load_config(dir_ / "absent.toml");
        FAIL() << "expected config_error";
    } catch (config_error const& e) {
        EXPECT_NE(std::string(e.what()).find("cannot read the config file"), std::string::npos);
    }
}

TEST_F(load_config_test, audit_syslog_reads_each_form_and_its_companion_keys) {
    using kind = audit_syslog_target::kind;
    auto with = [&](std::string const& extra) {
        std::string text = base;
        text.replace(text.find("workers = 0"), 11, "workers = 0\n" + extra);
        return parse(text).gateway.audit_syslog;
    };
    EXPECT_FALSE(parse(base).gateway.audit_syslog);
    auto s = with("audit_syslog = \"unix:///dev/log\"");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->transport, kind::unix_socket);
    EXPECT_EQ(s->path, "/dev/log");
    EXPECT_EQ(s->facility, 10u); // authpriv
    EXPECT_EQ(s->queue, 10000u);
    s = with("audit_syslog = \"udp://10.0.0.5:514\"");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->transport, kind::udp);
    EXPECT_EQ(s->host, "10.0.0.5");
    EXPECT_EQ(s->port, 514);
    s = with("audit_syslog = \"tcp://[::1]:601\"\naudit_syslog_facility = \"local3\"");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->transport, kind::tcp);
    EXPECT_EQ(s->host, "::1");
    EXPECT_EQ(s->facility, 19u);
    s = with("audit_syslog = \"tls://logs.example.com:6514\"\naudit_syslog_ca = \"ca.pem\"\n"
             "audit_syslog_queue = 50");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->transport, kind::tls);
    EXPECT_EQ(s->host, "logs.example.com");
    EXPECT_EQ(s->port, 6514);
    EXPECT_EQ(s->ca, dir_ / "ca.pem");
    EXPECT_EQ(s->queue, 50u);
    EXPECT_EQ(syslog_facility_name(s->facility), "authpriv");
}

TEST_F(load_config_test, relative_audit_log_is_resolved_against_the_config_folder) {
    std::string text = base;
    text.replace(text.find("audit_log = \"-\""), 15, "audit_log = \"audit.jsonl\"");
    EXPECT_EQ(parse(text).gateway.audit_log, (dir_ / "audit.jsonl").string());
}

TEST_F(load_config_test, ssh_keys_file_gives_its_keys_and_names_each_bad_line) {
    std::string const blob = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    std::ofstream(dir_ / "alice.keys") << "# alice\nssh-ed25519 " << blob << " laptop\n";
    std::string text = base;
    std::string const groups = "groups = [\"developers\"]";
    text.replace(text.find(groups), groups.size(),
                 groups + "\nssh_keys_file = \"alice.keys\"\nssh_keys = [\"ssh-rsa AAAA\"]");
    auto const cfg = parse(text);
    EXPECT_EQ(cfg.users.at("alice").ssh_keys,
              (std::vector<std::string>{"ssh-rsa AAAA", "ssh-ed25519 " + blob}));
    EXPECT_EQ(cfg.users.at("alice").ssh_keys_file, dir_ / "alice.keys");

    std::ofstream(dir_ / "alice.keys") << "ssh-ed25519 " << blob << "\n\nssh-dss AAAA\n";
    auto const out = problems(text);
    EXPECT_NE(out.find("users.alice.ssh_keys_file: " + (dir_ / "alice.keys").string() +
                       " line 3: \"ssh-dss\" is not a supported key type"),
              std::string::npos)
        << out;
}

// Regression (found by config_fuzz): a quoted key with a NUL cut the message short, and one
// with a newline split it in two.
TEST_F(load_config_test, a_problem_shows_control_characters_escaped) {
    auto const out = problems(base + "[users.\"a\\u0000b\\nc\"]\nbogus = 1\n");
    EXPECT_NE(out.find("users.\"a\\u0000b\\u000Ac\".bogus: unknown key"), std::string::npos) << out;
    EXPECT_EQ(out.find('\0'), std::string::npos);
}

// A key that is not bare in TOML (a SPIFFE ID, a name with a dot) is named quoted, so the path
// in the message is one the admin can find and paste.
TEST_F(load_config_test, a_problem_names_a_quoted_key_quoted) {
    auto out = problems(base + "[users.\"spiffe://example.org/ci\"]\ngroups = 3\n");
    EXPECT_NE(out.find("users.\"spiffe://example.org/ci\".groups"), std::string::npos) << out;
    out = problems(base + "[users.\"a.b\"]\nbogus = 1\n");
    EXPECT_NE(out.find("users.\"a.b\".bogus: unknown key"), std::string::npos) << out;
    out = problems(base + "[users.plain-name_1]\nbogus = 1\n");
    EXPECT_NE(out.find("users.plain-name_1.bogus: unknown key"), std::string::npos) << out;
}

} // namespace
} // namespace dockgate::config
