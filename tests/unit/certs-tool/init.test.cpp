// dockgate-certs init.
#include "certs_test_support.hpp"

namespace dockgate::certs::testing {
namespace {

using init_test = certs_test;

TEST_F(init_test, makes_a_self_signed_ca_with_the_required_extensions) {
    auto o = opts_with_passphrase<init_options>();
    o.name = "Acme Docker CA";
    o.days = 100;
    run_init(o);

    auto const text = x509_text(pki_ / "ca.pem");
    EXPECT_NE(text.find("Issuer: CN = Acme Docker CA"), std::string::npos) << text;
    EXPECT_NE(text.find("Subject: CN = Acme Docker CA"), std::string::npos) << text;
    EXPECT_NE(text.find("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("X509v3 Subject Key Identifier"), std::string::npos) << text;
    EXPECT_NE(text.find("Version: 3 (0x2)"), std::string::npos) << text;
    // Self-signed and acceptable as a trust anchor under strict checks.
    auto const self =
        shell("openssl verify -x509_strict -CAfile " + quoted((pki_ / "ca.pem").string()) + " " +
              quoted((pki_ / "ca.pem").string()));
    EXPECT_EQ(self.status, 0) << self.output;
    // About 100 days.
    auto const end = shell("openssl x509 -noout -checkend " + std::to_string(99 * 86400) + " -in " +
                           quoted((pki_ / "ca.pem").string()));
    EXPECT_EQ(end.status, 0) << end.output;
    auto const end2 = shell("openssl x509 -noout -checkend " + std::to_string(101 * 86400) +
                            " -in " + quoted((pki_ / "ca.pem").string()));
    EXPECT_NE(end2.status, 0) << end2.output;

    // The first CRL exists already, signed by the CA, so a gateway can use crl.pem at once.
    auto const crl = crl_text(pki_ / "crl.pem");
    EXPECT_NE(crl.find("Issuer: CN = Acme Docker CA"), std::string::npos) << crl;
    EXPECT_NE(crl.find("No Revoked Certificates"), std::string::npos) << crl;
    auto const crl_ok = shell("openssl crl -noout -CAfile " + quoted((pki_ / "ca.pem").string()) +
                              " -in " + quoted((pki_ / "crl.pem").string()));
    EXPECT_NE(crl_ok.output.find("verify OK"), std::string::npos) << crl_ok.output;
    EXPECT_NE(out_.str().find("created CA \"Acme Docker CA\""), std::string::npos) << out_.str();
}

TEST_F(init_test, writes_the_key_0600_encrypted_with_aes_256) {
    make_ca(true);
    auto const key = pki_ / "private" / "ca-1-key.pem";
    EXPECT_EQ(mode_of(key), 0600u);
    EXPECT_EQ(mode_of(pki_ / "private"), 0700u);
    EXPECT_EQ(mode_of(pki_), 0700u);
    auto const text = read_text(key);
    EXPECT_NE(text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----"), std::string::npos);
    auto const asn1 = shell("openssl asn1parse -in " + quoted(key.string()));
    EXPECT_NE(asn1.output.find("aes-256-cbc"), std::string::npos) << asn1.output;
    // The passphrase opens it, and it is the CA's key.
    auto const pub_key =
        shell("openssl pkey -pubout -passin file:" + quoted(passphrase_file_.string()) + " -in " +
              quoted(key.string()));
    auto const pub_cert =
        shell("openssl x509 -noout -pubkey -in " + quoted((pki_ / "ca.pem").string()));
    EXPECT_EQ(pub_key.status, 0) << pub_key.output;
    EXPECT_EQ(pub_key.output, pub_cert.output);
    auto const wrong = shell("echo nope > " + quoted((tmp_ / "wrong").string()) +
                             " && openssl pkey -passin file:" + quoted((tmp_ / "wrong").string()) +
                             " -in " + quoted(key.string()));
    EXPECT_NE(wrong.status, 0);
    EXPECT_EQ(out_.str().find("PRIVATE KEY"), std::string::npos) << "key material printed";
    EXPECT_EQ(err_.str().find("PRIVATE KEY"), std::string::npos) << "key material printed";
}

TEST_F(init_test, without_a_passphrase_the_key_is_plain_but_still_0600_and_the_admin_is_told) {
    make_ca(false);
    auto const key = pki_ / "private" / "ca-1-key.pem";
    EXPECT_EQ(mode_of(key), 0600u);
    EXPECT_NE(read_text(key).find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
    EXPECT_NE(err_.str().find("not encrypted"), std::string::npos) << err_.str();
}

TEST_F(init_test, refuses_to_overwrite_an_existing_ca) {
    make_ca();
    auto const before = snapshot(pki_);
    expect_user_error([&] { make_ca(); }, "already holds a CA");
    expect_user_error([&] { make_ca(false, "Other"); }, "refusing to overwrite");
    // Also when only part of the state is there (e.g. after a lost ledger).
    fs::remove(pki_ / "ledger.json");
    expect_user_error([&] { make_ca(); }, "already holds a CA");
    auto after = snapshot(pki_);
    after["ledger.json"] = before.at("ledger.json");
    EXPECT_EQ(after, before);
}

TEST_F(init_test, other_key_types) {
    for (auto const* type : {"ed25519", "ec-p384"}) {
        auto o = opts<init_options>();
        o.dir = tmp_ / type;
        o.key = type;
        run_init(o);
        auto const text = x509_text(o.dir / "ca.pem");
        EXPECT_NE(text.find(std::string(type) == "ed25519"
                                ? "Signature Algorithm: ED25519"
                                : "Signature Algorithm: ecdsa-with-SHA384"),
                  std::string::npos)
            << text;
    }
    // One RSA CA (RSA-3072; RSA-4096 keygen is too slow to test routinely), with an RSA leaf.
    auto o = opts<init_options>();
    o.dir = tmp_ / "rsa";
    o.key = "rsa-3072";
    run_init(o);
    EXPECT_NE(x509_text(o.dir / "ca.pem").find("Public-Key: (3072 bit)"), std::string::npos);
    auto c = opts<client_options>();
    c.dir = o.dir;
    c.user = "rsa-user";
    c.key = "rsa-3072";
    c.out_dir = tmp_ / "rsa-client";
    run_client(c);
    auto const leaf = x509_text(tmp_ / "rsa-client" / "cert.pem");
    EXPECT_NE(leaf.find("Digital Signature, Key Encipherment"), std::string::npos) << leaf;
    auto const v =
        shell("openssl verify -x509_strict -CAfile " + quoted((o.dir / "ca.pem").string()) + " " +
              quoted((tmp_ / "rsa-client" / "cert.pem").string()));
    EXPECT_EQ(v.status, 0) << v.output;
}

TEST_F(init_test, refuses_bad_flags_and_changes_nothing) {
    auto o = opts_with_passphrase<init_options>();
    o.days = 0;
    expect_user_error([&] { run_init(o); }, "--days 0");
    o = opts_with_passphrase<init_options>();
    o.key = "rsa-1024";
    expect_user_error([&] { run_init(o); },
                      "--key rsa-1024: unknown key type; choose one of ec-p256");
    o = opts_with_passphrase<init_options>();
    o.name = "";
    expect_user_error([&] { run_init(o); }, "--name");
    o = opts<init_options>();
    o.passphrase_file = tmp_ / "missing";
    expect_user_error([&] { run_init(o); }, "missing");
    write_text(tmp_ / "short", "short\n");
    o.passphrase_file = tmp_ / "short";
    expect_user_error([&] { run_init(o); }, "shorter than 8");
    write_text(tmp_ / "empty", "\n");
    o.passphrase_file = tmp_ / "empty";
    expect_user_error([&] { run_init(o); }, "empty");
    EXPECT_FALSE(fs::exists(pki_)) << "a refused init must not leave a folder behind";
}

TEST_F(init_test, refuses_a_world_writable_folder) {
    fs::create_directory(pki_);
    ::chmod(pki_.c_str(), 0777);
    expect_user_error([&] { make_ca(); }, "every user may write to this folder");
    EXPECT_TRUE(fs::is_empty(pki_));
}

} // namespace
} // namespace dockgate::certs::testing
