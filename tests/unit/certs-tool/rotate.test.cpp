// dockgate-certs rotate-ca and retire-ca: the whole rotation, checked with openssl at each step.
#include "certs-tool/ledger.hpp"
#include "certs_test_support.hpp"

namespace dockgate::certs::testing {
namespace {

using rotate_test = certs_test;

TEST_F(rotate_test, full_cycle_keeps_old_certificates_working_until_retire) {
    make_ca(true, "Acme Docker CA");
    make_server();
    auto const alice = make_client("alice");
    auto const bob = make_client("bob");

    auto rot = opts_with_passphrase<rotate_options>();
    run_rotate_ca(rot);
    // The bundle holds both CAs, crl.pem one CRL of each, each verifying against its CA.
    auto const bundle = read_text(pki_ / "ca.pem");
    EXPECT_EQ(count_of(bundle, "BEGIN CERTIFICATE"), 2);
    auto const crl_file = read_text(pki_ / "crl.pem");
    EXPECT_EQ(count_of(crl_file, "BEGIN X509 CRL"), 2);
    auto const crls = crl_text(pki_ / "crl.pem");
    EXPECT_NE(crls.find("Issuer: CN = Acme Docker CA\n"), std::string::npos) << crls;
    EXPECT_NE(crls.find("Issuer: CN = Acme Docker CA G2\n"), std::string::npos) << crls;
    auto const new_ca = x509_text(pki_ / "cas" / "ca-2.pem");
    EXPECT_NE(new_ca.find("CA:TRUE, pathlen:0"), std::string::npos);
    EXPECT_NE(new_ca.find("Subject: CN = Acme Docker CA G2"), std::string::npos) << new_ca;
    EXPECT_EQ(mode_of(pki_ / "private" / "ca-2-key.pem"), 0600u);
    EXPECT_NE(read_text(pki_ / "private" / "ca-2-key.pem").find("ENCRYPTED"), std::string::npos);

    // Old certificates still verify (with revocation checking, which needs the old CA's CRL).
    EXPECT_EQ(verify(tmp_ / "client-alice" / "cert.pem").status, 0);
    EXPECT_EQ(verify(pki_ / "server-cert.pem").status, 0);
    // New ones come from the new CA.
    auto const carol = make_client("carol");
    auto const carol_text = x509_text(tmp_ / "client-carol" / "cert.pem");
    EXPECT_NE(carol_text.find("Issuer: CN = Acme Docker CA G2"), std::string::npos) << carol_text;
    EXPECT_EQ(verify(tmp_ / "client-carol" / "cert.pem").status, 0);
    EXPECT_EQ(count_of(read_text(tmp_ / "client-carol" / "ca.pem"), "BEGIN CERTIFICATE"), 2)
        << "a client issued during the overlap trusts a server certificate of either CA";

    // Revoking an old-CA certificate during the overlap updates the old CA's CRL.
    auto rev = opts_with_passphrase<revoke_options>();
    rev.target = bob;
    run_revoke(rev);
    EXPECT_NE(verify(tmp_ / "client-bob" / "cert.pem").output.find("certificate revoked"),
              std::string::npos);
    EXPECT_EQ(verify(tmp_ / "client-alice" / "cert.pem").status, 0);

    // retire-ca refuses while old certificates are valid and not renewed.
    auto ret = opts<retire_options>();
    auto const before = snapshot(pki_);
    expect_user_error([&] { run_retire_ca(ret); }, "2 certificate(s) of CA 1 are still valid");
    EXPECT_EQ(snapshot(pki_), before);

    // Renew them (the server last), then retire.
    auto ren = opts_with_passphrase<renew_options>();
    write_text(tmp_ / "alice-old.pem", read_text(tmp_ / "client-alice" / "cert.pem"), 0644);
    ren.target = "alice";
    run_renew(ren);
    ren.target = "gw.example.com";
    run_renew(ren);
    EXPECT_NE(x509_text(pki_ / "server-cert.pem").find("Issuer: CN = Acme Docker CA G2"),
              std::string::npos);
    run_retire_ca(ret);

    EXPECT_EQ(count_of(read_text(pki_ / "ca.pem"), "BEGIN CERTIFICATE"), 1);
    EXPECT_EQ(read_text(pki_ / "ca.pem"), read_text(pki_ / "cas" / "ca-2.pem"));
    EXPECT_EQ(count_of(read_text(pki_ / "crl.pem"), "BEGIN X509 CRL"), 1);
    EXPECT_NE(crl_text(pki_ / "crl.pem").find("Issuer: CN = Acme Docker CA G2"), std::string::npos);
    auto const old = verify(tmp_ / "alice-old.pem");
    EXPECT_NE(old.status, 0) << "old-CA certificates stop working once the CA is retired";
    EXPECT_EQ(verify(tmp_ / "client-alice" / "cert.pem").status, 0);
    EXPECT_EQ(verify(tmp_ / "client-carol" / "cert.pem").status, 0);
    EXPECT_EQ(verify(pki_ / "server-cert.pem", true, "-purpose sslserver").status, 0);

    // The ledger keeps the retired CA, and list shows it.
    auto l = opts<list_options>();
    out_.str("");
    run_list(l);
    EXPECT_NE(out_.str().find("CN=Acme Docker CA "), std::string::npos) << out_.str();
    EXPECT_NE(out_.str().find("retired"), std::string::npos) << out_.str();

    // A second rotation works the same way.
    run_rotate_ca(rot);
    auto const g3 = x509_text(pki_ / "cas" / "ca-3.pem");
    EXPECT_NE(g3.find("Subject: CN = Acme Docker CA G3"), std::string::npos) << g3;
    (void)alice;
    (void)carol;
}

TEST_F(rotate_test, retire_force_cuts_off_valid_certificates) {
    make_ca();
    make_client("alice");
    auto rot = opts_with_passphrase<rotate_options>();
    run_rotate_ca(rot);
    auto ret = opts<retire_options>();
    ret.force = true;
    run_retire_ca(ret);
    EXPECT_NE(verify(tmp_ / "client-alice" / "cert.pem").status, 0);
    EXPECT_NE(out_.str().find("cut off 1 certificate"), std::string::npos) << out_.str();
    // A certificate of a retired CA can no longer be revoked (no CRL), but renewed.
    auto rev = opts_with_passphrase<revoke_options>();
    rev.target = serial_of(tmp_ / "client-alice" / "cert.pem");
    expect_user_error([&] { run_revoke(rev); }, "which is retired");
    auto ren = opts_with_passphrase<renew_options>();
    ren.target = "alice";
    run_renew(ren);
    EXPECT_EQ(verify(tmp_ / "client-alice" / "cert.pem").status, 0);
}

TEST_F(rotate_test, refusals_change_nothing) {
    make_ca();
    make_client("alice");
    auto const before = snapshot(tmp_);
    auto ret = opts<retire_options>();
    expect_user_error([&] { run_retire_ca(ret); }, "no previous CA to retire");
    auto rot = opts<rotate_options>();
    expect_user_error([&] { run_rotate_ca(rot); },
                      "current CA key is encrypted: pass --passphrase-file");
    write_text(tmp_ / "wrong", "wrong passphrase!\n");
    rot.passphrase_file = tmp_ / "wrong";
    expect_user_error([&] { run_rotate_ca(rot); }, "wrong passphrase");
    rot = opts_with_passphrase<rotate_options>();
    rot.name = "Test CA";
    expect_user_error([&] { run_rotate_ca(rot); }, "the current CA has this name");
    rot.name.reset();
    rot.key = "x";
    expect_user_error([&] { run_rotate_ca(rot); }, "--key x");
    auto after = snapshot(tmp_);
    after.erase("wrong");
    EXPECT_EQ(after, before);

    rot.key.reset();
    run_rotate_ca(rot);
    expect_user_error(
        [&] { run_rotate_ca(rot); },
        "still in force from the last rotation; finish it with `dockgate-certs retire-ca`");
}

} // namespace
} // namespace dockgate::certs::testing
