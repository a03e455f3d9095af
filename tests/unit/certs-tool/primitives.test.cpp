// The pure building blocks: input checks, key types, serials, reasons, the docker context tar.
#include <set>
#include <sstream>
#include <unistd.h>

#include "certs-tool/certificates.hpp"
#include "certs-tool/docker_context.hpp"
#include "certs-tool/keys.hpp"
#include "certs-tool/revocation_list.hpp"
#include "certs_test_support.hpp"
#include "common/openssl_util.hpp"

namespace dockgate::certs::testing {
namespace {

TEST(key_type, names_round_trip) {
    for (auto const* name : {"ec-p256", "ec-p384", "ed25519", "rsa-3072", "rsa-4096"}) {
        auto const type = parse_key_type(name);
        ASSERT_TRUE(type) << name;
        EXPECT_EQ(key_type_name(*type), name);
    }
    for (auto const* bad : {"", "ec", "rsa-2048", "EC-P256", "ed448"})
        EXPECT_FALSE(parse_key_type(bad)) << bad;
}

TEST(key_type, generated_keys_are_what_was_asked) {
    for (auto const type : {key_type::ec_p256, key_type::ec_p384, key_type::ed25519}) {
        auto key = generate_key(type);
        EXPECT_EQ(key_type_of(key.get()), type) << key_type_name(type);
    }
}

TEST(private_key_pem, encrypts_only_with_a_passphrase_and_reads_back) {
    auto key = generate_key(key_type::ec_p256);
    auto const plain = private_key_pem(key.get(), nullptr);
    EXPECT_NE(plain.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
    EXPECT_FALSE(is_encrypted_key_pem(plain));

    auto const dir = fs::temp_directory_path();
    auto const pass_file = dir / ("dockgate-certs-pass-" + std::to_string(::getpid()));
    write_text(pass_file, "a long passphrase\n");
    auto pass = passphrase::from_file(pass_file);
    fs::remove(pass_file);
    EXPECT_EQ(pass.value(), "a long passphrase");
    auto const encrypted = private_key_pem(key.get(), &pass);
    EXPECT_TRUE(is_encrypted_key_pem(encrypted));
    auto back = load_private_key(encrypted, "k.pem", &pass);
    EXPECT_EQ(EVP_PKEY_eq(back.get(), key.get()), 1);
    try {
        load_private_key(encrypted, "k.pem", nullptr);
        ADD_FAILURE() << "an encrypted key loaded without a passphrase";
    } catch (certs_error const& e) {
        EXPECT_NE(std::string(e.what()).find("--passphrase-file"), std::string::npos) << e.what();
    }
}

TEST(serials, are_random_positive_128_bit) {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        auto serial = random_serial();
        EXPECT_NE(ASN1_STRING_type(serial.get()), V_ASN1_NEG_INTEGER);
        auto const text = serial_text(serial.get());
        EXPECT_EQ(text.size(), 32u) << text;
        EXPECT_TRUE(seen.insert(text).second) << "repeated serial " << text;
    }
}

TEST(serials, normalize_accepts_the_usual_spellings) {
    EXPECT_EQ(normalize_serial("3f2a"), "3F2A");
    EXPECT_EQ(normalize_serial("3F:2A"), "3F2A");
    EXPECT_EQ(normalize_serial("0x003f2a"), "3F2A");
    EXPECT_EQ(normalize_serial("alice"), "");
    EXPECT_EQ(normalize_serial(""), "");
}

TEST(input_checks, names) {
    EXPECT_EQ(check_name_value("alice"), "");
    EXPECT_EQ(check_name_value("Jürgen Ops"), "");
    EXPECT_EQ(check_name_value("system:masters"), "");
    for (auto const* bad : {"", " alice", "alice ", "a\nb", "a\x7f", "\xff\xfe"})
        EXPECT_NE(check_name_value(bad), "") << bad;
    EXPECT_NE(check_name_value(std::string(65, 'a')), "");
}

TEST(input_checks, dns_names) {
    for (auto const* good :
         {"gw", "gw.example.com", "*.example.com", "a-b.c-d.example", "xn--bcher-kva.example"})
        EXPECT_EQ(check_dns_name(good), "") << good;
    for (auto const* bad : {"", ".", "a..b", "-a.example", "a-.example", "a.example.", "*",
                            "a.*.example", "a_b.example", "a b", "gw,IP:1.2.3.4"})
        EXPECT_NE(check_dns_name(bad), "") << bad;
    EXPECT_NE(check_dns_name(std::string(64, 'a') + ".example"), "");
}

TEST(input_checks, ip_addresses) {
    for (auto const* good : {"127.0.0.1", "10.1.2.3", "::1", "fd00::42"})
        EXPECT_EQ(check_ip_address(good), "") << good;
    for (auto const* bad : {"", "localhost", "1.2.3", "1.2.3.256", "::g"})
        EXPECT_NE(check_ip_address(bad), "") << bad;
}

TEST(revocation_reason, rfc5280_names) {
    EXPECT_EQ(parse_revocation_reason("keyCompromise"), revocation_reason::key_compromise);
    EXPECT_EQ(parse_revocation_reason("superseded"), revocation_reason::superseded);
    EXPECT_EQ(parse_revocation_reason("cessationOfOperation"),
              revocation_reason::cessation_of_operation);
    EXPECT_EQ(parse_revocation_reason("affiliationChanged"),
              revocation_reason::affiliation_changed);
    EXPECT_FALSE(parse_revocation_reason("certificateHold"))
        << "holds cannot be undone here, so not offered";
    EXPECT_FALSE(parse_revocation_reason("keycompromise"));
}

TEST(docker_context, names_and_hosts_as_the_docker_cli_checks_them) {
    EXPECT_EQ(check_context_name("gw-alice"), "");
    EXPECT_EQ(check_context_name("prod.gw_1+x"), "");
    for (auto const* bad : {"", "default", "a", "-gw", "gw/alice", "gw alice"})
        EXPECT_NE(check_context_name(bad), "") << bad;
    EXPECT_EQ(check_context_host("tcp://gw.example.com:2376"), "");
    for (auto const* bad :
         {"", "gw:2376", "unix:///var/run/docker.sock", "tcp://", "tcp://gw:2376/x", "tcp://g w"})
        EXPECT_NE(check_context_host(bad), "") << bad;
}

TEST(docker_context, archive_is_a_valid_tar_with_the_export_layout) {
    auto const archive =
        docker_context_archive({"gw-alice", "desc", "tcp://gw:2376", "CA\n", "CERT\n", "KEY\n"},
                               std::chrono::system_clock::now());
    EXPECT_EQ(archive.size() % 512, 0u);
    std::string pattern = (fs::temp_directory_path() / "dockgate-certs-tar.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    fs::path const dir = pattern;
    write_text(dir / "ctx.tar", archive);
    auto const listing = shell("tar -tvf " + quoted((dir / "ctx.tar").string()));
    EXPECT_EQ(listing.status, 0) << listing.output;
    for (auto const* name :
         {"meta.json", "tls/docker/ca.pem", "tls/docker/cert.pem", "tls/docker/key.pem"})
        EXPECT_NE(listing.output.find(name), std::string::npos) << listing.output;
    std::istringstream lines(listing.output);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("tls/docker/") != std::string::npos &&
            line.find(".pem") != std::string::npos) {
            EXPECT_EQ(line.rfind("-rw-------", 0), 0u)
                << "TLS files are 0600 in the archive: " << line;
        }
    }
    auto const meta = shell("tar -xOf " + quoted((dir / "ctx.tar").string()) + " meta.json");
    EXPECT_EQ(meta.output,
              R"({"Name":"gw-alice","Metadata":{"Description":"desc"},)"
              R"("Endpoints":{"docker":{"Host":"tcp://gw:2376","SkipTLSVerify":false}}})");
    auto const key =
        shell("tar -xOf " + quoted((dir / "ctx.tar").string()) + " tls/docker/key.pem");
    EXPECT_EQ(key.output, "KEY\n");
    fs::remove_all(dir);
}

TEST(pem, parsing_is_strict_about_what_it_finds) {
    auto key = generate_key(key_type::ec_p256);
    auto cert = make_ca_certificate(key.get(), "X", std::chrono::system_clock::now(),
                                    std::chrono::system_clock::now() + std::chrono::hours(24));
    auto const pem = to_pem(cert.get());
    auto one = parse_pem_certificates(pem);
    ASSERT_TRUE(one);
    EXPECT_EQ(one->size(), 1u);
    EXPECT_EQ(parse_pem_certificates(pem + pem)->size(), 2u);
    EXPECT_EQ(parse_pem_certificates("")->size(), 0u);
    auto broken = pem;
    broken[broken.size() / 2] = '!';
    EXPECT_FALSE(parse_pem_certificates(broken));
    EXPECT_FALSE(parse_pem_certificates(pem.substr(0, pem.size() - 30))) << "truncated";
    EXPECT_FALSE(parse_pem_crls(pem)) << "a certificate is not a CRL";
}

TEST(utc_times, format_and_parse_round_trip) {
    auto const t = parse_utc("2025-03-01T12:34:56Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_utc(*t), "2025-03-01T12:34:56Z");
    for (auto const* bad :
         {"", "2025-03-01 12:34:56Z", "2025-13-01T00:00:00Z", "2025-03-01T12:34:56", "x"})
        EXPECT_FALSE(parse_utc(bad)) << bad;
}

} // namespace
} // namespace dockgate::certs::testing
