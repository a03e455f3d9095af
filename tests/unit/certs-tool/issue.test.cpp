// dockgate-certs server and client.
#include <cstdlib>

#include "certs-tool/ledger.hpp"
#include "certs_test_support.hpp"

namespace dockgate::certs::testing {
namespace {

using issue_test = certs_test;

TEST_F(issue_test, server_certificate_has_sans_server_auth_and_key_ids) {
    make_ca();
    auto const serial = make_server({"gw.example.com", "localhost"}, {"127.0.0.1", "::1"});
    // Written next to ca.pem and crl.pem, the names the gateway config uses.
    for (auto const* name : {"ca.pem", "crl.pem", "server-cert.pem", "server-key.pem"})
        EXPECT_TRUE(fs::exists(pki_ / name)) << name;
    EXPECT_EQ(mode_of(pki_ / "server-key.pem"), 0600u);
    auto const text = x509_text(pki_ / "server-cert.pem");
    EXPECT_NE(text.find("Subject: CN = gw.example.com"), std::string::npos) << text;
    EXPECT_NE(
        text.find(
            "DNS:gw.example.com, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("TLS Web Server Authentication"), std::string::npos) << text;
    EXPECT_EQ(text.find("TLS Web Client Authentication"), std::string::npos) << text;
    EXPECT_NE(text.find("CA:FALSE"), std::string::npos) << text;
    EXPECT_NE(text.find("X509v3 Authority Key Identifier"), std::string::npos) << text;
    EXPECT_NE(text.find("X509v3 Subject Key Identifier"), std::string::npos) << text;
    auto const v = verify(pki_ / "server-cert.pem", true,
                          "-purpose sslserver -verify_hostname gw.example.com");
    EXPECT_EQ(v.status, 0) << v.output;
    auto const ip = verify(pki_ / "server-cert.pem", true, "-verify_ip 127.0.0.1");
    EXPECT_EQ(ip.status, 0) << ip.output;
    auto const other = verify(pki_ / "server-cert.pem", true, "-verify_hostname evil.example.com");
    EXPECT_NE(other.status, 0) << other.output;
    // The key belongs to the certificate.
    auto const k = shell("openssl pkey -pubout -in " + quoted((pki_ / "server-key.pem").string()));
    auto const c =
        shell("openssl x509 -noout -pubkey -in " + quoted((pki_ / "server-cert.pem").string()));
    EXPECT_EQ(k.output, c.output);
    EXPECT_TRUE(fs::exists(pki_ / "issued" / (serial + ".pem")));
}

TEST_F(issue_test, server_out_folder_gets_the_bundle_too) {
    make_ca();
    auto o = opts_with_passphrase<server_options>();
    o.ips = {"10.0.0.5"};
    o.out_dir = tmp_ / "gateway";
    o.days = 90;
    run_server(o);
    EXPECT_EQ(read_text(tmp_ / "gateway" / "ca.pem"), read_text(pki_ / "ca.pem"));
    EXPECT_EQ(mode_of(tmp_ / "gateway"), 0700u);
    EXPECT_NE(x509_text(tmp_ / "gateway" / "server-cert.pem").find("Subject: CN = 10.0.0.5"),
              std::string::npos);
    auto const end = shell("openssl x509 -noout -checkend " + std::to_string(91 * 86400) + " -in " +
                           quoted((tmp_ / "gateway" / "server-cert.pem").string()));
    EXPECT_NE(end.status, 0) << "--days 90 is honoured";
}

TEST_F(issue_test, server_refuses_bad_names) {
    make_ca();
    auto const before = snapshot(tmp_);
    auto o = opts_with_passphrase<server_options>();
    expect_user_error([&] { run_server(o); }, "at least one --dns NAME or --ip ADDR");
    o.dns = {"gw.example.com,IP:1.2.3.4"};
    expect_user_error([&] { run_server(o); }, "--dns \"gw.example.com,IP:1.2.3.4\"");
    o.dns = {"gw"};
    o.ips = {"999.1.1.1"};
    expect_user_error([&] { run_server(o); }, "--ip \"999.1.1.1\": is not an IPv4 or IPv6 address");
    o.ips = {};
    o.dns = {"gw", "gw"};
    expect_user_error([&] { run_server(o); }, "given twice");
    EXPECT_EQ(snapshot(tmp_), before);
}

TEST_F(issue_test, client_bundle_is_a_docker_cert_path) {
    make_ca();
    auto o = opts_with_passphrase<client_options>();
    o.user = "alice";
    o.groups = {"developers", "ci"};
    run_client(o);
    auto const dir = pki_ / "clients" / "alice"; // the default --out
    for (auto const* name : {"ca.pem", "cert.pem", "key.pem"})
        EXPECT_TRUE(fs::exists(dir / name)) << name;
    EXPECT_EQ(mode_of(dir / "key.pem"), 0600u);
    EXPECT_EQ(mode_of(dir), 0700u);
    EXPECT_EQ(read_text(dir / "ca.pem"), read_text(pki_ / "ca.pem"));
    auto const text = x509_text(dir / "cert.pem");
    EXPECT_NE(text.find("Subject: O = developers, O = ci, CN = alice"), std::string::npos) << text;
    EXPECT_NE(text.find("TLS Web Client Authentication"), std::string::npos) << text;
    EXPECT_EQ(text.find("TLS Web Server Authentication"), std::string::npos) << text;
    EXPECT_NE(text.find("X509v3 Authority Key Identifier"), std::string::npos) << text;
    EXPECT_NE(text.find("X509v3 Key Usage: critical\n                Digital Signature\n"),
              std::string::npos)
        << text;
    auto const v = verify(dir / "cert.pem", true, "-purpose sslclient");
    EXPECT_EQ(v.status, 0) << v.output;
    auto const as_server = verify(dir / "cert.pem", true, "-purpose sslserver");
    EXPECT_NE(as_server.status, 0) << "a client certificate must not work as a server's";
    // A random positive 128-bit serial.
    auto const serial = serial_of(dir / "cert.pem");
    EXPECT_EQ(serial.size(), 32u) << serial;
    EXPECT_GE(std::stoi(serial.substr(0, 1), nullptr, 16), 8) << "top bit set: exactly 128 bits";
    EXPECT_NE(text.find("Serial Number:\n"), std::string::npos)
        << "multi-byte serial printed as hex";
    EXPECT_EQ(text.find("(Negative)"), std::string::npos);
    // About 30 days.
    auto const end = shell("openssl x509 -noout -checkend " + std::to_string(31 * 86400) + " -in " +
                           quoted((dir / "cert.pem").string()));
    EXPECT_NE(end.status, 0);
    EXPECT_NE(out_.str().find("DOCKER_CERT_PATH=" + dir.string()), std::string::npos) << out_.str();
    EXPECT_EQ(out_.str().find("PRIVATE KEY"), std::string::npos);
}

TEST_F(issue_test, client_serials_differ_and_the_ledger_records_them) {
    make_ca();
    auto const a = make_client("alice");
    auto const b = make_client("bob", {"ci"});
    EXPECT_NE(a, b);
    auto const ledger = read_text(pki_ / "ledger.json");
    EXPECT_NE(ledger.find(a), std::string::npos);
    EXPECT_NE(ledger.find(b), std::string::npos);
    EXPECT_EQ(ledger.find("PRIVATE"), std::string::npos);
}

TEST_F(issue_test, client_refuses_bad_input_and_changes_nothing) {
    make_ca();
    auto const before = snapshot(tmp_);
    auto o = opts_with_passphrase<client_options>();
    o.user = "";
    expect_user_error([&] { run_client(o); }, "USER \"\": is empty");
    o.user = "alice\nbob";
    expect_user_error([&] { run_client(o); }, "control character");
    o.user = "../escape";
    expect_user_error([&] { run_client(o); }, "pass --out DIR");
    o.user = "alice";
    o.groups = {"dev", "dev"};
    expect_user_error([&] { run_client(o); }, "--group \"dev\": given twice");
    o.groups = {"dev"};
    o.key = "dsa";
    expect_user_error([&] { run_client(o); }, "--key dsa");
    o.key = "ec-p256";
    o.docker_context = "gw";
    expect_user_error([&] { run_client(o); }, "go together");
    o.host = "gw:2376";
    expect_user_error([&] { run_client(o); }, "--host gw:2376");
    o.host = "tcp://gw:2376";
    o.docker_context = "default";
    expect_user_error([&] { run_client(o); }, "reserved");
    o.docker_context.reset();
    o.host.reset();
    o.days = 40000;
    expect_user_error([&] { run_client(o); }, "--days 40000");
    EXPECT_EQ(snapshot(tmp_), before);
}

TEST_F(issue_test, wrong_or_missing_passphrase_changes_nothing) {
    make_ca();
    make_client("alice");
    auto const before = snapshot(tmp_);
    write_text(tmp_ / "wrong", "not the passphrase\n");
    auto o = opts<client_options>();
    o.user = "bob";
    o.out_dir = tmp_ / "bob";
    o.passphrase_file = tmp_ / "wrong";
    expect_user_error([&] { run_client(o); }, "wrong passphrase");
    o.passphrase_file.reset();
    expect_user_error([&] { run_client(o); }, "the key is encrypted; pass --passphrase-file");
    auto after = snapshot(tmp_);
    after.erase("wrong");
    EXPECT_EQ(after, before);
    EXPECT_FALSE(fs::exists(tmp_ / "bob"));
}

TEST_F(issue_test, refuses_to_write_keys_where_others_can_swap_them) {
    make_ca();
    fs::create_directory(tmp_ / "shared");
    ::chmod((tmp_ / "shared").c_str(), 0777);
    auto o = opts_with_passphrase<client_options>();
    o.user = "alice";
    o.out_dir = tmp_ / "shared";
    auto const ledger = read_text(pki_ / "ledger.json");
    expect_user_error([&] { run_client(o); }, "every user may write to this folder");
    EXPECT_TRUE(fs::is_empty(tmp_ / "shared"));
    EXPECT_EQ(read_text(pki_ / "ledger.json"), ledger);
}

TEST_F(issue_test, reissuing_into_the_same_folder_replaces_the_files_and_keeps_the_key_private) {
    make_ca();
    make_client("alice");
    auto const dir = tmp_ / "client-alice";
    ::chmod((dir / "key.pem").c_str(), 0644); // someone loosened it
    auto const old_key = read_text(dir / "key.pem");
    make_client("alice");
    EXPECT_NE(read_text(dir / "key.pem"), old_key);
    EXPECT_EQ(mode_of(dir / "key.pem"), 0600u);
    for (auto const& entry : fs::directory_iterator(dir))
        EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos)
            << "temp file left";
}

TEST_F(issue_test, docker_context_archive_imports_into_the_docker_cli) {
    make_ca();
    auto o = opts_with_passphrase<client_options>();
    o.user = "alice";
    o.groups = {"dev"};
    o.out_dir = tmp_ / "alice";
    o.docker_context = "gw-alice";
    o.host = "tcp://gw.example.com:2376";
    run_client(o);
    auto const archive = tmp_ / "alice" / "gw-alice.dockercontext";
    ASSERT_TRUE(fs::exists(archive));
    EXPECT_EQ(mode_of(archive), 0600u) << "it holds the key";
    auto const key = shell("tar -xOf " + quoted(archive.string()) + " tls/docker/key.pem");
    EXPECT_EQ(key.output, read_text(tmp_ / "alice" / "key.pem"));
    auto const cert = shell("tar -xOf " + quoted(archive.string()) + " tls/docker/cert.pem");
    EXPECT_EQ(cert.output, read_text(tmp_ / "alice" / "cert.pem"));

    if (shell("command -v docker").status != 0)
        GTEST_SKIP() << "no docker CLI here; the archive layout was checked with tar";
    auto const config = tmp_ / "docker-config";
    fs::create_directory(config);
    std::string const env = "DOCKER_CONFIG=" + quoted(config.string()) + " ";
    auto const import = shell(env + "docker context import gw-alice " + quoted(archive.string()));
    ASSERT_EQ(import.status, 0) << import.output;
    auto const inspect = shell(env + "docker --context gw-alice context inspect");
    EXPECT_EQ(inspect.status, 0) << inspect.output;
    EXPECT_NE(inspect.output.find("\"Host\": \"tcp://gw.example.com:2376\""), std::string::npos)
        << inspect.output;
    EXPECT_NE(inspect.output.find("\"SkipTLSVerify\": false"), std::string::npos) << inspect.output;
    for (auto const* name : {"\"ca.pem\"", "\"cert.pem\"", "\"key.pem\""})
        EXPECT_NE(inspect.output.find(name), std::string::npos) << inspect.output;
    // The files the CLI stored are ours, byte for byte.
    auto const stored =
        shell(env + "docker context inspect gw-alice --format '{{.Storage.TLSPath}}'");
    std::string tls_path = stored.output.substr(0, stored.output.find('\n'));
    EXPECT_EQ(read_text(fs::path(tls_path) / "docker" / "cert.pem"),
              read_text(tmp_ / "alice" / "cert.pem"));
}

TEST_F(issue_test, leaf_validity_never_outlives_the_ca) {
    auto i = opts<init_options>();
    i.days = 10;
    run_init(i);
    auto o = opts<client_options>();
    o.user = "alice";
    o.days = 30;
    o.out_dir = tmp_ / "alice";
    run_client(o);
    EXPECT_NE(err_.str().find("ends with the CA"), std::string::npos) << err_.str();
    auto const ca_end =
        shell("openssl x509 -noout -enddate -in " + quoted((pki_ / "ca.pem").string()));
    auto const leaf_end =
        shell("openssl x509 -noout -enddate -in " + quoted((tmp_ / "alice" / "cert.pem").string()));
    EXPECT_EQ(ca_end.output, leaf_end.output);
}

} // namespace
} // namespace dockgate::certs::testing
