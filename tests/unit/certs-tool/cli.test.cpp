// The dockgate-certs binary: flags, --help, exit codes, DOCKGATE_PKI, messages.
#include "certs_test_support.hpp"

namespace dockgate::certs::testing {
namespace {

using cli_test = certs_test;

std::string const binary = DOCKGATE_CERTS_BINARY;

TEST_F(cli_test, every_command_has_help_that_mentions_dir) {
    for (auto const* command :
         {"init", "server", "client", "list", "revoke", "crl", "renew", "rotate-ca", "retire-ca"}) {
        auto const r = shell(binary + " " + command + " --help");
        EXPECT_EQ(r.status, 0) << command << ": " << r.output;
        EXPECT_NE(r.output.find("--dir"), std::string::npos) << command << ": " << r.output;
    }
    auto const top = shell(binary + " --help");
    EXPECT_EQ(top.status, 0);
    for (auto const* command : {"init", "rotate-ca", "retire-ca"})
        EXPECT_NE(top.output.find(command), std::string::npos) << top.output;
    for (auto const* flag :
         {"--passphrase-file", "--reason", "--revoke-old", "--docker-context", "--expiring"})
        EXPECT_NE(shell(binary + " --help; for c in init client revoke renew list; do " + binary +
                        " $c --help; done")
                      .output.find(flag),
                  std::string::npos)
            << flag;
}

TEST_F(cli_test, usage_errors_exit_1) {
    EXPECT_EQ(shell(binary).status, 1);
    EXPECT_EQ(shell(binary + " frobnicate").status, 1);
    EXPECT_EQ(shell(binary + " client --dir " + quoted(pki_.string())).status, 1)
        << "USER is required";
    EXPECT_EQ(shell(binary + " init --days abc --dir " + quoted(pki_.string())).status, 1);
    EXPECT_FALSE(fs::exists(pki_));
}

TEST_F(cli_test, a_whole_session_through_the_binary) {
    std::string const dir = " --dir " + quoted(pki_.string()) + " --passphrase-file " +
                            quoted(passphrase_file_.string());
    auto r = shell(binary + " init --name 'Acme Docker CA' --key ec-p384" + dir);
    ASSERT_EQ(r.status, 0) << r.output;
    r = shell(binary + " server --dns gw.example.com --ip 127.0.0.1" + dir);
    ASSERT_EQ(r.status, 0) << r.output;
    r = shell(binary + " client alice --group dev --group ops --days 5" + dir);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("PRIVATE KEY"), std::string::npos) << "key material printed";
    EXPECT_EQ(verify(pki_ / "clients" / "alice" / "cert.pem").status, 0);
    EXPECT_NE(
        x509_text(pki_ / "clients" / "alice" / "cert.pem").find("O = dev, O = ops, CN = alice"),
        std::string::npos);

    // User errors: exit 1, one line naming the problem, on stderr.
    r = shell(binary + " revoke nobody" + dir + " 2>&1 >/dev/null");
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.output.rfind("dockgate-certs: no certificate with serial or name \"nobody\"", 0),
              0u)
        << r.output;
    r = shell(binary + " init" + dir);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("already holds a CA"), std::string::npos) << r.output;
    r = shell("echo nope > " + quoted((tmp_ / "wrong").string()) + "; " + binary +
              " client bob --dir " + quoted(pki_.string()) + " --passphrase-file " +
              quoted((tmp_ / "wrong").string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("wrong passphrase"), std::string::npos) << r.output;

    r = shell(binary + " revoke alice --reason cessationOfOperation" + dir);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(verify(pki_ / "clients" / "alice" / "cert.pem").status, 0);
    r = shell(binary + " list --json --dir " + quoted(pki_.string()));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("\"status\":\"revoked\""), std::string::npos) << r.output;
    r = shell(binary + " list --expiring 30d --dir " + quoted(pki_.string()));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(count_of(r.output, "\n"), 1)
        << "only the header: alice is revoked, the rest lives longer\n"
        << r.output;
    r = shell(binary + " rotate-ca" + dir + " && " + binary + " retire-ca --force --dir " +
              quoted(pki_.string()));
    EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(cli_test, dir_defaults_to_dockgate_pki_then_to_pki) {
    auto r = shell("cd " + quoted(tmp_.string()) + " && " + binary + " init");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(fs::exists(tmp_ / "pki" / "ca.pem"));
    r = shell("DOCKGATE_PKI=" + quoted((tmp_ / "elsewhere").string()) + " " + binary + " init");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(fs::exists(tmp_ / "elsewhere" / "ca.pem"));
    r = shell("DOCKGATE_PKI=" + quoted((tmp_ / "elsewhere").string()) + " " + binary + " list");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("CN=dockgate CA"), std::string::npos) << r.output;
    // --dir before the command works too, and --dir after it wins.
    r = shell(binary + " --dir " + quoted((tmp_ / "elsewhere").string()) + " list");
    EXPECT_EQ(r.status, 0) << r.output;
    r = shell(binary + " --dir " + quoted((tmp_ / "nowhere").string()) + " list --dir " +
              quoted((tmp_ / "elsewhere").string()));
    EXPECT_EQ(r.status, 0) << r.output;
    r = shell(binary + " --dir " + quoted((tmp_ / "nowhere").string()) + " list");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("nowhere: no such folder"), std::string::npos) << r.output;
}

} // namespace
} // namespace dockgate::certs::testing
