// dockgate-certs renew.
#include "certs-tool/ledger.hpp"
#include "certs_test_support.hpp"

namespace dockgate::certs::testing {
namespace {

using renew_test = certs_test;

TEST_F(renew_test, renewing_a_user_keeps_identity_and_groups_and_supersedes_the_old_one) {
    make_ca();
    auto const old_serial = make_client("alice", {"dev", "ops"});
    auto const old_cert = read_text(tmp_ / "client-alice" / "cert.pem");
    auto const old_key = read_text(tmp_ / "client-alice" / "key.pem");

    auto o = opts_with_passphrase<renew_options>();
    o.target = "alice";
    run_renew(o);
    // Written where the old one was, with a new key.
    auto const dir = tmp_ / "client-alice";
    auto const new_serial = serial_of(dir / "cert.pem");
    EXPECT_NE(new_serial, old_serial);
    EXPECT_NE(read_text(dir / "key.pem"), old_key);
    EXPECT_EQ(mode_of(dir / "key.pem"), 0600u);
    auto const text = x509_text(dir / "cert.pem");
    EXPECT_NE(text.find("Subject: O = dev, O = ops, CN = alice"), std::string::npos) << text;
    EXPECT_NE(text.find("TLS Web Client Authentication"), std::string::npos) << text;
    EXPECT_EQ(verify(dir / "cert.pem").status, 0);

    // The old one still works (no --revoke-old) but is listed as superseded.
    write_text(tmp_ / "old.pem", old_cert, 0644);
    EXPECT_EQ(verify(tmp_ / "old.pem").status, 0);
    auto l = opts<list_options>();
    l.json = true;
    out_.str("");
    run_list(l);
    auto const json = out_.str();
    EXPECT_NE(json.find("\"serial\":\"" + old_serial + "\",\"kind\":\"client\""), std::string::npos)
        << json;
    EXPECT_NE(
        json.find(
            "\"status\":\"superseded\",\"revoked_at\":null,\"reason\":null,\"superseded_by\":\"" +
            new_serial),
        std::string::npos)
        << json;

    // Renewing by name again renews the newest.
    run_renew(o);
    auto const third = serial_of(dir / "cert.pem");
    auto book = parse_ledger(read_text(pki_ / "ledger.json"), "ledger.json");
    EXPECT_EQ(book.find_cert(third)->renewal_of, new_serial);
}

TEST_F(renew_test, revoke_old_puts_the_old_one_in_the_crl_as_superseded) {
    make_ca();
    auto const old_serial = make_client("bob", {"ci"});
    write_text(tmp_ / "old.pem", read_text(tmp_ / "client-bob" / "cert.pem"), 0644);
    auto o = opts_with_passphrase<renew_options>();
    o.target = old_serial;
    o.revoke_old = true;
    o.days = 7;
    run_renew(o);
    auto const refused = verify(tmp_ / "old.pem");
    EXPECT_NE(refused.output.find("certificate revoked"), std::string::npos) << refused.output;
    EXPECT_EQ(verify(tmp_ / "client-bob" / "cert.pem").status, 0);
    auto const crl = crl_text(pki_ / "crl.pem");
    EXPECT_NE(crl.find(old_serial), std::string::npos);
    EXPECT_NE(crl.find("Superseded"), std::string::npos) << crl;
    auto const end = shell("openssl x509 -noout -checkend " + std::to_string(8 * 86400) + " -in " +
                           quoted((tmp_ / "client-bob" / "cert.pem").string()));
    EXPECT_NE(end.status, 0) << "--days 7";
}

TEST_F(renew_test, server_renewal_keeps_its_names) {
    make_ca();
    make_server({"gw.example.com", "gw"}, {"10.1.2.3"});
    auto o = opts_with_passphrase<renew_options>();
    o.target = "gw.example.com";
    o.key = "ed25519";
    run_renew(o);
    auto const text = x509_text(pki_ / "server-cert.pem");
    EXPECT_NE(text.find("DNS:gw.example.com, DNS:gw, IP Address:10.1.2.3"), std::string::npos)
        << text;
    EXPECT_NE(text.find("TLS Web Server Authentication"), std::string::npos) << text;
    EXPECT_NE(text.find("ED25519"), std::string::npos) << "--key changes the key type: " << text;
    EXPECT_EQ(verify(pki_ / "server-cert.pem", true, "-verify_hostname gw").status, 0);
    o.docker_context = "x1";
    o.host = "tcp://gw:2376";
    expect_user_error([&] { run_renew(o); }, "--docker-context is for client certificates");
}

TEST_F(renew_test, refusals_change_nothing) {
    make_ca();
    make_client("alice");
    auto const before = snapshot(tmp_);
    auto o = opts_with_passphrase<renew_options>();
    o.target = "nobody";
    expect_user_error([&] { run_renew(o); }, "no certificate with serial or name \"nobody\"");
    o.target = "alice";
    o.days = -1;
    expect_user_error([&] { run_renew(o); }, "--days -1");
    o.days.reset();
    o.key = "rsa-1";
    expect_user_error([&] { run_renew(o); }, "--key rsa-1");
    o.key.reset();
    write_text(tmp_ / "wrong", "wrong passphrase!\n");
    o.passphrase_file = tmp_ / "wrong";
    expect_user_error([&] { run_renew(o); }, "wrong passphrase");
    auto after = snapshot(tmp_);
    after.erase("wrong");
    EXPECT_EQ(after, before);
}

} // namespace
} // namespace dockgate::certs::testing
