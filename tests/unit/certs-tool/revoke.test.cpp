// dockgate-certs revoke and crl.
#include <ctime>

#include "certs_test_support.hpp"
#include "common/openssl_util.hpp"

namespace dockgate::certs::testing {
namespace {

using revoke_test = certs_test;

TEST_F(revoke_test, revoking_a_serial_puts_it_in_the_crl_and_openssl_refuses_it) {
    make_ca();
    auto const alice = make_client("alice");
    auto const bob = make_client("bob");
    EXPECT_EQ(verify(tmp_ / "client-alice" / "cert.pem").status, 0);

    auto o = opts_with_passphrase<revoke_options>();
    o.target = alice;
    o.reason = "keyCompromise";
    run_revoke(o);

    auto const refused = verify(tmp_ / "client-alice" / "cert.pem");
    EXPECT_NE(refused.status, 0);
    EXPECT_NE(refused.output.find("certificate revoked"), std::string::npos) << refused.output;
    EXPECT_EQ(verify(tmp_ / "client-bob" / "cert.pem").status, 0) << "bob is unaffected";

    auto const crl = crl_text(pki_ / "crl.pem");
    EXPECT_NE(crl.find("Serial Number: " + alice), std::string::npos) << crl;
    EXPECT_EQ(crl.find(bob), std::string::npos) << crl;
    EXPECT_NE(crl.find("Key Compromise"), std::string::npos) << crl;
    EXPECT_NE(crl.find("X509v3 CRL Number: \n                2"), std::string::npos) << crl;
    EXPECT_NE(crl.find("X509v3 Authority Key Identifier"), std::string::npos) << crl;
    EXPECT_NE(crl.find("Next Update:"), std::string::npos) << crl;
    EXPECT_NE(out_.str().find("revoked client certificate of alice (serial " + alice + ")"),
              std::string::npos);
}

TEST_F(revoke_test, revoking_a_user_revokes_all_their_valid_certificates) {
    make_ca();
    auto const one = make_client("alice");
    auto o = opts_with_passphrase<client_options>();
    o.user = "alice";
    o.out_dir = tmp_ / "alice-laptop";
    run_client(o);
    auto const two = serial_of(tmp_ / "alice-laptop" / "cert.pem");
    auto const bob = make_client("bob");

    auto r = opts_with_passphrase<revoke_options>();
    r.target = "alice";
    r.reason = "affiliationChanged";
    run_revoke(r);
    auto const crl = crl_text(pki_ / "crl.pem");
    EXPECT_NE(crl.find(one), std::string::npos);
    EXPECT_NE(crl.find(two), std::string::npos);
    EXPECT_EQ(crl.find(bob), std::string::npos);
    EXPECT_EQ(count_of(crl, "Affiliation Changed"), 2) << crl;
    EXPECT_NE(verify(tmp_ / "alice-laptop" / "cert.pem").status, 0);

    // Nothing left to revoke for alice now.
    expect_user_error([&] { run_revoke(r); }, "no valid certificate to revoke");
}

TEST_F(revoke_test, a_certificate_file_can_name_the_target_but_not_one_from_another_ca) {
    make_ca();
    make_client("alice");
    auto o = opts_with_passphrase<revoke_options>();
    o.target = (tmp_ / "client-alice" / "cert.pem").string();
    run_revoke(o);
    EXPECT_NE(verify(tmp_ / "client-alice" / "cert.pem").status, 0);

    // A certificate of another CA with the same name and even the same serial as one of ours.
    auto other = opts<init_options>();
    other.dir = tmp_ / "other-ca";
    other.name = "Test CA";
    run_init(other);
    auto c = opts<client_options>();
    c.dir = other.dir;
    c.user = "mallory";
    c.out_dir = tmp_ / "mallory";
    run_client(c);
    auto const before = snapshot(pki_);
    o.target = (tmp_ / "mallory" / "cert.pem").string();
    expect_user_error([&] { run_revoke(o); }, "a certificate from another CA");
    EXPECT_EQ(snapshot(pki_), before);
}

TEST_F(revoke_test, refusals) {
    make_ca();
    auto const alice = make_client("alice");
    auto o = opts_with_passphrase<revoke_options>();
    o.target = "nobody";
    expect_user_error([&] { run_revoke(o); }, "no certificate with serial or name \"nobody\"");
    o.target = alice;
    o.reason = "certificateHold";
    expect_user_error(
        [&] { run_revoke(o); },
        "--reason certificateHold: unknown; choose one of unspecified, keyCompromise");
    o.reason = "unspecified";
    auto const ca_serial = serial_of(pki_ / "ca.pem");
    o.target = ca_serial;
    expect_user_error([&] { run_revoke(o); }, "CA certificate; CAs are replaced with rotate-ca");
    o.target = alice;
    run_revoke(o);
    expect_user_error([&] { run_revoke(o); }, "was revoked already");
    // Unspecified: no reasonCode entry extension (RFC 5280 5.3.1).
    EXPECT_EQ(crl_text(pki_ / "crl.pem").find("CRL Reason Code"), std::string::npos);
}

TEST_F(revoke_test, wrong_passphrase_changes_nothing) {
    make_ca();
    auto const alice = make_client("alice");
    auto const before = snapshot(tmp_);
    write_text(tmp_ / "wrong", "wrong wrong wrong\n");
    auto o = opts<revoke_options>();
    o.target = alice;
    o.passphrase_file = tmp_ / "wrong";
    expect_user_error([&] { run_revoke(o); }, "wrong passphrase");
    auto after = snapshot(tmp_);
    after.erase("wrong");
    EXPECT_EQ(after, before);
    EXPECT_EQ(verify(tmp_ / "client-alice" / "cert.pem").status, 0);
}

TEST_F(revoke_test, crl_command_sets_next_update_and_increments_the_number) {
    make_ca();
    auto o = opts_with_passphrase<crl_options>();
    o.days = 3;
    run_crl(o);
    auto crl = crl_text(pki_ / "crl.pem");
    EXPECT_NE(crl.find("X509v3 CRL Number: \n                2"), std::string::npos) << crl;
    // 3 days, and remembered for the CRLs that revoke writes later.
    auto const alice = make_client("alice");
    auto r = opts_with_passphrase<revoke_options>();
    r.target = alice;
    r.now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    run_revoke(r);
    crl = crl_text(pki_ / "crl.pem");
    EXPECT_NE(crl.find("X509v3 CRL Number: \n                3"), std::string::npos) << crl;
    std::time_t const next = std::chrono::system_clock::to_time_t(*r.now + std::chrono::hours(72));
    std::tm tm{};
    gmtime_r(&next, &tm);
    char expected[64];
    (void)std::strftime(expected, sizeof expected, "nextUpdate=%b %e %H:%M:%S %Y GMT", &tm);
    auto const after =
        shell("openssl crl -noout -nextupdate -in " + quoted((pki_ / "crl.pem").string()));
    EXPECT_NE(after.output.find(expected), std::string::npos) << after.output << " vs " << expected;
    o.days = 0;
    expect_user_error([&] { run_crl(o); }, "--days 0");
}

TEST_F(revoke_test, crl_publish_writes_a_der_crl_per_ca_and_the_pem_bundle_for_a_web_server) {
    make_ca();
    auto const alice = make_client("alice");
    auto r = opts_with_passphrase<revoke_options>();
    r.target = alice;
    run_revoke(r);
    auto o = opts_with_passphrase<crl_options>();
    auto const web = tmp_ / "www" / "pki";
    o.publish = web;
    run_crl(o);
    EXPECT_EQ(mode_of(web), 0755U);
    EXPECT_EQ(mode_of(web / "ca-1.crl"), 0644U);
    EXPECT_EQ(read_text(web / "crl.pem"), read_text(pki_ / "crl.pem"));
    // DER, issued and signed by the CA, naming alice's serial, and no temp file left behind.
    auto const der =
        shell("openssl crl -inform DER -noout -text -in " + quoted((web / "ca-1.crl").string()) +
              " -CAfile " + quoted((pki_ / "ca.pem").string()));
    EXPECT_EQ(der.status, 0) << der.output;
    EXPECT_NE(der.output.find("verify OK"), std::string::npos) << der.output;
    EXPECT_NE(der.output.find("Serial Number: " + alice), std::string::npos) << der.output;
    EXPECT_EQ(std::distance(fs::directory_iterator(web), fs::directory_iterator()), 2);
    // After a rotation, one file per CA in force.
    auto rot = opts_with_passphrase<rotate_options>();
    run_rotate_ca(rot);
    run_crl(o);
    EXPECT_TRUE(fs::exists(web / "ca-2.crl"));
    EXPECT_EQ(read_text(web / "crl.pem"), read_text(pki_ / "crl.pem"));
    // A folder every user may write to is refused, before anything is written.
    auto const open_dir = tmp_ / "open";
    fs::create_directories(open_dir);
    fs::permissions(open_dir, fs::perms::all);
    o.publish = open_dir;
    expect_user_error([&] { run_crl(o); }, "every user may write to this folder");
    EXPECT_FALSE(fs::exists(open_dir / "ca-1.crl"));
}

TEST_F(revoke_test, crl_rebuilds_damaged_derived_files_that_other_commands_refuse) {
    make_ca();
    make_client("alice");
    write_text(pki_ / "crl.pem", "-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n",
               0644);
    auto l = opts<list_options>();
    expect_user_error([&] { run_list(l); },
                      "crl.pem: not a list of PEM CRLs (corrupt?); run `dockgate-certs crl");
    fs::remove(pki_ / "ca.pem");
    expect_user_error([&] { run_list(l); }, "ca.pem: missing; run `dockgate-certs crl");
    auto o = opts_with_passphrase<crl_options>();
    run_crl(o);
    run_list(l);
    EXPECT_EQ(verify(tmp_ / "client-alice" / "cert.pem").status, 0);
    // A CRL from elsewhere is not one of ours.
    auto other = opts<init_options>();
    other.dir = tmp_ / "other";
    run_init(other);
    write_text(pki_ / "crl.pem", read_text(other.dir / "crl.pem"), 0644);
    expect_user_error([&] { run_list(l); }, "holds a CRL that no CA in force signed");
    // And a bundle with a foreign CA added is not the bundle.
    run_crl(o);
    write_text(pki_ / "ca.pem", read_text(pki_ / "ca.pem") + read_text(other.dir / "ca.pem"), 0644);
    expect_user_error([&] { run_list(l); }, "does not hold exactly the CAs in force");
}

} // namespace
} // namespace dockgate::certs::testing
