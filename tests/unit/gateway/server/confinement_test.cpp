#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "gateway/server/confinement.hpp"

namespace dockgate::server {
namespace {

namespace fs = std::filesystem;

bool holds(std::vector<fs::path> const& v, fs::path const& p) {
    return std::find(v.begin(), v.end(), p) != v.end();
}

// A config as the loader leaves it: absolute paths, TLS files next to the config, a CRL and a
// user's keys elsewhere.
config::config sample() {
    config::config cfg;
    cfg.source = "/etc/dockgate/dockgate.toml";
    cfg.gateway.audit_log = "/var/log/dockgate/audit.jsonl";
    config::tls_listener tls;
    tls.ca = "/etc/dockgate/ca.pem";
    tls.cert = "/etc/dockgate/server-cert.pem";
    tls.key = "/etc/dockgate/private/server-key.pem";
    tls.crl = "/srv/pki/crl.pem";
    cfg.tls = tls;
    cfg.users["alice"].ssh_keys_file = "/home/alice/.ssh/authorized_keys";
    config::unix_listener u;
    u.path = "/run/dockgate/docker.sock";
    cfg.unix_socket = u;
    return cfg;
}

TEST(confinement_plan, reads_the_folders_of_every_watched_file_and_writes_only_the_audit_folder) {
    auto const plan = plan_file_access(sample());
    for (auto const* dir :
         {"/etc/dockgate", "/etc/dockgate/private", "/srv/pki", "/home/alice/.ssh"})
        EXPECT_TRUE(holds(plan.read_dirs, dir)) << dir;
    EXPECT_FALSE(holds(plan.read_dirs, "/"));
    EXPECT_FALSE(holds(plan.read_dirs, "/var/log/dockgate"));
    ASSERT_EQ(plan.write_dirs.size(), 1u);
    EXPECT_EQ(plan.write_dirs.front(), "/var/log/dockgate");
    ASSERT_EQ(plan.remove_dirs.size(), 1u);
    EXPECT_EQ(plan.remove_dirs.front(), "/run/dockgate");
    // Each folder once, however many files it holds.
    EXPECT_EQ(std::count(plan.read_dirs.begin(), plan.read_dirs.end(), "/etc/dockgate"), 1);
    // Files, not folders, for the user database.
    for (auto const& f : plan.read_files)
        EXPECT_EQ(f.parent_path(), "/etc") << f;
}

TEST(confinement_plan, network_peers_only_when_a_collector_is_configured) {
    auto cfg = sample();
    auto plan = plan_file_access(cfg);
    EXPECT_FALSE(plan.inet_sockets);
    EXPECT_TRUE(plan.tcp_connect_ports.empty());
    config::audit_syslog_target target;
    target.transport = config::audit_syslog_target::kind::unix_socket;
    target.path = "/dev/log";
    cfg.gateway.audit_syslog = target;
    plan = plan_file_access(cfg);
    EXPECT_FALSE(plan.inet_sockets) << "a unix socket needs no IP socket";
    EXPECT_TRUE(plan.tcp_connect_ports.empty());
    target.transport = config::audit_syslog_target::kind::udp;
    target.port = 514;
    cfg.gateway.audit_syslog = target;
    plan = plan_file_access(cfg);
    EXPECT_TRUE(plan.inet_sockets);
    EXPECT_TRUE(plan.tcp_connect_ports.empty()) << "UDP needs no TCP connect";
    EXPECT_TRUE(plan.inet_datagrams);
    target.transport = config::audit_syslog_target::kind::tls;
    target.port = 6514;
    cfg.gateway.audit_syslog = target;
    plan = plan_file_access(cfg);
    EXPECT_TRUE(plan.inet_sockets);
    EXPECT_EQ(plan.tcp_connect_ports, std::vector<std::uint16_t>{6514});
    EXPECT_FALSE(plan.inet_datagrams) << "a TLS collector needs no datagram socket";
}

TEST(confinement_plan, tcp_connect_only_to_the_ports_of_the_crl_urls) {
    auto cfg = sample();
    auto const none = plan_file_access(cfg);
    EXPECT_TRUE(none.tcp_connect_ports.empty());
    EXPECT_FALSE(none.inet_sockets);
    for (auto const* url : {"http://pki.example.com/ca-1.crl", "http://10.0.0.5:8080/ca-2.crl",
                            "http://pki.example.com/ca-3.crl"}) {
        config::crl_url u;
        ASSERT_EQ(config::parse_crl_url(url, u), "");
        cfg.tls->crl_urls.push_back(u);
    }
    auto const plan = plan_file_access(cfg);
    EXPECT_EQ(plan.tcp_connect_ports, (std::vector<std::uint16_t>{80, 8080}));
    EXPECT_TRUE(plan.inet_sockets);
    EXPECT_FALSE(plan.inet_datagrams) << "CRL fetches need stream sockets only";
}

TEST(confinement_plan, an_audit_log_on_stdout_writes_nowhere) {
    auto cfg = sample();
    cfg.gateway.audit_log = "-";
    cfg.unix_socket.reset();
    auto const plan = plan_file_access(cfg);
    EXPECT_TRUE(plan.write_dirs.empty());
    EXPECT_TRUE(plan.remove_dirs.empty());
}

TEST(confinement_plan, a_reload_into_a_new_folder_is_named_by_its_key) {
    auto const started = plan_file_access(sample());
    auto next = sample();
    EXPECT_EQ(outside_plan(started, next), "");
    next.tls->cert = "/etc/dockgate/new-cert.pem"; // another file, same folder
    EXPECT_EQ(outside_plan(started, next), "");
    next.tls->key = "/etc/dockgate/2027/key.pem"; // below a granted folder
    EXPECT_EQ(outside_plan(started, next), "");
    next.tls->key = "/etc/dockgate-old/key.pem"; // a sibling whose name starts alike
    EXPECT_EQ(outside_plan(started, next), "listen.tls.key: /etc/dockgate-old/key.pem");
    next = sample();
    next.tls->ca = "/srv/other/ca.pem";
    EXPECT_EQ(outside_plan(started, next), "listen.tls.ca: /srv/other/ca.pem");
    next = sample();
    next.tls->crl = "/tmp/crl.pem";
    EXPECT_EQ(outside_plan(started, next), "listen.tls.crl: /tmp/crl.pem");
    next = sample();
    next.users["bob"].ssh_keys_file = "/home/bob/keys";
    EXPECT_EQ(outside_plan(started, next), "users.bob.ssh_keys_file: /home/bob/keys");
}

} // namespace
} // namespace dockgate::server
